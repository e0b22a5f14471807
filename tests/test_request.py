"""The bot's Bot API client (bot/request.py) over real HTTP to the sandbox: what it sends reads
as sent, uploads arrive whole, and Telegram's answers and the network's failures reach PTB as
they do through PTB's own HTTPXRequest (RetryAfter, TimedOut, NetworkError)."""

from __future__ import annotations

import io
import socket
import traceback

import pytest
from PIL import Image
from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.cluster import MeteredRequest
from bot.request import AiohttpRequest
from bot.sandbox import Sandbox
from bot.sandbox_http import SandboxServer

USER = 4242


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_messages_and_uploads_arrive_as_sent() -> None:
    sandbox = Sandbox(limits=None)
    sandbox.user(USER, "Chị Lan")
    server = SandboxServer(sandbox)
    port = await server.start()
    try:
        async with Bot(
            sandbox.token, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest()
        ) as bot:
            assert bot.username == sandbox.bot_user["username"]
            sent = await bot.send_message(USER, "Xin chào <b>Hòa Phát</b> & bạn", parse_mode="HTML")
            data = jpeg()
            photo = await bot.send_photo(USER, data, caption="Trước – sau")
    finally:
        await server.stop()
    [text, picture] = sandbox.chat_messages(USER)
    assert sent.message_id == text.message_id
    assert text.plain == "Xin chào Hòa Phát & bạn" and text.parse_mode == "HTML"
    assert picture.caption == "Trước – sau" and picture.photo_sizes
    # The multipart upload arrived byte for byte.
    assert sandbox.files[photo.photo[-1].file_id].data == data


async def test_telegram_errors_and_timeouts_reach_ptb_as_with_httpx() -> None:
    sandbox = Sandbox(limits=None)
    sandbox.user(USER, "Anh Minh")
    server = SandboxServer(sandbox, timeout_delay=2)
    port = await server.start()
    try:
        async with Bot(
            sandbox.token, base_url=f"http://127.0.0.1:{port}/bot", request=MeteredRequest()
        ) as bot:
            sandbox.faults.add("429", method="sendMessage", times=1, retry_after=3)
            with pytest.raises(RetryAfter) as waited:
                await bot.send_message(USER, "một")
            assert waited.value.retry_after == 3
            sandbox.faults.add("timeout", method="sendMessage")
            with pytest.raises(TimedOut):
                await bot.send_message(USER, "chậm", read_timeout=0.3)
            await bot.send_message(USER, "nhanh")
            # A long poll outlasts the read timeout by its own length (PTB adds it): no timeout.
            assert await bot.get_updates(timeout=1, read_timeout=0.3) == ()
    finally:
        await server.stop()
    assert [m.plain for m in sandbox.chat_messages(USER)] == ["nhanh"]


async def test_an_unreachable_api_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and nobody listens on it
    request = AiohttpRequest(connect_timeout=2)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as failed:
            await request.post(f"http://127.0.0.1:{port}/bot123:abc/getMe")
        assert not isinstance(failed.value, TimedOut)
    finally:
        await request.shutdown()


async def test_a_request_not_initialised_says_so() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:9/bot123:abc/getMe", "POST")


async def test_errors_never_carry_the_token() -> None:
    """aiohttp names the URL in some errors, and the URL holds the token: the error the bot
    raises (and the one-line message and the outbox's last error made from it) must not."""
    token = "123456:SECRET-token-value"
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as failed:
            # No scheme: aiohttp refuses the URL and quotes it whole.
            await request.post(f"api.telegram.org/bot{token}/getMe")
    finally:
        await request.shutdown()
    assert "SECRET" not in str(failed.value) and "/bot[token]/" in str(failed.value)
    # Nor the traceback a log or --debug prints: aiohttp's error is not shown as its cause.
    assert "SECRET" not in "".join(traceback.format_exception(failed.value))


async def test_proxies_come_from_the_environment_as_the_client_opens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP_PROXY carries every call, read when the client opens (as httpx reads it when its
    client is made), and NO_PROXY exempts its hosts. Through the proxy the calls show their
    bodies: parameters as one JSON body, an upload as a multipart form."""
    from aiohttp import ClientSession, web

    sandbox = Sandbox(limits=None)
    sandbox.user(USER, "Chị Lan")
    server = SandboxServer(sandbox)
    port = await server.start()
    seen: list[tuple[str, str]] = []

    async def forward(request: web.Request) -> web.Response:
        seen.append((str(request.url), request.content_type))
        async with ClientSession() as client, client.request(
            request.method, str(request.url), data=await request.read(),
            headers={"Content-Type": request.headers.get("Content-Type", "")},
        ) as answer:  # fmt: skip
            return web.Response(
                status=answer.status, body=await answer.read(), content_type="application/json"
            )

    proxy = web.Application()
    proxy.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(proxy)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    proxy_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}/bot"
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with Bot(sandbox.token, base_url=base, request=AiohttpRequest()) as bot:
            monkeypatch.delenv("HTTP_PROXY")  # read once: the open client keeps it
            await bot.send_message(USER, "Xin chào <b>Hòa Phát</b>", parse_mode="HTML")
            await bot.send_photo(USER, jpeg(), caption="Trước – sau")
        through = [(url.rsplit("/", 1)[-1], kind) for url, kind in seen]
        assert through == [
            ("getMe", "application/json"),
            ("sendMessage", "application/json"),
            ("sendPhoto", "multipart/form-data"),
        ]
        seen.clear()
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with Bot(sandbox.token, base_url=base, request=AiohttpRequest()) as bot:
            await bot.send_message(USER, "Trực tiếp")
        assert seen == []
    finally:
        await runner.cleanup()
        await server.stop()
    texts = [m.plain for m in sandbox.chat_messages(USER)]
    assert texts[0] == "Xin chào Hòa Phát" and texts[-1] == "Trực tiếp"
