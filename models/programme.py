"""Domain operations on the programme's members: providers, enterprises, invites, contacts.

Small functions with a keyword-only `session`; callers own the transaction. Nothing here knows
about Telegram: a registration is a user id, a chat id and a name from whatever channel.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models import content
from models.tables import (
    AuditLog,
    CodeAttempt,
    Consent,
    ConsentPurpose,
    Contact,
    Enterprise,
    Invite,
    Provider,
    Role,
    UTCDateTime,
    table_of,
    utcnow,
)

# The consent card's wording (models/privacy.consent_notice), stored with every grant.
# 2026-12 names the data controller and its contact, the transfer abroad through the messaging
# platform, and that employers see their workers' reports without the worker's name. Grants of
# "2026-11" stay valid: the new wording explains more and asks for nothing further.
CONSENT_TEXT_VERSION = "2026-12"
# The same card for people on Zalo: Zalo instead of Telegram (no transfer abroad). "2026-12-zalo"
# sent the rights to the provider; now the same commands work in the Zalo chat. Its grants stay
# valid: the rights only became easier to use.
ZALO_CONSENT_TEXT_VERSION = "2026-12-zalo-rights"
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


def edit_enterprise(
    session: Session,
    enterprise: Enterprise,
    field: str,
    value: Any,
    *,
    today: date,
    actor_id: int | None = None,
) -> Enterprise:
    """Changes one thing about an enterprise, checked by the rules that added it (a training
    day not in the future, ...); audited with the value before and after. The summary's
    rollups follow through the session's events (reports/rollups.py)."""
    columns = {
        "name": "name", "sector": "sector_code", "province": "province_code",
        "workers": "workers", "date": "intervention_date",
    }  # fmt: skip
    if field not in columns:
        raise ProgrammeError("stale")
    current = EnterpriseDraft(
        enterprise.name, enterprise.sector_code, enterprise.province_code, enterprise.workers,
        enterprise.intervention_date,
    )  # fmt: skip
    if field == "date" and isinstance(value, str):
        value = date.fromisoformat(value)
    changed = validate_enterprise(replace(current, **{columns[field]: value}), today=today)
    before = getattr(enterprise, columns[field])
    after = getattr(changed, columns[field])
    setattr(enterprise, columns[field], after)
    session.add(enterprise)
    session.flush()
    audit(
        session, "enterprise.edit", actor_id=actor_id, subject=enterprise, field=field,
        before=str(before), after=str(after),
    )  # fmt: skip
    return enterprise


def enterprises_of(session: Session, provider_id: int) -> list[Enterprise]:
    query = select(Enterprise).where(Enterprise.provider_id == provider_id)
    return list(session.exec(query.order_by(Enterprise.name)))


# -- invites ---------------------------------------------------------------------------------
# A link that leaks must stay contained: each has a joiner limit, issuing an enterprise link ends
# the older one of the same role, staff can end a link (revoke) or issue a new one, and they
# hear of every person who joins (models/members.py). Every code also has a short form to type,
# for channels without deep links (Zalo), guarded by a per-sender limit on wrong guesses.

# No look-alikes: no 0/O, 1/I/l, 5/S, 2/Z, 8/B. 25 symbols, 10 of them: 46 bits, so that even
# many senders each allowed SHORT_CODE_GUESSES a window find one of thousands of live codes
# with a negligible chance.
SHORT_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
SHORT_CODE_LENGTH = 10
SHORT_CODE_GUESSES = 5  # wrong short codes a sender may type per window
SHORT_CODE_WINDOW = timedelta(hours=1)
# Joiner limits: an employer link admits a few managers; a worker link the workforce plus 20 %
# and 2 more (new hires, a second phone); a partner link a partner organisation's few people.
EMPLOYER_LINK_LIMIT = 3
WORKER_LINK_EXTRA_PERCENT = 20
WORKER_LINK_MARGIN = 2
PARTNER_LINK_LIMIT = 10
ENTERPRISE_ROLES = frozenset({Role.EMPLOYER, Role.WORKER})
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def new_code() -> str:
    """96 random bits, URL-safe: fits Telegram's start parameter and cannot be guessed."""
    return secrets.token_urlsafe(12)


