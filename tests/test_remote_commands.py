"""The commands schools, supervisors and auditors run from their own machines: each one through a
real `aidcal serve`, printing what it prints on the bureau's database, and each refused outside its
user's reach (a school another school's work, a supervisor another county's, an auditor any write),
every refusal in the audit log. One server per backend for the whole module: the tests touch
different units, tasks and notices, so their order does not matter."""
import json

import pytest

from helpers import BACKENDS, bulk, case_file, remote, served_county

USERS = [("sup", "supervisor", "340621"), ("s1", "unit", "S001"), ("s2", "unit", "S002"), ("aud", "auditor", "340621"),
         ("elsewhere", "supervisor", "340622")]


@pytest.fixture(scope="module", params=BACKENDS)
def bureau(request, tmp_path_factory):
    """A county with its 2021 plan, roster, two drafted notices and S002's cases in publicity;
    a user of each role; its server running."""
    workdir = tmp_path_factory.mktemp(f"bureau-{request.param}")

    def prepare(county):
        county("escalate", "--as-of", "2021-01-26")  # notice 1: January's system-update, five units
        county("escalate", "--as-of", "2021-02-26")  # notice 2: February's
        county("cases", "import", case_file(county, "c.csv", "S002", 4), "--programme", "senior-grant",
               "--term", "2021-autumn", "--as-of", "2021-09-20")
        bulk(county, "eligibility", "publicity", "2021-09-27")
    with served_county(request, workdir, USERS, prepare) as bureau:
        yield bureau


# ── tasks evidence, tasks import ──────────────────────────────────────────────
def test_evidence_comes_back_to_its_school_as_it_went_and_to_no_other(bureau, tmp_path):
    proof = tmp_path / "月报.pdf"
    proof.write_bytes(b"%PDF-1.4 \x00\xff evidence")
    bureau.remote("s1", "tasks", "done", "--unit", "S001", "monthly-report", "--period", "2021-03", "--as-of", "2021-03-26",
                  "--evidence", proof)
    target = ["tasks", "evidence", "--unit", "S001", "monthly-report", "--period", "2021-03", "--output"]
    here = bureau.remote("s1", *target, tmp_path / "remote")
    there = bureau.county(*target, tmp_path / "local")
    assert (tmp_path / "remote" / "月报.pdf").read_bytes() == proof.read_bytes() == (tmp_path / "local" / "月报.pdf").read_bytes()
    assert here.stdout == there.stdout and here.stderr.replace("remote", "local") == there.stderr
    assert bureau.remote("aud", *target, tmp_path / "auditor").exit_code == 0  # an auditor reads its subtree
    bureau.refused("s2", *target, tmp_path / "s2", says=["S001"])
    bureau.refused("elsewhere", *target, tmp_path / "elsewhere", says=["S001"])
    assert not (tmp_path / "s2").exists() and not (tmp_path / "elsewhere").exists()


def test_a_school_imports_its_own_completions_with_their_evidence_and_no_one_elses(bureau, tmp_path):
    (tmp_path / "proofs").mkdir()
    (tmp_path / "proofs" / "四月.pdf").write_bytes(b"april's report")
    sheet = tmp_path / "完成情况.csv"
    sheet.write_text("unit,task,period,done_at,note,evidence\n"
                     "S001,monthly-report,2021-04,2021-04-26,,proofs/四月.pdf\n"
                     "K001,system-update,2021-04,2021-04-10,村园,\n", encoding="utf-8")
    first = bureau.remote("s1", "tasks", "import", sheet, "--as-of", "2021-05-01")  # K001's parent is S001
    assert first.stdout == "completions: 2 recorded (0 late), 0 already done\n"
    again = ["tasks", "import", sheet, "--as-of", "2021-05-01"]
    assert bureau.remote("s1", *again).stdout == bureau.county(*again).stdout == \
        "completions: 0 recorded (0 late), 2 already done\n"
    bureau.county("tasks", "evidence", "--unit", "S001", "monthly-report", "--period", "2021-04", "--output", tmp_path / "out")
    assert (tmp_path / "out" / "四月.pdf").read_bytes() == b"april's report"
    entry = json.loads(bureau.county("audit", "show", "--actor", "s1", "--action", "tasks.import", "--format", "json").stdout)[0]
    assert entry["object"] == "完成情况.csv" and "files=proofs/四月.pdf" in entry["summary"]

    theirs = tmp_path / "theirs.csv"
    theirs.write_text("unit,task,period,done_at,note\nS001,system-update,2021-05,2021-05-10,\n"
                      "S002,system-update,2021-05,2021-05-10,\n", encoding="utf-8")
    bureau.refused("s1", "tasks", "import", theirs, "--as-of", "2021-06-01", says=["S002"])
    bureau.refused("elsewhere", "tasks", "import", theirs, "--as-of", "2021-06-01", says=["S001"])
    bureau.refused("aud", "tasks", "import", theirs, "--as-of", "2021-06-01", says=["auditor"])


