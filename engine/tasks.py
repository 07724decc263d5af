"""A unit's tasks: list, done, reopen, extend, waive, and completions in bulk.

Every write leaves an event (who, when, on which as-of date, why). Evidence is
stored in the database by content hash, so it travels with the database.
"""
from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import String, bindparam, case, cast, func, select
from sqlalchemy.engine import Connection

from aidcal.i18n import N_, _

from . import driver, sealing, store, unit_types
from .errors import InputError
from .masking import mask_personal
from .models import event, evidence, evidence_blob
from .models import instance as i
from .models import occurrence as o
from .models import plan as p
from .models import task as t
from .models import unit as u
from .status import is_open, status


def list_tasks(conn: Connection, unit_code: str, as_of: date, month: str | None = None, state: str | None = None,
               plan: str | None = None) -> list[dict]:
    unit_id = _unit_id(conn, unit_code)
    st = status(as_of).label("status")
    evidence_count = select(func.count()).where(evidence.c.instance_id == i.c.id).scalar_subquery()
    # why a task is waived or its deadline moved: the supervisor's latest word on it, read only for those
    last_word = (select(event.c.detail).where(event.c.instance_id == i.c.id, event.c.kind.in_(("waive", "extend")))
                 .order_by(event.c.id.desc()).limit(1).scalar_subquery())
    reason = case((i.c.waived_on.is_not(None) | i.c.extended, last_word), else_=None).label("reason")
    query = (
        select(t.c.key, t.c.title, t.c.evidence, o.c.period, i.c.due, st, i.c.done_on, evidence_count.label("evidence_files"),
               i.c.note, reason, p.c.authority_code)
        .select_from(i.join(o, o.c.id == i.c.occurrence_id).join(t, t.c.id == o.c.task_id).join(p, p.c.id == t.c.plan_id))
        .where(i.c.unit_id == unit_id)
        .order_by(i.c.due, t.c.key, p.c.scope)
    )
    if plan:
        query = query.where(p.c.authority_code == plan)
    if month:
        query = query.where(o.c.period == month)
    if state:
        query = query.where(st == state)
    return [
        dict(task=r.key, title=r.title, period=r.period, due=r.due.isoformat(), status=r.status,
             done_at=r.done_on.isoformat() if r.done_on and r.done_on <= as_of else None,
             evidence=r.evidence, evidence_files=r.evidence_files, note=r.note, reason=r.reason, plan=r.authority_code)
        for r in conn.execute(query)
    ]


def not_after(as_of: date | None, today: date) -> date:
    """The day work was done, or today: never a day still to come."""
    if as_of is not None and as_of > today:
        raise InputError(_("--as-of {day} is after today ({today}): work is recorded on the day it was done").format(
            day=as_of, today=today))
    return as_of or today


def done(conn: Connection, unit_code: str, key: str, period: str | None, as_of: date, by: str,
         files: list[tuple[str, bytes]] = (), note: str | None = None, plan: str | None = None,
         keys: sealing.Keys | None = None) -> dict:
    """Record the work as done on `as_of`; a task whose plan asks for evidence needs some
    (stored sealed: `keys`)."""
    if period is not None and not files and period[:4].isdigit() and as_of.year >= int(period[:4]):
        recorded = _done_at_once(conn, unit_code, key, period, as_of, by, note, plan)
        if recorded is not None:
            return recorded
    target = _find(conn, unit_code, key, period, "open", plan, as_of)
    if target.done_on is not None:
        return _result(target, _("{period} is already done on {day}; nothing changed").format(period=target.period, day=target.done_on))
    if as_of.year < target.year:
        raise InputError(_("task {task} {period}: done on {day} (--as-of, else today) is before the plan's year {year}; "
                           "its work is done from {year}-01-01 on").format(
            task=key, period=target.period, day=as_of, year=target.year))
    stamp = store.now()
    keys = sealing.bind(conn, keys) if files else None
    for name, content in files:
        _attach(conn, target.id, name, content, stamp, by, keys)
    if target.evidence and not _evidence_count(conn, target.id):
        raise InputError(_("task {task}: the plan requires evidence ({evidence}); attach it with --evidence FILE").format(
            task=key, evidence=target.evidence))
    # Compare-and-set: of two writers racing for the same task, one records it, the other is told.
    if not conn.execute(i.update().where(i.c.id == target.id, i.c.done_on.is_(None))
                        .values(done_on=as_of, done_at=stamp, done_by=by, note=note)).rowcount:
        return _result(target, _("already done by another writer just now; nothing changed"))
    _event(conn, target, "done", as_of, by, note or "")
    state = "done" if as_of <= target.due else "done_late"
    return _result(target, _("{state} on {day} (due {due})").format(state=_(state), day=as_of, due=target.due))


