"""The one place where the Telegram Application is assembled: production, demo and tests."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy.exc
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    ContextTypes,
    Defaults,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

import handlers
from bot.cluster import ClusterJobQueue, MeteredApplication, MeteredRequest
from bot.guard import LIMITER_KEY, InboundLimiter
from bot.i18n import translator
from bot.persistence import DatabasePersistence
from bot.processor import PerPersonProcessor
from bot.ratelimit import PacedRateLimiter
from bot.request import AiohttpRequest
from bot.runtime import Runtime, language_of
from bot.sender import ZaloRoute, drain, zalo_route
from bot.settings import Settings
from bot.zalo.channel import ZaloChannel
from models.db import Database
from models.files import secure_data_dir
from models.tables import utcnow
from scheduler.config import SchedulerConfig
from scheduler.runner import run_due, run_job, schedule
from scheduler.timetable import CATCH_UP, OUTBOX, timetable

log = logging.getLogger(__name__)

ZALO_KEY = "zalo"  # bot_data: the Zalo channel running beside Telegram, if any

# Conversations mix buttons and typed answers per chat (per_message=False) on purpose.
warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")


class MissingToken(RuntimeError):
    """`oshbot run` without OSHBOT_TOKEN."""


def build_application(
    settings: Settings,
    *,
    database: Database | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Callable[[], datetime] = utcnow,
    rate_limiter: BaseRateLimiter | None = None,  # type: ignore[type-arg]
) -> Application:
    if not settings.token:
        raise MissingToken("OSHBOT_TOKEN is not set")
    database = database or Database(settings.database_url)
    secure_data_dir(settings.data_dir)
    # One person's updates in order, different people's at once (bot/processor.py).
    processor = PerPersonProcessor()
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .persistence(DatabasePersistence(database, update_interval=settings.persistence_interval))
        # Our own limiter: per-chat pacing, replies before bulk, 429s deferred (bot/ratelimit.py).
        .rate_limiter(
            rate_limiter
            or PacedRateLimiter(per_second=settings.send_rate, jitter=settings.send_jitter)
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # Metered, and periodic jobs only on the worker that sends (bot/cluster.py).
        .application_class(MeteredApplication)
        .job_queue(ClusterJobQueue())
        .concurrent_updates(processor)
    )
    # The Bot API over aiohttp (bot/request.py), metered; long polling on a pool of its own.
    builder = builder.request(request or MeteredRequest())
    builder = builder.get_updates_request(
        get_updates_request or AiohttpRequest(connection_pool_size=1)
    )
    application = builder.build()
    application.bot_data["runtime"] = Runtime(settings=settings, database=database, clock=clock)
    # Read when an update arrives, so that tests can put a limiter on their own clock.
    processor.limiter = lambda: application.bot_data.setdefault(LIMITER_KEY, InboundLimiter())
    handlers.register(application)
    application.add_error_handler(_on_error)
    schedule_jobs(application)
    return application


def attach_zalo(application: Application, **options: Any) -> ZaloChannel:  # type: ignore[type-arg]
    """Long-polls Zalo beside Telegram (OSHBOT_ZALO_TOKEN): started once the Application is
    initialised, stopped with it. `options` go to ZaloChannel (the sandbox's transports in
    tests)."""
    runtime: Runtime = application.bot_data["runtime"]
    channel = ZaloChannel(runtime.settings, runtime.database, clock=runtime.clock, **options)
    before_init, before_stop = application.post_init, application.post_stop

    async def post_init(app: Application) -> None:  # type: ignore[type-arg]
        if before_init is not None:
            await before_init(app)
        await channel.start(telegram_username=app.bot.username)

    async def post_stop(app: Application) -> None:  # type: ignore[type-arg]
        await channel.stop()
        if before_stop is not None:
            await before_stop(app)

    application.post_init = post_init
    application.post_stop = post_stop
    application.bot_data[ZALO_KEY] = channel
    return channel


# -- the scheduler -----------------------------------------------------------------------------
# APScheduler (through PTB's JobQueue) only triggers; the database says what is due and what was
# sent (scheduler/runner.py). The JobQueue runs only once the Application starts (`oshbot run`,
# `oshbot webhook`); the demo and the tests call the same functions with their own clock.


def schedule_jobs(application: Application) -> None:  # type: ignore[type-arg]
    """The triggers oshbot on Zalo alone registers too (scheduler/timetable.py)."""
    job_queue = application.job_queue
    if job_queue is None:  # PTB installed without the job-queue extra
        log.warning("no JobQueue: periodic jobs and the outbox sender will not run")
        return
    runtime: Runtime = application.bot_data["runtime"]
    config = SchedulerConfig.from_settings(runtime.settings)
    callbacks = {CATCH_UP: _catch_up, OUTBOX: _send_outbox}
    for timed in timetable(config, send_interval=runtime.settings.send_interval):
        job_queue.run_custom(
            callbacks.get(timed.name, _run_job),
            name=timed.name,
            data=timed.name,
            job_kwargs=timed.options(),
        )


def _config(context: ContextTypes.DEFAULT_TYPE) -> SchedulerConfig:
    runtime: Runtime = context.application.bot_data["runtime"]
    return SchedulerConfig.from_settings(runtime.settings)


async def _run_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    config = _config(context)
    assert context.job is not None
    job = next(j for j in schedule(config) if j.name == context.job.data)
    # Jobs are synchronous database work: a thread keeps updates flowing meanwhile.
    await asyncio.to_thread(run_job, runtime.database, job, now=runtime.now(), config=config)
    await drain(
        context.bot, runtime.database, clock=runtime.now, config=config, zalo=_zalo(context)
    )


async def _catch_up(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Whatever fell due while the bot was down, once."""
    runtime: Runtime = context.application.bot_data["runtime"]
    config = _config(context)
    await asyncio.to_thread(run_due, runtime.database, now=runtime.now(), config=config)
    await drain(
        context.bot, runtime.database, clock=runtime.now, config=config, zalo=_zalo(context)
    )


