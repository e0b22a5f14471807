"""Personal-data rights: consent per purpose, stop and resume, access, erasure, retention.

Vietnam's personal data protection law (in force from 2026) asks for explicit consent per
purpose, purpose limitation, and the rights to access, withdraw and erase. Every change here is
written to the audit log.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.i18n import Translate, format_moment, translator
from models import inbox, outbox, surveys
from models.journeys.state import telegram_person, zalo_person
from models.outbox import STOP_EXEMPT_KINDS, forget_mentions
from models.programme import CONSENT_TEXT_VERSION, audit
from models.surveys import free_text_questions
from models.tables import (
    AuditLog,
    BotState,
    Consent,
    ConsentPurpose,
    Contact,
    EnrolmentRequest,
    Enterprise,
    Event,
    Improvement,
    ImprovementMessage,
    Invite,
    JourneyState,
    Outbox,
    Provider,
    Role,
    Rsvp,
    SurveyAnswer,
    SurveyParticipation,
    SurveyResponse,
    SurveyRound,
)

# Said alone, these stop every proactive message (case and diacritics ignored).
STOP_WORDS = frozenset({"stop", "dung", "huy"})


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def is_stop_word(text: str | None) -> bool:
    return text is not None and fold(text).strip(" .!") in STOP_WORDS


# -- the consent notice ----------------------------------------------------------------------


@dataclass(frozen=True)
class Controller:
    """Who decides what happens with a person's data (Law 91/2025 on personal data protection):
    the OSH service provider they join through, or, for coordinators, the programme itself."""

    provider: str | None  # None: the programme (coordinators belong to no provider)
    contact: str | None  # a phone number and/or an e-mail address


def provider_contact(provider: Provider) -> str | None:
    return " · ".join(part for part in (provider.phone, provider.email) if part) or None


def controller_for_invite(session: Session, code: str, *, fallback: str | None) -> Controller:
    """The controller named in the consent shown to someone joining with `code`: the provider
    of the invite (an enterprise's invite: the enterprise's provider) with its phone and
    e-mail; `fallback` (OSHBOT_CONTROLLER_CONTACT) when the provider has neither, and for
    coordinators."""
    invite = session.exec(select(Invite).where(Invite.code == code)).first() if code else None
    provider_id = invite.provider_id if invite is not None else None
    if invite is not None and invite.enterprise_id is not None:
        enterprise = session.get(Enterprise, invite.enterprise_id)
        provider_id = enterprise.provider_id if enterprise is not None else provider_id
    provider = session.get(Provider, provider_id) if provider_id is not None else None
    if provider is None:
        return Controller(None, fallback)
    return Controller(provider.name, provider_contact(provider) or fallback)


def consent_notice(_: Translate, controller: Controller, *, channel: str = "telegram") -> str:
    """The consent card: who is responsible, what is kept and why, who sees it (employers see
    their workers' improvement reports, never the worker's name), the messaging platform the
    messages pass through (Telegram: abroad), tips, rights. Its wording is
    CONSENT_TEXT_VERSION, or ZALO_CONSENT_TEXT_VERSION on Zalo (no Telegram, no transfer
    abroad; the same commands for the rights)."""
    who = _("the programme coordinators")
    if controller.provider:
        who = html.escape(controller.provider, quote=False)
    if controller.contact:
        responsible = _(
            "<b>Who is responsible for your data:</b> {who}, contact: {contact}.",
            who=who,
            contact=html.escape(controller.contact, quote=False),
        )
    else:
        responsible = _("<b>Who is responsible for your data:</b> {who}.", who=who)
    if channel == "zalo":
        return _("<b>Before we start</b>") + "\n\n" + responsible + "\n" + _zalo_notice(_)
    return (
        _("<b>Before we start</b>")
        + "\n\n"
        + responsible
        + "\n"
        + _(
            "<b>What we keep:</b> your Telegram name and account, your organisation, your "
            "language, and what you send us (improvement reports, photos, survey answers).\n"
            "<b>Why:</b> to follow up the safety and health support your enterprise received, "
            "to remind you of visits and to share good practices between enterprises.\n"
            "<b>Who sees it:</b> the staff of your OSH service provider and the programme "
            "coordinators. An improvement report belongs to the enterprise: its employer also "
            'sees the reports of its workers, shown as "a worker", never with the worker\'s '
            "name. Worker survey answers are anonymous: nobody sees who gave them.\n"
            "<b>Abroad:</b> messages with this bot pass through the servers of Telegram, a "
            "messaging service based outside Viet Nam, so what you send is transferred "
            "abroad.\n"
            "<b>Tips:</b> if you wish, a short practical tip each month and good practices from "
            "other enterprises.\n"
            "<b>Your rights:</b> taking part is voluntary. /mydata shows what we hold about "
            "you, /stop stops our messages, /privacy changes your choices, and /deleteme "
            "erases your personal data.\n\n"
            "Do you agree?"
        )
    )


def _zalo_notice(_: Translate) -> str:
    return _(
        "<b>What we keep:</b> your Zalo name and account, your organisation, your language, and "
        "what you send us (improvement reports, photos, survey answers).\n"
        "<b>Why:</b> to follow up the safety and health support your enterprise received, to "
        "remind you of visits and to share good practices between enterprises.\n"
        "<b>Who sees it:</b> the staff of your OSH service provider and the programme "
        "coordinators. An improvement report belongs to the enterprise: its employer also sees "
        'the reports of its workers, shown as "a worker", never with the worker\'s name. Worker '
        "survey answers are anonymous: nobody sees who gave them.\n"
        "<b>Where:</b> messages with this bot pass through Zalo, a messaging service run in "
        "Viet Nam by VNG; the photos you send are kept on the programme's own server.\n"
        "<b>Tips:</b> if you wish, a short practical tip each month and good practices from "
        "other enterprises.\n"
        "<b>Your rights:</b> taking part is voluntary. /mydata shows what we hold about you, "
        "/stop (or STOP) stops our messages, /privacy changes your choices, and /deleteme "
        "erases your personal data.\n\n"
        "Do you agree?"
    )


# -- what the person is told, on every channel ------------------------------------------------


def stopped_text(_: Translate) -> str:
    """The answer to STOP (and /stop): a stop word works on every channel, even mid-journey."""
    return _(
        "Stopped: we will send you no more tips, good practices or reminders. Visits you "
        "arrange still reach you. Send /start to receive messages again."
    )


def purpose_name(_: Translate, purpose: str) -> str:
    names = {
        ConsentPurpose.FOLLOWUP: _("taking part in the follow-up"),
        ConsentPurpose.TIPS: _("monthly tips and good practices"),
        ConsentPurpose.NAMING: _("naming our enterprise in good practices"),
    }
    return names.get(ConsentPurpose(purpose), purpose)


def choosable(contact: Contact) -> list[ConsentPurpose]:
    """The consents a person turns on and off themselves (/privacy); taking part itself ends
    with /deleteme. Naming the enterprise is the employer's to give."""
    purposes = [ConsentPurpose.TIPS]
    if contact.role == Role.EMPLOYER:
        purposes.append(ConsentPurpose.NAMING)
    return purposes


