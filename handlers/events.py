"""Events in Telegram, outside the forms: the lists, the event card and its one-shot buttons,
answers to invitations, and check-in.

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

from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler

from bot.i18n import Translate, format_moment, format_number, shorten
from bot.render import check, esc, inline
from bot.runtime import current_contact, language_of, runtime, tr
from handlers import driver, menu
from models import events
from models.journeys.errors import error_text
from models.journeys.events import MOVE, NEW, QR, checkin_qr, number_after, refusal_text
from models.programme import ProgrammeError, contact_by_user, usable_invite
from models.tables import Contact, Event
from models.text import MESSAGE_LIMIT, truncate_html
from reports import events as event_reports

PREFIX = "evt:"
SHOW = PREFIX + "show:"
ATTENDANCE = PREFIX + "att:"  # evt:att:<event>:<page>
TICK = PREFIX + "tick:"  # evt:tick:<event>:<contact>:<page>
CANCEL_EVENT = PREFIX + "cancel:"
CANCEL_OK = PREFIX + "cancelok:"
MINE = PREFIX + "mine:"
RSVP = events.RSVP_DATA
CHECKIN_PREFIX = events.CHECKIN_PREFIX

PAGE_SIZE = 8
LIST_MAX = 8  # events per section of /events


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


async def send(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, **kwargs: Any) -> Any:
    assert update.effective_chat is not None
    return await context.bot.send_message(update.effective_chat.id, text, **kwargs)


async def edit(update: Update, text: str | None = None, markup: Any = None) -> None:
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
    query = update.callback_query
    assert query is not None
    event_id = number_after(query.data, QR)
    contact = organiser(update, context)
    with runtime(context).database.session() as session:
        event = session.get(Event, event_id) if event_id is not None else None
    if not events.can_manage(contact, event):
        await refuse(update, context)
        return
    assert event is not None
    await query.answer()
    reply = checkin_qr(
        tr(update, context), language_of(update, context), driver.place(context), event
    )
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
            await message.reply_text(
                _(
                    "Welcome! To check in with this bot you first need to join the programme "
                    "with the invite link from your OSH service provider. For today, please "
                    "give your name at the registration desk."
                )
            )
            return True
        try:
            result = events.check_in(session, code=code, contact=contact, now=rt.now())
        except ProgrammeError as error:
            await message.reply_text(error_text(_, error, language, tz=rt.settings.tz))
            return True
    title = esc(result.event.title)
    count = format_number(result.attendees, language)
    if result.outcome == "organiser":
        text = _(
            "This is the check-in code of <b>{title}</b>. {count} people have checked in so far.",
            title=title,
            count=count,
        )
    elif result.outcome == "already":
        text = _("You have already checked in to <b>{title}</b>. Enjoy the event!", title=title)
    elif result.outcome == "walk_in":
        text = _(
            "✅ Welcome to <b>{title}</b>! You are checked in. We are glad you could come.",
            title=title,
        )
    else:
        text = _("✅ Welcome to <b>{title}</b>! You are checked in.", title=title)
    await message.reply_text(text, reply_markup=menu.keyboard(contact.role, contact.language))
    return True


# -- answers to invitations --------------------------------------------------------------------


async def rsvp_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    parts = (query.data or "").removeprefix(RSVP).split(":")
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in events.ANSWERS:
        await stale(update, context)
        return
    event_id, value = int(parts[0]), parts[1]
    language = language_of(update, context)
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
        await query.answer(error_text(_, error, language, tz=rt.settings.tz), show_alert=True)
        return
    thanks = {
        events.GOING: _("Thank you! We look forward to seeing you."),
        events.MAYBE: _("Thank you. You can change your answer until the event starts."),
        events.NO: _("Thank you for letting us know. We hope to see you another time."),
    }
    await query.answer(thanks[value])
    if changed:
        await edit(update, markup=inline(events.rsvp_buttons(_, event_id, value)))


# -- /events -----------------------------------------------------------------------------------


def counts_line(_: Translate, figures: event_reports.EventCounts, language: str, past: bool) -> str:
    def n(value: int) -> str:
        return format_number(value, language)

    if past:
        return _(
            "invited {invited} · going {going} · attended {attended} · reactions {reactions}",
            invited=n(figures.invited),
            going=n(figures.going),
            attended=n(figures.attended),
            reactions=n(figures.reactions),
        )
    return _(
        "invited {invited} · going {going} · maybe {maybe} · can't {cannot}",
        invited=n(figures.invited),
        going=n(figures.going),
        maybe=n(figures.maybe),
        cannot=n(figures.cannot),
    )


async def events_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = current_contact(update, context)
    assert update.effective_message is not None
    _ = tr(update, context)
    if contact is None:
        await update.effective_message.reply_text(
            refusal_text(_, None, language_of(update, context))
        )
        return
    rt = runtime(context)
    language = language_of(update, context)
    tz = rt.settings.tz
    with rt.database.session() as session:
        upcoming, past = events.events_for(session, contact, now=rt.now(), past_limit=LIST_MAX)
        upcoming = upcoming[:LIST_MAX]
        answers = {
            e.id: (row.answer if (row := events.rsvp_of(session, e.id, contact.id)) else None)  # type: ignore[arg-type]
            for e in upcoming
        }
        figures = event_reports.counts(session, [e.id for e in upcoming + past])  # type: ignore[misc]
    manage = events.is_organiser(contact)
    lines = [_("<b>Events</b>")]
    buttons: list[list[tuple[str, str]]] = []
    answer_names = {
        events.GOING: _("you are going"),
        events.MAYBE: _("you might come"),
        events.NO: _("you can't come"),
        None: _("not answered yet"),
    }
    for heading, group, is_past in (
        (_("<b>Upcoming</b>"), upcoming, False),
        (_("<b>Past</b>"), past, True),
    ):
        if not group:
            continue
        lines += ["", heading]
        for event in group:
            assert event.id is not None
            moment = format_moment(event.starts_at, language, tz)
            line = f"• {moment} — <b>{esc(shorten(event.title, 80))}</b>"
            if event.status == events.CANCELLED:
                line += " " + _("(cancelled)")
            elif manage:
                line += "\n   " + counts_line(_, figures[event.id], language, is_past)
            elif not is_past:
                line += " — " + answer_names[answers.get(event.id)]
            lines.append(line)
            if manage:
                buttons.append(
                    [
                        (
                            f"{'📅' if not is_past else '📊'} {shorten(event.title)}",
                            f"{SHOW}{event.id}",
                        )
                    ]
                )
            elif not is_past and event.status != events.CANCELLED:
                buttons.append([(f"📅 {shorten(event.title)}", f"{MINE}{event.id}")])
    if len(lines) == 1:
        lines.append(
            _("No events yet. Create one with /event.")
            if manage
            else _("You have no event invitations yet.")
        )
    if manage:
        buttons.append([(_("➕ New event"), NEW)])
    await update.effective_message.reply_text(
        "\n".join(lines), reply_markup=inline(buttons) if buttons else None
    )


async def mine_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An invitee opens one of their events again: the card with the answer buttons."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    event_id = number_after(query.data, MINE)
    with rt.database.session() as session:
        contact = contact_by_user(session, update.effective_user.id)
        event = session.get(Event, event_id) if event_id is not None else None
        row = events.rsvp_of(session, event_id, contact.id) if event and contact else None  # type: ignore[arg-type]
        practices = events.showcased(session, event_id) if event else []  # type: ignore[arg-type]
        organiser_name = events.organiser_name(session, event) if event else None
    if event is None or row is None or row.invited_at is None:
        await stale(update, context)
        return
    await query.answer()
    card = events.event_card(
        _,
        event,
        language_of(update, context),
        rt.settings.tz,
        practices=practices,
        organiser=organiser_name,
    )
    upcoming = event.status == events.PLANNED and event.starts_at > rt.now()
    markup = inline(events.rsvp_buttons(_, event.id, row.answer)) if upcoming else None  # type: ignore[arg-type]
    await send(update, context, card, reply_markup=markup)


def reaction_lines(
    _: Translate, summary: event_reports.ReactionSummary, language: str
) -> list[str]:
    waiting = []
    if summary.awaiting:
        waiting.append(
            _(
                "{count} workers' reactions are added together when the feedback closes, if "
                "there are {minimum} or more, so that nobody can be recognised.",
                count=format_number(summary.awaiting, language),
                minimum=event_reports.SMALL_GROUP,
            )
        )
    return _counted_reaction_lines(_, summary, language) + waiting


def _counted_reaction_lines(
    _: Translate, summary: event_reports.ReactionSummary, language: str
) -> list[str]:
    if summary.responses == 0:
        return [] if summary.awaiting else [_("No reactions yet.")]
    if summary.suppressed:
        return [
            _(
                "{count} reactions so far. Details are shown from {minimum} reactions on, so "
                "that nobody can be recognised.",
                count=format_number(summary.responses, language),
                minimum=event_reports.SMALL_GROUP,
            )
        ]
    lines = [_("<b>Reactions</b> ({count})", count=format_number(summary.responses, language))]
    if summary.rating_mean is not None:
        lines.append(
            _(
                "Rating: {mean} of 5 (from {count} answers)",
                mean=format_number(round(summary.rating_mean, 1), language),
                count=format_number(summary.rating_count, language),
            )
        )
    for _id, text, chosen in summary.practices:
        lines.append(
            _(
                "• {practice}: {count} want to try it",
                practice=esc(shorten(text, 80)),
                count=format_number(chosen, language),
            )
        )
    for heading, texts in (
        (_("Most useful:"), summary.most_useful),
        (_("Next steps:"), summary.next_steps),
        (_("Suggestions:"), summary.suggestions),
    ):
        if texts:
            lines.append(heading)
            lines += [f"– {esc(shorten(text, 200))}" for text in texts]
    return lines


async def show_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    rt = runtime(context)
    language = language_of(update, context)
    event_id = number_after(query.data, SHOW)
    contact = organiser(update, context)
    with rt.database.session() as session:
        event = session.get(Event, event_id) if event_id is not None else None
        if not events.can_manage(contact, event):
            await refuse(update, context)
            return
        assert event is not None and event.id is not None
        practices = events.showcased(session, event.id)
        figures = event_reports.counts(session, [event.id])[event.id]
        summary = event_reports.reactions(session, event.id)
    n = lambda value: format_number(value, language)  # noqa: E731
    lines = [events.event_card(_, event, language, rt.settings.tz, practices=practices)]
    if event.status == events.CANCELLED:
        lines.append(_("❌ Cancelled."))
    lines += [
        "",
        _(
            "Invited {invited}: going {going}, maybe {maybe}, can't come {cannot}, no answer "
            "{none}.",
            invited=n(figures.invited),
            going=n(figures.going),
            maybe=n(figures.maybe),
            cannot=n(figures.cannot),
            none=n(figures.no_answer),
        ),
        _(
            "Attended {attended} (of whom {walk_ins} without a Going answer). "
            "Reactions {reactions}.",
            attended=n(figures.attended),
            walk_ins=n(figures.walk_ins),
            reactions=n(figures.reactions),
        ),
    ]
    if event.starts_at <= rt.now():
        lines += ["", *reaction_lines(_, summary, language)]
    text = truncate_html("\n".join(lines), MESSAGE_LIMIT)
    buttons: list[list[tuple[str, str]]] = []
    if event.status == events.PLANNED:
        buttons.append(
            [(_("🔳 QR code"), f"{QR}{event.id}"), (_("☑ Attendance"), f"{ATTENDANCE}{event.id}:0")]
        )
        if event.starts_at > rt.now():
            buttons.append(
                [
                    (_("🕑 Move"), f"{MOVE}{event.id}"),
                    (_("❌ Cancel the event"), f"{CANCEL_EVENT}{event.id}"),
                ]
            )
    await query.answer()
    await send(update, context, text, reply_markup=inline(buttons) if buttons else None)


# -- attendance by hand ------------------------------------------------------------------------


def attendance_view(
    _: Translate, event: Event, people: list[events.Attendee], page: int, language: str
) -> tuple[str, Any]:
    pages = max(1, (len(people) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    present = sum(1 for p in people if p.attended)
    text = _(
        "<b>Attendance: {title}</b>\n{present} of {total} checked in. Tap a name to tick or "
        "untick it.\n✅ here · ⬜ not checked in yet\nReply to the invitation: 👍 coming, "
        "🤔 maybe, ✖ not coming, … no reply",
        title=esc(shorten(event.title, 100)),
        present=format_number(present, language),
        total=format_number(len(people), language),
    )
    marks = {events.GOING: "👍", events.MAYBE: "🤔", events.NO: "✖", None: "…"}
    rows = []
    for person in people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        label = f"{check(person.attended)}{shorten(person.name, 28)} {marks.get(person.answer, '')}"
        if person.organisation:
            label += f" · {shorten(person.organisation, 20)}"
        rows.append([(label, f"{TICK}{event.id}:{person.contact_id}:{page}")])
    nav = []
    if page > 0:
        nav.append(("◀", f"{ATTENDANCE}{event.id}:{page - 1}"))
    if page < pages - 1:
        nav.append(("▶", f"{ATTENDANCE}{event.id}:{page + 1}"))
    if nav:
        rows.append(nav)
    return text, inline(rows)


def ids(data: str | None, prefix: str, count: int) -> list[int] | None:
    parts = (data or "").removeprefix(prefix).split(":")
    if not (data or "").startswith(prefix) or len(parts) != count:
        return None
    if not all(p.isdigit() and len(p) <= 10 for p in parts):
        return None
    return [int(p) for p in parts]


async def attendance_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    found = ids(query.data, ATTENDANCE, 2)
    contact = organiser(update, context)
    rt = runtime(context)
    with rt.database.session() as session:
        event = session.get(Event, found[0]) if found else None
        if found is None or not events.can_manage(contact, event):
            await refuse(update, context)
            return
        assert event is not None and event.id is not None
        people = events.attendance(session, event.id)
    await query.answer()
    text, markup = attendance_view(_, event, people, found[1], language_of(update, context))
    keyboard = query.message.reply_markup if query.message is not None else None  # type: ignore[union-attr]
    from_card = keyboard is not None and any(
        (button.callback_data or "").startswith(QR)
        for row in keyboard.inline_keyboard
        for button in row
    )
    if not from_card:  # paging through the list: turn the page in place
        await edit(update, text, markup)
    else:  # from the event card: a new message, so that the card stays above it
        await send(update, context, text, reply_markup=markup)


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
    text, markup = attendance_view(_, event, people, page, language)
    await edit(update, text, markup)


# -- cancel ------------------------------------------------------------------------------------


async def cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    event_id = number_after(query.data, CANCEL_EVENT)
    contact = organiser(update, context)
    with runtime(context).database.session() as session:
        event = session.get(Event, event_id) if event_id is not None else None
    if not events.can_manage(contact, event):
        await refuse(update, context)
        return
    assert event is not None
    await query.answer()
    await send(
        update,
        context,
        _(
            "Cancel <b>{title}</b>? Everyone invited will be told once.",
            title=esc(shorten(event.title, 200)),
        ),
        reply_markup=inline(
            [
                [
                    (_("Yes, cancel the event"), f"{CANCEL_OK}{event.id}"),
                    (_("No, keep it"), f"{SHOW}{event.id}"),
                ]
            ]
        ),
    )


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
        await edit(update, markup=None)
        return
    await query.answer()
    await edit(
        update,
        _(
            "❌ The event is cancelled. {count} invitees will be told.",
            count=format_number(told, language),
        ),
        None,
    )


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
