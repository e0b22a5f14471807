"""inbox_message.origin: the person's message on its channel, sent to the provider once

The direct line no longer keeps what a person sent while asking "Send this to your provider?":
the question answers their message, and the channel brings it back with the pressed button.
`origin` ("tg:<chat>:<message id>") makes "Yes, send it" idempotent across presses and
processes. Rows kept by the earlier way, still without a thread, are deleted by the retention
job together with their files (the files live outside the database).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_message") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=80), nullable=True))
        batch.create_unique_constraint("uq_inbox_message_origin", ["origin"])


def downgrade() -> None:
    with op.batch_alter_table("inbox_message") as batch:
        batch.drop_constraint("uq_inbox_message_origin", type_="unique")
        batch.drop_column("origin")
