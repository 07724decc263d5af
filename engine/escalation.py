"""The nightly run: the notice-and-rectify ladder, as a plain function of
(database, as_of) that the CLI, the daemon and the tests all call.

One ladder per task instance (unit × task × period), rungs in working days:
heads-up before due, reminder and notice after due (date-driven), escalation
after the rectification deadline of an *issued* notice (never backdated).

A rung due on day R is taken by the first run on or after R, if the work was
not done, cancelled or waived before R. Whether the engine ran every night or once
after a week off, the same (instance, rung, due_on) steps exist; only taken_on
differs. Steps, notice items and outbox rows are unique by key, and the whole
run is one transaction, so a crash or a second run can never double anything.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, and_, exists, func, literal, or_, select, true, update
from sqlalchemy.engine import Connection

from . import audit, notices, store
from .case_tasks import complete_from_cases
from .errors import one_line
from .models import instance as i
from .models import notice as n
from .models import notice_item as ni
from .models import occurrence as o
from .models import outbox, run
from .models import plan as p
from .models import step as s
from .models import task as t
from .models import unit as u
from .plan import work_calendars
from .unit_types import BUREAU_MASK
from .vocabulary import ALERT, RUNGS


@dataclass(frozen=True)
class Channel:
    """Where a run's messages go: per-unit digests (email) or one group digest per run."""
    name: str
    per_unit: bool
    towns: tuple[str, ...] = ()


@dataclass
class RunResult:
    """What a run did, in counts; the steps themselves are read with steps_of_run
    (a province's run takes hundreds of thousands: only a caller that prints them
    pays for them)."""
    run_id: int | None
    as_of: date
    by_rung: dict = field(default_factory=dict)
    notices: list[int] = field(default_factory=list)
    messages: int = 0
    would: list[dict] = field(default_factory=list)  # a dry run's steps

    @property
    def counts(self) -> dict:
        return {**{r: self.by_rung.get(r, 0) for r in RUNGS}, "notices": len(self.notices), "messages": self.messages}

    @property
    def taken(self) -> int:
        return sum(self.by_rung.values())


def escalate(conn: Connection, as_of: date, by: str, channels=()) -> RunResult:
    """Take every rung due on or before `as_of` not yet taken."""
    store.lock(conn, "escalation")  # a second run waits here, then finds nothing left to take
    complete_from_cases(conn, as_of, by)  # work the cases finished is not chased
    run_id = conn.execute(run.insert().values(as_of=as_of, started_at=store.now(), by=by)).inserted_primary_key[0]
    rungs = _rung_dates(conn, as_of)
    try:
        for candidate in (_date_rungs(rungs), _escalations(as_of)):
            stmt = store.insert(conn, s).from_select(
                ["instance_id", "rung", "due_on", "taken_on", "run_id"],
                select(candidate.c.instance_id, candidate.c.rung, candidate.c.due_on, literal(as_of), literal(run_id))
                .where(true()),  # SQLite parses INSERT … SELECT … ON CONFLICT only after a WHERE
            ).on_conflict_do_nothing(index_elements=["instance_id", "rung"])
            conn.execute(stmt)
    finally:
        rungs.drop(conn)
    store.analyze(conn, s)  # the run's steps are most of what the statements below read
    result = RunResult(run_id, as_of)
    result.notices = _draft_notices(conn, run_id, as_of, by)
    result.by_rung = dict(conn.execute(select(s.c.rung, func.count()).where(s.c.run_id == run_id).group_by(s.c.rung)).all())
    result.messages = _queue_messages(conn, run_id, channels)
    conn.execute(run.update().where(run.c.id == run_id).values(
        finished_at=store.now(), outcome="ok", counts=json.dumps(result.counts)))
    return result


def rehearse(engine, as_of: date, by: str, channels=()) -> RunResult:
    """A dry run: the real run in a transaction that is rolled back, so its steps,
    notice drafts and messages are exactly those a real run that day would make;
    `would` carries its steps. Nothing is written."""
    with store.rehearsing(engine) as conn:
        result = escalate(conn, as_of, by, channels)
        result.would = steps_of_run(conn, result.run_id)
    result.run_id = None
    return result


def nightly(engine, as_of: date, by: str, channels=(), alerts: str | None = None, actor: str | None = None) -> RunResult:
    """The nightly run as one transaction, shared by `aidcal escalate` and the daemon.

    A run that fails rolls back whole; its failure is then recorded in a
    transaction of its own (for `runs list`), with an alert for the bureau's
    `alerts` channel in the outbox, and the error raised again, so the next run
    takes everything this one missed."""
    try:
        with audit.audited(engine, audit.Entry(actor or by, "escalate", object=as_of.isoformat())) as conn:
            return escalate(conn, as_of, by, channels)
    except Exception as exc:
        with store.writing(engine) as conn:
            stamp = store.now()
            run_id = conn.execute(run.insert().values(as_of=as_of, started_at=stamp, finished_at=stamp, outcome="error",
                                                      error=one_line(exc), by=by)).inserted_primary_key[0]
            if alerts:
                conn.execute(outbox.insert().values(run_id=run_id, channel=alerts, recipient=ALERT,
                                                    msgid=f"<aidcal.{run_id}.{alerts}.alert@aidcal>",
                                                    next_attempt_at=stamp, created_at=stamp))
        raise


