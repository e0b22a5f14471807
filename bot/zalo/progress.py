"""An SME's own pages on Zalo, through the same domain functions as Telegram's handlers:

* /progress: an employer's enterprise this quarter (reports/text.py `progress_text`, the
  anonymous figures Telegram shows; Telegram's period buttons are its own, so Zalo shows the
  quarter Telegram opens with); anyone else is refused as on Telegram;
* /events: the list Telegram shows (models/notices/events.py `listing`); the answers to the
  person's upcoming invitations, and an organiser's ➕ New event, are numbered under it as the
  outbox's messages number their buttons (bot/zalo/notices.py): the same notice choices, so
  "1" answers through the invitation journey (models/journeys/rsvp.py). Each invitation's
  answers are a group of their own: answering one leaves the others' numbers as listed, so
  the person answers them all from one list.

bot/zalo/commands.py checks that the person is registered, and sets a journey aside where
Telegram does, before these.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.i18n import translator
from bot.zalo import notices, render
from models.journeys import engine, rsvp
from models.journeys.errors import error_text
from models.notices import events as pages
from models.programme import ProgrammeError
from reports.text import progress_text, shows_progress

if TYPE_CHECKING:
    from bot.zalo.driver import ZaloDriver, _Who

COMMANDS = frozenset({"progress", "events"})
# The period Telegram's /progress opens with (handlers/summary.py).
PERIOD = "this_quarter"


async def answer(driver: ZaloDriver, chat: str, person: str, who: _Who, command: str) -> None:
    """/progress or /events for a registered person."""
    if command == "progress":
        text = await asyncio.to_thread(_progress, driver, who)
        await driver.say(chat, text, who)
    else:
        text = await asyncio.to_thread(_events, driver, person, who)
        await driver.say(chat, text, who, html=False)


def _progress(driver: ZaloDriver, who: _Who) -> str:
    _ = translator(who.language)
    if not shows_progress(who.contact):
        return error_text(_, ProgrammeError("employers_progress"), who.language)
    assert who.contact is not None
    tz = driver.settings.tz
    with driver.database.reading() as session:
        return progress_text(
            session, who.contact, PERIOD, who.language,
            today=driver.clock().astimezone(tz).date(), tz=tz,
        )  # fmt: skip


def _group(payload: str) -> str:
    """What an action of the list answers: an invitation (its event), or itself."""
    found = rsvp.parsed(payload)
    return f"{rsvp.PREFIX}{found[0]}" if found is not None else payload


def _events(driver: ZaloDriver, person: str, who: _Who) -> str:
    """The list as plain text and its numbered answers, remembered in the same transaction."""
    _ = translator(who.language)
    contact = who.contact
    assert contact is not None
    now = driver.clock()
    with driver.database.session() as session:
        listed = pages.listing(session, contact, _, who.language, driver.settings.tz, now)
        taken = notices.answerable([[(a.label, a.payload) for row in listed.actions for a in row]])
        actions = taken + pages.invitation_answers(session, contact, _, now)
        text = render.plain(listed.text)
        if actions:
            # As a new outbox message with buttons does, these replace the numbers before;
            # each invitation's answers are a group of their own, so that answering one leaves
            # the others' numbers as listed (engine.spend_notice_choices).
            groups = [_group(action.payload) for action in actions]
            engine.remember_notice_choices(session, person, actions, now=now, groups=groups)
            text += "\n\n" + notices.choices_text(session, _, person, actions)
    return text
