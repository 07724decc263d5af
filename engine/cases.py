"""Students' aid cases: import (all or nothing), list, record facts, history.

Personal numbers are validated on the way in (GB 11643 IDs, mobiles, card
digits) and masked on every way out. A number Excel stored as a number has
already lost digits past the 15th: such a file is refused, not repaired.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, literal, or_, select
from sqlalchemy.engine import Connection

from aidcal.i18n import N_, _

from . import audit, authorities, driver, idnumber, rules, sealing, sheets, store
from . import programmes as progs
from .errors import InputError, RowProblems
from .guards import GUARDS
from .masking import MOBILE_RE, mask_number, mask_phone, normalise_phone
from .models import aid_case as c
from .models import case_document as d
from .models import case_event as e
from .models import unit as u

COLUMNS = ["name", "id_number", "phone", "unit", "grade", "class", "level", "bank_card", "boarding", "agricultural"]
ALIASES = {**{k: k for k in COLUMNS}, "姓名": "name", "身份证号": "id_number", "联系电话": "phone", "学校代码": "unit",
           "年级": "grade", "班级": "class", "困难等级": "level", "银行卡号": "bank_card", "是否住宿": "boarding",
           "涉农专业": "agricultural"}
YES = {"是", "住宿", "yes", "y", "true", "1"}
NO = {"否", "走读", "不住宿", "no", "n", "false", "0"}
LIST_COLUMNS = ["case", "unit", "name", "programme", "term", "level", "amount", "state"]
FIELDS = (N_("id_number"), N_("bank_card"))  # the column names a message names, as people read them
LOOKUP_CHUNK = 5_000  # rows whose identifications are fetched in one query: memory stays flat for a million


def _parse(path, programme: progs.Programme, term: str, unit_types: dict[str, int], as_of: date):
    """(file name, generator of (row number, case, problems)): one row at a time, the
    sheet's own checks only (the programme's policy is `apply_policy`)."""
    name, _columns, rows = sheets.stream(path, ALIASES, COLUMNS[:8])

    def cases():
        for row_no, raw in rows:
            errors = []
            numeric = [f for f in ("id_number", "bank_card") if isinstance(raw.get(f), (int, float))]
            for field in numeric:
                errors.append(_("{field} is stored as a number in Excel and has lost its last digits; "
                                "format the column as text and enter the numbers again").format(field=_(field)))
            level_text = sheets.text(raw.get("level"))
            case = dict(name=sheets.text(raw.get("name")), id_number=idnumber.normalise(sheets.text(raw.get("id_number"))),
                        unit=sheets.text(raw.get("unit")), grade=sheets.text(raw.get("grade")),
                        class_name=sheets.text(raw.get("class")),
                        level="" if level_text in ("", "无") else progs.LEVEL_KEYS.get(level_text),
                        bank_card=sheets.text(raw.get("bank_card")).replace(" ", ""))
            if not case["name"]:
                errors.append(_("name is empty"))
            for field, kind in (("name", "person"), ("grade", "name"), ("class_name", "name"), ("unit", "code")):
                if case[field]:
                    problem = sheets.field_problem("class" if field == "class_name" else field, case[field], kind, ALIASES)
                    if problem:
                        errors.append(problem)
            why = None if "id_number" in numeric else idnumber.problem(case["id_number"], as_of)
            if why:
                errors.append(_("id_number {number} {why}").format(number=mask_number(case["id_number"]), why=why))
            phone = normalise_phone(sheets.text(raw.get("phone")))
            if phone is None or not MOBILE_RE.match(phone):
                errors.append(_("phone {phone} is not a mobile number (11 digits)").format(
                    phone=mask_phone(sheets.text(raw.get("phone"))) or _("empty")))
            case["phone"] = phone or ""
            mask = unit_types.get(case["unit"])
            if mask is None:
                errors.append(_("unit '{unit}' is not in the roster").format(unit=case["unit"]))
            elif not mask & programme.type_mask:
                errors.append(_("unit '{unit}' is not a school that programme {programme} serves").format(
                    unit=case["unit"], programme=programme.key))
            if case["level"] is None:
                errors.append(_("level '{level}' is not allowed (特别困难, 困难, 一般困难)").format(level=level_text))
            card = case["bank_card"]
            if card and "bank_card" not in numeric and not (card.isdigit() and 12 <= len(card) <= 19):
                errors.append(_("bank_card {card} is not 12 to 19 digits").format(card=mask_number(card)))
            for field, default in (("boarding", True), ("agricultural", False)):
                value = sheets.text(raw.get(field)).lower()
                if value and value not in YES | NO:
                    errors.append(_("{field} '{value}' is not allowed (是 or 否)").format(field=sheets.column_title(field, ALIASES),
                                                                                       value=value[:10]))
                case[field] = default if not value else value not in NO
            yield row_no, case, errors
    return name, cases()


def apply_policy(programme: progs.Programme, term: str, case: dict, found: tuple | None) -> list[str]:
    """The programme's eligibility rules on one row, with the student's identification
    for the school year (`found`: id, level, categories, pledge) where there is one;
    sets the case's level, categories and standard. Returns the row's problems."""
    errors = []
    sheet_level = case["level"]
    if not programme.hardship_level:
        if sheet_level:
            errors.append(_("programme {programme} is not awarded by hardship level: leave level empty").format(programme=programme.key))
        case.update(level="", categories="", identification_id=None)
    elif found is not None:
        ident_id, level, categories = found[:3]
        if sheet_level and sheet_level != level:
            errors.append(_("level {level} differs from the student's identification ({identified}, identification {id}); "
                            "leave level empty or correct it").format(
                level=progs.level_title(sheet_level), identified=progs.level_title(level), id=ident_id))
        case.update(level=level, categories=categories, identification_id=ident_id)
    else:
        case.update(categories="", identification_id=None)
    categories = set(filter(None, case["categories"].split("|")))
    covered_agricultural = case["agricultural"] and programme.agricultural_without_level
    case["needs_identification"] = programme.identification and not covered_agricultural
    if programme.hardship_level and sheet_level is not None and not case["level"]:
        if not (categories & set(programme.categories_without_level) or covered_agricultural):
            qualifying = list(programme.categories_without_level) + (["涉农专业"] if programme.agricultural_without_level else [])
            why = _("the identification gives none") if found else _("no identification")
            errors.append((_("the student has no level ({why}); programme {programme} needs a level, or one of: {allowed}")
                           if qualifying else _("the student has no level ({why}); programme {programme} needs a level")).format(
                why=why, programme=programme.key, allowed=_(", ").join(qualifying)))
        elif not programme.unlevelled_amount(term):
            errors.append(_("programme {programme} has no amount for a student without a level in {term} "
                            "(rates: without_level or any)").format(programme=programme.key, term=term))
    if programme.by_category and programme.hardship_level and not categories & set(programme.categories_without_level):
        errors.append(_("programme {programme} goes by category: the student's identification needs one of {allowed}").format(
            programme=programme.key, allowed=_(", ").join(programme.categories_without_level)))
    if not case["boarding"] and programme.non_boarder_categories and not categories & set(programme.non_boarder_categories):
        errors.append(_("a non-boarder receives {programme} only as one of: {allowed} (from the student's identification)").format(
            programme=programme.key, allowed=_(", ").join(programme.non_boarder_categories)))
    rate = programme.rate(term)
    if rate is None:
        errors.append(_("programme {programme} has no rate for {term}").format(programme=programme.key, term=term))
    elif rate.grades and progs.grade_number(case["grade"]) not in rate.grades:
        errors.append(_("grade '{grade}' is not covered by {programme} in {term} (it covers grades {grades}, written like "
                        "一年级 or 1年级)").format(grade=case["grade"][:10], programme=programme.key, term=term,
                                                 grades=_(", ").join(map(str, rate.grades))))
    if not errors and case["level"] is not None:
        case["standard"] = programme.amount_fen(term, case["level"], case["boarding"])
    return errors


def _checked(conn: Connection, rows, programme: progs.Programme, term: str, keys: sealing.Keys):
    """Rows with the programme's policy applied, the identifications fetched a chunk at a time."""
    from . import identification

    year = progs.school_year(term)
    chunk = []

    def flush():
        for _row_no, case, _errors in chunk:  # the keyed hash once a row: duplicates, look-ups and the insert use it
            case["id_hash"] = keys.person(case["id_number"])
        found = (identification.find(conn, year, {case["id_hash"]: case["id_number"] for _, case, _ in chunk}, keys)
                 if programme.hardship_level else {})
        for row_no, case, errors in chunk:
            if not errors:
                errors = apply_policy(programme, term, case, found.get(case["id_number"]))
            yield row_no, case, errors

    for item in rows:
        chunk.append(item)
        if len(chunk) == LOOKUP_CHUNK:
            yield from flush()
            chunk = []
    yield from flush()


