"""The visit as a record: after a visit is done, staff go through a checklist of what the
enterprise did before, one line at a time.

Every earlier improvement report (submitted, verified or a good practice) and every plan item
not yet given up is a line; a plan item that a report carried out is the report's line, and
moves with it. Staff mark each line in use, partly, or no longer in use; a plan item moves to
match (models/plans.py: `seen_at_visit`). For an improvement, staff may then agree with the
enterprise's own rating of the risk after it, or rate it again; both ratings are kept side by
side on the check. New improvements staff see at the visit are recorded too (`record_seen`:
an improvement of the enterprise, verified, with source "visit" and `seen_at_visit_id`, through
models/improvements.py `add_seen`); they are that visit's record, not lines to check at it.
Finishing the checklist is claimed once, and only then is the visit report sent to the
employer (reports/visit_report.py).

Each check is one row under a unique (visit, improvement) or (visit, plan item) key and each
risk rating one conditional UPDATE, so a button pressed twice, or by two people at once,
takes effect once. Nothing here knows about Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import improvements as imp
from models import plans
from models.enterprises import is_followed_up
from models.improvements import LIKELIHOODS, SEVERITIES, PhotoSlot, risk_score
from models.programme import ProgrammeError, audit
from models.tables import (
    CheckState,
    Contact,
    Enterprise,
    Improvement,
    PlanItem,
    PlanStatus,
    ReviewStatus,
    Role,
    SurveyResponse,
    SurveyRound,
    Visit,
    VisitCheck,
    VisitStatus,
)
from models.visits import OPEN, may_manage

IMPROVEMENT = "i"
PLAN_ITEM = "p"
# Reports that count as improvements the enterprise made: not drafts, not withdrawn ones.
REPORTED = (ReviewStatus.SUBMITTED, ReviewStatus.VERIFIED, ReviewStatus.GOOD_PRACTICE)


@dataclass(frozen=True)
class Line:
    """One line of a visit's checklist and, once staff looked, its check."""

    kind: str  # IMPROVEMENT or PLAN_ITEM
    id: int
    area_code: str | None
    text: str
    self_score: int | None  # an improvement's own rating of the risk after it
    check: VisitCheck | None


def held_at(visit: Visit) -> datetime:
    """When a done visit took place: its agreed time, unless staff logged it before that time
    (at the enterprise, with /visit); then when they logged it."""
    assert visit.done_at is not None
    if visit.scheduled_at is not None and visit.scheduled_at <= visit.done_at:
        return visit.scheduled_at
    return visit.done_at


# -- who may ---------------------------------------------------------------------------------


def _visit(
    session: Session, visit_id: int, staff: Contact | None, *, lock: bool = False
) -> tuple[Visit, Enterprise]:
    """`lock`: the visit's row is locked (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
    write transaction holds the database's lock already) and read afresh, so that what changes
    its record (a line checked, a risk rated, an improvement seen) and Finish's final reading of
    it take turns: a check committed after Finish read the report would be missing from it."""
    if lock:
        visit = session.get(Visit, visit_id, with_for_update=True, populate_existing=True)
    else:
        visit = session.get(Visit, visit_id)
    enterprise = session.get(Enterprise, visit.enterprise_id) if visit else None
    if visit is None or enterprise is None:
        raise ProgrammeError("visit_unknown")
    if not may_manage(staff, enterprise):
        raise ProgrammeError("not_allowed")
    if visit.status != VisitStatus.DONE:
        raise ProgrammeError("visit_not_done")
    return visit, enterprise


def _open_visit(
    session: Session, visit_id: int, staff: Contact | None, *, lock: bool = True
) -> Visit:
    """The done visit whose checklist is open; locked for the writer that asks (`_visit`)."""
    visit, _ = _visit(session, visit_id, staff, lock=lock)
    if visit.checklist_done_at is not None:
        raise ProgrammeError("checklist_finished")
    return visit


# -- the lines -------------------------------------------------------------------------------