def toggle(session: Session, contact: Contact, purpose: ConsentPurpose, *, now: datetime) -> bool:
    """Turns one of the person's own choices over; False when it is not theirs to choose."""
    if contact.id is None or purpose not in choosable(contact):
        return False
    if purpose in active_consents(session, contact.id):
        withdraw(session, contact, purpose, now=now)
    else:
        grant(session, contact, purpose, language=contact.language, now=now)
    return True


def choices_text(_: Translate, contact: Contact, active: set[ConsentPurpose]) -> str:
    """/privacy: each choice and whether it is on."""
    lines = [_("<b>Your choices</b>")]
    for purpose in choosable(contact):
        state = _("yes") if purpose in active else _("no")
        lines.append(f"• {purpose_name(_, purpose)}: {state}")
    lines.append(_("Taking part in the follow-up itself ends with /deleteme."))
    return "\n".join(lines)


def toggle_label(_: Translate, purpose: ConsentPurpose, on: bool) -> str:
    name = purpose_name(_, purpose)
    if on:
        return _("Turn off: {purpose}", purpose=name)
    return _("Turn on: {purpose}", purpose=name)


def summary(
    _: Translate, data: dict[str, Any], contact: Contact, tz: ZoneInfo, *, attached: bool = True
) -> str:
    """/mydata's few lines over the whole export (`data`); `attached`: the export comes with
    them as a file (Telegram), else as a link (Zalo)."""
    consents = [c["purpose"] for c in data["consents"] if c["withdrawn_at"] is None]
    organisation = data["contact"]["organisation"]
    lines = [
        _("<b>What we hold about you</b>"),
        _("Name: {value}", value=html.escape(data["contact"]["name"] or "—", quote=False)),
        _(
            "Organisation: {value}",
            value=html.escape(organisation["name"] if organisation else "—", quote=False),
        ),
        _(
            "Registered: {value}",
            value=format_moment(contact.registered_at, contact.language, tz),
        ),
        _("Consents: {value}", value=", ".join(purpose_name(_, p) for p in consents) or "—"),
        _("Improvement reports: {count}", count=len(data["improvement_reports"])),
        _("Survey answers linked to you: {count}", count=len(data["survey_answers"])),
        _(
            "Messages we sent you on our own initiative: {count}",
            count=len(data["messages_sent_to_you"]),
        ),
        _("The attached file has all of it.")
        if attached
        else _("All of it is in the file behind the link below, for two days."),
    ]
    return "\n".join(lines)


