"""Filters that match nothing because the value does not exist are errors.

A supervisor who types `--town 韩材镇` for 韩村镇 must not read an empty list as
"no one is late". Each check asks the database whether the value exists at all
and, when it does not, names it with the allowed or nearest values. A value
that exists but has nothing to show is not checked here: it gives an empty
result, which is the truth.
"""
from __future__ import annotations

import difflib
import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import authorities, rules
from .errors import InputError
from .guards import GUARDS
from .models import plan as p
from .models import unit as u
from .programmes import term_order
from .unit_types import BUREAU_MASK, allowed, mask_of, type_key

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _nearest(value: str, candidates) -> str:
    candidates = sorted({str(c) for c in candidates if c})
    close = difflib.get_close_matches(str(value), candidates, n=3, cutoff=0.5)
    if close:
        return _("nearest: {values}").format(values=_(", ").join(close))
    if not candidates:
        return _("none known")
    return _("known: {values}").format(values=_(", ").join(candidates[:10]) + (" …" if len(candidates) > 10 else ""))


def month(value: str | None, as_of: date) -> str | None:
    """--month as YYYY-MM or a month number 1–12 of the as-of year."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit() and 1 <= int(value) <= 12:
        return f"{as_of.year}-{int(value):02d}"
    if not MONTH_RE.match(value):
        raise InputError(_("--month '{value}' is not a month (YYYY-MM, e.g. 2021-05, or 1–12)").format(value=value))
    return value


def check(conn: Connection, *, unit: str | None = None, town: str | None = None, unit_type: str | None = None,
          authority: str | None = None, plan: str | None = None, year: int | None = None,
          programme: str | None = None, term: str | None = None, state: str | None = None,
          held_by: str | None = None) -> None:
    """Raise InputError for every given filter value that does not exist; one line each."""
    problems = []
    if unit is not None and conn.execute(select(u.c.id).where(u.c.code == unit)).first() is None:
        problems.append(_("--unit '{unit}' is not in the roster ({near})").format(
            unit=unit, near=_nearest(unit, conn.execute(select(u.c.code)).scalars())))
    if town is not None and conn.execute(select(u.c.id).where(u.c.town == town).limit(1)).first() is None:
        towns = conn.execute(select(u.c.town).distinct()).scalars()
        problems.append(_("--town '{town}': no unit is in that town ({near})").format(town=town, near=_nearest(town, towns)))
    if unit_type is not None:
        key = type_key(unit_type)
        if key is None:
            problems.append(_("--type '{type}' is not a unit type (allowed: {allowed})").format(type=unit_type, allowed=allowed()))
        elif conn.execute(select(u.c.id).where(u.c.type_mask.op("&")(mask_of([key])) != 0).limit(1)).first() is None:
            problems.append(_("--type '{type}': no unit of that type is in the roster").format(type=unit_type))
    for option, code in (("--authority", authority), ("--plan", plan)):
        if code is None:
            continue
        code = authorities.check(code, option)
        plans = conn.execute(select(p.c.authority_code).distinct()).scalars().all()
        if option == "--plan" and code not in plans:
            problems.append(_("--plan '{code}': no plan of that authority is loaded ({near})").format(code=code, near=_nearest(code, plans)))
        elif option == "--authority" and code not in plans and conn.execute(
                select(u.c.id).where(authorities.under(u.c.authority, code), u.c.type_mask != BUREAU_MASK).limit(1)).first() is None:
            bureaus = conn.execute(select(u.c.authority).distinct()).scalars()
            problems.append(_("--authority '{code}': no plan or unit of that authority is loaded ({near})").format(
                code=code, near=_nearest(code, [*plans, *bureaus])))
    if year is not None and conn.execute(select(p.c.id).where(p.c.year == year).limit(1)).first() is None:
        years = [str(y) for y in conn.execute(select(p.c.year).distinct().order_by(p.c.year)).scalars()]
        problems.append(_("--year {year}: no plan of that year is loaded (loaded: {years})").format(year=year, years=_(", ").join(years)))
    if programme is not None:
        known = rules.programmes(conn)
        if programme not in known:
            problems.append(_("--programme '{programme}' is not a programme ({near})").format(
                programme=programme, near=_nearest(programme, known)))
    if term is not None:
        try:
            term_order(term)
        except InputError:
            problems.append(_("--term '{term}' is not a term (YYYY-spring or YYYY-autumn, e.g. 2021-autumn)").format(term=term))
    if state is not None:
        states = {s for spec in rules.workflows(conn).values() for s in spec.states}
        if state not in states:
            problems.append(_("--state '{state}' is not a state of any workflow ({near})").format(state=state, near=_nearest(state, states)))
    if held_by is not None and held_by not in GUARDS:
        problems.append(_("--held-by '{guard}' is not a guard (allowed: {allowed})").format(guard=held_by, allowed=_(", ").join(GUARDS)))
    if problems:
        raise InputError(problems)
