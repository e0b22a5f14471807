"""One context for every plain command and one-shot button: who is speaking, in which language,
what time it is, whether they may, and one place for refusals and stale buttons.

    @handler(Role.STAFF, Role.COORDINATOR, refusal="staff_only")
    async def web_command(ask: Ask) -> None:
        ...
        await ask.reply(ask._("..."))

The person is the one looked up once for the update (bot/runtime.py `current_contact`: read from
the database when the update arrived, so a role changed by another process counts). Journeys
have their own driver (handlers/driver.py); this is for what stays outside them.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session
from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.i18n import Translate, translator
from bot.render import acknowledge, inline
from bot.runtime import Runtime, current_contact, language_of, runtime
from handlers import driver
from models.journeys.core import Reply
from models.journeys.errors import STALE, error_text
from models.programme import ProgrammeError
from models.tables import Contact, Role

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
# Rows of (label, callback data), or a keyboard built already.
Actions = Iterable[Sequence[tuple[str, str]]] | Markup | None
# A module's own catalogue of refusal texts (translate, error, language), where the common one
# (models/journeys/errors.py) does not fit.
Texts = Callable[[Translate, ProgrammeError, str], str]
# Why a person who may not is refused: a code, or the code chosen from the person.
Refusal = str | Callable[[Contact | None], str | ProgrammeError]

# Everyone who has joined, whatever their role.
MEMBERS = tuple(Role)


def _markup(actions: Actions) -> Markup | None:
    if actions is None or isinstance(
        actions, InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
    ):
        return actions
    return inline(actions)


@contextlib.contextmanager
def _unchanged_is_fine() -> Iterator[None]:
    try:
        yield
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


@dataclass
class Ask:
    """What a handler needs about one update; built once by `handler`."""

    update: Update
    context: ContextTypes.DEFAULT_TYPE
    person: Contact | None
    language: str
    _: Translate
    runtime: Runtime
    now: datetime
    query: CallbackQuery | None
    texts: Texts | None = None

    @classmethod
    def of(
        cls, update: Update, context: ContextTypes.DEFAULT_TYPE, texts: Texts | None = None
    ) -> Ask:
        rt = runtime(context)
        language = language_of(update, context)
        return cls(
            update=update,
            context=context,
            person=current_contact(update, context),
            language=language,
            _=translator(language),
            runtime=rt,
            now=rt.now(),
            query=update.callback_query,
            texts=texts,
        )

    # -- what came in --------------------------------------------------------------------------

    @property
    def data(self) -> str:
        """The pressed button's callback data ("" for a message)."""
        return (self.query.data or "") if self.query is not None else ""

    @property
    def today(self) -> date:
        """The day in the programme's time zone."""
        return self.now.astimezone(self.runtime.settings.tz).date()

    @property
    def message(self) -> Message | None:
        return self.update.effective_message

    @property
    def chat_id(self) -> int:
        assert self.update.effective_chat is not None
        return self.update.effective_chat.id

    @property
    def user_id(self) -> int:
        assert self.update.effective_user is not None
        return self.update.effective_user.id

    def person_in(self, session: Session) -> Contact | None:
        """The person as a row of `session`, for operations that change them."""
        if self.person is None or self.person.id is None:
            return None
        return session.get(Contact, self.person.id)

    # -- answers -------------------------------------------------------------------------------

    async def reply(self, text: str, actions: Actions = None, **kwargs: Any) -> Message:
        """A message in answer: to the person's message, or into the chat for a button."""
        markup = _markup(actions)
        if self.query is None and self.message is not None:
            return await self.message.reply_text(text, reply_markup=markup, **kwargs)
        return await self.context.bot.send_message(
            self.chat_id, text, reply_markup=markup, **kwargs
        )

    async def send(self, text: str, actions: Actions = None, **kwargs: Any) -> Message:
        """A new message in the chat (never a reply to one)."""
        return await self.context.bot.send_message(
            self.chat_id, text, reply_markup=_markup(actions), **kwargs
        )

    async def show(self, reply: Reply) -> Message:
        """A journey-style reply (text or photo or document, with its actions) as a new
        message."""
        return await driver.send(self.update, self.context, reply)

    async def edit(self, text: str, actions: Actions = None, **kwargs: Any) -> None:
        """Rewrites the message whose button was pressed; the same text again (a choice
        pressed twice) is no error."""
        assert self.query is not None
        with _unchanged_is_fine():
            await self.query.edit_message_text(text, reply_markup=_markup(actions), **kwargs)

    async def rewrite(self, reply: Reply) -> None:
        """Rewrites the pressed button's message as a journey-style reply (text and actions)."""
        rows = [[(action.label, action.payload) for action in row] for row in reply.actions]
        await self.edit(reply.text, rows or None)

    async def edit_actions(self, actions: Actions = None) -> None:
        """Changes only the buttons under the pressed button's message (None: removes them)."""
        assert self.query is not None
        with _unchanged_is_fine():
            await self.query.edit_message_reply_markup(_markup(actions))  # type: ignore[arg-type]

    async def notice(self, text: str | None = None, alert: bool = False) -> None:
        """Answers the pressed button (a short notice, or an alert to dismiss); nothing for a
        message."""
        if self.query is not None:
            await acknowledge(self.query, text, show_alert=alert)

    def refusal(self, reason: str | ProgrammeError) -> str:
        error = reason if isinstance(reason, ProgrammeError) else ProgrammeError(reason)
        if self.texts is not None:
            return self.texts(self._, error, self.language)
        return error_text(self._, error, self.language, tz=self.runtime.settings.tz)

    async def refuse(self, reason: str | ProgrammeError, alert: bool = True) -> None:
        """One refusal text per reason: an alert on a button, a reply to a message."""
        text = self.refusal(reason)
        if self.query is not None:
            await self.notice(text, alert=alert)
        elif self.message is not None:
            await self.message.reply_text(text)

    async def stale(self, alert: bool = False) -> None:
        """A button of an old message, or data that no longer means anything."""
        await self.notice(error_text(self._, ProgrammeError(STALE), self.language), alert=alert)


Handler = Callable[[Ask], Awaitable[None]]
PTBCallback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def handler(
    *roles: Role,
    may: Callable[[Contact | None], bool] | None = None,
    refusal: Refusal = "not_allowed",
    texts: Texts | None = None,
) -> Callable[[Handler], PTBCallback]:
    """Builds the `Ask` of the update and calls the handler with it. With `roles`, only a person
    of one of them gets through; with `may`, only a person it accepts (a rule beyond the role:
    staff of a provider, say). Anyone else, or someone not registered, is refused with the text
    of `refusal` (a code, or a function of the person that picks one). `texts`: the module's own
    refusal catalogue."""

    def decorate(fn: Handler) -> PTBCallback:
        @functools.wraps(fn)
        async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            ask = Ask.of(update, context, texts)
            refused = roles and (ask.person is None or ask.person.role not in roles)
            if refused or (may is not None and not may(ask.person)):
                await ask.refuse(refusal if isinstance(refusal, str) else refusal(ask.person))
                return
            await fn(ask)

        return wrapper

    return decorate
