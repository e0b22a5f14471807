"""Provider meetings, achievement workshops and trainings: invitations, answers, reminders,
check-in at the venue, and the reaction survey afterwards.

The guide's step 5 suggests meetings of providers with agencies, partners and SMEs, and
achievement workshops where participating SMEs say what they think. Everything the bot sends
about an event on its own initiative goes through the outbox with a key that names the event,
the person and the occasion, so that a repeated call sends nothing twice:

    event-invite:<event>:<contact>              the invitation (Going / Maybe / Can't come)
    event-reminder:<event>:<contact>:d-1        a day before, to those going or undecided
    event-reminder:<event>:<contact>:h-2        two hours before, the same people
    event-move:<event>:<version>:<contact>      the event moved (version counts the moves)
    event-cancel:<event>:<contact>              the event was cancelled
    event-survey:<event>:<contact>              after the event, the reaction survey

Reminders for an event that moved carry `:v<version>` at the end, so that a reminder sent for
the old time does not stop the one for the new time.

Messages are rendered in the recipient's language when they are enqueued (bot.i18n has no
Telegram in it); buttons carry callback data that handlers/events.py answers, except the
reaction survey's, which opens the follow-up survey journey (models/journeys/feedback.py) on the
same engine (models/surveys.py: start_event).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.i18n import N_, Translate, shorten, translator
from models import content, goodpractice, outbox
from models.audience import Audience, members
from models.enterprises import followed_up
from models.outbox import (
    PRIORITY_NOTICE,
    PRIORITY_REMINDER,
    Queued,
    enqueue,
    enqueue_many,
    reachable,
)
from models.programme import ProgrammeError, audit, new_code
from models.tables import (
    Contact,
    Event,
    EventGoodPractice,
    Outbox,
    Provider,
    Role,
    Rsvp,
)

# -- vocabulary ------------------------------------------------------------------------------

PROVIDER_MEETING = "provider_meeting"
ACHIEVEMENT_WORKSHOP = "achievement_workshop"
TRAINING = "training"
KINDS = (PROVIDER_MEETING, ACHIEVEMENT_WORKSHOP, TRAINING)
KIND_NAMES = {
    PROVIDER_MEETING: N_("Provider meeting"),
    ACHIEVEMENT_WORKSHOP: N_("Achievement workshop"),
    TRAINING: N_("Training"),
}

GOING, MAYBE, NO = "going", "maybe", "no"
ANSWERS = (GOING, MAYBE, NO)
ANSWER_LABELS = {GOING: N_("✅ Going"), MAYBE: N_("🤔 Maybe"), NO: N_("✖ Can't come")}

PLANNED, CANCELLED = "planned", "cancelled"
QR, MANUAL = "qr", "manual"

TITLE_MAX = 200
PLACE_MAX = 300
AGENDA_MAX = 2000
SHOWCASE_MAX = 5  # good practices per event: the invitation stays readable on a phone
# How far ahead an event may be planned; a typo in the year should not pass.
PLAN_AHEAD_MAX = timedelta(days=2 * 365)

DAY_BEFORE = timedelta(hours=24)
HOURS_BEFORE = timedelta(hours=2)
# Events have no end time: check-in opens a little before the start and closes the same
# evening; the reaction survey goes out once the event is assumed to be over.
CHECKIN_OPENS = timedelta(hours=3)
CHECKIN_CLOSES = timedelta(hours=12)
EVENT_LENGTH = timedelta(hours=3)
# Attendees ticked by hand up to two weeks later still get the survey; later it is pointless.
SURVEY_WINDOW = timedelta(days=14)

REACTION_QUESTIONNAIRE = "event_reaction"
CHECKIN_PREFIX = "ev_"  # the deep link is https://t.me/<bot>?start=ev_<checkin_code>

# Callback data of the buttons in messages the outbox carries (answered in handlers/events.py).
RSVP_DATA = "evr:"  # evr:<event>:<answer>
# The reaction survey runs in the follow-up survey journey (models/journeys/feedback.py), which
# answers this button; models/surveys.py formats and reads it (event_start_data).
SURVEY_DATA = "fb:event:"  # fb:event:<event>

ORGANISER_ROLES = (Role.STAFF, Role.COORDINATOR)


@cache
def default_tz() -> ZoneInfo:
    """The programme's time zone, for jobs that are plain functions of (session, now)."""
    from bot.settings import Settings

    return Settings().tz


