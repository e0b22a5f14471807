"""Worker anonymity: what any sequence of requests, and what the database itself, can tell.

The attacks of issue 14, performed as an attacker would: summaries over overlapping periods
and scopes, /progress before and after a worker answers, the event card watched one answer at
a time. Whatever is asked, and whenever, two figures of worker answers differ by nothing or
by at least MIN_GROUP workers. Then the database: no transaction id, physical position,
timestamp or sequence value links an anonymous row to a row that names a person.
"""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel

from models import surveys
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import (
    Contact,
    Enterprise,
    Event,
    Role,
    Rsvp,
)
from reports import events as event_reports
from reports.figures import Scope, parse_period
from reports.summary import build_summary, enterprise_progress

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Q1 = datetime(2027, 1, 10, 3, tzinfo=UTC)
Q2 = datetime(2027, 4, 10, 3, tzinfo=UTC)
PERIODS = ("2027", "2027-Q1", "2027-Q2", "2027-04", "2027-01-05..2027-06-30")


def enterprise(db: Database, name: str, province: str = "da-nang") -> int:
    with db.session() as session:
        provider = add_provider(session, name=f"TT {name}", province_code=province)
        draft = EnterpriseDraft(name, "wood", province, 30, date(2026, 10, 1))
        made = add_enterprise(session, provider_id=provider.id, draft=draft, today=date(2027, 1, 1))
        assert made.id is not None
        return made.id


def people(
    db: Database, enterprise_id: int | None, role: Role, first: int, count: int
) -> list[Contact]:
    made = []
    with db.session() as session:
        for n in range(first, first + count):
            contact = Contact(
                telegram_user_id=n, chat_id=n, display_name=f"Person {n}", role=role,
                enterprise_id=enterprise_id, language="vi",
            )  # fmt: skip
            session.add(contact)
            session.flush()
            made.append(contact)
    return made


def worker_answers(safer: int, note: str) -> dict[str, object]:
    return {
        "safer": safer,
        "less_tiring": safer,
        "helpful_change": note,
        "remaining_problem": None,
        "ideas_asked": "yes" if safer > 2 else "no",
        "training_this_year": "no",
    }


def answer_all(db: Database, contact: Contact, subject: surveys.Subject, given: dict[str, object],
               now: datetime) -> None:  # fmt: skip
    """One person's whole questionnaire, one transaction per answer, as a channel drives it."""
    with db.session() as session:
        if subject.round_id is not None:
            found = surveys.start(session, contact=contact, round_id=subject.round_id, now=now)
        else:
            assert subject.event_id is not None
            found = surveys.start_event(
                session, contact=contact, event_id=subject.event_id, now=now
            )
    while found.question is not None:
        value = given.get(found.question.id)
        with db.session() as session:
            if value is None:
                found = surveys.skip(
                    session, contact=contact, subject=subject, question_id=found.question.id,
                    now=now,
                )  # fmt: skip
            else:
                found = surveys.answer(
                    session, contact=contact, subject=subject, question_id=found.question.id,
                    value=value, now=now,
                )  # fmt: skip
    assert found.just_completed


def release(db: Database, now: datetime) -> dict[str, int]:
    with db.session() as session:
        return surveys.release(session, now=now)


def open_round(db: Database, enterprise_id: int, now: datetime) -> int:
    with db.session() as session:
        found = surveys.open_round(session, enterprise_id=enterprise_id, now=now)
        assert found.id is not None
        return found.id


# -- figures ---------------------------------------------------------------------------------


def worker_figures(db: Database, enterprises: list[int]) -> list[tuple[Any, ...]]:
    """Every worker figure every role can ask for now: staff and coordinators' summaries over
    each period and scope (from the rollups and from the raw rows), and each employer's
    /progress. Each as (respondents, sum of 'safer', how many said workers were asked)."""
    found = []
    with db.session() as session:
        first = session.get(Enterprise, enterprises[0])
        assert first is not None
        scopes = [Scope(), Scope(province_code="da-nang"), Scope(provider_id=first.provider_id)]
        for text, scope, rollups in itertools.product(PERIODS, scopes, (True, False)):
            summary = build_summary(
                session, period=parse_period(text), scope=scope, tz=TZ, today=date(2027, 12, 1),
                rollups=rollups,
            )  # fmt: skip
            found.append(_figure(summary.workers))
        for enterprise_id, text in itertools.product(enterprises, PERIODS):
            progress = enterprise_progress(
                session, enterprise_id=enterprise_id, period=parse_period(text), tz=TZ
            )
            found.append(_figure(progress.workers))
    return found


