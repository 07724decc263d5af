"""`aidcal key …`: the key that seals personal data at rest (engine/sealing.py), kept in a
file apart from the database. Run by the database's operator, on the database itself."""
from __future__ import annotations

import click

from aidcal.i18n import _

from .shell import key_file, key_file_path, say


@click.group("key")
def key_group():
    """The key that seals ID numbers, phones, bank cards, categories and evidence: init once, rotate, encrypt-existing."""


@key_group.command("init")
@click.option("--file", "path", type=click.Path(dir_okay=False),
              help="Where to create the key file; default: AIDCAL_KEY_FILE, else ~/.config/aidcal/keys.json.")
def key_init(path):
    """Create the bureau's key file (mode 0600); never overwrites one. Back it up apart from the database."""
    from pathlib import Path

    from aidcal.engine import sealing
    path = Path(path) if path else key_file_path()
    sealing.write(path, sealing.new_keys(), new=True)
    say(_("key file {file} created (mode 0600). Keep a copy apart from the database's backups: without it the personal "
          "data cannot be read, and whoever holds both reads it all. Point AIDCAL_KEY_FILE at it where aidcal runs "
          "(the server, the operator's shell).").format(file=path))


def _resealed(obj, action: str, reseal):
    """One audited transaction over every sealed value, then the file compacted."""
    from aidcal.engine import audit
    entry = obj.entry(action, "personal data")
    with audit.audited(obj.engine, entry) as conn:
        counts = reseal(conn)
        entry.rows = sum(counts.values())
        entry.summary = " ".join(f"{table}={n}" for table, n in counts.items())
    compacted(obj)
    return counts


def compacted(obj) -> None:
    """The file compacted after a rewrite that committed: a failure here loses nothing, so it is a
    warning that says what to run, never an error that reads as if the rewrite had not happened."""
    from aidcal.engine import store
    from aidcal.engine.errors import one_line
    from aidcal.engine.reseal import SEALED_TABLES
    try:
        whole = store.compact(obj.engine, SEALED_TABLES)
    except Exception as exc:  # PostgreSQL: VACUUM FULL is the tables' owner's (docs/deployment.md)
        say(_("warning: ") + _("the data is written; compacting the database failed ({why}): run VACUUM FULL {tables} as "
                               "the tables' owner").format(why=one_line(exc), tables=", ".join(SEALED_TABLES)))
        return
    if not whole:
        say(_("warning: ") + _("the data is written; the WAL file could not be emptied while another connection reads "
                               "(stop aidcal serve and the daemon, then run aidcal key encrypt-existing or the purge "
                               "again, or sqlite3 FILE 'PRAGMA wal_checkpoint(TRUNCATE)')"))


@key_group.command("rotate")
@click.pass_obj
def key_rotate(obj):
    """Seal everything again under a new key; the old keys stay in the key file (older backups need them)."""
    from aidcal.engine import reseal, sealing
    keys = key_file()
    new = sealing.rotated(keys)

    def rotate(conn):
        counts = reseal.rotate(conn, new)
        # last, inside the transaction: a failure before it rolls the resealing back with the old file
        # untouched; a commit failing after it leaves a file that still holds the old keys too
        sealing.write(key_file_path(), new, new=False)
        return counts
    counts = _resealed(obj, "key.rotate", rotate)
    click.echo(_("key {kid} now seals the personal data: {cases} cases, {identifications} identifications, {files} evidence "
                 "files sealed again; the older keys are retired (kept in the key file for older backups)").format(
        kid=new.current, cases=counts["aid_case"], identifications=counts["identification"], files=counts["evidence_blob"]))
    say(_("restart aidcal serve (it reads the key file when it starts) and back the key file up again"))


@key_group.command("encrypt-existing")
@click.pass_obj
def key_encrypt_existing(obj):
    """Seal, once, a database whose personal data was written in clear before sealing; then compact its file."""
    from aidcal.engine import reseal
    keys = key_file()
    counts = _resealed(obj, "key.encrypt-existing", lambda conn: reseal.encrypt_existing(conn, keys))
    click.echo(_("sealed: {cases} cases, {identifications} identifications, {files} evidence files; the file is compacted, "
                 "so no number in clear is left in it").format(
        cases=counts["aid_case"], identifications=counts["identification"], files=counts["evidence_blob"]))
