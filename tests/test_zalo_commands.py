"""The plain commands on Zalo, end to end through the Zalo driver and the in-process Zalo
sandbox, on the same domain functions as Telegram's handlers: STOP (even mid-journey) and
/start again, /mydata as a signed link, /deleteme and /privacy and /language as numbered
choices, /myreports, /help, and the direct line to the provider."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx
from sqlmodel import col, select

from bot.web import create_app
from models.tables import (
    AuditLog,
    Consent,
    ConsentPurpose,
    Contact,
    InboxMessage,
    JourneyState,
    ReviewStatus,
    Role,
)
from tests import test_zalo_driver
from tests.conftest import World
from tests.factories import (
    ASK_AREA,
    ASK_KIND,
    add_improvement,
    join,
    make_enterprise,
    make_invite,
    make_provider,
)
from tests.test_zalo_driver import (
    PUBLIC_URL,
    Zalo,
    jpeg,
    number_of,
    register,
    text_of,
    zalo_contact,
)

# The Zalo side of the world (its sandbox and the running channel), as the driver's tests have it.
zalo = test_zalo_driver.zalo

STOPPED = "Đã dừng: chúng tôi sẽ không gửi thêm mẹo hay"
OFFER = "Anh/Chị có muốn gửi nội dung này đến đơn vị cung cấp dịch vụ ATVSLĐ không?"


def journey_of(world: World, user_id: str) -> str | None:
    with world.database.session() as session:
        state = session.get(JourneyState, f"zl:{user_id}")
        return state.journey if state is not None else None


def audited(world: World, action: str) -> int:
    with world.database.session() as session:
        return len(session.exec(select(AuditLog).where(AuditLog.action == action)).all())


async def test_a_stop_word_in_the_middle_of_a_journey_stops_messages_and_start_resumes(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    employer = zalo.sandbox.user("st0p1", "Chị Mai")
    await register(zalo, employer, enterprise)
    area = await zalo.say(employer, "/report")
    assert ASK_AREA in text_of(area)
    # "Dừng" alone, mid-journey: no answer to the question, but the opt-out, recorded.
    stopped = await zalo.say(employer, "Dừng!")
    assert STOPPED in text_of(stopped)
    contact = zalo_contact(world, employer.id)
    assert contact is not None and contact.opted_out_at == world.clock()
    assert audited(world, "contact.stop") == 1
    # The report waits where it was: its numbers still answer it.
    assert journey_of(world, employer.id) == "report"
    assert ASK_KIND in text_of(await zalo.say(employer, "1"))
    # /stop again changes nothing more; HỦY as well (even where an option could say it).
    assert STOPPED in text_of(await zalo.say(employer, "/stop"))
    assert STOPPED in text_of(await zalo.say(employer, "HỦY"))
    assert audited(world, "contact.stop") == 1
    welcome = await zalo.say(employer, "/start")
    assert "Chào mừng Anh/Chị trở lại!" in text_of(welcome)
    contact = zalo_contact(world, employer.id)
    assert contact is not None and contact.opted_out_at is None
    assert audited(world, "contact.resume") == 1


async def test_a_stranger_s_stop_keeps_nothing(world: World, zalo: Zalo) -> None:
    stranger = zalo.sandbox.user("str4nger", "Ai đó")
    answered = await zalo.say(stranger, "STOP")
    assert "Chúng tôi không lưu gì về Anh/Chị" in text_of(answered)
    with world.database.session() as session:
        assert session.exec(select(JourneyState)).all() == []


async def test_mydata_is_a_summary_and_a_signed_link_to_the_whole_export(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    employer = zalo.sandbox.user("myd4ta", "Chị Lan")
    await register(zalo, employer, enterprise)
    shown = text_of(await zalo.say(employer, "/mydata"))
    assert "Thông tin chúng tôi lưu về Anh/Chị" in shown and "Tên: Chị Lan" in shown
    assert "liên kết bên dưới" in shown and "<b>" not in shown
    link = next(w for w in shown.split() if w.startswith(f"{PUBLIC_URL}/files/"))
    web = httpx.ASGITransport(app=create_app(world.application))
    async with httpx.AsyncClient(transport=web, base_url="http://osh") as http:
        fetched = await http.get(urlsplit(link).path)
        assert fetched.status_code == 200
        data = json.loads(fetched.content)
        assert data["contact"]["name"] == "Chị Lan"
        assert (await http.get(urlsplit(link).path + "x")).status_code == 404
    assert audited(world, "contact.export") == 1


async def test_deleteme_asks_with_numbers_and_erases_on_yes(world: World, zalo: Zalo) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    worker = zalo.sandbox.user("del3te", "Anh Bình")
    await register(zalo, worker, enterprise)
    asked = await zalo.say(worker, "/deleteme")
    assert "tài khoản Zalo của Anh/Chị sẽ bị xóa" in text_of(asked)
    assert "Trả lời 1 hoặc 2." in text_of(asked)
    kept = await zalo.say(worker, number_of(asked, "Không, giữ nguyên"))
    assert "Không có gì bị xóa." in text_of(kept)
    assert zalo_contact(world, worker.id) is not None
    # Asked in the middle of a report: the report waits, and goes with the rest.
    assert ASK_AREA in text_of(await zalo.say(worker, "/report"))
    asked = await zalo.say(worker, "/deleteme")
    erased = await zalo.say(worker, number_of(asked, "🗑 Có, xóa dữ liệu của tôi"))
    assert "dữ liệu cá nhân của Anh/Chị đã được xóa" in text_of(erased)
    assert "nhập mã của một lời mời mới" in text_of(erased)
    assert zalo_contact(world, worker.id) is None
    with world.database.session() as session:
        gone = session.exec(select(Contact).where(col(Contact.erased_at).is_not(None))).one()
        assert gone.display_name is None and gone.zalo_user_id is None
        assert session.get(JourneyState, f"zl:{worker.id}") is None
    # Nothing of theirs is held now.
    assert "Chúng tôi không lưu gì" in text_of(await zalo.say(worker, "/mydata"))


async def test_privacy_turns_choices_on_and_off_by_number(world: World, zalo: Zalo) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    employer = zalo.sandbox.user("pr1vacy", "Chị Mai")
    await register(zalo, employer, enterprise)
    card = await zalo.say(employer, "/privacy")
    assert "• mẹo hay hằng tháng và điển hình tốt: có" in text_of(card)
    turned = await zalo.say(employer, number_of(card, "Tắt: mẹo hay hằng tháng và điển hình tốt"))
    assert "• mẹo hay hằng tháng và điển hình tốt: không" in text_of(turned)
    with world.database.session() as session:
        tips = session.exec(
            select(Consent).where(
                Consent.purpose == ConsentPurpose.TIPS, col(Consent.withdrawn_at).is_(None)
            )
        ).all()
        assert tips == []
    done = await zalo.say(employer, "xong")
    assert "Đã lưu." in text_of(done)
    assert journey_of(world, employer.id) is None


async def test_language_by_number_or_at_once(world: World, zalo: Zalo) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    worker = zalo.sandbox.user("l4ng", "Anh Bình")
    await register(zalo, worker, enterprise)
    asked = await zalo.say(worker, "/language")
    english = await zalo.say(worker, number_of(asked, "English"))
    assert "Done. I will write to you in English from now on." in text_of(english)
    contact = zalo_contact(world, worker.id)
    assert contact is not None and contact.language == "en"
    assert "Here is what you can do on Zalo:" in text_of(await zalo.say(worker, "/help"))
    back = await zalo.say(worker, "/language vi")
    assert "Từ nay tôi sẽ nhắn tin cho Anh/Chị bằng tiếng Việt." in text_of(back)
    contact = zalo_contact(world, worker.id)
    assert contact is not None and contact.language == "vi"


async def test_myreports_lists_the_enterprise_s_reports_and_their_review(
    world: World, zalo: Zalo
) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    employer = zalo.sandbox.user("myr3p", "Chị Mai")
    await register(zalo, employer, enterprise)
    assert "Chưa có báo cáo nào" in text_of(await zalo.say(employer, "/myreports"))
    add_improvement(world.database, enterprise, status=ReviewStatus.VERIFIED)
    listed = text_of(await zalo.say(employer, "/myreports"))
    assert "Báo cáo cải thiện của Xưởng mộc Hòa Phát" in listed
    assert "Kệ ba tầng cho nguyên liệu" in listed and "<b>" not in listed
    # Its review state, and who sent it without a name (the reporter is not this person).
    assert "— ✅ đã xác nhận" in listed
    assert "(do một người trong doanh nghiệp gửi)" in listed


async def test_help_lists_what_works_on_zalo(world: World, zalo: Zalo) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    employer = zalo.sandbox.user("h3lp", "Chị Mai")
    await register(zalo, employer, enterprise)
    shown = text_of(await zalo.say(employer, "/help"))
    for command in ("/report", "/myreports", "/feedback", "/mydata", "/privacy", "/stop",
                    "/deleteme", "/language", "/help", "/cancel", "/goodpractices",
                    "/plan"):  # fmt: skip
        assert f"\n{command} — " in shown, command
    assert "có thể chuyển đến đơn vị hỗ trợ" in shown


async def test_words_and_photos_go_to_the_provider_once_on_yes(world: World, zalo: Zalo) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    await join(world, 501, make_invite(world, Role.STAFF, provider_id=provider))
    staff = world.user(501)
    employer = zalo.sandbox.user("d1rect", "Chị Mai")
    await register(zalo, employer, enterprise)
    await world.drain()

    asked = await zalo.say(employer, "Bình chữa cháy hết hạn, đổi ở đâu?")
    assert OFFER in text_of(asked) and "Trả lời 1 hoặc 2." in text_of(asked)
    with world.database.session() as session:
        assert session.exec(select(InboxMessage)).all() == []
    sent = await zalo.say(employer, number_of(asked, "✅ Có, gửi đi"))
    assert "📨 Đã gửi đến Trung tâm ATVSLĐ Đà Nẵng." in text_of(sent)
    await world.drain()
    assert any("Bình chữa cháy hết hạn" in text for text in staff.texts())

    # No: nothing is sent; a second message while the question waits is the one offered.
    asked = await zalo.say(employer, "Xin chào")
    await zalo.say(employer, "Thôi, không có gì")
    dropped = await zalo.say(employer, "2")
    assert "Chưa gửi." in text_of(dropped)
    # A journey opened while the question waits: nothing is sent, and the person is told so.
    await zalo.say(employer, "Cho tôi hỏi")
    area = await zalo.say(employer, "/report")
    assert "Tôi chưa gửi gì cả." in text_of(area)
    assert ASK_AREA in text_of(area)
    await zalo.say(employer, "/cancel")

    # A photo: fetched only on Yes, stored and sent.
    employer.send_image(data=jpeg(3), caption="Lối thoát hiểm")
    await zalo.deliver()
    assert OFFER in employer.messages()[-1].plain
    await zalo.say(employer, "co, gui di")
    with world.database.session() as session:
        stored = session.exec(select(InboxMessage).order_by(col(InboxMessage.id))).all()
    assert [m.text for m in stored] == ["Bình chữa cháy hết hạn, đổi ở đâu?", "Lối thoát hiểm"]
    assert all(m.origin and m.origin.startswith("zl:") for m in stored)
    assert stored[1].file_path and (world.settings.media_dir / stored[1].file_path).exists()
    assert journey_of(world, employer.id) is None
