"""on SQLite the unlinked audit entries are found past the head's id, without an index

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 21:30:00

SQLite's writers take turns, so its audit entries are committed in the order of their ids and
the unlinked ones are those past the id of the chain's head (engine/audit.py `_UNLINKED`). The
partial index of the unlinked, which every audited write kept up (one page more in its
commit), goes there; PostgreSQL, where a lower id may commit after a higher one, keeps it.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_audit_unlinked", "audit")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_audit_unlinked", "audit", ["id"], sqlite_where=sa.text("seq IS NULL"))
