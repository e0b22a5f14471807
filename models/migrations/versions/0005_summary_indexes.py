"""summary indexes: one covering index for the follow-up summary's passes over improvements

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-29 23:30:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = [
    'submitted_at', 'status', 'enterprise_id', 'area_code', 'cost_vnd', 'cost_band',
    'workers_benefiting', 'risk_before_score', 'risk_after_score', 'reviewed_at',
]


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('improvement', schema=None) as batch_op:
        batch_op.create_index('ix_improvement_summary', COLUMNS, unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('improvement', schema=None) as batch_op:
        batch_op.drop_index('ix_improvement_summary')
