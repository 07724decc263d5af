"""aidcal's command line: parse, call one engine function, render.

Heavy libraries (SQLAlchemy, rich, openpyxl) are imported inside the commands
that use them, so `aidcal --help` stays fast. Bad input ends in one line per
problem on stderr and exit 2; the database is left as it was.
"""
from __future__ import annotations

import getpass
import os
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import click

TZ = ZoneInfo("Asia/Shanghai")
FORMATS = ("table", "json")


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"'{value}' is not a date (YYYY-MM-DD)", param, ctx)


DATE = DateType()


def today() -> date:
    return datetime.now(TZ).date()


def as_of_option(fn):
    return click.option("--as-of", type=DATE, default=None,
                        help="The day to act as of (YYYY-MM-DD); default: today in Asia/Shanghai.")(fn)


def task_target(fn):
    """--unit CODE TASK [--period YYYY-MM] [--plan CODE]: the one occurrence a task command acts on."""
    fn = click.option("--plan", metavar="CODE",
                      help="The authority whose plan TASK is from; needed when two plans of the unit use the key.")(fn)
    fn = click.option("--period", metavar="YYYY-MM",
                      help="The occurrence's period; needed when the unit has more than one open occurrence of TASK.")(fn)
    fn = click.argument("task")(fn)
    return click.option("--unit", "unit_code", required=True, help="The unit's code.")(fn)


def format_option(choices=FORMATS):
    return click.option("--format", "fmt", type=click.Choice(choices), default="table", show_default=True,
                        help="Output format: " + ", ".join(choices) + ".")


def user() -> str:
    """Who a write is recorded as: AIDCAL_USER, else the login name."""
    return os.environ.get("AIDCAL_USER") or getpass.getuser()


class Ctx:
    def __init__(self, db: str, notify: str | None):
        self.url = db
        self.notify_path = notify
        self._engine = None

    @property
    def notify(self):
        from engine import channels
        return channels.read(self.notify_path)

    @property
    def engine(self):
        if self._engine is None:
            from engine import store
            self._engine = store.connect(self.url)
        return self._engine

    def close(self) -> None:
        """Release the database connections when the command ends."""
        if self._engine is not None:
            self._engine.dispose()


class AidcalGroup(click.Group):
    """Bad input (engine.errors.InputError) becomes one line per problem and exit 2."""

    def invoke(self, ctx):
        from engine.errors import InputError
        try:
            return super().invoke(ctx)
        except InputError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            ctx.exit(2)


@click.group(cls=AidcalGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="AIDCAL_DB", default="sqlite:///state.db", show_default=True,
              help="Database URL (SQLAlchemy form); also read from AIDCAL_DB.")
@click.option("--notify", envvar="AIDCAL_NOTIFY", type=click.Path(dir_okay=False),
              default=lambda: "notify.yaml" if os.path.exists("notify.yaml") else None,
              help="Channels and templates for messages (default: ./notify.yaml if present); also AIDCAL_NOTIFY.")
@click.pass_context
def cli(ctx, db, notify):
    """aidcal: the annual student-aid calendar (学生资助工作月度计划) of an education bureau."""
    ctx.obj = Ctx(db, notify)
    ctx.call_on_close(ctx.obj.close)


def progress_bar(label: str):
    """A progress callback on a terminal; nothing in a pipe."""
    if not sys.stderr.isatty():
        return None, _null()
    from rich.progress import Progress
    bar = Progress(transient=True, console=_console(stderr=True))
    task = bar.add_task(label, total=None)
    return (lambda done, total: bar.update(task, completed=done, total=total)), bar


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _console(stderr=False):
    """A terminal's own width; in a pipe or a file, wide enough that Chinese names never wrap."""
    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, highlight=False, width=None if stream.isatty() else 200)


def print_table(title: str, rows: list[dict], columns: list[str], headers: dict[str, str]) -> None:
    from rich.table import Table
    table = Table(show_lines=False)
    for c in columns:
        table.add_column(headers.get(c, c), overflow="fold", no_wrap=c not in WRAPPING,
                         justify="right" if c in NUMERIC else "left")
    for r in rows:
        table.add_row(*("" if r[c] is None else str(r[c]) for c in columns))
    console = _console()
    console.print(title)  # its own line: a table title would wrap at the table's width
    console.print(table)


def render(fmt: str, title: str, rows: list[dict], columns: list[str]) -> None:
    """Rows as a table for people or a JSON array for scripts."""
    if fmt == "json":
        print_json(rows)
    else:
        print_table(title, rows, columns, HEADERS)


def print_json(rows) -> None:
    from actions.exports import write_json
    write_json(rows, sys.stdout)


def say(message: str) -> None:
    click.echo(message, err=True)


