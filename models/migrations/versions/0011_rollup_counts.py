"""rollups for a fast national summary: enterprises per number of improvements, visits per
due day, coarse visit rows

rollup_count replaces the summary's pass over one row per enterprise, rollup_visit_day the
overdue visits of a month that today cuts; rollup_visit gains coarse rows (province and
sector "*"); indexes read the coarse rows of a period directly. Rollups are derived data, so an existing database has its rollups rebuilt.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_count",
        sa.Column("period_key", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("improvements", sa.BigInteger(), nullable=False),
        sa.Column("enterprises", sa.BigInteger(), nullable=False),
        sa.Column("workers_benefiting", sa.BigInteger(), nullable=False),
        sa.Column("followed_up", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period_key", "provider_id", "improvements"),
    )
    op.create_table(
        "rollup_visit_day",
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("visits", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("due_on", "provider_id", "status"),
    )
    op.create_index(
        "ix_rollup_value_coarse", "rollup_value", ["period_key", "kind", "province_code"]
    )
    op.create_index(
        "ix_rollup_answer_coarse",
        "rollup_answer",
        ["period_key", "province_code", "questionnaire", "question_id"],
    )
    op.create_index(
        "ix_rollup_visit_coarse", "rollup_visit", ["period_key", "province_code", "status"]
    )
    # Rollups are derived data: `models.db.upgrade` rebuilds them with the code of the newest
    # migration once every migration has run (a rebuild here would run today's code against
    # this revision's schema).
    context.config.attributes["rebuild_rollups"] = True


def downgrade() -> None:
    op.drop_index("ix_rollup_visit_coarse", table_name="rollup_visit")
    op.drop_index("ix_rollup_answer_coarse", table_name="rollup_answer")
    op.drop_index("ix_rollup_value_coarse", table_name="rollup_value")
    op.drop_table("rollup_visit_day")
    op.drop_table("rollup_count")
    # The coarse rows of rollup_visit would double the counts of the code before this one.
    op.execute("DELETE FROM rollup_visit WHERE province_code = '*'")
