"""What every command shares: options, the user, the context (database,
channels), one line per bad input (AidcalGroup), and rendering: tables with
Chinese headers for people, JSON for scripts."""
from __future__ import annotations

import getpass
import os
import re
import sys
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import click

from aidcal.i18n import N_, _

TZ = ZoneInfo("Asia/Shanghai")
FORMATS = ("table", "json")


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            day = date.fromisoformat(value)
        except ValueError:
            self.fail(_("'{value}' is not a date (YYYY-MM-DD)").format(value=value), param, ctx)
        if not 2000 <= day.year <= 2100:  # plans are 2000..2100; working days far from them mean nothing
            self.fail(_("'{value}' is outside the years aidcal plans for (2000–2100)").format(value=value), param, ctx)
        return day


DATE = DateType()


class MoneyType(click.ParamType):
    """Yuan with at most two decimals, exact (Decimal): money is never a float."""
    name = "YUAN"

    def convert(self, value, param, ctx):
        from decimal import Decimal, InvalidOperation
        if isinstance(value, Decimal):
            return value
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(_("'{value}' is not an amount in yuan (e.g. 625 or 312.50)").format(value=value), param, ctx)
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")) or amount > 10_000_000:
            self.fail(_("'{value}' is not a positive amount in yuan with at most two decimals").format(value=value), param, ctx)
        return amount


MONEY = MoneyType()
ROW_ID = click.IntRange(1, 2_147_483_647)  # a case or notice number: what both backends store, nothing larger
YEAR = click.IntRange(2000, 2100)


def today() -> date:
    return datetime.now(TZ).date()


def utc_now() -> datetime:
    """The wall clock for what is timed to the minute (message retries), in UTC."""
    return datetime.now(UTC)


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


def term_option(required=False):
    return click.option("--term", required=required, metavar="YYYY-spring|YYYY-autumn", help="The term.")


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
        """The database, which must exist and hold a plan: anything else would answer
        with an empty list that reads as an all-clear."""
        if self._engine is None:
            from aidcal.engine import plan, store
            from aidcal.engine.errors import InputError
            engine = store.connect(self.url)
            with store.reading(engine) as conn:
                loaded = plan.any_loaded(conn)
            if not loaded:
                engine.dispose()
                raise InputError(_("no plan is loaded in {url}; load one with aidcal calendar load").format(url=store.shown(self.url)))
            self._engine = engine
        return self._engine

    @property
    def new_engine(self):
        """The database, created if it does not exist yet (only `calendar load` may)."""
        if self._engine is None:
            from aidcal.engine import store
            self._engine = store.connect(self.url, create=True)
        return self._engine

    def close(self) -> None:
        """Release the database connections when the command ends; warn, once, of every
        year whose holiday notice is not in (its working days follow the law alone)."""
        if self._engine is not None:
            self._engine.dispose()
        if "aidcal.engine.workdays" in sys.modules:
            from aidcal.engine.workdays import years_without_notice
            for year in years_without_notice():
                say(_("warning: ") + _("the State Council's holiday notice for {year} is not in: its working days follow the "
                                       "statutory holidays alone; add its 调休 to calendar.yaml (workdays:, holidays:) when it "
                                       "comes out").format(year=year))


