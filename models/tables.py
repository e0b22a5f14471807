"""The stored domain: every table of oshbot.

Timestamps are stored in UTC and come back timezone-aware on every database (see `UTCDateTime`);
conversion to the programme's time zone happens only when rendering.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def table_of(model: type[SQLModel]) -> sa.Table:
    """A model's Core table, for bulk statements (SQLModel sets `__table__` at class creation,
    which type checkers cannot see)."""
    table = sa.inspect(model).local_table
    assert isinstance(table, sa.Table)
    return table


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on SQLite (which keeps no zone) and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; oshbot stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ts(*, nullable: bool = True, index: bool = False, default: bool = False) -> Any:
    """A UTC timestamp column."""
    if default:
        return Field(
            default_factory=utcnow,
            sa_column=sa.Column(UTCDateTime(), nullable=False, index=index),
        )
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def json_col(default: Any) -> Any:
    return Field(default_factory=default, sa_column=sa.Column(sa.JSON(), nullable=False))


class Role(StrEnum):
    COORDINATOR = "coordinator"
    STAFF = "staff"
    EMPLOYER = "employer"
    WORKER = "worker"
    PARTNER = "partner"


class ConsentPurpose(StrEnum):
    FOLLOWUP = "followup"
    TIPS = "tips"
    NAMING = "naming"


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    GOOD_PRACTICE = "good_practice"
    WITHDRAWN = "withdrawn"


class ShareConsent(StrEnum):
    NAMED = "named"
    ANONYMOUS = "anonymous"
    NO = "no"


class PeopleShown(StrEnum):
    """The reporter's answer about people in a report's photos (None: not asked)."""

    NONE = "none"  # nobody recognisable in the photos
    AGREED = "agreed"  # people are shown and agreed to the photos being shared
    NOT_AGREED = "not_agreed"  # people are shown and were not asked


class VisitStatus(StrEnum):
    PLANNED = "planned"
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class PlanStatus(StrEnum):
    """Where an action-plan item stands (models/plans.py)."""

    PLANNED = "planned"
    DONE = "done"
    IN_USE = "in_use"  # still in use when someone looked again
    ENDED = "ended"  # no longer in use


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Provider(SQLModel, table=True):
    """An OSH service provider: provincial OSH centre, health service, trade union, consultant."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    province_code: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: datetime = ts(default=True)


class Enterprise(SQLModel, table=True):
    """A participating SME."""

    # For the summary from its rollups: enterprises per province, sector and provider in one
    # pass over the index, and "anyone trained after the period?" in one probe.
    __table_args__ = (
        sa.Index(
            "ix_enterprise_cells",
            "province_code",
            "sector_code",
            "provider_id",
            "intervention_date",
        ),
        sa.Index("ix_enterprise_intervention_date", "intervention_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    name: str = Field(max_length=200)
    sector_code: str = Field(max_length=40, index=True)
    province_code: str = Field(max_length=40, index=True)
    workers: int = Field(ge=1)
    intervention_date: date
    created_at: datetime = ts(default=True)
    # Archived (models/enterprises.py, `archive`): no longer followed up. Its history stays.
    archived_at: datetime | None = ts()
    # The contact who archived it. No foreign key: contact already refers to enterprise, and a
    # cycle would leave the tables without an order to create and drop them in. Contact rows
    # are never deleted (erasure keeps the row), so the id stays meaningful.
    archived_by_id: int | None = None


class Contact(SQLModel, table=True):
    """A person the bot talks to. Staff and partners belong to a provider, employers and
    workers to an enterprise, coordinators to the whole programme.

    `telegram_user_id` is nulled when the person asks to be erased; the row stays so that
    the enterprise keeps its reports without the person.
    """

    # The summary's reachable employers and workers (on some channel: models/outbox.py
    # `reachable`), read from the index alone.
    __table_args__ = (
        sa.Index(
            "ix_contact_reachable",
            "role",
            "erased_at",
            "opted_out_at",
            "enterprise_id",
            "chat_id",
            "unreachable_at",
            "zalo_user_id",
            "zalo_unreachable_at",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger(), unique=True, nullable=True)
    )
    chat_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    # The same person on Zalo (a string id, the private chat's id too); nulled on erasure.
    zalo_user_id: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(64), unique=True, nullable=True)
    )
    # Zalo answered "blocked" or "not found": unreachable there, not on Telegram.
    zalo_unreachable_at: datetime | None = ts()
    display_name: str | None = Field(default=None, max_length=200)
    username: str | None = Field(default=None, max_length=64)
    role: Role = Field(sa_column=sa.Column(sa.String(20), nullable=False, index=True))
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    language: str = Field(default="vi", max_length=5)
    registered_at: datetime = ts(default=True)
    opted_out_at: datetime | None = ts()
    unreachable_at: datetime | None = ts()
    erased_at: datetime | None = ts()
    # Removed by staff or a coordinator (models/members.py): no access, no messages; the row
    # stays so that the enterprise keeps its reports, and a new invite brings the person back.
    removed_at: datetime | None = ts()


