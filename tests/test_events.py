"""Events: a workshop from invitation to reaction summary, driven as people would, with `now`
moved by the test; partners who see nothing but events; moves and cancellations told once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.playback import Person
from models import events
from models.audience import Audience
from models.programme import ProgrammeError
from models.tables import (
    Contact,
    Event,
    EventGoodPractice,
    Outbox,
    Role,
    Rsvp,
    SurveyResponse,
)
from reports import events as event_reports
from tests.conftest import World
from tests.factories import (
    contact,
    coordinator,
    good_practice,
    join,
    make_enterprise,
    make_invite,
    make_provider,
    member,
    staff,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# 20/03/2027 14:00 in Viet Nam; the tests start on 1 March 2027, 09:00.
STARTS = datetime(2027, 3, 20, 7, 0, tzinfo=UTC)
CHECKIN = re.compile(r"start=(ev_[A-Za-z0-9_-]+)")
STALE_VI = "Nút này không còn hiệu lực."


# -- helpers ---------------------------------------------------------------------------------


def rows(world: World, model: type, *where: object) -> list:  # type: ignore[type-arg]
    with world.database.session() as session:
        return list(session.exec(select(model).where(*where)))


def keys(world: World, prefix: str) -> list[str]:
    with world.database.session() as session:
        found = session.exec(select(Outbox.key).where(col(Outbox.key).startswith(prefix)))
        return sorted(found)


def contact_id(world: World, user_id: int) -> int:
    found = contact(world, user_id)
    assert found is not None and found.id is not None
    return found.id


async def run_jobs(world: World) -> int:
    """What the scheduler does every minute for events, then the sender."""
    with world.database.session() as session:
        queued = events.due_event_messages(session, world.clock(), tz=TZ)
    await world.drain()
    return queued


def last_with(person: Person, text: str) -> str:
    for message in reversed(person.texts()):
        if text in message:
            return message
    raise AssertionError(f"{person.name} never got {text!r}; last: {person.last_text()!r}")


async def expect(person: Person, text: str) -> str:
    assert text in person.last_text(), person.last_text()
    return person.last_text()


def checkin_code(person: Person) -> str:
    for message in reversed(person.account.messages()):
        found = CHECKIN.search(message.caption or "")
        if found:
            return found.group(1)
    raise LookupError("no check-in link")


# -- the whole cycle -------------------------------------------------------------------------


async def test_an_achievement_workshop_from_invitation_to_reaction_summary(world: World) -> None:
    provider = make_provider(world)
    wood = make_enterprise(world, provider, "Xưởng mộc Hòa Phát")
    garment = make_enterprise(world, provider, "Công ty May Thu Hà")
    practice = good_practice(world, wood, "Giá kệ nhiều tầng giúp lối đi thông thoáng")
    organiser = await staff(world, 100, provider)
    lan = await member(world, 101, Role.EMPLOYER, "Chị Lan", enterprise_id=wood)  # will say Going
    binh = await member(world, 102, Role.WORKER, "Anh Bình", enterprise_id=wood)  # Maybe
    thu = await member(world, 103, Role.EMPLOYER, "Bà Thu", enterprise_id=garment)  # Can't come
    hoa = await member(world, 104, Role.WORKER, "Chị Hoa", enterprise_id=garment)  # never answers
    partner = await member(
        world, 105, Role.PARTNER, "Ông Phúc", provider_id=provider
    )  # Going, then no
    assert (await world.drain()).sent == 4  # the organiser hears who joined the enterprises

    # Staff create the workshop, with bad input on the way.
    await organiser.say("/event")
    await expect(organiser, "Sự kiện thuộc loại nào?")
    await organiser.say("hội thảo")
    await expect(organiser, "vui lòng chọn loại sự kiện bằng các nút")
    await organiser.press("Hội thảo kết quả")
    await expect(organiser, "Tên của sự kiện là gì?")
    await organiser.send("sticker")
    await expect(organiser, "Anh/Chị vui lòng trả lời bằng chữ.")
    await organiser.say("Hội thảo chia sẻ kết quả cải thiện 2027")
    await expect(organiser, "Sự kiện bắt đầu khi nào?")
    await organiser.say("31/02/2027 14:00")
    await expect(organiser, "ví dụ 20/03/2027 14:00")
    await organiser.say("01/02/2027 14:00")
    await expect(organiser, "Thời điểm này đã qua")
    await world.restart()  # a restart in the middle loses nothing
    await organiser.say("20/03/2027 14:00")
    await expect(organiser, "Sự kiện tổ chức ở đâu?")
    await organiser.send("location", 16.0544, 108.2022)
    await expect(organiser, "đã lưu vị trí")
    await organiser.say("Hội trường Trung tâm ATVSLĐ, 12 Lê Lợi, Đà Nẵng")
    await expect(organiser, "Chương trình gồm những gì?")
    await organiser.say("14:00 Khai mạc\n14:15 Các doanh nghiệp chia sẻ\n16:00 Thảo luận")
    card = await expect(organiser, "Mời những ai?")
    assert "Sẽ mời 4 người." in card  # employers and workers of the provider's enterprises
    await organiser.press("Đối tác")
    await expect(organiser, "Sẽ mời 5 người.")
    await organiser.say("xong")
    await expect(organiser, "vui lòng dùng các nút")
    await organiser.press("Tiếp")
    await expect(organiser, "giới thiệu điển hình tốt")
    assert "(✅ đã chọn, ⬜ chưa chọn)" in organiser.last_text()
    assert organiser.account.buttons()[0][0] == "⬜ Giá kệ nhiều tầng giúp lối đi thông thoáng"
    await organiser.press("Giá kệ nhiều tầng")
    assert organiser.account.buttons()[0][0] == "✅ Giá kệ nhiều tầng giúp lối đi thông thoáng"
    await organiser.press("Xong")
    preview = await expect(organiser, "kiểm tra thông tin sự kiện")
    assert "Hội thảo kết quả" in preview and "20/03/2027" in preview
    assert "Giá kệ nhiều tầng" in preview and "Sẽ mời 5 người." in preview
    assert "maps.google.com/?q=16.054400,108.202200" in preview
    await organiser.press("Tạo và gửi thư mời")
    assert "5 thư mời đang được gửi đi" in last_with(organiser, "Đã tạo sự kiện")
    code = checkin_code(organiser)  # the printable QR code follows the confirmation
    assert organiser.account.messages()[-1].method == "sendPhoto"

    [event] = rows(world, Event)
    assert (event.kind, event.starts_at, event.provider_id) == (
        events.ACHIEVEMENT_WORKSHOP,
        STARTS,
        provider,
    )
    assert event.latitude == pytest.approx(16.0544)
    assert [(g.event_id, g.improvement_id) for g in rows(world, EventGoodPractice)] == [
        (event.id, practice)
    ]
    assert len(rows(world, Rsvp, Rsvp.event_id == event.id)) == 5

    # The invitations go out through the outbox, once.
    report = await world.drain()
    assert report.sent == 5
    for person in (lan, binh, thu, hoa, partner):
        invitation = last_with(person, "Trân trọng kính mời")
        assert "Giá kệ nhiều tầng" in invitation and "(Xưởng mộc Hòa Phát)" in invitation
        labels = [label for label, _ in person.account.buttons()]
        assert labels == ["✅ Sẽ đến", "🤔 Có thể", "✖ Không đến được"]
    with world.database.session() as session:
        assert events.invite(session, event=event, now=world.clock(), tz=TZ) == 0
    assert (await world.drain()).sent == 0

    # Answers, and a change of mind.
    await lan.press("Sẽ đến")
    assert lan.answers()[-1] == "Cảm ơn Anh/Chị! Rất mong được gặp Anh/Chị."
    assert lan.account.buttons()[0][0] == "• ✅ Sẽ đến"
    await lan.press("Sẽ đến")  # pressed twice: nothing changes, nothing breaks
    await binh.press("Có thể")
    await thu.press("Không đến được")
    await partner.press("Sẽ đến")
    await partner.press("Không đến được")
    answers = {r.contact_id: r.answer for r in rows(world, Rsvp)}
    assert answers[contact_id(world, 105)] == "no"
    # A forged answer for an event someone was not invited to is refused.
    stranger = await member(world, 106, Role.WORKER, enterprise_id=wood)
    await stranger.press_data(stranger.account.messages()[-1].message_id, f"evr:{event.id}:going")
    assert stranger.answers()[-1] == "Lời mời này không dành cho Anh/Chị."

    # The day before: reminders to Going, Maybe and no answer; not to those who can't come.
    world.clock.now = STARTS - timedelta(hours=23)
    assert await run_jobs(world) == 3
    for person in (lan, binh, hoa):
        assert "diễn ra vào ngày mai" in person.last_text()
    for person in (thu, partner, stranger):
        assert "Nhắc lịch" not in person.last_text()
    assert "quét mã QR" in lan.last_text()  # Going: how to check in
    assert next(label for label, _ in hoa.account.buttons()) == "✅ Sẽ đến"  # undecided: asked
    assert await run_jobs(world) == 0  # a second run sends nothing
    # Two hours before: the same three, once.
    world.clock.now = STARTS - timedelta(hours=1, minutes=50)
    assert await run_jobs(world) == 3
    assert await run_jobs(world) == 0
    assert "bắt đầu lúc 14:00 Thứ Bảy, 20/03/2027" in binh.last_text()
    assert len(keys(world, f"event-reminder:{event.id}:")) == 6

    # At the venue: check-in by QR, including walk-ins.
    world.clock.now = STARTS - timedelta(minutes=10)
    await lan.say(f"/start {code}")
    assert "Anh/Chị đã điểm danh." in lan.last_text()
    await lan.say(f"/start {code}")
    assert "đã điểm danh tại" in lan.last_text()
    await thu.say(f"/start {code}")  # said she could not come, came after all
    assert "Rất vui vì Anh/Chị đã đến" in thu.last_text()
    await stranger.say(f"/start {code}")  # was not invited at all
    assert "Anh/Chị đã điểm danh" in stranger.last_text()
    newcomer = world.user(199)
    await newcomer.say(f"/start {code}")
    assert "bàn đón tiếp" in newcomer.last_text()
    assert contact(world, 199) is None
    await organiser.say(f"/start {code}")
    assert "Đến giờ đã có 3 người điểm danh." in organiser.last_text()
    await hoa.say("/start ev_notacode")
    assert "không nhận ra mã điểm danh" in hoa.last_text()

    # Answers close when the event starts.
    world.clock.now = STARTS + timedelta(minutes=5)
    await hoa.press("Sẽ đến")
    assert hoa.answers()[-1] == "Sự kiện đã bắt đầu nên không nhận trả lời nữa."

    # Staff tick Bình by hand: he forgot to scan.
    listing = await organiser.say("📅 Sự kiện")
    assert listing is not None and "Hội thảo chia sẻ kết quả cải thiện 2027" in listing.plain
    await organiser.press("Hội thảo chia sẻ")
    await organiser.press("Điểm danh")
    await expect(organiser, "Đã có 3/6 người điểm danh")
    # Every mark on the list is explained once, above it.
    assert "✅ đã có mặt · ⬜ chưa điểm danh" in organiser.last_text()
    assert "👍 sẽ đến, 🤔 có thể đến, ✖ không đến, … chưa trả lời" in organiser.last_text()
    ticks = [label[0] for label, _ in organiser.account.buttons()[:6]]
    assert ticks.count("✅") == 3 and ticks.count("⬜") == 3
    await organiser.press("Bình")
    await expect(organiser, "Đã có 4/6 người điểm danh")

    # After the event: the reaction survey to those who attended, once.
    world.clock.now = STARTS + timedelta(hours=3, minutes=30)
    assert await run_jobs(world) == 4
    assert await run_jobs(world) == 0
    for person in (lan, binh, thu, stranger):
        assert "Cảm ơn Anh/Chị đã đến dự" in person.last_text()
        assert "Ý kiến sau sự kiện" in person.last_text()
    assert "Cảm ơn Anh/Chị đã đến dự" not in hoa.last_text()
    assert "Cảm ơn Anh/Chị đã đến dự" not in partner.last_text()

    # The reactions, through the bot: Lan (employer) names her enterprise's choices.
    await lan.press("Góp ý")
    # The invitation carried the questionnaire's intro; pressing it goes straight to question 1.
    assert sum("Anh/Chị dành giúp khoảng 3 phút" in text for text in lan.texts()) == 1
    await expect(lan, "Phần nào của sự kiện hữu ích nhất")
    assert "câu 1/5" in lan.last_text()
    await lan.say("Phần chia sẻ của các xưởng")
    await expect(lan, "doanh nghiệp muốn thử áp dụng cách nào")
    assert [label for label, _ in lan.account.buttons()] == [
        "⬜ Giá kệ nhiều tầng giúp lối đi thông…",  # the showcased practice, cut at a word
        "✔ Xong",
        "Bỏ qua",
    ]
    await lan.press("Giá kệ nhiều tầng")
    assert lan.account.buttons()[0][0].startswith("✅ Giá kệ")
    await lan.press("Xong")
    assert "→ Giá kệ nhiều tầng" in lan.texts()[-2]
    await lan.say("Làm giá kệ cho kho ván")
    await expect(lan, "đánh giá sự kiện thế nào")
    await lan.press("5")
    await lan.say("Thêm giờ thảo luận")
    assert "Cảm ơn Anh/Chị! Chúng tôi sẽ gửi thêm thông tin" in lan.last_text()
    # A second attempt is refused politely.
    await lan.press("Góp ý")
    assert "Anh/Chị đã góp ý về Hội thảo chia sẻ kết quả cải thiện 2027 rồi" in lan.last_text()
    # Hoa did not come: a forged button gets her nowhere.
    await hoa.press_data(hoa.account.messages()[-1].message_id, f"fb:event:{event.id}")
    assert "dành cho những người đã tham dự sự kiện" in hoa.last_text()

    # Bình (worker) answers anonymously, with a restart in the middle.
    await binh.press("Góp ý")
    assert "Câu trả lời của Anh/Chị là ẩn danh." in binh.texts()[-2]
    await binh.say("Cách làm giá kệ")
    await world.restart()
    await binh.press("Giá kệ nhiều tầng")
    await binh.press("Xong")
    await binh.say("Thử làm một giá kệ")
    await binh.press("4")
    await binh.press("Bỏ qua")
    assert "Cảm ơn Anh/Chị!" in binh.last_text()

    # Two reactions: counted, not broken down; the worker's waits for the feedback to close.
    await organiser.say("/events")
    await organiser.press("Hội thảo chia sẻ")
    card = organiser.last_text()
    assert "Đã mời 5: sẽ đến 1, có thể 1, không đến được 2, chưa trả lời 1." in card
    assert "Đã dự 4 (trong đó 3 người chưa báo sẽ đến). Góp ý 2." in card
    assert "Đến nay có 1 góp ý" in card and "Đánh giá" not in card
    assert "1 góp ý của người lao động sẽ được cộng vào cùng lúc khi hết hạn góp ý" in card

    # A third reaction (Thu chooses no practice: Done with none is a skip): the summary shows.
    await thu.press("Góp ý")
    await thu.say("Phần thảo luận")
    await thu.press("Xong")
    assert "→ (bỏ qua)" in thu.texts()[-2]
    await thu.say("Sắp xếp lại kho")
    await thu.press("3")
    await thu.say("Tổ chức tại xưởng")
    assert "Cảm ơn Anh/Chị!" in thu.last_text()
    # The feedback closes; the scheduler's job releases the worker's answer with the event's
    # (one worker: too few to release on its own, it joins nothing and is dropped).
    from models import surveys

    with world.database.session() as session:
        event_row = session.get(Event, event.id)
        assert event_row is not None
        world.clock.now = surveys.reaction_closes_at(event_row) + timedelta(minutes=1)
    with world.database.session() as session:
        assert surveys.release(session, now=world.clock()) == {"dropped_small": 1}
    await organiser.press("Hội thảo chia sẻ", listing)
    card = organiser.last_text()
    # Two named reactions, counted and not broken down; the lone worker's answer is not kept.
    assert "Đến nay có 2 góp ý" in card and "Đánh giá" not in card
    assert "người lao động" not in card
    named = {r.contact_id for r in rows(world, SurveyResponse)}
    assert named == {contact_id(world, 101), contact_id(world, 103)}
    past = await organiser.say("/events")
    assert past is not None and "mời 5 · sẽ đến 1 · đã dự 4 · góp ý 3" in past.plain

    with world.database.session() as session:
        [row] = event_reports.event_summary_rows(session, provider)
    assert (row.invited, row.going, row.maybe, row.cannot, row.attended, row.walk_ins) == (
        5,
        1,
        1,
        2,
        4,
        3,
    )
    assert (row.reactions, row.rating_mean) == (3, None)  # 3 reacted; 2 answers kept


async def test_partners_see_nothing_but_events(world: World) -> None:
    provider = make_provider(world)
    partner = await member(world, 201, Role.PARTNER, provider_id=provider)
    keyboard = partner.account.reply_keyboard()
    assert keyboard is not None
    assert [label for row in keyboard for label in row] == [
        "📅 Sự kiện",
        "❓ Trợ giúp",
        "🌐 Ngôn ngữ",
    ]
    for command in ("/event", "/newenterprise", "/providers", "/enterprises"):
        await partner.say(command)
        assert "chỉ dành cho cán bộ" in partner.last_text(), command
    await partner.say("/events")
    assert "chưa có lời mời sự kiện nào" in partner.last_text()
    assert rows(world, Event) == []

    await staff(world, 202, provider)
    organiser = contact(world, 202)
    assert organiser is not None
    with world.database.session() as session:
        event = events.create_event(
            session,
            draft=events.EventDraft(
                kind=events.PROVIDER_MEETING,
                title="Họp các đơn vị và đối tác",
                starts_at=STARTS,
                place="Sở Nội vụ Đà Nẵng",
                audience=Audience(include_partners=True),
            ),
            actor=organiser,
            now=world.clock(),
        )
        # Staff cannot reach beyond their provider, whatever the draft says.
        assert event.audience["provider_id"] == provider
        assert events.invite(session, event=event, now=world.clock(), tz=TZ) == 1
    await world.drain()
    assert "Họp các đơn vị và đối tác" in partner.last_text()
    listing = await partner.say("📅 Sự kiện")
    assert listing is not None and "chưa trả lời" in listing.plain
    assert "mời" not in listing.plain.replace("lời mời", "")  # no figures for partners
    await partner.press("Họp các đơn vị")
    await partner.press("Sẽ đến")
    listing = await partner.say("/events")
    assert listing is not None and "Anh/Chị sẽ đến" in listing.plain
    # The organisers' buttons are refused to a partner, even forged.
    for data in (f"evt:show:{event.id}", f"evt:qr:{event.id}", f"evt:cancelok:{event.id}"):
        await partner.press_data(listing.message_id, data)
        assert "chỉ dành cho cán bộ" in (partner.answers()[-1] or ""), data
    assert rows(world, Event)[0].status == events.PLANNED


# -- moving and cancelling -------------------------------------------------------------------


async def invited_world(world: World) -> tuple[Person, list[Person], Event]:
    provider = make_provider(world)
    wood = make_enterprise(world, provider)
    organiser = await staff(world, 300, provider)
    people = [
        await member(world, 301, Role.EMPLOYER, enterprise_id=wood),
        await member(world, 302, Role.WORKER, enterprise_id=wood),
        await member(world, 303, Role.WORKER, enterprise_id=wood),
    ]
    actor = contact(world, 300)
    assert actor is not None
    with world.database.session() as session:
        event = events.create_event(
            session,
            draft=events.EventDraft(
                kind=events.TRAINING,
                title="Tập huấn sắp xếp kho",
                starts_at=STARTS,
                place="Xưởng mộc Hòa Phát",
            ),
            actor=actor,
            now=world.clock(),
        )
        events.invite(session, event=event, now=world.clock(), tz=TZ)
    await world.drain()
    await people[0].press("Sẽ đến")
    await people[1].press("Không đến được")
    return organiser, people, event


async def test_a_moved_event_notifies_the_invitees_once(world: World) -> None:
    organiser, people, event = await invited_world(world)
    world.clock.now = STARTS - timedelta(hours=20)
    assert await run_jobs(world) == 2  # the day-before reminder for the old time

    await organiser.say("/events")
    await organiser.press("Tập huấn sắp xếp kho")
    await organiser.press("Đổi giờ")
    await expect(organiser, "hiện bắt đầu lúc 14:00 Thứ Bảy, 20/03/2027")
    await organiser.send("photo", b"\xff\xd8jpeg")
    await expect(organiser, "vui lòng trả lời bằng chữ")
    await organiser.say("27/03/2027 8:30")
    confirm = await expect(organiser, "muốn dời sự kiện sang 08:30 Thứ Bảy, 27/03/2027?")
    assert confirm
    await organiser.press("✅ Đổi giờ")
    await expect(organiser, "Đã đổi giờ sự kiện. 3 người được mời sẽ nhận thông báo.")
    await organiser.press_data(organiser.account.messages()[-1].message_id, "evt:moveok")
    assert organiser.answers()[-1] == STALE_VI  # pressed twice: told once

    assert (await world.drain()).sent == 3
    for person in people:
        moved = "đã đổi giờ: từ 14:00 Thứ Bảy, 20/03/2027 sang 08:30 Thứ Bảy, 27/03/2027"
        assert moved in person.last_text()
    # Who could not come is asked again; their old answer stays marked.
    assert people[1].account.buttons()[2][0] == "• ✖ Không đến được"
    assert len(keys(world, f"event-move:{event.id}:2:")) == 3

    # The reminders follow the new time, with keys of their own.
    new_start = datetime(2027, 3, 27, 1, 30, tzinfo=UTC)
    world.clock.now = new_start - timedelta(hours=20)
    assert await run_jobs(world) == 2
    assert "diễn ra vào ngày mai, 08:30 Thứ Bảy, 27/03/2027" in people[0].last_text()
    assert len(keys(world, f"event-reminder:{event.id}:")) == 4


async def test_a_cancelled_event_notifies_the_invitees_once(world: World) -> None:
    organiser, people, event = await invited_world(world)
    await organiser.say("/events")
    await organiser.press("Tập huấn sắp xếp kho")
    await organiser.press("Hủy sự kiện")
    await expect(organiser, "Chúng tôi sẽ báo cho tất cả những người được mời.")
    await organiser.press("Có, hủy sự kiện")
    await expect(organiser, "Đã hủy sự kiện. 3 người được mời sẽ nhận thông báo.")
    cancel_message = organiser.account.messages()[-1]
    await organiser.press_data(cancel_message.message_id, f"evt:cancelok:{event.id}")
    assert organiser.answers()[-1] == "Sự kiện này đã bị hủy."
    assert (await world.drain()).sent == 3
    assert (await world.drain()).sent == 0
    for person in people:
        assert "đã bị hủy" in person.last_text()
    assert len(keys(world, f"event-cancel:{event.id}:")) == 3
    # No reminder, answer or check-in for a cancelled event.
    world.clock.now = STARTS - timedelta(hours=20)
    assert await run_jobs(world) == 0
    await people[2].press("Sẽ đến")
    assert people[2].answers()[-1] == "Sự kiện này đã bị hủy."
    world.clock.now = STARTS
    await people[0].say(f"/start ev_{event.checkin_code}")
    assert "Sự kiện này đã bị hủy." in people[0].last_text()


# -- the domain, directly --------------------------------------------------------------------


def test_parse_moment_reads_the_ways_people_type_a_time() -> None:
    now = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    expected = datetime(2027, 3, 20, 7, 0, tzinfo=UTC)
    for text in ("20/03/2027 14:00", "20-03-2027 14h00", "14:00 20/03/2027", " 20.03.2027  14h "):
        assert events.parse_moment(text, now=now, tz=TZ) == expected, text
    for text, code in (
        ("20/03/2027", "moment_invalid"),
        ("32/03/2027 14:00", "moment_invalid"),
        ("20/03/2027 25:00", "moment_invalid"),
        ("20/03/27 14:00", "moment_invalid"),
        ("", "moment_invalid"),
        ("28/02/2027 14:00", "moment_in_past"),
        ("20/03/2031 14:00", "moment_too_far"),
    ):
        with pytest.raises(ProgrammeError) as error:
            events.parse_moment(text, now=now, tz=TZ)
        assert error.value.code == code, text


async def test_only_the_organisers_manage_an_event(world: World) -> None:
    _organiser, _people, event = await invited_world(world)
    other = await staff(world, 400, make_provider(world, "Trung tâm Cần Thơ"))
    await coordinator(world, 401)
    with world.database.session() as session:
        stranger = contact(world, 400)
        chief = contact(world, 401)
        assert stranger is not None and chief is not None
        assert not events.can_manage(stranger, event)
        assert events.can_manage(chief, event)
        with pytest.raises(ProgrammeError, match="not_allowed"):
            events.cancel_event(session, event_id=event.id, actor=stranger, now=world.clock())  # type: ignore[arg-type]
        # Ticking by hand opens with check-in, not weeks ahead.
        worker = contact(world, 302)
        with pytest.raises(ProgrammeError, match="checkin_not_open"):
            events.toggle_attendance(
                session,
                event_id=event.id,  # type: ignore[arg-type]
                contact_id=worker.id,  # type: ignore[union-attr, arg-type]
                actor=chief,
                now=world.clock(),
            )
    await other.say("/events")
    assert "Chưa có sự kiện nào" in other.last_text()
    await other.press_data(other.account.messages()[-1].message_id, f"evt:att:{event.id}:0")
    # Programme staff are not told that it is "only for programme staff".
    assert other.answers()[-1] == "Xin lỗi, chức năng này chỉ dành cho đơn vị tổ chức sự kiện."


async def test_another_providers_staff_scanning_the_qr_code_check_in_as_attendees(
    world: World,
) -> None:
    """The live count is for the event's own organisers: staff of another provider who scan the
    code at the venue are checked in like anyone else, and its coordinators see the count."""
    _organiser, _people, event = await invited_world(world)
    other = await staff(world, 400, make_provider(world, "Trung tâm Cần Thơ"))
    chief = await coordinator(world, 401)
    world.clock.now = STARTS - timedelta(minutes=30)
    code = f"ev_{event.checkin_code}"
    await other.say(f"/start {code}")
    assert "Anh/Chị đã điểm danh" in other.last_text()
    assert "người điểm danh" not in other.last_text()
    attended = rows(world, Rsvp, Rsvp.contact_id == contact_id(world, 400))
    assert [r.attended_at is not None for r in attended] == [True]
    await chief.say(f"/start {code}")
    assert "Đây là mã điểm danh" in chief.last_text() and "có 1 người" in chief.last_text()
    assert rows(world, Rsvp, Rsvp.contact_id == contact_id(world, 401)) == []


async def test_check_in_opens_shortly_before_and_closes_the_same_evening(world: World) -> None:
    _organiser, people, event = await invited_world(world)
    code = f"ev_{event.checkin_code}"
    await people[0].say(f"/start {code}")
    opens = "Điểm danh mở ngay trước sự kiện, bắt đầu lúc 14:00 Thứ Bảy, 20/03/2027"
    assert opens in people[0].last_text()
    world.clock.now = STARTS + timedelta(hours=13)
    await people[0].say(f"/start {code}")
    assert "Điểm danh cho sự kiện này đã kết thúc." in people[0].last_text()
    assert all(r.attended_at is None for r in rows(world, Rsvp))


async def test_an_invite_code_that_looks_like_a_check_in_still_registers(world: World) -> None:
    from models.tables import Invite

    provider = make_provider(world)
    wood = make_enterprise(world, provider)
    with world.database.session() as session:
        session.add(
            Invite(
                code="ev_looks-like-event",
                role=Role.WORKER,
                enterprise_id=wood,
                provider_id=provider,
                expires_at=world.clock() + timedelta(days=3),
            )
        )
    await join(world, 501, "ev_looks-like-event")
    joined = contact(world, 501)
    assert joined is not None and joined.role == Role.WORKER
    assert rows(world, Contact, Contact.telegram_user_id == 501)


async def test_the_showcase_is_left_out_for_people_who_declined_good_examples(
    world: World,
) -> None:
    """An invitation reaches everyone invited; the good examples of other enterprises that the
    event will look at are listed only for people who accepted good examples."""
    provider = make_provider(world)
    wood = make_enterprise(world, provider)
    shown = good_practice(world, make_enterprise(world, provider, "Công ty May Thu Hà"),
                          "Giá kệ nhiều tầng giúp lối đi thông thoáng")  # fmt: skip
    await staff(world, 300, provider)
    employer = await member(world, 301, Role.EMPLOYER, enterprise_id=wood)
    worker = world.user(302, "Bình")
    await worker.say(f"/start {make_invite(world, Role.WORKER, enterprise_id=wood)}")
    await worker.press("Tiếng Việt")
    await worker.press("không nhận mẹo")
    actor = contact(world, 300)
    with world.database.session() as session:
        event = events.create_event(
            session,
            draft=events.EventDraft(
                kind=events.ACHIEVEMENT_WORKSHOP,
                title="Hội thảo thành tựu",
                starts_at=STARTS,
                place="Nhà văn hóa",
                good_practices=(shown,),
            ),
            actor=actor,  # type: ignore[arg-type]
            now=world.clock(),
        )
        assert events.invite(session, event=event, now=world.clock(), tz=TZ) == 2
    await world.drain()
    invited = last_with(employer, "Trân trọng kính mời")
    assert "Các điển hình tốt sẽ được giới thiệu" in invited and "Giá kệ nhiều tầng" in invited
    invited = last_with(worker, "Trân trọng kính mời")
    assert "Hội thảo thành tựu" in invited
    assert "Các điển hình tốt" not in invited and "Giá kệ nhiều tầng" not in invited
