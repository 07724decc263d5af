"""Authorities (province, city, county) by administrative code, and what lies under each.

A code of GB/T 2260 carries its own ancestry: 340000 安徽省 → 340600 淮北市 →
340621 濉溪县. So "under" is a prefix: a province's scope is its first two
digits, a city's its first four, a county's all six. Every unit records the
authority it answers to (`unit.authority`, a 6-digit code); a plan applies to
the units whose authority lies in its scope (`plan.scope`), and a supervisor's
lists are the same prefix. One string comparison that an index serves, on both
SQLite and PostgreSQL, instead of a tree walked row by row.

Schools directly under a city bureau (市直学校) carry the city's code: the city
and the province see them, no county does.
"""
from __future__ import annotations

import re

from sqlalchemy import and_, func, literal
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from .errors import InputError

CODE_RE = re.compile(r"^\d{6}$")
LEVELS = {2: "province", 4: "city", 6: "county"}


def scope(code: str) -> str:
    """The prefix every code under `code` starts with."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def level(code: str) -> str:
    return LEVELS[len(scope(code))]


def check(code: str, where: str) -> str:
    code = code.strip()
    if not CODE_RE.match(code):
        raise InputError(_("{where}: '{code}' is not a 6-digit administrative code (e.g. 340621)").format(where=where, code=code))
    return code


def bounds(code: str) -> tuple[str, str]:
    """The subtree of `code` as a range of authority codes [low, high)."""
    prefix = scope(code)
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def under(column, code: str):
    """`column` (an authority code) lies in the subtree of `code`: a range of codes,
    which an index on the column serves (a LIKE with a prefix would not, on SQLite)."""
    low, high = bounds(code)
    return and_(column >= low, column < high)


def child(column, code: str):
    """For a roll-up: the authority one level below `code` that `column` belongs to.
    Under a province, the city (its first four digits + 00); under a city, the county;
    under a county, the county itself."""
    width = len(scope(code)) + 2
    head = func.substr(column, 1, width)
    return head if width == 6 else head + literal("0" * (6 - width))


def default_for_roster(conn: Connection) -> str:
    """Where a roster names no authority: the only authority with a plan, if there is one."""
    from .models import plan as p
    codes = sorted({c for (c,) in conn.execute(p.select().with_only_columns(p.c.authority_code))})
    if len(codes) == 1:
        return codes[0]
    known = _("plans of {codes} are loaded").format(codes=_(", ").join(codes)) if codes else _("no plan is loaded yet")
    raise InputError(_("the roster names no authority and {known}: add an authority column (主管教育局) "
                       "or pass --authority CODE (e.g. 340621)").format(known=known))
