"""Creating and moving an event as journeys (models/journeys/events.py): any process can take
the organiser's next message, a restart loses nothing, /cancel drops the draft, and stale
buttons or the wrong kind of message change nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from telegram import Update
from telegram.ext import Application

from bot.playback import Person
from models import events
from models.audience import Audience
from models.journeys.state import telegram_person
from models.tables import Contact, Event, EventGoodPractice, JourneyState, Provider, Role
from tests.conftest import World
from tests.factories import (
    contact,
    coordinator,
    good_practice,
    make_enterprise,
    make_provider,
    member,
    staff,
)

STARTS = datetime(2027, 3, 20, 7, 0, tzinfo=UTC)  # 20/03/2027 14:00 in Viet Nam
STALE_VI = "Nút này không còn hiệu lực."
PAUSED_VI = "Tôi đã dừng việc đang làm dở để làm ngay việc Anh/Chị vừa yêu cầu."
CANCELLED_VI = "Đã hủy. Anh/Chị muốn làm gì tiếp theo?"


def position(world: World, user_id: int) -> JourneyState | None:
    with world.database.session() as session:
        return session.get(JourneyState, telegram_person(user_id))


def all_events(world: World) -> list[Event]:
    with world.database.session() as session:
        return list(session.exec(select(Event)))


def labels(person: Person) -> list[str]:
    return [label for label, _ in person.account.buttons()]


async def organiser_world(world: World, *, practice: bool = False) -> Person:
    provider = make_provider(world)
    wood = make_enterprise(world, provider, "Xưởng mộc Hòa Phát")
    if practice:
        good_practice(world, wood, "Giá kệ nhiều tầng giúp lối đi thông thoáng")
    organiser = await staff(world, 600, provider)
    await member(world, 601, Role.EMPLOYER, "Chị Lan", enterprise_id=wood)
    await member(world, 602, Role.WORKER, "Anh Bình", enterprise_id=wood)
    await world.drain()
    return organiser


def planned_event(world: World, organiser_id: int = 600) -> Event:
    actor = contact(world, organiser_id)
    assert actor is not None
    with world.database.session() as session:
        event = events.create_event(
            session,
            draft=events.EventDraft(
                kind=events.TRAINING,
                title="Tập huấn sắp xếp kho",
                starts_at=STARTS,
                place="Xưởng mộc Hòa Phát",
                audience=Audience(provider_id=actor.provider_id),
            ),
            actor=actor,
            now=world.clock(),
        )
        events.invite(session, event=event, now=world.clock())
        session.expunge(event)
        return event


async def alternating(world: World) -> World:
    """A second Application (a second `oshbot serve` worker) on the same database; from now
    on the two take the person's updates in turn, the first one surviving restarts."""
    other = World(world.sandbox, world.settings, world.database, world.clock, world.api_clock)
    await other.start()
    apps: list[Callable[[], Application]] = [  # type: ignore[type-arg]
        lambda: other.application,
        lambda: world.application,
    ]
    turns = itertools.cycle(apps)

    async def alternately() -> None:
        for raw in world.sandbox.take_updates():
            application = next(turns)()
            await application.process_update(Update.de_json(raw, application.bot))

    world.stage.deliver = alternately  # type: ignore[method-assign]
    return other


