"""Hardship identification (认定): a school's own work (import, list, a term's review) on its own units'
students, a supervisor's on its subtree, read by an auditor; the categories it opens are sealed at rest."""
from __future__ import annotations

from sqlalchemy import select

from aidcal.i18n import _

from .. import access, filters, store
from .. import identification as ident
from ..access import READ, SCHOOL
from ..errors import InputError
from ..models import identification as it
from ..models import unit as u
from ..service import as_count, as_date, as_id, as_sheet, as_text, op, received, sheet_within_limit, within_limit
from .cases import of_scope, scope_for, subtree, units_named


def _read_identifications(engine, actor, today, values: dict, keys=None) -> dict:
    """Before the write lock: the sheet's units authorised, then every row checked as a local file is."""
    with store.reading(engine) as conn:
        sheet_within_limit(values["sheet"], within_limit(conn, ()))
        with received(values["sheet"], ()) as path:
            access.authorise_named(conn, actor, SCHOOL, lambda: units_named(path, ident.ALIASES, ident.COLUMNS))
            ident.check_file(conn, path, values["year"], values.get("as_of") or today, keys)
    return values


@op("identification.import", SCHOOL, about=lambda values, reached: values["sheet"][0], prepare=_read_identifications,
    sealed=True, counted=lambda result: result["imported"], sheet=as_sheet, year=as_count, as_of=as_date)
def identification_import(conn, actor, today, sheet, year, as_of=None, keys=None):
    with received(sheet, ()) as path:
        return ident.write_file(conn, path, year, as_of or today, actor.by, keys)


@op("identification.list", READ, reach=scope_for(READ), about=of_scope, sealed=True, unit=as_text, year=as_count)
def identification_list(conn, actor, today, unit=None, year=None, keys=None):
    """Masked ID numbers; the categories opened for the list."""
    filters.check(conn, unit=unit)
    rows = ident.list_identifications(conn, unit, year, keys, authority=subtree(actor, unit, None))
    return dict(rows=rows, columns=ident.LIST_COLUMNS)


def _identification(conn, actor, values: dict) -> dict:
    """An identification reaches the unit of its student."""
    code = conn.execute(select(u.c.code).join(it, it.c.unit_id == u.c.id).where(it.c.id == values["id"])).scalar()
    if code is None:
        raise InputError(_("identification {id} does not exist (see: aidcal identification list)").format(id=values["id"]))
    return dict(units=[code], authority=None)


@op("identification.review", SCHOOL, reach=_identification, about=lambda values, reached: f"identification {values['id']}",
    sealed=True, id=as_id, level=as_text, categories=as_text, reason=as_text, as_of=as_date)
def identification_review(conn, actor, today, id, level, reason, categories=None, as_of=None, keys=None):
    return ident.review(conn, id, level, categories, reason, as_of or today, actor.by, keys)
