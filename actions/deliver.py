"""One outbox message rendered with notify.yaml's templates and sent over its
channel. The engine (engine/delivery.py) decides what is sent when; this only
renders and sends."""
from __future__ import annotations

from datetime import datetime

from aidcal.engine.errors import DeliveryError
from aidcal.engine.vocabulary import ALERT
from aidcal.i18n import _

from .documents import markdown_text
from .transports import send as transport

# What a group robot accepts in one markdown message, in UTF-8 bytes (WeCom 4096, DingTalk
# 20,000), less room for the title and the markup the transport adds.
LIMITS = {"wecom": 4096 - 300, "dingtalk": 20_000 - 500}
MAX_PARTS = 5  # more parts would outrun a robot's 20 messages a minute: a summary with counts goes instead


def render(templates: dict, message, items: list[dict]) -> tuple[str, list[str], str]:
    """(subject, one line per late task, footer)."""
    recipient = items[0]["unit_name"] if message.recipient != "*" else "各单位"
    subject = templates["subject"].format(recipient=recipient, count=len(items), as_of=message.as_of)
    lines = [templates["line"].format(**x) for x in items]
    return subject, lines, templates["footer"].format(msgid=message.msgid)


def _shown(items: list[dict]) -> list[dict]:
    """Items whose text fields a robot's Markdown shows as text, never as markup."""
    keep = {"due", "period", "rung"}
    return [{k: (v if k in keep else markdown_text(v)) for k, v in x.items()} for x in items]


def parts(lines: list[str], footer: str, limit: int | None) -> list[str]:
    """Bodies within `limit` bytes each, every one ending with the footer: a digest
    too big for a robot goes out as several messages, never refused for ever."""
    if limit is None:
        return ["\n".join([*lines, "", footer])]
    room = limit - len(footer.encode()) - 2
    bodies, current, size = [], [], 0
    for line in lines:
        data = line.encode()
        if len(data) > room:  # one line alone too long: cut at a character boundary
            line = data[:room - 3].decode("utf-8", "ignore") + "…"
            data = line.encode()
        if current and size + len(data) + 1 > room:
            bodies.append(current)
            current, size = [], 0
        current.append(line)
        size += len(data) + 1
    bodies.append(current)
    return ["\n".join([*body, "", footer]) for body in bodies]


def summary(items: list[dict], footer: str) -> str:
    """A digest too big even in parts: the counts per rung and town, and where to read the list."""
    by_rung, by_town = {}, {}
    for x in items:
        by_rung[x["rung_title"]] = by_rung.get(x["rung_title"], 0) + 1
        by_town[x["town"] or "（未填乡镇）"] = by_town.get(x["town"] or "（未填乡镇）", 0) + 1
    units = len({x["unit"] for x in items})
    lines = [f"共 {len(items)} 项、{units} 个单位：" + "，".join(f"{k} {v} 项" for k, v in by_rung.items())]
    lines += [f"{town}：{n} 项" for town, n in sorted(by_town.items(), key=lambda kv: -kv[1])]
    lines += ["明细请在系统中查看（aidcal overdue）。", "", footer]
    return "\n".join(lines)


def send(channel, templates: dict, message, items: list[dict], now: datetime) -> None:
    """Render `message` and send it, in parts where a robot's size limit asks;
    raises DeliveryError when the channel refused (the whole message is retried)."""
    if message.recipient == ALERT:  # the bureau's own channel: a nightly run failed
        body = f"{message.as_of} 的夜间督办运行失败，已回滚，下次运行将补做。\n错误：{items[0]['alert']}\n消息编号：{message.msgid}"
        transport(channel.kind, channel.settings, to="", subject="【学生资助系统告警】夜间督办运行失败", body=body,
                  msgid=message.msgid, now=now)
        return
    if channel.kind in LIMITS:  # the robots render Markdown; e-mail is plain text
        items = _shown(items)
    try:
        subject, lines, footer = render(templates, message, items)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:  # checked at load; never stop the round
        raise DeliveryError(_("the templates cannot be filled in: {reason}").format(reason=exc)) from None
    bodies = parts(lines, footer, LIMITS.get(channel.kind))
    if len(bodies) > MAX_PARTS:
        bodies = [summary(items, footer)]
    to = items[0]["email"] if channel.channel.per_unit else ""
    for k, body in enumerate(bodies, 1):
        title = subject if len(bodies) == 1 else f"{subject}（{k}/{len(bodies)}）"
        transport(channel.kind, channel.settings, to=to, subject=title, body=body, msgid=message.msgid, now=now)
