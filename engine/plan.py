"""Load or reload one year's plan into the store, and say what changed.

Plans change mid-year (以最新变动为准). A reload as of D must never lose recorded
progress: open instances due on or after D take the new deadline, those already
past due keep theirs, done ones never change, a removed task's open instances
are cancelled (kept, not deleted), and new work gets no occurrence due before D.
The first load of a year expands every occurrence of the year.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import store
from .authorities import scope
from .calendar import PlanSpec
from .expand import applies, expand
from .models import instance as i
from .models import occurrence as o
from .models import plan as p
from .models import task as t
from .models import unit as u
from .status import is_open
from .unit_types import BUREAU_MASK
from .workdays import WorkCalendar


@dataclass
class LoadReport:
    year: int
    first_load: bool
    changes: list[str] = field(default_factory=list)
    instances_created: int = 0


def load(conn: Connection, spec: PlanSpec, year: int, as_of: date, by: str, progress=None) -> LoadReport:
    """Write `spec` for `year` in the caller's transaction (all or nothing)."""
    cal = spec.work_calendar()
    stamp = store.now()
    _upsert_authority(conn, spec, stamp, by)
    values = dict(
        authority_code=spec.authority_code, authority_name=spec.authority_name, scope=scope(spec.authority_code), year=year,
        source=spec.filename, timezone=spec.timezone, roll=spec.roll,
        holidays=json.dumps(sorted(d.isoformat() for d in spec.holidays)),
        workdays=json.dumps(sorted(d.isoformat() for d in spec.workdays)),
        sign_off=spec.sign_off, evidence_max_mb=spec.evidence_max_mb, loaded_at=stamp, loaded_by=by,
        notice_style=json.dumps(spec.notice_style, ensure_ascii=False, sort_keys=True),
    )
    plan_id = conn.execute(select(p.c.id).where(p.c.authority_code == spec.authority_code, p.c.year == year)).scalar()
    report = LoadReport(year, first_load=plan_id is None)
    if plan_id is None:
        plan_id = conn.execute(p.insert().values(values)).inserted_primary_key[0]
    else:
        conn.execute(p.update().where(p.c.id == plan_id).values(values))

    stored = {row.key: row for row in conn.execute(select(t).where(t.c.plan_id == plan_id))}
    wanted = {task.key: task for task in spec.tasks}
    for key, task in wanted.items():
        fields = dict(title=spec.titled(task, year), who_mask=task.who_mask, evidence=task.evidence,
                      ladder=json.dumps(task.ladder.as_dict()),
                      completes_from=json.dumps(task.completes_from, ensure_ascii=False) if task.completes_from else None,
                      removed_on=None)
        occurrences = {occ.period: occ for occ in task.occurrences(year, cal, spec.roll)}
        row = stored.get(key)
        if row is None:
            task_id = conn.execute(t.insert().values(plan_id=plan_id, key=key, **fields)).inserted_primary_key[0]
            if not report.first_load:
                report.changes.append(_("task {task}: new ({n} occurrences; none due before {day})").format(
                    task=key, n=len(occurrences), day=as_of))
        else:
            task_id = row.id
            _diff_task(conn, report, row, fields, as_of)
        _sync_occurrences(conn, report, key, task_id, occurrences, as_of)
    for key, row in stored.items():
        if key not in wanted and row.removed_on is None:
            conn.execute(t.update().where(t.c.id == row.id).values(removed_on=as_of))
            n = _cancel_open(conn, i.c.occurrence_id.in_(select(o.c.id).where(o.c.task_id == row.id)), as_of)
            report.changes.append(_("task {task}: removed from the plan; {n} open instances cancelled").format(task=key, n=n))

    report.instances_created = expand(
        conn, plan_id=plan_id, from_date=None if report.first_load else as_of, progress=progress
    )
    return report


def _upsert_authority(conn: Connection, spec: PlanSpec, stamp, by: str) -> None:
    """The authority is a unit too, under itself: its own work (bureau tasks) is tracked like a school's."""
    stmt = store.insert(conn, u).values(
        code=spec.authority_code, name=spec.authority_name, type="教育局", type_mask=BUREAU_MASK,
        town="", parent="", authority=spec.authority_code, contact="", phone=spec.authority_phone, updated_at=stamp,
        updated_by=by,
    )
    conn.execute(stmt.on_conflict_do_update(index_elements=["code"], set_={"name": stmt.excluded.name,
                                                                           "phone": stmt.excluded.phone}))


