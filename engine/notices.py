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

from sqlalchemy import String, case, cast, func, literal, select, update
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import authorities
from .errors import InputError
from .models import instance as i
from .models import notice as n
from .models import notice_item as ni
from .models import occurrence as o
from .models import plan as p
from .models import task as t
from .models import unit as u
from .vocabulary import document_number


def needs_sign_off(conn: Connection, authority: str) -> bool:
    """The newest loaded plan of the authority decides."""
    value = conn.execute(select(p.c.sign_off).where(p.c.authority_code == authority)
                         .order_by(p.c.year.desc()).limit(1)).scalar()
    return True if value is None else bool(value)


def issue(conn: Connection, notice_id: int, as_of: date, by: str) -> str:
    """Number and date the notice; start each named item's rectification clock.
    Items whose work was done, waived or cancelled by the issue date are dropped
    first (kept in the record, with why): a notice names only work still late."""
    from .plan import work_calendars

    settled = [("done", i.c.done_on), ("waived", i.c.waived_on), ("cancelled", i.c.cancelled_on)]
    for word, column in settled:
        conn.execute(update(ni).where(
            ni.c.notice_id == notice_id, ni.c.dropped_on.is_(None), ni.c.instance_id == i.c.id,
            column.is_not(None), column <= as_of,
        ).values(dropped_on=as_of, dropped_by=by, drop_reason=literal(f"{word} on ") + cast(column, String)))
    if not conn.execute(select(ni.c.id).where(ni.c.notice_id == notice_id, ni.c.dropped_on.is_(None)).limit(1)).first():
        raise InputError(_("notice {id}: every unit it named has done the work by {day}; "
                           "discard it (aidcal notices discard {id} --reason …)").format(id=notice_id, day=as_of))
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
        .where(ni.c.notice_id == notice_id, ni.c.dropped_on.is_(None))
    ).all()
    for plan_id, ladder_json, task_id in ladders:
        ladder, cal = json.loads(ladder_json), cals[plan_id]
        rectify_by = cal.add_workdays(as_of, ladder["rectify"])
        escalate_on = cal.add_workdays(rectify_by, ladder["escalate"])
        conn.execute(update(ni).where(
            ni.c.notice_id == notice_id, ni.c.dropped_on.is_(None),
            ni.c.instance_id.in_(select(i.c.id).join(o, o.c.id == i.c.occurrence_id).where(o.c.task_id == task_id)),
        ).values(rectify_by=rectify_by, escalate_on=escalate_on))
    return number


def sign(conn: Connection, notice_id: int, as_of: date, by: str, today: date) -> str:
    """Issue a draft on `as_of`: never before it was drafted, never after `today`
    (a notice dated ahead would start rectification clocks that have not begun)."""
    row = _draft(conn, notice_id)
    if as_of < row.drafted_on:
        raise InputError(_("notice {id} was drafted on {drafted}; it cannot be issued on {day}, before that").format(
            id=notice_id, drafted=row.drafted_on, day=as_of))
    if as_of > today:
        raise InputError(_("notice {id} cannot be issued on {day}, after today ({today})").format(id=notice_id, day=as_of, today=today))
    return issue(conn, notice_id, as_of, by)


def _draft(conn: Connection, notice_id: int):
    row = _notice(conn, notice_id)
    if row.issued_on is not None:
        raise InputError(_("notice {id} was already issued as {number} on {day} by {signer}").format(
            id=notice_id, number=document_number(row.number, styles(conn).get(row.authority_code, {})),
            day=row.issued_on, signer=row.signed_by))
    if row.discarded_on is not None:
        raise InputError(_("notice {id} was discarded on {day} ({reason})").format(id=notice_id, day=row.discarded_on,
                                                                                  reason=row.discard_reason))
    return row