def new_short_code(session: Session) -> str:
    """A code to type, unique among all invites (so among the live ones too). The unique index
    settles the astronomically rare race of two processes drawing the same code."""
    while True:
        code = "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))
        if session.exec(select(Invite.id).where(Invite.short_code == code)).first() is None:
            return code


def normalise_short_code(text: str | None) -> str:
    """What a person typed, as stored: upper case, without spaces and dashes."""
    return _SEPARATORS.sub("", text or "").upper()


def looks_like_short_code(text: str | None) -> bool:
    """Typed text that is meant as a code: 10 letters and digits once spaces and dashes go.
    Look-alikes outside the alphabet still count as a (wrong) code, not as chatter."""
    code = normalise_short_code(text)
    return len(code) == SHORT_CODE_LENGTH and code.isascii() and code.isalnum()


def format_short_code(code: str | None) -> str:
    """As shown to people: two groups of five, easier to read out and type."""
    if not code:
        return ""
    return f"{code[:5]}-{code[5:]}"


def active_members(session: Session, *, enterprise_id: int, role: Role) -> int:
    query = (
        select(sa.func.count())
        .select_from(Contact)
        .where(
            Contact.enterprise_id == enterprise_id,
            Contact.role == role,
            col(Contact.removed_at).is_(None),
            col(Contact.erased_at).is_(None),
        )
    )
    return int(session.exec(query).one())


def join_limit(session: Session, *, role: Role, enterprise: Enterprise | None = None) -> int:
    """How many people a new link of `role` admits. Enterprise links admit what the enterprise
    can still need: people of that role already registered are counted against the default,
    so that a link issued after a leak does not open the door as wide again."""
    if role in SINGLE_USE_ROLES:
        return 1
    if role == Role.PARTNER:
        return PARTNER_LINK_LIMIT
    assert enterprise is not None and enterprise.id is not None
    registered = active_members(session, enterprise_id=enterprise.id, role=role)
    if role == Role.EMPLOYER:
        return max(1, EMPLOYER_LINK_LIMIT - registered)
    workforce = -(-enterprise.workers * (100 + WORKER_LINK_EXTRA_PERCENT) // 100)  # ceiling
    return max(WORKER_LINK_MARGIN, workforce + WORKER_LINK_MARGIN - registered)


def _live(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Invite.revoked_at).is_(None),
        col(Invite.expires_at) > now,
        sa.or_(col(Invite.max_uses).is_(None), col(Invite.uses) < col(Invite.max_uses)),
    )


def live_invite(
    session: Session, *, enterprise_id: int, role: Role, now: datetime
) -> Invite | None:
    """The enterprise's link of `role` that still admits people (the newest, should an old
    database hold several)."""
    query = (
        select(Invite)
        .where(Invite.enterprise_id == enterprise_id, Invite.role == role, _live(now))
        .order_by(col(Invite.created_at).desc(), col(Invite.id).desc())
    )
    return session.exec(query).first()


