"""plans: how a bureau's notices are headed as 公文 (GB/T 9704-2012)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:00:00

calendar.yaml's `notices:` may give the document number's form (发文字号, e.g.
教助〔{year}〕{n}号), the masthead (发文机关标志) and the addressee (主送机关); the
internal number YYYY-N stays the key.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # add_column in place: batch mode would rebuild a table that foreign keys point at
    op.add_column('plan', sa.Column('notice_style', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        batch.drop_column('notice_style')
