"""journey_state: where each person stands in the bot's journeys (models/journeys/)

The conversations move from python-telegram-bot ConversationHandlers onto the journey engine.
What PTB's persistence held for them (a "conv:<name>" row in bot_state with the state, and the
draft under a key of the person's user_data) becomes the person's journey position, so that a
person in the middle of something when the deployment is upgraded goes on where they were. A
follow-up survey in hand but not running (the person had left it) waits as a paused draft, to
be picked up by /feedback. What each conversation called its states and keys is frozen below.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

"""

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

bot_state = sa.table(
    "bot_state", sa.column("kind", sa.String), sa.column("key", sa.String),
    sa.column("data", sa.JSON),
)  # fmt: skip

Draft = dict[str, Any]
# A conversation's draft from the person's user_data and its state: the journey's draft, or
# None when the state means nothing any more.
Carry = Callable[[Draft, str], Draft | None]


def _id_under(key: str, name: str) -> Callable[[Draft, str], Draft | None]:
    """A one-message wait whose draft is one id in user_data."""

    def carry(user_data: Draft, _state: str) -> Draft | None:
        value = user_data.get(key)
        return {name: value} if isinstance(value, int) else None

    return carry


def _form(key: str, steps: dict[str, str]) -> Carry:
    """A form (models/journeys/steps.py): its answers under the same names, and its step."""

    def carry(user_data: Draft, state: str) -> Draft | None:
        if state not in steps:
            return None
        draft = user_data.get(key)
        answers = dict(draft) if isinstance(draft, dict) else {}
        return {**answers, "step": steps[state]}

    return carry


def _report(user_data: Draft, state: str) -> Draft | None:
    draft = user_data.get("report")
    if not state.startswith("report.") or not isinstance(draft, dict):
        return None
    kept = ("id", "submitted", "changed", "editing", "plan_item", "workers")
    return {**{k: draft[k] for k in kept if k in draft}, "at": state.removeprefix("report.")}


def _broadcast(user_data: Draft, state: str) -> Draft | None:
    steps = {f"broadcast.{step}": step for step in ("compose", "caption", "audience", "preview")}
    if state not in steps:
        return None
    draft: Draft = {"step": steps[state]}
    if isinstance(user_data.get("broadcast_id"), int):
        draft["broadcast"] = user_data["broadcast_id"]
    elif steps[state] in ("audience", "preview"):
        return None  # nothing to choose an audience for any more
    if isinstance(user_data.get("broadcast_photo"), str):
        draft["photo"] = user_data["broadcast_photo"]
    return draft


EVENT_STEPS = ("kind", "title", "starts_at", "place", "pin", "agenda", "audience", "practices",
               "confirm")  # fmt: skip


def _new_event(user_data: Draft, state: str) -> Draft | None:
    step = {f"events.{s}": s for s in EVENT_STEPS if s != "starts_at"} | {
        "events.when": "starts_at"
    }
    if state not in step:
        return None
    old = user_data.get("event_draft")
    old = old if isinstance(old, dict) else {}
    at = step[state]
    draft: Draft = {
        k: old[k] for k in ("kind", "title", "starts_at", "place", "agenda") if k in old
    }
    if "latitude" in old and "longitude" in old:
        draft["pin"] = [old["latitude"], old["longitude"]]
    elif EVENT_STEPS.index(at) > EVENT_STEPS.index("pin"):
        draft["pin"] = None  # the pin was skipped
    if "audience" in old:
        draft["selection" if at == "audience" else "audience"] = old["audience"]
    if "practices" in old:
        draft["ticked" if at == "practices" else "practices"] = old["practices"]
    return {**draft, "step": at}


def _onboarding(user_data: Draft, state: str) -> Draft | None:
    steps = {"onboarding.language": "language", "onboarding.consent": "consent"}
    if state not in steps or not isinstance(user_data.get("invite"), str):
        return None
    draft: Draft = {"invite": user_data["invite"], "step": steps[state]}
    if steps[state] == "consent" and isinstance(user_data.get("lang"), str):
        draft["language"] = user_data["lang"]
    return draft


def _survey(user_data: Draft, state: str) -> Draft | None:
    survey = user_data.get("survey")
    if state != "feedback.answering" or not isinstance(survey, dict) or not survey.get("for"):
        return None
    picked = user_data.get("survey_picked")
    return {"for": survey["for"], **({"picked": picked} if isinstance(picked, dict) else {})}


