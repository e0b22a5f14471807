"""Events in Telegram, outside the forms: the lists, an event's page and its one-shot buttons,
answers to invitations, and check-in. What people read is rendered in models/notices/events.py;
this module checks who presses what and sends it.

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
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler

from bot.i18n import format_number
from bot.render import inline
from bot.runtime import current_contact, language_of, runtime, tr
from handlers import driver, menu
from models import events
from models.journeys.core import Rows
from models.journeys.errors import error_text
from models.journeys.events import QR, checkin_qr, number_after, refusal_text
from models.notices import events as pages
from models.notices.events import ATTENDANCE, CANCEL_EVENT, CANCEL_OK, MINE, SHOW, TICK, ids
from models.programme import ProgrammeError, contact_by_user, usable_invite
from models.tables import Contact, Event

RSVP = events.RSVP_DATA
CHECKIN_PREFIX = events.CHECKIN_PREFIX


# -- helpers -------------------------------------------------------------------------------------


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _ = tr(update, context)
    text = refusal_text(_, current_contact(update, context), language_of(update, context))
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer(tr(update, context)("This button is no longer active."))


def organiser(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Contact | None:
    """The person, if they may organise events (checked in the database on every action)."""
    contact = current_contact(update, context)
    return contact if events.is_organiser(contact) else None


async def managed(update: Update, context: ContextTypes.DEFAULT_TYPE, prefix: str) -> Event | None:
    """The event a pressed button names, if the person organises it (else they are told)."""
    assert update.callback_query is not None
    event_id = number_after(update.callback_query.data, prefix)
    with runtime(context).database.session() as session:
        event = session.get(Event, event_id) if event_id is not None else None
    if not events.can_manage(organiser(update, context), event):
        await refuse(update, context)
        return None
    return event


def keyboard(actions: Rows) -> InlineKeyboardMarkup | None:
    return inline([[(a.label, a.payload) for a in row] for row in actions]) if actions else None


async def edit(
    update: Update, text: str | None = None, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edits the message of the pressed button; an identical edit is not an error."""
    query = update.callback_query
    assert query is not None
    try:
        if text is None:
            await query.edit_message_reply_markup(markup)
        else:
            await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


# -- the check-in QR code ----------------------------------------------------------------------


async def qr_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    event = await managed(update, context, QR)
    if event is None:
        return
    await update.callback_query.answer()
    _ = tr(update, context)
    reply = checkin_qr(_, language_of(update, context), driver.place(context), event)
    await driver.send(update, context, reply)


# -- check-in through the deep link ------------------------------------------------------------


