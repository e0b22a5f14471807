"""Where a person stands: one `JourneyState` row per person and channel identity."""

from __future__ import annotations

from sqlmodel import Session

from models.tables import JourneyState

TELEGRAM = "tg:"


def telegram_person(user_id: int) -> str:
    return f"{TELEGRAM}{user_id}"


def telegram_user(person: str) -> int | None:
    """The Telegram account behind a person's key; None for another channel's person."""
    number = person.removeprefix(TELEGRAM)
    return int(number) if person.startswith(TELEGRAM) and number.isdigit() else None


def position(session: Session, person: str, *, lock: bool = True) -> JourneyState:
    """The person's row, created empty if they have none; locked for the rest of the
    transaction (PostgreSQL `FOR UPDATE`; SQLite's write transactions already exclude each
    other), so that two processes serving the same person take their inputs in turn."""
    found = session.get(JourneyState, person, with_for_update=lock or None)
    if found is None:
        found = JourneyState(person=person, data={}, paused=[])
        session.add(found)
    return found
