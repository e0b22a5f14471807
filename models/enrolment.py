"""Joining without an invite: an enterprise asks to take part, a provider decides.

The newsletter, the leaflet and the website carry a QR code for `JOIN_PAYLOAD` (Telegram:
t.me/<bot>?start=join). Someone who scans it answers a short request (models/journeys/
enrolment.py): the enterprise's name, province, sector, workers and a phone number, after the
consent. `submit` stores it and queues it for the staff of the providers that work in that
province, or for the coordinators when no provider does (`deciders`). One of them accepts it,
which creates the enterprise under their provider and registers the requester as its employer
through a one-off employer invite (models/programme.py `register`, so the consent the requester
gave is recorded as at any registration), or declines it with a reason; the requester is told
in their language either way. Deciding is one conditional UPDATE of a pending request, so a
button pressed twice, or two providers at once, decide once. A declined request keeps no phone
number. Everything is audited. Nothing here knows about Telegram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.i18n import format_number, translator
from models import content, outbox, programme
from models.outbox import PRIORITY_NOTICE, Message
from models.programme import (
    NAME_MAX,
    ProgrammeError,
    audit,
    clean_name,
    contact_by_user,
    create_invite,
    register,
)
from models.tables import (
    Contact,
    EnrolmentRequest,
    EnrolmentStatus,
    Outbox,
    Provider,
    Role,
)
from models.text import esc

JOIN_PAYLOAD = "join"  # the deep link's payload: t.me/<bot>?start=join
REASON_MIN, REASON_MAX = 3, 500
# Buttons of the notice to the deciders: accept for a provider, or decline.
PREFIX = "enr:"
ACCEPT = PREFIX + "ok:"  # ok:<request>:<provider>
DECLINE = PREFIX + "no:"  # no:<request>
ACCEPT_LIMIT = 8  # providers offered to a coordinator, by name
# A small or medium enterprise: far more workers is a typing slip, not an SME.
WORKERS_MAX = 5_000

_PHONE_NOISE = re.compile(r"[\s.\-()]")


def parse_workers(text: str) -> int:
    """Workers typed as a whole number ("25", "1.200"), from 1 to WORKERS_MAX; "12,5" is a
    decimal, not twelve hundred and fifty."""
    if re.fullmatch(r"\s*\d+[.,]\d{1,2}\s*", text):
        raise ProgrammeError("workers_not_number")
    workers = programme.parse_workers(text)
    if workers > WORKERS_MAX:
        raise ProgrammeError("workers_too_many", limit=WORKERS_MAX)
    return workers


def parse_phone(text: str | None) -> str:
    """A Vietnamese phone number as people write it ("0912 345 678", "+84 912.345.678",
    "(0236) 3812 345"): stored as its digits with a leading 0, 10 digits for a mobile and 11
    for a landline with its area code."""
    raw = _PHONE_NOISE.sub("", (text or "").strip())
    if raw.startswith("+84"):
        raw = "0" + raw[3:]
    elif raw.startswith("84") and len(raw) in (11, 12):
        raw = "0" + raw[2:]
    if not raw.isdigit() or not raw.startswith("0") or len(raw) not in (10, 11):
        raise ProgrammeError("phone_invalid")
    return raw


@dataclass(frozen=True)
class Draft:
    name: str
    province_code: str
    sector_code: str
    workers: int
    phone: str


def validate(draft: Draft) -> Draft:
    if content.province(draft.province_code) is None:
        raise ProgrammeError("unknown_province")
    if content.sector(draft.sector_code) is None:
        raise ProgrammeError("unknown_sector")
    if not 1 <= draft.workers <= WORKERS_MAX:
        raise ProgrammeError("workers_too_many", limit=WORKERS_MAX)
    return Draft(
        clean_name(draft.name), draft.province_code, draft.sector_code, draft.workers,
        parse_phone(draft.phone),
    )  # fmt: skip


def pending_of(session: Session, telegram_user_id: int) -> EnrolmentRequest | None:
    return session.exec(
        select(EnrolmentRequest).where(
            EnrolmentRequest.telegram_user_id == telegram_user_id,
            EnrolmentRequest.status == EnrolmentStatus.PENDING,
        )
    ).first()


def providers_in(session: Session, province_code: str) -> list[Provider]:
    return list(
        session.exec(
            select(Provider)
            .where(Provider.province_code == province_code, col(Provider.active))
            .order_by(col(Provider.name), col(Provider.id))
        )
    )


def waiting_by_provider(session: Session) -> dict[int, int]:
    """Requests still waiting for an answer, counted for each provider whose staff are asked
    (those working in the request's province), for the weekly digest."""
    counts: dict[int, int] = {}
    rows = session.exec(
        select(col(Provider.id), sa.func.count(col(EnrolmentRequest.id)))
        .join(EnrolmentRequest, col(EnrolmentRequest.province_code) == Provider.province_code)
        .where(EnrolmentRequest.status == EnrolmentStatus.PENDING, col(Provider.active))
        .group_by(col(Provider.id))
    )
    for provider_id, count in rows:
        if provider_id is not None:
            counts[provider_id] = int(count)
    return counts


def deciders(session: Session, request: EnrolmentRequest) -> list[Contact]:
    """Who is asked: the reachable staff of the providers working in the request's province;
    the coordinators when there are none."""
    reachable = (
        col(Contact.erased_at).is_(None),
        col(Contact.removed_at).is_(None),
        outbox.reachable(),
    )
    provider_ids = [p.id for p in providers_in(session, request.province_code)]
    staff = (
        list(
            session.exec(
                select(Contact)
                .where(
                    Contact.role == Role.STAFF,
                    col(Contact.provider_id).in_(provider_ids),
                    *reachable,
                )
                .order_by(col(Contact.id))
            )
        )
        if provider_ids
        else []
    )
    if staff:
        return staff
    return list(
        session.exec(
            select(Contact)
            .where(Contact.role == Role.COORDINATOR, *reachable)
            .order_by(col(Contact.id))
        )
    )


def may_decide(session: Session, actor: Contact | None, provider: Provider | None) -> bool:
    """Coordinators decide for any provider; staff for their own."""
    if actor is None or actor.removed_at or actor.erased_at or provider is None:
        return False
    if actor.role == Role.COORDINATOR:
        return True
    return actor.role == Role.STAFF and actor.provider_id == provider.id


def offered_providers(
    session: Session, actor: Contact, request: EnrolmentRequest
) -> list[Provider]:
    """The providers a decider may accept the request for: a staff member's own; for a
    coordinator, those of the province, or every active provider when none works there."""
    if actor.role == Role.STAFF:
        own = session.get(Provider, actor.provider_id) if actor.provider_id else None
        return [own] if own is not None else []
    found = providers_in(session, request.province_code)
    if found:
        return found
    return list(
        session.exec(
            select(Provider)
            .where(col(Provider.active))
            .order_by(col(Provider.name))
            .limit(ACCEPT_LIMIT)
        )
    )


def submit(
    session: Session,
    *,
    telegram_user_id: int,
    chat_id: int,
    display_name: str | None,
    username: str | None,
    language: str,
    tips: bool,
    draft: Draft,
    now: datetime,
) -> EnrolmentRequest:
    """Stores the request and queues it for its deciders. Refused for someone registered
    already ("already_registered") and for a second request while one waits
    ("request_pending")."""
    if contact_by_user(session, telegram_user_id) is not None:
        raise ProgrammeError("already_registered")
    if pending_of(session, telegram_user_id) is not None:
        raise ProgrammeError("request_pending")
    clean = validate(draft)
    request = EnrolmentRequest(
        telegram_user_id=telegram_user_id, chat_id=chat_id,
        display_name=(display_name or "")[:NAME_MAX] or None, username=username,
        language=language, tips=tips, enterprise_name=clean.name,
        province_code=clean.province_code, sector_code=clean.sector_code,
        workers=clean.workers, phone=clean.phone, created_at=now,
    )  # fmt: skip
    session.add(request)
    session.flush()
    assert request.id is not None
    audit(session, "enrolment.request", subject=request, province=clean.province_code)
    for person in deciders(session, request):
        outbox.enqueue(
            session, key=f"enrolment:{request.id}:{person.id}", contact=person,
            kind="enrolment", message=notice(session, request, person), priority=PRIORITY_NOTICE,
            not_before=now,
        )  # fmt: skip
    return request


def card(request: EnrolmentRequest, language: str) -> str:
    """The request as a decider reads it."""
    _ = translator(language)
    sector = content.sector(request.sector_code)
    province = content.province(request.province_code)
    lines = [
        _("🆕 <b>Request to join the programme</b>"),
        _("Enterprise: {value}", value=esc(request.enterprise_name)),
        _("Province: {value}", value=province.name(language) if province else ""),
        _("Sector: {value}", value=sector.name(language) if sector else ""),
        _("Workers: {value}", value=format_number(request.workers, language)),
        _("Phone: {value}", value=esc(request.phone or "")),
    ]
    if request.display_name:
        lines.append(_("Telegram name: {value}", value=esc(request.display_name)))
    return "\n".join(lines)


def notice(session: Session, request: EnrolmentRequest, person: Contact) -> Message:
    _ = translator(person.language)
    text = (
        card(request, person.language)
        + "\n\n"
        + _(
            "They found us through the newsletter, a leaflet or the website. Please call them "
            "if you need to, then accept (the enterprise is added to your list and they are "
            "registered as its employer) or decline with a reason."
        )
    )
    buttons: list[list[tuple[str, str]]] = [
        [(_("✅ Accept for {provider}", provider=p.name[:40]), f"{ACCEPT}{request.id}:{p.id}")]
        for p in offered_providers(session, person, request)
    ]
    buttons.append([(_("✖ Decline"), f"{DECLINE}{request.id}")])
    return Message(text=text, buttons=buttons)


def _pending(session: Session, request_id: int) -> EnrolmentRequest:
    request = session.get(EnrolmentRequest, request_id)
    if request is None:
        raise ProgrammeError("request_unknown")
    if request.status != EnrolmentStatus.PENDING:
        raise ProgrammeError("request_decided", status=str(request.status))
    return request


def check_decider(session: Session, actor: Contact | None, request_id: int) -> EnrolmentRequest:
    """The pending request, when `actor` may decide it (staff of a provider offered it)."""
    request = _pending(session, request_id)
    if actor is None or actor.role not in (Role.STAFF, Role.COORDINATOR):
        raise ProgrammeError("not_allowed")
    if actor.role == Role.STAFF and not any(
        p.id == actor.provider_id for p in providers_in(session, request.province_code)
    ):
        raise ProgrammeError("not_allowed")
    return request


def _decide(
    session: Session,
    request: EnrolmentRequest,
    status: EnrolmentStatus,
    now: datetime,
    **values: object,
) -> None:
    changed = session.execute(
        sa.update(EnrolmentRequest)
        .where(
            col(EnrolmentRequest.id) == request.id,
            col(EnrolmentRequest.status) == str(EnrolmentStatus.PENDING),
        )
        .values(status=str(status), decided_at=now, **values)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(request)
    if not changed:
        raise ProgrammeError("request_decided", status=str(request.status))


@dataclass(frozen=True)
class Accepted:
    request: EnrolmentRequest
    contact: Contact


def accept(
    session: Session,
    *,
    request_id: int,
    actor: Contact | None,
    provider_id: int,
    now: datetime,
    today: date,
) -> Accepted:
    """Creates the enterprise under `provider_id` (its training day: today, the day it joined)
    and registers the requester as its employer; the requester is told in their language."""
    request = check_decider(session, actor, request_id)
    provider = session.get(Provider, provider_id)
    assert actor is not None
    offered = {p.id for p in offered_providers(session, actor, request)}
    if not may_decide(session, actor, provider) or provider_id not in offered:
        raise ProgrammeError("not_allowed")
    if contact_by_user(session, request.telegram_user_id) is not None:
        raise ProgrammeError("requester_registered")
    _decide(session, request, EnrolmentStatus.ACCEPTED, now, decided_by_id=actor.id)
    enterprise = programme.add_enterprise(
        session, provider_id=provider_id, today=today, actor_id=actor.id,
        draft=programme.EnterpriseDraft(
            name=request.enterprise_name, sector_code=request.sector_code,
            province_code=request.province_code, workers=request.workers,
            intervention_date=today,
        ),
    )  # fmt: skip
    assert enterprise.id is not None
    invite = create_invite(
        session, role=Role.EMPLOYER, days=1, enterprise_id=enterprise.id, actor_id=actor.id,
        now=now, max_uses=1,
    )  # fmt: skip
    result = register(
        session, code=invite.code, telegram_user_id=request.telegram_user_id,
        chat_id=request.chat_id, display_name=request.display_name, username=request.username,
        language=request.language, now=now, tips=request.tips,
    )  # fmt: skip
    if result.contact is None:
        raise ProgrammeError("requester_registered")
    contact = result.contact
    request.enterprise_id, request.contact_id = enterprise.id, contact.id
    session.add(request)
    audit(session, "enrolment.accept", actor_id=actor.id, subject=request,
          enterprise=enterprise.id, provider=provider_id)  # fmt: skip
    _ = translator(contact.language)
    text = _(
        "🎉 Good news: {provider} has welcomed {enterprise} to the programme. You are "
        "registered as its employer. Here you can report the improvements you make, tell us "
        "how the support helps and arrange visits. Send /help to see what you can do.",
        provider=esc(provider.name if provider else ""),
        enterprise=esc(enterprise.name),
    )
    outbox.enqueue(
        session, key=f"enrolment:{request.id}:accepted", contact=contact, kind="enrolment",
        message=Message(text=text), priority=PRIORITY_NOTICE, not_before=now,
    )  # fmt: skip
    return Accepted(request, contact)


def decline(
    session: Session, *, request_id: int, actor: Contact | None, reason: str | None, now: datetime
) -> EnrolmentRequest:
    """Declines with a reason (told to the requester in their language); the phone number the
    request held is dropped."""
    request = check_decider(session, actor, request_id)
    assert actor is not None
    cleaned = " ".join((reason or "").split())
    if len(cleaned) < REASON_MIN:
        raise ProgrammeError("reason_too_short", minimum=REASON_MIN)
    if len(cleaned) > REASON_MAX:
        raise ProgrammeError("reason_too_long", limit=REASON_MAX, length=len(cleaned))
    _decide(session, request, EnrolmentStatus.DECLINED, now, decided_by_id=actor.id,
            decline_reason=cleaned, phone=None)  # fmt: skip
    audit(session, "enrolment.decline", actor_id=actor.id, subject=request)
    _ = translator(request.language)
    text = _(
        "Thank you for your interest in the programme. We are sorry: your request for "
        "{enterprise} could not be accepted this time.\nReason: {reason}",
        enterprise=esc(request.enterprise_name),
        reason=esc(cleaned),
    )
    # The requester is nobody registered: the message goes to their chat alone.
    row = Outbox(
        key=f"enrolment:{request.id}:declined", chat_id=request.chat_id, kind="enrolment",
        payload=Message(text=text).payload(), priority=PRIORITY_NOTICE, not_before=now,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass  # queued before
    return request