def test_a_sheet_naming_evidence_that_cannot_be_sent_says_so_by_row_locally_and_remotely(bureau, tmp_path):
    sheet = tmp_path / "c.csv"
    sheet.write_text("unit,task,period,done_at,note,evidence\nS001,monthly-report,2021-06,2021-06-25,,missing.pdf\n"
                     "S001,monthly-report,2021-07,2021-07-26,,../outside.pdf\n", encoding="utf-8")
    args = ["tasks", "import", sheet, "--as-of", "2021-08-01"]
    here, there = bureau.remote("s1", *args, ok=False), bureau.county(*args, ok=False)
    assert here.exit_code == there.exit_code == 2 and here.stderr == there.stderr
    assert here.stderr.splitlines() == ["error: c.csv: row 2: evidence file 'missing.pdf' not found next to the sheet",
                                        "error: c.csv: row 3: evidence '../outside.pdf' must be a file next to the sheet "
                                        "(no absolute path, no '..')"]



def test_a_file_named_by_a_personal_number_is_masked_in_the_audit_log(bureau, tmp_path):
    sheet = tmp_path / "340621200503010008.csv"
    sheet.write_text("unit,task,period,done_at,note\nS001,system-update,2021-11,2021-11-10,\n", encoding="utf-8")
    bureau.remote("s1", "tasks", "import", sheet, "--as-of", "2021-11-20")
    entry = json.loads(bureau.county("audit", "show", "--action", "tasks.import", "--format", "json").stdout)[-1]
    assert "340621200503010008" not in json.dumps(entry, ensure_ascii=False) and "****" in entry["object"]

# ── units list ────────────────────────────────────────────────────────────────
def test_the_roster_is_read_within_each_users_reach(bureau, tmp_path):
    for fmt in ("table", "json"):
        local = bureau.county("units", "list", "--format", fmt).stdout
        assert bureau.remote("sup", "units", "list", "--format", fmt).stdout == local
        assert bureau.remote("aud", "units", "list", "--format", fmt).stdout == local
    assert [u["code"] for u in json.loads(bureau.remote("s1", "units", "list", "--format", "json").stdout)] == ["K001", "S001"]
    bureau.remote("sup", "units", "list", "--format", "xlsx", "--output", tmp_path / "r.xlsx")
    bureau.county("units", "list", "--format", "xlsx", "--output", tmp_path / "l.xlsx")
    from openpyxl import load_workbook  # the same cells: the files' bytes differ by their creation moment
    cells = [[tuple(r) for r in load_workbook(tmp_path / name).active.iter_rows(values_only=True)] for name in ("r.xlsx", "l.xlsx")]
    assert cells[0] == cells[1] and len(cells[0]) > 2
    bureau.refused("s1", "units", "list", "--authority", "340621", says=["340621"])
    bureau.refused("elsewhere", "units", "list", "--authority", "340621", says=["340621"])


