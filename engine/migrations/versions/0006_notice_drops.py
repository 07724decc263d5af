"""notices: items dropped from a draft, drafts discarded

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:00:00

A notice names only what is still late when it is issued: items whose work was
done, waived or cancelled by the issue date are dropped at signing (kept, with
why); a supervisor may drop an item or discard a whole draft.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # add_column in place: batch mode would rebuild tables that foreign keys point at
    op.add_column('notice', sa.Column('discarded_on', sa.Date(), nullable=True))
    op.add_column('notice', sa.Column('discard_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('notice_item', sa.Column('dropped_on', sa.Date(), nullable=True))
    op.add_column('notice_item', sa.Column('drop_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('notice_item', sa.Column('dropped_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notice_item') as batch:
        batch.drop_column('dropped_by')
        batch.drop_column('drop_reason')
        batch.drop_column('dropped_on')
    with op.batch_alter_table('notice') as batch:
        batch.drop_column('discard_reason')
        batch.drop_column('discarded_on')
