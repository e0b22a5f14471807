"""Runtime settings, read from OSHBOT_* environment variables and a `.env` file."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"


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
    log_level: str = Field(default="INFO", description="Python logging level.")

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

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

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