def revoke_invite(
    session: Session,
    invite: Invite,
    *,
    now: datetime,
    actor_id: int | None = None,
    reason: str = "revoked",
) -> bool:
    """Ends a link at once; its joiners stay. False when it had ended already."""
    ended = session.execute(
        sa.update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        return False
    invite.revoked_at = now
    audit(session, "invite.revoke", actor_id=actor_id, subject=invite, reason=reason)
    return True


def revoke_live(
    session: Session,
    *,
    enterprise_id: int,
    role: Role,
    now: datetime,
    actor_id: int | None = None,
    reason: str = "revoked",
) -> int:
    """Ends every unexpired link of an enterprise and role; how many it ended."""
    query = select(Invite).where(
        Invite.enterprise_id == enterprise_id,
        Invite.role == role,
        col(Invite.revoked_at).is_(None),
        col(Invite.expires_at) > now,
    )
    return sum(
        revoke_invite(session, invite, now=now, actor_id=actor_id, reason=reason)
        for invite in session.exec(query).all()
    )


def create_invite(
    session: Session,
    *,
    role: Role,
    days: int,
    provider_id: int | None = None,
    enterprise_id: int | None = None,
    actor_id: int | None = None,
    now: datetime | None = None,
    max_uses: int | None = None,
) -> Invite:
    """A new link with its short code and joiner limit (`max_uses`, default `join_limit`). A new
    employer or worker link ends the enterprise's older one of the same role: a link handed out
    again must not leave a leaked one working."""
    now = now or utcnow()
    enterprise = None
    if role in (Role.STAFF, Role.PARTNER) and session.get(Provider, provider_id) is None:
        raise ProgrammeError("unknown_provider")
    if role in ENTERPRISE_ROLES:
        enterprise = session.get(Enterprise, enterprise_id)
        if enterprise is None:
            raise ProgrammeError("unknown_enterprise")
        if enterprise.archived_at is not None:
            raise ProgrammeError("archived")  # nobody joins an enterprise no longer followed
        provider_id = enterprise.provider_id
    if max_uses is not None and max_uses < 1:
        raise ProgrammeError("limit_too_small")
    if role in SINGLE_USE_ROLES:
        max_uses = 1
    if enterprise is not None:
        revoke_live(
            session, enterprise_id=enterprise.id, role=role, now=now, actor_id=actor_id,  # type: ignore[arg-type]
            reason="replaced",
        )  # fmt: skip
    invite = Invite(
        code=new_code(),
        short_code=new_short_code(session),
        role=role,
        provider_id=provider_id,
        enterprise_id=enterprise_id,
        created_by_id=actor_id,
        created_at=now,
        expires_at=now + timedelta(days=days),
        max_uses=max_uses or join_limit(session, role=role, enterprise=enterprise),
    )
    session.add(invite)
    session.flush()
    audit(
        session, "invite.create", actor_id=actor_id, subject=invite, role=str(role),
        max_uses=invite.max_uses,
    )  # fmt: skip
    return invite


def may_manage(actor: Contact | None, enterprise: Enterprise | None) -> bool:
    """Coordinators manage every enterprise; staff those of their own provider."""
    if actor is None or enterprise is None or actor.removed_at or actor.erased_at:
        return False
    if actor.role == Role.COORDINATOR:
        return True
    return actor.role == Role.STAFF and actor.provider_id == enterprise.provider_id


def managed_enterprise(session: Session, actor: Contact | None, enterprise_id: int) -> Enterprise:
    """The enterprise, if `actor` may manage it: checked against the database at each press."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise ProgrammeError("unknown_enterprise")
    if not may_manage(actor, enterprise):
        raise ProgrammeError("not_allowed")
    return enterprise


def reissue_invite(
    session: Session,
    *,
    enterprise_id: int,
    role: Role,
    actor: Contact | None,
    days: int,
    now: datetime,
) -> Invite:
    """A new employer or worker link for the enterprise; the old one ends at once. `actor` None
    is the operator at the command line."""
    if role not in ENTERPRISE_ROLES:
        raise ProgrammeError("not_allowed")
    if actor is None:
        if session.get(Enterprise, enterprise_id) is None:
            raise ProgrammeError("unknown_enterprise")
    else:
        managed_enterprise(session, actor, enterprise_id)
    actor_id = actor.id if actor is not None else None
    invite = create_invite(
        session, role=role, days=days, enterprise_id=enterprise_id, actor_id=actor_id, now=now
    )
    audit(session, "invite.reissue", actor_id=actor_id, subject=invite, role=str(role))
    return invite


def enterprise_links(
    session: Session, *, enterprise_id: int, actor: Contact, days: int, now: datetime
) -> dict[Role, Invite]:
    """The enterprise's current employer and worker links, issuing a link only where none
    admits anyone any more: showing the links again must not multiply them."""
    managed_enterprise(session, actor, enterprise_id)
    links: dict[Role, Invite] = {}
    for role in (Role.EMPLOYER, Role.WORKER):
        current = live_invite(session, enterprise_id=enterprise_id, role=role, now=now)
        links[role] = current or create_invite(
            session, role=role, days=days, enterprise_id=enterprise_id, actor_id=actor.id, now=now
        )
    return links


def usable_invite(
    session: Session,
    code: str | None,
    *,
    now: datetime,
    telegram_user_id: int | None = None,
    zalo_user_id: str | None = None,
) -> Invite | None:
    """The invite behind `code` if it can still be used (by `telegram_user_id` or
    `zalo_user_id`, when given: a person who was removed comes back only with a link issued
    after their removal, not with the one they were removed from). Unknown, expired, revoked
    and used-up codes all give None, so that an answer never tells a guesser which codes
    exist."""
    if not code or len(code) > 64:
        return None
    invite = session.exec(select(Invite).where(Invite.code == code)).first()
    if invite is None or invite.revoked_at is not None or invite.expires_at <= now:
        return None
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return None
    account = _account(telegram_user_id, zalo_user_id)
    if account is not None:
        removed = session.exec(
            select(Contact.removed_at).where(account, col(Contact.removed_at).is_not(None))
        ).first()
        if removed is not None and invite.created_at < removed:
            return None
    return invite


def _account(telegram_user_id: int | None, zalo_user_id: str | None) -> Any:
    """The condition that finds a person by the channel account they speak from."""
    if telegram_user_id is not None:
        return col(Contact.telegram_user_id) == telegram_user_id
    if zalo_user_id is not None:
        return col(Contact.zalo_user_id) == zalo_user_id
    return None


def find_invite(session: Session, text: str) -> Invite | None:
    """An invite by its link code or its short code, live or not (for operators)."""
    found = session.exec(select(Invite).where(Invite.code == text.strip())).first()
    if found is None and looks_like_short_code(text):
        short = normalise_short_code(text)
        found = session.exec(select(Invite).where(Invite.short_code == short)).first()
    return found


def redeem_short_code(
    session: Session,
    text: str | None,
    *,
    sender_key: str,
    now: datetime,
    telegram_user_id: int | None = None,
    zalo_user_id: str | None = None,
) -> Invite | None:
    """The usable invite behind a typed short code (case, spaces and dashes ignored), with the
    same checks as a link's code. Every guess counts against the sender until it proves right,
    so a sender who has typed SHORT_CODE_GUESSES wrong codes in the window is refused even a
    right one: the answer never tells a locked-out guesser anything."""
    code = guess(session, text, sender_key=sender_key, now=now)
    if code is None:
        return None
    invite = invite_by_short_code(
        session, code, now=now, telegram_user_id=telegram_user_id, zalo_user_id=zalo_user_id
    )
    if invite is not None:
        guessed_right(session, sender_key)
    return invite


def guess(session: Session, text: str | None, *, sender_key: str, now: datetime) -> str | None:
    """A typed code counted as one guess of the sender: the code as stored, or None when the
    text is no code or the sender is locked out (every kind of short code counts against the
    same limit: invites, and the codes that link a second channel, models/linking.py)."""
    if not looks_like_short_code(text):
        return None
    attempts = _count_guess(session, sender_key, now=now)
    if attempts > SHORT_CODE_GUESSES:
        if attempts == SHORT_CODE_GUESSES + 1:
            audit(session, "invite.short_code_locked", sender=sender_key)
        return None
    return normalise_short_code(text)


def guessed_right(session: Session, sender_key: str) -> None:
    """The sender's guess proved right: it does not count against them."""
    session.execute(
        sa.update(CodeAttempt)
        .where(col(CodeAttempt.sender_key) == sender_key, col(CodeAttempt.failures) > 0)
        .values(failures=CodeAttempt.failures - 1)
    )


def invite_by_short_code(
    session: Session,
    code: str,
    *,
    now: datetime,
    telegram_user_id: int | None = None,
    zalo_user_id: str | None = None,
) -> Invite | None:
    """The usable invite behind a short code as stored (`guess`)."""
    found = None
    if set(code) <= set(SHORT_CODE_ALPHABET):
        found = session.exec(select(Invite.code).where(Invite.short_code == code)).first()
    return usable_invite(
        session, found, now=now, telegram_user_id=telegram_user_id, zalo_user_id=zalo_user_id
    )


def _count_guess(session: Session, sender_key: str, *, now: datetime) -> int:
    """One more guess for the sender in the current window, counted in one statement (an upsert
    that locks the sender's row), so that parallel guesses from several processes all count."""
    table = table_of(CodeAttempt)
    # Windows that ended long ago say nothing any more; they go, so the table stays small.
    session.execute(sa.delete(table).where(table.c.window_start <= now - SHORT_CODE_WINDOW * 24))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    moment = sa.literal(now, UTCDateTime())
    over = table.c.window_start <= now - SHORT_CODE_WINDOW
    statement = (
        insert(table)
        .values(sender_key=sender_key[:80], window_start=now, failures=1)
        .on_conflict_do_update(
            index_elements=[table.c.sender_key],
            set_={
                "failures": sa.case((over, 1), else_=table.c.failures + 1),
                "window_start": sa.case((over, moment), else_=table.c.window_start),
            },
        )
        .returning(table.c.failures)
    )
    return int(session.execute(statement).scalar_one())


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


# -- contacts --------------------------------------------------------------------------------


def contact_by_user(session: Session, telegram_user_id: int) -> Contact | None:
    """The person behind a Telegram account, while they belong to the programme: erased and
    removed people are nobody here (every permission starts from this lookup)."""
    query = select(Contact).where(
        Contact.telegram_user_id == telegram_user_id,
        col(Contact.erased_at).is_(None),
        col(Contact.removed_at).is_(None),
    )
    return session.exec(query).first()


def contact_by_zalo(session: Session, zalo_user_id: str) -> Contact | None:
    """The person behind a Zalo account, while they belong to the programme."""
    query = select(Contact).where(
        Contact.zalo_user_id == zalo_user_id,
        col(Contact.erased_at).is_(None),
        col(Contact.removed_at).is_(None),
    )
    return session.exec(query).first()


def former_language(
    session: Session, telegram_user_id: int | None = None, *, zalo_user_id: str | None = None
) -> str | None:
    """The language of someone removed from the programme, who is still answered in it."""
    account = _account(telegram_user_id, zalo_user_id)
    if account is None:
        return None
    query = select(Contact.language).where(
        account, col(Contact.erased_at).is_(None), col(Contact.removed_at).is_not(None)
    )
    return session.exec(query).first()


def former_languages(session: Session, telegram_user_ids: Collection[int]) -> dict[int, str]:
    """`former_language` of several Telegram accounts at once (those that have one)."""
    if not telegram_user_ids:
        return {}
    query = select(Contact.telegram_user_id, Contact.language).where(
        col(Contact.telegram_user_id).in_(sorted(telegram_user_ids)),
        col(Contact.erased_at).is_(None),
        col(Contact.removed_at).is_not(None),
    )
    found: dict[int, str] = {}
    for user_id, language in session.exec(query):
        if user_id is not None:
            found.setdefault(user_id, language)
    return found


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
    telegram_user_id: int | None = None,
    chat_id: int | None = None,
    zalo_user_id: str | None = None,
    display_name: str | None,
    username: str | None,
    language: str,
    now: datetime,
    tips: bool = True,
) -> RegistrationResult:
    """Redeem an invite after the person agreed to the follow-up consent (and, when `tips`,
    to receiving monthly tips and good examples). The person speaks from a Telegram account
    (`telegram_user_id` and its private `chat_id`) or a Zalo one (`zalo_user_id`, which is
    also the chat's id)."""
    account = _account(telegram_user_id, zalo_user_id)
    if account is None:
        raise ValueError("register() needs a Telegram or a Zalo account")
    existing = (
        contact_by_user(session, telegram_user_id)
        if telegram_user_id is not None
        else contact_by_zalo(session, zalo_user_id or "")
    )
    if existing is not None:
        return RegistrationResult(Registration.ALREADY_REGISTERED, existing)
    invite = usable_invite(
        session, code, now=now, telegram_user_id=telegram_user_id, zalo_user_id=zalo_user_id
    )
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
    provider_id = invite.provider_id if invite.role in (Role.STAFF, Role.PARTNER) else None
    # Someone removed earlier comes back with a new link as the same person (one identity, as
    # for every channel), with the role and organisation of the new link.
    contact = session.exec(
        select(Contact).where(account, col(Contact.removed_at).is_not(None))
    ).first()
    if contact is None:
        contact = Contact(
            telegram_user_id=telegram_user_id, zalo_user_id=zalo_user_id, role=invite.role
        )
    if telegram_user_id is not None:
        contact.chat_id = chat_id
    else:
        contact.zalo_unreachable_at = None
    contact.display_name = (display_name or "")[:NAME_MAX] or None
    contact.username = username
    contact.role = invite.role
    contact.provider_id = provider_id
    contact.enterprise_id = invite.enterprise_id
    contact.language = language
    contact.registered_at = now
    rejoined = contact.removed_at is not None
    contact.removed_at = contact.opted_out_at = contact.unreachable_at = None
    session.add(contact)
    session.flush()
    assert contact.id is not None  # given by the flush
    purposes = [ConsentPurpose.FOLLOWUP] + ([ConsentPurpose.TIPS] if tips else [])
    for purpose in purposes:
        session.add(
            Consent(
                contact_id=contact.id,
                purpose=purpose,
                text_version=(
                    CONSENT_TEXT_VERSION
                    if telegram_user_id is not None
                    else ZALO_CONSENT_TEXT_VERSION
                ),
                language=language,
                granted_at=now,
            )
        )
    audit(
        session, "contact.register", actor_id=contact.id, subject=contact, invite=invite.id,
        rejoined=rejoined,
    )  # fmt: skip
    from models.members import announce_join  # members builds on this module

    announce_join(session, contact, invite, now=now)
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