def kind_name(_: Translate, kind: str) -> str:
    return _(KIND_NAMES.get(kind, KIND_NAMES[PROVIDER_MEETING]))


# -- validation ------------------------------------------------------------------------------


def clean_title(text: str | None) -> str:
    title = " ".join((text or "").split())
    if len(title) < 3:
        raise ProgrammeError("title_too_short")
    if len(title) > TITLE_MAX:
        raise ProgrammeError("title_too_long", limit=TITLE_MAX)
    return title


def clean_place(text: str | None) -> str:
    place = " ".join((text or "").split())
    if len(place) < 3:
        raise ProgrammeError("place_too_short")
    if len(place) > PLACE_MAX:
        raise ProgrammeError("place_too_long", limit=PLACE_MAX)
    return place


def clean_agenda(text: str | None) -> str:
    agenda = "\n".join(line.rstrip() for line in (text or "").strip().splitlines())
    if len(agenda) < 3:
        raise ProgrammeError("agenda_too_short")
    if len(agenda) > AGENDA_MAX:
        raise ProgrammeError("agenda_too_long", limit=AGENDA_MAX)
    return agenda


def clean_location(latitude: float, longitude: float) -> tuple[float, float]:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ProgrammeError("location_invalid")
    return round(latitude, 6), round(longitude, 6)


def parse_moment(text: str | None, *, now: datetime, tz: ZoneInfo) -> datetime:
    """A start typed the Vietnamese way, "20/03/2027 14:00" (also 14h00, 14g, 20-03-2027),
    in the programme's time zone; returned in UTC. Must be in the future, within two years."""
    raw = " ".join((text or "").replace(",", " ").split())
    parts = raw.split(" ")
    if len(parts) != 2:
        raise ProgrammeError("moment_invalid")
    day_text, time_text = parts
    if ":" in day_text:  # the time first: "14:00 20/03/2027"
        day_text, time_text = time_text, day_text
    day_parts = day_text.replace("-", "/").replace(".", "/").split("/")
    time_text = time_text.lower().replace("h", ":").replace("g", ":").rstrip(":")
    time_parts = time_text.split(":")
    try:
        if len(day_parts) != 3 or len(day_parts[2]) != 4 or not 1 <= len(time_parts) <= 2:
            raise ValueError(raw)
        hour = int(time_parts[0])
        minute = int(time_parts[1]) if len(time_parts) == 2 and time_parts[1] else 0
        local = datetime(
            int(day_parts[2]), int(day_parts[1]), int(day_parts[0]), hour, minute, tzinfo=tz
        )
    except ValueError as error:
        raise ProgrammeError("moment_invalid") from error
    moment = local.astimezone(now.tzinfo)
    if moment <= now:
        raise ProgrammeError("moment_in_past")
    if moment > now + PLAN_AHEAD_MAX:
        raise ProgrammeError("moment_too_far")
    return moment


# -- permissions -----------------------------------------------------------------------------


def is_organiser(contact: Contact | None) -> bool:
    return contact is not None and contact.role in ORGANISER_ROLES


def can_manage(contact: Contact | None, event: Event | None) -> bool:
    """Coordinators manage every event; staff the events of their own provider."""
    if contact is None or event is None:
        return False
    if contact.role == Role.COORDINATOR:
        return True
    return contact.role == Role.STAFF and contact.provider_id == event.provider_id


def managed_event(session: Session, event_id: int, actor: Contact | None) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise ProgrammeError("unknown_event")
    if not can_manage(actor, event):
        raise ProgrammeError("not_allowed")
    return event


# -- creating and inviting -------------------------------------------------------------------


@dataclass(frozen=True)
class EventDraft:
    kind: str
    title: str
    starts_at: datetime
    place: str
    agenda: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    audience: Audience = field(default_factory=Audience)
    good_practices: tuple[int, ...] = ()


def scoped_audience(audience: Audience, actor: Contact) -> Audience:
    """Staff invite only their own provider's people, whatever the draft says."""
    if actor.role == Role.STAFF:
        return Audience(
            provider_id=actor.provider_id,
            provinces=audience.provinces,
            sectors=audience.sectors,
            roles=audience.roles,
            no_reports_in_area=audience.no_reports_in_area,
            include_partners=audience.include_partners,
        )
    return audience


