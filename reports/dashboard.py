"""What the web dashboard reads: the state of each enterprise, one enterprise's history and
the review queue, as plain rows from grouped SQL (never one query per enterprise).

Who may see what is decided here too, once: staff see their provider's enterprises, a
coordinator every provider's. Worker answers are never read here: the dashboard shows them
only through `reports.summary.build_summary`, with the chat's anonymity rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import improvements as imp
from models import plans
from models.programme import ProgrammeError
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    ImprovementMessage,
    PlanItem,
    Provider,
    ReviewStatus,
    Role,
    SurveyResponse,
    SurveyRound,
    Visit,
    VisitStatus,
)
from models.visits import OPEN

PAGE = 50


def provider_filter(viewer: Contact) -> int | None:
    """The one provider a staff member is held to; None for a coordinator (all of them)."""
    if viewer.role == Role.COORDINATOR:
        return None
    if viewer.role != Role.STAFF or viewer.provider_id is None:
        raise ProgrammeError("not_staff")
    return viewer.provider_id


def visible_enterprise(session: Session, viewer: Contact, enterprise_id: int) -> Enterprise:
    """The enterprise, or "unknown" alike whether it does not exist or belongs to another
    provider, so that changing the number in an address reveals nothing."""
    enterprise = session.get(Enterprise, enterprise_id)
    only = provider_filter(viewer)
    if enterprise is None or (only is not None and enterprise.provider_id != only):
        raise ProgrammeError("unknown_enterprise")
    return enterprise


# -- the enterprise list ---------------------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseState:
    id: int
    name: str
    province_code: str
    sector_code: str
    provider_name: str
    last_visit: datetime | None
    next_visit_due: date | None
    waiting_review: int
    open_threads: int


def _open_questions() -> sa.Subquery:
    answer = sa.orm.aliased(ImprovementMessage)
    return (
        sa.select(
            col(Improvement.enterprise_id), sa.func.count(col(ImprovementMessage.id)).label("n")
        )
        .join(Improvement, col(Improvement.id) == col(ImprovementMessage.improvement_id))
        .where(
            col(ImprovementMessage.kind) == imp.MessageKind.QUESTION,
            ~sa.exists().where(col(answer.reply_to_id) == col(ImprovementMessage.id)),
        )
        .group_by(col(Improvement.enterprise_id))
        .subquery()
    )


def enterprise_states(
    session: Session,
    viewer: Contact,
    *,
    search: str | None = None,
    province_code: str | None = None,
    sector_code: str | None = None,
    provider_id: int | None = None,
    offset: int = 0,
    limit: int = PAGE,
) -> tuple[list[EnterpriseState], int]:
    """A page of enterprises the viewer may see, and how many match in all."""
    last_visit = (
        select(Visit.enterprise_id, sa.func.max(Visit.done_at).label("at"))
        .where(Visit.status == VisitStatus.DONE)
        .group_by(col(Visit.enterprise_id))
        .subquery()
    )
    next_due = (
        select(Visit.enterprise_id, sa.func.min(Visit.due_on).label("due"))
        .where(col(Visit.status).in_([str(s) for s in OPEN]))
        .group_by(col(Visit.enterprise_id))
        .subquery()
    )
    waiting = (
        select(Improvement.enterprise_id, sa.func.count(col(Improvement.id)).label("n"))
        .where(Improvement.status == ReviewStatus.SUBMITTED)
        .group_by(col(Improvement.enterprise_id))
        .subquery()
    )
    threads = _open_questions()
    conditions = []
    only = provider_filter(viewer)
    if only is not None:
        conditions.append(col(Enterprise.provider_id) == only)
    elif provider_id is not None:
        conditions.append(col(Enterprise.provider_id) == provider_id)
    if province_code:
        conditions.append(col(Enterprise.province_code) == province_code)
    if sector_code:
        conditions.append(col(Enterprise.sector_code) == sector_code)
    if search and search.strip():
        # Python folds Vietnamese capitals; SQLite's lower() only knows ASCII.
        conditions.append(
            sa.or_(
                col(Enterprise.name).contains(search.strip(), autoescape=True),
                sa.func.lower(col(Enterprise.name)).contains(
                    search.strip().lower(), autoescape=True
                ),
            )
        )
    total = session.exec(select(sa.func.count(col(Enterprise.id))).where(*conditions)).one()
    rows = session.execute(
        sa.select(
            col(Enterprise.id),
            col(Enterprise.name),
            col(Enterprise.province_code),
            col(Enterprise.sector_code),
            col(Provider.name),
            last_visit.c.at,
            next_due.c.due,
            sa.func.coalesce(waiting.c.n, 0),
            sa.func.coalesce(threads.c.n, 0),
        )
        .join(Provider, col(Provider.id) == Enterprise.provider_id)
        .outerjoin(last_visit, last_visit.c.enterprise_id == Enterprise.id)
        .outerjoin(next_due, next_due.c.enterprise_id == Enterprise.id)
        .outerjoin(waiting, waiting.c.enterprise_id == Enterprise.id)
        .outerjoin(threads, threads.c.enterprise_id == Enterprise.id)
        .where(*conditions)
        .order_by(sa.func.coalesce(waiting.c.n, 0).desc(), col(Enterprise.name), col(Enterprise.id))
        .offset(max(offset, 0))
        .limit(limit)
    ).all()
    states = [
        EnterpriseState(
            id=row[0],
            name=row[1],
            province_code=row[2],
            sector_code=row[3],
            provider_name=row[4],
            last_visit=_aware(row[5]),
            next_visit_due=row[6],
            waiting_review=int(row[7]),
            open_threads=int(row[8]),
        )
        for row in rows
    ]
    return states, int(total)


def _aware(value: datetime | None) -> datetime | None:
    """max() over a UTC column comes back naive on SQLite."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


