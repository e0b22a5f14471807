"""The Zalo driver of the journeys (models/journeys/): Zalo updates become journey inputs,
journey outcomes become plain Zalo messages. It mirrors the Telegram driver (handlers/driver.py)
for a channel without buttons, edits, markup or file uploads:

* a choice is numbered lines with "Reply 1, 2 or 3" under them; the numbered actions are kept
  in the foreground journey's draft (engine.CHOICES), so that a restart or another process
  reads the same numbers; the answer is the number or the option's words;
* so are the buttons of the messages the outbox sends (bot/zalo/notices.py): with no journey
  in front, a reply answers the latest such message's numbers, as the button would;
* an edit is a new message; a toast is a message; text is plain and split at 2000 UTF-16 units;
* photos and files the bot sends are signed links under OSHBOT_PUBLIC_URL (models/links.py):
  a photo through sendPhoto, a file as a link in the text;
* photos people send arrive as URLs: fetched here, under the same limits as Telegram's.

Someone not registered who types an invite's short code registers through the onboarding
journey. Each person's updates are handled in order; different people's at once. The database
transaction that moves the person commits before anything is sent; slow work an input needs (a
report rendered) is done before that transaction begins (engine.prepare).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session

from bot.dashboard.auth import secret_of
from bot.i18n import normalise_language, translator
from bot.settings import Settings
from bot.zalo import commands, notices, render
from bot.zalo.client import ZaloClient
from bot.zalo.commands import NEEDS_FILES, help_text
from bot.zalo.errors import ZaloError, ZaloRateLimited, ZaloUnreachable
from bot.zalo.limits import MAX_CAPTION, MAX_PHOTO_BYTES, text_length
from bot.zalo.types import IMAGE, STICKER, TEXT, Message, Update
from models import links, media, menus
from models.db import Database
from models.files import write_private
from models.journeys import engine, link, registry  # noqa: F401  (registers every journey)
from models.journeys.core import (
    Action,
    Input,
    Outcome,
    Place,
    Prepared,
    Profile,
    Reply,
    Upload,
)
from models.journeys.onboarding import CODE_TYPED
from models.journeys.state import zalo_person
from models.programme import (
    deep_link,
    former_language,
    looks_like_short_code,
    mark_zalo_reachable,
    mark_zalo_unreachable,
)
from models.tables import Contact, utcnow
from scheduler.config import SchedulerConfig

log = logging.getLogger(__name__)

__all__ = ["ZaloDriver", "to_input"]

_COMMAND = re.compile(r"^/([A-Za-z0-9_]+)(?:\s+(.*))?$", re.DOTALL)
# The menu's words in every language, folded, and the command each stands for: typing
# "bao cao cai tien" is the "📝 Report an improvement" button of Telegram's keyboard.
MENU_WORDS = {render.fold(label): command for label, command in menus.label_commands().items()}
# The largest photo fetched, as for Telegram (handlers/driver.py): the report refuses larger
# ones by their size, and smaller ones over its own limit.
FETCH_MAX_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 30.0
POLL_TIMEOUT = 30
# After a failed poll (the network, the platform), the next one waits this long, doubling.
RETRY_PAUSE = (1.0, 30.0)
SEND_ATTEMPTS = 3  # a reply that Zalo rate-limits goes again, after the pacer's pause


def to_input(message: Message, event: str, choices: Sequence[Action] = ()) -> Input | None:
    """One Zalo message as a journey input: "/word" is a command; a numbered option answered
    (by number or words) is the action it stands for; the menu's words are commands too; an
    image is a photo (fetched later, by the driver); a sticker or anything else is named by its
    kind."""
    if event == TEXT:
        text = (message.text or "").strip()
        if not text:
            return Input(other="other")
        # Before the options: "/cancel" is the command even where an option says "Cancel".
        found = _COMMAND.match(text)
        if found:
            command, argument = found.group(1).lower(), (found.group(2) or "").strip()
            # Zalo has no deep links: "/start <short code>" is the code typed.
            if command == "start" and looks_like_short_code(argument):
                return Input(command=CODE_TYPED, text=argument)
            return Input(command=command, text=text)
        chosen = render.match(text, choices)
        if chosen is not None:
            return Input(payload=chosen.payload)
        command = MENU_WORDS.get(render.fold(text))
        if command is not None:
            return Input(command=command, text=text)
        return Input(text=text)
    if event == IMAGE:
        return Input(other="photo")
    if event == STICKER:
        return Input(other="sticker")
    return Input(other="other")


@dataclass
class _Who:
    contact: Contact | None
    journey: str | None
    language: str
    choices: list[Action]
    # The numbers of the outbox's latest message with buttons: answered while no journey is
    # in front (the journey's own come first).
    notices: list[Action] = field(default_factory=list)


@dataclass
class ZaloDriver:
    """Handles Zalo updates for one bot: from long polling (`poll`) or the web application's
    webhook (`dispatch`)."""

    client: ZaloClient
    database: Database
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    # Carries the photo downloads (the sandbox's transport in tests); None: the network.
    fetch_transport: httpx.AsyncBaseTransport | None = None
    # The Telegram bot's username, for the invite links a journey shows (staff making an
    # enterprise's links); without it the links show the code alone.
    telegram_username: str | None = None
    _locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- receiving ---------------------------------------------------------------------------

    async def dispatch(self, update: Update) -> None:
        """One update, after the same person's earlier ones (a lock per person, taken in the
        order the updates arrived); errors are logged and the person told."""
        message = update.message
        if message is None:
            return
        key = message.sender.id
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await self._handle_safely(update)
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def poll(self, stop: asyncio.Event | None = None, *, timeout: int = POLL_TIMEOUT) -> None:
        """Long polling until `stop` is set: the platform hands out one update per call. Each
        update is handled in a task of its own, in order for each person (`dispatch`)."""
        stop = stop or asyncio.Event()
        pause = RETRY_PAUSE[0]
        with contextlib.suppress(ZaloError):
            # getUpdates is refused while a webhook is set (an earlier `oshbot serve`).
            if (await self.client.get_webhook_info()).url:
                await self.client.delete_webhook()
        while not stop.is_set():
            waiting = asyncio.ensure_future(self.client.get_updates(timeout=timeout))
            stopping = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if waiting not in done:
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError, ZaloError):
                    await waiting
                break
            stopping.cancel()
            try:
                update = waiting.result()
            except ZaloError as error:
                log.warning("Zalo getUpdates failed (%s); again in %.0f s", error, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                pause = min(pause * 2, RETRY_PAUSE[1])
                continue
            pause = RETRY_PAUSE[0]
            if update is not None:
                self.spawn(update)
        await self.idle()

    def spawn(self, update: Update) -> None:
        """Handle `update` in a task of its own (kept until done)."""
        task = asyncio.get_running_loop().create_task(self.dispatch(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every update taken so far has been handled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _handle_safely(self, update: Update) -> None:
        try:
            await self.handle(update)
        except ZaloUnreachable:
            # Blocked, or gone (marked so in _send): nothing more can reach them there.
            log.info("a Zalo person cannot be reached; marked unreachable on Zalo")
        except Exception:
            log.exception("error while handling a Zalo update")
            message = update.message
            if message is None:
                return
            _ = translator(self.settings.default_language)
            with contextlib.suppress(ZaloError):
                await self.client.send_message(
                    message.chat.id, _("Sorry, something went wrong on our side. Please try again.")
                )

    async def handle(self, update: Update) -> None:
        """One update of a private chat: through the journeys, or answered here."""
        message = update.message
        if message is None or message.chat.is_group or message.sender.is_bot:
            return
        user = message.sender.id
        person = zalo_person(user)
        who = await asyncio.to_thread(self._who, user, person)
        if update.event_name == TEXT and commands.stops(message.text):
            # Before everything, as on Telegram: in the middle of a journey it is no answer.
            await commands.stop(self, message, who)
            return
        given = to_input(message, update.event_name, who.choices or who.notices)
        if given is None:
            return
        if await commands.answer(self, message, person, who, given):
            return
        # A command that sets the journey in front aside on Telegram (engine.ASIDE) and that
        # Zalo does not have (bot/zalo/commands.py has those it has): the journey stays in
        # front, and the person is told so (`otherwise`).
        if given.command not in NEEDS_FILES and engine.route(given, who.journey) == engine.RUN:
            if given.other == "photo":
                given = Input(other="photo", upload=await self.fetch_photo(message))
            if await self.run(message, person, who, given):
                return
        await self.otherwise(message, person, who, given)

    def _who(self, user: str, person: str) -> _Who:
        """The person, their foreground journey, their language and their numbered options,
        read together; a message from them proves they can be reached on Zalo again."""
        with self.database.reading() as session:
            contact, journey, registering = engine.who_and_where_zalo(session, user, person)
            if contact is not None:
                language = contact.language
            else:
                former = former_language(session, zalo_user_id=user) if not registering else None
                language = normalise_language(
                    registering or former or self.settings.default_language
                )
            choices = engine.choices(session, person) if journey is not None else []
            notices = (
                engine.notice_choices(session, person)
                if journey is None and contact is not None
                else []
            )
        if contact is not None and contact.zalo_unreachable_at is not None:
            with self.database.session() as session:
                mark_zalo_reachable(session, user)
            contact.zalo_unreachable_at = None
        return _Who(contact, journey, language, choices, notices)

    async def engine(
        self,
        person: str,
        who: _Who,
        call: Callable[[Session, datetime], Outcome | None],
        *,
        notice: str | None = None,
    ) -> Outcome | None:
        """`call(session, now)` in a transaction of its own, on a worker thread; the options
        the outcome numbers are remembered in the same transaction, and so are the notice
        numbers when the input answered one of them (`notice`, its payload) and the answer
        changed what it answered."""

        def work() -> Outcome | None:
            with self.database.session() as session:
                now = self.clock()
                outcome = call(session, now)
                if who.contact is None:
                    # Someone registering speaks the language they chose just now.
                    chosen = engine.standing(session, person)[1]
                    who.language = normalise_language(chosen or who.language)
                if outcome is not None:
                    kept = numbered_actions(outcome)
                    if kept is not None:
                        engine.remember_choices(session, person, kept)
                    elif outcome.in_front and who.choices:
                        # Only a toast: the options shown before still stand.
                        engine.remember_choices(session, person, who.choices)
                    left = notices.left_after(outcome) if notice is not None else None
                    if left is not None:
                        engine.spend_notice_choices(
                            session, person, who.notices, left, now=now, chosen=notice
                        )
                return outcome

        return await asyncio.to_thread(work)

    async def prepare(
        self, person: str, who: _Who, given: Input, here: Place, profile: Profile
    ) -> Prepared | None:
        """The slow work an input needs (a report to render), on a worker thread before the
        input's transaction, so that no other writer waits for it (engine.prepare); None for
        almost every input, without a thread."""
        if not engine.prepares(given):
            return None
        return await asyncio.to_thread(
            lambda: engine.prepare(
                self.database.reading, person=person, contact=who.contact,
                language=who.language, now=self.clock(), given=given, place=here,
                profile=profile,
            )
        )  # fmt: skip

    async def run(self, message: Message, person: str, who: _Who, given: Input) -> bool:
        profile = Profile(name=message.sender.display_name or None)
        here = self.place()
        prepared = await self.prepare(person, who, given, here, profile)
        try:
            outcome = await self.engine(
                person, who, lambda session, now: engine.run(
                    session, person=person, contact=who.contact, language=who.language,
                    now=now, given=given, place=here, profile=profile, prepared=prepared,
                ),
                notice=given.payload if given.payload in {a.payload for a in who.notices} else None,
            )  # fmt: skip
        finally:
            if prepared is not None:
                await asyncio.to_thread(prepared.discard)
        if outcome is None:
            return False
        await self.show(message.chat.id, outcome, who)
        return True

    async def otherwise(self, message: Message, person: str, who: _Who, given: Input) -> None:
        """What no journey took: an invite's short code typed by someone not registered joins;
        a code to link a channel typed by someone registered is answered (`link_code`); an
        employer's or worker's words or photo outside a journey are offered to their provider;
        anything else is answered with what works on Zalo."""
        code = given.text if who.contact is None and looks_like_short_code(given.text) else None
        if code is not None and await self.run(
            message, person, who, Input(command=CODE_TYPED, text=code)
        ):
            return
        if await self.link_code(message, person, who, given):
            return
        _ = translator(who.language)
        if render.is_number(given.text):
            # A number only ever answers numbered options: none wait for one (answered, or
            # never shown), which is said, rather than offering "2" to the provider.
            text = _("No numbered question is waiting for an answer just now.")
            await self.say(message.chat.id, f"{text}\n\n{help_text(_, who.contact, None)}", who,
                           html=False)  # fmt: skip
            return
        if who.journey is None and await commands.offered(self, message, person, who, given):
            return
        text = help_text(_, who.contact, given)
        await self.say(message.chat.id, text, who, html=False)

    async def link_code(self, message: Message, person: str, who: _Who, given: Input) -> bool:
        """A registered person's text that is a live code to link a channel (their own, or
        another person's): answered as models/journeys/link.py says; False for any other."""
        contact, text = who.contact, given.text
        if contact is None or text is None or not looks_like_short_code(text):
            return False
        here = self.place()
        outcome = await self.engine(
            person, who, lambda session, now: link.typed_by_member(
                session, person=person, contact=contact, language=who.language, text=text,
                now=now, place=here,
            ),
        )  # fmt: skip
        if outcome is None:
            return False
        await self.show(message.chat.id, outcome, who)
        return True

    def place(self) -> Place:
        username = self.telegram_username or self.settings.bot_username
        return Place(
            schedule=SchedulerConfig.from_settings(self.settings),
            invite_days=self.settings.invite_days,
            invite_link=(lambda code: deep_link(username, code)) if username else str,
            data_dir=self.settings.data_dir,
            controller_contact=self.settings.controller_contact,
            zalo_chat_url=self.settings.zalo_chat_url,
            sending=self.settings.sending_channels,
        )

    async def fetch_photo(self, message: Message) -> Upload:
        """The photo behind the message's URL (`fetch_url`)."""
        return await self.fetch_url(message.photo_url or "", message.message_id, message.caption)

    def photo_reference(self, message: Message) -> Upload:
        """The message's photo, not fetched: its address as its reference."""
        return Upload(
            "photo", None, "", message.photo_url or "", _safe(message.message_id), None,
            message.caption,
        )  # fmt: skip

    async def fetch_url(self, url: str, message_id: str, caption: str | None = None) -> Upload:
        """The photo behind a Zalo URL, checked as Telegram's are: None as its bytes when it
        could not be fetched or is larger than FETCH_MAX_BYTES (its size then says so); its
        type read from its first bytes, not from what the server claims."""
        size: int | None = None
        data: bytes | None = None
        claimed = "application/octet-stream"
        if urlsplit(url).scheme in ("http", "https"):
            try:
                async with (
                    httpx.AsyncClient(
                        transport=self.fetch_transport, timeout=FETCH_TIMEOUT,
                        follow_redirects=True,
                    ) as http,
                    http.stream("GET", url) as response,
                ):  # fmt: skip
                    if response.status_code == 200:
                        claimed = response.headers.get("content-type", claimed).split(";")[0]
                        length = response.headers.get("content-length", "")
                        size = int(length) if length.isdigit() else None
                        if size is None or size <= FETCH_MAX_BYTES:
                            body = bytearray()
                            async for chunk in response.aiter_bytes():
                                body += chunk
                                if len(body) > FETCH_MAX_BYTES:
                                    break
                            size = max(size or 0, len(body))
                            data = bytes(body) if len(body) <= FETCH_MAX_BYTES else None
            except httpx.HTTPError as error:
                log.warning("could not fetch a Zalo photo: %s", type(error).__name__)
                data = None
        mime = _sniffed(data) or claimed.strip().lower()
        unique = hashlib.sha256(data).hexdigest()[:24] if data else _safe(message_id)
        return Upload("photo", size, mime, f"zalo:{_safe(message_id)}", unique, data, caption)

    # -- sending -----------------------------------------------------------------------------

    async def show(self, chat_id: str, outcome: Outcome, who: _Who) -> None:
        """An outcome as Zalo messages, in order: the answer to the option chosen, the changed
        message (as a new one), the replies. The options of the last message that has any
        are numbered (`numbered_actions`); no other message shows options."""
        _ = translator(who.language)
        last = _last_with_actions(outcome)
        options = numbered_actions(outcome) or []
        if outcome.notice:
            await self.say(chat_id, outcome.notice, who, html=False)
        if outcome.edit is not None:
            if not outcome.edit_actions_only:
                await self.reply(
                    chat_id, outcome.edit, who, options if outcome.edit is last else []
                )
            elif outcome.edit is last:
                await self.say(chat_id, render.numbered(_, options), who, html=False)
        for reply in outcome.replies:
            await self.reply(chat_id, reply, who, options if reply is last else [])
        if outcome.menu_changed:
            # Registered just now: what they can do here, as Telegram's keyboard would show.
            contact = await asyncio.to_thread(self._contact, chat_id)
            await self.say(chat_id, help_text(_, contact, None), who, html=False)

    def _contact(self, user: str) -> Contact | None:
        with self.database.reading() as session:
            return engine.who_and_where_zalo(session, user, zalo_person(user))[0]

    async def reply(self, chat_id: str, reply: Reply, who: _Who, options: Sequence[Action]) -> None:
        """One reply: its text and its numbered `options`, its picture or its file's link."""
        _ = translator(who.language)
        text = render.plain(reply.text)
        if options:
            text = "\n\n".join(filter(None, [text, render.numbered(_, options)]))
        if reply.document is not None:
            link = self._link(reply.document, reply.document_name)
            where = (
                _("Download: {link}", link=link)
                if link
                else _("This file cannot be sent on Zalo. Please ask for it on Telegram.")
            )
            text = "\n\n".join(filter(None, [text, where]))
        if reply.photo is not None:
            link = self._link(_fit_photo(reply.photo), reply.photo_name)
            if link is not None:
                caption = text if 0 < text_length(text) <= MAX_CAPTION else None
                await self._send(chat_id, partial(self.client.send_photo, chat_id, link, caption))
                if caption is not None:
                    return
        await self.say(chat_id, text, who, html=False)

    async def say(self, chat_id: str, text: str, who: _Who, *, html: bool = True) -> None:
        """A text as plain Zalo messages of at most 2000 characters each."""
        for piece in render.split(render.plain(text) if html else text):
            await self._send(chat_id, partial(self.client.send_message, chat_id, piece))

    async def _send(self, chat_id: str, call: Callable[[], Awaitable[Any]]) -> None:
        """One send; after a rate-limit answer it goes again once the pacer's pause is over
        (a reply is worth the wait: the person is waiting for it)."""
        try:
            for _attempt in range(SEND_ATTEMPTS - 1):
                try:
                    await call()
                    return
                except ZaloRateLimited:
                    log.warning("Zalo rate-limited a reply; sending it again after the pause")
            await call()
        except ZaloUnreachable:
            # Blocked, or gone: unreachable on Zalo only, until they write again.
            def mark() -> None:
                with self.database.session() as session:
                    mark_zalo_unreachable(session, chat_id, now=self.clock())

            await asyncio.to_thread(mark)
            raise

    def _link(self, data: bytes, name: str) -> str | None:
        """A signed link to a copy of `data` under the media folder, valid for two days
        (models/links.py; the retention job deletes the copy after); None without
        OSHBOT_PUBLIC_URL, since Zalo fetches from the public address only."""
        base = self.settings.public_url
        if not base:
            log.warning("OSHBOT_PUBLIC_URL is not set: a file cannot be sent on Zalo")
            return None
        now = self.clock()
        folder = links.download_folder(self.settings.media_dir, now=now)
        target = write_private(folder / (_safe(Path(name).name) or "file"), data)
        return links.file_link(
            base, secret_of(self.settings), self.settings.data_dir, target, now=now
        )


