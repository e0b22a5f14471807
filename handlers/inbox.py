"""The direct line to the provider (models/inbox.py): what an employer or worker sends outside
any journey is offered to their provider after one question; staff list open threads with
/inbox, open one, answer it (their next text, photo or voice note) and close it.

The message waiting for the person's Yes or No is a database row, so the question survives a
restart; the staff's wait for an answer is a persistent conversation, like review questions.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from pathlib import Path

from telegram import InputFile, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, format_moment
from bot.render import acknowledge, inline
from bot.runtime import current_contact, runtime, tr, user_data
from handlers import menu
from models import improvements as imp
from models import inbox, media
from models.files import write_private
from models.inbox import ANSWER, CLOSE, DROP, SEND, SHOW, Content, Kind
from models.programme import ProgrammeError, contact_by_user
from models.tables import Enterprise, Role
from models.text import esc, truncate_html

log = logging.getLogger(__name__)

ANSWERING = "inbox.answering"
ANSWER_KEY = "inbox_answer"
STAFF_ROLES = (Role.STAFF, Role.COORDINATOR)


def error_text(_: Translate, error: ProgrammeError) -> str:
    code = error.code
    if code == "text_too_long":
        return _(
            "That is too long: {length} characters, at most {limit} fit. Please shorten it and "
            "send it again.",
            length=error.details.get("length"),
            limit=error.details.get("limit"),
        )
    if code in ("text_empty", "text_too_short"):
        return _("Please type a few words.")
    if code == "photo_too_big":
        return _("This photo is too large. Please send a smaller one.")
    if code == "photo_type":
        return _("I could not read this photo. Please send it again as a photo.")
    if code == "voice_too_big":
        return _("This voice note is too large. Please record a shorter one.")
    if code == "voice_too_long":
        return _(
            "This voice note is too long: at most {minutes} minutes fit. Please record a "
            "shorter one.",
            minutes=error.details.get("limit"),
        )
    if code == "download":
        return _("I could not receive this file. Please send it again.")
    if code == "closed":
        return _("This thread is closed.")
    if code == "person_gone":
        return _("This person can no longer be reached through the bot.")
    if code == "not_allowed":
        return _("Sorry, only the staff of this enterprise's provider can see this.")
    return _("This button is no longer active.")


async def _download(context: ContextTypes.DEFAULT_TYPE, file_id: str) -> bytes:
    try:
        telegram_file = await context.bot.get_file(file_id)
        return bytes(await telegram_file.download_as_bytearray())
    except TelegramError as error:
        raise ProgrammeError("download") from error


async def receive(message: Message, context: ContextTypes.DEFAULT_TYPE) -> Content:
    """The text, photo (re-encoded and stored) or voice note (stored as it is) of a message."""
    media_root = runtime(context).settings.media_dir
    if message.photo:
        size = message.photo[-1]  # the largest
        imp.check_photo(file_size=size.file_size)
        data = await _download(context, size.file_id)
        imp.check_photo(file_size=len(data))
        # Decoded under a pixel limit and written anew: no bomb, no EXIF (GPS) kept.
        photo = await asyncio.to_thread(media.reencode, data)
        target = media.save(photo, media_root / "inbox" / uuid.uuid4().hex)
        relative = str(target.relative_to(media_root))
        return Content(Kind.PHOTO, message.caption, size.file_id, relative)
    if message.voice:
        voice = message.voice
        duration = seconds(voice.duration)
        inbox.check_voice(file_size=voice.file_size, duration=duration)
        data = await _download(context, voice.file_id)
        inbox.check_voice(file_size=len(data), duration=None)
        relative = f"inbox/{uuid.uuid4().hex}.oga"
        write_private(media_root / relative, data)
        return Content(Kind.VOICE, message.caption, voice.file_id, relative, duration)
    return Content(Kind.TEXT, message.text)


def seconds(value: object) -> int | None:
    """A voice note's length: PTB gives seconds today, a timedelta in its next major version."""
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value) if isinstance(value, int | float) else None


def forget_file(context: ContextTypes.DEFAULT_TYPE, content: Content | str | None) -> None:
    relative = content.file_path if isinstance(content, Content) else content
    if relative:
        (runtime(context).settings.media_dir / relative).unlink(missing_ok=True)


def parse_id(data: str | None, prefix: str) -> int | None:
    try:
        return int((data or "").removeprefix(prefix))
    except ValueError:
        return None


# -- the person: "Send this to your provider?" -------------------------------------------------