def lines(session: Session, visit: Visit) -> list[Line]:
    """Improvements by when they were reported, then plan items by due day. A plan item given
    up before this visit is left out; one given up at it stays, with its check."""
    assert visit.id is not None
    checks = list(session.exec(select(VisitCheck).where(VisitCheck.visit_id == visit.id)))
    by_improvement: dict[int | None, VisitCheck] = {
        c.improvement_id: c for c in checks if c.improvement_id is not None
    }
    by_item: dict[int | None, VisitCheck] = {
        c.plan_item_id: c for c in checks if c.plan_item_id is not None
    }
    improvements = session.exec(
        select(Improvement)
        .where(
            Improvement.enterprise_id == visit.enterprise_id,
            col(Improvement.status).in_(REPORTED),
            col(Improvement.submitted_at).is_not(None),
            # What staff saw new at this very visit is its record, not a line to check.
            sa.or_(
                col(Improvement.seen_at_visit_id).is_(None),
                col(Improvement.seen_at_visit_id) != visit.id,
            ),
        )
        .order_by(col(Improvement.submitted_at), col(Improvement.id))
    ).all()
    found = [
        Line(
            IMPROVEMENT,
            improvement.id,  # type: ignore[arg-type]
            improvement.area_code,
            improvement.description or "",
            improvement.risk_after_score,
            by_improvement.get(improvement.id),
        )
        for improvement in improvements
    ]
    listed = {line.id for line in found}
    for item in plans.items_of(session, visit.enterprise_id):
        if item.improvement_id in listed:
            continue
        if item.status == PlanStatus.ENDED and item.id not in by_item:
            continue
        found.append(
            Line(PLAN_ITEM, item.id, item.area_code, item.what, None, by_item.get(item.id))  # type: ignore[arg-type]
        )
    return found


def next_line(session: Session, visit: Visit) -> Line | None:
    return next((line for line in lines(session, visit) if line.check is None), None)


def progress(session: Session, visit: Visit) -> tuple[int, int]:
    """(lines checked, lines in all)."""
    found = lines(session, visit)
    return sum(1 for line in found if line.check is not None), len(found)


# -- writing ---------------------------------------------------------------------------------


def record(
    session: Session,
    *,
    visit_id: int,
    staff: Contact | None,
    kind: str,
    ref_id: int,
    state: CheckState,
    now: datetime,
) -> VisitCheck:
    """What staff saw of one line. Refused with "check_done" when the line was checked at this
    visit already (a second press, or a colleague was quicker)."""
    visit = _open_visit(session, visit_id, staff)
    assert staff is not None
    line = next((x for x in lines(session, visit) if x.kind == kind and x.id == ref_id), None)
    if line is None:
        raise ProgrammeError("check_unknown")
    if line.check is not None:
        raise ProgrammeError("check_done")
    check = VisitCheck(
        visit_id=visit_id,
        enterprise_id=visit.enterprise_id,
        state=state,
        checked_by_id=staff.id,
        checked_at=now,
    )
    moved: list[PlanItem] = []
    if kind == IMPROVEMENT:
        improvement = session.get(Improvement, ref_id)
        assert improvement is not None
        check.improvement_id = ref_id
        check.self_likelihood = improvement.risk_after_likelihood
        check.self_severity = improvement.risk_after_severity
        check.self_score = improvement.risk_after_score
        moved = list(
            session.exec(
                select(PlanItem).where(
                    PlanItem.improvement_id == ref_id,
                    PlanItem.enterprise_id == visit.enterprise_id,
                )
            )
        )
    else:
        check.plan_item_id = ref_id
        item = session.get(PlanItem, ref_id)
        assert item is not None
        moved = [item]
    try:
        with session.begin_nested():
            session.add(check)
            session.flush()
    except IntegrityError as error:
        raise ProgrammeError("check_done") from error
    in_use = {CheckState.IN_USE: True, CheckState.NO_LONGER: False}.get(state)
    for item in moved:
        plans.seen_at_visit(session, item, in_use=in_use, actor_id=staff.id, now=now)
    audit(session, "visit.check", actor_id=staff.id, subject=check, state=str(state))
    return check


def record_seen(
    session: Session,
    *,
    visit_id: int,
    staff: Contact | None,
    area_code: str,
    kind_code: str | None,
    text: str | None,
    now: datetime,
) -> Improvement:
    """A new improvement staff see at the visit, while its checklist is open: stored as seen at
    the visit (models/improvements.py `add_seen`), not as one the enterprise reported."""
    visit = _open_visit(session, visit_id, staff)
    return imp.add_seen(
        session, enterprise_id=visit.enterprise_id, visit_id=visit_id, staff=staff,
        area_code=area_code, kind_code=kind_code, text=text, now=now,
    )  # fmt: skip


def seen_photo(
    session: Session,
    *,
    improvement_id: int,
    staff: Contact | None,
    slot: PhotoSlot,
    file_id: str | None,
    path: str | None,
    media_root: Path,
    now: datetime,
) -> Improvement:
    """A photo of an improvement seen at a visit whose checklist is still open."""
    improvement = session.get(Improvement, improvement_id)
    if improvement is None or improvement.seen_at_visit_id is None:
        raise ProgrammeError("check_unknown")
    _open_visit(session, improvement.seen_at_visit_id, staff)
    return imp.set_seen_photo(
        session, improvement_id, staff=staff, slot=slot, file_id=file_id, path=path,
        media_root=media_root, now=now,
    )  # fmt: skip


