"""The audit record: one chained entry per write or refusal, which no one can quietly edit.

Each entry's hash covers its own fields and the previous entry's hash, so an entry edited,
deleted, inserted or moved breaks the chain where it happened, and a head hash kept outside
the database (a monthly report) shows a cut tail. An entry also carries a digest of the rows
its write inserted into the recorded tables (history, cases, steps, notices…), found by id:
`verify(data=True)` reads them again and names those changed since. Updates to current-state
rows are recorded by the history rows the write inserts beside them, which the digest covers;
a direct UPDATE of an older row is outside what the digest can see (docs/deployment.md).

The entry is appended last in its write's transaction, unlinked, by a plain INSERT that names
the rows the write inserted (their id runs): no writer waits for the chain, nor, on SQLite whose
write lock is the whole transaction's, for the digest. One linker at a time (`link`: the
bureau's server every second, a local command as it ends, the nightly run) then digests those
rows as they stand and gives the entries committed since its last run their places, in the order
of their ids, and their hashes, each an UPDATE the guards allow once (from unlinked to linked,
the digest filled, nothing else changed). Between its commit and its linking (a second at most
where a server runs, the rest of the command locally) an entry is as unchangeable by aidcal's
roles as a linked one, but outside the chain (`verify` counts it apart), and its rows are not
yet vouched for: an edit of them in that moment, outside aidcal, would be digested as written.
"""
from __future__ import annotations

import hashlib
import json
import json.encoder
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Date, DateTime, and_, bindparam, func, literal_column, or_, select
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import Connection
from sqlmodel.sql.sqltypes import UTCDateTime

from . import authorities, driver, store
from .masking import mask_personal
from .models import app_user, case_document, case_event, event, evidence, identification_review, rule_file, run, step
from .models import audit as a
from .models import unit as u

GENESIS = "0" * 64
# The tables whose inserted rows an entry's digest covers: rows written once and never
# changed (the history of tasks and cases, identification reviews, evidence, documents,
# rules, runs and their steps), so their content as written is what the record vouches for.
RECORDED = (event, case_event, identification_review, evidence, case_document, rule_file, run, step)
# The operator's acts on the whole database, on no unit in particular: every supervisor and auditor reads them.
ADMINISTRATION = ("calendar.load", "units.import", "workflow.load", "programmes.load", "escalate", "key.rotate",
                  "key.encrypt-existing", "cases.purge")


@dataclass
class Entry:
    """What a write says of itself; `summary` never holds a personal number."""
    actor: str
    action: str
    object: str = ""
    summary: str = ""
    outcome: str = "done"
    rows: int | None = None  # the write's own count where it is not its history rows (an identification import)
    _kept: tuple[str, str] = field(default=("", ""), init=False, repr=False, compare=False)

    def kept_summary(self) -> str:
        """The summary as the record keeps it (masked), worked out once for each summary: an audited
        write asks before it takes the write lock, so that its holder does not mask it again."""
        if self._kept[0] != self.summary:
            self._kept = (self.summary, mask_personal(self.summary)[:500])
        return self._kept[1]


def chained(prev: str, row) -> str:
    """The entry's hash: its fields in a fixed order with the previous hash (the id and the
    place are left out: the order is the chain's own, by `prev`)."""
    fields = [prev, store.shown_moment(row["at"]), row["actor"], row["action"], row["object"], row["outcome"],
              row["rows"], row["written"], row["digest"], row["summary"]]
    return hashlib.sha256("".join(_ENCODE_ROW(fields, 0)).encode()).hexdigest()


# An audited write runs these inside its write lock, compiled once per dialect and run on the
# driver (driver.Prepared), as the completion's own statements are: the marks only where the
# write's inserted rows cannot all be seen as they are inserted (driver.watching), and the entry,
# its digest and its link left to `link`.
_MARKS = driver.Prepared(select(*[select(func.coalesce(func.max(t.c.id), 0)).scalar_subquery() for t in RECORDED]))
_TABLES = {t.name: t for t in RECORDED}
_FIELDS = [c for c in a.c if c.name not in ("id", "digest", "prev", "hash", "seq")]
_APPEND = driver.Prepared(a.insert().inline().values(
    {**{c.name: bindparam(c.name, type_=c.type) for c in _FIELDS},
     **{name: literal_column("''") for name in ("digest", "prev", "hash")}}))
_READS: dict[tuple[str, str], tuple] = {}