# ── notices ───────────────────────────────────────────────────────────────────
def test_a_bureaus_notices_are_read_by_its_supervisor_and_auditor_only(bureau, tmp_path):
    for args in (["notices", "list"], ["notices", "show", "1", "--as-of", "2021-01-26"]):
        for fmt in ("table", "json"):
            local = bureau.county(*args, "--format", fmt).stdout
            assert bureau.remote("sup", *args, "--format", fmt).stdout == local
            assert bureau.remote("aud", *args, "--format", fmt).stdout == local
    export = ["notices", "export", "1", "--format", "md", "--as-of", "2021-01-26", "--output"]
    bureau.remote("aud", *export, tmp_path / "remote.md")
    bureau.county(*export, tmp_path / "local.md")
    assert (tmp_path / "remote.md").read_text(encoding="utf-8") == (tmp_path / "local.md").read_text(encoding="utf-8")
    bureau.remote("sup", "notices", "export", "1", "--format", "docx", "--output", tmp_path / "n.docx")
    chinese = {"AIDCAL_LANG": "zh"}
    for args in (["notices", "list"], ["units", "list"], ["notices", "show", "1", "--as-of", "2021-01-26"]):
        assert remote(bureau.server, bureau.tokens["aud"], *args, env=chinese).stdout == bureau.county(*args, env=chinese).stdout
    refusal = remote(bureau.server, bureau.tokens["s1"], "notices", "list", env=chinese, ok=False)
    assert refusal.exit_code == 3 and refusal.stderr.startswith("拒绝：") and "340621" in refusal.stderr
    bureau.refused("s1", "notices", "list", says=["340621"])
    bureau.refused("s1", "notices", "show", "1", says=["340621"])
    bureau.refused("elsewhere", "notices", "show", "1", says=["340621"])
    bureau.refused("elsewhere", "notices", "export", "1", "--format", "md", "--output", tmp_path / "x.md", says=["340621"])
    bureau.refused("elsewhere", "notices", "list", "--authority", "340621", says=["340621"])
    assert not (tmp_path / "x.md").exists()


def test_a_supervisor_signs_its_notice_remotely_under_its_own_name_beside_the_signer(bureau):
    sign = ["notices", "sign", "1", "--by", "张局长", "--as-of", "2021-01-27"]
    bureau.refused("aud", *sign, says=["auditor"])
    bureau.refused("s1", *sign, says=["supervisor"])
    bureau.refused("elsewhere", *sign, says=["340621"])
    signed = bureau.remote("sup", *sign)
    assert signed.stdout.startswith("notice 1 issued as 2021-1 on 2021-01-27 by 张局长: ")
    entry = json.loads(bureau.county("audit", "show", "--action", "notices.sign", "--outcome", "done", "--format", "json").stdout)[-1]
    assert (entry["actor"], entry["object"]) == ("sup", "340621") and "signer=张局长" in entry["summary"]
    assert json.loads(bureau.county("notices", "show", "1", "--format", "json").stdout)[0]["signed_by"] == "张局长"
    here, there = bureau.remote("sup", *sign, ok=False), bureau.county(*sign, ok=False)
    assert here.exit_code == there.exit_code == 2 and here.stderr == there.stderr and "already issued as 教助〔2021〕1号" in here.stderr

    rectify = ["notices", "rectify", "1", "--unit", "V001", "--task", "system-update", "--note", "已补报", "--as-of", "2021-01-28"]
    bureau.refused("s1", *rectify, says=["supervisor"])
    bureau.refused("aud", *rectify, says=["auditor"])
    bureau.refused("elsewhere", *rectify, says=["340621"])
    assert bureau.remote("sup", *rectify).stdout == "notice 1: 1 items of unit V001 rectified on 2021-01-28\n"
    assert bureau.county(*rectify[:4], "S003", *rectify[5:]).stdout == "notice 1: 1 items of unit S003 rectified on 2021-01-28\n"


def test_a_supervisor_drops_items_from_its_draft_and_discards_it_and_no_one_else_may(bureau):
    drop = ["notices", "drop", "2", "--unit", "S001", "--reason", "已请假", "--as-of", "2021-02-27"]
    bureau.refused("aud", *drop, says=["auditor"])
    bureau.refused("elsewhere", *drop, says=["340621"])
    assert bureau.remote("sup", *drop).stdout == "notice 2: 2 items of unit S001 dropped from the draft\n"
    discard = ["notices", "discard", "2", "--reason", "改为约谈", "--as-of", "2021-02-27"]
    bureau.refused("s2", *discard, says=["supervisor"])
    assert bureau.remote("sup", *discard).stdout == "notice 2: discarded\n"
    assert json.loads(bureau.county("notices", "list", "--format", "json").stdout)[1]["status"] == "discarded"


