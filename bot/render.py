"""Small rendering helpers shared by the handlers: keyboards, escaping, QR codes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

# Handlers escape and tick boxes through here; the one definition is models/text.py.
from models.text import check as check
from models.text import esc as esc

log = logging.getLogger(__name__)


def inline(rows: Iterable[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def grid(buttons: Sequence[tuple[str, str]], columns: int) -> list[list[tuple[str, str]]]:
    return [list(buttons[i : i + columns]) for i in range(0, len(buttons), columns)]


async def acknowledge(query: CallbackQuery, text: str | None = None, **kwargs: Any) -> None:
    """Answers a button press. The same press delivered twice carries the same query id, which
    Telegram refuses to answer a second time: that refusal changes nothing for the person."""
    try:
        await query.answer(text, **kwargs)
    except BadRequest as error:
        log.info("callback query not answered: %s", error)
