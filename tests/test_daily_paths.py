"""The supervisor's and the school's daily paths: no false all-clear, notices a
bureau can stand behind, times in Beijing time."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import aidcal.cli as aidcal_cli


def run(*args, env=None):
    return CliRunner().invoke(aidcal_cli.cli, list(map(str, args)), env={"AIDCAL_USER": "tester", **(env or {})})


def test_a_command_in_the_wrong_folder_creates_nothing_and_reports_no_all_clear(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("overdue", "--as-of", "2021-07-15")
    assert result.exit_code == 2
    assert f"no database at sqlite:///{tmp_path / 'state.db'}; load a plan with aidcal calendar load" in result.stderr
    assert "at a school, log in to the bureau's server: aidcal login --server URL" in result.stderr
    assert "逾期" not in result.stdout and not (tmp_path / "state.db").exists()


def test_a_token_without_its_server_is_named_not_taken_for_a_local_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("tasks", "list", "--unit", "S001", env={"AIDCAL_TOKEN": "aidcal_x", "AIDCAL_SERVER": None,
                                                        "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert result.exit_code == 2 and not (tmp_path / "state.db").exists()
    assert result.stderr.startswith("error: AIDCAL_TOKEN is set but AIDCAL_SERVER is not; set AIDCAL_SERVER")


def test_a_database_with_no_plan_is_named_and_refused(aidcal, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    from aidcal.engine import store
    store.connect(url, create=True).dispose()  # a database that exists, with no plan in it
    result = run("--db", url, "tasks", "list", "--unit", "S001")
    assert result.exit_code == 2
    assert f"no plan is loaded in {url}; load one with aidcal calendar load" in result.stderr


def test_an_empty_database_setting_is_an_error_not_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("overdue", env={"AIDCAL_DB": ""})
    assert result.exit_code == 2 and "the database URL is empty" in result.stderr
    assert not (tmp_path / "state.db").exists()


def test_a_password_in_the_database_url_is_never_printed(tmp_path):
    result = run("--db", f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}?password=hunter2", "overdue")
    assert result.exit_code == 2 and "hunter2" not in result.stderr + result.stdout
    from aidcal.engine import store
    assert "hunter2" not in store.shown("postgresql+psycopg://aidcal:hunter2@db.example/suixi")
    assert store.shown("postgresql+psycopg://aidcal:hunter2@db.example/suixi") == "postgresql+psycopg://aidcal:***@db.example/suixi"


def test_calendar_load_and_db_copy_create_the_database(tmp_path, calendar_file):
    source = f"sqlite:///{tmp_path / 'a.db'}"
    assert run("--db", source, "calendar", "load", calendar_file, "--as-of", "2021-01-01").exit_code == 0
    copied = run("--db", source, "db", "copy", "--to", f"sqlite:///{tmp_path / 'b.db'}")
    assert copied.exit_code == 0 and (tmp_path / "b.db").exists()


def notice_drafted(county) -> int:
    county("escalate", "--as-of", "2021-01-26")
    notices = json.loads(county("notices", "list", "--format", "json").stdout)
    assert notices and notices[0]["status"] == "draft" and notices[0]["drafted_on"] == "2021-01-26"
    return notices[0]["id"]


def test_notices_list_in_its_default_table_form(county):
    notice = notice_drafted(county)
    table = county("notices", "list").stdout
    assert "notices: 1" in table and "Drafted on" in table and "2021-01-26" in table and "draft" in table
    assert str(notice) in table


def test_a_notice_is_never_signed_before_it_was_drafted_or_after_today(county):
    notice = notice_drafted(county)
    before = county.dump()
    early = county("notices", "sign", notice, "--by", "局长", "--as-of", "2021-01-25", ok=False)
    assert early.exit_code == 2 and "was drafted on 2021-01-26; it cannot be issued on 2021-01-25" in early.stderr
    ahead = county("notices", "sign", notice, "--by", "局长", "--as-of", "2099-01-04", ok=False)
    assert ahead.exit_code == 2 and "after today" in ahead.stderr
    assert county.dump() == before
    assert "issued as 2021-1 on 2021-01-27" in county("notices", "sign", notice, "--by", "局长", "--as-of", "2021-01-27").stdout


def test_moments_are_shown_in_beijing_time_with_the_offset(county):
    plans = json.loads(county("calendar", "list", "--format", "json").stdout)
    assert plans[0]["loaded_at"].endswith("+08:00")
    county("escalate", "--as-of", "2021-01-26")
    runs = json.loads(county("runs", "list", "--format", "json").stdout)
    assert runs[0]["started"].endswith("+08:00") and runs[0]["finished"].endswith("+08:00")


def items(county, notice, as_of, key="items"):
    shown = json.loads(county("notices", "show", notice, "--as-of", as_of, "--format", "json").stdout)[0]
    return {x["unit"]: (x["status"], x.get("reason")) for x in shown[key]}


def test_signing_leaves_out_work_done_by_the_issue_date_and_says_so(county):
    notice = notice_drafted(county)
    county("tasks", "done", "--unit", "S002", "system-update", "--period", "2021-01", "--as-of", "2021-01-27")
    county("notices", "sign", notice, "--by", "局长", "--as-of", "2021-01-28")
    assert "S002" not in items(county, notice, "2021-01-28")
    assert items(county, notice, "2021-01-28", "dropped") == {"S002": ("dropped", "done on 2021-01-27")}
    shown = county("notices", "show", notice, "--as-of", "2021-01-28").stdout
    assert "1 items not in the notice" in shown and "done on 2021-01-27" in shown
    listed = json.loads(county("notices", "list", "--format", "json").stdout)[0]
    assert listed["units"] == 4 and listed["status"] == "issued"


def test_a_supervisor_drops_an_item_or_discards_a_draft(county):
    notice = notice_drafted(county)
    dropped = county("notices", "drop", notice, "--unit", "S003", "--task", "system-update", "--reason", "系统故障，已核实",
                     "--as-of", "2021-01-26")
    assert "1 items of unit S003 dropped" in dropped.stdout
    assert items(county, notice, "2021-01-26", "dropped") == {"S003": ("dropped", "系统故障，已核实")}
    none = county("notices", "drop", notice, "--unit", "S003", "--reason", "again", ok=False)
    assert none.exit_code == 2 and "names nothing of unit S003" in none.stderr
    county("notices", "discard", notice, "--reason", "改为电话督办", "--as-of", "2021-01-27")
    assert json.loads(county("notices", "list", "--format", "json").stdout)[0]["status"] == "discarded"
    refused = county("notices", "sign", notice, "--by", "局长", "--as-of", "2021-01-27", ok=False)
    assert refused.exit_code == 2 and "was discarded on 2021-01-27 (改为电话督办" in refused.stderr


def test_a_rectification_is_the_late_work_done_and_the_overdue_list_agrees(county):
    notice = notice_drafted(county)
    county("notices", "sign", notice, "--by", "局长", "--as-of", "2021-01-27")
    county("notices", "rectify", notice, "--unit", "S001", "--task", "system-update", "--period", "2021-01",
           "--note", "已补录", "--as-of", "2021-01-29")
    tasks = json.loads(county("tasks", "list", "--unit", "S001", "--month", "2021-01", "--as-of", "2021-01-29",
                              "--format", "json").stdout)
    assert [(t["task"], t["status"], t["done_at"]) for t in tasks if t["task"] == "system-update"] == \
        [("system-update", "done_late", "2021-01-29")]
    late = json.loads(county("overdue", "--as-of", "2021-01-29", "--unit", "S001", "--format", "json").stdout)
    assert not [r for r in late if r["task"] == "system-update" and r["period"] == "2021-01"]
    assert items(county, notice, "2021-01-28")["S001"] == ("pending", None)  # as it was on the 28th
    assert items(county, notice, "2021-01-29")["S001"][0] == "rectified"
    history = json.loads(county("tasks", "history", "--unit", "S001", "system-update", "--period", "2021-01",
                                "--format", "json").stdout)
    number = county.scalar(f"SELECT number FROM notice WHERE id = {notice}")
    assert history[-1]["detail"] == f"按通报 {number} 整改：已补录"  # which notice the late work answers


def test_a_county_adopting_mid_year_is_not_noticed_for_its_whole_spring(aidcal, calendar_file):
    text = calendar_file.read_text(encoding="utf-8").replace("  escalate: 1 ", "  start: 2021-06-01\n  escalate: 1 ", 1)
    calendar_file.write_text(text, encoding="utf-8")
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-06-01")
    from helpers import SMALL_ROSTER
    aidcal("units", "import", aidcal.file("u.csv", SMALL_ROSTER), "--as-of", "2021-06-01")
    steps = json.loads(aidcal("escalate", "--as-of", "2021-06-30", "--format", "json").stdout)
    assert steps and min(s["due_on"] for s in steps) >= "2021-06-01"
    tasks = json.loads(aidcal("tasks", "list", "--unit", "S001", "--as-of", "2021-06-30", "--format", "json").stdout)
    assert min(t["due"] for t in tasks) >= "2021-06-01"  # units joined on 1 June: nothing due before is theirs


def test_a_unit_imported_mid_year_owes_nothing_due_before_it_joined(county):
    county("units", "import", county.file("new.csv", "code,name,type,town,parent,contact,phone\nS009,新建学校,小学,濉溪镇,,赵新,13912340000\n"),
           "--as-of", "2021-09-01")
    tasks = json.loads(county("tasks", "list", "--unit", "S009", "--as-of", "2021-09-01", "--format", "json").stdout)
    assert tasks and min(t["due"] for t in tasks) >= "2021-09-01"


def test_no_heads_up_for_work_already_past_due(aidcal, calendar_file):
    text = calendar_file.read_text(encoding="utf-8").replace("heads_up: null ", "heads_up: 2    ")
    calendar_file.write_text(text, encoding="utf-8")
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    from helpers import SMALL_ROSTER
    aidcal("units", "import", aidcal.file("u.csv", SMALL_ROSTER), "--as-of", "2021-01-01")
    late_run = json.loads(aidcal("escalate", "--as-of", "2021-01-25", "--format", "json").stdout)
    assert late_run and not [s for s in late_run if s["rung"] == "heads_up" and s["period"] == "2021-01"]
    on_time = json.loads(aidcal("escalate", "--as-of", "2021-02-18", "--format", "json").stdout)
    assert [s for s in on_time if s["rung"] == "heads_up" and s["period"] == "2021-02"]


def test_doing_again_what_is_already_so_says_so_plainly_with_exit_0(county):
    target = ["--unit", "S001", "system-update", "--period", "2021-05"]
    county("tasks", "done", *target, "--as-of", "2021-05-20")
    again = county("tasks", "done", *target, "--as-of", "2021-05-21")
    assert "S001 system-update 2021-05: 2021-05 is already done on 2021-05-20; nothing changed" in again.stdout
    county("tasks", "reopen", *target, "--reason", "数据有误", "--as-of", "2021-05-22")
    assert "2021-05 is not done; nothing changed" in county("tasks", "reopen", *target, "--reason", "x").stdout
    county("tasks", "waive", *target, "--reason", "停办", "--as-of", "2021-05-23")
    assert "2021-05 is already waived on 2021-05-23; nothing changed" in county(
        "tasks", "waive", *target, "--reason", "停办", "--as-of", "2021-05-24").stdout


def test_an_extension_only_moves_a_deadline_later_and_work_is_dated_within_reason(county):
    before = county.dump()
    earlier = county("tasks", "extend", "--unit", "S001", "system-update", "--period", "2021-05", "--to", "2021-05-10",
                     "--reason", "x", ok=False)
    assert earlier.exit_code == 2 and "is not later than the due date 2021-05-20" in earlier.stderr
    ahead = county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-05", "--as-of", "2099-05-20", ok=False)
    assert ahead.exit_code == 2 and "after today" in ahead.stderr
    old = county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-05", "--as-of", "2020-12-31", ok=False)
    assert old.exit_code == 2 and "before the plan's year 2021" in old.stderr
    assert county.dump() == before
    slashed = county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021/5", "--as-of", "2021-05-19")
    assert "S001 system-update 2021-05: done on 2021-05-19" in slashed.stdout  # as a sheet's 2021/5 reads
    bare = county("tasks", "done", "--unit", "S001", "system-update", "--period", "5", ok=False)
    assert bare.exit_code == 2 and "'5' is not a period (YYYY-MM, e.g. 2021-05)" in bare.stderr


def test_a_supervisor_reads_back_the_roster_a_task_history_and_its_evidence(county, tmp_path):
    listed = json.loads(county("units", "list", "--town", "濉溪镇", "--format", "json").stdout)
    assert [u["code"] for u in listed] == ["K001", "S001"] and listed[1]["phone"] == "139****5678"
    assert "13912345678" not in county("units", "list").stdout
    csv_out = tmp_path / "units.csv"
    county("units", "list", "--format", "csv", "--output", csv_out)
    assert csv_out.read_text(encoding="utf-8-sig").splitlines()[0].startswith("学校代码,学校名称,学校类型,乡镇")
    proof = county.file("花名册.pdf", "签字确认的发放花名册")
    county("tasks", "done", "--unit", "S001", "spring-payout", "--evidence", proof, "--as-of", "2021-05-20")
    county("tasks", "reopen", "--unit", "S001", "spring-payout", "--reason", "缺签字", "--as-of", "2021-05-21")
    history = json.loads(county("tasks", "history", "--unit", "S001", "spring-payout", "--format", "json").stdout)
    assert [(h["kind"], h["on"], h["by"]) for h in history] == [("done", "2021-05-20", "tester"), ("reopen", "2021-05-21", "tester")]
    assert "缺签字" in history[1]["detail"] and history[0]["at"].endswith("+08:00")
    table = county("tasks", "history", "--unit", "S001", "spring-payout").stdout
    assert "its record" in table and "By" in table and "reopen" in table and "+08:00" not in table  # moments to the minute
    out = tmp_path / "evidence"
    county("tasks", "evidence", "--unit", "S001", "spring-payout", "--output", out)
    assert (out / "花名册.pdf").read_text(encoding="utf-8") == "签字确认的发放花名册"


def test_a_monthly_tasks_history_without_a_period_is_its_whole_year_and_an_empty_list_says_so(county):
    """A supervisor asking what a school did on a monthly task sees every period's writes, period by
    period, not a list of periods to choose from; a list that matches nothing says so under its title."""
    for period, day in (("2021-03", "2021-03-18"), ("2021-01", "2021-01-19")):
        county("tasks", "done", "--unit", "S001", "system-update", "--period", period, "--as-of", day)
    county("tasks", "reopen", "--unit", "S001", "system-update", "--period", "2021-03", "--reason", "数据有误",
           "--as-of", "2021-03-19")
    county("tasks", "extend", "--unit", "S001", "system-update", "--period", "2021-04", "--to", "2021-04-30",
           "--reason", "乡镇网络故障", "--as-of", "2021-04-10")
    history = json.loads(county("tasks", "history", "--unit", "S001", "system-update", "--format", "json").stdout)
    assert [(h["period"], h["kind"]) for h in history] == [("2021-01", "done"), ("2021-03", "done"), ("2021-03", "reopen"),
                                                           ("2021-04", "extend")]
    # the record's words in Chinese whatever language reads them (this test's is English)
    assert [h["detail"] for h in history[2:]] == ["原完成日期 2021-03-18：数据有误", "截止日期 2021-04-20 → 2021-04-30：乡镇网络故障"]
    one = json.loads(county("tasks", "history", "--unit", "S001", "system-update", "--period", "2021-03",
                            "--format", "json").stdout)
    assert [h["kind"] for h in one] == ["done", "reopen"]
    untouched = county("tasks", "history", "--unit", "K001", "system-update", env={"AIDCAL_LANG": "zh"}).stdout
    assert untouched.splitlines()[1:] == ["（无）"]
    none_late = county("tasks", "list", "--unit", "S001", "--month", "2021-01", "--status", "overdue",
                       "--as-of", "2021-01-20", env={"AIDCAL_LANG": "zh"}).stdout
    assert none_late.splitlines()[1:] == ["（无）"]


def test_a_dry_run_tells_the_same_steps_notices_and_messages_a_real_run_makes(county):
    notify = county.file("notify.yaml", "channels:\n  - name: wx\n    kind: wecom\n    url: http://127.0.0.1:9/robot\n")
    before = county.dump()
    dry = county("--notify", notify, "escalate", "--as-of", "2021-01-26", "--dry-run", "--format", "json")
    assert county.dump() == before
    real = county("--notify", notify, "escalate", "--as-of", "2021-01-26", "--format", "json")
    counts = lambda r: r.stderr.split("steps (", 1)[1]  # noqa: E731  "reminder 5, notice 5, …, notices 1, messages 1)"
    assert counts(dry) == counts(real) and "notices 1, messages 1)" in counts(real)
    shape = lambda rows: sorted((s["unit"], s["task"], s["period"], s["rung"], s["due_on"], s["taken_on"],  # noqa: E731
                                 s["notice"] is None) for s in json.loads(rows.stdout))
    assert shape(dry) == shape(real) and any(not s[-1] for s in shape(real))


def test_a_lease_whose_holder_process_is_gone_is_taken_over_at_once_on_the_same_host(aidcal, calendar_file):
    import socket
    import subprocess
    import sys
    from datetime import UTC, datetime, timedelta

    from aidcal import daemon
    from aidcal.engine import leases, store
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = f"{socket.gethostname()}:{dead.stdout.strip()}"  # a pid that has exited
    engine = aidcal.engine()
    with store.writing(engine) as conn:
        assert leases.acquire(conn, daemon.LEASE, gone, datetime.now(UTC), timedelta(minutes=10))
    assert daemon.acquire(engine, "me:1")  # ten minutes left, but its holder is dead
    with store.reading(engine) as conn:
        assert leases.holder_of(conn, daemon.LEASE)[0] == "me:1"
    with store.writing(engine) as conn:  # a live holder on another host keeps it, and is named
        leases.release(conn, daemon.LEASE, "me:1")
        leases.acquire(conn, daemon.LEASE, "otherhost:42", datetime.now(UTC), daemon.LEASE_TTL)
    assert not daemon.acquire(engine, "me:2")
    refusal = daemon.refusal(engine)
    assert "(otherhost:42, until " in refusal and "+08:00)" in refusal


def test_a_completion_sheet_reports_every_bad_row_at_once_whatever_is_wrong(county):
    sheet = county.file("c.csv", "unit,task,period,done_at,note,evidence\n"
                                 "S001,system-update,2021-05,2021-05-20,,\n"
                                 "S001,nosuch,2021-05,2021-05-20,,\n"
                                 "S002,system-update,2021-13,2021-05-20,,\n"
                                 "S003,system-update,2021-05,someday,,\n"
                                 "S003,system-update,2021-04,2021-04-20,,missing.pdf\n")
    before = county.dump()
    result = county("tasks", "import", sheet, "--as-of", "2021-06-01", ok=False)
    assert result.exit_code == 2 and county.dump() == before
    assert result.stderr.splitlines() == [  # a file not there is one problem among the rest, not a first round
        "error: c.csv: row 3: S001 nosuch 2021-05: no such task for this unit and period (check unit code, task key and period)",
        "error: c.csv: row 4: period '2021-13' is not YYYY-MM",
        "error: c.csv: row 5: done_at 'someday' is not a date (use YYYY-MM-DD)",
        "error: c.csv: row 6: evidence file 'missing.pdf' not found next to the sheet"]
    many = county.file("m.csv", "unit,task,period,done_at,note\n" + "".join(f"S00{k % 3 + 1},nosuch{k},2021-05,2021-05-20,\n"
                                                                             for k in range(250)))
    lines = county("tasks", "import", many, "--as-of", "2021-06-01", ok=False).stderr.splitlines()
    assert len(lines) == 201 and lines[-1] == "error: …and 50 more rows with problems"


def test_reopened_work_sent_again_with_the_same_evidence_is_recorded_and_keeps_the_file(county):
    proof = county.file("花名册.pdf", "签字确认的发放花名册")
    county("tasks", "done", "--unit", "S001", "spring-payout", "--evidence", proof, "--as-of", "2021-05-20")
    county("tasks", "reopen", "--unit", "S001", "spring-payout", "--reason", "重新核对", "--as-of", "2021-05-21")
    county("tasks", "done", "--unit", "S001", "spring-payout", "--evidence", proof, "--as-of", "2021-05-22")
    county("tasks", "reopen", "--unit", "S001", "spring-payout", "--reason", "再核对", "--as-of", "2021-05-23")
    sheet = county.file("c.csv", "unit,task,period,done_at,note,evidence\nS001,spring-payout,2021-05,2021-05-24,,花名册.pdf\n")
    assert "1 recorded" in county("tasks", "import", sheet, "--as-of", "2021-06-01").stdout
    assert county.scalar("SELECT count(*) FROM evidence") == 1 and county.scalar("SELECT count(*) FROM evidence_blob") == 1


def test_without_a_period_work_already_so_still_says_so(county):
    county("tasks", "done", "--unit", "S001", "spring-payout", "--as-of", "2021-05-20",
           "--evidence", county.file("花名册.pdf", "签字确认的发放花名册"))
    again = county("tasks", "done", "--unit", "S001", "spring-payout", "--as-of", "2021-05-21")
    assert "2021-05 is already done on 2021-05-20; nothing changed" in again.stdout


def test_databases_that_cannot_be_are_named_before_anything_is_created(tmp_path, calendar_file):
    missing = run("--db", f"sqlite:///{tmp_path / 'nodir' / 's.db'}", "calendar", "load", calendar_file, "--as-of", "2021-01-01")
    assert missing.exit_code == 2 and f"the folder {tmp_path / 'nodir'} does not exist" in missing.stderr
    odd = run("--db", "foo://bar", "calendar", "list")
    assert odd.exit_code == 2 and "'foo' is not a database aidcal can open" in odd.stderr
    copy = run("--db", f"sqlite:///{tmp_path / 'none.db'}", "db", "copy", "--to", f"sqlite:///{tmp_path / 'x.db'}")
    assert copy.exit_code == 2 and not (tmp_path / "x.db").exists()


def test_a_png_drawing_without_graphviz_says_so(county, tmp_path):
    import importlib.util
    import shutil
    if importlib.util.find_spec("graphviz") and shutil.which("dot"):
        pytest.skip("graphviz is installed here: the png is drawn")
    result = county("workflow", "show", "student_aid", "--format", "png", "--output", tmp_path / "wf.png", ok=False)
    assert result.exit_code == 2 and "--format png needs graphviz" in result.stderr and not (tmp_path / "wf.png").exists()


def test_a_draft_is_never_discarded_before_it_was_drafted(county):
    notice = notice_drafted(county)
    result = county("notices", "discard", notice, "--reason", "x", "--as-of", "2021-01-22", ok=False)
    assert result.exit_code == 2 and "cannot be discarded on 2021-01-22, before that" in result.stderr


def test_numbers_and_dates_out_of_range_are_one_line(county):
    for args in (["overdue", "--as-of", "9999-12-31"], ["cases", "history", "99999999999"], ["overdue", "--year", "3000"]):
        result = county(*args, ok=False)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