def _rung_dates(conn: Connection, as_of: date) -> Table:
    """A temporary table of (task, due) → (rung, due_on ≤ as_of), computed in
    Python per distinct (task, due date): a province has millions of instances
    but only a few hundred distinct deadlines."""
    table = Table("rung_due", MetaData(), Column("task_id", Integer), Column("due", Date),
                  Column("rung", String), Column("due_on", Date), prefixes=["TEMPORARY"])
    table.create(conn)
    pairs = conn.execute(
        select(o.c.task_id, t.c.plan_id, t.c.ladder, i.c.due).distinct()
        .select_from(i.join(o, o.c.id == i.c.occurrence_id).join(t, t.c.id == o.c.task_id))
        .where(i.c.due <= as_of + timedelta(days=120), i.c.cancelled_on.is_(None), i.c.waived_on.is_(None))
    ).all()
    cals = work_calendars(conn)
    rows = []
    for task_id, plan_id, ladder_json, due in pairs:
        ladder, cal = json.loads(ladder_json), cals[plan_id]
        dates = {"reminder": cal.add_workdays(due, ladder["reminder"]), "notice": cal.add_workdays(due, ladder["notice"])}
        if ladder["heads_up"] and as_of <= due:  # a heads-up for work already past due would only mislead
            dates["heads_up"] = cal.add_workdays(due, -ladder["heads_up"])
        start = ladder.get("start") and date.fromisoformat(ladder["start"])
        rows += [dict(task_id=task_id, due=due, rung=r, due_on=d) for r, d in dates.items()
                 if d <= as_of and (start is None or d >= start)]
    if rows:
        conn.execute(table.insert(), rows)
    store.analyze(conn, table)
    return table


def _open_at(day):
    """Still open at the start of `day` (the rung's date, not the run's): work
    done on the rung's own day did not stop a run at 01:30 that morning, so it
    must not stop a catch-up run either."""
    return and_(or_(i.c.done_on.is_(None), i.c.done_on >= day),
                or_(i.c.cancelled_on.is_(None), i.c.cancelled_on >= day),
                or_(i.c.waived_on.is_(None), i.c.waived_on >= day))


def _not_taken(rung):
    return ~exists().where(s.c.instance_id == i.c.id, s.c.rung == rung)


def _date_rungs(r: Table):
    """Heads-up, reminder and notice rungs due and not taken. The bureau's own
    work has no ladder: a bureau does not issue notices to itself."""
    return (
        select(i.c.id.label("instance_id"), r.c.rung, r.c.due_on)
        .select_from(i.join(o, o.c.id == i.c.occurrence_id)
                     .join(r, and_(r.c.task_id == o.c.task_id, r.c.due == i.c.due))
                     .join(u, u.c.id == i.c.unit_id))
        .where(u.c.type_mask != BUREAU_MASK, _open_at(r.c.due_on), _not_taken(r.c.rung))
        .subquery()
    )


def _escalations(as_of: date):
    """Items of issued notices whose rectification deadline passed unrectified."""
    rectified = func.coalesce(ni.c.rectified_on, i.c.done_on)
    return (
        select(ni.c.instance_id, literal("escalate").label("rung"), ni.c.escalate_on.label("due_on"))
        .select_from(ni.join(n, n.c.id == ni.c.notice_id).join(i, i.c.id == ni.c.instance_id))
        .where(n.c.issued_on.is_not(None), ni.c.escalate_on <= as_of,
               or_(rectified.is_(None), rectified > ni.c.rectify_by),
               _open_at(ni.c.escalate_on), _not_taken("escalate"))
        .subquery()
    )