def audience_size(session: Session, audience: Audience, actor: Contact) -> int:
    from models.audience import count

    return count(session, scoped_audience(audience, actor))


def create_event(session: Session, *, draft: EventDraft, actor: Contact, now: datetime) -> Event:
    if not is_organiser(actor):
        raise ProgrammeError("not_allowed")
    if draft.kind not in KINDS:
        raise ProgrammeError("unknown_kind")
    if draft.starts_at <= now:
        raise ProgrammeError("moment_in_past")
    if len(draft.good_practices) > SHOWCASE_MAX:
        raise ProgrammeError("too_many_practices", limit=SHOWCASE_MAX)
    audience = scoped_audience(draft.audience, actor)
    for improvement_id in draft.good_practices:
        if goodpractice.entry(session, improvement_id) is None:
            raise ProgrammeError("unknown_practice")
    event = Event(
        provider_id=audience.provider_id,
        kind=draft.kind,
        title=clean_title(draft.title),
        starts_at=draft.starts_at,
        place=clean_place(draft.place),
        latitude=draft.latitude,
        longitude=draft.longitude,
        agenda=clean_agenda(draft.agenda) if draft.agenda else None,
        audience=audience.to_json(),
        checkin_code=new_code(),
        status=PLANNED,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(event)
    session.flush()
    assert event.id is not None  # given by the flush
    for improvement_id in dict.fromkeys(draft.good_practices):
        session.add(EventGoodPractice(event_id=event.id, improvement_id=improvement_id))
    audit(session, "event.create", actor_id=actor.id, subject=event, kind=draft.kind)
    return event


def invite(session: Session, *, event: Event, now: datetime, tz: ZoneInfo | None = None) -> int:
    """Invites the event's audience: an Rsvp row and an invitation for each member who has
    none yet. Calling it again invites only people who joined since; returns how many."""
    from models.notices import events as cards  # it reads this module's names

    assert event.id is not None
    if event.status == CANCELLED or event.starts_at <= now:
        return 0
    tz = tz or default_tz()
    invited = set(
        session.exec(
            select(Rsvp.contact_id).where(
                Rsvp.event_id == event.id, col(Rsvp.invited_at).is_not(None)
            )
        )
    )
    existing = {
        row.contact_id: row for row in session.exec(select(Rsvp).where(Rsvp.event_id == event.id))
    }
    sent = 0
    practices = showcased(session, event.id)
    organiser = organiser_name(session, event)
    audience = Audience.from_json(event.audience)
    # The invitation goes to everyone invited; the good examples of other enterprises that the
    # event will look at are listed only for those who accepted good examples.
    readers = (
        {c.id for c in members(session, replace(audience, good_examples=True))}
        if practices
        else set()
    )
    invitations = []
    for contact in members(session, audience):
        if contact.id in invited:
            continue
        row = existing.get(contact.id) or Rsvp(event_id=event.id, contact_id=contact.id)  # type: ignore[arg-type]
        row.invited_at = now
        session.add(row)
        invitations.append(
            Queued(
                key=f"event-invite:{event.id}:{contact.id}",
                contact=contact,
                kind="event-invite",
                message=cards.invitation(
                    event,
                    contact,
                    practices=practices if contact.id in readers else [],
                    tz=tz,
                    organiser=organiser,
                ),
                priority=PRIORITY_NOTICE,
            )
        )
        sent += 1
    enqueue_many(session, invitations, now=now)
    audit(session, "event.invite", subject=event, invited=sent)
    return sent


# -- what people read: models/notices/events.py renders it ---------------------------------


def organiser_name(session: Session, event: Event) -> str | None:
    provider = session.get(Provider, event.provider_id) if event.provider_id else None
    return provider.name if provider else None


def showcased(session: Session, event_id: int) -> list[goodpractice.Entry]:
    ids = session.exec(
        select(EventGoodPractice.improvement_id)
        .where(EventGoodPractice.event_id == event_id)
        .order_by(col(EventGoodPractice.improvement_id))
    ).all()
    found = [goodpractice.entry(session, improvement_id) for improvement_id in ids]
    return [entry for entry in found if entry is not None]


def good_practice_options(session: Session, event_id: int) -> list[content.Option]:
    """The options of the reaction survey's `options_from = "event_good_practices"` question:
    one per good practice shown at the event, its code the improvement id."""
    options = []
    for entry in showcased(session, event_id):
        label = shorten(entry.text)
        options.append(content.Option(code=str(entry.id), vi=label, en=label))
    return options


# -- answers ---------------------------------------------------------------------------------


def answer(
    session: Session, *, event_id: int, contact: Contact, value: str, now: datetime
) -> tuple[Rsvp, bool]:
    """Records Going / Maybe / Can't come; returns the row and whether the answer changed.
    Only invited people answer, and only until the event starts."""
    if value not in ANSWERS:
        raise ProgrammeError("unknown_answer")
    event = session.get(Event, event_id)
    if event is None:
        raise ProgrammeError("unknown_event")
    if event.status == CANCELLED:
        raise ProgrammeError("event_cancelled")
    if event.starts_at <= now:
        raise ProgrammeError("event_started")
    row = session.exec(
        select(Rsvp).where(Rsvp.event_id == event_id, Rsvp.contact_id == contact.id)
    ).first()
    if row is None or row.invited_at is None:
        raise ProgrammeError("not_invited")
    if row.answer == value:
        return row, False
    row.answer = value
    row.answered_at = now
    session.add(row)
    audit(session, "event.rsvp", actor_id=contact.id, subject=event, answer=value)
    return row, True


# -- reminders and the survey: plain functions of (session, now) -----------------------------


def _undecided_or_going() -> sa.ColumnElement[bool]:
    return sa.or_(col(Rsvp.answer).is_(None), col(Rsvp.answer).in_([GOING, MAYBE]))


def _reachable() -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Contact.opted_out_at).is_(None), reachable(), col(Contact.erased_at).is_(None)
    )


