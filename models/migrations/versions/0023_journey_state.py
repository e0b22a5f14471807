"""journey_state: where each person stands in the bot's journeys (models/journeys/)

The follow-up survey moves from a python-telegram-bot conversation onto the journey engine.
Its persisted conversation state ("conv:feedback" rows in bot_state) and the survey in hand
(user_data "survey", "survey_picked") become the person's journey position, so that a person
in the middle of a questionnaire when the deployment is upgraded goes on where they were: in
the foreground if the conversation was running, paused (resumed by /feedback) if it was not.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: the names the old conversation used (handlers/feedback.py before 0023).
OLD_CONVERSATION = "conv:feedback"
OLD_STATE = "feedback.answering"
OLD_SURVEY, OLD_PICKED = "survey", "survey_picked"

bot_state = sa.table(
    "bot_state", sa.column("kind", sa.String), sa.column("key", sa.String),
    sa.column("data", sa.JSON),
)  # fmt: skip


def upgrade() -> None:
    journey_state = op.create_table(
        "journey_state",
        sa.Column("person", sa.String(length=80), nullable=False),
        sa.Column("journey", sa.String(length=40), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("paused", sa.JSON(), nullable=True),
        sa.Column("buttons_message", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person"),
    )
    connection = op.get_bind()
    running = set()
    for key, state in connection.execute(
        sa.select(bot_state.c.key, bot_state.c.data).where(bot_state.c.kind == OLD_CONVERSATION)
    ):
        if state == OLD_STATE:
            running.add(int(json.loads(key)[-1]))
    rows = []
    now = datetime.now(UTC)
    for key, data in connection.execute(
        sa.select(bot_state.c.key, bot_state.c.data).where(bot_state.c.kind == "user")
    ):
        user_data: dict[str, Any] = data if isinstance(data, dict) else {}
        survey = user_data.get(OLD_SURVEY)
        if not isinstance(survey, dict) or not survey.get("for"):
            continue
        draft: dict[str, Any] = {"for": survey["for"]}
        if isinstance(user_data.get(OLD_PICKED), dict):
            draft["picked"] = user_data[OLD_PICKED]
        user_id = int(key)
        message = survey.get("message") if isinstance(survey.get("message"), int) else None
        if user_id in running:
            rows.append({"person": f"tg:{user_id}", "journey": "feedback", "data": draft,
                         "paused": [], "buttons_message": message, "updated_at": now})  # fmt: skip
        else:
            rows.append({"person": f"tg:{user_id}", "journey": None, "data": {},
                         "paused": [{"journey": "feedback", "data": draft}],
                         "buttons_message": None, "updated_at": now})  # fmt: skip
        remaining = {k: v for k, v in user_data.items() if k not in (OLD_SURVEY, OLD_PICKED)}
        connection.execute(
            bot_state.update()
            .where(bot_state.c.kind == "user", bot_state.c.key == key)
            .values(data=remaining)
        )
    if rows:
        op.bulk_insert(journey_state, rows)
    connection.execute(bot_state.delete().where(bot_state.c.kind == OLD_CONVERSATION))


def downgrade() -> None:
    op.drop_table("journey_state")
