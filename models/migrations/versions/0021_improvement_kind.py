"""improvement.kind_code: the kind of improvement inside its technical area

An optional code from content/kinds.toml (after the ILO Ergonomic Checkpoints and the WISE
checklist), asked right after the area. The summary's covering index gains the column, so that
counting kinds per area reads the index alone. The summary rollups now also count the "going
well" and "support wanted" answers: rollups are derived data, so they are rebuilt.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMMARY_COLUMNS = [
    "submitted_at",
    "status",
    "enterprise_id",
    "area_code",
    "cost_vnd",
    "cost_band",
    "workers_benefiting",
    "risk_before_score",
    "risk_after_score",
    "reviewed_at",
]


def upgrade() -> None:
    with op.batch_alter_table("improvement") as batch:
        batch.add_column(
            sa.Column("kind_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
    op.drop_index("ix_improvement_summary", table_name="improvement")
    op.create_index("ix_improvement_summary", "improvement", [*SUMMARY_COLUMNS, "kind_code"])
    # `models.db.upgrade` rebuilds the rollups with the newest code once every migration ran.
    context.config.attributes["rebuild_rollups"] = True


def downgrade() -> None:
    op.drop_index("ix_improvement_summary", table_name="improvement")
    op.create_index("ix_improvement_summary", "improvement", SUMMARY_COLUMNS)
    with op.batch_alter_table("improvement") as batch:
        batch.drop_column("kind_code")