WRAPPING = {"title", "unit_name", "source", "note", "reason"}  # long Chinese text folds; codes, dates and numbers never do
NUMERIC = {"units", "overdue", "max_days_overdue", "days_overdue", "workdays_overdue", "tasks", "evidence_files"}
HEADERS = {
    "unit": "学校代码", "unit_name": "学校名称", "town": "乡镇", "type": "学校类型", "task": "任务",
    "title": "任务内容", "period": "期次", "due": "截止日期", "days_overdue": "逾期天数",
    "workdays_overdue": "逾期工作日", "units": "滞后单位", "overdue": "逾期任务", "max_days_overdue": "最长逾期天数",
    "status": "状态", "done_at": "完成日期", "evidence_files": "佐证材料", "rung": "督办环节", "due_on": "应办日期",
    "notice": "通报", "rectify_by": "整改期限", "rectified_on": "整改日期", "case": "个案", "name": "姓名",
    "id_number": "身份证号", "programme": "资助项目", "term": "学期", "level": "困难等级", "amount": "金额", "state": "状态",
    "term_from": "执行起始学期", "note": "说明", "authority": "主管教育局", "authority_name": "教育局名称",
    "plan": "计划发文单位",
}


# ── calendar ────────────────────────────────────────────────────────────────
@cli.group()
def calendar():
    """The year's plan: check, load or reload calendar.yaml, list loaded years."""