def _marks(conn: Connection) -> dict[str, int]:
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
_ENCODE_ROW = json.encoder.c_make_encoder(None, _plain, json.encoder.encode_basestring, None, ":", ",",
                                          False, False, True)


def _digest_rows(digest, name: str, forms, batches) -> list[int]:
    """Feed each row's text to `digest` (a batch in one update: the hash of the texts one after
    another); the ids (every recorded table's first column)."""
    ids = []
    for batch in batches:
        if forms is not None:
            batch = [_formed(row, forms) for row in batch]
        digest.update("".join(["".join(_ENCODE_ROW((name, *row), 0)) for row in batch]).encode())
        ids.extend(row[0] for row in batch)
    return ids


def _formed(row, forms) -> list:
    row = list(row)
    for place, form in forms:
        if row[place] is not None:
            row[place] = form(row[place])
    return row


def _first(row: tuple) -> int:
    return row[0]


def _runs(ids: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in ids:
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def _written(conn: Connection, handed_back: dict[str, list[tuple]], marks: dict[str, int] | None) -> tuple[int, dict]:
    """The rows this transaction inserted into the recorded tables: their count and their id runs
    per table (`link` digests them). Rows inserted before the marks were handed back by their
    statements (driver.watching); the ids past the marks (taken before the first write that hands
    back nothing) are read back."""
    count, written = 0, {}
    now = _marks(conn) if marks is not None else None
    for table in RECORDED if marks is not None else [t for t in RECORDED if t.name in handed_back]:
        mark = marks[table.name] if marks is not None else None
        ids = sorted(row[0] for row in handed_back.get(table.name, ()) if mark is None or row[0] <= mark)
        if mark is not None and now[table.name] > mark:
            past = _reads(conn, table)[0]
            ids.extend(row[0] for batch in past.batches(conn, {"mark": mark}) for row in batch)  # streamed
        if ids:
            written[table.name] = _runs(ids)
            count += len(ids)
    return count, written


def _digest_of(conn: Connection, written: dict[str, list[list[int]]]) -> tuple[str, dict[str, list[int]]]:
    """The digest of the rows an entry's id runs name, as they stand (each table in the order of
    RECORDED, its rows by id), and the ids found, per table: `link` records it, `verify --data`
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


def _digests(conn: Connection, entries) -> dict[int, str]:
    """`_digest_of` for many entries at once, as `link` needs it: the runs of the small ones
    merged into spans per table, each span read once (a second's completions are one read of
    their history rows, not one read each), every row's text hashed into its entry's digest."""
    written = {row["id"]: json.loads(row["written"]) for row in entries}
    small, held = [], 0
    for k, w in written.items():
        size = sum(hi - lo + 1 for runs in w.values() for lo, hi in runs)
        if w and size <= ALONE and held + size <= HELD:
            small.append(k)
            held += size
    digests = {k: _digest_of(conn, w)[0] for k, w in written.items() if k not in small}
    texts: dict[str, dict[int, str]] = {}
    for table in RECORDED:
        runs = sorted(run for k in small for run in written[k].get(table.name, ()))
        if not runs:
            continue
        spans = [list(runs[0])]
        for lo, hi in runs[1:]:
            if lo <= spans[-1][1] + 1:
                spans[-1][1] = max(spans[-1][1], hi)
            else:
                spans.append([lo, hi])
        between, forms = _reads(conn, table)[1:]
        found = texts[table.name] = {}
        for lo, hi in spans:
            for batch in between.batches(conn, {"lo": lo, "hi": hi}):
                for row in batch if forms is None else (_formed(row, forms) for row in batch):
                    found[row[0]] = "".join(_ENCODE_ROW((table.name, *row), 0))
    for k in small:
        parts = [texts[table.name].get(i, "") for table in RECORDED for lo, hi in written[k].get(table.name, ())
                 for i in range(lo, hi + 1)]
        digests[k] = hashlib.sha256("".join(parts).encode()).hexdigest()
    return digests


def append(conn: Connection, entry: Entry, rows: int = 0, written: dict | None = None, at: datetime | None = None) -> None:
    """Append one entry, unlinked (`link` digests the rows it names and gives it its place in the
    chain). The object and summary are masked as error lines are (a file or a reason may carry a
    person's number): the record keeps none. The entry's moment is when its write began (`at`),
    so two entries' times may differ from their order by the moments between."""
    _APPEND(conn, dict(at=at or store.now(), actor=entry.actor[:80], action=entry.action,
                       object=mask_personal(entry.object)[:200], outcome=entry.outcome,
                       rows=rows if entry.rows is None else entry.rows,
                       written="".join(_ENCODE_ROW(written, 0)) if written else "{}",
                       summary=entry.kept_summary()))


@contextmanager
def audited(engine, entry: Entry, expired=None):
    """A write transaction that ends with its audit entry: the entry and the write
    commit together or not at all. If `expired()` (a server request's time limit,
    the shell's clock) says so at the end, the write rolls back instead, so a request
    that timed out wrote nothing."""
    at = store.now()
    entry.kept_summary()
    with store.writing(engine) as conn:
        marks: dict[str, int] = {}

        def before_blind(table: str | None) -> None:
            if not marks and (table is None or table in _TABLES):
                marks.update(_marks(conn))

        with driver.watching(conn, before_blind) as handed_back:
            yield conn
            if expired is not None and expired():
                raise TimeoutError("the request's time ran out before its write committed")
            written = _written(conn, handed_back, marks or None)
        append(conn, entry, *written, at=at)
    _appended.add(engine)


def refused(engine, entry: Entry, why: str) -> None:
    """A refusal is recorded in a transaction of its own: the refused write left nothing."""
    entry.outcome, entry.summary = "refused", why
    with store.writing(engine) as conn:
        append(conn, entry)
    _appended.add(engine)


_appended: weakref.WeakSet = weakref.WeakSet()  # the engines this process appended entries through


def link_own(engine) -> int:
    """`link`, where this process appended entries: a local command's last step, so that its
    entries leave it linked, and a command that wrote nothing never takes the write lock."""
    if engine not in _appended:
        return 0
    _appended.discard(engine)
    return link(engine)


_UNLINKED = select(a).where(a.c.seq.is_(None)).order_by(a.c.id).limit(bindparam("batch"))
_HEAD_LINK = select(a.c.seq, a.c.hash).where(a.c.seq.is_not(None)).order_by(a.c.seq.desc()).limit(1)
_LINKED = a.update().where(a.c.id == bindparam("b_id"), a.c.seq.is_(None)).values(
    seq=bindparam("b_seq"), prev=bindparam("b_prev"), hash=bindparam("b_hash"), digest=bindparam("b_digest"))


def link(engine) -> int:
    """Digest the rows named by the entries committed since the last run and link the entries to
    the chain's head, in the order of their ids, each hashed with the one before (`chained`);
    returns how many. Nothing at all while nothing waits: only a read. On PostgreSQL an entry
    whose write committed after a later id's is linked after it: the chain's order is `seq`,
    the order of linking."""
    total = 0
    while pending := digested(engine):
        linked = link_digested(engine, pending)
        total += linked
        if not linked:
            return total  # another linker took them, and goes on
    return total


def digested(engine, batch: int = 10_000) -> dict[int, str]:
    """The digests of the oldest unlinked entries (up to `batch`), by id: in a read transaction,
    so that SQLite's writers wait only for the links (the server reads them in its pool)."""
    with store.reading(engine) as conn:
        return _digests(conn, conn.execute(_UNLINKED, {"batch": batch}).mappings().all())


def link_digested(engine, digests: dict[int, str]) -> int:
    """Link, at the chain's head, those of the `digested` entries still unlinked; one linker at a
    time (SQLite's write lock; a lock of its own on PostgreSQL, which writers never take)."""
    with store.writing(engine) as conn:
        store.lock(conn, "audit")
        head = conn.execute(_HEAD_LINK).first()
        seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
        links = []
        for row in conn.execute(_UNLINKED, {"batch": len(digests)}).mappings():
            if row["id"] not in digests:
                continue  # committed since the digests were read: the next run's
            row = {**row, "digest": digests[row["id"]]}
            seq, hashed = seq + 1, chained(prev, row)
            links.append(dict(b_id=row["id"], b_seq=seq, b_prev=prev, b_hash=hashed, b_digest=row["digest"]))
            prev = hashed
        if links and conn.execute(_LINKED, links).rowcount != len(links):  # linked by another hand meanwhile
            raise RuntimeError("an audit entry was linked outside the linker; nothing was linked this time")
        return len(links)


@dataclass
class Verdict:
    entries: int
    head: str
    broken: str | None = None  # the first break of the chain, in words
    changed: list[str] | None = None  # rows written by the latest entries that differ now
    unlinked: int = 0  # entries committed but not linked yet (`link`)


def verify(conn: Connection, head: str | None = None, data: bool = False, latest: int = 1000) -> Verdict:
    """Walk the chain from the start; name the first entry edited, deleted, inserted or moved,
    and (with a head hash kept outside) a tail that was cut off."""
    from aidcal.i18n import _
    previous, before, seen, count, found = None, GENESIS, {GENESIS}, 0, head is None
    linked = select(a).where(a.c.seq.is_not(None)).order_by(a.c.seq).execution_options(yield_per=10_000)
    for row in conn.execute(linked).mappings():
        count += 1
        if chained(row["prev"], row) != row["hash"]:
            return Verdict(count, before, _("audit entry {id} was edited after it was written").format(id=row["id"]))
        if row["prev"] != before:
            if previous is not None and row["prev"] == previous["prev"]:
                why = _("audit entry {id} was inserted: the entry after it does not follow it").format(id=previous["id"])
            elif row["prev"] in seen:
                why = _("audit entry {id} is out of its place in the chain").format(id=row["id"])
            else:
                why = _("an audit entry before entry {id} was deleted").format(id=row["id"])
            return Verdict(count, before, why)
        seen.add(row["hash"])
        found = found or row["hash"] == head
        previous, before = row, row["hash"]
    if not found:
        return Verdict(count, before, _("the head {head} is not in the chain: entries were removed from its end, "
                                        "or it is another database's").format(head=head))
    unlinked = conn.execute(select(func.count()).select_from(a).where(a.c.seq.is_(None))).scalar()
    return Verdict(count, before, None, _changed_rows(conn, latest) if data else None, unlinked)


def _changed_rows(conn: Connection, latest: int) -> list[str]:
    from aidcal.i18n import _
    entries = conn.execute(select(a.c.id, a.c.written, a.c.digest).where(a.c.digest != "")
                           .order_by(a.c.id.desc()).limit(latest)).all()
    changed = []
    for entry in reversed(entries):
        written = json.loads(entry.written)
        digest, found = _digest_of(conn, written)
        lost = False
        for name, runs in written.items():
            wanted = [i for lo, hi in runs for i in range(lo, hi + 1)]
            if found.get(name, []) != wanted:
                gone, lost = sorted(set(wanted) - set(found.get(name, []))), True
                changed.append(_("audit entry {id}: rows it wrote are gone: {table} {rows}").format(
                    id=entry.id, table=name, rows="、".join(map(str, gone[:10])) + ("…" if len(gone) > 10 else "")))
        if digest != entry.digest and not lost:
            places = [f"{name} {lo}–{hi}" if lo != hi else f"{name} {lo}" for name, runs in written.items() for lo, hi in runs]
            changed.append(_("audit entry {id}: rows it wrote were changed since: {rows}").format(
                id=entry.id, rows="、".join(places)))
    return changed


def show(conn: Connection, unit: str | None = None, actor: str | None = None, since: date | None = None,
         action: str | None = None, outcome: str | None = None, limit: int | None = None,
         within: str | None = None) -> list[dict]:
    """The latest entries, oldest first; `within` a bureau's code: only its subtree's (engine/acts/audit.py):
    the entries on its units and bureaus, those of its users, and the database operator's ADMINISTRATION,
    which reaches every subtree (never its acts on one unit's cases, sheets or users: another county's)."""
    query = select(a).order_by(a.c.id.desc())
    if within:
        units = select(u.c.code).where(authorities.under(u.c.authority, within))
        users = select(app_user.c.name).where(or_(and_(app_user.c.role == "unit", app_user.c.scope.in_(units)),
                                                  and_(app_user.c.role != "unit", authorities.under(app_user.c.scope, within))))
        administration = and_(a.c.actor.like("local:%"), a.c.action.in_(ADMINISTRATION))
        query = query.where(or_(a.c.object.in_(units), authorities.under(a.c.object, within), a.c.actor.in_(users),
                                administration))
    if outcome:
        query = query.where(a.c.outcome == outcome)
    if unit:
        query = query.where(a.c.object == unit)
    if actor:
        query = query.where(a.c.actor == actor)
    if action:
        query = query.where(a.c.action == action)
    if since:
        query = query.where(a.c.at >= store.day_start(since))
    if limit:
        query = query.limit(limit)
    return [dict(id=r.id, at=store.shown_moment(r.at), actor=r.actor, action=r.action, object=r.object,
                 outcome=r.outcome, rows=r.rows, summary=r.summary, hash=r.hash)
            for r in reversed(conn.execute(query).all())]