def seen_at(session: Session, visit_id: int) -> list[Improvement]:
    """The new improvements staff saw at the visit, in the order they were recorded."""
    return list(
        session.exec(
            select(Improvement)
            .where(
                Improvement.seen_at_visit_id == visit_id,
                col(Improvement.status).in_(REPORTED),
            )
            .order_by(col(Improvement.id))
        )
    )


def survey_round(session: Session, visit: Visit) -> SurveyRound | None:
    """The survey round the visit opened (models/scheduler: after a visit is done)."""
    return session.exec(
        select(SurveyRound).where(SurveyRound.visit_id == visit.id).order_by(col(SurveyRound.id))
    ).first()


def _own_check(session: Session, check_id: int, staff: Contact | None) -> VisitCheck:
    check = session.get(VisitCheck, check_id)
    if check is None or check.improvement_id is None:
        raise ProgrammeError("check_unknown")
    _open_visit(session, check.visit_id, staff)
    return check


def rate_risk(
    session: Session,
    *,
    check_id: int,
    staff: Contact | None,
    likelihood: int | None = None,
    severity: int | None = None,
    agree: bool = False,
    now: datetime,
) -> VisitCheck:
    """Staff agree with the enterprise's rating of the risk (`agree`), or rate it themselves
    (likelihood × severity, 1-3 each). Once per check: "risk_done" afterwards."""
    check = _own_check(session, check_id, staff)
    assert staff is not None
    values: dict[str, Any]
    if agree:
        if check.self_score is None:
            raise ProgrammeError("risk_not_rated")
        values = {
            "staff_likelihood": check.self_likelihood,
            "staff_severity": check.self_severity,
            "staff_score": check.self_score,
        }
    else:
        if likelihood not in LIKELIHOODS or severity not in SEVERITIES:
            raise ProgrammeError("risk_invalid")
        assert likelihood is not None and severity is not None
        values = {
            "staff_likelihood": likelihood,
            "staff_severity": severity,
            "staff_score": risk_score(likelihood, severity),
        }
    changed = session.execute(
        sa.update(VisitCheck)
        .where(col(VisitCheck.id) == check_id, col(VisitCheck.risk_checked_at).is_(None))
        .values(risk_checked_at=now, **values)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(check)
    if not changed:
        raise ProgrammeError("risk_done")
    audit(session, "visit.risk", actor_id=staff.id, subject=check, agree=agree,
          score=check.staff_score)  # fmt: skip
    return check


def check_of(session: Session, check_id: int, staff: Contact | None) -> VisitCheck:
    """A check of an improvement whose risk staff may still rate."""
    check = _own_check(session, check_id, staff)
    if check.risk_checked_at is not None:
        raise ProgrammeError("risk_done")
    return check


def finish(session: Session, *, visit_id: int, staff: Contact | None, now: datetime) -> Visit:
    """Closes the checklist, once: "checklist_finished" when it was closed before (then the
    report was sent already)."""
    visit, _ = _visit(session, visit_id, staff)
    assert staff is not None
    changed = session.execute(
        sa.update(Visit)
        .where(col(Visit.id) == visit_id, col(Visit.checklist_done_at).is_(None))
        .values(checklist_done_at=now)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(visit)
    if not changed:
        raise ProgrammeError("checklist_finished")
    audit(session, "visit.checklist", actor_id=staff.id, subject=visit)
    return visit


# The checklist of a done visit stays open this long for /visit; an older one is history.
CHECKLIST_DAYS = 14


@dataclass(frozen=True)
class Found:
    visit: Visit
    done: bool  # True: a done visit whose checklist is open; False: an open visit to log


def visit_to_check(
    session: Session, *, enterprise_id: int, staff: Contact | None, now: datetime
) -> Found | None:
    """What /visit works on at an enterprise: the latest visit done in the last CHECKLIST_DAYS
    whose checklist is still open, else the open visit due first (to log as done), else None."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise ProgrammeError("unknown_enterprise")
    if not may_manage(staff, enterprise):
        raise ProgrammeError("not_allowed")
    done = session.exec(
        select(Visit)
        .where(
            Visit.enterprise_id == enterprise_id,
            Visit.status == VisitStatus.DONE,
            col(Visit.checklist_done_at).is_(None),
            col(Visit.done_at) >= now - timedelta(days=CHECKLIST_DAYS),
        )
        .order_by(col(Visit.done_at).desc())
    ).first()
    if done is not None:
        return Found(done, True)
    upcoming = session.exec(
        select(Visit)
        .where(Visit.enterprise_id == enterprise_id, col(Visit.status).in_(OPEN))
        .order_by(col(Visit.due_on), col(Visit.id))
    ).first()
    return Found(upcoming, False) if upcoming is not None else None


def enterprises_of(session: Session, staff: Contact, *, limit: int) -> list[Enterprise]:
    """What /visit offers to choose from: a staff member's provider's enterprises (a
    coordinator's: every one) that are followed up (not archived), by name."""
    query = select(Enterprise).where(is_followed_up()).order_by(col(Enterprise.name))
    if staff.role == Role.STAFF:
        query = query.where(Enterprise.provider_id == staff.provider_id)
    return list(session.exec(query.limit(limit)))


def ready_to_finish(
    session: Session, *, visit_id: int, staff: Contact | None, lock: bool = False
) -> Visit:
    """The visit, when its checklist may be closed (before its report is built). `lock`, in the
    transaction that closes it: its row locked until that commits, so that no line is checked
    between the report's final reading and `finish` (the writers take the same lock)."""
    return _open_visit(session, visit_id, staff, lock=lock)


# -- figures for the summary -----------------------------------------------------------------


@dataclass(frozen=True)
class RevisitCounts:
    """What staff found at the revisits of a period: each improvement or plan item counted
    once, by its latest check; and the improvements whose risk staff checked against the
    enterprise's own rating (latest check each, only where the enterprise had rated it)."""

    checked: int = 0
    in_use: int = 0
    partly: int = 0
    no_longer: int = 0
    risk_checked: int = 0
    risk_agreed: int = 0
    risk_higher: int = 0  # staff rate the risk higher than the enterprise did
    risk_lower: int = 0
    # New improvements staff saw at visits (submitted in the period), and employer surveys they
    # took down at visits for owners who do not use the chat (rounds opened in the period).
    seen: int = 0
    assisted: int = 0


def revisit_counts(
    session: Session,
    *,
    enterprise_ids: sa.Select[Any] | None,
    start: datetime,
    end: datetime,
    area_code: str | None = None,
) -> RevisitCounts:
    """Checks made from `start` up to (not including) `end`, of the enterprises
    `enterprise_ids` selects (None: all), of one area (the improvement's or item's) or all."""
    check = VisitCheck.__table__  # type: ignore[attr-defined]
    improvement = Improvement.__table__  # type: ignore[attr-defined]
    item = PlanItem.__table__  # type: ignore[attr-defined]
    where = [check.c.checked_at >= start, check.c.checked_at < end]
    if enterprise_ids is not None:
        where.append(check.c.enterprise_id.in_(enterprise_ids))
    joined = check.outerjoin(improvement, improvement.c.id == check.c.improvement_id).outerjoin(
        item, item.c.id == check.c.plan_item_id
    )
    if area_code is not None:
        where.append(sa.func.coalesce(improvement.c.area_code, item.c.area_code) == area_code)

    def latest(*extra: Any) -> sa.Select[Any]:
        return (
            sa.select(sa.func.max(check.c.id))
            .select_from(joined)
            .where(*where, *extra)
            .group_by(check.c.improvement_id, check.c.plan_item_id)
        )

    states = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(check.c.state == str(CheckState.IN_USE)),
            sa.func.count().filter(check.c.state == str(CheckState.PARTLY)),
            sa.func.count().filter(check.c.state == str(CheckState.NO_LONGER)),
        ).where(check.c.id.in_(latest()))
    ).one()
    rated = [check.c.risk_checked_at.is_not(None), check.c.self_score.is_not(None)]
    risks = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(check.c.staff_score == check.c.self_score),
            sa.func.count().filter(check.c.staff_score > check.c.self_score),
            sa.func.count().filter(check.c.staff_score < check.c.self_score),
        ).where(check.c.id.in_(latest(check.c.improvement_id.is_not(None), *rated)))
    ).one()
    improvement_where = [
        improvement.c.seen_at_visit_id.is_not(None),
        improvement.c.status.in_([str(s) for s in REPORTED]),
        improvement.c.submitted_at >= start,
        improvement.c.submitted_at < end,
    ]
    if enterprise_ids is not None:
        improvement_where.append(improvement.c.enterprise_id.in_(enterprise_ids))
    if area_code is not None:
        improvement_where.append(improvement.c.area_code == area_code)
    seen = session.execute(sa.select(sa.func.count()).where(*improvement_where)).scalar()
    response = SurveyResponse.__table__  # type: ignore[attr-defined]
    survey_round = SurveyRound.__table__  # type: ignore[attr-defined]
    response_where = [
        response.c.assisted.is_(True),
        response.c.complete.is_(True),
        survey_round.c.opened_at >= start,
        survey_round.c.opened_at < end,
    ]
    if enterprise_ids is not None:
        response_where.append(survey_round.c.enterprise_id.in_(enterprise_ids))
    assisted = session.execute(
        sa.select(sa.func.count())
        .select_from(response.join(survey_round, survey_round.c.id == response.c.round_id))
        .where(*response_where)
    ).scalar()
    return RevisitCounts(*(int(value or 0) for value in (*states, *risks, seen, assisted)))
