"""Revisits in Telegram: staff propose a date, employers confirm or suggest another time, staff
accept a suggestion and log the outcome; /visits shows staff their upcoming and overdue visits
and employers their next visit.

The buttons arrive on messages the scheduler queued (scheduler/notices.py owns their callback
data); every press is checked against the database (models/visits.py), so a stale, forged or
another person's button gets a clear answer and changes nothing.
"""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery, Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, format_day, format_moment, shorten, translator
from bot.render import esc, inline
from bot.runtime import current_contact, runtime, tr, user_data
from handlers import menu, visit_check
from handlers.common import cancel
from models import visits
from models.programme import ProgrammeError, audit
from models.tables import Contact, Enterprise, Role, Visit, VisitStatus
from scheduler import jobs, notices
from scheduler.config import SchedulerConfig
from scheduler.notices import ACCEPT, CONFIRM, DONE, MISSED, PROPOSE, SKIP_NOTES, SUGGEST

WHEN = "visits.when"  # staff type the date and time they propose
SUGGEST_WHEN = "visits.suggest"  # an employer types the time that suits them
NOTES = "visits.notes"  # staff may add notes to the outcome

VISIT_KEY = "visit_id"
BOARD_LIMIT = 10


def config_of(context: ContextTypes.DEFAULT_TYPE) -> SchedulerConfig:
    return SchedulerConfig.from_settings(runtime(context).settings)


