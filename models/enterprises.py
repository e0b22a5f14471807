"""The enterprises staff look after, in the chat: found by name or province a page at a time,
each with its history (rounds, visits, reports, plan, threads), moved to another provider
with that history, and archived when the programme no longer follows them up.

Staff see, move and archive their own provider's enterprises, coordinators every one; both are
checked against the database at every press (models/programme.py, `managed_enterprise`).

An archived enterprise keeps its history (summaries and exports count what happened there),
and its people keep their rights (/mydata, /deleteme, /stop) and the answers to what they
asked. What changes is the programme's own initiative: `followed_up` is the one rule that every
scheduled message and every audience applies, so nothing new is planned or sent for it, and
`withheld` is the one rule for what was queued for its people before: archiving withdraws it,
and the sender checks it again as it claims each row. Its people may still report an
improvement (staff see it in their review list as usual: good news is never refused, and it may
be the reason to restore the enterprise).

This module imports only the tables and the leaf modules below, so that every module that
chooses whom to write to (visits, plans, surveys, tips, audiences) can import `followed_up`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import content, outbox
from models.outbox import PRIORITY_NOTICE, enqueue
from models.programme import ProgrammeError, audit, managed_enterprise, revoke_live
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    InboxThread,
    Outbox,
    PlanItem,
    Provider,
    Role,
    Rsvp,
    SurveyParticipation,
    SurveyRound,
    Visit,
    VisitStatus,
)

PAGE = 10  # enterprises a page: each is a button, and a page must fit one message
COMING = (VisitStatus.PLANNED, VisitStatus.PROPOSED, VisitStatus.CONFIRMED)


# -- followed up, or archived ------------------------------------------------------------------


def is_followed_up() -> sa.ColumnElement[bool]:
    """A WHERE clause on Enterprise: the programme still follows it up (it is not archived).
    The one place this rule is written; `followed_up` applies it to any enterprise id column."""
    return col(Enterprise.archived_at).is_(None)


def followed_up(enterprise_id: Any) -> sa.ColumnElement[bool]:
    """A WHERE clause: the enterprise whose id is in the column `enterprise_id`
    (Visit.enterprise_id, Contact.enterprise_id, SurveyRound.enterprise_id, ...) is followed
    up. Every job and audience that chooses, on the programme's own initiative, whom to write to
    or what to plan applies it; a contact without an enterprise (staff) does not pass it."""
    ids = select(Enterprise.id).where(is_followed_up()).correlate(None)
    return col(enterprise_id).in_(ids)


# -- what archiving withdraws from the outbox ---------------------------------------------------
# Messages queued for the people of an enterprise before it was archived. Decided per kind of
# outbox row (every kind the code queues is named in tests/test_archive_queued.py, which fails
# on a new one until it is decided here). A kind not kept below is withdrawn: the programme's own
# follow-up, which archiving ends (tips, survey invitations and nudges, draft and plan
# reminders, results cards, province results, broadcasts, event invitations, every visit
# arrangement, the visit report). Staff's own notices are not touched here: staff belong to no
# enterprise; those about the visits the archive cancels are withdrawn with the visits
# (models/visits.py, `withdraw_notices`).

# What a person of an archived enterprise is still owed: answers to what they asked or sent
# (an inbox answer, a review of their report, a question about it, what they requested), the
# word that their access ended, the answer to their request to join, and the reaction survey of
# an event they attended.
ARCHIVE_KEPT_KINDS = frozenset(
    {"requested", "inbox-answer", "report-reviewed", "report-question", "member-removed",
     "enrolment", "event-survey"}
)  # fmt: skip
# About an event they said they will come to ("Going"): its reminders, its cancellation and its
# new time still reach them (models/events.py reminds them for the same reason); an undecided
# person is not pressed further. The key of each begins `<kind>:<event>:`.
ARCHIVE_GOING_KINDS = frozenset({"event-reminder", "event-cancel", "event-move"})
# The outbox's last error on a withdrawn row (status skipped, as /stop and erasure leave theirs).
WITHDRAWN = "enterprise archived"


def withheld() -> sa.ColumnElement[bool]:
    """A WHERE clause on Outbox: the row is for a person of an archived enterprise and is of a
    kind that archiving withdraws (the one place this rule is written)."""
    # Here, not at the top: events imports this module.
    from models.events import GOING

    archived_people = (
        select(Contact.id)
        .join(Enterprise, col(Enterprise.id) == col(Contact.enterprise_id))
        .where(~is_followed_up())
    )
    event_prefix = col(Outbox.kind) + ":" + sa.cast(col(Rsvp.event_id), sa.String) + ":"
    going = sa.exists(
        select(Rsvp.id).where(
            col(Rsvp.contact_id) == col(Outbox.contact_id),
            col(Rsvp.answer) == GOING,
            col(Outbox.key).startswith(event_prefix),
        )
    )
    return sa.and_(
        col(Outbox.contact_id).in_(archived_people),
        col(Outbox.kind).not_in(sorted(ARCHIVE_KEPT_KINDS)),
        sa.or_(col(Outbox.kind).not_in(sorted(ARCHIVE_GOING_KINDS)), ~going),
    )


def withdraw_queued(session: Session, enterprise_id: int) -> int:
    """Withdraws what waits in the outbox for the people of an enterprise just archived (in
    the same transaction): skipped, for good. A restore does not bring them back: they were
    the follow-up of their moment (that month's tip, a reminder of a cancelled visit, the
    invitation to a closed round), and the jobs queue what is due again once it is followed
    up. Rows a sender has claimed already are in flight and go; any of them given back to the
    outbox (a 429, an error to retry, a sender that died) meets `withheld_rows` at its next
    claim. Returns how many were withdrawn."""
    people = select(Contact.id).where(Contact.enterprise_id == enterprise_id)
    return outbox.withdraw(
        session, col(Outbox.contact_id).in_(people), withheld(), reason=WITHDRAWN
    )


def withheld_rows(session: Session, row_ids: list[int]) -> set[int]:
    """Of these outbox rows, those `withheld` now: the sender asks as it claims them, so that a
    row queued or given back after the archive (a job in another process that chose its
    recipients a moment before, a row retried) does not go either."""
    if not row_ids:
        return set()
    found = session.exec(select(Outbox.id).where(col(Outbox.id).in_(row_ids), withheld()))
    return {int(row_id) for row_id in found if row_id is not None}


def managed_and_followed(session: Session, actor: Contact | None, enterprise_id: int) -> Enterprise:
    """The enterprise, if `actor` may manage it and it is not archived: what is done for its
    future (moving it, archiving it) waits for it to be restored."""
    enterprise = managed_enterprise(session, actor, enterprise_id)
    if enterprise.archived_at is not None:
        raise ProgrammeError("archived")
    return enterprise


@dataclass(frozen=True)
class Found:
    enterprises: list[Enterprise]
    total: int
    page: int
    archived: int = 0  # archived enterprises matching the same words (shown: `listing`)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE))


def _visible(
    session: Session, actor: Contact | None, *, archived: bool = False
) -> list[Enterprise]:
    if actor is None or actor.removed_at or actor.erased_at:
        raise ProgrammeError("staff_only")
    shelf = ~is_followed_up() if archived else is_followed_up()
    query = select(Enterprise).where(shelf).order_by(col(Enterprise.name), col(Enterprise.id))
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


def search(
    session: Session, actor: Contact | None, words: str = "", page: int = 0, *,
    archived: bool = False,
) -> Found:  # fmt: skip
    """One page of the enterprises `actor` looks after whose name or province has `words`:
    those followed up, or (`archived`) the archived ones only. The followed-up list also counts
    the archived enterprises that match, for its "🗄 Archived" button."""
    found = [e for e in _visible(session, actor, archived=archived) if matches(e, words)]
    last = max(0, -(-len(found) // PAGE) - 1)
    page = min(max(page, 0), last)
    shelved = (
        0
        if archived
        else sum(1 for e in _visible(session, actor, archived=True) if matches(e, words))
    )
    return Found(found[page * PAGE : (page + 1) * PAGE], len(found), page, shelved)


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
    archived_by: str | None = None  # who archived it, when it is archived


def history(session: Session, actor: Contact | None, enterprise_id: int) -> History:
    enterprise = managed_enterprise(session, actor, enterprise_id)
    provider = session.get(Provider, enterprise.provider_id)
    found = History(enterprise, provider.name if provider else "—")
    if enterprise.archived_at is not None:
        by = session.get(Contact, enterprise.archived_by_id) if enterprise.archived_by_id else None
        found.archived_by = (by.display_name or "—") if by and not by.erased_at else "—"
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
    enterprise = managed_and_followed(session, actor, enterprise_id)
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
    from models.visits import staff_of

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


@dataclass(frozen=True)
class Archived:
    """What archiving an enterprise ended."""

    enterprise: Enterprise
    links: int  # invite links that admitted people until now
    visits: int  # coming visits cancelled
    rounds: int  # open survey rounds closed
    withdrawn: int = 0  # messages queued for its people, withdrawn (`withdraw_queued`)


def archive(
    session: Session, actor: Contact | None, enterprise_id: int, *, now: datetime
) -> Archived:
    """Stops following an enterprise up: it leaves the lists (it has its own), its live invite
    links end, its coming visits are cancelled, its open survey round closes (its anonymous
    answers are settled by the `surveys` job as for any closed round), and from now on the
    scheduler plans and sends nothing for it (`followed_up`), nor what it had queued for its
    people (`withdraw_queued`), nor the notices about its cancelled visits, staff's included
    (models/visits.py, `withdraw_notices`). Its history, its people and their rights stay. A
    cancelled visit gives up its place in the revisit plan (its offset), so that a restored
    enterprise has its missing revisits planned again. Race-safe: a second press, or a second
    process, finds it archived and changes nothing."""
    enterprise = managed_enterprise(session, actor, enterprise_id)
    assert actor is not None
    marked = session.execute(
        sa.update(Enterprise)
        .where(col(Enterprise.id) == enterprise_id, is_followed_up())
        .values(archived_at=now, archived_by_id=actor.id)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        raise ProgrammeError("archived")
    session.refresh(enterprise)
    links = sum(
        revoke_live(
            session, enterprise_id=enterprise_id, role=role, now=now, actor_id=actor.id,
            reason="archived",
        )
        for role in (Role.EMPLOYER, Role.WORKER)
    )  # fmt: skip
    cancelled = []
    for visit in session.exec(
        select(Visit).where(Visit.enterprise_id == enterprise_id, col(Visit.status).in_(COMING))
    ).all():
        cancelled.append({"visit": visit.id, "offset": visit.offset_months})
        visit.status = VisitStatus.CANCELLED
        visit.offset_months = None
        session.add(visit)
    # Here, not at the top: surveys reaches the audiences, which import this module.
    from models.surveys import close_round

    rounds = session.exec(
        select(SurveyRound.id).where(
            SurveyRound.enterprise_id == enterprise_id, col(SurveyRound.closed_at).is_(None)
        )
    ).all()
    for round_id in rounds:
        assert round_id is not None
        close_round(session, round_id, now=now)
    session.flush()
    withdrawn = withdraw_queued(session, enterprise_id)
    # What still waits about the cancelled visits for staff too (models/visits.py decides).
    from models.visits import over, withdraw_notices

    notices = withdraw_notices(
        session,
        [visit_id for entry in cancelled if (visit_id := entry["visit"]) is not None],
        reason=over(VisitStatus.CANCELLED),
    )
    audit(
        session, "enterprise.archive", actor_id=actor.id, subject=enterprise, links=links,
        visits=cancelled, rounds=list(rounds), withdrawn=withdrawn, visit_notices=notices,
    )  # fmt: skip
    _tell_staff(session, actor, enterprise, "archived", now=now)
    return Archived(enterprise, links, len(cancelled), len(rounds), withdrawn)


def _tell_staff(
    session: Session, actor: Contact, enterprise: Enterprise, what: str, *, now: datetime
) -> None:
    """The other staff of the enterprise's provider hear that it was archived or restored, and
    by whom: an enterprise that leaves (or comes back to) their list is no surprise."""
    from models.notices.enterprises import shelf_notice
    from models.visits import staff_of

    for staff in staff_of(session, enterprise.provider_id):
        if staff.id == actor.id:
            continue
        enqueue(
            session,
            key=f"enterprise-{what}:{enterprise.id}:{staff.id}:{now.isoformat()}",
            contact=staff,
            kind="enterprise",
            message=shelf_notice(staff.language, enterprise, what, actor.display_name or "—"),
            priority=PRIORITY_NOTICE,
            not_before=now,
        )


def restore(
    session: Session, actor: Contact | None, enterprise_id: int, *, now: datetime
) -> Enterprise:
    """Follows an archived enterprise up again: back in the list, in the scheduler's jobs and
    in the audiences; the next `visits` run plans the revisits it lacks. Its ended links stay
    ended (staff issue new ones from its page), its closed rounds stay closed (the next
    opens after the next visit), and the messages the archive withdrew stay withdrawn (they
    were of their moment: `withdraw_queued`)."""
    enterprise = managed_enterprise(session, actor, enterprise_id)
    assert actor is not None
    archived_at = enterprise.archived_at
    unmarked = session.execute(
        sa.update(Enterprise)
        .where(col(Enterprise.id) == enterprise_id, ~is_followed_up())
        .values(archived_at=None, archived_by_id=None)
    )
    if unmarked.rowcount != 1:  # type: ignore[attr-defined]
        raise ProgrammeError("not_archived")
    session.refresh(enterprise)
    audit(
        session, "enterprise.restore", actor_id=actor.id, subject=enterprise,
        archived_at=archived_at.isoformat() if archived_at else None, at=now.isoformat(),
    )  # fmt: skip
    _tell_staff(session, actor, enterprise, "restored", now=now)
    return enterprise


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
