"""A unit's tasks (list, done, reopen, extend, waive, history, evidence, import) and the overdue list: the acts
schools and supervisors do every day, locally or through the server."""
from __future__ import annotations

from aidcal.i18n import _

from .. import access, completions, filters, store
from .. import overdue as od
from .. import tasks as engine_tasks
from ..access import READ, SCHOOL, SUPERVISE
from ..errors import InputError
from ..service import (
    as_count,
    as_date,
    as_files,
    as_sheet,
    as_sheet_evidence,
    as_text,
    op,
    produced,
    received,
    sheet_within_limit,
    within_limit,
)
from ..vocabulary import TASK_STATUSES

TARGET = dict(unit=as_text, task=as_text, period=as_text, plan=as_text)


@op("tasks.list", READ, unit=as_text, month=as_text, status=as_text, plan=as_text, as_of=as_date)
def tasks_list(conn, actor, today, unit, month=None, status=None, plan=None, as_of=None):
    as_of = as_of or today
    if status is not None and status not in TASK_STATUSES:
        raise InputError(_("status '{status}' is not one of {allowed}").format(status=status, allowed=", ".join(TASK_STATUSES)))
    month = filters.month(month, as_of)
    filters.check(conn, unit=unit, plan=plan)
    return dict(as_of=as_of.isoformat(), rows=engine_tasks.list_tasks(conn, unit, as_of, month, status, plan))


@op("tasks.done", SCHOOL, sealed=True, **TARGET, as_of=as_date, note=as_text, files=as_files)
def tasks_done(conn, actor, today, unit, task, period=None, plan=None, as_of=None, note=None, files=(), keys=None):
    as_of = engine_tasks.not_after(as_of, today)
    if files:  # an upload is checked as a local file is (the plan's limit is read only then)
        within_limit(conn, files)
    return engine_tasks.done(conn, unit, task, period, as_of, actor.by, files=files, note=note, plan=plan, keys=keys)


@op("tasks.reopen", SCHOOL, **TARGET, reason=as_text, as_of=as_date)
def tasks_reopen(conn, actor, today, unit, task, reason, period=None, plan=None, as_of=None):
    return engine_tasks.reopen(conn, unit, task, period, reason, as_of or today, actor.by, plan=plan)


@op("tasks.extend", SUPERVISE, **TARGET, to=as_date, reason=as_text, as_of=as_date)
def tasks_extend(conn, actor, today, unit, task, to, reason, period=None, plan=None, as_of=None):
    return engine_tasks.extend(conn, unit, task, period, to, reason, as_of or today, actor.by, plan=plan)


@op("tasks.waive", SUPERVISE, **TARGET, reason=as_text, as_of=as_date)
def tasks_waive(conn, actor, today, unit, task, reason, period=None, plan=None, as_of=None):
    return engine_tasks.waive(conn, unit, task, period, reason, as_of or today, actor.by, plan=plan)


@op("tasks.history", READ, **TARGET)
def tasks_history(conn, actor, today, unit, task, period=None, plan=None):
    return engine_tasks.history(conn, unit, task, period, plan)


@op("overdue", READ, as_of=as_date, authority=as_text, plan=as_text, unit=as_text, town=as_text, unit_type=as_text, year=as_count,
    limit=as_count, table=bool)
def overdue(conn, actor, today, as_of=None, authority=None, plan=None, unit=None, town=None, unit_type=None,
            year=None, limit=None, table=False):
    """The overdue rows (all of them, or the table's `limit`) and, for the table, the summary.
    A supervisor or auditor who names no bureau sees its own subtree; a unit only itself (service.call)."""
    as_of = as_of or today
    authority = (authority and authority.strip()) or access.default_authority(actor)
    chosen = dict(authority=authority, plan=plan and plan.strip(), unit=unit, town=town, unit_type=unit_type, year=year)
    filters.check(conn, **chosen)
    result = dict(as_of=as_of.isoformat(), columns=od.COLUMNS, rows=od.rows(conn, as_of, limit=limit if table else None, **chosen))
    if table:
        result["summary_columns"], result["summary"] = od.summary(conn, as_of, **chosen)
    return result


@op("tasks.evidence", READ, sealed=True, **TARGET)
def tasks_evidence(conn, actor, today, unit, task, period=None, plan=None, keys=None):
    """The files stored for one occurrence, under the names they were attached with (opened)."""
    return [produced(name, content) for name, content in engine_tasks.evidence_files(conn, unit, task, period, plan, keys)]


def _read_completions(engine, actor, today, values: dict, keys=None) -> dict:
    """The sheet as the engine reads a local one, from a private folder holding it and the evidence it names."""
    with store.reading(engine) as conn:
        limit = within_limit(conn, values.get("evidence", ()))
    sheet_within_limit(values["sheet"], limit)
    with received(values["sheet"], values.get("evidence", ())) as path:
        return {**values, "parsed": completions.read_sheet(path, limit)}


@op("tasks.import", SCHOOL, about=lambda values, reached: values["sheet"][0], prepare=_read_completions,
    sealed=True, sheet=as_sheet, evidence=as_sheet_evidence, as_of=as_date)
def tasks_import(conn, actor, today, sheet, parsed, evidence=(), as_of=None, keys=None):
    """Many completions from one sheet, all or nothing; every unit it names must be within the actor's reach
    (a school imports only its own units' work)."""
    as_of = engine_tasks.not_after(as_of, today)
    access.authorise_named(conn, actor, SCHOOL, lambda: (row["unit_code"] for row in parsed.rows))
    report = completions.import_completions(conn, parsed, as_of, actor.by, keys)
    return dict(recorded=report.recorded, late=report.late, already_done=report.already_done)
