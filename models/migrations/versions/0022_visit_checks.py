"""visit_check: the checklist staff go through at a visit

One row per earlier improvement or plan item seen at a visit (in use, partly, no longer), and
for an improvement the risk as staff rate it, beside the enterprise's own rating; and on the
visit, when its checklist was finished (the visit report goes to the employer then).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.add_column("visit", sa.Column("checklist_done_at", moment, nullable=True))
    op.create_table(
        "visit_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("improvement_id", sa.Integer(), nullable=True),
        sa.Column("plan_item_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("self_likelihood", sa.Integer(), nullable=True),
        sa.Column("self_severity", sa.Integer(), nullable=True),
        sa.Column("self_score", sa.Integer(), nullable=True),
        sa.Column("staff_likelihood", sa.Integer(), nullable=True),
        sa.Column("staff_severity", sa.Integer(), nullable=True),
        sa.Column("staff_score", sa.Integer(), nullable=True),
        sa.Column("risk_checked_at", moment, nullable=True),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", moment, nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"]),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["improvement_id"], ["improvement.id"]),
        sa.ForeignKeyConstraint(["plan_item_id"], ["plan_item.id"]),
        sa.ForeignKeyConstraint(["checked_by_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("visit_id", "improvement_id", name="uq_visit_check_improvement"),
        sa.UniqueConstraint("visit_id", "plan_item_id", name="uq_visit_check_plan_item"),
    )
    op.create_index("ix_visit_check_visit_id", "visit_check", ["visit_id"])
    op.create_index("ix_visit_check_enterprise_id", "visit_check", ["enterprise_id"])
    op.create_index("ix_visit_check_checked_at", "visit_check", ["checked_at"])


def downgrade() -> None:
    op.drop_index("ix_visit_check_checked_at", table_name="visit_check")
    op.drop_index("ix_visit_check_enterprise_id", table_name="visit_check")
    op.drop_index("ix_visit_check_visit_id", table_name="visit_check")
    op.drop_table("visit_check")
    with op.batch_alter_table("visit") as batch:
        batch.drop_column("checklist_done_at")
