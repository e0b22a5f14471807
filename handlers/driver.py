"""The Telegram driver of the journeys (models/journeys/): Telegram updates become journey
inputs, journey outcomes become messages, inline keyboards, edits and button answers.

It runs before the plain commands and buttons (handlers/__init__.py): a journey's command or
action brings it in front, pausing the journey there (models/journeys/engine.py says how);
/help, /language and /stop, and a journey's own `keeps`, are answered beside it; any other
command the bot knows sets the journey in front aside, saying so, and then runs. The database
transaction that moves the person commits before any Telegram call; slow work an input needs
(a report rendered) is done before that transaction begins (engine.prepare).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session
from telegram import InputFile, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    ContextTypes,
    TypeHandler,
)

from bot.render import acknowledge, inline
from bot.runtime import current_contact, foreground_journey, language_of, runtime
from handlers import menu
from models import menus
from models.journeys import engine, registry  # noqa: F401  (registers every journey)
from models.journeys.core import (
    Input,
    Outcome,
    Place,
    Prepared,
    Profile,
    Reply,
    Rows,
    Upload,
)
from models.journeys.state import telegram_person
from models.programme import deep_link
from models.tables import Contact
from scheduler.config import SchedulerConfig

_COMMAND = re.compile(r"^/([A-Za-z0-9_]+)(?:@\w+)?(?:\s|$)")
MENU_COMMANDS = menus.label_commands()


def to_input(update: Update) -> Input | None:
    query = update.callback_query
    if query is not None:
        where = query.message.message_id if query.message is not None else None
        return Input(payload=query.data or "", message=where)
    message = update.message
    if message is None:
        return None
    if message.text is not None:
        found = _COMMAND.match(message.text)
        if found:
            return Input(command=found.group(1).lower(), text=message.text)
        if message.text in MENU_COMMANDS:
            return Input(command=MENU_COMMANDS[message.text], text=message.text)
        return Input(text=message.text)
    if message.location is not None:
        return Input(
            other="location", location=(message.location.latitude, message.location.longitude)
        )
    kind = next(
        (
            k
            for k in ("photo", "voice", "video", "document", "sticker", "location")
            if getattr(message, k)
        ),
        "other",
    )
    return Input(other=kind)


async def drive(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The journeys' turn at an update; stops every later handler when a journey took it."""
    if await offer(update, context):
        raise ApplicationHandlerStop


async def offer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Gives the update to the journeys; True when one of them answered it."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != "private":
        return False
    given = to_input(update)
    if given is None:
        return False
    decision = engine.route(given, foreground_journey(update, context))
    if decision == engine.ASIDE:
        await _step_aside(update, context)
    if decision != engine.RUN:
        return False
    if given.other in ("photo", "document", "voice"):
        given = await with_upload(update, context, given)
    return await _run(update, context, given)


# The largest file fetched: what a bot may download from Telegram. Journeys refuse larger
# ones, and smaller ones over their own limits, by the size the channel gives.
FETCH_MAX_BYTES = 20 * 1024 * 1024


async def fetch_upload(message: Message, context: ContextTypes.DEFAULT_TYPE) -> Upload | None:
    """A photo, file or voice note, fetched from Telegram (Telegram lists a photo's sizes
    smallest first); None for anything else."""
    if message.photo:
        size = message.photo[-1]
        kind, file_id, unique, file_size, mime = (
            "photo", size.file_id, size.file_unique_id, size.file_size, "image/jpeg",
        )  # fmt: skip
        duration = None
    elif message.document or message.voice:
        item = message.document or message.voice
        assert item is not None
        kind = "document" if message.document else "voice"
        file_id, unique, file_size = item.file_id, item.file_unique_id, item.file_size
        mime = item.mime_type or "application/octet-stream"
        duration = voice_seconds(message.voice.duration) if message.voice else None
    else:
        return None
    data = None
    if file_size is None or file_size <= FETCH_MAX_BYTES:
        try:
            data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
        except TelegramError:
            data = None
    return Upload(kind, file_size, mime, file_id, unique, data, message.caption, duration)


def voice_seconds(value: object) -> int | None:
    """A voice note's length: PTB gives seconds today, a timedelta in its next major version."""
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value) if isinstance(value, int | float) else None


async def with_upload(update: Update, context: ContextTypes.DEFAULT_TYPE, given: Input) -> Input:
    assert update.message is not None
    return Input(other=given.other, upload=await fetch_upload(update.message, context))


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE, given: Input) -> bool:
    """An input that another handler made out of the update (a typed invite code): the
    journeys take it as any other; True when one of them answered it."""
    return await _run(update, context, given)


async def _engine(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    call: Callable[[Session, str, Contact | None, str, datetime], Outcome | None],
) -> Outcome | None:
    """`call(session, person, contact, language, now)` in a transaction of its own, on a worker
    thread: committed before anything is sent, and off the event loop."""
    rt = runtime(context)
    contact = current_contact(update, context)
    language = language_of(update, context)
    assert update.effective_user is not None
    person = telegram_person(update.effective_user.id)

    def work() -> Outcome | None:
        with rt.database.session() as session:
            return call(session, person, contact, language, rt.now())

    return await asyncio.to_thread(work)


