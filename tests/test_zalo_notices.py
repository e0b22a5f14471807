"""Messages with buttons that the outbox sends to Zalo (issue 13): the buttons a journey takes
become numbered lines, remembered for the person in the database; a reply by number or words
does what pressing the button does on Telegram (a visit confirmed or another time suggested,
an invitation answered, a survey opened), a stale one is told why, and a journey in front keeps
its own numbers. End to end: Telegram staff and the Zalo driver against their sandboxes, on one
database and one fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.i18n import translator
from bot.sender import SendReport, send_due, zalo_route
from bot.zalo import notices, render
from bot.zalo.sandbox import SandboxUser
from models import events, surveys
from models.audience import Audience
from models.journeys.core import Action, Outcome, Reply
from models.journeys.state import zalo_person
from models.outbox import Message, enqueue
from models.tables import (
    Contact,
    Event,
    JourneyState,
    Outbox,
    Role,
    Rsvp,
    SurveyParticipation,
    Visit,
    VisitStatus,
)
from scheduler import jobs
from tests import test_zalo_driver
from tests.conftest import World
from tests.factories import ASK_AREA, ASK_KIND, add_enterprise, add_person, local, run_visits
from tests.test_zalo_driver import Zalo, register, text_of

# The Zalo side of the world (its sandbox and the running channel), as the driver's tests have it.
zalo = test_zalo_driver.zalo

PROPOSAL = "1. ✅ Xác nhận\n2. 🕑 Đề xuất thời gian khác\n\nTrả lời 1 hoặc 2."
NOTHING_NUMBERED = "Hiện không có câu hỏi nào đang chờ Anh/Chị trả lời bằng số."
BUSY = "(Anh/Chị vui lòng hoàn tất việc đang làm dở trước, hoặc gửi /cancel.)"
# 20/03/2027 14:00 in Viet Nam; the tests start on 1 March 2027, 09:00.
STARTS = datetime(2027, 3, 20, 7, 0, tzinfo=UTC)


async def send_zalo(zalo: Zalo) -> SendReport:
    """What the outbox holds for Zalo and is due now, sent through the channel's own client."""
    route = zalo_route(zalo.channel.driver.settings, zalo.channel.client)
    world = zalo.world
    return await send_due(
        world.application.bot, world.database, now=world.clock(), channel="zalo", zalo=route
    )


def visit_of(world: World, enterprise_id: int) -> Visit:
    with world.database.session() as session:
        return session.exec(
            select(Visit).where(Visit.enterprise_id == enterprise_id, Visit.offset_months == 1)
        ).one()


def notice_choices(world: World, user: SandboxUser) -> list[list[str]] | None:
    with world.database.session() as session:
        state = session.get(JourneyState, zalo_person(user.id))
        return state.notice_choices if state is not None else None


