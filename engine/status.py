"""The date rules, defined once, as SQL expressions every query shares.

- Work done on its due date is on time.
- Overdue as of D: due < D, not done by D (no completion, or one dated after D),
  neither cancelled nor waived.
- Status is one of vocabulary.TASK_STATUSES.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, literal, or_

from .models import instance as i


def done_by(as_of: date):
    return and_(i.c.done_on.is_not(None), i.c.done_on <= as_of)


def status(as_of: date):
    return case(
        (i.c.cancelled_on.is_not(None), literal("cancelled")),
        (i.c.waived_on.is_not(None), literal("waived")),
        (done_by(as_of), case((i.c.done_on <= i.c.due, literal("done")), else_=literal("done_late"))),
        (i.c.due < as_of, literal("overdue")),
        else_=literal("open"),
    )


def is_overdue(as_of: date):
    return and_(
        i.c.due < as_of,
        or_(i.c.done_on.is_(None), i.c.done_on > as_of),
        i.c.cancelled_on.is_(None),
        i.c.waived_on.is_(None),
    )


def is_open():
    """Not completed, cancelled or waived: the instances a plan change or a closure may touch."""
    return and_(i.c.done_on.is_(None), i.c.cancelled_on.is_(None), i.c.waived_on.is_(None))
