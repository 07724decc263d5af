"""`aidcal tasks …` and `aidcal overdue`: schools' work and the supervisor's overdue list."""
from __future__ import annotations

import click

from aidcal.engine.vocabulary import TASK_STATUSES
from aidcal.i18n import _

from .files import evidence_file, sheet_upload, write_produced
from .shell import DATE, YEAR, as_of_option, format_option, say, task_target, working
from .tables import OVERDUE_HEADERS, print_table, render


@click.group()
def tasks():
    """A unit's tasks: list, mark done, reopen; for supervisors: extend, waive, import sheets."""


@tasks.command("list")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
@click.option("--month", help="Only this period: YYYY-MM, or a month number of the as-of year.")
@click.option("--status", "state", type=click.Choice(TASK_STATUSES),
              help="Only tasks with this status (as of --as-of).")
@click.option("--plan", metavar="CODE", help="Only tasks of the plan issued by this authority (6-digit code).")
@as_of_option
@format_option()
@click.pass_obj
def tasks_list(obj, unit_code, month, state, plan, as_of, fmt):
    """All tasks of a unit with their due dates and status as of a day."""
    listed = obj.call("tasks.list", unit=unit_code, month=month, status=state, plan=plan, as_of=as_of)
    rows = listed["rows"]
    render(fmt, _("tasks of {unit} (as of {day})").format(unit=unit_code, day=listed["as_of"]), rows,
           ["period", "due", "status", "done_at", "task", "title", "evidence_files", "note"]
           + (["reason"] if any(r["reason"] for r in rows) else [])  # a waived task's or a moved deadline's
           + (["plan"] if len({r["plan"] for r in rows}) > 1 else []),
           keep=("period", "task"))  # what a school types into `tasks done`, at any width


def _say_result(unit_code: str, result: dict) -> None:
    click.echo(_("{unit} {task} {period}: {message}").format(unit=unit_code, task=result["task"], period=result["period"],
                                                               message=result["message"]))


@tasks.command("done")
@task_target
@click.option("--evidence", "evidence_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A file proving the work (repeatable); stored in the database by content hash.")
@click.option("--note", help="A note kept with the completion.")
@click.option("--as-of", type=DATE, default=None, help="The day the work was done (YYYY-MM-DD); default: today.")
@click.pass_obj
def tasks_done(obj, unit_code, task, period, plan, evidence_files, note, as_of):
    """Mark TASK (its key in calendar.yaml) done for a unit; done on the due date is on time."""
    files = [evidence_file(obj, f) for f in evidence_files]
    _say_result(unit_code, obj.call("tasks.done", unit=unit_code, task=task, period=period, plan=plan,
                                    as_of=as_of, note=note, files=files))


@tasks.command("reopen")
@task_target
@click.option("--reason", required=True, help="Why the completion is withdrawn.")
@as_of_option
@click.pass_obj
def tasks_reopen(obj, unit_code, task, period, plan, reason, as_of):
    """Withdraw a completion (e.g. the evidence was wrong); the task is open or overdue again."""
    _say_result(unit_code, obj.call("tasks.reopen", unit=unit_code, task=task, period=period, plan=plan,
                                    reason=reason, as_of=as_of))


@tasks.command("extend")
@task_target
@click.option("--to", "to", type=DATE, required=True, help="The new due date for this unit.")
@click.option("--reason", required=True, help="Why the deadline moves (kept in the record).")
@as_of_option
@click.pass_obj
def tasks_extend(obj, unit_code, task, period, plan, to, reason, as_of):
    """Give one unit a new due date for one occurrence (supervisors)."""
    _say_result(unit_code, obj.call("tasks.extend", unit=unit_code, task=task, period=period, plan=plan,
                                    to=to, reason=reason, as_of=as_of))


@tasks.command("waive")
@task_target
@click.option("--reason", required=True, help="Why the unit need not do it (kept in the record).")
@as_of_option
@click.pass_obj
def tasks_waive(obj, unit_code, task, period, plan, reason, as_of):
    """Excuse one unit from one occurrence (supervisors); it is never overdue."""
    _say_result(unit_code, obj.call("tasks.waive", unit=unit_code, task=task, period=period, plan=plan,
                                    reason=reason, as_of=as_of))


@tasks.command("history")
@task_target
@format_option()
@click.pass_obj
def tasks_history(obj, unit_code, task, period, plan, fmt):
    """Every write to a unit's task (one period with --period, else every period): who, when, on which day, what, why."""
    rows = obj.call("tasks.history", unit=unit_code, task=task, period=period, plan=plan)
    render(fmt, _("{unit} {task}: its record").format(unit=unit_code, task=task), rows, ["period", "kind", "on", "at", "by", "detail"])


