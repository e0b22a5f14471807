"""Provider staff review reports: Verify, Good practice, questions relayed both ways."""

from __future__ import annotations

from sqlmodel import col, select

from bot.playback import Person
from models.tables import ImprovementMessage, Outbox, ReviewStatus, Role
from tests.conftest import World
from tests.factories import (
    ASK_SHARE,
    STALE,
    Cast,
    answer_until,
    cast,
    join,
    make_enterprise,
    make_invite,
    make_provider,
    report,
    tap,
)


async def sent_report(world: World, *, share: str = "Có, không nêu tên") -> Cast:
    c = await cast(world)
    await answer_until(c.employer, ASK_SHARE)
    await tap(c.employer, share)
    await tap(c.employer, "✅ Xác nhận và gửi")
    await world.drain()
    return c


def notice_of(person: Person) -> int:
    """The message id of the newest report card the staff member received."""
    for message in reversed(person.account.messages()):
        if "Báo cáo cải thiện mới" in message.plain or "New improvement report" in message.plain:
            return message.message_id
    raise LookupError(person.last_text())


async def test_staff_verify_and_the_reporter_is_thanked(world: World) -> None:
    c = await sent_report(world)
    await join(world, 502, make_invite(world, Role.STAFF, provider_id=1), "English")
    colleague = world.user(502)
    await world.drain()  # nothing for the newcomer: the report was announced before they joined
    assert not any("New improvement report" in t for t in colleague.texts())

    card = notice_of(c.staff)
    await tap(c.staff, "✅ Xác nhận")
    assert c.staff.answers()[-1] == "Đã xác nhận. Xin cảm ơn!"
    edited = next(m for m in c.staff.account.messages() if m.message_id == card)
    assert "✅ Đã xác nhận bởi An, 09:00 01/03/2027" in edited.plain
    assert [label for label, _ in c.staff.account.buttons(edited)] == [
        "⭐ Điển hình tốt",
        "❓ Đặt câu hỏi",
    ]
    stored = report(world)
    assert stored.status == ReviewStatus.VERIFIED and stored.reviewed_at == world.clock()
    await world.drain()
    assert c.employer.last_text().startswith(f"✅ Báo cáo #{stored.id} (📦 Lưu giữ, vận chuyển)")
    # The same button again, or pressed by a coordinator on another copy: already done.
    await c.staff.press_data(card, f"rev:ok:{stored.id}")
    assert c.staff.answers()[-1] == "Báo cáo này đã được xác nhận rồi."
    # The verified report can still become a good practice, once.
    await tap(c.staff, "⭐ Điển hình tốt")
    assert (
        c.staff.answers()[-1]
        == "Đã chọn làm điển hình tốt. Cải thiện này giờ có thể đưa vào thư viện."
    )
    await c.staff.press_data(card, f"rev:gp:{stored.id}")
    assert c.staff.answers()[-1] == "Báo cáo này đã được chọn làm điển hình tốt rồi."
    await world.drain()
    assert "được đơn vị hỗ trợ ATVSLĐ chọn làm điển hình tốt" in c.employer.last_text()
    # Once reviewed, the reporter can no longer change or withdraw it.
    await c.employer.say("/myreports")
    assert "⭐ điển hình tốt" in c.employer.last_text()
    assert c.employer.account.buttons() == []
    await c.employer.press_data(
        c.employer.account.messages()[-1].message_id, f"myr:edit:{stored.id}"
    )
    assert c.employer.answers()[-1] == "Báo cáo này đã được xem xét nên không thể sửa nữa."


async def test_good_practice_without_consent_warns_the_staff(world: World) -> None:
    c = await sent_report(world, share="Không")
    await tap(c.staff, "⭐ Điển hình tốt")
    assert "Doanh nghiệp không đồng ý chia sẻ" in (c.staff.answers()[-1] or "")
    assert report(world).status == ReviewStatus.GOOD_PRACTICE


async def test_only_the_providers_staff_and_coordinators_review(world: World) -> None:
    c = await sent_report(world)
    stored = report(world)
    other = make_provider(world, "Trung tâm Huế")
    await join(world, 601, make_invite(world, Role.STAFF, provider_id=other))
    outsider = world.user(601)
    anchor = outsider.account.messages()[-1].message_id
    for data in (f"rev:ok:{stored.id}", f"rev:gp:{stored.id}", f"rev:ask:{stored.id}"):
        await outsider.press_data(anchor, data)
        assert outsider.answers()[-1] == (
            "Xin lỗi, chỉ cán bộ của đơn vị hỗ trợ doanh nghiệp này mới xem xét được báo cáo."
        )
    await c.employer.press_data(c.employer.account.messages()[-1].message_id, f"rev:ok:{stored.id}")
    assert "chỉ cán bộ" in (c.employer.answers()[-1] or "")
    for forged in ("rev:ok:abc", "rev:gp:99999", "rev:ok:"):
        await outsider.press_data(anchor, forged)
        assert outsider.answers()[-1] in (STALE, "Nút này không còn hiệu lực.")
    assert report(world).status == ReviewStatus.SUBMITTED
    await join(world, 701, make_invite(world, Role.COORDINATOR))
    boss = world.user(701)
    await boss.press_data(boss.account.messages()[-1].message_id, f"rev:ok:{stored.id}")
    assert report(world).status == ReviewStatus.VERIFIED


