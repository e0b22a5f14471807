"""Revisits: the plan at offsets from the intervention date, and the steps of each visit.

planned (due on a day) -> staff propose a date and time -> proposed -> the employer confirms
(confirmed) or suggests another time (proposed, with `suggested_at`; staff accept it or
propose again) -> after the day staff log the outcome: done, or missed (a new planned visit
takes its place, so the enterprise is not forgotten).

Who may do what is checked here, from the database, on every step. Messages are not sent from
here: models/notices/visits.py queues them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm
from sqlmodel import Session, col, select

from models import outbox, plans
from models.enterprises import followed_up, is_followed_up
from models.outbox import reachable
from models.plans import PlanCounts
from models.programme import ProgrammeError, audit
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    ImprovementMessage,
    Outbox,
    ReviewStatus,
    Role,
    Visit,
    VisitStatus,
)

OPEN = (VisitStatus.PLANNED, VisitStatus.PROPOSED, VisitStatus.CONFIRMED)
ARRANGED = (VisitStatus.PROPOSED, VisitStatus.CONFIRMED)
NOTES_MAX = 1000
FURTHEST = timedelta(days=400)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clipped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# -- the plan --------------------------------------------------------------------------------


def plan_revisits(session: Session, *, months: tuple[int, ...]) -> int:
    """Creates the missing planned revisits of every enterprise followed up (not archived);
    returns how many. Only enterprises lacking some offset are read, so a run over a planned
    programme costs one query."""
    planned = (
        select(col(Visit.enterprise_id), col(Visit.offset_months))
        .where(col(Visit.offset_months).in_(months))
        .distinct()
        .subquery()
    )
    lacking = session.exec(
        select(col(Enterprise.id), col(Enterprise.intervention_date))
        .join(planned, planned.c.enterprise_id == Enterprise.id, isouter=True)
        .where(is_followed_up())
        .group_by(col(Enterprise.id), col(Enterprise.intervention_date))
        .having(sa.func.count(planned.c.offset_months) < len(months))
    ).all()
    if not lacking:
        return 0
    ids = [row[0] for row in lacking]
    have: dict[int, set[int]] = {}
    for planned_for, planned_offset in session.exec(
        select(col(Visit.enterprise_id), col(Visit.offset_months)).where(
            col(Visit.enterprise_id).in_(ids), col(Visit.offset_months).in_(months)
        )
    ):
        if planned_offset is not None:
            have.setdefault(planned_for, set()).add(planned_offset)
    created = 0
    for enterprise_id, intervention in lacking:
        assert enterprise_id is not None  # a stored row's key
        for offset in months:
            if offset not in have.get(enterprise_id, set()):
                session.add(
                    Visit(
                        enterprise_id=enterprise_id,
                        offset_months=offset,
                        due_on=add_months(intervention, offset),
                    )
                )
                created += 1
    session.flush()
    return created


def due_unannounced(session: Session, *, today: date) -> list[Visit]:
    """Planned visits whose day has come and whose staff have not been told yet."""
    return list(
        session.exec(
            select(Visit)
            .where(
                Visit.status == VisitStatus.PLANNED,
                col(Visit.due_on) <= today,
                col(Visit.nudged_at).is_(None),
                followed_up(Visit.enterprise_id),
            )
            .order_by(col(Visit.due_on), col(Visit.id))
        )
    )


def to_remind(session: Session, *, start: datetime, end: datetime) -> list[Visit]:
    """Confirmed visits between `start` and `end` (tomorrow) not reminded yet."""
    return list(
        session.exec(
            select(Visit).where(
                Visit.status == VisitStatus.CONFIRMED,
                col(Visit.scheduled_at) >= start,
                col(Visit.scheduled_at) < end,
                col(Visit.reminded_at).is_(None),
                followed_up(Visit.enterprise_id),
            )
        )
    )


def awaiting_outcome(session: Session, *, before: datetime) -> list[Visit]:
    """Arranged visits whose day is over (scheduled before `before`) with no outcome asked."""
    return list(
        session.exec(
            select(Visit).where(
                col(Visit.status).in_(ARRANGED),
                col(Visit.scheduled_at) < before,
                col(Visit.suggested_at).is_(None),
                col(Visit.outcome_asked_at).is_(None),
                followed_up(Visit.enterprise_id),
            )
        )
    )


# -- what is queued about a visit -----------------------------------------------------------
# The notices about one visit (models/notices/visits.py) to staff and to the enterprise's people:
# their keys begin `<prefix>:<visit>:<contact>`. Each speaks of the visit as it stood when it was
# queued, so it goes only while the visit is still to come (planned, proposed, confirmed) and at
# the time it names: the one rule is here. When a visit is cancelled (its enterprise archived),
# closed (done, or missed and replaced by a new one) or moved (a date proposed again, another
# time suggested or accepted), what still waits about it is withdrawn in the same transaction
# (`withdraw_notices`), before the step queues its own; the sender asks `closed_rows` as it
# claims rows, so that a row queued by a job that read the visit a moment before does not go
# either. The visit report (`visit-report:`) follows a visit done and is not one of these.
NOTICE_PREFIXES = (
    "visit-due", "visit-proposal", "visit-confirmed", "visit-suggest", "visit-reminder",
    "visit-outcome",
)  # fmt: skip
# The outbox's last error on a notice withdrawn because its visit was arranged anew (a date
# proposed, another time suggested or accepted); one withdrawn because the visit is over says
# how (`over`): "visit cancelled", "visit done", "visit missed".
REARRANGED = "visit rearranged"


def over(status: str) -> str:
    """The last error of a notice withdrawn because its visit is no longer to come."""
    return f"visit {status}"


def notice_visit(key: str) -> int | None:
    """The visit an outbox key is a notice about (one of NOTICE_PREFIXES), or None."""
    prefix, _sep, rest = key.partition(":")
    visit, colon, _rest = rest.partition(":")
    if prefix in NOTICE_PREFIXES and colon and visit.isdigit() and len(visit) < 19:
        return int(visit)
    return None


def withdraw_notices(session: Session, visit_ids: list[int], *, reason: str) -> int:
    """Withdraws (skipped, for good, with `reason` as the last error) the notices still waiting
    about these visits, to staff and to the enterprise's people alike; returns how many. Rows a
    sender has claimed already are in flight; one given back meets `closed_rows`, or is of a
    visit that moved and still to come (then the step has queued what holds now beside it)."""
    if not visit_ids:
        return 0
    about = [outbox.about(prefix, visit_id) for visit_id in visit_ids for prefix in NOTICE_PREFIXES]
    return outbox.withdraw(session, sa.or_(*about), reason=reason)


def closed_rows(session: Session, rows: list[Outbox]) -> dict[int, str]:
    """Of these outbox rows, the notices whose visit is no longer to come, with the reason to
    skip each (`over`): the sender asks as it claims rows, in one query, and only when some are
    visit notices."""
    about = {row.id: visit for row in rows if (visit := notice_visit(row.key)) is not None}
    if not about:
        return {}
    found = session.exec(
        select(col(Visit.id), col(Visit.status)).where(
            col(Visit.id).in_(set(about.values())), col(Visit.status).not_in(OPEN)
        )
    )
    closed = {visit_id: str(status) for visit_id, status in found}
    return {
        row_id: over(closed[visit])
        for row_id, visit in about.items()
        if row_id is not None and visit in closed
    }


# -- who may act ----------------------------------------------------------------------------


def staff_of(session: Session, provider_id: int) -> list[Contact]:
    """Staff who can be written to."""
    return list(
        session.exec(
            select(Contact).where(
                Contact.role == Role.STAFF,
                Contact.provider_id == provider_id,
                col(Contact.erased_at).is_(None),
                reachable(),
            )
        )
    )


def employers_of(session: Session, enterprise_id: int) -> list[Contact]:
    return list(
        session.exec(
            select(Contact).where(
                Contact.role == Role.EMPLOYER,
                Contact.enterprise_id == enterprise_id,
                col(Contact.erased_at).is_(None),
                reachable(),
            )
        )
    )


def _visit(session: Session, visit_id: int) -> tuple[Visit, Enterprise]:
    visit = session.get(Visit, visit_id)
    enterprise = session.get(Enterprise, visit.enterprise_id) if visit else None
    if visit is None or enterprise is None:
        raise ProgrammeError("visit_unknown")
    return visit, enterprise


def may_manage(contact: Contact | None, enterprise: Enterprise) -> bool:
    return contact is not None and (
        contact.role == Role.COORDINATOR
        or (contact.role == Role.STAFF and contact.provider_id == enterprise.provider_id)
    )


def _staff_visit(session: Session, visit_id: int, contact: Contact | None) -> Visit:
    visit, enterprise = _visit(session, visit_id)
    if not may_manage(contact, enterprise):
        raise ProgrammeError("not_allowed")
    return visit


def _employer_visit(session: Session, visit_id: int, contact: Contact | None) -> Visit:
    visit, _ = _visit(session, visit_id)
    if (
        contact is None
        or contact.role != Role.EMPLOYER
        or contact.enterprise_id != (visit.enterprise_id)
    ):
        raise ProgrammeError("not_allowed")
    return visit


# -- typed dates and times -------------------------------------------------------------------

_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{2,4}))?(?!\d)")
_TIME = re.compile(r"(?<![\d/.-])(\d{1,2})\s*(?:[:hg]\s*(\d{2})?|giờ\s*(\d{2})?)", re.IGNORECASE)


def parse_when(text: str | None, *, now: datetime, tz: ZoneInfo) -> datetime:
    """A day and a time as people type them: "20/03 9:00", "20/3/2027 14h30", "9h 20/03".
    The year, when left out, is the next 20 March to come. Returns an aware UTC-comparable
    datetime in `tz`."""
    raw = (text or "").strip()
    if not raw or len(raw) > 60:
        raise ProgrammeError("when_invalid")
    found_date = _DATE.search(raw)
    if found_date is None:
        raise ProgrammeError("when_invalid")
    rest = raw[: found_date.start()] + " " + raw[found_date.end() :]
    found_time = _TIME.search(rest)
    if found_time is None:
        raise ProgrammeError("when_needs_time")
    day, month, year_text = found_date.groups()
    hour = int(found_time.group(1))
    minute = int(found_time.group(2) or found_time.group(3) or 0)
    local_now = now.astimezone(tz)
    try:
        clock = time(hour, minute)
        if year_text:
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            moment = datetime.combine(date(year, int(month), int(day)), clock, tzinfo=tz)
        else:
            moment = datetime.combine(date(local_now.year, int(month), int(day)), clock, tzinfo=tz)
            if moment < local_now - timedelta(days=1):
                moment = moment.replace(year=local_now.year + 1)
    except ValueError as error:
        raise ProgrammeError("when_invalid") from error
    if moment <= local_now:
        raise ProgrammeError("when_past")
    if moment > local_now + FURTHEST:
        raise ProgrammeError("when_too_far")
    return moment


# -- the steps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    visit: Visit
    employers: list[Contact]  # who is asked; none: the visit is recorded as agreed


def propose(
    session: Session, *, visit_id: int, staff: Contact | None, at: datetime, now: datetime
) -> Proposal:
    """Staff propose (or propose again) a date: what waited about the visit is withdrawn,
    and the caller queues the proposal (models/notices/visits.py)."""
    visit = _staff_visit(session, visit_id, staff)
    if visit.status not in OPEN:
        raise ProgrammeError("visit_closed")
    assert staff is not None
    employers = employers_of(session, visit.enterprise_id)
    visit.scheduled_at = at
    visit.staff_id = staff.id
    visit.proposed_at = now
    visit.suggested_at = None
    visit.reminded_at = None
    visit.outcome_asked_at = None
    visit.nudged_at = visit.nudged_at or now
    if employers:
        visit.status = VisitStatus.PROPOSED
        visit.confirmed_at = None
    else:
        # Nobody from the enterprise uses the bot: staff arranged it by phone.
        visit.status = VisitStatus.CONFIRMED
        visit.confirmed_at = now
    session.add(visit)
    withdraw_notices(session, [visit_id], reason=REARRANGED)
    audit(session, "visit.propose", actor_id=staff.id, subject=visit, at=at.isoformat())
    return Proposal(visit, employers)


def confirm(session: Session, *, visit_id: int, employer: Contact | None, now: datetime) -> Visit:
    visit = _employer_visit(session, visit_id, employer)
    if visit.status == VisitStatus.CONFIRMED:
        raise ProgrammeError("visit_already_confirmed")
    if visit.status != VisitStatus.PROPOSED or visit.suggested_at is not None:
        raise ProgrammeError("visit_not_proposed")
    assert employer is not None and visit.scheduled_at is not None
    if visit.scheduled_at <= now:
        raise ProgrammeError("when_past")
    visit.status = VisitStatus.CONFIRMED
    visit.confirmed_at = now
    session.add(visit)
    audit(session, "visit.confirm", actor_id=employer.id, subject=visit)
    return visit


def suggest(
    session: Session, *, visit_id: int, employer: Contact | None, at: datetime, now: datetime
) -> Visit:
    visit = _employer_visit(session, visit_id, employer)
    if visit.status not in ARRANGED:
        raise ProgrammeError("visit_not_proposed")
    assert employer is not None
    visit.status = VisitStatus.PROPOSED
    visit.suggested_at = at
    visit.confirmed_at = None
    visit.reminded_at = None
    session.add(visit)
    withdraw_notices(session, [visit_id], reason=REARRANGED)
    audit(session, "visit.suggest", actor_id=employer.id, subject=visit, at=at.isoformat())
    return visit


def accept_suggestion(
    session: Session, *, visit_id: int, staff: Contact | None, now: datetime
) -> Visit:
    visit = _staff_visit(session, visit_id, staff)
    if visit.status != VisitStatus.PROPOSED or visit.suggested_at is None:
        raise ProgrammeError("visit_no_suggestion")
    assert staff is not None
    if visit.suggested_at <= now:
        raise ProgrammeError("when_past")
    visit.scheduled_at = visit.suggested_at
    visit.suggested_at = None
    visit.status = VisitStatus.CONFIRMED
    visit.confirmed_at = now
    visit.staff_id = staff.id
    session.add(visit)
    withdraw_notices(session, [visit_id], reason=REARRANGED)
    audit(session, "visit.accept", actor_id=staff.id, subject=visit)
    return visit


def record_outcome(
    session: Session,
    *,
    visit_id: int,
    staff: Contact | None,
    done: bool,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[Visit, Visit | None]:
    """Done, or did not happen; a missed visit is followed by a new planned one (returned),
    already announced to the staff member who logs the outcome. The new one is due today in
    the programme's time zone (`tz`), the day the staff member sees on the calendar."""
    visit = _staff_visit(session, visit_id, staff)
    if visit.status not in OPEN:
        raise ProgrammeError("visit_closed")
    assert staff is not None
    visit.status = VisitStatus.DONE if done else VisitStatus.MISSED
    visit.done_at = now if done else None
    visit.staff_id = visit.staff_id or staff.id
    session.add(visit)
    # What waits about it (the question how it went, a reminder, an arrangement) is answered.
    withdraw_notices(session, [visit_id], reason=over(visit.status))
    audit(session, "visit.done" if done else "visit.missed", actor_id=staff.id, subject=visit)
    replacement = None
    if not done:
        replacement = Visit(
            enterprise_id=visit.enterprise_id,
            offset_months=visit.offset_months,
            due_on=now.astimezone(tz).date(),
            nudged_at=now,
            staff_id=staff.id,
        )
        session.add(replacement)
    session.flush()
    return visit, replacement


