"""Runtime settings, read from OSHBOT_* environment variables and a `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.zalo.client import DEFAULT_BASE_URL as ZALO_API_BASE_URL
from bot.zalo.limits import CHAT_RATE, SECRET_PATTERN, SEND_RATE

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
# Seconds of Telegram's one-second window bulk sends keep free (bot/ratelimit.py explains why).
SEND_JITTER = 0.03


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OSHBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    token: str | None = Field(default=None, description="Bot token from @BotFather.")
    database_url: str = Field(
        default="sqlite:///oshbot.db", description="SQLAlchemy URL of the database."
    )
    api_base_url: str = Field(
        default=TELEGRAM_API_BASE_URL,
        description="Bot API base URL; the token is appended to it.",
    )
    timezone: str = Field(default="Asia/Ho_Chi_Minh", description="Programme time zone.")
    default_language: str = Field(default="vi", description="Language before a user picks one.")
    data_dir: Path = Field(default=Path("data"), description="Media and generated files.")
    bot_username: str | None = Field(
        default=None, description="Bot username for invite links; asked from getMe when unset."
    )
    invite_days: int = Field(default=14, ge=1, le=365, description="Days an invite stays valid.")
    webhook_secret: str | None = Field(default=None, description="Secret token for webhook mode.")
    webhook_url: str | None = Field(default=None, description="Public HTTPS URL for webhook mode.")
    webhook_listen: str = Field(default="0.0.0.0", description="Address the webhook server binds.")
    webhook_port: int = Field(default=8443, description="Port the webhook server listens on.")
    persistence_interval: float = Field(
        default=1.0, gt=0, description="Seconds between flushes of conversation state."
    )
    retention_days: int = Field(
        default=730, ge=30, description="Days after which raw texts and photos of leavers go."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text, or as one JSON object each."
    )
    health_outbox_seconds: float = Field(
        default=600, gt=0, description="/healthz fails when a message has been due this long."
    )
    # Named in the consent card as the contact of the data controller (Law 91/2025) for
    # coordinators, and for a provider that has no phone or e-mail on record.
    controller_contact: str | None = Field(
        default=None, description="Data-protection contact of the programme (phone, e-mail)."
    )
    # Printed as a QR code on newsletters and leaflets; without it they point at the bot.
    site_url: str | None = Field(default=None, description="Public address of the static site.")
    # The address people open the web application at (sign-in links of /web point there).
    public_url: str | None = Field(
        default=None, description="Public base URL of `oshbot serve`, e.g. https://osh.example.vn."
    )
    dashboard_secret: str | None = Field(
        default=None,
        description="Key that signs dashboard links and sessions; derived from the token if unset.",
    )
    # -- scheduler and sender (see scheduler/ and bot/sender.py)
    quiet_start: str = Field(default="21:00", description="Quiet hours start (programme time).")
    quiet_end: str = Field(default="07:00", description="Quiet hours end (programme time).")
    revisit_months: str = Field(
        default="1,3,6,12", description="Revisit offsets in months from the intervention date."
    )
    tips_day: int = Field(default=1, ge=1, le=28, description="Day of the month tips go out.")
    tips_hour: int = Field(default=9, ge=0, le=23, description="Hour tips go out.")
    send_rate: float = Field(
        default=30.0, gt=0, le=30, description="Messages per second to Telegram, all chats."
    )
    send_jitter: float = Field(
        default=SEND_JITTER,
        ge=0,
        le=0.5,
        description="Seconds of Telegram's one-second window bulk sends keep free for jitter.",
    )
    send_interval: float = Field(
        default=5.0, gt=0, description="Seconds between outbox sender runs."
    )
    # -- Zalo (bot/zalo/): the second channel; without a token oshbot runs on Telegram alone
    zalo_token: str | None = Field(default=None, description="Bot token from Zalo Bot Creator.")
    zalo_api_base_url: str = Field(
        default=ZALO_API_BASE_URL,
        description="Zalo Bot Platform base URL; the token is appended to it.",
    )
    zalo_webhook_secret: str | None = Field(
        default=None, description="Secret Zalo sends with each webhook post; others are refused."
    )
    # The link that opens the bot's chat in Zalo, copied from Zalo Bot Manager: the QR code of
    # an invite for Zalo opens it, and the code to type is printed beside it (Zalo has no deep
    # links). Without it, invites show the code alone for Zalo.
    zalo_chat_url: str | None = Field(
        default=None, description="Link that opens the bot's Zalo chat (https://zalo.me/...)."
    )
    # The platform publishes no rate limits: these sit below the sandbox's (bot/zalo/limits.py).
    zalo_send_rate: float = Field(
        default=SEND_RATE, gt=0, description="Messages per second to Zalo, all chats."
    )
    zalo_chat_rate: float = Field(
        default=CHAT_RATE, gt=0, description="Messages per second to one Zalo chat."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("default_language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        if value not in ("vi", "en"):
            raise ValueError("must be 'vi' or 'en'")
        return value

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _zalo_secret(cls, value: str | None) -> str | None:
        if value is not None and not SECRET_PATTERN.fullmatch(value):
            raise ValueError("must be 8-256 characters: letters, digits, _ or -")
        return value

    @field_validator("zalo_chat_url")
    @classmethod
    def _zalo_chat_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        if not value.strip().startswith("https://"):
            raise ValueError(
                "OSHBOT_ZALO_CHAT_URL must be an https:// link (from Zalo Bot Manager)"
            )
        return value.strip()

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.strip().partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise ValueError("must be a time of day like 21:00")
        return f"{int(hours):02d}:{int(minutes):02d}"

    @field_validator("revisit_months")
    @classmethod
    def _month_list(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(part.isdigit() and 1 <= int(part) <= 120 for part in parts):
            raise ValueError("must be whole months between 1 and 120, like 1,3,6,12")
        return ",".join(str(month) for month in sorted({int(part) for part in parts}))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sending_channels(self) -> tuple[str, ...]:
        """The channels this deployment sends on: those it has a token for. Without Telegram's,
        the outbox sends a Telegram row to someone also on Zalo by Zalo (bot/sender.py)."""
        tokens = (("telegram", self.token), ("zalo", self.zalo_token))
        return tuple(channel for channel, token in tokens if token)

    @property
    def api_file_base_url(self) -> str:
        """Telegram serves files at /file/bot<token>/..., beside /bot<token>/<method>."""
        base = self.api_base_url.rstrip("/")
        head, sep, tail = base.rpartition("/")
        if sep and tail.startswith("bot"):
            return f"{head}/file/{tail}"
        return f"{base}/file/bot"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"