class Consent(SQLModel, table=True):
    """One grant of consent for one purpose; withdrawal keeps the row and sets `withdrawn_at`."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    purpose: ConsentPurpose = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    text_version: str = Field(max_length=20)
    language: str = Field(max_length=5)
    granted_at: datetime = ts(default=True)
    withdrawn_at: datetime | None = ts()


class Invite(SQLModel, table=True):
    """A deep-link code carrying a role, and a short code to type where a channel has no deep
    links. Each has a joiner limit (`max_uses`); coordinator and staff codes are single-use.
    Issuing an enterprise link ends the older one of the same role (models/members.py)."""

    __table_args__ = (sa.Index("ix_invite_short_code", "short_code", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    short_code: str | None = Field(default=None, max_length=16)
    role: Role = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    provider_id: int | None = Field(default=None, foreign_key="provider.id")
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="contact.id")
    created_at: datetime = ts(default=True)
    expires_at: datetime = ts(nullable=False)
    max_uses: int | None = None
    uses: int = 0
    revoked_at: datetime | None = ts()


class CodeAttempt(SQLModel, table=True):
    """Wrong short codes typed per sender ("telegram:<user id>") in the current window: kept in
    the database so that every process counts the same guesses (models/members.py)."""

    __tablename__ = "code_attempt"

    sender_key: str = Field(primary_key=True, max_length=80)
    window_start: datetime = ts(nullable=False)
    failures: int = 0


class Improvement(SQLModel, table=True):
    """A workplace improvement reported by an enterprise, with its risk before and after."""

    # Covers every column the follow-up summary reads (reports/summary.py), so that its passes
    # over a period read the index alone, never the wide rows with their descriptions.
    __table_args__ = (
        sa.Index(
            "ix_improvement_summary",
            "submitted_at",
            "status",
            "enterprise_id",
            "area_code",
            "cost_vnd",
            "cost_band",
            "workers_benefiting",
            "risk_before_score",
            "risk_after_score",
            "reviewed_at",
            "kind_code",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    reporter_id: int | None = Field(default=None, foreign_key="contact.id")
    area_code: str | None = Field(default=None, max_length=40, index=True)
    # A kind of improvement inside the area (content/kinds.toml); optional: None when skipped.
    kind_code: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=1000)
    photo_before_file_id: str | None = Field(default=None, max_length=200)
    photo_before_path: str | None = Field(default=None, max_length=300)
    photo_after_file_id: str | None = Field(default=None, max_length=200)
    photo_after_path: str | None = Field(default=None, max_length=300)
    cost_vnd: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    cost_band: str | None = Field(default=None, max_length=20)
    workers_benefiting: int | None = None
    risk_before_likelihood: int | None = None
    risk_before_severity: int | None = None
    risk_before_score: int | None = None
    risk_after_likelihood: int | None = None
    risk_after_severity: int | None = None
    risk_after_score: int | None = None
    share_consent: ShareConsent | None = Field(default=None, sa_column=sa.Column(sa.String(20)))
    # Published photos need the reporter's word that those shown agreed (models/goodpractice).
    people_shown: PeopleShown | None = Field(default=None, sa_column=sa.Column(sa.String(20)))
    status: ReviewStatus = Field(
        default=ReviewStatus.DRAFT,
        sa_column=sa.Column(sa.String(20), nullable=False, index=True),
    )
    public_text: str | None = Field(default=None, max_length=1000)
    # Taken out of the good-practice library by staff; the report and its review stay as they were.
    library_withdrawn_at: datetime | None = ts()
    reviewed_by_id: int | None = Field(default=None, foreign_key="contact.id")
    reviewed_at: datetime | None = ts()
    created_at: datetime = ts(default=True)
    submitted_at: datetime | None = ts(index=True)
    updated_at: datetime = ts(default=True)
    source: str = Field(default="telegram", max_length=20)
    # The question an unfinished report stopped at (models/improvements.py Step); None once
    # submitted. Lets /report continue a draft where it was left, even after a restart.
    draft_step: str | None = Field(default=None, max_length=20)
    # Seen by provider staff at this visit (models/visit_checks.py `record_seen`), not reported
    # by the enterprise itself: stored verified, with `source` "visit".
    seen_at_visit_id: int | None = Field(default=None, foreign_key="visit.id")


class ImprovementMessage(SQLModel, table=True):
    """A question from provider staff about a report, or the reporter's answer, relayed by the
    bot; the thread of one report in order. Only the two people involved ever see it."""

    id: int | None = Field(default=None, primary_key=True)
    improvement_id: int = Field(foreign_key="improvement.id", index=True)
    kind: str = Field(max_length=10)  # question / answer
    sender_id: int = Field(foreign_key="contact.id")
    recipient_id: int = Field(foreign_key="contact.id", index=True)
    reply_to_id: int | None = Field(default=None, foreign_key="improvementmessage.id")
    text: str = Field(max_length=1000)
    created_at: datetime = ts(default=True)


class SurveyRound(SQLModel, table=True):
    """A follow-up round of an enterprise (1, 2, ...), usually opened after a revisit."""

    __table_args__ = (sa.UniqueConstraint("enterprise_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    number: int
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    opened_at: datetime = ts(default=True)
    closed_at: datetime | None = ts()


class SurveyParticipation(SQLModel, table=True):
    """Who took part in a survey round or in an event's reaction survey (for nudges, and to
    refuse a second answer), never what they said: nothing here points at a response. See
    models/surveys.py, "Anonymity". Exactly one of round_id and event_id is set."""

    __table_args__ = (
        sa.UniqueConstraint("round_id", "contact_id", "questionnaire"),
        sa.UniqueConstraint("event_id", "contact_id", "questionnaire"),
        sa.CheckConstraint(
            "(round_id IS NULL) <> (event_id IS NULL)", name="ck_surveyparticipation_one_subject"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int | None = Field(default=None, foreign_key="surveyround.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    questionnaire: str = Field(max_length=40)
    started_at: datetime = ts(default=True)
    completed_at: datetime | None = ts()


class SurveyPending(SQLModel, table=True):
    """A questionnaire being answered: WHO answers (the contact) and their answers so far, so
    that they can resume after a restart or on another channel. Personal data: an anonymous
    (worker) questionnaire waits here, complete, until it is released in a batch of at least
    3 of its round or event (models/surveys.py, "Anonymity"), and the row is deleted then.
    Exactly one of round_id and event_id is set."""

    __tablename__ = "survey_pending"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "contact_id", "questionnaire"),
        sa.UniqueConstraint("event_id", "contact_id", "questionnaire"),
        sa.CheckConstraint(
            "(round_id IS NULL) <> (event_id IS NULL)", name="ck_survey_pending_one_subject"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    round_id: int | None = Field(default=None, foreign_key="surveyround.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    questionnaire: str = Field(max_length=40)
    anonymous: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # Random, renewed for each questionnaire: buttons carry a piece of it, so that a button of
    # an earlier round or of a finished survey is recognised as stale.
    key: str = Field(max_length=32)
    # Question id -> value (int, option code, list of codes, text; None when skipped).
    answers: dict[str, Any] = json_col(dict)
    complete: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )


class SurveyResponse(SQLModel, table=True):
    """One filled-in questionnaire. Employer responses name their contact and keep their times.
    Anonymous (worker) responses carry no contact, no time, a random id, and are written only
    when released, in batches of at least 3 of one round or event, in random order and in a
    transaction that touches no row naming a person (models/surveys.py, "Anonymity")."""

    id: int | None = Field(default=None, primary_key=True)
    round_id: int | None = Field(default=None, foreign_key="surveyround.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    questionnaire: str = Field(max_length=40)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    started_at: datetime | None = ts()
    completed_at: datetime | None = ts()
    # Completion without a time, so that anonymous responses can be counted as finished.
    complete: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # An anonymous response counts in any figure only once its unit (a closed round, or an
    # event whose answering window has closed) is released with at least 3 of them; a released
    # unit never changes again. Named responses count as they are.
    released: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # An employer response that staff took down at a visit for an owner who does not use the
    # chat (models/surveys.py `start_assisted`): no contact, the staff member as its recorder.
    assisted: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    recorded_by_id: int | None = Field(default=None, foreign_key="contact.id")


class SurveyAnswer(SQLModel, table=True):
    """One answer; a multiple choice stores one row per chosen option, so that SQL counts; a
    skipped question is one row with neither value."""

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="surveyresponse.id", index=True)
    question_id: str = Field(max_length=40)
    value_int: int | None = None
    value_text: str | None = Field(default=None, max_length=1000)
    # None on anonymous responses: answer times could be matched with participation times.
    answered_at: datetime | None = ts()


class Visit(SQLModel, table=True):
    """A planned revisit of an enterprise by its provider."""

    __table_args__ = (sa.Index("ix_visit_status_scheduled", "status", "scheduled_at"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    offset_months: int | None = None
    due_on: date = Field(index=True)
    status: VisitStatus = Field(
        default=VisitStatus.PLANNED,
        sa_column=sa.Column(sa.String(20), nullable=False, index=True),
    )
    scheduled_at: datetime | None = ts()
    staff_id: int | None = Field(default=None, foreign_key="contact.id")
    confirmed_at: datetime | None = ts()
    done_at: datetime | None = ts()
    notes: str | None = Field(default=None, max_length=1000)
    created_at: datetime = ts(default=True)
    # Scheduler bookkeeping (models/visits.py): each step's message goes out once.
    proposed_at: datetime | None = ts()
    suggested_at: datetime | None = ts()  # the employer's counter-proposal
    nudged_at: datetime | None = ts()
    reminded_at: datetime | None = ts()
    outcome_asked_at: datetime | None = ts()
    # Staff finished the checklist of a done visit (models/visit_checks.py): the report is sent.
    checklist_done_at: datetime | None = ts()


class EnrolmentStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class EnrolmentRequest(SQLModel, table=True):
    """An enterprise asking to join without an invite (the newsletter's, leaflet's or website's
    QR code: models/enrolment.py), until the staff of a provider of its province (or a
    coordinator) accept it, which creates the enterprise and registers the requester as its
    employer, or decline it with a reason. The requester is nobody yet: their chat and the
    consent they gave are kept here."""

    __tablename__ = "enrolment_request"

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False, index=True))
    chat_id: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    display_name: str | None = Field(default=None, max_length=200)
    username: str | None = Field(default=None, max_length=64)
    language: str = Field(max_length=10)
    tips: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.true())
    )
    enterprise_name: str = Field(max_length=200)
    province_code: str = Field(max_length=40)
    sector_code: str = Field(max_length=40)
    workers: int
    phone: str | None = Field(default=None, max_length=20)  # None once declined
    status: EnrolmentStatus = Field(
        default=EnrolmentStatus.PENDING,
        sa_column=sa.Column(sa.String(20), nullable=False, index=True),
    )
    created_at: datetime = ts(default=True)
    decided_at: datetime | None = ts()
    decided_by_id: int | None = Field(default=None, foreign_key="contact.id")
    decline_reason: str | None = Field(default=None, max_length=500)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")


class PlanItem(SQLModel, table=True):
    """One improvement an enterprise planned at the training (step 3 of the guide): the
    baseline the follow-up measures against. Who moved it along, and when, stays on the row."""

    __tablename__ = "plan_item"
    # The reminder job's query: planned items by due day.
    __table_args__ = (sa.Index("ix_plan_item_status_due", "status", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    area_code: str = Field(max_length=40)
    what: str = Field(max_length=300)
    checkpoint: str | None = Field(default=None, max_length=40)
    who: str = Field(max_length=100)
    due_on: date
    status: PlanStatus = Field(
        default=PlanStatus.PLANNED, sa_column=sa.Column(sa.String(20), nullable=False)
    )
    source: str = Field(default="chat", max_length=20)
    created_by_id: int | None = Field(default=None, foreign_key="contact.id")
    created_at: datetime = ts(default=True)
    done_at: datetime | None = ts()
    done_by_id: int | None = Field(default=None, foreign_key="contact.id")
    in_use_at: datetime | None = ts()
    in_use_by_id: int | None = Field(default=None, foreign_key="contact.id")
    ended_at: datetime | None = ts()
    ended_by_id: int | None = Field(default=None, foreign_key="contact.id")
    # The reported improvement that carried the item out, when the reporter linked one.
    improvement_id: int | None = Field(default=None, foreign_key="improvement.id")
    reminded_at: datetime | None = ts()


class InboxThread(SQLModel, table=True):
    """What an employer or worker wrote to their provider outside any journey, and the staff's
    answers (models/inbox.py): one open thread per person at a time, until staff close it."""

    __tablename__ = "inbox_thread"
    # /inbox and the weekly digest: a provider's open threads.
    __table_args__ = (sa.Index("ix_inbox_thread_provider_status", "provider_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="provider.id")
    enterprise_id: int = Field(foreign_key="enterprise.id")
    contact_id: int = Field(foreign_key="contact.id", index=True)
    status: str = Field(default="open", max_length=10)  # open / closed
    opened_at: datetime = ts(default=True)
    last_message_at: datetime = ts(default=True)
    closed_at: datetime | None = ts()
    closed_by_id: int | None = Field(default=None, foreign_key="contact.id")


class InboxMessage(SQLModel, table=True):
    """One message of a thread: text, a photo (re-encoded, under the media folder) or a voice
    note (kept as received). Earlier versions kept a person's message without a thread while
    asking whether to send it; the retention job deletes any such row left."""

    __tablename__ = "inbox_message"

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int | None = Field(default=None, foreign_key="inbox_thread.id", index=True)
    sender_id: int = Field(foreign_key="contact.id", index=True)
    incoming: bool = True  # from the person; False: a staff answer
    kind: str = Field(max_length=10)  # text / photo / voice
    text: str | None = Field(default=None, max_length=4000)
    file_id: str | None = Field(default=None, max_length=200)
    file_path: str | None = Field(default=None, max_length=300)  # relative to the media folder
    duration: int | None = None  # seconds, voice notes
    # The person's message on its channel ("tg:<chat>:<message id>"): sent once, however often
    # "Yes, send it" is pressed.
    origin: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(80), unique=True, nullable=True)
    )
    created_at: datetime = ts(default=True)
    sent_at: datetime | None = ts()


class CheckState(StrEnum):
    """What staff saw at a visit of an earlier improvement or plan item."""

    IN_USE = "in_use"
    PARTLY = "partly"
    NO_LONGER = "no_longer"


class VisitCheck(SQLModel, table=True):
    """One line of a visit's checklist (models/visit_checks.py): an earlier improvement or a
    plan item as staff found it, and for an improvement the risk as staff rate it now, kept
    beside the enterprise's own rating of the risk after the improvement (copied when staff
    looked, so that a later edit of the report does not change what was compared)."""

    __tablename__ = "visit_check"
    __table_args__ = (
        sa.UniqueConstraint("visit_id", "improvement_id", name="uq_visit_check_improvement"),
        sa.UniqueConstraint("visit_id", "plan_item_id", name="uq_visit_check_plan_item"),
    )

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    improvement_id: int | None = Field(default=None, foreign_key="improvement.id")
    plan_item_id: int | None = Field(default=None, foreign_key="plan_item.id")
    state: CheckState = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    self_likelihood: int | None = None
    self_severity: int | None = None
    self_score: int | None = None
    staff_likelihood: int | None = None
    staff_severity: int | None = None
    staff_score: int | None = None
    risk_checked_at: datetime | None = ts()  # staff agreed with or re-rated the risk
    checked_by_id: int | None = Field(default=None, foreign_key="contact.id")
    checked_at: datetime = ts(default=True, index=True)


class JobRun(SQLModel, table=True):
    """The last scheduled slot each periodic job claimed, and whether that run finished: what is
    due after a restart, and why a second process does not run a job twice (scheduler/)."""

    name: str = Field(primary_key=True, max_length=40)
    slot: datetime | None = ts()
    started_at: datetime | None = ts()
    finished_at: datetime | None = ts()
    summary: str | None = Field(default=None, max_length=500)


class Event(SQLModel, table=True):
    """A provider meeting, an achievement workshop or a training."""

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)
    kind: str = Field(max_length=30)
    title: str = Field(max_length=200)
    starts_at: datetime = ts(nullable=False)
    place: str | None = Field(default=None, max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    agenda: str | None = Field(default=None, max_length=2000)
    audience: dict[str, Any] = json_col(dict)
    checkin_code: str = Field(max_length=64, unique=True)
    status: str = Field(default="planned", max_length=20)
    # Raised each time the event moves, so that the move notice and the reminders for the new
    # time get their own outbox keys.
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_by_id: int | None = Field(default=None, foreign_key="contact.id")
    created_at: datetime = ts(default=True)


class Rsvp(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("event_id", "contact_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    answer: str | None = Field(default=None, max_length=10)
    answered_at: datetime | None = ts()
    attended_at: datetime | None = ts()
    checkin_method: str | None = Field(default=None, max_length=10)
    # None for a walk-in who checked in without having been invited.
    invited_at: datetime | None = ts()


class EventGoodPractice(SQLModel, table=True):
    """A good practice showcased at an event: listed in the invitation, offered in the survey."""

    event_id: int = Field(foreign_key="event.id", primary_key=True)
    improvement_id: int = Field(foreign_key="improvement.id", primary_key=True)


class Tip(SQLModel, table=True):
    """A monthly tip: from the content library, or from a shared good practice."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True)
    area_code: str = Field(max_length=40, index=True)
    sectors: list[str] = json_col(list)
    title_vi: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    body_vi: str = Field(max_length=2000)
    body_en: str = Field(max_length=2000)
    improvement_id: int | None = Field(default=None, foreign_key="improvement.id")
    active: bool = True


