"""`oshbot serve`: the web application (bot/web.py) on uvicorn, one worker per process. With a
Zalo token and no Telegram one it serves Zalo alone (bot/alone.py): the /zalo webhook, the
signed links, /healthz and the dashboard, with the jobs and the sender beside them.

Several workers on one PostgreSQL database sit behind a load balancer; the holder of the sender
lock (models/locks.py) sends for all of them. On SQLite only one process may serve a database:
a second one stops with a clear message instead of becoming a second, unpaced sender.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack, ExitStack

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bot import dashboard
from bot.alone import Alone
from bot.app import build_application
from bot.cluster import LEADERSHIP, stand_by
from bot.runtime import Runtime
from bot.settings import Settings
from bot.web import create_app, register_webhook
from bot.zalo.channel import WEBHOOK_PATH, ZaloChannel
from models.db import Database, sqlite_path
from models.locks import AlreadyRunning, Leadership, is_postgres, single_process

log = logging.getLogger(__name__)

class NotStarted(RuntimeError):
    """uvicorn gave up before serving (it logged why)."""


class SecondWorker(RuntimeError):
    """`oshbot serve` on a SQLite database another process already serves."""


async def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    routes: Sequence[BaseRoute] = (),
) -> None:
    with ExitStack() as stack:
        database = Database(settings.database_url)
        stack.callback(database.dispose)
        if not is_postgres(database.engine):
            path = sqlite_path(settings.database_url)
            if path is not None:
                try:
                    stack.enter_context(single_process(path))
                except AlreadyRunning as error:
                    raise SecondWorker(str(path)) from error
        if not settings.token:
            await _serve_zalo_alone(settings, database, host=host, port=port, routes=routes)
            return
        application = build_application(settings, database=database)
        leadership = Leadership(database.engine)
        application.bot_data[LEADERSHIP] = leadership
        # Outside uvicorn's lifespan, so that a refused token or an unreachable Bot API stops
        # the command with its own error (bot/cli.py turns it into one line).
        async with application, AsyncExitStack() as channels:
            await register_webhook(application)
            zalo = None
            if settings.zalo_token:
                zalo = ZaloChannel(settings, database)
                channels.push_async_callback(zalo.stop)
                await zalo.start(poll=False, telegram_username=application.bot.username)
                await register_zalo_webhook(zalo, settings)
            # The dashboard's sign-in links point at /dashboard/signin (bot/dashboard/).
            web = create_app(
                application,
                routes=[*routes, dashboard.mount(database, settings)],
                zalo_dispatch=zalo.driver.dispatch if zalo is not None else None,
            )
            standby = (
                asyncio.create_task(stand_by(application, leadership), name="sender standby")
                if is_postgres(database.engine)
                else None
            )
            try:
                await _uvicorn(web, host, port)
            finally:
                if standby is not None:
                    standby.cancel()


async def _serve_zalo_alone(
    settings: Settings, database: Database, *, host: str, port: int, routes: Sequence[BaseRoute]
) -> None:
    """No Telegram: the Zalo channel behind /zalo, its jobs and its sender (bot/alone.py). A
    standby worker takes the sender lock at its next tick (no lock queue to wait in)."""
    alone = Alone(settings, database)
    try:
        # Before the server, so that a refused token is one line, as for Telegram.
        await alone.start(poll=False)
        await register_zalo_webhook(alone.channel, settings)
        web = create_app(
            None,
            routes=[*routes, dashboard.mount(database, settings)],
            zalo_dispatch=alone.channel.driver.dispatch,
            runtime=Runtime(settings=settings, database=database, clock=alone.clock),
            leadership=alone.leadership,
        )
        await _uvicorn(web, host, port)
    finally:
        await alone.stop()


async def _uvicorn(web: Starlette, host: str, port: int) -> None:
    config = uvicorn.Config(
        web, host=host, port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    log.info("serving on http://%s:%d", host, port)
    await server.serve()
    if not server.started:
        raise NotStarted(f"{host}:{port}")


async def register_zalo_webhook(zalo: ZaloChannel, settings: Settings) -> None:
    """Tells Zalo where to post (OSHBOT_PUBLIC_URL + /zalo) and with which secret; every worker
    sets the same, as for Telegram."""
    assert settings.public_url and settings.zalo_webhook_secret
    url = settings.public_url.rstrip("/") + WEBHOOK_PATH
    await zalo.client.set_webhook(url, settings.zalo_webhook_secret)


def run(settings: Settings, *, host: str, port: int) -> None:
    asyncio.run(serve(settings, host=host, port=port))
