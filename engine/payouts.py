"""Payout through the bank (代发) and the signed roster (签字发放花名册).

The payment file lists the approved cases of a programme and term that pay to
a card, full numbers (the bank needs them), including those the bank refused
last time; the bank's return moves the rows it paid to payout dated that day
and keeps the refused ones where they were, with the bank's reason, for the
next file. The signed roster is one per unit × programme × term: masked IDs, no
card, a signature column; read back, it records who signed (本人 or 监护人).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import literal, select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import idnumber, rules, sealing, sheets, store
from .cases import scope
from .errors import InputError, at_row, rows_listed
from .masking import mask_number
from .models import aid_case as c
from .models import case_document as d
from .models import case_event as e
from .models import unit as u
from .moves import apply

PAYFILE_COLUMNS = ["name", "id_number", "bank_card", "amount"]
PAYFILE_HEADERS = {"name": "姓名", "id_number": "身份证号", "bank_card": "银行卡号", "amount": "金额"}
RETURN_ALIASES = {"id_number": "id_number", "amount": "amount", "result": "result", "reason": "reason",
                  "身份证号": "id_number", "金额": "amount", "结果": "result", "原因": "reason"}
RESULTS = {"成功": True, "success": True, "失败": False, "failed": False, "failure": False}
ROSTER_COLUMNS = ["case", "unit", "name", "id_number", "grade", "class_name", "programme", "amount", "signed_by", "signed_on"]
ROSTER_HEADERS = {"case": "个案编号", "unit": "学校代码", "name": "姓名", "id_number": "身份证号", "grade": "年级",
                  "class_name": "班级", "programme": "资助项目", "amount": "金额（元）", "signed_by": "签字人（本人/监护人）",
                  "signed_on": "签字日期"}
ROSTER_ALIASES = {**{k: k for k in ROSTER_COLUMNS}, **{v: k for k, v in ROSTER_HEADERS.items()}, "签字人": "signed_by"}
SIGNERS = ("本人", "监护人")
ROSTER_DOCUMENT = "签字发放花名册"
RETURNED = "returned"  # bank_result while a return is applied: the rows the bank paid


def _pay_move(conn: Connection, programme_key: str):
    programme = rules.programme(conn, programme_key)
    spec = rules.workflow(conn, programme.workflow)
    move = next((t for t in spec.transitions if t.trigger == "pay"), None)
    if move is None:
        raise InputError(_("programme {programme} is not paid out: its workflow {workflow} has no pay move "
                           "(a fee waived at source, or a loan the bank disburses)").format(programme=programme_key, workflow=spec.name))
    return programme, spec, move


def payfile(conn: Connection, programme_key: str, term: str, unit: str | None, keys: sealing.Keys,
            authority: str | None = None) -> list[dict]:
    """The bank's payment file: approved cases paying to a card, not yet paid, with the full
    numbers the bank needs (opened here, and only here); `authority`: a supervisor's subtree only."""
    _programme, spec, move = _pay_move(conn, programme_key)
    keys = sealing.bind(conn, keys, register=False)
    rows = conn.execute(
        select(c.c.name, c.c.id_number, c.c.bank_card, c.c.amount, c.c.id_hash).where(
            *scope(unit, programme_key, term, authority=authority), c.c.workflow == spec.name, c.c.state.in_(move.sources),
            c.c.card_type.is_not(None), c.c.bank_card != "").order_by(c.c.unit_id, c.c.id)).all()
    if not rows:
        raise InputError((_("no {programme} {term} cases of {unit} are approved and waiting for payment to a card") if unit else
                          _("no {programme} {term} cases are approved and waiting for payment to a card")).format(
            programme=programme_key, term=term, unit=unit))
    return [dict(name=r[0], id_number=keys.unseal(r[1], "aid_case.id_number", row),
                 bank_card=keys.unseal(r[2], "aid_case.bank_card", row), amount=yuan(r[3]))
            for r in rows for row in (sealing.case_row(programme_key, term, r[4]),)]


