"""Hardship identification (家庭经济困难学生认定, 教财〔2018〕16号) as its own record.

A student is identified once per school year (named by the autumn it starts in)
and reviewed each term; every programme's case of that school year refers to
the one identification, taking its level and categories from it. A category
(脱贫家庭, 特困供养…) can make a student eligible without a level where the
programme says so (programmes.yaml `categories_without_level`).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import and_, bindparam, exists, false, func, or_, select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import audit, authorities, driver, idnumber, sealing, sheets, store
from . import programmes as progs
from .errors import InputError, RowProblems
from .masking import mask_number
from .models import aid_case as c
from .models import identification as ident
from .models import identification_review as review_t
from .models import unit as u

CATEGORIES = ("脱贫家庭", "防返贫监测对象", "农村低保", "城市低保", "特困供养", "孤儿", "残疾学生", "残疾人子女", "烈士子女")
CATEGORY_ALIASES = {**{k: k for k in CATEGORIES}, "原建档立卡": "脱贫家庭", "建档立卡": "脱贫家庭", "困难残疾": "残疾学生",
                    "残疾": "残疾学生"}
COLUMNS = ["name", "id_number", "unit", "level", "categories", "pledge", "reviewed_on"]
ALIASES = {**{k: k for k in COLUMNS}, "姓名": "name", "身份证号": "id_number", "学校代码": "unit", "困难等级": "level",
           "类别": "categories", "承诺书": "pledge", "评议日期": "reviewed_on"}
PLEDGE = {"是": True, "有": True, "yes": True, "y": True, "否": False, "无": False, "no": False, "n": False}
LIST_COLUMNS = ["id", "unit", "name", "id_number", "year", "level", "categories", "reviewed_on", "pledge"]


def parse_categories(raw: str) -> tuple[list[str], str | None]:
    """('|'-joined text) → (canonical categories, problem or None)."""
    found = []
    for part in (p.strip() for p in raw.replace("｜", "|").split("|")):
        if not part:
            continue
        if part == "低保":
            return [], _("category 低保 must say 农村低保 or 城市低保 (the boarding allowance for non-boarders follows 农村低保)")
        if part not in CATEGORY_ALIASES:
            return [], _("category '{category}' is not allowed ({allowed})").format(category=part, allowed=_(", ").join(CATEGORIES))
        found.append(CATEGORY_ALIASES[part])
    return list(dict.fromkeys(found)), None


def parse_level(raw: str) -> tuple[str | None, str | None]:
    """(level key or "" for none, problem)."""
    if raw in ("", "无", "-", "—"):
        return "", None
    key = progs.LEVEL_KEYS.get(raw)
    return (key, None) if key else (None, _("level '{level}' is not allowed (特别困难, 困难, 一般困难, or empty where a category "
                                            "suffices)").format(level=raw))


def _rows(path, units: set[str], as_of: date):
    name, _columns, rows = sheets.stream(path, ALIASES, COLUMNS)
    for row_no, raw in rows:
        errors = []
        numeric = isinstance(raw.get("id_number"), (int, float))
        if numeric:
            errors.append(_("{field} is stored as a number in Excel and has lost its last digits; "
                            "format the column as text and enter the numbers again").format(field=_("id_number")))
        row = dict(name=sheets.text(raw.get("name")), id_number=idnumber.normalise(sheets.text(raw.get("id_number"))),
                   unit=sheets.text(raw.get("unit")))
        if not row["name"]:
            errors.append(_("{field} is empty").format(field=sheets.column_title("name", ALIASES)))
        elif problem := sheets.field_problem("name", row["name"], "person", ALIASES):
            errors.append(problem)
        if not numeric and (why := idnumber.problem(row["id_number"], as_of)):
            errors.append(_("id_number {number} {why}").format(number=mask_number(row["id_number"]), why=why))
        if row["unit"] not in units:
            errors.append(_("{field} is empty").format(field=sheets.column_title("unit", ALIASES)) if not row["unit"]
                          else sheets.field_problem("unit", row["unit"], "code", ALIASES)
                          or _("unit '{unit}' is not in the roster").format(unit=row["unit"]))
        level, why = parse_level(sheets.text(raw.get("level")))
        errors += [why] if why else []
        found, why = parse_categories(sheets.text(raw.get("categories")))
        errors += [why] if why else []
        if level == "" and not found and not why:
            errors.append(_("level and categories are both empty: give a level, or the categories that qualify"))
        pledge = PLEDGE.get(sheets.text(raw.get("pledge")).lower())
        if pledge is None:
            errors.append(_("pledge '{pledge}' is not allowed (是 or 否: the signed 承诺书 is on file)").format(
                pledge=sheets.text(raw.get("pledge"))[:10]))
        try:
            reviewed = sheets.parse_date(raw.get("reviewed_on"))
            if reviewed is None:
                errors.append(_("reviewed_on is empty (the day of the class review, 民主评议)"))
            elif reviewed > as_of:
                errors.append(_("reviewed_on {day} is after {as_of}").format(day=reviewed, as_of=as_of))
        except ValueError as exc:
            errors.append(_("reviewed_on {problem}").format(problem=exc))
            reviewed = None
        row.update(level=level, categories="|".join(found), pledge=pledge, reviewed_on=reviewed)
        yield name, row_no, row, errors


def import_file(engine, path, year: int, as_of: date, by: str, entry: audit.Entry, keys: sealing.Keys) -> dict:
    """Import a school year's identifications all or nothing, then link the cases of
    that school year that wait for them. Returns {imported, linked, differing}."""
    with store.reading(engine) as conn:
        entry.rows = check_file(conn, path, year, as_of, keys)
    with audit.audited(engine, entry) as conn:
        return write_file(conn, path, year, as_of, by, keys)


def check_file(conn: Connection, path, year: int, as_of: date, keys: sealing.Keys) -> int:
    """Every row checked in a read transaction, so a bad file never holds the write lock; returns the count."""
    keys = sealing.bind(conn, keys, register=False)
    units = set(conn.execute(select(u.c.code)).scalars())
    known = set(conn.execute(select(ident.c.id_hash).where(ident.c.year == year)).scalars())
    problems, seen, count = RowProblems(Path(path).name), {}, 0
    for _name, row_no, row, errors in _rows(path, units, as_of):
        person = row["id_number"]
        if person in seen:
            errors.append(_("the same person (ID {id}) is already in row {row}").format(id=mask_number(person), row=seen[person]))
        elif keys.person(person) in known:
            errors.append(_("ID {id} is already identified for the school year {year} "
                            "(a term's change is a review: aidcal identification review ID)").format(id=mask_number(person), year=year))
        seen.setdefault(person, row_no)
        problems.add(row_no, errors)
        count += 1
    problems.check()
    if not count:
        raise InputError(_("{file}: no identifications below the header").format(file=Path(path).name))
    return count


def write_file(conn: Connection, path, year: int, as_of: date, by: str, keys: sealing.Keys) -> dict:
    """The checked file's identifications written, and the cases waiting for them linked."""
    keys = sealing.bind(conn, keys)
    units = set(conn.execute(select(u.c.code)).scalars())
    unit_ids = dict(conn.execute(select(u.c.code, u.c.id)).all())
    stamp = store.now()
    created = driver.driver_value(conn, ident.c.created_at, stamp)
    columns = ["year", "unit_id", "name", "id_number", "level", "categories", "pledge", "reviewed_on", "created_at",
               "created_by", "id_hash", "id_masked"]
    reviewed = ident.c.reviewed_on
    known = set(conn.execute(select(ident.c.id_hash).where(ident.c.year == year)).scalars())

    def checked():  # the write pass trusts nothing the read pass saw: the file or the database may have changed
        for _name, row_no, r, errors in _rows(path, units, as_of):
            person = keys.person(r["id_number"])
            if errors or person in known:
                raise InputError(_("{file}: row {row} changed since it was checked (or was identified meanwhile); "
                                   "nothing was written: import the file again").format(file=Path(path).name, row=row_no))
            row = sealing.identification_row(year, person)
            yield (year, unit_ids[r["unit"]], r["name"], keys.seal(r["id_number"], "identification.id_number", row),
                   r["level"], keys.seal(r["categories"], "identification.categories", row), r["pledge"],
                   driver.driver_value(conn, reviewed, r["reviewed_on"]), created, by, person, mask_number(r["id_number"]))
    imported = driver.bulk_insert(conn, ident, columns, checked())
    linked, differing = link_cases(conn, year, keys)
    return dict(imported=imported, linked=linked, differing=differing)


