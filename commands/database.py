"""`aidcal db …`: schema upgrades and moving a database."""
from __future__ import annotations

import click

from aidcal.i18n import _

from .shell import progress_bar


@click.group()
def db():
    """The database itself: schema upgrades, copying a county to another server."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj):
    """Upgrade the schema to this aidcal's, in place, with nothing lost (needed on PostgreSQL after an update)."""
    from aidcal.engine import store
    engine = store.connect(obj.url, upgrade=True)  # the database must exist: an upgrade creates nothing
    click.echo(_("database schema at {version}").format(version=store.schema_version(engine)))
    engine.dispose()


@db.command("copy")
@click.option("--to", "target", required=True, help="The new, empty database (e.g. postgresql+psycopg://aidcal@dbhost/suixi).")
@click.pass_obj
def db_copy(obj, target):
    """Copy everything (plans, units, tasks, evidence, notices, outbox, cases) into a new database, e.g. SQLite to PostgreSQL."""
    from aidcal.engine import audit, store
    source = obj.engine  # the source must exist and hold a plan before a target is created
    callback, bar = progress_bar(_("copying"))
    destination = store.connect(target, upgrade=True, create=True)
    try:
        with bar:
            copied = store.copy(source, destination, progress=(lambda name, n: callback(n, None)) if callback else None)
        audit.link(destination, everywhere=True)  # the entries the source had not linked, whatever their ids
    finally:
        destination.dispose()
    click.echo(_("copied {n} rows: {tables}").format(n=sum(copied.values()), tables=_(", ").join(f"{k} {v}" for k, v in copied.items() if v)))
