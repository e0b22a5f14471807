"""the visit as a record: improvements seen at a visit, and employer surveys taken down there

`improvement.seen_at_visit_id` marks an improvement that provider staff saw at that visit (not
reported by the enterprise). `surveyresponse.assisted` and `surveyresponse.recorded_by_id` mark
an employer response that staff took down at a visit for an owner who does not use the chat.
While staff answer it, the questionnaire waits under their own contact (a staff member's
`survey_pending` row of the employer questionnaire is always one taken down for an owner).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("improvement") as batch:
        batch.add_column(sa.Column("seen_at_visit_id", sa.Integer(), nullable=True))
        # PostgreSQL's default name, so that a table made either way looks the same.
        batch.create_foreign_key(
            "improvement_seen_at_visit_id_fkey", "visit", ["seen_at_visit_id"], ["id"]
        )
    with op.batch_alter_table("surveyresponse") as batch:
        batch.add_column(
            sa.Column("assisted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("recorded_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "surveyresponse_recorded_by_id_fkey", "contact", ["recorded_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("surveyresponse") as batch:
        batch.drop_constraint("surveyresponse_recorded_by_id_fkey", type_="foreignkey")
        batch.drop_column("recorded_by_id")
        batch.drop_column("assisted")
    with op.batch_alter_table("improvement") as batch:
        batch.drop_constraint("improvement_seen_at_visit_id_fkey", type_="foreignkey")
        batch.drop_column("seen_at_visit_id")