@calendar.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--year", type=int, help="Check for this year (default: the file's year:, else this year).")
def calendar_check(file, year):
    """Validate FILE; every problem is reported as file:line: task: what is wrong."""
    from engine import calendar as spec
    plan = spec.read(file, year)
    y = plan.year or today().year
    occurrences = sum(len(task.occurrences(y, plan.work_calendar(), plan.roll)) for task in plan.tasks)
    click.echo(f"{file}: ok: {len(plan.tasks)} tasks, {occurrences} occurrences in {y}")


@calendar.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--year", type=int, help="Load the plan for this year (default: the file's year:, else the as-of year).")
@as_of_option
@click.pass_obj
def calendar_load(obj, file, year, as_of):
    """Load or reload a year's plan and expand it for every applicable unit; prints what changed."""
    from engine import calendar as spec, plan, store
    as_of = as_of or today()
    parsed = spec.read(file, year)
    y = parsed.year or as_of.year
    callback, bar = progress_bar("expanding")
    with bar, store.writing(obj.engine) as conn:
        report = plan.load(conn, parsed, y, as_of, user(), progress=callback)
    head = "loaded" if report.first_load else "reloaded"
    click.echo(f"{head} {parsed.authority_name} {y}: {len(parsed.tasks)} tasks; {report.instances_created} task instances created")
    for line in report.changes:
        click.echo(f"  {line}")
    if not report.first_load and not report.changes:
        click.echo("  no change to the plan")


@calendar.command("list")
@format_option()
@click.pass_obj
def calendar_list(obj, fmt):
    """The years loaded in the database."""
    from engine import plan, store
    with store.reading(obj.engine) as conn:
        rows = plan.list_plans(conn)
    render(fmt, "已载入的年度计划", rows, ["authority", "authority_name", "year", "source", "loaded_at", "loaded_by"])


# ── units ───────────────────────────────────────────────────────────────────
@cli.group()
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
    from engine import store
    from engine.units import import_units, read_roster
    as_of = as_of or today()
    roster = read_roster(file)
    if authority:
        from engine.authorities import check
        authority = check(authority, "--authority")
    callback, bar = progress_bar("expanding")
    with bar, store.writing(obj.engine) as conn:
        report = import_units(conn, roster, as_of, user(), progress=callback, authority=authority)
    click.echo(f"units: {len(report.added)} added, {len(report.changed)} changed, {report.unchanged} unchanged; "
               f"{report.instances_created} task instances created"
               + (f", {report.instances_cancelled} cancelled (types or authority changed)" if report.instances_cancelled else ""))


@units.command("close")
@click.argument("code")
@click.option("--as-of", type=DATE, required=True, help="The day the unit closes; its open tasks due after it are cancelled.")
@click.pass_obj
def units_close(obj, code, as_of):
    """Close unit CODE (merged, closed): open tasks due after --as-of are cancelled, history kept."""
    from engine import store
    from engine.units import close_unit
    with store.writing(obj.engine) as conn:
        n = close_unit(conn, code, as_of, user())
    click.echo(f"unit {code} closed as of {as_of}; {n} open task instances cancelled")


# ── tasks ───────────────────────────────────────────────────────────────────
@cli.group()
def tasks():
    """A unit's tasks: list, mark done, reopen; for supervisors: extend, waive, import sheets."""


@tasks.command("list")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
@click.option("--month", help="Only this period: YYYY-MM, or a month number of the as-of year.")
@click.option("--status", "state", type=click.Choice(["open", "overdue", "done", "done_late", "cancelled", "waived"]),
              help="Only tasks with this status (as of --as-of).")
@click.option("--plan", metavar="CODE", help="Only tasks of the plan issued by this authority (6-digit code).")
@as_of_option
@format_option()
@click.pass_obj
def tasks_list(obj, unit_code, month, state, plan, as_of, fmt):
    """All tasks of a unit with their due dates and status as of a day."""
    from engine import store
    from engine.tasks import list_tasks
    as_of = as_of or today()
    if month and month.isdigit():
        month = f"{as_of.year}-{int(month):02d}"
    with store.reading(obj.engine) as conn:
        rows = list_tasks(conn, unit_code, as_of, month, state, plan)
    render(fmt, f"{unit_code} 的任务（截至 {as_of}）", rows,
           ["period", "due", "status", "done_at", "task", "title", "evidence_files", "note"]
           + (["plan"] if len({r["plan"] for r in rows}) > 1 else []))


def _task_command(fn_name: str, **extra):
    from engine import store, tasks as engine_tasks
    obj = click.get_current_context().obj
    with store.writing(obj.engine) as conn:
        result = getattr(engine_tasks, fn_name)(conn, **extra)
    click.echo(f"{extra['unit_code']} {result['task']} {result['period']}: {result['message']}")


@tasks.command("done")
@task_target
@click.option("--evidence", "evidence_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A file proving the work (repeatable); stored in the database by content hash.")
@click.option("--note", help="A note kept with the completion.")
@click.option("--as-of", type=DATE, default=None, help="The day the work was done (YYYY-MM-DD); default: today.")
def tasks_done(unit_code, task, period, plan, evidence_files, note, as_of):
    """Mark TASK (its key in calendar.yaml) done for a unit; done on the due date is on time."""
    from pathlib import Path
    files = [(Path(f).name, Path(f).read_bytes()) for f in evidence_files]
    _task_command("done", unit_code=unit_code, key=task, period=period, plan=plan, as_of=as_of or today(),
                  by=user(), files=files, note=note)


@tasks.command("reopen")
@task_target
@click.option("--reason", required=True, help="Why the completion is withdrawn.")
@as_of_option
def tasks_reopen(unit_code, task, period, plan, reason, as_of):
    """Withdraw a completion (e.g. the evidence was wrong); the task is open or overdue again."""
    _task_command("reopen", unit_code=unit_code, key=task, period=period, plan=plan, reason=reason, as_of=as_of or today(), by=user())


@tasks.command("extend")
@task_target
@click.option("--to", "to", type=DATE, required=True, help="The new due date for this unit.")
@click.option("--reason", required=True, help="Why the deadline moves (kept in the record).")
@as_of_option
def tasks_extend(unit_code, task, period, plan, to, reason, as_of):
    """Give one unit a new due date for one occurrence (supervisors)."""
    _task_command("extend", unit_code=unit_code, key=task, period=period, plan=plan, to=to, reason=reason,
                  as_of=as_of or today(), by=user())


@tasks.command("waive")
@task_target
@click.option("--reason", required=True, help="Why the unit need not do it (kept in the record).")
@as_of_option
def tasks_waive(unit_code, task, period, plan, reason, as_of):
    """Excuse one unit from one occurrence (supervisors); it is never overdue."""
    _task_command("waive", unit_code=unit_code, key=task, period=period, plan=plan, reason=reason, as_of=as_of or today(), by=user())


@tasks.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@as_of_option
@click.pass_obj
def tasks_import(obj, file, as_of):
    """Record many completions from a sheet (CSV or XLSX), all or nothing.

    Header: unit,task,period,done_at,note[,evidence][,plan] or 学校代码,任务,期次,完成日期,备注[,佐证材料][,计划发文单位];
    evidence names a file next to the sheet; plan (the issuing authority) where two plans of the unit share the key.
    """
    from engine import store
    from engine.completions import import_completions, read_sheet
    as_of = as_of or today()
    rows, files = read_sheet(file)
    with store.writing(obj.engine) as conn:
        report = import_completions(conn, rows, files, as_of, user())
    click.echo(f"completions: {report.recorded} recorded ({report.late} late), {report.already_done} already done")


# ── overdue ─────────────────────────────────────────────────────────────────
@cli.command()
@as_of_option
@click.option("--authority", help="A supervisor's subtree: the units under this bureau (6-digit code); a city's "
                                  "summary rolls up per county, a province's per city.")
@click.option("--plan", help="Only tasks of the plan issued by this authority (6-digit code).")
@click.option("--unit", help="Only this unit (code).")
@click.option("--town", help="Only units of this town (乡镇).")
@click.option("--type", "unit_type", help="Only units of this type (e.g. senior or 高中).")
@click.option("--year", type=int, help="Only the plan of this year (default: every loaded year).")
@click.option("--limit", type=click.IntRange(min=0), default=30, show_default=True,
              help="Rows (and summary groups) shown in the table; json/csv/xlsx carry every row.")
@format_option(("table", "json", "csv", "xlsx"))
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file (required for xlsx).")
@click.pass_obj
def overdue(obj, as_of, authority, plan, unit, town, unit_type, year, limit, fmt, output):
    """Which unit is late on what: a summary (by town and unit type; a city's by county, a province's by city),
    then the longest-overdue rows."""
    from engine import overdue as od, store
    from engine.authorities import check
    as_of = as_of or today()
    if fmt == "xlsx" and not output:
        raise click.UsageError("--format xlsx needs --output FILE")
    filters = dict(authority=authority and check(authority, "--authority"), plan=plan and check(plan, "--plan"),
                   unit=unit, town=town, unit_type=unit_type, year=year)
    with store.reading(obj.engine) as conn:
        if fmt == "table":
            summary_columns, summary = od.summary(conn, as_of, **filters)
            rows = od.rows(conn, as_of, limit=limit, **filters)
        else:
            rows = od.rows(conn, as_of, **filters)
    if fmt != "table":
        from actions.exports import write
        write(rows, od.COLUMNS, HEADERS, fmt, output)
        if output:
            say(f"{len(rows)} overdue rows written to {output}")
        return
    total = sum(s["overdue"] for s in summary)
    title = f"逾期汇总（截至 {as_of}）：{total} 项逾期，{sum(s['units'] for s in summary)} 个单位"
    if len(summary) > limit:  # a province has thousands of town × type groups
        title += f"；显示逾期最多的 {limit} 组（共 {len(summary)} 组，--limit 调整）"
    print_table(title, summary[:limit], summary_columns, HEADERS)
    print_table(f"逾期最久的 {len(rows)} 项", rows,
                ["unit", "unit_name", "task", "period", "due", "days_overdue", "workdays_overdue"], HEADERS)


# ── escalation ──────────────────────────────────────────────────────────────
@cli.command()
@as_of_option
@click.option("--dry-run", is_flag=True, help="Print what a run would take on that day, without writing anything.")
@click.option("--limit", type=click.IntRange(min=0), default=30, show_default=True,
              help="Steps shown in the table (json carries every step).")
@format_option()
@click.pass_obj
def escalate(obj, as_of, dry_run, limit, fmt):
    """The nightly run: take every ladder rung due (reminders, notices, escalations), draft notices, queue messages.

    Idempotent: a second run for the same day takes nothing and queues nothing.
    """
    from engine import escalation, store
    as_of = as_of or today()
    channels = [c.channel for c in obj.notify.channels]
    if dry_run:
        with store.reading(obj.engine) as conn:
            result = escalation.escalate(conn, as_of, user(), channels, dry_run=True)
    else:
        try:
            with store.writing(obj.engine) as conn:
                result = escalation.escalate(conn, as_of, user(), channels)
        except Exception as exc:
            from engine.errors import one_line
            with store.writing(obj.engine) as conn:
                escalation.record_failure(conn, as_of, user(), one_line(exc))
            raise
    if dry_run:
        shown = result.would if fmt == "json" else result.would[:limit]
    else:
        with store.reading(obj.engine) as conn:
            shown = escalation.steps_of_run(conn, result.run_id, None if fmt == "json" else limit)
    if fmt == "json":
        print_json([{k: x[k] for k in ("unit", "task", "period", "rung", "due_on", "taken_on", "notice")} for x in shown])
    else:
        print_table(f"{'将' if dry_run else '已'}执行的督办步骤（{as_of}）：{result.taken} 项，显示 {len(shown)} 项", shown,
                    ["unit", "unit_name", "task", "period", "rung", "due_on", "notice"], HEADERS)
    what = "would take" if dry_run else f"run {result.run_id}: took"
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    say(f"escalate as of {as_of}: {what} {result.taken} steps ({counts})")


@cli.group()
def notices():
    """Public notices (通报): list, show, sign (issue), export for printing, record rectification."""


@notices.command("list")
@format_option()
@click.pass_obj
def notices_list(obj, fmt):
    """Every notice: draft or issued, its number, date and how many units it names."""
    from engine import notices as engine_notices, store
    with store.reading(obj.engine) as conn:
        rows = engine_notices.list_notices(conn)
    if fmt == "json":
        print_json(rows)
    else:
        print_table("通报", rows, ["id", "number", "status", "drafted_on", "issued_on", "signed_by", "units", "items"])


@notices.command("show")
@click.argument("notice_id", type=int)
@as_of_option
@format_option()
@click.pass_obj
def notices_show(obj, notice_id, as_of, fmt):
    """One notice with each unit's late work, its rectification deadline and status as of a day."""
    from engine import notices as engine_notices, store
    with store.reading(obj.engine) as conn:
        notice = engine_notices.show(conn, notice_id, as_of or today())
    if fmt == "json":
        print_json([notice])
        return
    head = f"通报 {notice['number'] or '（草稿）'} 起草 {notice['drafted_on']}" + (
        f"，签发 {notice['issued_on']}（{notice['signed_by']}）" if notice["issued_on"] else "")
    print_table(head, notice["items"], ["unit", "unit_name", "task", "period", "due", "rectify_by", "rectified_on", "status"], HEADERS)


@notices.command("sign")
@click.argument("notice_id", type=int)
@click.option("--by", "signer", required=True, help="Who signs (签发人); recorded on the notice.")
@as_of_option
@click.pass_obj
def notices_sign(obj, notice_id, signer, as_of):
    """Issue a drafted notice: it gets its number (YYYY-N) and date; rectification deadlines start from that date."""
    from engine import notices as engine_notices, store
    as_of = as_of or today()
    with store.writing(obj.engine) as conn:
        number = engine_notices.sign(conn, notice_id, as_of, signer)
    click.echo(f"notice {notice_id} issued as {number} on {as_of} by {signer}")


@notices.command("export")
@click.argument("notice_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["docx", "md"]), required=True, help="docx (Word, to print) or md (Markdown).")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@as_of_option
@click.pass_obj
def notices_export(obj, notice_id, fmt, output, as_of):
    """Write a notice as a document: number, date, the units, their late tasks, due dates and rectification deadlines."""
    from pathlib import Path
    from sqlalchemy import select
    from actions import notice_docs
    from engine import notices as engine_notices, store
    from engine.models import unit
    with store.reading(obj.engine) as conn:
        notice = engine_notices.show(conn, notice_id, as_of or today())
        name = conn.execute(select(unit.c.name).where(unit.c.code == notice["authority"])).scalar() or notice["authority"]
    (notice_docs.write_docx if fmt == "docx" else notice_docs.write_markdown)(notice, name, Path(output))
    say(f"notice {notice_id} written to {output}")


@notices.command("rectify")
@click.argument("notice_id", type=int)
@click.option("--unit", "unit_code", required=True, help="The unit that rectified.")
@click.option("--note", help="What was done (kept with the record).")
@as_of_option
@click.pass_obj
def notices_rectify(obj, notice_id, unit_code, note, as_of):
    """Record that a unit rectified what a notice named (on time if by its deadline)."""
    from engine import notices as engine_notices, store
    as_of = as_of or today()
    with store.writing(obj.engine) as conn:
        n = engine_notices.rectify(conn, notice_id, unit_code, note, as_of, user())
    click.echo(f"notice {notice_id}: {n} items of unit {unit_code} rectified on {as_of}")


@cli.group("outbox")
def outbox_group():
    """Messages decided by runs: list them, deliver the pending ones now."""


@outbox_group.command("list")
@click.option("--status", type=click.Choice(["pending", "sent", "failed", "superseded"]), help="Only messages with this status.")
@format_option()
@click.pass_obj
def outbox_list(obj, status, fmt):
    """Messages with their channel, recipient, stable msgid, status and attempts."""
    from engine import outbox, store
    with store.reading(obj.engine) as conn:
        rows = outbox.list_messages(conn, status)
    render(fmt, "消息", rows, ["id", "run", "channel", "recipient", "status", "attempts", "next_attempt_at", "last_error"])


@outbox_group.command("deliver")
@click.pass_obj
def outbox_deliver(obj):
    """Deliver pending messages now (retries with backoff; completed work is not announced)."""
    from actions.deliver import deliver
    report = deliver(obj.engine, obj.notify)
    for error in report.errors:
        say(f"warning: {error}")
    click.echo(f"outbox: {report.sent} sent, {report.failed} failed (will retry), {report.superseded} superseded")


@cli.group()
def runs():
    """The record of escalation runs."""


@runs.command("list")
@format_option()
@click.pass_obj
def runs_list(obj, fmt):
    """Each run: as-of date, start, end, counts by rung, outcome, errors."""
    from engine import escalation, store
    with store.reading(obj.engine) as conn:
        rows = escalation.list_runs(conn)
    if fmt == "json":
        print_json(rows)
    else:
        for r in rows:
            r["counts"] = " ".join(f"{k}={v}" for k, v in r["counts"].items())
        print_table("督办运行记录", rows, ["id", "as_of", "started", "finished", "outcome", "counts", "error"], HEADERS)


@cli.group("engine")
def engine_group():
    """The daemon."""


@engine_group.command("run")
@click.option("--at", "at", default="01:30", show_default=True, help="When the nightly run starts (HH:MM, Asia/Shanghai).")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write JSON logs to this file (default: stderr).")
@click.pass_obj
def engine_run(obj, at, log_file):
    """Run the scheduler: a catch-up run now, then every night at --at; SIGTERM stops it cleanly."""
    from actions.deliver import deliver
    from engine import logs, scheduler
    try:
        hour, minute = (int(x) for x in at.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"'{at}' is not a time (HH:MM)", param_hint="--at") from None
    if log_file:
        logs.configure(json_to=open(log_file, "a", encoding="utf-8", buffering=1))
    scheduler.run_daemon(obj.engine, obj.notify, deliver, hour=hour, minute=minute)


# ── case workflows ──────────────────────────────────────────────────────────
@cli.group()
def workflow():
    """Case state machines (workflows/*.yaml): check and draw."""


@workflow.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def workflow_check(file):
    """Validate a workflow file: unknown or unreachable states, unknown guards and effects, as file:line errors."""
    from engine import workflow as wf
    spec = wf.read(file)
    click.echo(f"{file}: ok: workflow {spec.name}, {len(spec.states)} states, {len(spec.transitions)} transitions")


@workflow.command("show")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "png"]), default="mermaid", show_default=True,
              help="mermaid (text for any Markdown viewer) or png (needs graphviz).")
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file (required for png).")
def workflow_show(name, fmt, output):
    """Draw workflow NAME (e.g. student_aid) with its triggers and guards."""
    from engine import workflow as wf
    spec = wf.load(name)
    if fmt == "mermaid":
        text = spec.mermaid()
        if output:
            open(output, "w", encoding="utf-8").write(text)
        else:
            click.echo(text)
        return
    if not output:
        raise click.UsageError("--format png needs --output FILE")
    try:
        spec.graph("graphviz").draw(output, prog="dot", format="png")
    except (ImportError, OSError) as exc:
        raise click.ClickException(f"png needs graphviz (pip install graphviz, apt-get install graphviz): {exc}")
    say(f"workflow {name} drawn to {output}")


