"""The enterprises staff look after, in the chat: found by name or province a page at a time,
each with its history (rounds, visits, reports, plan, threads), and moved to another provider
with that history.

Staff see and move their own provider's enterprises, coordinators every one; both are checked
against the database at every press (models/programme.py, `managed_enterprise`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import content
from models.outbox import PRIORITY_NOTICE, enqueue
from models.programme import ProgrammeError, audit, managed_enterprise
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    InboxThread,
    PlanItem,
    Provider,
    Role,
    SurveyParticipation,
    SurveyRound,
    Visit,
    VisitStatus,
)
from models.visits import staff_of

PAGE = 10  # enterprises a page: each is a button, and a page must fit one message
COMING = (VisitStatus.PLANNED, VisitStatus.PROPOSED, VisitStatus.CONFIRMED)


@dataclass(frozen=True)
class Found:
    enterprises: list[Enterprise]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE))


def _visible(session: Session, actor: Contact | None) -> list[Enterprise]:
    if actor is None or actor.removed_at or actor.erased_at:
        raise ProgrammeError("staff_only")
    query = select(Enterprise).order_by(col(Enterprise.name), col(Enterprise.id))
    if actor.role == Role.STAFF and actor.provider_id is not None:
        query = query.where(Enterprise.provider_id == actor.provider_id)
    elif actor.role != Role.COORDINATOR:
        raise ProgrammeError("staff_only")
    return list(session.exec(query))


def matches(enterprise: Enterprise, words: str) -> bool:
    """Every typed word is in the name or the province, without regard to case or accents."""
    province = content.province(enterprise.province_code)
    haystack = content.fold(
        " ".join(
            [enterprise.name, enterprise.province_code, province.name("vi") if province else ""]
        )
    )
    return all(word in haystack for word in content.fold(words).split())


def search(session: Session, actor: Contact | None, words: str = "", page: int = 0) -> Found:
    """One page of the enterprises `actor` looks after whose name or province has `words`."""
    found = [e for e in _visible(session, actor) if matches(e, words)]
    last = max(0, -(-len(found) // PAGE) - 1)
    page = min(max(page, 0), last)
    return Found(found[page * PAGE : (page + 1) * PAGE], len(found), page)


@dataclass
class History:
    """What has happened at one enterprise since its training."""

    enterprise: Enterprise
    provider: str
    rounds: list[tuple[SurveyRound, int]] = field(default_factory=list)  # with completed answers
    visits: list[Visit] = field(default_factory=list)
    reports: Counter[str] = field(default_factory=Counter)  # by status
    latest_report: datetime | None = None
    plan: Counter[str] = field(default_factory=Counter)  # by status
    threads_open: int = 0
    threads_closed: int = 0
    people: Counter[str] = field(default_factory=Counter)  # by role


def history(session: Session, actor: Contact | None, enterprise_id: int) -> History:
    enterprise = managed_enterprise(session, actor, enterprise_id)
    provider = session.get(Provider, enterprise.provider_id)
    found = History(enterprise, provider.name if provider else "—")
    answered = (
        select(SurveyRound, sa.func.count(col(SurveyParticipation.completed_at)))
        .outerjoin(SurveyParticipation, col(SurveyParticipation.round_id) == SurveyRound.id)
        .where(SurveyRound.enterprise_id == enterprise_id)
        .group_by(col(SurveyRound.id))
        .order_by(col(SurveyRound.number))
    )
    found.rounds = [(row, int(count)) for row, count in session.exec(answered)]
    found.visits = list(
        session.exec(
            select(Visit).where(Visit.enterprise_id == enterprise_id).order_by(col(Visit.due_on))
        )
    )
    for review, count, latest in session.exec(
        select(col(Improvement.status), sa.func.count(), sa.func.max(col(Improvement.submitted_at)))
        .where(Improvement.enterprise_id == enterprise_id)
        .group_by(col(Improvement.status))
    ):
        found.reports[str(review)] = int(count)
        if latest is not None and (found.latest_report is None or latest > found.latest_report):
            found.latest_report = latest
    for step, count in session.exec(
        select(col(PlanItem.status), sa.func.count())
        .where(PlanItem.enterprise_id == enterprise_id)
        .group_by(col(PlanItem.status))
    ):
        found.plan[str(step)] = int(count)
    for state, count in session.exec(
        select(col(InboxThread.status), sa.func.count())
        .where(InboxThread.enterprise_id == enterprise_id)
        .group_by(col(InboxThread.status))
    ):
        if state == "open":
            found.threads_open = int(count)
        else:
            found.threads_closed += int(count)
    for role, count in session.exec(
        select(col(Contact.role), sa.func.count())
        .where(
            Contact.enterprise_id == enterprise_id,
            col(Contact.removed_at).is_(None),
            col(Contact.erased_at).is_(None),
        )
        .group_by(col(Contact.role))
    ):
        found.people[str(role)] = int(count)
    return found


def transfer(
    session: Session,
    actor: Contact | None,
    enterprise_id: int,
    provider_id: int,
    *,
    now: datetime,
) -> tuple[Enterprise, Provider, Provider]:
    """Moves an enterprise, with its history, to another provider: its reports, rounds, plan
    and visits stay its own; its open threads go to the new provider's inbox, its coming visits
    to the new provider's staff to plan, and the new provider's staff are told. Only a
    coordinator, or the enterprise's own staff, may move it; returns (enterprise, from, to)."""
    enterprise = managed_enterprise(session, actor, enterprise_id)
    assert actor is not None
    source = session.get(Provider, enterprise.provider_id)
    target = session.get(Provider, provider_id)
    if target is None or not target.active:
        raise ProgrammeError("stale")
    if target.id == enterprise.provider_id:
        raise ProgrammeError("stale")  # moved there already
    assert source is not None and target.id is not None
    moved = session.execute(
        sa.update(Enterprise)
        .where(col(Enterprise.id) == enterprise_id, col(Enterprise.provider_id) == source.id)
        .values(provider_id=target.id)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise ProgrammeError("stale")  # moved by someone else meanwhile
    session.execute(
        sa.update(InboxThread)
        .where(col(InboxThread.enterprise_id) == enterprise_id, col(InboxThread.status) == "open")
        .values(provider_id=target.id)
    )
    session.execute(
        sa.update(Visit)
        .where(col(Visit.enterprise_id) == enterprise_id, col(Visit.status).in_(COMING))
        .values(staff_id=None)
    )
    session.refresh(enterprise)
    audit(
        session, "enterprise.transfer", actor_id=actor.id, subject=enterprise,
        **{"from": source.id, "to": target.id},
    )  # fmt: skip
    # Here, not at the top: the notices render this module's pages.
    from models.notices.enterprises import transferred_notice

    for staff in staff_of(session, target.id):
        enqueue(
            session,
            key=f"enterprise-transferred:{enterprise_id}:{target.id}:{staff.id}:{now.isoformat()}",
            contact=staff,
            kind="enterprise",
            message=transferred_notice(staff.language, enterprise, source.name),
            priority=PRIORITY_NOTICE,
            not_before=now,
        )
    return enterprise, source, target


def providers_to_move_to(session: Session, enterprise: Enterprise) -> list[Provider]:
    return list(
        session.exec(
            select(Provider)
            .where(col(Provider.active), Provider.id != enterprise.provider_id)
            .order_by(col(Provider.name))
        )
    )


def upcoming(visits: list[Visit]) -> Visit | None:
    """The next visit still to come (planned, proposed or confirmed), the soonest first."""
    coming = [v for v in visits if v.status in COMING]
    return min(coming, key=lambda v: v.due_on, default=None)
