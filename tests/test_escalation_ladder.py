"""The notice-and-rectify ladder: exact rung dates, idempotence, catch-up equal
to nightly runs, notices issued on real dates, rectification and escalation."""
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from aidcal.engine import escalation, store
from aidcal.engine.escalation import Channel
from aidcal.engine.workdays import WorkCalendar
from helpers import HEADER_EN, SMALL_ROSTER, Aidcal

CAL = WorkCalendar()


def run(aidcal, as_of, *extra):
    return json.loads(aidcal("escalate", "--as-of", as_of, "--format", "json", *extra).stdout)


def steps(aidcal, unit=None):
    where = f"WHERE u.code = '{unit}'" if unit else ""
    with store.reading(aidcal.engine()) as conn:
        return sorted(tuple(map(str, r)) for r in conn.execute(text(
            "SELECT u.code, t.key, o.period, s.rung, s.due_on FROM ladder_step s JOIN task_instance i ON i.id = s.instance_id "
            "JOIN unit u ON u.id = i.unit_id JOIN occurrence o ON o.id = i.occurrence_id JOIN task t ON t.id = o.task_id "
            f"{where}")))


def test_rungs_fall_on_working_days_counted_from_due(county):
    assert {(s["unit"], s["rung"], s["due_on"]) for s in run(county, "2021-01-21") if s["task"] == "system-update"} \
        == {(u, "reminder", "2021-01-21") for u in ("S001", "S002", "S003", "K001", "V001")}
    notice = [s for s in run(county, "2021-01-25") if s["rung"] == "notice" and s["task"] == "system-update"]
    assert {s["due_on"] for s in notice} == {"2021-01-25"} and len(notice) == 5
    assert all(s["notice"] == notice[0]["notice"] for s in notice)


def test_a_second_run_for_the_same_day_takes_nothing(county):
    assert run(county, "2021-02-01")
    before = county.dump()
    assert run(county, "2021-02-01") == []
    after = county.dump()
    assert after["ladder_step"] == before["ladder_step"] and after["notice_item"] == before["notice_item"]
    assert after["outbox"] == before["outbox"]


def test_dry_run_says_what_a_run_would_take_and_writes_nothing(county):
    before = county.dump()
    would = run(county, "2021-02-01", "--dry-run")
    assert county.dump() == before
    taken = run(county, "2021-02-01")
    key = lambda s: (s["unit"], s["task"], s["period"], s["rung"], s["due_on"])  # noqa: E731
    assert sorted(map(key, would)) == sorted(map(key, taken))


def test_heads_up_comes_before_due_unless_the_work_is_done(aidcal):
    plan = SIMPLE_PLAN.replace("notices: {sign_off: false}\n", "ladder: {heads_up: 2}\n")
    aidcal("calendar", "load", aidcal.file("plan.yaml", plan), "--as-of", "2021-01-01")
    aidcal("units", "import", aidcal.file("u.csv", f"{HEADER_EN}\nA,甲小学,小学,镇,,王,13912345678,\nB,乙小学,小学,镇,,李,13912345679,\n"),
           "--as-of", "2021-01-01")
    aidcal("tasks", "done", "--unit", "B", "report", "--period", "2021-03", "--as-of", "2021-03-17")
    heads_up = [(x["unit"], x["due_on"]) for x in run(aidcal, "2021-03-18") if x["rung"] == "heads_up" and x["period"] == "2021-03"]
    assert heads_up == [("A", "2021-03-18")]  # due Mon 22 March (the 20th is a Saturday): two working days before


def test_bureau_work_has_no_ladder(county):
    assert not [s for s in run(county, "2021-06-30") if s["unit"] == "340621"]


def test_a_week_off_records_the_same_steps_as_nightly_runs(aidcal, another_db, calendar_file):
    nightly, weekly = aidcal, Aidcal(another_db("weekly"), aidcal.workdir)  # two databases on this test's backend
    roster = aidcal.file("u.csv", SMALL_ROSTER)
    for db in (nightly, weekly):
        db("calendar", "load", calendar_file, "--as-of", "2021-01-01")
        db("units", "import", roster, "--as-of", "2021-01-01")
    day = date(2021, 1, 18)
    while day <= date(2021, 1, 31):
        run(nightly, day.isoformat())
        if day == date(2021, 1, 23):  # S001 reports its work done on the 22nd, a day late
            for db in (nightly, weekly):
                db("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-01", "--as-of", "2021-01-22")
        day += timedelta(days=1)
    notify = aidcal.file("notify.yaml", "channels:\n  - name: mail\n    kind: email\n    smtp_host: 127.0.0.1\n"
                                        "    sender: a@example.cn\n")
    weekly("units", "import", aidcal.file("mail.csv", SMALL_ROSTER.replace(f"{HEADER_EN}\n", f"{HEADER_EN},email\n")
                                          .replace(",\n", ",,x@example.cn\n").replace("2021-03-01\n", "2021-03-01,x@example.cn\n")),
           "--as-of", "2021-01-01")
    taken = json.loads(weekly("--notify", notify, "escalate", "--as-of", "2021-01-31", "--format", "json").stdout)
    assert steps(nightly) == steps(weekly)
    # One digest per unit for the whole week, never a burst of stale ones.
    assert weekly.scalar("SELECT count(*) FROM outbox") == len({x["unit"] for x in taken}) == 5
    assert ("S001", "system-update", "2021-01", "reminder", "2021-01-21") in steps(weekly)
    assert ("S001", "system-update", "2021-01", "notice", "2021-01-25") not in steps(weekly)


