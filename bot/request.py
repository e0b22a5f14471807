"""How the bot reaches the Bot API: python-telegram-bot's request interface (BaseRequest) on
aiohttp's client instead of PTB's own HTTPXRequest.

Why not PTB's default: httpcore's connection pool walks every pooled connection, with a poll()
of each idle socket, on every request and every release (encode/httpcore#1035; rewritten in the
httpx2 fork, pydantic/httpx2#1169). With a 100 ms round trip and a few hundred updates a second
the pool holds dozens of connections, and the bookkeeping took more of the bot's CPU than
handling the updates: bench/updates.py measured 10.7 (SQLite) and 13.9 ms (PostgreSQL) of CPU
per update through HTTPX against 2.6-2.8 ms through aiohttp's connector (README, "Performance").
aiohttp is already a dependency (the sandbox's server).

Behaviour kept from HTTPXRequest: the same parameters (each a string, nested objects as JSON
text), sent as one JSON body instead of a form, which Telegram reads alike (urlencode quotes
Vietnamese text a byte at a time in Python: about a tenth of the bot's CPU per reply); multipart
uploads (file names as
UTF-8, not percent-encoded), PTB's timeouts with its defaults: read, connect and pool per
operation, none over a whole download (a 20 MB file on a slow link still arrives); aiohttp has
no write timeout, so an upload is bounded as a whole by pool + connect + write + read; certifi's
certificates; no redirects followed; TimedOut for any timeout and NetworkError for any other
failure; proxies from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY; not ALL_PROXY or
SOCKS), read once when the client opens, as httpx reads them when its client is made (aiohttp's
trust_env reads the whole environment again on every request: a sixth of the bot's CPU).
Unlike httpx, aiohttp names the request's URL in some of its errors, and the URL holds the bot
token: errors are raised with the token taken out and without aiohttp's own as their cause.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import certifi
from telegram import Bot
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

__all__ = ["AiohttpRequest", "close_unstarted", "running"]

# The token in a Bot API URL: /bot<token>/<method> and /file/bot<token>/<path>.
_TOKEN_IN_URL = re.compile(r"/bot[^/\s'\"]+/")


class AiohttpRequest(BaseRequest):
    """One aiohttp session and connection pool, opened by `initialize` and closed by
    `shutdown` (PTB calls both). `connection_pool_size` bounds the connections open at once,
    as in HTTPXRequest; a request waits at most `pool_timeout` for one."""

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, aiohttp.helpers.ProxyInfo] = {}
        self._environment: dict[str, str] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # certifi's certificates, as httpx had them, rather than whatever the host carries.
            context = ssl.create_default_context(cafile=certifi.where())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=context),
            )
            self._environment = urllib.request.getproxies()
            self._proxies = aiohttp.helpers.proxies_from_env()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        parameters = request_data.json_parameters if request_data else None
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if files else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        headers = {"User-Agent": self.USER_AGENT}
        data: Any = None
        if parameters is not None and not files:
            data = json.dumps(parameters)
            headers["Content-Type"] = "application/json"
        if files:
            form = aiohttp.FormData(quote_fields=False)
            for name, value in (parameters or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            data = form
        phases = (pool, connect, write, read)
        timeout = aiohttp.ClientTimeout(
            total=sum(p or 0 for p in phases) if files and None not in phases else None,
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
        proxy = self._proxy(url)
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout,
                allow_redirects=False, proxy=proxy.proxy if proxy else None,
                proxy_auth=proxy.proxy_auth if proxy else None,
            ) as response:  # fmt: skip
                return response.status, await response.read()
        except TimeoutError:  # aiohttp's timeouts are asyncio's
            raise TimedOut from None
        except aiohttp.ClientError as error:
            said = _TOKEN_IN_URL.sub("/bot[token]/", str(error))
            raise NetworkError(f"aiohttp.{type(error).__name__}: {said}") from None

    def _proxy(self, url: str) -> aiohttp.helpers.ProxyInfo | None:
        """The environment's proxy for `url`, as read when the client opened: none when
        NO_PROXY names its host."""
        if not self._proxies:
            return None
        address = URL(url)
        host = address.host or ""
        if urllib.request.proxy_bypass_environment(host, self._environment):  # type: ignore[attr-defined]
            return None
        return self._proxies.get(address.scheme)


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """A timeout the call named, or this request's own (DEFAULT_NONE)."""
    return default if isinstance(value, DefaultValue) else value


async def close_unstarted(bot: Bot) -> None:
    """Closes the requests of a bot whose start failed (a refused token, no network).

    PTB's Bot.initialize opens both its requests before it asks getMe, and Bot.shutdown closes
    them only for a bot that started; aiohttp then reports the open session on stderr, under
    the one line the command line prints for the error."""
    await asyncio.gather(*(request.shutdown() for request in bot._request))


@asynccontextmanager
async def running(bot: Bot | None) -> AsyncIterator[Bot | None]:
    """`async with bot`, closing its requests when it cannot start (`close_unstarted`); nothing
    for no bot (Zalo alone)."""
    if bot is None:
        yield None
        return
    try:
        await bot.initialize()
    except Exception:
        await close_unstarted(bot)
        raise
    try:
        yield bot
    finally:
        await bot.shutdown()
