"""Monthly tips: a year without repeats, the least-reported area first, good practices as tips,
who gets none, and a restart in the middle of a run."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from models import tips
from models.tables import (
    Contact,
    Improvement,
    Outbox,
    ReviewStatus,
    Role,
    ShareConsent,
    Tip,
    TipDelivery,
)
from scheduler import jobs
from scheduler.config import SchedulerConfig
from scheduler.runner import STALE_RUN, run_due
from tests.conftest import World
from tests.factories import add_enterprise, add_person, local

CONFIG = SchedulerConfig()


def run_tips(world: World, **kwargs: object) -> dict[str, int]:
    with world.database.session() as session:
        return jobs.tips_job(session, world.clock(), config=CONFIG, **kwargs)  # type: ignore[arg-type]


def deliveries(world: World) -> list[tuple[int, str, str]]:
    """(contact, period, tip code) of every delivery."""
    with world.database.session() as session:
        return list(
            session.exec(
                select(TipDelivery.contact_id, TipDelivery.period, Tip.code).join(
                    Tip, Tip.id == TipDelivery.tip_id
                )
            ).all()
        )


def report(world: World, enterprise_id: int, area: str, **extra: object) -> Improvement:
    with world.database.session() as session:
        values: dict[str, object] = {
            "status": ReviewStatus.SUBMITTED,
            "description": "Làm giá kệ nhiều tầng cho gỗ",
            **extra,
        }
        improvement = Improvement(
            enterprise_id=enterprise_id, area_code=area, submitted_at=world.clock(), **values
        )
        session.add(improvement)
        session.flush()
        return improvement


async def test_a_year_of_tips_without_repeats(world: World) -> None:
    enterprise = add_enterprise(world)
    employer = add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id)
    worker = add_person(world, 302, Role.WORKER, enterprise_id=enterprise.id, language="en")
    for month in range(12):
        world.clock.now = local(2027 + (2 + month) // 12, (2 + month) % 12 + 1, 1, 9)
        assert run_tips(world)["queued"] == 2
        assert run_tips(world)["queued"] == 0  # once a month, however often it runs
        await world.drain()
    rows = deliveries(world)
    for contact in (employer, worker):
        codes = [code for who, _, code in rows if who == contact.id]
        assert len(codes) == 12 and len(set(codes)) == 12
        periods = [period for who, period, _ in rows if who == contact.id]
        assert len(set(periods)) == 12
    texts = world.user(302).texts()
    assert len(texts) == 12 and all(t.startswith("💡 Tip of the month") for t in texts)
    assert world.user(301).texts()[0].startswith("💡")
    # Every tip suits the wood sector (general or tagged for wood).
    library = {tip.code: tip for tip in tips.content.tips()}
    for _, _, code in rows:
        assert "all" in library[code].sectors or "wood" in library[code].sectors


async def test_the_area_reported_least_comes_first(world: World) -> None:
    enterprise = add_enterprise(world)
    contact = add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id)
    areas = ["storage", "workstation", "machine", "environment", "welfare"]
    for area in areas:
        report(world, enterprise.id, area)  # type: ignore[arg-type]
    run_tips(world)
    [(who, _, code)] = deliveries(world)
    assert who == contact.id
    assert tips.content.tip(code).area == "organisation"  # type: ignore[union-attr]


async def test_shared_good_practices_become_tips(world: World) -> None:
    enterprise = add_enterprise(world)
    neighbour = add_enterprise(world, provider_id=enterprise.provider_id, name="Mộc Thành Công")
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, language="en")
    shared = report(
        world,
        neighbour.id,  # type: ignore[arg-type]
        "storage",
        status=ReviewStatus.GOOD_PRACTICE,
        share_consent=ShareConsent.ANONYMOUS,
        cost_vnd=300_000,
    )
    report(world, neighbour.id, "machine", status=ReviewStatus.GOOD_PRACTICE)  # type: ignore[arg-type]
    run_tips(world)
    with world.database.session() as session:
        gp = session.exec(select(Tip).where(Tip.improvement_id.is_not(None))).all()  # type: ignore[union-attr]
    assert [t.code for t in gp] == [f"gp-{shared.id}"]  # the one without consent stays private
    assert gp[0].title_en == "An enterprise in Da Nang did this"
    assert "300,000 VND" in gp[0].body_en and "300.000 đ" in gp[0].body_vi
    [(_, _, code)] = deliveries(world)
    assert code == f"gp-{shared.id}"  # others' good practice first, in an unreported area
    await world.drain()
    assert "An enterprise in Da Nang did this" in world.user(301).last_text()


async def test_no_tips_without_consent_after_stop_or_when_unreachable(world: World) -> None:
    enterprise = add_enterprise(world)
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, tips=False)
    stopped = add_person(world, 302, Role.WORKER, enterprise_id=enterprise.id)
    blocked = add_person(world, 303, Role.WORKER, enterprise_id=enterprise.id)
    add_person(world, 304, Role.STAFF, provider_id=enterprise.provider_id)
    served = add_person(world, 305, Role.WORKER, enterprise_id=enterprise.id)
    with world.database.session() as session:
        for contact, field in ((stopped, "opted_out_at"), (blocked, "unreachable_at")):
            row = session.get(Contact, contact.id)
            setattr(row, field, world.clock())
            session.add(row)
    assert run_tips(world)["queued"] == 1
    assert [who for who, _, _ in deliveries(world)] == [served.id]


async def test_a_blocked_contact_is_skipped_from_then_on(world: World) -> None:
    enterprise = add_enterprise(world)
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id)
    add_person(world, 302, Role.WORKER, enterprise_id=enterprise.id)
    world.sandbox.users[302].block()
    world.sandbox.take_updates()  # the bot does not hear of it: the send finds out
    run_tips(world)
    report_ = await world.drain()
    assert report_.sent == 1 and report_.skipped == 1
    world.clock.now = local(2027, 4, 1, 9)
    assert run_tips(world)["queued"] == 1  # only the employer


async def test_a_restart_in_the_middle_of_a_tip_run_sends_each_contact_one_tip(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    enterprise = add_enterprise(world)
    people = [
        add_person(world, 300 + n, Role.WORKER, enterprise_id=enterprise.id) for n in range(7)
    ]

    real = jobs.tips_job

    def die(_: int) -> None:
        raise RuntimeError("the process is killed after the first batch")

    def crashing(session, now, *, config):  # type: ignore[no-untyped-def]
        return real(session, now, config=config, batch=3, after_batch=die)

    monkeypatch.setattr(jobs, "tips_job", crashing)
    ran = run_due(world.database, now=world.clock(), config=CONFIG, only={"tips"})
    assert ran == []  # the run died
    assert len(deliveries(world)) == 3  # the first batch was committed

    # The process comes back: the unfinished run is taken up again once it is stale.
    monkeypatch.setattr(jobs, "tips_job", real)
    assert run_due(world.database, now=world.clock(), config=CONFIG, only={"tips"}) == []
    world.clock.advance(seconds=STALE_RUN.total_seconds() + 60)
    [ran_again] = run_due(world.database, now=world.clock(), config=CONFIG, only={"tips"})
    assert ran_again.result["queued"] == 4
    per_contact = Counter(who for who, _, _ in deliveries(world))
    assert per_contact == Counter({p.id: 1 for p in people})
    with world.database.session() as session:
        keys = session.exec(select(Outbox.key).where(Outbox.kind == "tip")).all()
    assert sorted(keys) == sorted(f"tip:{p.id}:2027-03" for p in people)
    await world.drain()
    assert all(len(world.user(300 + n).texts()) == 1 for n in range(7))
    assert timedelta(0) == timedelta(0)


def test_the_library_syncs_by_code(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        assert tips.sync_library(session) >= 24
        assert tips.sync_library(session) == 0
        count = len(session.exec(select(Tip)).all())
    assert count == len(tips.content.tips())
