"""Results pushed back when a survey round closes (issue 16): each employer gets one card with
the enterprise's own figures, its workers' released answers and its place among peers, through
the outbox and the real bot; nothing while workers' answers wait to be settled, nothing twice,
nothing to someone who stopped messages."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import select

from models import surveys
from models.tables import (
    Contact,
    Improvement,
    Outbox,
    ReviewStatus,
    Role,
    ShareConsent,
    SurveyPending,
)
from scheduler import results
from scheduler.config import SchedulerConfig
from scheduler.runner import run_due
from tests.conftest import World
from tests.factories import add_enterprise, add_person, local

CONFIG = SchedulerConfig()


def _worker_answers(world: World, round_id: int, workers: list[Contact], safer: int) -> None:
    with world.database.session() as session:
        for worker in workers:
            session.add(
                SurveyPending(
                    contact_id=worker.id,
                    round_id=round_id,
                    questionnaire="worker",
                    anonymous=True,
                    key=secrets.token_hex(8),
                    answers={"safer": safer},
                    complete=True,
                )
            )


async def test_an_employer_gets_the_round_results_once_after_the_answers_are_settled(
    world: World,
) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    employer = add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id)
    english = add_person(world, 302, Role.EMPLOYER, enterprise_id=enterprise.id, language="en")
    stopped = add_person(world, 303, Role.EMPLOYER, enterprise_id=enterprise.id)
    workers = [
        add_person(world, 310 + n, Role.WORKER, enterprise_id=enterprise.id) for n in range(3)
    ]
    opened = local(2027, 3, 1)
    with world.database.session() as session:
        survey_round = surveys.open_round(session, enterprise_id=enterprise.id, now=opened)
        round_id = survey_round.id
        assert round_id is not None
        row = session.get(Contact, stopped.id)
        assert row is not None
        row.opted_out_at = opened
        session.add(row)
    _worker_answers(world, round_id, workers, safer=4)
    closed = local(2027, 3, 20, 10)
    with world.database.session() as session:
        surveys.close_round(session, round_id, now=closed)

    # The workers' questionnaires still wait to be settled: no card yet.
    with world.database.session() as session:
        assert results.results_job(session, closed, config=CONFIG) == {"cards": 0, "waiting": 1}
    with world.database.session() as session:
        surveys.release(session, now=closed + timedelta(minutes=20))
    # Through the scheduler, as the bot and `oshbot jobs run` run it.
    ran = run_due(world.database, now=local(2027, 3, 20, 10, 36), config=CONFIG, only={"results"})
    assert [(r.job, r.result) for r in ran] == [("results", {"cards": 2, "waiting": 0})]
    with world.database.session() as session:
        assert results.results_job(session, closed + timedelta(hours=2), config=CONFIG) == {
            "cards": 0,
            "waiting": 0,
        }
        kinds = session.exec(select(Outbox.contact_id).where(Outbox.kind == results.KIND)).all()
        assert sorted(kinds) == sorted([employer.id, english.id])

    world.clock.now = local(2027, 3, 20, 11)
    await world.drain()
    card = world.user(301).texts()[-1]
    assert "Đợt theo dõi thứ 1 đã xong" in card
    assert enterprise.name in card
    assert "<b>" not in card and "&lt;" not in card
    assert "(3)" in card  # three workers' released answers are shown
    card_en = world.user(302).texts()[-1]
    assert card_en.startswith("✅ Follow-up round 1 is complete.")
    assert "Your workers (3) rate their work as safer: 4.0/5" in card_en
    assert world.user(303).texts() == []


async def test_no_card_for_a_round_closed_long_ago_or_still_open(world: World) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id)
    opened = local(2027, 3, 1)
    with world.database.session() as session:
        old = surveys.open_round(session, enterprise_id=enterprise.id, now=opened)
        assert old.id is not None
        surveys.close_round(session, old.id, now=opened + timedelta(days=1))
        surveys.open_round(session, enterprise_id=enterprise.id, now=opened + timedelta(days=2))
    later = opened + results.WINDOW + timedelta(days=2)
    with world.database.session() as session:
        assert results.results_job(session, later, config=CONFIG) == {"cards": 0, "waiting": 0}


async def test_each_quarter_the_province_hears_its_results_with_one_good_practice(
    world: World,
) -> None:
    enterprise = add_enterprise(world, province="da-nang")
    other = add_enterprise(world, name="Cơ khí Tân Tiến", province="can-tho")
    assert enterprise.id is not None and other.id is not None
    employer = add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id)
    worker = add_person(world, 302, Role.WORKER, enterprise_id=enterprise.id, language="en")
    add_person(world, 303, Role.WORKER, enterprise_id=enterprise.id, tips=False)
    add_person(world, 304, Role.EMPLOYER, enterprise_id=other.id)
    with world.database.session() as session:
        for day, area, status in (
            (3, "storage", ReviewStatus.VERIFIED),
            (4, "storage", ReviewStatus.SUBMITTED),
            (5, "machine", ReviewStatus.GOOD_PRACTICE),
        ):
            session.add(
                Improvement(
                    enterprise_id=enterprise.id,
                    reporter_id=employer.id,
                    area_code=area,
                    status=status,
                    description="Giá nhiều tầng <để> vật liệu không nằm dưới sàn",
                    submitted_at=local(2027, 2, day),
                    reviewed_at=local(2027, 2, day + 1),
                    share_consent=(
                        ShareConsent.NAMED if status == ReviewStatus.GOOD_PRACTICE else None
                    ),
                )
            )

    def run(now: datetime) -> dict[str, int]:
        with world.database.session() as session:
            return results.province_results_job(session, now, config=CONFIG)

    assert run(local(2027, 3, 2, 9)) == {"messages": 0, "provinces": 0}  # not after a quarter
    # Can Thơ reported nothing in the quarter: it hears nothing; the worker without the tips
    # consent neither.
    assert run(local(2027, 4, 2, 9)) == {"messages": 2, "provinces": 1}
    assert run(local(2027, 4, 2, 10)) == {"messages": 0, "provinces": 1}  # never twice
    world.clock.now = local(2027, 4, 2, 10)
    await world.drain()
    vi = world.user(301).texts()[-1]
    assert vi.startswith("📊 Đà Nẵng, quý 1/2027")
    assert "Số cải thiện đã làm: 3 (2 đã được xác nhận)" in vi and "Theo lĩnh vực kỹ thuật:" in vi
    en = world.user(302).texts()[-1]
    assert "Enterprises in the programme: 1. Improvements made: 3 (2 verified)." in en
    assert "• Storage & handling: 2\n• Machine safety: 1" in en
    assert "Giá nhiều tầng <để> vật liệu" in en  # the good practice, escaped on the way
    assert world.user(303).texts() == [] and world.user(304).texts() == []
    assert worker.id is not None
