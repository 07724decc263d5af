"""Students' aid cases, the same through the bureau's server as on its database. A school imports, lists,
publishes, hears and resolves objections, records facts, and signs the roster of its own units' cases (the
resolution of an objection is publicity work, the school's; the approval that follows stays the supervisor's).
Approving, paying, every move of an approved case, the changes after payout (stop, recover, transfer), the
bank's payment file and its return are a supervisor's, on its own subtree; an auditor reads. An act on a case
by its number reaches the unit the case is at, so no school touches another school's case by guessing numbers."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from aidcal.i18n import N_, _

from .. import access, filters, idnumber, payouts, rules, sealing, sheets, store
from .. import after_payout as after
from .. import cases as engine_cases
from .. import moves as engine_moves
from ..access import READ, SCHOOL, SUPERVISE
from ..errors import InputError, refusal
from ..models import aid_case as c
from ..models import unit as u
from ..service import as_date, as_id, as_sheet, as_text, op, received, sheet_within_limit, within_limit
from ..tasks import not_after


def as_money(value):
    """Yuan with at most two decimals, exact: a Decimal locally, its text in a request."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or not 0 < amount <= 10_000_000 or amount != amount.quantize(Decimal("0.01")):
        raise InputError(_("'{value}' is not a positive amount in yuan with at most two decimals").format(value=str(value)[:20]))
    return amount


def as_card(value):
    if value is not None and value not in ("bank", "social-security"):
        raise InputError(_("card '{card}' is not one of {allowed}").format(card=str(value)[:20], allowed="bank, social-security"))
    return value


def as_texts(value):
    if value is not None and not isinstance(value, list | tuple):
        raise InputError(_("a parameter is not a list of lines of text"))
    return [as_text(item) for item in value or ()]


def as_flag(value):
    if not isinstance(value, bool):
        raise InputError(_("a parameter is not true or false"))
    return value


def as_limit(value):
    return None if value is None else as_id(value)


def subtree(actor, unit: str | None, authority: str | None) -> str | None:
    """The bureau a list or a bulk act covers: the one named, else (no unit named) the actor's own subtree."""
    named = authority and authority.strip()
    return named or (None if unit else access.default_authority(actor))


def scope_for(act: str):
    """What a list or bulk act reaches: the unit named, else a bureau's subtree; a school names its unit.
    The role is decided first, so a school asking for a supervisor's act hears that it is one."""
    def reach(conn, actor, values: dict) -> dict:
        access.authorise(conn, actor, act)
        unit = values.get("unit")
        if actor.role == "unit" and not unit and not values.get("authority"):
            raise refusal(N_("{user} acts for unit {unit}: give --unit {unit}"), user=actor.name, unit=actor.scope)
        return dict(units=[unit] if unit else [], authority=subtree(actor, unit, values.get("authority")))
    return reach


def of_scope(values: dict, reached: dict) -> str:
    return " ".join(x for x in (values.get("unit") or reached.get("authority"), values.get("programme"), values.get("term")) if x)


def _case(conn, actor, values: dict) -> dict:
    """A case reaches the unit it is at (and a unit the act names: the paying school, the new one)."""
    code = conn.execute(select(u.c.code).join(c, c.c.unit_id == u.c.id).where(c.c.id == values["case"])).scalar()
    if code is None:
        raise InputError(_("case {case} does not exist").format(case=values["case"]))
    return dict(units=[code, *(values[k] for k in ("paying_unit", "to_unit") if values.get(k))], authority=None)


def _of_case(values: dict, reached: dict) -> str:
    return f"case {values['case']}" if values.get("case") else of_scope(values, reached)


def units_of_cases(conn, where) -> list[str]:
    return list(conn.execute(select(u.c.code).join(c, c.c.unit_id == u.c.id).where(where).distinct()).scalars())