class TipDelivery(SQLModel, table=True):
    # One tip per contact and month, and never the same tip twice.
    __table_args__ = (
        sa.UniqueConstraint("contact_id", "tip_id"),
        sa.UniqueConstraint("contact_id", "period", name="uq_tipdelivery_contact_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tip.id")
    contact_id: int = Field(foreign_key="contact.id", index=True)
    period: str = Field(max_length=7)
    created_at: datetime = ts(default=True)


class Broadcast(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    provider_id: int | None = Field(default=None, foreign_key="provider.id")
    created_by_id: int | None = Field(default=None, foreign_key="contact.id")
    text: str | None = Field(default=None, max_length=4000)
    photo_path: str | None = Field(default=None, max_length=300)
    improvement_id: int | None = Field(default=None, foreign_key="improvement.id")
    audience: dict[str, Any] = json_col(dict)
    status: str = Field(default="draft", max_length=20)
    created_at: datetime = ts(default=True)
    confirmed_at: datetime | None = ts()
    finished_at: datetime | None = ts()
    # Frozen at confirmation; the sender's own message that shows the progress, edited in place.
    recipients: int | None = None
    progress_chat_id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True)
    )
    progress_message_id: int | None = None
    progress_shown: str | None = Field(default=None, max_length=60)


class Outbox(SQLModel, table=True):
    """Every message the bot sends on its own initiative, keyed so that it is sent once."""

    # The sender's query: pending rows of one priority in time order (bot/sender.py).
    __table_args__ = (sa.Index("ix_outbox_due", "status", "priority", "not_before", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    chat_id: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    kind: str = Field(max_length=30)
    payload: dict[str, Any] = json_col(dict)
    priority: int = 0
    not_before: datetime = ts(default=True)
    status: OutboxStatus = Field(
        default=OutboxStatus.PENDING,
        sa_column=sa.Column(sa.String(20), nullable=False, index=True),
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    telegram_message_id: int | None = None
    # Which channel carries the row: "telegram" (to chat_id) or "zalo" (to address, the
    # person's Zalo id); each channel has its own pacing (bot/sender.py).
    channel: str = Field(
        default="telegram",
        sa_column=sa.Column(sa.String(10), nullable=False, server_default="telegram"),
    )
    address: str | None = Field(default=None, max_length=64)
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    created_at: datetime = ts(default=True)
    sent_at: datetime | None = ts()


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts(default=True, index=True)
    actor_id: int | None = Field(default=None, foreign_key="contact.id")
    action: str = Field(max_length=60)
    subject_type: str | None = Field(default=None, max_length=40)
    subject_id: int | None = None
    details: dict[str, Any] = json_col(dict)


class BotState(SQLModel, table=True):
    """python-telegram-bot persistence (conversation states, user and chat data) as JSON rows,
    so that a restart resumes conversations from the same database as the domain."""

    __tablename__ = "bot_state"

    kind: str = Field(primary_key=True, max_length=80)
    key: str = Field(primary_key=True, max_length=200)
    data: Any = Field(sa_column=sa.Column(sa.JSON(), nullable=True))
    updated_at: datetime = ts(default=True)


class JourneyState(SQLModel, table=True):
    """Where a person stands in the bot's journeys (models/journeys/): read on every input, so
    that any process serving the person continues where another left off, and a restart
    loses nothing. One foreground journey at a time; the ones it interrupted wait in `paused`.

    `person` is channel-qualified ("tg:<Telegram user id>", "zl:<Zalo user id>"): a person who
    has not registered yet has a position too.
    """

    __tablename__ = "journey_state"

    person: str = Field(primary_key=True, max_length=80)
    journey: str | None = Field(default=None, max_length=40)
    data: Any = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))
    paused: Any = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))
    # The last message the journey sent with buttons, so that a typed answer can retire them.
    buttons_message: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True)
    )
    # The actions a message of the outbox numbered for a person on a channel without buttons
    # (Zalo), [[label, payload], ...]: they outlive the journeys, so they are kept beside the
    # draft, not in it (models/journeys/engine.py `notice_choices`).
    notice_choices: Any = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))
    updated_at: datetime = ts(default=True)


