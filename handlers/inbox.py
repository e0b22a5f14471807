"""The direct line to the provider (models/inbox.py): what an employer or worker sends outside
any journey is offered to their provider after one question; staff list open threads with
/inbox, open one, answer it (their next text, photo or voice note) and close it.

Nothing is kept while the person's Yes or No waits: the question replies to their message, so
it survives a restart in Telegram itself; the staff's answer is a journey
(models/journeys/inbox.py), like review questions.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

from telegram import InputFile, Message
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.i18n import Translate, format_moment
from bot.runtime import runtime
from handlers.context import Ask, handler
from handlers.driver import fetch_upload, voice_seconds
from models import inbox
from models.inbox import CLOSE, DROP, SEND, SHOW, Content, Kind, error_text
from models.programme import ProgrammeError
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


def texts(_: Translate, error: ProgrammeError, language: str) -> str:
    return error_text(_, error)


# -- the person: "Send this to your provider?" -------------------------------------------------


def offers(ask: Ask) -> bool:
    """Whether what no journey took becomes an offer to the provider: text, a photo or a voice
    note from an employer or worker."""
    message = ask.message
    if message is None or not inbox.may_write(ask.person):
        return False
    if message.text is not None and message.text.startswith("/"):
        return False
    return bool(message.text or message.photo or message.voice)


def _offered(message: Message) -> tuple[Kind, str | None, int | None, int | None]:
    """What the person sent, as the inbox sees it: kind, words, size and length."""
    if message.photo:
        return Kind.PHOTO, message.caption, message.photo[-1].file_size, None
    if message.voice:
        voice = message.voice
        return Kind.VOICE, message.caption, voice.file_size, voice_seconds(voice.duration)
    return Kind.TEXT, message.text, None, None


@handler(texts=texts)
async def offer(ask: Ask) -> None:
    """Asks whether the message goes to the provider, keeping nothing: the question answers
    the message, and Telegram brings the message back with the pressed button. So a greeting
    costs no database work, and nothing is stored that the person did not agree to send."""
    _, message = ask._, ask.message
    assert message is not None
    kind, words, size, duration = _offered(message)
    try:
        inbox.check_offer(kind, words, size=size, duration=duration)
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    ours = str(message.message_id)
    await ask.reply(
        _("Send this to your OSH service provider? They will answer you here."),
        [[(_("✅ Yes, send it"), SEND + ours), (_("✖ No"), DROP + ours)]],
        reply_to_message_id=message.message_id,
    )


def _origin(message: Message) -> str:
    return f"tg:{message.chat_id}:{message.message_id}"


@handler(texts=texts)
async def send_pressed(ask: Ask) -> None:
    _, rt, contact = ask._, ask.runtime, ask.person
    assert ask.query is not None
    asked = ask.query.message
    # Telegram leaves the replied message out once the person deleted it, and gives no
    # message at all for a question older than 48 hours.
    theirs = asked.reply_to_message if isinstance(asked, Message) else None
    if theirs is None:
        await ask.refuse(ProgrammeError("gone"))
        return
    content: Content | None = None
    try:
        content = await receive(theirs, ask.context)

        def keep() -> tuple[bool, str]:
            assert content is not None
            with rt.database.session() as session:
                sent = inbox.send(session, contact, content, origin=_origin(theirs), now=ask.now)
                if sent is not None:
                    inbox.notify_staff(
                        session, *sent, media_root=rt.settings.media_dir, now=ask.now
                    )
                assert contact is not None
                return sent is not None, inbox.provider_name(session, contact) or "—"

        first, name = await asyncio.to_thread(keep)
    except ProgrammeError as error:
        forget_file(ask.context, content)
        await ask.refuse(error)
        return
    if not first:
        forget_file(ask.context, content)
    await ask.notice(_("Sent.") if first else _("This was sent already."))
    await ask.edit(
        _("📨 Sent to {provider}. Their answer will come to you here.", provider=esc(name))
    )


@handler()
async def drop_pressed(ask: Ask) -> None:
    _, rt = ask._, ask.runtime
    assert ask.query is not None
    asked = ask.query.message
    theirs = asked.reply_to_message if isinstance(asked, Message) else None
    if theirs is not None:
        origin = _origin(theirs)

        def sent() -> bool:
            with rt.database.session() as session:
                return inbox.was_sent(session, origin)

        if await asyncio.to_thread(sent):
            await ask.notice(_("This was sent already."), alert=True)
            return
    await ask.notice()
    await ask.edit(_("Not sent. Choose from the menu below, or send /help."))


# -- staff: /inbox -----------------------------------------------------------------------------


@handler(*STAFF_ROLES, refusal="inbox_staff_only")
async def inbox_command(ask: Ask) -> None:
    _, rt, language = ask._, ask.runtime, ask.language
    lines: list[str] = []
    buttons: list[list[tuple[str, str]]] = []
    with rt.database.session() as session:
        listed = inbox.open_threads(session, ask.person)
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
        buttons.append([(f"#{item.thread.id} {item.enterprise}"[:60], f"{SHOW}{item.thread.id}")])
    if not listed:
        await ask.reply(_("📭 No open threads. Messages from your enterprises come here."))
        return
    head = _("<b>📬 Open threads: {count}</b>", count=len(listed))
    await ask.reply(truncate_html(head + "\n\n" + "\n".join(lines), 4000), buttons)


@handler(texts=texts)
async def show_pressed(ask: Ask) -> None:
    _, rt, staff = ask._, ask.runtime, ask.person
    thread_id = parse_id(ask.data, SHOW)
    try:
        if thread_id is None:
            raise ProgrammeError("stale")
        with rt.database.session() as session:
            thread = inbox.thread_for(session, thread_id, staff)
            assert staff is not None
            shown = inbox.latest(session, thread.id)  # type: ignore[arg-type]
            text = inbox.thread_text(_, session, thread, shown, staff.language, rt.settings.tz)
            buttons = inbox.staff_buttons(_, thread)
            media_files = [
                (message.kind, rt.settings.media_dir / message.file_path)
                for message in shown
                if message.incoming and message.file_path
            ]
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    await ask.notice()
    await ask.send(text, buttons or None)
    # The person's photos and voice notes, as they sent them.
    bot = ask.context.bot
    for kind, path in media_files:
        send = bot.send_photo if kind == Kind.PHOTO else bot.send_voice
        await _send_file(functools.partial(send, ask.chat_id), path)


async def _send_file(send, path: Path) -> None:  # type: ignore[no-untyped-def]
    try:
        data = path.read_bytes()
    except OSError as error:
        log.warning("inbox file %s left out: %s", path, error)
        return
    await send(InputFile(data, filename=path.name))


@handler(texts=texts)
async def close_pressed(ask: Ask) -> None:
    _ = ask._
    thread_id = parse_id(ask.data, CLOSE)
    try:
        if thread_id is None:
            raise ProgrammeError("stale")
        with ask.runtime.database.session() as session:
            closed = inbox.close(session, thread_id, ask.person, now=ask.now)
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    if not closed:
        await ask.notice(_("This thread was closed already."), alert=True)
        return
    await ask.notice(_("Closed."))
    assert ask.query is not None
    await ask.query.edit_message_reply_markup(None)
    await ask.send(_("✔ Thread #{id} is closed.", id=thread_id))


# -- wiring ------------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("inbox", inbox_command),
        CallbackQueryHandler(send_pressed, pattern=f"^{SEND}"),
        CallbackQueryHandler(drop_pressed, pattern=f"^{DROP}"),
        CallbackQueryHandler(show_pressed, pattern=f"^{SHOW}"),
        CallbackQueryHandler(close_pressed, pattern=f"^{CLOSE}"),
    ]