# ── publicity ─────────────────────────────────────────────────────────────────
def test_a_school_exports_its_own_publicity_list_and_takes_it_down_and_no_other_school_may(bureau, tmp_path):
    listing = ["publicity", "export", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn"]
    bureau.remote("s2", *listing, "--format", "csv", "--output", tmp_path / "remote.csv")
    bureau.county(*listing, "--format", "csv", "--output", tmp_path / "local.csv")
    assert (tmp_path / "remote.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert "学生0" in (tmp_path / "remote.csv").read_text(encoding="utf-8-sig")
    bureau.remote("aud", *listing, "--format", "docx", "--output", tmp_path / "p.docx")
    bureau.refused("s1", *listing, "--format", "csv", "--output", tmp_path / "x.csv", says=["S002"])
    bureau.refused("elsewhere", *listing, "--format", "csv", "--output", tmp_path / "x.csv", says=["S002"])
    assert not (tmp_path / "x.csv").exists()
    takedown = ["publicity", "takedown", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
                "--as-of", "2021-10-09"]
    bureau.refused("s1", *takedown, says=["S002"])
    bureau.refused("aud", *takedown, says=["auditor"])
    assert bureau.remote("s2", *takedown).stdout == "publicity list of S002 senior-grant 2021-autumn taken down on 2021-10-09 (4 cases)\n"


# ── audit show ────────────────────────────────────────────────────────────────
def test_the_audit_log_is_read_within_the_readers_subtree_and_never_by_a_school(bureau):
    bureau.remote("s1", "tasks", "done", "--unit", "S001", "system-update", "--period", "2021-06", "--as-of", "2021-06-18")
    bureau.refused("elsewhere", "tasks", "list", "--unit", "S001", says=["S001"])
    from aidcal.engine import audit
    audit.link(bureau.county.engine())  # as the server does within a second: each entry shows its hash alike
    for fmt in ("table", "json"):
        local = bureau.county("audit", "show", "--actor", "s1", "--limit", "0", "--format", fmt).stdout
        assert bureau.remote("aud", "audit", "show", "--actor", "s1", "--limit", "0", "--format", fmt).stdout == local
        assert bureau.remote("sup", "audit", "show", "--actor", "s1", "--limit", "0", "--format", fmt).stdout == local
    seen = json.loads(bureau.remote("aud", "audit", "show", "--limit", "0", "--format", "json").stdout)
    assert {"s1", "elsewhere"} <= {e["actor"] for e in seen}  # an attempt on its units is in its log
    bureau.county("escalate", "--as-of", "2021-06-22")
    seen = json.loads(bureau.remote("aud", "audit", "show", "--limit", "0", "--format", "json").stdout)
    # the operator's administration on no unit in particular (the plan, the nightly ladder) reaches every subtree,
    # never its acts on one county's units, users and sheets
    assert {"calendar.load", "escalate"} <= {e["action"] for e in seen}
    bureau.county("users", "add", "xqzx-wang", "--role", "unit", "--scope", "S001")
    bureau.county("tasks", "done", "--unit", "S002", "system-update", "--period", "2021-06", "--as-of", "2021-06-18")
    theirs = json.loads(bureau.remote("elsewhere", "audit", "show", "--limit", "0", "--format", "json").stdout)
    assert {e["action"] for e in theirs if e["actor"].startswith("local:")} == {"calendar.load", "units.import", "escalate"}
    assert json.loads(bureau.remote("elsewhere", "audit", "show", "--actor", "s1", "--format", "json").stdout) == []
    bureau.refused("elsewhere", "audit", "show", "--unit", "S001", says=["S001"])
    bureau.refused("s1", "audit", "show", says=["audit log"])


def test_the_remote_commands_load_no_database_layer(bureau, tmp_path):
    """A school's machine has no database: the client path never imports SQLAlchemy or SQLModel."""
    sheet = tmp_path / "c.csv"
    sheet.write_text("unit,task,period,done_at,note\nS001,system-update,2021-09,2021-09-17,\n", encoding="utf-8")
    (tmp_path / "十月.pdf").write_bytes(b"october")
    runs = [("s1", ["tasks", "import", str(sheet), "--as-of", "2021-09-20"]),
            ("s1", ["tasks", "done", "--unit", "S001", "monthly-report", "--period", "2021-10", "--as-of", "2021-10-26",
                    "--evidence", str(tmp_path / "十月.pdf")]),
            ("s1", ["tasks", "evidence", "--unit", "S001", "monthly-report", "--period", "2021-10", "--output",
                    str(tmp_path / "back")]),
            ("sup", ["units", "list"]), ("sup", ["notices", "list"]), ("sup", ["notices", "show", "1"]),
            ("sup", ["notices", "export", "1", "--format", "md", "--output", str(tmp_path / "n.md")]),
            ("s2", ["publicity", "export", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
                    "--format", "xlsx", "--output", str(tmp_path / "p.xlsx")]),
            ("aud", ["audit", "show"]), ("s2", ["cases", "list", "--unit", "S002"]), ("s2", ["cases", "history", "1"]),
            ("aud", ["identification", "list", "--unit", "S002"])]
    script = f"""
import json, sys
from click.testing import CliRunner
from aidcal import cli
codes = [CliRunner().invoke(cli.cli, args, env={{"AIDCAL_SERVER": {bureau.server.address!r}, "AIDCAL_TOKEN": token,
                                                "AIDCAL_DB": None, "AIDCAL_LANG": "en"}}).exit_code
         for token, args in json.loads(sys.argv[1])]
print(json.dumps([codes, sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel"))]))
"""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", script, json.dumps([(bureau.tokens[u], a) for u, a in runs])],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert json.loads(out.stdout) == [[0] * len(runs), []], out.stderr



@pytest.mark.parametrize("command, args", [("calendar list", []), ("calendar load", ["calendar.yaml"]), ("escalate", []),
                                           ("cases purge", ["--before", "2020-autumn", "--reason", "retention"]),
                                           ("audit verify", []), ("serve", [])])
def test_a_command_not_yet_remote_refuses_to_run_on_a_database_here_when_a_server_is_set(bureau, command, args):
    result = bureau.remote("sup", *command.split(), *args, ok=False)
    assert result.exit_code == 2 and result.stderr == (f"error: {command} runs on the bureau's database, not through the "
                                                       "server (the bureau's operator runs it; or give --db)\n")

@pytest.mark.parametrize("act, params, says", [
    ("tasks.import", {"sheet": {"name": "../c.csv", "content": "dW5pdAo="}}, "must be a plain file name"),
    ("tasks.import", {"sheet": {"name": "c.csv", "content": "dW5pdAo="},
                      "evidence": [{"name": "proofs/../../etc/passwd", "content": "eA=="}]}, "must be a plain file name"),
    ("tasks.import", {"sheet": {"name": "c.csv", "content": "not base64!"}}, "not a name with base64 content"),
    ("tasks.import", {"sheet": "c.csv"}, "not a name with base64 content"),
    ("tasks.import", {"sheet": {"name": "c.csv", "content": "dW5pdAo="},
                      "evidence": [{"name": "c.csv", "content": "eA=="}]}, "sent twice"),
    ("notices.show", {"notice": "1 or 1=1"}, "is not a row number"),
    ("notices.show", {"notice": 99}, "notice 99 does not exist"),
    ("audit.show", {"since": "yesterday"}, "is not a date"),
    ("cases.record", {"case": 1, "amount": "1e999"}, "is not a positive amount"),
    ("cases.record", {"case": 1, "documents": "申请表"}, "is not a list"),
    ("cases.resolve", {"case": 1, "upheld": "false", "note": "x"}, "is not true or false"),
    ("cases.list", {"limit": -1}, "is not a row number"),
    ("cases.import", {"sheet": {"name": "c.csv", "content": "dW5pdAo="}, "programme": "senior-grant", "term": "2021-autumn"},
     "c.csv"),
])
def test_a_hostile_request_is_one_line_and_writes_nothing(bureau, act, params, says):
    import urllib.error
    import urllib.request
    before = {k: v for k, v in bureau.county.dump().items() if k != "audit"}
    request = urllib.request.Request(f"{bureau.server.address}/api/{act}", data=json.dumps({"params": params}).encode(),
                                     method="POST", headers={"Authorization": f"Bearer {bureau.tokens['sup']}",
                                                             "Content-Type": "application/json", "X-Aidcal-Lang": "en"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=30)
    problems = json.loads(answer.value.read())["problems"]
    assert answer.value.code == 400 and len(problems) == 1 and says in problems[0], problems
    assert {k: v for k, v in bureau.county.dump().items() if k != "audit"} == before
