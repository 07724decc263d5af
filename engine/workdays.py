"""Chinese working days: public holidays and make-up working days (调休).

chinesecalendar knows the years the State Council has published and raises for
any other; a plan for a later year must still work (a county loads next year's
plan in December, before the notice). So each date is decided on its own: the
plan's own overrides first, then chinesecalendar, then for a year it does not
know the statutory holidays by the law (engine/statutory.py; Monday to Friday
before the law's first year), warned once per year until the plan carries that
year's 调休. Arithmetic that crosses from a known year into an unknown one never raises.
"""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, cached_property

import chinese_calendar

from . import statutory

# Years met by this command (or this server request: each runs in a context of its own) without their
# notice; the shell warns once for each, and the server hands them to the client to warn of.
_unnoticed: ContextVar[set[int] | None] = ContextVar("aidcal_unnoticed", default=None)

ROLL_POLICIES = ("forward", "backward", "keep")


@cache
def _official(day: date) -> bool | None:
    """chinesecalendar's verdict, or None for a year it has no data for."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def _by_law(day: date) -> bool:
    """A working day by the statutory holidays alone (no 调休): what a year without its notice has."""
    if day.year < statutory.LAW_FROM:
        return day.weekday() < 5
    return day.weekday() < 5 and day not in statutory.days_off(day.year)


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
        if official is not None:
            return official
        if day.year not in self._override_years:
            _noted(day.year)  # the plan carries none of that year's 调休 yet
        return _by_law(day)

    @cached_property
    def _override_years(self) -> frozenset[int]:
        return frozenset(d.year for d in self.holidays | self.workdays)

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


def _noted(year: int) -> None:
    years = _unnoticed.get()
    if years is None:
        _unnoticed.set(years := set())
    years.add(year)


def years_without_notice() -> list[int]:
    """The years met since the last call whose State Council notice is not in (no data,
    no override in the plan): said once per command by the shell, then forgotten."""
    years = _unnoticed.get()
    _unnoticed.set(None)
    return sorted(years or ())
