"""The Zalo client against the sandbox: every answer the platform can give becomes a typed result
or a typed error, and requests the platform would refuse are refused before they cost one."""

from __future__ import annotations

import io
import itertools
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from PIL import Image

from bot.sandbox import FakeClock
from bot.zalo import (
    ZaloClient,
    ZaloConflict,
    ZaloError,
    ZaloInvalidRequest,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloServerError,
    ZaloTimeout,
    ZaloUnauthorized,
    ZaloUnreachable,
)
from bot.zalo.pacing import DEFAULT_BACKOFF, Pacer
from bot.zalo.sandbox import BASE_URL, ZaloSandbox

pytestmark = pytest.mark.asyncio

CARD_URL = "https://oshbot.test/media/card.jpg"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 140, 60)).save(out, "JPEG")
    return out.getvalue()


def photos(request: httpx.Request) -> httpx.Response:
    if str(request.url) == CARD_URL:
        return httpx.Response(200, content=jpeg(), headers={"content-type": "image/jpeg"})
    return httpx.Response(404)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> ZaloSandbox:
    return ZaloSandbox(clock=clock, http_transport=httpx.MockTransport(photos))


@pytest.fixture
async def zalo(sb: ZaloSandbox) -> AsyncIterator[ZaloClient]:
    async with ZaloClient(sb.token, BASE_URL, sb.transport()) as client:
        yield client


def calls(sb: ZaloSandbox, method: str) -> int:
    return sb.stats.calls[method]


async def test_get_me(zalo: ZaloClient) -> None:
    me = await zalo.get_me()
    assert me.id == "1000000000000000001" and me.account_name == "Bot oshbot"
    assert await zalo.getMe() == me  # the platform's names work too


async def test_updates_arrive_one_per_call_typed(sb: ZaloSandbox, zalo: ZaloClient) -> None:
    user = sb.user("6ede9afa66b88fe6d6a9", "Anh Dũng")
    user.send_text("Xin chào")
    user.send_image(data=jpeg(), caption="Trước")
    user.send_sticker("abc")
    user.send_unsupported()
    text = await zalo.get_updates(timeout=1)
    image = await zalo.get_updates(timeout=1)
    sticker = await zalo.get_updates(timeout=1)
    other = await zalo.get_updates(timeout=1)
    assert text is not None and text.message is not None
    assert text.event_name == "message.text.received" and text.message.text == "Xin chào"
    assert text.message.sender.id == user.id and text.message.sender.display_name == "Anh Dũng"
    assert text.message.chat.id == user.id and not text.message.chat.is_group
    assert text.message.date.tzinfo is UTC
    assert abs((datetime.now(UTC) - text.message.date).total_seconds()) < 60
    assert image is not None and image.message is not None
    assert image.message.photo_url is not None and image.message.caption == "Trước"
    assert sticker is not None and sticker.message is not None and sticker.message.sticker == "abc"
    assert other is not None and other.event_name == "message.unsupported.received"
    assert other.message is not None and other.message.text is None


async def test_an_empty_poll_is_no_update(sb: ZaloSandbox, zalo: ZaloClient) -> None:
    assert await zalo.get_updates(timeout=0) is None
    assert calls(sb, "getUpdates") == 1
    with pytest.raises(ZaloInvalidRequest):
        await zalo.get_updates(timeout=-1)


async def test_every_request_is_a_json_post(sb: ZaloSandbox, zalo: ZaloClient) -> None:
    sb.user("u1")
    await zalo.get_me()
    await zalo.get_updates(timeout=0)
    await zalo.send_message("u1", "Xin chào")
    await zalo.send_photo("u1", CARD_URL, "Thẻ báo cáo")
    await zalo.send_sticker("u1", "abc")
    await zalo.send_chat_action("u1")
    await zalo.get_webhook_info()
    assert {content for _, content in sb.stats.content_types} == {"application/json"}


