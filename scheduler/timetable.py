"""When oshbot looks: every trigger APScheduler fires, in one list that both runtimes register,
so that they cannot drift apart:

* bot/app.py, through PTB's JobQueue (the Telegram bot, with or without Zalo beside it);
* bot/alone.py, on APScheduler itself (a Zalo token and no Telegram one).

The list holds each scheduled job (scheduler/runner.py `schedule`) on its cadence, the catch-up
once shortly after start (what fell due while oshbot was down) and the outbox tick every
OSHBOT_SEND_INTERVAL seconds. Each has a fixed id and a deliberate misfire grace: a fire missed
by less than the grace still runs, several missed fires are one run, and longer downtime is the
catch-up's. What runs at each trigger is the runtime's; what is due is the database's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.config import SchedulerConfig
from scheduler.runner import Job, schedule

CATCH_UP = "catch-up"
OUTBOX = "outbox"
# After start: the catch-up first, then the outbox's first tick, once the channels are up.
CATCH_UP_AFTER = timedelta(seconds=1)
OUTBOX_AFTER = timedelta(seconds=2)


@dataclass(frozen=True)
class Timed:
    """One trigger: a scheduled job (`job`), or the catch-up or the outbox tick (`job` None)."""

    name: str
    trigger: BaseTrigger
    misfire_grace_time: int | None
    job: Job | None = None

    @property
    def id(self) -> str:
        return f"oshbot:{self.name}"

    def options(self) -> dict[str, Any]:
        """The keyword arguments of APScheduler's `add_job` (PTB's `job_kwargs`)."""
        return {
            "trigger": self.trigger,
            "id": self.id,
            "replace_existing": True,
            "misfire_grace_time": self.misfire_grace_time,
            "coalesce": True,
            "max_instances": 1,
        }


def timetable(
    config: SchedulerConfig, *, send_interval: float, now: datetime | None = None
) -> list[Timed]:
    """Every trigger, for a runtime started at `now` (the wall clock: triggers follow it)."""
    now = now or datetime.now(config.tz)
    timed = [
        Timed(
            job.name,
            CronTrigger(**job.cadence.cron(), timezone=config.tz),
            int(job.cadence.grace.total_seconds()),
            job,
        )
        for job in schedule(config)
    ]
    # The catch-up runs however late the scheduler starts (no grace: None).
    timed.append(Timed(CATCH_UP, DateTrigger(now + CATCH_UP_AFTER, timezone=config.tz), None))
    trigger = IntervalTrigger(seconds=send_interval, start_date=now + OUTBOX_AFTER)
    # APScheduler refuses a grace of 0.
    timed.append(Timed(OUTBOX, trigger, max(1, int(send_interval * 4))))
    return timed
