"""The one context of plain commands and one-shot buttons (handlers/context.py): the person's
role as the database holds it when the update arrives, one refusal text per reason, and no
handler looking a person up on its own."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from models import events
from models.tables import Contact, Role
from tests.conftest import World
from tests.factories import contact, make_enterprise, make_provider, member, staff

STAFF_ONLY = "Xin lỗi, chức năng này chỉ dành cho cán bộ chương trình."
HANDLERS = Path(__file__).resolve().parent.parent / "handlers"


STARTS = datetime(2027, 3, 20, 7, 0, tzinfo=UTC)


def set_role(world: World, user_id: int, role: Role) -> None:
    """What another process (or the coordinator's dashboard) would do between two taps."""
    with world.database.session() as session:
        person = session.exec(select(Contact).where(Contact.telegram_user_id == user_id)).one()
        person.role = role
        session.add(person)


async def test_a_role_taken_away_in_the_database_is_refused_at_the_next_tap(
    world: World,
) -> None:
    person = await staff(world, 9101, make_provider(world))
    panel = await person.say("📊 Tổng hợp")
    assert panel is not None and "Tổng hợp theo dõi" in panel.plain
    before = panel.plain
    set_role(world, 9101, Role.PARTNER)
    await person.press("Quý này", panel)
    assert person.answers()[-1] == STAFF_ONLY
    assert panel.plain == before  # the handler itself never ran
    await person.say("/summary")
    assert person.last_text() == STAFF_ONLY
    set_role(world, 9101, Role.STAFF)
    await person.press("Quý này", panel)
    assert "✓ Quý này" in str(person.account.buttons(panel))


async def test_someone_not_registered_gets_one_text_per_reason(world: World) -> None:
    stranger = world.user(9201, "Lan")
    expected = {
        "/mydata": "Chúng tôi không lưu gì về Anh/Chị: Anh/Chị chưa tham gia chương trình.",
        "/privacy": "Chúng tôi không lưu gì về Anh/Chị: Anh/Chị chưa tham gia chương trình.",
        "/summary": STAFF_ONLY,
        "/newsletter": STAFF_ONLY,
        "/web": STAFF_ONLY,
        "/progress": "Phần kết quả này dành cho chủ doanh nghiệp tham gia chương trình.",
        "/goodpractices": (
            "Thư viện điển hình tốt dành cho doanh nghiệp và cán bộ tham gia chương trình."
        ),
        "/plan": "Để tham gia, Anh/Chị vui lòng mở đường link mời hoặc quét mã QR",
    }
    for command, text in expected.items():
        await stranger.say(command)
        assert stranger.last_text().startswith(text), (command, stranger.last_text())


async def test_turning_a_page_of_the_attendance_list_edits_it_in_place(world: World) -> None:
    provider = make_provider(world)
    organiser = await staff(world, 300, provider)
    await member(world, 301, Role.EMPLOYER, enterprise_id=make_enterprise(world, provider))
    with world.database.session() as session:
        draft = events.EventDraft(
            kind=events.TRAINING, title="Tập huấn sắp xếp kho", starts_at=STARTS, place="Xưởng"
        )
        event = events.create_event(
            session, draft=draft, actor=contact(world, 300), now=world.clock()
        )
        events.invite(session, event=event, now=world.clock(), tz=world.settings.tz)
    anchor = organiser.account.messages()[-1]  # a message without the event card's QR button
    count = len(organiser.account.messages())
    await organiser.press_data(anchor.message_id, f"evt:att:{event.id}:0")
    assert len(organiser.account.messages()) == count
    assert "Tập huấn sắp xếp kho" in anchor.plain
    assert any(data.startswith("evt:tick:") for _label, data in organiser.account.buttons(anchor))
    assert not world.errors


def test_no_handler_looks_the_person_up_by_itself() -> None:
    """The person, their language and the time come from the one context (or the journeys'
    driver), never from a look-up of its own."""
    own = re.compile(r"contact_by_user|_ = tr\(|current_contact\(update")
    for path in sorted(HANDLERS.glob("*.py")):
        if path.name in ("context.py", "driver.py", "menu.py"):
            continue
        found = own.findall(path.read_text(encoding="utf-8"))
        assert not found, (path.name, found)
