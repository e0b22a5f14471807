"""channels: a person can be reached on Telegram, on Zalo or on both

`contact.zalo_user_id` is the person's Zalo id (a string; a private chat's id is the same) and
`contact.zalo_unreachable_at` marks Zalo alone as unreachable ("blocked", "not found"), so that
the person stays reachable on Telegram. An outbox row names the channel that carries it and,
for Zalo, the address; every existing row is a Telegram one.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("zalo_user_id", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("zalo_unreachable_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_unique_constraint("uq_contact_zalo_user_id", ["zalo_user_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=10), nullable=False, server_default="telegram")
        )
        batch.add_column(
            sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("address")
        batch.drop_column("channel")
    with op.batch_alter_table("contact") as batch:
        batch.drop_constraint("uq_contact_zalo_user_id", type_="unique")
        batch.drop_column("zalo_unreachable_at")
        batch.drop_column("zalo_user_id")
