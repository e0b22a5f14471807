"""improvement reports: the question thread, and where a draft stopped

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel



# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('improvementmessage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('improvement_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('reply_to_id', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['improvement_id'], ['improvement.id'], ),
    sa.ForeignKeyConstraint(['recipient_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['reply_to_id'], ['improvementmessage.id'], ),
    sa.ForeignKeyConstraint(['sender_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_improvementmessage_improvement_id'), 'improvementmessage', ['improvement_id'], unique=False)
    op.create_index(op.f('ix_improvementmessage_recipient_id'), 'improvementmessage', ['recipient_id'], unique=False)
    with op.batch_alter_table('improvement') as batch_op:
        batch_op.add_column(sa.Column('draft_step', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('improvement') as batch_op:
        batch_op.drop_column('draft_step')
    op.drop_index(op.f('ix_improvementmessage_recipient_id'), table_name='improvementmessage')
    op.drop_index(op.f('ix_improvementmessage_improvement_id'), table_name='improvementmessage')
    op.drop_table('improvementmessage')
