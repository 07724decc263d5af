"""Occurrences × applicable units → task instances, in one INSERT … SELECT.

Idempotent by the unique (occurrence, unit) key: running it again inserts
nothing, and an instance once created (even cancelled) is never re-created.
A plan applies to the units under its authority (engine/authorities.py); bureau
work goes to the plan's own authority only, never fanned out to schools.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import and_, false, or_, select
from sqlalchemy.engine import Connection

from . import authorities, store
from .models import instance
from .models import occurrence as o
from .models import plan as p
from .models import task as t
from .models import unit as u
from .unit_types import BUREAU_MASK


def applies():
    """The plan (p) of a task (t) applies to the unit (u): the unit is of a type the
    task names and lies under the plan's authority; the bureau's share (a task for
    the bureau, alone or beside schools) is the plan's own authority's, never another
    bureau's under it."""
    return and_(
        u.c.type_mask.op("&")(t.c.who_mask) != 0,
        u.c.authority.startswith(p.c.scope),
        or_(u.c.type_mask != BUREAU_MASK, u.c.code == p.c.authority_code),
    )


def expand(
    conn: Connection,
    *,
    plan_id: int | None = None,
    unit_where=None,
    from_date: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Create the missing instances; returns how many were created.

    `from_date` limits expansion to occurrences due on or after it (a plan
    change or a unit change applies from its as-of date, never backdated).
    """
    where = [
        o.c.cancelled_on.is_(None),
        t.c.removed_on.is_(None),
        or_(u.c.active_from.is_(None), o.c.due >= u.c.active_from),
        or_(u.c.closed_on.is_(None), o.c.due <= u.c.closed_on),
    ]
    if unit_where is not None:
        where.append(unit_where)
    if from_date is not None:
        where.append(o.c.due >= from_date)

    plans = conn.execute(select(p.c.id, p.c.authority_code).where(*([p.c.id == plan_id] if plan_id else []))).all()
    # One statement per plan: its units are an index range (authorities.under), so a province
    # of twenty county plans pairs each county's occurrences with that county's units only.
    created = 0
    for done, (one_plan, code) in enumerate(plans, 1):
        # The SELECT must end in a WHERE clause: SQLite cannot parse INSERT … SELECT … ON CONFLICT otherwise.
        source = (
            select(o.c.id, u.c.id, o.c.due, false())
            .select_from(o.join(t, t.c.id == o.c.task_id).join(p, p.c.id == t.c.plan_id))
            .join(u, applies())
            .where(*where, p.c.id == one_plan, authorities.under(u.c.authority, code))
        )
        stmt = store.insert(conn, instance).from_select(
            ["occurrence_id", "unit_id", "due", "extended"], source
        ).on_conflict_do_nothing(index_elements=["occurrence_id", "unit_id"])
        created += conn.execute(stmt).rowcount
        if progress:
            progress(done, len(plans))
    return created
