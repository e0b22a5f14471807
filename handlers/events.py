"""Events in Telegram, outside the forms: the lists, an event's page and its one-shot buttons,
and check-in. What people read is rendered in models/notices/events.py; this module checks who
presses what and sends it.

- Creating an event (`/event`, "➕ New event") and moving one ("🕑 Move") are journeys,
  models/journeys/events.py; this module sends the check-in QR code (`evt:qr:<event>`), which
  the creation form also offers for upcoming events.
- `/events` (📅): organisers see upcoming and past events with invited / going / attended /
  reactions, and from there the summary, the QR code, attendance ticking, move and cancel.
  Everyone else (partners above all: they see nothing but events) sees the events they were
  invited to, with their answer.
- The deep link `https://t.me/<bot>?start=ev_<code>` reaches `checkin_from_start` through a
  small hook in handlers/onboarding.py.
- The reaction survey after the event is not here: its invitation button (`fb:event:<event>`)
  opens the follow-up survey journey, models/journeys/feedback.py.
- Nor are the answers to invitations (`evr:<event>:<answer>`): a journey takes them on every
  channel, models/journeys/rsvp.py.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler

from bot.i18n import format_number
from bot.render import inline
from handlers import driver, menu
from handlers.context import MEMBERS, Ask, handler
from models import events
from models.journeys.core import Rows
from models.journeys.events import QR, checkin_qr, number_after, refusal_code
from models.notices import events as pages
from models.notices.events import ATTENDANCE, CANCEL_EVENT, CANCEL_OK, MINE, SHOW, TICK, ids
from models.programme import ProgrammeError, usable_invite
from models.tables import Contact, Event

CHECKIN_PREFIX = events.CHECKIN_PREFIX


# -- helpers -------------------------------------------------------------------------------------


def organiser(ask: Ask) -> Contact | None:
    """The person, if they may organise events (checked in the database on every action)."""
    return ask.person if events.is_organiser(ask.person) else None


async def refuse(ask: Ask) -> None:
    await ask.refuse(refusal_code(ask.person))


async def managed(ask: Ask, prefix: str) -> Event | None:
    """The event a pressed button names, if the person organises it (else they are told)."""
    event_id = number_after(ask.data, prefix)
    with ask.runtime.database.session() as session:
        event = session.get(Event, event_id) if event_id is not None else None
    if not events.can_manage(organiser(ask), event):
        await refuse(ask)
        return None
    return event


def keyboard(actions: Rows) -> InlineKeyboardMarkup | None:
    return inline([[(a.label, a.payload) for a in row] for row in actions]) if actions else None


async def edit(
    ask: Ask, text: str | None = None, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edits the message of the pressed button: its text and buttons, or only its buttons."""
    if text is None:
        await ask.edit_actions(markup)
    else:
        await ask.edit(text, markup)


# -- the check-in QR code ----------------------------------------------------------------------


@handler()
async def qr_button(ask: Ask) -> None:
    event = await managed(ask, QR)
    if event is None:
        return
    await ask.notice()
    await ask.show(checkin_qr(ask._, ask.language, driver.place(ask.context), event))


# -- check-in through the deep link ------------------------------------------------------------


async def checkin_from_start(
    update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str
) -> bool:
    """`/start ev_<code>`: records attendance. Returns False when the payload is not an event
    code but a registration invite that happens to begin the same way."""
    ask = Ask.of(update, context)
    _, contact = ask._, ask.person
    code = payload.removeprefix(events.CHECKIN_PREFIX)
    text: str | None = None
    try:
        with ask.runtime.database.session() as session:
            event = events.event_by_code(session, code)
            if event is None and usable_invite(session, payload, now=ask.now) is not None:
                return False
            if contact is not None:
                result = events.check_in(session, code=code, contact=contact, now=ask.now)
                text = pages.checked_in(_, result, ask.language)
    except ProgrammeError as error:
        await ask.refuse(error)
        return True
    if contact is None or text is None:
        await ask.reply(pages.not_registered(_))
        return True
    await ask.reply(text, menu.keyboard(contact.role, contact.language))
    return True


# -- /events -----------------------------------------------------------------------------------


@handler(*MEMBERS, refusal=refusal_code)
async def events_command(ask: Ask) -> None:
    rt = ask.runtime
    with rt.database.session() as session:
        reply = pages.listing(session, ask.person, ask._, ask.language, rt.settings.tz, ask.now)
    await ask.show(reply)


