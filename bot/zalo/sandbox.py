"""A local, in-memory Zalo Bot Platform.

There is no Zalo account where oshbot is developed and tested, so this module plays the
platform, the way :mod:`bot.sandbox` plays Telegram: it answers Bot API calls in the documented
shapes, keeps the bot's view of the world (users, chats, what the bot sent, the update queue,
the webhook) and lets tests or a person play users.

Faithful to the platform where it is documented, and **never kinder** where it is not:

* ``POST /bot<TOKEN>/<method>``; answers ``{"ok": true, "result": ...}`` or
  ``{"ok": false, "error_code": N, "description": "..."}``, both with HTTP 200; method names
  are case-sensitive;
* ``getUpdates`` hands out **one** update (not a list), has no offset and forgets an update
  once handed out; an empty poll answers ``{"ok": false, "error_code": 408, "description":
  "Request timeout"}``; it refuses to work while a webhook is set;
* ids are strings, dates milliseconds; events ``message.text.received``,
  ``message.image.received`` (with ``photo_url``), ``message.sticker.received``,
  ``message.unsupported.received``;
* ``sendMessage`` takes plain text of 1-2000 characters, counted in UTF-16 units (an emoji
  counts two); there are no keyboards and no formatting: ``reply_markup`` and ``parse_mode`` are
  ignored and tags arrive as typed; there is no editing and no document upload;
* ``sendPhoto`` takes a public https URL and fetches it: a photo that is not a URL, not https,
  not reachable, not a JPEG or PNG, or over 1 MB is refused (the 1 MB and the formats are the
  Zalo Official Account API's documented rule for images by URL);
* ``setWebhook`` needs an https ``url`` and a ``secret_token`` of 8-256 characters; then each
  update is posted there as ``{"ok": true, "result": <update>}`` with the header
  ``X-Bot-Api-Secret-Token``, once: an update the webhook does not accept with a 2xx is lost
  (the platform documents no retries);
* rate limits (the platform publishes none; see :class:`bot.zalo.limits.RateLimits`): 10
  messages a second overall, one a second per chat with a burst of 3, answered with error 429
  and **no** ``retry_after``.

Two transports share the :class:`ZaloSandbox` core (:mod:`bot.zalo.sandbox_http`):
in-process, ``ZaloClient(token, BASE_URL, transport=sandbox.transport())``, and over HTTP,
``oshbot sandbox --channel zalo``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import itertools
import math
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from bot.zalo.limits import (
    MAX_CAPTION,
    MAX_PHOTO_BYTES,
    MAX_TEXT,
    SECRET_PATTERN,
    RateLimits,
    text_length,
)
from bot.zalo.types import IMAGE, STICKER, TEXT, UNSUPPORTED

if TYPE_CHECKING:
    from bot.zalo.sandbox_http import ZaloSandboxTransport

__all__ = [
    "BASE_URL",
    "DEFAULT_TOKEN",
    "ORIGIN",
    "ApiError",
    "Fault",
    "Faults",
    "SandboxStats",
    "SandboxTimeout",
    "SandboxUser",
    "SentMessage",
    "WebhookDelivery",
    "ZaloSandbox",
]

JSON = dict[str, Any]

DEFAULT_TOKEN = "1000000000000000001:SANDBOX-ZALO-TOKEN"
# The in-process sandbox's address: https like the platform, and never resolvable, so nothing
# pointed at it can reach a real network by mistake.
ORIGIN = "https://zalo-sandbox.test"
BASE_URL = f"{ORIGIN}/bot"
SECRET_HEADER = "X-Bot-Api-Secret-Token"

# Methods whose answers put something in a chat; the platform would count these.
RATE_LIMITED = frozenset({"sendMessage", "sendPhoto", "sendSticker"})
# A fault without a method must not be swallowed by a background poller.
_FAULT_WILDCARD_EXEMPT = frozenset({"getUpdates", "getMe"})
# Longest long poll the sandbox holds, whatever timeout is asked.
MAX_POLL = 120
PHOTO_FETCH_TIMEOUT = 10.0
DEFAULT_STICKER = "d063f44dc80821567819"

_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"


class ApiError(Exception):
    """An ``ok: false`` answer; methods raise it and :meth:`ZaloSandbox.call` renders it."""

    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description

    def payload(self) -> JSON:
        return {"ok": False, "error_code": self.error_code, "description": self.description}


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class SandboxTimeout(Exception):
    """A "timeout" fault: each transport turns it into no answer in time."""


class SandboxDisconnect(Exception):
    """A "network" fault: each transport turns it into a dropped connection."""


@dataclass
class Fault:
    kind: str
    method: str | None = None
    chat_id: str | None = None
    times: int = 1


class Faults:
    """Scripted failures, consumed in the order they were added.

    ``429`` a rate-limit answer; ``blocked`` the person blocked the bot; ``5xx`` a gateway's
    HTML page with HTTP 502; ``timeout`` no answer; ``network`` a dropped connection."""

    KINDS = frozenset({"429", "blocked", "5xx", "timeout", "network"})

    def __init__(self) -> None:
        self.items: list[Fault] = []

    def add(
        self, kind: str, *, method: str | None = None, chat_id: str | None = None, times: int = 1
    ) -> Fault:
        if kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(self.KINDS)}")
        fault = Fault(kind, method, chat_id, times)
        self.items.append(fault)
        return fault

    def clear(self) -> None:
        self.items.clear()

    def take(self, method: str, chat_id: str | None) -> Fault | None:
        for fault in self.items:
            if fault.method is None and method in _FAULT_WILDCARD_EXEMPT:
                continue
            if fault.method is not None and fault.method != method:
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self.items.remove(fault)
            return fault
        return None


@dataclass
class WebhookDelivery:
    """One post to the webhook: its HTTP status, or the error that prevented an answer."""

    update: JSON
    status: int | None
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_json(self) -> JSON:
        return {"update": self.update, "status": self.status, "error": self.error}


@dataclass
class SandboxStats:
    calls: Counter[str] = field(default_factory=Counter)
    # (method, content type) of every call, so a test can see how a client encodes bodies.
    content_types: Counter[tuple[str, str]] = field(default_factory=Counter)
    rate_limited: int = 0
    faults_fired: int = 0
    # (clock time, chat_id, method) of every accepted rate-limited call.
    sends: list[tuple[float, str, str]] = field(default_factory=list)

    def send_times(self, chat_id: str | None = None) -> list[float]:
        return [t for t, chat, _ in self.sends if chat_id is None or chat == chat_id]

    def to_json(self) -> JSON:
        return {
            "calls": dict(self.calls),
            "content_types": [[m, c, n] for (m, c), n in self.content_types.items()],
            "rate_limited": self.rate_limited,
            "faults_fired": self.faults_fired,
            "sends": [list(item) for item in self.sends],
        }


@dataclass
class SentMessage:
    """What the bot sent to a chat, as the person sees it: text exactly as sent (no markup is
    rendered on Zalo), or a photo with its caption, or a sticker."""

    message_id: str
    chat_id: str
    method: str
    date: int  # milliseconds
    text: str | None = None
    photo_url: str | None = None
    caption: str | None = None
    sticker: str | None = None
    photo_bytes: bytes | None = None

    @property
    def plain(self) -> str:
        return self.text if self.text is not None else (self.caption or "")

    def to_json(self) -> JSON:
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "method": self.method,
            "date": self.date,
            "text": self.text,
            "photo_url": self.photo_url,
            "caption": self.caption,
            "sticker": self.sticker,
            "photo_size": None if self.photo_bytes is None else len(self.photo_bytes),
        }


class _Bucket:
    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


def _now_ms() -> int:
    return int(time.time() * 1000)


def _new_id() -> str:
    # Zalo's ids look like 20 hex digits and carry no order; neither do these.
    return secrets.token_hex(10)


def _str(params: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None or (isinstance(value, str) and value == ""):
        if required:
            raise _bad(f"{name} is required")
        return None
    if isinstance(value, dict | list | bool):
        raise _bad(f"{name} must be a string")
    return str(value)


def _sniff_image(data: bytes) -> str | None:
    if data.startswith(_JPEG):
        return "image/jpeg"
    if data.startswith(_PNG):
        return "image/png"
    return None


class SandboxUser:
    """A Zalo user; its methods play that user in a private chat with the bot (or, with
    ``group=``, in a group chat the bot is in)."""

    def __init__(self, sandbox: ZaloSandbox, user_id: str, display_name: str) -> None:
        self._sb = sandbox
        self.id = user_id
        self.display_name = display_name
        self.blocked = False

    # --- playing the user

    def send_text(self, text: str, *, group: str | None = None) -> JSON:
        return self._sb._user_message(self, TEXT, group, text=text)

    def send_image(
        self,
        photo_url: str | None = None,
        *,
        data: bytes | None = None,
        caption: str | None = None,
        group: str | None = None,
    ) -> JSON:
        """An image the user sends: the platform gives bots a URL to fetch it from. Give
        ``data`` and the sandbox serves those bytes at a URL of its own, like Zalo's CDN."""
        if (photo_url is None) == (data is None):
            raise ValueError("give either photo_url or data")
        if data is not None:
            photo_url = self._sb.host_media(data)
        content: JSON = {"photo_url": photo_url}
        if caption:
            content["caption"] = caption
        return self._sb._user_message(self, IMAGE, group, **content)

    def send_sticker(self, sticker: str = DEFAULT_STICKER, *, group: str | None = None) -> JSON:
        return self._sb._user_message(self, STICKER, group, sticker=sticker)

    def send_unsupported(self, *, group: str | None = None) -> JSON:
        """A message the platform does not pass on (a file, a location, a contact card...):
        the bot learns only that something came."""
        return self._sb._user_message(self, UNSUPPORTED, group)

    def block(self) -> None:
        """The user blocks the bot; the platform sends no event for it."""
        self.blocked = True

    def unblock(self) -> None:
        self.blocked = False

    # --- inspection

    def messages(self) -> list[SentMessage]:
        """Everything the bot sent to this user's private chat."""
        return self._sb.chat_messages(self.id)

    def last(self) -> SentMessage:
        messages = self.messages()
        if not messages:
            raise LookupError(f"the bot sent nothing to chat {self.id}")
        return messages[-1]

    def inbox_text(self) -> str:
        return "\n".join(m.plain for m in self.messages() if m.plain)