def _items(notice_id: int, unit_code: str, key: str | None, period: str | None):
    """The notice's items of one unit, optionally of one task and period, not dropped."""
    where = [ni.c.notice_id == notice_id, ni.c.dropped_on.is_(None),
             ni.c.unit_id == select(u.c.id).where(u.c.code == unit_code).scalar_subquery()]
    if key is not None or period is not None:
        occurrences = select(o.c.id).join(t, t.c.id == o.c.task_id)
        if key is not None:
            occurrences = occurrences.where(t.c.key == key)
        if period is not None:
            occurrences = occurrences.where(o.c.period == period)
        where.append(ni.c.instance_id.in_(select(i.c.id).where(i.c.occurrence_id.in_(occurrences))))
    return where


def _named(unit_code: str, key: str | None, period: str | None) -> str:
    named = _("unit {unit} task {task}").format(unit=unit_code, task=key) if key else _("unit {unit}").format(unit=unit_code)
    return f"{named} {period}" if period else named


def drop(conn: Connection, notice_id: int, unit_code: str, key: str | None, period: str | None,
         reason: str, as_of: date, by: str) -> int:
    """Take a unit's items (or one task's) out of a draft; they stay in its record as dropped."""
    _draft(conn, notice_id)
    changed = conn.execute(update(ni).where(*_items(notice_id, unit_code, key, period))
                           .values(dropped_on=as_of, drop_reason=reason, dropped_by=by)).rowcount
    if not changed:
        raise InputError(_("draft notice {id} names nothing of {named}").format(id=notice_id, named=_named(unit_code, key, period)))
    return changed


def discard(conn: Connection, notice_id: int, reason: str, as_of: date, by: str) -> None:
    """The bureau decides not to issue a draft: it is kept, marked discarded, and never escalates."""
    row = _draft(conn, notice_id)
    if as_of < row.drafted_on:
        raise InputError(_("notice {id} was drafted on {drafted}; it cannot be discarded on {day}, before that").format(
            id=notice_id, drafted=row.drafted_on, day=as_of))
    conn.execute(n.update().where(n.c.id == notice_id).values(discarded_on=as_of, discard_reason=f"{reason} ({by})"))


def rectify(conn: Connection, notice_id: int, unit_code: str, key: str | None, period: str | None,
            files: list[tuple[str, bytes]], note: str | None, as_of: date, by: str, keys=None) -> int:
    """A rectification is the late work done: record each named item's completion
    (with its task's evidence rules) and its rectification on `as_of`, so the
    overdue list and the notice never disagree."""
    from .tasks import done
    row = _notice(conn, notice_id)
    if row.issued_on is None:
        raise InputError(_("notice {id} is a draft; sign it first (aidcal notices sign {id} --by NAME)").format(id=notice_id))
    if as_of < row.issued_on:
        raise InputError(_("notice {number} was issued on {issued}; a rectification cannot be dated {day}").format(
            number=row.number, issued=row.issued_on, day=as_of))
    targets = conn.execute(
        select(ni.c.id, t.c.key, o.c.period, p.c.authority_code)
        .select_from(ni.join(i, i.c.id == ni.c.instance_id).join(o, o.c.id == i.c.occurrence_id)
                     .join(t, t.c.id == o.c.task_id).join(p, p.c.id == t.c.plan_id))
        .where(*_items(notice_id, unit_code, key, period), ni.c.rectified_on.is_(None))
    ).all()
    if not targets:
        raise InputError(_("notice {number} names no unrectified work of {named}").format(
            number=row.number, named=_named(unit_code, key, period)))
    # the completion's history says which notice it answers, in the record's own words (tasks._event)
    recorded = f"按通报 {row.number} 整改" + (f"：{note}" if note else "")
    for item_id, task_key, task_period, plan_code in targets:
        done(conn, unit_code, task_key, task_period, as_of, by, files=files, note=recorded, plan=plan_code, keys=keys)
        conn.execute(update(ni).where(ni.c.id == item_id).values(rectified_on=as_of, rectify_note=note, rectified_by=by))
    return len(targets)


