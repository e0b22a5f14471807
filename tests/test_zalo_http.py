"""The Zalo sandbox over real HTTP: the Bot API, the control endpoints that play users, webhook
posts over the network, and ``oshbot sandbox --channel zalo`` as a process."""

from __future__ import annotations

import asyncio
import base64
import io
import re
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from PIL import Image
from typer.testing import CliRunner

from bot.cli import app
from bot.zalo import (
    SECRET_HEADER,
    ZaloClient,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloTimeout,
    ZaloUnreachable,
    parse_webhook,
)
from bot.zalo.sandbox import DEFAULT_TOKEN, ZaloSandbox
from bot.zalo.sandbox_http import ZaloSandboxServer

PATIENCE = 60.0  # seconds a starting process may take


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 90, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
async def server() -> AsyncIterator[ZaloSandboxServer]:
    sandbox = ZaloSandbox(limits=None, insecure_urls=True)
    running = ZaloSandboxServer(sandbox, timeout_delay=1.0)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def control(server: ZaloSandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.origin) as client:
        yield client


async def test_playing_users_over_http(
    server: ZaloSandboxServer, control: httpx.AsyncClient
) -> None:
    async with ZaloClient(DEFAULT_TOKEN, server.base_url) as zalo:
        said = await control.post(
            "/sandbox/users/u1/messages", json={"text": "Xin chào", "display_name": "Chị Lan"}
        )
        assert said.status_code == 200 and said.json()["message"]["text"] == "Xin chào"
        data = jpeg()
        await control.post(
            "/sandbox/users/u1/images",
            json={"data_base64": base64.b64encode(data).decode(), "caption": "Trước"},
        )
        await control.post(
            "/sandbox/users/u1/images", json={"photo_url": "https://zcdn.example/p.jpg"}
        )
        await control.post("/sandbox/users/u1/stickers", json={})
        await control.post("/sandbox/users/u1/unsupported", json={"group": "g1"})
        updates = [await zalo.get_updates(timeout=1) for _ in range(5)]
        assert [u.event_name.split(".")[1] for u in updates if u] == [
            "text",
            "image",
            "image",
            "sticker",
            "unsupported",
        ]
        first = updates[0]
        assert first is not None and first.message is not None
        assert first.message.sender.display_name == "Chị Lan"
        hosted = updates[1]
        assert hosted is not None and hosted.message is not None and hosted.message.photo_url
        assert hosted.message.photo_url.startswith(f"{server.origin}/media/")
        assert (await control.get(hosted.message.photo_url)).content == data
        last = updates[4]
        assert last is not None and last.message is not None and last.message.chat.is_group

        await zalo.send_message("u1", "<i>Cảm ơn</i> Anh/Chị")
        await zalo.send_photo("u1", hosted.message.photo_url.replace("http://", "https://", 1))
        seen = (await control.get("/sandbox/chats/u1/messages")).json()
        assert seen[0]["text"] == "<i>Cảm ơn</i> Anh/Chị"
        assert seen[1]["photo_size"] == len(data)

        await control.post("/sandbox/users/u1/block")
        with pytest.raises(ZaloUnreachable):
            await zalo.send_message("u1", "Anh/Chị còn đó không?")
        await control.post("/sandbox/users/u1/unblock")
        await zalo.send_message("u1", "Anh/Chị còn đó không?")

        fault = await control.post("/sandbox/faults", json={"kind": "429", "method": "sendMessage"})
        assert fault.status_code == 200
        with pytest.raises(ZaloRateLimited):
            await zalo.send_message("u1", "vội")
        stats = (await control.get("/sandbox/stats")).json()
        assert stats["calls"]["sendMessage"] == 4 and stats["faults_fired"] == 1


async def test_timeouts_and_dropped_connections_over_http(
    server: ZaloSandboxServer, control: httpx.AsyncClient
) -> None:
    await control.post("/sandbox/users/u1/messages", json={"text": "hi"})
    async with ZaloClient(DEFAULT_TOKEN, server.base_url, timeout=0.3) as zalo:
        await control.post("/sandbox/faults", json={"kind": "timeout", "method": "sendMessage"})
        with pytest.raises(ZaloTimeout):
            await zalo.send_message("u1", "chậm")
        await control.post("/sandbox/faults", json={"kind": "network", "method": "getMe"})
        with pytest.raises(ZaloNetworkError):
            await zalo.get_me()
        assert (await zalo.get_me()).id == DEFAULT_TOKEN.split(":")[0]


async def test_webhook_posts_over_the_network(
    server: ZaloSandboxServer, control: httpx.AsyncClient
) -> None:
    posts: list[tuple[str | None, bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        posts.append((request.headers.get(SECRET_HEADER), await request.read()))
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/zalo/webhook", receive)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        # The oshbot client sets https webhooks only; --insecure-urls lets a developer's
        # http receiver register by hand.
        hook_url = f"http://127.0.0.1:{port}/zalo/webhook"
        answer = await control.post(
            f"/bot{DEFAULT_TOKEN}/setWebhook",
            json={"url": hook_url, "secret_token": "s3cret-token"},
        )
        assert answer.json()["ok"] is True
        await control.post("/sandbox/users/u9/messages", json={"text": "qua webhook"})
        await server.sandbox.webhook_idle()
        ((secret, body),) = posts
        assert secret == "s3cret-token"
        update = parse_webhook(body)
        assert update.message is not None and update.message.text == "qua webhook"
        hook = (await control.get("/sandbox/webhook")).json()
        assert hook["deliveries"][0]["status"] == 200
    finally:
        await runner.cleanup()


async def test_control_endpoints_refuse_bad_input(control: httpx.AsyncClient) -> None:
    bad = [
        await control.post("/sandbox/users/u1/messages", json={}),
        await control.post(
            "/sandbox/users/u1/messages", content=b"{", headers={"content-type": "application/json"}
        ),
        await control.post("/sandbox/users/u1/messages", json=["text"]),
        await control.post("/sandbox/users/u1/images", json={}),
        await control.post("/sandbox/users/u1/images", json={"data_base64": "***"}),
        await control.post("/sandbox/faults", json={"kind": "meteor"}),
        await control.post("/sandbox/faults", json={"kind": "429", "times": "many"}),
    ]
    assert [r.status_code for r in bad] == [400] * len(bad)
    assert (await control.get("/sandbox/chats/nobody/messages")).status_code == 404
    assert (await control.get("/media/none.jpg")).status_code == 404


async def test_the_cli_serves_a_zalo_sandbox() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "sandbox",
        "--channel",
        "zalo",
        "--port",
        "0",
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        port = None
        while port is None:
            line = await asyncio.wait_for(process.stderr.readline(), PATIENCE)
            assert line, "the sandbox process ended"
            found = re.search(rb"Zalo sandbox listening on http://127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else None
        async with ZaloClient(DEFAULT_TOKEN, f"http://127.0.0.1:{port}/bot") as zalo:
            assert (await zalo.get_me()).account_name == "Bot oshbot"
            assert await zalo.get_updates(timeout=0) is None
    finally:
        process.terminate()
        await process.wait()


def test_the_cli_refuses_a_rate_of_zero() -> None:
    result = CliRunner().invoke(app, ["sandbox", "--channel", "zalo", "--rate", "0"])
    assert result.exit_code == 1 and "positive" in result.output