async def checkin_from_start(
    update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str
) -> bool:
    """`/start ev_<code>`: records attendance. Returns False when the payload is not an event
    code but a registration invite that happens to begin the same way."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    rt = runtime(context)
    code = payload.removeprefix(events.CHECKIN_PREFIX)
    _ = tr(update, context)
    language = language_of(update, context)
    with rt.database.session() as session:
        event = events.event_by_code(session, code)
        if event is None and usable_invite(session, payload, now=rt.now()) is not None:
            return False
        contact = contact_by_user(session, user.id)
        if contact is None:
            await message.reply_text(pages.not_registered(_))
            return True
        try:
            result = events.check_in(session, code=code, contact=contact, now=rt.now())
        except ProgrammeError as error:
            await message.reply_text(error_text(_, error, language, tz=rt.settings.tz))
            return True
        text = pages.checked_in(_, result, language)
    await message.reply_text(text, reply_markup=menu.keyboard(contact.role, contact.language))
    return True


# -- answers to invitations --------------------------------------------------------------------


async def rsvp_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    parts = (query.data or "").removeprefix(RSVP).split(":")
    event_id = number_after(parts[0], "")
    if len(parts) != 2 or event_id is None or parts[1] not in events.ANSWERS:
        await stale(update, context)
        return
    value = parts[1]
    try:
        with rt.database.session() as session:
            contact = contact_by_user(session, update.effective_user.id)
            if contact is None:
                await stale(update, context)
                return
            _row, changed = events.answer(
                session, event_id=event_id, contact=contact, value=value, now=rt.now()
            )
    except ProgrammeError as error:
        text = error_text(_, error, language_of(update, context), tz=rt.settings.tz)
        await query.answer(text, show_alert=True)
        return
    await query.answer(pages.rsvp_thanks(_, value))
    if changed:
        await edit(update, markup=inline(pages.rsvp_buttons(_, event_id, value)))


# -- /events -----------------------------------------------------------------------------------


async def events_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = current_contact(update, context)
    _ = tr(update, context)
    language = language_of(update, context)
    if contact is None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(refusal_text(_, None, language))
        return
    rt = runtime(context)
    with rt.database.session() as session:
        reply = pages.listing(session, contact, _, language, rt.settings.tz, rt.now())
    await driver.send(update, context, reply)


async def mine_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An invitee opens one of their events again: the card with the answer buttons."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    rt = runtime(context)
    with rt.database.session() as session:
        reply = pages.invitee_card(
            session, contact_by_user(session, update.effective_user.id),
            number_after(query.data, MINE), tr(update, context), language_of(update, context),
            rt.settings.tz, rt.now(),
        )  # fmt: skip
    if reply is None:
        await stale(update, context)
        return
    await query.answer()
    await driver.send(update, context, reply)


async def show_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    event = await managed(update, context, SHOW)
    if event is None:
        return
    rt = runtime(context)
    with rt.database.session() as session:
        reply = pages.event_page(
            session, event, tr(update, context), language_of(update, context), rt.settings.tz,
            rt.now(),
        )  # fmt: skip
    await update.callback_query.answer()
    await driver.send(update, context, reply)


# -- attendance by hand ------------------------------------------------------------------------


async def attendance_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    found = ids(query.data, ATTENDANCE, 2)
    if found is None:
        await refuse(update, context)
        return
    event = await managed(update, context, ATTENDANCE)
    if event is None or event.id is None:
        return
    with runtime(context).database.session() as session:
        people = events.attendance(session, event.id)
    await query.answer()
    _ = tr(update, context)
    reply = pages.attendance_page(_, event, people, found[1], language_of(update, context))
    keyboard = query.message.reply_markup if query.message is not None else None  # type: ignore[union-attr]
    from_card = keyboard is not None and any(
        (button.callback_data or "").startswith(QR)
        for row in keyboard.inline_keyboard
        for button in row
    )
    if not from_card:  # paging through the list: turn the page in place
        await edit(update, reply.text, keyboard(reply.actions))
    else:  # from the event card: a new message, so that the card stays above it
        await driver.send(update, context, reply)


async def tick_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    found = ids(query.data, TICK, 3)
    contact = organiser(update, context)
    rt = runtime(context)
    language = language_of(update, context)
    if found is None or contact is None:
        await (stale(update, context) if contact else refuse(update, context))
        return
    event_id, contact_id, page = found
    try:
        with rt.database.session() as session:
            events.toggle_attendance(
                session, event_id=event_id, contact_id=contact_id, actor=contact, now=rt.now()
            )
            event = session.get(Event, event_id)
            people = events.attendance(session, event_id)
    except ProgrammeError as error:
        await query.answer(error_text(_, error, language, tz=rt.settings.tz), show_alert=True)
        return
    assert event is not None
    await query.answer()
    reply = pages.attendance_page(_, event, people, page, language)
    await edit(update, reply.text, keyboard(reply.actions))


# -- cancel ------------------------------------------------------------------------------------


async def cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    event = await managed(update, context, CANCEL_EVENT)
    if event is None:
        return
    await update.callback_query.answer()
    await driver.send(update, context, pages.cancel_question(tr(update, context), event))


async def cancel_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    rt = runtime(context)
    language = language_of(update, context)
    event_id = number_after(query.data, CANCEL_OK)
    contact = organiser(update, context)
    if event_id is None or contact is None:
        await refuse(update, context)
        return
    try:
        with rt.database.session() as session:
            told = events.cancel_event(
                session, event_id=event_id, actor=contact, now=rt.now(), tz=rt.settings.tz
            )
    except ProgrammeError as error:
        await query.answer(error_text(_, error, language, tz=rt.settings.tz), show_alert=True)
        await edit(update)
        return
    await query.answer()
    text = _(
        "❌ The event is cancelled. {count} invitees will be told.",
        count=format_number(told, language),
    )
    await edit(update, text)


# -- registration ------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("events", events_command),
        MessageHandler(menu.button(menu.EVENTS), events_command),
        CallbackQueryHandler(rsvp_button, pattern=f"^{RSVP}"),
        CallbackQueryHandler(qr_button, pattern=f"^{QR}"),
        CallbackQueryHandler(show_event, pattern=f"^{SHOW}"),
        CallbackQueryHandler(mine_button, pattern=f"^{MINE}"),
        CallbackQueryHandler(attendance_button, pattern=f"^{ATTENDANCE}"),
        CallbackQueryHandler(tick_button, pattern=f"^{TICK}"),
        CallbackQueryHandler(cancel_button, pattern=f"^{CANCEL_EVENT}"),
        CallbackQueryHandler(cancel_confirmed, pattern=f"^{CANCEL_OK}"),
    ]
