"""containable invite links: short codes to type, removed members, wrong-code counts

invite.short_code (unique) is the code a person types where a channel has no deep links; the
invites still live get one now, and a joiner limit where they had none (a link that already
admitted more than its limit is full from now on). contact.removed_at marks a person staff or
a coordinator removed. code_attempt counts wrong short codes per sender, shared by every
process.

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-01

"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of models/programme.py's short-code alphabet and length, and of its joiner
# limits, at the time of this migration.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
LENGTH = 10
EMPLOYER_LIMIT = 3
PARTNER_LIMIT = 10
WORKER_MARGIN = 2


def upgrade() -> None:
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("short_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.create_index("ix_invite_short_code", ["short_code"], unique=True)
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "code_attempt",
        sa.Column("sender_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sender_key"),
    )
    # Links already handed out keep working, and can now be typed as well.
    connection = op.get_bind()
    invite = sa.table(
        "invite",
        sa.column("id", sa.Integer()),
        sa.column("short_code", sa.String()),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
        sa.column("role", sa.String()),
        sa.column("enterprise_id", sa.Integer()),
        sa.column("max_uses", sa.Integer()),
        sa.column("uses", sa.Integer()),
    )
    enterprise = sa.table(
        "enterprise", sa.column("id", sa.Integer()), sa.column("workers", sa.Integer())
    )
    now = datetime.now(UTC)
    if connection.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored naive UTC there (models/tables.py UTCDateTime)
    live = connection.execute(
        sa.select(
            invite.c.id, invite.c.role, invite.c.max_uses, invite.c.uses, enterprise.c.workers
        )
        .select_from(invite.outerjoin(enterprise, enterprise.c.id == invite.c.enterprise_id))
        .where(invite.c.revoked_at.is_(None), invite.c.expires_at > now)
    ).all()
    taken: set[str] = set()
    for invite_id, role, max_uses, uses, workers in live:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        while code in taken:
            code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        taken.add(code)
        if max_uses is None:
            if role == "worker":
                max_uses = -(-(workers or 1) * 120 // 100) + WORKER_MARGIN
            else:
                max_uses = EMPLOYER_LIMIT if role == "employer" else PARTNER_LIMIT
            max_uses = max(max_uses, uses or 0)
        connection.execute(
            sa.update(invite)
            .where(invite.c.id == invite_id)
            .values(short_code=code, max_uses=max_uses)
        )


def downgrade() -> None:
    op.drop_table("code_attempt")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("removed_at")
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.drop_index("ix_invite_short_code")
        batch_op.drop_column("short_code")
