"""What every command shares: options, the user, the context (database,
channels), one line per bad input (AidcalGroup), the language, progress on a
terminal. Tables and JSON are commands/tables.py."""
from __future__ import annotations

import getpass
import os
import sys
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import click

from aidcal.i18n import _

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


class PeriodType(click.ParamType):
    """A task's period as a plan names it, YYYY-MM, read as a sheet's is (engine/vocabulary.py)."""
    name = "YYYY-MM"

    def convert(self, value, param, ctx):
        from aidcal.engine.vocabulary import period_of
        normal = period_of(str(value))
        if normal:
            return normal
        self.fail(_("'{value}' is not a period (YYYY-MM, e.g. 2021-05)").format(value=value), param, ctx)


PERIOD = PeriodType()


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
        if not amount.is_finite() or not 0 < amount <= 10_000_000 or amount != amount.quantize(Decimal("0.01")):
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
    fn = click.option("--period", type=PERIOD,
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
    def __init__(self, db: str, notify: str | None, db_named: bool = False):
        self.url = db
        self.notify_path = notify
        self.db_named = db_named  # --db or AIDCAL_DB given: the database, even where a server is set
        self._engine = None
        self._remote = False

    @property
    def remote(self):
        """The bureau's server this user's commands go to (client.Remote), or None: local."""
        if self._remote is False:
            from aidcal import client
            self._remote = None if self.db_named else client.configured()
        return self._remote

    @property
    def actor(self):
        from aidcal.engine.access import operator
        return operator(getpass.getuser(), user())

    def call(self, name: str, **params):
        """One act (engine/service.py), on the server when one is set, else on the database."""
        params = {k: v for k, v in params.items() if v is not None}
        if self.remote is not None:
            from .files import jsonable
            return self.remote.call(name, jsonable(params))
        from aidcal.engine import service
        spec = service.spec_of(name)
        sealed = spec is not None and spec.sealed
        return service.call(self.engine, self.actor, name, params, today(), keys=self.keys if sealed else None)

    def entry(self, action: str, object: str = ""):
        """The audit entry of a local write (engine/audit.py): the operator, the act, its object."""
        from aidcal.engine import audit
        return audit.Entry(self.actor.name, action, object=str(object))

    def writing(self, action: str, object: str = "", engine=None):
        """A local write transaction that ends with its audit entry."""
        from aidcal.engine import audit
        return audit.audited(engine or self.engine, self.entry(action, object))

    @property
    def keys(self):
        """The bureau's key file (AIDCAL_KEY_FILE, else the user's own), read when a command
        seals or opens personal data; None where there is none (the engine says what to do)."""
        return key_file(required=False)

    @property
    def notify(self):
        from aidcal.engine import channels
        return channels.read(self.notify_path, os.environ)

    def _bureau_only(self) -> None:
        """A command that reaches the database directly runs on the bureau's machine only: with a
        server set (and no --db), it is refused rather than run on whatever database lies here."""
        if self.remote is not None:
            from aidcal.engine.errors import InputError
            command = " ".join(click.get_current_context().command_path.split()[1:])
            raise InputError(_("{command} runs on the bureau's database, not through the server "
                               "(the bureau's operator runs it; or give --db)").format(command=command))

    @property
    def engine(self):
        """The database, which must exist and hold a plan: anything else would answer
        with an empty list that reads as an all-clear."""
        if self._engine is None:
            self._bureau_only()
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
            self._bureau_only()
            from aidcal.engine import store
            self._engine = store.connect(self.url, create=True)
        return self._engine

    def close(self) -> None:
        """Link the command's audit entries and release the database connections when it ends; warn, once, of every
        year whose holiday notice is not in (its working days follow the law alone)."""
        if self._engine is not None:
            if "aidcal.engine.audit" in sys.modules:  # a command that wrote leaves its audit entries linked
                from aidcal.engine import audit
                from aidcal.engine.errors import one_line
                try:
                    audit.link_own(self._engine)
                except Exception as exc:  # its write stands, committed: the next command, the server or the night links them
                    say(_("warning: ") + _("this command's audit entries are not linked into the chain yet ({error}); "
                                           "the next command or the server links them").format(error=one_line(exc)))
            self._engine.dispose()
        years = set(self._remote.years_without_notice) if self._remote else set()  # the server's, for this command
        if "aidcal.engine.workdays" in sys.modules:
            from aidcal.engine.workdays import years_without_notice
            years.update(years_without_notice())
        for year in sorted(years):
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
        from aidcal.engine.errors import InputError, Refused
        try:
            return super().invoke(ctx)
        except InputError as exc:
            from aidcal.engine.masking import mask_personal
            for problem in exc.problems:
                click.echo(_("error: ") + mask_personal(problem), err=True)
            ctx.exit(2)
        except Refused as exc:
            from aidcal.engine.masking import mask_personal
            click.echo(_("refused: ") + mask_personal(str(exc)), err=True)
            ctx.exit(3)


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
            if isinstance(param.type, click.Path):  # "file" in its errors: 文件 '月报.pdf' 不存在
                translated(param.type, "name")
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

    from .tables import console
    with Progress(SpinnerColumn(), TextColumn(label), BarColumn(), TimeElapsedColumn(), transient=True,
                  console=console(stderr=True)) as bar:
        bar.add_task(label, total=None)
        yield


def progress_bar(label: str):
    """A progress callback on a terminal; nothing in a pipe."""
    if not sys.stderr.isatty():
        return None, _null()
    from rich.progress import Progress

    from .tables import console
    bar = Progress(transient=True, console=console(stderr=True))
    task = bar.add_task(label, total=None)
    return (lambda done, total: bar.update(task, completed=done, total=total)), bar


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def not_after_today(as_of: date | None) -> date:
    """The day work was done, or today: never a day still to come."""
    from aidcal.engine.tasks import not_after
    return not_after(as_of, today())


def key_file_path():
    from pathlib import Path
    named = os.environ.get("AIDCAL_KEY_FILE", "").strip()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(named) if named else Path(base) / "aidcal" / "keys.json"


def key_file(required: bool = True):
    """The keys of AIDCAL_KEY_FILE (which must exist when named), else of the user's own key file."""
    from aidcal.engine import sealing
    path = key_file_path()
    if not required and not os.environ.get("AIDCAL_KEY_FILE", "").strip() and not path.exists():
        return None
    return sealing.read(path)


def say(message: str) -> None:
    click.echo(message, err=True)
