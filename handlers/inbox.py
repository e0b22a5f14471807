"""The direct line to the provider (models/inbox.py): what an employer or worker sends outside
any journey is offered to their provider after one question; staff list open threads with
/inbox, open one, answer it (their next text, photo or voice note) and close it.

The message waiting for the person's Yes or No is a database row, so the question survives a
restart; the staff's answer is a journey (models/journeys/inbox.py), like review questions.
"""

from __future__ import annotations

import logging
from pathlib import Path

from telegram import InputFile, Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.i18n import format_moment
from bot.render import acknowledge, inline
from bot.runtime import current_contact, runtime, tr
from handlers.driver import fetch_upload
from models import inbox
from models.inbox import CLOSE, DROP, SEND, SHOW, Content, Kind, error_text
from models.programme import ProgrammeError, contact_by_user
from models.tables import Role
from models.text import esc, truncate_html

log = logging.getLogger(__name__)

ANSWERING = "inbox.answering"
ANSWER_KEY = "inbox_answer"
STAFF_ROLES = (Role.STAFF, Role.COORDINATOR)


async def receive(message: Message, context: ContextTypes.DEFAULT_TYPE) -> Content:
    """The text, photo (re-encoded and stored) or voice note (stored as it is) of a message."""
    upload = await fetch_upload(message, context) if message.photo or message.voice else None
    return inbox.content_of(message.text, upload, runtime(context).settings.media_dir)


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


# -- wiring ------------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("inbox", inbox_command),
        CallbackQueryHandler(send_pressed, pattern=f"^{SEND}"),
        CallbackQueryHandler(drop_pressed, pattern=f"^{DROP}"),
        CallbackQueryHandler(show_pressed, pattern=f"^{SHOW}"),
        CallbackQueryHandler(close_pressed, pattern=f"^{CLOSE}"),
    ]
