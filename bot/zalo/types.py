"""The Zalo Bot Platform's objects, validated as they arrive.

Everything the platform sends is untrusted input (a webhook body can come from anyone who
guesses the URL, a long poll from a proxy in between), so updates and results are parsed with
pydantic rather than read as dicts: a missing chat id fails here, once, instead of as a
``KeyError`` deep in a driver. Unknown fields are ignored and unknown ``event_name`` values are
kept, so a platform that adds a field or an event (``message.voice.received`` is already
documented beside the four oshbot uses) breaks nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "IMAGE",
    "STICKER",
    "TEXT",
    "UNSUPPORTED",
    "BotInfo",
    "Chat",
    "Message",
    "Sender",
    "SentMessage",
    "Update",
    "WebhookInfo",
    "from_millis",
]

TEXT = "message.text.received"
IMAGE = "message.image.received"
STICKER = "message.sticker.received"
UNSUPPORTED = "message.unsupported.received"


def from_millis(value: Any) -> datetime:
    """Zalo dates are milliseconds since the epoch, as a number or a numeric string."""
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


class _Model(BaseModel):
    # Ids are strings on Zalo; a platform that sends a number must not fail validation.
    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)


class BotInfo(_Model):
    """What ``getMe`` answers."""

    id: str
    account_name: str = ""
    account_type: str = ""
    can_join_groups: bool = False


class Chat(_Model):
    id: str
    chat_type: str = "PRIVATE"  # PRIVATE or GROUP (groups are in beta on the platform)

    @property
    def is_group(self) -> bool:
        return self.chat_type.upper() == "GROUP"


class Sender(_Model):
    id: str
    display_name: str = ""
    is_bot: bool = False


class Message(_Model):
    model_config = ConfigDict(
        frozen=True, extra="ignore", coerce_numbers_to_str=True, populate_by_name=True
    )

    message_id: str
    date: datetime
    chat: Chat
    sender: Sender = Field(alias="from")
    text: str | None = None
    photo_url: str | None = None
    caption: str | None = None
    sticker: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _millis(cls, value: Any) -> datetime:
        return from_millis(value)


class Update(_Model):
    """One incoming event: ``getUpdates`` returns one, a webhook post carries one."""

    event_name: str
    message: Message | None = None


class SentMessage(_Model):
    """What a send method answers. Both fields stay optional: ``ok: true`` already means Zalo
    accepted the message, and a result missing an id must not turn a delivered message into an
    error that a sender would retry (and so deliver twice)."""

    message_id: str | None = None
    date: datetime | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _millis(cls, value: Any) -> datetime | None:
        return None if value is None else from_millis(value)


class WebhookInfo(_Model):
    url: str = ""
    updated_at: datetime | None = None

    @field_validator("updated_at", mode="before")
    @classmethod
    def _millis(cls, value: Any) -> datetime | None:
        return None if value in (None, "", 0) else from_millis(value)
