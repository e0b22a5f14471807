"""The menus of each role, as data: the commands and keyboard labels a channel's driver offers,
and what the journeys' foreground rule needs to know of them (models/journeys/engine.py).

One table, so that `/help`, the keyboard and the channel's command menu never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import LANGUAGES, N_, gettext
from models.tables import Role


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
# Coordinators reach every provider's enterprises by command; their keyboard is full already.
ENTERPRISES_COMMAND = Entry(
    "enterprises", "", N_("Find an enterprise by name or province, and its history")
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
# Staff and coordinators send a spreadsheet after /import (models/journeys/imports.py).
IMPORT = Entry("import", "", N_("Import enterprises or a paper round from a spreadsheet"))
PROGRESS = Entry("progress", N_("📈 Our progress"), N_("Your results beside your sector's"))
# Every registered person reaches the bot on Telegram, Zalo or both (models/linking.py).
LINK = Entry("link", "", N_("Use this bot on another app too (Telegram or Zalo)"))
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
        INBOX, ENTERPRISES_COMMAND, MEMBERS, EXPORT, IMPORT, NEW_EVENT, NEWSLETTER,
        PLAN_COMMAND, WEB, LINK, CANCEL, *RIGHTS,
    ],
    Role.STAFF: [
        NEW_ENTERPRISE, ENTERPRISES, VISITS, SUMMARY, BROADCAST, EVENTS, GOOD_PRACTICES, HELP,
        LANGUAGE, INBOX, MEMBERS, EXPORT, IMPORT, NEW_EVENT, NEWSLETTER, PLAN_COMMAND, WEB,
        LINK, CANCEL, *RIGHTS,
    ],
    Role.EMPLOYER: [
        REPORT, MYREPORTS, FEEDBACK, NEXT_VISIT, PLAN, PROGRESS, GOOD_PRACTICES, HELP, LANGUAGE,
        INVITATIONS, LINK, CANCEL, *RIGHTS,
    ],
    Role.WORKER: [
        REPORT, MYREPORTS, FEEDBACK, GOOD_PRACTICES, HELP, LANGUAGE, INVITATIONS, LINK,
        CANCEL, *RIGHTS,
    ],
    # Partners of a provider see nothing but events (handlers/events.py).
    Role.PARTNER: [EVENTS, HELP, LANGUAGE, LINK, CANCEL, *RIGHTS],
}  # fmt: skip

UNREGISTERED: list[Entry] = [
    Entry("start", "", N_("Join with your invite link")),
    HELP,
    LANGUAGE,
]


# Answered beside whatever journey is in front (it keeps its place).
STAYING = frozenset({"help", "language", "stop"})
# Every command the bot knows; a mistyped one is answered without moving anyone.
KNOWN_COMMANDS = frozenset(
    entry.command for entries in (*MENUS.values(), UNREGISTERED) for entry in entries
)


def label_commands() -> dict[str, str]:
    """Each keyboard label, in every language, and the command it stands for."""
    return {
        gettext(language, entry.label): entry.command
        for entries in MENUS.values()
        for entry in entries
        if entry.label
        for language in LANGUAGES
    }