def _unchanged(rows, path):
    """The write pass's rows, each as the read pass checked it: a row that fails now (the file
    or an identification changed in between) stops the import, and the transaction writes nothing."""
    for row_no, case, errors in rows:
        if errors:
            raise InputError(_("{file}: row {row} changed since it was checked ({problem}); nothing was written: "
                               "import the file again").format(file=path, row=row_no, problem=errors[0]))
        yield case


def _check_term(programme: progs.Programme, term: str) -> None:
    if programme.once_a_year and not term.endswith("-autumn"):
        raise InputError(_("programme {programme} is awarded once a school year, in full: import it for the autumn "
                           "term its school year starts with ({year}-autumn)").format(programme=programme.key, year=progs.school_year(term)))


def validate(conn: Connection, path, programme: progs.Programme, term: str, unit_types: dict[str, int],
             existing: set[str], as_of: date, keys: sealing.Keys) -> int:
    """Check every row before anything is written; one InputError lists the bad rows
    (the first ROWS_LISTED, then how many more). Streams the file: only the index of
    ID numbers seen is kept, and the problems of at most ROWS_LISTED rows."""
    _check_term(programme, term)
    name, rows = _parse(path, programme, term, unit_types, as_of)
    problems, seen, count = RowProblems(name), {}, 0
    for row_no, case, errors in _checked(conn, rows, programme, term, keys):
        person = case["id_number"]
        if person in seen:
            errors.append(_("the same person (ID {id}) is already in row {row}").format(id=mask_number(person), row=seen[person]))
        elif case["id_hash"] in existing:
            errors.append(_("ID {id} already has a {programme} case for {term}").format(
                id=mask_number(person), programme=programme.key, term=term))
        seen.setdefault(person, row_no)
        problems.add(row_no, errors)
        count += 1
    problems.check()
    if not count:
        raise InputError(_("{file}: no cases below the header").format(file=name))
    return count