def add_notes(session: Session, *, visit_id: int, staff: Contact | None, text: str) -> Visit:
    visit = _staff_visit(session, visit_id, staff)
    notes = " ".join(text.split())
    if len(notes) > NOTES_MAX:
        raise ProgrammeError("notes_too_long", limit=NOTES_MAX)
    visit.notes = notes or None
    session.add(visit)
    return visit


# -- what people see -------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """What staff need before proposing a date."""

    enterprise: Enterprise
    last_visit: date | None  # the last done visit, or None (then the intervention date counts)
    reports_since: int
    waiting_review: int
    open_questions: int  # staff questions about a report that the reporter has not answered
    # The action plan made at the training, as of the card's day.
    plan: PlanCounts = field(default_factory=PlanCounts)


def card(
    session: Session, enterprise: Enterprise, *, tz: ZoneInfo, today: date | None = None
) -> Card:
    last_done = session.exec(
        select(sa.func.max(Visit.done_at)).where(
            Visit.enterprise_id == enterprise.id, Visit.status == VisitStatus.DONE
        )
    ).one()
    since = last_done or datetime.combine(enterprise.intervention_date, time(0), tzinfo=tz)
    counted = (ReviewStatus.SUBMITTED, ReviewStatus.VERIFIED, ReviewStatus.GOOD_PRACTICE)
    reports = session.exec(
        select(sa.func.count(col(Improvement.id))).where(
            Improvement.enterprise_id == enterprise.id,
            col(Improvement.status).in_(counted),
            col(Improvement.submitted_at) >= since,
        )
    ).one()
    waiting = session.exec(
        select(sa.func.count(col(Improvement.id))).where(
            Improvement.enterprise_id == enterprise.id,
            Improvement.status == ReviewStatus.SUBMITTED,
        )
    ).one()
    answer = sa.orm.aliased(ImprovementMessage)
    questions = session.exec(
        select(sa.func.count(col(ImprovementMessage.id)))
        .join(Improvement, col(Improvement.id) == ImprovementMessage.improvement_id)
        .where(
            Improvement.enterprise_id == enterprise.id,
            ImprovementMessage.kind == "question",
            ~sa.exists().where(col(answer.reply_to_id) == ImprovementMessage.id),
        )
    ).one()
    return Card(
        enterprise=enterprise,
        last_visit=last_done.astimezone(tz).date() if last_done else None,
        reports_since=int(reports),
        waiting_review=int(waiting),
        open_questions=int(questions),
        plan=(
            plans.counts(session, enterprise_id=enterprise.id, today=today)  # type: ignore[arg-type]
            if today is not None
            else PlanCounts()
        ),
    )


