"""What waits in the outbox about a visit goes only while the visit is still to come, at the
time it names (models/visits.py, `withdraw_notices` and `closed_rows`): a visit cancelled by
the archive of its enterprise, closed (done, or missed and replaced) or arranged anew leaves no
stale notice to staff or to the enterprise's people, and the sender skips one that slipped
through (queued by a job that read the visit a moment before)."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.sender import SendReport, _claim, due_rows
from models import enterprises, visits
from models.enterprises import WITHDRAWN
from models.notices import visits as notices
from models.outbox import PRIORITY_NOTICE, Message, enqueue
from models.tables import Contact, Enterprise, Outbox, OutboxStatus, Role, Visit, VisitStatus
from tests.conftest import World
from tests.factories import CONFIG, TZ, add_enterprise, add_person, local

CANCELLED, REARRANGED = visits.over(VisitStatus.CANCELLED), visits.REARRANGED


class Cast:
    """An enterprise with its employer and two staff of its provider, and a planned visit."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.enterprise: Enterprise = add_enterprise(world)
        provider_id = self.enterprise.provider_id
        self.staff = add_person(world, 201, Role.STAFF, provider_id=provider_id, name="Dũng")
        self.colleague = add_person(world, 202, Role.STAFF, provider_id=provider_id, name="Hà")
        self.employer = add_person(world, 301, Role.EMPLOYER, enterprise_id=self.enterprise.id)
        with world.database.session() as session:
            visit = Visit(
                enterprise_id=self.enterprise.id,
                offset_months=1,  # type: ignore[arg-type]
                due_on=date(2027, 2, 25),
            )
            session.add(visit)
            session.flush()
            assert visit.id is not None
            self.visit_id: int = visit.id

    def get(self, session: Session, person: Contact) -> Contact:
        found = session.get(Contact, person.id)
        assert found is not None
        return found

    def visit(self, session: Session) -> Visit:
        found = session.get(Visit, self.visit_id)
        assert found is not None
        return found

    def rows(self) -> dict[str, tuple[OutboxStatus, str | None]]:
        """Each row's key without the visit, with its status and last error."""
        with self.world.database.session() as session:
            found = session.exec(select(Outbox).order_by(Outbox.id)).all()
            return {row.key: (row.status, row.last_error) for row in found}

    def pending(self) -> list[str]:
        return [key for key, (status, _) in self.rows().items() if status == OutboxStatus.PENDING]


def kinds_of(keys: list[str]) -> list[str]:
    return sorted(key.split(":")[0] + ":" + key.split(":")[2] for key in keys)


