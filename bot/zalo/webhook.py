"""The receiving end of a Zalo webhook: is the post from Zalo, and which update does it carry.

The web application (and any test standing in for it) calls these two before anything else:
a post without the secret set with ``setWebhook`` must never reach a driver.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from pydantic import ValidationError

from bot.zalo.types import Update

__all__ = ["SECRET_HEADER", "InvalidWebhookBody", "parse_webhook", "secret_matches"]

SECRET_HEADER = "X-Bot-Api-Secret-Token"


class InvalidWebhookBody(ValueError):
    """Not one ``{"ok": true, "result": <update>}`` object."""


def secret_matches(received: str | None, expected: str) -> bool:
    """Compare in constant time, so the answer's timing tells a guesser nothing."""
    if not received or not expected:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


def parse_webhook(body: bytes | str | dict[str, Any]) -> Update:
    """The update in a webhook post's body (one object, never a batch)."""
    try:
        data = json.loads(body) if isinstance(body, bytes | str) else body
    except ValueError:
        raise InvalidWebhookBody("the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("result"), dict):
        raise InvalidWebhookBody("the body has no update under 'result'")
    try:
        return Update.model_validate(data["result"])
    except ValidationError as exc:
        raise InvalidWebhookBody(
            f"malformed update: {exc.error_count()} invalid field(s)"
        ) from None