# The common completion (a period named, no evidence asked) as one compare-and-set
# UPDATE … RETURNING that resolves its own target, built once: hundreds of schools
# completing at once spend the write lock on SQL, not on building statements.
_target = i.alias("target")
_instances = (  # every instance the command names; exactly one, or `_find` explains
    select(_target.c.id)
    .join(u, u.c.id == _target.c.unit_id).join(o, o.c.id == _target.c.occurrence_id)
    .join(t, t.c.id == o.c.task_id)
    .where(u.c.code == bindparam("unit"), t.c.key == bindparam("key"), o.c.period == bindparam("period"))
)
_needs_evidence = (select(o.c.id).join(t, t.c.id == o.c.task_id)
                   .where(o.c.id == i.c.occurrence_id, t.c.evidence.is_not(None)).exists())


def _mark(instances):
    """Done, if `instances` is exactly one open instance whose plan asks no evidence."""
    return driver.Prepared(
        i.update()
        .where(i.c.id.in_(instances), select(func.count()).select_from(instances.subquery()).scalar_subquery() == 1,
               is_open(), ~_needs_evidence)
        .values(done_on=bindparam("done_on"), done_at=bindparam("done_at"), done_by=bindparam("done_by"),
                note=bindparam("note"))
        .returning(i.c.id, i.c.unit_id, cast(i.c.due, String), i.c.due >= bindparam("done_on"))
    )


_MARK = {False: _mark(_instances),
         True: _mark(_instances.join(p, p.c.id == t.c.plan_id).where(p.c.authority_code == bindparam("plan")))}
# RETURNING the whole row: an audited completion's entry takes its id as the driver hands it back
# (engine/driver.py's watch) rather than look for it again
_LOG = driver.Prepared(event.insert().values(
    {name: bindparam(name) for name in ("instance_id", "unit_id", "kind", "on_date", "at", "by", "detail")})
    .returning(*event.c))


def _done_at_once(conn: Connection, unit_code: str, key: str, period: str, as_of: date, by: str,
                  note: str | None, plan: str | None) -> dict | None:
    """None when the one statement cannot decide (unknown, already done, needs evidence,
    two plans share the key…): then `_find` says exactly why, as it always has."""
    stamp = store.now()
    params = dict(unit=unit_code, key=key, period=period, done_on=as_of, done_at=stamp, done_by=by, note=note)
    marked = _MARK[plan is not None](conn, {**params, "plan": plan} if plan else params)
    if not marked:
        return None
    instance_id, unit_id, due, on_time = marked[0]
    _LOG(conn, dict(instance_id=instance_id, unit_id=unit_id, kind="done", on_date=as_of, at=stamp, by=by,
                    detail=note or ""))
    state = "done" if on_time else "done_late"
    return dict(task=key, period=period, message=_("{state} on {day} (due {due})").format(state=_(state), day=as_of, due=due))


