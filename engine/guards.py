"""Guards and effects of case transitions, each written once as SQL.

A guard is a boolean SQL expression over the case row, so the same predicate
moves one case (`WHERE id = :case AND guard`) or a million (`WHERE scope AND
guard`) and counts the held ones. A guard may also say from which date its
move becomes possible. An effect is the columns a transition sets.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, exists, func, literal, or_, select

from .models import aid_case as c
from .models import case_document as d
from .models import identification as ident


def identified(spec, as_of: date):
    """The programme needs no identification, or the student's identification for the
    school year is linked and its signed pledge (承诺书) is on file (教财〔2018〕16号)."""
    return or_(~c.c.needs_identification,
               exists().where(ident.c.id == c.c.identification_id, ident.c.pledge))


def publicity_ended(spec, as_of: date):
    """Approval from the first working day after the publicity's last day."""
    return and_(c.c.approvable_from.is_not(None), c.c.approvable_from <= as_of)


def no_open_objection(spec, as_of: date):
    return ~c.c.objection_open


def amount_matches_standard(spec, as_of: date):
    return or_(c.c.amount == c.c.standard, c.c.override_reason.is_not(None))


def has_payment_route(spec, as_of: date):
    """To the student's own bank or social-security card, or cash with a recorded approval."""
    return or_(and_(c.c.card_type.is_not(None), c.c.bank_card != ""), c.c.cash_approval.is_not(None))


def callback_recorded(spec, as_of: date):
    return and_(c.c.callback_outcome.is_not(None), c.c.phone != "")


def documents_complete(spec, as_of: date):
    if not spec.documents:
        return literal(True)
    recorded = (select(func.count(func.distinct(d.c.name)))
                .where(d.c.case_id == c.c.id, d.c.name.in_(spec.documents)).scalar_subquery())
    return recorded == len(spec.documents)


GUARDS = {f.__name__: f for f in (identified, publicity_ended, no_open_objection, amount_matches_standard, has_payment_route,
                                  callback_recorded, documents_complete)}
POSSIBLE_FROM = {"publicity_ended": c.c.approvable_from}  # the date a held move becomes possible
GUARD_TITLES = {
    "identified": "未完成本学年家庭经济困难认定（或无承诺书）",
    "publicity_ended": "公示期未满", "no_open_objection": "存在未处理的异议", "amount_matches_standard": "金额与标准不符且无说明",
    "has_payment_route": "无银行卡/社保卡且无现金发放审批", "callback_recorded": "未记录回访结果或电话无效",
    "documents_complete": "归档材料不全",
}


def start_publicity(spec, as_of: date, cal) -> dict:
    """Posted on as_of for N working days (counting the posting day where local
    practice does, if it is a working day); approval from the next working day."""
    counts_today = spec.count_posting_day and cal.is_workday(as_of)
    until = cal.add_workdays(as_of, spec.publicity_days - 1) if counts_today else cal.add_workdays(as_of, spec.publicity_days)
    return dict(publicity_from=as_of, publicity_until=until, approvable_from=cal.add_workdays(until, 1),
                publicity_down_on=None)  # a restarted publicity is posted again


def open_objection(spec, as_of: date, cal) -> dict:
    return dict(objection_open=True)


def close_objection(spec, as_of: date, cal) -> dict:
    return dict(objection_open=False)


def record_payment(spec, as_of: date, cal) -> dict:
    """Paid (or waived at source) in full: the case's amount, on as_of; a bank refusal is settled."""
    return dict(paid=c.c.amount, paid_on=as_of, bank_result=None, bank_reason=None)


EFFECTS = {f.__name__: f for f in (start_publicity, open_objection, close_objection, record_payment)}