async def test_two_processes_take_turns_creating_an_event_across_a_restart(world: World) -> None:
    organiser = await organiser_world(world, practice=True)
    other = await alternating(world)
    try:
        await organiser.say("/event")  # B
        await organiser.press("Tập huấn")  # A
        assert "✔ Tập huấn" in organiser.texts()[-2]  # the question keeps the answer
        await organiser.say("Tập huấn sắp xếp kho")  # B
        await organiser.say("20/03/2027 14:00")  # A
        await world.restart()
        await organiser.say("Xưởng mộc Hòa Phát, 5 Lê Lợi")  # B
        assert "Bỏ qua" in labels(organiser)  # the pin, if any
        await organiser.send("location", 16.0544, 108.2022)  # A (restarted)
        assert "Chương trình gồm những gì?" in organiser.last_text()
        await organiser.press("Bỏ qua")  # B: no agenda
        assert "Mời những ai?" in organiser.last_text()
        assert "Sẽ mời 2 người." in organiser.last_text()
        await organiser.press("Người lao động")  # A: workers off
        await organiser.press("Đối tác")  # B: partners on; A's tick is still there
        assert labels(organiser)[:3] == ["✅ Chủ doanh nghiệp", "⬜ Người lao động", "✅ Đối tác"]
        assert "Sẽ mời 1 người." in organiser.last_text()
        await organiser.press("Tỉnh/thành")  # A
        await organiser.press("Đà Nẵng")  # B
        assert labels(organiser)[0] == "✅ Đà Nẵng"
        await organiser.press("Quay lại")  # A
        assert "Tỉnh/thành phố: Đà Nẵng" in organiser.last_text()
        state = position(world, 600)
        assert state is not None and state.journey == "events.create"
        assert state.data["step"] == "audience" and state.data["pin"] == [16.0544, 108.2022]
        assert state.data["agenda"] is None and "selection" in state.data
        await organiser.press("Tiếp")  # B
        await organiser.press("Giá kệ nhiều tầng")  # A
        assert labels(organiser)[0].startswith("✅ Giá kệ")
        await world.restart()
        await organiser.press("Xong")  # B
        preview = organiser.last_text()
        assert "kiểm tra thông tin sự kiện" in preview and "Giá kệ nhiều tầng" in preview
        assert "maps.google.com/?q=16.054400,108.202200" in preview
        await organiser.press("Tạo và gửi thư mời")  # A (restarted again)
        assert "Đã tạo sự kiện" in organiser.texts()[-2]
        assert organiser.account.messages()[-1].method == "sendPhoto"  # the check-in QR code
    finally:
        await other.stop()
    assert not other.errors, other.errors
    [event] = all_events(world)
    assert (event.title, event.kind, event.starts_at) == (
        "Tập huấn sắp xếp kho",
        events.TRAINING,
        STARTS,
    )
    assert event.latitude == pytest.approx(16.0544) and event.agenda is None
    assert event.audience["roles"] == [Role.EMPLOYER] and event.audience["include_partners"]
    assert event.audience["provinces"] == ["da-nang"]
    with world.database.session() as session:
        assert len(session.exec(select(EventGoodPractice)).all()) == 1
    state = position(world, 600)
    assert state is not None and state.journey is None and not state.paused


async def test_two_processes_take_turns_moving_an_event_and_a_second_press_is_stale(
    world: World,
) -> None:
    organiser = await organiser_world(world)
    event = planned_event(world)
    other = await alternating(world)
    try:
        await organiser.say("/events")  # B
        await organiser.press("Tập huấn sắp xếp kho")  # A
        await organiser.press("Đổi giờ")  # B
        assert "hiện bắt đầu lúc 14:00 Thứ Bảy, 20/03/2027" in organiser.last_text()
        await world.restart()
        await organiser.say("27/03/2027 8:30")  # A (restarted)
        assert "08:30 Thứ Bảy, 27/03/2027" in organiser.last_text()
        await organiser.press("✅ Đổi giờ")  # B
        assert "Đã đổi giờ sự kiện. 2 người được mời" in organiser.last_text()
        assert labels(organiser) == []
        await organiser.press_data(organiser.account.messages()[-1].message_id, "evt:moveok")
        assert organiser.answers()[-1] == STALE_VI  # A: pressed twice, told once
    finally:
        await other.stop()
    assert not other.errors, other.errors
    [moved] = all_events(world)
    assert moved.id == event.id and moved.starts_at == datetime(2027, 3, 27, 1, 30, tzinfo=UTC)
    assert moved.version == event.version + 1


