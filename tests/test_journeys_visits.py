"""Visits on the journey engine (models/journeys/visits.py): where a person stands is the
journey_state row, so two processes sharing the database serve one visit between them, a
restart loses nothing, /cancel leaves, a stale button changes nothing and a sticker is not a
date."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select
from telegram import Update

from bot.i18n import translator
from bot.playback import Person
from models.db import Database
from models.journeys.core import Turn
from models.journeys.state import telegram_person
from models.journeys.visits import staff_to_tell
from models.programme import EnterpriseDraft, add_provider
from models.programme import add_enterprise as add_enterprise_row
from models.tables import (
    Contact,
    JourneyState,
    Outbox,
    ReviewStatus,
    Role,
    Visit,
    VisitCheck,
    VisitStatus,
)
from tests.conftest import World
from tests.factories import add_enterprise, add_improvement, add_person, local, run_visits

PAUSED_VI = "Tôi đã dừng việc đang làm dở để làm ngay việc Anh/Chị vừa yêu cầu."
CANCELLED_VI = "Đã hủy. Anh/Chị muốn làm gì tiếp theo?"
STALE_VI = "Nút này không còn hiệu lực."
DATE_AS_TEXT_VI = "Anh/Chị vui lòng gõ ngày và giờ, ví dụ 20/03 9:00."
NOTES_AS_TEXT_VI = "Anh/Chị vui lòng gõ ghi chú bằng chữ, hoặc bấm Bỏ qua."
BUTTONS_VI = "Anh/Chị vui lòng chọn bằng các nút phía trên, hoặc gửi /cancel."


@pytest.fixture
def cast(world: World) -> int:
    """An enterprise with one reported improvement (risk 9 -> 4), its staff member (201) and
    its employer (301); returns the enterprise's id."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, name="Lan")
    add_improvement(world.database, enterprise.id, risk=(9, 4), status=ReviewStatus.VERIFIED)
    return enterprise.id


def first_visit(world: World, enterprise_id: int) -> Visit:
    with world.database.session() as session:
        return session.exec(
            select(Visit).where(Visit.enterprise_id == enterprise_id, Visit.offset_months == 1)
        ).one()


def position(world: World, user_id: int) -> tuple[str | None, dict[str, object]]:
    with world.database.session() as session:
        state = session.get(JourneyState, telegram_person(user_id))
        return (state.journey, dict(state.data or {})) if state else (None, {})


async def asked_for_a_date(world: World) -> Person:
    """The revisit comes due; the staff member presses 📅 on its card."""
    staff = world.user(201)
    run_visits(world)
    await world.drain()
    await staff.press("📅")
    return staff


async def logged_done(world: World, day: int) -> None:
    """On `day` March the staff member is asked how the visit went and presses ✅."""
    world.clock.now = local(2027, 3, day, 8)
    assert run_visits(world)["outcome"] == 1
    await world.drain()
    await world.user(201).press("✅")


@pytest.fixture
async def two(world: World) -> AsyncIterator[World]:
    """A second Application on the same database; updates are dealt to the two in turn."""
    other = World(world.sandbox, world.settings, world.database, world.clock, world.api_clock)
    await other.start()
    turns = itertools.cycle([other.application, world.application])

    async def alternately() -> None:
        for raw in world.sandbox.take_updates():
            application = next(turns)
            await application.process_update(Update.de_json(raw, application.bot))

    world.stage.deliver = alternately  # type: ignore[method-assign]
    yield other
    await other.stop()
    assert not other.errors, other.errors


