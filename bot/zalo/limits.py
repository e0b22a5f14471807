"""The Zalo Bot Platform's limits, in one place for the client, the sandbox and the sender.

Documented by the platform: text 1-2000 characters, caption up to 2000, photos by public URL,
webhook secret 8-256 characters. Not documented, so chosen here (see README, "Zalo"): how
characters are counted, what a photo URL may serve, and the sending rates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CHAT_RATE",
    "MAX_CAPTION",
    "MAX_PHOTO_BYTES",
    "MAX_TEXT",
    "PHOTO_TYPES",
    "SECRET_PATTERN",
    "SEND_RATE",
    "RateLimits",
    "text_length",
]

MAX_TEXT = 2000
MAX_CAPTION = 2000

# The platform names no alphabet for the secret. It travels in an HTTP header, and Telegram's
# rule for the same header (letters, digits, _ and -) is the safe subset of any such rule.
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,256}")

# What the sandbox accepts behind a photo URL. Zalo's Official Account API documents JPEG and
# PNG up to 1 MB for images sent by URL; the bot platform documents nothing, so the sandbox holds
# the bot to the OA rule rather than to a kinder one it may not have.
MAX_PHOTO_BYTES = 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})


def text_length(text: str) -> int:
    """Length as the platform may count it: UTF-16 code units, the unit its own text_styles
    offsets use. An emoji counts two, so a text that fits here fits under either count."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class RateLimits:
    """Token buckets the sandbox enforces (the platform publishes no limits; see README)."""

    global_per_second: float = 10.0
    global_burst: int = 10
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3


# What oshbot's sender aims for: below the sandbox on both counts, so that pacing and not the
# platform's answers keeps the pace (OSHBOT_ZALO_SEND_RATE, OSHBOT_ZALO_CHAT_RATE).
SEND_RATE = 8.0
CHAT_RATE = 1.0
