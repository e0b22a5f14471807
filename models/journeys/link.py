"""Linking a second channel (models/linking.py), as every channel's driver offers it.

`/link` gives a registered person a code to type on the other channel; `/link <code>` (or the
code typed alone, see onboarding.py and `typed_by_member`) uses one. It answers at once and
never holds the foreground: a journey in front stays where it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.i18n import Translate, translator
from models import linking
from models.journeys.core import Input, Outcome, Place, Turn
from models.journeys.state import channel_of, telegram_user, zalo_user
from models.linking import CHANNEL_NAMES, LINK_MINUTES, Linking, LinkResult
from models.members import role_label
from models.programme import ProgrammeError, format_short_code, organisation_name
from models.tables import Contact, WebSignIn
from models.text import esc

COMMAND = "link"


def sender_key(person: str) -> str:
    """Whose guesses a typed code counts against, as registration counts them (onboarding.py)."""
    zalo = zalo_user(person)
    return f"zalo:{zalo}" if zalo is not None else person


def code_text(_: Translate, code: str, channel: str) -> str:
    """The code, and what linking means, told before the person decides to type it."""
    target = linking.other_channel(channel)
    text = _(
        "Your code to use this bot on {app} as well: <b>{code}</b>\n\nOpen the chat with this "
        "bot on {app} and type the code there within {minutes} minutes. It works once. You "
        "stay the same person for us: the same registration, language, consents and choices.",
        app=CHANNEL_NAMES[target], code=format_short_code(code), minutes=LINK_MINUTES,
    )  # fmt: skip
    return text + "\n\n" + where_text(_, target)


def where_text(_: Translate, channel: str) -> str:
    """Whose servers a channel's messages pass through: the consent card says it of the channel
    the person joined on, and a second channel must say it of itself (Telegram: abroad)."""
    if channel == linking.TELEGRAM:
        return _(
            "On Telegram, messages with this bot pass through the servers of Telegram, a "
            "messaging service based outside Viet Nam, so what you send there is transferred "
            "abroad."
        )
    return _(
        "On Zalo, messages with this bot pass through Zalo, a messaging service run in Viet Nam "
        "by VNG."
    )


def linked_text(
    _: Translate,
    *,
    channel: str,
    who: str,
    sending: tuple[str, ...] = (linking.TELEGRAM, linking.ZALO),
) -> str:
    """What a person who just linked `channel` is told: one person with one set of consents,
    where the new chat's messages pass through, where our messages come and how to stop them.
    `sending` are the channels the deployment sends on (Place.sending): with both, Telegram
    while it reaches the person, else Zalo (models/outbox.py `route`); with one, that one (on
    Zalo alone the outbox sends Telegram's rows to people on Zalo by Zalo, bot/sender.py)."""
    app = CHANNEL_NAMES[channel]
    other = CHANNEL_NAMES[linking.other_channel(channel)]
    same = _(
        "Linked! This {app} chat now belongs to your registration as {who}. On {app} and {other} "
        "you are the same person for us: the same registration, language and consents, so "
        "there is nothing to agree to again, and your reports and answers are yours on both.",
        app=app, who=who, other=other,
    )  # fmt: skip
    stopping = _(
        "Our reminders and news come on Telegram while it reaches you, otherwise on Zalo. To "
        "stop them, send /stop (or STOP, DỪNG) in either chat: it stops them on both apps. To "
        "leave one app only, block the bot there, and we write to you on the other. /privacy "
        "changes your choices and /deleteme erases your data, on both apps."
    )
    if len(sending) == 1:
        # One channel sends: everything comes there, and only there can the person stop it.
        stopping = _(
            "Our reminders and news come to you on {app}. To stop them, send /stop (or STOP, "
            "DỪNG) to the bot on {app}. /privacy changes your choices and /deleteme erases "
            "your data, on both apps.",
            app=CHANNEL_NAMES[sending[0]],
        )  # fmt: skip
    return "\n\n".join((same, where_text(_, channel), stopping))


def answer(turn: Turn, result: LinkResult) -> Outcome:
    """What the sender of a link code is told; a new link speaks the person's own language."""
    app = CHANNEL_NAMES[result.channel]
    other = CHANNEL_NAMES[linking.other_channel(result.channel)]
    if result.outcome is Linking.LINKED:
        contact = result.contact
        assert contact is not None
        _ = translator(contact.language)
        organisation = organisation_name(turn.session, contact)
        role = role_label(_, contact.role)
        who = (
            _("{role} of {organisation}", role=role, organisation=esc(organisation))
            if organisation
            else role
        )
        text = linked_text(_, channel=result.channel, who=who, sending=turn.place.sending)
        outcome = Outcome().say(text, menu=True)
        outcome.menu_changed = True
        return outcome
    _ = turn._
    texts = {
        Linking.INVALID: _(
            "This code is not valid: it may be mistyped, expired or used already. Send /link "
            "in the chat where you are registered for a new one."
        ),
        Linking.OWN: _(
            "This {app} account is linked to your registration already. Type the code in the "
            "bot's chat on {other} instead.",
            app=app,
            other=other,
        ),
        Linking.TAKEN: _(
            "This {app} account is registered in the programme as another person, so it cannot "
            "be linked to this registration. If that is a mistake, please ask your OSH service "
            "provider.",
            app=app,
        ),
        Linking.OCCUPIED: _(
            "The registration this code belongs to is linked to another {app} account "
            "already: one account per app.",
            app=app,
        ),
    }
    return Outcome().say(texts[result.outcome])


def use_code(turn: Turn, row: WebSignIn) -> Outcome:
    """A live link code typed by the turn's person (found by `linking.typed`)."""
    user, zalo = telegram_user(turn.person), zalo_user(turn.person)
    # A private chat's id is its user's id, on Telegram and on Zalo.
    result = linking.link(
        turn.session, row, now=turn.now, telegram_user_id=user, chat_id=user, zalo_user_id=zalo
    )
    return answer(turn, result)


def typed_by_member(
    session: Session,
    *,
    person: str,
    contact: Contact,
    language: str,
    text: str,
    now: datetime,
    place: Place | None = None,
) -> Outcome | None:
    """A registered person typed something shaped like a code, outside any journey: the answer
    when it is a live link code (their own, or someone else's: their account is taken); None
    for anything else, which the channel answers as it would have (the guess counts)."""
    user, zalo = telegram_user(person), zalo_user(person)
    found = linking.typed(
        session, text, sender_key=sender_key(person), now=now, telegram_user_id=user,
        zalo_user_id=zalo,
    )  # fmt: skip
    if not isinstance(found, WebSignIn):
        return None
    _ = translator(language)
    turn = Turn(session, person, contact, language, _, now, {}, place=place or Place())
    return use_code(turn, found)


class LinkChannel:
    """`/link` and `/link <code>`: one answer, nothing kept."""

    name = COMMAND
    resumable = False
    cancel_keeps_draft = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return entry.command == COMMAND

    def owns(self, payload: str) -> bool:
        return False

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        words = (entry.text or "").split(maxsplit=1)
        typed = words[1] if len(words) > 1 else ""
        if typed:
            result = linking.redeem(
                turn.session, typed, sender_key=sender_key(turn.person), now=turn.now,
                telegram_user_id=telegram_user(turn.person), chat_id=telegram_user(turn.person),
                zalo_user_id=zalo_user(turn.person),
            )  # fmt: skip
            return answer(turn, result), False
        _, channel = turn._, channel_of(turn.person)
        if turn.contact is None:
            text = _(
                "To join, please type the code or open the invite link that your OSH service "
                "provider gave you. If you are registered on the other app (Telegram or Zalo) "
                "already: send /link in the bot's chat there, then type the code you get here."
            )
            return Outcome().say(text), False
        target = linking.other_channel(channel)
        if target not in turn.place.sending:
            # A code to type where the bot does not answer (no token for it) would only expire.
            text = _(
                "This bot is not on {app} at the moment, so there is nothing to link yet. Our "
                "reminders and news come to you here.",
                app=CHANNEL_NAMES[target],
            )
            return Outcome().say(text, menu=True), False
        try:
            code = linking.issue(turn.session, turn.contact, channel=channel, now=turn.now)
        except ProgrammeError:
            text = _("You use this bot on both Telegram and Zalo already.")
            return Outcome().say(text, menu=True), False
        return Outcome().say(code_text(_, code, channel), menu=True), False

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        return self.start(turn, given)

    def pause(self, turn: Turn) -> Outcome:
        return Outcome()

    def aside(self, turn: Turn) -> Outcome:
        return Outcome()


LINK_CHANNEL = LinkChannel()