# -- summary rollups (reports/rollups.py keeps them; reports/summary.py reads them) ----------
# Counts and sums of the follow-up summary per programme-time period (month "2027-03", quarter
# "2027-Q1", year "2027"), so that a summary reads thousands of rows instead of millions. They
# are derived data: `oshbot db rebuild-rollups` recomputes them from the raw rows.
# "*" in a key column means "all" (coarse rows); "" an improvement without a technical area.


def _key(length: int = 40) -> Any:
    return Field(primary_key=True, max_length=length)


def _sum() -> Any:
    return Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, default=0))


class RollupEnterprise(SQLModel, table=True):
    """Per enterprise and period: its counted improvements (area "*": all areas; else one
    area), the per-enterprise figures need them (distribution, median, capped workers)."""

    __tablename__ = "rollup_enterprise"

    period_key: str = _key(7)
    area_code: str = _key()
    enterprise_id: int = Field(primary_key=True)
    improvements: int = _sum()
    workers_benefiting: int = _sum()
    reviewed: int = _sum()
    awaiting: int = _sum()
    responses: int = _sum()  # complete survey responses of its rounds opened in the period
    visits_done: int = _sum()  # visits done (by done_at) in the period


class RollupImprovement(SQLModel, table=True):
    """Counted improvements per period, provider, province, sector and area."""

    __tablename__ = "rollup_improvement"

    period_key: str = _key(7)
    provider_id: int = Field(primary_key=True)
    province_code: str = _key()
    sector_code: str = _key()
    area_code: str = _key()
    improvements: int = _sum()
    verified: int = _sum()
    good_practice: int = _sum()
    reviewed: int = _sum()  # reviewed (verified or good practice, with a review time)
    awaiting: int = _sum()  # submitted, not reviewed yet
    rated: int = _sum()
    risk_before: int = _sum()
    risk_after: int = _sum()
    high_before: int = _sum()
    moved_down: int = _sum()
    cost_known: int = _sum()
    low_cost: int = _sum()


