"""web_sign_in: one-time links to the provider's web dashboard (/web in the chat)

Each row is one link; `used_at` is set when the link is opened, so that a forwarded or replayed
link signs nobody in a second time, whichever process serves it.

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sign_in",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_sign_in_contact_id", "web_sign_in", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sign_in_contact_id", table_name="web_sign_in")
    op.drop_table("web_sign_in")