async def _prepare(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    given: Input,
    here: Place,
    profile: Profile,
) -> Prepared | None:
    """The slow work an input needs (a report to render), on a worker thread before the
    input's transaction, so that no other writer waits for it (engine.prepare); None for
    almost every input, without a thread."""
    if not engine.prepares(given):
        return None
    rt = runtime(context)
    contact = current_contact(update, context)
    language = language_of(update, context)
    assert update.effective_user is not None
    person = telegram_person(update.effective_user.id)
    return await asyncio.to_thread(
        lambda: engine.prepare(
            rt.database.reading, person=person, contact=contact, language=language,
            now=rt.now(), given=given, place=here, profile=profile,
        )
    )  # fmt: skip


async def _run(update: Update, context: ContextTypes.DEFAULT_TYPE, given: Input) -> bool:
    user = update.effective_user
    assert user is not None
    profile = Profile(name=user.full_name, handle=user.username)
    here = place(context)
    prepared = await _prepare(update, context, given, here, profile)
    try:
        outcome = await _engine(
            update,
            context,
            lambda session, person, contact, language, now: engine.run(
                session, person=person, contact=contact, language=language, now=now,
                given=given, place=here, profile=profile, prepared=prepared,
            ),
        )  # fmt: skip
    finally:
        if prepared is not None:
            await asyncio.to_thread(prepared.discard)
    if outcome is None:
        return False
    await show(update, context, outcome)
    return True


async def _step_aside(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    outcome = await _engine(update, context, lambda session, person, contact, language, now: (
        engine.step_aside(session, person=person, contact=contact, language=language, now=now)
    ))  # fmt: skip
    if outcome is not None:
        await show(update, context, outcome, answer_button=False)


def place(context: ContextTypes.DEFAULT_TYPE) -> Place:
    rt = runtime(context)
    username = rt.bot_username or context.bot.username
    return Place(
        schedule=SchedulerConfig.from_settings(rt.settings),
        invite_days=rt.settings.invite_days,
        invite_link=lambda code: deep_link(username, code),
        data_dir=rt.settings.data_dir,
        controller_contact=rt.settings.controller_contact,
        zalo_chat_url=rt.settings.zalo_chat_url,
        sending=rt.settings.sending_channels,
    )


def _markup(actions: Rows):  # type: ignore[no-untyped-def]
    return inline([[(a.label, a.payload) for a in row] for row in actions]) if actions else None


async def show(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    outcome: Outcome,
    *,
    answer_button: bool = True,
) -> None:
    chat = update.effective_chat
    assert chat is not None
    query = update.callback_query
    if query is not None and answer_button:
        await acknowledge(query, outcome.notice, show_alert=outcome.alert)
    if outcome.edit is not None and query is not None and isinstance(query.message, Message):
        markup = _markup(outcome.edit.actions)
        # The same press delivered twice leaves the message as it is: nothing to change.
        with contextlib.suppress(BadRequest):
            if outcome.edit_actions_only:
                await query.edit_message_reply_markup(markup)
            else:
                await query.edit_message_text(outcome.edit.text, reply_markup=markup)
    if outcome.retire_message is not None:
        # Already without buttons, or too old to edit: nothing to tidy.
        with contextlib.suppress(BadRequest):
            await context.bot.edit_message_reply_markup(chat.id, outcome.retire_message)
    last: Message | None = None
    for reply in outcome.replies:
        last = await send(update, context, reply)
    if outcome.in_front and outcome.replies:
        assert last is not None and update.effective_user is not None
        person = telegram_person(update.effective_user.id)
        spent = last.message_id if outcome.replies[-1].actions else None
        database = runtime(context).database

        def remember() -> None:
            with database.session() as session:
                engine.remember_buttons(session, person, spent)

        await asyncio.to_thread(remember)
    if outcome.menu_changed:
        # The journey has committed: the person is found again, as they are now.
        contact = current_contact(update, context)
        if contact is not None:
            await menu.set_role_commands(context.bot, chat.id, contact.role, contact.language)


async def send(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> Message:
    """One reply as a Telegram message: a photo with its caption, or text; its actions as an
    inline keyboard, or the person's menu when the reply brings it back."""
    chat = update.effective_chat
    assert chat is not None
    markup = _markup(reply.actions)
    contact = current_contact(update, context)
    if markup is None and reply.menu and contact is not None:
        markup = menu.keyboard(contact.role, contact.language)
    if reply.photo is not None:
        photo = InputFile(reply.photo, filename=reply.photo_name)
        return await context.bot.send_photo(chat.id, photo, caption=reply.text, reply_markup=markup)
    if reply.document is not None:
        document = InputFile(reply.document, filename=reply.document_name)
        return await context.bot.send_document(
            chat.id, document, caption=reply.text, reply_markup=markup
        )
    return await context.bot.send_message(chat.id, reply.text, reply_markup=markup)


def handler() -> TypeHandler:  # type: ignore[type-arg]
    return TypeHandler(Update, drive)
