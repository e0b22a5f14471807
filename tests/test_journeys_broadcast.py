"""Composing a broadcast as a journey (models/journeys/broadcast.py): two processes on one
database share it, a restart loses nothing, /cancel, stale buttons and wrong kinds of message
leave it where it was, and who may broadcast is checked on every input."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.playback import Person
from models.journeys.state import telegram_person
from models.tables import Broadcast, Contact, JourneyState, Outbox, Role
from reports.samples import workshop_photo
from tests.conftest import World
from tests.factories import (
    Library,
    build_library,
    count_in,
    people,
    received,
    staff_of,
    two_processes,
)

PAUSED_VI = "Tôi đã dừng việc đang làm dở để làm ngay việc Anh/Chị vừa yêu cầu."
STALE_VI = "Nút này không còn hiệu lực."


@pytest.fixture
def library(world: World, tmp_path: Path) -> Library:
    return build_library(world.database, tmp_path / "photos")


def position(world: World, person: Person) -> JourneyState | None:
    with world.database.session() as session:
        return session.get(JourneyState, telegram_person(person.id))


def drafts(world: World) -> list[Broadcast]:
    with world.database.session() as session:
        return list(session.exec(select(Broadcast).order_by(Broadcast.id)))  # type: ignore[arg-type]


async def test_two_processes_take_turns_composing_a_photo_broadcast(
    world: World, library: Library, tmp_path: Path
) -> None:
    """Every other update goes to another process: the photo received by one, its text typed
    to the other, the audience narrowed, changed and sent, as if one process had served it."""
    moc, may = library.enterprises["moc"], library.enterprises["may"]
    people(world, moc, Role.EMPLOYER, 1, first_id=10)
    people(world, may, Role.EMPLOYER, 1, first_id=11)
    people(world, may, Role.WORKER, 1, first_id=20)
    staff = await staff_of(world, library.north)
    photo = workshop_photo(tmp_path / "p.jpg", after=True).read_bytes()
    async with two_processes(world):
        await staff.say("/broadcast")  # the other process
        await staff.send("photo", photo)  # this one keeps the photo
        assert "nhập chú thích cho ảnh" in staff.last_text()
        await staff.say("Kệ mới ở xưởng mộc: gọn, an toàn hơn.")  # the other: text + photo
        assert staff.last_text() == "Ai sẽ nhận tin này?"
        await staff.press("Theo tỉnh/thành")
        assert staff.last_text() == "Tỉnh/thành nào?"
        await staff.press("Huế")
        assert count_in(staff.last_text()) == 2 and "Huế" in staff.last_text()
        await staff.press("Đổi người nhận")
        await staff.press("Chỉ chủ doanh nghiệp")
        assert count_in(staff.last_text()) == 2
        await staff.press("Gửi cho 2 người")
    assert staff.answers()[-1] == "Đã đưa vào hàng chờ gửi."
    assert "Đang gửi tới 2 người nhận" in staff.last_text()
    await world.drain()
    for user_id in (10, 11):
        sent = world.sandbox.users[user_id].messages()[-1]
        assert sent.method == "sendPhoto"
        assert sent.caption == "Kệ mới ở xưởng mộc: gọn, an toàn hơn."
    assert received(world, 20) == []
    [broadcast] = drafts(world)
    assert broadcast.status == "sending" and broadcast.photo_path is not None
    assert broadcast.progress_message_id == staff.account.messages()[-1].message_id
    assert position(world, staff) is not None and position(world, staff).journey is None  # type: ignore[union-attr]


async def test_two_processes_take_turns_sharing_a_good_practice(
    world: World, library: Library
) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 2, first_id=20)
    staff = await staff_of(world, library.north)
    async with two_processes(world):
        await staff.say("📣 Gửi tin")
        await staff.press("Chia sẻ điển hình tốt")
        assert "chia sẻ điển hình tốt nào" in staff.last_text()
        await staff.press("Lưu giữ")
        await staff.press("Chỉ người lao động")
        await staff.press("Gửi cho 2 người")
    await world.drain()
    assert all("Điển hình tốt: Lưu giữ" in received(world, u)[-1] for u in (20, 21))


async def test_a_restart_at_every_step_loses_nothing(world: World, library: Library) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 3, first_id=20)
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    await world.restart()
    await staff.say("Nhắc: mang khẩu trang khi chà nhám.")
    assert staff.last_text() == "Ai sẽ nhận tin này?"
    await world.restart()
    await staff.press("Tất cả doanh nghiệp của tôi")
    await world.restart()
    state = position(world, staff)
    assert state is not None and state.journey == "broadcast"
    assert state.data == {"step": "preview", "broadcast": drafts(world)[0].id}
    await staff.say("Gửi đi")  # typed where a button is expected: the preview stays
    assert "bấm ✅ Gửi" in staff.last_text()
    await staff.press("Gửi cho 3 người")
    await world.drain()
    assert all(received(world, u) == ["Nhắc: mang khẩu trang khi chà nhám."] for u in (20, 21, 22))


async def test_cancel_ends_it_and_later_text_is_not_a_broadcast(
    world: World, library: Library
) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 2, first_id=20)
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    await staff.say("Tin thứ nhất")
    question = staff.account.messages()[-1]
    await staff.say("/cancel")
    assert staff.last_text() == "Đã hủy. Anh/Chị muốn làm gì tiếp theo?"
    await staff.say("Tin thứ hai")
    assert "chọn trong menu bên dưới" in staff.last_text()
    assert len(drafts(world)) == 1
    # The audience question of the cancelled broadcast no longer answers.
    await staff.press("Tất cả doanh nghiệp của tôi", question)
    assert staff.answers()[-1] == STALE_VI
    assert drafts(world)[0].audience == {}
    state = position(world, staff)
    assert state is not None and state.journey is None and state.data == {}


async def test_send_on_a_preview_left_by_cancel_still_sends_it_once(
    world: World, library: Library
) -> None:
    """The preview's Send names its broadcast: pressed after /cancel (as before the journey,
    when the conversation was lost), it sends that broadcast; pressed again, nobody twice."""
    people(world, library.enterprises["moc"], Role.WORKER, 2, first_id=20)
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    await staff.say("Tin đã xem trước")
    await staff.press("Tất cả doanh nghiệp của tôi")
    preview = staff.account.messages()[-1]
    send = next(data for label, data in staff.account.buttons(preview) if "Gửi" in label)
    await staff.say("/cancel")
    await staff.say("/broadcast")  # composing another one meanwhile
    await staff.press_data(preview.message_id, send)
    assert staff.answers()[-1] == "Đã đưa vào hàng chờ gửi."
    await staff.press_data(preview.message_id, send)
    assert staff.answers()[-1] == "Tin này đang được gửi đi rồi."
    with world.database.session() as session:
        assert len(session.exec(select(Outbox)).all()) == 2
    # The new broadcast is still being composed.
    await staff.say("Tin mới")
    assert staff.last_text() == "Ai sẽ nhận tin này?"


async def test_stale_and_forged_buttons_change_nothing(world: World, library: Library) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 2, first_id=20)
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    compose = staff.account.messages()[-1]
    await staff.say("Tin nhắn")
    # The compose question's button is spent; pressed anyway, it changes nothing.
    assert staff.account.buttons(compose) == []
    await staff.press_data(compose.message_id, "bc:pick")
    question = staff.account.messages()[-1]
    for forged in ("bc:aud:everyone", "bc:prov:atlantis", "bc:gp:x", "bc:chg", "bc:ok:x"):
        await staff.press_data(question.message_id, forged)
        assert staff.answers()[-1] == STALE_VI, forged
    assert staff.last_text() == "Ai sẽ nhận tin này?"
    await staff.press("Tất cả doanh nghiệp của tôi")
    assert count_in(staff.last_text()) == 2
    await staff.press("Hủy")
    assert staff.last_text() == "Đã hủy, chưa gửi tin nào."
    assert drafts(world)[0].status == "cancelled"
    await staff.press_data(question.message_id, "bc:aud:all")
    assert staff.answers()[-1] == STALE_VI


async def test_wrong_kinds_of_message_keep_each_step(
    world: World, library: Library, tmp_path: Path
) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 1, first_id=20)
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    await staff.send("voice")
    assert "vui lòng nhập nội dung, gửi ảnh" in staff.last_text()
    assert any("Chia sẻ điển hình tốt" in label for label, _ in staff.account.buttons())
    await staff.send("document", b"%PDF-1.4", "tin.pdf")
    assert "vui lòng nhập nội dung, gửi ảnh" in staff.last_text()
    await staff.send("photo", b"not a picture at all")
    assert staff.last_text() == "Chưa thực hiện được. Anh/Chị vui lòng thử lại."
    await staff.say("   ")
    assert staff.last_text() == "Anh/Chị vui lòng nhập nội dung tin nhắn."
    photo = workshop_photo(tmp_path / "p.jpg", after=True).read_bytes()
    await staff.send("photo", photo)
    await staff.send("sticker")
    assert staff.last_text() == "Anh/Chị vui lòng nhập chú thích cho ảnh."
    await staff.say("Ảnh kèm chú thích")
    await staff.send("photo", photo)
    assert "chọn bằng các nút phía trên" in staff.last_text()
    await staff.press("Chỉ người lao động")
    await staff.send("location", 16.05, 108.2)
    assert "bấm ✅ Gửi" in staff.last_text()
    await staff.press("Gửi cho 1 người")
    await world.drain()
    sent = world.sandbox.users[20].messages()[-1]
    assert sent.method == "sendPhoto" and sent.caption == "Ảnh kèm chú thích"
    assert len(drafts(world)) == 1


async def test_another_command_sets_it_aside_and_drops_it(world: World, library: Library) -> None:
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    await staff.say("Tin dở dang")
    await staff.say("/enterprises")
    assert PAUSED_VI in staff.texts()[-2]
    await staff.say("Không phải tin")
    assert "chọn trong menu bên dưới" in staff.last_text()
    await staff.say("/broadcast")
    assert "Gửi tin mới" in staff.last_text()


async def test_who_may_broadcast_is_checked_on_every_input(world: World, library: Library) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 1, first_id=20)
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    await staff.say("Tin nhắn")
    with world.database.session() as session:  # moved to an enterprise meanwhile
        contact = session.exec(select(Contact).where(Contact.telegram_user_id == 900)).one()
        contact.role = Role.EMPLOYER
        contact.enterprise_id = library.enterprises["moc"]
        session.add(contact)
    await staff.press("Tất cả doanh nghiệp của tôi")
    assert "chỉ dành cho cán bộ" in (staff.answers()[-1] or "")
    assert drafts(world)[0].audience == {}
    state = position(world, staff)
    assert state is not None and state.journey is None


async def test_a_broadcast_in_english(world: World, library: Library) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 1, first_id=20)
    staff = await staff_of(world, library.north)
    await staff.press_data(staff.account.messages()[-1].message_id, "lang:set:en")
    await staff.say("/broadcast")
    assert "New broadcast" in staff.last_text()
    await staff.say("Hello")
    assert staff.last_text() == "Who should receive it?"
    await staff.press("By sector")
    await staff.press("Wood")
    assert "Ready to send" in staff.last_text() and "sector: Wood" in staff.last_text()
