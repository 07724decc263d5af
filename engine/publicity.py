"""The publicity list (公示名单) of a unit's cases, and the day it came down.

What is posted is what the rules allow to be seen: names, school, grade, class,
level (or tier) and amount, never an ID, phone, address or card; a list comes
down only after its last day, and says when it did.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import programmes as progs
from . import rules
from .cases import scope
from .errors import InputError
from .models import aid_case as c
from .models import unit as u

COLUMNS = ["name", "unit_name", "grade", "class_name", "programme", "level", "amount"]
TIERS = {"special": "一档", "hard": "二档", "general": "三档", "": "—"}


def listing(conn: Connection, unit: str, programme: str, term: str) -> dict:
    """The publicity list (公示名单): only name, school, grade, class, level (or the
    aid tier, or the programme alone: the workflow's `publicity: shows`) and amount,
    never an ID, phone, address or card; with its dates, the phones for objections
    (the school's, the county's, the donor's) and the day it was taken down."""
    known = rules.programmes(conn)
    if programme not in known:
        raise InputError(_("programme '{programme}' does not exist (see: aidcal programmes list)").format(programme=programme))
    unit_row = conn.execute(select(u.c.name, u.c.phone, u.c.authority).where(u.c.code == unit)).first()
    if unit_row is None:
        raise InputError(_("unit '{unit}' is not in the roster").format(unit=unit))
    county = conn.execute(select(u.c.name, u.c.phone).where(u.c.code == unit_row.authority)).first()
    shows = rules.workflow(conn, known[programme].workflow).publicity_shows if known[programme].hardship_level else "programme"
    rows = conn.execute(
        select(c.c.name, c.c.grade, c.c.class_name, c.c.level, c.c.amount, c.c.publicity_from, c.c.publicity_until,
               c.c.publicity_down_on)
        .where(*scope(unit, programme, term), c.c.publicity_from.is_not(None),
               c.c.state.not_in(("withdrawn", "terminated"))).order_by(c.c.grade, c.c.class_name, c.c.id)
    ).all()
    if not rows:
        raise InputError(_("unit {unit} has no published {programme} cases for {term} (publish them first)").format(
            unit=unit, programme=programme, term=term))
    downs = {r[7] for r in rows}
    shown = {"level": progs.level_title, "tier": TIERS.get, "programme": lambda _: ""}[shows]
    own = unit_row.authority == unit  # the bureau's own cases (loans, donors' funds): its phone once
    phones = [("监督电话" if own else "学校监督电话", unit_row.phone)]
    if county is not None and county.phone and not own and county.phone != unit_row.phone:
        phones.append((f"{county.name}监督电话", county.phone))
    if known[programme].supervision_phone:
        phones.append(("捐资方监督电话", known[programme].supervision_phone))
    return dict(
        title=f"{unit_row.name}{term.replace('-spring', '年春季').replace('-autumn', '年秋季')}学期{known[programme].title}拟资助名单公示",
        unit_name=unit_row.name, start=str(min(r[5] for r in rows)), end=str(max(r[6] for r in rows)),
        phone=unit_row.phone, phones=phones, shows=shows,
        taken_down=str(next(iter(downs))) if len(downs) == 1 and None not in downs else None,
        rows=[dict(name=r[0], unit_name=unit_row.name, grade=r[1], class_name=r[2], programme=known[programme].title,
                   level=shown(r[3]), amount=f"{r[4] / 100:.2f}") for r in rows])


def take_down(conn: Connection, unit: str, programme: str, term: str, on: date) -> int:
    """Record the day a unit's publicity list was taken down (its cases' publicity
    must have ended by then: a list is never taken down early)."""
    where = [*scope(unit, programme, term), c.c.publicity_from.is_not(None), c.c.publicity_down_on.is_(None)]
    early = conn.execute(select(func.count()).select_from(c).where(*where, c.c.publicity_until >= on)).scalar()
    if early:
        raise InputError(_("{n} cases of {unit} {programme} {term} are still in their publicity period on {day}: "
                           "a list comes down after its last day").format(n=early, unit=unit, programme=programme, term=term, day=on))
    count = conn.execute(c.update().where(*where).values(publicity_down_on=on)).rowcount
    if not count:
        raise InputError(_("unit {unit} has no {programme} {term} list posted and not yet taken down").format(
            unit=unit, programme=programme, term=term))
    return count