def _case_numbers(path, aliases: dict, required: list[str]) -> list[int]:
    data = sheets.read(path, aliases, required)
    numbers = (sheets.text(raw.get("case")) for _row, raw in data.rows)
    return [int(n) for n in numbers if n.isdigit() and 1 <= int(n) <= 2_147_483_647]


def authorise_cases(conn, actor, act: str, path, aliases: dict, required: list[str]) -> None:
    """Every case a sheet names must be at a unit within the actor's reach."""
    def named():
        ids = _case_numbers(path, aliases, required)
        return {code for start in range(0, len(ids), 5_000) for code in units_of_cases(conn, c.c.id.in_(ids[start:start + 5_000]))}
    access.authorise_named(conn, actor, act, named)


def units_named(path, aliases: dict, required: list[str]) -> set[str]:
    """The unit codes a sheet's rows name, the sheet streamed."""
    _name, _columns, rows = sheets.stream(path, aliases, required)
    return {sheets.text(raw.get("unit")) for _row, raw in rows}


def _sheet_checked(conn, sheet) -> None:
    sheet_within_limit(sheet, within_limit(conn, ()))


def _read_cases(engine, actor, today, values: dict, keys=None) -> dict:
    """Before the write lock: the sheet's units authorised (a school imports only its own units' cases), then
    every row checked as a local file is."""
    with store.reading(engine) as conn:
        _sheet_checked(conn, values["sheet"])
        with received(values["sheet"], ()) as path:
            access.authorise_named(conn, actor, SCHOOL, lambda: units_named(path, engine_cases.ALIASES, engine_cases.COLUMNS[:8]))
            engine_cases.check_file(conn, path, values["programme"], values["term"], values.get("as_of") or today, keys)
    return values


@op("cases.import", SCHOOL, about=lambda values, reached: values["sheet"][0], prepare=_read_cases, sealed=True,
    sheet=as_sheet, programme=as_text, term=as_text, as_of=as_date)
def cases_import(conn, actor, today, sheet, programme, term, as_of=None, keys=None):
    with received(sheet, ()) as path:
        known = rules.programme(conn, programme)
        return dict(imported=engine_cases.import_cases(conn, path, known, term, as_of or today, actor.by, keys))


LIST = dict(authority=as_text, unit=as_text, programme=as_text, term=as_text)


@op("cases.list", READ, reach=scope_for(READ), about=of_scope, sealed=True, **LIST, state=as_text, held_by=as_text,
    limit=as_limit, as_of=as_date)
def cases_list(conn, actor, today, authority=None, unit=None, programme=None, term=None, state=None, held_by=None,
               limit=None, as_of=None, keys=None):
    """Masked: the stored masked forms of ID, phone and card, never the sealed numbers."""
    authority = subtree(actor, unit, authority)
    filters.check(conn, authority=authority, unit=unit, programme=programme, term=term, state=state, held_by=held_by)
    where = engine_cases.scope(unit, programme, term, state, authority)
    if held_by:
        where.append(engine_cases.held_by(conn, held_by, as_of or today))
    return engine_cases.list_cases(conn, where, keys, limit)


def supervisors_move(spec, move, source: str) -> bool:
    """Approving (the move that checks the amount against the standard), paying, and any move of an approved case."""
    return "amount_matches_standard" in move.guards or "record_payment" in move.effects or source in spec.approved_states()


def _advance_reach(conn, actor, values: dict) -> dict:
    return _case(conn, actor, values) if values.get("case") else scope_for(SCHOOL)(conn, actor, values)


@op("cases.advance", SCHOOL, reach=_advance_reach, about=_of_case, case=as_id, **LIST, source=as_text, dest=as_text,
    as_of=as_date)
