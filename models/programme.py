"""Domain operations on the programme's members: providers, enterprises, invites, contacts.

Small functions with a keyword-only `session`; callers own the transaction. Nothing here knows
about Telegram: a registration is a user id, a chat id and a name from whatever channel.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import content
from models.tables import (
    AuditLog,
    Consent,
    ConsentPurpose,
    Contact,
    Enterprise,
    Invite,
    Provider,
    Role,
    utcnow,
)

# The consent card's wording (models/privacy.consent_notice), stored with every grant.
# 2026-12 names the data controller and its contact, the transfer abroad through the messaging
# platform, and that employers see their workers' reports without the worker's name. Grants of
# "2026-11" stay valid: the new wording explains more and asks for nothing further.
CONSENT_TEXT_VERSION = "2026-12"
NAME_MAX = 200
WORKERS_MAX = 1_000_000

# Coordinator and staff codes give power over the programme: each may be used once.
SINGLE_USE_ROLES = frozenset({Role.COORDINATOR, Role.STAFF})


class ProgrammeError(ValueError):
    """An operation refused for a reason the person can act on; `code` picks the message."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


def audit(
    session: Session,
    action: str,
    *,
    actor_id: int | None = None,
    subject: Any = None,
    **details: Any,
) -> None:
    session.add(
        AuditLog(
            action=action,
            actor_id=actor_id,
            subject_type=type(subject).__name__.lower() if subject is not None else None,
            subject_id=getattr(subject, "id", None),
            details=details,
        )
    )


# -- providers and enterprises ---------------------------------------------------------------


def clean_name(text: str | None) -> str:
    name = " ".join((text or "").split())
    if len(name) < 2:
        raise ProgrammeError("name_too_short")
    if len(name) > NAME_MAX:
        raise ProgrammeError("name_too_long", limit=NAME_MAX)
    return name


def add_provider(
    session: Session,
    *,
    name: str,
    province_code: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    actor_id: int | None = None,
) -> Provider:
    if province_code is not None and content.province(province_code) is None:
        raise ProgrammeError("unknown_province")
    provider = Provider(
        name=clean_name(name), province_code=province_code, phone=phone, email=email
    )
    session.add(provider)
    session.flush()
    audit(session, "provider.add", actor_id=actor_id, subject=provider)
    return provider


CONTACT_MAX = 40  # Provider.phone; the e-mail column holds 200


def set_provider_contact(
    session: Session,
    *,
    provider_id: int,
    phone: str | None,
    email: str | None,
    actor_id: int | None = None,
) -> Provider:
    """The provider's phone and e-mail: printed on newsletters and leaflets, and named in the
    consent card as the contact of the data controller. An empty value clears it."""
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise ProgrammeError("unknown_provider")
    if phone is not None:
        provider.phone = " ".join(phone.split())[:CONTACT_MAX] or None
    if email is not None:
        provider.email = email.strip()[:200] or None
    session.add(provider)
    audit(session, "provider.contact", actor_id=actor_id, subject=provider)
    return provider


def providers(session: Session) -> list[Provider]:
    return list(session.exec(select(Provider).where(Provider.active).order_by(Provider.name)))


def parse_workers(text: str) -> int:
    digits = text.strip().replace(".", "").replace(",", "").replace(" ", "")
    if not digits.isdigit():
        raise ProgrammeError("workers_not_number")
    workers = int(digits)
    if workers < 1:
        raise ProgrammeError("workers_too_few")
    if workers > WORKERS_MAX:
        raise ProgrammeError("workers_too_many", limit=WORKERS_MAX)
    return workers


def parse_day(text: str, *, today: date) -> date:
    """A day typed the Vietnamese way (29/11/2026, 29-11-2026) or as ISO (2026-11-29)."""
    raw = text.strip().replace("-", "/").replace(".", "/")
    parts = raw.split("/")
    try:
        if len(parts) == 3 and len(parts[0]) == 4:
            day = date(int(parts[0]), int(parts[1]), int(parts[2]))
        elif len(parts) == 3:
            day = date(int(parts[2]), int(parts[1]), int(parts[0]))
        else:
            raise ProgrammeError("date_invalid")
    except ValueError as error:
        raise ProgrammeError("date_invalid") from error
    if day > today:
        raise ProgrammeError("date_in_future")
    if day < today - timedelta(days=365 * 10):
        raise ProgrammeError("date_too_old")
    return day


