"""Builders the end-to-end tests share: people who join through invites, providers, enterprises,
staff and coordinators, improvement reports driven through the chat, a seeded programme for the
summaries. One home, so that test modules never import each other."""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient
from telegram import Update
from typer.testing import CliRunner

from bot import dashboard
from bot.cli import app
from bot.dashboard.auth import sign_in_url
from bot.playback import Person
from bot.sandbox import SandboxUser, SentMessage
from bot.settings import Settings
from models import programme, websignin
from models.db import Database
from models.programme import (
    EnterpriseDraft,
    add_provider,
    create_invite,
)
from models.tables import (
    Consent,
    ConsentPurpose,
    Contact,
    Enterprise,
    Improvement,
    PeopleShown,
    Provider,
    ReviewStatus,
    Role,
    ShareConsent,
    SurveyAnswer,
    SurveyResponse,
    SurveyRound,
    Visit,
    VisitStatus,
)
from reports.figures import (
    Scope,
    Summary,
    parse_period,
)
from reports.samples import workshop_photo
from reports.summary import build_summary
from scheduler.config import SchedulerConfig
from scheduler.jobs import visits_job
from tests.conftest import Clock, World

# -- people joining through invites


def make_provider(world: World, name: str = "Trung tâm ATVSLĐ Đà Nẵng") -> int:
    with world.database.session() as session:
        return add_provider(session, name=name, province_code="da-nang").id  # type: ignore[return-value]


def make_enterprise(world: World, provider_id: int, name: str = "Xưởng mộc Hòa Phát") -> int:
    draft = EnterpriseDraft(name, "wood", "da-nang", 12, date(2026, 10, 1))
    with world.database.session() as session:
        return programme.add_enterprise(  # type: ignore[return-value]
            session, provider_id=provider_id, draft=draft, today=date(2027, 3, 1)
        ).id


def make_invite(world: World, role: Role, **where: int) -> str:
    with world.database.session() as session:
        return create_invite(
            session,
            role=role,
            days=14,
            now=world.clock(),
            **where,  # type: ignore[arg-type]
        ).code


async def join(world: World, user_id: int, code: str, language: str = "Tiếng Việt") -> World:
    person = world.user(user_id)
    reply = await person.say(f"/start {code}")
    assert reply is not None and "ngôn ngữ" in reply.plain
    await person.press(language)
    await person.press("✅")
    return world


@asynccontextmanager
async def two_processes(world: World) -> AsyncIterator[World]:
    """A second Application (another `oshbot serve` worker) on the same database; the people's
    updates are dealt to the two in turn, the second one first. It must raise nothing."""
    other = World(world.sandbox, world.settings, world.database, world.clock, world.api_clock)
    await other.start()
    turns = itertools.cycle([other.application, world.application])
    dealt = world.stage.deliver

    async def alternately() -> None:
        for raw in world.sandbox.take_updates():
            application = next(turns)
            await application.process_update(Update.de_json(raw, application.bot))

    world.stage.deliver = alternately  # type: ignore[method-assign]
    try:
        yield other
    finally:
        world.stage.deliver = dealt  # type: ignore[method-assign]
        await other.stop()
    assert not other.errors, other.errors


def contact(world: World, user_id: int) -> Contact | None:
    with world.database.session() as session:
        return session.exec(select(Contact).where(Contact.telegram_user_id == user_id)).first()


# -- staff and coordinators


LINK = re.compile(r"https://t\.me/oshbot_sandbox_bot\?start=([A-Za-z0-9_-]+)")


async def coordinator(world: World, user_id: int = 3001) -> Person:
    await join(world, user_id, make_invite(world, Role.COORDINATOR))
    return world.user(user_id)


async def staff(
    world: World, user_id: int, provider_id: int, language: str = "Tiếng Việt"
) -> Person:
    await join(world, user_id, make_invite(world, Role.STAFF, provider_id=provider_id), language)
    return world.user(user_id)


def link_code(message: SentMessage | None) -> str:
    assert message is not None and message.caption is not None, message
    found = LINK.search(message.caption)
    assert found is not None, message.caption
    return found.group(1)