def cases_advance(conn, actor, today, dest, case=None, authority=None, unit=None, programme=None, term=None, source=None,
                  as_of=None):
    """One case or a scope's; a supervisor's move (approving, paying, after approval) asks for a supervisor."""
    as_of = as_of or today
    bulk = (programme, term, source)
    if not (case is not None and not any((unit, authority, *bulk)) or case is None and all(bulk)):
        raise InputError(_("give CASE, or --programme, --term and --from (and --unit for one unit), not both"))
    if case is not None:
        row = engine_moves.case_row(conn, case)
        spec = rules.workflow(conn, row.workflow)
        if any(supervisors_move(spec, move, row.state) for move in spec.moves(row.state, dest)):
            access.authorise(conn, actor, SUPERVISE, **_case(conn, actor, dict(case=case)))
        trigger = engine_moves.advance_one(conn, case, dest, as_of, actor.by)
        return {"moved": 1, "held": {}, "possible_from": {}, "trigger": trigger}
    authority = subtree(actor, unit, authority)
    filters.check(conn, authority=authority, unit=unit, programme=programme, term=term)
    spec = rules.workflow(conn, rules.programme(conn, programme).workflow)
    if any(supervisors_move(spec, move, source) for move in spec.moves(source, dest)):
        access.authorise(conn, actor, SUPERVISE, units=[unit] if unit else [], authority=authority)
    return engine_moves.advance_bulk(conn, unit=unit, programme=programme, term=term, source=source, dest=dest, as_of=as_of,
                                     by=actor.by, authority=authority)


ONE = dict(reach=_case, about=_of_case, case=as_id, as_of=as_date)


@op("cases.object", SCHOOL, **ONE, reason=as_text)
def cases_object(conn, actor, today, case, reason, as_of=None):
    engine_moves.object_to(conn, case, reason, as_of or today, actor.by)
    return dict(case=case)


@op("cases.resolve", SCHOOL, **ONE, upheld=as_flag, note=as_text, level=as_text)
def cases_resolve(conn, actor, today, case, upheld, note, level=None, as_of=None):
    return dict(outcome=engine_moves.resolve(conn, case, upheld, note, as_of or today, actor.by, level))


def _record_reach(conn, actor, values: dict) -> dict:
    return _case(conn, actor, values) if values.get("case") else dict(units=[], authority=None)


@op("cases.record", SCHOOL, reach=_record_reach, about=lambda values, reached: _of_case(values, reached) or values.get("sheet", ("",))[0],
    sealed=True, case=as_id, sheet=as_sheet, callback_outcome=as_text, documents=as_texts, card=as_card,
    cash_approval=as_text, bank_card=as_text, amount=as_money, reason=as_text, as_of=as_date)
def cases_record(conn, actor, today, case=None, sheet=None, callback_outcome=None, documents=(), card=None, cash_approval=None,
                 bank_card=None, amount=None, reason=None, as_of=None, keys=None):
    """One case's facts, or a sheet's, every case of which must be within the actor's reach."""
    as_of = as_of or today
    if (case is None) == (sheet is None):
        raise InputError(_("give CASE or --file FILE"))
    if sheet is None:
        engine_cases.record(conn, case, as_of, actor.by, callback_outcome=callback_outcome, documents=documents, card=card,
                            cash_approval=cash_approval, amount_yuan=amount, reason=reason, bank_card=bank_card,
                            keys=keys if bank_card else None)
        return dict(recorded=1)
    _sheet_checked(conn, sheet)
    with received(sheet, ()) as path:
        columns = {k: k for k in engine_cases.SHEET_COLUMNS}
        authorise_cases(conn, actor, SCHOOL, path, columns, ["case"])
        return dict(recorded=engine_cases.record_sheet(conn, path, as_of, actor.by))


@op("cases.history", READ, reach=_case, about=_of_case, case=as_id)
def cases_history(conn, actor, today, case):
    return engine_cases.history(conn, case)


@op("cases.stop", SUPERVISE, **ONE, kind=as_text, paying_unit=as_text, reason=as_text)
def cases_stop(conn, actor, today, case, kind, paying_unit, reason, as_of=None):
    return dict(state=after.stop(conn, case, kind, paying_unit, reason, as_of or today, actor.by))


