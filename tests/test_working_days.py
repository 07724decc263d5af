"""Working days and deadline rolling: the worked cases of DOMAIN.md."""
from datetime import date, timedelta

import chinese_calendar
import pytest

from aidcal.engine.workdays import WorkCalendar, known_years

CAL = WorkCalendar()


@pytest.mark.parametrize("day, policy, expected", [
    (date(2021, 9, 20), "backward", date(2021, 9, 18)),  # Mid-Autumn day off → make-up Saturday
    (date(2021, 9, 20), "forward", date(2021, 9, 22)),
    (date(2026, 2, 20), "backward", date(2026, 2, 14)),  # Spring Festival → make-up Saturday
    (date(2021, 9, 20), "keep", date(2021, 9, 20)),
    (date(2021, 5, 25), "forward", date(2021, 5, 25)),  # a working day stays
])
def test_deadline_on_a_day_off_rolls_by_policy(day, policy, expected):
    assert CAL.roll(day, policy) == expected


def test_make_up_saturdays_are_working_days():
    for day in (date(2021, 9, 18), date(2021, 10, 9), date(2026, 2, 14), date(2026, 2, 28)):
        assert CAL.is_workday(day)


def test_2021_has_250_working_days():
    assert CAL.workdays_between(date(2020, 12, 31), date(2021, 12, 31)) == 250


def test_working_days_are_counted_in_a_half_open_interval():
    # (Fri 2021-09-17, Wed 2021-09-22]: Sat 18 is a make-up day, 19-21 the Mid-Autumn holiday, Wed 22 works
    assert CAL.workdays_between(date(2021, 9, 17), date(2021, 9, 22)) == 2
    assert CAL.workdays_between(date(2021, 9, 22), date(2021, 9, 22)) == 0


def test_a_year_without_official_data_falls_back_to_weekdays_plus_overrides():
    unknown = known_years().stop  # computed: a newer chinesecalendar release moves it
    new_year = date(unknown, 1, 1)
    first_monday = new_year + timedelta(days=(7 - new_year.weekday()) % 7)
    first_saturday = new_year + timedelta(days=(5 - new_year.weekday()) % 7)
    plain = WorkCalendar()
    assert plain.is_workday(first_monday)
    assert not plain.is_workday(first_saturday)
    overridden = WorkCalendar(holidays=frozenset({first_monday}), workdays=frozenset({first_saturday}))
    assert not overridden.is_workday(first_monday)
    assert overridden.is_workday(first_saturday)


def test_arithmetic_crossing_into_an_unknown_year_does_not_raise():
    last_known = date(known_years().stop - 1, 12, 31)
    start, end = last_known - timedelta(days=10), last_known + timedelta(days=40)
    # the known days as chinesecalendar has them, the unknown ones Monday to Friday less the statutory days
    # off (their exact list is tests/test_statutory_holidays.py's)
    from aidcal.engine.statutory import days_off
    official = sum(chinese_calendar.is_workday(start + timedelta(days=k)) for k in range(1, 11))
    later = [last_known + timedelta(days=k) for k in range(1, 41)]
    weekdays = sum(d.weekday() < 5 and d not in days_off(d.year) for d in later)
    assert weekdays < sum(d.weekday() < 5 for d in later)  # New Year's Day at least is off
    assert CAL.workdays_between(start, end) == official + weekdays
    first_saturday = last_known + timedelta(days=(5 - last_known.weekday()) % 7 or 7)
    assert first_saturday.year == last_known.year + 1 and first_saturday.weekday() == 5
    assert CAL.roll(first_saturday, "forward") == first_saturday + timedelta(days=2)  # the Monday after
    def working(d):  # official data for the known year, the law for the unknown one (元旦 2027 is a Friday)
        return chinese_calendar.is_workday(d) if d <= last_known else d.weekday() < 5 and d not in days_off(d.year)
    before = max(d for d in (first_saturday - timedelta(days=k) for k in range(1, 10)) if working(d))
    assert CAL.roll(first_saturday, "backward") == before
