"""audit entries are linked into the chain after their write commits

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 06:00:00

Until 0013 each write linked its entry to the chain's head inside its own transaction,
holding the chain's lock to its commit: on PostgreSQL every writer then waited for every
other's commit. From 0014 a write inserts its entry unlinked (`seq` NULL, `prev` and `hash`
empty, and the digest of the rows it wrote empty too) and one linker at a time
(engine/audit.py `link`) digests those rows and gives the entries their place (`seq`) and
their hashes, once: the guards now refuse every UPDATE except that one, which fills an
unlinked entry's `seq` (the next place), `prev` (the head's hash), `hash` and, where it was
empty, `digest`, and changes nothing else. The entries written before are linked already, in the order of their
ids (`seq` = `id`).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

KEPT = ("id", "at", "actor", "action", "object", "outcome", "rows", "written", "summary")
# The one link allowed: the next place after the head, linked to the head's hash (engine/audit.py GENESIS
# before the first), a hash's length; so no hand can park an entry far ahead or fork the chain.
# `seq IS NOT NULL` spelled out: only then may the planners read the partial index ix_audit_seq (one
# probe per link) rather than the whole table.
NEXT = "(SELECT coalesce(max(seq), 0) + 1 FROM audit WHERE seq IS NOT NULL)"
HEAD = f"coalesce((SELECT hash FROM audit WHERE seq IS NOT NULL AND seq = {NEXT} - 1), '{'0' * 64}')"
SQLITE_GUARD = (
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR "
    f"NEW.seq IS NOT {NEXT} OR NEW.prev IS NOT {HEAD} OR length(NEW.hash) IS NOT 64 OR "
    "(NEW.digest IS NOT OLD.digest AND OLD.digest IS NOT '') OR "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in KEPT)
    + " BEGIN SELECT RAISE(ABORT, 'audit entries are never changed'); END")
POSTGRESQL_GUARDS = [
    "CREATE FUNCTION audit_linked_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF OLD.seq IS NULL AND NEW.seq = {NEXT} AND NEW.prev = {HEAD} AND length(NEW.hash) = 64 "
    "AND (NEW.digest = OLD.digest OR OLD.digest = '') "
    f"AND ({', '.join('NEW.' + c for c in KEPT)}) "
    f"IS NOT DISTINCT FROM ({', '.join('OLD.' + c for c in KEPT)}) THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'audit entries are never changed'; END $$",
    "CREATE TRIGGER audit_linked_once BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_linked_once()",
    "DROP TRIGGER audit_append_only ON audit",
    "CREATE TRIGGER audit_append_only BEFORE DELETE OR TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
]


def _guards_off() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_no_update")
    else:
        op.execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")


def upgrade() -> None:
    op.add_column("audit", sa.Column("seq", sa.Integer(), nullable=True))
    _guards_off()
    op.execute("UPDATE audit SET seq = id")
    op.create_index("ix_audit_seq", "audit", ["seq"], unique=True, sqlite_where=sa.text("seq IS NOT NULL"),
                    postgresql_where=sa.text("seq IS NOT NULL"))
    op.create_index("ix_audit_unlinked", "audit", ["id"], sqlite_where=sa.text("seq IS NULL"),
                    postgresql_where=sa.text("seq IS NULL"))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_GUARD)
    else:
        op.execute("ALTER TABLE audit ENABLE TRIGGER audit_append_only")
        for statement in POSTGRESQL_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    # 0013 chains by id: only a chain all linked, in the order of its ids, goes back to it
    out_of_order = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY id) AS before FROM audit) placed "
        "WHERE seq IS NULL OR before > seq")).scalar()
    if out_of_order:
        raise RuntimeError("audit entries not linked, or linked out of the order of their ids: "
                           "link them (any aidcal command does) before going back past 0014")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER audit_no_update")
    else:
        op.execute("DROP TRIGGER audit_linked_once ON audit")
        op.execute("DROP FUNCTION audit_linked_once()")
        op.execute("DROP TRIGGER audit_append_only ON audit")
    op.drop_index("ix_audit_unlinked", "audit")
    op.drop_index("ix_audit_seq", "audit")
    with op.batch_alter_table("audit") as batch:  # on SQLite a rebuild, which drops the table's triggers
        batch.drop_column("seq")
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        op.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN "
                   "SELECT RAISE(ABORT, 'audit entries are never changed'); END")
        op.execute("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN "
                   "SELECT RAISE(ABORT, 'audit entries are never deleted'); END")
    else:
        op.execute("CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()")