class AidcalGroup(click.Group):
    """Bad input (engine.errors.InputError) becomes one line per problem and exit 2;
    click's own usage errors become one line too, naming the command's --help."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        speak(_language_asked(args), self)
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # a group named alone: its help, as click shows it
            click.echo(exc.format_message(), err=True)
            sys.exit(2)
        except click.UsageError as exc:
            from aidcal.engine.masking import mask_personal

            from .helptext import punctuated
            hint = _(" (see: {command} --help)").format(command=exc.ctx.command_path) if exc.ctx else ""
            click.echo(_("error: ") + mask_personal(punctuated(exc.format_message())) + hint, err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(_("error: ") + exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo(_("aborted"), err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        from aidcal.engine.errors import InputError
        try:
            return super().invoke(ctx)
        except InputError as exc:
            from aidcal.engine.masking import mask_personal
            for problem in exc.problems:
                click.echo(_("error: ") + mask_personal(problem), err=True)
            ctx.exit(2)


def _language_asked(args: list[str]) -> str:
    """--lang (before the command), else AIDCAL_LANG, else Chinese; the locale is never read."""
    k = 0
    while k < len(args):
        arg = args[k]
        if arg == "--lang" and k + 1 < len(args):
            return args[k + 1] if args[k + 1] in ("zh", "en") else "zh"
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1] if arg.split("=", 1)[1] in ("zh", "en") else "zh"
        if not arg.startswith("-"):
            break  # the command: options after it are its own
        k += 2 if arg in ("--db", "--notify") else 1
    asked = os.environ.get("AIDCAL_LANG", "").strip().lower()
    return asked if asked in ("zh", "en") else "zh"


def speak(language: str, root: click.Command) -> None:
    """Use `language` for this process: the catalog, every command's and option's help,
    and click's own texts (Usage:, its usage errors), measured by display width."""
    from aidcal import i18n

    from .helptext import use as fit_help
    i18n.use(language)
    fit_help()
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.termui
    import click.types
    import click.utils
    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.termui,
                   click.types, click.utils):
        if hasattr(module, "_"):
            module._ = i18n._
        if hasattr(module, "ngettext"):
            module.ngettext = i18n.ngettext

    def translated(thing, attribute):
        """From the English text kept beside it: a process (or a test) may switch languages."""
        kept = f"_english_{attribute}"
        if not hasattr(thing, kept):
            setattr(thing, kept, getattr(thing, attribute))
        english = getattr(thing, kept)
        setattr(thing, attribute, english and i18n._(english))

    def translate(command):
        command._help_option = None  # click keeps the --help option it made, with its text, per command
        translated(command, "help")
        translated(command, "short_help")
        for param in command.params:
            if isinstance(param, click.Option):
                translated(param, "help")
        for sub in getattr(command, "commands", {}).values():
            translate(sub)
    translate(root)


@contextmanager
def working(label: str):
    """An activity bar on stderr while long work runs, on a terminal only: silent in
    pipes, files and under cron, so scripts and logs see only the result."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    with Progress(SpinnerColumn(), TextColumn(label), BarColumn(), TimeElapsedColumn(), transient=True,
                  console=_console(stderr=True)) as bar:
        bar.add_task(label, total=None)
        yield


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
    width = None if stream.isatty() else int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else 200
    return Console(stderr=stderr, highlight=False, width=width)


# Columns a narrow terminal gives up first, in this order: codes beside their names, then dates and
# details; the names (school, task title, student) stay and wrap by character.
NARROW_DROPS = (("workdays_overdue", None), ("town", None), ("type", None), ("task", "title"), ("unit", "unit_name"),
                ("period", None), ("done_at", None), ("evidence_files", None), ("id_number", "name"), ("term", None),
                ("drafted_on", None), ("due_on", None), ("at", None), ("by", None), ("term_from", None), ("counts", None),
                ("finished", None), ("source", None), ("loaded_at", None), ("parent", None), ("started", None))
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[0-9A-Za-z])|(?<=[0-9A-Za-z]) (?=[\u3000-\u9fff\uff00-\uffef])")


# The words machines exchange, as people read them in tables (JSON keeps the words themselves).
WORDS = (N_("open"), N_("overdue"), N_("done"), N_("done_late"), N_("cancelled"), N_("waived"), N_("pending"), N_("sent"),
         N_("failed"), N_("superseded"), N_("heads_up"), N_("reminder"), N_("notice"), N_("escalate"), N_("draft"),
         N_("issued"), N_("discarded"), N_("rectified"), N_("rectified_late"), N_("escalated"), N_("dropped"), N_("running"),
         N_("ok"), N_("error"), N_("import"), N_("reopen"), N_("extend"), N_("waive"), N_("cancel"), N_("close"),
         N_("eligibility"), N_("publicity"), N_("review"), N_("approval"), N_("payout"), N_("callback"), N_("archive"),
         N_("stopped"), N_("recovered"), N_("withdrawn"), N_("terminated"), N_("nomination"),
         N_("application"), N_("first_review"), N_("award"), N_("certified"), N_("contracted"), N_("disbursed"),
         N_("publish"), N_("object"), N_("dismiss"), N_("uphold"), N_("approve"), N_("pay"), N_("call_back"),
         N_("withdraw"), N_("terminate"), N_("stop"), N_("recover"), N_("transfer"), N_("bank_failed"), N_("screen"),
         N_("certify"), N_("contract"), N_("disburse"), N_("notices"), N_("messages"))
WORD_COLUMNS = {"status", "rung", "outcome", "kind", "state", "from_state", "to_state", "trigger"}


def cell(value) -> str:
    """A value as a table shows it: lists joined by 、, and no ASCII space between Chinese
    and a number (每月 20 日 → 每月20日), so a title wraps by character, never at that space."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    text = "、".join(value) if isinstance(value, list) else str(value)
    if "|" in text and not text.isascii():
        text = text.replace("|", "、")  # 初中|高中 as a roster writes it, 初中、高中 as people read it
    return _CJK_SPACE.sub("", text) if " " in text else text


