"""Moving cases along their workflow: one case or a million, by the same SQL.

A move is a compare-and-set UPDATE (`WHERE state = :from AND guards`), with
its history rows inserted from the same predicate in the same transaction, so
the history holds exactly the cases that moved. Held cases stay, and are
counted per guard. Calendar tasks that cases complete (`completes_from`) are
completed in the same transaction as the move that finishes them.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, literal, select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import programmes as progs
from . import rules, store
from .case_tasks import complete_from_cases
from .cases import scope
from .errors import InputError
from .guards import EFFECTS, GUARD_TITLES, GUARDS, POSSIBLE_FROM
from .models import aid_case as c
from .models import case_event as e
from .workdays import WorkCalendar
from .workflow import Transition, WorkflowSpec

CAL = WorkCalendar()  # cases follow the official working days


def apply(conn: Connection, spec: WorkflowSpec, move: Transition, source: str, where: list, as_of: date,
           by: str, reason: str = "", extra: dict | None = None) -> int:
    """Move every case matching `where` in state `source` whose guards hold.

    Movers take the case-moves lock first (an advisory lock on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers): otherwise two movers under READ
    COMMITTED could both write history for the same cases before either moved them."""
    store.lock(conn, "case-moves")
    guarded = [*where, c.c.workflow == spec.name, c.c.state == source,
               *(GUARDS[g](spec, as_of) for g in move.guards)]
    stamp = store.now()
    conn.execute(e.insert().from_select(
        ["case_id", "trigger", "from_state", "to_state", "on_date", "at", "by", "reason"],
        select(c.c.id, literal(move.trigger), c.c.state, literal(move.dest), literal(as_of), literal(stamp),
               literal(by), literal(reason)).where(*guarded)))
    values = dict(state=move.dest, state_since=as_of, **(extra or {}))
    for effect in move.effects:
        values.update(EFFECTS[effect](spec, as_of, CAL))
    moved = conn.execute(c.update().where(*guarded).values(values)).rowcount
    if moved:
        complete_from_cases(conn, as_of, by, reaching=move.dest)
    return moved


def case_row(conn: Connection, case_id: int):
    row = conn.execute(select(c).where(c.c.id == case_id)).first()
    if row is None:
        raise InputError(_("case {case} does not exist").format(case=case_id))
    return row


def _move_to(spec: WorkflowSpec, source: str, dest: str) -> Transition:
    moves = spec.moves(source, dest)
    if not moves:
        possible = sorted({t.dest for t in spec.transitions if source in t.sources})
        raise InputError(_("no move from {source} to {dest} in workflow {workflow} (from {source}: {possible})").format(
            source=source, dest=dest, workflow=spec.name, possible=_(", ").join(possible) or _("none")))
    if len(moves) > 1:
        raise InputError(_("from {source} to {dest} there are several moves ({triggers}); use aidcal cases resolve").format(
            source=source, dest=dest, triggers=_(", ").join(t.trigger for t in moves)))
    return moves[0]


def advance_one(conn: Connection, case_id: int, dest: str, as_of: date, by: str, reason: str = "") -> str:
    """Move one case, or say which guard holds it and from when the move is possible."""
    row = case_row(conn, case_id)
    spec = rules.workflow(conn, row.workflow)
    move = _move_to(spec, row.state, dest)
    failing = [g for g in move.guards
               if not conn.execute(select(GUARDS[g](spec, as_of)).where(c.c.id == case_id)).scalar()]
    if failing:
        guard = failing[0]
        when = POSSIBLE_FROM.get(guard)
        possible = conn.execute(select(when).where(c.c.id == case_id)).scalar() if when is not None else None
        raise InputError((_("case {case}: {source} → {dest} is held by guard {guard} ({why}); possible from {day}") if possible
                          else _("case {case}: {source} → {dest} is held by guard {guard} ({why})")).format(
            case=case_id, source=row.state, dest=dest, guard=guard, why=GUARD_TITLES[guard], day=possible))
    apply(conn, spec, move, row.state, [c.c.id == case_id], as_of, by, reason)
    return move.trigger


def advance_bulk(conn: Connection, *, unit: str | None, programme: str, term: str, source: str, dest: str,
                 as_of: date, by: str, authority: str | None = None) -> dict:
    """Move every case of the scope (a unit's, a bureau's subtree, or all) in `source` whose guards hold; count
    the held ones per guard and, where a guard lifts on a date (publicity ending), say the earliest such date."""
    programme_spec = rules.programmes(conn).get(programme)
    if programme_spec is None:
        raise InputError(_("programme '{programme}' does not exist (see: aidcal programmes list)").format(programme=programme))
    spec = rules.workflow(conn, programme_spec.workflow)
    move = _move_to(spec, source, dest)
    where = [*scope(unit, programme, term, authority=authority), c.c.workflow == spec.name, c.c.state == source]
    held, possible_from = {}, {}
    if move.guards:  # one scan counts the cases each guard holds, and when the dated ones lift
        dated = [g for g in move.guards if g in POSSIBLE_FROM]
        row = conn.execute(select(*(func.sum(case((GUARDS[g](spec, as_of), 0), else_=1)) for g in move.guards),
                                  *(func.min(case((GUARDS[g](spec, as_of), None), else_=POSSIBLE_FROM[g])) for g in dated))
                           .select_from(c).where(*where)).one()
        held = {g: n for g, n in zip(move.guards, row) if n}
        possible_from = {g: str(d) for g, d in zip(dated, row[len(move.guards):]) if d is not None and g in held}
    moved = apply(conn, spec, move, source, where, as_of, by)
    return {"moved": moved, "held": held, "possible_from": possible_from}


def object_to(conn: Connection, case_id: int, reason: str, as_of: date, by: str) -> None:
    """An objection during publicity sends the case to review (复核)."""
    row = case_row(conn, case_id)
    spec = rules.workflow(conn, row.workflow)
    move = spec.by_trigger("object", row.state)
    if move is None:
        raise InputError(_("case {case} is in {state}; objections are taken during publicity").format(case=case_id, state=_(row.state)))
    apply(conn, spec, move, row.state, [c.c.id == case_id], as_of, by, reason)


def resolve(conn: Connection, case_id: int, upheld: bool, note: str, as_of: date, by: str,
            level: str | None = None) -> str:
    """Dismissed: back to publicity with its original end date. Upheld: a new
    level (amount recomputed, publicity restarts) or, without one, termination."""
    row = case_row(conn, case_id)
    spec = rules.workflow(conn, row.workflow)
    if row.state != "review":
        raise InputError(_("case {case} is in {state}, not under review; nothing to resolve").format(case=case_id, state=_(row.state)))
    if not upheld:
        apply(conn, spec, spec.by_trigger("dismiss", "review"), "review", [c.c.id == case_id], as_of, by, note)
        return _("dismissed: back to publicity, ending as before")
    if level is None:
        apply(conn, spec, spec.by_trigger("terminate", "review"), "review", [c.c.id == case_id], as_of, by, note)
        return _("upheld: terminated")
    key = progs.LEVEL_KEYS.get(level)
    if key is None:
        raise InputError(_("level '{level}' is not allowed (特别困难, 困难, 一般困难)").format(level=level))
    standard = rules.programmes(conn)[row.programme].amount_fen(row.term, key, row.boarding)
    extra = dict(level=key, standard=standard, amount=standard, override_reason=None)
    apply(conn, spec, spec.by_trigger("uphold", "review"), "review", [c.c.id == case_id], as_of, by, note, extra)
    return _("upheld: level {level}, publicity restarts").format(level=progs.LEVELS[key])


