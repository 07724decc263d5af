"""Schools mark tasks done; supervisors reopen, extend, waive, import sheets."""
import json


def tasks(aidcal, unit, as_of, month=None):
    args = ["tasks", "list", "--unit", unit, "--as-of", as_of, "--format", "json"]
    if month:
        args += ["--month", month]
    return {(r["task"], r["period"]): r for r in json.loads(aidcal(*args).stdout)}


def test_done_on_the_due_date_is_on_time_and_after_it_late(county):
    county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-03", "--as-of", "2021-03-22")
    county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-04", "--as-of", "2021-04-21")
    rows = tasks(county, "S001", "2021-05-01")
    assert rows[("system-update", "2021-03")]["status"] == "done"  # due rolled to Mon 22 March
    assert rows[("system-update", "2021-04")]["status"] == "done_late"
    assert rows[("system-update", "2021-04")]["done_at"] == "2021-04-21"
    assert set(rows[("system-update", "2021-03")]) >= {"task", "title", "period", "due", "status", "done_at"}


def test_without_a_period_the_one_open_occurrence_overdue_or_due_this_month_is_taken(county):
    assert "2021-01: done on 2021-01-10" in county("tasks", "done", "--unit", "S001", "system-update",
                                                  "--as-of", "2021-01-10").stdout
    result = county("tasks", "done", "--unit", "S002", "system-update", "--as-of", "2021-03-10", ok=False)
    assert result.exit_code == 2  # January and February are overdue, March is due: which one?
    assert "3 open periods overdue or due in 2021-03" in result.stderr and "(2021-01, 2021-02, 2021-03)" in result.stderr
    assert "2021-04" not in result.stderr  # future months are not offered
    county("tasks", "done", "--unit", "S001", "annual-summary", "--as-of", "2021-02-20")
    assert tasks(county, "S001", "2021-03-01")[("annual-summary", "2021-02")]["status"] == "done"


def test_without_a_period_this_months_work_done_already_says_so_and_later_work_is_named(county):
    for month in ("01", "02", "03"):
        county("tasks", "done", "--unit", "S001", "system-update", "--period", f"2021-{month}", "--as-of", "2021-03-10")
    again = county("tasks", "done", "--unit", "S001", "system-update", "--as-of", "2021-03-15")  # April on is open
    assert "2021-03 is already done on 2021-03-10; nothing changed" in again.stdout
    early = county("tasks", "done", "--unit", "340621", "monthly-inspection", "--as-of", "2021-03-15", ok=False)  # the bureau's own
    assert early.exit_code == 2 and "has no open period overdue or due in 2021-03 for unit 340621 (the next is 2021-04, due " \
        in early.stderr and "pass --period YYYY-MM" in early.stderr


def test_a_task_for_other_kinds_of_unit_says_whose_it_is(county):
    result = county("tasks", "done", "--unit", "S001", "monthly-inspection", "--as-of", "2021-04-15", ok=False)
    assert result.exit_code == 2 and "task 'monthly-inspection' is not the work of unit S001: its plan gives it to 教育局" \
        in result.stderr


def test_evidence_is_required_where_the_plan_says_and_stored_in_the_database(county):
    before = county.dump()
    result = county("tasks", "done", "--unit", "S001", "spring-payout", "--as-of", "2021-05-20", ok=False)
    assert result.exit_code == 2 and "requires evidence" in result.stderr
    assert county.dump() == before
    roster = county.file("花名册.pdf", "签字确认的发放花名册")
    county("tasks", "done", "--unit", "S001", "spring-payout", "--evidence", roster, "--as-of", "2021-05-20")
    roster.unlink()  # the database keeps its own copy
    assert county.scalar("SELECT e.filename || ':' || b.size FROM evidence e JOIN evidence_blob b ON b.sha256=e.sha256") \
        == f"花名册.pdf:{len('签字确认的发放花名册'.encode())}"


def test_reopen_needs_a_reason_and_makes_the_task_overdue_again(county):
    county("tasks", "done", "--unit", "S002", "annual-summary", "--as-of", "2021-02-26")
    assert county("tasks", "reopen", "--unit", "S002", "annual-summary", "--as-of", "2021-03-05", ok=False).exit_code == 2
    county("tasks", "reopen", "--unit", "S002", "annual-summary", "--reason", "总结缺少数据", "--as-of", "2021-03-05")
    assert tasks(county, "S002", "2021-03-05")[("annual-summary", "2021-02")]["status"] == "overdue"
    assert county.scalar("SELECT by || '|' || kind FROM event WHERE kind='reopen'") == "tester|reopen"


