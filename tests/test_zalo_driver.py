"""The journeys on Zalo: the Zalo driver against the in-process Zalo sandbox, beside the Telegram
bot against its own sandbox, on one database. Choices are numbered and answered by number or
words, photos arrive as URLs, long texts are split, and a restart continues where it stopped."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlmodel import select

from bot.sandbox import FakeClock, Sandbox
from bot.sandbox_http import SandboxServer
from bot.sender import send_due, zalo_route
from bot.web import create_app
from bot.zalo import render
from bot.zalo.channel import ZaloChannel
from bot.zalo.driver import to_input
from bot.zalo.limits import MAX_TEXT, RateLimits, text_length
from bot.zalo.pacing import Pacer
from bot.zalo.sandbox import BASE_URL, SandboxUser, SentMessage, ZaloSandbox
from bot.zalo.sandbox_http import ZaloSandboxServer
from bot.zalo.types import STICKER, TEXT
from bot.zalo.types import Message as ZaloMessage
from models import surveys
from models.db import Database
from models.journeys.core import Action, Input, Outcome, Reply
from models.journeys.onboarding import CODE_TYPED
from models.journeys.state import zalo_person
from models.programme import (
    SHORT_CODE_GUESSES,
    ZALO_CONSENT_TEXT_VERSION,
    EnterpriseDraft,
    add_enterprise,
    add_provider,
    create_invite,
    format_short_code,
)
from models.tables import (
    Consent,
    Contact,
    Improvement,
    Invite,
    JourneyState,
    ReviewStatus,
    Role,
    SurveyResponse,
)
from tests.conftest import World
from tests.factories import (
    ASK_AFTER,
    ASK_AREA,
    ASK_BEFORE,
    ASK_COST,
    ASK_KIND,
    ASK_LIKELY_AFTER,
    ASK_LIKELY_BEFORE,
    ASK_SEVERITY_AFTER,
    ASK_SEVERITY_BEFORE,
    ASK_SHARE,
    ASK_TEXT,
    ASK_WORKERS,
    DESCRIPTION,
    OSHBOT,
    SUMMARY,
    join,
    make_enterprise,
    make_invite,
    make_provider,
    next_reply,
    tap,
    wait_for,
)

PUBLIC_URL = "https://osh.test"


@dataclass
class Zalo:
    """The Zalo side of the world: its sandbox and the running channel (client + driver)."""

    world: World
    sandbox: ZaloSandbox
    api_clock: FakeClock
    channel: ZaloChannel = field(init=False)

    def start(self) -> None:
        settings = self.world.settings.model_copy(
            update={
                "zalo_token": self.sandbox.token,
                "zalo_api_base_url": BASE_URL,
                "public_url": PUBLIC_URL,
            }
        )
        self.channel = ZaloChannel(
            settings,
            self.world.database,
            clock=self.world.clock,
            transport=self.sandbox.transport(),
            fetch_transport=self.sandbox.transport(),
            # Paced on the sandbox's clock: its waits move that clock, not the test's time.
            pacer=Pacer(clock=self.api_clock, sleep=self.api_clock.sleep),
        )
        # Invites shown on Zalo carry the Telegram link beside the code to type.
        self.channel.driver.telegram_username = self.world.application.bot.username

    async def restart(self) -> None:
        """A new process: a new client and driver, nothing kept in memory (a restart takes a
        few seconds, in which the platform's rate limits fill up again)."""
        await self.channel.stop()
        self.api_clock.advance(5)
        self.start()

    async def deliver(self) -> None:
        """Every update waiting at the platform, taken with getUpdates and handled in order."""
        while (update := await self.channel.client.get_updates(timeout=0)) is not None:
            await self.channel.driver.dispatch(update)
        await self.channel.driver.idle()

    async def say(self, user: SandboxUser, text: str) -> list[SentMessage]:
        seen = len(user.messages())
        user.send_text(text)
        await self.deliver()
        return user.messages()[seen:]

    async def photo(self, user: SandboxUser, data: bytes) -> list[SentMessage]:
        seen = len(user.messages())
        user.send_image(data=data)
        await self.deliver()
        return user.messages()[seen:]


@pytest.fixture
async def zalo(world: World) -> AsyncIterator[Zalo]:
    clock = FakeClock()
    # Photos sent by link are fetched from the bot's own web application (GET /files/<token>).
    web = httpx.ASGITransport(app=create_app(world.application))
    created = Zalo(world, ZaloSandbox(clock=clock, http_transport=web), clock)
    created.start()
    yield created
    await created.channel.stop()
    assert created.sandbox.stats.rate_limited == 0


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (seed * 40 % 256, 120, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def text_of(messages: list[SentMessage]) -> str:
    return "\n".join(m.plain for m in messages)


def number_of(messages: list[SentMessage], label: str) -> str:
    """The number a message shows in front of an option."""
    for line in text_of(messages).splitlines():
        found = re.fullmatch(r"(\d+)\. (.*)", line)
        if found and found.group(2) == label:
            return found.group(1)
    raise LookupError(f"no option {label!r} in {text_of(messages)!r}")


def short_code(world: World, code: str) -> str:
    with world.database.session() as session:
        invite = session.exec(select(Invite).where(Invite.code == code)).one()
        return format_short_code(invite.short_code)


def zalo_contact(world: World, user_id: str) -> Contact | None:
    with world.database.session() as session:
        return session.exec(select(Contact).where(Contact.zalo_user_id == user_id)).first()


async def register(zalo: Zalo, user: SandboxUser, enterprise: int) -> None:
    code = short_code(zalo.world, make_invite(zalo.world, Role.EMPLOYER, enterprise_id=enterprise))
    asked = await zalo.say(user, code.lower())
    assert "Anh/Chị muốn dùng ngôn ngữ nào?" in text_of(asked)
    assert "1. Tiếng Việt\n2. English\n\nTrả lời 1 hoặc 2." in text_of(asked)
    consent = await zalo.say(user, "1")
    assert "Trả lời 1, 2 hoặc 3." in text_of(consent)
    # The card speaks of Zalo, and of the rights' commands, which work in the Zalo chat.
    assert "tài khoản Zalo" in text_of(consent) and "Telegram" not in text_of(consent)
    assert "/deleteme" in text_of(consent) and "DỪNG" in text_of(consent)
    welcome = await zalo.say(user, number_of(consent, "✅ Tôi đồng ý"))
    assert "Chào mừng Xưởng mộc Hòa Phát" in text_of(welcome)
    assert "Trên Zalo, Anh/Chị có thể:" in text_of(welcome)
    assert "/report" in text_of(welcome)


async def test_a_zalo_employer_reports_with_two_photos_and_telegram_staff_review(
    world: World, zalo: Zalo
) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    await join(world, 501, make_invite(world, Role.STAFF, provider_id=provider))
    staff = world.user(501)
    employer = zalo.sandbox.user("7e5a1c0d9b2f4a6e8c10", "Chị Mai")

    await register(zalo, employer, enterprise)
    contact = zalo_contact(world, employer.id)
    assert contact is not None and contact.role == Role.EMPLOYER
    assert contact.telegram_user_id is None and contact.enterprise_id == enterprise

    # The menu's words, without diacritics, open the report.
    area = await zalo.say(employer, "bao cao cai thien")
    assert ASK_AREA in text_of(area) and "Trả lời bằng một số từ 1 đến" in text_of(area)
    # An option by its words, without diacritics or case; the next by its number.
    kind = await zalo.say(employer, "LUU GIU, VAN CHUYEN")
    assert ASK_KIND in text_of(kind)
    asked = await zalo.say(employer, number_of(kind, "Giá, kệ nhiều tầng"))
    assert ASK_TEXT in text_of(asked)
    assert ASK_BEFORE in text_of(await zalo.say(employer, DESCRIPTION))
    saved = await zalo.photo(employer, jpeg(1))
    assert "📷 Đã lưu ảnh." in text_of(saved) and ASK_AFTER in text_of(saved)
    assert ASK_COST in text_of(await zalo.photo(employer, jpeg(2)))
    assert ASK_WORKERS in text_of(await zalo.say(employer, "500k"))
    likely = await zalo.say(employer, "8")
    assert ASK_LIKELY_BEFORE in text_of(likely)
    severe = await zalo.say(employer, "de xay ra")
    assert ASK_SEVERITY_BEFORE in text_of(severe)
    after = await zalo.say(employer, number_of(severe, "nghiêm trọng"))
    assert ASK_LIKELY_AFTER in text_of(after)
    assert ASK_SEVERITY_AFTER in text_of(await zalo.say(employer, "ít khả năng"))
    share = await zalo.say(employer, "nhe")
    assert ASK_SHARE in text_of(share)
    people = await zalo.say(employer, "co, khong neu ten")
    assert "Trong ảnh có người không?" in text_of(people)
    summary = await zalo.say(employer, "trong anh khong co nguoi")
    assert SUMMARY in text_of(summary)
    # Plain text: the card's HTML is gone, its entities are characters.
    assert "<b>" not in text_of(summary) and "&" not in text_of(summary)
    sent = await zalo.say(employer, number_of(summary, "✅ Xác nhận và gửi"))
    assert "Cảm ơn Anh/Chị!" in text_of(sent)

    with world.database.session() as session:
        stored = session.exec(select(Improvement)).one()
        assert stored.status == ReviewStatus.SUBMITTED
        # Made on Zalo, and said so where reports are listed (exports, the dashboard).
        assert stored.source == "zalo"
        assert stored.photo_before_path and stored.photo_after_path
        assert stored.photo_before_path != stored.photo_after_path
        media = world.settings.media_dir
        assert (media / stored.photo_before_path).exists()
        assert (media / stored.photo_after_path).exists()

    # The staff member on Telegram gets the card with both photos and verifies it.
    await world.drain()
    assert any("Báo cáo cải thiện mới" in text for text in staff.texts())
    assert len([m for m in staff.account.messages() if m.method == "sendPhoto"]) >= 2
    await tap(staff, "✅ Xác nhận")
    assert staff.answers()[-1] == "Đã xác nhận. Xin cảm ơn!"
    with world.database.session() as session:
        assert session.exec(select(Improvement)).one().status == ReviewStatus.VERIFIED
    # The outbox tells the reporter on Zalo, in plain text, through the channel's own client.
    seen = len(employer.messages())
    route = zalo_route(zalo.channel.driver.settings, zalo.channel.client)
    report = await send_due(
        world.application.bot, world.database, now=world.clock(), channel="zalo", zalo=route
    )
    assert report.sent >= 1
    told = text_of(employer.messages()[seen:])
    assert "xác nhận" in told and "<b>" not in told
    for message in employer.messages():
        assert message.text is None or text_length(message.text) <= MAX_TEXT


async def test_a_zalo_employer_answers_the_survey_by_numbers_and_words(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    boss = zalo.sandbox.user("5u7v3y", "Chị Mai")
    await register(zalo, boss, enterprise)
    intro = await zalo.say(boss, "/feedback")
    assert "1 = Chưa hữu ích · 5 = Rất hữu ích" in text_of(intro)
    assert "Trả lời 1, 2, 3, 4 hoặc 5." in text_of(intro)
    # Several choices: each toggle shows the options again, ticked; words or numbers.
    multiple = await zalo.say(boss, "4")
    assert "có thể chọn nhiều" in text_of(multiple)
    await zalo.say(boss, "tap huan")
    await zalo.say(boss, "Góp ý khi cán bộ đến thăm")
    await zalo.say(boss, "TẬP HUẤN")
    ticked = await zalo.say(boss, "tai lieu")
    assert "✅ Góp ý khi cán bộ đến thăm" in text_of(ticked)
    assert "⬜ Tập huấn" in text_of(ticked)
    await zalo.say(boss, number_of(ticked, "✔ Xong"))
    await zalo.say(boss, "Kho gọn gàng, lối đi thông thoáng")
    for answer in ("Lưu giữ", "Vị trí làm việc", "Chưa có cải thiện mới", "luu giu", "xong"):
        await zalo.say(boss, answer)
    partly = await zalo.say(boss, "con mot phan")
    assert "vì sao một số cải thiện không còn" in text_of(partly)
    await zalo.say(boss, "Thợ mới chưa quen")
    await zalo.say(boss, "Nơi làm việc gọn gàng hơn")
    await zalo.say(boss, "xong")
    following = await zalo.say(boss, "kinh phi")
    assert "Cải thiện tiếp theo" in text_of(following) and "Trả lời 1 để chọn." in text_of(
        following
    )
    await zalo.say(boss, "1")  # Skip, its only option
    await zalo.say(boss, "Khác")
    await zalo.say(boss, "xong")
    await zalo.say(boss, "Đo nhiệt độ trong xưởng")
    done = await zalo.say(boss, "co")
    assert "Cảm ơn Anh/Chị đã dành thời gian chia sẻ" in text_of(done)
    with world.database.session() as session:
        response = session.exec(select(SurveyResponse)).one()
        assert response.id is not None
        stored = surveys.stored_answers(session, response.id)
    assert stored["usefulness"] == 4 and stored["improvements_kept"] == "partly"
    assert sorted(stored["support_helpful"]) == ["materials", "visit_advice"]
    assert stored["improvement_areas"] == "storage" and stored["recommend"] == "yes"
    assert stored["support_wanted_other"] == "Đo nhiệt độ trong xưởng"


async def test_numbers_and_words_outside_the_options_are_not_taken(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    employer = zalo.sandbox.user("a1", "Anh Tuấn")
    await register(zalo, employer, enterprise)
    await zalo.say(employer, "/report")
    # A number past the options, or words that name none, is not an answer.
    wrong = await zalo.say(employer, "42")
    assert ASK_KIND not in text_of(wrong)
    again = await zalo.say(employer, "cái gì đó")
    assert ASK_KIND not in text_of(again)
    # A command of Telegram's alone is refused and sets nothing aside: the report goes on.
    elsewhere = await zalo.say(employer, "/inbox")
    assert "Việc này chưa làm được trên Zalo" in text_of(elsewhere)
    assert "/report" in text_of(elsewhere) and "tạm dừng" not in text_of(elsewhere)
    chosen = await zalo.say(employer, "1.")
    assert ASK_KIND in text_of(chosen)


async def test_wrong_kinds_of_message_are_answered_and_lose_nothing(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    employer = zalo.sandbox.user("b2", "Chị Lan")
    await register(zalo, employer, enterprise)
    await zalo.say(employer, "/report")
    await zalo.say(employer, "2")
    await zalo.say(employer, "1")
    # A sticker where words are expected: told what to send; the question stays.
    seen = len(employer.messages())
    employer.send_sticker()
    await zalo.deliver()
    told = text_of(employer.messages()[seen:])
    assert "Anh/Chị vui lòng trả lời bằng chữ." in told
    # A message Zalo does not pass on (a file, a location): the same.
    seen = len(employer.messages())
    employer.send_unsupported()
    await zalo.deliver()
    assert "Anh/Chị vui lòng trả lời bằng chữ." in text_of(employer.messages()[seen:])
    # Text where a photo is expected.
    assert ASK_BEFORE in text_of(await zalo.say(employer, DESCRIPTION))
    hint = await zalo.say(employer, "ảnh ở đâu?")
    assert ASK_AFTER not in text_of(hint) and text_of(hint)
    # A photo that is not one (a file behind the URL): refused in words, still at the question.
    seen = len(employer.messages())
    employer.send_image(data=b"%PDF-1.4 not a photo")
    await zalo.deliver()
    assert "JPEG hoặc PNG" in text_of(employer.messages()[seen:])
    assert ASK_AFTER in text_of(await zalo.photo(employer, jpeg(3)))


async def test_a_restart_in_the_middle_continues_with_the_same_numbers(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    employer = zalo.sandbox.user("c3", "Anh Hùng")
    await register(zalo, employer, enterprise)
    areas = await zalo.say(employer, "/report")
    await zalo.restart()
    # The numbers shown before the restart are read from the database by the new driver.
    with world.database.session() as session:
        state = session.get(JourneyState, zalo_person(employer.id))
        assert state is not None and state.journey == "report"
    kinds = await zalo.say(employer, number_of(areas, "📦 Lưu giữ, vận chuyển"))
    assert ASK_KIND in text_of(kinds)
    # Long polling, as `oshbot run` does it, continues the same journey.
    await zalo.restart()
    await zalo.channel.start()
    employer.send_text(number_of(kinds, "Giá, kệ nhiều tầng"))
    for _ in range(1000):
        if any(ASK_TEXT in m.plain for m in employer.messages()):
            break
        await asyncio.sleep(0.01)
    assert ASK_TEXT in employer.last().plain


async def test_one_persons_messages_are_handled_in_order_others_alongside(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    first, second = zalo.sandbox.user("0rd1"), zalo.sandbox.user("0rd2")
    await register(zalo, first, enterprise)
    await register(zalo, second, enterprise)
    # Typed quickly, taken from the platform at once: each in a task of its own, as polling does.
    for person in (first, second):
        person.send_text("/report")
        person.send_text("1")
        person.send_text("1")
    driver = zalo.channel.driver
    while (update := await zalo.channel.client.get_updates(timeout=0)) is not None:
        driver.spawn(update)
    await driver.idle()
    for person in (first, second):
        assert ASK_TEXT in person.last().plain, person.inbox_text()


async def test_a_blocked_person_is_unreachable_on_zalo_only_until_they_write(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    person = zalo.sandbox.user("b10c", "Anh Nam")
    await register(zalo, person, enterprise)
    person.block()
    person.send_text("/report")
    await zalo.deliver()
    contact = zalo_contact(world, person.id)
    assert contact is not None and contact.zalo_unreachable_at == world.clock()
    assert contact.unreachable_at is None  # Telegram's own mark is untouched
    person.unblock()
    answered = await zalo.say(person, "/cancel")
    assert answered
    contact = zalo_contact(world, person.id)
    assert contact is not None and contact.zalo_unreachable_at is None


async def test_short_codes_are_rate_limited_per_zalo_sender(world: World, zalo: Zalo) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    code = short_code(world, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    guesser = zalo.sandbox.user("d4", "Ai đó")
    for _ in range(SHORT_CODE_GUESSES):
        refused = await zalo.say(guesser, "ACDEF-GHJKM")
        assert "Mã này không hợp lệ" in text_of(refused)
    # Locked out: even the right code is refused for this sender, and nobody is registered.
    assert "Mã này không hợp lệ" in text_of(await zalo.say(guesser, code))
    assert zalo_contact(world, guesser.id) is None
    # Another sender is not: the code works for them.
    other = zalo.sandbox.user("d5", "Người khác")
    assert "Trả lời 1 hoặc 2." in text_of(await zalo.say(other, code))
    # Someone not registered who types anything else is told how to join on Zalo.
    stranger = zalo.sandbox.user("d6")
    assert "gõ mã" in text_of(await zalo.say(stranger, "xin chào"))
    # Joining without an invite (the newsletter's QR code) is made in Telegram for now.
    assert "Telegram" in text_of(await zalo.say(stranger, "/start join"))
    with world.database.session() as session:
        assert session.get(JourneyState, zalo_person(stranger.id)) is None


async def test_long_texts_are_split_between_words_and_files_go_as_signed_links(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    person = zalo.sandbox.user("e5", "Chị Hoa")
    await register(zalo, person, enterprise)
    words = [f"từ{n}" for n in range(900)]
    long_text = " ".join(words) + " 😀" * 300
    who = await _who(zalo, person)
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 0, 0)).save(png, "PNG")
    outcome = Outcome().say(long_text)
    outcome.show(Reply("<b>Mã QR</b> &amp; liên kết", photo=png.getvalue()))
    outcome.show(Reply("Báo cáo", document=b"%PDF-1.4", document_name="bao-cao.pdf"))
    # Only the last message's options a journey takes are numbered, and only while it is in
    # front; a button of Telegram's plain commands is left out.
    outcome.say("Trước:", [[Action("Bỏ qua", "rep:nophoto:before")]])
    outcome.say("Chọn:", [[Action("Một", "rep:share:no"), Action("Thành viên", "mem:1")],
                          [Action("Hai", "rep:share:anonymous")]])  # fmt: skip
    outcome.in_front = True
    seen = len(person.messages())
    await zalo.channel.driver.show(person.id, outcome, who)
    sent = person.messages()[seen:]
    texts = [m.text for m in sent if m.method == "sendMessage"]
    pieces = [t for t in texts if t and ("từ" in t or "😀" in t)]
    assert len(pieces) >= 3 and all(text_length(p) <= MAX_TEXT for p in pieces)
    assert " ".join(pieces).split() == long_text.split()
    (photo,) = [m for m in sent if m.method == "sendPhoto"]
    assert photo.photo_url is not None and photo.photo_url.startswith(f"{PUBLIC_URL}/files/")
    assert photo.caption == "Mã QR & liên kết" and photo.photo_bytes == png.getvalue()
    document = next(t for t in texts if t and t.startswith("Báo cáo"))
    assert f"Tải về: {PUBLIC_URL}/files/" in document
    assert texts[-2:] == ["Trước:", "Chọn:\n\n1. Một\n2. Hai\n\nTrả lời 1 hoặc 2."]


async def test_the_web_applications_zalo_webhook_runs_the_same_driver(
    world: World, zalo: Zalo
) -> None:
    """`oshbot serve`: Zalo posts each update to /zalo with its secret; the driver answers."""
    secret = "zalo-webhook-secret-1"
    runtime = world.application.bot_data["runtime"]
    runtime.settings = zalo.channel.driver.settings.model_copy(
        update={"zalo_webhook_secret": secret}
    )
    web = create_app(world.application, zalo_dispatch=zalo.channel.driver.dispatch)
    platform = ZaloSandbox(http_transport=httpx.ASGITransport(app=web))
    await zalo.channel.client.aclose()
    zalo.channel.client = zalo.channel.driver.client = type(zalo.channel.client)(
        platform.token, BASE_URL, platform.transport()
    )
    await zalo.channel.client.set_webhook(f"{PUBLIC_URL}/zalo", secret)
    enterprise = make_enterprise(world, make_provider(world))
    code = short_code(world, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    person = platform.user("0a0b0c", "Chị Thu")
    person.send_text(code)
    await platform.webhook_idle()
    assert [d.status for d in platform.deliveries] == [200]
    assert "Trả lời 1 hoặc 2." in person.last().plain
    # A post without the secret reaches nobody.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url=PUBLIC_URL
    ) as http:
        forged = await http.post("/zalo", json={"ok": True, "result": {"event_name": "x"}})
    assert forged.status_code == 403


async def _who(zalo: Zalo, user: SandboxUser):  # type: ignore[no-untyped-def]
    driver = zalo.channel.driver
    return await asyncio.to_thread(driver._who, user.id, zalo_person(user.id))


# -- the rendering alone


def test_plain_text_from_the_journeys_html() -> None:
    assert render.plain("<b>Báo cáo</b> &amp; <i>ảnh</i> &lt;3") == "Báo cáo & ảnh <3"
    assert render.plain('<a href="https://x.vn/a">trang</a>') == "trang (https://x.vn/a)"
    assert render.plain('<a href="https://x.vn/a">https://x.vn/a</a>') == "https://x.vn/a"


def test_split_never_cuts_a_word() -> None:
    text = ("một hai ba " * 500).strip()
    pieces = render.split(text, limit=100)
    assert all(text_length(p) <= 100 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    lines = render.split("dòng một\n" + "x" * 60 + "\ndòng ba", limit=70)
    assert lines[0] == "dòng một" + "\n" + "x" * 60 or lines[0] == "dòng một"
    assert render.split("😀" * 1500, limit=2000)[0] == "😀" * 1000


def test_options_match_by_number_or_words() -> None:
    actions = [Action("✅ Tôi đồng ý", "a"), Action("Không, cảm ơn", "b")]
    assert render.match("1", actions) == actions[0]
    assert render.match(" 2) ", actions) == actions[1]
    assert render.match("toi dong y", actions) == actions[0]
    assert render.match("KHÔNG CẢM ƠN", actions) == actions[1]
    assert render.match("3", actions) is None
    assert render.match("đồng ý", actions) is None
    assert render.match("0", actions) is None

    assert render.fold("Đà Nẵng") == "da nang"


# -- `oshbot run` as a process, on both channels over HTTP


async def test_oshbot_run_serves_zalo_beside_telegram_over_http(
    database: Database, tmp_path: Path
) -> None:
    """The issue's test of done: a Zalo employer reports with two photos and the staff member
    on Telegram reviews it, through the two HTTP sandboxes, with `oshbot run` as a process."""
    telegram = Sandbox(limits=None)
    telegram_server = SandboxServer(telegram)
    telegram_port = await telegram_server.start()
    # Faster than the platform's assumed one a second per chat, and the bot paced to match:
    # the pacing is the same, the test is quicker.
    platform = ZaloSandbox(limits=RateLimits(per_chat_per_second=20, global_per_second=40))
    zalo_server = ZaloSandboxServer(platform)
    await zalo_server.start()
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Hải Phòng")
        draft = EnterpriseDraft("Xưởng may Bình Minh", "wood", "da-nang", 30, date(2026, 10, 1))
        enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=date(2027, 3, 1)
        )
        staff_code = create_invite(session, role=Role.STAFF, provider_id=provider.id, days=14).code
        invite = create_invite(session, role=Role.EMPLOYER, enterprise_id=enterprise.id, days=14)
        typed = format_short_code(invite.short_code)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OSHBOT_")},
        "OSHBOT_TOKEN": telegram.token,
        "OSHBOT_API_BASE_URL": f"http://127.0.0.1:{telegram_port}/bot",
        "OSHBOT_ZALO_TOKEN": platform.token,
        "OSHBOT_ZALO_API_BASE_URL": zalo_server.base_url,
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(tmp_path / "data"),
        "OSHBOT_SEND_INTERVAL": "0.5",
        "OSHBOT_ZALO_CHAT_RATE": "15",
        "OSHBOT_ZALO_SEND_RATE": "30",
        "OSHBOT_QUIET_START": "00:00",  # no quiet hours, whatever the time the test runs
        "OSHBOT_QUIET_END": "00:00",
    }
    process = subprocess.Popen([*OSHBOT, "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    employer = platform.user("f00dcafe00000000beef", "Chị Ngọc")

    async def answer(text: str | bytes, expected: str) -> str:
        """Sends a text (or a photo's bytes) and waits for the answer that says `expected`."""
        seen = len(employer.messages())
        if isinstance(text, bytes):
            employer.send_image(data=text)
        else:
            employer.send_text(text)
        await wait_for(lambda: expected in text_of(employer.messages()[seen:]), process)
        return text_of(employer.messages()[seen:])

    try:
        staff = telegram.user(4343, "Minh")
        staff.send_command("/start", staff_code)
        language = await next_reply(staff, process, 0)
        staff.press(language.message_id, "onb:lang:vi")
        consent = await next_reply(staff, process, 1)
        staff.press(consent.message_id, "onb:agree")
        await next_reply(staff, process, 2)

        await answer(typed, "Trả lời 1 hoặc 2.")
        await answer("1", "Trả lời 1, 2 hoặc 3.")
        await answer("1", "Trên Zalo, Anh/Chị có thể:")
        areas = await answer("/report", "Trả lời bằng một số")
        kinds = await answer(_number(areas, "📦 Lưu giữ, vận chuyển"), "Trả lời bằng một số")
        await answer(_number(kinds, "Giá, kệ nhiều tầng"), ASK_TEXT)
        await answer(DESCRIPTION, ASK_BEFORE)
        await answer(jpeg(4), ASK_AFTER)
        await answer(jpeg(5), ASK_COST)
        await answer("Miễn phí", ASK_WORKERS)
        await answer("12", ASK_LIKELY_BEFORE)
        await answer("3", ASK_SEVERITY_BEFORE)
        await answer("2", ASK_LIKELY_AFTER)
        await answer("1", ASK_SEVERITY_AFTER)
        await answer("1", ASK_SHARE)
        await answer("co, khong neu ten", "Trong ảnh có người không?")
        summary = await answer("1", "Trả lời 1, 2 hoặc 3.")
        assert SUMMARY in summary
        await answer(_number(summary, "✅ Xác nhận và gửi"), "Cảm ơn Anh/Chị!")

        def card() -> Any:
            return next((m for m in staff.messages() if "Báo cáo cải thiện mới" in m.plain), None)

        await wait_for(lambda: card() is not None, process)
        verify = next(data for label, data in staff.buttons(card()) if label == "✅ Xác nhận")
        assert verify is not None
        seen = len(staff.messages())
        staff.press(card().message_id, verify)
        with database.session() as session:
            await wait_for(
                lambda: (
                    session.exec(select(Improvement.status)).one() == ReviewStatus.VERIFIED
                    or session.rollback() is not None
                ),  # type: ignore[func-returns-value]
                process,
            )
        assert len(staff.messages()) >= seen
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        await zalo_server.stop()
        await telegram_server.stop()
    assert process.returncode == 0 or process.returncode == -15, stderr.decode()[-2000:]
    assert platform.token not in stderr.decode(), "the Zalo token leaked into the logs"
    assert platform.stats.rate_limited == 0
    with database.session() as session:
        stored = session.exec(select(Improvement)).one()
        assert stored.photo_before_path and stored.photo_after_path
        contact = session.exec(select(Contact).where(Contact.zalo_user_id == employer.id)).one()
        assert contact.role == Role.EMPLOYER and stored.reporter_id == contact.id


def _number(text: str, label: str) -> str:
    for line in text.splitlines():
        found = re.fullmatch(r"(\d+)\. (.*)", line)
        if found and found.group(2) == label:
            return found.group(1)
    raise LookupError(f"no option {label!r} in {text!r}")


async def test_oshbot_run_with_only_a_zalo_token_runs_zalo_alone(
    database: Database, tmp_path: Path
) -> None:
    platform = ZaloSandbox(limits=None)
    server = ZaloSandboxServer(platform)
    await server.start()
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Cần Thơ")
        invite = create_invite(session, role=Role.STAFF, provider_id=provider.id, days=14)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OSHBOT_")},
        "OSHBOT_ZALO_TOKEN": platform.token,
        "OSHBOT_ZALO_API_BASE_URL": server.base_url,
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(tmp_path / "data"),
    }
    process = subprocess.Popen([*OSHBOT, "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    person = platform.user("5a1f", "Anh Phúc")
    try:
        person.send_text(f"/start {format_short_code(invite.short_code)}")
        await wait_for(lambda: "Trả lời 1 hoặc 2." in text_of(person.messages()), process)
        person.send_text("english")
        await wait_for(lambda: "Reply 1, 2 or 3." in text_of(person.messages()), process)
        person.send_text("1")
        await wait_for(
            lambda: "Here is what you can do on Zalo:" in text_of(person.messages()), process
        )
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        await server.stop()
    assert process.returncode in (0, -15), stderr.decode()[-2000:]
    with database.session() as session:
        contact = session.exec(select(Contact).where(Contact.zalo_user_id == person.id)).one()
        assert contact.role == Role.STAFF and contact.language == "en"
        consents = session.exec(select(Consent).where(Consent.contact_id == contact.id)).all()
        assert {c.text_version for c in consents} == {ZALO_CONSENT_TEXT_VERSION}


def _message(text: str) -> ZaloMessage:
    return ZaloMessage.model_validate(
        {"message_id": "m1", "date": 1796643086734, "chat": {"id": "u1"}, "from": {"id": "u1"},
         "text": text}
    )  # fmt: skip


def test_zalo_text_becomes_a_command_an_option_or_words() -> None:
    options = [Action("✅ Confirm", "rep:ok:1"), Action("✖ Cancel", "rep:cancel")]
    assert to_input(_message("/cancel"), TEXT, options).command == "cancel"  # type: ignore[union-attr]
    assert to_input(_message("cancel"), TEXT, options).payload == "rep:cancel"  # type: ignore[union-attr]
    assert to_input(_message("2"), TEXT, options).payload == "rep:cancel"  # type: ignore[union-attr]
    assert to_input(_message("2"), TEXT).text == "2"  # type: ignore[union-attr]
    typed = to_input(_message("/start k7qxm-4rtwa"), TEXT)
    assert typed is not None and typed.command == CODE_TYPED and typed.text == "k7qxm-4rtwa"
    menu = to_input(_message("BAO CAO CAI THIEN"), TEXT)
    assert menu is not None and menu.command == "report"
    assert to_input(_message("x"), STICKER) == Input(other="sticker")


async def test_zalo_staff_add_an_enterprise_and_get_its_qr_codes_by_link(
    world: World, zalo: Zalo
) -> None:
    provider = make_provider(world)
    code = short_code(world, make_invite(world, Role.STAFF, provider_id=provider))
    person = zalo.sandbox.user("57aff", "Chị Hằng")
    await zalo.say(person, code)
    await zalo.say(person, "tieng viet")
    welcome = await zalo.say(person, "toi dong y")
    assert "/newenterprise" in text_of(welcome)
    assert "Tên doanh nghiệp là gì?" in text_of(await zalo.say(person, "them doanh nghiep"))
    sectors = await zalo.say(person, "Xưởng may Thu Hà")
    provinces = await zalo.say(person, number_of(sectors, "🧵 Dệt may"))
    assert "Doanh nghiệp ở tỉnh/thành phố nào?" in text_of(provinces)
    assert "bao nhiêu người lao động" in text_of(await zalo.say(person, "Quảng Ngãi"))
    assert "ngày nào" in text_of(await zalo.say(person, "1.200"))
    summary = await zalo.say(person, "15/01/2027")
    assert "Tên: Xưởng may Thu Hà" in text_of(summary)
    saved = await zalo.say(person, number_of(summary, "✅ Lưu"))
    assert "Đã lưu: Xưởng may Thu Hà" in text_of(saved)
    pictures = [m for m in saved if m.method == "sendPhoto"]
    assert len(pictures) == 2
    for picture in pictures:
        # Fetched by the platform from the bot's own signed link: a PNG of the QR code.
        assert picture.photo_url and picture.photo_url.startswith(f"{PUBLIC_URL}/files/")
        assert picture.photo_bytes is not None and picture.photo_bytes.startswith(b"\x89PNG")
        assert "Mã cần nhập:" in (picture.caption or "")
        assert "https://t.me/oshbot_sandbox_bot?start=" in (picture.caption or "")
    # /import needs a spreadsheet sent to the bot, which Zalo does not pass on: Telegram's.
    assert "/import" not in text_of(welcome)
    assert "chưa làm được trên Zalo" in text_of(await zalo.say(person, "/import"))
    # The worker card's 👥 Members and 🔁 New links are Telegram's buttons: not offered here.
    assert "Thành viên" not in text_of(saved) and "Trả lời" not in text_of(saved)
