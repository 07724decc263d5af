"""Chinese working days: public holidays and make-up working days (调休).

chinesecalendar knows the years the State Council has published and raises for
any other; a plan for a later year must still work. So each date is decided on
its own: the plan's own overrides first, then chinesecalendar, then Monday to
Friday for a year it does not know (warned once per year). Arithmetic that
crosses from a known year into an unknown one therefore never raises.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import chinese_calendar

from . import logs

_warned_years: set[int] = set()

ROLL_POLICIES = ("forward", "backward", "keep")


@cache
def _official(day: date) -> bool | None:
    """chinesecalendar's verdict, or None for a year it has no data for."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logs.get(__name__).warning(
                "no official holiday data for this year; using Monday-Friday plus the plan's overrides",
                year=day.year,
            )
        return None


def known_years() -> range:
    """The years chinesecalendar has data for."""
    years = {d.year for d in chinese_calendar.constants.holidays}
    return range(min(years), max(years) + 1)


@dataclass(frozen=True)
class WorkCalendar:
    """Working days as a plan sees them: official data plus the plan's overrides."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        official = _official(day)
        return day.weekday() < 5 if official is None else official

    def roll(self, day: date, policy: str) -> date:
        """Move a deadline that falls on a day off (Civil Code art. 203 by default:
        to the next working day)."""
        if policy == "keep":
            return day
        step = timedelta(days=1 if policy == "forward" else -1)
        while not self.is_workday(day):
            day += step
        return day

    def add_workdays(self, day: date, n: int) -> date:
        """The n-th working day after `day` (before it for n < 0), not counting `day` itself."""
        step = timedelta(days=1 if n >= 0 else -1)
        left = abs(n)
        while left:
            day += step
            left -= self.is_workday(day)
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in the half-open interval (start, end]."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count
