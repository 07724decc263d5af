"""Delivering the outbox: which message goes when, and what its sending means.

One short write transaction per message, so a crash loses at most the record
of one send (then sent again with the same msgid). Robots get at most
`per_minute` messages a minute (WeCom and DingTalk both allow about 20). The
engine decides; the caller hands in `send`, which renders and sends one
message (actions/deliver.py) and raises DeliveryError when the channel refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aidcal.i18n import _

from . import outbox, store
from .errors import DeliveryError


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    superseded: int = 0
    errors: list[str] = field(default_factory=list)


def deliver(engine, config, now: datetime, send, clock, sleep) -> DeliveryReport:
    """Send what is due at `now` (the caller's wall clock, UTC); sends and
    retries are recorded at `now`. Rate limits spread a delivery over minutes:
    `send` gets `now` plus the time elapsed on `clock` (DingTalk signs the
    moment of sending), and `clock` with `sleep` paces the robots."""
    report, last_sent, start, down = DeliveryReport(), {}, clock(), set()
    with store.writing(engine) as conn:
        report.superseded = outbox.supersede_completed(conn)
    with store.reading(engine) as conn:
        messages = outbox.due(conn, now)
    for message in messages:
        with store.writing(engine) as conn:
            if not outbox.claim(conn, message, now):
                continue  # another delivery has it
        channel = config.by_name(message.channel)
        with store.reading(engine) as conn:
            items = outbox.digest(conn, message.id)["items"]
        if channel is None:
            error = f"channel '{message.channel}' is not in the notify file"
        elif message.channel in down:
            error = f"channel '{message.channel}' did not answer earlier in this round; retried later"
        elif not items:
            continue  # completed since: superseded on the next pass
        else:
            per_minute = int(channel.settings.get("per_minute", 20))
            wait = last_sent.get(channel.channel.name, -1e9) + 60 / per_minute - clock()
            if channel.kind != "email" and wait > 0:
                sleep(wait)
            try:
                send(channel, config.templates, message, items, now + timedelta(seconds=clock() - start))
                last_sent[channel.channel.name] = clock()
                with store.writing(engine) as conn:
                    outbox.mark_sent(conn, message.id, now)
                report.sent += 1
                continue
            except DeliveryError as exc:
                last_sent[channel.channel.name] = clock()
                error = str(exc)
                if exc.unreachable:
                    down.add(message.channel)
        with store.writing(engine) as conn:
            outbox.mark_failed(conn, message.id, message.attempts, error, now)
        report.failed += 1
        report.errors.append(_("message {id} ({channel} → {recipient}): {error}").format(
            id=message.id, channel=message.channel, recipient=message.recipient, error=error))
    return report
