"""The scheduler: slots and catch-up, one run per slot across processes, the JobQueue wiring,
`oshbot jobs run/list`, nudges and digests. `now` moves; nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from models.db import Database
from models.outbox import Message, enqueue
from models.tables import Improvement, JobRun, Outbox, OutboxStatus, ReviewStatus, Role
from scheduler import jobs
from scheduler.config import SchedulerConfig
from scheduler.runner import Cadence, run_due, schedule, status
from tests.conftest import World
from tests.factories import TZ, add_enterprise, add_person, local

CONFIG = SchedulerConfig()


def test_cadences_find_the_last_and_next_slot() -> None:
    now = local(2027, 3, 15, 9, 30)
    monthly = Cadence("month", hour=9, day=1)
    assert monthly.last(now, CONFIG) == datetime(2027, 3, 1, 9, tzinfo=TZ)
    assert monthly.next(now, CONFIG) == datetime(2027, 4, 1, 9, tzinfo=TZ)
    assert monthly.last(local(2027, 3, 1, 8, 59), CONFIG) == datetime(2027, 2, 1, 9, tzinfo=TZ)
    weekly = Cadence("week", hour=8)  # Mondays
    assert weekly.last(now, CONFIG) == datetime(2027, 3, 15, 8, tzinfo=TZ)
    assert weekly.next(now, CONFIG) == datetime(2027, 3, 22, 8, tzinfo=TZ)
    hourly = Cadence("hour", minute=5)
    assert hourly.last(now, CONFIG) == datetime(2027, 3, 15, 9, 5, tzinfo=TZ)
    assert hourly.next(local(2027, 3, 15, 9, 4), CONFIG) == datetime(2027, 3, 15, 9, 5, tzinfo=TZ)
    daily = Cadence("day", hour=10)
    assert daily.last(now, CONFIG) == datetime(2027, 3, 14, 10, tzinfo=TZ)
    assert (
        Cadence("month", hour=9, day=1).next(local(2027, 12, 20), CONFIG).date().isoformat()
        == "2028-01-01"
    )


def names(ran: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(r.job for r in ran)


def test_each_slot_runs_once_and_missed_work_is_caught_up_once(database: Database) -> None:
    start = local(2027, 3, 1, 10, 6)  # Monday 1 March: every cadence has a slot just behind
    first = run_due(database, now=start, config=CONFIG)
    assert {"visits", "tips", "digest-weekly", "digest-monthly", "nudges"} <= set(names(first))
    # A second process at the same moment finds nothing to do.
    assert run_due(database, now=start + timedelta(minutes=1), config=CONFIG) == []
    # Down from Monday until the next Friday: each job catches up once, tips wait for April.
    back = local(2027, 3, 12, 15, 0)
    caught_up = names(run_due(database, now=back, config=CONFIG))
    assert "visits" in caught_up and "nudges" in caught_up and "digest-weekly" in caught_up
    assert "tips" not in caught_up and "digest-monthly" not in caught_up
    assert run_due(database, now=back, config=CONFIG) == []
    after = {row.job.name: row for row in status(database, now=back, config=CONFIG)}
    assert after["tips"].next_due == datetime(2027, 4, 1, 9, tzinfo=TZ)
    assert after["visits"].next_due == datetime(2027, 3, 12, 15, 5, tzinfo=TZ)


def test_a_job_seen_for_the_first_time_long_after_its_slot_waits(database: Database) -> None:
    ran = names(run_due(database, now=local(2027, 3, 15, 10, 30), config=CONFIG))
    assert "tips" not in ran and "visits" in ran and "nudges" in ran
    assert "tips" in names(run_due(database, now=local(2027, 4, 1, 9, 1), config=CONFIG))


def test_a_failing_job_is_retried_once_stale_and_does_not_stop_the_others(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session, now, *, config):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(jobs, "nudges_job", broken)
    now = local(2027, 3, 1, 10, 6)
    assert "nudges" not in names(run_due(database, now=now, config=CONFIG))
    monkeypatch.undo()
    only = {"nudges"}
    assert run_due(database, now=now + timedelta(minutes=5), config=CONFIG, only=only) == []
    later = now + timedelta(minutes=11)
    assert names(run_due(database, now=later, config=CONFIG, only=only)) == ["nudges"]
    with database.session() as session:
        assert session.get(JobRun, "nudges").finished_at is not None  # type: ignore[union-attr]


async def test_the_job_queue_has_fixed_ids_and_deliberate_misfire_handling(world: World) -> None:
    job_queue = world.application.job_queue
    assert job_queue is not None
    by_id = {job.job.id: job.job for job in job_queue.jobs()}
    for job in schedule(CONFIG):
        scheduled = by_id[f"oshbot:{job.name}"]
        assert scheduled.coalesce is True
        assert scheduled.misfire_grace_time == int(job.cadence.grace.total_seconds())
        assert scheduled.misfire_grace_time > 1
    assert by_id["oshbot:outbox"].misfire_grace_time >= 10
    assert "oshbot:catch-up" in by_id


def _registered(jobs: list[Any]) -> dict[str, tuple[object, ...]]:
    """What APScheduler holds of each of oshbot's jobs (PTB adds its own), whatever runtime
    registered it: its trigger (a cron's fields, an interval's length, a date's kind) and its
    misfire handling."""

    def trigger(found: Any) -> object:
        if isinstance(found, IntervalTrigger):
            return ("interval", found.interval)
        if isinstance(found, DateTrigger):
            return ("date",)
        return str(found), str(found.timezone)

    return {
        job.id: (trigger(job.trigger), job.misfire_grace_time, job.coalesce, job.max_instances)
        for job in jobs
        if job.id.startswith("oshbot:")
    }


async def test_zalo_alone_registers_exactly_the_telegram_bot_s_triggers(
    world: World, tmp_path: Path
) -> None:
    """One timetable (scheduler/timetable.py) for both runtimes: same ids, cadences, grace,
    catch-up and outbox tick, so that oshbot on Zalo alone cannot drift from the Telegram bot."""
    from bot.alone import Alone

    job_queue = world.application.job_queue
    assert job_queue is not None
    telegram = _registered([job.job for job in job_queue.jobs()])
    settings = world.settings.model_copy(
        update={"token": None, "zalo_token": "1234567890:zalo-sandbox-token",
                "zalo_api_base_url": "http://127.0.0.1:9/bot"}
    )  # fmt: skip
    alone = Alone(settings, world.database)
    try:
        alone.plan()
        zalo = _registered(alone.scheduler.get_jobs())
    finally:
        await alone.channel.client.aclose()
    assert zalo == telegram
    assert set(telegram) == {
        *(f"oshbot:{job.name}" for job in schedule(CONFIG)), "oshbot:catch-up", "oshbot:outbox",
    }  # fmt: skip
    assert telegram["oshbot:catch-up"][1] is None  # runs however late the scheduler starts


def test_oshbot_jobs_run_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OSHBOT_DATABASE_URL", url)
    monkeypatch.delenv("OSHBOT_TOKEN", raising=False)
    runner = CliRunner()
    listed = runner.invoke(cli, ["jobs", "list", "--now", "2027-03-01T10:06"])
    assert listed.exit_code == 0, listed.output
    assert "tips" in listed.output and "monthly on day 1 at 09:00" in listed.output
    ran = runner.invoke(cli, ["jobs", "run", "--now", "2027-03-01T10:06"])
    assert ran.exit_code == 0, ran.output
    assert "tips:" in ran.output and "stay in the outbox" in ran.output
    again = runner.invoke(cli, ["jobs", "run", "--now", "2027-03-01T10:07"])
    assert "tips:" not in again.output
    listed = runner.invoke(cli, ["jobs", "list", "--now", "2027-03-01T10:07"])
    assert "2027-04-01 09:00" in listed.output
    bad = runner.invoke(cli, ["jobs", "run", "--now", "yesterday"])
    assert bad.exit_code == 1


async def test_survey_reminders_after_three_and_seven_days_and_never_more(world: World) -> None:
    from models import surveys

    enterprise = add_enterprise(world)
    employer = add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id)
    stopped = add_person(world, 302, Role.WORKER, enterprise_id=enterprise.id)
    with world.database.session() as session:
        survey_round = surveys.open_round(session, enterprise_id=enterprise.id, now=world.clock())  # type: ignore[arg-type]
        jobs.survey_invitations(session, survey_round, now=world.clock())
    await world.drain()
    with world.database.session() as session:
        row = session.get(type(stopped), stopped.id)
        row.opted_out_at = world.clock()  # type: ignore[union-attr]
        session.add(row)

    def nudge_count(days: float) -> int:
        world.clock.now = START + timedelta(days=days)
        with world.database.session() as session:
            return jobs.nudges_job(session, world.clock(), config=CONFIG)["survey"]

    assert nudge_count(2) == 0
    assert nudge_count(3) == 1
    assert nudge_count(4) == 0
    assert nudge_count(7) == 1
    assert nudge_count(10) == 0
    assert nudge_count(20) == 0
    await world.drain()
    texts = world.user(301).texts()
    assert len(texts) == 3  # the invitation and two reminders
    assert world.user(302).texts()[1:] == []
    assert employer.id is not None


START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


async def test_an_abandoned_report_draft_is_reminded_once(world: World) -> None:
    enterprise = add_enterprise(world)
    employer = add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id)
    with world.database.session() as session:
        session.add(
            Improvement(
                enterprise_id=enterprise.id,  # type: ignore[arg-type]
                reporter_id=employer.id,
                area_code="storage",
                updated_at=world.clock(),
            )
        )
    with world.database.session() as session:
        assert jobs.nudges_job(session, world.clock(), config=CONFIG)["draft"] == 0
    world.clock.advance(days=1, minutes=1)
    for expected in (1, 0):
        with world.database.session() as session:
            assert jobs.nudges_job(session, world.clock(), config=CONFIG)["draft"] == expected
        world.clock.advance(days=1)
    await world.drain()
    assert "/report" in world.user(301).last_text()


async def test_weekly_and_monthly_digests(world: World) -> None:
    enterprise = add_enterprise(world)
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, language="en")
    add_person(world, 101, Role.COORDINATOR, language="en")
    with world.database.session() as session:
        session.add(
            Improvement(
                enterprise_id=enterprise.id,  # type: ignore[arg-type]
                area_code="storage",
                status=ReviewStatus.SUBMITTED,
                submitted_at=world.clock(),
            )
        )
        jobs.visits_job(session, world.clock(), config=CONFIG)  # the 1-month visit is overdue
        weekly = jobs.weekly_digest_job(session, world.clock(), config=CONFIG)
        monthly = jobs.monthly_digest_job(session, world.clock(), config=CONFIG)
        again = jobs.weekly_digest_job(session, world.clock(), config=CONFIG)
    assert (weekly["queued"], monthly["queued"], again["queued"]) == (1, 1, 0)
    await world.drain()
    staff_text = world.user(201).last_text()
    assert "Reports waiting for your review: 1" in staff_text
    assert "Overdue visits (due, no date agreed): 1" in staff_text
    assert "Trung tâm ATVSLĐ Đà Nẵng: 1 reports to review" in world.user(101).last_text()


async def test_an_unsent_key_is_sent_after_a_crash_and_never_twice(world: World) -> None:
    contact = add_person(world, 301, Role.EMPLOYER)
    with world.database.session() as session:
        enqueue(session, key="k:1", contact=contact, kind="tip", message=Message("Một lần"))
        enqueue(session, key="k:1", contact=contact, kind="tip", message=Message("Hai lần"))
    assert (await world.drain()).sent == 1
    assert (await world.drain()).sent == 0
    with world.database.session() as session:
        assert session.exec(select(Outbox.status)).all() == [OutboxStatus.SENT]
    assert world.user(301).texts() == ["Một lần"]


def test_the_domain_imports_neither_telegram_nor_handlers() -> None:
    """The scheduler, and every journey with the menus it routes by: a second channel's driver
    reuses them without python-telegram-bot."""
    import subprocess
    import sys

    code = (
        "import sys, scheduler.runner, scheduler.jobs, models.notices.visits, models.visits, "
        "models.tips, models.journeys.registry, models.menus; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('telegram', 'handlers')))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