@op("cases.recover", SUPERVISE, **ONE, amount=as_money, on=as_date, reason=as_text)
def cases_recover(conn, actor, today, case, amount, on, reason, as_of=None):
    return dict(state=after.recover(conn, case, amount, on, reason, as_of or today, actor.by))


@op("cases.transfer", SUPERVISE, **ONE, to_unit=as_text, reason=as_text)
def cases_transfer(conn, actor, today, case, to_unit, reason, as_of=None):
    return dict(name=after.transfer(conn, case, to_unit, reason, as_of or today, actor.by))


def _rows_out(rows: list[dict]) -> list[dict]:
    """Amounts as their exact text (312.50): the shell writes the file with them as Decimals again."""
    return [{**row, "amount": str(row["amount"])} for row in rows]


@op("cases.payfile.export", SUPERVISE, reach=scope_for(SUPERVISE), about=of_scope, sealed=True, counted=lambda r: len(r["rows"]),
    noted=("reason",), unit=as_text, programme=as_text, term=as_text, reason=as_text)
def payfile_export(conn, actor, today, programme, term, reason, unit=None, keys=None):
    """The one way full numbers leave: a supervisor's, with its reason in the audit entry (never the numbers)."""
    authority = subtree(actor, unit, None)
    filters.check(conn, unit=unit, programme=programme, term=term)
    rows = payouts.payfile(conn, programme, term, unit, keys, authority=authority)
    return dict(rows=_rows_out(rows), columns=payouts.PAYFILE_COLUMNS, headers=payouts.PAYFILE_HEADERS)


@op("cases.bankreturn.import", SUPERVISE, about=lambda values, reached: f"{values['programme']} {values['term']}", sealed=True,
    sheet=as_sheet, programme=as_text, term=as_text, as_of=as_date)
def bankreturn_import(conn, actor, today, sheet, programme, term, as_of=None, keys=None):
    """The cases a return names (by keyed hash of the ID number) must be within the supervisor's subtree."""
    as_of = not_after(as_of, today)
    _sheet_checked(conn, sheet)
    with received(sheet, ()) as path:
        def named():
            data = sheets.read(path, payouts.RETURN_ALIASES, ["id_number", "amount", "result"])
            bound = sealing.bind(conn, keys, register=False)
            people = [bound.person(number) for _row, raw in data.rows
                      for number in (idnumber.normalise(sheets.text(raw.get("id_number"))),) if not idnumber.problem(number)]
            return {code for start in range(0, len(people), 5_000) for code in units_of_cases(
                conn, (c.c.programme == programme) & (c.c.term == term) & c.c.id_hash.in_(people[start:start + 5_000]))}
        access.authorise_named(conn, actor, SUPERVISE, named)
        return payouts.bank_return(conn, path, programme, term, as_of, actor.by, keys)


ROSTER = dict(unit=as_text, programme=as_text, term=as_text)


@op("cases.roster.export", READ, about=of_scope, **ROSTER)
def roster_export(conn, actor, today, unit, programme, term):
    """Masked IDs, no card: the roster a school prints for signatures."""
    filters.check(conn, unit=unit, programme=programme, term=term)
    return dict(rows=_rows_out(payouts.roster(conn, unit, programme, term)), columns=payouts.ROSTER_COLUMNS,
                headers=payouts.ROSTER_HEADERS)


@op("cases.roster.import", SCHOOL, about=lambda values, reached: values["sheet"][0], sheet=as_sheet, as_of=as_date)
def roster_import(conn, actor, today, sheet, as_of=None):
    """Every case the signed roster names must be within the actor's reach."""
    _sheet_checked(conn, sheet)
    with received(sheet, ()) as path:
        authorise_cases(conn, actor, SCHOOL, path, payouts.ROSTER_ALIASES, ["case", "signed_by"])
        return payouts.roster_import(conn, path, as_of or today, actor.by)