def _notice(conn: Connection, notice_id: int):
    row = conn.execute(select(n).where(n.c.id == notice_id)).first()
    if row is None:
        raise InputError(_("notice {id} does not exist (see: aidcal notices list)").format(id=notice_id))
    return row


def list_notices(conn: Connection, authority: str | None = None) -> list[dict]:
    """Every notice, or those of `authority` and the bureaus under it; counts leave dropped items out."""
    items = (select(ni.c.notice_id, func.count().label("item_count"), func.count(func.distinct(ni.c.unit_id)).label("units"))
             .where(ni.c.dropped_on.is_(None)).group_by(ni.c.notice_id).subquery())
    query = select(n, items.c.item_count, items.c.units).join(items, items.c.notice_id == n.c.id, isouter=True)
    if authority:
        query = query.where(authorities.under(n.c.authority_code, authority))
    rows = conn.execute(query.order_by(n.c.id)).all()
    return [dict(id=r.id, authority=r.authority_code, number=r.number,
                 status="issued" if r.issued_on else "discarded" if r.discarded_on else "draft",
                 drafted_on=str(r.drafted_on), issued_on=r.issued_on and str(r.issued_on), signed_by=r.signed_by,
                 units=r.units or 0, items=r.item_count or 0) for r in rows]


def show(conn: Connection, notice_id: int, as_of: date) -> dict:
    """The notice with its items and each item's status as it was on `as_of`:
    a rectification or completion after that day does not count yet."""
    row = _notice(conn, notice_id)
    settled = func.coalesce(ni.c.rectified_on, i.c.done_on)
    rectified = case((settled <= as_of, settled), else_=None)
    status = case(
        (ni.c.dropped_on <= as_of, literal("dropped")),
        (ni.c.rectify_by.is_(None), literal("pending")),
        (rectified <= ni.c.rectify_by, literal("rectified")),
        (rectified.is_not(None), literal("rectified_late")),
        (ni.c.escalate_on <= as_of, literal("escalated")),
        else_=literal("pending"),
    )
    items = conn.execute(
        select(u.c.code, u.c.name, u.c.town, t.c.key, t.c.title, o.c.period, i.c.due, ni.c.rectify_by, rectified, status,
               ni.c.drop_reason)
        .select_from(ni.join(i, i.c.id == ni.c.instance_id).join(u, u.c.id == ni.c.unit_id)
                     .join(o, o.c.id == i.c.occurrence_id).join(t, t.c.id == o.c.task_id))
        .where(ni.c.notice_id == notice_id).order_by(u.c.town, u.c.code, i.c.due, t.c.key)
    ).all()
    authority_name = conn.execute(select(u.c.name).where(u.c.code == row.authority_code)).scalar()
    listed = [dict(unit=r[0], unit_name=r[1], town=r[2], task=r[3], title=r[4], period=r[5], due=str(r[6]),
                   rectify_by=r[7] and str(r[7]), rectified_on=r[8] and str(r[8]), status=r[9], reason=r[10])
              for r in items]
    return dict(
        id=row.id, authority=row.authority_code, authority_name=authority_name or row.authority_code, number=row.number,
        drafted_on=str(row.drafted_on), issued_on=row.issued_on and str(row.issued_on), signed_by=row.signed_by,
        discarded_on=row.discarded_on and str(row.discarded_on), discard_reason=row.discard_reason,
        items=[x for x in listed if x["status"] != "dropped"],
        dropped=[x for x in listed if x["status"] == "dropped"],
        style=styles(conn).get(row.authority_code, {}),  # the 公文's head as calendar.yaml gives it (actions/notice_docs.py)
    )


def styles(conn: Connection) -> dict[str, dict]:
    """Each authority's 公文 head (number_format, masthead, addressee) as its newest loaded plan gives it."""
    out: dict[str, dict] = {}
    for authority, style in conn.execute(select(p.c.authority_code, p.c.notice_style).order_by(p.c.year)):
        out[authority] = json.loads(style or "{}")  # a later year's plan replaces an earlier one's
    return out