def erase_question(_: Translate, *, channel: str = "telegram") -> str:
    """/deleteme's question, naming the account that goes."""
    if channel == "zalo":
        return _(
            "Do you want us to erase your personal data? Your name and Zalo account will be "
            "deleted and you will leave the programme. Improvement reports stay with your "
            "enterprise without your name; anonymous survey answers stay anonymous. This "
            "cannot be undone."
        )
    return _(
        "Do you want us to erase your personal data? Your name and Telegram account will be "
        "deleted and you will leave the programme. Improvement reports stay with your "
        "enterprise without your name; anonymous survey answers stay anonymous. This cannot "
        "be undone."
    )


def erased_text(_: Translate) -> str:
    return _("Done: your personal data has been erased. Thank you for taking part.")


# -- consent ---------------------------------------------------------------------------------


def active_consents(session: Session, contact_id: int) -> set[ConsentPurpose]:
    rows = session.exec(
        select(Consent.purpose).where(
            Consent.contact_id == contact_id, col(Consent.withdrawn_at).is_(None)
        )
    )
    return {ConsentPurpose(purpose) for purpose in rows}


def has_consent(session: Session, contact_id: int, purpose: ConsentPurpose) -> bool:
    return purpose in active_consents(session, contact_id)


def consented(purpose: ConsentPurpose) -> sa.ColumnElement[bool]:
    """A WHERE clause on Contact: the contact holds an active consent for `purpose`."""
    return sa.exists(
        select(Consent.id).where(
            Consent.contact_id == Contact.id,
            Consent.purpose == purpose,
            col(Consent.withdrawn_at).is_(None),
        )
    )


def grant(
    session: Session, contact: Contact, purpose: ConsentPurpose, *, language: str, now: datetime
) -> bool:
    """Records consent; False when it was already active."""
    assert contact.id is not None
    if has_consent(session, contact.id, purpose):
        return False
    session.add(
        Consent(
            contact_id=contact.id,
            purpose=purpose,
            text_version=CONSENT_TEXT_VERSION,
            language=language,
            granted_at=now,
        )
    )
    audit(session, "consent.grant", actor_id=contact.id, subject=contact, purpose=str(purpose))
    return True