def reopen(conn: Connection, unit_code: str, key: str, period: str | None, reason: str, as_of: date, by: str,
           plan: str | None = None) -> dict:
    target = _find(conn, unit_code, key, period, "done", plan, as_of)
    if target.done_on is None:
        return _result(target, _("{period} is not done; nothing changed").format(period=target.period))
    conn.execute(i.update().where(i.c.id == target.id).values(done_on=None, done_at=None, done_by=None, note=None))
    _event(conn, target, "reopen", as_of, by, f"原完成日期 {target.done_on}：{reason}")
    return _result(target, _("reopened (was done on {day})").format(day=target.done_on))


def extend(conn: Connection, unit_code: str, key: str, period: str | None, to: date, reason: str, as_of: date, by: str,
           plan: str | None = None) -> dict:
    target = _find(conn, unit_code, key, period, "open", plan, as_of)
    if target.done_on is not None:
        raise InputError(_("task {task} {period}: already done on {day}; nothing to extend").format(
            task=key, period=target.period, day=target.done_on))
    if to <= target.due:
        raise InputError(_("task {task} {period}: --to {to} is not later than the due date {due}; "
                           "an extension moves the deadline later").format(task=key, period=target.period, to=to, due=target.due))
    conn.execute(i.update().where(i.c.id == target.id).values(due=to, extended=True))
    _event(conn, target, "extend", as_of, by, f"截止日期 {target.due} → {to}：{reason}")
    return _result(target, _("due {due} → {to}").format(due=target.due, to=to))


def waive(conn: Connection, unit_code: str, key: str, period: str | None, reason: str, as_of: date, by: str,
          plan: str | None = None) -> dict:
    target = _find(conn, unit_code, key, period, "waive", plan, as_of)
    if target.waived_on is not None:
        return _result(target, _("{period} is already waived on {day}; nothing changed").format(period=target.period,
                                                                                                   day=target.waived_on))
    if target.done_on is not None:
        raise InputError(_("task {task} {period}: already done on {day}; nothing to waive").format(
            task=key, period=target.period, day=target.done_on))
    conn.execute(i.update().where(i.c.id == target.id).values(waived_on=as_of))
    _event(conn, target, "waive", as_of, by, reason)
    return _result(target, _("waived on {day}").format(day=as_of))


def history(conn: Connection, unit_code: str, key: str, period: str | None, plan: str | None = None) -> list[dict]:
    """Every write to a unit's task, who, when, on which day, what, why: of one period, or with none
    named of every period (a monthly task's year), period by period."""
    targets = [r.id for r in _find(conn, unit_code, key, period, "all", plan)]
    rows = conn.execute(select(event, o.c.period).join(i, i.c.id == event.c.instance_id).join(o, o.c.id == i.c.occurrence_id)
                        .where(event.c.instance_id.in_(targets)).order_by(o.c.period, event.c.id)).all()
    return [dict(task=key, period=r.period, kind=r.kind, on=str(r.on_date), at=store.shown_moment(r.at), by=r.by,
                 detail=r.detail) for r in rows]


def evidence_files(conn: Connection, unit_code: str, key: str, period: str | None,
                   plan: str | None = None, keys: sealing.Keys | None = None) -> list[tuple[str, bytes]]:
    """The stored evidence of one occurrence: (file name as attached, content opened)."""
    target = _find(conn, unit_code, key, period, "any", plan)
    rows = conn.execute(select(evidence.c.filename, evidence.c.sha256, evidence_blob.c.content)
                        .join(evidence_blob, evidence_blob.c.sha256 == evidence.c.sha256)
                        .where(evidence.c.instance_id == target.id).order_by(evidence.c.id)).all()
    if not rows:
        raise InputError(_("task {task} {period} of unit {unit} has no evidence stored").format(
            task=key, period=target.period, unit=unit_code))
    keys = sealing.bind(conn, keys, register=False)
    return [(r.filename, keys.unseal_bytes(r.content, "evidence_blob.content", sealing.blob_row(r.sha256))) for r in rows]


