"""`oshbot demo`: a small programme played through the sandbox by the real Application.

Everything the demo shows happened: people press buttons in the sandbox, the bot answers
through python-telegram-bot, and the database records it. The transcript and the summary are
written into the output folder, beside the demo's own database.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import httpx
from sqlmodel import col, func, select

from bot.app import build_application
from bot.guard import LIMITER_KEY, InboundLimiter
from bot.playback import Person, Stage, Transcript
from bot.ratelimit import PacedRateLimiter
from bot.sandbox import FakeClock, Sandbox, SentMessage
from bot.sender import SendReport, ZaloRoute, send_due, zalo_route
from bot.settings import Settings
from bot.zalo.channel import ZaloChannel
from bot.zalo.pacing import Pacer
from bot.zalo.sandbox import BASE_URL as ZALO_BASE_URL
from bot.zalo.sandbox import SandboxUser as ZaloUser
from bot.zalo.sandbox import SentMessage as ZaloMessage
from bot.zalo.sandbox import ZaloSandbox
from models.db import Database
from models.outbox import ZALO
from models.programme import counts, create_invite, format_short_code
from models.tables import (
    Broadcast,
    Contact,
    Enterprise,
    Event,
    Improvement,
    Outbox,
    Provider,
    Role,
    Rsvp,
    SurveyResponse,
    Visit,
)
from reports.files import write_reports

CODE = re.compile(r"start=([A-Za-z0-9_-]+)")
SHORT_CODE = re.compile(r"Code to type: ([A-Z0-9]{5}-[A-Z0-9]{5})")
DEMO_START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # 09:00 in Viet Nam


@dataclass(frozen=True)
class DemoResult:
    summary_text: str
    transcript_path: Path
    summary_path: Path
    database_url: str
    screens_missing: list[str]


class DemoClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def fresh_folder(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("oshbot.db", "oshbot.db-wal", "oshbot.db-shm", "transcript.md", "summary.md"):
        (out / name).unlink(missing_ok=True)


def link_code(person: Person) -> str:
    """The code of the newest invite link the person was sent."""
    for text in reversed(person.texts()):
        found = CODE.search(text)
        if found:
            return found.group(1)
    raise LookupError(f"{person.name} received no invite link")


def codes_by_role(person: Person) -> dict[str, str]:
    """The codes of the employer and worker links that were just sent, in that order."""
    codes = [m.group(1) for text in person.texts() if (m := CODE.search(text))]
    return {"employer": codes[-2], "worker": codes[-1]}


async def register(person: Person, code: str, language: str) -> None:
    await person.say(f"/start {code}")
    await person.press("Tiếng Việt" if language == "vi" else "English")
    await person.press("✅")


# Where the demo's bot says it lives: Zalo fetches the photos the bot sends from here (in the
# demo, the sandbox fetches them from the bot's own web application, in-process).
DEMO_PUBLIC_URL = "https://oshbot.example"


class DemoStage(Stage):
    """The demo's stage: what the bot queues goes out on both channels, as `oshbot run` with
    both tokens sends it (the Zalo route is set once the Zalo side is up)."""

    zalo: ZaloRoute | None = None

    async def send_outbox(self, database: Database, *, now: datetime) -> SendReport:
        sent = await send_due(self.application.bot, database, now=now)
        if self.zalo is not None:
            on_zalo = await send_due(None, database, now=now, channel=ZALO, zalo=self.zalo)
            sent.sent += on_zalo.sent
            sent.failed += on_zalo.failed
            sent.skipped += on_zalo.skipped
        return sent


@dataclass
class ZaloStage:
    """The Zalo side of the demo: the in-process Zalo sandbox and the Zalo channel (client and
    driver) on the demo's database, beside the Telegram people. What people type and every
    message the bot sends them go into the same transcript (choices as numbered lines)."""

    sandbox: ZaloSandbox
    channel: ZaloChannel
    transcript: Transcript
    settings: Settings  # the demo's, with the Zalo sandbox's token

    async def deliver(self) -> None:
        """Every update waiting at the platform, handled in order (as long polling would)."""
        while (update := await self.channel.client.get_updates(timeout=0)) is not None:
            await self.channel.driver.dispatch(update)
        await self.channel.driver.idle()

    async def say(self, user: ZaloUser, text: str) -> str:
        self.transcript.user(f"{user.display_name} · Zalo", text)
        return await self._answer(user, lambda: user.send_text(text))

    async def photo(self, user: ZaloUser, data: bytes) -> str:
        self.transcript.user(f"{user.display_name} · Zalo", "[🖼 photo]")
        return await self._answer(user, lambda: user.send_image(data=data))

    async def _answer(self, user: ZaloUser, send: Callable[[], object]) -> str:
        seen = len(user.messages())
        send()
        await self.deliver()
        answers = user.messages()[seen:]
        for message in answers:
            self.show(message)
        return "\n".join(m.plain for m in answers)

    def show(self, message: ZaloMessage) -> None:
        body = message.plain
        if message.method == "sendPhoto":
            body = f"[🖼 photo] {body}"
        self.transcript.lines.append(
            "\n".join(f"> {line}" if line else ">" for line in body.splitlines()) or "> (empty)"
        )
        self.transcript.lines.append("")


def numbered(text: str, label: str) -> str:
    """The number the bot's last Zalo message shows in front of an option starting with
    `label` (compared without diacritics or case)."""

    def fold(words: str) -> str:
        plain = unicodedata.normalize("NFD", words.replace("đ", "d").replace("Đ", "D"))
        return "".join(c for c in plain if not unicodedata.combining(c)).casefold()

    options = [
        (found.group(1), fold(found.group(2)))
        for line in text.splitlines()
        if (found := re.fullmatch(r"(\d+)\. (.*)", line.strip()))
    ]
    wanted = fold(label)
    for exact in (True, False):
        for number, option in reversed(options):
            if option == wanted or (not exact and option.startswith(wanted)):
                return number
    raise LookupError(f"no option {label!r} in {text!r}")


async def run_demo(out: Path) -> DemoResult:
    out = out.resolve()
    fresh_folder(out)
    url = f"sqlite:///{out / 'oshbot.db'}"
    database = Database(url)
    api_clock = FakeClock()
    sandbox = Sandbox(clock=api_clock)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        token=sandbox.token,
        database_url=url,
        api_base_url="http://sandbox/bot",
        data_dir=out / "data",
    )
    clock = DemoClock(DEMO_START)
    application = build_application(
        settings,
        database=database,
        request=sandbox.make_request(),
        get_updates_request=sandbox.make_request(),
        clock=clock,
        # Paced on the sandbox's clock: a wait moves that clock instead of sleeping.
        rate_limiter=PacedRateLimiter(clock=api_clock, sleep=api_clock.sleep),
    )
    application.bot_data[LIMITER_KEY] = InboundLimiter(api_clock)
    transcript = Transcript(["# oshbot demo transcript", ""])
    stage = DemoStage(sandbox, application, api_clock=api_clock, transcript=transcript)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    # Zalo beside Telegram: its own sandbox and clock, paced as in production.
    from bot.web import create_app  # local: the web application is only the sandbox's here

    zalo_clock = FakeClock()
    zalo_sandbox = ZaloSandbox(
        clock=zalo_clock, http_transport=httpx.ASGITransport(app=create_app(application))
    )
    zalo_settings = settings.model_copy(
        update={
            "zalo_token": zalo_sandbox.token,
            "zalo_api_base_url": ZALO_BASE_URL,
            "public_url": DEMO_PUBLIC_URL,
        }
    )
    channel = ZaloChannel(
        zalo_settings, database, clock=clock, transport=zalo_sandbox.transport(),
        fetch_transport=zalo_sandbox.transport(),
        pacer=Pacer(clock=zalo_clock, sleep=zalo_clock.sleep),
    )  # fmt: skip
    channel.driver.telegram_username = application.bot.username
    # Both channels run, as with both tokens: what Telegram's side tells people (where
    # reminders come, /link's code for Zalo) says so.
    runtime = application.bot_data["runtime"]
    runtime.settings = runtime.settings.model_copy(update={"zalo_token": zalo_sandbox.token})
    zalo = ZaloStage(zalo_sandbox, channel, transcript, zalo_settings)
    stage.zalo = zalo_route(zalo_settings, channel.client)
    try:
        await play(stage, database, settings, clock, zalo)
    finally:
        await channel.stop()
        await application.update_persistence()
        await application.shutdown()

    transcript_path = out / "transcript.md"
    transcript_path.write_text(transcript.text(), encoding="utf-8")
    summary = summarise(database, sandbox)
    summary_path = out / "summary.md"
    summary_path.write_text(summary, encoding="utf-8")
    database.dispose()
    # The follow-up summary of the year so far, its three charts and the spreadsheet.
    write_reports(out / "reports", url, today=clock().astimezone(settings.tz).date(),
                  tz=settings.tz)  # fmt: skip
    # The newsletter, leaflets and website, from the same database.
    write_publications(out, url, settings, clock().astimezone(settings.tz).date())
    # How the dashboard and the publications look on a phone and on a desktop (Playwright's
    # synchronous API wants a thread without an event loop).
    from bot.screens import write_screens

    database = Database(url)
    try:
        missing = await asyncio.to_thread(
            write_screens, out, database=database, settings=settings, clock=clock,
            staff_user_id=2001, coordinator_user_id=1001, enterprise_name="Công ty May Thu Hà",
        )  # fmt: skip
    finally:
        database.dispose()
    return DemoResult(summary, transcript_path, summary_path, url, missing)


async def play(
    stage: DemoStage, database: Database, settings: Settings, clock: DemoClock, zalo: ZaloStage
) -> None:
    transcript = stage.transcript
    assert transcript is not None

    transcript.heading("1. The coordinator joins (invite made with `oshbot invite coordinator`)")
    with database.session() as session:
        code = create_invite(
            session, role=Role.COORDINATOR, days=settings.invite_days, now=clock()
        ).code
    coordinator = stage.person(1001, "Chị Hạnh (điều phối)")
    await register(coordinator, code, "vi")

    transcript.heading("2. The coordinator adds two providers and invites their staff")
    providers = [
        ("Trung tâm ATVSLĐ Đà Nẵng", "Đà Nẵng"),
        ("Trung tâm Y tế lao động Cần Thơ", "can tho"),
    ]
    staff_people = []
    for index, (name, province) in enumerate(providers):
        await coordinator.say("🏢 Đơn vị dịch vụ")
        await coordinator.press("➕")
        await coordinator.say(name)
        if index == 0:
            await coordinator.press(province)
        else:
            await coordinator.say(province)
        await coordinator.press(name[:20])
        language = "vi" if index == 0 else "en"
        person = stage.person(2001 + index, ["Anh Dũng (cán bộ)", "Mr. Tâm (staff)"][index])
        transcript.note(f"{person.name} opens the staff link")
        await register(person, link_code(coordinator), language)
        staff_people.append(person)

    transcript.heading("3. Staff add the enterprises they support")
    enterprises = [
        (staff_people[0], "Xưởng mộc Hòa Phát", "Gỗ", "Đà Nẵng", "18", "15/01/2027"),
        (staff_people[0], "Công ty May Thu Hà", "Dệt may", "Quảng Nam", "120", "20/01/2027"),
        (staff_people[1], "Cơ khí Tân Tiến", "Metal", "Can Tho", "35", "today"),
    ]
    links: dict[str, dict[str, str]] = {}
    for staff, name, sector, province, workers, day in enterprises:
        await staff.say("/newenterprise")
        await staff.say(name)
        await staff.press(sector)
        await staff.say(province)
        await staff.say(workers)
        if day == "today":
            await staff.press("Today")
        else:
            await staff.say(day)
        await staff.press("✅")
        links[name] = codes_by_role(staff)

    transcript.heading("4. Employers and workers join with their enterprise's links")
    people = [
        ("Xưởng mộc Hòa Phát", "employer", 3001, "Chị Lan (chủ xưởng)", "vi"),
        ("Xưởng mộc Hòa Phát", "worker", 3002, "Anh Bình (thợ mộc)", "vi"),
        ("Xưởng mộc Hòa Phát", "worker", 3003, "Chị Mai (thợ phụ)", "vi"),
        ("Xưởng mộc Hòa Phát", "worker", 3008, "Anh Tùng (thợ sơn)", "vi"),
        ("Công ty May Thu Hà", "employer", 3004, "Bà Thu (giám đốc)", "vi"),
        ("Công ty May Thu Hà", "worker", 3005, "Ms. Hoa (worker)", "en"),
        ("Cơ khí Tân Tiến", "employer", 3006, "Mr. Tiến (owner)", "en"),
        ("Cơ khí Tân Tiến", "worker", 3007, "Anh Khoa (thợ hàn)", "vi"),
    ]
    for enterprise, role, user_id, name, language in people:
        await register(stage.person(user_id, name), links[enterprise][role], language)
    await play_plan(stage)

    transcript.heading("5. What goes wrong, and how the bot answers")
    visitor = stage.person(4001, "Khách lạ")
    transcript.note("Someone declines the consent: nothing about them is stored")
    await visitor.say(f"/start {links['Cơ khí Tân Tiến']['worker']}")
    await visitor.press("Tiếng Việt")
    await visitor.press("Không")
    transcript.note("A mistyped code, a sticker, and an unknown command")
    await visitor.say("/start abcdef123456")
    await visitor.send("sticker")
    await visitor.say("/baocao")
    await play_leak(stage, database, clock, links["Cơ khí Tân Tiến"]["employer"])
    transcript.note("Two weeks later an unused link has expired")
    with database.session() as session:
        enterprise_id = session.exec(
            select(Enterprise.id).where(Enterprise.name == "Cơ khí Tân Tiến")
        ).one()
        late = create_invite(
            session, role=Role.WORKER, enterprise_id=enterprise_id, days=14, now=clock()
        ).code
    clock.advance(days=15)
    await stage.person(4002, "Anh Sơn").say(f"/start {late}")
    transcript.note("An employer switches to English and asks for help")
    employer = stage.person(3001, "Chị Lan (chủ xưởng)")
    await employer.say("/language")
    await employer.press("English")
    await employer.say("/help")
    await play_surveys(stage, database, settings, clock)
    await play_zalo_joins(stage, database, settings, clock, zalo)
    await play_workshop(stage, database, settings, clock)
    await play_month(stage, database, settings, clock)
    await play_reports(stage, database, settings, clock)
    await play_zalo_report(stage, database, clock, zalo)
    await play_broadcast(stage, database, settings, clock, zalo)
    await play_inbox(stage, database, clock)
    await play_enrolment(stage, database, clock)


async def play_enrolment(stage: DemoStage, database: Database, clock: DemoClock) -> None:
    """A workshop that was never invited scans the newsletter's QR code (`oshbot invite join`)
    and asks to join; the provider of its province accepts, and its owner is registered."""

    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("12. Joining without an invite: the newsletter's QR code")
    huong = stage.person(3010, "Chị Hương (chủ cơ sở)")
    dung = stage.person(2001, "Anh Dũng (cán bộ)")
    clock.advance(hours=1)
    transcript.note("Chị Hương runs a small furniture workshop; she scans the newsletter's code")
    await huong.say("/start join")
    await huong.press("Tiếng Việt")
    await huong.press("✅ Tôi đồng ý")
    await huong.say("Cơ sở đồ gỗ Hương Quê")
    await huong.say("da nang")
    await huong.press("Gỗ")
    await huong.say("9,5")  # not a whole number of people
    await huong.say("9")
    await huong.say("0905 123")  # too short for a phone number
    await huong.say("0905 123 456")
    await huong.press("Gửi yêu cầu")
    await stage.send_outbox(database, now=clock())
    transcript.note("The request reaches the staff of the provider of Đà Nẵng:")
    notice = dung.account.messages()[-1]
    transcript.bot(notice, dung.account.buttons(notice))
    await dung.press("Nhận cho", notice)
    await stage.send_outbox(database, now=clock())
    transcript.note("Chị Hương is told in her language, and is the workshop's employer now:")
    transcript.bot(huong.account.messages()[-1], [])
    await huong.say("/help")


async def play_plan(stage: DemoStage) -> None:
    """The action plan Công ty May Thu Hà made at the training, typed in by its provider's staff
    and by its director; scene 9 links a report to it."""
    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("4b. The action plan made at the training")
    dung = stage.person(2001, "Anh Dũng (cán bộ)")
    thu = stage.person(3004, "Bà Thu (giám đốc)")
    transcript.note("Anh Dũng records two items from the training's worksheet")
    await dung.say("/plan")
    await dung.press("Công ty May Thu Hà")
    await dung.press("➕")
    await dung.press("Lưu giữ")
    await dung.say("Giá kệ 3 tầng cho cuộn vải, kẻ vạch lối đi")
    await dung.say("CP 3")
    await dung.say("Tổ kho")
    await dung.say("31/03/2027")
    await dung.press("➕")
    await dung.press("Tổ chức công việc")
    await dung.say("Họp an toàn 5 phút đầu ca sáng thứ Hai")
    await dung.press("Bỏ qua")
    await dung.say("Q")  # too short to say who
    await dung.say("Anh Quang, tổ trưởng chuyền 1")
    await dung.say("30/04/2027")
    transcript.note("Bà Thu adds one herself, and mistypes the day first")
    await thu.say("🎯 Kế hoạch")
    await thu.press("➕")
    await thu.press("Phúc lợi")
    await thu.say("Tủ thuốc sơ cứu ở mỗi tầng xưởng")
    await thu.press("Bỏ qua")
    await thu.say("Bà Thu")
    await thu.say("31/04")
    await thu.say("15/04")
    await thu.press("Xem kế hoạch")


async def play_leak(stage: DemoStage, database: Database, clock: DemoClock, leaked: str) -> None:
    """A link posted where it should not be: staff hear of the stranger who joins with it,
    remove them and issue new links; a worker types the short code instead of a link."""

    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("5b. A leaked link is contained")
    transcript.note(
        "The employer link of Cơ khí Tân Tiến ends up in a public group: a stranger joins with it"
    )
    await register(stage.person(4003, "Người lạ"), leaked, "vi")
    tam = stage.person(2002, "Mr. Tâm (staff)")
    before = len(tam.account.messages())
    await stage.send_outbox(database, now=clock())
    notice = next(
        m for m in reversed(tam.account.messages()[before:]) if "Người lạ" in (m.plain or "")
    )
    transcript.note("Mr. Tâm hears of every person who joins his enterprises, through the outbox:")
    transcript.bot(notice, tam.account.buttons(notice))
    card = await tam.press("🚫 Remove", notice)
    await tam.press("✅ Yes, remove")
    assert card is not None
    transcript.note("The card becomes the confirmation:")
    transcript.bot(card, tam.account.buttons(card))
    await tam.press("🔁 New links")
    await tam.press("🔁 Yes, new links")
    stranger = stage.person(4003, "Người lạ")
    before = len(stranger.account.messages())
    await stage.send_outbox(database, now=clock())
    transcript.note("The stranger is told politely; the old link no longer works for anyone")
    for message in stranger.account.messages()[before:]:
        transcript.bot(message, [])
    await stage.person(4004, "Khách khác").say(f"/start {leaked}")
    transcript.note(
        "A worker whose phone cannot open links types the short code printed under the QR code"
    )
    found = SHORT_CODE.search(tam.texts()[-1])
    assert found is not None
    ngoc = stage.person(3009, "Chị Ngọc (thợ sơn)")
    await ngoc.say(found.group(1).lower().replace("-", " "))
    await ngoc.press("Tiếng Việt")
    await ngoc.press("✅")


async def play_broadcast(
    stage: DemoStage, database: Database, settings: Settings, clock: DemoClock, zalo: ZaloStage
) -> None:
    """The good practice reaches the other enterprises as a broadcast, on Telegram and on Zalo;
    an employer browses the library. The staff member's confirmation becomes the progress
    message, edited in place."""
    from handlers.broadcast import refresh_progress

    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("10. A good practice becomes a broadcast, and the library grows")
    dung = stage.person(2001, "Anh Dũng (cán bộ)")
    clock.advance(hours=1)
    await dung.say("📣 Gửi tin")
    await dung.press("🌟")
    await dung.press("Lưu giữ")
    await dung.press("👔")
    await dung.press("Đổi người nhận")
    await dung.press("🏭")
    preview = dung.account.messages()[-1]
    transcript.note("The question becomes the preview, with the exact number of recipients:")
    transcript.bot(preview, dung.account.buttons(preview))
    await dung.press("✅")
    quang = zalo.sandbox.user("8c1f4a2e9b7d3605", "Anh Quang (quản đốc)")
    seen = len(quang.messages())
    sent = await stage.send_outbox(database, now=clock())
    transcript.note("Anh Quang, on Zalo, gets the same card:")
    for message in quang.messages()[seen:]:
        zalo.show(message)
    await refresh_progress(stage.application.bot, database, now=clock())
    transcript.note(f"The outbox sends {sent.sent} cards; the progress message now reads:")
    transcript.bot(dung.account.messages()[-1], [])
    lan = stage.person(3001, "Chị Lan (chủ xưởng)")
    transcript.note("Chị Lan browses the good practices")
    await lan.say("🌟 Good practices")
    await lan.press("📦")
    await lan.press("1")


async def play_inbox(stage: DemoStage, database: Database, clock: DemoClock) -> None:
    """A worker's voice note reaches the provider's inbox; the staff member, who reads English,
    answers with a voice note, and the worker hears it with a Vietnamese heading."""

    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("11. A voice note to the provider, answered by a voice note")
    khoa = stage.person(3007, "Anh Khoa (thợ hàn)")
    tam = stage.person(2002, "Mr. Tâm (staff)")
    clock.advance(hours=1)
    transcript.note("Outside any journey, Anh Khoa records a question about welding fumes")
    await khoa.send("voice", b"OggS-demo-voice: welding fumes in the back room", 9)
    await khoa.press("✅")
    await stage.send_outbox(database, now=clock())
    transcript.note("The outbox brings it to Mr. Tâm as a voice note:")
    transcript.bot(tam.account.messages()[-1], tam.account.buttons(tam.account.messages()[-1]))
    await tam.say("/inbox")
    await tam.press("#")
    await tam.press("↩️")
    await tam.send("voice", b"OggS-demo-voice: open the back door, we bring a fan on Monday", 12)
    await stage.send_outbox(database, now=clock())
    transcript.note("Anh Khoa hears the answer, headed in Vietnamese:")
    transcript.bot(khoa.account.messages()[-1], [])
    await tam.press("✔")


def write_publications(out: Path, url: str, settings: Settings, today: date) -> None:
    """The newsletter (vi, en: HTML and PDF), a leaflet per good practice (vi, en) and the
    website."""
    from models import goodpractice
    from reports import newsletter
    from reports.publish import invitation_link
    from reports.site import build_site

    link = invitation_link(settings.site_url, "oshbot_sandbox_bot")
    database = Database(url)
    folder = out / "publications"
    with database.session() as session:
        for language in ("vi", "en"):
            issue = newsletter.newsletter(
                session, period_text=f"{today:%Y-%m}", language=language, provider_id=None,
                tz=settings.tz, today=today, link=link, media_root=settings.media_dir,
            )  # fmt: skip
            newsletter.write(issue, folder)
        for entry in goodpractice.entries(session):
            for language in ("vi", "en"):
                leaflet = newsletter.leaflet(
                    session, improvement_id=entry.id, language=language, link=link,
                    media_root=settings.media_dir,
                )  # fmt: skip
                newsletter.write(leaflet, folder, html=False)
        # The demo's site lives in its folder: that is its public address for link previews.
        site = out / "site"
        build_site(session, site, tz=settings.tz, today=today, link=link,
                   media_root=settings.media_dir,
                   site_url=settings.site_url or site.as_uri() + "/")  # fmt: skip
    database.dispose()


def demo_photo(caption: str, colour: str) -> bytes:
    """A small real JPEG with words in it, as a phone photo of the workshop would be."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 460, 300), outline="white", width=4)
    for line, text in enumerate(caption.split("\n")):
        draw.text((40, 120 + 28 * line), text, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


async def play_reports(
    stage: DemoStage, database: Database, settings: Settings, clock: DemoClock
) -> None:
    """An employer reports two improvements with before/after photos, a worker one in English;
    the staff member verifies one, marks one as good practice and asks a question."""

    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("9. Improvement reports with photos, and the staff's review")
    # The next morning at 8: notices are held in the night's quiet hours, as in production.
    local = clock().astimezone(settings.tz)
    clock.now = datetime.combine(local.date() + timedelta(days=1), time(8), tzinfo=settings.tz)
    thu = stage.person(3004, "Bà Thu (giám đốc)")
    hoa = stage.person(3005, "Ms. Hoa (worker)")
    dung = stage.person(2001, "Anh Dũng (cán bộ)")

    async def outbox(label: str) -> None:
        before = {uid: len(user.messages()) for uid, user in stage.sandbox.users.items()}
        sent = await stage.send_outbox(database, now=clock())
        if not sent.sent:
            return
        transcript.note(f"{label} — the outbox sends {sent.sent} message(s)")
        for user in stage.sandbox.users.values():
            for message in user.messages()[before.get(user.id, 0) :]:
                transcript.lines += [f"**→ {user.first_name}**", ""]
                transcript.bot(message, user.buttons(message))

    def card(words: str) -> SentMessage:
        """The staff member's newest report card that mentions `words`."""
        for message in reversed(dung.account.messages()):
            if words in message.plain and dung.account.buttons(message):
                return message
        raise LookupError(f"no report card with {words!r}")

    transcript.note(
        "Bà Thu reports new racks for the fabric rolls, with two photos: an item of her plan"
    )
    await thu.say("📝 Báo cáo cải thiện")
    await thu.press("📦")
    await thu.press("Giá, kệ nhiều tầng")  # the kind of improvement inside the area
    await thu.press("Giá kệ 3 tầng")  # one of the items planned at the training (scene 4b)
    await thu.say(
        "Đóng giá kệ 3 tầng cho cuộn vải, không để vải dưới sàn nữa; lối đi kẻ vạch vàng."
    )
    await thu.send("photo", demo_photo("BEFORE\nfabric rolls on the floor", "#b55d4c"))
    await thu.send("photo", demo_photo("AFTER\n3-level racks, yellow aisle", "#4c8b5d"))
    await thu.say("2,5 triệu")
    await thu.say("40")
    for label in (
        "dễ xảy ra",
        "nghiêm trọng",
        "ít khả năng",
        "nhẹ",
        "Có, nêu tên",
        "không có người",
    ):
        await thu.press(label)
    await thu.press("✅")

    transcript.note("A second report: a negative cost and more workers than employed are caught")
    clock.advance(hours=2)
    await thu.say("/report")
    await thu.press("💡")
    await thu.press("Thông gió")
    await thu.say("Lắp thêm 6 quạt hút và đèn LED trên chuyền may, xưởng mát và sáng hơn.")
    await thu.send("photo", demo_photo("BEFORE\ndark, hot sewing line", "#6b5b45"))
    await thu.send("photo", demo_photo("AFTER\nfans and LED lights", "#3f7fa0"))
    await thu.say("-200k")
    await thu.say("8.000.000")
    await thu.say("150")
    await thu.press("Đúng, 150")
    for label in (
        "có thể xảy ra",
        "nghiêm trọng",
        "ít khả năng",
        "nhẹ",
        "Có, không nêu tên",
        "họ đã đồng ý",
    ):
        await thu.press(label)
    await thu.press("✏️")
    await thu.press("Số người hưởng lợi")
    await thu.say("110")
    await thu.press("✅")

    transcript.note("Ms. Hoa, a worker, reports in English")
    clock.advance(hours=1)
    await hoa.say("📝 Report an improvement")
    await hoa.press("🪑")
    await hoa.press("Anti-fatigue mats")
    await hoa.say("Anti-fatigue mats for the ironing team, who stand all day.")
    await hoa.press("No photo")
    await hoa.send("photo", demo_photo("AFTER\nanti-fatigue mats", "#7a4c8b"))
    await hoa.press("Under 1 million")
    await hoa.say("6")
    for label in ("possible", "serious", "unlikely", "minor", "Yes, without", "No people"):
        await hoa.press(label)
    await hoa.press("✅")
    await outbox("Staff are told at once")

    transcript.note("Anh Dũng reviews: a good practice, a question, then a verification")
    clock.advance(hours=3)
    await dung.press("⭐", card("Đóng giá kệ"))
    await dung.press("❓", card("quạt hút"))
    await dung.say("Quạt hút loại nào, lắp ở độ cao bao nhiêu ạ?")
    await outbox("The question is relayed")
    await thu.press("↩️")
    await thu.say("Quạt công nghiệp 60 cm, treo cao 2,5 m ở hai đầu chuyền.")
    await outbox("The answer comes back")
    await dung.press("✅", dung.account.messages()[-1])
    await outbox("The enterprise is thanked")
    transcript.note("Bà Thu and Ms. Hoa look at their reports")
    await thu.say("🗂 Báo cáo của tôi")
    await hoa.say("/myreports")


async def play_month(
    stage: DemoStage, database: Database, settings: Settings, clock: DemoClock
) -> None:
    """A month of programme time: the scheduler's jobs and the outbox sender run every morning
    (as `oshbot run` does on its own); staff propose visits, employers confirm or suggest
    another time, both are reminded, outcomes are logged, surveys go out, tips arrive."""
    from bot.sender import drain  # local: this scene's imports stay in one place
    from scheduler.config import SchedulerConfig
    from scheduler.runner import run_due

    transcript = stage.transcript
    assert transcript is not None
    # The demo writes the site and newsletter into its own folder at the end; rebuilding them
    # every demo morning would only take time.
    config = replace(SchedulerConfig.from_settings(settings), public_dir=None)
    transcript.heading("8. A month passes: revisits, reminders, surveys and tips")
    first = clock().astimezone(config.tz).date() + timedelta(days=1)
    staff = stage.person(2001, "Anh Dũng (cán bộ)")
    lan = stage.person(3001, "Chị Lan (chủ xưởng)")
    thu = stage.person(3004, "Bà Thu (giám đốc)")

    def day(n: int, hour: int = 9, minute: int = 5) -> datetime:
        return datetime.combine(first + timedelta(days=n), time(hour, minute), tzinfo=config.tz)

    def typed(n: int, at: str) -> str:
        return f"{first + timedelta(days=n):%d/%m} {at}"

    async def morning(n: int) -> None:
        """The scheduler's morning: due jobs, then the outbox, shown as people receive it."""
        clock.now = day(n).astimezone(UTC)
        if stage.api_clock is not None:
            stage.api_clock.advance(3600)
        ran = run_due(database, now=clock(), config=config)
        await deliver_outbox(f"{day(n):%d/%m %H:%M}: " + ", ".join(r.job for r in ran))

    async def deliver_outbox(label: str) -> None:
        before = {uid: len(user.messages()) for uid, user in stage.sandbox.users.items()}
        report = await drain(stage.application.bot, database, clock=clock, config=config)
        if not report.sent:
            return
        transcript.note(f"{label} — the outbox sends {report.sent} message(s)")
        for uid, user in stage.sandbox.users.items():
            for message in user.messages()[before.get(uid, 0) :]:
                transcript.lines.append(f"**→ {user.first_name}**")
                transcript.lines.append("")
                transcript.bot(message, user.buttons(message))

    async def walk_checklist() -> None:
        """Staff go through the visit's checklist: the first line is in use (agreeing with the
        enterprise's own rating of the risk, when there is one), then Finish: the one-page
        visit report goes to the employer."""
        card = staff.account.last()
        if "👍 Đang dùng" not in [label for label, _ in staff.account.buttons(card)]:
            return
        await staff.press("Đang dùng", card)
        after = staff.account.last()
        labels = [label for label, _ in staff.account.buttons(after)]
        for choice in ("✅ Tôi đồng ý", "Bỏ qua"):
            if choice in labels:
                await staff.press(choice, after)
                break
        last = staff.account.last()
        if any("Kết thúc kiểm tra" in label for label, _ in staff.account.buttons(last)):
            await staff.press("Kết thúc kiểm tra", last)

    async def visit_record() -> None:
        """At Công ty May Thu Hà: the items of its plan checked, a new improvement Anh Dũng
        sees (with a photo), and the employer survey taken down at the visit, since Bà Thu
        would rather answer aloud than type; then Finish: the visit report says both."""
        transcript.note(
            "Anh Dũng goes through Thu Hà's checklist: the items of its plan are under way, "
            "partly in place (they stay planned)"
        )
        for _ in range(10):
            card = staff.account.last()
            if "🔸 Một phần" not in [label for label, _ in staff.account.buttons(card)]:
                break
            await staff.press("Một phần", card)
        transcript.note("He records what he sees new on the sewing floor, with a photo")
        await staff.press("Cải thiện mới tôi thấy")
        await staff.press("Vị trí làm việc")
        await staff.press("Khác / bỏ qua")
        await staff.say("Ghế có tựa lưng cho thợ chuyền 2; bàn cắt nâng cao thêm 10 cm.")
        await staff.send("photo", demo_photo("SEEN AT THE VISIT\nchairs with backrests",
                                             "#5d7f4c"))  # fmt: skip
        await staff.press("Không có ảnh")
        transcript.note("Bà Thu would rather answer the survey aloud: Anh Dũng takes it down")
        await staff.press("Khảo sát thay chủ doanh nghiệp")
        await staff.press("5")
        await staff.press("Góp ý khi cán bộ đến thăm")
        await staff.press("Xong")
        await staff.say("Kho vải gọn gàng, lối đi thông thoáng")
        await staff.press("Lưu giữ")
        await staff.press("Xong")
        await staff.press("Có, vẫn dùng đều")
        await staff.press("Nơi làm việc gọn gàng hơn")
        await staff.press("Xong")
        await staff.press("Thời gian")
        await staff.press("Bỏ qua")
        await staff.press("Cán bộ đến xưởng góp ý")
        await staff.press("Xong")
        await staff.press("Có")
        await staff.press("Quay lại danh mục kiểm tra")
        await staff.press("Kết thúc kiểm tra")

    def newest_with(person: Person, text: str) -> SentMessage:
        for message in reversed(person.account.messages()):
            if text in (message.plain or "") and person.account.buttons(message):
                return message
        raise LookupError(f"{person.name} has no message with {text!r} and buttons")

    await morning(0)  # due revisits are announced to staff
    transcript.note("Anh Dũng proposes a date to each enterprise")
    await staff.press("📅", newest_with(staff, "Hòa Phát"))
    await staff.say(typed(2, "9:00"))
    await staff.press("📅", newest_with(staff, "Thu Hà"))
    await staff.say(typed(3, "14:00"))
    await deliver_outbox("Right away")
    await lan.press("✅")  # Chị Lan reads Vietnamese again since the survey scene
    transcript.note("Bà Thu cannot make it and suggests another time")
    await thu.press("🕑")
    await thu.say(typed(4, "8h30"))
    await deliver_outbox("Right away")
    await staff.press("✅", newest_with(staff, "Thu Hà"))
    await deliver_outbox("Right away")
    for n in range(1, 31):
        await morning(n)
        if n == 3:  # the day after the first visit
            await staff.press("✅", newest_with(staff, "Hòa Phát"))
            await staff.say("Kệ gỗ mới gọn gàng; công nhân đề nghị thêm quạt hút bụi.")
            await walk_checklist()
            await deliver_outbox("Right away")
        if n == 5:  # the second visit did not take place
            await staff.press("✖", newest_with(staff, "Thu Hà"))
            await staff.press("📅")
            await staff.say(typed(9, "9:00"))
            await deliver_outbox("Right away")
            await thu.press("✅")
            await deliver_outbox("Right away")
        if n == 10:
            await staff.press("✅", newest_with(staff, "Thu Hà"))
            await staff.press("Bỏ qua")
            await visit_record()
            await deliver_outbox("Right away")
    transcript.note("Anh Dũng looks at his visits; Chị Lan checks her next one")
    await staff.say("/visits")
    await lan.say("/nextvisit")


async def play_surveys(
    stage: DemoStage, database: Database, settings: Settings, clock: DemoClock
) -> None:
    """The employer of Xưởng mộc Hòa Phát and four workers answer the follow-up surveys; the
    three of Hòa Phát are released once the round closes (after the revisit, in `play_month`)."""
    from models.tables import SurveyPending, SurveyResponse  # local: this scene's edit in one place

    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("6. Follow-up surveys: an employer, then three workers (anonymous)")
    clock.advance(days=1)
    employer = stage.person(3001, "Chị Lan (chủ xưởng)")
    transcript.note("Chị Lan goes back to Vietnamese; 📋 opens round 1 for her enterprise")
    await employer.say("/language")
    await employer.press("Tiếng Việt")
    await employer.say("📋 Góp ý")
    await employer.press("4")
    for choice in ("Tập huấn", "Cùng đi xem xưởng", "Góp ý khi cán bộ", "Xong"):
        await employer.press(choice)
    await employer.say("Kho gỗ đã gọn, lối đi không còn vướng ván.")
    for choice in ("Lưu giữ", "An toàn máy", "Xong", "Còn một phần"):
        await employer.press(choice)
    await employer.say("Thợ mới chưa quen để dụng cụ đúng chỗ.")
    for choice in ("Ít tai nạn", "gọn gàng hơn", "Xong", "Kinh phí"):
        await employer.press(choice)
    await employer.say("Làm chụp hút bụi cho máy chà nhám.")
    for choice in ("Gợi ý cải thiện chi phí thấp", "Điển hình tốt", "Xong", "Có"):
        await employer.press(choice)

    transcript.note("Workers answer anonymously; the bot says so before the first question")
    binh = stage.person(3002, "Anh Bình (thợ mộc)")
    await binh.say("📋 Góp ý")
    await binh.send("sticker")
    await binh.press("4")
    await binh.press("4")
    await binh.say("Bàn chà nhám được nâng cao, đỡ mỏi lưng.")
    await binh.press("Bỏ qua")
    await binh.press("Có")
    await binh.press("Có")
    mai = stage.person(3003, "Chị Mai (thợ phụ)")
    await mai.say("/feedback")
    await mai.press("5")
    transcript.note("Chị Mai is called away; her answers so far are kept")
    await mai.say("/cancel")
    clock.advance(hours=4)
    await mai.say("📋 Góp ý")
    await mai.press("3")
    await mai.press("Bỏ qua")
    await mai.say("Bụi gỗ ở góc xưởng vẫn nhiều.")
    await mai.press("Không")
    await mai.press("Có")
    tung = stage.person(3008, "Anh Tùng (thợ sơn)")
    await tung.say("📋 Góp ý")
    await tung.press("5")
    await tung.press("4")
    await tung.press("Bỏ qua")
    await tung.say("Mùi sơn ở buồng phun còn nặng.")
    await tung.press("Có")
    await tung.press("Không")
    hoa = stage.person(3005, "Ms. Hoa (worker)")
    await hoa.say("📋 Feedback")
    await hoa.press("4")
    await hoa.press("3")
    await hoa.say("Better light over the sewing line.")
    await hoa.say("The chairs are too low and the light is poor. " * 12)  # 552 > 500
    await hoa.say("The chairs are still too low.")
    await hoa.press("Yes")
    await hoa.press("Yes")
    transcript.note("Answering twice in one round is refused politely")
    await hoa.say("/feedback")
    with database.session() as session:
        rows = session.exec(select(SurveyResponse)).all()
        waiting = session.exec(select(SurveyPending).where(col(SurveyPending.complete))).all()
    named = sum(1 for r in rows if r.contact_id is not None)
    transcript.note(
        f"Stored: {named} employer response with its contact. The {len(waiting)} workers' "
        "answers wait under their own names, as personal data, until the scheduler writes them "
        "without name or time, in batches of three or more of one round; they count in figures "
        "only once their round has closed with three or more (Hòa Phát's, after the revisit)"
    )


LINK_CODE = re.compile(r"\b([A-Z0-9]{5}-[A-Z0-9]{5})\b")


async def play_zalo_joins(
    stage: DemoStage, database: Database, settings: Settings, clock: DemoClock, zalo: ZaloStage
) -> None:
    """Công ty May Thu Hà's floor manager and a seamstress join on Zalo by typing the short
    codes of new links (Zalo has no deep links); the seamstress answers the worker survey there
    by numbers and words; Bà Thu links her Zalo account to her Telegram registration."""
    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("6b. On Zalo: joining with a typed code, a survey by numbers, one person")
    with database.session() as session:
        thu_ha = session.exec(
            select(Enterprise.id).where(Enterprise.name == "Công ty May Thu Hà")
        ).one()
        codes = {
            role: format_short_code(
                create_invite(
                    session, role=role, enterprise_id=thu_ha, days=settings.invite_days,
                    now=clock(),
                ).short_code
            )
            for role in (Role.EMPLOYER, Role.WORKER)
        }  # fmt: skip
    transcript.note(
        f"Anh Dũng issues new links for Công ty May Thu Hà; the codes printed beside their QR "
        f"codes, to type on Zalo: {codes[Role.EMPLOYER]} (employer), {codes[Role.WORKER]} "
        "(worker)"
    )
    quang = zalo.sandbox.user("8c1f4a2e9b7d3605", "Anh Quang (quản đốc)")
    transcript.note("Anh Quang types the employer code, in small letters with a space")
    asked = await zalo.say(quang, codes[Role.EMPLOYER].lower().replace("-", " "))
    consent = await zalo.say(quang, numbered(asked, "Tiếng Việt"))
    await zalo.say(quang, numbered(consent, "✅ Tôi đồng ý"))
    hang = zalo.sandbox.user("3e7b0d5a1c9f8246", "Chị Hằng (thợ may)")
    transcript.note("Chị Hằng, a seamstress, types the worker code and answers by words")
    await zalo.say(hang, codes[Role.WORKER])
    consent = await zalo.say(hang, "tieng viet")
    await zalo.say(hang, numbered(consent, "✅ Tôi đồng ý, nhưng không nhận mẹo"))
    transcript.note("Chị Hằng answers the worker survey, anonymous as on Telegram")
    await zalo.say(hang, "/feedback")
    for answer in (
        "4",
        "3",
        "Có thêm đèn trên chuyền may, đỡ mỏi mắt.",
        "Ghế ngồi vẫn thấp.",
        "co",
        "co",
    ):
        await zalo.say(hang, answer)

    transcript.note("Bà Thu uses Zalo too: /link on Telegram gives a code to type there")
    thu = stage.person(3004, "Bà Thu (giám đốc)")
    await thu.say("/link")
    found = LINK_CODE.search(thu.texts()[-1])
    assert found is not None, thu.texts()[-1]
    await zalo.say(zalo.sandbox.user("b7d36058c1f4a2e9", "Bà Thu"), found.group(1))


async def play_zalo_report(
    stage: DemoStage, database: Database, clock: DemoClock, zalo: ZaloStage
) -> None:
    """Anh Quang reports an improvement on Zalo with two photos (sent as links, fetched and
    checked by the bot); Anh Dũng, on Telegram, receives the card and verifies it."""

    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("9b. On Zalo: a report with two photos, reviewed on Telegram")
    clock.advance(hours=1)
    quang = zalo.sandbox.user("8c1f4a2e9b7d3605", "Anh Quang (quản đốc)")
    await zalo.say(quang, "bao cao cai thien")  # the menu's words, without diacritics
    kinds = await zalo.say(quang, "an toan may moc")
    await zalo.say(quang, numbered(kinds, "Che chắn"))
    await zalo.say(
        quang, "Làm tấm che dây curoa cho 12 máy may và thêm nút dừng khẩn cấp ở đầu chuyền."
    )
    await zalo.photo(quang, demo_photo("BEFORE\nopen belts on the sewing machines", "#8b6b4c"))
    await zalo.photo(quang, demo_photo("AFTER\nbelt guards, emergency stop", "#4c7a8b"))
    await zalo.say(quang, "1,2 triệu")
    await zalo.say(quang, "24")
    await zalo.say(quang, "de xay ra")
    await zalo.say(quang, "nghiem trong")
    await zalo.say(quang, "it kha nang")
    await zalo.say(quang, "nhe")
    await zalo.say(quang, "co, khong neu ten")
    summary = await zalo.say(quang, "trong anh khong co nguoi")
    await zalo.say(quang, numbered(summary, "✅ Xác nhận và gửi"))

    dung = stage.person(2001, "Anh Dũng (cán bộ)")
    before = len(dung.account.messages())
    sent = await stage.send_outbox(database, now=clock())
    transcript.note(f"The outbox sends {sent.sent} message(s): the card reaches Anh Dũng")
    for message in dung.account.messages()[before:]:
        transcript.lines += [f"**→ {dung.name}**", ""]
        transcript.bot(message, dung.account.buttons(message))
    card = next(
        m for m in reversed(dung.account.messages())
        if "tấm che dây curoa" in m.plain and dung.account.buttons(m)
    )  # fmt: skip
    await dung.press("✅", card)
    seen = len(quang.messages())
    await stage.send_outbox(database, now=clock())
    transcript.note("The outbox brings the verdict to Anh Quang on Zalo:")
    for message in quang.messages()[seen:]:
        zalo.show(message)


async def play_workshop(
    stage: DemoStage, database: Database, settings: Settings, clock: DemoClock
) -> None:
    """An achievement workshop, from invitations to check-in and reactions (models/journeys/
    events.py, handlers/events.py). Messages the bot sends on its own go through the outbox, as
    the scheduler would send them."""
    from models.events import events_job
    from models.tables import Event, Improvement, ReviewStatus, ShareConsent

    transcript = stage.transcript
    assert transcript is not None
    transcript.heading("7. An achievement workshop: invitations, answers, check-in, reactions")
    with database.session() as session:
        wood = session.exec(select(Enterprise).where(Enterprise.name == "Xưởng mộc Hòa Phát")).one()
        if not session.exec(
            select(Improvement).where(Improvement.status == ReviewStatus.GOOD_PRACTICE)
        ).first():
            transcript.note("Staff marked a verified report of Xưởng mộc Hòa Phát as good practice")
            session.add(
                Improvement(
                    enterprise_id=wood.id,  # type: ignore[arg-type]
                    area_code="storage",
                    description="Giá kệ nhiều tầng cho ván gỗ: lối đi thông thoáng, "
                    "không còn phải cúi nhấc ván dưới sàn.",
                    status=ReviewStatus.GOOD_PRACTICE,
                    share_consent=ShareConsent.NAMED,
                    reviewed_at=clock(),
                    submitted_at=clock(),
                )
            )
    people = {
        user_id: stage.person(user_id, name)
        for user_id, name in (
            (3001, "Chị Lan (chủ xưởng)"),
            (3002, "Anh Bình (thợ mộc)"),
            (3003, "Chị Mai (thợ phụ)"),
            (3004, "Bà Thu (giám đốc)"),
            (3005, "Ms. Hoa (worker)"),
        )
    }

    async def outbox() -> None:
        """Sends what became due and shows who received what."""
        seen = {user_id: len(p.account.messages()) for user_id, p in people.items()}
        with database.session() as session:
            events_job(session, clock(), config=settings)
        await stage.send_outbox(database, now=clock())
        for user_id, person in people.items():
            for message in person.account.messages()[seen[user_id] :]:
                transcript.note(f"the outbox delivers to {person.name}")
                transcript.bot(message, person.account.buttons(message))

    day = (clock().astimezone(settings.tz) + timedelta(days=3)).strftime("%d/%m/%Y")
    dung = stage.person(2001, "Anh Dũng (cán bộ)")
    await dung.say("/event")
    await dung.press("Hội thảo kết quả")
    await dung.say("Hội thảo chia sẻ kết quả cải thiện điều kiện làm việc")
    await dung.say(f"{day} 14:00")
    await dung.send("location", 16.0678, 108.2208)
    await dung.say("Hội trường Trung tâm ATVSLĐ Đà Nẵng, 12 Lê Lợi")
    await dung.say("14:00 Khai mạc\n14:15 Các xưởng kể lại cải thiện đã làm\n15:30 Thảo luận")
    await dung.press("Tiếp")
    await dung.press("Giá kệ nhiều tầng")
    await dung.press("Xong")
    await dung.press("Tạo và gửi thư mời")
    await outbox()

    transcript.note("Answers come in; Ms. Hoa first says yes, then that she cannot come")
    await people[3001].press("Sẽ đến")
    await people[3002].press("Có thể")
    await people[3004].press("Sẽ đến")
    await people[3005].press("Going")
    await people[3005].press("Can't come")
    with database.session() as session:
        event = session.exec(select(Event).order_by(col(Event.id).desc())).first()
        assert event is not None
    transcript.note("The day before: reminders to those going or undecided, not to Ms. Hoa")
    clock.now = event.starts_at - timedelta(hours=22)
    await outbox()

    transcript.note("At the door, people scan the check-in QR code (a deep link into the bot)")
    clock.now = event.starts_at - timedelta(minutes=15)
    code = f"ev_{event.checkin_code}"
    await people[3001].say(f"/start {code}")
    await people[3004].say(f"/start {code}")
    await people[3005].say(f"/start {code}")  # a walk-in after all
    transcript.note("Anh Bình forgot his phone: Anh Dũng ticks him by hand")
    await dung.say("📅 Sự kiện")
    await dung.press("Hội thảo chia sẻ")
    await dung.press("Điểm danh")
    await dung.press("Anh Bình")

    transcript.note("After the workshop: the reaction survey goes to the four who came")
    clock.now = event.starts_at + timedelta(hours=4)
    await outbox()
    transcript.note("Three of them answer it (models/journeys/feedback.py, the survey journey)")
    lan, binh, hoa = people[3001], people[3002], people[3005]
    await lan.press("Góp ý")
    await lan.say("Nghe các xưởng khác kể lại cách họ làm")
    await lan.press("Giá kệ nhiều tầng")
    await lan.press("Xong")
    await lan.say("Làm thêm một giá kệ cho kho thành phẩm")
    await lan.press("5")
    await lan.say("Nên có thêm thời gian xem tận nơi")
    transcript.note("Anh Bình is a worker: his answers are anonymous")
    await binh.press("Góp ý")
    await binh.say("Phần hướng dẫn nâng ván đúng cách")
    await binh.press("Giá kệ nhiều tầng")
    await binh.press("Xong")
    await binh.say("Đề xuất với chủ xưởng làm giá kệ")
    await binh.press("4")
    await binh.press("Bỏ qua")
    await hoa.press("Give feedback")
    await hoa.say("Seeing the photos before and after")
    await hoa.press("Done")  # she picks none of the practices: Done alone skips the question
    await hoa.say("Talk to the owner about a trolley")
    await hoa.press("4")
    await hoa.press("Skip")
    transcript.note(
        "Three reactions: Chị Lan's counts at once; the two workers' wait for the feedback to "
        "close, and are shown only if three or more workers answered"
    )
    await dung.say("/events")
    await dung.press("Hội thảo chia sẻ")


def summarise(database: Database, sandbox: Sandbox) -> str:
    with database.session() as session:
        numbers = counts(session)
        rows = session.exec(
            select(Provider.name, Enterprise.name, Contact.role, func.count(col(Contact.id)))
            .join(Enterprise, col(Enterprise.provider_id) == Provider.id)
            .join(Contact, col(Contact.enterprise_id) == Enterprise.id, isouter=True)
            .group_by(Provider.name, Enterprise.name, Contact.role)
            .order_by(Provider.name, Enterprise.name)
        ).all()
        languages = session.exec(
            select(Contact.language, func.count(col(Contact.id))).group_by(Contact.language)
        ).all()

        def tally(column, table) -> str:  # type: ignore[no-untyped-def]
            found = session.exec(select(column, func.count()).select_from(table).group_by(column))
            rows = sorted(found.all(), key=str)
            return ", ".join(f"{n} {value or 'unanswered'}" for value, n in rows) or "none"

        journeys = [
            f"- improvement reports: {tally(Improvement.status, Improvement)}",
            f"- survey responses: {tally(SurveyResponse.questionnaire, SurveyResponse)}",
            f"- visits: {tally(Visit.status, Visit)}",
            f"- events: {tally(Event.kind, Event)}; replies: {tally(Rsvp.answer, Rsvp)}",
            f"- broadcasts: {tally(Broadcast.status, Broadcast)}",
            f"- messages sent through the outbox, by kind: {tally(Outbox.kind, Outbox)}",
        ]
    lines = [
        "# oshbot demo summary",
        "",
        f"- providers: {numbers['providers']}",
        f"- enterprises: {numbers['enterprises']}",
        f"- invites issued: {numbers['invites']}",
        "- contacts: " + ", ".join(f"{numbers[f'contacts_{role}']} {role}" for role in Role),
        "- languages chosen: " + ", ".join(f"{lang}: {n}" for lang, n in languages),
        f"- messages the bot sent: {sum(len(u.messages()) for u in sandbox.users.values())}"
        f" (rate-limited answers from the sandbox: {sandbox.stats.rate_limited})",
        *journeys,
        "",
        "| provider | enterprise | registered |",
        "|---|---|---|",
    ]
    table: dict[tuple[str, str], list[str]] = {}
    for provider, enterprise, role, number in rows:
        entry = table.setdefault((provider, enterprise), [])
        if role is not None:
            entry.append(f"{number} {role}")
    for (provider, enterprise), registered in table.items():
        lines.append(f"| {provider} | {enterprise} | {', '.join(registered) or '—'} |")
    return "\n".join(lines) + "\n"
