"""Unit types and the bit masks that match tasks to units in one SQL expression.

A unit may have several types (a 完全中学 is junior and senior high); a task
applies when any type matches, i.e. `unit.type_mask & task.who_mask != 0`,
which SQLite and PostgreSQL both evaluate inside the expansion's INSERT … SELECT.
"""
from __future__ import annotations

TYPES = {  # key: (bit, Chinese name as rosters write it)
    "kindergarten": (1, "幼儿园"),
    "primary": (2, "小学"),
    "junior": (4, "初中"),
    "senior": (8, "高中"),
    "vocational": (16, "中职"),
    "special": (32, "特教"),
}
BUREAU = "bureau"
BUREAU_MASK = 64
_BY_NAME = {**{key: key for key in TYPES}, **{zh: key for key, (_, zh) in TYPES.items()}}


def allowed() -> str:
    """The types as an error lists them, in the language in use: senior (高中), … or senior（高中）、…"""
    from aidcal.i18n import _
    return _(", ").join(_("{key} ({name})").format(key=key, name=zh) for key, (_bit, zh) in TYPES.items())


def type_key(name: str) -> str | None:
    """The English key for a roster's type name (English or Chinese), or None."""
    return _BY_NAME.get(name.strip().lower() if name.isascii() else name.strip())


def mask_of(keys) -> int:
    return sum(TYPES[key][0] for key in keys)


def names_of(*masks: int) -> str:
    """The kinds of unit the masks give work to, as rosters name them (教育局 for the bureau's own)."""
    names = [zh for _key, (bit, zh) in TYPES.items() if any(m & bit for m in masks)] + \
        (["教育局"] if any(m & BUREAU_MASK for m in masks) else [])
    return "、".join(names)
