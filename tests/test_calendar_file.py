"""calendar.yaml: the shipped plan, and validation that names file:line, task and field."""
from datetime import date

import pytest

from aidcal.engine import calendar
from aidcal.engine.errors import InputError
from helpers import ROOT

PLAN = calendar.read(ROOT / "calendar.yaml")


def by_key(key):
    return next(t for t in PLAN.tasks if t.key == key)


def test_shipped_plan_holds_every_item_of_the_seed():
    assert PLAN.year == 2021 and PLAN.timezone == "Asia/Shanghai" and PLAN.roll == "forward"
    assert len(PLAN.tasks) == 39  # the seed's 37 items, 校内资助 split off for fee-charging units, 档案装订成册
    assert by_key("system-update").months == tuple(range(1, 13)) and by_key("system-update").day == 20
    assert by_key("monthly-report").day == 28
    assert by_key("monthly-inspection").months == (4, 10) and by_key("monthly-inspection").who == ("bureau",)
    assert by_key("spring-payout").months == (5,) and by_key("spring-payout").day == 25
    assert by_key("autumn-poor-payout").day == 24
    assert by_key("integrity-month").who == ("senior", "vocational")
    assert "中职国家奖学金" in by_key("vocational-scholarship-review").title


def test_bureau_items_are_the_bureaus_own_work():
    bureau = {t.key for t in PLAN.tasks if t.who == ("bureau",)}
    assert {"year-planning", "spring-list-review", "monthly-inspection", "implementation-rules",
            "spring-inspection", "loan-processing", "assessment-scoring"} <= bureau
    assert "system-update" not in bureau and "monthly-report" not in bureau


def test_year_placeholder_is_filled_for_the_loaded_year():
    assert PLAN.titled(by_key("execution-report"), 2026).startswith("做好 2026 年度")


def test_due_dates_roll_forward_and_keep_their_period():
    occ = {o.period: o for o in by_key("monthly-report").occurrences(2021, PLAN.work_calendar(), "forward")}
    assert occ["2021-02"].nominal == date(2021, 2, 28) and occ["2021-02"].due == date(2021, 3, 1)
    sept = {o.period: o for o in by_key("system-update").occurrences(2021, PLAN.work_calendar(), "forward")}
    assert sept["2021-09"].due == date(2021, 9, 22)


def problems(text, year=None):
    with pytest.raises(InputError) as err:
        calendar.parse(text, "calendar.yaml", year)
    return err.value.problems


HEAD = """version: 1
authority: {code: "340621", name: 濉溪县教育局}
year: 2021
tasks:
"""


def test_invalid_date_names_file_line_task_and_field():
    text = HEAD + "  - key: spring-payout\n    title: 发放\n    who: all\n    due: 02-30\n"
    assert problems(text) == ["calendar.yaml:8: task spring-payout: due '02-30' is not a date in 2021"]


def test_unknown_key_is_an_error_so_a_typo_never_drops_a_task():
    text = HEAD + "  - key: spring-payout\n    title: 发放\n    who: all\n    dew: 05-25\n"
    found = problems(text)
    assert "calendar.yaml:8: task spring-payout: unknown key 'dew'" in found[0]
    assert any("a schedule is required" in p for p in found)


def test_every_problem_is_reported_at_once():
    text = HEAD + ("  - key: a\n    title: x\n    who: schools\n    months: all\n"
                   "  - key: a\n    title: y\n    who: all\n    months: [2]\n    day: 30\n")
    found = problems(text)
    assert any(p.startswith("calendar.yaml:7: task a: who 'schools' is not allowed") for p in found)
    assert any(p.startswith("calendar.yaml:13: task a: day 30 is not a date in 2021-02") for p in found)


def test_feb_29_depends_on_the_year():
    text = HEAD.replace("year: 2021\n", "") + "  - key: leap\n    title: x\n    who: all\n    due: 02-29\n"
    assert calendar.parse(text, "c.yaml", 2024).tasks[0].day == 29
    assert "not a date in 2026" in problems(text, 2026)[0]


def test_calendar_check_exits_2_with_the_problem_on_stderr(offline):
    bad = offline.file("calendar.yaml", HEAD + "  - key: x\n    title: t\n    who: all\n    due: 13-01\n")
    result = offline("calendar", "check", bad, ok=False)
    assert result.exit_code == 2
    assert "calendar.yaml:8: task x: due '13-01' is not a date in 2021" in result.stderr


def test_calendar_check_accepts_the_shipped_plan(offline, calendar_file):
    out = offline("calendar", "check", calendar_file, "--year", "2026").stdout
    assert "39 tasks" in out and "2026" in out