@dataclass(frozen=True)
class EnterpriseDraft:
    name: str
    sector_code: str
    province_code: str
    workers: int
    intervention_date: date


def validate_enterprise(draft: EnterpriseDraft, *, today: date) -> EnterpriseDraft:
    if content.sector(draft.sector_code) is None:
        raise ProgrammeError("unknown_sector")
    if content.province(draft.province_code) is None:
        raise ProgrammeError("unknown_province")
    if not 1 <= draft.workers <= WORKERS_MAX:
        raise ProgrammeError("workers_too_many", limit=WORKERS_MAX)
    if draft.intervention_date > today:
        raise ProgrammeError("date_in_future")
    return EnterpriseDraft(
        name=clean_name(draft.name),
        sector_code=draft.sector_code,
        province_code=draft.province_code,
        workers=draft.workers,
        intervention_date=draft.intervention_date,
    )


def add_enterprise(
    session: Session,
    *,
    provider_id: int,
    draft: EnterpriseDraft,
    today: date,
    actor_id: int | None = None,
) -> Enterprise:
    if session.get(Provider, provider_id) is None:
        raise ProgrammeError("unknown_provider")
    clean = validate_enterprise(draft, today=today)
    enterprise = Enterprise(
        provider_id=provider_id,
        name=clean.name,
        sector_code=clean.sector_code,
        province_code=clean.province_code,
        workers=clean.workers,
        intervention_date=clean.intervention_date,
    )
    session.add(enterprise)
    session.flush()
    audit(session, "enterprise.add", actor_id=actor_id, subject=enterprise)
    return enterprise


def enterprises_of(session: Session, provider_id: int) -> list[Enterprise]:
    query = select(Enterprise).where(Enterprise.provider_id == provider_id)
    return list(session.exec(query.order_by(Enterprise.name)))


# -- invites ---------------------------------------------------------------------------------


def new_code() -> str:
    """96 random bits, URL-safe: fits Telegram's start parameter and cannot be guessed."""
    return secrets.token_urlsafe(12)


