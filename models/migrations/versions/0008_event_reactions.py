"""event reactions: survey participation keyed by an event as well as by a round

The reaction survey after an event runs on the follow-up survey engine; who took part in it is
recorded like round participation, with `event_id` instead of `round_id` (exactly one is set).

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-30 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("surveyparticipation") as batch:
        batch.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch.alter_column("round_id", existing_type=sa.Integer(), nullable=True)
        batch.create_index(batch.f("ix_surveyparticipation_event_id"), ["event_id"], unique=False)
        # PostgreSQL's default names, so that a table made either way looks the same.
        batch.create_unique_constraint(
            "surveyparticipation_event_id_contact_id_questionnaire_key",
            ["event_id", "contact_id", "questionnaire"],
        )
        batch.create_foreign_key("surveyparticipation_event_id_fkey", "event", ["event_id"], ["id"])
        batch.create_check_constraint(
            "ck_surveyparticipation_one_subject", "(round_id IS NULL) <> (event_id IS NULL)"
        )


def downgrade() -> None:
    """Downgrade schema (event participation rows are dropped: the old table cannot hold
    them)."""
    op.execute(sa.text("DELETE FROM surveyparticipation WHERE round_id IS NULL"))
    with op.batch_alter_table("surveyparticipation") as batch:
        batch.drop_constraint("ck_surveyparticipation_one_subject", type_="check")
        batch.drop_constraint("surveyparticipation_event_id_fkey", type_="foreignkey")
        batch.drop_constraint(
            "surveyparticipation_event_id_contact_id_questionnaire_key", type_="unique"
        )
        batch.drop_index(batch.f("ix_surveyparticipation_event_id"))
        batch.alter_column("round_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("event_id")
