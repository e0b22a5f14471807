"""/progress and /events on Zalo, end to end through the Zalo driver and the in-process Zalo
sandbox, on the same domain functions as Telegram's handlers: the employer's figures as plain
text (refused to anyone else, as on Telegram), and the person's events with the answers to
their invitations numbered, answered through the invitation journey.

The world's clock stands at 01/03/2027 09:00 in Viet Nam, so "this quarter" is 2027-Q1."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.zalo import render
from bot.zalo.sandbox import SandboxUser
from models import events
from models.tables import Role, Rsvp
from reports.text import progress_text
from tests import test_zalo_driver
from tests.conftest import World
from tests.factories import ASK_AREA, add_enterprise, add_person, make_invite, seed
from tests.test_zalo_commands import journey_of
from tests.test_zalo_driver import Zalo, number_of, register, short_code, text_of, zalo_contact
from tests.test_zalo_notices import BUSY, STARTS, invited, notice_choices

zalo = test_zalo_driver.zalo

FOR_EMPLOYERS = "Phần kết quả này dành cho chủ doanh nghiệp tham gia chương trình."
NOTHING_HELD = "Chúng tôi không lưu gì về Anh/Chị"
NEW_EVENT = "events.create"


async def register_as(zalo: Zalo, user: SandboxUser, role: Role, **place: int | None) -> None:
    """Joins on Zalo with an invite of `role`, in Vietnamese, agreeing to everything."""
    code = short_code(zalo.world, make_invite(zalo.world, role, **place))
    await zalo.say(user, code)
    consent = await zalo.say(user, "1")
    await zalo.say(user, number_of(consent, "✅ Tôi đồng ý"))
    contact = zalo_contact(zalo.world, user.id)
    assert contact is not None and contact.role == role


def card(world: World, user: SandboxUser, language: str) -> str:
    """What Telegram's /progress shows the person this quarter, as Zalo's plain text."""
    contact = zalo_contact(world, user.id)
    assert contact is not None
    with world.database.reading() as session:
        html = progress_text(
            session, contact, "this_quarter", language,
            today=world.clock().astimezone(world.settings.tz).date(), tz=world.settings.tz,
        )  # fmt: skip
    return render.plain(html)


async def test_progress_is_the_employer_s_card_in_plain_text(world: World, zalo: Zalo) -> None:
    programme = seed(world.database)
    employer = zalo.sandbox.user("pr0gress", "Chị Mai")
    await register(zalo, employer, programme.e1)
    shown = text_of(await zalo.say(employer, "/progress"))
    assert shown == card(world, employer, "vi")
    # The figures Telegram's test reads, worker anonymity kept, and no markup.
    assert "Xưởng mộc Hòa Phát: kết quả của doanh nghiệp, quý 1/2027" in shown
    assert "Cải thiện Anh/Chị đã báo cáo: 3 (2 đã được xác nhận)" in shown
    assert "quá ít câu trả lời để hiển thị" in shown
    assert "Mộc Thuận An" not in shown and "<b>" not in shown
    # In English.
    await zalo.say(employer, "/language en")
    english = text_of(await zalo.say(employer, "/progress"))
    assert english == card(world, employer, "en")
    assert "Xưởng mộc Hòa Phát" in english and "2027" in english
    assert "Cải thiện" not in english
    assert "\n/progress — " in text_of(await zalo.say(employer, "/help"))


async def test_progress_of_an_enterprise_with_nothing_yet(world: World, zalo: Zalo) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    employer = zalo.sandbox.user("n0thing", "Chị Lan")
    await register(zalo, employer, enterprise.id)
    shown = text_of(await zalo.say(employer, "/progress"))
    assert shown == card(world, employer, "vi")
    assert f"{enterprise.name}: kết quả của doanh nghiệp, quý 1/2027" in shown
    assert "Cải thiện Anh/Chị đã báo cáo: 0" in shown


async def test_progress_is_refused_to_workers_staff_and_strangers(world: World, zalo: Zalo) -> None:
    enterprise = add_enterprise(world)
    worker = zalo.sandbox.user("w0rker", "Anh Bình")
    await register_as(zalo, worker, Role.WORKER, enterprise_id=enterprise.id)
    assert FOR_EMPLOYERS in text_of(await zalo.say(worker, "/progress"))
    assert "/progress" not in text_of(await zalo.say(worker, "/help"))
    staff = zalo.sandbox.user("st4ff", "Anh Dũng")
    await register_as(zalo, staff, Role.STAFF, provider_id=enterprise.provider_id)
    assert FOR_EMPLOYERS in text_of(await zalo.say(staff, "/progress"))
    await zalo.say(worker, "/language en")
    refused = text_of(await zalo.say(worker, "/progress"))
    assert "Progress figures are for employers" in refused
    stranger = zalo.sandbox.user("str4nger", "Ai đó")
    assert NOTHING_HELD in text_of(await zalo.say(stranger, "/progress"))
    assert NOTHING_HELD in text_of(await zalo.say(stranger, "/events"))


def answers(world: World) -> dict[int, str | None]:
    with world.database.session() as session:
        return dict(session.exec(select(Rsvp.event_id, Rsvp.answer)).all())  # type: ignore[arg-type]


async def test_events_lists_invitations_and_numbers_their_answers(world: World, zalo: Zalo) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    invitee = zalo.sandbox.user("3vents", "Chị Hoa")
    await register(zalo, invitee, enterprise.id)
    empty = text_of(await zalo.say(invitee, "/events"))
    assert "Anh/Chị chưa có lời mời sự kiện nào." in empty and "Trả lời" not in empty
    assert notice_choices(world, invitee) is None

    organiser = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id)
    first = invited(world, organiser, "Tập huấn sắp xếp kho")
    second = invited(world, organiser, "Hội thảo kết quả", STARTS + timedelta(days=7))
    listed = await zalo.say(invitee, "/events")
    shown = text_of(listed)
    assert "Tập huấn sắp xếp kho — chưa trả lời" in shown and "<b>" not in shown
    assert "Trả lời bằng một số từ 1 đến 6." in shown
    # The second event's "Maybe", by its number: answered through the invitation journey.
    await zalo.say(invitee, number_of(listed, "🤔 Có thể — Hội thảo kết quả"))
    assert answers(world) == {first.id: None, second.id: events.MAYBE}
    again = text_of(await zalo.say(invitee, "/events"))
    assert "Hội thảo kết quả — Anh/Chị có thể đến" in again
    assert "• 🤔 Có thể — Hội thảo kết quả" in again

    # In English; the answers stay open until the event starts, then the list is all past.
    await zalo.say(invitee, "/language en")
    english = await zalo.say(invitee, "/events")
    assert "Reply with a number from 1 to 6." in text_of(english)
    await zalo.say(invitee, number_of(english, "✅ Going — Tập huấn sắp xếp kho"))
    assert answers(world) == {first.id: events.GOING, second.id: events.MAYBE}
    world.clock.now = STARTS + timedelta(days=8)
    past = text_of(await zalo.say(invitee, "/events"))
    assert "Past" in past and "Reply" not in past


async def test_one_events_list_answers_every_invitation_in_it(world: World, zalo: Zalo) -> None:
    """Answering one invitation from /events leaves the other invitations' numbers as listed
    (an outbox invitation's numbers are spent or kept as one message's)."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    invitee = zalo.sandbox.user("m4ny", "Chị Hoa")
    await register(zalo, invitee, enterprise.id)
    organiser = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id)
    first = invited(world, organiser, "Tập huấn sắp xếp kho")
    second = invited(world, organiser, "Hội thảo kết quả", STARTS + timedelta(days=7))
    listed = await zalo.say(invitee, "/events")
    numbers = notice_choices(world, invitee)
    assert numbers is not None and len(numbers) == 6
    await zalo.say(invitee, number_of(listed, "🤔 Có thể — Hội thảo kết quả"))
    assert answers(world) == {first.id: None, second.id: events.MAYBE}
    # The same numbers stand, in the same places, each still naming its event.
    assert [entry[:2] for entry in notice_choices(world, invitee) or []] == [
        entry[:2] for entry in numbers
    ]
    # So the first invitation is answered from the same list, by number or by its words.
    await zalo.say(invitee, number_of(listed, "✅ Sẽ đến — Tập huấn sắp xếp kho"))
    assert answers(world) == {first.id: events.GOING, second.id: events.MAYBE}
    await zalo.say(invitee, "không đến được tập huấn sắp xếp kho")
    assert answers(world) == {first.id: events.NO, second.id: events.MAYBE}
    # A change of mind on the second, still from the first list.
    await zalo.say(invitee, number_of(listed, "✅ Sẽ đến — Hội thảo kết quả"))
    assert answers(world) == {first.id: events.NO, second.id: events.GOING}

    # Once an event has started, its numbers are told so; the other's still answer.
    world.clock.now = STARTS + timedelta(minutes=1)
    started = text_of(
        await zalo.say(invitee, number_of(listed, "🤔 Có thể — Tập huấn sắp xếp kho"))
    )
    assert "Sự kiện đã bắt đầu nên không nhận trả lời nữa." in started
    await zalo.say(invitee, number_of(listed, "🤔 Có thể — Hội thảo kết quả"))
    assert answers(world) == {first.id: events.NO, second.id: events.MAYBE}