def create_invite(
    session: Session,
    *,
    role: Role,
    days: int,
    provider_id: int | None = None,
    enterprise_id: int | None = None,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> Invite:
    now = now or utcnow()
    if role in (Role.STAFF, Role.PARTNER) and session.get(Provider, provider_id) is None:
        raise ProgrammeError("unknown_provider")
    if role in (Role.EMPLOYER, Role.WORKER):
        enterprise = session.get(Enterprise, enterprise_id)
        if enterprise is None:
            raise ProgrammeError("unknown_enterprise")
        provider_id = enterprise.provider_id
    invite = Invite(
        code=new_code(),
        role=role,
        provider_id=provider_id,
        enterprise_id=enterprise_id,
        created_by_id=actor_id,
        created_at=now,
        expires_at=now + timedelta(days=days),
        max_uses=1 if role in SINGLE_USE_ROLES else None,
    )
    session.add(invite)
    session.flush()
    audit(session, "invite.create", actor_id=actor_id, subject=invite, role=str(role))
    return invite


def usable_invite(session: Session, code: str | None, *, now: datetime) -> Invite | None:
    """The invite behind `code` if it can still be used. Unknown, expired, revoked and used-up
    codes all give None, so that an answer never tells a guesser which codes exist."""
    if not code or len(code) > 64:
        return None
    invite = session.exec(select(Invite).where(Invite.code == code)).first()
    if invite is None or invite.revoked_at is not None or invite.expires_at <= now:
        return None
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return None
    return invite


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


# -- contacts --------------------------------------------------------------------------------


def contact_by_user(session: Session, telegram_user_id: int) -> Contact | None:
    query = select(Contact).where(
        Contact.telegram_user_id == telegram_user_id, col(Contact.erased_at).is_(None)
    )
    return session.exec(query).first()


class Registration(StrEnum):
    DONE = "done"
    INVITE_INVALID = "invite_invalid"
    ALREADY_REGISTERED = "already_registered"


@dataclass(frozen=True)
class RegistrationResult:
    outcome: Registration
    contact: Contact | None = None


def register(
    session: Session,
    *,
    code: str,
    telegram_user_id: int,
    chat_id: int,
    display_name: str | None,
    username: str | None,
    language: str,
    now: datetime,
    tips: bool = True,
) -> RegistrationResult:
    """Redeem an invite after the person agreed to the follow-up consent (and, when `tips`,
    to receiving monthly tips and good examples)."""
    existing = contact_by_user(session, telegram_user_id)
    if existing is not None:
        return RegistrationResult(Registration.ALREADY_REGISTERED, existing)
    invite = usable_invite(session, code, now=now)
    if invite is None:
        return RegistrationResult(Registration.INVITE_INVALID)
    # Counted in one statement, so two people racing for a single-use code cannot both win.
    claimed = session.execute(
        sa.update(Invite)
        .where(
            col(Invite.id) == invite.id,
            sa.or_(col(Invite.max_uses).is_(None), col(Invite.uses) < col(Invite.max_uses)),
        )
        .values(uses=Invite.uses + 1)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return RegistrationResult(Registration.INVITE_INVALID)
    contact = Contact(
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        display_name=(display_name or "")[:NAME_MAX] or None,
        username=username,
        role=invite.role,
        provider_id=invite.provider_id if invite.role in (Role.STAFF, Role.PARTNER) else None,
        enterprise_id=invite.enterprise_id,
        language=language,
        registered_at=now,
    )
    session.add(contact)
    session.flush()
    purposes = [ConsentPurpose.FOLLOWUP] + ([ConsentPurpose.TIPS] if tips else [])
    for purpose in purposes:
        session.add(
            Consent(
                contact_id=contact.id,
                purpose=purpose,
                text_version=CONSENT_TEXT_VERSION,
                language=language,
                granted_at=now,
            )
        )
    audit(session, "contact.register", actor_id=contact.id, subject=contact, invite=invite.id)
    return RegistrationResult(Registration.DONE, contact)


def set_language(session: Session, contact: Contact, language: str) -> None:
    contact.language = language
    session.add(contact)


def mark_reachable(session: Session, contact: Contact, *, chat_id: int) -> None:
    """A message from the person proves the bot can reach them again."""
    if contact.unreachable_at is not None or contact.chat_id != chat_id:
        contact.unreachable_at = None
        contact.chat_id = chat_id
        session.add(contact)


def mark_unreachable(session: Session, telegram_user_id: int, *, now: datetime) -> None:
    contact = contact_by_user(session, telegram_user_id)
    if contact is not None and contact.unreachable_at is None:
        contact.unreachable_at = now
        session.add(contact)
        audit(session, "contact.unreachable", subject=contact)


def organisation_name(session: Session, contact: Contact) -> str | None:
    if contact.enterprise_id is not None:
        enterprise = session.get(Enterprise, contact.enterprise_id)
        return enterprise.name if enterprise else None
    if contact.provider_id is not None:
        provider = session.get(Provider, contact.provider_id)
        return provider.name if provider else None
    return None


def counts(session: Session) -> dict[str, int]:
    """How many of each thing the programme holds (for the demo and `oshbot status`)."""
    result = {
        "providers": session.exec(select(sa.func.count()).select_from(Provider)).one(),
        "enterprises": session.exec(select(sa.func.count()).select_from(Enterprise)).one(),
        "invites": session.exec(select(sa.func.count()).select_from(Invite)).one(),
    }
    by_role = session.exec(
        select(Contact.role, sa.func.count()).group_by(Contact.role)  # type: ignore[arg-type]
    ).all()
    for role in Role:
        result[f"contacts_{role}"] = 0
    for role, number in by_role:
        result[f"contacts_{role}"] = number
    return result