async def proposed(world: World, zalo: Zalo, *employers: SandboxUser) -> int:
    """An enterprise whose employers are on Zalo alone; its revisit comes due and the staff
    member (Telegram, 201) proposes 10/03 8:30. Returns the enterprise's id."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    for employer in employers:
        await register(zalo, employer, enterprise.id)
    run_visits(world)
    await world.drain()
    staff = world.user(201)
    await staff.press("📅")
    await staff.say("10/03 8:30")
    return enterprise.id


async def test_a_zalo_employer_confirms_a_visit_by_typing_1(world: World, zalo: Zalo) -> None:
    employer = zalo.sandbox.user("c0nf1rm", "Chị Lan")
    enterprise = await proposed(world, zalo, employer)
    seen = len(employer.messages())
    assert (await send_zalo(zalo)).sent == 1
    shown = text_of(employer.messages()[seen:])
    assert "muốn đến thăm Xưởng mộc Hòa Phát" in shown and "<b>" not in shown
    assert shown.endswith(PROPOSAL)
    visit = visit_of(world, enterprise)
    assert notice_choices(world, employer) == [
        ["✅ Xác nhận", f"vis:ok:{visit.id}"],
        ["🕑 Đề xuất thời gian khác", f"vis:alt:{visit.id}"],
    ]

    # Another process answers: the numbers are in the database, not in memory.
    await zalo.restart()
    confirmed = await zalo.say(employer, "1")
    assert "✅ Đã xác nhận: chuyến thăm vào" in text_of(confirmed)
    assert "10/03/2027" in text_of(confirmed)
    assert visit_of(world, enterprise).status == VisitStatus.CONFIRMED
    await world.drain()
    assert "đã được xác nhận" in world.user(201).last_text()

    # The proposal's numbers are spent, as its buttons are on Telegram: "1" again is told so,
    # not offered to the provider, and confirms nothing twice.
    again = await zalo.say(employer, "1")
    assert NOTHING_NUMBERED in text_of(again) and "/report" in text_of(again)
    assert notice_choices(world, employer) is None
    with world.database.session() as session:
        assert len(session.exec(select(Outbox).where(Outbox.kind == "visit-confirmed")).all()) == 1


async def test_a_zalo_employer_in_a_journey_suggests_another_time_after_it(
    world: World, zalo: Zalo
) -> None:
    """The proposal arrives in the middle of a report: the report keeps its own numbers ("2"
    is its second area) and the proposal says so; once the report is cancelled, "2" suggests
    another time."""
    employer = zalo.sandbox.user("sugg3st", "Anh Tuấn")
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    await register(zalo, employer, enterprise.id)
    area = await zalo.say(employer, "/report")
    assert ASK_AREA in text_of(area)
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    run_visits(world)
    await world.drain()
    await world.user(201).press("📅")
    await world.user(201).say("10/03 8:30")

    seen = len(employer.messages())
    await send_zalo(zalo)
    assert text_of(employer.messages()[seen:]).endswith(f"{PROPOSAL}\n{BUSY}")
    kind = await zalo.say(employer, "2")  # the report's second area
    assert ASK_KIND in text_of(kind)
    assert visit_of(world, enterprise.id).status == VisitStatus.PROPOSED

    await zalo.say(employer, "/cancel")
    asked = await zalo.say(employer, "2")
    assert "Ngày giờ nào thuận tiện hơn cho Anh/Chị?" in text_of(asked)
    told = await zalo.say(employer, "12/03 14:00")
    assert "Tôi đã chuyển thời gian" in text_of(told)
    assert visit_of(world, enterprise.id).suggested_at == local(2027, 3, 12, 14)
    await world.drain()
    assert "12/03/2027" in world.user(201).last_text()


async def test_a_stale_number_gets_a_clear_answer(world: World, zalo: Zalo) -> None:
    """Two employers of one enterprise get the proposal; the first confirms it, and the
    second's "1" is told that the visit is already confirmed."""
    first = zalo.sandbox.user("f1rst", "Chị Lan")
    second = zalo.sandbox.user("s3cond", "Anh Bình")
    enterprise = await proposed(world, zalo, first, second)
    assert (await send_zalo(zalo)).sent == 2
    await zalo.say(first, "xac nhan")
    assert visit_of(world, enterprise).status == VisitStatus.CONFIRMED
    late = await zalo.say(second, "1")
    assert text_of(late) == "Chuyến thăm này đã được xác nhận. Cảm ơn Anh/Chị!"
    # Spent: the numbers go, and nothing was confirmed twice.
    assert notice_choices(world, second) is None
    with world.database.session() as session:
        assert len(session.exec(select(Outbox).where(Outbox.kind == "visit-confirmed")).all()) == 1


def invited(world: World, organiser: Contact, title: str, starts_at: datetime = STARTS) -> Event:
    """An event of the organiser's provider, its invitations queued."""
    with world.database.session() as session:
        event = events.create_event(
            session,
            draft=events.EventDraft(
                kind=events.TRAINING, title=title, starts_at=starts_at, place="Xưởng mộc Hòa Phát",
                audience=Audience(provider_id=organiser.provider_id),
            ),
            actor=organiser,
            now=world.clock(),
        )  # fmt: skip
        assert events.invite(session, event=event, now=world.clock()) == 1
        return event


async def test_a_zalo_invitee_answers_an_invitation_by_words(world: World, zalo: Zalo) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    invitee = zalo.sandbox.user("3v3nt", "Chị Hoa")
    await register(zalo, invitee, enterprise.id)
    organiser = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id)
    event = invited(world, organiser, "Tập huấn sắp xếp kho")
    seen = len(invitee.messages())
    await send_zalo(zalo)
    invitation = text_of(invitee.messages()[seen:])
    assert "Tập huấn sắp xếp kho" in invitation
    assert invitation.endswith(
        "1. ✅ Sẽ đến\n2. 🤔 Có thể\n3. ✖ Không đến được\n\nTrả lời 1, 2 hoặc 3."
    )

    def answer() -> str | None:
        with world.database.session() as session:
            return session.exec(select(Rsvp.answer).where(Rsvp.event_id == event.id)).one()

    going = await zalo.say(invitee, "SE DEN")
    assert text_of(going) == "Cảm ơn Anh/Chị! Rất mong được gặp Anh/Chị."
    assert answer() == events.GOING
    # A change of mind, as the buttons allow until the event starts.
    no = await zalo.say(invitee, "không đến được")
    assert text_of(no) == "Cảm ơn Anh/Chị đã báo. Mong được gặp Anh/Chị vào dịp khác."
    assert answer() == events.NO

    # Once the event has started, answers are closed: told so, and the answer kept.
    world.clock.now = STARTS + timedelta(minutes=5)
    late = await zalo.say(invitee, "co the")
    assert text_of(late) == "Sự kiện đã bắt đầu nên không nhận trả lời nữa."
    assert answer() == events.NO
    assert notice_choices(world, invitee) is None


