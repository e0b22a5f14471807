"""Changing a good practice's public wording as a journey (models/journeys/goodpractices.py):
two processes on one database, a restart, /cancel, stale buttons, wrong kinds of message, and
who may change the entry, checked again when the wording is saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.playback import Person
from bot.sandbox import SentMessage
from models import goodpractice
from models.journeys.state import telegram_person
from models.tables import Contact, JourneyState, Role
from tests.conftest import World
from tests.factories import Library, build_library, join, make_invite, two_processes

ORIGINAL = "Kệ ba tầng cho nguyên liệu, lối đi sơn vạch vàng."
PAUSED_VI = "Tôi đã dừng việc đang làm dở để làm ngay việc Anh/Chị vừa yêu cầu."
STALE_VI = "Nút này không còn hiệu lực."
NEW = "Xưởng sắp xếp kho bằng kệ ba tầng, lối đi thông thoáng."


@pytest.fixture
def library(world: World, tmp_path: Path) -> Library:
    return build_library(world.database, tmp_path / "photos")


async def staff_with_card(
    world: World, provider_id: int, user_id: int = 702
) -> tuple[Person, SentMessage]:
    await join(world, user_id, make_invite(world, Role.STAFF, provider_id=provider_id))
    staff = world.user(user_id)
    await staff.say("/goodpractices")
    await staff.press("Lưu giữ")
    card = await staff.press("1")
    assert card is not None and "Xưởng mộc Hòa Phát" in (card.caption or "")
    return staff, card


def wording(world: World, library: Library) -> str:
    with world.database.session() as session:
        found = goodpractice.entry(session, library.named)
        assert found is not None
        return found.text


def journey_of(world: World, person: Person) -> str | None:
    with world.database.session() as session:
        state = session.get(JourneyState, telegram_person(person.id))
        return state.journey if state is not None else None


async def test_two_processes_take_turns_changing_the_wording(
    world: World, library: Library
) -> None:
    staff, card = await staff_with_card(world, library.north)
    async with two_processes(world):
        await staff.press("Lời giới thiệu", card)  # the other process
        assert "Lời giới thiệu đang hiển thị" in staff.last_text()
        await staff.send("sticker")  # this one
        assert staff.last_text() == "Anh/Chị vui lòng nhập lời giới thiệu mới, hoặc gửi /cancel."
        await staff.say("ngắn")  # the other
        assert "ít nhất 10 ký tự" in staff.last_text()
        await staff.say(NEW)  # this one
    assert "Đã lưu" in staff.last_text() and "kệ ba tầng, lối đi" in staff.last_text()
    assert wording(world, library) == NEW
    assert journey_of(world, staff) is None


async def test_a_restart_while_waiting_for_the_wording_loses_nothing(
    world: World, library: Library
) -> None:
    staff, card = await staff_with_card(world, library.north)
    await staff.press("Lời giới thiệu", card)
    await world.restart()
    assert journey_of(world, staff) == "goodpractices.edit"
    await staff.say("x" * 1001)
    assert "tối đa 1.000 ký tự" in staff.last_text()
    await world.restart()
    await staff.say(NEW)
    assert wording(world, library) == NEW


async def test_cancel_keeps_the_wording(world: World, library: Library) -> None:
    staff, card = await staff_with_card(world, library.north)
    await staff.press("Lời giới thiệu", card)
    await staff.say("/cancel")
    assert staff.last_text() == "Đã hủy. Anh/Chị muốn làm gì tiếp theo?"
    await staff.say(NEW)
    assert "chọn trong menu bên dưới" in staff.last_text()
    assert wording(world, library) == ORIGINAL


async def test_stale_and_forged_edit_buttons(world: World, library: Library) -> None:
    staff, card = await staff_with_card(world, library.north)
    await staff.press_data(card.message_id, "gp:edit:x")
    assert staff.answers()[-1] == "Điển hình tốt này không còn trong thư viện."
    await staff.press_data(card.message_id, f"gp:edit:{library.not_shared}")
    assert staff.answers()[-1] == "Điển hình tốt này không còn trong thư viện."
    # Another provider's entry: refused when pressed.
    await staff.press_data(card.message_id, f"gp:edit:{library.anonymous}")
    assert "Chỉ cán bộ của đơn vị" in (staff.answers()[-1] or "")
    assert journey_of(world, staff) is None
    # Withdrawn while the new wording is being typed: the wording is not saved.
    await staff.press("Lời giới thiệu", card)
    with world.database.session() as session:
        contact = session.exec(select(Contact).where(Contact.telegram_user_id == 702)).one()
        goodpractice.withdraw(session, improvement_id=library.named, actor=contact)
    await staff.say(NEW)
    assert staff.last_text() == "Điển hình tốt này không còn trong thư viện."
    assert journey_of(world, staff) is None
    await staff.press("Lời giới thiệu", card)
    assert staff.answers()[-1] == "Điển hình tốt này không còn trong thư viện."


async def test_wrong_kinds_of_message_keep_waiting(world: World, library: Library) -> None:
    staff, card = await staff_with_card(world, library.north)
    await staff.press("Lời giới thiệu", card)
    for kind, args in (("voice", ()), ("photo", (b"x",)), ("location", (16.0, 108.0))):
        await staff.send(kind, *args)
        assert staff.last_text() == "Anh/Chị vui lòng nhập lời giới thiệu mới, hoặc gửi /cancel."
    await staff.press_data(card.message_id, "gp:wdno:x")  # another button: the library's own
    await staff.say(NEW)
    assert wording(world, library) == NEW


async def test_who_may_change_it_is_checked_again_when_saving(
    world: World, library: Library
) -> None:
    staff, card = await staff_with_card(world, library.north)
    await staff.press("Lời giới thiệu", card)
    with world.database.session() as session:  # moved to the other provider meanwhile
        contact = session.exec(select(Contact).where(Contact.telegram_user_id == 702)).one()
        contact.provider_id = library.south
        session.add(contact)
    await staff.say(NEW)
    assert "Chỉ cán bộ của đơn vị" in staff.last_text()
    assert wording(world, library) == ORIGINAL and journey_of(world, staff) is None


async def test_another_journey_sets_it_aside(world: World, library: Library) -> None:
    staff, card = await staff_with_card(world, library.north)
    await staff.press("Lời giới thiệu", card)
    await staff.say("/broadcast")
    assert PAUSED_VI in staff.texts()[-2] and "Gửi tin mới" in staff.last_text()
    await staff.say(NEW)  # now the broadcast's text, not the wording
    assert staff.last_text() == "Ai sẽ nhận tin này?"
    assert wording(world, library) == ORIGINAL
    await staff.press("Lời giới thiệu", card)  # and back: the broadcast steps aside
    assert PAUSED_VI in staff.texts()[-2]
    await staff.press_data(staff.account.messages()[-3].message_id, "bc:aud:all")
    assert staff.answers()[-1] == STALE_VI