def _unit_id(conn: Connection, code: str) -> int:
    unit_id = conn.execute(select(u.c.id).where(u.c.code == code)).scalar()
    if unit_id is None:
        raise InputError(_("unit '{unit}' is not in the roster (import it with: aidcal units import FILE)").format(unit=code))
    return unit_id


def _find(conn: Connection, unit_code: str, key: str, period: str | None, want: str, plan: str | None = None,
          as_of: date | None = None):
    """The one instance a command acts on. With no --period: the unit's only open
    (for reopen: done) occurrence of the task; else the only one of those overdue
    or due in the as-of month; else the command must name one. Task keys are
    unique within a plan only: where two plans of the unit use the key, `plan` chooses.
    `want` "all": every occurrence named (all of the task's with no --period), as a list."""
    of_task = (select(i.c.id, i.c.unit_id, i.c.due, i.c.done_on, i.c.cancelled_on, i.c.waived_on, o.c.period,
                      t.c.key, t.c.evidence, p.c.authority_code, p.c.year)
               .select_from(i.join(u, u.c.id == i.c.unit_id).join(o, o.c.id == i.c.occurrence_id)
                            .join(t, t.c.id == o.c.task_id).join(p, p.c.id == t.c.plan_id))
               .where(u.c.code == unit_code, t.c.key == key).order_by(o.c.period))
    if plan:
        of_task = of_task.where(p.c.authority_code == plan)
    # With a period (the common case) one row comes straight from the indexes.
    rows = conn.execute(of_task if period is None else of_task.where(o.c.period == period)).all()
    plans = sorted({r.authority_code for r in rows})
    if len(plans) > 1:
        raise InputError(_("unit {unit} has task '{task}' from the plans of {n} authorities ({plans}); pass --plan CODE").format(
            unit=unit_code, task=key, n=len(plans), plans=_(", ").join(plans)))
    if not rows:
        _unit_id(conn, unit_code)  # says so if the unit is unknown
        if period is not None:
            periods = _(", ").join(conn.execute(of_task.with_only_columns(o.c.period)).scalars())
            if periods:
                raise InputError(_("task {task} has no period {period} for unit {unit} (its periods: {periods})").format(
                    task=key, period=period, unit=unit_code, periods=periods))
        unit_row = conn.execute(select(u.c.active_from, u.c.type_mask).where(u.c.code == unit_code)).first()
        kinds = conn.execute(select(t.c.who_mask).where(t.c.key == key, *([p.c.authority_code == plan] if plan else []))
                             .join_from(t, p, p.c.id == t.c.plan_id)).scalars().all()
        if kinds and not any(mask & unit_row.type_mask for mask in kinds):
            raise InputError(_("task '{task}' is not the work of unit {unit}: its plan gives it to {kinds} "
                               "(see: aidcal tasks list --unit {unit})").format(
                task=key, unit=unit_code, kinds=unit_types.names_of(*kinds)))
        joined = unit_row.active_from
        if kinds and joined is not None:
            raise InputError(_("unit {unit} has no occurrence of task '{task}': it takes part from {day} "
                               "(its 启用日期 / active_from), and nothing due before that is its work").format(
                unit=unit_code, task=key, day=joined))
        raise InputError((_("unit {unit} has no task '{task}' in the plan of {plan} (see: aidcal tasks list --unit {unit})")
                          if plan else _("unit {unit} has no task '{task}' (see: aidcal tasks list --unit {unit})"))
                         .format(unit=unit_code, task=key, plan=plan))
    if want == "all":
        return rows
    if period is not None:
        row = rows[0]
    else:
        word = {"done": N_("done"), "any": N_("recorded")}.get(want, N_("open"))
        wanted = rows if want == "any" else [r for r in rows if r.cancelled_on is None and r.waived_on is None
                                             and ((r.done_on is None) == (word == "open"))]
        if not wanted and as_of is not None:  # nothing in the wanted state: the one current occurrence says why
            month = f"{as_of:%Y-%m}"
            current = rows if len(rows) == 1 else [r for r in rows if r.period == month or f"{r.due:%Y-%m}" == month]
            if len(current) == 1:
                wanted = current
        if len(wanted) > 1 and as_of is not None:
            month = f"{as_of:%Y-%m}"
            current = [r for r in wanted if r.due < as_of or r.period == month or f"{r.due:%Y-%m}" == month]
            if not current:  # only later periods are open: this month's own, if any, says why (done already, say)
                current = [r for r in rows if r.period == month or f"{r.due:%Y-%m}" == month]
            if len(current) == 1:
                wanted = current
            elif not current:
                upcoming = min(wanted, key=lambda r: r.due)
                raise InputError(_("task {task} has no {state} period overdue or due in {month} for unit {unit} (the next "
                                   "is {period}, due {due}); pass --period YYYY-MM").format(
                    task=key, state=_(word), month=month, unit=unit_code, period=upcoming.period, due=upcoming.due))
            else:
                shown = _(", ").join(r.period for r in current)
                raise InputError(_("task {task} has {n} {state} periods overdue or due in {month} for unit {unit} ({periods}); "
                                   "pass --period YYYY-MM").format(task=key, n=len(current), state=_(word), month=month,
                                                                   unit=unit_code, periods=shown))
        if len(wanted) != 1:
            shown = _(", ").join(r.period for r in wanted) or _("none")
            raise InputError(_("task {task} has {n} {state} periods for unit {unit} ({periods}); pass --period YYYY-MM").format(
                task=key, n=len(wanted), state=_(word), unit=unit_code, periods=shown))
        row = wanted[0]
    if want == "any":
        return row
    if row.cancelled_on is not None:
        raise InputError(_("task {task} {period}: cancelled on {day}").format(task=key, period=row.period, day=row.cancelled_on))
    if row.waived_on is not None and want != "waive":
        raise InputError(_("task {task} {period}: waived on {day}").format(task=key, period=row.period, day=row.waived_on))
    return row