def _figure(workers: Any) -> tuple[int, int, int]:
    safer = workers.safer
    total = sum(v * c for v, c in zip(range(1, 6), safer.distribution, strict=True))
    asked = workers.ideas_asked.yes or 0
    return workers.respondents, total, asked


def assert_nothing_smaller_than_a_group(history: list[tuple[Any, ...]]) -> None:
    """Any two figures ever shown, whatever their period, scope, reader or time, differ by no
    worker or by at least MIN_GROUP of them, and when by none, in nothing at all."""
    for (n1, s1, a1), (n2, s2, a2) in itertools.combinations(set(history), 2):
        gap = abs(n1 - n2)
        assert gap == 0 or gap >= surveys.MIN_GROUP, ((n1, s1, a1), (n2, s2, a2))
        if gap == 0:
            assert (s1, a1) == (s2, a2), ((n1, s1, a1), (n2, s2, a2))


def test_overlapping_periods_scopes_and_progress_reveal_no_lone_worker(database: Database) -> None:
    """Issue 14: round 1 had one worker, round 2 three; 'this year' minus 'this quarter' gave
    the lone worker's answers, and /progress before and after a worker answered gave
    4 x 3.75 - 3 x 4.67 = 1.0."""
    hoa_phat = enterprise(database, "Hòa Phát")
    tan_tien = enterprise(database, "Tân Tiến", province="can-tho")
    workers = people(database, hoa_phat, Role.WORKER, 100, 5)
    others = people(database, tan_tien, Role.WORKER, 200, 2)
    history: list[tuple[Any, ...]] = []

    def look() -> None:
        history.extend(worker_figures(database, [hoa_phat, tan_tien]))

    first = open_round(database, hoa_phat, Q1)
    answer_all(database, workers[0], surveys.Subject(round_id=first), worker_answers(1, "w0"), Q1)
    look()
    second = open_round(database, hoa_phat, Q2)  # closes round 1, with its lone worker
    release(database, Q2)
    look()
    for n, worker in enumerate(workers[1:4], start=1):
        answer_all(
            database,
            worker,
            surveys.Subject(round_id=second),
            worker_answers(5 - n % 2, f"w{n}"),
            Q2,
        )
        look()
        release(database, Q2)
        look()
    # Another enterprise's two workers: a unit that closes too small, in another scope.
    elsewhere = open_round(database, tan_tien, Q2)
    for n, worker in enumerate(others):
        answer_all(
            database, worker, surveys.Subject(round_id=elsewhere), worker_answers(2, f"o{n}"), Q2
        )
        look()
    # /progress before and after a fourth worker: the round is still open, nothing moves.
    answer_all(database, workers[4], surveys.Subject(round_id=second), worker_answers(4, "w4"), Q2)
    look()
    with database.session() as session:
        surveys.close_round(session, second, now=Q2 + timedelta(days=60))
        surveys.close_round(session, elsewhere, now=Q2 + timedelta(days=60))
    look()  # closed, not yet released: still nothing
    assert release(database, Q2) == {"released": 4, "dropped_small": 2}
    look()
    assert_nothing_smaller_than_a_group(history)
    # What can be seen at all: round 2's four workers, together, and never round 1's one.
    assert {n for n, _, _ in history} == {0, 4}
    with database.session() as session:
        year = build_summary(session, period=parse_period("2027"), scope=Scope(), tz=TZ,
                             today=date(2027, 12, 1))  # fmt: skip
        quarter = build_summary(session, period=parse_period("2027-Q2"), scope=Scope(), tz=TZ,
                                today=date(2027, 12, 1))  # fmt: skip
        assert year.workers == quarter.workers
        assert year.workers.respondents == 4 and year.workers.safer.mean == 4.25