@cli.group()
def programmes():
    """Aid programmes and their standards (programmes.yaml)."""


@programmes.command("list")
@click.option("--term", help="Only the rates in force in this term (YYYY-spring or YYYY-autumn).")
@format_option()
def programmes_list(term, fmt):
    """Each programme's annual standard per level, and the term each rate takes effect from."""
    from engine import programmes as progs
    rows = []
    for p in progs.read().values():
        rates = [p.rate(term)] if term else list(p.rates)
        for rate in filter(None, rates):
            for level, amount in rate[1].items():
                rows.append(dict(programme=p.key, title=p.title, level=progs.LEVELS.get(level, "不分等级"),
                                 amount=amount, term_from=rate[0]))
    render(fmt, "资助项目与标准（元/生·年）", rows, ["programme", "title", "level", "amount", "term_from"])


@cli.group()
def cases():
    """Students' aid cases: import, list, move (advance, object, resolve), record facts, history."""


def _term_option(required=False):
    return click.option("--term", required=required, metavar="YYYY-spring|YYYY-autumn", help="The term.")


@cases.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--programme", required=True, help="The programme key (see: aidcal programmes list).")
@_term_option(required=True)
@as_of_option
@click.pass_obj
def cases_import(obj, file, programme, term, as_of):
    """Import applicants for a programme and term, all or nothing (CSV UTF-8/BOM/GB18030 or XLSX).

    Header: name,id_number,phone,unit,grade,class,level,bank_card[,boarding] or
    姓名,身份证号,联系电话,学校代码,年级,班级,困难等级,银行卡号[,是否住宿].
    """
    from sqlalchemy import select
    from engine import cases as engine_cases, programmes as progs, store
    from engine.errors import InputError
    from engine.models import unit
    progs.term_order(term)
    known = progs.read()
    if programme not in known:
        raise InputError(f"programme '{programme}' does not exist (known: {', '.join(known)})")
    with store.reading(obj.engine) as conn:
        unit_types = dict(conn.execute(select(unit.c.code, unit.c.type_mask)).all())
        existing = engine_cases.existing_ids(conn, programme, term)
    engine_cases.validate(file, known[programme], term, unit_types, existing)
    with store.writing(obj.engine) as conn:
        n = engine_cases.import_cases(conn, file, known[programme], term, as_of or today(), user())
    click.echo(f"cases: {n} imported into {programme} {term}")


