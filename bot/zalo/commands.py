"""The plain commands on Zalo (what Telegram answers with handlers outside the journeys), through
the same domain functions as Telegram's handlers:

* STOP, DỪNG, HỦY (said alone) and /stop, before anything else, even in the middle of a journey
  (models/privacy.py `stop`); /start resumes, as on Telegram (the registration journey);
* /mydata: the summary, and the whole export as a signed link under OSHBOT_PUBLIC_URL;
* /deleteme, /privacy and /language: their choices numbered (models/journeys/rights.py);
* /myreports: the reports and their review state (models/notices/reports.py);
* /progress and /events: bot/zalo/progress.py;
* /goodpractices and /plan, their actions numbered (bot/zalo/practices.py);
* /summary and /export for staff and coordinators (bot/zalo/staff.py);
* /help: what works on Zalo;
* the direct line: a registered employer's or worker's text or photo outside a journey is
  offered to their provider (models/journeys/offer.py).

A command that sets the journey in front aside on Telegram (engine.ASIDE) does so here too.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.i18n import LANGUAGES, Translate, translator
from bot.zalo import practices, progress, staff
from models import improvements as imp
from models import inbox, menus, privacy
from models.journeys import engine, offer, rights
from models.journeys import report as report_journey
from models.journeys.core import Input, Outcome, Reply
from models.journeys.errors import error_text
from models.notices import reports
from models.programme import ProgrammeError, audit, set_language
from models.tables import Contact

if TYPE_CHECKING:
    from bot.zalo.driver import ZaloDriver, _Who
    from bot.zalo.types import Message

# The plain commands Zalo answers (besides the journeys'); /stop is taken before everything.
PLAIN = frozenset(
    {"help", "mydata", "deleteme", "privacy", "language", "myreports", "stop"}
    | progress.COMMANDS
    | practices.COMMANDS
    | staff.COMMANDS
)
OPENS = {
    "deleteme": rights.OPEN_ERASE,
    "privacy": rights.OPEN_PRIVACY,
    "language": rights.OPEN_LANGUAGE,
}
EXPORT_NAME = "oshbot-my-data.json"
# Journeys that need a file sent to the bot (a spreadsheet to /import): Zalo passes on photos
# only, so on Zalo they are Telegram's, like the plain commands.
NEEDS_FILES = frozenset({"import"})


def stops(text: str | None) -> bool:
    """STOP, DỪNG, HỦY said alone, or /stop: checked before the numbered options (an option
    "Hủy" is not an answer then), as Telegram checks it before every journey."""
    words = (text or "").strip()
    return privacy.is_stop_word(words) or words.lower().split(" ")[0] == "/stop"


async def stop(driver: ZaloDriver, message: Message, who: _Who) -> None:
    """Stops every proactive message, recorded as on Telegram; the journey in front stays."""
    _ = translator(who.language)
    contact = who.contact
    if contact is None:
        await driver.say(message.chat.id, _nothing_held(_, who.language), who, html=False)
        return

    def work() -> None:
        with driver.database.session() as session:
            found = _fresh(session, contact)
            if found is not None:
                privacy.stop(session, found, now=driver.clock())

    await asyncio.to_thread(work)
    await driver.say(message.chat.id, privacy.stopped_text(_), who)


async def answer(
    driver: ZaloDriver, message: Message, person: str, who: _Who, given: Input
) -> bool:
    """A plain command, or what the direct line takes; False for the rest of the driver."""
    command = given.command
    if command in PLAIN and command != "stop":
        await _command(driver, message, person, who, given)
        return True
    if practices.answers(given):
        await practices.chosen(driver, message, person, who, given)
        return True
    if who.journey == offer.NAME and given.payload == offer.SEND:
        # Yes to a photo: fetched now, not before the person agreed to send it.
        url = await asyncio.to_thread(_pending_photo, driver, person)
        upload = await driver.fetch_url(url, message.message_id) if url else None
        await driver.run(message, person, who, Input(payload=offer.SEND, upload=upload))
        return True
    if who.journey == offer.NAME and given.payload is None and given.command is None:
        # Another message while the question waits: that one is offered instead.
        return await offered(driver, message, person, who, given)
    return False


async def offered(
    driver: ZaloDriver, message: Message, person: str, who: _Who, given: Input
) -> bool:
    """An employer's or worker's own words or photo, outside a journey: offered to their
    provider (nothing fetched or stored before they say Yes)."""
    if not inbox.may_write(who.contact):
        return False
    origin = f"zl:{message.message_id}"
    if given.other == "photo" and message.photo_url:
        opened = Input(
            command=offer.OPEN, origin=origin,
            upload=driver.photo_reference(message),
        )  # fmt: skip
    elif given.text and not given.text.startswith("/") and given.other is None:
        opened = Input(command=offer.OPEN, text=given.text, origin=origin)
    else:
        return False
    return await driver.run(message, person, who, opened)


def _pending_photo(driver: ZaloDriver, person: str) -> str | None:
    with driver.database.reading() as session:
        return offer.pending_photo(session, person)


async def _command(
    driver: ZaloDriver, message: Message, person: str, who: _Who, given: Input
) -> None:
    _ = translator(who.language)
    chat = message.chat.id
    command = given.command
    assert command is not None
    if command == "help":
        await driver.say(chat, help_text(_, who.contact, None), who, html=False)
        return
    if command == "language":
        # "/language en": at once, beside the journey in front (Telegram's /language stays
        # beside it too); without a language, the choice is numbered.
        words = (given.text or "").split()
        chosen = words[1].lower() if len(words) > 1 else None
        if chosen in LANGUAGES and who.contact is not None:
            await asyncio.to_thread(_set_language, driver, who, chosen)
            done = translator(chosen)
            await driver.say(chat, done("Done. I will write to you in English from now on."), who)
            return
    if command in OPENS:
        if who.contact is None:
            # Someone not registered chooses their language as they join.
            refused = _nothing_held(_, who.language)
            if command == "language":
                refused = help_text(_, None, None)
            await driver.say(chat, refused, who, html=False)
            return
        await driver.run(message, person, who, Input(command=OPENS[command]))
        return
    reason = practices.refusal(command, who.contact) or staff.refusal(command, who.contact)
    if reason is not None:
        # Someone not registered hears how to join here (Telegram's words speak of its link).
        refused = help_text(_, None, None)
        if who.contact is not None:
            refused = error_text(_, ProgrammeError(reason), who.language)
        await driver.say(chat, refused, who)
        return
    contact = who.contact
    if contact is None:
        await driver.say(chat, _nothing_held(_, who.language), who, html=False)
        return
    if command == "myreports" and contact.role not in imp.REPORTER_ROLES:
        # As Telegram refuses it: staff review reports instead, others have none.
        refused = report_journey.error_text(_, report_journey.refusal(contact), who.language)
        await driver.say(chat, refused, who)
        return
    # Telegram sets the journey in front aside for these (unless it keeps them beside it).
    if engine.route(given, who.journey) == engine.ASIDE:
        aside = await driver.engine(
            person, who, lambda session, now: engine.step_aside(
                session, person=person, contact=contact, language=who.language, now=now
            ),
        )  # fmt: skip
        if aside is not None:
            await driver.show(chat, aside, who)
    if command in progress.COMMANDS:
        await progress.answer(driver, chat, person, who, command)
        return
    if command in practices.COMMANDS:
        await practices.command(driver, message, person, who, given)
        return
    if command in staff.COMMANDS:
        await staff.answer(driver, chat, who, given)
        return
    if command == "mydata":
        outcome = await asyncio.to_thread(_my_data, driver, who)
    else:
        outcome = await asyncio.to_thread(_my_reports, driver, who)
    await driver.show(chat, outcome, who)


def help_text(_: Translate, contact: Contact | None, given: Input | None) -> str:
    """What someone can do on Zalo: join with a code, or the journeys of their role and the
    plain commands Zalo answers (bot/zalo/commands.py); the rest is on Telegram for now."""
    if contact is None:
        return _(
            "To join, please type the code your OSH service provider gave you (10 letters and "
            "digits, printed beside the QR code)."
        )
    lines = [
        f"/{entry.command} — {_(entry.description)}"
        for entry in menus.MENUS[contact.role]
        if entry.command not in ("cancel", *NEEDS_FILES)
        and (
            engine.takes(Input(command=entry.command))
            or (entry.command in PLAIN and _answered(entry.command, contact))
        )
    ]
    lines.append(f"/cancel — {_(menus.CANCEL.description)}")
    if inbox.may_write(contact):
        lines.append(_("Anything else you write or photograph here can go to your provider."))
    head = _("Here is what you can do on Zalo:")
    if given is not None and given.command not in (None, "help"):
        head = _("This is not available on Zalo yet; please use Telegram for it.") + "\n\n" + head
    return head + "\n\n" + "\n".join(lines)


def _answered(command: str, contact: Contact) -> bool:
    """Whether Zalo answers this plain command for the person (/myreports: reporters only)."""
    if (practices.refusal(command, contact) or staff.refusal(command, contact)) is not None:
        return False
    return command != "myreports" or contact.role in imp.REPORTER_ROLES


def _fresh(session: Session, contact: Contact | None) -> Contact | None:
    """The person as stored now (what was read with the update may have changed since)."""
    return session.get(Contact, contact.id) if contact is not None else None


def _nothing_held(_: Translate, language: str) -> str:
    return error_text(_, ProgrammeError("nothing_held"), language)


def _set_language(driver: ZaloDriver, who: _Who, language: str) -> None:
    with driver.database.session() as session:
        contact = _fresh(session, who.contact)
        if contact is not None:
            set_language(session, contact, language)
    who.language = language


def _my_data(driver: ZaloDriver, who: _Who) -> Outcome:
    _ = translator(who.language)
    assert who.contact is not None
    with driver.database.session() as session:
        contact = _fresh(session, who.contact)
        assert contact is not None
        data = privacy.export(session, contact)
        audit(session, "contact.export", actor_id=contact.id, subject=contact)
        text = privacy.summary(_, data, contact, driver.settings.tz, attached=False)
    document = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return Outcome().show(Reply(text, document=document, document_name=EXPORT_NAME))


def _my_reports(driver: ZaloDriver, who: _Who) -> Outcome:
    _ = translator(who.language)
    assert who.contact is not None
    with driver.database.reading() as session:
        listed = reports.my_reports(session, _, who.contact, driver.settings.tz)
    return Outcome().say(listed.text or reports.no_reports_text(_))
