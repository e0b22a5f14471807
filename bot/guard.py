"""Protection at the door: a per-person inbound limit, and the bot token kept out of logs."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.runtime import tr

LIMITER_KEY = "inbound_limiter"

WINDOW = 60.0  # seconds
LIMIT = 20  # messages and button presses per person per WINDOW
SILENCE = 300.0  # seconds


class InboundLimiter:
    """More than LIMIT updates a minute from one person earns one polite warning, then the bot
    ignores them for SILENCE. Kept in memory: a restart forgives, which is the right default.

    The clock counts real seconds (people's pace), not programme time, which tests and the
    demo move by days."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.seen: dict[int, deque[float]] = {}
        self.silenced_until: dict[int, float] = {}

    def check(self, user_id: int) -> str:
        """'ok', 'warn' (just went over the limit) or 'drop'."""
        now = self.clock()
        until = self.silenced_until.get(user_id)
        if until is not None:
            if now < until:
                return "drop"
            del self.silenced_until[user_id]
            self.seen.pop(user_id, None)
        recent = self.seen.setdefault(user_id, deque())
        recent.append(now)
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()
        if len(recent) > LIMIT:
            self.silenced_until[user_id] = now + SILENCE
            return "warn"
        return "ok"


async def _guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    if user is None:
        return
    limiter: InboundLimiter = context.application.bot_data.setdefault(
        LIMITER_KEY, InboundLimiter()
    )
    verdict = limiter.check(user.id)
    if verdict == "ok":
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
