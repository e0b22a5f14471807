"""improvement.people_shown: whether people in a report's photos agreed to be published

none / agreed / not_agreed, or NULL when the reporter was not asked (every report before this
revision): publications show a report's photos only for "none" and "agreed".

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("improvement") as batch:
        batch.add_column(sa.Column("people_shown", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("improvement") as batch:
        batch.drop_column("people_shown")