def photos(person: Person) -> list[SentMessage]:
    return [m for m in person.account.messages() if m.method == "sendPhoto"]


# -- enterprises and people for the scheduler's visits


CONFIG = SchedulerConfig()


TZ = CONFIG.tz


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def add_person(
    world: World,
    user_id: int,
    role: Role,
    *,
    provider_id: int | None = None,
    enterprise_id: int | None = None,
    name: str = "An",
    language: str = "vi",
    tips: bool = True,
) -> Contact:
    """A registered contact who can be written to (and a sandbox user behind it)."""
    world.sandbox.user(user_id, name)
    with world.database.session() as session:
        contact = Contact(
            telegram_user_id=user_id,
            chat_id=user_id,
            display_name=name,
            role=role,
            provider_id=provider_id,
            enterprise_id=enterprise_id,
            language=language,
        )
        session.add(contact)
        session.flush()
        purposes = [ConsentPurpose.FOLLOWUP] + ([ConsentPurpose.TIPS] if tips else [])
        for purpose in purposes:
            session.add(
                Consent(contact_id=contact.id, purpose=purpose, text_version="t", language=language)
            )
        return contact


def add_enterprise(
    world: World,
    *,
    provider_id: int | None = None,
    name: str = "Xưởng mộc Hòa Phát",
    intervention: date = date(2027, 1, 25),
    sector: str = "wood",
    province: str = "da-nang",
) -> Enterprise:
    with world.database.session() as session:
        if provider_id is None:
            provider = Provider(name="Trung tâm ATVSLĐ Đà Nẵng", province_code="da-nang")
            session.add(provider)
            session.flush()
            provider_id = provider.id
        enterprise = Enterprise(
            provider_id=provider_id,  # type: ignore[arg-type]
            name=name,
            sector_code=sector,
            province_code=province,
            workers=18,
            intervention_date=intervention,
        )
        session.add(enterprise)
        session.flush()
        return enterprise


# -- a good-practice library


NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


@dataclass
class Library:
    north: int
    south: int
    enterprises: dict[str, int]
    named: int  # good practice, named
    anonymous: int  # good practice, anonymous
    not_shared: int  # good practice, enterprise said no
    verified_only: int  # verified, not a good practice


def add_improvement(
    database: Database,
    enterprise_id: int,
    *,
    area: str = "storage",
    description: str = "Kệ ba tầng cho nguyên liệu, lối đi sơn vạch vàng.",
    consent: ShareConsent | None = ShareConsent.NAMED,
    status: ReviewStatus = ReviewStatus.GOOD_PRACTICE,
    photos: Path | None = None,
    seed: int = 1,
    cost: int | None = 1_500_000,
    workers: int | None = 12,
    risk: tuple[int, int] | None = (9, 2),
    people: PeopleShown | None = PeopleShown.NONE,
) -> int:
    before = after = None
    if photos is not None:
        before = str(workshop_photo(photos / f"before-{seed}.jpg", after=False, seed=seed))
        after = str(workshop_photo(photos / f"after-{seed}.jpg", after=True, seed=seed))
    with database.session() as session:
        improvement = Improvement(
            enterprise_id=enterprise_id,
            area_code=area,
            description=description,
            photo_before_path=before,
            photo_after_path=after,
            cost_vnd=cost,
            workers_benefiting=workers,
            risk_before_score=risk[0] if risk else None,
            risk_after_score=risk[1] if risk else None,
            share_consent=consent,
            people_shown=people,
            status=status,
            reviewed_at=NOW,
            submitted_at=NOW,
        )
        session.add(improvement)
        session.flush()
        return improvement.id  # type: ignore[return-value]