class RollupValue(SQLModel, table=True):
    """Histograms behind exact medians: `kind` "cost" (amounts in VND) or "hours" (submission
    to review); coarse rows (province, sector, area "*") serve summaries without filters."""

    __tablename__ = "rollup_value"
    # Coarse rows (province "*") of a period, read without walking every provider's fine rows.
    __table_args__ = (sa.Index("ix_rollup_value_coarse", "period_key", "kind", "province_code"),)

    period_key: str = _key(7)
    kind: str = _key(10)
    provider_id: int = Field(primary_key=True)
    province_code: str = _key()
    sector_code: str = _key()
    area_code: str = _key()
    value: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True))
    count: int = _sum()


class RollupAnswer(SQLModel, table=True):
    """Survey answers of complete responses per period of their round's opening: question "*"
    counts respondents; `value` is "i:<n>" for a scale, "t:<text>" for a choice, "" for none."""

    __tablename__ = "rollup_answer"
    __table_args__ = (
        sa.Index(
            "ix_rollup_answer_coarse", "period_key", "province_code", "questionnaire", "question_id"
        ),
    )

    period_key: str = _key(7)
    provider_id: int = Field(primary_key=True)
    province_code: str = _key()
    sector_code: str = _key()
    questionnaire: str = _key()
    question_id: str = _key()
    value: str = _key(200)
    answers: int = _sum()
    given: int = _sum()  # free-text answers that name something


