"""Event figures: invited / going / maybe / can't / attended / reactions, and what attendees
said in the reaction survey, with small groups suppressed.

Counts are SQL aggregations; nothing here loads every answer to count it in Python. The
reaction survey is the `event_reaction` questionnaire (content/surveys/event_reaction.toml):
`rating` (1–5), `practices_to_try` (one answer row per chosen good practice, its code the
improvement id), and free-text `most_useful`, `next_steps`, `suggestions`. Responses are
those `models.surveys.start_event` stores: `event_id` set, workers' without contact or time
(hence `complete`), skipped questions as rows with no value (never counted). Workers' answers
count only once released, all together, after the answering window closed (`_completed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.i18n import N_, gettext
from models.events import (
    CANCELLED,
    GOING,
    KIND_NAMES,
    MAYBE,
    NO,
    PLANNED,
    REACTION_QUESTIONNAIRE,
    showcased,
)
from models.surveys import MIN_GROUP
from models.tables import (
    Event,
    Rsvp,
    SurveyAnswer,
    SurveyParticipation,
    SurveyPending,
    SurveyResponse,
)

SMALL_GROUP = MIN_GROUP  # fewer reactions than this are counted, never broken down
TEXTS_SHOWN = 5


@dataclass(frozen=True)
class EventCounts:
    invited: int = 0
    going: int = 0
    maybe: int = 0
    cannot: int = 0
    no_answer: int = 0
    attended: int = 0
    walk_ins: int = 0
    reactions: int = 0


def _completed() -> sa.ColumnElement[bool]:
    """A response whose answers count: complete, and named, or anonymous and released with the
    event's whole unit of worker answers once the answering window closed (models/surveys.py,
    "Anonymity"): the card never changes by one worker's answer."""
    done = sa.or_(col(SurveyResponse.completed_at).is_not(None), col(SurveyResponse.complete))
    return sa.and_(
        done, sa.or_(col(SurveyResponse.contact_id).is_not(None), col(SurveyResponse.released))
    )