@cases.command("list")
@click.option("--unit", help="Only this unit (code).")
@click.option("--programme", help="Only this programme.")
@_term_option()
@click.option("--state", help="Only cases in this state.")
@click.option("--held-by", "held_by", help="Only cases waiting on this guard (e.g. publicity_ended).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many cases.")
@as_of_option
@format_option()
@click.pass_obj
def cases_list(obj, unit, programme, term, state, held_by, limit, as_of, fmt):
    """Cases with their level, amount for the term and state; ID, phone and bank card masked."""
    from engine import cases as engine_cases, store
    where = engine_cases.scope(unit, programme, term, state)
    if held_by:
        where.append(engine_cases.held_by(held_by, as_of or today()))
    with store.reading(obj.engine) as conn:
        rows = engine_cases.list_cases(conn, where, limit)
    render(fmt, f"个案：{len(rows)} 个", rows,
           ["case", "unit", "name", "id_number", "programme", "term", "level", "amount", "state"])


@cases.command("advance")
@click.argument("case_id", type=int, required=False)
@click.option("--unit", help="Bulk: only this unit (code); without it, every unit.")
@click.option("--programme", help="Bulk: the programme.")
@_term_option()
@click.option("--from", "source", help="Bulk: the state the cases are in.")
@click.option("--to", "dest", required=True, help="The state to move to.")
@as_of_option
@format_option()
@click.pass_obj
def cases_advance(obj, case_id, unit, programme, term, source, dest, as_of, fmt):
    """Move one case (CASE) or every case of a programme, term and state (of one --unit, or all) whose guards hold.

    A held single case is refused with exit 2, naming the guard and the date the move becomes possible.
    """
    import json
    from engine import case_tasks, moves, store
    as_of = as_of or today()
    bulk = (programme, term, source)
    if not (case_id is not None and not any((unit, *bulk)) or case_id is None and all(bulk)):
        raise click.UsageError("give CASE, or --programme, --term and --from (and --unit for one unit), not both")
    with store.writing(obj.engine) as conn:
        if case_id is not None:
            trigger = moves.advance_one(conn, case_id, dest, as_of, user())
            result = {"moved": 1, "held": {}}
        else:
            result = moves.advance_bulk(conn, unit=unit, programme=programme, term=term, source=source, dest=dest,
                                        as_of=as_of, by=user())
        case_tasks.complete_from_cases(conn, as_of, user())
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False))
    elif case_id is not None:
        click.echo(f"case {case_id}: {trigger} → {dest} on {as_of}")
    else:
        held = ", ".join(f"{g} {n}" for g, n in result["held"].items()) or "none"
        click.echo(f"moved {result['moved']} cases {source} → {dest}; held: {held}")


