"""`oshbot serve`'s web application: the webhooks, /healthz, /metrics, the dashboard's mount."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.dashboard.auth import secret_of
from bot.web import TELEGRAM_SECRET_HEADER, create_app, register_webhook
from bot.zalo.sandbox import ZaloSandbox
from bot.zalo.webhook import SECRET_HEADER as ZALO_SECRET_HEADER
from models import links
from models.tables import Outbox
from tests.conftest import World

SECRET = "s3cret-Token_value"


@asynccontextmanager
async def serving(world: World, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    world.settings.webhook_url = "https://bot.example.org/hook/telegram"
    world.settings.webhook_secret = SECRET
    await register_webhook(world.application)
    app = create_app(world.application, **options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://oshbot") as client:
            yield client


async def replied(user: Any, count: int = 1) -> bool:
    for _ in range(300):  # handled from PTB's queue in the background: wait, bounded
        if len(user.messages()) >= count:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_the_telegram_webhook_needs_the_secret_and_answers(world: World) -> None:
    async with serving(world) as client:
        assert world.sandbox.webhook_url == "https://bot.example.org/hook/telegram"
        assert world.sandbox.webhook_secret == SECRET
        user = world.sandbox.user(4711, "Hà")
        update = user.send_command("/help")
        world.sandbox.take_updates()
        path = "/hook/telegram"
        forged = await client.post(path, json=update)
        wrong = await client.post(path, json=update, headers={TELEGRAM_SECRET_HEADER: "x"})
        assert (forged.status_code, wrong.status_code) == (403, 403)
        await asyncio.sleep(0.05)
        assert user.messages() == []
        garbage = await client.post(
            path, content=b"{not json", headers={TELEGRAM_SECRET_HEADER: SECRET}
        )
        assert garbage.status_code == 400
        right = await client.post(path, json=update, headers={TELEGRAM_SECRET_HEADER: SECRET})
        assert right.status_code == 200
        assert await replied(user)
        assert "link mời" in user.messages()[-1].plain
        page = (await client.get("/metrics")).text
    assert 'oshbot_updates_total{channel="telegram",kind="message"}' in page
    assert 'oshbot_handler_seconds_count{channel="telegram",kind="message"}' in page


async def test_healthz_fails_when_a_message_waits_too_long(world: World) -> None:
    async with serving(world) as client:
        healthy = await client.get("/healthz")
        assert healthy.status_code == 200
        body = healthy.json()
        assert body["database"] == "ok" and body["oldest_due_seconds"] is None
        assert body["sender"] is True
        now = world.clock()
        late = world.settings.health_outbox_seconds + 60
        with world.database.session() as session:
            # The world's clock says 09:00 in Viet Nam: outside the quiet hours.
            session.add(
                Outbox(
                    key="tip:1:2027-03", chat_id=1, kind="tip", payload={"text": "x"},
                    not_before=now - timedelta(seconds=late), created_at=now,
                )
            )  # fmt: skip
        stuck = await client.get("/healthz")
        assert stuck.status_code == 503
        assert stuck.json()["oldest_due_seconds"] == late
        page = (await client.get("/metrics")).text
    assert 'oshbot_outbox_rows{kind="tip",status="pending"} 1.0' in page


async def test_healthz_reports_a_database_that_does_not_answer(world: World) -> None:
    async with serving(world) as client:
        good = world.database.engine
        world.database.engine = sa.create_engine("sqlite:////nonexistent/folder/x.db")
        try:
            answer = await client.get("/healthz")
        finally:
            world.database.engine = good
    assert answer.status_code == 503
    assert answer.json()["database"] != "ok"


async def test_extra_routes_are_mounted_beside_ours(world: World) -> None:
    async def board(request: Request) -> PlainTextResponse:
        return PlainTextResponse("bảng điều khiển")

    async with serving(world, routes=[Route("/dashboard", board)]) as client:
        answer = await client.get("/dashboard")
        assert (answer.status_code, answer.text) == (200, "bảng điều khiển")
        assert (await client.get("/healthz")).status_code == 200


async def test_the_zalo_webhook_is_mounted_with_a_token_and_checks_its_secret(
    world: World,
) -> None:
    received: list[Any] = []

    async def dispatch(update: Any) -> None:
        received.append(update)

    world.settings.zalo_token = "1000000000000000001:SANDBOX-ZALO-TOKEN"
    world.settings.zalo_webhook_secret = "zalo_secret-123"
    zalo = ZaloSandbox(token=world.settings.zalo_token)
    body = {"ok": True, "result": zalo.user("u-1", "Lan").send_text("xin chào")}
    async with serving(world, zalo_dispatch=dispatch) as client:
        refused = await client.post("/zalo", json=body)
        assert refused.status_code == 403
        bad = await client.post(
            "/zalo", json={"ok": True}, headers={ZALO_SECRET_HEADER: "zalo_secret-123"}
        )
        assert bad.status_code == 400
        good = await client.post(
            "/zalo", json=body, headers={ZALO_SECRET_HEADER: "zalo_secret-123"}
        )
        assert good.status_code == 200
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.01)
    assert [update.message.text for update in received] == ["xin chào"]


async def test_without_a_zalo_token_there_is_no_zalo_route(world: World) -> None:
    async def dispatch(update: Any) -> None:
        raise AssertionError("no Zalo route without a token")

    async with serving(world, zalo_dispatch=dispatch) as client:
        assert (await client.post("/zalo", json={})).status_code in (404, 405)


def test_create_app_is_a_starlette_app(world: World) -> None:
    assert isinstance(create_app(world.application), Starlette)


async def test_a_signed_file_link_opens_its_file_until_it_expires(world: World) -> None:
    """/files/<token> (models/links.py): the file the token names, while the link lasts; a
    forged token, one for a path outside the data folder, or an expired one opens nothing."""
    data_dir = world.settings.data_dir
    target = data_dir / "exports" / "tong-hop.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"PK\x03\x04 workbook")
    secret = secret_of(world.settings)
    now = world.clock()
    link = links.file_link("https://osh.example.vn/", secret, data_dir, target, now=now)
    assert link.startswith("https://osh.example.vn/files/")
    path = link.removeprefix("https://osh.example.vn")
    outside = URLSafeSerializer(secret, salt=links.SALT).dumps(["../../etc/passwd", 2**40])
    async with serving(world) as client:
        got = await client.get(path)
        assert got.status_code == 200 and got.content == b"PK\x03\x04 workbook"
        assert "tong-hop.xlsx" in got.headers["content-disposition"]
        assert (await client.get(path[:-3] + "abc")).status_code == 404
        assert (await client.get(links.PREFIX + outside)).status_code == 404
        world.clock.advance(days=3)
        assert (await client.get(path)).status_code == 410
