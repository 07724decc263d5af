"""One outbox message rendered with notify.yaml's templates and sent over its
channel. The engine (engine/delivery.py) decides what is sent when; this only
renders and sends."""
from __future__ import annotations

from datetime import datetime

from .transports import send as transport


def render(templates: dict, message, items: list[dict]) -> tuple[str, str]:
    recipient = items[0]["unit_name"] if message.recipient != "*" else "各单位"
    subject = templates["subject"].format(recipient=recipient, count=len(items), as_of=message.as_of)
    lines = [templates["line"].format(**x) for x in items]
    return subject, "\n".join(lines + ["", templates["footer"].format(msgid=message.msgid)])


def send(channel, templates: dict, message, items: list[dict], now: datetime) -> None:
    """Render `message` and send it; raises DeliveryError when the channel refused."""
    subject, body = render(templates, message, items)
    to = items[0]["email"] if channel.channel.per_unit else ""
    transport(channel.kind, channel.settings, to=to, subject=subject, body=body, msgid=message.msgid, now=now)
