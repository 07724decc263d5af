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
import weakref
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, bindparam, func, literal_column, or_, select
from sqlalchemy.engine import Connection

from . import authorities, driver, inserted, store
from .masking import mask_personal
from .models import app_user
from .models import audit as a
from .models import unit as u

GENESIS = "0" * 64
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
    _kept: tuple = field(default=(None, None), init=False, repr=False, compare=False)

    def kept(self) -> tuple[str, str, str]:
        """The actor, object and summary as the record keeps them (masked, cut to their sizes), worked
        out once for each: an audited write asks before it takes the write lock, so that its holder
        does not mask them again (its object is named again inside, as authorised: the same, mostly)."""
        said = (self.actor, self.object, self.summary)
        if self._kept[0] != said:
            self._kept = (said, (self.actor[:80], mask_personal(self.object)[:200], mask_personal(self.summary)[:500]))
        return self._kept[1]


HASHED = ("actor", "action", "object", "outcome", "rows", "written", "digest", "summary")  # after the moment


def chained(prev: str, row) -> str:
    """The entry's hash: its fields in a fixed order with the previous hash (the id and the
    place are left out: the order is the chain's own, by `prev`)."""
    return _hashed(prev, row["at"], *(row[name] for name in HASHED))


def _hashed(prev: str, at: datetime, *fields) -> str:
    return hashlib.sha256("".join(inserted.ENCODE_ROW([prev, store.shown_moment(at), *fields], 0)).encode()).hexdigest()


# An audited write runs these inside its write lock, compiled once per dialect and run on the
# driver (driver.Prepared), as the completion's own statements are: the marks only where the
# write's inserted rows cannot all be seen as they are inserted (driver.watching), and the entry,
# its digest and its link left to `link`.
_FIELDS = [c for c in a.c if c.name not in ("id", "digest", "prev", "hash", "seq")]
_APPEND = driver.Prepared(a.insert().inline().values(
    {**{c.name: bindparam(c.name, type_=c.type) for c in _FIELDS},
     **{name: literal_column("''") for name in ("digest", "prev", "hash")}}))


def append(conn: Connection, entry: Entry, rows: int = 0, written: dict | None = None, at: datetime | None = None) -> None:
    """Append one entry, unlinked (`link` digests the rows it names and gives it its place in the
    chain). The object and summary are masked as error lines are (a file or a reason may carry a
    person's number): the record keeps none. The entry's moment is when its write began (`at`),
    so two entries' times may differ from their order by the moments between."""
    actor, object_, summary = entry.kept()
    _APPEND(conn, dict(at=at or store.now(), actor=actor, action=entry.action,
                       object=object_, outcome=entry.outcome, rows=rows if entry.rows is None else entry.rows,
                       written="".join(inserted.ENCODE_ROW(written, 0)) if written else "{}", summary=summary))


@contextmanager
def audited(engine, entry: Entry, expired=None):
    """A write transaction that ends with its audit entry: the entry and the write
    commit together or not at all. If `expired()` (a server request's time limit,
    the shell's clock) says so at the end, the write rolls back instead, so a request
    that timed out wrote nothing."""
    at = store.now()
    entry.kept()
    with store.writing(engine) as conn:
        marks: dict[str, int] = {}

        def before_blind(table: str | None) -> None:
            if not marks and (table is None or table in inserted.TABLES):
                marks.update(inserted.highest_ids(conn))

        with driver.watching(conn, before_blind) as handed_back:
            yield conn
            if expired is not None and expired():
                raise TimeoutError("the request's time ran out before its write committed")
            written = inserted.ids_written(conn, handed_back, marks or None)
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


# The unlinked entries past an id: on SQLite, whose writers commit in the order of their entries'
# ids, those past the head's (no index of the unlinked to keep up: one page less in every write's
# commit); on PostgreSQL, where a lower id may commit later, all of them (its partial index).
_UNLINKED = select(a).where(a.c.seq.is_(None), a.c.id > bindparam("after")).order_by(a.c.id).limit(bindparam("batch"))
_HEAD_LINK = select(a.c.seq, a.c.hash, a.c.id).where(a.c.seq.is_not(None)).order_by(a.c.seq.desc()).limit(1)
_LINKED = a.update().where(a.c.id == bindparam("b_id"), a.c.seq.is_(None)).values(
    seq=bindparam("b_seq"), prev=bindparam("b_prev"), hash=bindparam("b_hash"), digest=bindparam("b_digest"))