def test_notice_is_issued_when_signed_and_the_clock_starts_then(county):
    taken = run(county, "2021-01-25")
    notice_id = next(s["notice"] for s in taken if s["rung"] == "notice")
    assert county.scalar(f"SELECT number FROM notice WHERE id = {notice_id}") is None
    assert not [s for s in run(county, "2021-03-01") if s["rung"] == "escalate"]  # never escalate an unissued notice
    out = county("notices", "sign", notice_id, "--by", "张局长", "--as-of", "2021-03-02").stdout
    assert "issued as 2021-1 on 2021-03-02" in out
    # Five working days after Tue 2 March: Tue 9 March; escalation the next working day.
    assert county.scalar(f"SELECT min(rectify_by) || ' ' || min(escalate_on) FROM notice_item WHERE notice_id = {notice_id}") \
        == "2021-03-09 2021-03-10"
    county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-01", "--as-of", "2021-03-08")
    county("tasks", "done", "--unit", "S002", "system-update", "--period", "2021-01", "--as-of", "2021-03-10")
    county("notices", "rectify", notice_id, "--unit", "K001", "--note", "已补录系统数据", "--as-of", "2021-03-09")
    escalated = {s["unit"] for s in run(county, "2021-03-10") if s["rung"] == "escalate" and s["period"] == "2021-01"
                 and s["task"] == "system-update"}
    assert escalated == {"S002", "S003", "V001"}  # S002 finished on the escalation day itself: too late
    shown = json.loads(county("notices", "show", notice_id, "--as-of", "2021-03-12", "--format", "json").stdout)[0]
    status = {(x["unit"], x["task"]): x["status"] for x in shown["items"]}
    assert status[("S001", "system-update")] == "rectified" and status[("K001", "system-update")] == "rectified"
    assert status[("S002", "system-update")] == "rectified_late" and status[("S003", "system-update")] == "escalated"


def test_signing_twice_is_refused(county):
    notice_id = next(s["notice"] for s in run(county, "2021-01-25") if s["notice"])
    county("notices", "sign", notice_id, "--by", "张局长", "--as-of", "2021-01-26")
    result = county("notices", "sign", notice_id, "--by", "李", "--as-of", "2021-01-27", ok=False)
    assert result.exit_code == 2 and "already issued as 教助〔2021〕1号 on 2021-01-26" in result.stderr  # its 发文字号, as every reader knows it


def test_notice_numbers_follow_the_order_of_issue(county):
    first = next(s["notice"] for s in run(county, "2021-01-25") if s["notice"])
    second = next(s["notice"] for s in run(county, "2021-02-02") if s["notice"])
    county("notices", "sign", second, "--by", "张局长", "--as-of", "2021-02-03")
    county("notices", "sign", first, "--by", "张局长", "--as-of", "2021-02-04")
    numbers = {n["id"]: n["number"] for n in json.loads(county("notices", "list", "--format", "json").stdout)}
    assert numbers[second] == "2021-1" and numbers[first] == "2021-2"


def test_export_writes_a_printable_notice(county, tmp_path):
    notice_id = next(s["notice"] for s in run(county, "2021-01-25") if s["notice"])
    county("notices", "sign", notice_id, "--by", "张局长", "--as-of", "2021-01-26")
    county("notices", "export", notice_id, "--format", "md", "--output", tmp_path / "n.md")
    md = (tmp_path / "n.md").read_text(encoding="utf-8")
    assert "濉溪县教育局关于学生资助工作滞后单位的通报" in md and "教助〔2021〕1号" in md and "濉溪镇中心学校" in md
    county("notices", "export", notice_id, "--format", "docx", "--output", tmp_path / "n.docx")
    from docx import Document
    doc = Document(tmp_path / "n.docx")
    cells = [c.text for row in doc.tables[0].rows for c in row.cells]
    assert "学校名称" in cells and "濉溪镇中心学校" in cells and "2021-02-02" in cells  # the rectification deadline


