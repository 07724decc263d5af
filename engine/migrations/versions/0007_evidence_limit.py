"""plans: the evidence size limit a bureau sets in calendar.yaml

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # add_column in place: batch mode would rebuild a table that foreign keys point at
    op.add_column('plan', sa.Column('evidence_max_mb', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        batch.drop_column('evidence_max_mb')