def _result(target, message: str) -> dict:
    return dict(task=target.key, period=target.period, message=message)


def _event(conn: Connection, target, kind: str, as_of: date, by: str, detail: str) -> None:
    """A history row. Its detail is the record's own words, in Chinese as the bureau's records are
    (a moved deadline: 截止日期 A → B：reason), the same whatever language a reader uses."""
    conn.execute(event.insert().values(instance_id=target.id, unit_id=target.unit_id, kind=kind,
                                       on_date=as_of, at=store.now(), by=by, detail=detail))


def store_blob(conn: Connection, content: bytes, keys: sealing.Keys) -> str:
    """Stored once by the hash of its content, the content sealed (a file may show a child)."""
    digest = hashlib.sha256(content).hexdigest()
    sealed = keys.seal_bytes(content, "evidence_blob.content", sealing.blob_row(digest))
    stmt = store.insert(conn, evidence_blob).values(sha256=digest, size=len(content), content=sealed)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["sha256"]))
    return digest


def stored_name(name: str) -> str:
    """An evidence file's name as it is kept: a school may name a file after a child
    (张三_340621200503011234.pdf), and the database keeps no full personal number."""
    return mask_personal(name)


def _attach(conn: Connection, instance_id: int, name: str, content: bytes, stamp, by: str, keys: sealing.Keys) -> None:
    digest = store_blob(conn, content, keys)
    stmt = store.insert(conn, evidence).values(instance_id=instance_id, sha256=digest, filename=stored_name(name),
                                               added_at=stamp, added_by=by)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["instance_id", "sha256"]))


def _evidence_count(conn: Connection, instance_id: int) -> int:
    return conn.execute(select(func.count()).where(evidence.c.instance_id == instance_id)).scalar()