def build_library(database: Database, photos: Path | None = None) -> Library:
    with database.session() as session:
        north = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng", province_code="da-nang")
        south = add_provider(session, name="Trung tâm Y tế lao động Cần Thơ")
        plan = {
            "moc": (north.id, "Xưởng mộc Hòa Phát", "wood", "da-nang"),
            "may": (north.id, "Công ty May Thu Hà", "garment", "hue"),
            "co_khi": (south.id, "Cơ khí Tân Tiến", "metal", "can-tho"),
        }
        enterprises = {}
        for key, (provider_id, name, sector, province) in plan.items():
            draft = EnterpriseDraft(name, sector, province, 20, date(2027, 1, 10))
            enterprises[key] = programme.add_enterprise(
                session, provider_id=provider_id, draft=draft, today=NOW.date()
            ).id
    named = add_improvement(database, enterprises["moc"], photos=photos, seed=1)
    anonymous = add_improvement(
        database,
        enterprises["co_khi"],
        area="machine",
        description="Che chắn dây curoa máy mài bằng lưới thép.",
        consent=ShareConsent.ANONYMOUS,
        photos=photos,
        seed=2,
    )
    not_shared = add_improvement(database, enterprises["may"], consent=ShareConsent.NO)
    verified_only = add_improvement(database, enterprises["may"], status=ReviewStatus.VERIFIED)
    return Library(north.id, south.id, enterprises, named, anonymous, not_shared, verified_only)  # type: ignore[arg-type]


# -- broadcasts


def people(
    world: World,
    enterprise_id: int,
    role: Role,
    count: int,
    *,
    first_id: int,
    language: str = "vi",
    tips: bool = True,
) -> list[int]:
    """Registered contacts with a chat in the sandbox (registration itself is tested elsewhere),
    with the consents "✅ I agree" gives (`tips=False`: "I agree, but no tips")."""
    ids = list(range(first_id, first_id + count))
    for user_id in ids:
        add_person(
            world, user_id, role, enterprise_id=enterprise_id, name=f"Người {user_id}",
            language=language, tips=tips,
        )  # fmt: skip
    return ids


async def staff_of(world: World, provider_id: int, user_id: int = 900) -> Person:
    await join(world, user_id, make_invite(world, Role.STAFF, provider_id=provider_id))
    return world.user(user_id)


def received(world: World, user_id: int) -> list[str]:
    return [m.plain or m.caption or "" for m in world.sandbox.users[user_id].messages()]


def count_in(text: str) -> int:
    """The recipient count of a preview: 'Sẵn sàng gửi tới 4 người nhận ...'."""
    return int(text.split("tới ")[1].split(" ")[0].replace(".", ""))


# -- events


def good_practice(world: World, enterprise_id: int, text: str) -> int:
    with world.database.session() as session:
        row = Improvement(
            enterprise_id=enterprise_id,
            area_code="storage",
            description=text,
            status="good_practice",
            share_consent="named",
            reviewed_at=world.clock(),
        )
        session.add(row)
        session.flush()
        return row.id  # type: ignore[return-value]


async def member(world: World, user_id: int, role: Role, name: str = "An", **where: int) -> Person:
    person = world.user(user_id, name)  # first: the sandbox keeps the first name it was given
    await join(world, user_id, make_invite(world, role, **where))
    return person


# -- the improvement report, driven through the chat


ASK_AREA = "Cải thiện của Anh/Chị thuộc lĩnh vực nào?"


ASK_KIND = "Đây là loại cải thiện nào?"


ASK_TEXT = "Anh/Chị đã cải thiện điều gì?"


ASK_BEFORE = "Anh/Chị có ảnh chụp trước khi thay đổi không?"


ASK_AFTER = "Còn ảnh sau khi thay đổi?"


ASK_COST = "Cải thiện này tốn khoảng bao nhiêu tiền?"


ASK_WORKERS = "Có bao nhiêu người lao động được hưởng lợi?"


ASK_LIKELY_BEFORE = "Trước khi cải thiện, khả năng"


ASK_SEVERITY_BEFORE = "Nếu xảy ra thì hậu quả có thể nặng"


ASK_LIKELY_AFTER = "Sau khi cải thiện, khả năng xảy ra tai nạn hoặc bệnh tật hiện nay"


ASK_SEVERITY_AFTER = "Nếu bây giờ vẫn xảy ra thì hậu quả"


ASK_SHARE = "chúng tôi chia sẻ cải thiện này làm điển hình tốt"


SUMMARY = "Anh/Chị vui lòng kiểm tra báo cáo"


STALE = "Nút này không còn hiệu lực."


DESCRIPTION = "Làm kệ ba tầng để gỗ không nằm dưới sàn, lối đi thông thoáng."


