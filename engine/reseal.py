"""The whole database's personal data sealed again: in place from clear (a database from
before sealing, `aidcal key encrypt-existing`), under a new key (`aidcal key rotate`),
or erased past the retention period (`aidcal cases purge`, PIPL art. 19 and 47).

Each is one write transaction (all or nothing), walking the sealed tables by id a chunk
at a time, so a million cases never sit in memory; the caller then compacts the file
(`store.compact`), so what was there before is not left in free pages or the WAL.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import String, bindparam, cast, func, literal, or_, select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import programmes as progs
from . import rules, sealing, store
from .errors import InputError
from .masking import mask_number, mask_phone
from .models import aid_case as c
from .models import evidence_blob as b
from .models import identification as ident
from .models import identification_review as r
from .models import seal_key

CHUNK = 5_000
SEALED_TABLES = ["aid_case", "identification", "identification_review", "evidence_blob"]
Opener = Callable[[str, str, str], str]  # (stored value, column, row) -> the value in clear


def _chunks(conn: Connection, table, columns, where=()):
    """Rows of `table` in id order, CHUNK at a time (keyset: each chunk one indexed range)."""
    last = 0
    while True:
        rows = conn.execute(select(table.c.id, *columns).where(table.c.id > last, *where).order_by(table.c.id).limit(CHUNK)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _update(conn: Connection, table, values: list[dict]) -> None:
    if values:
        names = [k for k in values[0] if k != "row_id"]
        conn.execute(table.update().where(table.c.id == bindparam("row_id")).values({k: bindparam(k) for k in names}), values)


def _reseal_all(conn: Connection, keys: sealing.Keys, from_clear: bool) -> dict[str, int]:
    """Every personal value opened (or taken as it is, `from_clear`) and sealed with the key
    file's current key; the keyed hash kept (or, from clear, computed)."""
    store.lock_tables(conn, SEALED_TABLES)
    store.erasing(conn)
    seal, counts = keys.seal, {}
    opened: Opener = (lambda value, column, row: value or "") if from_clear else keys.unseal
    kept = [] if from_clear else [c.c.id_hash.is_not(None)]  # a purged case has nothing left to seal

    def person(stored_hash, number, table):
        if from_clear:
            return keys.person(number)
        if stored_hash is None:
            raise InputError(_("a row of {table} has no keyed hash: the database was not sealed whole; "
                               "restore it from a backup").format(table=table))
        return stored_hash

    for rows in _chunks(conn, c, [c.c.programme, c.c.term, c.c.id_hash, c.c.id_number, c.c.phone, c.c.bank_card, c.c.categories],
                        kept):
        values = []
        for row in rows:
            hashed = person(row.id_hash, row.id_number, "aid_case")
            where = sealing.case_row(row.programme, row.term, hashed)
            number, phone, card = (opened(row.id_number, "aid_case.id_number", where), opened(row.phone, "aid_case.phone", where),
                                   opened(row.bank_card, "aid_case.bank_card", where))
            values.append(dict(row_id=row.id, id_hash=hashed, id_masked=mask_number(number),
                               phone_masked=mask_phone(phone) if phone else "", card_masked=mask_number(card) if card else "",
                               id_number=seal(number, "aid_case.id_number", where), phone=seal(phone, "aid_case.phone", where),
                               bank_card=seal(card, "aid_case.bank_card", where),
                               categories=seal(opened(row.categories, "aid_case.categories", where), "aid_case.categories", where)))
        _update(conn, c, values)
        counts["aid_case"] = counts.get("aid_case", 0) + len(values)
    for rows in _chunks(conn, ident, [ident.c.year, ident.c.id_hash, ident.c.id_number, ident.c.categories],
                        [] if from_clear else [ident.c.id_hash.is_not(None)]):
        values = []
        for row in rows:
            hashed = person(row.id_hash, row.id_number, "identification")
            where = sealing.identification_row(row.year, hashed)
            number = opened(row.id_number, "identification.id_number", where)
            values.append(dict(row_id=row.id, id_hash=hashed, id_masked=mask_number(number),
                               id_number=seal(number, "identification.id_number", where),
                               categories=seal(opened(row.categories, "identification.categories", where),
                                               "identification.categories", where)))
        _update(conn, ident, values)
        counts["identification"] = counts.get("identification", 0) + len(values)
    for rows in _chunks(conn, r, [r.c.identification_id, r.c.categories_from, r.c.categories_to]):
        _update(conn, r, [{"row_id": row.id, **{
            name: seal(opened(value, f"identification_review.{name}", f"identification_review|{row.identification_id}"),
                       f"identification_review.{name}", f"identification_review|{row.identification_id}")
            for name, value in (("categories_from", row.categories_from), ("categories_to", row.categories_to))}} for row in rows])
    counts["evidence_blob"] = 0
    for (sha256,) in conn.execute(select(b.c.sha256)).all():  # one file at a time: files may be large
        where = sealing.blob_row(sha256)
        content = bytes(conn.execute(select(b.c.content).where(b.c.sha256 == sha256)).scalar())
        clear = content if from_clear else keys.unseal_bytes(content, "evidence_blob.content", where)
        conn.execute(b.update().where(b.c.sha256 == sha256).values(content=keys.seal_bytes(clear, "evidence_blob.content", where)))
        counts["evidence_blob"] += 1
    return counts


