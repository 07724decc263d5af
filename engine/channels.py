"""notify.yaml: where messages go and how they read, validated like calendar.yaml.

Secrets never sit in the file: it names the environment variables that hold
them (password_env, secret_env); the caller hands their values in (`secrets`),
so the engine itself never reads the environment.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from string import Formatter

from aidcal.i18n import _

from . import located
from .errors import InputError
from .escalation import Channel

KINDS = {"email": True, "wecom": False, "dingtalk": False}  # kind → per-unit digests?
CHANNEL_KEYS = {
    "email": ("name", "kind", "towns", "smtp_host", "smtp_port", "starttls", "username", "password_env", "sender"),
    "wecom": ("name", "kind", "towns", "url", "per_minute"),
    "dingtalk": ("name", "kind", "towns", "url", "secret_env", "keyword", "per_minute"),
}
REQUIRED = {"email": ("smtp_host", "sender"), "wecom": ("url",), "dingtalk": ("url",)}
TEMPLATE_KEYS = ("subject", "line", "footer")
# The fields each template may name: a digest's subject, each of its lines (one late task), its footer.
TEMPLATE_FIELDS = {
    "subject": ("recipient", "count", "as_of"),
    "line": ("unit", "unit_name", "town", "email", "contact", "task", "title", "period", "due", "rung", "rung_title"),
    "footer": ("msgid",),
}
SAMPLE = {"recipient": "濉溪中学", "count": 3, "as_of": date(2021, 5, 26), "unit": "3406200001", "unit_name": "濉溪中学",
          "town": "濉溪镇", "email": "", "contact": "王伟", "task": "system-update", "title": "更新系统数据",
          "period": "2021-05", "due": "2021-05-20", "rung": "reminder", "rung_title": "催办提醒", "msgid": "<aidcal.1.x.*@aidcal>"}
DEFAULT_TEMPLATES = {
    "subject": "【学生资助工作提醒】{recipient}：{count} 项（{as_of}）",
    "line": "{rung_title}｜{unit_name}｜{title}（{period}，截止 {due}）",
    "footer": "请在系统中完成并上传佐证材料。消息编号：{msgid}",
}


@dataclass(frozen=True)
class ChannelConfig:
    channel: Channel
    kind: str
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NotifyConfig:
    channels: tuple[ChannelConfig, ...] = ()
    templates: dict = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    alerts: str | None = None  # the bureau's own group channel, told when a nightly run fails

    def by_name(self, name: str) -> ChannelConfig | None:
        return next((c for c in self.channels if c.channel.name == name), None)


SECRET_KEYS = {"password_env": "password", "secret_env": "secret"}  # the file's name for it → the setting it fills


def read(path: str | Path | None, secrets: Mapping[str, str] = {}) -> NotifyConfig:  # noqa: B006 (never mutated)
    """The notify file; no file means no channels (steps and notices are still recorded)."""
    if path is None:
        return NotifyConfig()
    path = Path(path)
    doc = located.load(located.read_text(path), path.name)
    if not isinstance(doc, dict):
        raise InputError(_("{file}:1: the notify file must be a mapping of channels, templates and alerts").format(file=path.name))
    problems = []

    def error(line, message):
        problems.append(_("{file}:{line}: {problem}").format(file=path.name, line=line, problem=message))

    for key in doc:
        if key not in ("channels", "templates", "alerts"):
            error(located.line_of(doc, key), _("unknown key '{key}' (allowed: {allowed})").format(key=key, allowed="channels, templates, alerts"))
    channels, names = [], set()
    items = doc.get("channels") or []
    for k, item in enumerate(items):
        line = items.item_lines[k]
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            error(line, _("channel: kind must be one of {kinds}").format(kinds=_(", ").join(KINDS)))
            continue
        kind, name = item["kind"], str(item.get("name", ""))
        where = _("channel {name}: ").format(name=name or f"#{line}")
        if not name or name in names:
            error(line, where + _("name is required and must be unique"))
        names.add(name)
        for key in item:
            if key not in CHANNEL_KEYS[kind]:
                error(located.line_of(item, key), where + _("unknown key '{key}' for kind {kind} (allowed: {allowed})").format(
                    key=key, kind=kind, allowed=_(", ").join(CHANNEL_KEYS[kind])))
        for key in REQUIRED[kind]:
            if not item.get(key):
                error(line, where + _("{key} is required for kind {kind}").format(key=key, kind=kind))
        towns = tuple(item.get("towns") or ())
        settings = {k: v for k, v in item.items() if k not in ("name", "kind", "towns")}
        for named, setting in SECRET_KEYS.items():
            if named in settings:
                settings[setting] = secrets.get(str(settings[named]), "")
        channels.append(ChannelConfig(Channel(name, KINDS[kind], towns), kind, settings))
    templates = dict(DEFAULT_TEMPLATES)
    for key, value in (doc.get("templates") or {}).items():
        if key not in TEMPLATE_KEYS:
            error(located.line_of(doc["templates"], key), _("templates: unknown key '{key}' (allowed: {allowed})").format(
                key=key, allowed=_(", ").join(TEMPLATE_KEYS)))
            continue
        try:
            named = {name for _text, name, _spec, _conversion in Formatter().parse(str(value)) if name is not None}
        except ValueError as exc:
            error(located.line_of(doc["templates"], key), _("templates: {key}: {problem}").format(key=key, problem=exc))
            continue
        unknown = sorted(name for name in named if name not in TEMPLATE_FIELDS[key])
        if unknown:
            error(located.line_of(doc["templates"], key), _("templates: {key}: unknown field {field} (allowed: {allowed})").format(
                key=key, field="{" + unknown[0] + "}", allowed=_(", ").join(TEMPLATE_FIELDS[key])))
            continue
        try:  # with values of the types a digest really has, so a format spec that cannot apply is found now
            str(value).format(**SAMPLE)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
            error(located.line_of(doc["templates"], key), _("templates: {key}: cannot be filled in: {problem}").format(key=key, problem=exc))
            continue
        templates[key] = str(value)
    alerts = doc.get("alerts")
    if alerts is not None:
        named = next((c for c in channels if c.channel.name == alerts), None)
        if named is None or named.channel.per_unit:
            robots = _(", ").join(c.channel.name for c in channels if not c.channel.per_unit) or _("none")
            error(located.line_of(doc, "alerts"), _("alerts: '{alerts}' must name a group robot channel of this file ({robots})").format(
                alerts=alerts, robots=robots))
    if problems:
        raise InputError(problems)
    return NotifyConfig(tuple(channels), templates, alerts)