@dataclass
class Cast:
    world: World
    enterprise: int
    employer: Person
    staff: Person


async def cast(world: World) -> Cast:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    await join(world, 501, make_invite(world, Role.STAFF, provider_id=provider))
    await join(world, 101, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    await world.drain()  # the staff member hears that the employer joined
    return Cast(world, enterprise, world.user(101), world.user(501))


async def expect(person: Person, action: SentMessage | None, text: str) -> SentMessage:
    assert action is not None, f"no answer; last: {person.last_text()!r}"
    assert text in person.last_text(), person.last_text()
    return action


async def tap(person: Person, label: str) -> SentMessage | None:
    """Presses the newest button whose label is exactly `label`."""
    for message in reversed(person.account.messages()):
        for text, data in person.account.buttons(message):
            if text == label and data is not None:
                return await person.press_data(message.message_id, data)
    raise LookupError(f"no button {label!r}; last: {person.last_text()!r}")


def reports(world: World) -> list[Improvement]:
    with world.database.session() as session:
        return list(session.exec(select(Improvement).order_by(col(Improvement.id))))


def report(world: World) -> Improvement:
    rows = reports(world)
    assert len(rows) == 1, rows
    return rows[0]


STEPS: Sequence[tuple[str, str, str]] = (
    ("say", "📝 Báo cáo cải thiện", ASK_AREA),
    ("tap", "📦 Lưu giữ, vận chuyển", ASK_KIND),
    ("tap", "Giá, kệ nhiều tầng", ASK_TEXT),
    ("say", DESCRIPTION, ASK_BEFORE),
    ("tap", "🚫 Không có ảnh", ASK_AFTER),
    ("tap", "🚫 Chưa có ảnh", ASK_COST),
    ("say", "500k", ASK_WORKERS),
    ("say", "8", ASK_LIKELY_BEFORE),
    ("tap", "dễ xảy ra", ASK_SEVERITY_BEFORE),
    ("tap", "nghiêm trọng", ASK_LIKELY_AFTER),
    ("tap", "ít khả năng", ASK_SEVERITY_AFTER),
    ("tap", "nhẹ", ASK_SHARE),
    ("tap", "Có, không nêu tên", SUMMARY),
)


async def answer_until(person: Person, last_prompt: str | None = None) -> None:
    """Plays the standard answers up to the question `last_prompt` (default: the summary)."""
    for how, value, prompt in STEPS:
        action = await (person.say(value) if how == "say" else tap(person, value))
        await expect(person, action, prompt)
        if prompt == last_prompt:
            return


# -- a seeded programme for the summaries


TODAY = date(2027, 4, 10)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Programme:
    p1: int
    p2: int
    e1: int
    e2: int
    e3: int
    e4: int
    e5: int


def _complete(anonymous: bool, moment: datetime) -> dict[str, Any]:
    """A finished response as the surveys module stores it: anonymous ones without a time."""
    fields: dict[str, Any] = {}
    if "complete" in SurveyResponse.model_fields:
        fields["complete"] = True
        if not anonymous:
            fields["completed_at"] = moment
    else:
        fields["completed_at"] = moment
    return fields


def respond(
    session: Session,
    round_id: int,
    questionnaire_id: str,
    answers: dict[str, Any],
    *,
    contact_id: int | None = None,
    complete: bool = True,
) -> None:
    anonymous = questionnaire_id == "worker"
    response = SurveyResponse(
        round_id=round_id,
        questionnaire=questionnaire_id,
        contact_id=None if anonymous else contact_id,
        # The figures below are of released units, as the release job leaves them (the
        # release itself: tests/test_anonymity.py).
        released=complete,
        **(_complete(anonymous, at("2027-03-20T03:00:00")) if complete else {}),
    )
    session.add(response)
    session.flush()
    for question, value in answers.items():
        for item in value if isinstance(value, list) else [value]:
            session.add(
                SurveyAnswer(
                    response_id=response.id,
                    question_id=question,
                    value_int=item if isinstance(item, int) else None,
                    value_text=item if isinstance(item, str) else None,
                )
            )


def seed(database: Database) -> Programme:
    with database.session() as session:
        p1 = Provider(name="Trung tâm ATVSLĐ Đà Nẵng", province_code="da-nang")
        p2 = Provider(name="Trung tâm Y tế lao động Cần Thơ", province_code="can-tho")
        session.add_all([p1, p2])
        session.flush()

        def enterprise(
            provider: Provider, name: str, sector: str, province: str, workers: int, trained: date
        ) -> int:
            row = Enterprise(
                provider_id=provider.id,
                name=name,
                sector_code=sector,
                province_code=province,
                workers=workers,
                intervention_date=trained,
            )
            session.add(row)
            session.flush()
            return row.id  # type: ignore[return-value]

        e1 = enterprise(p1, "Xưởng mộc Hòa Phát", "wood", "da-nang", 10, date(2026, 10, 1))
        e2 = enterprise(p1, "Công ty May Thu Hà", "garment", "da-nang", 50, date(2026, 11, 1))
        e3 = enterprise(p1, "Mộc Thuận An", "wood", "hue", 8, date(2027, 1, 10))
        e4 = enterprise(p2, "Cơ khí Tân Tiến", "metal", "can-tho", 20, date(2026, 9, 1))
        e5 = enterprise(p1, "Mộc Sơn Trà", "wood", "da-nang", 5, date(2027, 5, 1))

        def improvement(
            enterprise_id: int,
            status: ReviewStatus,
            submitted: str | None,
            area: str | None,
            cost: int | None = None,
            band: str | None = None,
            workers: int | None = None,
            before: int | None = None,
            after: int | None = None,
            review_hours: int | None = None,
        ) -> None:
            submitted_at = at(submitted) if submitted else None
            session.add(
                Improvement(
                    enterprise_id=enterprise_id,
                    status=status,
                    submitted_at=submitted_at,
                    area_code=area,
                    cost_vnd=cost,
                    cost_band=band,
                    workers_benefiting=workers,
                    risk_before_score=before,
                    risk_after_score=after,
                    reviewed_at=(
                        submitted_at + timedelta(hours=review_hours)
                        if submitted_at and review_hours is not None
                        else None
                    ),
                    description="…",
                )
            )

        S = ReviewStatus
        improvement(e1, S.VERIFIED, "2027-01-05T03:00:00", "storage", 0, "free", 4, 9, 2, 24)
        improvement(
            e1, S.GOOD_PRACTICE, "2027-02-10T03:00:00", "storage", 500_000, "under_1m", 5, 6, 3, 72
        )
        improvement(e1, S.SUBMITTED, "2027-03-31T16:59:00", "machine", 2_000_000, "1m_5m", 6, 6, 6)
        improvement(e1, S.SUBMITTED, "2027-03-31T18:00:00", "machine", 100_000, None, 2, 9, 1)
        improvement(e1, S.DRAFT, None, "storage", 10, None, 1, 9, 1)
        improvement(e1, S.WITHDRAWN, "2027-02-01T03:00:00", "storage", 10, None, 1, 9, 1)
        improvement(
            e2, S.VERIFIED, "2027-01-20T03:00:00", "workstation", None, "under_1m", 20, 4, 2, 48
        )
        improvement(
            e2, S.SUBMITTED, "2026-12-31T18:00:00", "environment", 1_000_000, "1m_5m", None, 6, None
        )
        improvement(
            e3, S.VERIFIED, "2027-03-01T03:00:00", None, 300_000, "under_1m", 3, review_hours=12
        )
        improvement(e5, S.SUBMITTED, "2027-03-01T03:00:00", "storage", 0, "free", 2, 9, 1)

        def contact(role: Role, enterprise_id: int, user: int | None, **extra: Any) -> int:
            row = Contact(
                telegram_user_id=user, chat_id=user, role=role, enterprise_id=enterprise_id, **extra
            )
            session.add(row)
            session.flush()
            return row.id  # type: ignore[return-value]

        gone = at("2027-02-01T00:00:00")
        c1 = contact(Role.EMPLOYER, e1, 101)
        contact(Role.WORKER, e1, 102)
        contact(Role.WORKER, e1, 103, unreachable_at=gone)
        contact(Role.WORKER, e1, 104, opted_out_at=gone)
        c2 = contact(Role.EMPLOYER, e2, 201)
        contact(Role.EMPLOYER, e2, None, erased_at=gone)
        for user in (202, 203, 204, 205):
            contact(Role.WORKER, e2, user)
        contact(Role.EMPLOYER, e4, 401)
        contact(Role.WORKER, e5, 501)

        def survey_round(enterprise_id: int, number: int, opened: str) -> int:
            row = SurveyRound(enterprise_id=enterprise_id, number=number, opened_at=at(opened))
            session.add(row)
            session.flush()
            return row.id  # type: ignore[return-value]

        r1 = survey_round(e1, 1, "2027-02-01T03:00:00")
        r2 = survey_round(e2, 1, "2027-03-10T03:00:00")
        r3 = survey_round(e2, 2, "2027-03-31T18:00:00")  # 01/04 in Viet Nam: Q2
        survey_round(e4, 1, "2027-01-15T03:00:00")  # nobody answered
        respond(
            session,
            r1,
            "employer",
            {
                "usefulness": 4,
                "benefits": ["less_fatigue", "tidier"],
                "main_obstacle": "money",
                "improvements_kept": "yes",
                "recommend": "yes",
                "going_well": "Gọn gàng hơn",
            },
            contact_id=c1,
        )
        respond(
            session,
            r1,
            "worker",
            {
                "safer": 5,
                "less_tiring": 3,
                "ideas_asked": "yes",
                "training_this_year": "yes",
                "remaining_problem": "Bụi nhiều",
            },
        )
        respond(
            session,
            r1,
            "worker",
            {
                "safer": 4,
                "less_tiring": 4,
                "ideas_asked": "no",
                "training_this_year": "yes",
                "remaining_problem": None,
            },
        )
        respond(session, r1, "worker", {"safer": 1}, complete=False)
        respond(
            session,
            r2,
            "employer",
            {
                "usefulness": 2,
                "benefits": ["tidier"],
                "main_obstacle": "time",
                "improvements_kept": "partly",
                "recommend": "no",
            },
            contact_id=c2,
        )
        respond(
            session,
            r2,
            "worker",
            {
                "safer": 3,
                "less_tiring": 2,
                "ideas_asked": "no",
                "training_this_year": "no",
                "remaining_problem": "Ồn",
            },
        )
        respond(session, r3, "employer", {"usefulness": 5}, contact_id=c2)
        respond(session, r3, "worker", {"safer": 5})

        def visit(
            enterprise_id: int, due: date, status: VisitStatus, done: str | None = None
        ) -> None:
            session.add(
                Visit(
                    enterprise_id=enterprise_id,
                    due_on=due,
                    status=status,
                    done_at=at(done) if done else None,
                )
            )

        visit(e1, date(2027, 1, 10), VisitStatus.DONE, "2027-01-24T16:00:00")  # 24/01 23:00
        visit(e1, date(2027, 2, 1), VisitStatus.DONE, "2027-02-15T17:30:00")  # 16/02: late
        visit(e3, date(2027, 3, 1), VisitStatus.DONE, "2027-03-02T03:00:00")
        visit(e2, date(2027, 2, 20), VisitStatus.PLANNED)  # overdue by 10/04
        visit(e2, date(2027, 3, 30), VisitStatus.CONFIRMED)  # not yet overdue
        visit(e4, date(2027, 3, 15), VisitStatus.CANCELLED)
        visit(e4, date(2027, 4, 1), VisitStatus.DONE, "2027-04-02T03:00:00")
        return Programme(p1.id, p2.id, e1, e2, e3, e4, e5)  # type: ignore[arg-type]


def summarise(database: Database, period: str = "2027-Q1", **scope: Any) -> Summary:
    with database.session() as session:
        return build_summary(
            session, period=parse_period(period), scope=Scope(**scope), tz=TZ, today=TODAY
        )


# -- the scheduler's visits job


def run_visits(world: World) -> dict[str, int]:
    with world.database.session() as session:
        return visits_job(session, world.clock(), config=CONFIG)


# -- raw Telegram updates


def message(user_id: int, text: str, update_id: int, **extra: Any) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "An"},
                "text": text,
                **extra,
            },
        },
        None,
    )