def existing_people(conn: Connection, programme: str, term: str) -> set[str]:
    """The keyed hashes of the people who have a case of the programme and term."""
    return set(conn.execute(select(c.c.id_hash).where(c.c.programme == programme, c.c.term == term)).scalars())


def _sealed(rows, programme: str, term: str, keys: sealing.Keys):
    """Each case with its personal values sealed to its row, its keyed hash and masked forms."""
    seal = keys.seal
    for x in rows:
        person = x["id_hash"]
        row = sealing.case_row(programme, term, person)
        x.update(id_masked=mask_number(x["id_number"]), phone_masked=mask_phone(x["phone"]) if x["phone"] else "",
                 card_masked=mask_number(x["bank_card"]) if x["bank_card"] else "",
                 id_number=seal(x["id_number"], "aid_case.id_number", row), phone=seal(x["phone"], "aid_case.phone", row),
                 bank_card=seal(x["bank_card"], "aid_case.bank_card", row),
                 categories=seal(x["categories"], "aid_case.categories", row))
        yield x


def import_cases(conn: Connection, path, programme: progs.Programme, term: str, as_of: date, by: str,
                 keys: sealing.Keys) -> int:
    """Write a validated file's cases in the workflow's initial state, each with
    its first history row (the file is read again: nothing large is held). A
    re-application links to the student's case of the year before."""
    keys = sealing.bind(conn, keys)
    spec = rules.workflow(conn, programme.workflow)
    units = dict(conn.execute(select(u.c.code, u.c.id)).all())
    stamp = store.now()
    since, created = driver.driver_value(conn, c.c.state_since, as_of), driver.driver_value(conn, c.c.created_at, stamp)
    name, rows = _parse(path, programme, term, dict.fromkeys(units, programme.type_mask), as_of)
    columns = ["workflow", "programme", "term", "unit_id", "name", "id_number", "phone", "grade", "class_name", "level",
               "boarding", "bank_card", "standard", "amount", "state", "state_since", "objection_open", "created_at",
               "created_by", "categories", "identification_id", "needs_identification", "agricultural", "recovered",
               "card_type", "id_hash", "id_masked", "phone_masked", "card_masked"]
    count = driver.bulk_insert(conn, c, columns, (
        (spec.name, programme.key, term, units[x["unit"]], x["name"], x["id_number"], x["phone"], x["grade"],
         x["class_name"], x["level"], x["boarding"], x["bank_card"], x["standard"], x["standard"], spec.initial, since,
         False, created, by, x["categories"], x["identification_id"], x["needs_identification"], x["agricultural"], 0,
         "bank" if x["bank_card"] else None, x["id_hash"], x["id_masked"], x["phone_masked"], x["card_masked"])
        for x in _sealed(_unchanged(_checked(conn, rows, programme, term, keys), name), programme.key, term, keys)))
    new = [c.c.programme == programme.key, c.c.term == term, c.c.created_at == stamp]
    conn.execute(e.insert().from_select(
        ["case_id", "trigger", "to_state", "on_date", "at", "by"],
        select(c.c.id, literal("import"), c.c.state, literal(as_of), literal(stamp), literal(by)).where(*new)))
    year, half = term.split("-")
    last_year = f"{int(year) - 1}-{half}"
    before = c.alias("before")
    if conn.execute(select(c.c.id).where(c.c.programme == programme.key, c.c.term == last_year).limit(1)).first() is None:
        return count  # no case of last year to re-apply from: a million rows are not looked up for nothing
    conn.execute(c.update().where(*new).values(previous_case_id=(
        select(before.c.id).where(before.c.programme == programme.key, before.c.term == last_year,
                                  before.c.id_hash == c.c.id_hash,
                                  before.c.state.not_in(("withdrawn", "terminated"))).scalar_subquery())))
    return count


