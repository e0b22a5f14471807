"""The Bot API sandbox, driven through real PTB objects."""

from __future__ import annotations

import asyncio
import datetime as dtm
import warnings
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, Update
from telegram import InlineKeyboardMarkup as Markup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from bot.sandbox import BASE_FILE_URL, BASE_URL, FakeClock, RateLimits, Sandbox
from bot.sandbox_http import SandboxServer, parse_body

pytestmark = [
    pytest.mark.asyncio,
    # RetryAfter warns about its future timedelta type whenever PTB itself reads it.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

USER = 1001


def _retry_seconds(err: RetryAfter) -> int:
    # PTB 22 returns int or timedelta depending on PTB_TIMEDELTA and warns about the change.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = err.retry_after
    return int(value.total_seconds()) if isinstance(value, dtm.timedelta) else int(value)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> Sandbox:
    return Sandbox(clock=clock)


@pytest.fixture
async def tg(sb: Sandbox) -> AsyncIterator[Bot]:
    # Bot keeps a separate request object for getUpdates; both must use the sandbox.
    bot = Bot(
        sb.token,
        base_url=BASE_URL,
        base_file_url=BASE_FILE_URL,
        request=HTTPXRequest(httpx_kwargs={"transport": sb.transport()}),
        get_updates_request=HTTPXRequest(httpx_kwargs={"transport": sb.transport()}),
    )
    async with bot:
        yield bot


async def test_get_me(sb: Sandbox, tg: Bot) -> None:
    me = await tg.get_me()
    assert me.username == "oshbot_sandbox_bot"
    assert me.id == 123456
    assert sb.stats.calls["getMe"] == 2  # initialize() plus this call


async def test_wrong_token_and_unknown_method(sb: Sandbox) -> None:
    async with httpx.AsyncClient(transport=sb.transport()) as client:
        bad = await client.post("http://sandbox/bot1:WRONG/getMe")
        missing = await client.post(f"http://sandbox/bot{sb.token}/sendPigeon")
    assert bad.status_code == 401
    assert missing.json()["description"] == "Not Found: method not found"


async def test_send_edit_delete(sb: Sandbox, tg: Bot) -> None:
    user = sb.user(USER, "Lan")
    sent = await tg.send_message(USER, "<b>Xin chào</b> &amp; hẹn gặp", parse_mode="HTML")
    assert sent.text == "Xin chào & hẹn gặp"
    assert user.last().text == "<b>Xin chào</b> &amp; hẹn gặp"
    assert user.last().plain == "Xin chào & hẹn gặp"

    edited = await tg.edit_message_text("Tạm biệt", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, type(sent)) and edited.edit_date is not None
    assert user.last().plain == "Tạm biệt"
    assert user.last().edits[0]["plain"] == "Xin chào & hẹn gặp"
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await tg.edit_message_text("Tạm biệt", chat_id=USER, message_id=sent.message_id)

    assert await tg.delete_message(USER, sent.message_id)
    assert user.messages()[0].deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await tg.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await tg.send_message(999, "ai đó?")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await tg.send_message(USER, "1 <x> 2", parse_mode="HTML")


async def test_message_too_long(sb: Sandbox, tg: Bot) -> None:
    sb.user(USER)
    await tg.send_message(USER, "a" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await tg.send_message(USER, "a" * 4097)


async def test_photo_upload_get_file_download(sb: Sandbox, tg: Bot) -> None:
    user = sb.user(USER)
    data = bytes(range(256)) * 40 + b"\r\n--tail\r\n"
    message = await tg.send_photo(USER, data, caption="Ảnh <i>mẫu</i>", parse_mode="HTML")
    assert len(message.photo) == 3
    assert message.caption == "Ảnh mẫu"
    assert user.last().photo == message.photo[-1].file_id
    file = await tg.get_file(message.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == data

    again = await tg.send_photo(USER, message.photo[-1].file_id)
    assert [p.file_id for p in again.photo] == [p.file_id for p in message.photo]


async def test_document_upload_keeps_name_and_bytes(sb: Sandbox, tg: Bot) -> None:
    user = sb.user(USER)
    payload = b"%PDF-1.4\n\x00\xff binary"
    message = await tg.send_document(USER, payload, filename="báo cáo.pdf")
    assert message.document.file_name == "báo cáo.pdf"
    assert user.last().document_filename == "báo cáo.pdf"
    assert user.last().document_bytes == payload


async def test_bot_downloads_user_photo(sb: Sandbox, tg: Bot) -> None:
    data = b"\x89PNG fake image bytes"
    update = Update.de_json(sb.user(USER).send_photo(data, caption="hiện trường"), tg)
    assert update.message is not None and update.message.caption == "hiện trường"
    photo = update.message.photo[-1]
    assert photo.file_size == len(data)
    file = await photo.get_file()
    assert bytes(await file.download_as_bytearray()) == data


async def test_inline_keyboard_press_and_answer(sb: Sandbox, tg: Bot) -> None:
    user = sb.user(USER)
    markup = Markup(
        [
            [
                InlineKeyboardButton("Có", callback_data="yes"),
                InlineKeyboardButton("Không", callback_data="no"),
            ]
        ]
    )
    sent = await tg.send_message(USER, "Đồng ý?", reply_markup=markup)
    assert user.buttons() == [("Có", "yes"), ("Không", "no")]
    with pytest.raises(ValueError, match=r"(?i)no button"):
        user.press(sent.message_id, "maybe")

    update = Update.de_json(user.press(sent.message_id, "yes"), tg)
    query = update.callback_query
    assert query is not None and query.data == "yes"
    assert query.message is not None and query.message.text == "Đồng ý?"
    await query.answer("Đã ghi nhận", show_alert=True)
    assert user.answers() == ["Đã ghi nhận"]
    assert sb.callback_answers[0].show_alert
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer("lần hai")


async def test_a_reply_carries_the_replied_message_until_it_is_deleted(
    sb: Sandbox, tg: Bot
) -> None:
    """As Telegram: a reply to a missing message fails unless allowed; a pressed button's
    message carries the message it replies to, without nesting, and not once it is deleted."""
    user = sb.user(USER)
    said = user.send_text("Quạt hỏng rồi")["message"]
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await tg.send_message(USER, "?", reply_to_message_id=999)
    loose = await tg.send_message(
        USER, "?", reply_to_message_id=999, allow_sending_without_reply=True
    )
    assert loose.reply_to_message is None
    markup = Markup([[InlineKeyboardButton("Gửi", callback_data="send")]])
    asked = await tg.send_message(
        USER, "Gửi đi?", reply_markup=markup, reply_to_message_id=said["message_id"]
    )
    assert asked.reply_to_message is not None
    assert asked.reply_to_message.text == "Quạt hỏng rồi"
    again = await tg.send_message(USER, "!", reply_to_message_id=asked.message_id)
    assert again.reply_to_message is not None
    assert again.reply_to_message.reply_to_message is None  # never nested

    query = Update.de_json(user.press(asked.message_id, "send"), tg).callback_query
    assert query is not None and query.message is not None
    replied = query.message.reply_to_message  # type: ignore[union-attr]
    assert replied is not None and replied.text == "Quạt hỏng rồi"
    user.delete(said["message_id"])
    query = Update.de_json(user.press(asked.message_id, "send"), tg).callback_query
    assert query is not None and query.message.reply_to_message is None  # type: ignore[union-attr]


async def test_reply_keyboard_and_command(sb: Sandbox, tg: Bot) -> None:
    from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove

    user = sb.user(USER)
    await tg.send_message(USER, "Chọn", reply_markup=ReplyKeyboardMarkup([["A", "B"], ["C"]]))
    assert user.reply_keyboard() == [["A", "B"], ["C"]]
    await tg.send_message(USER, "Xong", reply_markup=ReplyKeyboardRemove())
    assert user.reply_keyboard() is None

    update = Update.de_json(user.send_command("start", "abc"), tg)
    assert update.message is not None and update.message.text == "/start abc"
    assert update.message.parse_entities(["bot_command"])
    assert sb.take_updates() and not sb.pending_updates()
    assert await tg.get_updates(timeout=0) == ()


async def test_per_chat_rate_limit(sb: Sandbox, tg: Bot, clock: FakeClock) -> None:
    sb.user(USER)
    for _ in range(3):  # the per-chat burst
        await tg.send_message(USER, "x")
    with pytest.raises(RetryAfter) as info:
        await tg.send_message(USER, "x")
    assert _retry_seconds(info.value) == 1
    assert len(sb.chat_messages(USER)) == 3
    assert sb.stats.rate_limited == 1
    clock.advance(1)
    await tg.send_message(USER, "x")
    assert len(sb.chat_messages(USER)) == 4


async def test_global_rate_limit(clock: FakeClock) -> None:
    sb = Sandbox(clock=clock, limits=RateLimits(per_chat_burst=100, per_chat_per_second=100))
    for user_id in range(1, 32):
        sb.user(user_id)
    async with sb.make_bot() as tg:
        for user_id in range(1, 31):
            await tg.send_message(user_id, "tin")
        with pytest.raises(RetryAfter):
            await tg.send_message(31, "tin")
        clock.advance(0.5)
        for user_id in range(1, 16):
            await tg.send_message(user_id, "tin")
        with pytest.raises(RetryAfter):
            await tg.send_message(31, "tin")
    assert len(sb.stats.sends) == 45
    assert sb.stats.rate_limited == 2


async def test_limits_disabled(clock: FakeClock) -> None:
    sb = Sandbox(clock=clock, limits=None)
    sb.user(USER)
    async with sb.make_bot() as tg:
        for _ in range(50):
            await tg.send_message(USER, "x")
    assert len(sb.stats.send_times(USER)) == 50


async def test_blocked_user(sb: Sandbox, tg: Bot) -> None:
    user = sb.user(USER)
    update = Update.de_json(user.block(), tg)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match=r"(?i)blocked"):
        await tg.send_message(USER, "còn đó không?")
    user.unblock()
    await tg.send_message(USER, "chào lại")


async def test_faults(sb: Sandbox, tg: Bot) -> None:
    sb.user(USER)
    sb.faults.add("5xx", method="sendMessage")
    sb.faults.add("timeout", chat_id=USER)
    sb.faults.add("forbidden", method="sendMessage", chat_id=USER)
    sb.faults.add("429", method="sendMessage", retry_after=7)
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await tg.send_message(USER, "1")
    with pytest.raises(TimedOut):
        await tg.send_message(USER, "2")
    with pytest.raises(Forbidden):
        await tg.send_message(USER, "3")
    with pytest.raises(RetryAfter) as info:
        await tg.send_message(USER, "4")
    assert _retry_seconds(info.value) == 7
    await tg.send_message(USER, "5")
    assert [m.plain for m in sb.chat_messages(USER)] == ["5"]
    assert sb.stats.faults_fired == 4


async def test_long_poll_returns_update_injected_while_waiting(sb: Sandbox, tg: Bot) -> None:
    user = sb.user(USER)

    async def later() -> None:
        await asyncio.sleep(0.05)
        user.send_text("xin chào")

    task = asyncio.create_task(later())
    updates = await tg.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates if u.message] == ["xin chào"]
    # Confirming with offset drops it, as on Telegram.
    assert await tg.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()


async def test_inject_raw_keeps_duplicate_update_ids(sb: Sandbox, tg: Bot) -> None:
    first = sb.user(USER).send_text("một")
    sb.inject_raw(first)
    updates = await tg.get_updates()
    assert [u.update_id for u in updates] == [first["update_id"]] * 2
    assert sb.user(USER).send_text("hai")["update_id"] == first["update_id"] + 1


async def test_my_commands_per_scope(sb: Sandbox, tg: Bot) -> None:
    await tg.set_my_commands([BotCommand("start", "Bắt đầu")])
    scope = BotCommandScopeChat(USER)
    await tg.set_my_commands([BotCommand("admin", "Quản trị")], scope=scope)
    assert [c.command for c in await tg.get_my_commands(scope=scope)] == ["admin"]
    assert [c.command for c in await tg.get_my_commands()] == ["start"]
    assert sb.commands(f"chat:{USER}")[0]["description"] == "Quản trị"
    await tg.delete_my_commands(scope=scope)
    assert await tg.get_my_commands(scope=scope) == ()


async def test_webhook_conflicts_with_get_updates(sb: Sandbox, tg: Bot) -> None:
    from telegram.error import Conflict

    await tg.set_webhook("https://example.org/hook", secret_token="s3cret")
    assert (await tg.get_webhook_info()).url == "https://example.org/hook"
    assert sb.webhook_secret == "s3cret"
    with pytest.raises(Conflict):
        await tg.get_updates()
    await tg.delete_webhook()
    assert await tg.get_updates() == ()


async def test_chat_action(sb: Sandbox, tg: Bot) -> None:
    sb.user(USER)
    await tg.send_chat_action(USER, "typing")
    assert sb.chat_actions == [(USER, "typing")]


async def test_parse_body_multipart_roundtrip() -> None:
    data = b"\x00\x01\r\n--x\r\n\xff"
    request = httpx.Request(
        "POST",
        "http://sandbox/",
        data={"chat_id": "5"},
        files={"document": ("tên tệp.bin", data, "application/x-test")},
    )
    params, files = parse_body(request.headers["content-type"], request.read())
    assert params == {"chat_id": "5"}
    assert files["document"].data == data
    assert files["document"].filename == "tên tệp.bin"


async def test_http_server_with_control_endpoints() -> None:
    sb = Sandbox()
    server = SandboxServer(sb, port=0)
    port = await server.start()
    try:
        base = f"http://127.0.0.1:{port}"
        async with (
            Bot(sb.token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot") as tg,
            httpx.AsyncClient() as client,
        ):
            assert (await tg.get_me()).username == "oshbot_sandbox_bot"
            response = await client.post(
                f"{base}/sandbox/users/{USER}/messages",
                json={"text": "/start xyz", "first_name": "Minh"},
            )
            assert response.status_code == 200
            updates = await tg.get_updates(timeout=1)
            assert updates[0].message is not None
            assert updates[0].message.text == "/start xyz"
            assert updates[0].message.from_user.first_name == "Minh"

            sent = await tg.send_message(
                USER,
                "Chọn",
                reply_markup=Markup.from_button(InlineKeyboardButton("OK", callback_data="ok")),
            )
            document = await tg.send_document(USER, b"abc" * 1000, filename="a.txt")
            file = await tg.get_file(document.document.file_id)
            assert bytes(await file.download_as_bytearray()) == b"abc" * 1000

            response = await client.post(
                f"{base}/sandbox/users/{USER}/callbacks",
                json={"message_id": sent.message_id, "data": "ok"},
            )
            assert response.json()["callback_query"]["data"] == "ok"
            messages = (await client.get(f"{base}/sandbox/chats/{USER}/messages")).json()
            assert [m["plain"] for m in messages] == ["Chọn", ""]
            assert messages[1]["document"]["filename"] == "a.txt"
            stats = (await client.get(f"{base}/sandbox/stats")).json()
            assert stats["calls"]["sendMessage"] == 1
    finally:
        await server.stop()


async def test_application_polling_and_direct_processing(sb: Sandbox) -> None:
    from telegram.ext import CommandHandler, ContextTypes

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, f"chào {context.args}")

    app = sb.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    user = sb.user(USER)
    async with app:
        # Direct consumption: the update is taken, so polling must not deliver it again.
        user.send_command("start", "a")
        for raw in sb.take_updates():
            await app.process_update(Update.de_json(raw, app.bot))
        assert user.last().plain == "chào ['a']"

        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        user.send_command("start", "b")
        for _ in range(100):
            if len(user.messages()) == 2:
                break
            await asyncio.sleep(0.02)
        await app.updater.stop()
        await app.stop()
    assert [m.plain for m in user.messages()] == ["chào ['a']", "chào ['b']"]


async def test_http_timeout_fault_is_a_client_timeout() -> None:
    sb = Sandbox()
    sb.user(USER)
    server = SandboxServer(sb, timeout_delay=2)
    port = await server.start()
    try:
        request = HTTPXRequest(read_timeout=0.3)
        async with Bot(sb.token, base_url=f"http://127.0.0.1:{port}/bot", request=request) as tg:
            sb.faults.add("timeout", method="sendMessage")
            with pytest.raises(TimedOut):
                await tg.send_message(USER, "chậm")
            await tg.send_message(USER, "nhanh")
    finally:
        await server.stop()
    assert [m.plain for m in sb.chat_messages(USER)] == ["nhanh"]
