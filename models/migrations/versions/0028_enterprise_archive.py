"""archived enterprises: `enterprise.archived_at` and who archived it

An archived enterprise is no longer followed up: the scheduler plans and sends nothing for it
(models/enterprises.py, `followed_up`), while its history stays in every summary and export.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN on both databases: no table copy, so the tables that
    # refer to enterprise keep their rows. No foreign key to contact: contact refers to
    # enterprise already (models/tables.py).
    op.add_column("enterprise", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("enterprise", sa.Column("archived_by_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later), not a batch copy: other tables'
    # rows refer to enterprise, and dropping the table under them would fail.
    op.drop_column("enterprise", "archived_by_id")
    op.drop_column("enterprise", "archived_at")
