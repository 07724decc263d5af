"""The year's plan (calendar.yaml) as an immutable, validated spec.

Nothing else reads the YAML; engine/calendar_checks.py validates it into these
specs. The plan is a template reused year after year; `{year}` in a title is
filled with the year it is loaded for.
"""
from __future__ import annotations

import calendar as _stdcal
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from pathlib import Path

from . import located
from .unit_types import BUREAU, BUREAU_MASK, mask_of
from .workdays import WorkCalendar

TIMEZONE = "Asia/Shanghai"
TOP_KEYS = ("version", "authority", "year", "timezone", "roll", "workdays", "ladder", "notices", "evidence", "tasks")
LADDER_KEYS = ("heads_up", "reminder", "notice", "rectify", "escalate", "start")
NOTICE_KEYS = ("sign_off", "number_format", "masthead", "addressee")
NUMBER_FIELDS = {"year", "n"}
AUTHORITY_KEYS = ("code", "name", "phone")
WORKDAY_KEYS = ("holidays", "workdays")
TASK_KEYS = ("key", "title", "who", "months", "day", "due", "evidence", "roll", "ladder", "completes_from")
COMPLETES_KEYS = ("programmes", "term", "state")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MMDD_RE = re.compile(r"^(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Ladder:
    """The notice-and-rectify ladder, in working days not counting the anchor day.

    heads_up: before due (None: no heads-up); reminder and notice: after due;
    rectify: after the notice is issued; escalate: after the rectification deadline.
    start: no rung due before this day is ever taken (a county adopting aidcal
    mid-year does not notice its whole spring at once).
    """
    heads_up: int | None = None
    reminder: int = 1
    notice: int = 3
    rectify: int = 5
    escalate: int = 1
    start: date | None = None

    def as_dict(self) -> dict:
        values = {k: getattr(self, k) for k in LADDER_KEYS if k != "start"}
        if self.start is not None:  # absent, not null: plans stored before `start` existed compare equal
            values["start"] = self.start.isoformat()
        return values


@dataclass(frozen=True)
class Occurrence:
    period: str  # YYYY-MM of the nominal date; a rolled due date keeps it
    nominal: date
    due: date


@dataclass(frozen=True)
class TaskSpec:
    key: str
    title: str
    who: tuple[str, ...]  # ("bureau",), or unit type keys
    months: tuple[int, ...]
    day: int | str  # 1..31 or "end"
    evidence: str | None
    roll: str | None
    ladder: Ladder
    completes_from: dict | None
    line: int

    @property
    def who_mask(self) -> int:
        return mask_of(w for w in self.who if w != BUREAU) | (BUREAU_MASK if BUREAU in self.who else 0)

    def occurrences(self, year: int, cal: WorkCalendar, default_roll: str) -> list[Occurrence]:
        out = []
        for month in self.months:
            last = _stdcal.monthrange(year, month)[1]
            nominal = date(year, month, last if self.day == "end" else self.day)
            out.append(Occurrence(f"{year}-{month:02d}", nominal, cal.roll(nominal, self.roll or default_roll)))
        return out


@dataclass(frozen=True)
class PlanSpec:
    filename: str
    authority_code: str
    authority_name: str
    year: int | None
    timezone: str
    roll: str
    holidays: frozenset[date]
    workdays: frozenset[date]
    sign_off: bool
    tasks: tuple[TaskSpec, ...]
    evidence_max_mb: int | None = None  # the largest evidence file the bureau accepts (default 50 MB)
    authority_phone: str = ""  # the county's supervision phone (监督电话), shown on every school's publicity list
    notice_style: dict = dataclass_field(default_factory=dict)  # number_format, masthead, addressee of the 公文 (GB/T 9704)

    def work_calendar(self) -> WorkCalendar:
        return WorkCalendar(self.holidays, self.workdays)

    def titled(self, task: TaskSpec, year: int) -> str:
        return task.title.replace("{year}", str(year))


def read(path: str | Path, year: int | None = None, *, default_year: int | None = None) -> PlanSpec:
    """Read and validate a plan file; `year` (from --year) overrides the file's,
    and a file without one is checked for `default_year` (the as-of year)."""
    path = Path(path)
    return parse(located.read_text(path), path.name, year, default_year=default_year)


def parse(text: str, filename: str, year: int | None = None, *, default_year: int | None = None) -> PlanSpec:
    from .calendar_checks import Validator  # it builds the specs defined here
    return Validator(filename).plan(located.load(text, filename), year, default_year)
