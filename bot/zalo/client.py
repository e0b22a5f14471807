"""A thin async client for the Zalo Bot Platform, on httpx.

Why not the ``python-zalo-bot`` SDK: it posts form bodies, returns ``None`` instead of raising
when the platform answers ``{"ok": false}`` with HTTP 200 (a blocked person, an unknown chat and a
text that is too long all pass silently), cannot be given a transport, and runs its webhook
methods through ``asyncio.run`` (fatal inside a running bot). The evaluation is in README.md,
"Zalo".

Every call is ``POST <base_url><token>/<method>`` with a JSON body. The answer's body decides,
whatever the HTTP status: ``ok: true`` gives the result, anything else raises a
:class:`~bot.zalo.errors.ZaloError` subclass saying what to do with the message. Requests the
platform would refuse (text over 2000 characters, a photo that is not an https URL) are refused
here before they cost a request. The token is part of every URL and never appears in an error.
"""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from bot.zalo.errors import (
    ZaloConflict,
    ZaloError,
    ZaloInvalidRequest,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloServerError,
    ZaloTimeout,
    ZaloUnauthorized,
    ZaloUnreachable,
)
from bot.zalo.limits import MAX_CAPTION, MAX_TEXT, SECRET_PATTERN, text_length
from bot.zalo.pacing import Pacer
from bot.zalo.types import BotInfo, SentMessage, Update, WebhookInfo

__all__ = ["DEFAULT_BASE_URL", "ZaloClient"]

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com/bot"

# Methods that put something in a chat: an unknown chat there means an unreachable person.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendChatAction"})
CHAT_ACTIONS = frozenset({"typing"})  # "upload_photo" is announced as coming, not available

# Descriptions that mean "this person cannot be reached", whatever code carries them: the
# platform documents no error codes, so the words are matched as well as the numbers.
_UNREACHABLE_WORDS = ("blocked", "chat not found", "user not found", "not follow", "recipient")

# sendPhoto waits while the platform fetches the photo from its URL.
PHOTO_READ_TIMEOUT = 60.0
# A long poll may take its whole timeout; the read waits that long and this much more.
POLL_GRACE = 10.0


def _error(
    method: str, code: int | None, description: str, retry_after: float | None = None
) -> ZaloError:
    text = description.lower()
    if code == 429 or "too many" in text or "rate limit" in text:
        return ZaloRateLimited(method, description or "Too Many Requests", code, retry_after)
    if code == 401:
        return ZaloUnauthorized(method, description or "Unauthorized", code)
    if code == 409:
        return ZaloConflict(method, description or "Conflict", code)
    if code == 403 or (method in SEND_METHODS and code == 404):
        return ZaloUnreachable(method, description or "Forbidden", code)
    if method in SEND_METHODS and any(word in text for word in _UNREACHABLE_WORDS):
        return ZaloUnreachable(method, description, code)
    if code is not None and code >= 500:
        return ZaloServerError(method, description or "Server Error", code)
    if code is not None and 400 <= code < 500:
        return ZaloInvalidRequest(method, description or "Bad Request", code)
    return ZaloError(method, description or "unknown error", code)


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _https_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and not any(c.isspace() for c in value)


