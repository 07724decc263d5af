"""The supervisor's overdue list: one SQL query for the rows, one for the summary.

Working days overdue are counted per distinct (plan, due date), not per row:
a county-wide list has hundreds of thousands of rows but only a few hundred
distinct due dates.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import String, cast, func, select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import authorities
from .errors import InputError
from .models import instance as i
from .models import occurrence as o
from .models import plan as p
from .models import task as t
from .models import unit as u
from .plan import work_calendars
from .status import is_overdue
from .unit_types import BUREAU_MASK, mask_of, type_key

COLUMNS = ["unit", "unit_name", "town", "type", "task", "title", "period", "due", "days_overdue", "workdays_overdue",
           "authority", "plan"]
SUMMARY_COLUMNS = ["town", "type", "units", "overdue", "max_days_overdue"]
ROLLUP_COLUMNS = ["authority", "authority_name", "units", "overdue", "max_days_overdue"]


def _filtered(query, as_of: date, *, unit=None, town=None, unit_type=None, year=None, authority=None, plan=None):
    query = query.where(is_overdue(as_of))
    if authority:
        query = query.where(authorities.under(u.c.authority, authority))
    if plan:
        query = query.where(p.c.authority_code == plan)
    if year:
        query = query.where(p.c.year == year)
    if unit:
        query = query.where(u.c.code == unit)
    if town:
        query = query.where(u.c.town == town)
    if unit_type:
        key = type_key(unit_type)
        if key is None:
            raise InputError(_("--type '{type}' is not a unit type (e.g. senior or 高中)").format(type=unit_type))
        query = query.where(u.c.type_mask.op("&")(mask_of([key])) != 0)
    return query


def _joined(query):
    return query.select_from(
        i.join(u, u.c.id == i.c.unit_id).join(o, o.c.id == i.c.occurrence_id)
        .join(t, t.c.id == o.c.task_id).join(p, p.c.id == t.c.plan_id)
    )


def rows(conn: Connection, as_of: date, *, limit: int | None = None, **filters) -> list[dict]:
    """Every overdue instance as of `as_of`, longest overdue first."""
    # due as text: a date object per row would be parsed and formatted again for nothing
    query = _joined(select(u.c.code, u.c.name, u.c.town, u.c.type, t.c.key, t.c.title, o.c.period,
                           cast(i.c.due, String), p.c.id, u.c.authority, p.c.authority_code))
    query = _filtered(query, as_of, **filters).order_by(i.c.due, u.c.code, t.c.key, o.c.period)
    if limit is not None:
        query = query.limit(limit)
    result = conn.execute(query).all()
    calendars = work_calendars(conn)
    lateness: dict[tuple[int, str], tuple[int, int]] = {}  # (plan, due) → (days, working days)
    out = []
    for code, name, town_, type_, key, title, period, due, plan_id, authority, plan in result:
        late = lateness.get((plan_id, due))
        if late is None:
            day = date.fromisoformat(due)
            late = lateness[(plan_id, due)] = ((as_of - day).days, calendars[plan_id].workdays_between(day, as_of))
        out.append(dict(unit=code, unit_name=name, town=town_, type=type_, task=key, title=title, period=period,
                        due=due, days_overdue=late[0], workdays_overdue=late[1], authority=authority, plan=plan))
    return out


def summary(conn: Connection, as_of: date, **filters) -> tuple[list[str], list[dict]]:
    """Units lagging, overdue count and worst lag per group, and the group's columns.

    A county (or the whole database) is summed per town and unit type; a city
    per county and a province per city under it (`rolls_up`). A county's own bureau
    is a group of its own, marked `bureau`: its work is in the plan, but it is no
    lagging unit of its own supervision (the ladder never notices it either)."""
    authority = filters.get("authority")
    if rolls_up(authority):
        return ROLLUP_COLUMNS, _rollup(conn, as_of, authority, filters)
    bureau = func.max(u.c.type_mask.op("&")(BUREAU_MASK))
    query = _joined(select(u.c.town, u.c.type, func.count(func.distinct(u.c.id)), func.count(), func.min(i.c.due), bureau))
    query = _filtered(query, as_of, **filters).group_by(u.c.town, u.c.type).order_by(func.count().desc(), u.c.town, u.c.type)
    return SUMMARY_COLUMNS, [dict(town=town_, type=type_, units=units, overdue=n, max_days_overdue=(as_of - oldest).days,
                                  bureau=bool(own))
                             for town_, type_, units, n, oldest, own in conn.execute(query)]


def rolls_up(authority: str | None) -> bool:
    return bool(authority) and authorities.level(authority) != "county"


def _rollup(conn: Connection, as_of: date, authority: str, filters: dict) -> list[dict]:
    below = authorities.child(u.c.authority, authority).label("below")
    query = _joined(select(below, func.count(func.distinct(u.c.id)), func.count(), func.min(i.c.due)))
    query = _filtered(query, as_of, **filters).group_by(below).order_by(func.count().desc(), below)
    groups = conn.execute(query).all()
    names = dict(conn.execute(select(u.c.code, u.c.name).where(u.c.code.in_([g[0] for g in groups]))).all())
    return [dict(authority=code, authority_name=names.get(code, ""), units=units, overdue=n,
                 max_days_overdue=(as_of - oldest).days) for code, units, n, oldest in groups]
