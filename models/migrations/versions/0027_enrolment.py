"""joining without an invite: an enterprise's request to join, until a provider decides

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "enrolment_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("tips", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("province_code", sa.String(length=40), nullable=False),
        sa.Column("sector_code", sa.String(length=40), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("decided_at", moment, nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decline_reason", sa.String(length=500), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_enrolment_request_telegram_user_id", "enrolment_request", ["telegram_user_id"]
    )
    op.create_index("ix_enrolment_request_status", "enrolment_request", ["status"])


def downgrade() -> None:
    op.drop_index("ix_enrolment_request_status", table_name="enrolment_request")
    op.drop_index("ix_enrolment_request_telegram_user_id", table_name="enrolment_request")
    op.drop_table("enrolment_request")
