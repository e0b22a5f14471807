"""inbox_thread, inbox_message: the direct line from enterprises to their provider

What an employer or worker sends outside a journey becomes, once they confirm, a message in a
thread of their provider's inbox; staff answer (text, photo or voice) and close the thread.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "inbox_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("status", text(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["provider_id"], ["provider.id"]),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["closed_by_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbox_thread_contact_id", "inbox_thread", ["contact_id"])
    op.create_index("ix_inbox_thread_provider_status", "inbox_thread", ["provider_id", "status"])
    op.create_table(
        "inbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("incoming", sa.Boolean(), nullable=False),
        sa.Column("kind", text(length=10), nullable=False),
        sa.Column("text", text(length=4000), nullable=True),
        sa.Column("file_id", text(length=200), nullable=True),
        sa.Column("file_path", text(length=300), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["thread_id"], ["inbox_thread.id"]),
        sa.ForeignKeyConstraint(["sender_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbox_message_thread_id", "inbox_message", ["thread_id"])
    op.create_index("ix_inbox_message_sender_id", "inbox_message", ["sender_id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_message_sender_id", table_name="inbox_message")
    op.drop_index("ix_inbox_message_thread_id", table_name="inbox_message")
    op.drop_table("inbox_message")
    op.drop_index("ix_inbox_thread_provider_status", table_name="inbox_thread")
    op.drop_index("ix_inbox_thread_contact_id", table_name="inbox_thread")
    op.drop_table("inbox_thread")