async def test_a_visit_arranged_anew_or_missed_leaves_nothing_stale_waiting(
    world: World,
) -> None:
    cast = Cast(world)
    now = world.clock
    staff, colleague, employer = cast.staff.id, cast.colleague.id, cast.employer.id
    with world.database.session() as session:
        both = [cast.get(session, cast.staff), cast.get(session, cast.colleague)]
        notices.visit_due(
            session,
            cast.visit(session),
            visits.card(session, cast.enterprise, tz=TZ),
            both,
            now=now(),
        )
    # Dũng proposes a date: the colleague's "a revisit is due" is answered.
    with world.database.session() as session:
        proposal = visits.propose(
            session,
            visit_id=cast.visit_id,
            staff=cast.get(session, cast.staff),
            at=local(2027, 3, 5, 9),
            now=now(),
        )
        notices.proposal(session, proposal.visit, proposal.employers, now=now(), config=CONFIG)
    assert cast.rows()[f"visit-due:{cast.visit_id}:{colleague}"] == (
        OutboxStatus.SKIPPED,
        REARRANGED,
    )
    # A typo put right a few seconds later: the first proposal is withdrawn, the new one waits.
    world.clock.advance(seconds=20)
    with world.database.session() as session:
        proposal = visits.propose(
            session,
            visit_id=cast.visit_id,
            staff=cast.get(session, cast.staff),
            at=local(2027, 3, 6, 9),
            now=now(),
        )
        notices.proposal(session, proposal.visit, proposal.employers, now=now(), config=CONFIG)
    assert kinds_of(cast.pending()) == [f"visit-proposal:{employer}"]
    # The employer suggests another time: the proposal goes; staff are asked.
    with world.database.session() as session:
        visit = visits.suggest(
            session,
            visit_id=cast.visit_id,
            employer=cast.get(session, cast.employer),
            at=local(2027, 3, 7, 14),
            now=now(),
        )
        notices.suggestion(
            session,
            visit,
            [cast.get(session, cast.staff)],
            employer=cast.get(session, cast.employer),
            now=now(),
            config=CONFIG,
        )
    assert kinds_of(cast.pending()) == [f"visit-suggest:{staff}"]
    # Dũng accepts it: the suggestion is answered, the employer hears the date stands.
    world.clock.advance(minutes=1)
    with world.database.session() as session:
        visit = visits.accept_suggestion(
            session, visit_id=cast.visit_id, staff=cast.get(session, cast.staff), now=now()
        )
        notices.confirmed(
            session, visit, [cast.get(session, cast.employer)], by=None, now=now(), config=CONFIG
        )
    assert kinds_of(cast.pending()) == [f"visit-confirmed:{employer}"]
    await world.drain()
    # The day before, both are reminded (the messages wait for the morning, quiet hours or not).
    world.clock.now = local(2027, 3, 6, 8)
    with world.database.session() as session:
        people = [cast.get(session, cast.staff), cast.get(session, cast.employer)]
        notices.reminder(session, cast.visit(session), people, now=now(), config=CONFIG)
        notices.outcome_question(session, cast.visit(session), people[:1], now=now(), config=CONFIG)
    # Before they go, Dũng logs that it did not happen: a new visit takes its place, and what
    # waited about the old one is withdrawn, saying why.
    with world.database.session() as session:
        _, replacement = visits.record_outcome(
            session,
            visit_id=cast.visit_id,
            staff=cast.get(session, cast.staff),
            done=False,
            now=now(),
            tz=TZ,
        )
    assert replacement is not None
    assert cast.pending() == []
    withdrawn = {
        key: error for key, (status, error) in cast.rows().items() if status == OutboxStatus.SKIPPED
    }
    assert kinds_of(list(withdrawn)) == sorted(
        [
            f"visit-due:{staff}",
            f"visit-due:{colleague}",
            f"visit-proposal:{employer}",
            f"visit-proposal:{employer}",
            f"visit-suggest:{staff}",
            f"visit-reminder:{staff}",
            f"visit-reminder:{employer}",
            f"visit-outcome:{staff}",
        ]
    )
    missed = sorted(kinds_of([k for k, error in withdrawn.items() if error == "visit missed"]))
    assert missed == sorted(
        [f"visit-reminder:{staff}", f"visit-reminder:{employer}", f"visit-outcome:{staff}"]
    )
    await world.drain()
    # What reached anyone: the date agreed, to the employer; nothing stale.
    assert world.user(201).account.messages() == []
    assert world.user(202).account.messages() == []
    [agreed] = [m.plain for m in world.user(301).account.messages()]
    assert "07/03/2027" in agreed


async def test_archiving_withdraws_the_notices_about_its_cancelled_visits_staff_s_too(
    world: World,
) -> None:
    cast = Cast(world)
    now = world.clock()
    other = add_enterprise(world, provider_id=cast.enterprise.provider_id, name="Cơ khí")
    with world.database.session() as session:
        visit = cast.visit(session)
        staff = [cast.get(session, cast.staff), cast.get(session, cast.colleague)]
        notices.visit_due(
            session, visit, visits.card(session, cast.enterprise, tz=TZ), staff, now=now
        )
        visit.status, visit.scheduled_at = VisitStatus.CONFIRMED, local(2027, 3, 2, 9)
        session.add(visit)
        notices.reminder(
            session, visit, [*staff, cast.get(session, cast.employer)], now=now, config=CONFIG
        )
        # Another enterprise's visit: as ever.
        kept = Visit(enterprise_id=other.id, offset_months=1, due_on=date(2027, 2, 25))  # type: ignore[arg-type]
        session.add(kept)
        session.flush()
        notices.visit_due(session, kept, visits.card(session, other, tz=TZ), staff[1:], now=now)
    with world.database.session() as session:
        archived = enterprises.archive(
            session, cast.get(session, cast.staff), cast.enterprise.id, now=now
        )  # type: ignore[arg-type]
    assert archived.visits == 1 and archived.withdrawn == 1  # the employer's reminder
    rows = cast.rows()
    v, employer = cast.visit_id, cast.employer.id
    for person in (cast.staff.id, cast.colleague.id):
        assert rows[f"visit-due:{v}:{person}"] == (OutboxStatus.SKIPPED, CANCELLED)
        assert rows[f"visit-reminder:{v}:{person}:2027-03-02"] == (OutboxStatus.SKIPPED, CANCELLED)
    assert rows[f"visit-reminder:{v}:{employer}:2027-03-02"] == (OutboxStatus.SKIPPED, WITHDRAWN)
    await world.drain()
    # The colleague hears of the archive and of the other enterprise's visit, of nothing else.
    read = [m.plain for m in world.user(202).account.messages()]
    assert len(read) == 2 and any("Cơ khí" in text for text in read)
    assert world.user(301).account.messages() == []


