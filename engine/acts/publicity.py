"""The publicity list (公示名单) a school posts: exported and taken down by the school itself (or its
supervisor). The list is handed back as data and the shell writes the document, locally and remotely
alike: the engine never writes documents (actions/publicity.py does)."""
from __future__ import annotations

from .. import publicity as engine_publicity
from ..access import READ, SCHOOL
from ..service import as_date, as_text, op

LIST = dict(unit=as_text, programme=as_text, term=as_text)


@op("publicity.export", READ, **LIST)
def publicity_export(conn, actor, today, unit, programme, term):
    return dict(listing=engine_publicity.listing(conn, unit, programme, term), columns=engine_publicity.COLUMNS)


@op("publicity.takedown", SCHOOL, **LIST, as_of=as_date)
def publicity_takedown(conn, actor, today, unit, programme, term, as_of=None):
    on = as_of or today
    return dict(cases=engine_publicity.take_down(conn, unit, programme, term, on), on=on.isoformat())