# conversation name -> (journey, how its draft carries over, the user_data keys it used)
CONVERSATIONS: dict[str, tuple[str, Carry, tuple[str, ...]]] = {
    "feedback": ("feedback", _survey, ("survey", "survey_picked")),
    "review.ask": ("review.ask", _id_under("review_ask", "report"), ("review_ask",)),
    "review.answer": ("review.answer", _id_under("review_answer", "question"), ("review_answer",)),
    "inbox.answer": ("inbox.answer", _id_under("inbox_answer", "thread"), ("inbox_answer",)),
    "admin.provider": (
        "admin.provider",
        _form("provider_draft", {"admin.provider_name": "name",
                                 "admin.provider_province": "province"}),
        ("provider_draft",),
    ),
    "admin.enterprise": (
        "admin.enterprise",
        _form("enterprise_draft", {f"admin.enterprise_{step}": step for step in
                                   ("name", "sector", "province", "workers", "date", "confirm")}),
        ("enterprise_draft",),
    ),
    "report": ("report", _report, ("report",)),
    "broadcast": ("broadcast", _broadcast, ("broadcast_id", "broadcast_photo")),
    "goodpractices.edit": (
        "goodpractices.edit",
        lambda user_data, state: (
            {"entry": user_data["goodpractice_editing"], "step": "text"}
            if state == "goodpractices.edit_text"
            and isinstance(user_data.get("goodpractice_editing"), int)
            else None
        ),
        ("goodpractice_editing",),
    ),
    "visits": (
        "visits",
        lambda user_data, state: (
            {"at": state.removeprefix("visits."), "visit": user_data["visit_id"]}
            if state in ("visits.when", "visits.suggest", "visits.notes")
            and isinstance(user_data.get("visit_id"), int)
            else None
        ),
        ("visit_id",),
    ),
    "events.create": ("events.create", _new_event, ("event_draft",)),
    # The chosen language stays in user_data too: /language still keeps it there.
    "onboarding": ("onboarding", _onboarding, ("invite",)),
    "plan": (
        "plan",
        _form("plan", {f"plan.{step}": step for step in ("area", "what", "checkpoint", "who",
                                                          "due")}),
        ("plan",),
    ),
    "events.move": (
        "events.move",
        _form("event_moving", {"events.move_when": "starts_at", "events.move_confirm": "confirm"}),
        ("event_moving",),
    ),
}  # fmt: skip


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
    users: dict[int, Draft] = {}
    for key, data in connection.execute(
        sa.select(bot_state.c.key, bot_state.c.data).where(bot_state.c.kind == "user")
    ):
        users[int(key)] = dict(data) if isinstance(data, dict) else {}
    running: dict[int, tuple[str, Draft]] = {}
    for kind, key, state in connection.execute(
        sa.select(bot_state.c.kind, bot_state.c.key, bot_state.c.data).where(
            bot_state.c.kind.like("conv:%")
        )
    ):
        name = kind.removeprefix("conv:")
        if name not in CONVERSATIONS or not isinstance(state, str):
            continue
        user_id = int(json.loads(key)[-1])
        journey, carry, _keys = CONVERSATIONS[name]
        draft = carry(users.get(user_id, {}), state)
        # One foreground: a person in two conversations at once keeps the last one listed.
        if draft is not None:
            running[user_id] = (journey, draft)
    now = datetime.now(UTC)
    rows = []
    for user_id in sorted(set(running) | set(users)):
        user_data = users.get(user_id, {})
        paused = []
        survey = _survey(user_data, "feedback.answering")
        if survey is not None and running.get(user_id, ("",))[0] != "feedback":
            paused.append({"journey": "feedback", "data": survey})
        journey, draft = running.get(user_id, (None, {}))
        survey_held = user_data.get("survey")
        message = survey_held.get("message") if isinstance(survey_held, dict) else None
        if journey != "feedback":
            message = None
        if journey is None and not paused:
            continue
        rows.append({
            "person": f"tg:{user_id}", "journey": journey, "data": draft, "paused": paused,
            "buttons_message": message if isinstance(message, int) else None, "updated_at": now,
        })  # fmt: skip
    if rows:
        op.bulk_insert(journey_state, rows)
    # The drafts now live in journey_state: nothing of them stays in user_data.
    moved = {key for _journey, _carry, keys in CONVERSATIONS.values() for key in keys}
    for user_id, user_data in users.items():
        if moved & set(user_data):
            remaining = {k: v for k, v in user_data.items() if k not in moved}
            connection.execute(
                bot_state.update()
                .where(bot_state.c.kind == "user", bot_state.c.key == str(user_id))
                .values(data=remaining)
            )
    connection.execute(
        bot_state.delete().where(bot_state.c.kind.in_([f"conv:{name}" for name in CONVERSATIONS]))
    )


def downgrade() -> None:
    op.drop_table("journey_state")