def offers(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether what no journey took becomes an offer to the provider: text, a photo or a voice
    note from an employer or worker."""
    message = update.effective_message
    contact = current_contact(update, context)
    if message is None or not inbox.may_write(contact):
        return False
    if message.text is not None and message.text.startswith("/"):
        return False
    return bool(message.text or message.photo or message.voice)


async def offer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    content: Content | None = None
    try:
        content = await receive(message, context)
        with rt.database.session() as session:
            contact = contact_by_user(session, update.effective_user.id)
            if contact is None:
                raise ProgrammeError("not_allowed")
            waiting = inbox.draft(session, contact, content, now=rt.now())
            provider = inbox.provider_of(session, contact)
            waiting_id = waiting.id
            name = provider.name if provider is not None else "—"
    except ProgrammeError as error:
        forget_file(context, content)
        await message.reply_text(error_text(_, error))
        return
    await message.reply_text(
        _(
            "Send this to your OSH service provider, {provider}? They will answer you here.",
            provider=esc(name),
        ),
        reply_markup=inline(
            [[(_("✅ Yes, send it"), f"{SEND}{waiting_id}"), (_("✖ No"), f"{DROP}{waiting_id}")]]
        ),
        reply_to_message_id=message.message_id,
    )


async def send_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    message_id = parse_id(query.data, SEND)
    with rt.database.session() as session:
        contact = contact_by_user(session, update.effective_user.id)
        try:
            if message_id is None:
                raise ProgrammeError("stale")
            thread, sent = inbox.confirm(session, message_id, contact, now=rt.now())
        except ProgrammeError:
            await acknowledge(query, _("This button is no longer active."), show_alert=True)
            return
        inbox.notify_staff(session, thread, sent, media_root=rt.settings.media_dir, now=rt.now())
        provider = inbox.provider_of(session, contact) if contact is not None else None
        name = provider.name if provider is not None else "—"
    await acknowledge(query, _("Sent."))
    await query.edit_message_text(
        _(
            "📨 Sent to {provider}. Their answer will come to you here.",
            provider=esc(name),
        )
    )


async def drop_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    message_id = parse_id(query.data, DROP)
    with rt.database.session() as session:
        contact = contact_by_user(session, update.effective_user.id)
        try:
            if message_id is None:
                raise ProgrammeError("stale")
            path = inbox.discard(session, message_id, contact)
        except ProgrammeError:
            await acknowledge(query, _("This button is no longer active."), show_alert=True)
            return
    forget_file(context, path)
    await acknowledge(query)
    await query.edit_message_text(
        _("Not sent. Choose from the menu below, or send /help."),
    )


# -- staff: /inbox -----------------------------------------------------------------------------


async def inbox_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    rt = runtime(context)
    contact = current_contact(update, context)
    with rt.database.session() as session:
        try:
            listed = inbox.open_threads(session, contact)
        except ProgrammeError:
            await message.reply_text(
                _("Sorry, the inbox is for the staff of OSH service providers.")
            )
            return
        assert contact is not None
        language = contact.language
        lines: list[str] = []
        buttons: list[list[tuple[str, str]]] = []
        for item in listed:
            lines.append(
                _(
                    "#{id} {who} — messages: {count}, the latest {moment}",
                    id=item.thread.id,
                    who=inbox.who_text(_, item.who, item.enterprise),
                    count=item.messages,
                    moment=format_moment(item.thread.last_message_at, language, rt.settings.tz),
                )
            )
            buttons.append(
                [(f"#{item.thread.id} {item.enterprise}"[:60], f"{SHOW}{item.thread.id}")]
            )
    if not listed:
        await message.reply_text(_("📭 No open threads. Messages from your enterprises come here."))
        return
    head = _("<b>📬 Open threads: {count}</b>", count=len(listed))
    text = truncate_html(head + "\n\n" + "\n".join(lines), 4000)
    await message.reply_text(text, reply_markup=inline(buttons))


async def show_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None and query.message is not None
    _ = tr(update, context)
    rt = runtime(context)
    thread_id = parse_id(query.data, SHOW)
    with rt.database.session() as session:
        staff = contact_by_user(session, update.effective_user.id)
        try:
            if thread_id is None:
                raise ProgrammeError("stale")
            thread = inbox.thread_for(session, thread_id, staff)
        except ProgrammeError as error:
            await acknowledge(query, error_text(_, error), show_alert=True)
            return
        assert staff is not None
        shown = inbox.latest(session, thread.id)  # type: ignore[arg-type]
        text = inbox.thread_text(_, session, thread, shown, staff.language, rt.settings.tz)
        buttons = inbox.staff_buttons(_, thread)
        media_files = [
            (message.kind, rt.settings.media_dir / message.file_path)
            for message in shown
            if message.incoming and message.file_path
        ]
    await acknowledge(query)
    chat = query.message.chat
    await chat.send_message(text, reply_markup=inline(buttons) if buttons else None)
    # The person's photos and voice notes, as they sent them.
    for kind, path in media_files:
        await _send_file(chat.send_photo if kind == Kind.PHOTO else chat.send_voice, path)


async def _send_file(send, path: Path) -> None:  # type: ignore[no-untyped-def]
    try:
        data = path.read_bytes()
    except OSError as error:
        log.warning("inbox file %s left out: %s", path, error)
        return
    await send(InputFile(data, filename=path.name))


async def close_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None and query.message is not None
    _ = tr(update, context)
    rt = runtime(context)
    thread_id = parse_id(query.data, CLOSE)
    with rt.database.session() as session:
        staff = contact_by_user(session, update.effective_user.id)
        try:
            if thread_id is None:
                raise ProgrammeError("stale")
            closed = inbox.close(session, thread_id, staff, now=rt.now())
        except ProgrammeError as error:
            await acknowledge(query, error_text(_, error), show_alert=True)
            return
    if not closed:
        await acknowledge(query, _("This thread was closed already."), show_alert=True)
        return
    await acknowledge(query, _("Closed."))
    await query.edit_message_reply_markup(None)
    await query.message.chat.send_message(_("✔ Thread #{id} is closed.", id=thread_id))


# -- staff: the answer -------------------------------------------------------------------------


async def answer_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None and update.effective_user is not None and query.message is not None
    _ = tr(update, context)
    thread_id = parse_id(query.data, ANSWER)
    with runtime(context).database.session() as session:
        staff = contact_by_user(session, update.effective_user.id)
        try:
            if thread_id is None:
                raise ProgrammeError("stale")
            thread = inbox.thread_for(session, thread_id, staff)
            if thread.status != inbox.OPEN:
                raise ProgrammeError("closed")
        except ProgrammeError as error:
            await acknowledge(query, error_text(_, error), show_alert=True)
            return ConversationHandler.END
        enterprise = session.get(Enterprise, thread.enterprise_id)
        name = enterprise.name if enterprise else "—"
    user_data(context)[ANSWER_KEY] = thread_id
    await acknowledge(query)
    await query.message.chat.send_message(
        _(
            "Please send your answer to thread #{id} ({enterprise}): text, a photo or a voice "
            "note. I will pass it on. (/cancel to stop)",
            id=thread_id,
            enterprise=esc(name),
        )
    )
    return ANSWERING


async def answer_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    thread_id = user_data(context).get(ANSWER_KEY)
    if thread_id is None:
        return ConversationHandler.END
    content: Content | None = None
    try:
        content = await receive(message, context)
        with rt.database.session() as session:
            staff = contact_by_user(session, update.effective_user.id)
            thread, sent = inbox.answer(session, thread_id, staff, content, now=rt.now())
            inbox.relay_answer(
                session, thread, sent, media_root=rt.settings.media_dir, now=rt.now()
            )
    except ProgrammeError as error:
        forget_file(context, content)
        await message.reply_text(error_text(_, error))
        if error.code in ("closed", "person_gone", "not_allowed", "stale"):
            user_data(context).pop(ANSWER_KEY, None)
            return ConversationHandler.END
        return ANSWERING
    user_data(context).pop(ANSWER_KEY, None)
    await message.reply_text(
        _("Sent. Close thread #{id} when nothing more is needed.", id=thread_id),
        reply_markup=inline([[(_("✔ Close"), f"{CLOSE}{thread_id}")]]),
    )
    return ConversationHandler.END


# -- wiring ------------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    # Imported here: handlers/common.py offers unclaimed messages to this module.
    from handlers.common import cancel, run_next

    not_command = ~filters.COMMAND & ~menu.any_button()
    usable = not_command & (filters.TEXT | filters.PHOTO | filters.VOICE)
    other = not_command & ~(filters.TEXT | filters.PHOTO | filters.VOICE)

    async def reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        assert update.effective_message is not None
        _ = tr(update, context)
        await update.effective_message.reply_text(
            _("Please send your answer as text, a photo or a voice note.")
        )
        return ANSWERING

    async def interrupted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """A command or menu button while an answer is awaited: nothing is sent, and the
        command runs."""
        assert update.effective_message is not None
        user_data(context).pop(ANSWER_KEY, None)
        await update.effective_message.reply_text(tr(update, context)("I did not send anything."))
        run_next(context)
        return ConversationHandler.END

    async def cancelled(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        user_data(context).pop(ANSWER_KEY, None)
        return await cancel(update, context)

    answering = ConversationHandler(
        name="inbox.answer",
        persistent=True,
        allow_reentry=True,
        entry_points=[CallbackQueryHandler(answer_start, pattern=f"^{ANSWER}")],
        states={
            ANSWERING: [
                MessageHandler(usable, answer_received),
                MessageHandler(other, reprompt),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancelled),
            MessageHandler(filters.COMMAND | menu.any_button(), interrupted),
        ],
    )
    return [
        answering,
        CommandHandler("inbox", inbox_command),
        CallbackQueryHandler(send_pressed, pattern=f"^{SEND}"),
        CallbackQueryHandler(drop_pressed, pattern=f"^{DROP}"),
        CallbackQueryHandler(show_pressed, pattern=f"^{SHOW}"),
        CallbackQueryHandler(close_pressed, pattern=f"^{CLOSE}"),
    ]
