"""Signed links and the browser session of the dashboard.

The one-time link carries the id of a `web_sign_in` row, signed so that ids cannot be guessed
or made up; the row makes it single use and short-lived (models/websignin.py). Opening it sets a
signed cookie that lasts a working day. The cookie only says who signed in and when: role and
provider are read from the database on every request, so a person removed at noon is out at
noon. Forms carry a token derived from the session, so that another site cannot post in the
person's name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from bot.settings import Settings

COOKIE = "oshbot_dashboard"
SESSION_HOURS = 10  # a working day
LINK_SALT = "oshbot.dashboard.link"
SESSION_SALT = "oshbot.dashboard.session"


def secret_of(settings: Settings) -> str:
    """OSHBOT_DASHBOARD_SECRET, else one derived from the bot token (Telegram's, else Zalo's:
    already a secret every process of a deployment shares), else a random one: sessions then
    end with the process."""
    if settings.dashboard_secret:
        return settings.dashboard_secret
    token = settings.token or settings.zalo_token
    if token:
        return hmac.new(token.encode(), b"oshbot dashboard", hashlib.sha256).hexdigest()
    return _process_secret


_process_secret = secrets.token_hex(32)


def link_token(settings: Settings, link_id: str) -> str:
    return URLSafeSerializer(secret_of(settings), salt=LINK_SALT).dumps(link_id)


def link_id_of(settings: Settings, token: str) -> str | None:
    try:
        value = URLSafeSerializer(secret_of(settings), salt=LINK_SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def sign_in_url(settings: Settings, link_id: str) -> str:
    base = (settings.public_url or f"http://localhost:{settings.webhook_port}").rstrip("/")
    return f"{base}/dashboard/signin?t={link_token(settings, link_id)}"


@dataclass(frozen=True)
class Session:
    contact_id: int
    issued: datetime
    nonce: str
    language: str | None = None

    def expired(self, now: datetime) -> bool:
        return not (self.issued <= now < self.issued + timedelta(hours=SESSION_HOURS))


def new_session(contact_id: int, now: datetime) -> Session:
    return Session(contact_id, now, secrets.token_urlsafe(12))


def dump_session(settings: Settings, session: Session) -> str:
    return URLSafeSerializer(secret_of(settings), salt=SESSION_SALT).dumps(
        {
            "c": session.contact_id,
            "t": session.issued.timestamp(),
            "n": session.nonce,
            "l": session.language,
        }
    )


def load_session(settings: Settings, cookie: str | None) -> Session | None:
    if not cookie:
        return None
    try:
        data = URLSafeSerializer(secret_of(settings), salt=SESSION_SALT).loads(cookie)
        return Session(
            int(data["c"]),
            datetime.fromtimestamp(float(data["t"]), UTC),
            str(data["n"]),
            data.get("l"),
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def form_token(settings: Settings, session: Session) -> str:
    return hmac.new(
        secret_of(settings).encode(), f"form:{session.nonce}".encode(), hashlib.sha256
    ).hexdigest()


def form_token_ok(settings: Settings, session: Session, token: object) -> bool:
    return isinstance(token, str) and hmac.compare_digest(form_token(settings, session), token)
