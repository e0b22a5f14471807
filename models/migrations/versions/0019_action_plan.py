"""plan_item: the action plan an enterprise made at the training

One row per planned improvement (area, what, optional checkpoint, who, due day) and its way
planned -> done -> still in use (or no longer in use), with who and when at each step.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "plan_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("area_code", text(length=40), nullable=False),
        sa.Column("what", text(length=300), nullable=False),
        sa.Column("checkpoint", text(length=40), nullable=True),
        sa.Column("who", text(length=100), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", text(length=20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("in_use_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_use_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("improvement_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["done_by_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["in_use_by_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["ended_by_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["improvement_id"], ["improvement.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_item_enterprise_id", "plan_item", ["enterprise_id"])
    op.create_index("ix_plan_item_status_due", "plan_item", ["status", "due_on"])


def downgrade() -> None:
    op.drop_index("ix_plan_item_status_due", table_name="plan_item")
    op.drop_index("ix_plan_item_enterprise_id", table_name="plan_item")
    op.drop_table("plan_item")
