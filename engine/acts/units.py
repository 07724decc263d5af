"""The roster as its readers see it: a supervisor or auditor its own subtree, a school itself and
the units it is the parent of."""
from __future__ import annotations

from .. import access, filters
from .. import units as engine_units
from ..access import READ
from ..service import as_text, op


@op("units.list", READ, town=as_text, unit_type=as_text, authority=as_text)
def units_list(conn, actor, today, town=None, unit_type=None, authority=None):
    authority = (authority and authority.strip()) or access.default_authority(actor)
    filters.check(conn, town=town, unit_type=unit_type, authority=authority)
    rows = engine_units.list_units(conn, town=town, unit_type=unit_type, authority=authority)
    if actor.role == "unit":
        rows = [r for r in rows if actor.scope in (r["code"], r["parent"])]
    return dict(columns=engine_units.LIST_COLUMNS, rows=rows)
