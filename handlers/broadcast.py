"""/broadcast: staff and coordinators send news or a good practice to a chosen audience.

Compose (a text, a photo with its text, or a good practice from the library) -> audience ->
preview with the exact number of recipients -> Send. The broadcast row is written at the first
step and updated at each one; sending goes through the outbox. The confirmation message becomes
the progress message: `refresh_progress` (a repeating job, or whoever drains the outbox) edits
it in place until the final report.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime

from telegram import Bot, Update
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, format_number, shorten, translator
from bot.render import grid, inline
from bot.runtime import current_contact, language_of, runtime, tr, user_data
from handlers import menu
from handlers.common import cancel
from models import audience as audiences
from models import broadcasts, content, goodpractice, media
from models.db import Database
from models.programme import ProgrammeError
from models.tables import Broadcast, Contact, Role
from reports.cards import area_label, place, renderer

log = logging.getLogger(__name__)

PREFIX = "bc:"
PICK = PREFIX + "pick"
PICKED = PREFIX + "gp:"
AUDIENCE = PREFIX + "aud:"  # bc:aud:all | prov | sec | emp | wrk | area
PROVINCE = PREFIX + "prov:"
SECTOR = PREFIX + "sec:"
AREA = PREFIX + "area:"
SEND = PREFIX + "ok:"
CHANGE = PREFIX + "chg"
DROP = PREFIX + "no"

COMPOSE = "broadcast.compose"
CAPTION = "broadcast.caption"
CHOOSE = "broadcast.audience"
PREVIEW = "broadcast.preview"

DRAFT = "broadcast_id"
PHOTO = "broadcast_photo"
PROGRESS_EVERY = 3.0  # seconds between progress edits: well inside one edit a second per chat
BAR = 10
PICK_MAX = 10


def error_text(_: Translate, error: ProgrammeError, language: str) -> str:
    limit = format_number(error.details.get("limit", 0), language)
    length = format_number(error.details.get("length", 0), language)
    texts = {
        "text_empty": _("Please type the text of the message."),
        "text_too_long": _(
            "That is {length} characters; at most {limit} fit (a photo's caption is shorter). "
            "Please shorten it.",
            length=length,
            limit=limit,
        ),
        "not_in_library": _("This good practice is no longer in the library."),
        "not_allowed": _("Sorry, this is only for programme staff."),
        "no_audience": _("Please choose who should receive it first."),
        "already_sent": _("This broadcast is already on its way."),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    _ = tr(update, context)
    text = _("Sorry, this is only for programme staff.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return ConversationHandler.END


def sender(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Contact | None:
    """The person, if they may broadcast (checked in the database on every step)."""
    contact = current_contact(update, context)
    return contact if broadcasts.may_broadcast(contact) else None


# -- 1. compose ------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    if sender(update, context) is None:
        return await refuse(update, context)
    assert update.effective_message is not None
    _ = tr(update, context)
    user_data(context).pop(DRAFT, None)
    user_data(context).pop(PHOTO, None)
    await update.effective_message.reply_text(
        _(
            "<b>New broadcast</b>\nType the message, or send a photo with its text. "
            "Or share a good practice from the library. (/cancel to stop)"
        ),
        reply_markup=inline([[(_("🌟 Share a good practice"), PICK)]]),
    )
    return COMPOSE


async def composed_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    photo = user_data(context).get(PHOTO)
    return await create_draft(update, context, text=message.text, photo_path=photo)


async def composed_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None and message.photo
    _ = tr(update, context)
    rt = runtime(context)
    file = await message.photo[-1].get_file()
    try:
        photo = await asyncio.to_thread(media.reencode, bytes(await file.download_as_bytearray()))
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, language_of(update, context)))
        return COMPOSE
    target = media.save(photo, rt.settings.media_dir / "broadcasts" / uuid.uuid4().hex)
    user_data(context)[PHOTO] = str(target)
    if message.caption:
        return await create_draft(update, context, text=message.caption, photo_path=str(target))
    await message.reply_text(_("Thank you. Now type the text that goes with the photo."))
    return CAPTION


async def compose_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(
        _("Please type the message, send a photo, or press 🌟 Share a good practice."),
        reply_markup=inline([[(_("🌟 Share a good practice"), PICK)]]),
    )
    return COMPOSE


async def caption_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(_("Please type the text that goes with the photo."))
    return CAPTION


async def pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    contact = sender(update, context)
    if contact is None:
        return await refuse(update, context)
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    language = language_of(update, context)
    with runtime(context).database.session() as session:
        # Staff see their own provider's good practices first: those they know best.
        own = (
            goodpractice.entries(session, provider_id=contact.provider_id, limit=PICK_MAX)
            if contact.provider_id
            else []
        )
        others = goodpractice.entries(session, limit=PICK_MAX)
    chosen = own + [e for e in others if e.id not in {o.id for o in own}]
    chosen = chosen[:PICK_MAX]
    await query.answer()
    if not chosen:
        await query.edit_message_text(
            _("The library has no good practices yet. Type a message or send a photo instead.")
        )
        return COMPOSE
    buttons = [
        [
            (
                shorten(f"{area_label(e.area_code, language)} · {place(e, language)}", 60),
                f"{PICKED}{e.id}",
            )
        ]
        for e in chosen
    ]
    await query.edit_message_text(
        _("Which good practice shall we share?"), reply_markup=inline(buttons)
    )
    return COMPOSE


async def picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    raw = (query.data or "").removeprefix(PICKED)
    if not raw.isdigit():
        _ = tr(update, context)
        await query.answer(_("This button is no longer active."))
        return COMPOSE
    await query.answer()
    await query.edit_message_reply_markup(None)
    return await create_draft(update, context, improvement_id=int(raw))


async def create_draft(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    *,
    text: str | None = None,
    photo_path: str | None = None,
    improvement_id: int | None = None,
) -> str | int:
    contact = sender(update, context)
    if contact is None:
        return await refuse(update, context)
    assert update.effective_chat is not None
    _ = tr(update, context)
    language = language_of(update, context)
    try:
        with runtime(context).database.session() as session:
            draft = broadcasts.create(
                session,
                author=contact,
                text=text,
                photo_path=photo_path,
                improvement_id=improvement_id,
            )
    except ProgrammeError as error:
        await context.bot.send_message(update.effective_chat.id, error_text(_, error, language))
        if photo_path is not None:
            return CAPTION
        return COMPOSE
    user_data(context)[DRAFT] = draft.id
    user_data(context).pop(PHOTO, None)
    return await ask_audience(update, context, contact)


# -- 2. audience -----------------------------------------------------------------------------


def audience_buttons(_: Translate, contact: Contact) -> list[list[tuple[str, str]]]:
    everyone = (
        _("🌐 All providers' enterprises")
        if contact.role == Role.COORDINATOR
        else _("🏭 All my enterprises")
    )
    return [
        [(everyone, AUDIENCE + "all")],
        [(_("📍 By province"), AUDIENCE + "prov"), (_("🏷 By sector"), AUDIENCE + "sec")],
        [(_("👔 Employers only"), AUDIENCE + "emp"), (_("👷 Workers only"), AUDIENCE + "wrk")],
        [(_("📭 No report yet in an area"), AUDIENCE + "area")],
    ]


async def ask_audience(update: Update, context: ContextTypes.DEFAULT_TYPE, contact: Contact) -> str:
    assert update.effective_chat is not None
    _ = tr(update, context)
    await context.bot.send_message(
        update.effective_chat.id,
        _("Who should receive it?"),
        reply_markup=inline(audience_buttons(_, contact)),
    )
    return CHOOSE


async def audience_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    contact = sender(update, context)
    if contact is None:
        return await refuse(update, context)
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    language = language_of(update, context)
    choice = (query.data or "").removeprefix(AUDIENCE)
    if choice == "all":
        return await preview(update, context, contact, audiences.Audience())
    if choice == "emp":
        return await preview(update, context, contact, audiences.Audience(roles=(Role.EMPLOYER,)))
    if choice == "wrk":
        return await preview(update, context, contact, audiences.Audience(roles=(Role.WORKER,)))
    with runtime(context).database.session() as session:
        provinces, sectors = broadcasts.scope_choices(session, contact)
    if choice == "prov":
        buttons = [
            (found.name(language), PROVINCE + code)
            for code in provinces
            if (found := content.province(code)) is not None
        ]
        text = _("Which province?")
    elif choice == "sec":
        buttons = [
            (found.label(language), SECTOR + code)
            for code in sectors
            if (found := content.sector(code)) is not None
        ]
        text = _("Which sector?")
    elif choice == "area":
        buttons = [(area.label(language), AREA + area.code) for area in content.areas()]
        text = _("Enterprises that have reported nothing yet in which technical area?")
    else:
        await query.answer(_("This button is no longer active."))
        return CHOOSE
    await query.answer()
    if not buttons:
        await query.edit_message_text(
            _("You have no enterprises yet."), reply_markup=inline(audience_buttons(_, contact))
        )
        return CHOOSE
    await query.edit_message_text(text, reply_markup=inline(grid(buttons, 2)))
    return CHOOSE


async def filter_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    contact = sender(update, context)
    if contact is None:
        return await refuse(update, context)
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    data = query.data or ""
    if data.startswith(PROVINCE) and content.province(data.removeprefix(PROVINCE)):
        chosen = audiences.Audience(provinces=(data.removeprefix(PROVINCE),))
    elif data.startswith(SECTOR) and content.sector(data.removeprefix(SECTOR)):
        chosen = audiences.Audience(sectors=(data.removeprefix(SECTOR),))
    elif data.startswith(AREA) and content.area(data.removeprefix(AREA)):
        chosen = audiences.Audience(no_reports_in_area=data.removeprefix(AREA))
    else:
        await query.answer(_("This button is no longer active."))
        return CHOOSE
    return await preview(update, context, contact, chosen)


def describe(_: Translate, chosen: audiences.Audience, contact: Contact, language: str) -> str:
    parts = [
        _("all providers")
        if contact.role == Role.COORDINATOR and chosen.provider_id is None
        else _("your enterprises")
    ]
    if chosen.provinces:
        names = [p.name(language) for code in chosen.provinces if (p := content.province(code))]
        parts.append(_("in {where}", where=", ".join(names)))
    if chosen.sectors:
        names = [s.name(language) for code in chosen.sectors if (s := content.sector(code))]
        parts.append(_("sector: {sector}", sector=", ".join(names)))
    if chosen.no_reports_in_area:
        area = content.area(chosen.no_reports_in_area)
        parts.append(_("with no report yet in {area}", area=area.name(language) if area else ""))
    if tuple(chosen.roles) == (Role.EMPLOYER,):
        parts.append(_("employers only"))
    elif tuple(chosen.roles) == (Role.WORKER,):
        parts.append(_("workers only"))
    else:
        parts.append(_("employers and workers"))
    return ", ".join(parts)


async def preview(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    contact: Contact,
    chosen: audiences.Audience,
) -> str | int:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    _ = tr(update, context)
    language = language_of(update, context)
    broadcast_id = user_data(context).get(DRAFT)
    if broadcast_id is None:
        await query.answer(_("This button is no longer active."))
        return ConversationHandler.END
    try:
        with runtime(context).database.session() as session:
            number = broadcasts.set_audience(
                session, broadcast_id=broadcast_id, author=contact, audience=chosen
            )
            stored = session.get(Broadcast, broadcast_id)
            scoped = broadcasts.audience_of(stored) if stored else None
    except ProgrammeError as error:
        await query.answer(error_text(_, error, language), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    who = describe(_, scoped or chosen, contact, language)
    change = (_("🎯 Change audience"), CHANGE)
    drop = (_("✖ Cancel"), DROP)
    if number == 0:
        await query.edit_message_text(
            _("Nobody matches: {who}. Please choose another audience.", who=who),
            reply_markup=inline([[change, drop]]),
        )
        return PREVIEW
    await query.edit_message_text(
        _(
            "<b>Ready to send</b> to <b>{count}</b> recipients ({who}). People who opted out or "
            "cannot be reached are not counted.",
            count=format_number(number, language),
            who=who,
        ),
        reply_markup=inline(
            [
                [
                    (
                        _("✅ Send to {count}", count=format_number(number, language)),
                        f"{SEND}{broadcast_id}",
                    )
                ],
                [change, drop],
            ]
        ),
    )
    return PREVIEW


# -- 3. confirm ------------------------------------------------------------------------------


async def send_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    """Confirm: queue everyone, then this message shows the progress. Pressing it again (or an
    old copy after a restart) queues nobody twice."""
    contact = sender(update, context)
    if contact is None:
        return await refuse(update, context)
    query = update.callback_query
    assert query is not None and query.message is not None
    _ = tr(update, context)
    language = language_of(update, context)
    raw = (query.data or "").removeprefix(SEND)
    if not raw.isdigit():
        await query.answer(_("This button is no longer active."))
        return ConversationHandler.END
    rt = runtime(context)
    try:
        with rt.database.session() as session:
            broadcast = broadcasts.own_draft(session, int(raw), contact)
            if broadcast.status != broadcasts.Status.DRAFT:
                await query.answer(_("This broadcast is already on its way."), show_alert=True)
                return ConversationHandler.END
            entry = (
                goodpractice.entry(
                    session, broadcast.improvement_id, media_root=rt.settings.media_dir
                )
                if broadcast.improvement_id
                else None
            )
            if broadcast.improvement_id and entry is None:
                raise ProgrammeError("not_in_library")
            render = renderer(entry, broadcast.text, broadcast.photo_path)
            total = broadcasts.confirm(
                session, broadcast_id=int(raw), author=contact, render=render, now=rt.now()
            )
            broadcasts.set_progress_message(
                session,
                broadcast_id=int(raw),
                chat_id=query.message.chat.id,
                message_id=query.message.message_id,
            )
    except ProgrammeError as error:
        await query.answer(error_text(_, error, language), show_alert=True)
        return ConversationHandler.END
    user_data(context).pop(DRAFT, None)
    await query.answer(_("Queued."))
    shown = broadcasts.Progress(total=total, sent=0, failed=0, skipped=0, pending=total)
    await query.edit_message_text(progress_text(translator(language), shown, language))
    return ConversationHandler.END


async def change_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    contact = sender(update, context)
    if contact is None:
        return await refuse(update, context)
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    await query.answer()
    await query.edit_message_text(
        _("Who should receive it?"), reply_markup=inline(audience_buttons(_, contact))
    )
    return CHOOSE


async def drop_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    contact = sender(update, context)
    broadcast_id = user_data(context).pop(DRAFT, None)
    if contact is not None and broadcast_id is not None:
        with runtime(context).database.session() as session:
            broadcasts.cancel(session, broadcast_id=broadcast_id, author=contact)
    await query.answer()
    await query.edit_message_text(_("Cancelled: nothing was sent."))
    return ConversationHandler.END


async def stale_send(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send pressed outside the conversation: twice, or on an old preview after a restart."""
    contact = sender(update, context)
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    raw = (query.data or "").removeprefix(SEND)
    if contact is None or not raw.isdigit():
        await query.answer(_("This button is no longer active."))
        return
    with runtime(context).database.session() as session:
        try:
            broadcast = broadcasts.own_draft(session, int(raw), contact)
        except ProgrammeError:
            await query.answer(_("This button is no longer active."))
            return
        status = broadcast.status
    if status == broadcasts.Status.DRAFT:
        # An unconfirmed draft whose conversation was lost: confirm it now.
        user_data(context)[DRAFT] = int(raw)
        await send_pressed(update, context)
        return
    await query.answer(_("This broadcast is already on its way."), show_alert=True)