def fitting(rows: list[list[str]], columns: list[str], headers: dict[str, str], width: int) -> list[str]:
    """The columns to show at `width`: all where they fit, else without the first of NARROW_DROPS
    (a code only where its name is shown) until the rest fits or only names are left."""
    from rich.cells import cell_len

    def natural(c):
        k = columns.index(c)
        return max([cell_len(headers.get(c, c)), *(cell_len(r[k]) for r in rows)]) + 3

    shown = list(columns)
    for column, beside in NARROW_DROPS:
        if sum(natural(c) for c in shown) + 1 <= width:
            break
        if column in shown and (beside is None or beside in shown) and len(shown) > 1:
            shown.remove(column)
    return shown


def print_table(title: str, rows: list[dict], columns: list[str], headers: dict[str, str]) -> None:
    from rich.table import Table
    console = _console()
    console.print(title)  # its own line: a table title would wrap at the table's width
    if not rows:
        return  # a title that says none, never an empty frame
    cells = [[_(cell(r[c])) if c in WORD_COLUMNS and r[c] else cell(r[c]) for c in columns] for r in rows]
    shown = fitting(cells, columns, headers, console.width)
    table = Table(show_lines=False)
    for c in shown:
        table.add_column(headers.get(c, c), overflow="fold", no_wrap=c not in WRAPPING,
                         justify="right" if c in NUMERIC else "left")
    keep = [columns.index(c) for c in shown]
    for row in cells:
        table.add_row(*(row[k] for k in keep))
    console.print(table)
    if len(shown) < len(columns):
        left_out = "、".join(headers.get(c, c) for c in columns if c not in shown)
        console.print(f"（窄屏未显示：{left_out}；--format json 可见全部）", style="dim")


def render(fmt: str, title: str, rows: list[dict], columns: list[str], headers: dict[str, str] | None = None) -> None:
    """Rows as a table for people or a JSON array for scripts; `headers` names what the common ones do not."""
    if fmt == "json":
        print_json(rows)
    else:
        print_table(title, rows, columns, {**HEADERS, **(headers or {})})


def print_json(rows) -> None:
    from aidcal.actions.exports import write_json
    write_json(rows, sys.stdout)


def write(obj, fn, *args, **kwargs):
    """One engine function in one all-or-nothing write transaction."""
    from aidcal.engine import store
    with store.writing(obj.engine) as conn:
        return fn(conn, *args, **kwargs)


def not_after_today(as_of: date | None) -> date:
    """The day work was done, or today: never a day still to come."""
    from aidcal.engine.errors import InputError
    if as_of is not None and as_of > today():
        raise InputError(_("--as-of {day} is after today ({today}): work is recorded on the day it was done").format(day=as_of, today=today()))
    return as_of or today()