def withdraw(session: Session, contact: Contact, purpose: ConsentPurpose, *, now: datetime) -> bool:
    """Withdraws consent for one purpose; False when there was none."""
    result = session.execute(
        sa.update(Consent)
        .where(
            col(Consent.contact_id) == contact.id,
            col(Consent.purpose) == purpose,
            col(Consent.withdrawn_at).is_(None),
        )
        .values(withdrawn_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    if purpose == ConsentPurpose.NAMING and contact.enterprise_id is not None:
        # The enterprise is no longer named anywhere: its shared reports stay shared, unnamed.
        session.execute(
            sa.update(Improvement)
            .where(
                col(Improvement.enterprise_id) == contact.enterprise_id,
                col(Improvement.share_consent) == "named",
            )
            .values(share_consent="anonymous")
        )
    audit(session, "consent.withdraw", actor_id=contact.id, subject=contact, purpose=str(purpose))
    return True


# -- stop and resume -------------------------------------------------------------------------


def stop(session: Session, contact: Contact, *, now: datetime) -> bool:
    """Stops every proactive message at once; False when already stopped."""
    if contact.opted_out_at is not None:
        return False
    contact.opted_out_at = now
    session.add(contact)
    # Queued tips, broadcasts and nudges go nowhere; visit arrangements still reach them.
    outbox.withdraw(
        session,
        col(Outbox.contact_id) == contact.id,
        col(Outbox.kind).not_in(STOP_EXEMPT_KINDS),
        reason="contact stopped messages",
    )
    audit(session, "contact.stop", actor_id=contact.id, subject=contact)
    return True


def resume(session: Session, contact: Contact, *, now: datetime) -> bool:
    if contact.opted_out_at is None:
        return False
    contact.opted_out_at = None
    session.add(contact)
    audit(session, "contact.resume", actor_id=contact.id, subject=contact)
    return True


# -- access ----------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(session: Session, contact: Contact) -> dict[str, Any]:
    """Everything oshbot holds about the person, as JSON-ready data."""
    assert contact.id is not None
    organisation: dict[str, Any] | None = None
    if contact.enterprise_id is not None:
        enterprise = session.get(Enterprise, contact.enterprise_id)
        if enterprise is not None:
            organisation = {"type": "enterprise", "id": enterprise.id, "name": enterprise.name}
    elif contact.provider_id is not None:
        provider = session.get(Provider, contact.provider_id)
        if provider is not None:
            organisation = {"type": "provider", "id": provider.id, "name": provider.name}
    consents = session.exec(select(Consent).where(Consent.contact_id == contact.id)).all()
    reports = session.exec(select(Improvement).where(Improvement.reporter_id == contact.id)).all()
    responses = session.exec(
        select(SurveyResponse).where(SurveyResponse.contact_id == contact.id)
    ).all()
    answers = {
        response.id: session.exec(
            select(SurveyAnswer).where(SurveyAnswer.response_id == response.id)
        ).all()
        for response in responses
    }
    rsvps = session.exec(select(Rsvp).where(Rsvp.contact_id == contact.id)).all()
    thread = session.exec(
        select(ImprovementMessage)
        .where(
            sa.or_(
                col(ImprovementMessage.sender_id) == contact.id,
                col(ImprovementMessage.recipient_id) == contact.id,
            )
        )
        .order_by(col(ImprovementMessage.id))
    ).all()
    messages = session.exec(
        select(Outbox).where(Outbox.contact_id == contact.id).order_by(col(Outbox.id))
    ).all()
    actions = session.exec(
        select(AuditLog).where(AuditLog.actor_id == contact.id).order_by(col(AuditLog.id))
    ).all()
    return {
        "contact": {
            "id": contact.id,
            "telegram_user_id": contact.telegram_user_id,
            "zalo_user_id": contact.zalo_user_id,
            "name": contact.display_name,
            "username": contact.username,
            "role": str(contact.role),
            "language": contact.language,
            "organisation": organisation,
            "registered_at": _iso(contact.registered_at),
            "messages_stopped_at": _iso(contact.opted_out_at),
            "unreachable_since": _iso(contact.unreachable_at),
        },
        "consents": [
            {
                "purpose": str(c.purpose),
                "text_version": c.text_version,
                "language": c.language,
                "granted_at": _iso(c.granted_at),
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in consents
        ],
        "improvement_reports": [
            {
                "id": r.id,
                "area": r.area_code,
                "description": r.description,
                "cost_vnd": r.cost_vnd,
                "workers_benefiting": r.workers_benefiting,
                "risk_before": r.risk_before_score,
                "risk_after": r.risk_after_score,
                "share_consent": r.share_consent,
                "status": str(r.status),
                "submitted_at": _iso(r.submitted_at),
                "photos": [p for p in (r.photo_before_path, r.photo_after_path) if p],
            }
            for r in reports
        ],
        "survey_answers": [
            {
                "questionnaire": response.questionnaire,
                "completed_at": _iso(response.completed_at),
                "answers": [
                    {"question": a.question_id, "value": a.value_text or a.value_int}
                    for a in answers[response.id]
                ],
            }
            for response in responses
        ],
        # Still linked to the person: answers being given, or waiting to be released.
        "survey_answers_in_progress": surveys.pending_answers(session, contact.id),
        "anonymous_answers_note": (
            "Worker survey answers, once released, are stored without any link to the person, "
            "by design, so they cannot be listed here."
        ),
        "report_questions_and_answers": [
            {
                "report": m.improvement_id,
                "kind": m.kind,
                "from_you": m.sender_id == contact.id,
                "text": m.text,
            }
            for m in thread
        ],
        "messages_to_your_provider": inbox.exported(session, contact),
        "event_replies": [
            {"event": r.event_id, "answer": r.answer, "attended_at": _iso(r.attended_at)}
            for r in rsvps
        ],
        "messages_sent_to_you": [
            {"kind": m.kind, "status": str(m.status), "sent_at": _iso(m.sent_at)} for m in messages
        ],
        "your_actions": [{"action": a.action, "at": _iso(a.at)} for a in actions],
    }


# -- erasure ---------------------------------------------------------------------------------


def erase(
    session: Session, contact: Contact, *, now: datetime, actor_id: int | None = None
) -> None:
    """Erases the person: identity, names and conversation state go; their reports stay as the
    enterprise's without the person, and anonymous answers stay anonymous."""
    assert contact.id is not None
    user_id, zalo_id = contact.telegram_user_id, contact.zalo_user_id
    audit(session, "contact.erase", actor_id=actor_id or contact.id, subject=contact)
    contact.telegram_user_id = None
    contact.zalo_user_id = None
    contact.chat_id = None
    contact.display_name = None
    contact.username = None
    contact.erased_at = now
    session.add(contact)
    session.execute(
        sa.update(Improvement)
        .where(col(Improvement.reporter_id) == contact.id)
        .values(reporter_id=None)
    )
    session.execute(
        sa.update(SurveyResponse)
        .where(col(SurveyResponse.contact_id) == contact.id)
        .values(contact_id=None)
    )
    outbox.withdraw(session, col(Outbox.contact_id) == contact.id, reason="contact erased")
    # Messages to others that name the person (a join notice, a visit suggestion, a report
    # card) still go, without the name.
    forget_mentions(session, contact.id, _name_removed)
    # Answers still in progress, or waiting for release, are the person's own: they go. What a
    # released questionnaire said stays, since nothing links it to anyone.
    surveys.drop_pending(session, contact.id)
    # Nobody can answer them now; what they wrote goes with the retention purge.
    inbox.close_for(session, contact, now=now)
    # Who took part in which round says something about the person; what they answered stays.
    session.execute(
        sa.delete(SurveyParticipation).where(col(SurveyParticipation.contact_id) == contact.id)
    )
    session.execute(
        sa.update(Consent)
        .where(col(Consent.contact_id) == contact.id, col(Consent.withdrawn_at).is_(None))
        .values(withdrawn_at=now)
    )
    # A request to join holds their phone number and names: it goes (the audit log keeps that
    # it was made and decided).
    mine = col(EnrolmentRequest.contact_id) == contact.id
    if user_id is not None:
        mine = sa.or_(mine, col(EnrolmentRequest.telegram_user_id) == user_id)
    session.execute(sa.delete(EnrolmentRequest).where(mine))
    if user_id is not None:
        session.execute(
            sa.delete(BotState).where(
                col(BotState.key).in_([str(user_id), f"[{user_id}, {user_id}]"])
            )
        )
        session.execute(
            sa.delete(JourneyState).where(col(JourneyState.person) == telegram_person(user_id))
        )
    if zalo_id is not None:
        session.execute(
            sa.delete(JourneyState).where(col(JourneyState.person) == zalo_person(zalo_id))
        )


def _name_removed(language: str | None) -> str:
    _ = translator(language or "vi")
    return _("(name removed)")


# -- retention -------------------------------------------------------------------------------


def purge_expired(
    session: Session, *, now: datetime, retention_days: int, media_root: Path
) -> dict[str, int]:
    """After the retention period, raw free-text answers and photos of people who left (erased,
    stopped, unreachable or removed) are deleted; the counts and scores that summaries use
    remain."""
    cutoff = now - timedelta(days=retention_days)
    left = select(Contact.id).where(
        sa.or_(
            col(Contact.erased_at) < cutoff,
            col(Contact.opted_out_at) < cutoff,
            col(Contact.unreachable_at) < cutoff,
            col(Contact.removed_at) < cutoff,
        )
    )
    # Only answers to free-text questions hold what people wrote; other answers keep option
    # codes in the same column and feed the summaries.
    free_text = sa.or_(
        *(
            sa.and_(
                col(SurveyResponse.questionnaire) == questionnaire,
                col(SurveyAnswer.question_id).in_(questions),
            )
            for questionnaire, questions in free_text_questions().items()
        )
    )
    old_round = select(SurveyRound.id).where(col(SurveyRound.opened_at) < cutoff)
    old_event = select(Event.id).where(col(Event.starts_at) < cutoff)
    expired = select(SurveyResponse.id).where(
        sa.or_(
            col(SurveyResponse.contact_id).in_(left),
            # Anonymous answers carry no person and no time: they age out with their round or
            # their event.
            sa.and_(
                col(SurveyResponse.contact_id).is_(None),
                sa.or_(
                    col(SurveyResponse.round_id).in_(old_round),
                    col(SurveyResponse.event_id).in_(old_event),
                ),
            ),
        )
    )
    targets = (
        select(SurveyAnswer.id)
        .join(SurveyResponse, col(SurveyResponse.id) == SurveyAnswer.response_id)
        .where(
            free_text,
            col(SurveyAnswer.value_text).is_not(None),
            col(SurveyAnswer.response_id).in_(expired),
        )
    )
    texts = session.execute(
        sa.update(SurveyAnswer).where(col(SurveyAnswer.id).in_(targets)).values(value_text=None)
    ).rowcount  # type: ignore[attr-defined]
    photos = 0
    reports = session.exec(
        select(Improvement).where(
            sa.or_(
                col(Improvement.reporter_id).in_(left),
                sa.and_(
                    col(Improvement.reporter_id).is_(None),
                    col(Improvement.updated_at) < cutoff,
                ),
            ),
            col(Improvement.status) != "good_practice",
            sa.or_(
                col(Improvement.photo_before_path).is_not(None),
                col(Improvement.photo_after_path).is_not(None),
            ),
        )
    ).all()
    for report in reports:
        for attribute in ("photo_before_path", "photo_after_path"):
            stored = getattr(report, attribute)
            if stored:
                path = Path(stored)
                path = path if path.is_absolute() else media_root / path
                path.unlink(missing_ok=True)
                setattr(report, attribute, None)
                setattr(report, attribute.replace("_path", "_file_id"), None)
                photos += 1
        session.add(report)
    # What people who left wrote to their provider (and its answers), photos and voice notes.
    inbox_texts, inbox_files = inbox.purge(session, left, media_root=media_root)
    texts = int(texts or 0) + inbox_texts
    photos += inbox_files
    if texts or photos:
        audit(session, "retention.purge", texts=texts, photos=photos)
    return {"texts": int(texts or 0), "photos": photos}
