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
MEMBERS = Entry("members", "", N_("Who has joined, and removing someone"))
NEW_ENTERPRISE = Entry(
    "newenterprise", N_("➕ Add an enterprise"), N_("Register an enterprise you support")
)
FEEDBACK = Entry("feedback", N_("📋 Feedback"), N_("Answer the follow-up survey"))
VISITS = Entry("visits", N_("🗓 Visits"), N_("Upcoming and overdue revisits"))
NEXT_VISIT = Entry("nextvisit", N_("🗓 Next visit"), N_("When your provider visits next"))
GOOD_PRACTICES = Entry(
    "goodpractices", N_("🌟 Good practices"), N_("Good practices of other enterprises, by area")
)
BROADCAST = Entry("broadcast", N_("📣 Broadcast"), N_("Send news or a good practice to many"))
NEWSLETTER = Entry("newsletter", "", N_("The newsletter as HTML and PDF"))
WEB = Entry("web", "", N_("Open the web dashboard (a sign-in link)"))

REPORT = Entry(
    "report", N_("📝 Report an improvement"), N_("Tell us about an improvement you made")
)
MYREPORTS = Entry("myreports", N_("🗂 My reports"), N_("Your improvement reports and their review"))

EVENTS = Entry("events", N_("📅 Events"), N_("Meetings and workshops you are part of"))
# Enterprises receive invitations: the command lists them, without a keyboard button.
INVITATIONS = Entry("events", "", N_("Meetings and workshops you are part of"))
NEW_EVENT = Entry("event", "", N_("Create an event, or show its check-in QR code"))
SUMMARY = Entry("summary", N_("📊 Summary"), N_("Follow-up figures and charts, by period"))
EXPORT = Entry("export", "", N_("The follow-up data as Excel and CSV files"))
PLAN = Entry("plan", N_("🎯 Action plan"), N_("The improvements planned at the training"))
# Staff reach a plan through /plan; their keyboard is full already.
PLAN_COMMAND = Entry("plan", "", N_("The improvements planned at the training"))
# Staff and coordinators reach the direct line's threads through /inbox (handlers/inbox.py).
INBOX = Entry("inbox", "", N_("Messages from your enterprises: answer and close"))
PROGRESS = Entry("progress", N_("📈 Our progress"), N_("Your results beside your sector's"))
# Every registered person's rights, at the end of every role's command list.
RIGHTS = [
    Entry("mydata", "", N_("See what we hold about you")),
    Entry("privacy", "", N_("Change your choices (tips, naming)")),
    Entry("stop", "", N_("Stop all messages from us")),
    Entry("deleteme", "", N_("Erase your personal data")),
]

# Keyboard buttons appear in this order, two to a row; entries without a label are commands only.
MENUS: dict[Role, list[Entry]] = {
    Role.COORDINATOR: [
        PROVIDERS, SUMMARY, VISITS, EVENTS, BROADCAST, GOOD_PRACTICES, HELP, LANGUAGE,
        INBOX, MEMBERS, EXPORT, NEW_EVENT, NEWSLETTER, PLAN_COMMAND, WEB, CANCEL, *RIGHTS,
    ],
    Role.STAFF: [
        NEW_ENTERPRISE, ENTERPRISES, VISITS, SUMMARY, BROADCAST, EVENTS, GOOD_PRACTICES, HELP,
        LANGUAGE, INBOX, MEMBERS, EXPORT, NEW_EVENT, NEWSLETTER, PLAN_COMMAND, WEB, CANCEL,
        *RIGHTS,
    ],
    Role.EMPLOYER: [
        REPORT, MYREPORTS, FEEDBACK, NEXT_VISIT, PLAN, PROGRESS, GOOD_PRACTICES, HELP, LANGUAGE,
        INVITATIONS, CANCEL, *RIGHTS,
    ],
    Role.WORKER: [
        REPORT, MYREPORTS, FEEDBACK, GOOD_PRACTICES, HELP, LANGUAGE, INVITATIONS, CANCEL,
        *RIGHTS,
    ],
    # Partners of a provider see nothing but events (handlers/events.py).
    Role.PARTNER: [EVENTS, HELP, LANGUAGE, CANCEL, *RIGHTS],
}  # fmt: skip

UNREGISTERED: list[Entry] = [
    Entry("start", "", N_("Join with your invite link")),
    HELP,
    LANGUAGE,
]


def any_button() -> filters.BaseFilter:
    """Every keyboard button of every role in every language. Pressed in the middle of a
    conversation it is never an answer (an enterprise called "❓ Help"): like a command it falls
    through to its own handler, and the conversation keeps its step."""
    labels = {entry.label for entries in MENUS.values() for entry in entries if entry.label}
    return filters.Text(sorted({gettext(lang, label) for label in labels for lang in LANGUAGES}))


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