SIMPLE_PLAN = """version: 1
authority: {code: "340621", name: 濉溪县教育局}
year: 2021
notices: {sign_off: false}
tasks:
  - key: report
    title: 每月 20 日前上报月报
    who: all
    months: all
    day: 20
"""


def test_a_simulated_year_gives_exactly_the_expected_steps(aidcal):
    """On time: no step. Two working days late: a reminder. Never: reminder, notice,
    and (notices issued at once) escalation 5 + 1 working days after the notice."""
    aidcal("calendar", "load", aidcal.file("plan.yaml", SIMPLE_PLAN), "--as-of", "2021-01-01")
    aidcal("units", "import", aidcal.file("u.csv", f"{HEADER_EN}\nON,准时小学,小学,镇,,王,13912345678,\n"
                                          "LATE,迟交小学,小学,镇,,李,13912345679,\nNEVER,未交小学,小学,镇,,张,13912345670,\n"),
           "--as-of", "2021-01-01")
    engine = aidcal.engine()
    dues = [CAL.roll(date(2021, m, 20), "forward") for m in range(1, 13)]
    done = {("ON", d): d for d in dues} | {("LATE", d): CAL.add_workdays(d, 2) for d in dues}
    day = date(2021, 1, 1)
    while day <= date(2021, 12, 31):
        for (unit, due), when in done.items():
            if when == day - timedelta(days=1):  # reported the next morning, dated the day it was done
                aidcal("tasks", "done", "--unit", unit, "report", "--period", f"{due:%Y-%m}", "--as-of", when.isoformat())
        with store.writing(engine) as conn:
            escalation.escalate(conn, day, "test", [Channel("group", per_unit=False)])
        day += timedelta(days=1)
    expected = []
    for due in dues:
        period = f"{due:%Y-%m}"
        expected.append(("LATE", "report", period, "reminder", str(CAL.add_workdays(due, 1))))
        expected.append(("NEVER", "report", period, "reminder", str(CAL.add_workdays(due, 1))))
        notice_day = CAL.add_workdays(due, 3)
        expected.append(("NEVER", "report", period, "notice", str(notice_day)))
        escalate_day = CAL.add_workdays(CAL.add_workdays(notice_day, 5), 1)
        if escalate_day <= date(2021, 12, 31):
            expected.append(("NEVER", "report", period, "escalate", str(escalate_day)))
    assert steps(aidcal) == sorted(expected)
    # Every step was taken on the day it was due (the engine ran every night).
    assert aidcal.scalar("SELECT count(*) FROM ladder_step WHERE taken_on <> due_on") == 0
    # One group digest per run that took steps; every notice issued at once, numbered in order.
    assert aidcal.scalar("SELECT count(*) FROM outbox") == aidcal.scalar("SELECT count(DISTINCT run_id) FROM ladder_step")
    assert aidcal.scalar("SELECT max(number) FROM notice") == "2021-9" and aidcal.scalar("SELECT count(*) FROM notice") == 12


def test_a_failed_run_leaves_nothing_but_its_error_record(county, monkeypatch):
    before = county.dump()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(escalation, "_queue_messages", broken)
    with pytest.raises(RuntimeError):
        county("escalate", "--as-of", "2021-02-01")
    after = county.dump()
    assert {k: v for k, v in after.items() if k != "run"} == {k: v for k, v in before.items() if k != "run"}
    runs = json.loads(county("runs", "list", "--format", "json").stdout)
    assert runs[0]["outcome"] == "error" and runs[0]["error"] == "RuntimeError: disk full"


def test_a_run_on_the_day_every_late_unit_finished_drafts_nothing_and_succeeds(aidcal):
    """Notices issued at once (no sign-off): work done on the run's own day is settled, so the
    notice step is taken but no one is named, and the run does not fail on an empty notice."""
    aidcal("calendar", "load", aidcal.file("plan.yaml", SIMPLE_PLAN), "--as-of", "2021-01-01")
    aidcal("units", "import", aidcal.file("u.csv", f"{HEADER_EN}\nA,甲小学,小学,镇,,王,13912345678,\n"), "--as-of", "2021-01-01")
    aidcal("escalate", "--as-of", "2021-01-21")  # the reminder
    aidcal("tasks", "done", "--unit", "A", "report", "--period", "2021-01", "--as-of", "2021-01-25")  # late, on the notice day
    steps = json.loads(aidcal("escalate", "--as-of", "2021-01-25", "--format", "json").stdout)
    assert [s["rung"] for s in steps] == ["notice"] and steps[0]["notice"] is None
    assert json.loads(aidcal("notices", "list", "--format", "json").stdout) == []
    assert json.loads(aidcal("runs", "list", "--format", "json").stdout)[0]["outcome"] == "ok"
