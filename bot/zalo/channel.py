"""The Zalo channel as a running part of oshbot: a client, its pacer and the driver, started
beside Telegram's Application (`oshbot run`, `oshbot webhook`), alone (a Zalo token without a
Telegram one: bot/alone.py), or behind the web application's /zalo webhook (`oshbot serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from bot.settings import Settings
from bot.zalo.client import ZaloClient
from bot.zalo.driver import ZaloDriver
from bot.zalo.pacing import Pacer
from models.db import Database
from models.tables import utcnow

log = logging.getLogger(__name__)

__all__ = ["ZaloChannel"]

WEBHOOK_PATH = "/zalo"


class ZaloChannel:
    """`start()` long-polls Zalo in a background task until `stop()`; `driver.dispatch` is
    the web application's Zalo webhook instead (then `start(poll=False)`)."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        transport: httpx.AsyncBaseTransport | None = None,
        fetch_transport: httpx.AsyncBaseTransport | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        assert settings.zalo_token, "the Zalo channel needs OSHBOT_ZALO_TOKEN"
        self.client = ZaloClient(
            settings.zalo_token,
            settings.zalo_api_base_url,
            transport,
            pacer=pacer or Pacer(settings.zalo_send_rate, settings.zalo_chat_rate),
        )
        self.driver = ZaloDriver(
            self.client, database, settings, clock=clock, fetch_transport=fetch_transport
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, poll: bool = True, telegram_username: str | None = None) -> None:
        if telegram_username:
            self.driver.telegram_username = telegram_username
        me = await self.client.get_me()
        log.info("Zalo: %s (%s)", me.account_name, "long polling" if poll else "webhook")
        if poll:
            self._stop.clear()
            self._task = asyncio.get_running_loop().create_task(self.driver.poll(self._stop))

    async def stop(self, *_: Any) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.driver.idle()
        await self.client.aclose()