def _draft_notices(conn: Connection, run_id: int, as_of: date, by: str) -> list[int]:
    """One draft per authority per run, holding this run's notice steps whose
    work is still open; issued at once where the authority's plan needs no sign-off.
    Three statements for every authority together: the drafts, their items (each
    step's work joined to its plan's authority's draft), the steps pointing back."""
    # Work settled by the run's day (done, waived, cancelled on it or before) keeps its step
    # but is not named publicly: the draft is what signing it that day would issue.
    new = (select(s.c.instance_id, i.c.unit_id, p.c.authority_code.label("authority"))
           .select_from(s.join(i, i.c.id == s.c.instance_id).join(o, o.c.id == i.c.occurrence_id)
                        .join(t, t.c.id == o.c.task_id).join(p, p.c.id == t.c.plan_id))
           .where(s.c.run_id == run_id, s.c.rung == "notice", _open_at(as_of + timedelta(days=1))).subquery())
    codes = conn.execute(select(new.c.authority).distinct().order_by(new.c.authority)).scalars().all()
    if not codes:
        return []
    conn.execute(n.insert(), [dict(authority_code=code, run_id=run_id, drafted_on=as_of) for code in codes])
    conn.execute(store.insert(conn, ni).from_select(
        ["notice_id", "instance_id", "unit_id"],
        select(n.c.id, new.c.instance_id, new.c.unit_id)
        .join(n, and_(n.c.authority_code == new.c.authority, n.c.run_id == run_id))
        .where(true()),  # SQLite parses INSERT … SELECT … ON CONFLICT only after a WHERE
    ).on_conflict_do_nothing(index_elements=["instance_id"]))
    named = select(ni.c.notice_id).join(n, n.c.id == ni.c.notice_id).where(
        ni.c.instance_id == s.c.instance_id, n.c.run_id == run_id).scalar_subquery()
    conn.execute(update(s).where(s.c.run_id == run_id, s.c.rung == "notice").values(notice_id=named))
    drafted = conn.execute(select(n.c.id, n.c.authority_code).where(n.c.run_id == run_id).order_by(n.c.id)).all()
    for notice_id, code in drafted:
        if not notices.needs_sign_off(conn, code):
            notices.issue(conn, notice_id, as_of, "（无需签发）")
    return [notice_id for notice_id, _ in drafted]


def _queue_messages(conn: Connection, run_id: int, channels) -> int:
    """Outbox rows in the run's transaction: one digest per unit (per-unit
    channels) or one per group channel, carrying this run's steps."""
    stamp, queued = store.now(), 0
    for channel in channels:
        scope = [s.c.run_id == run_id]
        if channel.towns:
            scope.append(u.c.town.in_(channel.towns))
        if channel.per_unit:
            scope.append(u.c.email != "")
        recipient = u.c.code if channel.per_unit else literal("*")
        msgid = literal(f"<aidcal.{run_id}.{channel.name}.") + recipient + literal("@aidcal>")
        source = (select(literal(run_id), literal(channel.name), recipient, msgid, literal(stamp), literal(stamp))
                  .select_from(s.join(i, i.c.id == s.c.instance_id).join(u, u.c.id == i.c.unit_id))
                  .where(*scope).distinct())
        queued += conn.execute(store.insert(conn, outbox).from_select(
            ["run_id", "channel", "recipient", "msgid", "next_attempt_at", "created_at"], source,
        ).on_conflict_do_nothing(index_elements=["run_id", "channel", "recipient"])).rowcount
    return queued


def steps_of_run(conn: Connection, run_id: int, limit: int | None = None) -> list[dict]:
    return _describe(conn, select(s).where(s.c.run_id == run_id).subquery(), limit)


def _describe(conn: Connection, steps, limit: int | None = None) -> list[dict]:
    """Steps (taken or would-be) as users read them; `steps` has the columns of ladder_step."""
    rows = conn.execute(
        select(u.c.code, u.c.name, t.c.key, t.c.title, o.c.period, steps.c.rung, steps.c.due_on, steps.c.taken_on,
               steps.c.notice_id)
        .select_from(steps.join(i, i.c.id == steps.c.instance_id).join(u, u.c.id == i.c.unit_id)
                     .join(o, o.c.id == i.c.occurrence_id).join(t, t.c.id == o.c.task_id))
        .order_by(u.c.code, t.c.key, o.c.period, steps.c.due_on).limit(limit)
    ).all()
    return [dict(unit=r[0], unit_name=r[1], task=r[2], title=r[3], period=r[4], rung=r[5], due_on=str(r[6]),
                 taken_on=str(r[7]), notice=r[8]) for r in rows]


def list_runs(conn: Connection, limit: int = 100) -> list[dict]:
    """Each run, newest first, with how many of its messages are failing (retried, never dropped)."""
    failing = (select(func.count()).where(outbox.c.run_id == run.c.id, outbox.c.status == "failed")
               .scalar_subquery().label("failed_messages"))
    rows = conn.execute(select(run, failing).order_by(run.c.id.desc()).limit(limit)).all()
    return [dict(id=r.id, as_of=str(r.as_of), started=store.shown_moment(r.started_at),
                 finished=store.shown_moment(r.finished_at), outcome=r.outcome,
                 counts=json.loads(r.counts), error=r.error, by=r.by, failed_messages=r.failed_messages) for r in rows]