def scope(unit: str | None = None, programme: str | None = None, term: str | None = None, state: str | None = None,
          authority: str | None = None):
    where = []
    if authority:
        where.append(c.c.unit_id.in_(select(u.c.id).where(authorities.under(u.c.authority, authority))))
    if unit:
        where.append(c.c.unit_id == select(u.c.id).where(u.c.code == unit).scalar_subquery())
    if programme:
        where.append(c.c.programme == programme)
    if term:
        where.append(c.c.term == term)
    if state:
        where.append(c.c.state == state)
    return where


def held_by(conn: Connection, guard: str, as_of: date):
    """Cases waiting in a state whose way on carries `guard`, and failing it."""
    if guard not in GUARDS:
        raise InputError(_("guard '{guard}' does not exist (known: {known})").format(guard=guard, known=_(", ").join(GUARDS)))
    waits = []
    for spec in rules.workflows(conn).values():
        sources = {s for t in spec.transitions if guard in t.guards for s in t.sources}
        if sources:
            waits.append(and_(c.c.workflow == spec.name, c.c.state.in_(sources), ~GUARDS[guard](spec, as_of)))
    return or_(*waits) if waits else literal(False)


def list_cases(conn: Connection, where: list, keys: sealing.Keys, limit: int | None = None) -> list[dict]:
    """The cases, masked; their categories (sensitive, sealed) opened for the list."""
    keys = sealing.bind(conn, keys, register=False)
    query = (select(c.c.id, u.c.code, c.c.name, c.c.programme, c.c.term, c.c.level, c.c.amount, c.c.state,
                    c.c.id_masked, c.c.phone_masked, c.c.card_masked, c.c.grade, c.c.class_name, c.c.paid, c.c.recovered,
                    c.c.categories, c.c.id_hash)
             .join(u, u.c.id == c.c.unit_id).where(*where).order_by(c.c.id).limit(limit))
    return [dict(case=r[0], unit=r[1], name=r[2], programme=r[3], term=r[4], level=progs.level_title(r[5]),
                 amount=money(r[6]), state=r[7], id_number=r[8], phone=r[9] or "", bank_card=r[10] or "", grade=r[11],
                 class_name=r[12], paid=None if r[13] is None else money(r[13]), recovered=money(r[14]),
                 categories=[x for x in keys.unseal(r[15], "aid_case.categories", sealing.case_row(r[3], r[4], r[16])).split("|")
                             if x])
            for r in conn.execute(query)]