def evidence_max_mb(obj) -> int:
    """The evidence size limit: AIDCAL_EVIDENCE_MAX_MB, else calendar.yaml's evidence: {max_mb}, else 50 MB."""
    from aidcal.engine import plan, store
    from aidcal.engine.errors import InputError
    from aidcal.engine.sheets import EVIDENCE_MAX_MB
    value = os.environ.get("AIDCAL_EVIDENCE_MAX_MB", "")
    if not value:
        with store.reading(obj.engine) as conn:
            return plan.evidence_max_mb(conn) or EVIDENCE_MAX_MB
    if not value.isdigit() or not 1 <= int(value) <= 2048:
        raise InputError(_("AIDCAL_EVIDENCE_MAX_MB '{value}' is not a size in MB (1–2048)").format(value=value))
    return int(value)


def evidence_file(obj, path: str) -> tuple[str, bytes]:
    """An --evidence FILE, checked like a sheet's evidence (regular, not empty, within the limit)."""
    from aidcal.engine.errors import InputError
    from aidcal.engine.sheets import evidence
    try:
        return evidence(path, None, evidence_max_mb(obj))
    except ValueError as exc:
        raise InputError(_("--evidence: {problem}").format(problem=exc)) from None


def say(message: str) -> None:
    click.echo(message, err=True)


# The roster read back: the import's own Chinese headers, but the masked phone under a
# header the import does not accept, so a list re-imported can never overwrite real numbers.
UNIT_HEADERS = {"code": "学校代码", "name": "学校名称", "type": "学校类型", "town": "乡镇", "parent": "上级单位",
                "authority": "主管教育局", "contact": "责任人", "phone": "联系电话（已脱敏）", "email": "电子邮箱",
                "active_from": "启用日期", "closed_on": "停用日期"}
# Long Chinese text folds; codes, dates and numbers never do.
WRAPPING = {"title", "unit_name", "source", "note", "reason", "detail", "error", "counts"}
NUMERIC = {"items", "units", "overdue", "max_days_overdue", "days_overdue", "workdays_overdue", "tasks", "evidence_files"}
HEADERS = {
    "unit": "学校代码", "unit_name": "学校名称", "town": "乡镇", "type": "学校类型", "task": "任务",
    "title": "任务内容", "period": "期次", "due": "截止日期", "days_overdue": "逾期天数",
    "workdays_overdue": "逾期工作日", "units": "滞后单位", "overdue": "逾期任务", "max_days_overdue": "最长逾期天数",
    "status": "状态", "done_at": "完成日期", "evidence_files": "佐证材料", "rung": "督办环节", "due_on": "应办日期",
    "notice": "通报", "rectify_by": "整改期限", "rectified_on": "整改日期", "case": "个案", "name": "姓名",
    "id_number": "身份证号", "programme": "资助项目", "term": "学期", "level": "困难等级", "amount": "金额", "state": "状态",
    "term_from": "执行起始学期", "note": "说明", "authority": "主管教育局", "authority_name": "教育局名称",
    "plan": "计划发文单位", "id": "编号", "number": "文号", "drafted_on": "起草日期", "issued_on": "签发日期",
    "signed_by": "签发人", "items": "事项", "kind": "操作", "on": "日期", "at": "记录时间", "by": "操作人", "detail": "说明",
    "failed_messages": "发送失败消息", "started": "开始时间", "finished": "结束时间", "outcome": "结果", "counts": "各环节数量",
    "error": "错误", "as_of": "业务日期", "year": "年度", "source": "文件", "loaded_at": "载入时间", "loaded_by": "载入人",
    "run": "运行", "channel": "渠道", "recipient": "接收单位", "attempts": "发送次数", "next_attempt_at": "下次发送",
    "last_error": "最近错误", "trigger": "操作", "from_state": "原状态", "to_state": "新状态", "reason": "原因",
}