async def test_sends_return_the_platform_ids(sb: ZaloSandbox, zalo: ZaloClient) -> None:
    user = sb.user("u1")
    sent = await zalo.send_message("u1", "<b>Xin chào</b> Anh/Chị")
    assert sent.message_id == user.last().message_id and sent.date is not None
    assert user.last().text == "<b>Xin chào</b> Anh/Chị"
    photo = await zalo.send_photo("u1", CARD_URL, caption="  ")  # a blank caption is none
    assert photo.message_id == user.last().message_id and user.last().caption is None
    assert (await zalo.send_sticker("u1", "abc")).message_id == user.last().message_id
    assert await zalo.send_chat_action("u1") is True
    assert sb.chat_actions == [("u1", "typing")]


async def test_webhook_methods(sb: ZaloSandbox, zalo: ZaloClient) -> None:
    info = await zalo.set_webhook("https://oshbot.test/zalo/webhook", "a-secret_of-16ch")
    assert info.url == "https://oshbot.test/zalo/webhook" and info.updated_at is not None
    assert (await zalo.get_webhook_info()).url == info.url
    assert sb.webhook_secret == "a-secret_of-16ch"
    with pytest.raises(ZaloConflict):
        await zalo.get_updates(timeout=0)
    assert (await zalo.delete_webhook()).url == ""
    assert await zalo.get_updates(timeout=0) is None


async def test_unreachable_people(sb: ZaloSandbox, zalo: ZaloClient) -> None:
    with pytest.raises(ZaloUnreachable) as unknown:
        await zalo.send_message("nobody", "Xin chào")
    assert unknown.value.error_code == 404 and not unknown.value.retryable
    sb.user("u1").block()
    with pytest.raises(ZaloUnreachable) as blocked:
        await zalo.send_photo("u1", CARD_URL)
    assert blocked.value.error_code == 403
    with pytest.raises(ZaloUnreachable):
        await zalo.send_chat_action("u1")
    sb.faults.add("blocked", method="sendSticker")
    sb.user("u2")
    with pytest.raises(ZaloUnreachable):
        await zalo.send_sticker("u2", "abc")


async def test_rate_limited_answers(sb: ZaloSandbox, zalo: ZaloClient) -> None:
    sb.user("u1")
    for _ in range(3):
        await zalo.send_message("u1", "ok")
    with pytest.raises(ZaloRateLimited) as limited:
        await zalo.send_message("u1", "one too many")
    assert limited.value.retryable and limited.value.retry_after is None
    assert limited.value.error_code == 429


async def test_invalid_requests_the_platform_refuses(sb: ZaloSandbox, zalo: ZaloClient) -> None:
    sb.user("u1")
    # Well-formed https URLs that the platform cannot use: only it can tell.
    for url in ("https://oshbot.test/expired.jpg", "https://oshbot.test/elsewhere.png"):
        with pytest.raises(ZaloInvalidRequest) as refused:
            await zalo.send_photo("u1", url)
        assert refused.value.error_code == 400 and not refused.value.retryable


async def test_wrong_token() -> None:
    sandbox = ZaloSandbox()
    async with ZaloClient("1:WRONG", BASE_URL, sandbox.transport()) as client:
        with pytest.raises(ZaloUnauthorized) as wrong:
            await client.get_me()
    assert wrong.value.error_code == 401 and not wrong.value.retryable


async def test_server_failures_timeouts_and_dropped_connections(
    sb: ZaloSandbox, zalo: ZaloClient
) -> None:
    sb.user("u1")
    sb.faults.add("5xx", method="sendMessage")
    with pytest.raises(ZaloServerError) as page:
        await zalo.send_message("u1", "a")
    assert page.value.retryable and page.value.error_code == 502
    sb.faults.add("timeout", method="sendMessage")
    with pytest.raises(ZaloTimeout) as timeout:
        await zalo.send_message("u1", "b")
    assert timeout.value.retryable
    sb.faults.add("network", method="getMe")
    with pytest.raises(ZaloNetworkError) as dropped:
        await zalo.get_me()
    assert not isinstance(dropped.value, ZaloTimeout)