async def test_two_processes_take_turns_through_a_whole_visit(
    world: World, cast: int, two: World
) -> None:
    """Staff propose, the employer suggests, staff accept, log the visit with notes, go through
    the checklist with a re-rated risk and get the report: every other update is served by the
    other process, and nothing is lost between them."""
    staff, employer = world.user(201), world.user(301)
    run_visits(world)
    await world.drain()
    await staff.press("📅")  # process B: the position is written to the database
    await staff.say("05/03 9:00")  # A reads it there
    visit = first_visit(world, cast)
    assert visit.status == VisitStatus.PROPOSED and visit.scheduled_at == local(2027, 3, 5, 9)
    await world.drain()
    await employer.press("🕑")
    await employer.say("06/03 14:00")
    assert first_visit(world, cast).suggested_at == local(2027, 3, 6, 14)
    await world.drain()
    await staff.press("✅")
    assert first_visit(world, cast).status == VisitStatus.CONFIRMED

    await logged_done(world, 7)
    assert "Bỏ qua" in str(staff.account.buttons())
    await staff.say("Kệ mới đã dùng hằng ngày.")
    assert "(1/1)" in staff.last_text()
    await staff.press("Đang dùng")
    await staff.press("Đánh giá lại")
    await staff.press("có thể xảy ra")
    await staff.press("nghiêm trọng")
    assert "Đã xem: 1/1 mục." in staff.last_text()  # the end card
    await staff.press("Kết thúc kiểm tra")
    copy = staff.account.last()
    assert copy.document_filename == f"visit-report-{visit.id}-vi.pdf"
    done = first_visit(world, cast)
    assert done.status == VisitStatus.DONE and done.notes == "Kệ mới đã dùng hằng ngày."
    assert done.checklist_done_at is not None
    with world.database.session() as session:
        [check] = session.exec(select(VisitCheck)).all()
        assert (check.self_score, check.staff_score) == (4, 4)
        reports = session.exec(select(Outbox.key).where(Outbox.kind == "visit-report")).all()
    assert len(reports) == 1
    assert position(world, 201) == (None, {})
    assert not any("rất tiếc" in text.lower() for text in staff.texts())


async def test_a_restart_in_the_middle_loses_nothing(world: World, cast: int) -> None:
    """The position survives a restart at each wait: the date, the notes, the checklist."""
    staff = await asked_for_a_date(world)
    assert position(world, 201)[0] == "visits"
    await world.restart()
    await staff.say("05/03 9:00")
    assert first_visit(world, cast).status == VisitStatus.PROPOSED

    await logged_done(world, 6)
    await world.restart()
    await staff.say("Ghi chú sau khi khởi động lại.")
    assert first_visit(world, cast).notes == "Ghi chú sau khi khởi động lại."
    card = staff.account.last()
    assert "(1/1)" in card.plain
    await world.restart()
    await staff.press("Một phần", card)
    await staff.press("Bỏ qua")
    await world.restart()
    await staff.press("Kết thúc kiểm tra")  # the end card's Finish, after a restart too
    assert staff.account.last().document_filename is not None


async def test_cancel_leaves_the_wait_and_the_date_is_not_taken(world: World, cast: int) -> None:
    staff = await asked_for_a_date(world)
    await staff.say("/cancel")
    assert CANCELLED_VI in staff.last_text()
    assert position(world, 201) == (None, {})
    await staff.say("05/03 9:00")  # no longer an answer to anything
    assert first_visit(world, cast).status == VisitStatus.PLANNED

    # Cancelled in the checklist, /visit picks it up where it stopped.
    world.clock.now = local(2027, 3, 1, 10)
    await staff.say("/visit")
    await staff.press("Xưởng mộc")
    await staff.press("Có, chuyến thăm đã diễn ra")
    await staff.press("Bỏ qua")
    assert "(1/1)" in staff.last_text()
    await staff.say("/cancel")
    assert CANCELLED_VI in staff.last_text()
    await staff.say(f"/visit {cast}")
    assert "(1/1)" in staff.last_text()
    assert position(world, 201)[0] == "visits"


async def test_stale_and_forged_buttons_change_nothing(world: World, cast: int) -> None:
    staff = await asked_for_a_date(world)
    await staff.say("05/03 9:00")
    proposed = first_visit(world, cast)
    shown = await staff.say("/help")
    assert shown is not None
    # Skip outside the notes, a checklist button of a visit not done, forged data.
    for data in ("vis:skip", f"vck:f:{proposed.id}", "vck:s:abc", "vis:prop:x", "vis:zzz"):
        await staff.press_data(shown.message_id, data)
    answers = staff.answers()[-5:]
    assert [answers[i] for i in (0, 2, 3, 4)] == [STALE_VI] * 4, answers
    assert "chỉ mở khi chuyến thăm đã được ghi nhận" in staff.last_text()
    after = first_visit(world, cast)
    assert (after.status, after.scheduled_at, after.checklist_done_at) == (
        proposed.status, proposed.scheduled_at, None,
    )  # fmt: skip
    with world.database.session() as session:
        assert session.exec(select(VisitCheck)).first() is None

    # While staff are typing a new date, an old Done button of a closed visit is refused
    # and the wait goes on.
    await staff.press("📅", next(m for m in staff.account.messages() if "📅" in str(
        staff.account.buttons(m))))  # fmt: skip
    await staff.press_data(shown.message_id, "vis:done:99999999")
    assert staff.answers()[-1]
    assert position(world, 201)[1].get("at") == "when"
    await staff.say("08/03 9:00")
    assert first_visit(world, cast).scheduled_at == local(2027, 3, 8, 9)