def money(fen: int) -> int | float:
    """Fen as yuan, exact to the fen in JSON: 62500 → 625, 31250 → 312.5."""
    return fen // 100 if fen % 100 == 0 else fen / 100


def restandardise(conn: Connection, where: list) -> int:
    """Give the cases matching `where` the standard in force for their programme, term,
    level and boarding; the amount follows unless it was overridden with a reason.
    One UPDATE per distinct standard, never one per case."""
    known = rules.programmes(conn)
    groups = conn.execute(select(c.c.programme, c.c.term, c.c.level, c.c.boarding).where(*where).distinct()).all()
    moved = 0
    for key, term, level, boarding in groups:
        if key not in known or known[key].rate(term) is None:
            continue
        fen = known[key].amount_fen(term, level, boarding)
        group = [*where, c.c.programme == key, c.c.term == term, c.c.level == level, c.c.boarding == boarding]
        moved += conn.execute(c.update().where(*group, c.c.override_reason.is_(None)).values(standard=fen, amount=fen)).rowcount
        conn.execute(c.update().where(*group, c.c.override_reason.is_not(None)).values(standard=fen))
    return moved


def record(conn: Connection, case_id: int, as_of: date, by: str, *, callback_outcome=None, documents=(),
           card=None, cash_approval=None, amount_yuan=None, reason=None, bank_card=None, keys=None) -> list[str]:
    """Record the facts guards look at; returns what was recorded. A new card number (the
    bank refused the old one) goes into the next payment file, sealed (it needs `keys`)."""
    row = conn.execute(select(c.c.id, c.c.bank_card, c.c.workflow, c.c.state, c.c.paid, c.c.programme, c.c.term, c.c.id_hash)
                       .where(c.c.id == case_id)).first()
    if row is None:
        raise InputError(_("case {case} does not exist").format(case=case_id))
    if amount_yuan is not None and row.state in rules.workflow(conn, row.workflow).approved_states():
        raise InputError(_("case {case} is {state}: its amount was approved and cannot change "
                           "(withdraw or terminate it, or correct it in the next term)").format(case=case_id, state=_(row.state)))
    values, done = {}, []
    if bank_card is not None:
        number = bank_card.replace(" ", "")
        if not (number.isdigit() and 12 <= len(number) <= 19):
            raise InputError(_("case {case}: card number {card} is not 12 to 19 digits").format(case=case_id, card=mask_number(number)))
        if row.paid is not None:
            raise InputError(_("case {case} was paid on its card already; a new card is for the next term's case").format(case=case_id))
        keys = sealing.bind(conn, keys)
        values.update(bank_card=keys.seal(number, "aid_case.bank_card", sealing.case_row(row.programme, row.term, row.id_hash)),
                      card_masked=mask_number(number), card_type=card or "bank", bank_result=None, bank_reason=None)
        done.append(_("card {card}").format(card=mask_number(number)))
    if callback_outcome:
        values.update(callback_outcome=callback_outcome, callback_on=as_of)
        done.append(_("callback outcome"))
    if card and bank_card is None:
        if not row.bank_card:
            raise InputError(_("case {case}: no card number on file; a {card} card needs one (or record --cash-approval)").format(
                case=case_id, card=card))
        values["card_type"] = card
        done.append(_("{card} card").format(card=card))
    if cash_approval:
        values["cash_approval"] = cash_approval
        done.append(_("cash approval"))
    if amount_yuan is not None:
        if not reason:
            raise InputError(_("case {case}: an amount different from the standard needs --reason").format(case=case_id))
        values.update(amount=int(amount_yuan * 100), override_reason=reason)
        done.append(_("amount {yuan:.2f} ({reason})").format(yuan=amount_yuan, reason=reason))
    if values:
        conn.execute(c.update().where(c.c.id == case_id).values(values))
    for name in documents:
        conn.execute(store.insert(conn, d).values(case_id=case_id, name=name, recorded_on=as_of, by=by)
                     .on_conflict_do_nothing(index_elements=["case_id", "name"]))
        done.append(_("document {name}").format(name=name))
    if not done:
        raise InputError(_("nothing to record: give --callback-outcome, --document, --card, --bank-card, --cash-approval or --amount"))
    return done


