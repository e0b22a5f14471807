"""`oshbot demo`: a small programme played through the sandbox by the real Application.

Everything the demo shows happened: people press buttons in the sandbox, the bot answers
through python-telegram-bot, and the database records it. The transcript and the summary are
written into the output folder, beside the demo's own database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import col, func, select

from bot.app import build_application
from bot.playback import Person, Stage, Transcript
from bot.sandbox import FakeClock, Sandbox
from bot.settings import Settings
from models.db import Database
from models.programme import counts, create_invite
from models.tables import Contact, Enterprise, Provider, Role

CODE = re.compile(r"start=([A-Za-z0-9_-]+)")
DEMO_START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # 09:00 in Viet Nam


@dataclass(frozen=True)
class DemoResult:
    summary_text: str
    transcript_path: Path
    summary_path: Path
    database_url: str


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
    )
    transcript = Transcript(["# oshbot demo transcript", ""])
    stage = Stage(sandbox, application, api_clock=api_clock, transcript=transcript)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    try:
        await play(stage, database, settings, clock)
    finally:
        await application.update_persistence()
        await application.shutdown()

    transcript_path = out / "transcript.md"
    transcript_path.write_text(transcript.text(), encoding="utf-8")
    summary = summarise(database, sandbox)
    summary_path = out / "summary.md"
    summary_path.write_text(summary, encoding="utf-8")
    database.dispose()
    return DemoResult(summary, transcript_path, summary_path, url)


async def play(stage: Stage, database: Database, settings: Settings, clock: DemoClock) -> None:
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
        ("Công ty May Thu Hà", "employer", 3004, "Bà Thu (giám đốc)", "vi"),
        ("Công ty May Thu Hà", "worker", 3005, "Ms. Hoa (worker)", "en"),
        ("Cơ khí Tân Tiến", "employer", 3006, "Mr. Tiến (owner)", "en"),
        ("Cơ khí Tân Tiến", "worker", 3007, "Anh Khoa (thợ hàn)", "vi"),
    ]
    for enterprise, role, user_id, name, language in people:
        await register(stage.person(user_id, name), links[enterprise][role], language)

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
    lines = [
        "# oshbot demo summary",
        "",
        f"- providers: {numbers['providers']}",
        f"- enterprises: {numbers['enterprises']}",
        f"- invites issued: {numbers['invites']}",
        "- contacts: "
        + ", ".join(f"{numbers[f'contacts_{role}']} {role}" for role in Role),
        "- languages chosen: " + ", ".join(f"{lang}: {n}" for lang, n in languages),
        f"- messages the bot sent: {sum(len(u.messages()) for u in sandbox.users.values())}"
        f" (rate-limited answers from the sandbox: {sandbox.stats.rate_limited})",
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
