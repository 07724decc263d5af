"""aidcal's command line: parse, call one engine function, render.

Each command group lives in commands/ (one module per concept); this module is
the root group and the entry point. Heavy libraries (SQLAlchemy, rich, openpyxl)
are imported inside the commands that use them, so `aidcal --help` stays fast.
Bad input ends in one line per problem on stderr and exit 2; the database is
left as it was.
"""
from __future__ import annotations

import os
import sys

import click

from aidcal import __version__
from aidcal.commands.cases import cases
from aidcal.commands.database import db as db_group
from aidcal.commands.identification import identification
from aidcal.commands.keys import key_group
from aidcal.commands.ladder import engine_group, escalate, notices, outbox_group, runs
from aidcal.commands.plans import calendar, units
from aidcal.commands.publicity import publicity
from aidcal.commands.rules import programmes, workflow
from aidcal.commands.server import login, serve
from aidcal.commands.shell import AidcalGroup, Ctx
from aidcal.commands.tasks import overdue, tasks
from aidcal.commands.users import audit, users
from aidcal.i18n import _


@click.group(cls=AidcalGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="aidcal", message="%(prog)s %(version)s")
@click.option("--db", envvar="AIDCAL_DB", default="sqlite:///state.db", show_default=True,
              help="Database URL (SQLAlchemy form); also read from AIDCAL_DB.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="The language people read: zh (default) or en; also AIDCAL_LANG. JSON never changes with it.")
@click.option("--notify", envvar="AIDCAL_NOTIFY", type=click.Path(dir_okay=False),
              default=lambda: "notify.yaml" if os.path.exists("notify.yaml") else None,
              help="Channels and templates for messages (default: ./notify.yaml if present); also AIDCAL_NOTIFY.")
@click.pass_context
def cli(ctx, db, lang, notify):
    """aidcal: the annual student-aid calendar (学生资助工作月度计划) of an education bureau."""
    if not db.strip() or os.environ.get("AIDCAL_DB") == "" and ctx.get_parameter_source("db").name == "DEFAULT":
        raise click.UsageError(_("the database URL is empty (--db or AIDCAL_DB); give one, e.g. sqlite:///state.db"))
    ctx.obj = Ctx(db, notify, db_named=ctx.get_parameter_source("db").name != "DEFAULT")
    ctx.call_on_close(ctx.obj.close)


cli.add_command(calendar)
cli.add_command(units)
cli.add_command(tasks)
cli.add_command(overdue)
cli.add_command(escalate)
cli.add_command(notices)
cli.add_command(outbox_group)
cli.add_command(runs)
cli.add_command(engine_group)
cli.add_command(workflow)
cli.add_command(programmes)
cli.add_command(cases)
cli.add_command(identification)
cli.add_command(publicity)
cli.add_command(db_group)
cli.add_command(users)
cli.add_command(audit)
cli.add_command(serve)
cli.add_command(login)
cli.add_command(key_group)


def main() -> None:
    """Entry point: one clear line per problem, never a traceback with locals."""
    try:
        cli.main(prog_name="aidcal")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("psycopg"):
            click.echo(_("error: ") + _("the PostgreSQL driver is not installed; install it with: pip install 'aidcal[postgres]'"),
                       err=True)
        else:
            click.echo(_("error: ") + _("a part of aidcal is missing ({name}); reinstall aidcal").format(name=exc.name), err=True)
        sys.exit(1)
    except Exception as exc:  # a bug or an unreachable database: one line, no locals, no SQL
        from sqlalchemy.exc import OperationalError

        from aidcal.engine.errors import one_line
        from aidcal.engine.masking import mask_personal
        if isinstance(exc, OperationalError):
            message = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown reason"
            click.echo(_("error: ") + _("the database cannot be opened or used: {reason}").format(reason=mask_personal(message)),
                       err=True)
        else:
            click.echo(_("error: ") + mask_personal(one_line(exc)), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
