"""`oshbot serve`: the web application (bot/web.py) on uvicorn, one worker per process.

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
from starlette.routing import BaseRoute

from bot import dashboard
from bot.app import build_application
from bot.cluster import LEADERSHIP, stand_by
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
            config = uvicorn.Config(
                web, host=host, port=port, log_config=None, access_log=False, lifespan="on"
            )
            server = uvicorn.Server(config)
            log.info("serving on http://%s:%d", host, port)
            standby = (
                asyncio.create_task(stand_by(application, leadership), name="sender standby")
                if is_postgres(database.engine)
                else None
            )
            try:
                await server.serve()
            finally:
                if standby is not None:
                    standby.cancel()
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
