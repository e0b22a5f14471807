"""The pieces of the Application that make several workers safe and observable.

* `ClusterJobQueue` runs every periodic job (outbox sender, scheduled jobs, catch-up, broadcast
  progress, and any job added later) only on the worker that holds the sender lock
  (models/locks.py), and times it. On one process (SQLite, `oshbot run`) it always runs.
* `MeteredApplication` counts updates by kind and times their handling.
* `MeteredRequest` counts what the Bot API answers: accepted sends, 429s, failures.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application, Job, JobQueue

from bot.metrics import (
    FAILURES,
    HANDLER_SECONDS,
    JOB_RUNS,
    JOB_SECONDS,
    RATE_LIMITED,
    SENDER,
    SENDS,
    UPDATES,
)
from bot.ratelimit import LIMITED_PREFIXES
from bot.request import AiohttpRequest, close_unstarted
from models import outbox
from models.db import Database
from models.locks import Leadership
from models.tables import utcnow
from scheduler.timetable import CATCH_UP, OUTBOX

log = logging.getLogger(__name__)

LEADERSHIP = "leadership"  # bot_data key; absent: one process, always leading


class ClusterJobQueue(JobQueue):  # type: ignore[type-arg]
    @staticmethod
    async def job_callback(job_queue: JobQueue, job: Job) -> None:  # type: ignore[type-arg]
        application = job_queue.application
        leadership: Leadership | None = application.bot_data.get(LEADERSHIP)
        if leadership is not None and not await lead(application, leadership):
            JOB_RUNS.labels(job.name, "skipped").inc()
            if job.name == CATCH_UP:
                # Whoever becomes the sender later runs it then (see `lead`).
                application.bot_data["pending-catch-up"] = job
            return
        started = time.perf_counter()
        await job.run(application)
        JOB_SECONDS.labels(job.name).observe(time.perf_counter() - started)
        JOB_RUNS.labels(job.name, "ran").inc()


async def lead(application: Application, leadership: Leadership) -> bool:  # type: ignore[type-arg]
    """Whether this worker sends now; on taking over, what the dead sender left is picked up."""
    leading, became = await asyncio.to_thread(leadership.check)
    SENDER.set(1 if leading else 0)
    if became:
        database: Database = application.bot_data["runtime"].database
        await asyncio.to_thread(release_claims, database)
        pending: Job | None = application.bot_data.pop("pending-catch-up", None)  # type: ignore[type-arg]
        if pending is not None:
            application.create_task(pending.run(application), name="catch-up after takeover")
    return leading


# How often a standby that could not wait in the lock's queue (the database was unreachable)
# tries again; and how often a leader looks whether it still leads.
STANDBY_RETRY = 1.0


async def stand_by(application: Application, leadership: Leadership) -> None:  # type: ignore[type-arg]
    """On PostgreSQL, a worker that does not send waits in the sender lock's queue (a daemon
    thread: a wait cannot be cancelled, and must not hold up the process's exit). When the
    sender dies the server hands the lock over at once: this worker takes over its claims and
    runs the outbox job now instead of at its next tick, so a broadcast pauses for the time the
    server takes to notice the dead connection, not for up to OSHBOT_SEND_INTERVAL."""
    loop = asyncio.get_running_loop()
    while not application.running:  # uvicorn's lifespan starts it, and its job queue
        await asyncio.sleep(0.1)
    while True:
        if leadership.leading:
            await asyncio.sleep(STANDBY_RETRY)
            continue
        granted: asyncio.Future[bool] = loop.create_future()

        def wait(granted: asyncio.Future[bool] = granted) -> None:
            got = leadership.wait()
            loop.call_soon_threadsafe(lambda: granted.done() or granted.set_result(got))

        threading.Thread(target=wait, name="sender-standby", daemon=True).start()
        if not await granted:
            await asyncio.sleep(STANDBY_RETRY)
            continue
        if await lead(application, leadership) and application.job_queue is not None:
            for job in application.job_queue.get_jobs_by_name(OUTBOX):
                job.job.modify(next_run_time=datetime.now(UTC))


def release_claims(database: Database) -> int:
    """Rows the previous sender had claimed and not marked: only the sender claims rows, and it
    is dead (its lock is free), so they are pending again now rather than after CLAIM_TIMEOUT.
    At most the few it had in flight may reach their chat twice, as after any crash."""
    now = utcnow()
    with database.session() as session:
        released = outbox.release_stale_claims(session, now=now + outbox.CLAIM_TIMEOUT)
    if released:
        log.info("took over %d messages the previous sender had in flight", released)
    return released


def update_kind(update: object) -> str:
    if isinstance(update, Update):
        for kind in ("message", "callback_query", "my_chat_member", "edited_message"):
            if getattr(update, kind, None) is not None:
                return kind
        return "other"
    return type(update).__name__


class MeteredApplication(Application):  # type: ignore[type-arg]
    async def initialize(self) -> None:
        try:
            await super().initialize()
        except Exception:
            await close_unstarted(self.bot)
            raise

    async def process_update(self, update: object) -> None:
        kind = update_kind(update)
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            HANDLER_SECONDS.labels("telegram", kind).observe(time.perf_counter() - started)
            UPDATES.labels("telegram", kind).inc()


def api_method(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class MeteredRequest(AiohttpRequest):
    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        name = api_method(url)
        counted = name.startswith(LIMITED_PREFIXES)
        try:
            code, payload = await super().do_request(url, method, *args, **kwargs)
        except (NetworkError, TimedOut):
            if counted:
                FAILURES.labels("telegram", name).inc()
            raise
        if counted:
            if code == 200:
                SENDS.labels("telegram", name).inc()
            elif code == 429:
                RATE_LIMITED.labels("telegram", name).inc()
            else:
                FAILURES.labels("telegram", name).inc()
        return code, payload
