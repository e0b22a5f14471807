"""Where a person stands: one `JourneyState` row per person and channel identity."""

from __future__ import annotations

from sqlmodel import Session

from models import outbox
from models.tables import JourneyState

TELEGRAM = "tg:"
ZALO = "zl:"


def telegram_person(user_id: int) -> str:
    return f"{TELEGRAM}{user_id}"


def telegram_user(person: str) -> int | None:
    """The Telegram account behind a person's key; None for another channel's person."""
    number = person.removeprefix(TELEGRAM)
    return int(number) if person.startswith(TELEGRAM) and number.isdigit() else None


def zalo_person(user_id: str) -> str:
    return f"{ZALO}{user_id}"


def zalo_user(person: str) -> str | None:
    """The Zalo account behind a person's key; None for another channel's person."""
    user = person.removeprefix(ZALO)
    return user if person.startswith(ZALO) and user else None


def channel_of(person: str) -> str:
    """The channel a person's key belongs to, as stored with what they make there
    (`Improvement.source`) and as the outbox names it (models/outbox.py)."""
    return outbox.ZALO if zalo_user(person) is not None else outbox.TELEGRAM


def position(session: Session, person: str, *, lock: bool = True) -> JourneyState:
    """The person's row, locked for the rest of the transaction (PostgreSQL `FOR UPDATE`;
    SQLite's write transactions already exclude each other), so that two processes serving
    the same person take their inputs in turn. Someone without one gets a new row, stored by
    `keep` only if it comes to hold something: a stray or forged button leaves no trace."""
    found = session.get(JourneyState, person, with_for_update=lock or None)
    if found is None:
        found = JourneyState(person=person, data={}, paused=[])
    return found


def keep(session: Session, state: JourneyState, *, registered: bool) -> None:
    """Stores the position if it holds something. A position left empty by someone not
    registered (a stranger, or a person who declined or cancelled) is deleted: nothing of theirs
    is kept, not even their channel identity."""
    if state.journey is not None or state.paused:
        session.add(state)
    elif state in session and not registered:
        session.delete(state)