async def test_cancel_drops_the_draft_and_its_buttons_go_stale(world: World) -> None:
    organiser = await organiser_world(world)
    kinds = await organiser.say("/event")
    assert kinds is not None
    await organiser.press("Hội thảo kết quả")
    await organiser.say("Hội thảo cuối năm")
    await organiser.say("/cancel")
    assert organiser.last_text() == CANCELLED_VI
    state = position(world, 600)
    assert state is not None and state.journey is None and not state.paused
    # The kind buttons of the cancelled draft mean nothing any more.
    await organiser.press_data(kinds.message_id, f"evt:kind:{events.TRAINING}")
    assert organiser.answers()[-1] == STALE_VI
    state = position(world, 600)
    assert state is not None and state.journey is None
    # /event starts afresh.
    await organiser.say("/event")
    await organiser.press("Tập huấn")
    await organiser.say("Tập huấn mới")
    state = position(world, 600)
    assert state is not None and state.data["title"] == "Tập huấn mới"
    assert state.data["kind"] == events.TRAINING and state.data["step"] == "starts_at"
    # A button of an earlier step, pressed now: told so, nothing moves.
    await organiser.press_data(kinds.message_id, f"evt:kind:{events.PROVIDER_MEETING}")
    assert organiser.answers()[-1] == STALE_VI
    after = position(world, 600)
    assert after is not None and after.data == state.data
    assert all_events(world) == []


async def test_wrong_kinds_of_message_are_answered_where_they_come(world: World) -> None:
    organiser = await organiser_world(world)
    await organiser.say("/event")
    await organiser.send("sticker")
    assert organiser.last_text() == "Anh/Chị vui lòng chọn loại sự kiện bằng các nút."
    assert len(labels(organiser)) == len(events.KINDS)
    await organiser.say("/nosuchcommand")  # answered beside the form, which keeps its place
    assert "Tôi chưa hiểu lệnh này" in organiser.last_text()
    await organiser.press("Tập huấn")
    await organiser.send("photo", b"\xff\xd8jpeg")
    assert organiser.last_text() == "Anh/Chị vui lòng trả lời bằng chữ."
    await organiser.say("Tập huấn kho")
    await organiser.send("location", 16.0, 108.0)
    assert organiser.last_text() == "Anh/Chị vui lòng trả lời bằng chữ."
    await organiser.say("20/03/2027 14:00")
    await organiser.send("voice")
    assert "vui lòng nhập địa điểm, hoặc gửi vị trí" in organiser.last_text()
    await organiser.say("Nhà văn hóa phường")
    await organiser.say("ở cổng chính")
    assert "vui lòng gửi vị trí, hoặc bấm Bỏ qua" in organiser.last_text()
    assert labels(organiser) == ["Bỏ qua"]
    await organiser.press("Bỏ qua")
    await organiser.send("sticker")
    assert organiser.last_text() == "Anh/Chị vui lòng trả lời bằng chữ."
    await organiser.say("ab")
    assert "quá ngắn" in organiser.last_text()
    await organiser.say("Sắp xếp lại kho theo 5S")
    await organiser.say("xong")
    assert organiser.last_text() == "Anh/Chị vui lòng dùng các nút ở trên."
    await organiser.press("Tiếp")  # no good practice in the library: straight to the preview
    await organiser.say("ok")
    assert "vui lòng bấm ✅ Tạo và gửi thư mời, hoặc ✖ Hủy" in organiser.last_text()
    await organiser.press("Hủy")
    assert organiser.last_text() == CANCELLED_VI
    assert all_events(world) == []

    planned_event(world)
    await organiser.say("/events")
    await organiser.press("Tập huấn sắp xếp kho")
    await organiser.press("Đổi giờ")
    await organiser.send("sticker")
    assert organiser.last_text() == "Anh/Chị vui lòng trả lời bằng chữ."
    await organiser.say("20/03/2027 14:00")
    await organiser.press("✅ Đổi giờ")  # the same time: refused, nothing told
    assert organiser.answers()[-1] == "Sự kiện đã được đặt đúng vào thời gian này rồi."
    await organiser.press("Đổi giờ")
    await organiser.say("21/03/2027 14:00")
    await organiser.say("được")
    assert organiser.last_text() == "Anh/Chị vui lòng bấm ✅ Đổi giờ, hoặc ✖ Hủy."
    await organiser.press("Hủy")
    assert organiser.last_text() == CANCELLED_VI
    [event] = all_events(world)
    assert event.starts_at == STARTS and event.version == 1


