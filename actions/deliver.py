"""Deliver the outbox: render each due message and send it, one short write
transaction per message so a crash loses at most the record of one send (which
is then sent again with the same msgid). Robots get at most `per_minute`
messages a minute (both WeCom and DingTalk allow about 20)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from engine import outbox, store
from engine.escalation import RUNG_TITLES

from .transports import DeliveryError, send


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    superseded: int = 0
    errors: list[str] = field(default_factory=list)


def render(templates: dict, message, items: list[dict]) -> tuple[str, str]:
    recipient = items[0]["unit_name"] if message.recipient != "*" else "各单位"
    subject = templates["subject"].format(recipient=recipient, count=len(items), as_of=message.as_of)
    lines = [templates["line"].format(rung_title=RUNG_TITLES[x["rung"]], **x) for x in items]
    return subject, "\n".join(lines + ["", templates["footer"].format(msgid=message.msgid)])


def deliver(engine, config, now=None, clock=time.monotonic, sleep=time.sleep) -> DeliveryReport:
    report, last_sent = DeliveryReport(), {}
    with store.writing(engine) as conn:
        report.superseded = outbox.supersede_completed(conn)
    with store.reading(engine) as conn:
        messages = outbox.due(conn, now or datetime.now(timezone.utc))
    for message in messages:
        channel = config.by_name(message.channel)
        with store.reading(engine) as conn:
            items = outbox.digest(conn, message.id)["items"]
        stamp = now or datetime.now(timezone.utc)
        if channel is None:
            error = f"channel '{message.channel}' is not in the notify file"
        elif not items:
            continue  # completed since: superseded on the next pass
        else:
            per_minute = int(channel.settings.get("per_minute", 20))
            wait = last_sent.get(channel.channel.name, -1e9) + 60 / per_minute - clock()
            if channel.kind != "email" and wait > 0:
                sleep(wait)
            subject, body = render(config.templates, message, items)
            to = items[0]["email"] if channel.channel.per_unit else ""
            try:
                send(channel.kind, channel.settings, to=to, subject=subject, body=body, msgid=message.msgid)
                last_sent[channel.channel.name] = clock()
                with store.writing(engine) as conn:
                    outbox.mark_sent(conn, message.id, stamp)
                report.sent += 1
                continue
            except DeliveryError as exc:
                last_sent[channel.channel.name] = clock()
                error = str(exc)
        with store.writing(engine) as conn:
            outbox.mark_failed(conn, message.id, message.attempts, error, stamp)
        report.failed += 1
        report.errors.append(f"message {message.id} ({message.channel} → {message.recipient}): {error}")
    return report