def _diff_task(conn: Connection, report: LoadReport, row, fields: dict, as_of: date) -> None:
    changed = [name for name, value in fields.items() if getattr(row, name) != value]
    if not changed:
        return
    conn.execute(t.update().where(t.c.id == row.id).values(fields))
    notes = [_("{field} changed").format(field=name) for name in changed if name in ("title", "evidence", "ladder", "completes_from")]
    if row.removed_on is not None:
        notes.append(_("restored (removed on {day})").format(day=row.removed_on))
    if "who_mask" in changed:
        # Units the task no longer applies to: their open instances from D on are cancelled.
        no_longer = (select(u.c.id).select_from(u, t.join(p, p.c.id == t.c.plan_id))
                     .where(t.c.id == row.id, ~applies()))
        n = _cancel_open(conn, and_(
            i.c.occurrence_id.in_(select(o.c.id).where(o.c.task_id == row.id)),
            i.c.unit_id.in_(no_longer), i.c.due >= as_of,
        ), as_of)
        notes.append(_("who changed ({n} open instances of units no longer concerned cancelled)").format(n=n))
    report.changes.append(_("task {task}: ").format(task=row.key) + _(", ").join(notes))


def _sync_occurrences(conn: Connection, report: LoadReport, key: str, task_id: int, wanted: dict, as_of: date) -> None:
    stored = {row.period: row for row in conn.execute(select(o).where(o.c.task_id == task_id))}
    for period, occ in wanted.items():
        row = stored.get(period)
        if row is None:
            conn.execute(o.insert().values(task_id=task_id, period=period, nominal=occ.nominal, due=occ.due))
            if not report.first_load and stored:
                report.changes.append(_("task {task} {period}: new occurrence due {due}").format(task=key, period=period, due=occ.due))
        elif row.due != occ.due or row.cancelled_on is not None:
            conn.execute(o.update().where(o.c.id == row.id).values(nominal=occ.nominal, due=occ.due, cancelled_on=None))
            moved = conn.execute(
                i.update()
                .where(i.c.occurrence_id == row.id, is_open(), ~i.c.extended, i.c.due >= as_of)
                .values(due=occ.due)
            ).rowcount
            report.changes.append(_("task {task} {period}: due {before} → {due} ({n} open instances moved)").format(
                task=key, period=period, before=row.due, due=occ.due, n=moved))
    for period, row in stored.items():
        if period not in wanted and row.cancelled_on is None:
            conn.execute(o.update().where(o.c.id == row.id).values(cancelled_on=as_of))
            n = _cancel_open(conn, i.c.occurrence_id == row.id, as_of)
            report.changes.append(_("task {task} {period}: occurrence removed; {n} open instances cancelled").format(
                task=key, period=period, n=n))


def _cancel_open(conn: Connection, where, as_of: date) -> int:
    return conn.execute(update(i).where(where, is_open()).values(cancelled_on=as_of)).rowcount


def evidence_max_mb(conn: Connection) -> int | None:
    """The evidence size limit the newest loaded plan sets, if it sets one."""
    return conn.execute(select(p.c.evidence_max_mb).where(p.c.evidence_max_mb.is_not(None))
                        .order_by(p.c.year.desc(), p.c.loaded_at.desc()).limit(1)).scalar()


def any_loaded(conn: Connection) -> bool:
    return conn.execute(select(p.c.id).limit(1)).first() is not None


def list_plans(conn: Connection) -> list[dict]:
    rows = conn.execute(select(p.c.authority_code, p.c.authority_name, p.c.year, p.c.source, p.c.loaded_at, p.c.loaded_by)
                        .order_by(p.c.year, p.c.scope))
    return [dict(authority=r.authority_code, authority_name=r.authority_name, year=r.year, source=r.source,
                 loaded_at=store.shown_moment(r.loaded_at), loaded_by=r.loaded_by) for r in rows]


def work_calendars(conn: Connection) -> dict[int, WorkCalendar]:
    """Each stored plan's working days (its own overrides over the official calendar)."""
    return {plan_id: WorkCalendar(frozenset(map(date.fromisoformat, json.loads(holidays))),
                                  frozenset(map(date.fromisoformat, json.loads(workdays))))
            for plan_id, holidays, workdays in conn.execute(select(p.c.id, p.c.holidays, p.c.workdays))}
