"""One person, several channels: a registered person links a second channel (Telegram or Zalo)
to the same contact with a one-time code from the first.

`/link` on the channel the person is registered on gives a short code (the alphabet and shape
of an invite's short code: no look-alikes, 10 symbols); typed within LINK_MINUTES on the other
channel, by an account not registered there, it attaches that account to the same contact: one
identity, one language, one set of consents, every report and answer theirs on both. A code
works once; asking again ends the older one. Wrong codes count against the sender with the
invites' short codes (models/programme.py `guess`), so that guessing either kind is limited
alike. An account attached to another contact is never moved: the answer says so.

A code is a row of `web_sign_in`, the table of one-time, short-lived codes issued to a contact
(models/websignin.py), under the id "link:<code>": dashboard links carry a signed id, so the
two kinds can never be taken for each other, and no table is added for a 15-minute code.
Nothing here knows a channel's API: a channel is "telegram" or "zalo" and an account its id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.programme import (
    SHORT_CODE_ALPHABET,
    SHORT_CODE_LENGTH,
    ProgrammeError,
    audit,
    guess,
    guessed_right,
    invite_by_short_code,
)
from models.tables import Contact, Invite, WebSignIn

LINK_MINUTES = 15
PREFIX = "link:"
TELEGRAM, ZALO = "telegram", "zalo"
CHANNEL_NAMES = {TELEGRAM: "Telegram", ZALO: "Zalo"}


class Linking(StrEnum):
    LINKED = "linked"
    # Unknown, expired or used, or the sender is locked out: never told apart, for guessers.
    INVALID = "invalid"
    OWN = "own"  # the person's own code, typed where they are registered already
    TAKEN = "taken"  # the sender's account belongs to another contact
    OCCUPIED = "occupied"  # the code's person has another account on this channel


@dataclass(frozen=True)
class LinkResult:
    outcome: Linking
    channel: str
    contact: Contact | None = None


def other_channel(channel: str) -> str:
    return ZALO if channel == TELEGRAM else TELEGRAM


def channels_of(contact: Contact) -> list[str]:
    """The channels the person can be reached on."""
    found = [TELEGRAM] if contact.telegram_user_id is not None else []
    return found + ([ZALO] if contact.zalo_user_id is not None else [])


def _active(contact: Contact | None) -> bool:
    return contact is not None and contact.erased_at is None and contact.removed_at is None


def issue(session: Session, contact: Contact | None, *, channel: str, now: datetime) -> str:
    """A new code for `contact`, who asks on `channel`, to type on the other one; the
    person's earlier codes end. Refused ("link_both") when both channels are linked already."""
    if not _active(contact):
        raise ProgrammeError("not_registered")
    assert contact is not None and contact.id is not None
    if contact.telegram_user_id is not None and contact.zalo_user_id is not None:
        raise ProgrammeError("link_both")
    session.execute(
        sa.update(WebSignIn)
        .where(
            col(WebSignIn.contact_id) == contact.id,
            col(WebSignIn.id).startswith(PREFIX),
            col(WebSignIn.used_at).is_(None),
            col(WebSignIn.expires_at) > now,
        )
        .values(expires_at=now)
    )
    code = _new_code(session)
    session.add(
        WebSignIn(
            id=PREFIX + code,
            contact_id=contact.id,
            created_at=now,
            expires_at=now + timedelta(minutes=LINK_MINUTES),
        )
    )
    session.flush()
    audit(session, "contact.link_code", actor_id=contact.id, subject=contact, channel=channel)
    return code


def _new_code(session: Session) -> str:
    """A code unlike any invite's short code and any link code, so that a typed code is
    never both."""
    while True:
        code = "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))
        taken = session.exec(select(Invite.id).where(Invite.short_code == code)).first()
        if taken is None and session.get(WebSignIn, PREFIX + code) is None:
            return code


def live_code(session: Session, code: str, *, now: datetime) -> WebSignIn | None:
    """The unused, unexpired link code `code` (as stored: upper case, no separators)."""
    row = session.get(WebSignIn, PREFIX + code)
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    return row


