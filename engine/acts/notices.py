"""Notices (通报): a bureau's documents. A supervisor reads, signs, drops from, discards and records the
rectification of its own subtree's notices; an auditor reads them; a school is refused them (its own late
work it reads through `tasks list`). Remotely the signer (`--by`, the 签发人 printed on the document) is
recorded on the notice and in the audit summary, beside the token's user, who is the entry's actor."""
from __future__ import annotations

from sqlalchemy import select

from aidcal.i18n import _

from .. import access, filters
from .. import notices as engine_notices
from .. import tasks as engine_tasks
from ..access import READ, SUPERVISE
from ..errors import InputError
from ..models import notice as n
from ..models import unit as u
from ..service import as_date, as_files, as_id, as_text, op, within_limit


def _bureau(conn, actor, values: dict) -> dict:
    """The bureau whose notices are listed: the one named, else the actor's own; a school's is its
    county's, which it may not read."""
    named = values.get("authority") and values["authority"].strip()
    if named or actor.role != "unit":
        return dict(authority=named or access.default_authority(actor))
    return dict(authority=conn.execute(select(u.c.authority).where(u.c.code == actor.scope)).scalar() or actor.scope)


def _notice(conn, actor, values: dict) -> dict:
    """A notice reaches its bureau (and, for an act on one unit's items, that unit)."""
    authority = conn.execute(select(n.c.authority_code).where(n.c.id == values["notice"])).scalar()
    if authority is None:
        raise InputError(_("notice {id} does not exist (see: aidcal notices list)").format(id=values["notice"]))
    return dict(authority=authority, units=[values["unit"]] if values.get("unit") else [])


def _of_bureau(values: dict, reached: dict) -> str:
    return reached.get("authority") or ""


ITEMS = dict(unit=as_text, task=as_text, period=as_text)


@op("notices.list", READ, reach=_bureau, about=_of_bureau, authority=as_text)
def notices_list(conn, actor, today, authority=None):
    authority = (authority and authority.strip()) or access.default_authority(actor)
    filters.check(conn, authority=authority)
    return dict(rows=engine_notices.list_notices(conn, authority), styles=engine_notices.styles(conn))


@op("notices.show", READ, reach=_notice, about=_of_bureau, notice=as_id, as_of=as_date)
def notices_show(conn, actor, today, notice, as_of=None):
    """The notice with its items as of a day (also what `notices export` writes as a document)."""
    return engine_notices.show(conn, notice, as_of or today)


@op("notices.sign", SUPERVISE, reach=_notice, about=_of_bureau, notice=as_id, signer=as_text, as_of=as_date)
def notices_sign(conn, actor, today, notice, signer, as_of=None):
    as_of = as_of or today
    number = engine_notices.sign(conn, notice, as_of, signer, today)
    return dict(number=number, as_of=as_of.isoformat(), notice=engine_notices.show(conn, notice, as_of))


@op("notices.rectify", SUPERVISE, reach=_notice, about=_of_bureau, sealed=True, notice=as_id, **ITEMS, files=as_files,
    note=as_text, as_of=as_date)
def notices_rectify(conn, actor, today, notice, unit, task=None, period=None, files=(), note=None, as_of=None, keys=None):
    as_of = engine_tasks.not_after(as_of, today)
    within_limit(conn, files)
    count = engine_notices.rectify(conn, notice, unit, task, period, files, note, as_of, actor.by, keys)
    return dict(items=count, as_of=as_of.isoformat())


@op("notices.drop", SUPERVISE, reach=_notice, about=_of_bureau, notice=as_id, **ITEMS, reason=as_text, as_of=as_date)
def notices_drop(conn, actor, today, notice, unit, reason, task=None, period=None, as_of=None):
    return dict(items=engine_notices.drop(conn, notice, unit, task, period, reason, as_of or today, actor.by))


@op("notices.discard", SUPERVISE, reach=_notice, about=_of_bureau, notice=as_id, reason=as_text, as_of=as_date)
def notices_discard(conn, actor, today, notice, reason, as_of=None):
    engine_notices.discard(conn, notice, reason, as_of or today, actor.by)
    return dict(notice=notice)