def _terms(year: int) -> tuple[str, str]:
    return f"{year}-autumn", f"{year + 1}-spring"


def link_cases(conn: Connection, year: int, keys: sealing.Keys) -> tuple[int, int]:
    """Cases of the school year imported before their identification: those whose
    level agrees (or that have none) take the identification and its categories
    (opened, and sealed again to the case); those whose level differs are counted,
    for the school to correct."""
    match = and_(ident.c.year == year, ident.c.id_hash == c.c.id_hash)
    unlinked = [c.c.term.in_(_terms(year)), c.c.needs_identification, c.c.identification_id.is_(None)]
    waiting = [*unlinked, exists().where(match)]
    agrees = exists().where(match, ident.c.level == c.c.level)
    found = conn.execute(select(c.c.id, c.c.programme, c.c.term, c.c.id_hash, ident.c.id, ident.c.categories)
                         .join(ident, and_(match, ident.c.level == c.c.level)).where(*unlinked)).all()
    if found:
        conn.execute(c.update().where(c.c.id == bindparam("case")).values(
            identification_id=bindparam("ident"), categories=bindparam("sealed")), [
            dict(case=r[0], ident=r[4], sealed=keys.seal(
                keys.unseal(r[5], "identification.categories", sealing.identification_row(year, r[3])),
                "aid_case.categories", sealing.case_row(r[1], r[2], r[3]))) for r in found])
    differing = conn.execute(select(func.count()).select_from(c).where(*waiting, ~agrees)).scalar()
    return len(found), differing