class ZaloSandbox:
    """The platform core: world state, Bot API methods and the injection API."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        account_name: str = "Bot oshbot",
        limits: RateLimits | None = RateLimits(),  # frozen, so sharing the default is safe
        clock: Callable[[], float] = time.monotonic,
        http_transport: httpx.AsyncBaseTransport | None = None,
        origin: str = ORIGIN,
        insecure_urls: bool = False,
        fetch_photos: bool = True,
        webhook_timeout: float = 10.0,
    ) -> None:
        """``http_transport`` carries the sandbox's own requests (webhook posts, photo fetches):
        in-process tests route them to the bot's web application. ``insecure_urls`` accepts
        http:// webhook and photo URLs, for a bot served without TLS on a developer's machine;
        the platform itself never would."""
        self.token = token
        self.bot_info: JSON = {
            "id": token.split(":", 1)[0],
            "account_name": account_name,
            "account_type": "BASIC",
            # Groups are in beta on the platform; the sandbox lets users play in them.
            "can_join_groups": True,
        }
        self.limits = limits
        self.clock = clock
        self.http_transport = http_transport
        self.origin = origin.rstrip("/")
        self.insecure_urls = insecure_urls
        self.fetch_photos = fetch_photos
        self.webhook_timeout = webhook_timeout
        self.faults = Faults()
        self.stats = SandboxStats()
        self.users: dict[str, SandboxUser] = {}
        self.groups: dict[str, set[str]] = {}
        self.media: dict[str, tuple[bytes, str]] = {}
        self.chat_actions: list[tuple[str, str]] = []
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_updated_at = _now_ms()
        self.deliveries: list[WebhookDelivery] = []
        self._sent: dict[str, list[SentMessage]] = {}
        self._updates: deque[JSON] = deque()
        self._update_event = asyncio.Event()
        self._delivery: asyncio.Task[None] | None = None
        self._global_bucket: _Bucket | None = None
        self._chat_buckets: dict[str, _Bucket] = {}
        self._media_ids = itertools.count(1)
        self._methods: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            "getMe": lambda p: dict(self.bot_info),
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }

    # --- wiring helpers

    def transport(self) -> ZaloSandboxTransport:
        from bot.zalo.sandbox_http import ZaloSandboxTransport

        return ZaloSandboxTransport(self)

    # --- injection API

    def user(
        self, user_id: str | None = None, display_name: str = "Người dùng Zalo"
    ) -> SandboxUser:
        """The user with this id (created on first use; ``None`` makes a new id)."""
        user_id = user_id or _new_id()
        if user_id not in self.users:
            self.users[user_id] = SandboxUser(self, user_id, display_name)
        return self.users[user_id]

    def host_media(self, data: bytes, content_type: str | None = None) -> str:
        """Serve ``data`` at a URL of the sandbox (as Zalo's CDN serves users' photos)."""
        kind = content_type or _sniff_image(data) or "application/octet-stream"
        suffix = {"image/jpeg": ".jpg", "image/png": ".png"}.get(kind, "")
        name = f"{next(self._media_ids)}-{secrets.token_hex(4)}{suffix}"
        self.media[name] = (data, kind)
        return f"{self.origin}/media/{name}"

    def media_at(self, url: str) -> tuple[bytes, str] | None:
        """The hosted file behind a URL of the sandbox, by http or https alike (over HTTP the
        sandbox serves http, and oshbot's client sends photos by https URLs only)."""
        parts = urlsplit(url)
        if parts.netloc != urlsplit(self.origin).netloc or not parts.path.startswith("/media/"):
            return None
        return self.media.get(parts.path[len("/media/") :])

    def pending_updates(self) -> list[JSON]:
        return copy.deepcopy(list(self._updates))

    def chat_messages(self, chat_id: str) -> list[SentMessage]:
        return list(self._sent.get(chat_id, []))

    async def webhook_idle(self) -> None:
        """Wait until every queued update has been posted to the webhook (tests)."""
        while self._delivery is not None and not self._delivery.done():
            await asyncio.shield(self._delivery)

    # --- dispatch

    async def call(
        self,
        token: str,
        method: str,
        params: Mapping[str, Any],
        *,
        content_type: str = "application/json",
    ) -> tuple[int, JSON | str]:
        """Run one Bot API call: (HTTP status, JSON body, or the text of an HTML page)."""
        if token != self.token:
            return 200, ApiError(401, "Unauthorized").payload()
        handler = self._methods.get(method)
        if handler is None:
            return 200, ApiError(404, "Not Found: method not found").payload()
        self.stats.calls[method] += 1
        self.stats.content_types[(method, content_type)] += 1
        try:
            page = self._fire_fault(method, params)
            if page is not None:
                return 502, page
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as err:
            if err.error_code == 429:
                self.stats.rate_limited += 1
            return 200, err.payload()
        if method == "sendChatAction":
            return 200, {"ok": True}  # documented without a result
        return 200, {"ok": True, "result": result}

    def _fire_fault(self, method: str, params: Mapping[str, Any]) -> str | None:
        chat_id = params.get("chat_id")
        fault = self.faults.take(method, None if chat_id is None else str(chat_id))
        if fault is None:
            return None
        self.stats.faults_fired += 1
        if fault.kind == "429":
            raise ApiError(429, "Too Many Requests")
        if fault.kind == "blocked":
            raise ApiError(403, "Forbidden: the user has blocked the bot")
        if fault.kind == "5xx":
            return "<html><body><h1>502 Bad Gateway</h1></body></html>"
        if fault.kind == "network":
            raise SandboxDisconnect(f"scripted dropped connection for {method}")
        raise SandboxTimeout(f"scripted timeout for {method}")

    def _chat(self, params: Mapping[str, Any]) -> str:
        chat_id = _str(params, "chat_id")
        assert chat_id is not None
        if chat_id in self.groups:
            return chat_id
        user = self.users.get(chat_id)
        if user is None:
            raise ApiError(404, "Not Found: chat not found")
        if user.blocked:
            raise ApiError(403, "Forbidden: the user has blocked the bot")
        return chat_id

    def _check_rate(self, chat_id: str, method: str) -> None:
        now = self.clock()
        if self.limits is not None:
            limits = self.limits
            if self._global_bucket is None:
                self._global_bucket = _Bucket(limits.global_per_second, limits.global_burst, now)
            chat_bucket = self._chat_buckets.setdefault(
                chat_id, _Bucket(limits.per_chat_per_second, limits.per_chat_burst, now)
            )
            wait = max(self._global_bucket.wait_time(now), chat_bucket.wait_time(now))
            # The epsilon keeps float noise from refusing a send that is exactly on time.
            if wait > 1e-9:
                raise ApiError(429, "Too Many Requests")
            self._global_bucket.tokens -= 1
            chat_bucket.tokens -= 1
        self.stats.sends.append((now, chat_id, method))

    def _store(self, chat_id: str, method: str, **fields: Any) -> SentMessage:
        message = SentMessage(
            message_id=_new_id(), chat_id=chat_id, method=method, date=_now_ms(), **fields
        )
        self._sent.setdefault(chat_id, []).append(message)
        return message

    @staticmethod
    def _sent_json(message: SentMessage) -> JSON:
        return {"message_id": message.message_id, "date": message.date}

    def _check_url(self, url: str, what: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
            raise _bad(f"{what} must be a URL")
        if parts.scheme != "https" and not self.insecure_urls:
            raise _bad(f"{what} must be an https URL")

    # --- Bot API methods

    async def _get_updates(self, params: Mapping[str, Any]) -> Any:
        if self.webhook_url:
            raise ApiError(409, "Conflict: getUpdates is not available while a webhook is set")
        raw = _str(params, "timeout", required=False)
        try:
            timeout = 30.0 if raw is None else float(raw)
        except ValueError:
            raise _bad("timeout must be a number of seconds") from None
        if not math.isfinite(timeout) or timeout < 0:
            raise _bad("timeout must be a number of seconds")
        # Long polling uses real time: the injectable clock only governs rate limits.
        deadline = time.monotonic() + min(timeout, MAX_POLL)
        while not self._updates:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ApiError(408, "Request timeout")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), remaining)
        return self._updates.popleft()

    def _set_webhook(self, params: Mapping[str, Any]) -> Any:
        url = _str(params, "url") or ""
        self._check_url(url, "url")
        secret = _str(params, "secret_token")
        if secret is None or not SECRET_PATTERN.fullmatch(secret):
            raise _bad("secret_token must be 8-256 characters: letters, digits, _ or -")
        self.webhook_url, self.webhook_secret = url, secret
        self.webhook_updated_at = _now_ms()
        self._schedule_delivery()
        return {"url": url, "updated_at": self.webhook_updated_at}

    def _delete_webhook(self, params: Mapping[str, Any]) -> Any:
        self.webhook_url, self.webhook_secret = "", None
        self.webhook_updated_at = _now_ms()
        return {"url": "", "updated_at": self.webhook_updated_at}

    def _get_webhook_info(self, params: Mapping[str, Any]) -> Any:
        return {"url": self.webhook_url, "updated_at": self.webhook_updated_at}

    def _send_message(self, params: Mapping[str, Any]) -> Any:
        chat_id = self._chat(params)
        text = _str(params, "text", required=False) or ""
        if not text.strip():
            raise _bad("text is empty")
        if text_length(text) > MAX_TEXT:
            raise _bad(f"text is too long (at most {MAX_TEXT} characters)")
        self._check_rate(chat_id, "sendMessage")
        return self._sent_json(self._store(chat_id, "sendMessage", text=text))

    async def _send_photo(self, params: Mapping[str, Any]) -> Any:
        chat_id = self._chat(params)
        photo = _str(params, "photo") or ""
        self._check_url(photo, "photo")
        caption = _str(params, "caption", required=False)
        if caption is not None and text_length(caption) > MAX_CAPTION:
            raise _bad(f"caption is too long (at most {MAX_CAPTION} characters)")
        data = await self._fetch_photo(photo) if self.fetch_photos else None
        self._check_rate(chat_id, "sendPhoto")
        message = self._store(
            chat_id, "sendPhoto", photo_url=photo, caption=caption or None, photo_bytes=data
        )
        return self._sent_json(message)

    async def _fetch_photo(self, url: str) -> bytes:
        hosted = self.media_at(url)
        if hosted is not None:
            data = hosted[0]
        else:
            try:
                async with (
                    httpx.AsyncClient(
                        transport=self.http_transport, timeout=PHOTO_FETCH_TIMEOUT
                    ) as http,
                    http.stream("GET", url) as response,
                ):
                    if response.status_code != 200:
                        raise _bad(f"photo could not be fetched (HTTP {response.status_code})")
                    data = b""
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > MAX_PHOTO_BYTES:
                            break
            except httpx.HTTPError:
                raise _bad("photo could not be fetched") from None
        if len(data) > MAX_PHOTO_BYTES:
            raise _bad(f"photo is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
        if _sniff_image(data) is None:
            raise _bad("photo must be a JPEG or PNG image")
        return data

    def _send_sticker(self, params: Mapping[str, Any]) -> Any:
        chat_id = self._chat(params)
        sticker = _str(params, "sticker") or ""
        self._check_rate(chat_id, "sendSticker")
        return self._sent_json(self._store(chat_id, "sendSticker", sticker=sticker))

    def _send_chat_action(self, params: Mapping[str, Any]) -> Any:
        chat_id = self._chat(params)
        action = _str(params, "action") or ""
        if action != "typing":
            raise _bad(f"action {action!r} is not supported")
        self.chat_actions.append((chat_id, action))
        return True

    # --- world bookkeeping

    def _user_message(
        self, user: SandboxUser, event_name: str, group: str | None, **content: Any
    ) -> JSON:
        if group is not None:
            self.groups.setdefault(group, set()).add(user.id)
        chat = {"id": group or user.id, "chat_type": "GROUP" if group else "PRIVATE"}
        message = {
            "from": {"id": user.id, "display_name": user.display_name, "is_bot": False},
            "chat": chat,
            "message_id": _new_id(),
            "date": _now_ms(),
            **content,
        }
        update = {"event_name": event_name, "message": message}
        self._updates.append(update)
        # Swap in a fresh event so waiting polls wake once and later waits block again.
        self._update_event.set()
        self._update_event = asyncio.Event()
        self._schedule_delivery()
        return copy.deepcopy(update)

    def _schedule_delivery(self) -> None:
        if not self.webhook_url or not self._updates:
            return
        if self._delivery is not None and not self._delivery.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: delivered when the next update or setWebhook comes
        self._delivery = loop.create_task(self._deliver())

    async def _deliver(self) -> None:
        # One post at a time, in order, like a chat: the bot sees a person's messages in the
        # order they were typed.
        async with httpx.AsyncClient(
            transport=self.http_transport, timeout=self.webhook_timeout
        ) as http:
            while self.webhook_url and self._updates:
                update = self._updates.popleft()
                try:
                    response = await http.post(
                        self.webhook_url,
                        json={"ok": True, "result": update},
                        headers={SECRET_HEADER: self.webhook_secret or ""},
                    )
                    self.deliveries.append(WebhookDelivery(update, response.status_code))
                except httpx.HTTPError as exc:
                    self.deliveries.append(WebhookDelivery(update, None, repr(exc)))
