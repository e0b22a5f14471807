"""The menus of each role: the reply keyboard after registration and the `/` command list.

One table, so that `/help`, the keyboard and Telegram's command menu never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat, KeyboardButton, ReplyKeyboardMarkup
from telegram.error import TelegramError
from telegram.ext import filters

from bot.i18n import LANGUAGES, N_, gettext, translator
from models.tables import Role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    command: str
    label: str  # msgid of the keyboard button; None-like "" keeps it off the keyboard
    description: str  # msgid for /help and the command menu


HELP = Entry("help", N_("❓ Help"), N_("What I can do for you"))
LANGUAGE = Entry("language", N_("🌐 Language"), N_("Switch between Vietnamese and English"))
CANCEL = Entry("cancel", "", N_("Stop what we are doing"))
PROVIDERS = Entry("providers", N_("🏢 Providers"), N_("Add providers and invite their staff"))
ENTERPRISES = Entry(
    "enterprises", N_("🏭 My enterprises"), N_("Your enterprises and their invite links")
)
NEW_ENTERPRISE = Entry(
    "newenterprise", N_("➕ Add an enterprise"), N_("Register an enterprise you support")
)

MENUS: dict[Role, list[Entry]] = {
    Role.COORDINATOR: [PROVIDERS, HELP, LANGUAGE, CANCEL],
    Role.STAFF: [NEW_ENTERPRISE, ENTERPRISES, HELP, LANGUAGE, CANCEL],
    Role.EMPLOYER: [HELP, LANGUAGE, CANCEL],
    Role.WORKER: [HELP, LANGUAGE, CANCEL],
    Role.PARTNER: [HELP, LANGUAGE, CANCEL],
}
UNREGISTERED: list[Entry] = [
    Entry("start", "", N_("Join with your invite link")),
    HELP,
    LANGUAGE,
]


def button(entry: Entry) -> filters.BaseFilter:
    """Matches the entry's keyboard button in any language, so a switch never strands a user."""
    return filters.Text([gettext(lang, entry.label) for lang in LANGUAGES])


def keyboard(role: Role, language: str) -> ReplyKeyboardMarkup:
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