def test_extend_and_waive_take_a_task_off_the_overdue_list(county):
    county("tasks", "extend", "--unit", "K001", "annual-summary", "--to", "2021-03-15", "--reason", "园长病假")
    county("tasks", "waive", "--unit", "V001", "annual-summary", "--reason", "新建学校")
    overdue = json.loads(county("overdue", "--as-of", "2021-03-10", "--format", "json").stdout)
    late = {r["unit"] for r in overdue if r["task"] == "annual-summary"}
    assert "K001" not in late and "V001" not in late and "S001" in late
    assert tasks(county, "V001", "2021-03-10")[("annual-summary", "2021-02")]["status"] == "waived"
    # the school reads why, beside the task
    assert tasks(county, "V001", "2021-03-10")[("annual-summary", "2021-02")]["reason"] == "新建学校"
    assert tasks(county, "K001", "2021-03-10")[("annual-summary", "2021-02")]["reason"] == "截止日期 2021-03-01 → 2021-03-15：园长病假"
    assert tasks(county, "S001", "2021-03-10")[("annual-summary", "2021-02")]["reason"] is None
    table = county("tasks", "list", "--unit", "K001", "--month", "2021-02", "--as-of", "2021-03-10").stdout
    assert "园长病假" in table and "Reason" in table
    assert "Reason" not in county("tasks", "list", "--unit", "S001", "--month", "2021-02", "--as-of", "2021-03-10").stdout


def test_unknown_unit_or_task_is_one_clear_line(county):
    result = county("tasks", "done", "--unit", "NOPE", "system-update", ok=False)
    assert result.exit_code == 2 and "unit 'NOPE' is not in the roster" in result.stderr
    result = county("tasks", "done", "--unit", "S001", "no-such-task", ok=False)
    assert result.exit_code == 2 and "has no task 'no-such-task'" in result.stderr


def test_import_records_a_sheet_with_evidence_all_or_nothing(county):
    county.file("月报.pdf", "月报")
    sheet = county.file("done.csv", "学校代码,任务,期次,完成日期,备注,佐证材料\n"
                        "S001,system-update,2021-01,2021-01-18,,\n"
                        "S002,monthly-report,2021-01,2021-02-01,补报,月报.pdf\n"
                        "340621,year-planning,2021-02,2021-02-20,,\n")
    out = county("tasks", "import", sheet, "--as-of", "2021-03-01").stdout
    assert "3 recorded (1 late), 0 already done" in out
    assert "0 recorded (0 late), 3 already done" in county("tasks", "import", sheet, "--as-of", "2021-03-01").stdout
    assert tasks(county, "S002", "2021-03-01")[("monthly-report", "2021-01")]["evidence_files"] == 1


def test_import_lists_every_bad_row_and_writes_nothing(county):
    before = county.dump()
    sheet = county.file("bad.csv", "unit,task,period,done_at,note\n"
                        "S001,system-update,2021-01,2021-01-18,\n"
                        "S001,system-update,2021-13,2021-01-18,\n"
                        "S009,system-update,2021-01,2021-01-18,\n"
                        "S001,monthly-report,2021-01,2021-01-20,\n"
                        "S001,system-update,2021-02,2021-03-40,\n")
    result = county("tasks", "import", sheet, "--as-of", "2021-03-01", ok=False)
    assert result.exit_code == 2
    assert "bad.csv: row 3: period '2021-13' is not YYYY-MM" in result.stderr
    assert "bad.csv: row 6: done_at '2021-03-40' is not a date" in result.stderr
    assert county.dump() == before
    result = county("tasks", "import", county.file("bad2.csv", "unit,task,period,done_at,note\n"
                                                   "S009,system-update,2021-01,2021-01-18,\n"
                                                   "S001,monthly-report,2021-01,2021-01-20,\n"), ok=False)
    assert "row 2: S009 system-update 2021-01: no such task" in result.stderr
    assert "row 3: S001 monthly-report 2021-01: the plan requires evidence" in result.stderr
    assert county.dump() == before
