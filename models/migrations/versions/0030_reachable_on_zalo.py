"""reachable on any channel: the summary counts a person Zalo reaches as reachable

The summary's reachable employers and workers were those with a Telegram account that had not
refused the bot; now they are those some channel reaches (`models.outbox.reachable`: Telegram
or Zalo, each with its own refusal). The covering index follows the columns that test reads, so
that the count still reads the index alone, and the rollups, derived data, are rebuilt.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07

"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = [
    "role",
    "erased_at",
    "opted_out_at",
    "unreachable_at",
    "telegram_user_id",
    "enterprise_id",
]
AFTER = [
    "role",
    "erased_at",
    "opted_out_at",
    "enterprise_id",
    "chat_id",
    "unreachable_at",
    "zalo_user_id",
    "zalo_unreachable_at",
]


def upgrade() -> None:
    op.drop_index("ix_contact_reachable", table_name="contact")
    op.create_index("ix_contact_reachable", "contact", AFTER)
    # `models.db.upgrade` rebuilds the rollups with the newest code once every migration ran.
    context.config.attributes["rebuild_rollups"] = True


def downgrade() -> None:
    op.drop_index("ix_contact_reachable", table_name="contact")
    op.create_index("ix_contact_reachable", "contact", BEFORE)