class RollupRound(SQLModel, table=True):
    """Survey rounds per period of opening and round number, with their complete answers."""

    __tablename__ = "rollup_round"

    period_key: str = _key(7)
    provider_id: int = Field(primary_key=True)
    province_code: str = _key()
    sector_code: str = _key()
    number: int = Field(primary_key=True)
    rounds: int = _sum()
    with_employer: int = _sum()
    worker_responses: int = _sum()
    registered_workers: int = _sum()  # worker contacts (not erased) of the round's enterprise


class RollupCell(SQLModel, table=True):
    """Enterprises and their reachable employers and workers per provider, province and sector,
    as of now (not per period)."""

    __tablename__ = "rollup_cell"

    provider_id: int = Field(primary_key=True)
    province_code: str = _key()
    sector_code: str = _key()
    enterprises: int = _sum()
    reachable_employers: int = _sum()
    reachable_workers: int = _sum()


class RollupVisit(SQLModel, table=True):
    """Visits per period of their due day and status, with those done on time; coarse rows
    (province and sector "*") serve summaries without those filters."""

    __tablename__ = "rollup_visit"
    __table_args__ = (sa.Index("ix_rollup_visit_coarse", "period_key", "province_code", "status"),)

    period_key: str = _key(7)
    provider_id: int = Field(primary_key=True)
    province_code: str = _key()
    sector_code: str = _key()
    status: str = _key(20)
    visits: int = _sum()
    on_time: int = _sum()


