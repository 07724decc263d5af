"""sealed ID numbers are no longer unique keys: the person is the keyed hash

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:45:00

From 0011 `id_number` holds a sealed token, different every time the same number is
sealed, so the unique constraints (programme, term, id_number) and (year, id_number)
from 0003 and 0008 only indexed random text: every import paid for a second random-order
index and the constraint guarded nothing. The person is unique by `id_hash`
(uq_aid_case_person, uq_identification_person). SQLite drops a table's own constraint
only by rebuilding the table (store.migrating: foreign keys checked before the commit).
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CONSTRAINTS = (("aid_case", ["programme", "term", "id_number"]), ("identification", ["year", "id_number"]))
# SQLite's constraints have no names: in the rebuild they are named by this convention
NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _name(table: str, columns: list[str]) -> str:
    if op.get_bind().dialect.name == "sqlite":
        return f"uq_{table}_{'_'.join(columns)}"
    return f"{table}_{'_'.join(columns)}_key"  # PostgreSQL's own name for an unnamed UNIQUE


def upgrade() -> None:
    for table, columns in CONSTRAINTS:
        with op.batch_alter_table(table, naming_convention=NAMING, recreate="auto") as batch:
            batch.drop_constraint(_name(table, columns), type_="unique")


def downgrade() -> None:
    for table, columns in CONSTRAINTS:
        with op.batch_alter_table(table, naming_convention=NAMING, recreate="auto") as batch:
            batch.create_unique_constraint(_name(table, columns), columns)
