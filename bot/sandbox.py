"""A local, in-memory implementation of the Telegram Bot API.

There is no Telegram network where oshbot is developed and tested, so this module plays
Telegram: it answers Bot API calls with Telegram-shaped JSON (so PTB's ``de_json`` works
unchanged), keeps the bot's view of the world (users, private chats, sent messages with their
edits and deletions, files, the update queue) and lets tests or a person play users through an
injection API.

Two transports share the :class:`Sandbox` core:

* in-process: ``HTTPXRequest(httpx_kwargs={"transport": sb.transport()})``;
* HTTP: :class:`bot.sandbox_http.SandboxServer` (also importable from here).

Rate limits follow Telegram's published guidance for bots: about 30 messages per second
overall and about one message per second per chat. Telegram tolerates short bursts inside one
chat before it starts answering 429, which is why the per-chat bucket holds ``per_chat_burst``
tokens rather than exactly one. By default the overall limit is a token bucket too (a burst of
``global_burst`` is tolerated); ``RateLimits(strict=True)`` (``oshbot sandbox --strict``) counts
sends in any sliding second instead and answers 429 to the one over ``global_per_second``, with
no burst at all: the strictest reading of Telegram's rule, against which a sender that paces at
exactly the limit fails.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import html
import inspect
import itertools
import json
import math
import mimetypes
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telegram import Bot
    from telegram.ext import ApplicationBuilder
    from telegram.request import HTTPXRequest

    from bot.sandbox_http import SandboxServer, SandboxTransport, serve_forever

__all__ = [
    "BASE_FILE_URL",
    "BASE_URL",
    "ApiError",
    "CallbackAnswer",
    "FakeClock",
    "Fault",
    "Faults",
    "RateLimits",
    "Sandbox",
    "SandboxServer",
    "SandboxStats",
    "SandboxTimeout",
    "SandboxTransport",
    "SandboxUser",
    "SentMessage",
    "StoredFile",
    "Upload",
    "serve_forever",
]

JSON = dict[str, Any]

DEFAULT_TOKEN = "123456:SANDBOX-TOKEN"
BASE_URL = "http://sandbox/bot"
BASE_FILE_URL = "http://sandbox/file/bot"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_ANSWER_TEXT = 200
MAX_DOWNLOAD = 20 * 1024 * 1024

# Telegram throttles what reaches users, not reads or callback answers.
RATE_LIMITED = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "sendVoice", "editMessageText",
     "editMessageReplyMarkup"}
)  # fmt: skip
# A fault without a method must not be swallowed by a background poller or Bot.initialize().
_FAULT_WILDCARD_EXEMPT = frozenset({"getUpdates", "getMe"})

_ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)
_PHOTO_SIZES = ((90, 90), (320, 320), (800, 800))


@dataclass(frozen=True)
class RateLimits:
    """Token-bucket limits; bursts model Telegram's tolerance for short spikes. `strict`
    replaces the overall bucket by a sliding window: at most `global_per_second` sends in any
    second, no burst (the per-chat bucket stays as Telegram has it)."""

    global_per_second: float = 30
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    global_burst: int = 30
    strict: bool = False


class FakeClock:
    """A manual clock for deterministic rate-limit tests."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """A sleep that moves this clock instead of waiting, for a rate limiter under test.
        Yielding once first lets tasks that sleep together wake together."""
        target = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, target)


class _Bucket:
    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class ApiError(Exception):
    """A Bot API error answer; handlers raise it and the dispatcher renders it."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        data: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return data


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class SandboxTimeout(Exception):
    """Raised by the core for a "timeout" fault; each transport turns it into a client timeout."""


