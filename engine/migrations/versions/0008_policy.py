"""policy: identification records, payout by the bank, a case's life after payout

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:00:00

Identification (认定) becomes its own record, shared by every programme's case;
cases gain what the bank's return, the signed roster, a stop (异动), a recovery
(追回), a transfer and a re-application need. The shipped workflows new in this
release (fee waivers, the merit scholarship, loans) are stored, and the shipped
programmes replace the old shipped version where the bureau never loaded its
own and no case would be stranded by it.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CASE_COLUMNS = [
    ('categories', sqlmodel.sql.sqltypes.AutoString(), False, ''),
    ('identification_id', sa.Integer(), True, None),
    ('needs_identification', sa.Boolean(), False, sa.text('false')),
    ('agricultural', sa.Boolean(), False, sa.text('false')),
    ('paid', sa.Integer(), True, None),
    ('paid_on', sa.Date(), True, None),
    ('bank_result', sqlmodel.sql.sqltypes.AutoString(), True, None),
    ('bank_reason', sqlmodel.sql.sqltypes.AutoString(), True, None),
    ('roster_signed_by', sqlmodel.sql.sqltypes.AutoString(), True, None),
    ('roster_signed_on', sa.Date(), True, None),
    ('recovered', sa.Integer(), False, '0'),
    ('recovered_on', sa.Date(), True, None),
    ('pay_unit_id', sa.Integer(), True, None),
    ('previous_case_id', sa.Integer(), True, None),
    ('publicity_down_on', sa.Date(), True, None),
]


def upgrade() -> None:
    op.create_table('identification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id_number', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('categories', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('pledge', sa.Boolean(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('year', 'id_number')
    )
    op.create_table('identification_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identification_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('level_from', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('level_to', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('categories_from', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('categories_to', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['identification_id'], ['identification.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_identification_review_identification_id', 'identification_review', ['identification_id'])
    # add_column in place (no foreign keys declared here: SQLite cannot add them without
    # rebuilding aid_case, which case_event and case_document point at)
    for name, kind, nullable, default in CASE_COLUMNS:
        op.add_column('aid_case', sa.Column(name, kind, nullable=nullable,
                                            server_default=default if default is not None else None))
    # what older cases already did: those paid carry what they were paid and when; a card on file is their route
    op.execute("UPDATE aid_case SET card_type = 'bank' WHERE card_type IS NULL AND bank_card <> '' "
               "AND cash_approval IS NULL")
    op.execute("UPDATE aid_case SET paid = amount, paid_on = (SELECT max(e.on_date) FROM case_event e "
               "WHERE e.case_id = aid_case.id AND e.trigger = 'pay') "
               "WHERE paid IS NULL AND EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = aid_case.id AND e.trigger = 'pay')")
    from aidcal.engine import rules  # the shipped defaults of the installed release
    rules.load_defaults(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('aid_case') as batch:
        for name, *_ in reversed(CASE_COLUMNS):
            batch.drop_column(name)
    op.drop_index('ix_identification_review_identification_id', 'identification_review')
    op.drop_table('identification_review')
    op.drop_table('identification')
