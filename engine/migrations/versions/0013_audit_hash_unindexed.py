"""the audit chain's hashes are no longer a unique index

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00

Every write appends one audit entry; the UNIQUE (hash) index from 0010 made each append
insert a random 64-character key into a second B-tree, a third of the entry's cost inside
the write lock, and guarded nothing the chain does not: `audit verify` walks the entries
by id and checks each hash against its fields and its predecessor. SQLite drops a table's
own constraint only by rebuilding the table, which drops its triggers too: the guards
refusing UPDATE and DELETE are created again in the same transaction.
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}  # SQLite's constraints have no names (as in 0012)
SQLITE_GUARDS = [
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit entries are never changed'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit entries are never deleted'); END",
]


def _rebuilt(change) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    name = "uq_audit_hash" if sqlite else "audit_hash_key"  # PostgreSQL's own name for an unnamed UNIQUE
    with op.batch_alter_table("audit", naming_convention=NAMING, recreate="auto") as batch:
        change(batch, name)
    if sqlite:
        for statement in SQLITE_GUARDS:
            op.execute(statement)


def upgrade() -> None:
    _rebuilt(lambda batch, name: batch.drop_constraint(name, type_="unique"))


def downgrade() -> None:
    _rebuilt(lambda batch, name: batch.create_unique_constraint(name, ["hash"]))