def _not_queued(prefix: str, suffix: str = "") -> sa.ColumnElement[bool]:
    """No outbox row has the key `<prefix><contact id><suffix>` yet: checked in the query, so
    that the hourly job costs next to nothing once everything due is queued."""
    key = sa.literal(prefix) + sa.cast(col(Contact.id), sa.String) + sa.literal(suffix)
    return ~sa.exists(select(Outbox.id).where(col(Outbox.key) == key))


def _reminder_key_parts(event: Event, which: str) -> tuple[str, str]:
    version = f":v{event.version}" if event.version > 1 else ""
    return f"event-reminder:{event.id}:", f":{which}{version}"


def _reminder_key(event: Event, contact_id: int, which: str) -> str:
    prefix, suffix = _reminder_key_parts(event, which)
    return f"{prefix}{contact_id}{suffix}"


def enqueue_reminders(session: Session, now: datetime, *, tz: ZoneInfo | None = None) -> int:
    """The day-before and two-hours-before reminders that have become due, to invitees who
    said Going or Maybe or have not answered. A day-before reminder is skipped when the
    invitation went out less than a day ahead, or when it is already two hours before."""
    from models.notices import events as cards  # it reads this module's names

    tz = tz or default_tz()
    events = session.exec(
        select(Event).where(
            Event.status == PLANNED,
            col(Event.starts_at) > now,
            col(Event.starts_at) <= now + DAY_BEFORE,
        )
    ).all()
    queued = 0
    for event in events:
        which = "h-2" if event.starts_at - now <= HOURS_BEFORE else "d-1"
        rows = session.exec(
            select(Rsvp, Contact)
            .join(Contact, col(Contact.id) == Rsvp.contact_id)
            .where(
                Rsvp.event_id == event.id,
                col(Rsvp.invited_at).is_not(None),
                _undecided_or_going(),
                _reachable(),
                # Someone who said they will come is reminded whatever happened since; an
                # undecided person of an archived enterprise is not pressed further.
                sa.or_(
                    col(Rsvp.answer) == GOING,
                    col(Contact.enterprise_id).is_(None),
                    followed_up(Contact.enterprise_id),
                ),
                _not_queued(*_reminder_key_parts(event, which)),
            )
            .order_by(col(Contact.id))
        ).all()
        for row, contact in rows:
            assert row.invited_at is not None
            key = _reminder_key(event, contact.id, which)  # type: ignore[arg-type]
            if which == "d-1" and row.invited_at > event.starts_at - DAY_BEFORE:
                continue  # invited within the last day: the invitation itself is the reminder
            if which == "h-2" and row.invited_at > event.starts_at - HOURS_BEFORE:
                continue
            if enqueue(
                session,
                key=key,
                contact=contact,
                kind="event-reminder",
                message=cards.reminder(event, contact, row.answer, which, tz=tz),
                priority=PRIORITY_REMINDER,
                not_before=now,
            ):
                queued += 1
    return queued


