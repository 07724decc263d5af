"""The outbox's decisions; actions/ only renders and sends what this returns.

Delivery is at least once: a message is marked sent after the channel accepted
it, so a crash in between resends it, with the same msgid for the receiver to
recognise. A channel that is down only delays a message (exponential backoff,
capped); nothing is dropped.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.engine import Connection

from . import store
from .models import instance as i
from .models import occurrence as o
from .models import outbox as m
from .models import run
from .models import step as s
from .models import task as t
from .models import unit as u
from .status import is_open
from .vocabulary import ALERT, RUNG_TITLES

RETRY_FIRST = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)


def _addressed():
    """The outbox row's own steps: its run, and its unit unless it is a group digest."""
    return and_(s.c.run_id == m.c.run_id, or_(m.c.recipient == "*", u.c.code == m.c.recipient))


def supersede_completed(conn: Connection) -> int:
    """Unsent messages whose every occurrence has since been completed are not sent."""
    still_open = (exists().select_from(s.join(i, i.c.id == s.c.instance_id).join(u, u.c.id == i.c.unit_id))
                  .where(_addressed(), is_open()))
    return conn.execute(update(m).where(m.c.status.in_(("pending", "failed")), m.c.recipient != ALERT, ~still_open)
                        .values(status="superseded")).rowcount


def due(conn: Connection, now: datetime, limit: int = 500) -> list:
    return conn.execute(
        select(m.c.id, m.c.channel, m.c.recipient, m.c.msgid, m.c.attempts, m.c.next_attempt_at, run.c.as_of)
        .join(run, run.c.id == m.c.run_id)
        .where(m.c.status.in_(("pending", "failed")), m.c.next_attempt_at <= now)
        .order_by(m.c.next_attempt_at, m.c.id).limit(limit)
    ).all()


CLAIM = timedelta(minutes=10)  # a sender that dies after claiming leaves the message to be retried after this


def claim(conn: Connection, message, now: datetime) -> bool:
    """Claim a due message for one sender (compare-and-set on the retry time it was
    seen with): two deliveries at once never send the same message twice, and a
    sender killed between send and record leaves it to be sent again after CLAIM."""
    return conn.execute(update(m).where(
        m.c.id == message.id, m.c.status.in_(("pending", "failed")), m.c.next_attempt_at == message.next_attempt_at,
    ).values(next_attempt_at=now + CLAIM)).rowcount == 1


def digest(conn: Connection, message_id: int) -> dict:
    """What a message says: its run's steps for its unit (or for all units), still open ones only;
    for a failed run's alert, the run's error."""
    failed = conn.execute(select(run.c.error).join(m, m.c.run_id == run.c.id)
                          .where(m.c.id == message_id, m.c.recipient == ALERT)).first()
    if failed is not None:
        return dict(items=[dict(alert=failed.error or "")])
    rows = conn.execute(
        select(u.c.code, u.c.name, u.c.town, u.c.email, u.c.contact, t.c.key, t.c.title, o.c.period, i.c.due, s.c.rung)
        .select_from(m.join(s, s.c.run_id == m.c.run_id).join(i, i.c.id == s.c.instance_id)
                     .join(u, u.c.id == i.c.unit_id).join(o, o.c.id == i.c.occurrence_id).join(t, t.c.id == o.c.task_id))
        .where(m.c.id == message_id, or_(m.c.recipient == "*", u.c.code == m.c.recipient), is_open())
        .order_by(u.c.town, u.c.code, i.c.due, t.c.key)
    ).all()
    return dict(items=[dict(unit=r[0], unit_name=r[1], town=r[2], email=r[3], contact=r[4], task=r[5], title=r[6],
                            period=r[7], due=str(r[8]), rung=r[9], rung_title=RUNG_TITLES[r[9]]) for r in rows])


def mark_sent(conn: Connection, message_id: int, now: datetime) -> None:
    conn.execute(m.update().where(m.c.id == message_id)
                 .values(status="sent", sent_at=now, attempts=m.c.attempts + 1, last_error=None))


def mark_failed(conn: Connection, message_id: int, attempts: int, error: str, now: datetime) -> datetime:
    """Retry later: 1, 2, 4 … minutes, at most an hour apart, for as long as it takes."""
    wait = min(RETRY_FIRST * (2 ** attempts), RETRY_CAP)
    conn.execute(m.update().where(m.c.id == message_id)
                 .values(status="failed", attempts=attempts + 1, last_error=error[:500], next_attempt_at=now + wait))
    return now + wait


def list_messages(conn: Connection, status: str | None = None) -> list[dict]:
    query = select(m).order_by(m.c.id)
    if status:
        query = query.where(m.c.status == status)
    return [dict(id=r.id, run=r.run_id, channel=r.channel, recipient=r.recipient, msgid=r.msgid, status=r.status,
                 attempts=r.attempts, next_attempt_at=store.shown_moment(r.next_attempt_at),
                 sent_at=store.shown_moment(r.sent_at), last_error=r.last_error)
            for r in conn.execute(query)]