async def test_a_closed_port_is_a_network_error_without_the_token() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "424242:SECRET-THAT-MUST-NOT-LEAK"
    async with ZaloClient(token, f"http://127.0.0.1:{port}/bot") as client:
        with pytest.raises(ZaloNetworkError) as refused:
            await client.send_message("u1", "Xin chào")
        assert token not in str(refused.value) and token not in repr(client)


async def test_requests_the_platform_would_refuse_never_leave(
    sb: ZaloSandbox, zalo: ZaloClient
) -> None:
    sb.user("u1")
    await zalo.send_message("u1", "a" * 2000)
    await zalo.send_message("u1", "🦺" * 1000)  # 2000 UTF-16 units
    before = dict(sb.stats.calls)
    refused: list[Any] = [
        zalo.send_message("u1", ""),
        zalo.send_message("u1", " \n\t"),
        zalo.send_message("u1", "a" * 2001),
        zalo.send_message("u1", "🦺" * 1000 + "a"),
        zalo.send_message("", "Xin chào"),
        zalo.send_photo("u1", "not a url"),
        zalo.send_photo("u1", "http://oshbot.test/card.jpg"),
        zalo.send_photo("u1", "/media/card.jpg"),
        zalo.send_photo("u1", CARD_URL, caption="x" * 2001),
        zalo.send_sticker("u1", " "),
        zalo.send_chat_action("u1", "upload_photo"),
        zalo.set_webhook("http://oshbot.test/zalo", "a-secret-token"),
        zalo.set_webhook("https://oshbot.test/zalo", "short"),
        zalo.set_webhook("https://oshbot.test/zalo", "x" * 257),
        zalo.set_webhook("https://oshbot.test/zalo", "has spaces in it"),
    ]
    for request in refused:
        with pytest.raises(ZaloInvalidRequest) as invalid:
            await request
        assert invalid.value.error_code is None  # refused here, not by the platform
    assert dict(sb.stats.calls) == before


@pytest.mark.parametrize(
    ("method", "status", "body", "expected", "retry_after"),
    [
        # ok:false decides whatever the HTTP status, and the words count where codes differ.
        (
            "sendMessage",
            200,
            {"ok": False, "error_code": 403, "description": "x"},
            ZaloUnreachable,
            None,
        ),
        (
            "sendMessage",
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
            ZaloUnreachable,
            None,
        ),
        (
            "sendMessage",
            200,
            {"ok": False, "error_code": -230, "description": "User has blocked the bot"},
            ZaloUnreachable,
            None,
        ),
        (
            "sendMessage",
            200,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": 7},
            },
            ZaloRateLimited,
            7.0,
        ),
        (
            "sendMessage",
            200,
            {"ok": False, "error_code": -32, "description": "Rate limit exceeded"},
            ZaloRateLimited,
            None,
        ),
        (
            "sendMessage",
            200,
            {"ok": False, "error_code": 400, "description": "text is too long"},
            ZaloInvalidRequest,
            None,
        ),
        (
            "getMe",
            200,
            {"ok": False, "error_code": 404, "description": "Not Found"},
            ZaloInvalidRequest,
            None,
        ),
        ("getMe", 401, {"ok": False, "description": "Unauthorized"}, ZaloUnauthorized, None),
        (
            "sendMessage",
            200,
            {"ok": False, "error_code": 500, "description": "Internal"},
            ZaloServerError,
            None,
        ),
        (
            "sendMessage",
            200,
            {"ok": False, "error_code": -201, "description": "odd"},
            ZaloError,
            None,
        ),
        # Not the platform's JSON: a gateway or proxy spoke, so only its status counts.
        ("sendMessage", 200, "<html>maintenance</html>", ZaloServerError, None),
        ("sendMessage", 200, {"result": {}}, ZaloServerError, None),
        ("sendMessage", 403, "<html>Forbidden by a firewall</html>", ZaloServerError, None),
        ("sendMessage", 429, "<html>slow down</html>", ZaloRateLimited, 5.0),
    ],
)
async def test_error_mapping_whatever_the_status(
    method: str, status: int, body: Any, expected: type[ZaloError], retry_after: float | None
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers={"retry-after": "5"})
        return httpx.Response(status, json=body)

    async with ZaloClient("1:T", "https://zalo.test/bot", httpx.MockTransport(answer)) as client:
        with pytest.raises(ZaloError) as raised:
            if method == "getMe":
                await client.get_me()
            else:
                await client.send_message("u1", "Xin chào")
    assert type(raised.value) is expected
    if isinstance(raised.value, ZaloRateLimited):
        assert raised.value.retry_after == retry_after