def mark_zalo_reachable(session: Session, zalo_user_id: str) -> None:
    """A message from the person on Zalo proves the bot can reach them there again. Through
    the ORM, so that the summary's rollups count them reachable again (reports/rollups.py)."""
    contact = contact_by_zalo(session, zalo_user_id)
    if contact is not None and contact.zalo_unreachable_at is not None:
        contact.zalo_unreachable_at = None
        session.add(contact)


def mark_zalo_unreachable(session: Session, zalo_user_id: str, *, now: datetime) -> None:
    """Zalo answered "blocked" or "not found": unreachable there, and only there."""
    contact = contact_by_zalo(session, zalo_user_id)
    if contact is not None and contact.zalo_unreachable_at is None:
        contact.zalo_unreachable_at = now
        session.add(contact)
        audit(session, "contact.unreachable", subject=contact, channel="zalo")


def organisation_name(session: Session, contact: Contact) -> str | None:
    if contact.enterprise_id is not None:
        enterprise = session.get(Enterprise, contact.enterprise_id)
        return enterprise.name if enterprise else None
    if contact.provider_id is not None:
        provider = session.get(Provider, contact.provider_id)
        return provider.name if provider else None
    return None


def counts(session: Session) -> dict[str, int]:
    """How many of each thing the programme holds (for the demo and `oshbot status`); removed
    people are not counted as contacts."""
    result = {
        "providers": session.exec(select(sa.func.count()).select_from(Provider)).one(),
        "enterprises": session.exec(select(sa.func.count()).select_from(Enterprise)).one(),
        "invites": session.exec(select(sa.func.count()).select_from(Invite)).one(),
    }
    by_role = session.exec(
        select(col(Contact.role), sa.func.count())
        .where(col(Contact.removed_at).is_(None))
        .group_by(col(Contact.role))
    ).all()
    for role in Role:
        result[f"contacts_{role}"] = 0
    for role, number in by_role:
        result[f"contacts_{role}"] = number
    return result