@cases.command("object")
@click.argument("case_id", type=int)
@click.option("--reason", required=True, help="The objection (kept in the history).")
@as_of_option
@click.pass_obj
def cases_object(obj, case_id, reason, as_of):
    """Record an objection raised during publicity: the case goes to review (复核)."""
    from engine import moves, store
    with store.writing(obj.engine) as conn:
        moves.object_to(conn, case_id, reason, as_of or today(), user())
    click.echo(f"case {case_id}: under review")


@cases.command("resolve")
@click.argument("case_id", type=int)
@click.option("--upheld", "upheld", flag_value=True, default=None, help="The objection stands: new --level, or terminate.")
@click.option("--dismissed", "upheld", flag_value=False, help="The objection fails: back to publicity, same end date.")
@click.option("--level", help="With --upheld: the new level (publicity restarts); without it the case is terminated.")
@click.option("--note", required=True, help="The finding (kept in the history).")
@as_of_option
@click.pass_obj
def cases_resolve(obj, case_id, upheld, level, note, as_of):
    """Resolve an objection: --dismissed returns the case to publicity; --upheld changes its level or terminates it."""
    from engine import moves, store
    if upheld is None:
        raise click.UsageError("give --upheld or --dismissed")
    with store.writing(obj.engine) as conn:
        outcome = moves.resolve(conn, case_id, upheld, note, as_of or today(), user(), level)
    click.echo(f"case {case_id}: {outcome}")