async def test_an_accepted_send_with_an_odd_result_is_still_sent() -> None:
    """ok: true means delivered; a malformed result must not become an error to retry."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True, "result": {"date": "yesterday"}})

    async with ZaloClient("1:T", "https://zalo.test/bot", httpx.MockTransport(answer)) as client:
        sent = await client.send_message("u1", "Xin chào")
        assert sent.message_id is None
        with pytest.raises(ZaloServerError):
            await client.get_me()  # a getMe without an id is no answer at all


async def test_paced_sends_stay_inside_the_sandbox_limits(clock: FakeClock) -> None:
    """The default pace (8 a second, 1 a second per chat, replies of two at once) against the
    sandbox's limits: a broadcast to 60 people and a person's 20 replies interleaved, no 429."""
    sandbox = ZaloSandbox(clock=clock, fetch_photos=False)
    for n in range(60):
        sandbox.user(f"p{n}")
    sandbox.user("talker")
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    async with ZaloClient(sandbox.token, BASE_URL, sandbox.transport(), pacer=pacer) as zalo:
        for n in range(60):
            await zalo.send_message(f"p{n}", "Bản tin tháng 3", bulk=True)
            if n % 3 == 0:
                await zalo.send_message("talker", f"Trả lời {n}")
    assert sandbox.stats.rate_limited == 0
    assert len(sandbox.stats.sends) == 80
    bulk_times = [t for t, chat, _ in sandbox.stats.sends if chat != "talker"]
    gaps = [b - a for a, b in itertools.pairwise(bulk_times)]
    assert min(gaps) >= 1 / 8 - 1e-9  # bulk never bursts
    # A reply does not queue behind the broadcast: it may use the tokens bulk leaves free.
    talk = sandbox.stats.send_times("talker")
    assert len(talk) == 20 and talk[0] == bulk_times[0]


async def test_unpaced_sends_hit_the_sandbox_limits(clock: FakeClock) -> None:
    """The same broadcast without the pacer: the sandbox refuses, so the test above can fail."""
    sandbox = ZaloSandbox(clock=clock, fetch_photos=False)
    for n in range(60):
        sandbox.user(f"p{n}")
    limited = 0
    async with ZaloClient(sandbox.token, BASE_URL, sandbox.transport()) as zalo:
        for n in range(60):
            try:
                await zalo.send_message(f"p{n}", "Bản tin tháng 3", bulk=True)
            except ZaloRateLimited:
                limited += 1
    assert limited == 50


async def test_a_rate_limit_answer_pauses_every_send(clock: FakeClock) -> None:
    sandbox = ZaloSandbox(clock=clock, fetch_photos=False)
    sandbox.user("a")
    sandbox.user("b")
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    sandbox.faults.add("429", method="sendMessage")
    async with ZaloClient(sandbox.token, BASE_URL, sandbox.transport(), pacer=pacer) as zalo:
        with pytest.raises(ZaloRateLimited):
            await zalo.send_message("a", "first")
        refused_at = clock()
        await zalo.send_message("b", "someone else")
    assert sandbox.stats.send_times("b") == [pytest.approx(refused_at + DEFAULT_BACKOFF)]
