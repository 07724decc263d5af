"""The acts a person calls, by name, the same whether a local command or the bureau's
server asks: each one authorised (engine/access.py) before it reads or writes, each write
audited in its own transaction (engine/audit.py), each refusal audited too. The acts
themselves live in engine/acts/, one module per concept; this is their registry.

Parameters arrive as JSON values (a server request) or Python values (a local command)
and are coerced alike; results are JSON values, so a remote command prints exactly what
the local one prints. Files travel as (name, bytes) locally and as base64 in a request,
and come back in one form, `{"name", "content": base64}`, which the shell writes.
`today` is the caller's clock: work is never recorded as done on a day still to come.
"""
from __future__ import annotations

import base64
import binascii
import importlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from aidcal.i18n import _, in_chinese

from . import access, audit, store
from .access import Actor
from .errors import InputError, Refused
from .plan import evidence_max_mb as plan_limit
from .sheets import EVIDENCE_MAX_MB


def as_date(value):
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(_("'{value}' is not a date (YYYY-MM-DD)").format(value=str(value)[:40])) from None


def as_text(value):
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 500 or not value.isprintable():
        raise InputError(_("a parameter is not a line of text (at most 500 characters, no control characters)"))
    return value


def as_count(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
        raise InputError(_("'{value}' is not a count").format(value=str(value)[:40]))
    return value


def as_id(value):
    """A row's number (a notice's): what both backends store, nothing larger."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2_147_483_647:
        raise InputError(_("'{value}' is not a row number").format(value=str(value)[:40]))
    return value


def _upload(item, relative: bool = False) -> tuple[str, bytes]:
    """One file as (name, bytes), from a local command as it is, from a request base64-encoded.
    The name is a plain file name (`relative`: a path below a sheet's folder, as the sheet
    names it); an absolute path, '..', a backslash or a control character is refused."""
    if isinstance(item, dict):
        try:
            item = (item["name"], base64.b64decode(item["content"], validate=True))
        except (KeyError, TypeError, binascii.Error):
            raise InputError(_("an upload is not a name with base64 content")) from None
    try:
        name, content = item
    except (TypeError, ValueError):
        raise InputError(_("an upload is not a name with base64 content")) from None
    if not isinstance(content, bytes | bytearray):
        raise InputError(_("an upload is not a name with base64 content"))
    parts = name.split("/") if isinstance(name, str) and relative else [name]
    if (not isinstance(name, str) or len(name) > 200 or "\\" in name or any(not ch.isprintable() for ch in name)
            or any(not part or part in (".", "..") or "/" in part for part in parts)):
        raise InputError(_("file name '{name}' must be a plain file name").format(name=str(name)[:60]))
    if not content:
        raise InputError(_("file '{name}' is empty").format(name=name))
    return name, bytes(content)


def as_files(value) -> list[tuple[str, bytes]]:
    """Evidence: plain file names, each with its content."""
    return [_upload(item) for item in value or ()]


def as_sheet(value) -> tuple[str, bytes]:
    """A sheet a person sends (CSV or XLSX), by its plain file name."""
    return _upload(value)


def as_sheet_evidence(value) -> list[tuple[str, bytes]]:
    """The evidence files a sheet names, each under the name it is given there (below the sheet's folder)."""
    return [_upload(item, relative=True) for item in value or ()]


def produced(name: str, content: bytes) -> dict:
    """A file an act hands back: the shell writes it where its user asked (actions/exports.py)."""
    return {"name": name, "content": base64.b64encode(content).decode()}


def within_limit(conn, files) -> int:
    """Refuse an upload larger than the evidence limit (calendar.yaml's, else the default), as a local file
    is refused; returns the limit in MB."""
    limit = plan_limit(conn) or EVIDENCE_MAX_MB
    for name, content in files:
        if len(content) > limit * 1024 * 1024:
            raise InputError(_("evidence file '{name}' is larger than {mb} MB").format(name=name, mb=limit))
    return limit


def sheet_within_limit(sheet: tuple[str, bytes], limit: int) -> None:
    """A sheet is held to the evidence limit too: a request never makes the server read more than a file would."""
    if len(sheet[1]) > limit * 1024 * 1024:
        raise InputError(_("sheet '{name}' is larger than {mb} MB").format(name=sheet[0], mb=limit))


@contextmanager
def received(sheet: tuple[str, bytes], files: list[tuple[str, bytes]]) -> Iterator[Path]:
    """An uploaded sheet and the files it names, as files in a private folder (0700) for as long
    as they are read, so the engine's readers (which take paths, and check evidence beside a
    sheet) read an upload exactly as they read a local file; the folder is removed after."""
    folder = Path(tempfile.mkdtemp(prefix="aidcal-upload-"))
    try:
        for name, content in [sheet, *files]:
            path = folder / name
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except (FileExistsError, IsADirectoryError, NotADirectoryError):
                raise InputError(_("file '{name}' is sent twice, or as a file and a folder").format(name=name)) from None
            with os.fdopen(descriptor, "wb") as f:
                f.write(content)
        yield folder / sheet[0]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _named_reach(conn, actor: Actor, values: dict) -> dict:
    """What an act reaches when its parameters say it: the unit and the bureau named."""
    return dict(units=[values["unit"]] if values.get("unit") else [], authority=values.get("authority"))


@dataclass(frozen=True)
class Op:
    fn: Callable  # (conn, actor, today, **params) -> a JSON value; a sealed one also takes keys=
    act: str
    params: dict[str, Callable]
    reach: Callable[..., dict] = _named_reach  # (conn, actor, values) -> access.authorise's units= and authority=
    about: Callable[[dict, dict], str] = lambda values, reached: str(values.get("unit") or values.get("authority") or "")
    prepare: Callable[..., dict] | None = None  # (engine, actor, today, values, keys) -> values: heavy reading before the write lock
    sealed: bool = False  # it seals or opens personal data (engine/sealing.py): it is handed the keys
    counted: Callable[[object], int] | None = None  # the rows written, from the result, where they are not history rows
    noted: tuple[str, ...] = ()  # parameters the audit summary keeps besides the target (the payment file's reason)
    writes: bool = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "writes", self.act not in access.READS)


OPS: dict[str, Op] = {}


def op(name: str, act: str, reach: Callable | None = None, about: Callable | None = None,
       prepare: Callable | None = None, sealed: bool = False, counted: Callable | None = None,
       noted: tuple[str, ...] = (), **params):
    """Register an act. `reach` names what it touches where its parameters do not (a notice's bureau);
    an act that learns its units only from what it reads (a sheet) authorises them itself too.
    `prepare` reads an upload before the write transaction, so no writer waits while a sheet is parsed."""
    def register(fn):
        hooks = {k: v for k, v in (("reach", reach), ("about", about), ("prepare", prepare)) if v is not None}
        OPS[name] = Op(fn, act, params, **hooks, sealed=sealed, counted=counted, noted=noted)
        return fn
    return register


ACT_MODULES = ("audit", "cases", "identification", "notices", "publicity", "tasks", "units", "users")
ACT_HOMES = {"whoami": "users", "overdue": "tasks"}  # the rest live in the module named before their dot


def spec_of(name: str) -> Op | None:
    """The act called `name`, its module (engine/acts/) imported on first use: a remote school's
    `tasks list` never loads the case workflow's code."""
    if name not in OPS:
        module = ACT_HOMES.get(name, name.split(".", 1)[0])
        if module in ACT_MODULES:
            importlib.import_module(f"aidcal.engine.acts.{module}")
    return OPS.get(name)


def call(engine, actor: Actor, name: str, params: dict, today: date, expired=None, keys=None):
    """Run one act for `actor`: refused (and the refusal audited) unless allowed. `keys`
    (engine/sealing.py) reach only the acts that seal or open personal data."""
    spec = spec_of(name)
    if spec is None:
        raise InputError(_("no such act: {name}").format(name=name))
    if not params.keys() <= spec.params.keys():
        raise InputError(_("unknown parameter: {name}").format(name=sorted(set(params) - set(spec.params))[0]))
    values = {k: spec.params[k](v) for k, v in params.items()}
    if actor.role == "unit" and not spec.writes and "unit" in spec.params and not values.get("unit") \
            and not values.get("authority"):
        values["unit"] = actor.scope  # a school that names no unit reads its own work
    entry = audit.Entry(actor.name, name, object=spec.about(values, {}))  # masked as it is appended
    sealed = {"keys": keys} if spec.sealed else {}
    try:
        if spec.prepare is not None:
            _authorise_role(engine, actor, spec)
            values = spec.prepare(engine, actor, today, values, **sealed)
        if not spec.writes:
            with store.reading(engine) as conn:
                _authorise(conn, actor, spec, values, entry)
                return spec.fn(conn, actor, today, **values, **sealed)
        entry.summary = _summary(values, spec.noted)  # before the write lock, which every writer waits for
        with audit.audited(engine, entry, expired) as conn:
            _authorise(conn, actor, spec, values, entry)
            result = spec.fn(conn, actor, today, **values, **sealed)
            if spec.counted is not None:
                entry.rows = spec.counted(result)
            return result
    except Refused as exc:
        # what was refused (as the audit log names it), and why; recorded in Chinese whoever reads
        refused = Refused(_("{act}: {why}").format(act=name, why=exc), in_chinese("{act}: {why}").format(act=name, why=exc.recorded))
        audit.refused(engine, entry, refused.recorded)
        raise refused from None


def _authorise_role(engine, actor: Actor, spec: Op) -> None:
    """Whether the role may do the act at all, before its upload is read: an auditor's sheet is never parsed."""
    if actor.role != "operator":
        with store.reading(engine) as conn:
            access.authorise(conn, actor, spec.act)


def _authorise(conn, actor: Actor, spec: Op, values: dict, entry) -> None:
    """Decide on what the act reaches; its audit entry (done or refused) names it."""
    reached = spec.reach(conn, actor, values)
    entry.object = spec.about(values, reached)
    access.authorise(conn, actor, spec.act, **reached)


SUMMARISED = ("notice", "task", "period", "as_of", "to", "signer")


def _summary(values: dict, noted: tuple[str, ...] = ()) -> str:
    """What was done, in words kept in the record: the target and outcome (audit.append masks
    personal numbers, as in a file named after a student's ID number)."""
    parts = [f"{k}={values[k]}" for k in SUMMARISED + noted if values.get(k)]
    if values.get("sheet"):
        parts.append("sheet=" + values["sheet"][0])
    for key in ("files", "evidence"):
        if values.get(key):
            parts.append("files=" + ",".join(name for name, _content in values[key]))
    return " ".join(parts)