class ZaloClient:
    """One bot's connection to the platform; ``async with ZaloClient(...) as zalo:``.

    ``transport`` replaces the network (the sandbox's in-process transport in tests);
    ``pacer`` paces the send methods (see :mod:`bot.zalo.pacing`), whose ``bulk=True`` marks an
    outbox send that must leave room for replies.
    """

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        pacer: Pacer | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not token or any(c.isspace() or c == "/" for c in token):
            raise ValueError("a Zalo bot token has no spaces or slashes")
        self._token = token
        self._base_url = base_url
        self.pacer = pacer
        self._http = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(timeout, connect=5.0)
        )

    def __repr__(self) -> str:
        return f"ZaloClient(base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the API

    async def get_me(self) -> BotInfo:
        return self._parse("getMe", BotInfo, await self._call("getMe", {}))

    async def get_updates(self, timeout: int = 30) -> Update | None:
        """Wait up to ``timeout`` seconds for the next update. The platform hands out one
        update per call and forgets it once handed out (there is no offset), and answers an
        empty poll with error 408, which is ``None`` here."""
        if timeout < 0:
            raise ZaloInvalidRequest("getUpdates", "timeout must be 0 or more seconds")
        try:
            # The official parameter table types timeout as a string.
            result = await self._call(
                "getUpdates", {"timeout": str(timeout)}, read_timeout=timeout + POLL_GRACE
            )
        except ZaloError as error:
            if error.error_code == 408:
                return None
            raise
        if not result:
            return None
        return self._parse("getUpdates", Update, result)

    async def set_webhook(self, url: str, secret_token: str) -> WebhookInfo:
        if not _https_url(url):
            raise ZaloInvalidRequest("setWebhook", "the webhook URL must be an https URL")
        if not SECRET_PATTERN.fullmatch(secret_token):
            raise ZaloInvalidRequest(
                "setWebhook",
                "the secret token must be 8-256 letters, digits, '_' or '-'",
            )
        result = await self._call("setWebhook", {"url": url, "secret_token": secret_token})
        return self._parse("setWebhook", WebhookInfo, result or {"url": url})

    async def delete_webhook(self) -> WebhookInfo:
        return self._parse(
            "deleteWebhook", WebhookInfo, await self._call("deleteWebhook", {}) or {}
        )

    async def get_webhook_info(self) -> WebhookInfo:
        result = await self._call("getWebhookInfo", {})
        return self._parse("getWebhookInfo", WebhookInfo, result or {})

    async def send_message(self, chat_id: str, text: str, *, bulk: bool = False) -> SentMessage:
        """Plain text, 1-2000 characters (UTF-16 units); the platform has no keyboards, and
        oshbot sends no markup, so tags and asterisks arrive as typed."""
        self._check_chat("sendMessage", chat_id)
        length = text_length(text)
        if not text.strip() or length > MAX_TEXT:
            raise ZaloInvalidRequest(
                "sendMessage", f"text must be 1-{MAX_TEXT} characters, not {length}"
            )
        return await self._send("sendMessage", chat_id, {"text": text}, bulk=bulk)

    async def send_photo(
        self, chat_id: str, photo_url: str, caption: str | None = None, *, bulk: bool = False
    ) -> SentMessage:
        """A photo by public https URL (the platform fetches it), with an optional caption."""
        self._check_chat("sendPhoto", chat_id)
        if not _https_url(photo_url):
            raise ZaloInvalidRequest("sendPhoto", "the photo must be a public https URL")
        payload: dict[str, Any] = {"photo": photo_url}
        if caption is not None and caption.strip():
            if text_length(caption) > MAX_CAPTION:
                raise ZaloInvalidRequest(
                    "sendPhoto", f"caption must be at most {MAX_CAPTION} characters"
                )
            payload["caption"] = caption
        return await self._send(
            "sendPhoto", chat_id, payload, bulk=bulk, read_timeout=PHOTO_READ_TIMEOUT
        )

    async def send_sticker(self, chat_id: str, sticker: str, *, bulk: bool = False) -> SentMessage:
        self._check_chat("sendSticker", chat_id)
        if not sticker.strip():
            raise ZaloInvalidRequest("sendSticker", "sticker is empty")
        return await self._send("sendSticker", chat_id, {"sticker": sticker}, bulk=bulk)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> bool:
        """Show "typing..." to the person; not paced (nothing lands in the chat)."""
        self._check_chat("sendChatAction", chat_id)
        if action not in CHAT_ACTIONS:
            raise ZaloInvalidRequest("sendChatAction", f"unsupported action {action!r}")
        await self._call("sendChatAction", {"chat_id": chat_id, "action": action})
        return True

    # The platform's own names, as python-telegram-bot offers them beside snake_case, so code
    # can read like the platform's documentation.
    getMe = get_me
    getUpdates = get_updates
    setWebhook = set_webhook
    deleteWebhook = delete_webhook
    getWebhookInfo = get_webhook_info
    sendMessage = send_message
    sendPhoto = send_photo
    sendSticker = send_sticker
    sendChatAction = send_chat_action

    # --- plumbing

    @staticmethod
    def _check_chat(method: str, chat_id: str) -> None:
        if not isinstance(chat_id, str) or not chat_id.strip():
            raise ZaloInvalidRequest(method, "chat_id must be a non-empty string")

    async def _send(
        self,
        method: str,
        chat_id: str,
        payload: dict[str, Any],
        *,
        bulk: bool,
        read_timeout: float | None = None,
    ) -> SentMessage:
        if self.pacer is not None:
            await self.pacer.acquire(chat_id, bulk=bulk)
        try:
            result = await self._call(
                method, {"chat_id": chat_id, **payload}, read_timeout=read_timeout
            )
        except ZaloRateLimited as error:
            if self.pacer is not None:
                self.pacer.pause(error.retry_after)
            raise
        try:
            return SentMessage.model_validate(result if isinstance(result, dict) else {})
        except ValidationError:
            # Accepted all the same (ok: true): reporting an error would get it sent twice.
            return SentMessage()

    def _parse(self, method: str, model: Any, result: Any) -> Any:
        try:
            return model.model_validate(result)
        except ValidationError as exc:
            raise ZaloServerError(
                method, f"malformed result: {exc.error_count()} invalid field(s)"
            ) from None

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[token]")

    async def _call(
        self, method: str, payload: dict[str, Any], *, read_timeout: float | None = None
    ) -> Any:
        url = f"{self._base_url}{self._token}/{method}"
        timeout = None
        if read_timeout is not None:
            timeout = httpx.Timeout(
                self._http.timeout.read, connect=self._http.timeout.connect, read=read_timeout
            )
        try:
            if timeout is None:
                response = await self._http.post(url, json=payload)
            else:
                response = await self._http.post(url, json=payload, timeout=timeout)
        except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
            raise ZaloTimeout(method, self._redact(str(exc)) or "no answer in time") from None
        except httpx.TransportError as exc:
            # Connection refused or timed out before sending: the request never arrived.
            detail = self._redact(str(exc)) or type(exc).__name__
            raise ZaloNetworkError(method, detail) from None
        return self._result(method, response)

    @staticmethod
    def _result(method: str, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            # Not the platform speaking but a proxy's or gateway's page: no verdict on the
            # request itself, so only the statuses that mean the same everywhere are mapped.
            if status == 429:
                retry_after = _seconds(response.headers.get("retry-after"))
                raise ZaloRateLimited(method, "Too Many Requests", status, retry_after)
            if status == 401:
                raise ZaloUnauthorized(method, "Unauthorized", status)
            raise ZaloServerError(method, f"HTTP {status} without the platform's answer", status)
        if body["ok"]:
            return body.get("result")
        code = _code(body.get("error_code"))
        if code is None and status != 200:
            code = status
        parameters = body.get("parameters")
        retry_after = (
            _seconds(parameters.get("retry_after")) if isinstance(parameters, dict) else None
        )
        raise _error(method, code, str(body.get("description") or ""), retry_after)