async def test_a_question_is_relayed_and_the_answer_comes_back(world: World) -> None:
    c = await sent_report(world)
    stored = report(world)
    await tap(c.staff, "❓ Đặt câu hỏi")
    assert "Anh/Chị vui lòng nhập câu hỏi về báo cáo" in c.staff.last_text()
    await c.staff.send("sticker")
    assert c.staff.last_text() == "Anh/Chị vui lòng nhập câu hỏi bằng chữ."
    await c.staff.say("x" * 1200)
    assert "1200 ký tự" in c.staff.last_text() or "1.200" in c.staff.last_text()
    await c.staff.say("Kệ làm bằng sắt hay gỗ ạ?")
    assert (
        c.staff.last_text()
        == "Đã gửi đến Xưởng mộc Hòa Phát. Câu trả lời sẽ được chuyển đến Anh/Chị tại đây."
    )
    await world.drain()
    question = c.employer.account.messages()[-1]
    assert question.plain.startswith(
        "❓ Trung tâm ATVSLĐ Đà Nẵng có câu hỏi về báo cáo #1 (📦 Lưu giữ, vận chuyển)"
    )
    assert "Kệ làm bằng sắt hay gỗ ạ?" in question.plain
    await tap(c.employer, "↩️ Trả lời")
    await c.employer.send("voice")
    assert c.employer.last_text() == "Anh/Chị vui lòng nhập câu trả lời bằng chữ."
    await c.employer.say("Bằng sắt V lỗ, <b>rẻ</b> và chắc.")
    assert c.employer.last_text().startswith("Cảm ơn Anh/Chị! Tôi đã chuyển câu trả lời")
    await world.drain()
    relayed = c.staff.account.messages()[-1]
    assert relayed.plain.startswith("💬 Xưởng mộc Hòa Phát đã trả lời về báo cáo #1")
    assert "Bằng sắt V lỗ, <b>rẻ</b> và chắc." in relayed.plain  # escaped, shown as typed
    assert "Câu hỏi của Anh/Chị: Kệ làm bằng sắt hay gỗ ạ?" in relayed.plain
    assert next(label for label, _ in c.staff.account.buttons(relayed)) == "✅ Xác nhận"
    await tap(c.staff, "✅ Xác nhận")  # reviewing from the relayed answer works too
    assert report(world).status == ReviewStatus.VERIFIED
    with world.database.session() as session:
        thread = session.exec(select(ImprovementMessage).order_by(col(ImprovementMessage.id))).all()
    assert [(m.kind, m.improvement_id) for m in thread] == [
        ("question", stored.id),
        ("answer", stored.id),
    ]
    # Another person pressing the reporter's Reply button (forged) is refused.
    await join(world, 202, make_invite(world, Role.WORKER, enterprise_id=c.enterprise))
    worker = world.user(202)
    await worker.press_data(worker.account.messages()[-1].message_id, f"rev:re:{thread[0].id}")
    assert worker.answers()[-1] == STALE
    await worker.say("Tôi trả lời thay")
    with world.database.session() as session:
        assert len(session.exec(select(ImprovementMessage)).all()) == 2


async def test_a_command_while_asking_sends_nothing(world: World) -> None:
    c = await sent_report(world)
    await tap(c.staff, "❓ Đặt câu hỏi")
    await c.staff.say("/newenterprise")
    assert c.staff.last_text().startswith("Tôi chưa gửi gì cả.")
    await c.staff.say("/newenterprise")
    assert "Tên doanh nghiệp là gì?" in c.staff.last_text()
    await c.staff.say("Xưởng in Minh Khai")  # an enterprise name, not a question
    with world.database.session() as session:
        assert session.exec(select(ImprovementMessage)).all() == []
    await c.staff.say("/cancel")
    await tap(c.staff, "❓ Đặt câu hỏi")
    await c.staff.say("/cancel")
    assert "Đã hủy" in c.staff.last_text()


async def test_a_withdrawn_report_cannot_be_reviewed_or_answered(world: World) -> None:
    c = await sent_report(world)
    stored = report(world)
    await tap(c.staff, "❓ Đặt câu hỏi")
    await c.staff.say("Có ảnh sau không ạ?")
    await world.drain()
    await c.employer.say("/myreports")
    await tap(c.employer, f"↩️ Rút lại #{stored.id}")
    await tap(c.employer, "Có, rút lại báo cáo")
    await tap(c.employer, "↩️ Trả lời")
    assert c.employer.answers()[-1] == "Anh/Chị đã rút lại báo cáo này nên không cần trả lời."
    card = notice_of(c.staff)
    for data in (f"rev:ok:{stored.id}", f"rev:gp:{stored.id}", f"rev:ask:{stored.id}"):
        await c.staff.press_data(card, data)
        assert c.staff.answers()[-1] == "Doanh nghiệp đã rút lại báo cáo này."
    assert report(world).status == ReviewStatus.WITHDRAWN


async def test_coordinators_hear_of_reports_when_the_provider_has_no_staff(world: World) -> None:
    await join(world, 701, make_invite(world, Role.COORDINATOR), "English")
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    await join(world, 101, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    employer = world.user(101)
    await answer_until(employer)
    await tap(employer, "✅ Xác nhận và gửi")
    await world.drain()
    boss = world.user(701)
    assert boss.last_text().startswith("📝 New improvement report #1")
    with world.database.session() as session:
        keys = session.exec(select(Outbox.key)).all()
    assert keys == ["report-submitted:1:1"]