def find(conn: Connection, year: int, people: dict[str, str], keys: sealing.Keys) -> dict[str, tuple]:
    """{id_number: (id, level, categories, pledge)} of the school year's identifications of
    `people` ({keyed hash: ID number}), looked up by keyed hash."""
    rows = conn.execute(select(ident.c.id_hash, ident.c.id, ident.c.level, ident.c.categories, ident.c.pledge)
                        .where(ident.c.year == year, ident.c.id_hash.in_(list(people)))).all()
    return {people[r[0]]: (r[1], r[2], keys.unseal(r[3], "identification.categories", sealing.identification_row(year, r[0])), r[4])
            for r in rows}


def list_identifications(conn: Connection, unit: str | None, year: int | None, keys: sealing.Keys,
                         authority: str | None = None) -> list[dict]:
    """Masked; the categories (sensitive, sealed) opened for the list. `authority`: a bureau's subtree only."""
    keys = sealing.bind(conn, keys, register=False)
    query = select(ident.c.id, u.c.code, ident.c.name, ident.c.id_masked, ident.c.year, ident.c.level,
                   ident.c.categories, ident.c.reviewed_on, ident.c.pledge, ident.c.id_hash).join(
        u, u.c.id == ident.c.unit_id).order_by(ident.c.id)
    if unit:
        query = query.where(u.c.code == unit)
    if year:
        query = query.where(ident.c.year == year)
    if authority:
        query = query.where(authorities.under(u.c.authority, authority))
    return [dict(id=r[0], unit=r[1], name=r[2], id_number=r[3], year=r[4], level=progs.level_title(r[5]),
                 categories=[x for x in keys.unseal(r[6], "identification.categories", sealing.identification_row(r[4], r[9]))
                             .split("|") if x], reviewed_on=str(r[7]), pledge=r[8])
            for r in conn.execute(query)]


def review(conn: Connection, ident_id: int, level: str, categories: str | None, reason: str, as_of: date,
           by: str, keys: sealing.Keys) -> dict:
    """A term's review: the identification takes the new level (and categories);
    its cases not yet posted for publicity follow, with the standard of the new
    level; posted, approved and paid cases keep theirs."""
    from . import rules
    from .cases import restandardise

    keys = sealing.bind(conn, keys)
    row = conn.execute(select(ident).where(ident.c.id == ident_id)).first()
    if row is None:
        raise InputError(_("identification {id} does not exist (see: aidcal identification list)").format(id=ident_id))
    where = sealing.identification_row(row.year, row.id_hash)
    old_categories = keys.unseal(row.categories, "identification.categories", where)
    key, why = parse_level(level)
    found, why2 = parse_categories(categories) if categories is not None else (old_categories.split("|"), None)
    if why or why2:
        raise InputError(why or why2)
    new_categories = "|".join(x for x in found if x)
    if key == "" and not new_categories:
        raise InputError(_("a review without a level needs the categories that qualify (--categories)"))
    if not reason.strip():
        raise InputError(_("--reason is required: what the review found"))
    conn.execute(ident.update().where(ident.c.id == ident_id).values(
        level=key, categories=keys.seal(new_categories, "identification.categories", where)))
    reviewed = f"identification_review|{ident_id}"
    conn.execute(review_t.insert().values(
        identification_id=ident_id, on_date=as_of, level_from=row.level, level_to=key,
        categories_from=keys.seal(old_categories, "identification_review.categories_from", reviewed),
        categories_to=keys.seal(new_categories, "identification_review.categories_to", reviewed),
        reason=reason, at=store.now(), by=by))
    initial = [and_(c.c.workflow == name, c.c.state == spec.initial) for name, spec in rules.workflows(conn).items()]
    unposted = [c.c.identification_id == ident_id, c.c.publicity_from.is_(None), or_(false(), *initial)]
    from .cases import apply_policy
    known = rules.programmes(conn)
    refused = []
    following = conn.execute(select(c.c.id, c.c.programme, c.c.term, c.c.boarding, c.c.agricultural, c.c.grade, c.c.id_hash)
                             .where(*unposted)).all()
    for case in following:
        facts = dict(level=key, boarding=case.boarding, agricultural=case.agricultural, grade=case.grade, categories="")
        problems = apply_policy(known[case.programme], case.term, facts, (ident_id, key, new_categories, row.pledge))
        refused += [_("case {case}: {problem}").format(case=case.id, problem=p) for p in problems]
    if refused:
        raise InputError([_("identification {id}: after this review its cases not yet posted would not qualify; "
                            "withdraw them first or review otherwise").format(id=ident_id), *refused])
    if following:
        conn.execute(c.update().where(c.c.id == bindparam("case")).values(level=key, categories=bindparam("sealed")), [
            dict(case=r.id, sealed=keys.seal(new_categories, "aid_case.categories", sealing.case_row(r.programme, r.term, r.id_hash)))
            for r in following])
    followed = len(following)
    restandardise(conn, unposted)
    kept = conn.execute(select(func.count()).select_from(c).where(c.c.identification_id == ident_id)).scalar() - followed
    return dict(level=progs.level_title(key), categories=[x for x in new_categories.split("|") if x],
                cases_following=followed, cases_kept=kept)