async def choose_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(
        _("Please choose with the buttons above, or /cancel.")
    )
    return CHOOSE


async def preview_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(
        _("Please press ✅ Send, change the audience, or /cancel.")
    )
    return PREVIEW


# -- 4. progress -----------------------------------------------------------------------------


def bar(fraction: float) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * BAR)
    return "▓" * filled + "░" * (BAR - filled) + f" {round(fraction * 100)}%"


def progress_text(_: Translate, shown: broadcasts.Progress, language: str) -> str:
    def n(value: int) -> str:
        return format_number(value, language)

    if shown.finished:
        return _(
            "✅ <b>Broadcast finished</b> — {total} recipients\n"
            "Delivered: {sent}\nFailed: {failed}\n"
            "Skipped (opted out or unreachable): {skipped}",
            total=n(shown.total),
            sent=n(shown.sent),
            failed=n(shown.failed),
            skipped=n(shown.skipped),
        )
    return _(
        "📣 <b>Sending</b> to {total} recipients\n{bar}\n"
        "Sent: {sent} · Failed: {failed} · Skipped: {skipped} · Waiting: {pending}",
        total=n(shown.total),
        bar=bar(shown.fraction()),
        sent=n(shown.sent),
        failed=n(shown.failed),
        skipped=n(shown.skipped),
        pending=n(shown.pending),
    )