def test_the_event_card_moves_only_when_the_feedback_closes(database: Database) -> None:
    from models.tables import Provider

    with database.session() as session:
        provider = Provider(name="TT", province_code="da-nang")
        session.add(provider)
        session.flush()
        event = Event(provider_id=provider.id, title="Hội thảo", kind="workshop",
                      starts_at=Q1, place="Hội trường", checkin_code="ws2027")  # fmt: skip
        session.add(event)
        session.flush()
        event_id = event.id
        assert event_id is not None
    staff = people(database, None, Role.STAFF, 10, 1)[0]
    workshop = enterprise(database, "Hòa Phát")
    workers = people(database, workshop, Role.WORKER, 300, 4)
    employers = people(database, workshop, Role.EMPLOYER, 400, 3)
    with database.session() as session:
        staff.provider_id = provider.id
        session.add(staff)
        for person in workers + employers:
            session.add(Rsvp(event_id=event_id, contact_id=person.id, attended_at=Q1))
    subject = surveys.Subject(event_id=event_id)
    after = Q1 + timedelta(hours=5)
    cards = []

    def card() -> tuple[Any, ...]:
        with database.session() as session:
            seen = event_reports.reactions(session, event_id)
            figures = event_reports.counts(session, [event_id])[event_id]
        cards.append(seen)
        return (
            seen.responses,
            seen.rating_count,
            sum(k * v for k, v in seen.ratings.items()),
            figures.reactions,
        )

    reaction = {"most_useful": "Phần kệ", "next_steps": "Làm kệ", "suggestions": None}
    for n, person in enumerate(employers):
        answer_all(database, person, subject, {**reaction, "rating": 3 + n % 2}, after)
    named = card()
    assert named[:2] == (3, 3)  # named reactions are the enterprise's voice, shown as they come
    seen = [named]
    for n, worker in enumerate(workers):
        answer_all(database, worker, subject, {**reaction, "rating": 1 + n}, after)
        release(database, after)
        seen.append(card())
    # Four workers answered one by one: the card counted them, and showed none of their answers.
    assert [s[3] for s in seen] == [3, 4, 5, 6, 7]
    assert {s[:3] for s in seen} == {named[:3]}
    assert cards[-1].awaiting == 4
    with database.session() as session:
        row = session.get(Event, event_id)
        assert row is not None
        closes = surveys.reaction_closes_at(row)
    late = people(database, workshop, Role.WORKER, 500, 1)[0]
    with database.session() as session:
        session.add(Rsvp(event_id=event_id, contact_id=late.id, attended_at=Q1))
    with database.session() as session, pytest.raises(surveys.SurveyError) as refused:
        surveys.start_event(session, contact=late, event_id=event_id, now=closes)
    assert refused.value.code == "reaction_closed"
    assert release(database, closes) == {"released": 4}
    final = card()
    # All four at once: the difference is a group of four, never one worker.
    assert final[0] - named[0] == 4 and final[1] - named[1] == 4
    assert final[2] - named[2] == 1 + 2 + 3 + 4
    assert cards[-1].awaiting == 0


# -- the database ----------------------------------------------------------------------------


def _xmin_links(db: Database) -> list[tuple[str, str, int]]:
    """(table, anonymous table, rows) where a row that names a person (any table with a
    contact; of the responses, the employers') was written by the transaction that wrote an
    anonymous row. PostgreSQL only: SQLite has no transaction ids."""
    named = [
        table.name
        for table in SQLModel.metadata.sorted_tables
        if table.name == "contact"
        or any(fk.column.table.name == "contact" for fk in table.foreign_keys)
    ]
    assert "surveyparticipation" in named and "survey_pending" in named
    found = []
    with db.engine.connect() as connection:
        for table in named:
            naming = " WHERE t.contact_id IS NOT NULL" if table == "surveyresponse" else ""
            for anonymous in ("surveyresponse", "surveyanswer"):
                linked = connection.exec_driver_sql(
                    f"SELECT count(*) FROM {table} t JOIN {anonymous} a"
                    f" ON t.xmin::text = a.xmin::text{naming}"
                ).scalar_one()
                if linked:
                    found.append((table, anonymous, linked))
    return found


def _complete_flow(db: Database, count: int, caplog: pytest.LogCaptureFixture) -> tuple[
    list[Contact], int, dict[str, int]
]:  # fmt: skip
    """`count` workers answer a round, one after another, each answer its own transaction; the
    release job writes them; the round closes and they are released. Returns the workers,
    the round, and each worker's note (their unique answer) -> position in completion order."""
    place = enterprise(db, "Hòa Phát")
    workers = people(db, place, Role.WORKER, 1000, count)
    round_id = open_round(db, place, Q1)
    order = {}
    caplog.set_level(logging.DEBUG)
    for n, worker in enumerate(workers):
        note = f"note-{n:03d}"
        order[note] = n
        answer_all(db, worker, surveys.Subject(round_id=round_id), worker_answers(1 + n % 5, note),
                   Q1 + timedelta(minutes=n))  # fmt: skip
        if n == count // 2:
            assert release(db, Q1) == {"written": n + 1}  # a batch while the round is open
            if db.engine.dialect.name == "postgresql":
                assert _xmin_links(db) == []
    with db.session() as session:
        surveys.close_round(session, round_id, now=Q2)
    assert release(db, Q2) == {"released": count}
    return workers, round_id, order