@cases.command("record")
@click.argument("case_id", type=int, required=False)
@click.option("--file", "sheet", type=click.Path(dir_okay=False),
              help="A sheet: case,callback_outcome,documents,card,cash_approval (documents joined by ;).")
@click.option("--callback-outcome", help="The phone follow-up's outcome (回访结果).")
@click.option("--document", "documents", multiple=True, help="An archive document now on file (repeatable).")
@click.option("--card", type=click.Choice(["bank", "social-security"]), help="Pay to the student's bank or social-security card.")
@click.option("--cash-approval", help="The reference of a recorded approval to pay in cash.")
@click.option("--amount", type=float, help="An amount (yuan, this term) different from the standard; needs --reason.")
@click.option("--reason", help="Why the amount differs from the standard.")
@as_of_option
@click.pass_obj
def cases_record(obj, case_id, sheet, callback_outcome, documents, card, cash_approval, amount, reason, as_of):
    """Record what the guards need: callback outcomes, documents, card type, cash approvals, amount overrides."""
    from engine import cases as engine_cases, sheets, store
    as_of = as_of or today()
    if (case_id is None) == (sheet is None):
        raise click.UsageError("give CASE or --file FILE")
    if sheet:
        columns = ["case", "callback_outcome", "documents", "card", "cash_approval"]
        data = sheets.read(sheet, {k: k for k in columns}, ["case"])
        items = [(n, dict(callback_outcome=sheets.text(r.get("callback_outcome")) or None,
                          documents=[x for x in sheets.text(r.get("documents")).split(";") if x],
                          card=sheets.text(r.get("card")) or None, cash_approval=sheets.text(r.get("cash_approval")) or None),
                  sheets.text(r.get("case"))) for n, r in data.rows]
    else:
        items = [(None, dict(callback_outcome=callback_outcome, documents=documents, card=card,
                             cash_approval=cash_approval, amount_yuan=amount, reason=reason), str(case_id))]
    from engine.errors import InputError
    problems = []
    with store.writing(obj.engine) as conn:
        for row_no, facts, case in items:
            try:
                engine_cases.record(conn, int(case), as_of, user(), **facts)
            except (InputError, ValueError) as exc:
                problems.append(f"row {row_no}: {exc}" if row_no else str(exc))
        if problems:
            raise InputError(problems)  # rolls back every row: all or nothing
    click.echo(f"recorded for {len(items)} case(s)")