async def refresh_progress(bot: Bot, database: Database, *, now: datetime) -> int:
    """Edits each sending broadcast's progress message when its counts changed, and marks the
    broadcast done (with the final report) when nothing is left to send. Returns the edits."""
    edits = 0
    with database.session() as session:
        active = broadcasts.sending(session)
        authors = {
            b.id: session.get(Contact, b.created_by_id) if b.created_by_id else None for b in active
        }
        counts = {b.id: broadcasts.progress(session, b.id) for b in active}  # type: ignore[arg-type]
    for broadcast in active:
        assert broadcast.id is not None
        shown = counts[broadcast.id]
        if shown.signature() == broadcast.progress_shown and not shown.finished:
            continue
        author = authors[broadcast.id]
        if broadcast.progress_message_id and broadcast.progress_chat_id and author is not None:
            language = author.language
            try:
                await bot.edit_message_text(
                    progress_text(translator(language), shown, language),
                    chat_id=broadcast.progress_chat_id,
                    message_id=broadcast.progress_message_id,
                )
                edits += 1
            except RetryAfter:
                continue  # the next round shows it
            except BadRequest as error:
                if "not modified" not in str(error).lower():
                    log.warning("progress of broadcast %s not shown: %s", broadcast.id, error)
            except TelegramError as error:
                log.warning("progress of broadcast %s not shown: %s", broadcast.id, error)
                continue
        with database.session() as session:
            broadcasts.record_shown(session, broadcast_id=broadcast.id, shown=shown, now=now)
    return edits


