"""worker answers released per closed unit; questionnaires in progress kept by contact

survey_pending holds a questionnaire while a person answers it (and an anonymous one until it
is released); surveyresponse.released says whether a response counts in any figure;
respondent_key goes, since nothing resumes a response by key any more.

Existing data: complete named responses (employers, named event reactions, also those of
people erased since, which keep their times) count as they did; anonymous ones wait for the
scheduler's `surveys` job, which releases every closed unit with 3 or more of them, rewritten
in one shuffled batch. Unfinished named responses move to survey_pending; unfinished anonymous
ones could only be resumed through the handle the channel kept, which is gone, and never
counted: they are deleted. The rollups are rebuilt by `models.db.upgrade` after the migration
(worker answers no longer count until released).

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01

"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("questionnaire", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("anonymous", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("complete", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint(
            "(round_id IS NULL) <> (event_id IS NULL)", name="ck_survey_pending_one_subject"
        ),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["surveyround.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "contact_id", "questionnaire"),
        sa.UniqueConstraint("round_id", "contact_id", "questionnaire"),
    )
    for column in ("contact_id", "event_id", "round_id"):
        op.create_index(f"ix_survey_pending_{column}", "survey_pending", [column])
    with op.batch_alter_table("surveyresponse") as batch:
        batch.add_column(
            sa.Column("released", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    connection = op.get_bind()
    op.execute(
        "UPDATE surveyresponse SET released = TRUE WHERE (complete OR completed_at IS NOT NULL)"
        " AND (contact_id IS NOT NULL OR completed_at IS NOT NULL"
        " OR questionnaire = 'employer')"
    )
    unfinished = connection.execute(
        sa.text(
            "SELECT id, contact_id, round_id, event_id, questionnaire FROM surveyresponse"
            " WHERE NOT complete AND completed_at IS NULL AND contact_id IS NOT NULL"
        )
    ).all()
    moved: set[tuple[object, ...]] = set()
    for response_id, contact_id, round_id, event_id, questionnaire in unfinished:
        answers: dict[str, object] = {}
        for question, value_int, value_text in connection.execute(
            sa.text(
                "SELECT question_id, value_int, value_text FROM surveyanswer"
                " WHERE response_id = :id ORDER BY id"
            ),
            {"id": response_id},
        ):
            value = value_int if value_int is not None else value_text
            if question in answers and value is not None:
                previous = answers[question]
                answers[question] = [*(previous if isinstance(previous, list) else [previous]), value]
            else:
                answers[question] = value
        subject = (contact_id, round_id, event_id, questionnaire)
        if subject in moved:
            continue
        moved.add(subject)
        connection.execute(
            sa.table(
                "survey_pending",
                sa.column("contact_id"),
                sa.column("round_id"),
                sa.column("event_id"),
                sa.column("questionnaire"),
                sa.column("anonymous"),
                sa.column("key"),
                sa.column("answers", sa.JSON()),
                sa.column("complete"),
            ).insert(),
            {
                "contact_id": contact_id,
                "round_id": round_id,
                "event_id": event_id,
                "questionnaire": questionnaire,
                "anonymous": False,
                "key": secrets.token_hex(16),
                "answers": answers,
                "complete": False,
            },
        )
    unfinished_ids = "SELECT id FROM surveyresponse WHERE NOT complete AND completed_at IS NULL"
    op.execute(f"DELETE FROM surveyanswer WHERE response_id IN ({unfinished_ids})")
    op.execute("DELETE FROM surveyresponse WHERE NOT complete AND completed_at IS NULL")
    with op.batch_alter_table("surveyresponse") as batch:
        batch.drop_column("respondent_key")
    context.config.attributes["rebuild_rollups"] = True


def downgrade() -> None:
    with op.batch_alter_table("surveyresponse") as batch:
        batch.add_column(
            sa.Column(
                "respondent_key",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                server_default="",
                nullable=False,
            )
        )
    op.execute("UPDATE surveyresponse SET respondent_key = CAST(id AS VARCHAR(64))")
    with op.batch_alter_table("surveyresponse") as batch:
        batch.alter_column("respondent_key", server_default=None)
        batch.create_unique_constraint(
            "surveyresponse_round_id_questionnaire_respondent_key_key",
            ["round_id", "questionnaire", "respondent_key"],
        )
        batch.drop_column("released")
    # Questionnaires in progress are lost: the code before this one resumed them by a handle
    # that no longer exists.
    for column in ("round_id", "event_id", "contact_id"):
        op.drop_index(f"ix_survey_pending_{column}", table_name="survey_pending")
    op.drop_table("survey_pending")
    context.config.attributes["rebuild_rollups"] = True
