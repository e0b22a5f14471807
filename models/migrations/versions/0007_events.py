"""events: good practices showcased at an event, event version (moves), rsvp invited_at

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-29 23:40:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('eventgoodpractice',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('improvement_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['improvement_id'], ['improvement.id'], ),
    sa.PrimaryKeyConstraint('event_id', 'improvement_id')
    )
    with op.batch_alter_table('event') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('rsvp') as batch:
        batch.add_column(
            sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('rsvp') as batch:
        batch.drop_column('invited_at')
    with op.batch_alter_table('event') as batch:
        batch.drop_column('version')
    op.drop_table('eventgoodpractice')
