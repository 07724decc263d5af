"""Files from 300 schools are hostile until checked: each kind of bad input gets
one clear line, exit 2, no traceback, and leaves the database as it was."""
from __future__ import annotations

import json
import resource
import socket
import threading
import time

import pytest
from openpyxl import load_workbook

from helpers import CASE_HEADER, HEADER_EN, make_id

BOMB = "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
    f"{chr(98 + k)}: &{chr(98 + k)} [*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)},"
    f"*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)}]\n" for k in range(8))


def refused(result, says: str):
    assert result.exit_code == 2, result.stdout + result.stderr
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.fixture
def small_memory():
    """A regression that expands what it reads cannot take the machine down."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024 ** 3, hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize("command", [["calendar", "check"], ["workflow", "check"]])
def test_a_billion_laughs_file_is_refused_fast_and_small(offline, small_memory, command):
    bomb = offline.file("bomb.yaml", BOMB)
    started = time.perf_counter()
    result = offline(*command, bomb, ok=False)
    refused(result, "bomb.yaml:")
    assert "expands to more than 10000 values" in result.stderr and time.perf_counter() - started < 1.0


def test_yaml_nested_too_deep_is_refused_by_file_and_line(offline):
    deep = offline.file("deep.yaml", "tasks: " + "[" * 60 + "]" * 60 + "\n")
    refused(offline("calendar", "check", deep, ok=False), "deep.yaml:1: nested deeper than 50 levels")


def test_a_huge_rule_file_is_refused_before_it_is_read(offline):
    huge = offline.file("huge.yaml", "# " + "x" * (5 * 1024 * 1024) + "\n")
    refused(offline("workflow", "check", huge, ok=False), "huge.yaml:1: the file is larger than 5 MB")


def test_a_key_twice_in_a_mapping_is_refused_with_both_lines(offline, calendar_file):
    text = calendar_file.read_text(encoding="utf-8").replace("roll: forward ", "roll: forward\nroll: backward ", 1)
    twice = offline.file("twice.yaml", text)
    result = offline("calendar", "check", twice, ok=False)
    assert result.exit_code == 2 and "key 'roll' appears twice in this mapping (first on line" in result.stderr


def test_a_list_where_a_key_belongs_is_refused(offline):
    bad = offline.file("wf.yaml", "? [a, b]\n: 1\n")
    refused(offline("workflow", "check", bad, ok=False), "wf.yaml:1: a key must be a plain name")


def test_a_rule_file_with_a_bomb_loaded_into_the_database_changes_nothing(county, small_memory):
    before = county.dump()
    refused(county("programmes", "load", county.file("programmes.yaml", BOMB), ok=False), "programmes.yaml:")
    assert county.dump() == before


def test_no_formula_reaches_a_spreadsheet(county, tmp_path):
    roster = f"{HEADER_EN}\nF001,=HYPERLINK(\"http://x\"),小学,@镇,,-王,+8613912345678,\n"
    county("units", "import", county.file("f.csv", roster), "--as-of", "2021-01-01")
    out_csv, out_xlsx = tmp_path / "u.csv", tmp_path / "u.xlsx"
    county("units", "list", "--format", "csv", "--output", out_csv)
    text = out_csv.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'@镇" in text and "'-王" in text
    county("units", "list", "--format", "xlsx", "--output", out_xlsx)
    cells = [c for row in load_workbook(out_xlsx).active.iter_rows() for c in row if c.value == '=HYPERLINK("http://x")']
    assert cells and all(c.data_type == "s" for c in cells)  # a string cell, never a formula
    late = json.loads(county("overdue", "--as-of", "2021-07-15", "--unit", "F001", "--format", "json").stdout)
    assert late  # the overdue list carries the same name; its CSV is written by the same function
    county("overdue", "--as-of", "2021-07-15", "--unit", "F001", "--format", "csv", "--output", tmp_path / "o.csv")
    assert "'=HYPERLINK" in (tmp_path / "o.csv").read_text(encoding="utf-8-sig")


def test_a_negative_amount_stays_a_number_in_a_workbook(tmp_path):
    from aidcal.actions.exports import write_xlsx
    write_xlsx([{"amount": -12.5, "name": "-调整"}], ["amount", "name"], {}, tmp_path / "a.xlsx")
    row = list(load_workbook(tmp_path / "a.xlsx").active.iter_rows(min_row=2))[0]
    assert (row[0].value, row[0].data_type) == (-12.5, "n") and (row[1].value, row[1].data_type) == ("-调整", "s")


def test_a_damaged_database_is_named_with_what_to_do(county):
    from sqlalchemy import text

    from aidcal.engine import store
    with store.writing(county.engine()) as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    county.engine().dispose()
    result = county("overdue", ok=False)
    refused(result, "but no schema version (alembic_version is missing)")
    assert "restore a backup" in result.stderr


def test_a_hanging_channel_is_failed_for_the_round_and_the_others_still_go_out(county, monkeypatch):
    from datetime import UTC, datetime, timedelta

    from aidcal.actions import transports
    from aidcal.actions.deliver import send
    from aidcal.engine import channels, delivery
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(8)  # accepts connections, never answers
    received = []

    class Robot(__import__("http.server").server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode": 0}')

        def log_message(self, *args):
            pass

    server = __import__("http.server").server.HTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(transports, "TIMEOUT", 0.5)
    notify = county.file("notify.yaml", "channels:\n"
                         f"  - name: stuck\n    kind: wecom\n    url: http://127.0.0.1:{hanging.getsockname()[1]}/send\n"
                         f"  - name: fine\n    kind: wecom\n    url: http://127.0.0.1:{server.server_port}/send\n")
    for day in ("2021-01-21", "2021-01-25"):
        county("--notify", notify, "escalate", "--as-of", day)
    started = time.perf_counter()
    report = delivery.deliver(county.engine(), channels.read(notify), datetime.now(UTC) + timedelta(minutes=1), send,
                              time.monotonic, lambda s: None)
    server.shutdown()
    hanging.close()
    assert report.sent == 2 and report.failed == 2 and len(received) == 2
    assert time.perf_counter() - started < 5  # one timeout for the hanging channel, not one per message
    assert any("did not answer earlier in this round" in e for e in report.errors)


@pytest.mark.parametrize("name, says", [
    ("/etc/passwd", "must be a file next to the sheet (no absolute path, no '..')"),
    ("../secret.pdf", "must be a file next to the sheet (no absolute path, no '..')"),
    ("link.pdf", "leads outside the sheet's folder"),
    ("fifo.pdf", "is not a regular file"),
    ("empty.pdf", "is empty"),
    ("big.pdf", "is 2 MB, more than the 1 MB allowed"),
])
def test_evidence_named_in_a_sheet_stays_in_its_folder_and_within_limits(county, tmp_path, name, says):
    import os
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    (tmp_path / "secret.pdf").write_text("not for schools")
    os.symlink(tmp_path / "secret.pdf", sheets / "link.pdf")
    os.mkfifo(sheets / "fifo.pdf")
    (sheets / "empty.pdf").write_bytes(b"")
    (sheets / "big.pdf").write_bytes(b"x" * (2 * 1024 * 1024))
    sheet = sheets / "c.csv"
    sheet.write_text(f"unit,task,period,done_at,note,evidence\nS001,spring-payout,2021-05,2021-05-20,,{name}\n", encoding="utf-8")
    before = county.dump()
    result = county("tasks", "import", sheet, "--as-of", "2021-06-01", ok=False, env={"AIDCAL_EVIDENCE_MAX_MB": "1"})
    refused(result, f"c.csv: row 2: {'evidence' if 'regular' in says or 'outside' in says or 'must' in says else 'evidence file'} '{name}' {says}")
    assert county.dump() == before


def test_evidence_given_on_the_command_line_is_checked_the_same_way(county, tmp_path):
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    refused(county("tasks", "done", "--unit", "S001", "spring-payout", "--evidence", empty, "--as-of", "2021-05-20", ok=False),
            "--evidence: evidence file")


@pytest.mark.parametrize("birth, says", [("20260301", "has a birth date after 2021-09-01"),
                                         ("18800101", "has a birth date more than 100 years before 2021-09-01")])
def test_impossible_people_are_refused_with_their_row(county, birth, says):
    sheet = county.file("c.csv", f"{CASE_HEADER}\n学生1,{make_id(1, birth)},13900000001,S002,高二,1班,困难,6222021234500000001,是\n")
    before = county.dump()
    result = county("cases", "import", sheet, "--programme", "senior-grant", "--term", "2021-autumn", "--as-of", "2021-09-01",
                    ok=False)
    refused(result, "c.csv: row 2: id_number 340621********")
    assert says in result.stderr and make_id(1, birth) not in result.stderr  # masked, never echoed
    assert county.dump() == before


def test_a_huge_sheet_of_bad_rows_lists_200_then_counts_in_small_memory(county, small_memory):
    rows = "".join(f"学生{k},{make_id(k % 1000)},1390000{k:04d},NOPE,高二,1班,困难,,是\n" for k in range(30_000))
    sheet = county.file("bad.csv", CASE_HEADER + "\n" + rows)
    result = county("cases", "import", sheet, "--programme", "senior-grant", "--term", "2021-autumn", "--as-of", "2021-09-01",
                    ok=False)
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and lines[-1] == "error: …and 29800 more rows with problems"
    assert len({line.split(": row ")[1].split(":")[0] for line in lines[:-1]}) == 200


@pytest.mark.parametrize("args", [
    ["cases", "history", "340621200503010008"],
    ["tasks", "list", "--unit", "340621200503010008"],
    ["overdue", "--unit", "13912345678"],
    ["tasks", "done", "--unit", "6222021234567890123", "system-update"],
    ["cases", "list", "--unit", "13912345678"],
])
def test_a_personal_number_given_where_a_code_belongs_is_never_echoed(county, args):
    result = county(*args, ok=False)
    assert result.exit_code == 2
    for number in ("340621200503010008", "13912345678", "6222021234567890123"):
        assert number not in result.stdout + result.stderr
    assert "****" in result.stderr


def test_a_case_sheet_naming_an_id_where_the_case_belongs_masks_it(county):
    sheet = county.file("r.csv", "case,callback_outcome\n340621200503010008,已回访\n")
    result = county("cases", "record", "--file", sheet, ok=False)
    assert result.exit_code == 2 and "340621200503010008" not in result.stderr and "340621********0008" in result.stderr


def test_no_completion_or_rectification_is_dated_in_the_future(county):
    sheet = county.file("c.csv", "unit,task,period,done_at,note\nS001,system-update,2021-05,2021-05-20,\n")
    refused(county("tasks", "import", sheet, "--as-of", "2099-01-01", ok=False), "--as-of 2099-01-01 is after today")


def test_evidence_read_back_is_private_and_never_overwrites(county, tmp_path):
    import stat
    proof = county.file("花名册.pdf", "签字确认的发放花名册")
    county("tasks", "done", "--unit", "S001", "spring-payout", "--evidence", proof, "--as-of", "2021-05-20")
    out = tmp_path / "out"
    out.mkdir()
    (out / "花名册.pdf").write_text("mine")
    county("tasks", "evidence", "--unit", "S001", "spring-payout", "--output", out)
    assert (out / "花名册.pdf").read_text() == "mine"
    written = out / "花名册 (2).pdf"
    assert written.read_text(encoding="utf-8") == "签字确认的发放花名册"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


@pytest.mark.parametrize("row, says", [
    ("S0 01,学校,小学,镇,,王,13912345678,", "code must be 1–20 digits, ASCII letters or '-'"),
    ("S9,学\x00校,小学,镇,,王,13912345678,", "name contains a control character"),
    ('S9,"学\n校",小学,镇,,王,13912345678,', "name contains a control character (a line break is allowed only in notes)"),
    ("S9," + "长" * 61 + ",小学,镇,,王,13912345678,", "name is longer than 60 characters (61)"),
    ("S9,学校,小学,镇\x1b[31m,,王,13912345678,", "town contains a control character"),
])
def test_roster_text_fields_are_text(county, row, says):
    before = county.dump()
    result = county("units", "import", county.file("u.csv", f"{HEADER_EN}\n{row}\n"), "--as-of", "2021-01-01", ok=False)
    assert result.exit_code == 2 and f"u.csv: row 2: {says}" in result.stderr and "\x00" not in result.stderr
    assert county.dump() == before


def test_names_with_markup_stay_names_in_notices_and_robot_messages(county, tmp_path, monkeypatch):
    from types import SimpleNamespace

    import aidcal.actions.deliver as deliver_module
    from aidcal.engine.channels import DEFAULT_TEMPLATES
    roster = f"{HEADER_EN}\nM001,**停办**[点此](http://x.cn)<b>,小学,镇,,王,13912345678,\n"
    county("units", "import", county.file("m.csv", roster), "--as-of", "2021-01-01")
    county("escalate", "--as-of", "2021-01-26")
    notice = json.loads(county("notices", "list", "--format", "json").stdout)[0]["id"]
    county("notices", "export", notice, "--format", "md", "--output", tmp_path / "n.md")
    text = (tmp_path / "n.md").read_text(encoding="utf-8")
    assert "＊＊停办＊＊［点此］(http://x.cn)＜b＞" in text and "**停办**" not in text
    sent = []
    monkeypatch.setattr(deliver_module, "transport", lambda kind, settings, **message: sent.append(message))
    channel = SimpleNamespace(kind="wecom", settings={}, channel=SimpleNamespace(per_unit=False))
    item = dict(unit="M001", unit_name="**停办**", town="镇", email="", contact="", task="t", title="[点此](http://x)",
                period="2021-01", due="2021-01-20", rung="reminder", rung_title="催办提醒")
    deliver_module.send(channel, DEFAULT_TEMPLATES, SimpleNamespace(recipient="*", as_of="2021-01-21", msgid="<m>"), [item], None)
    assert "＊＊停办＊＊" in sent[0]["body"] and "［点此］" in sent[0]["body"] and "**" not in sent[0]["body"]


def test_a_reason_that_looks_like_terminal_markup_is_shown_as_written(county):
    """A school's words never restyle a supervisor's table nor stop it with an error."""
    county("tasks", "waive", "--unit", "S001", "system-update", "--period", "2021-02", "--as-of", "2021-03-01",
           "--reason", "[/bold] 见[red]附件[/red] :warning:")
    for command in (["tasks", "history", "--unit", "S001", "system-update", "--period", "2021-02"],
                    ["tasks", "list", "--unit", "S001", "--as-of", "2021-03-01"]):
        result = county(*command)
        assert "Traceback" not in result.stderr
    assert "[/bold] 见[red]附件[/red] :warning:" in county(
        "tasks", "history", "--unit", "S001", "system-update", "--period", "2021-02").stdout


def test_a_completion_note_may_hold_line_breaks_but_not_other_controls(county):
    ok = county.file("ok.csv", 'unit,task,period,done_at,note\nS001,system-update,2021-05,2021-05-20,"第一行\n第二行"\n')
    assert "1 recorded" in county("tasks", "import", ok, "--as-of", "2021-06-01").stdout
    bad = county.file("bad.csv", "unit,task,period,done_at,note\nS001,system-update,2021-06,2021-06-20,a\x07b\n")
    refused(county("tasks", "import", bad, "--as-of", "2021-07-01", ok=False), "bad.csv: row 2: note contains a control character")


def test_a_list_where_a_name_belongs_is_refused_by_file_and_line(offline, calendar_file):
    plan = offline.file("plan.yaml", calendar_file.read_text(encoding="utf-8").replace("  name: 濉溪县教育局", "  name: [濉溪县教育局]", 1))
    refused(offline("calendar", "check", plan, ok=False), "plan.yaml:6: authority: name must be text, not a list")
    from helpers import ROOT
    flow = offline.file("wf.yaml", (ROOT / "workflows" / "student_aid.yaml").read_text(encoding="utf-8")
                        .replace("name: student_aid", "name: [student_aid]", 1))
    refused(offline("workflow", "check", flow, ok=False), "wf.yaml:4: name must be text, not a list")


def test_a_row_with_cells_beyond_the_header_is_refused_not_trimmed(county):
    roster = county.file("u.csv", f"{HEADER_EN}\nS9,学校,小学,镇,,王,13912345678,," + ",x" * 3000 + "\n")
    before = county.dump()
    refused(county("units", "import", roster, "--as-of", "2021-01-01", ok=False),
            "u.csv: row 2: 3009 cells, more than the header's 8 columns")
    assert county.dump() == before


def test_the_daemon_log_masks_personal_numbers(tmp_path):
    from aidcal.engine import logs
    path = tmp_path / "daemon.jsonl"
    with open(path, "w", encoding="utf-8") as stream:
        logs.configure(json_to=stream)
        logs.get("test").error("delivery failed", error="message 3 (mail → 340621200503010008): refused 13912345678")
        logs.configure(json_to=None)
    line = json.loads(path.read_text(encoding="utf-8"))
    assert line["error"] == "message 3 (mail → 340621********0008): refused 139****5678"


def test_a_bureau_sets_the_evidence_limit_in_its_plan(aidcal, calendar_file, tmp_path):
    text = calendar_file.read_text(encoding="utf-8").replace("notices:\n", "evidence: {max_mb: 1}\nnotices:\n", 1)
    calendar_file.write_text(text, encoding="utf-8")
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    from helpers import SMALL_ROSTER
    aidcal("units", "import", aidcal.file("u.csv", SMALL_ROSTER), "--as-of", "2021-01-01")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"x" * (2 * 1024 * 1024))
    refused(aidcal("tasks", "done", "--unit", "S001", "spring-payout", "--evidence", big, "--as-of", "2021-05-20", ok=False),
            "is 2 MB, more than the 1 MB allowed")
    bad = aidcal.file("plan.yaml", text.replace("evidence: {max_mb: 1}", "evidence: {max_mb: 0}"))
    refused(aidcal("calendar", "check", bad, ok=False), "evidence: max_mb 0 is not allowed (1..2048 MB)")
