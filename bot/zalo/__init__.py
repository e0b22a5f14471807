"""The Zalo channel below its driver: a client for the Zalo Bot Platform, its typed errors and
objects, send pacing, webhook checks, and a sandbox that plays the platform.

The domain never imports this package; only the Zalo driver and the runtime do.
"""

from bot.zalo.client import DEFAULT_BASE_URL, ZaloClient
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
from bot.zalo.pacing import Pacer
from bot.zalo.types import BotInfo, Message, SentMessage, Update, WebhookInfo
from bot.zalo.webhook import SECRET_HEADER, InvalidWebhookBody, parse_webhook, secret_matches

__all__ = [
    "DEFAULT_BASE_URL",
    "SECRET_HEADER",
    "BotInfo",
    "InvalidWebhookBody",
    "Message",
    "Pacer",
    "SentMessage",
    "Update",
    "WebhookInfo",
    "ZaloClient",
    "ZaloConflict",
    "ZaloError",
    "ZaloInvalidRequest",
    "ZaloNetworkError",
    "ZaloRateLimited",
    "ZaloServerError",
    "ZaloTimeout",
    "ZaloUnauthorized",
    "ZaloUnreachable",
    "parse_webhook",
    "secret_matches",
]
