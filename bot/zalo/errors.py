"""Typed errors of the Zalo Bot Platform client.

The platform answers errors as ``{"ok": false, "error_code": N, "description": "..."}``, and
third parties report it does so with HTTP status 200, so the client maps the *body*, whatever the
status. Each class says what a caller should do with the message it tried to send, in
``retryable``: the outbox sender retries what may succeed later and gives up on the rest.
"""

from __future__ import annotations

__all__ = [
    "ZaloConflict",
    "ZaloError",
    "ZaloInvalidRequest",
    "ZaloNetworkError",
    "ZaloRateLimited",
    "ZaloServerError",
    "ZaloTimeout",
    "ZaloUnauthorized",
    "ZaloUnreachable",
]


class ZaloError(Exception):
    """An answer other than ``ok: true``. ``error_code`` is the platform's (or the HTTP status
    when there was no JSON), ``None`` when the client refused the request before sending it."""

    retryable = False

    def __init__(self, method: str, description: str, error_code: int | None = None) -> None:
        super().__init__(f"{method}: {description}" + (f" ({error_code})" if error_code else ""))
        self.method = method
        self.description = description
        self.error_code = error_code


class ZaloUnreachable(ZaloError):
    """The person blocked the bot, or the chat does not exist (any more): mark the contact
    unreachable on Zalo, and only there."""


class ZaloRateLimited(ZaloError):
    """Too many requests: send it again later. ``retry_after`` is the pause the platform asked
    for, or ``None`` when it named none (the platform documents no such field)."""

    retryable = True

    def __init__(
        self,
        method: str,
        description: str,
        error_code: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(method, description, error_code)
        self.retry_after = retry_after


class ZaloInvalidRequest(ZaloError):
    """The request itself is wrong (text too long, photo not a URL, unknown method): sending it
    again cannot help, so the message fails."""


class ZaloUnauthorized(ZaloError):
    """The token is wrong or revoked: a configuration error, fatal for the channel."""


class ZaloConflict(ZaloError):
    """``getUpdates`` while a webhook is set: the two modes exclude each other."""


class ZaloServerError(ZaloError):
    """The platform failed (5xx, a gateway's HTML page, a malformed answer): try again later."""

    retryable = True


class ZaloNetworkError(ZaloError):
    """No answer arrived (connection refused, reset, DNS): the request was not delivered."""

    retryable = True


class ZaloTimeout(ZaloNetworkError):
    """The request went out but no answer came in time: the message *may* have been delivered,
    and no channel offers an idempotency key, so a retry may repeat it."""
