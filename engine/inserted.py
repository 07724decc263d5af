"""What an audited write inserted into the recorded tables, and the digest of those rows.

A write's audit entry names the rows it inserted by id runs per table (`ids_written`, inside
the write: the rows its statements handed back, driver.watching, and past marks taken before
the first write that hands back nothing, read back at the end); the linker (engine/audit.py)
digests those rows as they stand (`digests`, many entries at once) and `verify --data` digests
them again (`digest_of`) to name rows changed since. Both digest each table in the order of
RECORDED, its rows by id, each row as the C JSON encoder writes it.
"""
from __future__ import annotations

import hashlib
import json
import json.encoder
from datetime import date, datetime

from sqlalchemy import Date, DateTime, bindparam, func, select
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import Connection
from sqlmodel.sql.sqltypes import UTCDateTime

from . import driver, store
from .models import case_document, case_event, event, evidence, identification_review, rule_file, run, step

# The tables whose inserted rows an entry's digest covers: rows written once and never
# changed (the history of tasks and cases, identification reviews, evidence, documents,
# rules, runs and their steps), so their content as written is what the record vouches for.
RECORDED = (event, case_event, identification_review, evidence, case_document, rule_file, run, step)
TABLES = {t.name: t for t in RECORDED}
_MARKS = driver.Prepared(select(*[select(func.coalesce(func.max(t.c.id), 0)).scalar_subquery() for t in RECORDED]))
_READS: dict[tuple[str, str], tuple] = {}


def highest_ids(conn: Connection) -> dict[str, int]:
    """The highest id of every recorded table, in one statement."""
    return dict(zip((t.name for t in RECORDED), _MARKS(conn, {})[0]))


def _reads(conn: Connection, table) -> tuple:
    """How the audit reads `table` on this dialect (built once): the ids of the rows this
    transaction inserted past a mark, the rows of an id range, and each column's form for the digest."""
    key = (conn.dialect.name, table.name)
    if key not in _READS:
        _READS[key] = (
            driver.Prepared(select(table.c.id).where(table.c.id > bindparam("mark"), store.inserted_here(conn))
                           .order_by(table.c.id)),
            driver.Prepared(select(table).where(table.c.id.between(bindparam("lo"), bindparam("hi")))
                           .order_by(table.c.id)),
            _digest_forms(conn.dialect, table))
    return _READS[key]


SEALED = {"identification_review": ("categories_from", "categories_to")}  # engine/sealing.py


def _digest_forms(dialect, table) -> list[tuple[int, object]] | None:
    """The columns (by place) whose driver's value the digest writes in another form, each with
    what turns it into that form; None where every value already is it (integers, text, and
    SQLite's ISO date text, which reads as its date does): a night's 200,000 steps go through
    no converter at all, a completion's history row through one. Sealed values
    are left out: `key rotate` seals them anew, and AES-GCM's tag refuses one altered outside
    aidcal when it is opened."""
    forms = []
    for column in table.c:
        if column.name in SEALED.get(table.name, ()):
            forms.append(_left_out)
        elif dialect.name == "sqlite" and isinstance(column.type, Date) and not isinstance(column.type, DateTime):
            forms.append(None)
        elif dialect.name == "sqlite" and isinstance(column.type, UTCDateTime):
            forms.append(_sqlite_moment)
        else:
            forms.append(column.type.dialect_impl(dialect).result_processor(dialect, None))
    return [(place, form) for place, form in enumerate(forms) if form is not None] or None


def _left_out(_value) -> None:
    return None


def _sqlite_moment(value):
    """A moment SQLite keeps as UTC text ('2021-03-01 01:30:00.000000'), in the form the digest
    writes its column type's value (an aware UTC datetime's ISO form), by slicing the text rather
    than parsing it (half of a completion's digest); text of any other shape, as the type reads it,
    or, where it reads none (edited outside aidcal), as it is: it then differs from its digest."""
    if isinstance(value, str) and len(value) == 26 and value[10] == " " and value[19] == ".":
        return f"{value[:10]}T{value[11:19]}+00:00" if value.endswith(".000000") else f"{value[:10]}T{value[11:]}+00:00"
    try:
        return _SQLITE_UTC(value)
    except (TypeError, ValueError):
        return value


_SQLITE = SQLiteDialect()
_SQLITE_UTC = UTCDateTime().dialect_impl(_SQLITE).result_processor(_SQLITE, None)


