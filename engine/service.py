"""The acts a person calls, by name, the same whether a local command or the bureau's
server asks: each one authorised (engine/access.py) before it reads or writes, each write
audited in its own transaction (engine/audit.py), each refusal audited too.

Parameters arrive as JSON values (a server request) or Python values (a local command)
and are coerced alike; results are JSON values, so a remote command prints exactly what
the local one prints. `today` is the caller's clock: work is never recorded as done on a
day still to come.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from aidcal.i18n import _

from . import access, audit, filters, store
from . import overdue as od
from . import tasks as engine_tasks
from .access import READ, SCHOOL, SUPERVISE, Actor
from .errors import InputError, Refused
from .plan import evidence_max_mb as plan_limit
from .sheets import EVIDENCE_MAX_MB
from .vocabulary import TASK_STATUSES


def _date(value):
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(_("'{value}' is not a date (YYYY-MM-DD)").format(value=str(value)[:40])) from None


def _text(value):
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 500 or any(not ch.isprintable() for ch in value):
        raise InputError(_("a parameter is not a line of text (at most 500 characters, no control characters)"))
    return value


def _count(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
        raise InputError(_("'{value}' is not a count").format(value=str(value)[:40]))
    return value


def _files(value):
    """Evidence as (name, bytes): from a local command as it is, from a request base64-encoded.
    A name is a plain file name: a path, or a control character, is refused."""
    files = []
    for item in value or ():
        if isinstance(item, dict):
            try:
                item = (item["name"], base64.b64decode(item["content"], validate=True))
            except (KeyError, TypeError, binascii.Error):
                raise InputError(_("an evidence upload is not a name with base64 content")) from None
        name, content = item
        if (not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", "..")
                or any(not ch.isprintable() for ch in name) or len(name) > 200):
            raise InputError(_("evidence name '{name}' must be a plain file name").format(name=str(name)[:60]))
        if not content:
            raise InputError(_("evidence file '{name}' is empty").format(name=name))
        files.append((name, bytes(content)))
    return files


@dataclass(frozen=True)
class Op:
    fn: Callable  # (conn, actor, today, **params) -> a JSON value; a sealed one also takes keys=
    act: str
    params: dict[str, Callable]
    units: Callable[[dict], list] = field(default=lambda p: [p["unit"]] if p.get("unit") else [])
    sealed: bool = False  # it seals or opens personal data (engine/sealing.py): it is handed the keys

    @property
    def writes(self) -> bool:
        return self.act != READ


OPS: dict[str, Op] = {}


def op(name: str, act: str, sealed: bool = False, **params):
    def register(fn):
        OPS[name] = Op(fn, act, params, sealed=sealed)
        return fn
    return register


@op("whoami", READ)
def whoami(conn, actor, today):
    return dict(name=actor.name, role=actor.role, scope=actor.scope)


TARGET = dict(unit=_text, task=_text, period=_text, plan=_text)


@op("tasks.list", READ, unit=_text, month=_text, status=_text, plan=_text, as_of=_date)
def tasks_list(conn, actor, today, unit, month=None, status=None, plan=None, as_of=None):
    as_of = as_of or today
    if status is not None and status not in TASK_STATUSES:
        raise InputError(_("status '{status}' is not one of {allowed}").format(status=status, allowed=", ".join(TASK_STATUSES)))
    month = filters.month(month, as_of)
    filters.check(conn, unit=unit, plan=plan)
    return dict(as_of=as_of.isoformat(), rows=engine_tasks.list_tasks(conn, unit, as_of, month, status, plan))


@op("tasks.done", SCHOOL, sealed=True, **TARGET, as_of=_date, note=_text, files=_files)
def tasks_done(conn, actor, today, unit, task, period=None, plan=None, as_of=None, note=None, files=(), keys=None):
    as_of = engine_tasks.not_after(as_of, today)
    limit = plan_limit(conn) or EVIDENCE_MAX_MB
    for name, content in files:  # an upload is checked as a local file is
        if len(content) > limit * 1024 * 1024:
            raise InputError(_("evidence file '{name}' is larger than {mb} MB").format(name=name, mb=limit))
    return engine_tasks.done(conn, unit, task, period, as_of, actor.by, files=files, note=note, plan=plan,
                             keys=keys if files else None)


@op("tasks.reopen", SCHOOL, **TARGET, reason=_text, as_of=_date)
def tasks_reopen(conn, actor, today, unit, task, reason, period=None, plan=None, as_of=None):
    return engine_tasks.reopen(conn, unit, task, period, reason, as_of or today, actor.by, plan=plan)


@op("tasks.extend", SUPERVISE, **TARGET, to=_date, reason=_text, as_of=_date)
def tasks_extend(conn, actor, today, unit, task, to, reason, period=None, plan=None, as_of=None):
    return engine_tasks.extend(conn, unit, task, period, to, reason, as_of or today, actor.by, plan=plan)


@op("tasks.waive", SUPERVISE, **TARGET, reason=_text, as_of=_date)
def tasks_waive(conn, actor, today, unit, task, reason, period=None, plan=None, as_of=None):
    return engine_tasks.waive(conn, unit, task, period, reason, as_of or today, actor.by, plan=plan)


@op("tasks.history", READ, **TARGET)
def tasks_history(conn, actor, today, unit, task, period=None, plan=None):
    return engine_tasks.history(conn, unit, task, period, plan)


@op("overdue", READ, as_of=_date, authority=_text, plan=_text, unit=_text, town=_text, unit_type=_text, year=_count,
    limit=_count, table=bool)
def overdue(conn, actor, today, as_of=None, authority=None, plan=None, unit=None, town=None, unit_type=None,
            year=None, limit=None, table=False):
    """The overdue rows (all of them, or the table's `limit`) and, for the table, the summary.
    A supervisor or auditor who names no bureau sees its own subtree; a unit only itself."""
    as_of = as_of or today
    if actor.role == "unit" and not unit:
        raise Refused(_("{user} acts for unit {unit}: give --unit {unit}").format(user=actor.name, unit=actor.scope))
    authority = (authority and authority.strip()) or access.default_authority(actor)
    chosen = dict(authority=authority, plan=plan and plan.strip(), unit=unit, town=town, unit_type=unit_type, year=year)
    filters.check(conn, **chosen)
    result = dict(as_of=as_of.isoformat(), columns=od.COLUMNS, rows=od.rows(conn, as_of, limit=limit if table else None, **chosen))
    if table:
        result["summary_columns"], result["summary"] = od.summary(conn, as_of, **chosen)
    return result


def call(engine, actor: Actor, name: str, params: dict, today: date, expired=None, keys=None):
    """Run one act for `actor`: refused (and the refusal audited) unless allowed. `keys`
    (engine/sealing.py) reach only the acts that seal or open personal data."""
    spec = OPS.get(name)
    if spec is None:
        raise InputError(_("no such act: {name}").format(name=name))
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        raise InputError(_("unknown parameter: {name}").format(name=unknown[0]))
    values = {k: spec.params[k](v) for k, v in params.items()}
    entry = audit.Entry(actor.name, name, object=str(values.get("unit") or values.get("authority") or ""))
    sealed = {"keys": keys} if spec.sealed else {}
    try:
        if not spec.writes:
            with store.reading(engine) as conn:
                _authorise(conn, actor, spec, values)
                return spec.fn(conn, actor, today, **values, **sealed)
        with audit.audited(engine, entry, expired) as conn:
            _authorise(conn, actor, spec, values)
            result = spec.fn(conn, actor, today, **values, **sealed)
            entry.summary = _summary(values, result)
            return result
    except Refused as exc:
        audit.refused(engine, entry, str(exc))
        raise


def _authorise(conn, actor: Actor, spec: Op, values: dict) -> None:
    access.authorise(conn, actor, spec.act, units=spec.units(values), authority=values.get("authority"))


def _summary(values: dict, result) -> str:
    """What was done, in words kept in the record: the target and outcome, never personal numbers."""
    parts = [f"{k}={values[k]}" for k in ("task", "period", "as_of", "to") if values.get(k)]
    if values.get("files"):
        parts.append("files=" + ",".join(name for name, _content in values["files"]))
    return " ".join(parts)
