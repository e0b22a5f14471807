"""Protection at the door: a per-person inbound limit, and the bot token kept out of logs."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.runtime import look_up_contact, tr
from models.privacy import is_stop_word

LIMITER_KEY = "inbound_limiter"

WINDOW = 60.0  # seconds
LIMIT = 20  # typed messages, photos, files and commands per person per WINDOW
# Taps on the bot's own buttons are what a person does to finish a journey quickly (a survey is
# a dozen of them): they are not counted against LIMIT, only against this far higher ceiling,
# which no one reaches by hand.
TAP_LIMIT = 120
SILENCE = 300.0  # seconds

Verdict = Literal["ok", "warn", "drop", "album"]


def _kind(update: Update) -> str:
    """'stop' (always passes), 'tap', 'album' (a further item of an album already seen is
    decided with its first item) or 'message'."""
    message = update.effective_message
    if update.callback_query is not None:
        return "tap"
    if message is not None and (message.text == "/stop" or is_stop_word(message.text)):
        return "stop"
    return "message"


class InboundLimiter:
    """More than LIMIT messages a minute from one person earns one polite warning, then the bot
    ignores them for SILENCE. Kept in memory: a restart forgives, which is the right default.

    An album arrives as one update per photo sharing a media group id: it is one thing the
    person did, so it counts once and gets one answer; the other items are dropped.

    The clock counts real seconds (people's pace), not programme time, which tests and the
    demo move by days."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.seen: dict[int, deque[float]] = {}
        self.taps: dict[int, deque[float]] = {}
        self.silenced_until: dict[int, float] = {}
        self.albums: dict[int, str] = {}

    def judge(self, update: Update) -> Verdict:
        user = update.effective_user
        if user is None:
            return "ok"
        kind = _kind(update)
        if kind == "stop":  # opting out must always work, silenced or not
            return "ok"
        message = update.effective_message
        album = message.media_group_id if message is not None and kind == "message" else None
        if album is not None:
            if self.albums.get(user.id) == album:
                return "album"
            self.albums[user.id] = album
        else:
            self.albums.pop(user.id, None)
        return self.check(user.id, tap=kind == "tap")

    def check(self, user_id: int, *, tap: bool = False) -> Verdict:
        """'ok', 'warn' (just went over the limit) or 'drop'."""
        now = self.clock()
        until = self.silenced_until.get(user_id)
        if until is not None:
            if now < until:
                return "drop"
            del self.silenced_until[user_id]
            self.seen.pop(user_id, None)
            self.taps.pop(user_id, None)
        recent = (self.taps if tap else self.seen).setdefault(user_id, deque())
        recent.append(now)
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()
        if len(recent) > (TAP_LIMIT if tap else LIMIT):
            self.silenced_until[user_id] = now + SILENCE
            return "warn"
        return "ok"


def limiter(context: ContextTypes.DEFAULT_TYPE) -> InboundLimiter:
    return context.application.bot_data.setdefault(  # type: ignore[no-any-return]
        LIMITER_KEY, InboundLimiter()
    )


async def _guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_user is None:
        return
    # The update processor judges at arrival (bot/processor.py), so that a flood is counted at
    # the pace it was sent, not at the pace it is answered; without it, judge here.
    processor = context.application.update_processor
    given = processor.verdicts.pop(id(update), None) if hasattr(processor, "verdicts") else None
    verdict = given or limiter(context).judge(update)
    if verdict == "ok":
        await look_up_contact(update, context)
        return
    if verdict == "warn" and update.effective_chat is not None:
        _ = tr(update, context)
        await context.bot.send_message(
            update.effective_chat.id,
            _("You are sending messages very fast. Please wait a few minutes and try again."),
        )
    raise ApplicationHandlerStop


def inbound_guard() -> TypeHandler:  # type: ignore[type-arg]
    return TypeHandler(Update, _guard)


class RedactToken(logging.Filter):
    """Replaces the bot token wherever it would be written: messages, arguments, tracebacks
    (httpx and python-telegram-bot put request URLs, which contain the token, in both)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "[token]"), ()
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "[token]")
        return True


def redact_token_in_logs(token: str) -> None:
    """Installs the filter on every handler of the root logger (where all records end up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactToken) for f in handler.filters):
            handler.addFilter(RedactToken(token))