def _plain(value):
    """What JSON has no form for, as the digest writes it: dates in ISO form, bytes in hex."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value.hex() if isinstance(value, bytes) else str(value)


# One row's JSON, as json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=_plain)
# writes it, by the C encoder made once rather than once per row (half the time of a night's digest).
ENCODE_ROW = json.encoder.c_make_encoder(None, _plain, json.encoder.encode_basestring, None, ":", ",",
                                          False, False, True)


def _digest_rows(digest, name: str, forms, batches) -> list[int]:
    """Feed each row's text to `digest` (a batch in one update: the hash of the texts one after
    another); the ids (every recorded table's first column)."""
    ids = []
    for batch in batches:
        digest.update("".join(_row_texts(name, forms, batch)).encode())
        ids.extend(row[0] for row in batch)
    return ids


def _row_texts(name: str, forms, batch) -> list[str]:
    """Each row's text as the digest takes it: the table's name and the row, its columns in their digest forms."""
    if forms is not None:
        batch = [_formed(row, forms) for row in batch]
    return ["".join(ENCODE_ROW((name, *row), 0)) for row in batch]


def _formed(row, forms) -> list:
    row = list(row)
    for place, form in forms:
        if row[place] is not None:
            row[place] = form(row[place])
    return row


def _merged(ranges) -> list[list[int]]:
    """Sorted [lo, hi] ranges, those that touch or overlap made one: a write's ids into its runs, many
    entries' runs into the spans the linker reads."""
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def ids_written(conn: Connection, handed_back: dict[str, list[tuple]], marks: dict[str, int] | None) -> tuple[int, dict]:
    """The rows this transaction inserted into the recorded tables: their count and their id runs
    per table (the linker digests them). Rows inserted before the marks were handed back by their
    statements (driver.watching); the ids past the marks (taken before the first write that hands
    back nothing) are read back."""
    count, written = 0, {}
    now = highest_ids(conn) if marks is not None else None
    for table in RECORDED if marks is not None else [t for t in RECORDED if t.name in handed_back]:
        mark = marks[table.name] if marks is not None else None
        ids = sorted(row[0] for row in handed_back.get(table.name, ()) if mark is None or row[0] <= mark)
        if mark is not None and now[table.name] > mark:
            past = _reads(conn, table)[0]
            ids.extend(row[0] for batch in past.batches(conn, {"mark": mark}) for row in batch)  # streamed
        if ids:
            written[table.name] = _merged((i, i) for i in ids)
            count += len(ids)
    return count, written


def digest_of(conn: Connection, written: dict[str, list[list[int]]]) -> tuple[str, dict[str, list[int]]]:
    """The digest of the rows an entry's id runs name, as they stand (each table in the order of
    RECORDED, its rows by id), and the ids found, per table: the linker records it, `verify --data`
    compares it."""
    digest, found = hashlib.sha256(), {}
    for table in RECORDED:
        runs = written.get(table.name)
        if not runs:
            continue
        between, forms = _reads(conn, table)[1:]
        found[table.name] = [i for lo, hi in runs
                             for i in _digest_rows(digest, table.name, forms, between.batches(conn, {"lo": lo, "hi": hi}))]
    return (digest.hexdigest() if found else ""), found


ALONE = 10_000  # rows: an entry naming more is digested on its own, streamed (a night's steps), not held …
HELD = 100_000  # … and so are the entries past this many rows held at once


def digests(conn: Connection, entries) -> dict[int, str]:
    """`digest_of` for many entries, each (id, its id runs as JSON), at once, as the linker needs it:
    the runs of the small ones merged into spans per table, each span read once (a second's
    completions are one read of their history rows, not one read each), every row's text hashed
    into its entry's digest."""
    written = {entry_id: json.loads(runs) for entry_id, runs in entries}
    small, held = {}, 0  # by id, in order: a second's 2,000 entries are looked up in it 2,000 times
    for k, w in written.items():
        size = sum(hi - lo + 1 for runs in w.values() for lo, hi in runs)
        if w and size <= ALONE and held + size <= HELD:
            small[k] = w
            held += size
    digests = {k: digest_of(conn, w)[0] for k, w in written.items() if k not in small}
    texts: dict[str, dict[int, str]] = {}
    for table in RECORDED:
        spans = _merged(sorted(run for w in small.values() for run in w.get(table.name, ())))
        if not spans:
            continue
        between, forms = _reads(conn, table)[1:]
        found = texts[table.name] = {}
        for lo, hi in spans:
            for batch in between.batches(conn, {"lo": lo, "hi": hi}):
                found.update(zip((row[0] for row in batch), _row_texts(table.name, forms, batch)))
    for k, w in small.items():
        parts = [texts[table.name].get(i, "") for table in RECORDED for lo, hi in w.get(table.name, ())
                 for i in range(lo, hi + 1)]
        digests[k] = hashlib.sha256("".join(parts).encode()).hexdigest()
    return digests