# -- one enterprise --------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    improvement: Improvement
    messages: list[ImprovementMessage]
    reporter_role: Role | None


@dataclass(frozen=True)
class RoundRow:
    number: int
    opened_at: datetime
    closed_at: datetime | None
    employer_answered: bool
    worker_answers: int  # complete worker responses: a count, never whose


@dataclass(frozen=True)
class History:
    enterprise: Enterprise
    provider: Provider
    reports: list[Report]
    rounds: list[RoundRow]
    visits: list[Visit]
    plan: list[PlanItem]  # the action plan made at the training, by due day


def history(session: Session, viewer: Contact, enterprise_id: int) -> History:
    enterprise = visible_enterprise(session, viewer, enterprise_id)
    provider = session.get(Provider, enterprise.provider_id)
    assert provider is not None
    improvements = list(
        session.exec(
            select(Improvement)
            .where(
                Improvement.enterprise_id == enterprise.id,
                col(Improvement.status) != ReviewStatus.DRAFT,
            )
            .order_by(col(Improvement.submitted_at).desc(), col(Improvement.id).desc())
        )
    )
    ids = [i.id for i in improvements]
    messages: dict[int, list[ImprovementMessage]] = {}
    if ids:
        for message in session.exec(
            select(ImprovementMessage)
            .where(col(ImprovementMessage.improvement_id).in_(ids))
            .order_by(col(ImprovementMessage.created_at), col(ImprovementMessage.id))
        ):
            messages.setdefault(message.improvement_id, []).append(message)
    reporter_ids = {i.reporter_id for i in improvements if i.reporter_id}
    roles = (
        dict(
            session.execute(
                sa.select(col(Contact.id), col(Contact.role)).where(
                    col(Contact.id).in_(reporter_ids)
                )
            ).all()
        )
        if reporter_ids
        else {}
    )
    reports = [
        Report(
            i,
            messages.get(i.id or 0, []),
            Role(roles[i.reporter_id]) if i.reporter_id in roles else None,
        )
        for i in improvements
    ]
    complete = sa.and_(
        col(SurveyResponse.round_id) == col(SurveyRound.id), col(SurveyResponse.complete).is_(True)
    )
    round_rows = session.execute(
        sa.select(
            col(SurveyRound.number),
            col(SurveyRound.opened_at),
            col(SurveyRound.closed_at),
            sa.func.count(col(SurveyResponse.id)).filter(
                col(SurveyResponse.questionnaire) == "employer"
            ),
            sa.func.count(col(SurveyResponse.id)).filter(
                col(SurveyResponse.questionnaire) == "worker"
            ),
        )
        .outerjoin(SurveyResponse, complete)
        .where(col(SurveyRound.enterprise_id) == enterprise.id)
        .group_by(col(SurveyRound.id), col(SurveyRound.number))
        .order_by(col(SurveyRound.number))
    ).all()
    rounds = [
        RoundRow(
            number=row[0],
            opened_at=row[1],
            closed_at=row[2],
            employer_answered=bool(row[3]),
            worker_answers=int(row[4]),
        )
        for row in round_rows
    ]
    visits = list(
        session.exec(
            select(Visit)
            .where(Visit.enterprise_id == enterprise.id, Visit.status != VisitStatus.CANCELLED)
            .order_by(col(Visit.due_on), col(Visit.id))
        )
    )
    assert enterprise.id is not None
    plan = plans.items_of(session, enterprise.id)
    return History(enterprise, provider, reports, rounds, visits, plan)


# -- the review queue ------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    improvement: Improvement
    enterprise: Enterprise
    provider_name: str


def review_queue(session: Session, viewer: Contact, *, limit: int = PAGE) -> list[Waiting]:
    """Reports waiting for review, oldest first, as the chat announced them (a verified one can
    still be marked as a good practice from its enterprise's page)."""
    query = (
        select(Improvement, Enterprise, Provider.name)
        .join(Enterprise, col(Enterprise.id) == Improvement.enterprise_id)
        .join(Provider, col(Provider.id) == Enterprise.provider_id)
        .where(col(Improvement.status) == ReviewStatus.SUBMITTED)
        .order_by(col(Improvement.submitted_at), col(Improvement.id))
        .limit(limit)
    )
    only = provider_filter(viewer)
    if only is not None:
        query = query.where(col(Enterprise.provider_id) == only)
    return [Waiting(i, e, name) for i, e, name in session.exec(query).all()]