@dataclass(frozen=True)
class VisitRow:
    visit: Visit
    enterprise: Enterprise


def visits_board(
    session: Session, *, provider_id: int | None, now: datetime, tz: ZoneInfo, limit: int = 30
) -> tuple[list[VisitRow], list[VisitRow]]:
    """(upcoming, overdue) for one provider (None: every provider). Upcoming: a date is
    arranged from today on. Overdue: due, with no date to come."""
    start_of_today = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    base = (
        select(Visit, Enterprise)
        .join(Enterprise, col(Enterprise.id) == Visit.enterprise_id)
        .where(col(Visit.status).in_(OPEN))
    )
    if provider_id is not None:
        base = base.where(Enterprise.provider_id == provider_id)
    upcoming = session.exec(
        base.where(col(Visit.status).in_(ARRANGED), col(Visit.scheduled_at) >= start_of_today)
        .order_by(col(Visit.scheduled_at))
        .limit(limit)
    ).all()
    overdue = session.exec(
        base.where(
            col(Visit.due_on) <= start_of_today.date(),
            sa.or_(
                col(Visit.scheduled_at).is_(None),
                col(Visit.scheduled_at) < start_of_today,
            ),
        )
        .order_by(col(Visit.due_on))
        .limit(limit)
    ).all()
    return [VisitRow(v, e) for v, e in upcoming], [VisitRow(v, e) for v, e in overdue]


def next_visit(session: Session, *, enterprise_id: int, now: datetime) -> Visit | None:
    """The next arranged visit of an enterprise, for its employer's menu."""
    return session.exec(
        select(Visit)
        .where(
            Visit.enterprise_id == enterprise_id,
            col(Visit.status).in_(ARRANGED),
            col(Visit.scheduled_at) >= now - timedelta(hours=12),
        )
        .order_by(col(Visit.scheduled_at))
    ).first()
