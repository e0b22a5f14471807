"""What every handler needs from the running bot: settings, the database, the clock, and the
language of the person it is talking to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import Translate, normalise_language, translator
from bot.settings import Settings
from models.db import Database
from models.journeys.engine import who_and_where
from models.journeys.state import telegram_person
from models.programme import former_language
from models.tables import Contact, utcnow

LANGUAGE_KEY = "lang"


@dataclass
class Runtime:
    settings: Settings
    database: Database
    # Tests and the demo move time; production reads the wall clock.
    clock: Callable[[], datetime] = field(default=utcnow)
    bot_username: str | None = None

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.now().astimezone(self.settings.tz).date()


def runtime(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    return context.application.bot_data["runtime"]  # type: ignore[no-any-return]


def user_data(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    assert context.user_data is not None  # private chats always have a user
    return context.user_data


def language_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The person's chosen language: a registered person's as the database holds it (another
    process may have changed it); else what they chose while registering (the journey's draft)
    or with /language, or had before they were removed; else the programme's default."""
    contact = current_contact(update, context)
    if contact is not None:
        return contact.language
    user, known = update.effective_user, getattr(context, _LANGUAGES, None)
    registering, former = known[1:] if known and user and known[0] == user.id else (None, None)
    chosen = registering or (context.user_data or {}).get(LANGUAGE_KEY) or former
    if chosen:
        return normalise_language(chosen)
    return runtime(context).settings.default_language


def tr(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Translate:
    return translator(language_of(update, context))


# The person found for the update being handled. PTB gives one CallbackContext to every handler
# of an update (the guard, reachability, the journey), so it carries the lookup from one to the
# next: one query per update instead of one per handler.
_CONTACT = "_oshbot_contact"
# The journey in the person's foreground, read in the same look-up (handlers/driver.py); for
# someone not in the programme, the language of their registration's draft and their former one.
_JOURNEY = "_oshbot_journey"
_LANGUAGES = "_oshbot_languages"


def current_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Contact | None:
    user = update.effective_user
    if user is None:
        return None
    cached: Contact | None = getattr(context, _CONTACT, None)
    if cached is not None and cached.telegram_user_id == user.id:
        return cached
    return _look_up(context, user.id)


def _look_up(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> Contact | None:
    with runtime(context).database.reading() as session:
        contact, journey, registering = who_and_where(session, user_id, telegram_person(user_id))
        setattr(context, _JOURNEY, (user_id, journey))
        if contact is None:
            former = former_language(session, user_id) if registering is None else None
            setattr(context, _LANGUAGES, (user_id, registering, former))
    # Nobody found is not remembered: registering creates the person during this very update.
    if contact is not None:
        setattr(context, _CONTACT, contact)
    return contact


async def look_up_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The update's one look-up of the person, in a worker thread, before any handler needs
    it: a database round trip must not hold up the event loop, where everyone's updates run."""
    if update.effective_user is not None:
        await asyncio.to_thread(_look_up, context, update.effective_user.id)


def foreground_journey(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """The journey in the person's foreground when the update arrived (looked up with the
    person, in a worker thread)."""
    user = update.effective_user
    if user is None:
        return None
    known = getattr(context, _JOURNEY, None)
    if known is None or known[0] != user.id:
        _look_up(context, user.id)
        known = getattr(context, _JOURNEY)
    return known[1]  # type: ignore[no-any-return]
