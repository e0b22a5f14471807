"""When each job is due, and running what is due exactly once.

A job has a cadence (hourly, daily, weekly, monthly at a wall-clock time of the programme).
Its *slot* is the latest scheduled time not after `now`. The JobRun table keeps the last slot
each job claimed; a job is due when its current slot is newer than that, or when the run that
claimed it never finished (the process died) and has been silent for STALE_RUN.

Claiming is one conditional UPDATE, so two processes (the bot and a cron `oshbot jobs run`, or
two bots by mistake) cannot both run a slot. Catch-up after downtime is the same rule: whatever
slot passed while the bot was down is due once at start, however many slots were missed (a
month of downtime sends one month's tips, not thirty days of nudges). APScheduler (bot/app.py)
only decides *when to look*; the database decides *what to do*.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from models import events, surveys
from models.db import Database
from models.tables import JobRun
from scheduler import jobs, results
from scheduler.config import SchedulerConfig

log = logging.getLogger(__name__)

STALE_RUN = timedelta(minutes=10)


@dataclass(frozen=True)
class Cadence:
    every: str  # "hour", "day", "week", "month"
    minute: int = 0
    hour: int = 0
    weekday: int = 0  # Monday = 0 (weekly)
    day: int = 1  # of the month (monthly)

    def _at(self, day: date, config: SchedulerConfig) -> datetime:
        return datetime.combine(day, time(self.hour, self.minute), tzinfo=config.tz)

    def last(self, now: datetime, config: SchedulerConfig) -> datetime:
        """The latest scheduled time not after `now` (aware, in the programme's zone)."""
        local = now.astimezone(config.tz)
        if self.every == "hour":
            slot = local.replace(minute=self.minute, second=0, microsecond=0)
            return slot if slot <= local else slot - timedelta(hours=1)
        if self.every == "day":
            slot = self._at(local.date(), config)
            return slot if slot <= local else slot - timedelta(days=1)
        if self.every == "week":
            monday = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
            slot = self._at(monday, config)
            return slot if slot <= local else slot - timedelta(days=7)
        slot = self._at(local.date().replace(day=self.day), config)
        if slot > local:
            first = local.date().replace(day=1) - timedelta(days=1)
            slot = self._at(first.replace(day=self.day), config)
        return slot

    def next(self, now: datetime, config: SchedulerConfig) -> datetime:
        """The earliest scheduled time after `now`."""
        last = self.last(now, config)
        if self.every == "hour":
            return last + timedelta(hours=1)
        if self.every == "day":
            return last + timedelta(days=1)
        if self.every == "week":
            return last + timedelta(days=7)
        following = (last.date().replace(day=28) + timedelta(days=4)).replace(day=self.day)
        return self._at(following, config)

    @property
    def grace(self) -> timedelta:
        """How late APScheduler may still fire a missed trigger (catch-up covers the rest)."""
        return {
            "hour": timedelta(minutes=30),
            "day": timedelta(hours=6),
            "week": timedelta(days=1),
        }.get(self.every, timedelta(days=2))

    def cron(self) -> dict[str, int | str]:
        """APScheduler's CronTrigger fields for this cadence."""
        fields: dict[str, int | str] = {"minute": self.minute}
        if self.every != "hour":
            fields["hour"] = self.hour
        if self.every == "week":
            fields["day_of_week"] = self.weekday
        if self.every == "month":
            fields["day"] = self.day
        return fields

    def describe(self) -> str:
        at = f"{self.hour:02d}:{self.minute:02d}"
        if self.every == "hour":
            return f"hourly at :{self.minute:02d}"
        if self.every == "day":
            return f"daily at {at}"
        if self.every == "week":
            name = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self.weekday]
            return f"weekly on {name} at {at}"
        return f"monthly on day {self.day} at {at}"


@dataclass(frozen=True)
class Job:
    name: str
    cadence: Cadence
    function: Callable[..., dict[str, int]]
    about: str


