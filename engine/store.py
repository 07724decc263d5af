"""Engines, transactions and dialect differences. The only module that knows
SQLite from PostgreSQL.

SQLite writers take the write lock up front (`BEGIN IMMEDIATE`): a deferred
transaction that later upgrades its lock fails with "database is locked" under
contention, and busy_timeout cannot save it. Readers use a plain deferred
transaction and so never take the write lock.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, literal_column, text, true
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from aidcal.i18n import _

from . import driver
from .errors import InputError

DEFAULT_URL = "sqlite:///state.db"
SCHEMA_HEAD = "0015"  # the newest migration in engine/migrations/versions
BUSY_TIMEOUT_MS = 30_000
BEIJING = ZoneInfo("Asia/Shanghai")
LOCK_RETRIES = 5


def shown(url: str) -> str:
    """A database URL as it may be printed: never its password (nor its query, where
    drivers take keys and passwords too); a SQLite file by its full path."""
    from sqlalchemy.engine import make_url
    parsed = make_url(url).set(query={})
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=True)


def connect(url: str = DEFAULT_URL, upgrade: bool | None = None, create: bool = False) -> Engine:
    """An engine with the schema at head.

    Only `create` makes a new SQLite file: a command run in the wrong folder
    must not create an empty database and report an all-clear from it. An empty
    database gets the schema. An older one is upgraded in place on SQLite (one
    county, embedded); on a shared server only by `aidcal db upgrade`
    (upgrade=True), so hundreds of clients never race to migrate.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(_("'{url}' is not a database URL (e.g. sqlite:///state.db or postgresql+psycopg://user@host/db)").format(
            url=url)) from None
    if (parsed.drivername.startswith("sqlite") and not create and parsed.database not in (None, "", ":memory:")
            and not Path(parsed.database).exists()):
        raise InputError(_("no database at {url}; load a plan with aidcal calendar load (it creates the database), or give --db; "
                           "at a school, log in to the bureau's server: aidcal login --server URL")
                         .format(url=shown(url)))
    if parsed.drivername.startswith("sqlite") and parsed.database and not Path(parsed.database).resolve().parent.is_dir():
        raise InputError(_("{url}: the folder {folder} does not exist").format(url=shown(url), folder=Path(parsed.database).resolve().parent))
    try:
        parsed.get_dialect()
    except Exception:  # NoSuchModuleError, or a driver that is not installed
        kind = parsed.drivername
        raise InputError((_("'{kind}' is not a database aidcal can open: use sqlite:///FILE or postgresql+psycopg://user@host/db "
                            "(pip install 'aidcal[postgres]')") if kind.startswith("postgresql") else
                          _("'{kind}' is not a database aidcal can open: use sqlite:///FILE or postgresql+psycopg://user@host/db"))
                         .format(kind=kind)) from None
    if parsed.drivername.startswith("sqlite") and create and parsed.database not in (None, "", ":memory:"):
        try:  # owner-only from its first byte: names are in clear, and SQLite gives its WAL the file's mode
            os.close(os.open(parsed.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
    # preserve_rowcount: INSERT … SELECT counts (instances created, messages queued) on every backend;
    # SQLAlchemy keeps rowcount for UPDATE and DELETE only unless asked.
    options = {"preserve_rowcount": True}
    if url.startswith("sqlite"):
        engine = create_engine(url, execution_options=options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        # pool_recycle, not pool_pre_ping: a ping before every transaction would cost a round
        # trip per completion; connections older than an hour are replaced instead. READ
        # COMMITTED whatever the server's default: a statement run after a lock is taken sees
        # what the lock's last holder committed (the audit chain's head, audit.link).
        engine = create_engine(url, pool_recycle=3600, isolation_level="READ COMMITTED", execution_options=options)
    event.listen(engine, "before_cursor_execute", driver.watched_statement)
    _ensure_schema(engine, upgrade if upgrade is not None else engine.dialect.name == "sqlite")
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MB: an import inserts into indexes on keyed hashes, in random order
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("aidcal_write", False)
    # straight to the driver: a BEGIN has no parameters or result for SQLAlchemy to process
    conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def writing(engine: Engine):
    """One all-or-nothing write transaction: commit on success, roll back on any error.

    On SQLite the write lock is taken at BEGIN, so a busy database can only fail
    there, before any work: that BEGIN is retried with backoff (each try already
    waits busy_timeout), and no user sees "database is locked" under load.
    """
    conn, transaction = _begin_write(engine)
    with conn, transaction:
        yield conn


@contextmanager
def rehearsing(engine: Engine):
    """A write transaction that is always rolled back: a dry run runs the very
    statements a real run would and reports what they did, then undoes them, so
    it cannot tell a different story. It holds the write lock while it works."""
    conn, transaction = _begin_write(engine)
    try:
        yield conn
    finally:
        transaction.rollback()
        conn.close()


def _begin_write(engine: Engine):
    for attempt in range(LOCK_RETRIES):
        conn = engine.connect().execution_options(aidcal_write=True)
        try:
            return conn, conn.begin()
        except (OperationalError, sqlite3.OperationalError) as exc:  # the BEGIN listener raises the driver's own
            conn.close()
            if "locked" not in str(exc) or attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(min(0.05 * 2 ** attempt, 2.0))
    raise AssertionError("unreachable")  # the loop returns or raises


@contextmanager
def reading(engine: Engine):
    with engine.connect() as conn, conn.begin():
        yield conn


def insert(conn: Connection, table):
    """The dialect's INSERT, which has on_conflict_do_nothing / _do_update on both backends."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)


def analyze(conn: Connection, table) -> None:
    """Give the planner the statistics of a table just filled in this transaction (a
    temporary table, or the run's ladder steps). PostgreSQL never analyzes temporary
    tables itself, autovacuum sees nothing uncommitted, and planning with an empty
    table's statistics it picks nested loops over sequential scans. SQLite's planner
    does well without."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table.name}")


def compact(engine: Engine, tables: list[str]) -> bool:
    """Leave no old copy of rewritten rows in the database's files: SQLite rebuilds the file
    (VACUUM; secure_delete has zeroed freed pages already) and empties its WAL; PostgreSQL
    rewrites the tables (VACUUM FULL), so their dead tuples leave the data files too.
    False when SQLite could not empty its WAL (a reader held it): run it again later."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside any transaction, as VACUUM must be (the driver is in autocommit)
        try:
            raw.driver_connection.execute("VACUUM")
            busy, _log, _done = raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            raw.close()
        return not busy
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM FULL " + ", ".join(tables))
    return True


def erasing(conn: Connection) -> None:
    """From here on this connection zeroes what it frees (SQLite's secure_delete): a rewrite of
    personal data leaves no old copy in a free page. Only the rewrites that need it pay for it
    (a quarter of a write's time); they run in one-off commands, then compact."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete=ON")


def lock_tables(conn: Connection, names: list[str]) -> None:
    """Hold off every other writer of these tables to the commit (readers go on): PostgreSQL
    would otherwise let a write land between a chunk read and its rewrite. SQLite's BEGIN
    IMMEDIATE holds the whole database already."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {', '.join(names)} IN EXCLUSIVE MODE")


def lock(conn: Connection, name: str) -> None:
    """Serialise a critical section across processes for the rest of the
    transaction: a transaction-scoped advisory lock on PostgreSQL (one statement,
    released by the commit or rollback, no row to keep); on SQLite, BEGIN IMMEDIATE
    already holds the database's write lock, so there is nothing to take."""
    if serialised(conn):
        return
    conn.connection.dbapi_connection.execute(_ADVISORY_LOCK, (lock_key(name),))


_ADVISORY_LOCK = "SELECT pg_advisory_xact_lock(%s)"


def serialised(bind: Connection | Engine) -> bool:
    """Whether a write transaction excludes every other writer (SQLite's BEGIN IMMEDIATE), so
    that what it reads stays true until its commit, and writers can only take turns."""
    return bind.dialect.name == "sqlite"


def lock_key(name: str) -> int:
    """The PostgreSQL advisory-lock number of a critical section's name (a signed 64-bit
    hash, so two names never share a lock in practice)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def inserted_here(conn: Connection):
    """Rows inserted by this transaction, among rows with ids past a mark: on SQLite the
    write lock makes every such row this transaction's; on PostgreSQL other writers' rows
    may interleave, and a row's xmin names the transaction that wrote it (a row written inside a
    savepoint names the savepoint's: audited writes use none)."""
    if conn.dialect.name != "postgresql":
        return true()
    return literal_column("xmin::text::bigint") == literal_column("txid_current() & 4294967295")


def shown_moment(moment: datetime | None) -> str | None:
    """A stored moment as the bureau reads it: Beijing time with its offset
    (2021-03-01T09:30:00+08:00). Stored moments are UTC; SQLite gives them back naive."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).isoformat(timespec="seconds")


def day_start(day: date) -> datetime:
    """Midnight in Beijing of a day, as the UTC moment stored moments compare with."""
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING).astimezone(UTC)


def now() -> datetime:
    """The moment of a write, in UTC (recorded beside the as-of date it refers to)."""
    return datetime.now(UTC)


def schema_version(engine: Engine) -> str | None:
    try:
        with reading(engine) as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def _ensure_schema(engine: Engine, upgrade: bool) -> None:
    version = schema_version(engine)
    if version == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if version is None:
        from sqlalchemy import inspect
        found = sorted(set(inspect(engine).get_table_names()) & {"plan", "unit", "task_instance", "aid_case", "notice"})
        if found:
            raise InputError(_("this database has aidcal's tables ({tables}) but no schema version (alembic_version is missing): "
                               "it is damaged or was changed by hand; restore a backup, or copy its data into a new database")
                             .format(tables=_(", ").join(found)))
    if version is not None and version not in known:
        raise InputError(_("database schema {version!r} is unknown to this aidcal (a newer release made it?); upgrade aidcal").format(
            version=version))
    if version is not None and not upgrade:
        raise InputError(_("database schema {version} is older than this aidcal's ({head}); run: aidcal --db URL db upgrade").format(
            version=version, head=SCHEMA_HEAD))
    try:
        with migrating(engine) as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except CommandError as exc:
        raise InputError(_("database schema {version!r} cannot be upgraded: {reason}").format(version=version, reason=exc)) from None


@contextmanager
def migrating(engine: Engine):
    """The write transaction migrations run in. On SQLite, foreign keys are off while they run
    and checked before the commit, as SQLite's procedure for rebuilding a table asks (a parent
    table rebuilt under enforcement fails its children at the commit); on a connection of its
    own, so no pooled connection is left without them."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        with writing(engine) as conn:  # an in-memory database is new, with no rows to rebuild, and only here
            yield conn
        return
    from sqlalchemy.pool import NullPool
    own = create_engine(engine.url, poolclass=NullPool)
    event.listen(own, "connect", _sqlite_migration_pragmas)
    event.listen(own, "begin", _sqlite_begin)
    try:
        with writing(own) as conn:
            yield conn
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise InputError(_("the upgrade would leave {n} rows pointing at rows that are gone (first in table {table}); "
                                   "nothing was changed").format(n=len(broken), table=broken[0][0]))
    finally:
        own.dispose()


def _sqlite_migration_pragmas(dbapi_conn, record) -> None:
    _sqlite_pragmas(dbapi_conn, record)
    dbapi_conn.execute("PRAGMA foreign_keys=OFF")


def copy(source: Engine, target: Engine, progress=None) -> dict[str, int]:
    """Copy every row from one database to another, parents before children,
    in one transaction on the target (which must be empty but for the rules a new
    database is given: the source's rules replace them); then move the target's
    id sequences past the copied ids. Returns rows per table."""
    from sqlalchemy import func, select

    from .models import SQLModel

    tables = SQLModel.metadata.sorted_tables
    with reading(target) as conn:
        used = [t.name for t in tables if t.name != "rule_file" and conn.execute(select(func.count()).select_from(t)).scalar()]
    if used:
        raise InputError(_("the target database is not empty ({tables}); copy into a new database").format(tables=_(", ").join(used)))
    copied = {}
    # one snapshot of the source, table after table: on SQLite its read transaction's; on PostgreSQL
    # REPEATABLE READ, so that a live server's writes meanwhile leave no child without its parent
    isolation = {"isolation_level": "REPEATABLE READ"} if source.dialect.name == "postgresql" else {}
    with source.connect().execution_options(**isolation) as src, src.begin(), writing(target) as dst:
        dst.execute(text("DELETE FROM rule_file"))
        for table in tables:
            rows = src.execution_options(yield_per=5000).execute(select(table))
            copied[table.name] = 0
            for chunk in rows.mappings().partitions():
                dst.execute(table.insert(), [dict(r) for r in chunk])
                copied[table.name] += len(chunk)
                if progress:
                    progress(table.name, copied[table.name])
        if dst.dialect.name == "postgresql":
            for table in tables:
                if "id" in table.c and table.c.id.autoincrement:
                    dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
    return copied