def typed(
    session: Session,
    text: str | None,
    *,
    sender_key: str,
    now: datetime,
    telegram_user_id: int | None = None,
    zalo_user_id: str | None = None,
) -> Invite | WebSignIn | None:
    """What a typed short code stands for: a usable invite, a live link code, or nothing.
    One guess of the sender, whatever the kind (models/programme.py `guess`)."""
    code = guess(session, text, sender_key=sender_key, now=now)
    if code is None:
        return None
    found: Invite | WebSignIn | None = invite_by_short_code(
        session, code, now=now, telegram_user_id=telegram_user_id, zalo_user_id=zalo_user_id
    ) or live_code(session, code, now=now)
    if found is not None:
        guessed_right(session, sender_key)
    return found


def link(
    session: Session,
    row: WebSignIn,
    *,
    now: datetime,
    telegram_user_id: int | None = None,
    chat_id: int | None = None,
    zalo_user_id: str | None = None,
) -> LinkResult:
    """Attaches the sender's account (Telegram: `telegram_user_id` and its private `chat_id`;
    Zalo: `zalo_user_id`) to the person the code `row` was issued to, and uses the code up. An
    account that belongs to a contact already (the same person, another one, or someone
    removed) is left where it is; so is the person's account on this channel, if they have
    one. The code stays usable after a refusal: only a link uses it."""
    if telegram_user_id is None and zalo_user_id is None:
        raise ValueError("link() needs a Telegram or a Zalo account")
    channel = TELEGRAM if telegram_user_id is not None else ZALO
    contact = session.get(Contact, row.contact_id)
    if not _active(contact):
        return LinkResult(Linking.INVALID, channel)
    assert contact is not None
    account = (
        col(Contact.telegram_user_id) == telegram_user_id
        if telegram_user_id is not None
        else col(Contact.zalo_user_id) == zalo_user_id
    )
    holder = session.exec(select(Contact.id).where(account)).first()
    if holder is not None:
        if holder == contact.id:
            return LinkResult(Linking.OWN, channel, contact)
        audit(
            session, "contact.link_refused", actor_id=contact.id, subject=contact,
            channel=channel, reason="taken",
        )  # fmt: skip
        return LinkResult(Linking.TAKEN, channel, contact)
    current = contact.telegram_user_id if channel == TELEGRAM else contact.zalo_user_id
    if current is not None:
        return LinkResult(Linking.OCCUPIED, channel, contact)
    # Used once, in one statement: two accounts typing the same code cannot both win.
    used = session.execute(
        sa.update(WebSignIn)
        .where(
            col(WebSignIn.id) == row.id,
            col(WebSignIn.used_at).is_(None),
            col(WebSignIn.expires_at) > now,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return LinkResult(Linking.INVALID, channel)
    if channel == TELEGRAM:
        contact.telegram_user_id, contact.chat_id = telegram_user_id, chat_id
        contact.unreachable_at = None
    else:
        contact.zalo_user_id, contact.zalo_unreachable_at = zalo_user_id, None
    session.add(contact)
    session.flush()
    audit(session, "contact.link", actor_id=contact.id, subject=contact, channel=channel)
    return LinkResult(Linking.LINKED, channel, contact)


def redeem(
    session: Session,
    text: str | None,
    *,
    sender_key: str,
    now: datetime,
    telegram_user_id: int | None = None,
    chat_id: int | None = None,
    zalo_user_id: str | None = None,
) -> LinkResult:
    """A typed link code, from end to end (`typed`, then `link`); an invite's short code is
    no link code (INVALID)."""
    channel = TELEGRAM if telegram_user_id is not None else ZALO
    found = typed(
        session, text, sender_key=sender_key, now=now, telegram_user_id=telegram_user_id,
        zalo_user_id=zalo_user_id,
    )  # fmt: skip
    if not isinstance(found, WebSignIn):
        return LinkResult(Linking.INVALID, channel)
    return link(
        session, found, now=now, telegram_user_id=telegram_user_id, chat_id=chat_id,
        zalo_user_id=zalo_user_id,
    )  # fmt: skip