def schedule(config: SchedulerConfig) -> list[Job]:
    """Every periodic job with its cadence; names are the fixed job ids."""
    return [
        Job("visits", Cadence("hour", minute=5), jobs.visits_job,
            "plan revisits; due-visit nudges, day-before reminders, outcome questions"),
        Job("nudges", Cadence("day", hour=10), jobs.nudges_job,
            "survey reminders (3 and 7 days), one reminder of an unfinished report"),
        Job("tips", Cadence("month", hour=config.tips_hour, day=config.tips_day), jobs.tips_job,
            "one new tip for each opted-in employer and worker"),
        Job("digest-weekly", Cadence("week", hour=config.digest_hour), jobs.weekly_digest_job,
            "staff: reports to review, visits this week, overdue visits"),
        Job("digest-monthly", Cadence("month", hour=config.digest_hour), jobs.monthly_digest_job,
            "coordinators: the same per provider"),
        Job("events", Cadence("hour", minute=10), events.events_job,
            "events: reminders a day and two hours before; reaction survey after"),
        Job("surveys", Cadence("hour", minute=20), surveys.release_job,
            "anonymous survey answers: written in batches of 3+, released when the round closes"),
        Job("results", Cadence("hour", minute=35), results.results_job,
            "each employer's results card when the enterprise's survey round has closed"),
        Job("province-results", Cadence("month", hour=9, day=2), results.province_results_job,
            "in January, April, July and October: the province's results of the last quarter"),
        Job("retention", Cadence("day", hour=3), jobs.retention_job,
            "delete raw texts and photos of people who left, after the retention period"),
        Job("publications", Cadence("day", hour=4, minute=30), jobs.publications_job,
            "rebuild the website and this month's newsletter from what is public today"),
    ]  # fmt: skip


def _claim(session: Session, job: Job, slot: datetime, now: datetime) -> bool:
    if session.get(JobRun, job.name) is None:
        # A job seen for the first time runs only if its slot has just passed: a bot installed
        # on the 15th sends its first tips on the next tips day, not at once.
        first = JobRun(name=job.name)
        if now - slot > job.cadence.grace:
            first.slot, first.started_at, first.finished_at = slot, now, now
            first.summary = "first seen: waiting for the next slot"
        try:
            with session.begin_nested():
                session.add(first)
        except sa.exc.IntegrityError:
            pass  # another process created it
    result = session.execute(
        sa.update(JobRun)
        .where(
            col(JobRun.name) == job.name,
            sa.or_(
                col(JobRun.slot).is_(None),
                col(JobRun.slot) < slot,
                sa.and_(
                    col(JobRun.slot) == slot,
                    col(JobRun.finished_at).is_(None),
                    col(JobRun.started_at) < now - STALE_RUN,
                ),
            ),
        )
        .values(slot=slot, started_at=now, finished_at=None, summary=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Ran:
    job: str
    slot: datetime
    result: dict[str, Any]


def run_job(
    database: Database, job: Job, *, now: datetime, config: SchedulerConfig, force: bool = False
) -> Ran | None:
    """Runs `job` if its current slot is unclaimed (or `force`); None when nothing was due."""
    slot = job.cadence.last(now, config)
    with database.session() as session:
        claimed = _claim(session, job, slot, now)
    if not claimed and not force:
        return None
    with database.session() as session:
        result = job.function(session, now, config=config)
    with database.session() as session:
        session.execute(
            sa.update(JobRun)
            .where(col(JobRun.name) == job.name)
            .values(finished_at=now, summary=str(result)[:500])
        )
    log.info("job %s (slot %s): %s", job.name, slot.isoformat(), result)
    return Ran(job.name, slot, result)


def run_due(
    database: Database,
    *,
    now: datetime,
    config: SchedulerConfig,
    only: set[str] | None = None,
) -> list[Ran]:
    """Every job whose slot is due, once. A failing job is logged and left unfinished (it is
    retried after STALE_RUN); the others still run."""
    done = []
    for job in schedule(config):
        if only is not None and job.name not in only:
            continue
        try:
            ran = run_job(database, job, now=now, config=config)
        except Exception:
            log.exception("job %s failed", job.name)
            continue
        if ran is not None:
            done.append(ran)
    return done


@dataclass(frozen=True)
class Status:
    job: Job
    last_slot: datetime | None
    finished_at: datetime | None
    next_due: datetime  # when it will run next (now, if due)
    summary: str | None


def status(database: Database, *, now: datetime, config: SchedulerConfig) -> list[Status]:
    rows = []
    with database.session() as session:
        for job in schedule(config):
            run = session.get(JobRun, job.name)
            slot = job.cadence.last(now, config)
            claimed = run.slot if run is not None else None
            due_now = claimed is None or claimed < slot or (run is not None and not run.finished_at)
            rows.append(
                Status(
                    job=job,
                    last_slot=claimed,
                    finished_at=run.finished_at if run else None,
                    next_due=now if due_now else job.cadence.next(now, config),
                    summary=run.summary if run else None,
                )
            )
    return rows