SHEET_COLUMNS = ["case", "callback_outcome", "documents", "card", "cash_approval"]


def record_sheet(conn: Connection, path, as_of: date, by: str) -> int:
    """Record a sheet of facts (case,callback_outcome,documents,card,cash_approval;
    documents joined by ;), all or nothing: every bad row is reported, none is kept."""
    data = sheets.read(path, {k: k for k in SHEET_COLUMNS}, ["case"])
    problems = []
    for row_no, raw in data.rows:
        try:
            case_id = int(sheets.text(raw.get("case")))
            if not 1 <= case_id <= 2_147_483_647:
                raise ValueError
            record(conn, case_id, as_of, by,
                   callback_outcome=sheets.text(raw.get("callback_outcome")) or None,
                   documents=[x for x in sheets.text(raw.get("documents")).split(";") if x],
                   card=sheets.text(raw.get("card")) or None, cash_approval=sheets.text(raw.get("cash_approval")) or None)
        except InputError as exc:
            problems += [_("row {row}: {problem}").format(row=row_no, problem=p) for p in exc.problems]
        except ValueError:
            problems.append(_("row {row}: {problem}").format(row=row_no, problem=_("case '{case}' is not a case number").format(
                case=sheets.text(raw.get("case")))))
    if problems:
        raise InputError(problems)  # the caller's transaction rolls back every row
    return len(data.rows)


def import_file(engine, path, programme_key: str, term: str, as_of: date, by: str, entry: audit.Entry,
                keys: sealing.Keys) -> int:
    """Import a case file all or nothing: validate every row first (a read
    transaction: the roster and the IDs already known), then write the cases in
    one write transaction, so a bad file never holds the write lock."""
    with store.reading(engine) as conn:
        programme = check_file(conn, path, programme_key, term, as_of, keys)
    with audit.audited(engine, entry) as conn:
        return import_cases(conn, path, programme, term, as_of, by, keys)


def check_file(conn: Connection, path, programme_key: str, term: str, as_of: date, keys: sealing.Keys) -> progs.Programme:
    """Every row of a case file checked, in a read transaction (the write pass checks each again)."""
    progs.term_order(term)
    keys = sealing.bind(conn, keys, register=False)
    programme = rules.programme(conn, programme_key)
    unit_types = dict(conn.execute(select(u.c.code, u.c.type_mask)).all())
    validate(conn, path, programme, term, unit_types, existing_people(conn, programme_key, term), as_of, keys)
    return programme


def history(conn: Connection, case_id: int) -> list[dict]:
    rows = conn.execute(select(e).where(e.c.case_id == case_id).order_by(e.c.id)).all()
    if not rows:
        raise InputError(_("case {case} does not exist").format(case=case_id))
    return [dict(on=str(r.on_date), trigger=r.trigger, from_state=r.from_state, to_state=r.to_state, by=r.by,
                 reason=r.reason, at=store.shown_moment(r.at)) for r in rows]