def enqueue_survey_invitations(session: Session, now: datetime) -> int:
    """After the event, the reaction survey to everyone who attended (QR or ticked by hand)."""
    from models.notices import events as cards  # it reads this module's names

    questionnaire = content.questionnaire(REACTION_QUESTIONNAIRE)
    events = session.exec(
        select(Event).where(
            Event.status == PLANNED,
            col(Event.starts_at) <= now - EVENT_LENGTH,
            col(Event.starts_at) > now - EVENT_LENGTH - SURVEY_WINDOW,
        )
    ).all()
    queued = 0
    for event in events:
        rows = session.exec(
            select(Contact)
            .join(Rsvp, col(Rsvp.contact_id) == Contact.id)
            .where(Rsvp.event_id == event.id, col(Rsvp.attended_at).is_not(None), _reachable())
            .where(col(Contact.role).not_in([str(r) for r in ORGANISER_ROLES]))
            .where(_not_queued(f"event-survey:{event.id}:"))
            .order_by(col(Contact.id))
        ).all()
        for contact in rows:
            _ = translator(contact.language)
            title = questionnaire.title(contact.language) if questionnaire else ""
            intro = questionnaire.intro(contact.language) if questionnaire else ""
            if enqueue(
                session,
                key=f"event-survey:{event.id}:{contact.id}",
                contact=contact,
                kind="event-survey",
                message=cards.survey_invitation(event, contact, title, intro),
                priority=PRIORITY_REMINDER,
                not_before=now,
            ):
                queued += 1
    return queued


def due_event_messages(session: Session, now: datetime, *, tz: ZoneInfo | None = None) -> int:
    """Everything about events that has become due: reminders and survey invitations. The
    scheduler calls it every minute; a repeat enqueues nothing (outbox keys)."""
    return enqueue_reminders(session, now, tz=tz) + enqueue_survey_invitations(session, now)


# -- check-in and attendance -----------------------------------------------------------------


@dataclass(frozen=True)
class CheckIn:
    event: Event
    outcome: str  # "checked_in", "walk_in", "already", "organiser"
    attendees: int = 0


def attendee_count(session: Session, event_id: int) -> int:
    return int(
        session.exec(
            select(sa.func.count())
            .select_from(Rsvp)
            .where(Rsvp.event_id == event_id, col(Rsvp.attended_at).is_not(None))
        ).one()
    )


def event_by_code(session: Session, code: str | None) -> Event | None:
    if not code or len(code) > 64:
        return None
    return session.exec(select(Event).where(Event.checkin_code == code)).first()


def _check_window(event: Event, now: datetime) -> None:
    if event.status == CANCELLED:
        raise ProgrammeError("event_cancelled")
    if now < event.starts_at - CHECKIN_OPENS:
        raise ProgrammeError("checkin_not_open", starts_at=event.starts_at)
    if now > event.starts_at + CHECKIN_CLOSES:
        raise ProgrammeError("checkin_closed")


def check_in(session: Session, *, code: str, contact: Contact, now: datetime) -> CheckIn:
    """Scanning the event's QR code at the venue. Someone who had not answered, or was not
    invited at all, is recorded as a walk-in; the event's organisers (its provider's staff and
    coordinators) scanning it only see the count. Staff of another provider are attendees like
    anyone else: the live count is not theirs to see."""
    event = event_by_code(session, code)
    if event is None:
        raise ProgrammeError("unknown_checkin")
    assert event.id is not None
    _check_window(event, now)
    if can_manage(contact, event):
        return CheckIn(event, "organiser", attendee_count(session, event.id))
    row = session.exec(
        select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.contact_id == contact.id)
    ).first()
    if row is not None and row.attended_at is not None:
        return CheckIn(event, "already", attendee_count(session, event.id))
    walk_in = row is None or row.answer != GOING
    if row is None:
        row = Rsvp(event_id=event.id, contact_id=contact.id)  # type: ignore[arg-type]
    row.attended_at = now
    row.checkin_method = QR
    session.add(row)
    session.flush()
    audit(session, "event.checkin", actor_id=contact.id, subject=event, method=QR)
    return CheckIn(event, "walk_in" if walk_in else "checked_in", attendee_count(session, event.id))


