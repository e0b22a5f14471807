"""Registration is a journey (models/journeys/onboarding.py): /start <code> reaches it through
the driver. Three ways in reach it from here: an event's check-in link that is an invite after all,
an invite's short code typed by someone not registered, and a code to link a channel typed by
someone registered already (their own, or another person's: models/journeys/link.py)."""

from __future__ import annotations

import asyncio

from telegram import Message, Update
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from handlers import driver, events
from handlers.common import anything_else
from handlers.context import Ask, handler
from models.events import CHECKIN_PREFIX
from models.journeys import link
from models.journeys.core import Input, Outcome
from models.journeys.onboarding import CODE_GIVEN, CODE_TYPED
from models.journeys.state import telegram_person
from models.programme import looks_like_short_code
from models.tables import Contact


async def checkin_link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/start ev_<code>`: an event's check-in QR code (handlers/events.py); an invite whose
    code happens to begin the same way registers like any other."""
    code = context.args[0] if context.args else ""
    if not await events.checkin_from_start(update, context, code):
        await driver.begin(update, context, Input(command=CODE_GIVEN, text=code))


class _ShortCodeShape(filters.MessageFilter):
    def filter(self, message: Message) -> bool:
        return looks_like_short_code(message.text)


@handler()
async def typed_code(ask: Ask) -> None:
    """Someone not registered types the short code of an invite (read out at a workshop,
    printed beside the QR code): it counts as `/start <code>`. Registered after every journey,
    so that only text nothing else took can be a code."""
    assert ask.message is not None
    if ask.person is not None:
        # A registered person's text may be a code to link a channel: theirs, or another's.
        if not await _link_code(ask, ask.person, ask.message.text or ""):
            await anything_else(ask.update, ask.context)
        return
    await driver.begin(ask.update, ask.context, Input(command=CODE_TYPED, text=ask.message.text))


async def _link_code(ask: Ask, contact: Contact, text: str) -> bool:
    """The answer to a live link code typed by someone registered (models/journeys/link.py);
    False for any other text."""
    person = telegram_person(ask.user_id)
    place = driver.place(ask.context)

    def work() -> Outcome | None:
        with ask.runtime.database.session() as session:
            return link.typed_by_member(
                session, person=person, contact=contact, language=ask.language, text=text,
                now=ask.now, place=place,
            )  # fmt: skip

    outcome = await asyncio.to_thread(work)
    if outcome is None:
        return False
    await driver.show(ask.update, ask.context, outcome)
    return True


def checkin_handler() -> CommandHandler:  # type: ignore[type-arg]
    return CommandHandler(
        "start", checkin_link, filters.Regex(rf"^/start(@\w+)?\s+{CHECKIN_PREFIX}")
    )


def typed_code_handler() -> MessageHandler:  # type: ignore[type-arg]
    return MessageHandler(filters.TEXT & ~filters.COMMAND & _ShortCodeShape(), typed_code)
