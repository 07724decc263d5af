"""The roster of units: import (all or nothing, row-numbered errors), close.

Re-import updates in place and never deletes: a unit missing from a new roster
keeps its history; closing it is an explicit act with a date.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import authorities, sheets, store
from .errors import InputError, at_row, rows_listed
from .expand import applies, expand
from .masking import mask_phone, normalise_phone
from .models import event
from .models import instance as i
from .models import occurrence as o
from .models import plan as p
from .models import task as t
from .models import unit as u
from .status import is_open
from .unit_types import BUREAU_MASK, allowed, mask_of, type_key

COLUMNS = ["code", "name", "type", "town", "parent", "contact", "phone", "active_from", "email", "authority"]
ALIASES = {
    **{c: c for c in COLUMNS},
    "学校代码": "code", "学校名称": "name", "学校类型": "type", "乡镇": "town",
    "上级单位": "parent", "责任人": "contact", "联系电话": "phone", "启用日期": "active_from", "电子邮箱": "email",
    "主管教育局": "authority", "主管教育局代码": "authority",
}
COMPARED = ("name", "type", "type_mask", "town", "parent", "contact", "phone", "active_from", "email", "authority")
EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    instances_created: int = 0
    instances_cancelled: int = 0


def read_roster(path) -> list[dict]:
    """Validate every row; raise one InputError listing every bad row."""
    sheet = sheets.read(path, ALIASES, COLUMNS[:7])
    problems, units, seen = [], [], {}
    for row_no, raw in sheet.rows:
        unit, errors = _unit_from_row(raw)
        code = unit.get("code")
        if code and code in seen:
            errors.append(_("code '{code}' is already used in row {row}").format(code=code, row=seen[code]))
        seen.setdefault(code, row_no)
        problems += [(row_no, at_row(sheet.name, row_no) + e) for e in errors]
        unit["row"] = row_no
        units.append(unit)
    if problems:
        raise InputError(rows_listed(problems))
    if not units:
        raise InputError(_("{file}: no units below the header").format(file=sheet.name))
    return units


def _unit_from_row(raw: dict) -> tuple[dict, list[str]]:
    errors = []
    unit = {c: sheets.text(raw.get(c)) for c in COLUMNS if c != "active_from"}
    if not unit["code"]:
        errors.append(_("{field} is empty").format(field=sheets.column_title("code", ALIASES)))
    if not unit["name"]:
        errors.append(_("{field} is empty").format(field=sheets.column_title("name", ALIASES)))
    checks = [("code", "code"), ("name", "name"), ("town", "name"), ("contact", "name")]
    checks += [("parent", "code")] if unit["parent"] else []
    errors += [p for p in (sheets.field_problem(f, unit[f], kind, ALIASES) for f, kind in checks if unit[f]) if p]
    names = [n for n in unit["type"].replace("｜", "|").split("|")]
    keys = [type_key(n) for n in names]
    if not unit["type"] or None in keys:
        bad = next((n for n, k in zip(names, keys) if k is None), "")
        errors.append(_("type '{type}' is unknown (allowed: {allowed}; several joined by |)").format(type=bad, allowed=allowed()))
    else:
        unit["type_mask"] = mask_of(set(keys))
    phone = normalise_phone(unit["phone"]) if unit["phone"] else None
    if phone is None:
        shown = mask_phone(unit["phone"]) if unit["phone"] else _("empty")
        errors.append(_("phone {phone} is not a mobile (11 digits) or a landline (e.g. 0561-6012345)").format(phone=shown))
    unit["phone"] = phone or ""
    if unit["authority"] and not authorities.CODE_RE.match(unit["authority"]):
        errors.append(_("authority '{code}' is not a 6-digit administrative code (e.g. 340621)").format(code=unit["authority"]))
    if unit["email"] and not EMAIL_RE.match(unit["email"]):
        errors.append(_("email '{email}' is not an e-mail address").format(email=unit["email"]))
    try:
        unit["active_from"] = sheets.parse_date(raw.get("active_from"))
    except ValueError as exc:
        errors.append(_("active_from {problem}").format(problem=exc))
    return unit, errors


def import_units(conn: Connection, units: list[dict], as_of: date, by: str, progress=None,
                 authority: str | None = None) -> ImportReport:
    """Upsert the roster and expand the plans for what changed, in the caller's transaction.

    Each unit answers to its row's authority, else `authority`, else the one it
    answered to before, else the only authority with a plan; a roster that
    leaves it open is refused."""
    existing = {r.code: r for r in conn.execute(select(u))}
    for x in units:
        old = existing.get(x["code"])
        if not x["authority"]:
            x["authority"] = authority or (old.authority if old else "") or authorities.default_for_roster(conn)
        if x["active_from"] is None:  # a unit adopting aidcal mid-year owes nothing due before it joined
            x["active_from"] = old.active_from if old else as_of
    known_codes = set(existing) | {x["code"] for x in units}
    problems = [_("row {row}: parent '{parent}' is not a unit code in this roster or the database").format(row=x["row"], parent=x["parent"])
                for x in units if x["parent"] and x["parent"] not in known_codes]
    problems += [_("row {row}: code '{code}' belongs to the education bureau itself").format(row=x["row"], code=x["code"])
                 for x in units if x["code"] in existing and existing[x["code"]].type_mask == BUREAU_MASK]
    if problems:
        raise InputError(problems)

    report, stamp = ImportReport(), store.now()
    writes, moved = [], []
    for x in units:
        values = {c: x[c] for c in ("code", *COMPARED)}
        old = existing.get(x["code"])
        if old is None:
            report.added.append(x["code"])
        elif any(getattr(old, c) != values[c] for c in COMPARED):
            report.changed.append(x["code"])
            if (old.type_mask, old.authority) != (values["type_mask"], values["authority"]):
                moved.append(x["code"])
        else:
            report.unchanged += 1
            continue
        writes.append({**values, "updated_at": stamp, "updated_by": by})
    if not writes:
        return report

    before = conn.execute(select(func.coalesce(func.max(u.c.id), 0))).scalar()
    stmt = store.insert(conn, u)
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"], set_={c: stmt.excluded[c] for c in (*COMPARED, "updated_at", "updated_by")}
    )
    conn.execute(stmt, writes)
    if moved:
        # A unit whose types or authority changed: from as_of on, tasks that no longer apply are cancelled.
        report.instances_cancelled = conn.execute(
            update(i).where(
                i.c.unit_id.in_(select(u.c.id).where(u.c.code.in_(moved))),
                exists().where(
                    o.c.id == i.c.occurrence_id, t.c.id == o.c.task_id, p.c.id == t.c.plan_id, u.c.id == i.c.unit_id,
                    ~applies(),
                ),
                i.c.due >= as_of, is_open(),
            ).values(cancelled_on=as_of)
        ).rowcount
    touched = u.c.updated_at == stamp
    report.instances_created = expand(conn, unit_where=and_(touched, u.c.id > before), progress=progress)
    report.instances_created += expand(conn, unit_where=and_(touched, u.c.id <= before), from_date=as_of)
    return report


LIST_COLUMNS = ["code", "name", "type", "town", "parent", "authority", "contact", "phone", "email", "active_from", "closed_on"]


def list_units(conn: Connection, *, town: str | None = None, unit_type: str | None = None,
               authority: str | None = None) -> list[dict]:
    """The roster as a supervisor reads it back (phones masked), in town and code order."""
    query = select(u).where(u.c.type_mask != BUREAU_MASK).order_by(u.c.town, u.c.code)
    if town:
        query = query.where(u.c.town == town)
    if unit_type:
        query = query.where(u.c.type_mask.op("&")(mask_of([type_key(unit_type)])) != 0)
    if authority:
        query = query.where(authorities.under(u.c.authority, authority))
    return [dict(code=r.code, name=r.name, type=r.type, town=r.town, parent=r.parent, authority=r.authority,
                 contact=r.contact, phone=mask_phone(r.phone) if r.phone else "", email=r.email,
                 active_from=r.active_from and str(r.active_from), closed_on=r.closed_on and str(r.closed_on))
            for r in conn.execute(query)]


def close_unit(conn: Connection, code: str, as_of: date, by: str) -> int:
    """Close a unit as of a date: its open instances due after it are cancelled."""
    row = conn.execute(select(u.c.id, u.c.closed_on).where(u.c.code == code)).first()
    if row is None:
        raise InputError(_("unit '{unit}' is not in the roster").format(unit=code))
    if row.closed_on is not None:
        raise InputError(_("unit '{unit}' is already closed since {day}").format(unit=code, day=row.closed_on))
    conn.execute(u.update().where(u.c.id == row.id).values(closed_on=as_of, updated_at=store.now(), updated_by=by))
    cancelled = conn.execute(
        update(i).where(i.c.unit_id == row.id, i.c.due > as_of, is_open()).values(cancelled_on=as_of)
    ).rowcount
    conn.execute(event.insert().values(unit_id=row.id, kind="close", on_date=as_of, at=store.now(), by=by,
                                       detail=f"撤销未完成任务 {cancelled} 项"))  # the record's words, in Chinese (engine/tasks.py _event)
    return cancelled