def yuan(fen: int) -> Decimal:
    """Fen as yuan with two decimals, exact: 31250 → 312.50 (what a bank's file expects)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _amount_fen(raw) -> int | None:
    try:
        value = Decimal(sheets.text(raw).replace(",", "").replace("¥", ""))
    except InvalidOperation:
        return None
    fen = value * 100
    return int(fen) if fen == fen.to_integral_value() and fen > 0 else None


def bank_return(conn: Connection, path, programme_key: str, term: str, as_of: date, by: str, keys: sealing.Keys) -> dict:
    """Apply the bank's return, all or nothing: paid rows move to payout dated as_of;
    refused rows stay, with the bank's reason, and go into the next payment file. Its
    rows find their cases by the keyed hash of the ID number."""
    _programme, spec, move = _pay_move(conn, programme_key)
    keys = sealing.bind(conn, keys)
    store.lock(conn, "case-moves")  # the marker below and the move are one mover's work
    data = sheets.read(path, RETURN_ALIASES, ["id_number", "amount", "result"])
    waiting = {r[0]: tuple(r[1:]) for r in conn.execute(
        select(c.c.id_hash, c.c.id, c.c.amount, c.c.state_since, c.c.bank_reason).where(
            *scope(None, programme_key, term), c.c.workflow == spec.name, c.c.state.in_(move.sources)))}
    paid_before = {r[0]: r[1] for r in conn.execute(
        select(c.c.id_hash, c.c.paid_on).where(*scope(None, programme_key, term), c.c.paid_on.is_not(None)))}
    problems, paid, refused, seen = [], [], {}, {}
    for row_no, raw in data.rows:
        person = idnumber.normalise(sheets.text(raw.get("id_number")))
        where = at_row(data.name, row_no)
        if why := idnumber.problem(person):
            problems.append((row_no, where + _("id_number {number} {why}").format(number=mask_number(person), why=why)))
            continue
        if person in seen:
            problems.append((row_no, where + _("ID {id} is already in row {row}").format(id=mask_number(person), row=seen[person])))
            continue
        seen[person] = row_no
        hashed = keys.person(person)
        if hashed not in waiting:
            problems.append((row_no, where + (
                _("ID {id} was paid already on {day}").format(id=mask_number(person), day=paid_before[hashed]) if hashed in paid_before
                else _("ID {id} has no {programme} {term} case waiting for payment").format(
                    id=mask_number(person), programme=programme_key, term=term))))
            continue
        case_id, fen, approved_on, last_reason = waiting[hashed]
        if as_of < approved_on:
            problems.append((row_no, where + _("case {case} was approved on {approved}: a return dated {day} cannot pay it").format(
                case=case_id, approved=approved_on, day=as_of)))
        if _amount_fen(raw.get("amount")) != fen:
            problems.append((row_no, where + _("amount '{amount}' is not the case's {yuan:.2f}").format(
                amount=sheets.text(raw.get("amount"))[:12], yuan=fen / 100)))
        result = RESULTS.get(sheets.text(raw.get("result")).lower())
        reason = sheets.text(raw.get("reason"))
        if result is None:
            problems.append((row_no, where + _("result '{result}' is not allowed (成功 or 失败)").format(
                result=sheets.text(raw.get("result"))[:10])))
        elif not result and not reason:
            problems.append((row_no, where + _("a failed row needs the bank's reason (原因)")))
        elif reason and (why := sheets.field_problem("reason", reason, "name", RETURN_ALIASES)):
            problems.append((row_no, where + why))
        elif result:
            paid.append(case_id)
        elif reason != last_reason:  # the same refusal read again changes nothing
            refused.setdefault(reason, []).append(case_id)
    if problems:
        raise InputError(rows_listed(problems))
    if not data.rows:
        raise InputError(_("{file}: no rows below the header").format(file=data.name))
    for chunk in range(0, len(paid), 5_000):
        conn.execute(c.update().where(c.c.id.in_(paid[chunk:chunk + 5_000])).values(bank_result=RETURNED))
    returned = [c.c.bank_result == RETURNED, *scope(None, programme_key, term)]
    moved = sum(apply(conn, spec, move, source, returned, as_of, by, "银行代发成功") for source in move.sources) if paid else 0
    if moved != len(paid):
        raise InputError(_("{n} rows the bank paid are held by a guard of the pay move; nothing was recorded").format(n=len(paid) - moved))
    stamp = store.now()
    for reason, ids in refused.items():
        for chunk in range(0, len(ids), 5_000):
            part = c.c.id.in_(ids[chunk:chunk + 5_000])
            conn.execute(e.insert().from_select(
                ["case_id", "trigger", "from_state", "to_state", "on_date", "at", "by", "reason"],
                select(c.c.id, literal("bank_failed"), c.c.state, c.c.state, literal(as_of), literal(stamp), literal(by),
                       literal(f"银行代发失败：{reason}")).where(part)))
            conn.execute(c.update().where(part).values(bank_result="failed", bank_reason=reason))
    return dict(paid=moved, failed=sum(len(v) for v in refused.values()))


def roster(conn: Connection, unit: str, programme_key: str, term: str) -> list[dict]:
    """The signed roster of one unit × programme × term: the cases paid out (never a fee
    waived at source), masked, to sign."""
    known, _spec, _move = _pay_move(conn, programme_key)
    rows = conn.execute(
        select(c.c.id, u.c.code, c.c.name, c.c.id_masked, c.c.grade, c.c.class_name, c.c.paid, c.c.roster_signed_by,
               c.c.roster_signed_on).join(u, u.c.id == c.c.unit_id)
        .where(*scope(unit, programme_key, term), c.c.paid.is_not(None)).order_by(c.c.grade, c.c.class_name, c.c.id)).all()
    if not rows:
        raise InputError(_("unit {unit} has no paid {programme} cases for {term}: the roster lists the cases paid").format(
            unit=unit, programme=programme_key, term=term))
    return [dict(case=r[0], unit=r[1], name=r[2], id_number=r[3], grade=r[4], class_name=r[5],
                 programme=known.title, amount=yuan(r[6]), signed_by=r[7] or "",
                 signed_on=str(r[8]) if r[8] else "") for r in rows]


def roster_import(conn: Connection, path, as_of: date, by: str) -> dict:
    """Record who signed each row of a returned roster, all or nothing: each row must be a
    paid case of one unit × programme × term, once, with the name and amount it was
    exported with, signed on or after the day it was paid. The roster document is then on
    file for each signed case (archive needs it)."""
    data = sheets.read(path, ROSTER_ALIASES, ["case", "signed_by"])
    problems, signed, scopes, seen, numbers = [], {}, set(), {}, {}
    for row_no, raw in data.rows:
        text = sheets.text(raw.get("case"))
        if text.isdigit() and 1 <= int(text) <= 2_147_483_647:
            numbers[row_no] = int(text)
    cases = {r.id: r for chunk in range(0, len(numbers), 5_000) for r in conn.execute(
        select(c.c.id, c.c.name, c.c.paid, c.c.paid_on, c.c.unit_id, c.c.programme, c.c.term)
        .where(c.c.id.in_(list(numbers.values())[chunk:chunk + 5_000])))}
    for row_no, raw in data.rows:
        where = at_row(data.name, row_no)
        if row_no not in numbers:
            problems.append((row_no, where + _("case '{case}' is not a case number").format(case=sheets.text(raw.get("case"))[:12])))
            continue
        case_id, signer = numbers[row_no], sheets.text(raw.get("signed_by"))
        row = cases.get(case_id)
        if row is None:
            problems.append((row_no, where + _("case {case} does not exist").format(case=case_id)))
            continue
        if case_id in seen:
            problems.append((row_no, where + _("case {case} is already in row {row}").format(case=case_id, row=seen[case_id])))
            continue
        seen[case_id] = row_no
        name, amount = sheets.text(raw.get("name")), raw.get("amount")
        if row.paid is None:
            problems.append((row_no, where + _("case {case} was not paid: it has no line to sign").format(case=case_id)))
        elif name and name != row.name:
            problems.append((row_no, where + _("the name differs from case {case}'s: the roster was changed after export").format(
                case=case_id)))
        elif amount not in (None, "") and _amount_fen(amount) != row.paid:
            problems.append((row_no, where + _("the amount differs from the {yuan:.2f} paid to case {case}").format(
                yuan=row.paid / 100, case=case_id)))
        elif signer and signer not in SIGNERS:
            problems.append((row_no, where + _("signed_by '{signer}' is not allowed (本人 or 监护人)").format(signer=signer[:10])))
        else:
            try:
                on = sheets.parse_date(raw.get("signed_on")) or as_of
            except ValueError as exc:
                problems.append((row_no, where + _("signed_on {problem}").format(problem=exc)))
                continue
            if on > as_of:
                problems.append((row_no, where + _("signed_on {day} is after {as_of}").format(day=on, as_of=as_of)))
            elif on < row.paid_on:
                problems.append((row_no, where + _("signed_on {day} is before the payment on {paid}").format(day=on, paid=row.paid_on)))
            elif signer:
                signed.setdefault((signer, on), []).append(case_id)
            scopes.add((row.unit_id, row.programme, row.term))
    if problems:
        raise InputError(rows_listed(problems))
    if len(scopes) > 1:
        raise InputError(_("{file}: a roster is one unit × programme × term; this one mixes {n} "
                           "(a case transferred since the export belongs to its new school's roster)").format(file=data.name, n=len(scopes)))
    count = 0
    for (signer, on), ids in signed.items():
        count += conn.execute(c.update().where(c.c.id.in_(ids)).values(roster_signed_by=signer, roster_signed_on=on)).rowcount
        insert = store.insert(conn, d).from_select(
            ["case_id", "name", "recorded_on", "by"],
            select(c.c.id, literal(ROSTER_DOCUMENT), literal(on), literal(by)).where(c.c.id.in_(ids)))
        conn.execute(insert.on_conflict_do_update(index_elements=["case_id", "name"],
                                                  set_={"recorded_on": insert.excluded.recorded_on, "by": insert.excluded.by}))
    return dict(signed=count, unsigned=len(data.rows) - count)
