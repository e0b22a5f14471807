"""Zalo notice choices: `journey_state.notice_choices`

The buttons of a message the outbox sent to Zalo become numbered replies there; the actions
they stand for are kept per person, beside (not inside) the foreground journey's draft, so that
the answer "1" reaches the right action in any process, whether a journey is in front or not.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: a nullable column needs no table copy.
    op.add_column("journey_state", sa.Column("notice_choices", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("journey_state", "notice_choices")