@tasks.command("evidence")
@task_target
@click.option("--output", "folder", required=True, type=click.Path(file_okay=False),
              help="The folder to write the stored files into (created if missing).")
@click.pass_obj
def tasks_evidence(obj, unit_code, task, period, plan, folder):
    """Write the evidence stored for one occurrence of a unit's task, under the names it was attached with."""
    files = obj.call("tasks.evidence", unit=unit_code, task=task, period=period, plan=plan)
    written = write_produced(files, folder)
    say(_("{n} evidence files written to {folder}: {files}").format(n=len(written), folder=folder, files=_(", ").join(written)))


@tasks.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@as_of_option
@click.pass_obj
def tasks_import(obj, file, as_of):
    """Record many completions from a sheet (CSV or XLSX), all or nothing.

    Header: unit,task,period,done_at,note[,evidence][,plan] or 学校代码,任务,期次,完成日期,备注[,佐证材料][,计划发文单位];
    evidence names a file next to the sheet; plan (the issuing authority) where two plans of the unit share the key.
    """
    from aidcal.engine.vocabulary import COMPLETION_ALIASES, COMPLETION_COLUMNS
    sheet, evidence = sheet_upload(obj, file, COMPLETION_ALIASES, list(COMPLETION_COLUMNS[:5]))
    with working(_("importing completions")):
        report = obj.call("tasks.import", sheet=sheet, evidence=evidence, as_of=as_of)
    click.echo(_("completions: {recorded} recorded ({late} late), {already} already done").format(
        recorded=report["recorded"], late=report["late"], already=report["already_done"]))


@click.command()
@as_of_option
@click.option("--authority", help="A supervisor's subtree: the units under this bureau (6-digit code); a city's "
                                  "summary rolls up per county, a province's per city.")
@click.option("--plan", help="Only tasks of the plan issued by this authority (6-digit code).")
@click.option("--unit", help="Only this unit (code).")
@click.option("--town", help="Only units of this town (乡镇).")
@click.option("--type", "unit_type", help="Only units of this type (e.g. senior or 高中).")
@click.option("--year", type=YEAR, help="Only the plan of this year (default: every loaded year).")
@click.option("--limit", type=click.IntRange(min=0), default=30, show_default=True,
              help="Rows (and summary groups) shown in the table; json/csv/xlsx carry every row.")
@format_option(("table", "json", "csv", "xlsx"))
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file (required for xlsx).")
@click.pass_obj
def overdue(obj, as_of, authority, plan, unit, town, unit_type, year, limit, fmt, output):
    """Which unit is late on what: a summary (by town and unit type; a city's by county, a province's by city),
    then the longest-overdue rows."""
    if fmt == "xlsx" and not output:
        raise click.UsageError(_("--format xlsx needs --output FILE"))
    if fmt == "table" and output:
        raise click.UsageError(_("--output writes json, csv or xlsx: give --format too"))
    listed = obj.call("overdue", as_of=as_of, authority=authority, plan=plan, unit=unit, town=town, unit_type=unit_type,
                      year=year, limit=limit, table=fmt == "table")
    as_of, rows = listed["as_of"], listed["rows"]
    if fmt != "table":
        from aidcal.actions.exports import write
        write(rows, listed["columns"], OVERDUE_HEADERS, fmt, output, title=f"逾期任务（截至 {as_of}）")  # a file to send on: Chinese
        if output:
            say(_("{n} overdue rows written to {file}").format(n=len(rows), file=output))
        return
    summary = listed["summary"]
    total = sum(s["overdue"] for s in summary)
    units = sum(s["units"] for s in summary if not s.get("bureau"))  # a city's rolled-up groups mark none
    own = sum(s["overdue"] for s in summary if s.get("bureau"))
    title = (_("overdue as of {day}: {n} tasks ({own} the bureau's own work), {units} units") if own else
             _("overdue as of {day}: {n} tasks, {units} units")).format(day=as_of, n=total, units=units, own=own)
    if len(summary) > limit:  # a province has thousands of town × type groups
        title += _("; the {limit} groups most overdue shown (of {n}; --limit shows more)").format(limit=limit, n=len(summary))
    print_table(title, summary[:limit], listed["summary_columns"], limited=limit == 0)
    print_table(_("the {n} longest overdue").format(n=len(rows)), rows,
                ["unit", "unit_name", "task", "title", "period", "due", "days_overdue", "workdays_overdue"], limited=limit == 0)