def counts(session: Session, event_ids: list[int]) -> dict[int, EventCounts]:
    """The figures of several events in two grouped queries."""
    if not event_ids:
        return {}

    invited = col(Rsvp.invited_at).is_not(None)
    rows = session.exec(
        select(  # type: ignore[call-overload]
            Rsvp.event_id,
            sa.func.count(col(Rsvp.invited_at)),
            sa.func.sum(sa.case((sa.and_(invited, col(Rsvp.answer) == GOING), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(invited, col(Rsvp.answer) == MAYBE), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(invited, col(Rsvp.answer) == NO), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(invited, col(Rsvp.answer).is_(None)), 1), else_=0)),
            sa.func.count(col(Rsvp.attended_at)),
            sa.func.sum(
                sa.case(
                    (
                        sa.and_(
                            col(Rsvp.attended_at).is_not(None),
                            sa.or_(col(Rsvp.answer).is_(None), col(Rsvp.answer) != GOING),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
        )
        .where(col(Rsvp.event_id).in_(event_ids))
        .group_by(Rsvp.event_id)
    ).all()
    # How many reacted, from who took part: a count, not what anyone said, and exact while
    # worker answers wait for their release.
    reactions = dict(
        session.exec(
            select(col(SurveyParticipation.event_id), sa.func.count())
            .where(
                col(SurveyParticipation.event_id).in_(event_ids),
                SurveyParticipation.questionnaire == REACTION_QUESTIONNAIRE,
                col(SurveyParticipation.completed_at).is_not(None),
            )
            .group_by(col(SurveyParticipation.event_id))
        ).all()
    )
    result = {
        event_id: EventCounts(reactions=int(reactions.get(event_id, 0))) for event_id in event_ids
    }
    for event_id, inv, going, maybe, cannot, none, att, walk in rows:
        result[event_id] = EventCounts(
            invited=int(inv or 0),
            going=int(going or 0),
            maybe=int(maybe or 0),
            cannot=int(cannot or 0),
            no_answer=int(none or 0),
            attended=int(att or 0),
            walk_ins=int(walk or 0),
            reactions=int(reactions.get(event_id, 0)),
        )
    return result


@dataclass(frozen=True)
class ReactionSummary:
    responses: int
    suppressed: bool  # fewer than SMALL_GROUP responses: nothing below is filled in
    rating_count: int = 0
    rating_mean: float | None = None
    ratings: dict[int, int] = field(default_factory=dict)  # 1..5 -> how many
    practices: list[tuple[int, str, int]] = field(default_factory=list)  # (id, text, chosen by)
    most_useful: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    # Workers' reactions waiting for the survey to close: they are added all at once then,
    # if there are MIN_GROUP or more, so that the card never moves by one worker's answer.
    awaiting: int = 0


def _awaiting(session: Session, event_id: int) -> int:
    waiting = session.exec(
        select(sa.func.count()).where(
            SurveyPending.event_id == event_id,
            col(SurveyPending.anonymous),
            col(SurveyPending.complete),
        )
    ).one()
    written = session.exec(
        select(sa.func.count()).where(
            SurveyResponse.event_id == event_id,
            col(SurveyResponse.contact_id).is_(None),
            col(SurveyResponse.complete),
            col(SurveyResponse.released).is_(False),
        )
    ).one()
    return int(waiting) + int(written)


def reactions(session: Session, event_id: int) -> ReactionSummary:
    completed = (
        select(SurveyResponse.id)
        .where(
            SurveyResponse.event_id == event_id,
            SurveyResponse.questionnaire == REACTION_QUESTIONNAIRE,
            _completed(),
        )
        .scalar_subquery()
    )
    responses = int(
        session.exec(
            select(sa.func.count())
            .select_from(SurveyResponse)
            .where(
                SurveyResponse.event_id == event_id,
                SurveyResponse.questionnaire == REACTION_QUESTIONNAIRE,
                _completed(),
            )
        ).one()
    )
    awaiting = _awaiting(session, event_id)
    if responses < SMALL_GROUP:
        return ReactionSummary(responses=responses, suppressed=True, awaiting=awaiting)
    in_event = col(SurveyAnswer.response_id).in_(completed)
    ratings = {
        int(value or 0): int(number)
        for value, number in session.exec(
            select(col(SurveyAnswer.value_int), sa.func.count())
            .where(
                in_event,
                SurveyAnswer.question_id == "rating",
                col(SurveyAnswer.value_int).is_not(None),
            )
            .group_by(col(SurveyAnswer.value_int))
        ).all()
    }
    rating_count = sum(ratings.values())
    mean = (
        sum(value * number for value, number in ratings.items()) / rating_count
        if rating_count
        else None
    )
    chosen = dict(
        session.exec(
            select(col(SurveyAnswer.value_text), sa.func.count())
            .where(in_event, SurveyAnswer.question_id == "practices_to_try")
            .group_by(col(SurveyAnswer.value_text))
        ).all()
    )
    practices = [
        (entry.id, entry.text, int(chosen.get(str(entry.id), 0)))
        for entry in showcased(session, event_id)
    ]

    def texts(question: str) -> list[str]:
        return [
            str(text)
            for text in session.exec(
                select(SurveyAnswer.value_text)
                .where(
                    in_event,
                    SurveyAnswer.question_id == question,
                    col(SurveyAnswer.value_text).is_not(None),
                )
                .order_by(col(SurveyAnswer.id))
                .limit(TEXTS_SHOWN)
            )
            if text
        ]

    return ReactionSummary(
        responses=responses,
        suppressed=False,
        rating_count=rating_count,
        rating_mean=mean,
        ratings=ratings,
        practices=practices,
        most_useful=texts("most_useful"),
        next_steps=texts("next_steps"),
        suggestions=texts("suggestions"),
        awaiting=awaiting,
    )


@dataclass(frozen=True)
class EventSummaryRow:
    """One line of the "Events" sheet of `/export` and `oshbot summary`."""

    event_id: int
    starts_at: datetime
    kind: str
    title: str
    status: str
    invited: int
    going: int
    maybe: int
    cannot: int
    attended: int
    walk_ins: int
    reactions: int
    rating_mean: float | None  # None when fewer than 3 reactions (small-group suppression)


def event_summary_rows(session: Session, provider_id: int | None) -> list[EventSummaryRow]:
    """Every event of a provider (None: the whole programme), oldest first."""
    query = select(Event).order_by(col(Event.starts_at), col(Event.id))
    if provider_id is not None:
        query = query.where(Event.provider_id == provider_id)
    events = session.exec(query).all()
    figures = counts(session, [e.id for e in events if e.id is not None])
    rows = []
    for event in events:
        assert event.id is not None
        figure = figures[event.id]
        rating = (
            reactions(session, event.id).rating_mean if figure.reactions >= SMALL_GROUP else None
        )
        rows.append(
            EventSummaryRow(
                event_id=event.id,
                starts_at=event.starts_at,
                kind=event.kind,
                title=event.title,
                status=event.status,
                invited=figure.invited,
                going=figure.going,
                maybe=figure.maybe,
                cannot=figure.cannot,
                attended=figure.attended,
                walk_ins=figure.walk_ins,
                reactions=figure.reactions,
                rating_mean=round(rating, 2) if rating is not None else None,
            )
        )
    return rows


# The "Events" sheet of `/export` and `oshbot summary` (reports/xlsx.py); msgids, translated there.
EXPORT_HEADERS = (
    N_("event id"),
    N_("starts"),
    N_("kind"),
    N_("event"),
    N_("status"),
    N_("invited"),
    N_("going"),
    N_("maybe"),
    N_("can't come"),
    N_("attended"),
    N_("walk-ins"),
    N_("reactions"),
    N_("rating (mean of 5)"),
)

HELD, NO_ATTENDANCE = "held", "no_attendance"
STATUS_NAMES = {
    PLANNED: N_("planned"),
    HELD: N_("took place"),
    NO_ATTENDANCE: N_("past, no attendance recorded"),
    CANCELLED: N_("cancelled"),
}


def event_status(row: EventSummaryRow, today: date, tz: ZoneInfo | None) -> str:
    """What happened to the event as of `today`: the stored status only says whether it was
    cancelled, so a workshop that 4 people attended would otherwise still read "planned".
    Recorded attendance proves it took place; a past day without any says so instead of
    guessing."""
    if row.status == CANCELLED:
        return CANCELLED
    if row.attended:
        return HELD
    day = row.starts_at.astimezone(tz).date() if tz else row.starts_at.date()
    return NO_ATTENDANCE if day < today else PLANNED


def event_export_rows(
    session: Session,
    *,
    provider_id: int | None,
    today: date,
    start: datetime | None = None,
    end: datetime | None = None,
    tz: ZoneInfo | None = None,
    language: str = "vi",
) -> list[tuple[object, ...]]:
    """Rows for the Events sheet: events starting in [start, end), times in the programme's
    zone without the zone (Excel keeps none), the status as of `today` (the report date); the
    rating is empty under 3 reactions."""
    rows: list[tuple[object, ...]] = []
    for row in event_summary_rows(session, provider_id):
        if (start is not None and row.starts_at < start) or (
            end is not None and row.starts_at >= end
        ):
            continue
        local = row.starts_at.astimezone(tz).replace(tzinfo=None) if tz else row.starts_at
        rows.append(
            (
                row.event_id,
                local,
                gettext(language, KIND_NAMES.get(row.kind, row.kind)),
                row.title,
                gettext(language, STATUS_NAMES[event_status(row, today, tz)]),
                row.invited,
                row.going,
                row.maybe,
                row.cannot,
                row.attended,
                row.walk_ins,
                row.reactions,
                row.rating_mean,
            )
        )
    return rows