def link(engine, everywhere: bool = False) -> int:
    """Digest the rows named by the entries committed since the last run and link the entries to
    the chain's head, in the order of their ids, each hashed with the one before (`chained`);
    returns how many. Nothing at all while nothing waits: only a read. On PostgreSQL an entry
    whose write committed after a later id's is linked after it: the chain's order is `seq`,
    the order of linking. `everywhere`: below the head's id too, on SQLite (a copy from
    PostgreSQL may hold such entries: `db copy` links them)."""
    total, raced = 0, 0
    while pending := digested(engine, everywhere=everywhere):
        linked = link_digested(engine, pending)
        total += linked
        if not linked and raced < RACES:
            raced += 1  # another linker moved the head first: what it did not take is worked out anew
            continue
        if len(pending) < BATCH or not linked:
            # what waited is linked: entries committed since wait for the next run, so that a busy
            # county's linker runs once a second, not without end, in batches of one
            return total
    return total


RACES = 3  # times `link` works its entries out anew after another linker moved the head first


BATCH = 10_000  # entries linked in one transaction


@dataclass(frozen=True)
class Links:
    """The links of the oldest unlinked entries to the head a read saw: their places, hashes and
    digests, all worked out before the write lock; `link_digested` makes them while that head is
    still the chain's."""
    head: tuple[int, str]  # (seq, hash): where the chain ended when they were worked out
    links: list[dict]  # each entry's id, place, previous hash, hash and digest, in the order of their ids

    def __len__(self) -> int:
        return len(self.links)


def digested(engine, batch: int = BATCH, everywhere: bool = False) -> Links:
    """The oldest unlinked entries (up to `batch`) digested and chained to the head, in a read
    transaction: SQLite's writers wait only for the links' UPDATE (the server reads in its pool).
    An unlinked entry can only be linked, never changed (the guards), so what is read here is
    what the lock will find, unless another linker moved the head meanwhile."""
    with store.reading(engine) as conn:
        head = _HEAD(conn, {})
        seq, prev, head_id = head[0] if head else (0, GENESIS, 0)
        after = head_id if store.serialised(engine) and not everywhere else 0
        entries = _UNLINKED_ROWS(conn, {"batch": batch, "after": after})  # as the driver gives them: a second's 2,000
        digests = inserted.digests(conn, [(entry[0], entry[_WRITTEN]) for entry in entries])
    start, moment, links = (seq, prev), _moment_reader(engine.dialect), []
    for entry in entries:
        entry_id, digest = entry[0], digests[entry[0]]
        fields = [digest if place == _DIGEST else entry[place] for place in _HASHED]
        seq, hashed = seq + 1, _hashed(prev, moment(entry[_AT]), *fields)
        links.append(dict(b_id=entry_id, b_seq=seq, b_prev=prev, b_hash=hashed, b_digest=digest))
        prev = hashed
    return Links(start, links)


# Where a driver's row of the audit table holds each field `chained` hashes (HASHED), in its order.
_PLACES = {c.name: k for k, c in enumerate(a.c)}
_AT, _WRITTEN, _DIGEST = _PLACES["at"], _PLACES["written"], _PLACES["digest"]
_HASHED = [_PLACES[name] for name in HASHED]
_READERS: dict[str, Callable] = {}


def _moment_reader(dialect) -> Callable:
    """The entry's moment as SQLAlchemy reads it (SQLite's UTC text into a datetime), for the hash."""
    if dialect.name not in _READERS:
        _READERS[dialect.name] = a.c.at.type.dialect_impl(dialect).result_processor(dialect, None) or (lambda v: v)
    return _READERS[dialect.name]


def link_digested(engine, pending: Links) -> int:
    """Make the `digested` links, if the chain's head is still the one they were worked out from
    (else 0: another linker linked meanwhile, and the next run works them out anew); one linker at
    a time (SQLite's write lock; a lock of its own on PostgreSQL, which writers never take)."""
    if not pending.links:
        return 0
    with store.writing(engine) as conn:
        store.lock(conn, "audit")
        head = _HEAD(conn, {})
        if (tuple(head[0][:2]) if head else (0, GENESIS)) != pending.head:
            return 0
        if _LINK_ONCE.many(conn, pending.links) != len(pending.links):  # linked by another hand meanwhile
            raise RuntimeError("an audit entry was linked outside the linker; nothing was linked this time")
        return len(pending.links)


_HEAD, _LINK_ONCE, _UNLINKED_ROWS = driver.Prepared(_HEAD_LINK), driver.Prepared(_LINKED), driver.Prepared(_UNLINKED)


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
        digest, found = inserted.digest_of(conn, written)
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