@handler()
async def mine_button(ask: Ask) -> None:
    """An invitee opens one of their events again: the card with the answer buttons."""
    rt = ask.runtime
    with rt.database.session() as session:
        reply = pages.invitee_card(
            session, ask.person, number_after(ask.data, MINE), ask._, ask.language,
            rt.settings.tz, ask.now,
        )  # fmt: skip
    if reply is None:
        await ask.stale()
        return
    await ask.notice()
    await ask.show(reply)


@handler()
async def show_event(ask: Ask) -> None:
    event = await managed(ask, SHOW)
    if event is None:
        return
    rt = ask.runtime
    with rt.database.session() as session:
        reply = pages.event_page(session, event, ask._, ask.language, rt.settings.tz, ask.now)
    await ask.notice()
    await ask.show(reply)


# -- attendance by hand ------------------------------------------------------------------------


@handler()
async def attendance_button(ask: Ask) -> None:
    found = ids(ask.data, ATTENDANCE, 2)
    if found is None:
        await refuse(ask)
        return
    event = await managed(ask, ATTENDANCE)
    if event is None or event.id is None:
        return
    with ask.runtime.database.session() as session:
        people = events.attendance(session, event.id)
    await ask.notice()
    reply = pages.attendance_page(ask._, event, people, found[1], ask.language)
    assert ask.query is not None
    shown = ask.query.message.reply_markup if ask.query.message is not None else None  # type: ignore[union-attr]
    from_card = shown is not None and any(
        (button.callback_data or "").startswith(QR)
        for row in shown.inline_keyboard
        for button in row
    )
    if not from_card:  # paging through the list: turn the page in place
        await edit(ask, reply.text, keyboard(reply.actions))
    else:  # from the event card: a new message, so that the card stays above it
        await ask.show(reply)


@handler()
async def tick_button(ask: Ask) -> None:
    found = ids(ask.data, TICK, 3)
    contact = organiser(ask)
    if found is None or contact is None:
        await (ask.stale() if contact else refuse(ask))
        return
    event_id, contact_id, page = found
    try:
        with ask.runtime.database.session() as session:
            events.toggle_attendance(
                session, event_id=event_id, contact_id=contact_id, actor=contact, now=ask.now
            )
            event = session.get(Event, event_id)
            people = events.attendance(session, event_id)
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    assert event is not None
    await ask.notice()
    reply = pages.attendance_page(ask._, event, people, page, ask.language)
    await edit(ask, reply.text, keyboard(reply.actions))


# -- cancel ------------------------------------------------------------------------------------


@handler()
async def cancel_button(ask: Ask) -> None:
    event = await managed(ask, CANCEL_EVENT)
    if event is None:
        return
    await ask.notice()
    await ask.show(pages.cancel_question(ask._, event))


@handler()
async def cancel_confirmed(ask: Ask) -> None:
    _, rt, language = ask._, ask.runtime, ask.language
    event_id = number_after(ask.data, CANCEL_OK)
    contact = organiser(ask)
    if event_id is None or contact is None:
        await refuse(ask)
        return
    try:
        with rt.database.session() as session:
            told = events.cancel_event(
                session, event_id=event_id, actor=contact, now=ask.now, tz=rt.settings.tz
            )
    except ProgrammeError as error:
        await ask.refuse(error)
        await edit(ask)
        return
    await ask.notice()
    text = _(
        "❌ The event is cancelled. {count} invitees will be told.",
        count=format_number(told, language),
    )
    await edit(ask, text)


# -- registration ------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("events", events_command),
        MessageHandler(menu.button(menu.EVENTS), events_command),
        CallbackQueryHandler(qr_button, pattern=f"^{QR}"),
        CallbackQueryHandler(show_event, pattern=f"^{SHOW}"),
        CallbackQueryHandler(mine_button, pattern=f"^{MINE}"),
        CallbackQueryHandler(attendance_button, pattern=f"^{ATTENDANCE}"),
        CallbackQueryHandler(tick_button, pattern=f"^{TICK}"),
        CallbackQueryHandler(cancel_button, pattern=f"^{CANCEL_EVENT}"),
        CallbackQueryHandler(cancel_confirmed, pattern=f"^{CANCEL_OK}"),
    ]