@dataclass
class Upload:
    """One uploaded multipart file."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass
class Fault:
    kind: str
    method: str | None = None
    chat_id: int | None = None
    times: int = 1
    retry_after: int = 1


class Faults:
    """Scripted failures, consumed in the order they were added."""

    KINDS = frozenset({"429", "5xx", "timeout", "forbidden"})

    def __init__(self) -> None:
        self.items: list[Fault] = []

    def add(
        self,
        kind: str,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int = 1,
    ) -> Fault:
        if kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(self.KINDS)}")
        fault = Fault(kind, method, chat_id, times, retry_after)
        self.items.append(fault)
        return fault

    def clear(self) -> None:
        self.items.clear()

    def take(self, method: str, chat_id: int | None) -> Fault | None:
        for fault in self.items:
            if fault.method is None and method in _FAULT_WILDCARD_EXEMPT:
                continue
            if fault.method is not None and fault.method.lower() != method.lower():
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self.items.remove(fault)
            return fault
        return None


@dataclass
class SandboxStats:
    calls: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    faults_fired: int = 0
    # (clock time, chat_id, method) of every accepted rate-limited call.
    sends: list[tuple[float, int, str]] = field(default_factory=list)

    def send_times(self, chat_id: int | None = None) -> list[float]:
        return [t for t, chat, _ in self.sends if chat_id is None or chat == chat_id]

    def to_json(self) -> JSON:
        return {
            "calls": dict(self.calls),
            "rate_limited": self.rate_limited,
            "faults_fired": self.faults_fired,
            "sends": [list(item) for item in self.sends],
        }


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    filename: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    group: int = 0  # the sizes of one photo share a group so a file_id re-send finds them all

    def photo_size_json(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": len(self.data),
        }

    def voice_json(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "duration": 3,
            "mime_type": self.mime_type or "audio/ogg",
            "file_size": len(self.data),
        }

    def document_json(self) -> JSON:
        data: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.filename:
            data["file_name"] = self.filename
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass
class SentMessage:
    """A message the bot sent, as it is now; ``plain`` is what the user reads (tags stripped)."""

    message_id: int
    chat_id: int
    method: str
    date: int
    text: str | None = None
    plain: str = ""
    caption: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    photo: str | None = None
    photo_sizes: list[str] = field(default_factory=list)
    document_filename: str | None = None
    document_bytes: bytes | None = None
    document_file_id: str | None = None
    voice_file_id: str | None = None
    reply_to: int | None = None  # the message of the same chat it answers
    deleted: bool = False
    edits: list[JSON] = field(default_factory=list)
    edit_date: int | None = None

    def to_json(self) -> JSON:
        document = None
        if self.document_file_id is not None:
            document = {
                "filename": self.document_filename,
                "file_id": self.document_file_id,
                "size": len(self.document_bytes or b""),
            }
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "method": self.method,
            "date": self.date,
            "edit_date": self.edit_date,
            "text": self.text,
            "plain": self.plain,
            "caption": self.caption,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "photo": self.photo,
            "document": document,
            "voice": self.voice_file_id,
            "deleted": self.deleted,
            "edits": self.edits,
        }


@dataclass
class CallbackAnswer:
    query_id: str
    user_id: int
    text: str | None
    show_alert: bool
    url: str | None


@dataclass
class _Query:
    user_id: int
    answered: bool = False


# --- parameter helpers: form posts carry strings (JSON-encoded unless plain), JSON posts carry
# typed values, so every accessor accepts both.


def _raw(params: Mapping[str, Any], name: str, required: bool) -> Any:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _bad(f"{name} is empty")
        return None
    return value


def _int(params: Mapping[str, Any], name: str, required: bool = True) -> int | None:
    value = _raw(params, name, required)
    if value is None or isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None


def _str(params: Mapping[str, Any], name: str, required: bool = True) -> str | None:
    value = _raw(params, name, required)
    return None if value is None else str(value)


def _bool(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name)
    return value is True or (isinstance(value, str) and value.lower() in {"true", "1"})


def _json(params: Mapping[str, Any], name: str, required: bool = False) -> Any:
    value = _raw(params, name, required)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {name} JSON object") from None
    return value


def _utf16_len(text: str) -> int:
    # Telegram measures lengths in UTF-16 code units, so emoji count double.
    return len(text.encode("utf-16-le")) // 2


class _TelegramHTML(HTMLParser):
    """Validates Telegram's HTML subset and collects the text a user would see."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.stack: list[str] = []

    def _offset(self) -> int:
        # HTMLParser reports (line, column) in characters; Telegram reports UTF-8 bytes.
        line, col = self.getpos()
        lines = self.source.split("\n")
        return len("\n".join([*lines[: line - 1], lines[line - 1][:col]]).encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            raise _bad(
                f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset '
                f"{self._offset()}"
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            expected = f'"</{self.stack[-1]}>"' if self.stack else "nothing"
            raise _bad(
                f"can't parse entities: Unmatched end tag at byte offset {self._offset()}"
                f', expected {expected}, found "</{tag}>"'
            )
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def render_plain(text: str, parse_mode: str | None) -> str:
    """What the recipient reads: HTML tags stripped and entities unescaped, then trimmed."""
    if (parse_mode or "").upper() != "HTML":
        return text.strip()
    parser = _TelegramHTML(text)
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise _bad(
            f"can't parse entities: Can't find end tag corresponding to start tag "
            f'"{parser.stack[-1]}"'
        )
    return html.unescape("".join(parser.parts)).strip()


def _validate_markup(markup: Any) -> JSON | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        for row in markup["inline_keyboard"]:
            for button in row:
                if not isinstance(button, dict) or "text" not in button:
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed "
                        "in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
    elif not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
        raise _bad("can't parse reply keyboard markup JSON object")
    return markup


def _scope_key(scope: Any, language_code: str | None) -> str:
    scope = scope or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise _bad("can't parse BotCommandScope JSON object")
    key = str(scope["type"])
    for part in ("chat_id", "user_id"):
        if part in scope:
            key += f":{scope[part]}"
    return f"{key}|{language_code}" if language_code else key


class SandboxUser:
    """A Telegram user in a private chat with the bot; its methods play that user."""

    def __init__(
        self,
        sandbox: Sandbox,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self._sb = sandbox
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.blocked = False

    def as_json(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    def chat_json(self) -> JSON:
        data: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        for key in ("last_name", "username"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    # --- playing the user

    def send_text(self, text: str) -> JSON:
        return self._sb._user_message(self, text=text)

    def send_command(self, command: str, *args: str) -> JSON:
        command = "/" + command.lstrip("/")
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
        return self._sb._user_message(self, text=" ".join([command, *args]), entities=[entity])

    def send_photo(self, data: bytes, caption: str | None = None) -> JSON:
        sizes = self._sb._register_photo(data)
        extra = {"caption": caption} if caption is not None else {}
        return self._sb._user_message(self, photo=[f.photo_size_json() for f in sizes], **extra)

    def send_document(self, data: bytes, filename: str, mime_type: str | None = None) -> JSON:
        stored = self._sb._register_file(
            "document",
            data,
            filename=filename,
            mime_type=mime_type or mimetypes.guess_type(filename)[0],
        )
        return self._sb._user_message(self, document=stored.document_json())

    def send_sticker(self, emoji: str = "👍") -> JSON:
        stored = self._sb._register_file("sticker", b"RIFF-sandbox-sticker")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.data),
        }
        return self._sb._user_message(self, sticker=sticker)

    def send_voice(self, data: bytes = b"OggS-sandbox-voice", duration: int = 3) -> JSON:
        stored = self._sb._register_file("voice", data, mime_type="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._sb._user_message(self, voice=voice)

    def send_location(self, latitude: float, longitude: float) -> JSON:
        return self._sb._user_message(self, location={"latitude": latitude, "longitude": longitude})

    def send_contact(self, phone_number: str, first_name: str | None = None) -> JSON:
        contact = {
            "phone_number": phone_number,
            "first_name": first_name or self.first_name,
            "user_id": self.id,
        }
        return self._sb._user_message(self, contact=contact)

    def press(self, message_id: int, callback_data: str, *, strict: bool = True) -> JSON:
        """Press an inline button; ``strict=False`` allows data the keyboard doesn't offer."""
        message = self._sb._find_sent(self.id, message_id)
        if message is None:
            raise ValueError(f"no live bot message {message_id} in chat {self.id}")
        if strict and callback_data not in [data for _, data in self.buttons(message)]:
            raise ValueError(f"message {message_id} has no button with data {callback_data!r}")
        return self._sb._callback_query(self, message, callback_data)

    def delete(self, message_id: int) -> None:
        """Delete one of the user's own messages, as a client can; the bot is not told."""
        if self._sb._user_messages.get(self.id, {}).pop(message_id, None) is None:
            raise ValueError(f"no message {message_id} of the user in chat {self.id}")

    def block(self) -> JSON:
        self.blocked = True
        return self._sb._member_update(self, "member", "kicked")

    def unblock(self) -> JSON:
        self.blocked = False
        return self._sb._member_update(self, "kicked", "member")

    # --- inspection

    def messages(self) -> list[SentMessage]:
        """Every bot message in this chat, deleted ones included (see ``.deleted``)."""
        return list(self._sb._sent.get(self.id, []))

    def last(self) -> SentMessage:
        live = [m for m in self.messages() if not m.deleted]
        if not live:
            raise LookupError(f"the bot has no live message in chat {self.id}")
        return live[-1]

    def buttons(self, message: SentMessage | None = None) -> list[tuple[str, str | None]]:
        message = message or self.last()
        rows = (message.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data")) for row in rows for b in row]

    def reply_keyboard(self) -> list[list[str]] | None:
        markup = self._sb._reply_keyboards.get(self.id)
        if markup is None:
            return None
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in markup["keyboard"]]

    def answers(self) -> list[str | None]:
        return [a.text for a in self._sb.callback_answers if a.user_id == self.id]

    def inbox_text(self) -> str:
        return "\n".join(m.plain for m in self.messages() if not m.deleted and m.plain)


class Sandbox:
    """The Bot API core: world state, Bot API methods and the injection API."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "oshbot_sandbox_bot",
        bot_first_name: str = "oshbot",
        limits: RateLimits | None = RateLimits(),  # frozen, so sharing the default is safe
        clock: Callable[[], float] = time.monotonic,
        latency: float = 0.0,
    ) -> None:
        """`latency`: seconds every Bot API call takes before it is answered (a network round
        trip; getUpdates excepted, which long-polls anyway), so that benchmarks see the waits
        a real bot does."""
        self.token = token
        self.latency = latency
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.limits = limits
        self.clock = clock
        self.faults = Faults()
        self.stats = SandboxStats()
        self.users: dict[int, SandboxUser] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.my_commands: dict[str, list[JSON]] = {}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self._sent: dict[int, list[SentMessage]] = {}
        self._user_messages: dict[int, dict[int, JSON]] = {}
        self._reply_keyboards: dict[int, JSON | None] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._file_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._updates: list[JSON] = []
        self._update_event = asyncio.Event()
        self._callbacks: dict[str, _Query] = {}
        self._global_bucket: _Bucket | None = None
        self._window: collections.deque[float] = collections.deque()  # strict: last second
        self._chat_buckets: dict[int, _Bucket] = {}
        self._methods: dict[str, Callable[[Mapping[str, Any], Mapping[str, Upload]], Any]] = {
            "getMe": lambda p, f: self.bot_user,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVoice": self._send_voice,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendChatAction": self._send_chat_action,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "close": lambda p, f: True,
            "logOut": lambda p, f: True,
        }
        # Telegram treats method names case-insensitively.
        self._by_lower = {name.lower(): name for name in self._methods}

    # --- wiring helpers

    def transport(self) -> SandboxTransport:
        from bot.sandbox_http import SandboxTransport

        return SandboxTransport(self)

    def make_request(self, **kwargs: Any) -> HTTPXRequest:
        """A fresh HTTPXRequest over the in-process transport (PTB needs one per use)."""
        from telegram.request import HTTPXRequest

        return HTTPXRequest(httpx_kwargs={"transport": self.transport()}, **kwargs)

    def make_bot(self) -> Bot:
        from telegram import Bot

        # Bot sends getUpdates through its own request object, so it needs a second one.
        return Bot(
            self.token,
            base_url=BASE_URL,
            base_file_url=BASE_FILE_URL,
            request=self.make_request(),
            get_updates_request=self.make_request(),
        )

    def application_builder(self) -> ApplicationBuilder:
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(BASE_URL)
            .base_file_url(BASE_FILE_URL)
            .request(self.make_request())
            .get_updates_request(self.make_request())
        )

    # --- injection API

    def user(
        self,
        user_id: int,
        first_name: str = "Người dùng",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> SandboxUser:
        if user_id not in self.users:
            self.users[user_id] = SandboxUser(
                self, user_id, first_name, last_name, username, language_code
            )
        return self.users[user_id]

    def inject_raw(self, update: JSON) -> JSON:
        """Queue any update as given; an explicit update_id is kept so duplicates can be faked."""
        update = copy.deepcopy(update)
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            sender = int(query.get("from", {}).get("id", 0))
            self._callbacks.setdefault(str(query["id"]), _Query(sender))
        return self._enqueue(update)

    def pending_updates(self) -> list[JSON]:
        return copy.deepcopy(self._updates)

    def take_updates(self) -> list[JSON]:
        """Remove and return queued updates, so getUpdates won't deliver them again."""
        taken, self._updates = self._updates, []
        return taken

    next_updates = take_updates

    def commands(self, scope_key: str = "default") -> list[JSON]:
        return list(self.my_commands.get(scope_key, []))

    def chat_messages(self, chat_id: int) -> list[SentMessage]:
        return list(self._sent.get(chat_id, []))

    # --- dispatch

    async def call(
        self,
        token: str,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, Upload] | None = None,
    ) -> tuple[int, JSON]:
        """Run one Bot API call and return (HTTP status, JSON body)."""
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").payload()
        name = self._by_lower.get(method.lower())
        if name is None:
            return 404, ApiError(404, "Not Found: method not found").payload()
        self.stats.calls[name] += 1
        if self.latency and name != "getUpdates":
            await asyncio.sleep(self.latency)
        try:
            self._fire_fault(name, params)
            result = self._methods[name](params, files or {})
            if inspect.isawaitable(result):
                result = await result
        except ApiError as err:
            if err.status == 429:
                self.stats.rate_limited += 1
            return err.status, err.payload()
        return 200, {"ok": True, "result": result}

    def download(self, token: str, file_path: str) -> tuple[int, bytes]:
        if token != self.token:
            return 401, json.dumps(ApiError(401, "Unauthorized").payload()).encode()
        for stored in self.files.values():
            if stored.file_path == file_path:
                return 200, stored.data
        return 404, json.dumps(ApiError(404, "Not Found").payload()).encode()

    def _fire_fault(self, method: str, params: Mapping[str, Any]) -> None:
        try:
            chat_id = _int(params, "chat_id", required=False)
        except ApiError:
            chat_id = None
        fault = self.faults.take(method, chat_id)
        if fault is None:
            return
        self.stats.faults_fired += 1
        if fault.kind == "429":
            raise ApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        if fault.kind == "5xx":
            raise ApiError(502, "Bad Gateway")
        if fault.kind == "forbidden":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        raise SandboxTimeout(f"scripted timeout for {method}")

    def _chat(self, params: Mapping[str, Any]) -> SandboxUser:
        raw = _raw(params, "chat_id", True)
        user: SandboxUser | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            user = next((u for u in self.users.values() if u.username == raw[1:]), None)
        else:
            user = self.users.get(_int(params, "chat_id") or 0)
        if user is None:
            raise _bad("chat not found")
        if user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return user

    def _check_rate(self, chat_id: int, method: str) -> None:
        now = self.clock()
        if self.limits is not None:
            limits = self.limits
            if self._global_bucket is None:
                self._global_bucket = _Bucket(limits.global_per_second, limits.global_burst, now)
            if chat_id not in self._chat_buckets:
                self._chat_buckets[chat_id] = _Bucket(
                    limits.per_chat_per_second, limits.per_chat_burst, now
                )
            chat_bucket = self._chat_buckets[chat_id]
            if limits.strict:
                overall = self._window_wait(now, limits.global_per_second)
            else:
                overall = self._global_bucket.wait_time(now)
            wait = max(overall, chat_bucket.wait_time(now))
            if wait > 0:
                # The epsilon keeps float noise (1.0000000001 s) from rounding up to 2.
                retry_after = max(1, math.ceil(wait - 1e-9))
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
            if limits.strict:
                self._window.append(now)
            else:
                self._global_bucket.take()
            chat_bucket.take()
        self.stats.sends.append((now, chat_id, method))

    def _window_wait(self, now: float, per_second: float) -> float:
        """Strict mode: seconds until the sliding second (now - 1, now] holds fewer than
        `per_second` accepted sends."""
        window = self._window
        while window and window[0] <= now - 1.0:
            window.popleft()
        limit = max(1, math.floor(per_second))
        if len(window) < limit:
            return 0.0
        return window[len(window) - limit] + 1.0 - now

    # --- world bookkeeping

    def _enqueue(self, update: JSON) -> JSON:
        if "update_id" in update:
            floor = int(update["update_id"])
            self._update_ids = itertools.count(max(floor + 1, next(self._update_ids)))
        else:
            update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        # Swap in a fresh event so waiters wake once and later waits block again.
        self._update_event.set()
        self._update_event = asyncio.Event()
        return update

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _user_message(self, user: SandboxUser, **content: Any) -> JSON:
        message = {
            "message_id": self._next_message_id(user.id),
            "from": user.as_json(),
            "chat": user.chat_json(),
            "date": int(time.time()),
            **content,
        }
        self._user_messages.setdefault(user.id, {})[message["message_id"]] = message
        return self._enqueue({"message": message})

    def _callback_query(self, user: SandboxUser, message: SentMessage, data: str) -> JSON:
        query_id = f"{user.id}{next(self._query_ids):06d}"
        self._callbacks[query_id] = _Query(user.id)
        return self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.as_json(),
                    "message": self._message_json(message),
                    "chat_instance": str(user.id),
                    "data": data,
                }
            }
        )

    def _member_update(self, user: SandboxUser, old: str, new: str) -> JSON:
        def member(status: str) -> JSON:
            extra = {"until_date": 0} if status == "kicked" else {}
            return {"user": self.bot_user, "status": status, **extra}

        return self._enqueue(
            {
                "my_chat_member": {
                    "chat": user.chat_json(),
                    "from": user.as_json(),
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def _register_file(
        self,
        kind: str,
        data: bytes,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
        group: int = 0,
    ) -> StoredFile:
        number = next(self._file_ids)
        suffix = {"photo": ".jpg", "voice": ".oga", "sticker": ".webp"}.get(kind, "")
        name = filename or f"file_{number}{suffix}"
        stored = StoredFile(
            file_id=f"SANDBOX-{kind.upper()}-{number}",
            file_unique_id=f"u{number}",
            kind=kind,
            data=data,
            file_path=f"{kind}s/{number}_{name}",
            filename=filename,
            mime_type=mime_type,
            width=width,
            height=height,
            group=group,
        )
        self.files[stored.file_id] = stored
        return stored

    def _register_photo(self, data: bytes) -> list[StoredFile]:
        group = next(self._file_ids)
        return [
            self._register_file("photo", data, width=w, height=h, group=group)
            for w, h in _PHOTO_SIZES
        ]

    def _find_sent(self, chat_id: int, message_id: int) -> SentMessage | None:
        for message in self._sent.get(chat_id, []):
            if message.message_id == message_id and not message.deleted:
                return message
        return None

    def _store(self, user: SandboxUser, method: str, **fields: Any) -> SentMessage:
        message = SentMessage(
            message_id=self._next_message_id(user.id),
            chat_id=user.id,
            method=method,
            date=int(time.time()),
            **fields,
        )
        self._sent.setdefault(user.id, []).append(message)
        markup = message.reply_markup or {}
        if "keyboard" in markup:
            self._reply_keyboards[user.id] = markup
        elif "remove_keyboard" in markup:
            self._reply_keyboards[user.id] = None
        return message

    def _reply_to(self, user: SandboxUser, params: Mapping[str, Any]) -> int | None:
        """The message a send answers (`reply_parameters`, or the older `reply_to_message_id`):
        like Telegram, one that no longer exists fails the send unless the bot allowed it."""
        given = _json(params, "reply_parameters")
        if isinstance(given, dict):
            target = given.get("message_id")
            allow = bool(given.get("allow_sending_without_reply"))
        else:
            target = _int(params, "reply_to_message_id", required=False)
            allow = _bool(params, "allow_sending_without_reply")
        if target is None:
            return None
        if self._replied(user.id, int(target)) is None:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return int(target)

    def _replied(self, chat_id: int, message_id: int) -> JSON | None:
        """A message of the chat as it appears in `reply_to_message`: Telegram does not nest a
        further reply in it, and leaves it out once the message is deleted."""
        mine = self._user_messages.get(chat_id, {}).get(message_id)
        if mine is not None:
            return {k: v for k, v in mine.items() if k != "reply_to_message"}
        sent = self._find_sent(chat_id, message_id)
        return None if sent is None else self._message_json(sent, nested=True)

    def _message_json(self, message: SentMessage, nested: bool = False) -> JSON:
        data: JSON = {
            "message_id": message.message_id,
            "from": self.bot_user,
            "chat": self.users[message.chat_id].chat_json(),
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.method == "sendMessage":
            data["text"] = message.plain
        elif message.caption is not None:
            data["caption"] = message.plain
        if message.photo_sizes:
            data["photo"] = [self.files[f].photo_size_json() for f in message.photo_sizes]
        if message.document_file_id:
            data["document"] = self.files[message.document_file_id].document_json()
        if message.voice_file_id:
            data["voice"] = self.files[message.voice_file_id].voice_json()
        # Telegram only echoes inline keyboards back in Message objects.
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.reply_to is not None and not nested:
            replied = self._replied(message.chat_id, message.reply_to)
            if replied is not None:
                data["reply_to_message"] = replied
        return data

    def _input_file(
        self, params: Mapping[str, Any], files: Mapping[str, Upload], name: str
    ) -> Upload | StoredFile:
        if name in files:
            return files[name]
        value = _str(params, name)
        assert value is not None
        if value.startswith("attach://") and value[9:] in files:
            return files[value[9:]]
        if value not in self.files:
            raise _bad("wrong file identifier/HTTP URL specified")
        return self.files[value]

    def _caption(self, params: Mapping[str, Any]) -> tuple[str | None, str]:
        caption = _str(params, "caption", required=False)
        if caption is None:
            return None, ""
        plain = render_plain(caption, _str(params, "parse_mode", required=False))
        if _utf16_len(plain) > MAX_CAPTION:
            raise _bad("message caption is too long")
        return caption, plain

    # --- Bot API methods

    async def _get_updates(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int(params, "offset", required=False)
        limit = min(max(_int(params, "limit", required=False) or 100, 1), 100)
        timeout = _int(params, "timeout", required=False) or 0
        if offset is not None and offset < 0:
            self._updates = self._updates[offset:]
        elif offset is not None:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            # Long polling uses real time: the fake clock only governs rate limits.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), timeout)
        return copy.deepcopy(self._updates[:limit])

    def _send_message(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        user = self._chat(params)
        text = _str(params, "text", required=False)
        parse_mode = _str(params, "parse_mode", required=False)
        plain = render_plain(text or "", parse_mode)
        if not plain:
            raise _bad("message text is empty")
        if _utf16_len(plain) > MAX_TEXT:
            raise _bad("message is too long")
        markup = _validate_markup(_json(params, "reply_markup"))
        reply_to = self._reply_to(user, params)
        self._check_rate(user.id, "sendMessage")
        message = self._store(
            user, "sendMessage", text=text, plain=plain, parse_mode=parse_mode,
            reply_markup=markup, reply_to=reply_to,
        )  # fmt: skip
        return self._message_json(message)

    def _send_photo(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        user = self._chat(params)
        source = self._input_file(params, files, "photo")
        caption, plain = self._caption(params)
        markup = _validate_markup(_json(params, "reply_markup"))
        if isinstance(source, StoredFile) and source.kind != "photo":
            raise _bad("type of file mismatch")
        self._check_rate(user.id, "sendPhoto")
        if isinstance(source, Upload):
            sizes = [f.file_id for f in self._register_photo(source.data)]
        else:
            # Re-sending a file_id reuses every size sharing that upload's bytes.
            sizes = [
                f.file_id
                for f in self.files.values()
                if f.kind == "photo" and f.group == source.group
            ]
        message = self._store(
            user,
            "sendPhoto",
            caption=caption,
            plain=plain,
            parse_mode=_str(params, "parse_mode", required=False),
            reply_markup=markup,
            photo=sizes[-1],
            photo_sizes=sizes,
        )
        return self._message_json(message)

    def _send_document(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        user = self._chat(params)
        source = self._input_file(params, files, "document")
        caption, plain = self._caption(params)
        markup = _validate_markup(_json(params, "reply_markup"))
        self._check_rate(user.id, "sendDocument")
        if isinstance(source, Upload):
            filename = source.filename or "document"
            mime = source.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            stored = self._register_file("document", source.data, filename=filename, mime_type=mime)
        else:
            stored = source
        message = self._store(
            user,
            "sendDocument",
            caption=caption,
            plain=plain,
            parse_mode=_str(params, "parse_mode", required=False),
            reply_markup=markup,
            document_filename=stored.filename,
            document_bytes=stored.data,
            document_file_id=stored.file_id,
        )
        return self._message_json(message)

    def _send_voice(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        user = self._chat(params)
        source = self._input_file(params, files, "voice")
        caption, plain = self._caption(params)
        markup = _validate_markup(_json(params, "reply_markup"))
        if isinstance(source, StoredFile) and source.kind != "voice":
            raise _bad("type of file mismatch")
        self._check_rate(user.id, "sendVoice")
        if isinstance(source, Upload):
            stored = self._register_file("voice", source.data, mime_type="audio/ogg")
        else:
            stored = source
        message = self._store(
            user,
            "sendVoice",
            caption=caption,
            plain=plain,
            parse_mode=_str(params, "parse_mode", required=False),
            reply_markup=markup,
            voice_file_id=stored.file_id,
        )
        return self._message_json(message)

    def _editable(self, params: Mapping[str, Any]) -> tuple[SandboxUser, SentMessage]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the sandbox")
        user = self._chat(params)
        message = self._find_sent(user.id, _int(params, "message_id") or 0)
        if message is None:
            raise _bad("message to edit not found")
        return user, message

    def _apply_edit(self, message: SentMessage, method: str, **changes: Any) -> JSON:
        if all(getattr(message, key) == value for key, value in changes.items()):
            raise _bad(
                "message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup "
                "of the message"
            )
        self._check_rate(message.chat_id, method)
        message.edits.append(
            {
                "text": message.text,
                "plain": message.plain,
                "reply_markup": message.reply_markup,
                "date": message.edit_date or message.date,
            }
        )
        for key, value in changes.items():
            setattr(message, key, value)
        message.edit_date = int(time.time())
        return self._message_json(message)

    def _edit_message_text(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        _, message = self._editable(params)
        if message.method != "sendMessage":
            raise _bad("there is no text in the message to edit")
        text = _str(params, "text", required=False) or ""
        parse_mode = _str(params, "parse_mode", required=False)
        plain = render_plain(text, parse_mode)
        if not plain:
            raise _bad("message text is empty")
        if _utf16_len(plain) > MAX_TEXT:
            raise _bad("message is too long")
        # Like Telegram, an edit without reply_markup drops the inline keyboard.
        markup = _validate_markup(_json(params, "reply_markup"))
        return self._apply_edit(
            message,
            "editMessageText",
            text=text,
            plain=plain,
            parse_mode=parse_mode,
            reply_markup=markup,
        )

    def _edit_reply_markup(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        _, message = self._editable(params)
        markup = _validate_markup(_json(params, "reply_markup"))
        return self._apply_edit(message, "editMessageReplyMarkup", reply_markup=markup)

    def _delete_message(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        user = self._chat(params)
        message_id = _int(params, "message_id")
        sent = self._find_sent(user.id, message_id or 0)
        if sent is not None:
            sent.deleted = True
        elif self._user_messages.get(user.id, {}).pop(message_id or 0, None) is None:
            raise _bad("message to delete not found")
        return True

    def _answer_callback_query(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        query_id = _str(params, "callback_query_id") or ""
        query = self._callbacks.get(query_id)
        if query is None or query.answered:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = _str(params, "text", required=False)
        if text is not None and len(text) > MAX_ANSWER_TEXT:
            raise _bad("MESSAGE_TOO_LONG")
        query.answered = True
        self.callback_answers.append(
            CallbackAnswer(
                query_id,
                query.user_id,
                text,
                _bool(params, "show_alert"),
                _str(params, "url", required=False),
            )
        )
        return True

    def _get_file(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        stored = self.files.get(_str(params, "file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _set_my_commands(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        commands = _json(params, "commands", required=True)
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        for item in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(item.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = _scope_key(_json(params, "scope"), _str(params, "language_code", required=False))
        if commands:
            self.my_commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.my_commands.pop(key, None)
        return True

    def _get_my_commands(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        key = _scope_key(_json(params, "scope"), _str(params, "language_code", required=False))
        return self.commands(key)

    def _delete_my_commands(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        key = _scope_key(_json(params, "scope"), _str(params, "language_code", required=False))
        self.my_commands.pop(key, None)
        return True

    def _send_chat_action(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        user = self._chat(params)
        self.chat_actions.append((user.id, _str(params, "action") or ""))
        return True

    def _set_webhook(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        self.webhook_url = _str(params, "url", required=False) or ""
        self.webhook_secret = _str(params, "secret_token", required=False)
        if _bool(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    def _delete_webhook(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        self.webhook_url, self.webhook_secret = "", None
        if _bool(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: Mapping[str, Any], files: Mapping[str, Upload]) -> Any:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }


def __getattr__(name: str) -> Any:
    # The transports live in bot.sandbox_http (they import this core, and aiohttp); re-export
    # them lazily so `from bot.sandbox import SandboxServer` works without an import cycle.
    if name in {"SandboxServer", "SandboxTransport", "serve_forever", "parse_body"}:
        from bot import sandbox_http

        return getattr(sandbox_http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
