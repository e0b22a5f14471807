"""Joining without an invite, end to end: someone scans the newsletter's QR code
(`/start join`), answers the short request, the staff of the provider of that province (or the
coordinators, where none works) accept it, which creates the enterprise and registers the
requester as its employer, or decline it with a reason; and everything that can go wrong on
the way."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from models import enrolment, privacy
from models.db import Database
from models.programme import add_provider
from models.tables import (
    AuditLog,
    Consent,
    Contact,
    EnrolmentRequest,
    EnrolmentStatus,
    Enterprise,
    JourneyState,
    Role,
)
from tests.conftest import World
from tests.factories import add_person, contact, make_provider, oshbot

NAME = "Cơ sở may Thu Hà"


def requests(world: World) -> list[EnrolmentRequest]:
    with world.database.session() as session:
        return list(session.exec(select(EnrolmentRequest).order_by(EnrolmentRequest.id)))


def audit_actions(world: World) -> list[str]:
    with world.database.session() as session:
        return [a.action for a in session.exec(select(AuditLog)) if a.action.startswith("enr")]


async def ask_to_join(world: World, user_id: int, *, language: str = "Tiếng Việt",
                      province: str = "Đà Nẵng", name: str = NAME) -> None:  # fmt: skip
    person = world.user(user_id, "Chị Hà")
    await person.say("/start join")
    await person.press(language)
    await person.press("✅")
    await person.say(name)
    await person.say(province)
    await person.press("Dệt may" if language == "Tiếng Việt" else "Garment")
    await person.say("18")
    await person.say("0912 345 678")
    await person.press("✅")


async def test_a_request_from_the_newsletter_is_accepted_by_the_provider_of_its_province(
    world: World,
) -> None:
    provider = make_provider(world)  # Đà Nẵng
    with world.database.session() as session:
        elsewhere = add_provider(session, name="Trung tâm Huế", province_code="hue").id
    add_person(world, 201, Role.STAFF, provider_id=provider, name="Dũng")
    add_person(world, 202, Role.STAFF, provider_id=elsewhere, name="Huế")
    add_person(world, 901, Role.COORDINATOR, name="Điều phối")
    person = world.user(101, "Chị Hà")

    hello = await person.say("/start join")
    assert hello is not None and "ngôn ngữ" in hello.plain
    await person.press("Tiếng Việt")
    assert "xin tham gia chương trình" in person.last_text()
    assert "Trước khi bắt đầu" in person.last_text()
    await person.press("✅ Tôi đồng ý")
    assert "tên doanh nghiệp" in person.last_text()
    await person.say("X")  # too short
    assert "quá ngắn" in person.last_text()
    await person.say("Y" * 201)  # too long
    assert "quá dài" in person.last_text()
    await world.restart()  # the draft is kept in the database: nothing is lost
    await person.say(NAME)
    assert "tỉnh/thành phố nào" in person.last_text()
    await person.say("Sao Hỏa")
    assert "không tìm thấy tỉnh" in person.last_text()
    await person.say("da nang")  # typed without diacritics
    assert "ngành nào" in person.last_text()
    await person.say("may mặc")  # typed where buttons are expected
    await person.press("Dệt may")
    assert "bao nhiêu người lao động" in person.last_text()
    for impossible, said in (("0", "ít nhất 1"), ("-5", "số nguyên"), ("12,5", "số nguyên"),
                             ("250000", "5.000")):  # fmt: skip
        await person.say(impossible)
        assert said in person.last_text(), impossible
    await person.say("18")
    assert "số điện thoại" in person.last_text()
    for wrong in ("123", "gọi tôi nhé", "+1 202 555 0100"):
        await person.say(wrong)
        assert "số điện thoại Việt Nam" in person.last_text(), wrong
    await person.say("+84 912.345.678")
    card = person.account.last()
    assert "Vui lòng kiểm tra yêu cầu" in card.plain and "0912345678" in card.plain
    await person.say("gửi đi")  # typed at the card
    assert "Gửi yêu cầu" in person.last_text()
    await person.press("Gửi yêu cầu", card)
    assert "đã được gửi đến các đơn vị" in person.last_text()
    await person.press_data(card.message_id, "enj:send")  # pressed twice: nothing more
    [request] = requests(world)
    assert (request.enterprise_name, request.province_code, request.sector_code) == (
        NAME, "da-nang", "garment",
    )  # fmt: skip
    assert (request.workers, request.phone, request.language, request.tips) == (
        18, "0912345678", "vi", True,
    )  # fmt: skip
    assert request.status == EnrolmentStatus.PENDING and contact(world, 101) is None
    # Nothing of the draft stays: the request is the record.
    with world.database.session() as session:
        assert session.get(JourneyState, "tg:101") is None

    # A second request while the first waits is refused.
    await person.say("/start join")
    assert "Yêu cầu tham gia của Anh/Chị đang chờ" in person.last_text()
    assert len(requests(world)) == 1

    # Only the staff of the province's provider are asked.
    await world.drain()
    staff, other, coordinator = world.user(201), world.user(202), world.user(901)
    notice = staff.account.last()
    assert "Yêu cầu tham gia chương trình" in notice.plain and NAME in notice.plain
    assert "0912345678" in notice.plain
    assert [label for label, _ in staff.account.buttons(notice)] == [
        "✅ Nhận cho Trung tâm ATVSLĐ Đà Nẵng", "✖ Từ chối",
    ]  # fmt: skip
    assert other.account.messages() == [] and coordinator.account.messages() == []
    # Another province's staff cannot take it with a forged button.
    shown = await other.say("/help")
    assert shown is not None
    await other.press_data(shown.message_id, f"enr:ok:{request.id}:{elsewhere}")
    assert "không dành cho" in (other.answers()[-1] or "")
    await other.press_data(shown.message_id, f"enr:no:{request.id}")
    assert "không dành cho" in (other.answers()[-1] or "")

    await staff.press("Nhận cho", notice)
    assert "Đã nhận cho Trung tâm ATVSLĐ Đà Nẵng" in staff.account.last().plain
    await staff.press_data(notice.message_id, f"enr:ok:{request.id}:{provider}")  # again
    assert "đã được quyết định" in (staff.answers()[-1] or "")
    await staff.press_data(notice.message_id, f"enr:no:{request.id}")
    assert "đã được quyết định" in (staff.answers()[-1] or "")

    joined = contact(world, 101)
    assert joined is not None and joined.role == Role.EMPLOYER and joined.language == "vi"
    assert joined.display_name == "Chị Hà"
    with world.database.session() as session:
        enterprise = session.get(Enterprise, joined.enterprise_id)
        assert enterprise is not None
        assert (enterprise.name, enterprise.provider_id, enterprise.workers) == (
            NAME, provider, 18,
        )  # fmt: skip
        assert enterprise.intervention_date == world.clock().date()
        consents = session.exec(select(Consent).where(Consent.contact_id == joined.id)).all()
        assert sorted(c.purpose for c in consents) == ["followup", "tips"]
        stored = session.get(EnrolmentRequest, request.id)
        assert stored is not None and stored.status == EnrolmentStatus.ACCEPTED
        assert (stored.enterprise_id, stored.contact_id) == (enterprise.id, joined.id)
    await world.drain()
    assert "Tin vui: Trung tâm ATVSLĐ Đà Nẵng đã chào đón Cơ sở may Thu Hà" in person.last_text()
    assert {"enrolment.request", "enrolment.accept"} <= set(audit_actions(world))
    # The new employer is registered: the menu is theirs, and /start join says so.
    await person.say("/start join")
    assert "đã đăng ký" in person.last_text()
    # Erasing them takes their request, with its phone number, too.
    with world.database.session() as session:
        erased = session.get(Contact, joined.id)
        assert erased is not None
        privacy.erase(session, erased, now=world.clock())
        session.commit()
    assert requests(world) == []


async def test_a_request_declined_with_a_reason_is_told_in_the_requesters_language(
    world: World,
) -> None:
    provider = make_provider(world)
    add_person(world, 201, Role.STAFF, provider_id=provider, name="Dũng")
    await ask_to_join(world, 102, language="English")
    [request] = requests(world)
    assert request.language == "en"
    await world.drain()
    staff = world.user(201)
    await staff.press("Từ chối")
    assert "Vì sao" in staff.last_text()
    await staff.send("sticker")
    assert "lý do bằng chữ" in staff.last_text()
    await staff.say("no")
    assert "ít nhất 3 ký tự" in staff.last_text()
    await staff.say("z" * 501)
    assert "501 ký tự" in staff.last_text()
    await staff.say("Doanh nghiệp ở ngoài địa bàn chúng tôi hỗ trợ.")
    assert "Đã từ chối: Cơ sở may Thu Hà" in staff.last_text()
    with world.database.session() as session:
        stored = session.get(EnrolmentRequest, request.id)
        assert stored is not None and stored.status == EnrolmentStatus.DECLINED
        assert stored.phone is None  # a declined request keeps no phone number
        assert stored.decline_reason == "Doanh nghiệp ở ngoài địa bàn chúng tôi hỗ trợ."
        assert session.exec(select(Enterprise)).all() == []
    await world.drain()
    told = world.user(102).last_text()
    assert "could not be accepted this time" in told
    assert "Reason: Doanh nghiệp ở ngoài địa bàn chúng tôi hỗ trợ." in told
    assert contact(world, 102) is None
    assert "enrolment.decline" in audit_actions(world)
    # Declined, they may ask again later.
    await world.user(102).say("/start join")
    assert "Xin chào" in world.user(102).last_text()


async def test_where_no_provider_works_the_coordinators_decide_for_a_provider(
    world: World,
) -> None:
    provider = make_provider(world)  # Đà Nẵng only
    add_person(world, 201, Role.STAFF, provider_id=provider, name="Dũng")
    add_person(world, 901, Role.COORDINATOR, name="Điều phối")
    await ask_to_join(world, 103, province="Hà Nội")
    await world.drain()
    staff, coordinator = world.user(201), world.user(901)
    assert staff.account.messages() == []
    notice = coordinator.account.last()
    assert "Hà Nội" in notice.plain
    await coordinator.press("Nhận cho Trung tâm ATVSLĐ Đà Nẵng", notice)
    joined = contact(world, 103)
    assert joined is not None and joined.role == Role.EMPLOYER
    with world.database.session() as session:
        enterprise = session.get(Enterprise, joined.enterprise_id)
        assert enterprise is not None and enterprise.province_code == "ha-noi"
        assert enterprise.provider_id == provider


async def test_declining_the_consent_or_cancelling_keeps_nothing(world: World) -> None:
    make_provider(world)
    person = world.user(104, "Anh Tư")
    await person.say("/start join")
    await person.press("Tiếng Việt")
    await person.press("Không, cảm ơn")
    assert "chưa lưu thông tin" in person.last_text()
    await person.say("/start join")
    await person.press("Tiếng Việt")
    await person.press("✅ Tôi đồng ý")
    await person.say(NAME)
    await person.say("/cancel")
    assert "Không có gì được gửi" in person.last_text()
    await person.say(NAME)  # a stray text after cancelling is no request
    assert requests(world) == []
    with world.database.session() as session:
        assert session.get(JourneyState, "tg:104") is None
    assert enrolment.parse_phone("(0236) 3812 345") == "02363812345"
    assert enrolment.parse_phone("84912345678") == "0912345678"


def test_the_join_link_and_its_qr_code_come_from_the_command_line(
    database: Database, tmp_path: Path
) -> None:
    result = oshbot(database, tmp_path, "invite", "join", "--out", str(tmp_path / "join.png"))
    assert result.exit_code == 0, result.output
    assert "https://t.me/osh_followup_bot?start=join" in result.output
    assert (tmp_path / "join.png").read_bytes().startswith(b"\x89PNG")


async def test_the_weekly_digest_counts_requests_waiting_for_the_province_s_staff(
    world: World,
) -> None:
    from scheduler.jobs import weekly_digest_job
    from tests.factories import staff

    provider = make_provider(world)  # Đà Nẵng
    with world.database.session() as session:
        elsewhere = add_provider(session, name="Trung tâm ATVSLĐ Huế", province_code="hue").id
    assert elsewhere is not None
    mine = await staff(world, 501, provider)
    theirs = await staff(world, 502, elsewhere)
    await ask_to_join(world, 901)
    await ask_to_join(world, 902, name="Xưởng gỗ Phú An")
    with world.database.session() as session:
        assert enrolment.waiting_by_provider(session) == {provider: 2}
        world.clock.advance(days=7)
        weekly_digest_job(session, world.clock())
    await world.drain()
    assert "Yêu cầu tham gia từ tỉnh của Anh/Chị đang chờ trả lời: 2" in mine.last_text()
    assert not any("Yêu cầu tham gia" in text for text in theirs.texts())
