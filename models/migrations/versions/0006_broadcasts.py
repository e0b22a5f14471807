"""broadcasts and the good-practice library: progress message, frozen recipient count, withdrawal

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-29 23:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel



# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('broadcast') as batch:
        batch.add_column(sa.Column('recipients', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('progress_chat_id', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('progress_message_id', sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column('progress_shown', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
    with op.batch_alter_table('improvement') as batch:
        batch.add_column(
            sa.Column('library_withdrawn_at', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('improvement') as batch:
        batch.drop_column('library_withdrawn_at')
    with op.batch_alter_table('broadcast') as batch:
        batch.drop_column('progress_shown')
        batch.drop_column('progress_message_id')
        batch.drop_column('progress_chat_id')
        batch.drop_column('recipients')
