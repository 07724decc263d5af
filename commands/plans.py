"""`aidcal calendar …` and `aidcal units …`: the year's plans and the roster they apply to."""
from __future__ import annotations

import click

from aidcal.i18n import N_, _

from .shell import DATE, YEAR, as_of_option, format_option, progress_bar, say, today, user
from .tables import UNIT_HEADERS, print_table, render


@click.group()
def calendar():
    """The year's plan: check, load or reload calendar.yaml, list loaded years."""


@calendar.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--year", type=YEAR, help="Check for this year (default: the file's year:, else this year).")
def calendar_check(file, year):
    """Validate FILE; every problem is reported as file:line: task: what is wrong."""
    from aidcal.engine import calendar as spec
    plan = spec.read(file, year, default_year=today().year)
    y = plan.year or today().year
    occurrences = sum(len(task.occurrences(y, plan.work_calendar(), plan.roll)) for task in plan.tasks)
    click.echo(_("{file}: ok: {tasks} tasks, {occurrences} occurrences in {year}").format(
        file=file, tasks=len(plan.tasks), occurrences=occurrences, year=y))


@calendar.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--year", type=YEAR, help="Load the plan for this year (default: the file's year:, else the as-of year).")
@as_of_option
@click.pass_obj
def calendar_load(obj, file, year, as_of):
    """Load or reload a year's plan and expand it for every applicable unit; prints what changed."""
    from aidcal.engine import calendar as spec
    from aidcal.engine import plan
    as_of = as_of or today()
    parsed = spec.read(file, year, default_year=as_of.year)
    y = parsed.year or as_of.year
    from aidcal.engine import audit
    callback, bar = progress_bar(_("expanding"))
    entry = obj.entry("calendar.load", file)
    with bar, audit.audited(obj.new_engine, entry) as conn:
        report = plan.load(conn, parsed, y, as_of, user(), progress=callback)
        entry.rows = report.instances_created  # the audit counts what the load wrote, not only its history rows
    head = _("loaded {name} {year}") if report.first_load else _("reloaded {name} {year}")
    click.echo(head.format(name=parsed.authority_name, year=y) + _(": {tasks} tasks; {created} task instances created").format(
        tasks=len(parsed.tasks), created=report.instances_created))
    for line in report.changes:
        click.echo(f"  {line}")
    if not report.first_load and not report.changes:
        click.echo("  " + _("no change to the plan"))


@calendar.command("list")
@format_option()
@click.pass_obj
def calendar_list(obj, fmt):
    """The years loaded in the database."""
    from aidcal.engine import plan, store
    with store.reading(obj.engine) as conn:
        rows = plan.list_plans(conn)
    render(fmt, _("plans loaded"), rows, ["authority", "authority_name", "year", "source", "loaded_at", "loaded_by"])


@click.group()
def units():
    """The roster of units (schools, kindergartens…)."""


@units.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--authority", help="The bureau (6-digit administrative code) the units answer to, where the file "
                                  "has no authority column; default: as before, else the only authority with a plan.")
@as_of_option
@click.pass_obj
def units_import(obj, file, authority, as_of):
    """Import or update the roster from CSV (UTF-8, BOM or GB18030) or XLSX, and expand the plans for new units.

    Header: code,name,type,town,parent,contact,phone[,active_from][,email][,authority] or
    学校代码,学校名称,学校类型,乡镇,上级单位,责任人,联系电话[,启用日期][,电子邮箱][,主管教育局].
    """
    from aidcal.engine.units import import_units, read_roster
    as_of = as_of or today()
    roster = read_roster(file)
    if authority:
        from aidcal.engine.authorities import check
        authority = check(authority, "--authority")
    from aidcal.engine import audit
    callback, bar = progress_bar(_("expanding"))
    entry = obj.entry("units.import", file)
    with bar, audit.audited(obj.engine, entry) as conn:
        report = import_units(conn, roster, as_of, user(), progress=callback, authority=authority)
        entry.rows = len(report.added) + len(report.changed) + report.instances_created + report.instances_cancelled
    click.echo(_("units: {added} added, {changed} changed, {unchanged} unchanged; {created} task instances created").format(
        added=len(report.added), changed=len(report.changed), unchanged=report.unchanged, created=report.instances_created)
               + (_(", {n} cancelled (types or authority changed)").format(n=report.instances_cancelled)
                  if report.instances_cancelled else ""))


@units.command("list")
@click.option("--town", help="Only units of this town (乡镇).")
@click.option("--type", "unit_type", help="Only units of this type (e.g. senior or 高中).")
@click.option("--authority", help="Only units under this bureau (6-digit code).")
@format_option(("table", "json", "csv", "xlsx"))
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file (required for xlsx).")
@click.pass_obj
def units_list(obj, town, unit_type, authority, fmt, output):
    """The roster as loaded: code, name, type, town, parent, authority, contact (phone masked), dates."""
    from aidcal.engine.errors import InputError
    if fmt == "xlsx" and not output:
        raise InputError(_("--format xlsx needs --output FILE"))
    if fmt == "table" and output:
        raise InputError(_("--output writes json, csv or xlsx; give --format too"))
    listed = obj.call("units.list", town=town, unit_type=unit_type, authority=authority)
    rows = listed["rows"]
    if fmt == "table":
        print_table(_("roster: {n} units").format(n=len(rows)), rows, ["code", "name", "type", "town", "parent", "contact", "phone"],
                    {"name": N_("School")})
        return
    from aidcal.actions.exports import write
    write(rows, listed["columns"], UNIT_HEADERS, fmt, output, title="学校名册")
    if output:
        say(_("{n} units written to {file}").format(n=len(rows), file=output))


@units.command("close")
@click.argument("code")
@click.option("--as-of", type=DATE, required=True, help="The day the unit closes; its open tasks due after it are cancelled.")
@click.pass_obj
def units_close(obj, code, as_of):
    """Close unit CODE (merged, closed): open tasks due after --as-of are cancelled, history kept."""
    from aidcal.engine.units import close_unit
    with obj.writing("units.close", code) as conn:
        n = close_unit(conn, code, as_of, user())
    click.echo(_("unit {unit} closed as of {day}; {n} open task instances cancelled").format(unit=code, day=as_of, n=n))
