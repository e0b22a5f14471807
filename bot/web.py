"""The one web application of `oshbot serve`: Starlette, run by uvicorn.

Routes:
* POST <path of OSHBOT_WEBHOOK_URL> (default /telegram): Telegram's webhook, checked against
  OSHBOT_WEBHOOK_SECRET, then handled by python-telegram-bot (its "custom webhook" pattern,
  but answered only once handled: see `telegram` below);
* POST /zalo: the Zalo Bot Platform's webhook, when a Zalo token is set and a Zalo driver is
  given (bot/zalo/webhook.py checks the secret and parses the update);
* GET /healthz: the database, the age of the oldest due outbox row, the last run of each job
  and whether this worker sends; 200 when healthy, 503 when not (for the load balancer and for
  monitoring);
* GET /metrics: Prometheus text format (bot/metrics.py);
* whatever `routes` the caller adds (the dashboard mounts itself here).

The Application is initialised by `oshbot serve` before the server starts (so a bad token or an
unreachable Bot API is one clear line, not a server that half starts); the lifespan only starts
and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import col, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update
from telegram.ext import Application

from bot import metrics
from bot.cluster import LEADERSHIP
from bot.dashboard.auth import secret_of
from bot.runtime import Runtime
from bot.settings import Settings
from bot.zalo.webhook import SECRET_HEADER as ZALO_SECRET_HEADER
from bot.zalo.webhook import InvalidWebhookBody, parse_webhook, secret_matches
from models import links
from models.locks import Leadership
from models.outbox import TELEGRAM, ZALO
from models.programme import ProgrammeError
from models.tables import JobRun, Outbox, OutboxStatus
from scheduler.config import QUIET_EXEMPT_KINDS, SchedulerConfig

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_WEBHOOK_PATH = "/telegram"
ZALO_WEBHOOK_PATH = "/zalo"
# Telegram's own ceiling for one update is far below; a bigger body is not from Telegram.
MAX_UPDATE_BYTES = 1 << 20
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]

ZaloDispatch = Callable[[Any], Awaitable[None]]


def webhook_path(url: str | None) -> str:
    path = urlsplit(url).path if url else ""
    return path if path not in ("", "/") else DEFAULT_WEBHOOK_PATH


def create_app(
    application: Application | None,  # type: ignore[type-arg]
    *,
    routes: Sequence[BaseRoute] = (),
    zalo_dispatch: ZaloDispatch | None = None,
    runtime: Runtime | None = None,
    leadership: Leadership | None = None,
) -> Starlette:
    """The ASGI app around an initialised Application. `routes` are mounted beside ours: the
    place for the dashboard (`routes=dashboard.routes(...)`). Without an Application (oshbot on
    Zalo alone, bot/alone.py) there is no Telegram webhook: `runtime` and `leadership` come from
    the caller, who also runs the jobs and the sender."""
    if application is not None:
        runtime = application.bot_data["runtime"]
        leadership = application.bot_data.get(LEADERSHIP)
    assert runtime is not None, "create_app needs an Application or a runtime"
    settings = runtime.settings
    path = webhook_path(settings.webhook_url)
    secret = settings.webhook_secret or ""

    async def telegram(request: Request) -> Response:
        assert application is not None
        if not secret_matches(request.headers.get(TELEGRAM_SECRET_HEADER), secret):
            return PlainTextResponse("forbidden", status_code=HTTPStatus.FORBIDDEN)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return PlainTextResponse("too large", status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except (ValueError, TypeError, KeyError):
            return PlainTextResponse("not an update", status_code=HTTPStatus.BAD_REQUEST)
        # Handled before Telegram hears 200: a worker killed in the middle answers nothing, and
        # Telegram posts the update again (to another worker, through the load balancer), where
        # queueing it first would have acknowledged an update that died with the process.
        # Errors are the handlers' (PTB's error handler answers the person); still 200, so a
        # poisonous update is not posted forever.
        await application.process_update(update)
        return Response(status_code=HTTPStatus.OK)

    async def zalo(request: Request) -> Response:
        assert zalo_dispatch is not None
        expected = settings.zalo_webhook_secret or ""
        if not secret_matches(request.headers.get(ZALO_SECRET_HEADER), expected):
            return PlainTextResponse("forbidden", status_code=HTTPStatus.FORBIDDEN)
        try:
            update = parse_webhook(await request.body())
        except InvalidWebhookBody as error:
            return PlainTextResponse(str(error), status_code=HTTPStatus.BAD_REQUEST)
        # Handled before the answer, as Telegram's: a post a dying worker took is posted again.
        await zalo_dispatch(update)
        return Response(status_code=HTTPStatus.OK)

    async def healthz(request: Request) -> Response:
        report = await asyncio.to_thread(health, runtime, leadership)
        status = HTTPStatus.OK if report["healthy"] else HTTPStatus.SERVICE_UNAVAILABLE
        return JSONResponse(report, status_code=status)

    async def linked(request: Request) -> Response:
        """A signed file link (models/links.py): the file, or 404 / 410 without saying why."""
        try:
            target = links.linked_file(
                request.path_params["token"], secret_of(settings), settings.data_dir,
                now=runtime.now(),
            )  # fmt: skip
        except ProgrammeError as error:
            gone = error.code == "link_expired"
            status = HTTPStatus.GONE if gone else HTTPStatus.NOT_FOUND
            return PlainTextResponse("expired" if gone else "not found", status_code=status)
        return FileResponse(target, filename=target.name)

    async def metrics_page(request: Request) -> Response:
        body = await asyncio.to_thread(metrics.exposition, runtime.database)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    own: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
        Route(links.PREFIX + "{token}", linked, methods=["GET"]),
    ]
    if application is not None:
        own.append(Route(path, telegram, methods=["POST"]))
    if settings.zalo_token and zalo_dispatch is not None:
        own.append(Route(ZALO_WEBHOOK_PATH, zalo, methods=["POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if application is not None:
            await application.start()
        try:
            yield
        finally:
            # Handing over at once on a clean stop, rather than when the connection drops, once
            # nothing sends any more. On Zalo alone the owner of the lock hands it over after
            # its last drain (bot/alone.py `Alone.stop`).
            if application is not None:
                await application.stop()
                if leadership is not None:
                    await asyncio.to_thread(leadership.release)

    return Starlette(routes=[*own, *routes], lifespan=lifespan)


async def register_webhook(application: Application) -> None:  # type: ignore[type-arg]
    """Tells Telegram where to post. Every worker sets the same URL: idempotent, and whichever
    starts last is right. Before the server starts, so that a refusal stops `oshbot serve` with
    one line rather than half-starting it."""
    settings: Settings = application.bot_data["runtime"].settings
    assert settings.webhook_url and settings.webhook_secret
    await application.bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret,
        allowed_updates=ALLOWED_UPDATES,
    )


def health(runtime: Runtime, leadership: Leadership | None) -> dict[str, Any]:
    """What /healthz answers. Unhealthy: the database does not answer, or a message has been
    due for longer than OSHBOT_HEALTH_OUTBOX_SECONDS (nobody sends, or sending cannot keep up).
    During quiet hours only the kinds that go out then count; only the channels this deployment
    sends on count (a Zalo row waits for OSHBOT_ZALO_TOKEN, a Telegram row for OSHBOT_TOKEN)."""
    settings = runtime.settings
    channels = [TELEGRAM] * bool(settings.token) + [ZALO] * bool(settings.zalo_token)
    now = runtime.now()
    report: dict[str, Any] = {
        "healthy": False,
        "database": "ok",
        "sender": leadership.leading if leadership is not None else True,
        "oldest_due_seconds": None,
        "jobs": {},
    }
    config = SchedulerConfig.from_settings(settings)
    quiet = config.quiet.until(now, config.tz) is not None
    try:
        with runtime.database.session() as session:
            query = select(func.min(Outbox.not_before)).where(
                Outbox.status == OutboxStatus.PENDING,
                col(Outbox.not_before) <= now,
                col(Outbox.channel).in_(channels),
            )
            if quiet:
                query = query.where(col(Outbox.kind).in_(sorted(QUIET_EXEMPT_KINDS)))
            oldest = session.exec(query).one()
            runs = session.exec(select(JobRun)).all()
    except sa.exc.SQLAlchemyError as error:
        report["database"] = str(error).splitlines()[0][:200]
        return report
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        report["oldest_due_seconds"] = round(max((now - oldest).total_seconds(), 0.0), 1)
    report["jobs"] = {
        run.name: {
            "slot": _iso(run.slot),
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "summary": run.summary,
        }
        for run in runs
    }
    late = timedelta(seconds=settings.health_outbox_seconds)
    report["healthy"] = oldest is None or now - oldest <= late
    return report


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