async def progress_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime(context)
    await refresh_progress(context.bot, rt.database, now=rt.now())


def schedule(application: Application) -> None:  # type: ignore[type-arg]
    """Progress edits every few seconds while the bot runs (tests call refresh_progress)."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            progress_job, interval=PROGRESS_EVERY, first=PROGRESS_EVERY, name="broadcast-progress"
        )


# -- wiring ----------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    menu_buttons = menu.any_button()
    typed = filters.TEXT & ~filters.COMMAND & ~menu_buttons
    other = ~filters.COMMAND & ~menu_buttons
    conversation = ConversationHandler(
        name="broadcast",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler("broadcast", start),
            MessageHandler(menu.button(menu.BROADCAST), start),
        ],
        states={
            COMPOSE: [
                MessageHandler(typed, composed_text),
                MessageHandler(filters.PHOTO, composed_photo),
                CallbackQueryHandler(pick, pattern=f"^{PICK}$"),
                CallbackQueryHandler(picked, pattern=f"^{PICKED}"),
                MessageHandler(other, compose_reprompt),
            ],
            CAPTION: [
                MessageHandler(typed, composed_text),
                MessageHandler(filters.PHOTO, composed_photo),
                MessageHandler(other, caption_reprompt),
            ],
            CHOOSE: [
                CallbackQueryHandler(audience_pressed, pattern=f"^{AUDIENCE}"),
                CallbackQueryHandler(filter_pressed, pattern=f"^({PROVINCE}|{SECTOR}|{AREA})"),
                CallbackQueryHandler(drop_pressed, pattern=f"^{DROP}$"),
                MessageHandler(other, choose_reprompt),
            ],
            PREVIEW: [
                CallbackQueryHandler(send_pressed, pattern=f"^{SEND}"),
                CallbackQueryHandler(change_pressed, pattern=f"^{CHANGE}$"),
                CallbackQueryHandler(drop_pressed, pattern=f"^{DROP}$"),
                MessageHandler(other, preview_reprompt),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )
    return [
        conversation,
        CallbackQueryHandler(stale_send, pattern=f"^{SEND}"),
    ]