async def _send_outbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    await drain(
        context.bot, runtime.database, clock=runtime.now, config=_config(context),
        zalo=_zalo(context),
    )  # fmt: skip


# bot_data keys: the outbox's own Zalo client, made only when no Zalo channel runs beside
# Telegram (ZALO_KEY: then the channel's client serves both, so that replies and the outbox
# share one pacer), and the outbox sender's Zalo route.
ZALO_CLIENT = "zalo-client"
ZALO_ROUTE = "zalo-route"


def _zalo(context: ContextTypes.DEFAULT_TYPE) -> ZaloRoute | None:
    """How the outbox reaches Zalo, made once; None without OSHBOT_ZALO_TOKEN."""
    data = context.application.bot_data
    if ZALO_ROUTE not in data:
        settings = data["runtime"].settings
        channel = data.get(ZALO_KEY)
        route = zalo_route(settings, channel.client if channel is not None else None)
        if route is not None and channel is None:
            data[ZALO_CLIENT] = route.client  # closed at shutdown; a channel closes its own
        data[ZALO_ROUTE] = route
    route: ZaloRoute | None = data[ZALO_ROUTE]
    return route


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    client = application.bot_data.get(ZALO_CLIENT)
    if client is not None:
        await client.aclose()


async def _post_init(application: Application) -> None:
    runtime: Runtime = application.bot_data["runtime"]
    runtime.bot_username = application.bot.username
    await handlers.menu.set_default_commands(application.bot)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        _ = translator(language_of(update, context))
    except Exception:  # the database itself may be what failed
        _ = translator(context.application.bot_data["runtime"].settings.default_language)
    if isinstance(context.error, sqlalchemy.exc.OperationalError):
        text = _("The system is busy. Please try again in a moment.")
    else:
        text = _("Sorry, something went wrong on our side. Please try again.")
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)
