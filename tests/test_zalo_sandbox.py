"""The Zalo sandbox is faithful to the documented platform, and never kinder than it.

These tests speak raw HTTP to the sandbox (no oshbot client in between), so what they check is
the platform's side of the wire: shapes, status codes, limits.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from PIL import Image

from bot.sandbox import FakeClock
from bot.zalo.limits import RateLimits
from bot.zalo.sandbox import BASE_URL, ORIGIN, ZaloSandbox

pytestmark = pytest.mark.asyncio

JPEG_URL = "https://oshbot.test/media/after.jpg"


def image(kind: str = "JPEG", size: tuple[int, int] = (64, 48), noise: bool = False) -> bytes:
    picture = Image.new("RGB", size, (200, 120, 40))
    if noise:
        # Random pixels do not compress: a big picture stays a big file.
        picture = Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    picture.save(out, kind, quality=100) if kind == "JPEG" else picture.save(out, kind)
    return out.getvalue()


class Web:
    """The world outside the sandbox: a bot's web application receiving webhook posts and
    serving photos, behind an httpx MockTransport."""

    def __init__(self) -> None:
        self.posts: list[httpx.Request] = []
        self.webhook_status = 200
        self.files: dict[str, tuple[bytes, str]] = {JPEG_URL: (image(), "image/jpeg")}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posts.append(request)
            return httpx.Response(self.webhook_status, json={})
        hosted = self.files.get(str(request.url))
        if hosted is None:
            return httpx.Response(404, text="not found")
        return httpx.Response(200, content=hosted[0], headers={"content-type": hosted[1]})

    def bodies(self) -> list[Any]:
        return [json.loads(request.content) for request in self.posts]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def web() -> Web:
    return Web()


@pytest.fixture
def sb(clock: FakeClock, web: Web) -> ZaloSandbox:
    return ZaloSandbox(clock=clock, http_transport=httpx.MockTransport(web.handle))


Api = Callable[..., Any]


@pytest.fixture
async def http(sb: ZaloSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sb.transport()) as client:
        yield client


@pytest.fixture
def api(sb: ZaloSandbox, http: httpx.AsyncClient) -> Api:
    async def call(method: str, **params: Any) -> Any:
        response = await http.post(f"{BASE_URL}{sb.token}/{method}", json=params)
        assert response.status_code == 200, response.text  # errors too: HTTP 200
        return response.json()

    return call


def error(code: int) -> Callable[[Any], bool]:
    return lambda answer: (
        answer["ok"] is False
        and answer["error_code"] == code
        and set(answer) == {"ok", "error_code", "description"}
    )


async def test_get_me_and_the_error_shape(
    sb: ZaloSandbox, api: Api, http: httpx.AsyncClient
) -> None:
    me = await api("getMe")
    assert me == {
        "ok": True,
        "result": {
            "id": "1000000000000000001",
            "account_name": "Bot oshbot",
            "account_type": "BASIC",
            "can_join_groups": True,
        },
    }
    wrong = await http.post(f"{BASE_URL}1:WRONG/getMe", json={})
    assert wrong.status_code == 200 and error(401)(wrong.json())
    # Method names are case-sensitive, and there is no editing and no document upload.
    for method in ("getme", "editMessageText", "sendDocument", "answerCallbackQuery"):
        assert error(404)(await api(method)), method


async def test_get_updates_hands_out_one_update_once(sb: ZaloSandbox, api: Api) -> None:
    lan = sb.user("a1b2c3", "Chị Lan")
    lan.send_text("Xin chào")
    lan.send_text("Tôi muốn báo cáo")
    first = await api("getUpdates", timeout=30, offset=5, limit=100)  # no offset, no batches
    assert first["ok"] is True and isinstance(first["result"], dict)
    assert first["result"]["message"]["text"] == "Xin chào"
    second = await api("getUpdates", timeout="30")  # the parameter table types it as a string
    assert second["result"]["message"]["text"] == "Tôi muốn báo cáo"
    # Handed out means gone: an empty poll answers 408, exactly as third parties report.
    assert await api("getUpdates", timeout=0) == {
        "ok": False,
        "error_code": 408,
        "description": "Request timeout",
    }
    assert error(400)(await api("getUpdates", timeout="soon"))


async def test_a_long_poll_wakes_when_a_message_arrives(sb: ZaloSandbox, api: Api) -> None:
    poll = asyncio.create_task(api("getUpdates", timeout=30))
    await asyncio.sleep(0.05)
    assert not poll.done()
    sb.user("u1", "Anh Tâm").send_text("Có ai không?")
    answer = await asyncio.wait_for(poll, 5)
    assert answer["result"]["message"]["text"] == "Có ai không?"


async def test_updates_have_the_documented_shape(sb: ZaloSandbox, api: Api) -> None:
    user = sb.user("6ede9afa66b88fe6d6a9", "Ted")
    user.send_text("<b>Xin chào</b>")
    user.send_image("https://zcdn.example/photo.jpg", caption="Trước khi sửa")
    user.send_sticker()
    user.send_unsupported()
    user.send_text("trong nhóm", group="g-42")
    updates = [(await api("getUpdates", timeout=0))["result"] for _ in range(5)]
    assert [u["event_name"] for u in updates] == [
        "message.text.received",
        "message.image.received",
        "message.sticker.received",
        "message.unsupported.received",
        "message.text.received",
    ]
    for update in updates:
        message = update["message"]
        assert isinstance(message["message_id"], str) and len(message["message_id"]) == 20
        assert isinstance(message["date"], int) and message["date"] > 10**12  # milliseconds
        assert message["from"] == {"id": user.id, "display_name": "Ted", "is_bot": False}
    assert updates[0]["message"]["chat"] == {"id": user.id, "chat_type": "PRIVATE"}
    assert updates[0]["message"]["text"] == "<b>Xin chào</b>"
    assert updates[1]["message"]["photo_url"] == "https://zcdn.example/photo.jpg"
    assert updates[1]["message"]["caption"] == "Trước khi sửa"
    assert isinstance(updates[2]["message"]["sticker"], str)
    assert set(updates[3]["message"]) == {"from", "chat", "message_id", "date"}
    assert updates[4]["message"]["chat"] == {"id": "g-42", "chat_type": "GROUP"}
    ids = [u["message"]["message_id"] for u in updates]
    assert len(set(ids)) == 5


async def test_photos_users_send_are_served_from_a_url(
    sb: ZaloSandbox, http: httpx.AsyncClient
) -> None:
    data = image()
    update = sb.user("u1").send_image(data=data)
    url = update["message"]["photo_url"]
    assert url.startswith(f"{ORIGIN}/media/") and url.endswith(".jpg")
    fetched = await http.get(url)
    assert fetched.status_code == 200 and fetched.content == data
    assert fetched.headers["content-type"] == "image/jpeg"
    assert (await http.get(f"{ORIGIN}/media/nothing.jpg")).status_code == 404


async def test_send_message_is_plain_text_of_1_to_2000_characters(
    sb: ZaloSandbox, api: Api
) -> None:
    user = sb.user("u1")
    sent = await api(
        "sendMessage",
        chat_id="u1",
        text="<b>Chào</b> *Anh/Chị*",
        parse_mode="html",
        reply_markup={"inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]},
    )
    assert sent["ok"] is True and set(sent["result"]) == {"message_id", "date"}
    assert isinstance(sent["result"]["message_id"], str) and sent["result"]["date"] > 10**12
    # No formatting and no keyboards: the tags arrive literally, the buttons nowhere.
    assert user.last().text == "<b>Chào</b> *Anh/Chị*"
    assert (await api("sendMessage", chat_id="u1", text="a" * 2000))["ok"] is True
    assert error(400)(await api("sendMessage", chat_id="u1", text="a" * 2001))
    # Counted in UTF-16 units, like the platform's own offsets: an emoji counts two.
    assert (await api("sendMessage", chat_id="u1", text="🦺" * 1000))["ok"] is True
    assert error(400)(await api("sendMessage", chat_id="u1", text="🦺" * 1000 + "a"))
    assert error(400)(await api("sendMessage", chat_id="u1", text=" \n "))
    assert error(400)(await api("sendMessage", chat_id="u1"))
    assert error(400)(await api("sendMessage", text="no chat"))


async def test_unknown_chats_and_blocked_users_are_refused(sb: ZaloSandbox, api: Api) -> None:
    assert error(404)(await api("sendMessage", chat_id="nobody", text="Xin chào"))
    user = sb.user("u1")
    user.block()
    assert error(403)(await api("sendMessage", chat_id="u1", text="Xin chào"))
    assert error(403)(await api("sendChatAction", chat_id="u1", action="typing"))
    user.unblock()
    assert (await api("sendMessage", chat_id="u1", text="Xin chào"))["ok"] is True


async def test_send_photo_needs_a_reachable_https_jpeg_or_png(
    sb: ZaloSandbox, api: Api, web: Web
) -> None:
    user = sb.user("u1")
    sent = await api("sendPhoto", chat_id="u1", photo=JPEG_URL, caption="Sau khi sửa")
    assert sent["ok"] is True and set(sent["result"]) == {"message_id", "date"}
    assert user.last().photo_url == JPEG_URL and user.last().caption == "Sau khi sửa"
    assert user.last().photo_bytes == web.files[JPEG_URL][0]
    web.files["https://oshbot.test/chart.png"] = (image("PNG"), "image/png")
    web.files["https://oshbot.test/anim.gif"] = (image("GIF"), "image/gif")
    web.files["https://oshbot.test/page.jpg"] = (b"<html>expired</html>", "image/jpeg")
    web.files["https://oshbot.test/huge.png"] = (image("PNG", (800, 600), noise=True), "image/png")
    assert len(web.files["https://oshbot.test/huge.png"][0]) > 1024 * 1024
    assert (await api("sendPhoto", chat_id="u1", photo="https://oshbot.test/chart.png"))["ok"]
    for photo in (
        "not a url",
        "/media/after.jpg",
        "http://oshbot.test/media/after.jpg",  # the platform fetches public https URLs only
        "https://oshbot.test/missing.jpg",
        "https://oshbot.test/anim.gif",
        "https://oshbot.test/page.jpg",
        "https://oshbot.test/huge.png",
    ):
        assert error(400)(await api("sendPhoto", chat_id="u1", photo=photo)), photo
    assert error(400)(await api("sendPhoto", chat_id="u1", photo=JPEG_URL, caption="x" * 2001))
    # A photo a user sent can be sent on by its URL.
    own = sb.user("u2").send_image(data=image())["message"]["photo_url"]
    assert (await api("sendPhoto", chat_id="u1", photo=own))["ok"] is True
    assert [m.method for m in user.messages()] == ["sendPhoto", "sendPhoto", "sendPhoto"]


async def test_insecure_urls_are_a_development_switch(web: Web) -> None:
    sandbox = ZaloSandbox(
        limits=None, insecure_urls=True, http_transport=httpx.MockTransport(web.handle)
    )
    web.files["http://127.0.0.1:8080/card.jpg"] = (image(), "image/jpeg")
    sandbox.user("u1")
    async with httpx.AsyncClient(transport=sandbox.transport()) as http:
        base = f"{BASE_URL}{sandbox.token}"
        photo = await http.post(
            f"{base}/sendPhoto", json={"chat_id": "u1", "photo": "http://127.0.0.1:8080/card.jpg"}
        )
        hook = await http.post(
            f"{base}/setWebhook",
            json={"url": "http://127.0.0.1:8080/zalo", "secret_token": "s3cret-token"},
        )
    assert photo.json()["ok"] is True and hook.json()["ok"] is True


async def test_stickers_and_chat_actions(sb: ZaloSandbox, api: Api) -> None:
    user = sb.user("u1")
    sent = await api("sendSticker", chat_id="u1", sticker="d063f44dc80821567819")
    assert sent["ok"] is True and user.last().sticker == "d063f44dc80821567819"
    assert error(400)(await api("sendSticker", chat_id="u1"))
    # Documented as {"ok": true} without a result.
    assert await api("sendChatAction", chat_id="u1", action="typing") == {"ok": True}
    assert sb.chat_actions == [("u1", "typing")]
    assert error(400)(await api("sendChatAction", chat_id="u1", action="upload_photo"))


async def test_set_webhook_validates_and_excludes_polling(sb: ZaloSandbox, api: Api) -> None:
    url = "https://oshbot.test/zalo/webhook"
    assert error(400)(await api("setWebhook", url="http://oshbot.test/zalo", secret_token="s" * 8))
    assert error(400)(await api("setWebhook", url="oshbot.test/zalo", secret_token="s" * 8))
    assert error(400)(await api("setWebhook", url=url, secret_token="s" * 7))
    assert error(400)(await api("setWebhook", url=url, secret_token="s" * 257))
    assert error(400)(await api("setWebhook", url=url, secret_token="with space"))
    assert error(400)(await api("setWebhook", url=url))
    assert (await api("getWebhookInfo"))["result"]["url"] == ""
    done = await api("setWebhook", url=url, secret_token="s" * 256)
    assert done["ok"] is True and done["result"]["url"] == url
    assert done["result"]["updated_at"] > 10**12
    assert (await api("getWebhookInfo"))["result"] == done["result"]
    conflict = await api("getUpdates", timeout=0)
    assert error(409)(conflict)
    deleted = await api("deleteWebhook")
    assert deleted["ok"] is True and deleted["result"]["url"] == ""
    assert error(408)(await api("getUpdates", timeout=0))


async def test_webhook_posts_each_update_with_the_secret_header(
    sb: ZaloSandbox, api: Api, web: Web
) -> None:
    user = sb.user("u1", "Chị Hoa")
    user.send_text("gửi trước khi có webhook")
    await api("setWebhook", url="https://oshbot.test/zalo/webhook", secret_token="s3cret_TOKEN-1")
    user.send_text("một")
    user.send_image("https://zcdn.example/p.jpg")
    await sb.webhook_idle()
    assert [str(r.url) for r in web.posts] == ["https://oshbot.test/zalo/webhook"] * 3
    assert all(r.headers["X-Bot-Api-Secret-Token"] == "s3cret_TOKEN-1" for r in web.posts)
    assert all(r.headers["content-type"] == "application/json" for r in web.posts)
    bodies = web.bodies()
    assert all(body["ok"] is True and set(body) == {"ok", "result"} for body in bodies)
    assert [b["result"]["event_name"] for b in bodies] == [
        "message.text.received",
        "message.text.received",
        "message.image.received",
    ]
    assert [b["result"]["message"].get("text") for b in bodies] == [
        "gửi trước khi có webhook",
        "một",
        None,
    ]
    assert all(d.accepted for d in sb.deliveries)


async def test_an_update_the_webhook_refuses_is_lost(sb: ZaloSandbox, api: Api, web: Web) -> None:
    await api("setWebhook", url="https://oshbot.test/zalo/webhook", secret_token="s3cret-token")
    web.webhook_status = 500
    sb.user("u1").send_text("mất")
    await sb.webhook_idle()
    web.webhook_status = 200
    sb.user("u1").send_text("đến")
    await sb.webhook_idle()
    assert [d.status for d in sb.deliveries] == [500, 200]
    await api("deleteWebhook")
    assert error(408)(await api("getUpdates", timeout=0))  # nothing kept for a retry


async def test_rate_limits_per_chat_and_overall(
    sb: ZaloSandbox, api: Api, clock: FakeClock
) -> None:
    for n in range(12):
        sb.user(f"u{n}")
    for _ in range(3):  # a reply of three messages at once is tolerated
        assert (await api("sendMessage", chat_id="u0", text="ok"))["ok"] is True
    limited = await api("sendMessage", chat_id="u0", text="fourth")
    # The platform names no retry_after; the sandbox gives none either.
    assert limited == {"ok": False, "error_code": 429, "description": "Too Many Requests"}
    clock.advance(1.0)
    assert (await api("sendMessage", chat_id="u0", text="a second later"))["ok"] is True
    clock.advance(10.0)
    answers = [await api("sendMessage", chat_id=f"u{n}", text="tip") for n in range(11)]
    assert [a["ok"] for a in answers] == [True] * 10 + [False]
    assert error(429)(answers[-1])
    assert sb.stats.rate_limited == 2
    # Chat actions put nothing in a chat: never limited.
    assert (await api("sendChatAction", chat_id="u0", action="typing"))["ok"] is True


async def test_rate_limits_are_configurable(clock: FakeClock) -> None:
    strict = ZaloSandbox(clock=clock, limits=RateLimits(2, 2, 0.5, 1), fetch_photos=False)
    free = ZaloSandbox(clock=clock, limits=None)
    for sandbox in (strict, free):
        sandbox.user("u1")
        sandbox.user("u2")
    async with (
        httpx.AsyncClient(transport=strict.transport()) as a,
        httpx.AsyncClient(transport=free.transport()) as b,
    ):
        base = f"{BASE_URL}{strict.token}/sendMessage"
        strict_answers = [
            (await a.post(base, json={"chat_id": chat, "text": "x"})).json()["ok"]
            for chat in ("u1", "u1", "u2", "u2")
        ]
        clock.advance(1.0)
        strict_answers.append(
            (await a.post(base, json={"chat_id": "u1", "text": "x"})).json()["ok"]
        )
        free_answers = [
            (await b.post(base, json={"chat_id": "u1", "text": "x"})).json()["ok"]
            for _ in range(50)
        ]
    assert strict_answers == [True, False, True, False, False]  # u1 waits 2 s at 0.5/s
    assert all(free_answers)


async def test_faults(sb: ZaloSandbox, api: Api, http: httpx.AsyncClient) -> None:
    sb.user("u1")
    sb.faults.add("429", method="sendMessage")
    sb.faults.add("blocked", chat_id="u1")
    assert error(429)(await api("sendMessage", chat_id="u1", text="a"))
    assert error(403)(await api("sendMessage", chat_id="u1", text="b"))
    sb.faults.add("5xx", method="sendMessage")
    page = await http.post(f"{BASE_URL}{sb.token}/sendMessage", json={"chat_id": "u1", "text": "c"})
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    sb.faults.add("timeout", method="getMe")
    with pytest.raises(httpx.ReadTimeout):
        await http.post(f"{BASE_URL}{sb.token}/getMe", json={})
    sb.faults.add("network", method="getMe")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(f"{BASE_URL}{sb.token}/getMe", json={})
    # A fault without a method spares polling, so a background poller cannot swallow it.
    sb.faults.add("429")
    assert error(408)(await api("getUpdates", timeout=0))
    assert error(429)(await api("sendSticker", chat_id="u1", sticker="s"))
    assert sb.stats.faults_fired == 6
    with pytest.raises(ValueError):
        sb.faults.add("meteor")


async def test_forms_and_query_strings_are_accepted_too(
    sb: ZaloSandbox, http: httpx.AsyncClient
) -> None:
    sb.user("u1")
    base = f"{BASE_URL}{sb.token}"
    form = await http.post(f"{base}/sendMessage", data={"chat_id": "u1", "text": "form"})
    query = await http.get(f"{base}/getMe")
    broken = await http.post(
        f"{base}/sendMessage", content=b"{", headers={"content-type": "application/json"}
    )
    assert form.json()["ok"] and query.json()["ok"]
    assert broken.status_code == 200 and broken.json()["error_code"] == 400
    assert sb.stats.content_types[("sendMessage", "application/x-www-form-urlencoded")] == 1
    assert (await http.get(f"{ORIGIN}/elsewhere")).status_code == 404
