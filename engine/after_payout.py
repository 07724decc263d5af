"""A case's life after payout (DOMAIN.md, 教财〔2018〕16号 and seed 004).

异动 (a student who left, transferred, was suspended or died) stops the case and
records which school pays the term; money paid on false information is
recovered (追回) with its amount and date; a transfer moves the case to the new
school keeping its whole history. Each is one move or one update with one
history row, in the caller's transaction.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import rules, store
from .errors import InputError
from .models import aid_case as c
from .models import case_event as e
from .models import unit as u
from .moves import apply, case_row

STOP_KINDS = ("转学", "休学", "退学", "死亡", "其他")


def _unit(conn: Connection, code: str) -> tuple[int, str, int]:
    row = conn.execute(select(u.c.id, u.c.name, u.c.type_mask).where(u.c.code == code)).first()
    if row is None:
        raise InputError(_("unit '{unit}' is not in the roster").format(unit=code))
    return row


def _move(conn: Connection, row, trigger: str, as_of: date, by: str, reason: str, extra: dict) -> str:
    spec = rules.workflow(conn, row.workflow)
    move = spec.by_trigger(trigger, row.state)
    if move is None:
        possible = sorted({s for t in spec.transitions if t.trigger == trigger for s in t.sources})
        raise InputError((_("case {case} is {state}; workflow {workflow} allows {trigger} only from {sources}") if possible
                          else _("case {case} is {state}; workflow {workflow} has no {trigger} move")).format(
            case=row.id, state=_(row.state), workflow=spec.name, trigger=trigger, sources=_(", ").join(possible)))
    apply(conn, spec, move, row.state, [c.c.id == row.id], as_of, by, reason, extra)
    return move.dest


def _note(conn: Connection, row, trigger: str, as_of: date, by: str, reason: str, values: dict) -> None:
    """A fact on a case that leaves its state as it is, with its history row, under the movers' lock."""
    store.lock(conn, "case-moves")
    conn.execute(c.update().where(c.c.id == row.id).values(values))
    conn.execute(e.insert().values(case_id=row.id, trigger=trigger, from_state=row.state, to_state=row.state,
                                   on_date=as_of, at=store.now(), by=by, reason=reason))


def _served_unit(conn: Connection, row, code: str) -> tuple[int, str]:
    programme = rules.programme(conn, row.programme)
    unit_id, unit_name, mask = _unit(conn, code)
    if not mask & programme.type_mask:
        raise InputError(_("unit '{unit}' is not a school that programme {programme} serves").format(unit=code, programme=programme.key))
    return unit_id, unit_name


def stop(conn: Connection, case_id: int, kind: str, paying_unit: str, reason: str, as_of: date, by: str) -> str:
    """异动: later payments stop; `paying_unit` is the school that pays (or paid) this term."""
    if kind not in STOP_KINDS:
        raise InputError(_("--kind '{kind}' is not allowed ({allowed})").format(kind=kind, allowed=_(", ").join(STOP_KINDS)))
    row = case_row(conn, case_id)
    unit_id, unit_name = _served_unit(conn, row, paying_unit)
    text = f"异动（{kind}）：{reason}；已发放 {(row.paid or 0) / 100:.2f} 元，本学期由 {unit_name}（{paying_unit}）发放"
    return _move(conn, row, "stop", as_of, by, text, dict(pay_unit_id=unit_id))


def recover(conn: Connection, case_id: int, amount: Decimal, on: date, reason: str, as_of: date, by: str) -> str:
    """追回: money paid on false information comes back, at most what was paid and not yet
    recovered; the case ends recovered when all of it is back, a part is recorded as it comes."""
    row = case_row(conn, case_id)
    fen = int(amount * 100)
    if fen != amount * 100 or fen <= 0:
        raise InputError(_("--amount {amount} is not a positive amount in yuan with at most two decimals").format(amount=amount))
    if row.paid is None:
        raise InputError(_("case {case} was never paid: there is nothing to recover (withdraw or terminate it)").format(case=case_id))
    if fen > row.paid - row.recovered:
        raise InputError(_("case {case}: {amount} yuan is more than the {left:.2f} yuan paid and not yet recovered").format(
            case=case_id, amount=amount, left=(row.paid - row.recovered) / 100))
    if on > as_of:
        raise InputError(_("--on {day} is after {as_of}: record a recovery when the money has come back").format(day=on, as_of=as_of))
    if row.paid_on is not None and on < row.paid_on:
        raise InputError(_("--on {day} is before the case was paid ({paid})").format(day=on, paid=row.paid_on))
    text = f"追回 {fen / 100:.2f} 元（{on}）：{reason}"
    values = dict(recovered=c.c.recovered + fen, recovered_on=on)
    if fen < row.paid - row.recovered:
        _note(conn, row, "recover", as_of, by, text + f"；尚余 {(row.paid - row.recovered - fen) / 100:.2f} 元待追回", values)
        return row.state
    return _move(conn, row, "recover", as_of, by, text, values)


def transfer(conn: Connection, case_id: int, to_unit: str, reason: str, as_of: date, by: str) -> str:
    """The case moves to the student's new school, state and history unchanged."""
    row = case_row(conn, case_id)
    spec = rules.workflow(conn, row.workflow)
    if row.state in spec.finals:
        raise InputError(_("case {case} is {state}, a final state: it stays with the school it ended at").format(
            case=case_id, state=_(row.state)))
    unit_id, unit_name = _served_unit(conn, row, to_unit)
    if unit_id == row.unit_id:
        raise InputError(_("case {case} is already at {unit}").format(case=case_id, unit=to_unit))
    old = conn.execute(select(u.c.code, u.c.name).where(u.c.id == row.unit_id)).first()
    _note(conn, row, "transfer", as_of, by, f"转学：由 {old.name}（{old.code}）转至 {unit_name}（{to_unit}）：{reason}",
          dict(unit_id=unit_id))
    return unit_name
