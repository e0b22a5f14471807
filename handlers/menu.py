"""The role menus on Telegram: the reply keyboard after registration and the `/` command list,
from the one table in models/menus.py."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable

from telegram import Bot, BotCommand, BotCommandScopeChat, KeyboardButton, ReplyKeyboardMarkup
from telegram.error import TelegramError
from telegram.ext import filters

from bot.i18n import LANGUAGES, gettext, translator
from models.menus import (  # noqa: F401  (the table, read through this module)
    BROADCAST,
    CANCEL,
    ENTERPRISES,
    EVENTS,
    EXPORT,
    FEEDBACK,
    GOOD_PRACTICES,
    HELP,
    INBOX,
    INVITATIONS,
    LANGUAGE,
    MEMBERS,
    MENUS,
    MYREPORTS,
    NEW_ENTERPRISE,
    NEW_EVENT,
    NEWSLETTER,
    NEXT_VISIT,
    PLAN,
    PLAN_COMMAND,
    PROGRESS,
    PROVIDERS,
    REPORT,
    RIGHTS,
    SUMMARY,
    UNREGISTERED,
    VISITS,
    WEB,
    Entry,
)
from models.tables import Role

log = logging.getLogger(__name__)


def any_button() -> filters.BaseFilter:
    """Every keyboard button of every role in every language. Pressed in the middle of a
    conversation it is never an answer (an enterprise called "❓ Help"): like a command it falls
    through to its own handler, and the conversation keeps its step."""
    labels = {entry.label for entries in MENUS.values() for entry in entries if entry.label}
    return filters.Text(sorted({gettext(lang, label) for label in labels for lang in LANGUAGES}))


def button(entry: Entry) -> filters.BaseFilter:
    """Matches the entry's keyboard button in any language, so a switch never strands a user."""
    return filters.Text([gettext(lang, entry.label) for lang in LANGUAGES])


@functools.cache
def keyboard(role: Role, language: str) -> ReplyKeyboardMarkup:
    """The role's menu, built once per role and language: /help sends it with every answer,
    and Telegram objects are frozen, so one serves every message."""
    _ = translator(language)
    labels = [_(entry.label) for entry in MENUS[role] if entry.label]
    rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label) for label in row] for row in rows], resize_keyboard=True
    )


def commands(entries: list[Entry], language: str) -> list[BotCommand]:
    _ = translator(language)
    return [BotCommand(entry.command, _(entry.description)) for entry in entries]


async def set_default_commands(bot: Bot) -> None:
    await _best_effort(bot.set_my_commands(commands(UNREGISTERED, "vi")))
    await _best_effort(bot.set_my_commands(commands(UNREGISTERED, "en"), language_code="en"))


async def set_role_commands(bot: Bot, chat_id: int, role: Role, language: str) -> None:
    await _best_effort(
        bot.set_my_commands(commands(MENUS[role], language), scope=BotCommandScopeChat(chat_id))
    )


async def _best_effort(call: Awaitable[object]) -> None:
    """The command menu is a convenience: a server that refuses it must not stop anything."""
    try:
        await call
    except TelegramError as error:
        log.warning("could not set the command menu: %s", error)
