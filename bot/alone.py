"""`oshbot run` and `oshbot serve` with a Zalo token and no Telegram one: oshbot on Zalo alone.

Telegram's Application brings the scheduler (PTB's JobQueue) and the outbox tick with it
(bot/app.py `schedule_jobs`). Without Telegram the same periodic work runs on APScheduler itself,
on the same triggers (one list for both, scheduler/timetable.py: the jobs, their cadences and
grace, the catch-up, the outbox tick), beside the Zalo channel (long polling for `oshbot run`,
the web application's /zalo webhook for `oshbot serve`):

* each scheduled job at its cadence, then what it queued is sent;
* the catch-up once at start: what fell due while oshbot was down;
* the outbox every OSHBOT_SEND_INTERVAL seconds, through the Zalo channel's own client, so that
  replies and bulk sends share one pacer. A row queued for Telegram to someone also on Zalo goes
  by Zalo (bot/sender.py `drain`); one for someone on Telegram only waits for a Telegram token.

The periodic work runs only while this process holds the sender lock (models/locks.py), as the
Telegram bot's does (bot/cluster.py): a cron `oshbot jobs run` or `oshbot broadcast --yes`
sending at that moment keeps it until it is done, and this process takes over after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.cluster import release_claims
from bot.sender import ZaloRoute, drain, zalo_route
from bot.settings import Settings
from bot.zalo.channel import ZaloChannel
from models.db import Database
from models.files import secure_data_dir
from models.locks import Leadership
from models.tables import utcnow
from scheduler.config import SchedulerConfig
from scheduler.runner import Job, run_due, run_job
from scheduler.timetable import CATCH_UP, OUTBOX, timetable

log = logging.getLogger(__name__)

__all__ = ["Alone", "run_alone"]


class Alone:
    """The Zalo channel with the scheduler and the outbox sender, started and stopped together.
    `clock` is the programme's time (tests move it); the triggers follow the wall clock."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock
        self.channel = ZaloChannel(settings, database, clock=clock)
        self.config = SchedulerConfig.from_settings(settings)
        route = zalo_route(settings, self.channel.client)
        assert route is not None  # a Zalo channel has a token
        self.route: ZaloRoute = route
        self.leadership = Leadership(database.engine)
        self.scheduler = AsyncIOScheduler(timezone=self.config.tz)
        # One drain at a time (the outbox tick, a job's, the catch-up), as the Telegram bot's
        # limiter turn keeps them: two would share the pace but double the rows in flight.
        self._turn = asyncio.Lock()
        self._stopping = False

    async def start(self, *, poll: bool = True) -> None:
        await self.channel.start(poll=poll)
        log.warning(
            "OSHBOT_TOKEN is not set: running on Zalo alone; messages for people on Telegram "
            "only wait in the outbox until it is set"
        )
        self.plan()
        self.scheduler.start()

    def plan(self) -> None:
        """The triggers the Telegram bot registers (scheduler/timetable.py), on this scheduler."""
        callbacks = {CATCH_UP: self.catch_up, OUTBOX: self.send}
        for timed in timetable(self.config, send_interval=self.settings.send_interval):
            if timed.job is not None:
                self.scheduler.add_job(self._job, args=[timed.job], **timed.options())
            else:
                self.scheduler.add_job(callbacks[timed.name], **timed.options())

    async def stop(self) -> None:
        """No new work; the drain under way finishes (its rows marked sent) before the channel
        closes and the lock goes to another worker, which would otherwise put those rows back
        and send them twice."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        async with self._turn:
            pass
        await self.channel.stop()
        await asyncio.to_thread(self.leadership.release)

    async def _leading(self) -> bool:
        leading, became = await asyncio.to_thread(self.leadership.check)
        if became:
            await asyncio.to_thread(release_claims, self.database)
        return leading

    async def _sending(self, work: Callable[[], Awaitable[object]] | None = None) -> None:
        """`work` (a job), then the outbox, while this process is the sender."""
        if not self._stopping and await self._leading():
            if work is not None:
                await work()
            async with self._turn:
                if self._stopping:
                    return  # what the job queued goes at the next start, or from another worker
                await drain(
                    None, self.database, clock=self.clock, config=self.config, zalo=self.route
                )

    async def send(self) -> None:
        """One outbox tick."""
        await self._sending()

    async def catch_up(self) -> None:
        """Whatever fell due while oshbot was down, once."""
        now = self.clock()
        await self._sending(
            lambda: asyncio.to_thread(run_due, self.database, now=now, config=self.config)
        )

    async def _job(self, job: Job) -> None:
        now = self.clock()
        await self._sending(
            lambda: asyncio.to_thread(run_job, self.database, job, now=now, config=self.config)
        )


async def _alone(settings: Settings) -> None:
    database = Database(settings.database_url)
    secure_data_dir(settings.data_dir)
    alone = Alone(settings, database)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sign in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sign, stopping.set)
    try:
        await alone.start()
        await stopping.wait()
    finally:
        await alone.stop()
        database.dispose()


def run_alone(settings: Settings) -> None:
    """`oshbot run` with a Zalo token and no Telegram one: Zalo alone, until a signal."""
    asyncio.run(_alone(settings))
