"""Expansion and reload: a task per applicable unit, bureau work not fanned out,
idempotent, years independent, and a mid-year plan change that loses nothing."""


def count(aidcal, where="1=1"):
    return aidcal.scalar(
        "SELECT count(*) FROM task_instance i JOIN unit u ON u.id=i.unit_id JOIN occurrence o ON o.id=i.occurrence_id "
        f"JOIN task t ON t.id=o.task_id JOIN plan p ON p.id=t.plan_id WHERE {where}")


def test_bureau_work_goes_to_the_bureau_only(county):
    assert count(county, "t.key='monthly-inspection'") == 2  # April and October, one unit
    assert count(county, "t.key='monthly-inspection' AND u.code='340621'") == 2


def test_typed_tasks_reach_only_units_of_those_types(county):
    units = {county.scalar(f"SELECT count(*) FROM task_instance i JOIN unit u ON u.id=i.unit_id JOIN occurrence o "
                           f"ON o.id=i.occurrence_id JOIN task t ON t.id=o.task_id WHERE t.key='integrity-month' "
                           f"AND u.code='{code}'") for code in ("S001", "S002", "S003", "K001", "V001", "N001")}
    assert count(county, "t.key='integrity-month'") == 3 and units == {0, 1}
    assert count(county, "t.key='integrity-month' AND u.code IN ('S002', 'S003', 'V001')") == 3


def test_unit_active_from_gets_nothing_due_before_it(county):
    assert count(county, "u.code='N001' AND i.due < '2021-03-01'") == 0
    assert count(county, "u.code='N001' AND t.key='system-update'") == 10  # March..December


def test_loading_again_creates_nothing(county, calendar_file):
    before = count(county)
    out = county("calendar", "load", calendar_file, "--as-of", "2021-04-01").stdout
    assert "0 task instances created" in out and "no change to the plan" in out
    assert count(county) == before


def test_another_year_leaves_the_first_as_it_was(county, calendar_file):
    county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-01", "--as-of", "2021-01-15")
    before = county.dump()["task_instance"]
    county("calendar", "load", calendar_file, "--year", "2027", "--as-of", "2027-01-01")
    assert county.scalar("SELECT count(*) FROM plan") == 2
    after = county.dump()["task_instance"]
    assert after[: len(before)] == before
    # Same work for every unit, except the unit active from March 2021, which has all of 2027.
    assert count(county, "p.year=2027 AND u.code<>'N001'") == count(county, "p.year=2021 AND u.code<>'N001'")
    assert count(county, "p.year=2027 AND u.code='N001'") > count(county, "p.year=2021 AND u.code='N001'")


def test_reload_as_of_d_moves_open_future_deadlines_and_keeps_the_past(county, calendar_file):
    county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-08", "--as-of", "2021-08-10")
    text = calendar_file.read_text(encoding="utf-8")
    text = text.replace("    months: all\n    day: 20\n", "    months: all\n    day: 15\n", 1)  # system-update: 20th → 15th
    text = text.replace("  - key: gratitude-activities\n", "  - key: gratitude-activities-old\n")  # remove + add
    calendar_file.write_text(text, encoding="utf-8")
    out = county("calendar", "load", calendar_file, "--as-of", "2021-09-01").stdout
    assert "task gratitude-activities: removed from the plan" in out
    assert "task gratitude-activities-old: new" in out
    assert "task system-update 2021-09: due 2021-09-22 → 2021-09-15" in out

    def due(period, unit="S001"):
        return county.scalar(f"SELECT i.due FROM task_instance i JOIN unit u ON u.id=i.unit_id JOIN occurrence o "
                             f"ON o.id=i.occurrence_id JOIN task t ON t.id=o.task_id WHERE t.key='system-update' "
                             f"AND o.period='{period}' AND u.code='{unit}'")
    assert due("2021-07") == "2021-07-20"  # past due as of D: keeps its deadline
    assert due("2021-08") == "2021-08-20"  # done: never changes
    assert due("2021-10") == "2021-10-15"  # open, due after D: takes the new one
    assert count(county, "t.key='gratitude-activities' AND i.cancelled_on IS NOT NULL") == 6
    assert count(county, "t.key='gratitude-activities-old'") == 6  # its occurrence is due after D


def test_new_task_in_a_reload_gets_no_occurrence_due_before_d(county, calendar_file):
    text = calendar_file.read_text(encoding="utf-8") + (
        "  - key: extra-report\n    title: 补充报表\n    who: all\n    months: all\n    day: 10\n")
    calendar_file.write_text(text, encoding="utf-8")
    county("calendar", "load", calendar_file, "--as-of", "2021-07-01")
    assert county.scalar("SELECT min(o.due) FROM task_instance i JOIN occurrence o ON o.id=i.occurrence_id "
                         "JOIN task t ON t.id=o.task_id WHERE t.key='extra-report'") == "2021-07-12"


def test_a_bad_plan_leaves_the_database_as_it_was(county, calendar_file):
    before = county.dump()
    calendar_file.write_text(calendar_file.read_text(encoding="utf-8").replace("due: 05-25", "due: 05-32"), encoding="utf-8")
    result = county("calendar", "load", calendar_file, "--as-of", "2021-04-01", ok=False)
    assert result.exit_code == 2 and "due '05-32' is not a date in 2021" in result.stderr
    assert county.dump() == before


def test_reload_narrowing_who_cancels_open_work_from_d_for_units_no_longer_concerned(county, calendar_file):
    text = calendar_file.read_text(encoding="utf-8").replace(
        "  - key: gratitude-activities\n    title: 开展感恩、励志主题活动\n    who: all\n",
        "  - key: gratitude-activities\n    title: 开展感恩、励志主题活动（高中）\n    who: [senior]\n")
    calendar_file.write_text(text, encoding="utf-8")
    out = county("calendar", "load", calendar_file, "--as-of", "2021-09-01").stdout
    assert "task gratitude-activities: title changed, who changed (4 open instances" in out
    assert count(county, "t.key='gratitude-activities' AND i.cancelled_on IS NULL") == 2  # S002, S003
