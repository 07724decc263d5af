"""Completions in bulk, from the sheets supervisors collect: all or nothing.

The sheet goes into a temporary table; one join resolves every row to its task
instance, and the writes are UPDATE … FROM and INSERT … SELECT over that table,
so 50,000 rows cost a handful of statements, not 50,000 round trips.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, and_, bindparam, func, literal, or_, select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import sealing, sheets, store
from .errors import InputError, at_row, rows_listed
from .models import event, evidence
from .models import instance as i
from .models import occurrence as o
from .models import plan as p
from .models import task as t
from .models import unit as u
from .tasks import store_blob, stored_name
from .vocabulary import COMPLETION_ALIASES, COMPLETION_COLUMNS, period_of

COLUMNS, ALIASES = list(COMPLETION_COLUMNS), COMPLETION_ALIASES


@dataclass
class Sheet:
    """A completion sheet as read: its well-formed rows, the evidence they name,
    and every problem of the rest (row number, line), reported together with
    what the database finds wrong."""
    name: str
    rows: list[dict]
    files: list[tuple[int, str, bytes]]
    problems: list[tuple[int, str]]


@dataclass
class ImportReport:
    recorded: int
    already_done: int
    late: int


def read_sheet(path, evidence_max_mb: int = sheets.EVIDENCE_MAX_MB) -> Sheet:
    """Rows and the evidence files they name (files in the sheet's own folder)."""
    sheet = sheets.read(path, ALIASES, COLUMNS[:5])
    base = Path(path).parent
    problems, rows, files, seen = [], [], [], {}
    for row_no, raw in sheet.rows:
        errors = []
        unit_code, key, note, plan = (sheets.text(raw.get(c)) for c in ("unit", "task", "note", "plan"))
        errors += [_("{field} is empty").format(field=sheets.column_title(field, ALIASES))
                   for field, value in (("unit", unit_code), ("task", key)) if not value]
        for field, value, kind in (("unit", unit_code, "code"), ("task", key, "name"), ("note", note, "note"),
                                   ("plan", plan, "code")):
            problem = value and sheets.field_problem(field, value, kind, ALIASES)
            if problem:
                errors.append(problem)
        period = _period(raw.get("period"))
        if period is None:
            errors.append(_("period '{period}' is not YYYY-MM").format(period=sheets.text(raw.get("period"))))
        try:
            done_on = sheets.parse_date(raw.get("done_at"))
            if done_on is None:
                errors.append(_("{field} is empty").format(field=sheets.column_title("done_at", ALIASES)))
        except ValueError as exc:
            errors.append(_("done_at {problem}").format(problem=exc))
            done_on = None
        ident = (unit_code, key, period)
        if ident in seen:
            errors.append(_("repeats row {row} ({unit} {task} {period})").format(row=seen[ident], unit=unit_code, task=key, period=period))
        seen.setdefault(ident, row_no)
        evidence_name = sheets.text(raw.get("evidence"))
        if evidence_name:
            try:
                files.append((row_no, *sheets.evidence(evidence_name, base, evidence_max_mb)))
            except ValueError as exc:
                errors.append(str(exc))
        problems += [(row_no, at_row(sheet.name, row_no) + e) for e in errors]
        if not errors:
            rows.append(dict(row_no=row_no, unit_code=unit_code, task_key=key, period=period, done_on=done_on,
                             note=note or None, plan=plan or None))
    return Sheet(sheet.name, rows, files, problems)


def _period(value) -> str | None:
    if hasattr(value, "year") and hasattr(value, "month"):
        return f"{value.year}-{value.month:02d}"
    return period_of(sheets.text(value))


def import_completions(conn: Connection, parsed: Sheet, as_of: date, by: str, keys=None) -> ImportReport:
    """Validate every row against the store, then write, in the caller's transaction.
    Every bad row is reported at once, whatever is wrong with it; nothing is written then.
    Evidence is stored sealed (`keys`)."""
    rows, good = parsed.rows, {r["row_no"] for r in parsed.rows}
    files = [f for f in parsed.files if f[0] in good]
    sheet = Table("import_row", MetaData(), Column("row_no", Integer, primary_key=True),
                  Column("unit_code", String), Column("task_key", String), Column("period", String),
                  Column("done_on", Date), Column("note", String), Column("sha256", String),
                  Column("filename", String), Column("plan", String), Column("instance_id", Integer),
                  prefixes=["TEMPORARY"])
    sheet.create(conn)
    try:
        keys = sealing.bind(conn, keys) if files else None
        evidence_of = {row_no: (store_blob(conn, content, keys), stored_name(name)) for row_no, name, content in files}
        if rows:  # a sheet whose every row is bad still reaches _apply, which reports them
            conn.execute(sheet.insert(), [
                {**r, "sha256": evidence_of.get(r["row_no"], (None, None))[0],
                 "filename": evidence_of.get(r["row_no"], (None, None))[1]} for r in rows])
        store.analyze(conn, sheet)
        return _apply(conn, sheet, parsed, as_of, by)
    finally:
        sheet.drop(conn)


def _apply(conn: Connection, sheet: Table, parsed: Sheet, as_of: date, by: str) -> ImportReport:
    r, rows = sheet.c, parsed.rows
    has_evidence = select(func.count()).where(evidence.c.instance_id == i.c.id).scalar_subquery()
    # Inner joins: a row finds its instance (one per plan that has the key for the unit) or
    # nothing; an outer join would carry every other plan's task of the key along, for nothing.
    resolved = conn.execute(
        select(r.row_no, r.done_on, r.sha256, i.c.id.label("instance_id"), i.c.done_on.label("was_done"),
               i.c.cancelled_on, i.c.waived_on, t.c.evidence, has_evidence.label("files"), p.c.authority_code)
        .select_from(sheet.join(u, u.c.code == r.unit_code)
                     .join(t, and_(t.c.key == r.task_key, _of_plan(r))).join(p, p.c.id == t.c.plan_id)
                     .join(o, and_(o.c.task_id == t.c.id, o.c.period == r.period))
                     .join(i, and_(i.c.occurrence_id == o.c.id, i.c.unit_id == u.c.id)))
    ).all()
    problems, by_row = list(parsed.problems), {row["row_no"]: [] for row in rows}
    for x in resolved:
        by_row[x.row_no].append(x)
    sheet_rows = {row["row_no"]: row for row in rows}
    for row_no, found in by_row.items():
        row = sheet_rows[row_no]
        x = found[0] if found else None
        problem = None
        if not found:
            problem = _("no such task for this unit and period (check unit code, task key and period)")
        elif len(found) > 1:
            problem = _("the unit has this task from the plans of {n} authorities ({plans}); name one in a plan column "
                        "(计划发文单位)").format(n=len(found), plans=_(", ").join(sorted(f.authority_code for f in found)))
        elif x.cancelled_on is not None:
            problem = _("cancelled on {day}").format(day=x.cancelled_on)
        elif x.waived_on is not None:
            problem = _("waived on {day}").format(day=x.waived_on)
        elif x.done_on > as_of:
            problem = _("done_at {day} is after the as-of date {as_of}").format(day=x.done_on, as_of=as_of)
        elif x.was_done is None and x.evidence and not x.sha256 and not x.files:
            problem = _("the plan requires evidence ({evidence}); add a file name in the evidence column").format(evidence=x.evidence)
        if problem:
            what = f"{row['unit_code']} {row['task_key']} {row['period']}"
            problems.append((row_no, at_row(parsed.name, row_no) + _("{what}: {problem}").format(what=what, problem=problem)))
    if problems:
        raise InputError(rows_listed(problems))

    # Each row's instance, resolved once above, is kept beside it: the writes below join by primary key.
    open_rows = [dict(row=row_no, instance=found[0].instance_id) for row_no, found in by_row.items()
                 if found[0].was_done is None]
    if open_rows:
        conn.execute(sheet.update().where(r.row_no == bindparam("row")).values(instance_id=bindparam("instance")), open_rows)
    target = (select(r.row_no, r.instance_id, r.done_on, r.note, r.sha256, r.filename, i.c.due)
              .select_from(sheet.join(i, i.c.id == r.instance_id)).where(i.c.done_on.is_(None)).subquery())
    stamp = store.now()
    late = conn.execute(select(func.count()).select_from(target).where(target.c.done_on > target.c.due)).scalar()
    conn.execute(event.insert().from_select(
        ["instance_id", "unit_id", "kind", "on_date", "at", "by", "detail"],
        select(target.c.instance_id, i.c.unit_id, literal("done"), target.c.done_on, literal(stamp), literal(by),
               func.coalesce(target.c.note, literal(""))).join(i, i.c.id == target.c.instance_id),
    ))
    # Reopened work sent again with the same file keeps the file it already has.
    conn.execute(store.insert(conn, evidence).from_select(
        ["instance_id", "sha256", "filename", "added_at", "added_by"],
        select(target.c.instance_id, target.c.sha256, target.c.filename, literal(stamp), literal(by))
        .where(target.c.sha256.is_not(None)),
    ).on_conflict_do_nothing(index_elements=["instance_id", "sha256"]))
    recorded = conn.execute(
        i.update().where(i.c.id == target.c.instance_id)
        .values(done_on=target.c.done_on, done_at=stamp, done_by=by, note=target.c.note)
    ).rowcount
    return ImportReport(recorded=recorded, already_done=len(by_row) - recorded, late=late)


def _of_plan(r):
    """A row that names a plan matches only that authority's task of the key."""
    named = p.alias("named_plan")  # not correlated with the plan the query itself joins
    return or_(r.plan.is_(None), t.c.plan_id.in_(select(named.c.id).where(named.c.authority_code == r.plan)))
