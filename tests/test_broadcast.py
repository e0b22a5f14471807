"""Broadcasts through the bot: compose, audience, preview count, confirm, progress edits, and a
crash in the middle that loses nobody and repeats nobody."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from bot.playback import Person
from bot.sender import send_due
from handlers.broadcast import refresh_progress
from models import audience as audiences
from models import broadcasts
from models.outbox import Message
from models.programme import ProgrammeError
from models.tables import (
    Broadcast,
    ConsentPurpose,
    Contact,
    Outbox,
    OutboxStatus,
    Role,
)
from reports.samples import workshop_photo
from tests.conftest import World
from tests.factories import (
    Library,
    build_library,
    count_in,
    join,
    make_invite,
    people,
    received,
    staff_of,
)


async def compose(
    staff: Person, text: str = "Mời Anh/Chị dự hội thảo thành tựu ngày 20/3."
) -> None:
    await staff.say("/broadcast")
    assert "Gửi tin mới" in staff.last_text()
    await staff.say(text)
    assert staff.last_text() == "Ai sẽ nhận tin này?"


@pytest.fixture
def library(world: World, tmp_path: Path) -> Library:
    return build_library(world.database, tmp_path / "photos")


async def test_each_audience_filter_gives_its_exact_count(world: World, library: Library) -> None:
    moc, may = library.enterprises["moc"], library.enterprises["may"]
    people(world, moc, Role.EMPLOYER, 1, first_id=10)
    people(world, moc, Role.WORKER, 3, first_id=20)
    people(world, may, Role.EMPLOYER, 2, first_id=30)
    people(world, may, Role.WORKER, 1, first_id=40)
    people(world, library.enterprises["co_khi"], Role.WORKER, 5, first_id=50)  # another provider
    with world.database.session() as session:  # one opted out, one unreachable: never counted
        for user_id, field in ((21, "opted_out_at"), (31, "unreachable_at")):
            contact = session.exec(select(Contact).where(Contact.telegram_user_id == user_id)).one()
            setattr(contact, field, world.clock())
            session.add(contact)
    staff = await staff_of(world, library.north)
    expected = {
        "Tất cả doanh nghiệp của tôi": 5,
        "Chỉ chủ doanh nghiệp": 2,
        "Chỉ người lao động": 3,
        ("Theo tỉnh/thành", "Huế"): 2,
        ("Theo ngành", "Gỗ"): 3,
        # Mộc has a good practice in storage; May has one not shared, and a verified report.
        ("Chưa báo cáo", "Môi trường"): 5,
        ("Chưa báo cáo", "Lưu giữ"): 0,
    }
    await compose(staff)
    for choice, number in expected.items():
        if isinstance(choice, tuple):
            await staff.press(choice[0])
            await staff.press(choice[1])
        else:
            await staff.press(choice)
        text = staff.last_text()
        if number:
            assert count_in(text) == number, (choice, text)
        else:
            assert "Không có ai phù hợp" in text
        await staff.press("Đổi người nhận")


async def test_a_broadcast_is_sent_with_progress_edited_in_place(
    world: World, library: Library
) -> None:
    moc = library.enterprises["moc"]
    people(world, moc, Role.EMPLOYER, 2, first_id=10)
    people(world, moc, Role.WORKER, 2, first_id=20)
    world.sandbox.users[11].block()  # Telegram will refuse this one
    world.sandbox.take_updates()
    staff = await staff_of(world, library.north)
    await compose(staff)
    await staff.press("Tất cả doanh nghiệp của tôi")
    assert "Sẵn sàng gửi tới 4 người nhận" in staff.last_text()
    await staff.press("Gửi cho 4 người")
    progress = staff.account.messages()[-1]
    assert "Đang gửi tới 4 người nhận" in progress.plain
    assert "░░░░░░░░░░ 0%" in progress.plain

    with world.database.session() as session:
        rows = session.exec(select(Outbox).order_by(Outbox.id)).all()  # type: ignore[arg-type]
        broadcast = session.exec(select(Broadcast)).one()
    assert [r.key for r in rows] == [
        f"broadcast:{broadcast.id}:{c}" for c in sorted(r.contact_id for r in rows)
    ]
    assert broadcast.status == "sending" and broadcast.recipients == 4

    await world.drain()
    assert await refresh_progress(world.application.bot, world.database, now=world.clock()) == 1
    final = world.sandbox.users[900].messages()[-1]
    assert final.message_id == progress.message_id  # the same message, edited
    assert "Đã gửi xong" in final.plain and "Đã gửi tới: 3" in final.plain
    assert "Bỏ qua (từ chối nhận tin hoặc không liên lạc được): 1" in final.plain
    for user_id in (10, 20, 21):
        assert received(world, user_id) == ["Mời Anh/Chị dự hội thảo thành tựu ngày 20/3."]
    with world.database.session() as session:
        assert session.exec(select(Broadcast)).one().status == "done"
    # Nothing changes any more: no further edits.
    assert await refresh_progress(world.application.bot, world.database, now=world.clock()) == 0


async def test_progress_shows_the_bar_while_sending(world: World, library: Library) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 10, first_id=100)
    staff = await staff_of(world, library.north)
    await compose(staff)
    await staff.press("Tất cả doanh nghiệp của tôi")
    await staff.press("Gửi cho 10 người")
    progress = staff.account.messages()[-1]
    await send_due(world.application.bot, world.database, now=world.clock(), limit=4)
    await refresh_progress(world.application.bot, world.database, now=world.clock())
    shown = world.sandbox.users[900].messages()[-1]
    assert shown.message_id == progress.message_id
    assert "▓▓▓▓░░░░░░ 40%" in shown.plain and "Đang chờ: 6" in shown.plain


async def test_a_good_practice_goes_out_as_a_card_in_each_recipients_language(
    world: World, library: Library
) -> None:
    moc = library.enterprises["moc"]
    people(world, moc, Role.EMPLOYER, 1, first_id=10, language="vi")
    people(world, moc, Role.WORKER, 1, first_id=20, language="en")
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    await staff.press("Chia sẻ điển hình tốt")
    await staff.press("Lưu giữ")
    await staff.press("Tất cả doanh nghiệp của tôi")
    await staff.press("Gửi cho 2 người")
    await world.drain()
    vi, en = world.sandbox.users[10].messages()[-1], world.sandbox.users[20].messages()[-1]
    assert vi.method == en.method == "sendPhoto"
    assert "Điển hình tốt: Lưu giữ" in (vi.caption or "")
    assert "Xưởng mộc Hòa Phát" in (vi.caption or "")
    assert "Good practice: Materials storage" in (en.caption or "")
    assert "1,500,000 VND" in (en.caption or "") and "1.500.000 đ" in (vi.caption or "")


async def test_a_good_practice_skips_people_who_declined_good_examples(
    world: World, library: Library
) -> None:
    """ "I agree, but no tips" also declines good examples from other enterprises: such a person
    is neither counted in the preview nor sent the card, while a plain text still reaches them."""
    moc = library.enterprises["moc"]
    people(world, moc, Role.EMPLOYER, 1, first_id=10)
    people(world, moc, Role.WORKER, 2, first_id=20, tips=False)
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    await staff.press("Chia sẻ điển hình tốt")
    await staff.press("Lưu giữ")
    await staff.press("Tất cả doanh nghiệp của tôi")
    assert count_in(staff.last_text()) == 1
    await staff.press("Gửi cho 1 người")
    await world.drain()
    assert any("Điển hình tốt" in text for text in received(world, 10))
    assert not any("Điển hình tốt" in text for text in received(world, 20) + received(world, 21))
    await compose(staff)
    await staff.press("Tất cả doanh nghiệp của tôi")
    assert count_in(staff.last_text()) == 3
    with world.database.session() as session:  # a tips consent withdrawn later counts too
        worker = session.exec(select(Contact).where(Contact.telegram_user_id == 10)).one()
        assert (
            broadcasts.audiences.count(
                session, audiences.Audience(provider_id=library.north, good_examples=True)
            )
            == 1
        )
        from models.privacy import withdraw

        withdraw(session, worker, ConsentPurpose.TIPS, now=world.clock())
        assert (
            broadcasts.audiences.count(
                session, audiences.Audience(provider_id=library.north, good_examples=True)
            )
            == 0
        )


async def test_a_photo_with_its_text_and_bad_input_on_the_way(
    world: World, library: Library, tmp_path: Path
) -> None:
    people(world, library.enterprises["moc"], Role.EMPLOYER, 1, first_id=10)
    staff = await staff_of(world, library.north)
    await staff.say("/broadcast")
    await staff.send("sticker")
    assert "vui lòng nhập nội dung, gửi ảnh" in staff.last_text()
    photo = workshop_photo(tmp_path / "p.jpg", after=True).read_bytes()
    await staff.send("photo", photo)
    assert "nhập chú thích cho ảnh" in staff.last_text()
    await staff.say("x" * 1200)
    assert "tối đa chỉ được 1.000 ký tự" in staff.last_text()
    await staff.say("Kệ mới ở xưởng mộc: gọn, an toàn hơn.")
    await staff.say("Gửi luôn")  # text where a button is expected
    assert "chọn bằng các nút phía trên" in staff.last_text()
    await staff.press("Chỉ chủ doanh nghiệp")
    await staff.send("voice")
    assert "bấm ✅ Gửi" in staff.last_text()
    await staff.press("Gửi cho 1 người")
    await world.drain()
    sent = world.sandbox.users[10].messages()[-1]
    assert sent.method == "sendPhoto" and sent.caption == "Kệ mới ở xưởng mộc: gọn, an toàn hơn."


async def test_send_twice_and_forged_buttons_queue_nobody_twice(
    world: World, library: Library
) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 3, first_id=20)
    staff = await staff_of(world, library.north)
    await compose(staff)
    await staff.press("Tất cả doanh nghiệp của tôi")
    preview = staff.account.messages()[-1]
    send = next(data for label, data in staff.account.buttons(preview) if "Gửi" in label)
    await staff.press("Gửi cho 3 người", preview)
    await staff.press_data(preview.message_id, send)  # the same button again
    assert staff.answers()[-1] == "Tin này đang được gửi đi rồi."
    with world.database.session() as session:
        assert len(session.exec(select(Outbox)).all()) == 3

    # Staff of another provider forges the button: refused, nothing queued.
    other = await staff_of(world, library.south, user_id=901)
    await other.say("/broadcast")
    await other.say("Tin giả mạo")
    ask = other.account.messages()[-1]
    await other.press_data(ask.message_id, send)
    assert other.answers()[-1] == "Nút này không còn hiệu lực."
    with world.database.session() as session:
        assert len(session.exec(select(Outbox)).all()) == 3


async def test_only_staff_and_coordinators_broadcast(world: World, library: Library) -> None:
    await join(
        world, 701, make_invite(world, Role.EMPLOYER, enterprise_id=library.enterprises["moc"])
    )
    employer = world.user(701)
    reply = await employer.say("/broadcast")
    assert reply is not None and "chỉ dành cho cán bộ" in reply.plain


async def test_coordinators_reach_every_provider(world: World, library: Library) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 2, first_id=20)
    people(world, library.enterprises["co_khi"], Role.WORKER, 3, first_id=50)
    await join(world, 950, make_invite(world, Role.COORDINATOR))
    boss = world.user(950)
    await compose(boss)
    await boss.press("Doanh nghiệp của mọi đơn vị")
    assert count_in(boss.last_text()) == 5 and "mọi đơn vị" in boss.last_text()


async def test_a_crash_in_the_middle_loses_nobody_and_repeats_nobody(
    world: World, library: Library
) -> None:
    recipients = people(world, library.enterprises["moc"], Role.WORKER, 12, first_id=300)
    staff = await staff_of(world, library.north)
    await compose(staff, "Nhắc: mang khẩu trang khi chà nhám.")
    await staff.press("Tất cả doanh nghiệp của tôi")
    preview = staff.account.messages()[-1]
    send = next(data for label, data in staff.account.buttons(preview) if "Gửi" in label)
    await staff.press("Gửi cho 12 người")

    # Five go out; the sender then dies with a sixth claimed and accepted by nobody yet.
    await send_due(world.application.bot, world.database, now=world.clock(), limit=5)
    with world.database.session() as session:
        row = session.exec(
            select(Outbox).where(Outbox.status == OutboxStatus.PENDING).order_by(Outbox.id)  # type: ignore[arg-type]
        ).first()
        assert row is not None
        row.status = OutboxStatus.SENDING
        row.sent_at = world.clock()
        session.add(row)
    await world.restart()

    # After the restart the old Send button is pressed again: nobody is queued twice.
    await staff.press_data(preview.message_id, send)
    with world.database.session() as session:
        assert len(session.exec(select(Outbox)).all()) == 12
    world.clock.advance(minutes=3)  # the dead sender's claim expires
    for _ in range(3):
        await world.drain()
        world.clock.advance(seconds=5)
    await refresh_progress(world.application.bot, world.database, now=world.clock())

    texts = Counter(user_id for user_id in recipients for _ in received(world, user_id))
    assert texts == Counter(recipients)  # everyone exactly once
    assert "Đã gửi tới: 12" in world.sandbox.users[900].messages()[-1].plain


def test_confirm_is_one_transaction_and_idempotent(world: World, library: Library) -> None:
    people(world, library.enterprises["moc"], Role.WORKER, 3, first_id=20)
    with world.database.session() as session:
        staff = Contact(
            telegram_user_id=990, chat_id=990, role=Role.STAFF, provider_id=library.north
        )
        session.add(staff)
        session.flush()
        draft = broadcasts.create(session, author=staff, text="Xin chào")
        # Staff cannot widen their audience to every provider, whatever they ask for.
        number = broadcasts.set_audience(
            session,
            broadcast_id=draft.id,
            author=staff,
            audience=audiences.Audience(),  # type: ignore[arg-type]
        )
        assert number == 3
        render = lambda language: Message("Xin chào")  # noqa: E731
        assert broadcasts.confirm(session, broadcast_id=draft.id, author=staff, render=render) == 3  # type: ignore[arg-type]
        assert broadcasts.confirm(session, broadcast_id=draft.id, author=staff, render=render) == 3  # type: ignore[arg-type]
        assert broadcasts.progress(session, draft.id).pending == 3  # type: ignore[arg-type]
        with pytest.raises(ProgrammeError):
            broadcasts.create(session, author=staff, text="x" * 4001)