def numbered_actions(outcome: Outcome) -> list[Action] | None:
    """The options the outcome numbers for the person to answer: the answerable actions of its
    last message that has any; an empty list when it asks nothing to choose, or None when it
    shows no new message (a toast alone: the numbers shown before still stand)."""
    last = _last_with_actions(outcome)
    if last is not None:
        return answerable(outcome, last)
    if outcome.replies or outcome.retire_buttons or outcome.edit is not None:
        return []
    return None


def answerable(outcome: Outcome, reply: Reply) -> list[Action]:
    """The actions of `reply` a Zalo person can answer: only while the journey that answered
    stays in front (its draft keeps their numbers), and only those a journey takes (the
    buttons of Telegram's plain commands, such as a card's 👥 Members, are Telegram's)."""
    if not outcome.in_front:
        return []
    return [a for row in reply.actions for a in row if engine.takes(Input(payload=a.payload))]


def _last_with_actions(outcome: Outcome) -> Reply | None:
    shown = [outcome.edit] if outcome.edit is not None else []
    return next((r for r in reversed([*shown, *outcome.replies]) if answerable(outcome, r)), None)


def _sniffed(data: bytes | None) -> str | None:
    if not data:
        return None
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _fit_photo(data: bytes) -> bytes:
    """A picture Zalo takes by URL: JPEG or PNG up to 1 MB; a larger one is re-encoded smaller."""
    long_side = media.LONG_SIDE_MAX
    while len(data) > MAX_PHOTO_BYTES and long_side >= 256:
        data = media.reencode(data, long_side=long_side).data
        long_side //= 2
    return data


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "", text)[:60]