def toggle_attendance(
    session: Session, *, event_id: int, contact_id: int, actor: Contact, now: datetime
) -> bool:
    """Staff tick (or untick) a person's attendance by hand; returns whether they attended."""
    event = managed_event(session, event_id, actor)
    if event.status == CANCELLED:
        raise ProgrammeError("event_cancelled")
    if now < event.starts_at - CHECKIN_OPENS:
        raise ProgrammeError("checkin_not_open", starts_at=event.starts_at)
    row = session.exec(
        select(Rsvp).where(Rsvp.event_id == event_id, Rsvp.contact_id == contact_id)
    ).first()
    if row is None:
        raise ProgrammeError("not_invited")
    if row.attended_at is None:
        row.attended_at, row.checkin_method = now, MANUAL
    else:
        row.attended_at, row.checkin_method = None, None
    session.add(row)
    audit(
        session,
        "event.attendance",
        actor_id=actor.id,
        subject=event,
        contact=contact_id,
        attended=row.attended_at is not None,
    )
    return row.attended_at is not None


@dataclass(frozen=True)
class Attendee:
    contact_id: int
    name: str
    answer: str | None
    attended: bool
    organisation: str | None


def attendance(session: Session, event_id: int) -> list[Attendee]:
    """Everyone invited or checked in, those expected first, then by name."""
    from models.tables import Enterprise

    rows = session.exec(
        select(Rsvp, Contact, Enterprise.name, Provider.name)
        .join(Contact, col(Contact.id) == Rsvp.contact_id)
        .join(Enterprise, col(Enterprise.id) == Contact.enterprise_id, isouter=True)
        .join(Provider, col(Provider.id) == Contact.provider_id, isouter=True)
        .where(Rsvp.event_id == event_id, col(Contact.erased_at).is_(None))
    ).all()
    order = {GOING: 0, MAYBE: 1, None: 2, NO: 3}
    people = [
        Attendee(
            contact_id=contact.id,  # type: ignore[arg-type]
            name=contact.display_name or "—",
            answer=row.answer,
            attended=row.attended_at is not None,
            organisation=enterprise_name or provider_name,
        )
        for row, contact, enterprise_name, provider_name in rows
    ]
    return sorted(people, key=lambda p: (order.get(p.answer, 2), p.name.casefold(), p.contact_id))


# -- moving and cancelling -------------------------------------------------------------------


def _invitees(session: Session, event_id: int) -> list[Contact]:
    return list(
        session.exec(
            select(Contact)
            .join(Rsvp, col(Rsvp.contact_id) == Contact.id)
            .where(Rsvp.event_id == event_id, col(Rsvp.invited_at).is_not(None), _reachable())
            .order_by(col(Contact.id))
        )
    )


def _skip_pending(session: Session, event_id: int, *prefixes: str) -> None:
    """Queued messages that the change made wrong (an invitation or a reminder for the old
    time) are never sent."""
    for prefix in prefixes:
        outbox.withdraw(session, outbox.about(prefix, event_id), reason="event changed")


def cancel_event(
    session: Session, *, event_id: int, actor: Contact, now: datetime, tz: ZoneInfo | None = None
) -> int:
    """Cancels an upcoming event and tells every invitee once; returns how many were told."""
    from models.notices import events as cards  # it reads this module's names

    tz = tz or default_tz()
    event = managed_event(session, event_id, actor)
    if event.status == CANCELLED:
        raise ProgrammeError("event_cancelled")
    if event.starts_at <= now:
        raise ProgrammeError("event_started")
    event.status = CANCELLED
    session.add(event)
    _skip_pending(session, event_id, "event-invite", "event-reminder")
    told = 0
    for contact in _invitees(session, event_id):
        if enqueue(
            session,
            key=f"event-cancel:{event_id}:{contact.id}",
            contact=contact,
            kind="event-cancel",
            message=cards.cancelled(event, contact, tz=tz),
            priority=PRIORITY_NOTICE,
            not_before=now,
        ):
            told += 1
    audit(session, "event.cancel", actor_id=actor.id, subject=event, told=told)
    return told


