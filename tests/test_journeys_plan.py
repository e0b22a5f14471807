"""Adding an item to the action plan as a journey (models/journeys/plan.py): any process takes
the next answer, a restart loses nothing, and who may add is checked at every step."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from bot.playback import Person
from models.journeys.state import telegram_person
from models.tables import Contact, JourneyState, PlanItem, Role
from tests.conftest import World
from tests.factories import add_enterprise, add_person, two_processes


@pytest.fixture
def cast(world: World):  # type: ignore[no-untyped-def]
    enterprise = add_enterprise(world)
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, name="Lan")
    return enterprise


def stored(world: World) -> list[PlanItem]:
    with world.database.session() as session:
        return list(session.exec(select(PlanItem)))


def draft(world: World, user_id: int) -> dict[str, object] | None:
    with world.database.session() as session:
        state = session.get(JourneyState, telegram_person(user_id))
        return dict(state.data) if state is not None and state.journey == "plan" else None


async def at_the_checkpoint(world: World) -> Person:
    """The employer has chosen the area and said what is planned; the checkpoint is asked."""
    employer = world.user(301)
    await employer.say("/plan")
    await employer.press("➕")
    await employer.press("Lưu giữ")
    await employer.say("Kệ ba tầng cho thùng sơn")
    return employer


async def test_two_processes_taking_turns_add_one_item(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    staff = world.user(201)
    await staff.say(f"/plan {cast.id}")
    async with two_processes(world):
        await staff.press("➕")  # B
        await staff.send("sticker")  # A
        assert "chọn lĩnh vực bằng các nút" in staff.last_text()
        await staff.press("Lưu giữ")  # B
        await staff.say("Kệ")  # A: too short, nothing lost
        assert "ít nhất 5 ký tự" in staff.last_text()
        await staff.say("Kệ ba tầng cho thùng sơn")  # B
        await staff.press("Bỏ qua")  # A: no checkpoint
        await staff.say("Anh Hùng")  # B
        await staff.say("31/02/2027")  # A
        assert "ví dụ 30/06/2027" in staff.last_text()
        added = await staff.say("30/04")  # B
        assert added is not None and "Đã thêm vào kế hoạch" in added.plain
    [item] = stored(world)
    assert (item.area_code, item.what, item.checkpoint, item.who, item.due_on) == (
        "storage", "Kệ ba tầng cho thùng sơn", None, "Anh Hùng", date(2027, 4, 30),
    )  # fmt: skip
    assert draft(world, 201) is None


async def test_a_restart_mid_way_loses_nothing(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    employer = await at_the_checkpoint(world)
    await world.restart()
    await employer.say("CP 3")
    assert draft(world, 301) == {
        "enterprise": cast.id, "area": "storage", "what": "Kệ ba tầng cho thùng sơn",
        "checkpoint": "CP 3", "step": "who",
    }  # fmt: skip
    await employer.say("Chị Lan")
    await employer.say("30/04/2027")
    [item] = stored(world)
    assert item.checkpoint == "CP 3" and item.who == "Chị Lan"


async def test_cancel_keeps_nothing_and_the_skip_button_goes_stale(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    employer = await at_the_checkpoint(world)
    skip = employer.account.last()
    reply = await employer.say("/cancel")
    assert reply is not None and "Đã hủy" in reply.plain
    assert draft(world, 301) is None
    await employer.press("Bỏ qua", skip)
    assert employer.answers()[-1] == "Nút này không còn hiệu lực."
    reply = await employer.say("Chị Lan")  # nothing is asked any more
    assert reply is not None and "Đã thêm" not in reply.plain
    assert stored(world) == []


async def test_stale_and_wrong_kinds_of_answers_change_nothing(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    employer = world.user(301)
    await employer.say("/plan")
    await employer.press("➕")
    areas = employer.account.last()
    await employer.press("Lưu giữ")
    await employer.press_data(areas.message_id, "plan:area:storage")  # again, a step later
    assert employer.answers()[-1] == "Nút này không còn hiệu lực."
    await employer.send("photo", b"\xff\xd8not-really")
    assert "trả lời bằng chữ" in employer.last_text()
    await employer.send("voice")
    assert "trả lời bằng chữ" in employer.last_text()
    assert draft(world, 301) == {"enterprise": cast.id, "area": "storage", "step": "what"}
    await employer.say("Kệ ba tầng cho thùng sơn")
    checkpoint = employer.account.last()
    await employer.say("CP 3")  # typed: the Skip button under the question goes
    assert employer.account.buttons(checkpoint) == []
    await employer.press_data(checkpoint.message_id, "plan:nocp")
    assert employer.answers()[-1] == "Nút này không còn hiệu lực."
    assert draft(world, 301)["checkpoint"] == "CP 3"  # type: ignore[index]


async def test_someone_removed_mid_way_goes_no_further(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    employer = world.user(301)
    await employer.say("/plan")
    await employer.press("➕")
    await employer.press("Lưu giữ")
    with world.database.session() as session:
        lan = session.exec(select(Contact).where(Contact.telegram_user_id == 301)).one()
        lan.removed_at = world.clock()
        session.add(lan)
    await employer.say("Kệ ba tầng cho thùng sơn")
    assert "không có quyền" in employer.last_text()
    assert draft(world, 301) is None and stored(world) == []