async def test_cancel_under_a_move_cancels_the_move_not_the_paused_event_draft(
    world: World,
) -> None:
    """ "✖ Cancel" carries the same data under both confirmations: the form in front takes it."""
    organiser = await organiser_world(world)
    planned_event(world)
    await organiser.say("/event")
    await organiser.press("Tập huấn")
    await organiser.say("/events")
    assert PAUSED_VI in organiser.texts()[-2]
    await organiser.press("Tập huấn sắp xếp kho")
    await organiser.press("Đổi giờ")
    await organiser.say("21/03/2027 14:00")
    await organiser.press("Hủy")
    assert organiser.last_text() == CANCELLED_VI
    state = position(world, 600)
    assert state is not None and state.journey is None
    assert [p["journey"] for p in state.paused] == ["events.create"]
    assert state.paused[0]["data"]["kind"] == events.TRAINING
    [event] = all_events(world)
    assert event.starts_at == STARTS


async def test_an_organiser_who_loses_the_role_is_refused_at_the_next_step(world: World) -> None:
    organiser = await organiser_world(world)
    await organiser.say("/event")
    await organiser.press("Tập huấn")
    with world.database.session() as session:
        row = session.exec(select(Contact).where(Contact.telegram_user_id == 600)).one()
        row.role = Role.PARTNER
        session.add(row)
    await organiser.say("Tập huấn kho")
    assert "chỉ dành cho cán bộ" in organiser.last_text()
    state = position(world, 600)
    assert state is not None and state.journey is None and not state.paused
    await organiser.press_data(organiser.account.messages()[-1].message_id, "evt:new")
    assert "chỉ dành cho cán bộ" in (organiser.answers()[-1] or "")


async def test_the_check_in_qr_code_beside_the_kinds_leaves_the_form_where_it_is(
    world: World,
) -> None:
    organiser = await organiser_world(world)
    planned_event(world)
    await organiser.say("/event")
    assert "mã QR điểm danh" in organiser.last_text()
    await organiser.press("🔳 Tập huấn sắp xếp kho")
    assert organiser.account.messages()[-1].method == "sendPhoto"
    assert "ev_" in (organiser.account.messages()[-1].caption or "")
    await organiser.press("Hội thảo kết quả")
    assert "Tên của sự kiện là gì?" in organiser.last_text()
    state = position(world, 600)
    assert state is not None and state.journey == "events.create"
    assert state.data["kind"] == events.ACHIEVEMENT_WORKSHOP


async def test_a_coordinator_chooses_whose_people_are_invited(world: World) -> None:
    north = make_provider(world)
    south = make_provider(world, "Trung tâm Cần Thơ")
    await member(world, 701, Role.EMPLOYER, enterprise_id=make_enterprise(world, north))
    await member(world, 702, Role.EMPLOYER, enterprise_id=make_enterprise(world, south, "Xưởng B"))
    chief = await coordinator(world, 700)
    await chief.say("/event")
    await chief.press("Họp")
    await chief.say("Họp các đơn vị")
    await chief.say("20/03/2027 14:00")
    await chief.say("Sở Nội vụ")
    await chief.press("Bỏ qua")
    await chief.press("Bỏ qua")
    assert "Sẽ mời 2 người." in chief.last_text()
    await chief.press("Đơn vị")
    await chief.press("Trung tâm Cần Thơ")
    assert "Sẽ mời 1 người." in chief.last_text()
    with world.database.session() as session:
        forged = max(p.id for p in session.exec(select(Provider))) + 1  # type: ignore[type-var]
    await chief.press_data(chief.account.messages()[-1].message_id, f"evt:ap:provider:{forged}")
    assert chief.answers()[-1] == STALE_VI
    await chief.press("Tiếp")
    await chief.press("Tạo và gửi thư mời")
    [event] = all_events(world)
    assert event.audience["provider_id"] == south
