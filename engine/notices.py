"""Public notices (通报) and their rectification (限时整改).

A run drafts a notice; it is issued — numbered YYYY-N in order of issue per
authority, and dated — when a supervisor signs it (or at once where the plan
needs no sign-off). Each item's rectification clock starts on the issue date,
never earlier, so an escalation only ever follows a notice the unit received.
Rectified on time / late is derived from the dates, never stored as a flag.
"""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.engine import Connection

from . import authorities
from .errors import InputError
from .models import instance as i, notice as n, notice_item as ni, occurrence as o, plan as p, task as t, unit as u



def needs_sign_off(conn: Connection, authority: str) -> bool:
    """The newest loaded plan of the authority decides."""
    value = conn.execute(select(p.c.sign_off).where(p.c.authority_code == authority)
                         .order_by(p.c.year.desc()).limit(1)).scalar()
    return True if value is None else bool(value)


def issue(conn: Connection, notice_id: int, as_of: date, by: str) -> str:
    """Number and date the notice; start each item's rectification clock."""
    from .plan import work_calendars

    row = conn.execute(select(n.c.authority_code, n.c.number).where(n.c.id == notice_id)).first()
    prefix = f"{as_of.year}-"
    issued = conn.execute(select(func.count()).where(n.c.authority_code == row.authority_code,
                                                     n.c.number.like(prefix + "%"))).scalar()
    number = f"{prefix}{issued + 1}"
    conn.execute(n.update().where(n.c.id == notice_id).values(number=number, issued_on=as_of, signed_by=by))
    cals = work_calendars(conn)
    ladders = conn.execute(
        select(t.c.plan_id, t.c.ladder, t.c.id).distinct()
        .select_from(ni.join(i, i.c.id == ni.c.instance_id).join(o, o.c.id == i.c.occurrence_id).join(t, t.c.id == o.c.task_id))
        .where(ni.c.notice_id == notice_id)
    ).all()
    for plan_id, ladder_json, task_id in ladders:
        ladder, cal = json.loads(ladder_json), cals[plan_id]
        rectify_by = cal.add_workdays(as_of, ladder["rectify"])
        escalate_on = cal.add_workdays(rectify_by, ladder["escalate"])
        conn.execute(update(ni).where(
            ni.c.notice_id == notice_id,
            ni.c.instance_id.in_(select(i.c.id).join(o, o.c.id == i.c.occurrence_id).where(o.c.task_id == task_id)),
        ).values(rectify_by=rectify_by, escalate_on=escalate_on))
    return number


def sign(conn: Connection, notice_id: int, as_of: date, by: str) -> str:
    row = _notice(conn, notice_id)
    if row.issued_on is not None:
        raise InputError(f"notice {notice_id} was already issued as {row.number} on {row.issued_on} by {row.signed_by}")
    return issue(conn, notice_id, as_of, by)


def rectify(conn: Connection, notice_id: int, unit_code: str, note: str | None, as_of: date, by: str) -> int:
    """Record that a unit rectified what the notice named (e.g. after an inspection)."""
    row = _notice(conn, notice_id)
    if row.issued_on is None:
        raise InputError(f"notice {notice_id} is a draft; sign it first (aidcal notices sign {notice_id} --by NAME)")
    unit_id = conn.execute(select(u.c.id).where(u.c.code == unit_code)).scalar()
    changed = conn.execute(update(ni).where(ni.c.notice_id == notice_id, ni.c.unit_id == unit_id,
                                            ni.c.rectified_on.is_(None))
                           .values(rectified_on=as_of, rectify_note=note, rectified_by=by)).rowcount
    if not changed:
        raise InputError(f"notice {row.number} names no unrectified work of unit {unit_code}")
    return changed


def _notice(conn: Connection, notice_id: int):
    row = conn.execute(select(n).where(n.c.id == notice_id)).first()
    if row is None:
        raise InputError(f"notice {notice_id} does not exist (see: aidcal notices list)")
    return row


def list_notices(conn: Connection, authority: str | None = None) -> list[dict]:
    """Every notice, or those of `authority` and the bureaus under it."""
    items = (select(ni.c.notice_id, func.count().label("item_count"), func.count(func.distinct(ni.c.unit_id)).label("units"))
             .group_by(ni.c.notice_id).subquery())
    query = select(n, items.c.item_count, items.c.units).join(items, items.c.notice_id == n.c.id, isouter=True)
    if authority:
        query = query.where(authorities.under(n.c.authority_code, authority))
    rows = conn.execute(query.order_by(n.c.id)).all()
    return [dict(id=r.id, authority=r.authority_code, number=r.number, status="issued" if r.issued_on else "draft",
                 drafted_on=str(r.drafted_on), issued_on=r.issued_on and str(r.issued_on), signed_by=r.signed_by,
                 units=r.units or 0, items=r.item_count or 0) for r in rows]


def show(conn: Connection, notice_id: int, as_of: date) -> dict:
    """The notice with its items and each item's rectification status as of a day."""
    row = _notice(conn, notice_id)
    rectified = func.coalesce(ni.c.rectified_on, i.c.done_on)
    status = case(
        (ni.c.rectify_by.is_(None), literal("pending")),
        (rectified <= ni.c.rectify_by, literal("rectified")),
        (rectified <= as_of, literal("rectified_late")),
        (ni.c.escalate_on <= as_of, literal("escalated")),
        else_=literal("pending"),
    )
    items = conn.execute(
        select(u.c.code, u.c.name, u.c.town, t.c.key, t.c.title, o.c.period, i.c.due, ni.c.rectify_by, rectified, status)
        .select_from(ni.join(i, i.c.id == ni.c.instance_id).join(u, u.c.id == ni.c.unit_id)
                     .join(o, o.c.id == i.c.occurrence_id).join(t, t.c.id == o.c.task_id))
        .where(ni.c.notice_id == notice_id).order_by(u.c.town, u.c.code, i.c.due, t.c.key)
    ).all()
    authority_name = conn.execute(select(u.c.name).where(u.c.code == row.authority_code)).scalar()
    return dict(
        id=row.id, authority=row.authority_code, authority_name=authority_name or row.authority_code, number=row.number, drafted_on=str(row.drafted_on),
        issued_on=row.issued_on and str(row.issued_on), signed_by=row.signed_by,
        items=[dict(unit=r[0], unit_name=r[1], town=r[2], task=r[3], title=r[4], period=r[5], due=str(r[6]),
                    rectify_by=r[7] and str(r[7]), rectified_on=r[8] and str(r[8]), status=r[9]) for r in items],
    )
