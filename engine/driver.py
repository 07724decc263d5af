"""Statements run straight on the database driver, and the watch a write transaction can keep
on what they write.

SQLAlchemy's per-execution work (cache key, execution context, result wrapping) costs three
times what SQLite itself does for a one-row statement. The hottest statements (a school's
completion, its audit entry, the token a server request carries) and the bulk inserts of an
import therefore go to the driver directly, here. Values still go through each column type's
bind processor, so they are stored exactly as everywhere else.

A watch (`watching`) tells its keeper which rows the transaction inserted where the statements
hand them back (an INSERT … RETURNING of the whole row), and calls the keeper before every
other write (SQLAlchemy's, a bulk insert, an UPDATE through the driver) with the table written,
or None where it cannot tell: the audit then takes its marks there and reads the ids of the rest
back (engine/audit.py), and a completion's audit entry costs no extra statement. So that no
write passes unseen, only this module and engine/store.py touch the driver connection
(tests/test_sqlalchemy_internals.py holds every other module to that).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

from sqlalchemy import Delete, Insert, Update
from sqlalchemy.engine import Connection

WATCH = "aidcal_watch"  # conn.info: the pooled driver connection's, outliving the transaction, so `watching` empties it


class Watch:
    """A write transaction's watch: the rows handed back, by table, as inserted; and what to do
    before a write whose inserted rows go unseen (told its table, or None)."""
    __slots__ = ("before_blind", "rows")

    def __init__(self, before_blind: Callable[[str | None], None]):
        self.before_blind, self.rows = before_blind, {}


class watching:
    """Watch this transaction's writes until the block ends; gives the rows handed back, by table.
    (A class rather than a generator: every audited write enters it.)"""
    __slots__ = ("info", "watch")

    def __init__(self, conn: Connection, before_blind: Callable[[str | None], None]):
        self.info, self.watch = conn.info, Watch(before_blind)

    def __enter__(self) -> dict[str, list[tuple]]:
        self.info[WATCH] = self.watch
        return self.watch.rows

    def __exit__(self, *_exc) -> None:
        del self.info[WATCH]


def watched_statement(conn, _cursor, statement: str, _parameters, context, _executemany) -> None:
    """SQLAlchemy's before_cursor_execute (engine/store.py): any statement that may write is blind
    to the watch (an INSERT … SELECT, an UPDATE, a temporary table): its keeper is told first."""
    watch = conn.info.get(WATCH)
    if watch is not None and statement.lstrip()[:6].upper() != "SELECT":
        compiled = getattr(context, "compiled", None)
        table = getattr(getattr(compiled, "statement", None), "table", None)
        watch.before_blind(getattr(table, "name", None))


def driver_value(conn: Connection, column, value):
    """`value` as the driver stores it for `column` (e.g. SQLite keeps dates as text)."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process(value) if process else value


def bulk_insert(conn: Connection, table, columns: list[str], rows, chunk: int = 10_000) -> int:
    """Insert tuples straight through the driver's executemany, in chunks: for
    a million rows SQLAlchemy's per-row parameter processing costs more than
    the insert. Values must already be the driver's (see driver_value)."""
    watch = conn.info.get(WATCH)
    if watch is not None:
        watch.before_blind(table.name)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    cursor, count, batch = conn.connection.driver_connection.cursor(), 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == chunk:
            cursor.executemany(sql, batch)
            count, batch = count + len(batch), []
    if batch:
        cursor.executemany(sql, batch)
        count += len(batch)
    return count


class Prepared:
    """A statement compiled once per dialect and run straight on the driver, once per request:
    rows come back as the driver returns them (select text, not dates). An INSERT that returns
    its whole row hands it to a watch as inserted: it must be a plain insert (not ON CONFLICT …
    DO UPDATE, whose rows may be old ones) into a table whose rows the transaction leaves as
    they are."""

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: dict[str, tuple] = {}
        written = statement.table.name if isinstance(statement, Insert | Update | Delete) else None
        whole = isinstance(statement, Insert) and [c.name for c in statement.exported_columns] == \
            [c.name for c in statement.table.c]
        self._writes, self._hands_back = written, whole  # a write's table; whether it returns each row it inserts

    def _compiled(self, dialect):
        """The SQL text and one slot per parameter in the driver's order (its key, default and
        bind processor): all a run needs, worked out once."""
        if dialect.name not in self._by_dialect:
            compiled = self.statement.compile(dialect=dialect)
            slots = []
            for name in compiled.positiontup or compiled.binds:
                bind = compiled.binds[name]
                if bind.expanding:
                    raise ValueError(f"Prepared cannot run an expanding IN ({name}): the SQL would change per call")
                slots.append((name, bind.key, _REQUIRED if bind.required else bind.effective_value,
                              bind.type.dialect_impl(dialect).bind_processor(dialect)))
            self._by_dialect[dialect.name] = compiled.string, slots, compiled.positiontup is not None
        return self._by_dialect[dialect.name]

    @staticmethod
    def _values(slots, positional: bool, params: dict):
        values = []
        for _name, key, default, process in slots:
            value = params.get(key, default)
            if value is _REQUIRED:
                raise KeyError(f"Prepared statement needs parameter {key!r}")
            values.append(process(value) if process is not None and value is not None else value)
        return values if positional else dict(zip((slot[0] for slot in slots), values))

    def _run(self, conn: Connection, params: dict, streamed: bool = False):
        sql, slots, positional = self._compiled(conn.dialect)
        values = self._values(slots, positional, params)
        driver = conn.connection.dbapi_connection
        # psycopg's plain cursor holds every row at execute; a named one is read from the server as fetched
        cursor = driver.cursor(name=f"aidcal_{next(_STREAMS)}") if streamed and conn.dialect.name == "postgresql" \
            else driver.cursor()
        cursor.execute(sql, values)
        return cursor

    def many(self, conn: Connection, rows: list[dict]) -> int:
        """The statement once for each of `rows`, in one executemany (the audit linker's links);
        the count of rows it changed. Not for a watched transaction's inserts: it hands nothing back."""
        if self._writes and conn.info.get(WATCH) is not None:
            conn.info[WATCH].before_blind(self._writes)
        sql, slots, positional = self._compiled(conn.dialect)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.executemany(sql, [self._values(slots, positional, row) for row in rows])
            return cursor.rowcount
        finally:
            cursor.close()

    def __call__(self, conn: Connection, params: dict) -> list[tuple]:
        watch = conn.info.get(WATCH) if self._writes else None
        if watch is not None and not self._hands_back:
            watch.before_blind(self._writes)
        cursor = self._run(conn, params)
        try:
            rows = cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()
        if watch is not None and self._hands_back:
            watch.rows.setdefault(self._writes, []).extend(rows)
        return rows

    def batches(self, conn: Connection, params: dict, chunk: int = 10_000):
        """The driver's rows a chunk at a time, so a million rows are never held at once (a read)."""
        cursor = self._run(conn, params, streamed=True)
        try:
            while batch := cursor.fetchmany(chunk):
                yield batch
        finally:
            cursor.close()


_REQUIRED = object()  # a Prepared parameter with no default: the caller must give it
_STREAMS = itertools.count()  # names of PostgreSQL's server-side cursors, unique in a process