def encrypt_existing(conn: Connection, keys: sealing.Keys) -> dict[str, int]:
    """Seal a database whose personal data was written in clear (before 0011): never done by
    an upgrade, which may run without the key, only on the operator's word."""
    if sealing.is_sealed(conn):
        raise InputError(_("this database is sealed already; a new key is aidcal key rotate"))
    sealing.record_keys(conn, keys)
    return _reseal_all(conn, keys, from_clear=True)


def rotate(conn: Connection, keys: sealing.Keys) -> dict[str, int]:
    """Seal everything again with the key file's current key (which the shell has just made);
    the older keys are then retired in the database: nothing sealed with them remains."""
    keys = sealing.bind(conn, keys)
    counts = _reseal_all(conn, keys, from_clear=False)
    conn.execute(seal_key.update().where(seal_key.c.purpose == "sealing", seal_key.c.key_id != keys.current,
                                         seal_key.c.retired_at.is_(None)).values(retired_at=store.now()))
    return counts


PURGED_NAME = "（已清除）"


def _placeholder(table):
    """What an erased number leaves: unique per row, as the column's old constraint wants."""
    return literal("purged:", String) + cast(table.c.id, String)


def finished(spec) -> set[str]:
    """The states a case's record is complete in: the final ones, and those from which only a
    move to a final one remains (an archived or stopped case may still be recovered)."""
    ways: dict[str, set[str]] = {}
    for move in spec.transitions:
        for source in move.sources:
            ways.setdefault(source, set()).add(move.dest)
    return set(spec.finals) | {state for state, dests in ways.items() if dests <= spec.finals}


def purge(conn: Connection, before: str, keys: sealing.Keys, as_of: date) -> dict[str, int]:
    """Erase the personal data of cases of every term before `before`, and of the school
    years' identifications those terms belong to: name, numbers, categories and keyed hash
    go; programme, term, unit, level, amounts, state and history stay, for the accounts and
    statistics. A case still on its way (not in a final state) is never purged."""
    sealing.bind(conn, keys)
    store.lock_tables(conn, SEALED_TABLES)
    store.erasing(conn)
    cut = progs.term_order(before)
    if progs.term_order(f"{as_of.year}-{'autumn' if as_of.month >= 9 else 'spring'}") <= cut:
        raise InputError(_("--before {term} reaches the current term: only past terms are purged").format(term=before))
    terms = [t for t in conn.execute(select(c.c.term).distinct()).scalars() if progs.term_order(t) < cut]
    if not terms:
        return dict(cases=0, identifications=0)
    done = or_(*[(c.c.workflow == name) & c.c.state.in_(finished(spec)) for name, spec in rules.workflows(conn).items()])
    open_cases = conn.execute(select(c.c.state, func.count()).where(c.c.term.in_(terms), ~done).group_by(c.c.state)).all()
    if open_cases:
        raise InputError(_("{n} cases before {term} are not finished ({states}): archive, withdraw or terminate them "
                           "first").format(n=sum(n for _state, n in open_cases), term=before,
                                           states=_(", ").join(f"{s} {n}" for s, n in open_cases)))
    erased = dict(name=PURGED_NAME, id_number=_placeholder(c), phone="", bank_card="", categories="", id_hash=None, id_masked="",
                  phone_masked="", card_masked="", identification_id=None, callback_outcome=None, cash_approval=None,
                  override_reason=None, bank_reason=None)
    purged = select(c.c.id).where(c.c.term.in_(terms))
    conn.execute(c.update().where(c.c.previous_case_id.in_(purged)).values(previous_case_id=None))  # no link back to a name
    cases = conn.execute(c.update().where(c.c.term.in_(terms), c.c.name != PURGED_NAME).values(erased)).rowcount
    years = [y for y in conn.execute(select(ident.c.year).distinct()).scalars() if progs.term_order(f"{y + 1}-spring") < cut]
    identifications = 0
    if years:
        ids = select(ident.c.id).where(ident.c.year.in_(years))
        conn.execute(r.update().where(r.c.identification_id.in_(ids)).values(categories_from="", categories_to=""))
        identifications = conn.execute(ident.update().where(ident.c.year.in_(years), ident.c.name != PURGED_NAME).values(
            name=PURGED_NAME, id_number=_placeholder(ident), categories="", id_hash=None, id_masked="")).rowcount
    return dict(cases=cases, identifications=identifications)
