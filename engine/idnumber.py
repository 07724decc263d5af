"""Resident ID numbers (GB 11643-1999): 18 characters, the last a MOD 11-2 check
character; the birth date inside must exist."""
from __future__ import annotations

from datetime import date
from operator import mul

from aidcal.i18n import _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
_ZERO = 48 * sum(WEIGHTS)  # the weighted sum of seventeen '0' characters, taken off the byte values


def problem(value: str, as_of: date | None = None) -> str | None:
    """Why `value` is not a valid ID number, or None (expects it normalised: upper-case X).
    With `as_of`, a person born after it, or more than 100 years before it, is not
    an applicant: the check character alone proves nothing about a real person."""
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return _("is not 17 digits and a check character")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return _("has a birth date that does not exist")
    if as_of is not None and born > as_of:
        return _("has a birth date after {day}").format(day=as_of)
    if as_of is not None and born.year < as_of.year - 100:
        return _("has a birth date more than 100 years before {day}").format(day=as_of)
    if CHECK[(sum(map(mul, WEIGHTS, value[:17].encode())) - _ZERO) % 11] != value[17]:  # C-speed for a million rows
        return _("fails its check character (GB 11643)")
    return None


def normalise(value: str) -> str:
    return value.strip().replace(" ", "").upper()