def _notes_in(db: Database, order_by: str, table: str = "surveyresponse") -> list[str]:
    """The workers' notes in the order of `order_by` over the anonymous rows."""
    with db.engine.connect() as connection:
        if table == "surveyresponse":
            statement = (
                "SELECT a.value_text FROM surveyresponse r JOIN surveyanswer a"
                " ON a.response_id = r.id AND a.question_id = 'helpful_change'"
                f" ORDER BY {order_by}"
            )
        else:
            statement = (
                "SELECT value_text FROM surveyanswer WHERE question_id = 'helpful_change'"
                f" ORDER BY {order_by}"
            )
        return [row[0] for row in connection.exec_driver_sql(statement)]


def test_nothing_in_the_database_links_an_answer_to_a_person(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    count = 24
    workers, _round_id, order = _complete_flow(database, count, caplog)
    completion = sorted(order, key=order.__getitem__)
    postgres = database.engine.dialect.name == "postgresql"
    # Physical and id order say nothing about the order in which people finished (with 24
    # people, a shuffle lands on either order by chance once in 10^23).
    physical = "r.ctid" if postgres else "r.rowid"
    for orderings in (
        _notes_in(database, physical),
        _notes_in(database, "r.id"),
        _notes_in(database, "ctid" if postgres else "rowid", table="surveyanswer"),
        _notes_in(database, "id", table="surveyanswer"),
    ):
        assert sorted(orderings) == completion
        assert orderings not in (completion, completion[::-1])
    with database.engine.connect() as connection:
        # No times at all on anonymous rows.
        assert (
            connection.exec_driver_sql(
                "SELECT count(*) FROM surveyresponse WHERE started_at IS NOT NULL"
                " OR completed_at IS NOT NULL OR contact_id IS NOT NULL"
            ).scalar_one()
            == 0
        )
        assert (
            connection.exec_driver_sql(
                "SELECT count(*) FROM surveyanswer WHERE answered_at IS NOT NULL"
            ).scalar_one()
            == 0
        )
        # Ids are drawn at random, never from a sequence.
        ids = [r for (r,) in connection.exec_driver_sql("SELECT id FROM surveyresponse")]
        ids += [r for (r,) in connection.exec_driver_sql("SELECT id FROM surveyanswer")]
        assert min(ids) >= surveys.RANDOM_ID_FLOOR
        # No personal data waits any more.
        assert connection.exec_driver_sql("SELECT count(*) FROM survey_pending").scalar_one() == 0
        if postgres:
            for table in ("surveyresponse", "surveyanswer"):
                sequence = connection.exec_driver_sql(
                    f"SELECT pg_get_serial_sequence('{table}', 'id')"
                ).scalar_one()
                if sequence is not None:
                    called = connection.exec_driver_sql(
                        f"SELECT is_called FROM {sequence}"
                    ).scalar_one()
                    assert called is False, f"{sequence} was used"
            # No row that names a person was written by a transaction that wrote an
            # anonymous row.
            assert _xmin_links(database) == []
            # The attack of issue 14, verbatim: ratings by name through xmin.
            assert (
                connection.exec_driver_sql(
                    "SELECT c.display_name, a.value_int FROM contact c"
                    " JOIN surveyparticipation p ON p.contact_id = c.id"
                    " JOIN surveyresponse r ON r.xmin::text = p.xmin::text"
                    " JOIN surveyanswer a ON a.response_id = r.id AND a.question_id = 'safer'"
                ).all()
                == []
            )
            # Every anonymous row of the unit was written by one transaction: no batch or
            # transaction boundary inside it matches a participation's completion.
            xids = connection.exec_driver_sql(
                "SELECT DISTINCT xmin::text FROM surveyresponse"
            ).all()
            assert len(xids) == 1
    # No log line carries an answer.
    for record in caplog.records:
        message = record.getMessage()
        assert "note-" not in message, message
    del workers