async def test_a_newer_message_s_numbers_replace_the_older_ones(world: World, zalo: Zalo) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    invitee = zalo.sandbox.user("tw0", "Chị Hoa")
    await register(zalo, invitee, enterprise.id)
    organiser = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id)
    first = invited(world, organiser, "Tập huấn sắp xếp kho")
    await send_zalo(zalo)
    second = invited(world, organiser, "Hội thảo kết quả", STARTS + timedelta(days=7))
    await send_zalo(zalo)
    # A message without buttons a journey takes leaves the numbers as they were.
    with world.database.session() as session:
        contact = session.exec(select(Contact).where(Contact.zalo_user_id == invitee.id)).one()
        enqueue(
            session, key="tip:plain", contact=contact, kind="tip",
            message=Message("Mẹo: lối đi thông thoáng.", [[("🏭 Mở trang", "epg:show:1")]]),
        )  # fmt: skip
    await send_zalo(zalo)
    assert invitee.messages()[-1].plain == "Mẹo: lối đi thông thoáng."

    await zalo.say(invitee, "1")
    with world.database.session() as session:
        answers = dict(session.exec(select(Rsvp.event_id, Rsvp.answer)).all())
    assert answers == {first.id: None, second.id: events.GOING}


async def test_a_survey_invitation_on_zalo_opens_the_survey(world: World, zalo: Zalo) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    boss = zalo.sandbox.user("5urv3y", "Chị Mai")
    await register(zalo, boss, enterprise.id)
    with world.database.session() as session:
        survey_round = surveys.open_round(session, enterprise_id=enterprise.id, now=world.clock())
        assert jobs.survey_invitations(session, survey_round, now=world.clock()) == 1
    seen = len(boss.messages())
    await send_zalo(zalo)
    invitation = text_of(boss.messages()[seen:])
    assert "Chúng tôi rất muốn nghe ý kiến của Anh/Chị (đợt 1)" in invitation
    assert invitation.endswith("1. 📋 Trả lời khảo sát\n\nTrả lời 1 để chọn.")

    intro = await zalo.say(boss, "1")
    assert "1 = Chưa hữu ích · 5 = Rất hữu ích" in text_of(intro)
    # The survey in front has its own numbers: "4" is its answer, not the invitation's.
    multiple = await zalo.say(boss, "4")
    assert "có thể chọn nhiều" in text_of(multiple)
    with world.database.session() as session:
        assert session.exec(select(SurveyParticipation)).one().round_id == survey_round.id


def test_only_the_buttons_a_journey_takes_are_numbered() -> None:
    _ = translator("vi")
    buttons = [
        [("✅ Xác nhận", "vis:ok:7")],
        [("🏭 Mở trang", "epg:show:3"), ("🎯 Xem kế hoạch", "plan:ent:3")],
        [("✅ Sẽ đến", "evr:4:going"), ("📋 Trả lời khảo sát", "fb:start:9")],
    ]
    actions = notices.answerable(buttons)
    assert [a.payload for a in actions] == ["vis:ok:7", "evr:4:going", "fb:start:9"]
    assert render.numbered(_, actions) == (
        "1. ✅ Xác nhận\n2. ✅ Sẽ đến\n3. 📋 Trả lời khảo sát\n\nTrả lời 1, 2 hoặc 3."
    )
    assert notices.answerable([[("🏭 Mở trang", "epg:show:3")]]) == []
    # A reviewer's question and a message to staff open their answering journeys too.
    assert len(notices.answerable([[("↩️ Trả lời", "rev:re:5"), ("↩️", "inb:ans:6")]])) == 2
    # After an answer: unchanged without an edit; the edit's answerable actions otherwise.
    assert notices.left_after(Outcome(notice="ok")) is None
    assert notices.left_after(Outcome(edit=Reply("✅"))) == []
    marked = [[Action("• ✅ Sẽ đến", "evr:4:going"), Action("🏭", "epg:show:3")]]
    assert notices.left_after(Outcome(edit=Reply("", marked), edit_actions_only=True)) == [
        Action("• ✅ Sẽ đến", "evr:4:going")
    ]
    assert render.is_number(" 2) ") and not render.is_number("2 người")


def test_an_answer_never_overwrites_a_newer_messages_numbers(world: World) -> None:
    """Two processes: the person answers message 1's numbers while the outbox's sender stores
    message 2's. What is left of message 1's must not replace message 2's; with no newer
    message, it does."""
    from models.journeys import engine

    person, now = zalo_person("race0001"), world.clock()
    first = [Action("✅ Xác nhận", "vis:ok:1"), Action("🕑 Giờ khác", "vis:alt:1")]
    second = [Action("✅ Tham dự", "evr:7:yes"), Action("✖ Không", "evr:7:no")]
    with world.database.session() as session:
        engine.remember_notice_choices(session, person, first, now=now)
    # The driver read `first`; meanwhile the sender stored `second`.
    with world.database.session() as session:
        engine.remember_notice_choices(session, person, second, now=now)
    with world.database.session() as session:
        assert not engine.spend_notice_choices(session, person, first, [], now=now)
    with world.database.session() as session:
        assert engine.notice_choices(session, person) == second
    # No newer message: the answer spends the numbers it answered.
    with world.database.session() as session:
        assert engine.spend_notice_choices(session, person, second, second[:1], now=now)
    with world.database.session() as session:
        assert engine.notice_choices(session, person) == second[:1]