async def test_events_for_an_organiser_on_zalo_number_the_new_event(
    world: World, zalo: Zalo
) -> None:
    enterprise = add_enterprise(world)
    staff = zalo.sandbox.user("0rganiser", "Anh Dũng")
    await register_as(zalo, staff, Role.STAFF, provider_id=enterprise.provider_id)
    listed = await zalo.say(staff, "/events")
    assert "Chưa có sự kiện nào. Tạo sự kiện bằng /event." in text_of(listed)
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id)
    organiser = zalo_contact(world, staff.id)
    assert organiser is not None
    invited(world, organiser, "Tập huấn sắp xếp kho")
    listed = await zalo.say(staff, "/events")
    shown = text_of(listed)
    assert "Tập huấn sắp xếp kho" in shown and "mời 1 · sẽ đến 0" in shown
    # The number opens the creation form, as Telegram's button does.
    await zalo.say(staff, number_of(listed, "➕ Sự kiện mới"))
    assert journey_of(world, staff.id) == NEW_EVENT


async def test_events_in_the_middle_of_a_report_sets_it_aside(world: World, zalo: Zalo) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    invitee = zalo.sandbox.user("4side", "Chị Hoa")
    await register(zalo, invitee, enterprise.id)
    organiser = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id)
    event = invited(world, organiser, "Tập huấn sắp xếp kho")
    assert ASK_AREA in text_of(await zalo.say(invitee, "/report"))
    listed = await zalo.say(invitee, "/events")
    # As on Telegram, the report waits aside, so the list's numbers are the ones answered.
    assert journey_of(world, invitee.id) is None
    assert "Trả lời 1, 2 hoặc 3." in text_of(listed) and BUSY not in text_of(listed)
    await zalo.say(invitee, number_of(listed, "✅ Sẽ đến — Tập huấn sắp xếp kho"))
    assert answers(world) == {event.id: events.GOING}