def move_event(
    session: Session,
    *,
    event_id: int,
    starts_at: datetime,
    actor: Contact,
    now: datetime,
    tz: ZoneInfo | None = None,
) -> int:
    """Moves an upcoming event to a new time and tells every invitee once (with the answer
    buttons again: the new time may suit someone who could not come); returns how many."""
    from models.notices import events as cards  # it reads this module's names

    tz = tz or default_tz()
    event = managed_event(session, event_id, actor)
    if event.status == CANCELLED:
        raise ProgrammeError("event_cancelled")
    if event.starts_at <= now:
        raise ProgrammeError("event_started")
    if starts_at <= now:
        raise ProgrammeError("moment_in_past")
    if starts_at == event.starts_at:
        raise ProgrammeError("moment_unchanged")
    old = event.starts_at
    event.starts_at = starts_at
    event.version += 1
    session.add(event)
    _skip_pending(session, event_id, "event-reminder")
    told = 0
    for contact in _invitees(session, event_id):
        row = session.exec(
            select(Rsvp).where(Rsvp.event_id == event_id, Rsvp.contact_id == contact.id)
        ).one()
        if enqueue(
            session,
            key=f"event-move:{event_id}:{event.version}:{contact.id}",
            contact=contact,
            kind="event-move",
            message=cards.moved(event, contact, old, row.answer, tz=tz),
            priority=PRIORITY_NOTICE,
            not_before=now,
        ):
            told += 1
    audit(session, "event.move", actor_id=actor.id, subject=event, old=old.isoformat(), told=told)
    return told


# -- lists -----------------------------------------------------------------------------------


def events_for(
    session: Session, contact: Contact, *, now: datetime, past_limit: int = 10
) -> tuple[list[Event], list[Event]]:
    """(upcoming, past) events the contact may see: organisers their provider's (coordinators
    all), everyone else the events they were invited to or attended."""
    query = select(Event)
    if contact.role == Role.STAFF:
        query = query.where(Event.provider_id == contact.provider_id)
    elif contact.role != Role.COORDINATOR:
        query = query.where(
            col(Event.id).in_(select(Rsvp.event_id).where(Rsvp.contact_id == contact.id))
        )
    upcoming = session.exec(
        query.where(col(Event.starts_at) > now).order_by(col(Event.starts_at)).limit(20)
    ).all()
    past = session.exec(
        query.where(col(Event.starts_at) <= now)
        .order_by(col(Event.starts_at).desc())
        .limit(past_limit)
    ).all()
    return list(upcoming), list(past)


def rsvp_of(session: Session, event_id: int, contact_id: int) -> Rsvp | None:
    return session.exec(
        select(Rsvp).where(Rsvp.event_id == event_id, Rsvp.contact_id == contact_id)
    ).first()


def attended(session: Session, event_id: int, contact_id: int) -> bool:
    row = rsvp_of(session, event_id, contact_id)
    return row is not None and row.attended_at is not None


def audience_choices(session: Session, provider_id: int | None) -> tuple[list[str], list[str]]:
    """The province and sector codes of the enterprises an audience can pick from."""
    from models.tables import Enterprise

    base = select(Enterprise.province_code, Enterprise.sector_code)
    if provider_id is not None:
        base = base.where(Enterprise.provider_id == provider_id)
    rows = session.exec(base.distinct()).all()
    provinces = sorted({province for province, _ in rows})
    sectors = sorted({sector for _, sector in rows})
    return provinces, sectors


def events_job(session: Session, now: datetime, *, config: object = None) -> dict[str, int]:
    """The scheduler's hourly job (scheduler/runner.py): reminders and survey invitations.
    `config` is the scheduler's SchedulerConfig; only its time zone is used."""
    tz = getattr(config, "tz", None)
    return {
        "event_reminders": enqueue_reminders(session, now, tz=tz),
        "event_surveys": enqueue_survey_invitations(session, now),
    }
