"""What every handler needs from the running bot: settings, the database, the clock, and the
language of the person it is talking to."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import Translate, normalise_language, translator
from bot.settings import Settings
from models.db import Database
from models.journeys.engine import who_and_where_all
from models.programme import former_languages
from models.tables import Contact, utcnow

LANGUAGE_KEY = "lang"

log = logging.getLogger(__name__)


# Who sent an update, as one look-up finds them: the registered person, the journey in their
# foreground, and for someone not in the programme the language of their registration's draft
# and the one they had before they were removed.
Found = tuple[Contact | None, str | None, str | None, str | None]


class People:
    """The look-ups of the people behind updates, in worker threads, with the look-ups asked
    while one is under way answered together by the next: one query and one thread for many
    people when updates come fast. A thread hop and a query cost the event loop's single core
    more than the rows they bring (bench/updates.py), and a person's own updates ask one after
    another (bot/processor.py), so each look-up still starts after the person's previous update
    is done: no one is answered from an older state than a look-up of their own would give."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._asked: dict[int, list[asyncio.Future[Found]]] = {}
        self._answering: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def find(self, user_id: int) -> Found:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A new event loop (a test's, a restarted application's): what was asked on the
            # old one died with it.
            self._loop, self._asked, self._answering = loop, {}, None
        future: asyncio.Future[Found] = loop.create_future()
        self._asked.setdefault(user_id, []).append(future)
        if self._answering is None or self._answering.done():
            # Starts on the loop's next turn: what else is asked on this one joins it.
            self._answering = loop.create_task(self._answer())
        return await future

    def find_now(self, user_id: int) -> Found:
        """One person, in the calling thread."""
        return self._find_all([user_id])[user_id]

    async def _answer(self) -> None:
        asked: dict[int, list[asyncio.Future[Found]]] = {}
        try:
            while self._asked:
                asked, self._asked = self._asked, {}
                found = await asyncio.to_thread(self._find_each, list(asked))
                for user_id, futures in asked.items():
                    for future in futures:
                        if future.done():
                            continue
                        result = found[user_id]
                        if isinstance(result, BaseException):
                            future.set_exception(result)
                        else:
                            future.set_result(result)
        except asyncio.CancelledError:
            # The bot stopping: nobody waits for ever.
            for future in _waiting(asked, self._asked):
                future.cancel()
            raise
        except Exception as error:  # a bug here: the updates waiting fail, not hang
            log.exception("the look-up of people stopped")
            for future in _waiting(asked, self._asked):
                future.set_exception(RuntimeError(f"the look-up of people stopped: {error!r}"))

    def _find_each(self, user_ids: list[int]) -> dict[int, Found | Exception]:
        """All at once; if that fails, each on their own, so that one person whose look-up
        fails fails only their own update. Not when the database is out of reach: one attempt
        a person, one after another, would each wait for its own timeout."""
        try:
            return dict(self._find_all(user_ids))
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            return dict.fromkeys(user_ids, error)
        except Exception as error:
            if len(user_ids) == 1:
                return {user_ids[0]: error}
        found: dict[int, Found | Exception] = {}
        for user_id in user_ids:
            try:
                found[user_id] = self._find_all([user_id])[user_id]
            except Exception as error:
                found[user_id] = error
        return found

    def _find_all(self, user_ids: list[int]) -> dict[int, Found]:
        with self.database.reading() as session:
            seen = who_and_where_all(session, user_ids)
            strangers = [u for u, (contact, _, draft) in seen.items() if not contact and not draft]
            former = former_languages(session, strangers)
        return {
            user_id: (contact, journey, registering, former.get(user_id))
            for user_id, (contact, journey, registering) in seen.items()
        }


def _waiting(*asked: dict[int, list[asyncio.Future[Found]]]) -> list[asyncio.Future[Found]]:
    return [f for futures in asked for fs in futures.values() for f in fs if not f.done()]


@dataclass
class Runtime:
    settings: Settings
    database: Database
    # Tests and the demo move time; production reads the wall clock.
    clock: Callable[[], datetime] = field(default=utcnow)
    bot_username: str | None = None
    people: People = field(init=False)

    def __post_init__(self) -> None:
        self.people = People(self.database)

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
    return _remember(context, user_id, runtime(context).people.find_now(user_id))


def _remember(context: ContextTypes.DEFAULT_TYPE, user_id: int, found: Found) -> Contact | None:
    contact, journey, registering, former = found
    setattr(context, _JOURNEY, (user_id, journey))
    if contact is None:
        setattr(context, _LANGUAGES, (user_id, registering, former))
    # Nobody found is not remembered: registering creates the person during this very update.
    if contact is not None:
        setattr(context, _CONTACT, contact)
    return contact


async def look_up_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The update's one look-up of the person, in a worker thread, before any handler needs
    it: a database round trip must not hold up the event loop, where everyone's updates run."""
    user = update.effective_user
    if user is not None:
        _remember(context, user.id, await runtime(context).people.find(user.id))


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