async def test_wrong_kinds_of_message_are_answered_and_the_wait_goes_on(
    world: World, cast: int
) -> None:
    staff = await asked_for_a_date(world)
    await staff.send("sticker")
    assert staff.last_text() == DATE_AS_TEXT_VI
    await staff.send("voice")
    assert staff.last_text() == DATE_AS_TEXT_VI
    await staff.say("09/03 9:00")
    assert first_visit(world, cast).scheduled_at == local(2027, 3, 9, 9)

    await logged_done(world, 10)
    await staff.send("sticker")
    assert staff.last_text() == NOTES_AS_TEXT_VI
    await staff.press("Bỏ qua")
    assert "(1/1)" in staff.last_text()
    await staff.say("đang dùng")  # typed where the card's buttons are the answer
    assert staff.last_text() == BUTTONS_VI
    await staff.send("sticker")
    assert staff.last_text() == BUTTONS_VI
    with world.database.session() as session:
        assert session.exec(select(VisitCheck)).first() is None
    await staff.press("Đang dùng")
    assert "4/9" in staff.last_text()


async def test_the_lists_answer_beside_a_wait_and_another_journey_pauses_it(
    world: World, cast: int
) -> None:
    """/visits while a date is asked keeps the question; adding an enterprise sets it aside."""
    staff = await asked_for_a_date(world)
    await staff.say("/visits")
    assert "Xưởng mộc Hòa Phát" in staff.last_text()
    await staff.say("05/03 9:00")
    assert first_visit(world, cast).status == VisitStatus.PROPOSED

    await staff.press("📅", next(
        m for m in staff.account.messages() if "Đề xuất" in str(staff.account.buttons(m))
    ))  # fmt: skip
    await staff.say("/newenterprise")
    assert PAUSED_VI in staff.texts()[-2]
    await staff.say("Công ty May Thu Hà")  # the enterprise's name, not a date
    assert position(world, 201)[0] == "admin.enterprise"
    assert first_visit(world, cast).scheduled_at == local(2027, 3, 5, 9)
    assert first_visit(world, cast).due_on == date(2027, 2, 25)


async def test_a_checklist_set_aside_says_how_to_pick_it_up(world: World, cast: int) -> None:
    """Another journey's command in the middle of a checklist: the person is told the checklist
    waits and that /visit continues it, and it does."""
    staff = await asked_for_a_date(world)
    await staff.say("05/03 9:00")
    await logged_done(world, 6)
    await staff.press("Bỏ qua")
    assert "(1/1)" in staff.last_text()
    await staff.say("/newenterprise")
    assert (
        "Danh mục kiểm tra chuyến thăm vẫn chờ Anh/Chị: gửi /visit để làm tiếp."
        in (staff.texts()[-2])
    )
    assert position(world, 201)[0] == "admin.enterprise"
    await staff.say(f"/visit {cast}")
    assert "(1/1)" in staff.last_text()


def test_the_proposing_staff_member_on_zalo_alone_hears_the_answer(database: Database) -> None:
    """Staff whom only Zalo reaches count as reachable like everyone else (models.outbox):
    the answer goes to the one who proposed, not to every staff member of the provider."""
    now = datetime(2027, 3, 1, 3, tzinfo=UTC)
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Huế")
        draft = EnterpriseDraft("Xưởng gỗ Thuận An", "wood", "hue", 12, date(2026, 10, 1))
        enterprise = add_enterprise_row(
            session, provider_id=provider.id, draft=draft, today=date(2027, 3, 1)
        )
        proposer, colleague = (
            Contact(role=Role.STAFF, provider_id=provider.id, zalo_user_id="z-staff"),
            Contact(role=Role.STAFF, provider_id=provider.id, telegram_user_id=71, chat_id=71),
        )
        session.add_all([proposer, colleague])
        session.flush()
        visit = Visit(
            enterprise_id=enterprise.id, due_on=date(2027, 3, 5), staff_id=proposer.id,
            status=VisitStatus.PROPOSED,
        )  # fmt: skip
        session.add(visit)
        session.flush()
        turn = Turn(session, "tg:1", None, "vi", translator("vi"), now, {})
        assert staff_to_tell(turn, visit) == [proposer]
        # Zalo refused them: then every staff member some channel reaches hears it.
        proposer.zalo_unreachable_at = now
        assert staff_to_tell(turn, visit) == [colleague]