def visit_queries(session: Session) -> list[str]:
    """Collects the statements that read the visit table on `session`'s connection."""
    seen: list[str] = []

    def look(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if re.search(r"\bFROM visit\b", statement):
            seen.append(statement)

    sa.event.listen(session.connection(), "before_cursor_execute", look)
    return seen


async def test_the_sender_skips_a_visit_notice_queued_after_its_visit_was_over(
    world: World,
) -> None:
    """A job read the visit a moment before it was cancelled and queues its reminder after:
    the sender skips it as it claims it, in one look at the visits, which it takes only when
    visit notices are among the rows. A notice about a visit still to come goes, and so does
    the report of a visit done."""
    cast = Cast(world)
    now = world.clock()
    with world.database.session() as session:
        visit = cast.visit(session)
        employer = cast.get(session, cast.employer)
        visit.status, visit.scheduled_at = VisitStatus.CONFIRMED, local(2027, 3, 2, 9)
        session.add(visit)
        read_before = Visit(**visit.model_dump())
        visit.status = VisitStatus.CANCELLED
        session.flush()
        notices.reminder(session, read_before, [employer], now=now, config=CONFIG)
        enqueue(
            session, key=f"tip:{employer.id}", contact=employer, kind="tip", message=Message("tip")
        )
        coming = Visit(
            enterprise_id=cast.enterprise.id,
            offset_months=3,  # type: ignore[arg-type]
            due_on=date(2027, 4, 25),
        )
        done = Visit(
            enterprise_id=cast.enterprise.id,
            offset_months=6,  # type: ignore[arg-type]
            due_on=date(2027, 7, 25),
            status=VisitStatus.DONE,
            done_at=now,
        )
        session.add_all([coming, done])
        session.flush()
        staff = [cast.get(session, cast.staff)]
        notices.visit_due(
            session, coming, visits.card(session, cast.enterprise, tz=TZ), staff, now=now
        )
        enqueue(
            session,
            key=f"visit-report:{done.id}:{employer.id}",
            contact=employer,
            kind="visit-report",
            message=Message("report"),
            priority=PRIORITY_NOTICE,
        )
    with world.database.session() as session:
        rows = due_rows(session, now=now, limit=10)
        tips = [row for row in rows if row.kind == "tip"]
        looks = visit_queries(session)
        assert [row.kind for row in _claim(session, tips, now, SendReport())] == ["tip"]
        assert looks == []  # no visit notice claimed: no look at the visits
        others = [row for row in rows if row.kind != "tip"]
        report = SendReport()
        sent = _claim(session, others, now, report)
        assert len(looks) == 1
    assert sorted(row.kind for row in sent) == ["visit-due", "visit-report"]
    assert report.skipped == 1
    reminder = f"visit-reminder:{cast.visit_id}:{cast.employer.id}:2027-03-02"
    assert cast.rows()[reminder] == (OutboxStatus.SKIPPED, CANCELLED)


def test_a_notice_s_visit_is_read_from_its_key_only() -> None:
    assert visits.notice_visit("visit-reminder:12:34:2027-03-02") == 12
    assert visits.notice_visit("visit-suggest:7:3:20270307070000") == 7
    assert visits.notice_visit("visit-report:12:34") is None  # a visit done: its report goes
    assert visits.notice_visit("visit-reminder:12") is None  # not a notice's key
    assert visits.notice_visit("tip:12:2027-03") is None