# -- oshbot as a process


OSHBOT = [sys.executable, "-c", "from bot.cli import main; main()"]


PATIENCE = 60.0  # seconds a starting process may take before the test gives up waiting


async def wait_for(predicate: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    """Waits (bounded) while the bot process works; fails early if it died."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    while not predicate():
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert loop.time() < deadline, "the bot process did not answer in time"
        await asyncio.sleep(0.05)


async def next_reply(user: SandboxUser, process: subprocess.Popen[bytes], seen: int) -> SentMessage:
    await wait_for(lambda: len(user.messages()) > seen, process)
    return user.messages()[-1]


# -- the command line


runner = CliRunner()


def oshbot(database: Database, tmp_path: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    env = {
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(tmp_path / "data"),
        "OSHBOT_BOT_USERNAME": "osh_followup_bot",
    }
    return runner.invoke(app, list(args), env=env, input=stdin, catch_exceptions=False)


# -- the web dashboard: a seeded programme with staff of both providers, a coordinator and a
# report waiting for review (tests/test_dashboard.py, tests/test_dashboard_browser.py)

DASHBOARD_NOW = datetime(2027, 3, 31, 3, 0, tzinfo=UTC)  # 31/03/2027 10:00 in Viet Nam


@dataclass
class DashboardSite:
    database: Database
    settings: Settings
    clock: Clock
    programme: Programme
    staff1: int  # staff of P1 (Đà Nẵng)
    staff2: int  # staff of P2 (Cần Thơ)
    coordinator: int
    employer: int  # employer of E1, reporter of `report`
    report: int  # a report of E1 waiting for review

    def client(self) -> TestClient:
        app = Starlette(routes=[dashboard.mount(self.database, self.settings, clock=self.clock)])
        return TestClient(app, base_url="https://osh.example.vn")

    def link(self, contact_id: int) -> str:
        with self.database.session() as session:
            row = websignin.issue(session, session.get(Contact, contact_id), now=self.clock())
            return sign_in_url(self.settings, row.id)

    def signed_in(self, contact_id: int) -> TestClient:
        client = self.client()
        response = sign_in(client, self.link(contact_id))
        assert response.status_code == 200, response.text
        return client


def sign_in(client: TestClient, link: str) -> Any:
    """What a person does with a sign-in link: opens it, and presses Sign in."""
    asked = client.get(link)
    if asked.status_code != 200:
        return asked
    token = re.search(r'name="t" value="([^"]+)"', asked.text)
    assert token is not None, asked.text
    return client.post("/dashboard/signin", data={"t": html.unescape(token.group(1))})


def dashboard_site(database: Database, folder: Path) -> DashboardSite:
    programme = seed(database)
    with database.session() as session:
        people = [
            Contact(telegram_user_id=9001, chat_id=9001, display_name="Lan", role=Role.STAFF,
                    provider_id=programme.p1, language="vi"),
            Contact(telegram_user_id=9002, chat_id=9002, display_name="Minh", role=Role.STAFF,
                    provider_id=programme.p2, language="vi"),
            Contact(telegram_user_id=9003, chat_id=9003, display_name="Hoa",
                    role=Role.COORDINATOR, language="en"),
            Contact(telegram_user_id=9004, chat_id=9004, display_name="Ông Phát",
                    role=Role.EMPLOYER, enterprise_id=programme.e1, language="vi"),
        ]  # fmt: skip
        session.add_all(people)
        session.flush()
        report = session.exec(
            select(Improvement)
            .where(Improvement.enterprise_id == programme.e1, Improvement.status == "submitted")
            .order_by(col(Improvement.id))
        ).first()
        assert report is not None
        report.reporter_id = people[3].id
        report.description = "Giá để phôi gỗ cạnh máy cưa, lối đi thông thoáng"
        report.share_consent = ShareConsent.NAMED
        session.add(report)
        ids = [p.id for p in people]
        report_id = report.id
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        token="123:dashboard-test",
        database_url=database.url,
        data_dir=folder / "data",
        public_url="https://osh.example.vn",
    )
    return DashboardSite(database, settings, Clock(DASHBOARD_NOW), programme, *ids, report_id)  # type: ignore[arg-type]