@cases.command("history")
@click.argument("case_id", type=int)
@format_option()
@click.pass_obj
def cases_history(obj, case_id, fmt):
    """Every transition of a case: when, which move, from, to, who, why."""
    from engine import cases as engine_cases, store
    with store.reading(obj.engine) as conn:
        rows = engine_cases.history(conn, case_id)
    render(fmt, f"个案 {case_id} 的流转记录", rows, ["on", "trigger", "from_state", "to_state", "by", "reason"])


@cli.group()
def publicity():
    """The publicity list (公示名单)."""


@publicity.command("export")
@click.option("--unit", required=True, help="The unit (code).")
@click.option("--programme", required=True, help="The programme.")
@_term_option(required=True)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "docx"]), required=True, help="xlsx, csv (with BOM) or docx.")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@as_of_option
@click.pass_obj
def publicity_export(obj, unit, programme, term, fmt, output, as_of):
    """Write the publicity list: name, school, grade, class, programme, level, amount; dates; phone for objections.

    Never an ID number, phone, address or bank card.
    """
    from pathlib import Path
    from actions import publicity as docs
    from engine import cases as engine_cases, store
    with store.reading(obj.engine) as conn:
        listing = engine_cases.publicity_list(conn, unit, programme, term)
    docs.export(listing, engine_cases.PUBLICITY_COLUMNS, fmt, Path(output))
    say(f"publicity list of {len(listing['rows'])} students written to {output}")


# ── database ────────────────────────────────────────────────────────────────
@cli.group()
def db():
    """The database itself: schema upgrades, copying a county to another server."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj):
    """Upgrade the schema to this aidcal's, in place, with nothing lost (needed on PostgreSQL after an update)."""
    from engine import store
    engine = store.connect(obj.url, upgrade=True)
    click.echo(f"database schema at {store.schema_version(engine)}")
    engine.dispose()


@db.command("copy")
@click.option("--to", "target", required=True, help="The new, empty database (e.g. postgresql+psycopg://aidcal@dbhost/suixi).")
@click.pass_obj
def db_copy(obj, target):
    """Copy everything (plans, units, tasks, evidence, notices, outbox, cases) into a new database, e.g. SQLite to PostgreSQL."""
    from engine import store
    callback, bar = progress_bar("copying")
    destination = store.connect(target, upgrade=True)
    try:
        with bar:
            copied = store.copy(obj.engine, destination, progress=(lambda name, n: callback(n, None)) if callback else None)
    finally:
        destination.dispose()
    click.echo(f"copied {sum(copied.values())} rows: " + ", ".join(f"{k} {v}" for k, v in copied.items() if v))


def main() -> None:
    """Entry point: one clear line per problem, never a traceback with locals."""
    try:
        cli.main(prog_name="aidcal")
    except Exception as exc:  # a bug or an unreachable database: one line, no locals, no SQL
        from engine.errors import one_line
        click.echo(f"error: {one_line(exc)}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