class RollupVisitDay(SQLModel, table=True):
    """Visits per due day, provider and status: the days of a month that today cuts (overdue
    visits) without reading the visits themselves."""

    __tablename__ = "rollup_visit_day"

    due_on: date = Field(primary_key=True)
    provider_id: int = Field(primary_key=True)
    status: str = _key(20)
    visits: int = _sum()


class RollupCount(SQLModel, table=True):
    """Enterprises per period, provider and number of counted improvements they made in it
    (from rollup_enterprise's all-area rows): the distribution, the median and the workers
    benefiting (capped at each workforce) without one row per enterprise. `improvements` 0
    holds enterprises followed up without a report; those without either are not counted."""

    __tablename__ = "rollup_count"

    period_key: str = _key(7)
    provider_id: int = Field(primary_key=True)
    improvements: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True))
    enterprises: int = _sum()
    workers_benefiting: int = _sum()  # capped at the enterprise's workforce
    followed_up: int = _sum()  # a survey response or a visit done in the period


class WebSignIn(SQLModel, table=True):
    """A one-time dashboard sign-in link sent by /web: the link carries `id` (signed), and
    `used_at` makes it single use across every process that shares the database."""

    __tablename__ = "web_sign_in"

    id: str = Field(primary_key=True, max_length=64)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    created_at: datetime = ts(default=True)
    expires_at: datetime = ts(nullable=False)
    used_at: datetime | None = ts()
