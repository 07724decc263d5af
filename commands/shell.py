"""What every command shares: options, the user, the context (database,
channels), one line per bad input (AidcalGroup), and rendering: tables with
Chinese headers for people, JSON for scripts."""
from __future__ import annotations

import getpass
import os
import sys
from datetime import date, datetime, timezone
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


def local_time(moment: datetime) -> str:
    """A stored moment (UTC) as the bureau reads it: Asia/Shanghai, with the offset."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(TZ).isoformat(timespec="seconds")


def utc_now() -> datetime:
    """The wall clock for what is timed to the minute (message retries), in UTC."""
    return datetime.now(timezone.utc)


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
        from aidcal.engine import channels
        return channels.read(self.notify_path, os.environ)

    @property
    def engine(self):
        if self._engine is None:
            from aidcal.engine import store
            self._engine = store.connect(self.url)
        return self._engine

    def close(self) -> None:
        """Release the database connections when the command ends."""
        if self._engine is not None:
            self._engine.dispose()


class AidcalGroup(click.Group):
    """Bad input (engine.errors.InputError) becomes one line per problem and exit 2."""

    def invoke(self, ctx):
        from aidcal.engine.errors import InputError
        try:
            return super().invoke(ctx)
        except InputError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            ctx.exit(2)


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
    from aidcal.actions.exports import write_json
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
