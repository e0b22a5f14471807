"""One-time sign-in to the web dashboard: /web in the chat (Telegram's handlers/web.py, Zalo's
bot/zalo/staff.py) issues a link, opening it once starts a browser session. Links are single
use across processes (a conditional UPDATE on the shared database), expire after minutes, and
are only ever issued to staff and coordinators.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from bot.i18n import Translate
from models.programme import ProgrammeError, audit
from models.tables import Contact, Role, WebSignIn
from models.text import esc

LINK_MINUTES = 15


def may_use_dashboard(contact: Contact | None) -> bool:
    """Staff of a provider and coordinators; read from the database on every request."""
    if contact is None or contact.erased_at is not None or contact.removed_at is not None:
        return False
    if contact.role == Role.COORDINATOR:
        return True
    return contact.role == Role.STAFF and contact.provider_id is not None


def issue(session: Session, contact: Contact | None, *, now: datetime) -> WebSignIn:
    if not may_use_dashboard(contact):
        raise ProgrammeError("not_staff")
    assert contact is not None and contact.id is not None
    row = WebSignIn(
        id=secrets.token_urlsafe(24),
        contact_id=contact.id,
        created_at=now,
        expires_at=now + timedelta(minutes=LINK_MINUTES),
    )
    session.add(row)
    session.flush()
    audit(session, "web.link", actor_id=contact.id)
    return row


def link_text(_: Translate, url: str) -> str:
    """What /web answers with the link (HTML), on every channel."""
    return _(
        "Your sign-in link to the dashboard. It works once, for {minutes} minutes; do not "
        "forward it.\n\n{link}",
        minutes=LINK_MINUTES,
        link=esc(url),
    )


def holder(session: Session, link_id: str, *, now: datetime) -> Contact:
    """Whom the link would sign in, without using it up: the page that asks them to confirm
    (a chat app's link preview or a mail scanner opens links too, and must not spend them)."""
    row = session.get(WebSignIn, link_id)
    if row is None:
        raise ProgrammeError("unknown_link")
    if row.expires_at <= now:
        raise ProgrammeError("expired_link")
    if row.used_at is not None:
        raise ProgrammeError("used_link")
    contact = session.get(Contact, row.contact_id)
    if not may_use_dashboard(contact):
        raise ProgrammeError("not_staff")
    assert contact is not None
    return contact


def redeem(session: Session, link_id: str, *, now: datetime) -> Contact:
    """The contact the link was issued to; the link cannot be used again afterwards."""
    row = session.get(WebSignIn, link_id)
    if row is None:
        raise ProgrammeError("unknown_link")
    if row.expires_at <= now:
        raise ProgrammeError("expired_link")
    used = session.execute(
        sa.update(WebSignIn)
        .where(col(WebSignIn.id) == link_id, col(WebSignIn.used_at).is_(None))
        .values(used_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if not used:
        raise ProgrammeError("used_link")
    contact = session.get(Contact, row.contact_id)
    if not may_use_dashboard(contact):
        raise ProgrammeError("not_staff")
    assert contact is not None
    audit(session, "web.sign_in", actor_id=contact.id)
    return contact