def error_text(_: Translate, error: ProgrammeError) -> str:
    texts = {
        "when_invalid": _(
            "Please type a day and a time, for example 20/03 9:00 or 20/03/2027 14h30."
        ),
        "when_needs_time": _("Please add a time as well, for example 20/03 9:00."),
        "when_past": _("That time has already passed. Please type a time to come."),
        "when_too_far": _("That is more than a year ahead. Please choose a nearer date."),
        "visit_unknown": _("This visit no longer exists."),
        "visit_closed": _("This visit is already closed."),
        "visit_already_confirmed": _("This visit is already confirmed. Thank you!"),
        "visit_not_proposed": _("This date is no longer on the table."),
        "visit_no_suggestion": _("There is no suggested time to accept any more."),
        "not_allowed": _("Sorry, this button is not for you."),
        "notes_too_long": _("That is too long: at most 1000 characters, please."),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


def visit_id_of(data: str | None, prefix: str) -> int | None:
    raw = (data or "").removeprefix(prefix)
    return int(raw) if (data or "").startswith(prefix) and raw.isdigit() and len(raw) < 12 else None


async def answer_error(
    update: Update, context: ContextTypes.DEFAULT_TYPE, error: ProgrammeError
) -> None:
    _ = tr(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer(error_text(_, error), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(error_text(_, error))


async def drop_buttons(query: CallbackQuery) -> None:
    """Takes the buttons off a message; already gone (a double tap) is fine."""
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)


async def stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.callback_query is not None
    _ = tr(update, context)
    await update.callback_query.answer(_("This button is no longer active."))
    return ConversationHandler.END


# -- staff: propose a date ----------------------------------------------------------------------


async def propose_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    visit_id = visit_id_of(query.data, PROPOSE)
    if visit_id is None:
        return await stale(update, context)
    contact = current_contact(update, context)
    _ = tr(update, context)
    with runtime(context).database.session() as session:
        visit = session.get(Visit, visit_id)
        enterprise = session.get(Enterprise, visit.enterprise_id) if visit else None
        if visit is None or enterprise is None:
            await answer_error(update, context, ProgrammeError("visit_unknown"))
            return ConversationHandler.END
        if not visits.may_manage(contact, enterprise):
            await answer_error(update, context, ProgrammeError("not_allowed"))
            return ConversationHandler.END
        if visit.status not in visits.OPEN:
            await answer_error(update, context, ProgrammeError("visit_closed"))
            return ConversationHandler.END
        name = enterprise.name
    await query.answer()
    user_data(context)[VISIT_KEY] = visit_id
    await query.message.reply_text(  # type: ignore[union-attr]
        _(
            "When would you like to visit {enterprise}? Type the day and time, for example "
            "<b>20/03 9:00</b>. (/cancel to stop)",
            enterprise=esc(name),
        )
    )
    return WHEN


async def propose_when(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    visit_id = user_data(context).get(VISIT_KEY)
    rt = runtime(context)
    config = config_of(context)
    contact = current_contact(update, context)
    if visit_id is None:
        return await cancel(update, context)
    try:
        at = visits.parse_when(message.text, now=rt.now(), tz=config.tz)
        with rt.database.session() as session:
            proposal = visits.propose(
                session, visit_id=visit_id, staff=contact, at=at, now=rt.now()
            )
            enterprise = session.get(Enterprise, proposal.visit.enterprise_id)
            assert enterprise is not None
            notices.proposal(
                session, proposal.visit, proposal.employers, now=rt.now(), config=config
            )
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error))
        if error.code.startswith("when_"):
            return WHEN
        user_data(context).pop(VISIT_KEY, None)
        return ConversationHandler.END
    user_data(context).pop(VISIT_KEY, None)
    moment = format_moment(at, contact.language if contact else "vi", config.tz)
    if proposal.employers:
        text = _(
            "Thank you. I have asked {enterprise} whether {when} suits them; I will tell you "
            "their answer.",
            enterprise=esc(enterprise.name),
            when=moment,
        )
    else:
        text = _(
            "Recorded: {enterprise} on {when}. Nobody from the enterprise uses the bot yet, so "
            "please agree the date with them directly. I will remind you the day before.",
            enterprise=esc(enterprise.name),
            when=moment,
        )
    await message.reply_text(text)
    return ConversationHandler.END


async def when_please(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """A sticker, a photo or a voice note where a date was expected."""
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(
        _("Please type the day and time as text, for example 20/03 9:00.")
    )
    return None  # stay in the same step


# -- employer: confirm or suggest ----------------------------------------------------------------


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    visit_id = visit_id_of(query.data, CONFIRM)
    if visit_id is None:
        return await stale(update, context)
    contact = current_contact(update, context)
    rt = runtime(context)
    config = config_of(context)
    _ = tr(update, context)
    try:
        with rt.database.session() as session:
            visit = visits.confirm(session, visit_id=visit_id, employer=contact, now=rt.now())
            staff = _staff_to_tell(session, visit)
            notices.confirmed(session, visit, staff, by=contact, now=rt.now(), config=config)
    except ProgrammeError as error:
        await answer_error(update, context, error)
        if error.code in ("visit_already_confirmed", "visit_not_proposed", "visit_closed"):
            await drop_buttons(query)
        return ConversationHandler.END
    await query.answer()
    assert visit.scheduled_at is not None
    await query.edit_message_text(
        _(
            "✅ Confirmed: the visit on <b>{when}</b>. Thank you! I will remind you the day "
            "before.",
            when=format_moment(
                visit.scheduled_at, contact.language if contact else "vi", config.tz
            ),
        )
    )
    return ConversationHandler.END


def _staff_to_tell(session, visit: Visit) -> list[Contact]:  # type: ignore[no-untyped-def]
    person = session.get(Contact, visit.staff_id) if visit.staff_id else None
    if person is not None and person.chat_id and person.unreachable_at is None:
        return [person]
    enterprise = session.get(Enterprise, visit.enterprise_id)
    return visits.staff_of(session, enterprise.provider_id) if enterprise else []


async def suggest_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    visit_id = visit_id_of(query.data, SUGGEST)
    if visit_id is None:
        return await stale(update, context)
    contact = current_contact(update, context)
    with runtime(context).database.session() as session:
        visit = session.get(Visit, visit_id)
        allowed = (
            visit is not None
            and contact is not None
            and contact.role == Role.EMPLOYER
            and contact.enterprise_id == visit.enterprise_id
        )
    if not allowed:
        await answer_error(update, context, ProgrammeError("not_allowed"))
        return ConversationHandler.END
    assert visit is not None
    if visit.status not in visits.ARRANGED:
        await answer_error(update, context, ProgrammeError("visit_not_proposed"))
        return ConversationHandler.END
    _ = tr(update, context)
    await query.answer()
    user_data(context)[VISIT_KEY] = visit_id
    await query.message.reply_text(  # type: ignore[union-attr]
        _(
            "Which day and time would suit you better? Type it, for example <b>22/03 14:00</b>. "
            "(/cancel to keep the proposed time)"
        )
    )
    return SUGGEST_WHEN


async def suggest_when(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    visit_id = user_data(context).get(VISIT_KEY)
    if visit_id is None:
        return await cancel(update, context)
    rt = runtime(context)
    config = config_of(context)
    contact = current_contact(update, context)
    try:
        at = visits.parse_when(message.text, now=rt.now(), tz=config.tz)
        with rt.database.session() as session:
            visit = visits.suggest(
                session, visit_id=visit_id, employer=contact, at=at, now=rt.now()
            )
            assert contact is not None
            notices.suggestion(
                session,
                visit,
                _staff_to_tell(session, visit),
                employer=contact,
                now=rt.now(),
                config=config,
            )
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error))
        if error.code.startswith("when_"):
            return SUGGEST_WHEN
        user_data(context).pop(VISIT_KEY, None)
        return ConversationHandler.END
    user_data(context).pop(VISIT_KEY, None)
    await message.reply_text(
        _(
            "Thank you. I have passed {when} on to your provider; they will confirm it or "
            "propose another time.",
            when=format_moment(at, contact.language if contact else "vi", config.tz),
        )
    )
    return ConversationHandler.END


async def accept(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    visit_id = visit_id_of(query.data, ACCEPT)
    if visit_id is None:
        return await stale(update, context)
    contact = current_contact(update, context)
    rt = runtime(context)
    config = config_of(context)
    _ = tr(update, context)
    try:
        with rt.database.session() as session:
            visit = visits.accept_suggestion(
                session, visit_id=visit_id, staff=contact, now=rt.now()
            )
            employers = visits.employers_of(session, visit.enterprise_id)
            notices.confirmed(session, visit, employers, by=contact, now=rt.now(), config=config)
    except ProgrammeError as error:
        await answer_error(update, context, error)
        return ConversationHandler.END
    await query.answer()
    assert visit.scheduled_at is not None
    await query.edit_message_text(
        _(
            "✅ Agreed: the visit on <b>{when}</b>. I have told the enterprise.",
            when=format_moment(
                visit.scheduled_at, contact.language if contact else "vi", config.tz
            ),
        )
    )
    return ConversationHandler.END


# -- staff: the outcome -------------------------------------------------------------------------


async def outcome(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    done = (query.data or "").startswith(DONE)
    visit_id = visit_id_of(query.data, DONE if done else MISSED)
    if visit_id is None:
        return await stale(update, context)
    contact = current_contact(update, context)
    rt = runtime(context)
    _ = tr(update, context)
    try:
        with rt.database.session() as session:
            visit, replacement = visits.record_outcome(
                session, visit_id=visit_id, staff=contact, done=done, now=rt.now(),
                tz=rt.settings.tz,
            )  # fmt: skip
            enterprise = session.get(Enterprise, visit.enterprise_id)
            assert enterprise is not None
            if done:
                # The next survey round opens and its invitations are queued.
                jobs.after_visit_done(session, visit, now=rt.now())
    except ProgrammeError as error:
        await answer_error(update, context, error)
        if error.code == "visit_closed":
            await drop_buttons(query)
        return ConversationHandler.END
    await query.answer()
    if done:
        head = _(
            "✅ Logged: the visit to {enterprise} took place. The employer and worker surveys "
            "are on their way.",
            enterprise=esc(enterprise.name),
        )
    else:
        head = _(
            "Logged: the visit to {enterprise} did not happen.", enterprise=esc(enterprise.name)
        )
    buttons = [[(_("Skip"), SKIP_NOTES)]]
    if replacement is not None:
        buttons.insert(0, [(_("📅 Propose a new date"), f"{PROPOSE}{replacement.id}")])
    await query.edit_message_text(
        head + "\n\n" + _("Any notes for the record? Type them, or press Skip."),
        reply_markup=inline(buttons),
    )
    user_data(context)[VISIT_KEY] = visit_id
    return NOTES


async def notes(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    visit_id = user_data(context).get(VISIT_KEY)
    if visit_id is None:
        return await cancel(update, context)
    contact = current_contact(update, context)
    try:
        with runtime(context).database.session() as session:
            visits.add_notes(session, visit_id=visit_id, staff=contact, text=message.text or "")
            audit(session, "visit.notes", actor_id=contact.id if contact else None)
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error))
        return NOTES if error.code == "notes_too_long" else ConversationHandler.END
    user_data(context).pop(VISIT_KEY, None)
    await message.reply_text(_("Notes saved. Thank you!"))
    await checklist_if_done(update, context, visit_id)
    return ConversationHandler.END


async def checklist_if_done(
    update: Update, context: ContextTypes.DEFAULT_TYPE, visit_id: int
) -> None:
    """A visit that took place goes on to its checklist (handlers/visit_check.py)."""
    with runtime(context).database.session() as session:
        visit = session.get(Visit, visit_id)
        done = visit is not None and visit.status == VisitStatus.DONE
    if done:
        await visit_check.start(update, context, visit_id)


async def skip_notes(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    visit_id = user_data(context).pop(VISIT_KEY, None)
    await query.answer(_("No notes. Thank you!"))
    await drop_buttons(query)
    if visit_id is not None:
        await checklist_if_done(update, context, visit_id)
    return ConversationHandler.END


async def text_please(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(_("Please type your notes as text, or press Skip."))


# -- /visits -----------------------------------------------------------------------------------


def board_line(row: visits.VisitRow, contact: Contact, config: SchedulerConfig) -> str:
    _ = translator(contact.language)
    name = f"<b>{esc(row.enterprise.name)}</b>"
    visit = row.visit
    if visit.scheduled_at is not None and visit.status in visits.ARRANGED:
        when = format_moment(visit.scheduled_at, contact.language, config.tz)
        state = _("confirmed") if visit.status == "confirmed" else _("waiting for the employer")
        if visit.suggested_at is not None:
            suggested = format_moment(visit.suggested_at, contact.language, config.tz)
            state = _("the employer suggests {when}", when=suggested)
        return f"• {name} — {when} ({state})"
    return "• " + _(
        "{name} — due since {day}", name=name, day=format_day(visit.due_on, contact.language)
    )


async def visits_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    rt = runtime(context)
    config = config_of(context)
    if contact is None or contact.role not in (Role.STAFF, Role.COORDINATOR, Role.EMPLOYER):
        await message.reply_text(_("Sorry, visits are for enterprises and their providers."))
        return
    if contact.role == Role.EMPLOYER:
        await message.reply_text(next_visit_text(contact, rt.now(), config, context))
        return
    provider_id = contact.provider_id if contact.role == Role.STAFF else None
    with rt.database.session() as session:
        upcoming, overdue = visits.visits_board(
            session, provider_id=provider_id, now=rt.now(), tz=config.tz, limit=BOARD_LIMIT
        )
    lines = [_("🗓 <b>Upcoming visits</b>")]
    lines += [board_line(row, contact, config) for row in upcoming] or [_("None arranged.")]
    lines += ["", _("⏰ <b>Overdue: due, no date agreed</b>")]
    lines += [board_line(row, contact, config) for row in overdue] or [_("Nothing overdue. 👍")]
    buttons = [
        [
            (
                _("📅 Propose: {name}", name=shorten(row.enterprise.name, 30)),
                f"{PROPOSE}{row.visit.id}",
            )
        ]
        for row in overdue
    ]
    await message.reply_text("\n".join(lines), reply_markup=inline(buttons) if buttons else None)


def next_visit_text(
    contact: Contact,
    now,
    config: SchedulerConfig,
    context: ContextTypes.DEFAULT_TYPE,  # type: ignore[no-untyped-def]
) -> str:
    _ = translator(contact.language)
    assert contact.enterprise_id is not None
    with runtime(context).database.session() as session:
        visit = visits.next_visit(session, enterprise_id=contact.enterprise_id, now=now)
    if visit is None or visit.scheduled_at is None:
        return _(
            "No visit is arranged yet. Your provider will propose a date, and you can confirm "
            "it or suggest another time here."
        )
    when = format_moment(visit.scheduled_at, contact.language, config.tz)
    if visit.status == "confirmed":
        return _("🗓 Your next visit: <b>{when}</b> (confirmed).", when=when)
    return _(
        "🗓 Your provider proposes a visit on <b>{when}</b>; please confirm it or suggest "
        "another time with the buttons of their message.",
        when=when,
    )


# -- wiring ------------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    not_command = ~filters.COMMAND & ~menu.any_button()
    typed = filters.TEXT & not_command
    other = not_command & ~filters.TEXT
    conversation = ConversationHandler(
        name="visits",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CallbackQueryHandler(propose_start, pattern=f"^{PROPOSE}"),
            CallbackQueryHandler(suggest_start, pattern=f"^{SUGGEST}"),
            CallbackQueryHandler(outcome, pattern=f"^({DONE}|{MISSED})"),
        ],
        states={
            WHEN: [MessageHandler(typed, propose_when), MessageHandler(other, when_please)],
            SUGGEST_WHEN: [
                MessageHandler(typed, suggest_when),
                MessageHandler(other, when_please),
            ],
            NOTES: [
                MessageHandler(typed, notes),
                CallbackQueryHandler(skip_notes, pattern=f"^{SKIP_NOTES}$"),
                MessageHandler(other, text_please),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )
    return [
        conversation,
        CallbackQueryHandler(confirm, pattern=f"^{CONFIRM}"),
        CallbackQueryHandler(accept, pattern=f"^{ACCEPT}"),
        CommandHandler(["visits", menu.NEXT_VISIT.command], visits_command),
        MessageHandler(menu.button(menu.VISITS) | menu.button(menu.NEXT_VISIT), visits_command),
    ]
