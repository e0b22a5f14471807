"""The direct line: what an employer or worker sends outside a journey reaches their provider's
inbox after one question; staff answer it (in the person's language) and close it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from bot.playback import Person
from bot.sandbox import SentMessage
from models import inbox
from models.tables import InboxMessage, InboxThread, Outbox, Role
from reports.samples import workshop_photo
from scheduler.config import SchedulerConfig
from scheduler.jobs import retention_job, weekly_digest_job
from tests.conftest import World
from tests.factories import STALE, contact, join, make_enterprise, make_invite, make_provider, tap

ASK = "Anh/Chị có muốn gửi nội dung này đến đơn vị cung cấp dịch vụ ATVSLĐ"
YES = "✅ Có, gửi đi"
MENU = "Anh/Chị vui lòng chọn trong menu bên dưới, hoặc gửi /help."
VOICE = b"OggS\x00\x02-a-voice-note-from-the-workshop"


@dataclass
class Line:
    world: World
    provider: int
    enterprise: int
    staff: Person
    employer: Person


async def line(world: World, employer_language: str = "English") -> Line:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    await join(world, 501, make_invite(world, Role.STAFF, provider_id=provider))
    employer = world.user(101, "Hoa")
    await join(
        world, 101, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise), employer_language
    )
    await world.drain()  # the staff member hears that the employer joined
    return Line(world, provider, enterprise, world.user(501), employer)


def threads(world: World) -> list[InboxThread]:
    with world.database.session() as session:
        return list(session.exec(select(InboxThread).order_by(col(InboxThread.id))))


def messages(world: World) -> list[InboxMessage]:
    with world.database.session() as session:
        return list(session.exec(select(InboxMessage).order_by(col(InboxMessage.id))))


def outbox_keys(world: World, prefix: str = "inbox") -> list[str]:
    with world.database.session() as session:
        keys = session.exec(select(Outbox.key).order_by(col(Outbox.id))).all()
    return [key for key in keys if key.startswith(prefix)]


def newest(person: Person, method: str) -> SentMessage:
    return next(m for m in reversed(person.account.messages()) if m.method == method)


async def test_an_employer_s_message_reaches_staff_who_answer_in_the_employer_s_language(
    world: World,
) -> None:
    c = await line(world)
    question = await c.employer.say("Can we borrow the noise meter next week?")
    assert question is not None
    assert "Send this to your OSH service provider? They will answer you here." in question.plain
    # Nothing is kept before the person says yes.
    assert threads(world) == [] and messages(world) == [] and outbox_keys(world) == []

    await c.employer.press("✅ Yes, send it")
    assert "📨 Sent to Trung tâm ATVSLĐ Đà Nẵng." in c.employer.last_text()
    await world.drain()
    notice = c.staff.last_text()
    assert "📨 Tin nhắn mới từ Hoa, chủ doanh nghiệp Xưởng mộc Hòa Phát" in notice
    assert "Can we borrow the noise meter next week?" in notice

    listing = await c.staff.say("/inbox")
    assert listing is not None and "Cuộc trao đổi đang mở: 1" in listing.plain
    assert "#1 Hoa, chủ doanh nghiệp Xưởng mộc Hòa Phát — 1 tin nhắn" in listing.plain
    shown = await c.staff.press("#1 Xưởng mộc Hòa Phát")
    assert shown is not None and "Can we borrow the noise meter" in shown.plain

    await c.staff.press("↩️ Trả lời")
    assert "gửi câu trả lời cho cuộc trao đổi #1" in c.staff.last_text()
    await c.staff.say("Vâng, thứ Ba chúng tôi mang máy đến.")
    assert c.staff.last_text().startswith("Đã gửi.")
    await world.drain()
    answer = c.employer.last_text()
    assert "💬 Trung tâm ATVSLĐ Đà Nẵng answered your message:" in answer
    assert "Vâng, thứ Ba chúng tôi mang máy đến." in answer
    assert "To write to them again, just send me a message." in answer

    # A second message joins the open thread; closing ends it.
    await c.employer.say("Thank you!")
    await c.employer.press("✅ Yes, send it")
    assert len(threads(world)) == 1 and len(messages(world)) == 3
    await tap(c.staff, "✔ Đóng")
    assert c.staff.last_text() == "✔ Đã đóng cuộc trao đổi #1."
    assert threads(world)[0].status == inbox.CLOSED
    empty = await c.staff.say("/inbox")
    assert empty is not None and "Không có cuộc trao đổi nào đang mở" in empty.plain


async def test_declining_sends_nothing_and_the_button_is_then_stale(world: World) -> None:
    c = await line(world)
    await c.employer.say("Just testing")
    await c.employer.press("✖ No")
    assert c.employer.last_text().startswith("Not sent.")
    await world.drain()
    assert messages(world) == [] and threads(world) == [] and outbox_keys(world) == []
    assert not any("Just testing" in text for text in c.staff.texts())


async def test_a_voice_note_is_forwarded_as_a_voice_note_both_ways(world: World) -> None:
    c = await line(world)
    await c.employer.send("voice", VOICE, 7)
    assert "Send this to your OSH service provider" in c.employer.last_text()
    await c.employer.press("✅ Yes, send it")
    await world.drain()
    notice = newest(c.staff, "sendVoice")
    assert world.sandbox.files[notice.voice_file_id or ""].data == VOICE
    assert "Tin nhắn mới từ Hoa" in (notice.plain or notice.caption or "")
    stored = messages(world)[0]
    assert stored.kind == inbox.Kind.VOICE and stored.duration == 7 and stored.file_id
    assert (world.settings.media_dir / (stored.file_path or "")).read_bytes() == VOICE

    # Staff answer with a voice note of their own.
    await tap(c.staff, "↩️ Trả lời")
    reply = b"OggS\x00\x02-the-provider-answers"
    await c.staff.send("voice", reply, 4)
    await world.drain()
    answer = newest(c.employer, "sendVoice")
    assert world.sandbox.files[answer.voice_file_id or ""].data == reply
    assert "answered your message" in (answer.plain or answer.caption or "")


async def test_a_photo_goes_through_the_media_handling(world: World, tmp_path: Path) -> None:
    c = await line(world)
    photo = workshop_photo(tmp_path / "p.jpg", after=True).read_bytes()
    await c.employer.send("photo", photo, "New shelves")
    await c.employer.press("✅ Yes, send it")
    await world.drain()
    notice = newest(c.staff, "sendPhoto")
    assert "New shelves" in (notice.caption or "")
    stored = messages(world)[0]
    assert stored.kind == inbox.Kind.PHOTO and (stored.file_path or "").endswith(".jpg")


async def test_a_worker_s_thread_names_the_enterprise_not_the_worker(world: World) -> None:
    c = await line(world)
    worker = world.user(201, "Tuấn")
    await join(world, 201, make_invite(world, Role.WORKER, enterprise_id=c.enterprise))
    question = await worker.say("Quạt ở khu sơn bị hỏng hai tuần rồi.")
    assert question is not None and ASK in question.plain
    await worker.press(YES)
    await world.drain()
    notice = c.staff.last_text()
    assert "Tin nhắn mới từ một người lao động của Xưởng mộc Hòa Phát" in notice
    assert "Tuấn" not in notice
    listing = await c.staff.say("/inbox")
    assert listing is not None and "Tuấn" not in listing.plain

    await tap(c.staff, "↩️ Trả lời")
    await c.staff.say("Cảm ơn Anh/Chị, chúng tôi sẽ nhắc chủ doanh nghiệp.")
    await world.drain()
    assert "đã trả lời tin nhắn của Anh/Chị" in worker.last_text()


async def test_another_provider_s_staff_cannot_see_or_touch_the_thread(world: World) -> None:
    c = await line(world)
    await c.employer.say("Private question")
    await c.employer.press("✅ Yes, send it")
    other = make_provider(world, "Trung tâm ATVSLĐ Huế")
    await join(world, 502, make_invite(world, Role.STAFF, provider_id=other))
    outsider = world.user(502)
    await world.drain()
    assert not any("Private question" in text for text in outsider.texts())
    listing = await outsider.say("/inbox")
    assert listing is not None and "Không có cuộc trao đổi nào đang mở" in listing.plain

    thread = threads(world)[0].id
    for data in (f"{inbox.SHOW}{thread}", f"{inbox.ANSWER}{thread}", f"{inbox.CLOSE}{thread}"):
        await outsider.press_data(listing.message_id, data)
        assert outsider.answers()[-1] == (
            "Xin lỗi, chỉ cán bộ của đơn vị hỗ trợ doanh nghiệp này mới xem được nội dung này."
        )
    assert threads(world)[0].status == inbox.OPEN
    assert not any("Private question" in text for text in outsider.texts())
    # Nor may the employer press the staff's buttons, or staff the employer's.
    employer_press = await c.employer.press_data(listing.message_id, f"{inbox.CLOSE}{thread}")
    assert employer_press is None and threads(world)[0].status == inbox.OPEN


async def test_stale_buttons_change_nothing(world: World) -> None:
    c = await line(world)
    question = await c.employer.say("Twice?")
    assert question is not None
    await c.employer.press("✅ Yes, send it", question)
    origin = question.reply_to
    await c.employer.press_data(question.message_id, f"{inbox.SEND}{origin}")
    assert c.employer.answers()[-1] == "This was sent already."
    await c.employer.press_data(question.message_id, f"{inbox.DROP}{origin}")
    assert c.employer.answers()[-1] == "This was sent already."
    assert len(messages(world)) == 1 and messages(world)[0].thread_id is not None
    await world.drain()
    assert len(outbox_keys(world, "inbox-new")) == 1

    notice = c.staff.account.messages()[-1]
    thread = threads(world)[0].id
    await tap(c.staff, "✔ Đóng")
    assert c.staff.account.buttons(notice) == []  # the pressed notice loses its buttons
    await c.staff.press_data(notice.message_id, f"{inbox.CLOSE}{thread}")
    assert c.staff.answers()[-1] == "Cuộc trao đổi này đã được đóng trước đó."
    await c.staff.press_data(notice.message_id, f"{inbox.ANSWER}{thread}")
    assert c.staff.answers()[-1] == "Cuộc trao đổi này đã đóng."
    await c.staff.say("Is this an answer?")
    assert c.staff.last_text() == MENU
    assert len(messages(world)) == 1
    # A tampered id is stale too.
    await c.staff.press_data(question.message_id, f"{inbox.SHOW}999")
    assert c.staff.answers()[-1] == STALE


async def test_a_photo_is_fetched_only_once_the_person_says_yes(
    world: World, tmp_path: Path
) -> None:
    c = await line(world)
    photo = workshop_photo(tmp_path / "p.jpg", after=True).read_bytes()
    await c.employer.send("photo", photo, "Not for the provider")
    await c.employer.press("✖ No")
    assert c.employer.last_text().startswith("Not sent.")
    assert messages(world) == []
    assert not (world.settings.media_dir / "inbox").exists()


async def test_a_message_deleted_before_yes_is_asked_for_again(world: World) -> None:
    c = await line(world)
    question = await c.employer.say("I will delete this")
    assert question is not None and question.reply_to is not None
    c.employer.account.delete(question.reply_to)
    await c.employer.press("✅ Yes, send it", question)
    assert "I can no longer see the message" in (c.employer.answers()[-1] or "")
    assert messages(world) == [] and threads(world) == []


async def test_two_presses_at_once_send_one_message(world: World) -> None:
    """Two processes handling "Yes" for the same message (two workers behind a load balancer,
    or a double tap): one message and one notice to staff."""
    import threading

    await line(world)
    person = contact(world, 101)
    assert person is not None
    start = threading.Barrier(2)
    results: list[object] = []

    def press() -> None:
        with world.database.session() as session:
            start.wait()
            sent = inbox.send(
                session, session.merge(person), inbox.Content(inbox.Kind.TEXT, "Once"),
                origin="tg:101:77", now=world.clock(),
            )  # fmt: skip
            if sent is not None:
                inbox.notify_staff(
                    session, *sent, media_root=world.settings.media_dir, now=world.clock()
                )
            results.append(sent is not None)

    workers = [threading.Thread(target=press) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(results) == [False, True]
    assert [m.text for m in messages(world)] == ["Once"]
    assert len(outbox_keys(world, "inbox-new")) == 1


async def test_rows_an_earlier_version_kept_unsent_are_forgotten_with_their_files(
    world: World,
) -> None:
    c = await line(world)
    person = contact(world, 101)
    assert person is not None and person.id is not None
    kept = world.settings.media_dir / "inbox" / "old.oga"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(VOICE)
    with world.database.session() as session:
        session.add(
            InboxMessage(sender_id=person.id, kind="voice", file_path="inbox/old.oga", text=None)
        )
    config = SchedulerConfig.from_settings(world.settings)
    with world.database.session() as session:
        assert retention_job(session, world.clock(), config=config)["unsent"] == 1
    assert messages(world) == [] and not kept.exists()
    assert c.staff.texts()  # the staff member is untouched


async def test_a_restart_in_the_middle_loses_nothing(world: World) -> None:
    c = await line(world)
    await c.employer.say("Before the restart")
    await world.restart()
    await c.employer.press("✅ Yes, send it")
    assert "📨 Sent to" in c.employer.last_text()
    await world.drain()
    await tap(c.staff, "↩️ Trả lời")
    await world.restart()
    await c.staff.say("Sau khi khởi động lại")
    assert c.staff.last_text().startswith("Đã gửi.")
    await world.drain()
    assert "Sau khi khởi động lại" in c.employer.last_text()


async def test_staff_and_strangers_keep_the_old_catch_all(world: World) -> None:
    c = await line(world)
    reply = await c.staff.say("hello bot")
    assert reply is not None and reply.plain == MENU
    stranger = world.user(999)
    reply = await stranger.say("hello")
    assert reply is not None and "mã QR" in reply.plain
    assert messages(world) == []
    # A sticker from an employer is not offered to the provider.
    await c.employer.send("sticker")
    assert c.employer.last_text() == "Please choose from the menu below, or send /help."
    assert messages(world) == []


async def test_a_message_too_long_is_refused_and_nothing_is_kept(world: World) -> None:
    c = await line(world)
    await c.employer.say("x" * (inbox.TEXT_MAX + 1))
    assert c.employer.last_text().startswith("That is too long")
    assert messages(world) == []


async def test_the_weekly_digest_counts_open_threads(world: World) -> None:
    c = await line(world)
    await c.employer.say("Counted in the digest")
    await c.employer.press("✅ Yes, send it")
    with world.database.session() as session:
        assert inbox.open_counts(session) == {c.provider: 1}
        world.clock.advance(days=7)
        weekly_digest_job(session, world.clock())
    await world.drain()
    digest = c.staff.last_text()
    assert "Cuộc trao đổi đang mở trong hộp thư: 1" in digest
    assert "Gửi /inbox để trả lời các tin nhắn." in digest


async def test_mydata_shows_the_thread_and_erasure_then_the_purge_remove_it(world: World) -> None:
    from datetime import timedelta

    from models import privacy

    c = await line(world)
    await c.employer.send("voice", VOICE, 5)
    await c.employer.press("✅ Yes, send it")
    await c.employer.say("Call me back please")
    await c.employer.press("✅ Yes, send it")
    stored = messages(world)[0]
    voice_file = world.settings.media_dir / (stored.file_path or "")
    assert voice_file.exists()
    person = contact(world, 101)
    assert person is not None
    with world.database.session() as session:
        mine = privacy.export(session, person)["messages_to_your_provider"]
        assert [(m["kind"], m["text"], m["from_you"]) for m in mine] == [
            ("voice", None, True),
            ("text", "Call me back please", True),
        ]
        privacy.erase(session, session.merge(person), now=world.clock())
    assert threads(world)[0].status == inbox.CLOSED
    with world.database.session() as session:
        result = privacy.purge_expired(
            session,
            now=world.clock() + timedelta(days=731),
            retention_days=730,
            media_root=world.settings.media_dir,
        )
    assert result == {"texts": 1, "photos": 1}
    assert not voice_file.exists()
    assert all(m.text is None and m.file_path is None for m in messages(world))


async def test_a_coordinator_sees_every_provider_s_threads(world: World) -> None:
    from tests.factories import coordinator

    c = await line(world)
    await c.employer.say("For the whole programme")
    await c.employer.press("✅ Yes, send it")
    boss = await coordinator(world)
    listing = await boss.say("/inbox")
    assert listing is not None and "#1 Hoa, chủ doanh nghiệp Xưởng mộc Hòa Phát" in listing.plain
    await boss.press("#1")
    assert "For the whole programme" in boss.last_text()


async def test_help_shows_inbox_to_staff_only(world: World) -> None:
    c = await line(world)
    staff_help = await c.staff.say("/help")
    assert staff_help is not None
    assert "/inbox — Tin nhắn từ các doanh nghiệp: trả lời và đóng lại" in staff_help.plain
    employer_help = await c.employer.say("/help")
    assert employer_help is not None and "/inbox" not in employer_help.plain
    refused = await c.employer.say("/inbox")
    assert refused is not None
    assert refused.plain == "Sorry, the inbox is for the staff of OSH service providers."
