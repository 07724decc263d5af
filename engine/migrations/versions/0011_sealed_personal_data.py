"""personal data sealed at rest: keyed hashes and masked forms beside the sealed values

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:30:00

New cases and identifications keep their ID number, phone, bank card and categories
sealed in the columns that held them in clear (engine/sealing.py), with the keyed hash
of the ID number (`id_hash`) for duplicates and look-ups and the masked forms for
lists. This migration only makes room: it runs without the key, so it seals nothing.
A database that already holds personal data is sealed once, on purpose, by
`aidcal key encrypt-existing`, which also fills `id_hash` and the masked forms.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('seal_key',
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('retired_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key_id')
    )
    for table in ('aid_case', 'identification'):
        op.add_column(table, sa.Column('id_hash', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        op.add_column(table, sa.Column('id_masked', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True))
    op.add_column('aid_case', sa.Column('phone_masked', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('aid_case', sa.Column('card_masked', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_index('uq_aid_case_person', 'aid_case', ['programme', 'term', 'id_hash'], unique=True)
    op.create_index('uq_identification_person', 'identification', ['year', 'id_hash'], unique=True)
    if op.get_bind().dialect.name == "postgresql":  # a sealed token is longer than 18 (SQLite does not check lengths)
        for table in ('aid_case', 'identification'):
            op.alter_column(table, 'id_number', type_=sqlmodel.sql.sqltypes.AutoString(), existing_nullable=False)


def downgrade() -> None:
    op.drop_index('uq_identification_person', table_name='identification')
    op.drop_index('uq_aid_case_person', table_name='aid_case')
    for column in ('card_masked', 'phone_masked', 'id_masked', 'id_hash'):
        op.drop_column('aid_case', column)
    for column in ('id_masked', 'id_hash'):
        op.drop_column('identification', column)
    op.drop_table('seal_key')
