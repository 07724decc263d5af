"""authorities: plans apply to the units under their authority (plan.scope, unit.authority)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:30:00

Before 0004 every plan applied to every unit. A database of that release holds
one authority's plan (or, rarely, several that all applied everywhere): each
existing school is put under the most local of them, each bureau under itself,
so every plan keeps applying to the units it already had instances for.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _scope(code: str) -> str:
    # engine/authorities.scope, frozen here as it was when this migration was written
    return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code


def upgrade() -> None:
    # add_column in place: batch mode would rebuild tables that foreign keys point at
    op.add_column('plan', sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False, server_default=''))
    op.add_column('unit', sa.Column('authority', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False, server_default=''))
    op.create_index(op.f('ix_unit_authority'), 'unit', ['authority'], unique=False)

    conn = op.get_bind()
    plans = conn.execute(sa.text("SELECT id, authority_code FROM plan ORDER BY id")).all()
    for plan_id, code in plans:
        conn.execute(sa.text("UPDATE plan SET scope = :scope WHERE id = :id"), dict(scope=_scope(code), id=plan_id))
    codes = [code for _, code in plans]
    # bureaus (type_mask 64) answer to themselves; schools to the most local plan's authority, the newest on a tie
    conn.execute(sa.text("UPDATE unit SET authority = code WHERE type_mask = 64 AND length(code) = 6"))
    if codes:
        local = max(reversed(codes), key=lambda c: len(_scope(c)))
        conn.execute(sa.text("UPDATE unit SET authority = :code WHERE authority = ''"), dict(code=local))


def downgrade() -> None:
    op.drop_index(op.f('ix_unit_authority'), table_name='unit')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('authority')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('scope')
