"""The outbox's messages on Zalo, which has no buttons: the buttons of a message that a journey
takes (a visit's ✅ Confirm, an invitation's answers, 📋 Answer the survey) become numbered lines
under its text, with the instruction the driver gives under a journey's choices
(bot/zalo/render.py); the others (answered by Telegram's plain handlers) are left out.

When Zalo has accepted the message, its actions are remembered for the person in the database
(engine.remember_notice_choices), replacing those of an earlier message, so that the Zalo
driver of any process reads the answer "1" or "xác nhận" as the button pressed. They stand
until a newer message numbers others, or an answer spends them (`left_after`); a message
without answerable buttons leaves them, as an older message's buttons still work on Telegram.

A journey in front comes first: its own numbers and typed answers are its (a number may answer
its question, a count of workers say), and the message's numbers answer once it ends or is
cancelled. A message that arrives in the middle of a journey says so under its numbers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.i18n import Translate, normalise_language, translator
from bot.zalo import render
from models.db import Database
from models.journeys import engine, registry  # noqa: F401  (registers every journey)
from models.journeys.core import Action, Input, Outcome
from models.journeys.state import zalo_person
from models.outbox import Message
from models.tables import Contact, Outbox

__all__ = ["Numbered", "answerable", "choices_text", "left_after", "numbered", "prepare"]


@dataclass(frozen=True)
class Numbered:
    """A message's answerable buttons for one Zalo person: the actions, and the numbered lines
    shown under the message's text, in the person's language."""

    person: str
    actions: list[Action]
    text: str

    def remember(self, session: Session, *, now: datetime) -> None:
        engine.remember_notice_choices(session, self.person, self.actions, now=now)


def answerable(buttons: list[list[tuple[str, str]]] | None) -> list[Action]:
    """The buttons a journey takes, in their order: those Zalo can answer."""
    return _taken([Action(label, data) for row in buttons or [] for label, data in row])


def _taken(actions: list[Action]) -> list[Action]:
    return [action for action in actions if engine.takes(Input(payload=action.payload))]


def left_after(outcome: Outcome) -> list[Action] | None:
    """What a message's numbers stand for once one of them is answered: as they were, unless
    the answer changed the message (Telegram edits the one whose button was pressed); then the
    actions the changed message keeps (an invitation's, the answer marked), or none when they
    are spent (a visit confirmed)."""
    if outcome.edit is None:
        return None
    return _taken([action for row in outcome.edit.actions for action in row])


def numbered(session: Session, row: Outbox, message: Message) -> Numbered | None:
    """The numbered choices of a Zalo row, None when none of its buttons can be answered."""
    actions = answerable(message.buttons)
    if not actions or not row.address:
        return None
    contact = session.get(Contact, row.contact_id) if row.contact_id is not None else None
    _ = translator(normalise_language(contact.language if contact is not None else None))
    person = zalo_person(row.address)
    return Numbered(person, actions, choices_text(session, _, person, actions))


def choices_text(session: Session, _: Translate, person: str, actions: list[Action]) -> str:
    """The numbered lines of a message's answerable buttons, saying so when a journey in front
    takes the numbers first."""
    text = render.numbered(_, actions)
    if engine.standing(session, person)[0] is not None:
        text += "\n" + _("(Please finish what we are doing first, or send /cancel.)")
    return text


async def prepare(database: Database, row: Outbox) -> Numbered | None:
    """`numbered` for a row about to be sent, read on a worker thread; None at once for a
    message without buttons."""
    message = Message.from_payload(row.payload)
    if not message.buttons:
        return None

    def read() -> Numbered | None:
        with database.reading() as session:
            return numbered(session, row, message)

    return await asyncio.to_thread(read)
