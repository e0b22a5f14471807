"""Registration through invite links, driven through the real Application and the sandbox."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.programme import add_provider, create_invite
from models.tables import AuditLog, BotState, Consent, Contact, Enterprise, Invite, Role
from tests.conftest import World
from tests.factories import contact, join, make_enterprise, make_invite, make_provider


async def test_employer_registers_in_vietnamese(world: World) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    code = make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)
    person = world.user(101, "Chị Lan")

    await person.say(f"/start {code}")
    consent = await person.press("Tiếng Việt")
    assert consent is not None and "Trước khi bắt đầu" in consent.plain
    assert "ẩn danh" in consent.plain
    welcome = await person.press("Tôi đồng ý")

    assert welcome is not None and "Chào mừng Xưởng mộc Hòa Phát" in welcome.plain
    buttons = [label for row in person.account.reply_keyboard() or [] for label in row]
    assert {"❓ Trợ giúp", "🌐 Ngôn ngữ"} <= set(buttons)
    stored = contact(world, 101)
    assert stored is not None
    assert (stored.role, stored.enterprise_id, stored.language) == (Role.EMPLOYER, enterprise, "vi")
    assert stored.display_name == "Chị Lan"
    with world.database.session() as session:
        consents = session.exec(select(Consent).where(Consent.contact_id == stored.id)).all()
        assert sorted(c.purpose for c in consents) == ["followup", "tips"]
        assert {c.language for c in consents} == {"vi"}
        assert session.exec(select(AuditLog).where(AuditLog.action == "contact.register")).one()
    commands = [c["command"] for c in world.sandbox.commands("chat:101")]
    assert {"help", "language", "cancel", "mydata", "stop", "deleteme"} <= set(commands)
    assert "newenterprise" not in commands


async def test_worker_registers_in_english_and_code_is_shared(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    code = make_invite(world, Role.WORKER, enterprise_id=enterprise)
    for user_id in (201, 202):
        person = world.user(user_id, language_code="en")
        await person.say(f"/start {code}")
        await person.press("English")
        assert "Before we start" in person.last_text()
        welcome = await person.press("I agree")
        assert welcome is not None and "anonymous" in welcome.plain
        buttons = [label for row in person.account.reply_keyboard() or [] for label in row]
        assert {"❓ Help", "🌐 Language"} <= set(buttons)
    with world.database.session() as session:
        assert session.exec(select(Invite).where(Invite.code == code)).one().uses == 2


async def test_coordinator_and_staff_codes_work_once(world: World) -> None:
    code = make_invite(world, Role.COORDINATOR)
    await join(world, 301, code)
    stored = contact(world, 301)
    assert stored is not None and stored.role == Role.COORDINATOR
    second = world.user(302)
    reply = await second.say(f"/start {code}")
    assert reply is not None and "không còn hiệu lực" in reply.plain
    assert contact(world, 302) is None


async def test_staff_registers_for_their_provider(world: World) -> None:
    provider = make_provider(world, "Công đoàn KCN Hòa Khánh")
    await join(world, 401, make_invite(world, Role.STAFF, provider_id=provider))
    stored = contact(world, 401)
    assert stored is not None and stored.provider_id == provider and stored.role == Role.STAFF
    person = world.users = world.user(401)
    assert "Công đoàn KCN Hòa Khánh" in person.texts()[-1]
    assert ["➕ Thêm doanh nghiệp", "🏭 Doanh nghiệp của tôi"] in person.account.reply_keyboard()


async def test_unknown_and_expired_codes_get_the_same_clear_answer(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    expired = make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)
    world.clock.advance(days=15)
    answers = []
    for user_id, code in ((501, "doesnotexist123"), (502, expired), (503, "x" * 300)):
        reply = await world.user(user_id).say(f"/start {code}")
        assert reply is not None
        answers.append(reply.plain)
    assert answers[0] == answers[1] == answers[2]
    assert "không còn hiệu lực" in answers[0]


async def test_invite_expiring_during_consent_is_refused(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    code = make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)
    person = world.user(601)
    await person.say(f"/start {code}")
    await person.press("Tiếng Việt")
    world.clock.advance(days=15)
    reply = await person.press("Tôi đồng ý")
    assert reply is not None and "không còn hiệu lực" in reply.plain
    assert contact(world, 601) is None


async def test_start_without_code_explains_how_to_join(world: World) -> None:
    reply = await world.user(701).say("/start")
    assert reply is not None and "đường link mời" in reply.plain


async def test_declining_consent_stores_nothing_personal(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    code = make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)
    person = world.user(801)
    await person.say(f"/start {code}")
    await person.press("English")
    reply = await person.press("No, thanks")
    assert reply is not None and "have not stored anything" in reply.plain
    await world.application.update_persistence()
    assert contact(world, 801) is None
    with world.database.session() as session:
        assert session.exec(select(BotState).where(BotState.key.contains("801"))).all() == []
        assert session.exec(select(Invite).where(Invite.code == code)).one().uses == 0


async def test_second_registration_is_refused_politely(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 901, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    other = make_enterprise(world, make_provider(world, "Trung tâm Huế"), "Xưởng may Thu Hà")
    reply = await world.user(901).say(
        f"/start {make_invite(world, Role.WORKER, enterprise_id=other)}"
    )
    assert reply is not None and "đã đăng ký với vai trò người sử dụng lao động" in reply.plain
    stored = contact(world, 901)
    assert stored is not None and stored.enterprise_id == enterprise


async def test_wrong_kinds_of_message_during_registration_reprompt(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    person = world.user(1001)
    await person.say(f"/start {make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)}")
    reply = await person.send("sticker")
    assert reply is not None and "chọn ngôn ngữ" in reply.plain
    await person.press("English")
    for kind, args in (
        ("text", ("yes",)),
        ("photo", (b"\xff\xd8jpeg",)),
        ("voice", ()),
        ("location", (16.0, 108.2)),
    ):
        reply = await person.send(kind, *args)
        assert reply is not None and "Please answer with the buttons" in reply.plain
    await person.press("I agree")
    assert contact(world, 1001) is not None


async def test_stale_buttons_answer_without_acting(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    person = world.user(1101)
    await person.say(f"/start {make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)}")
    language_message = person.account.messages()[-1]
    await person.press("Tiếng Việt")
    consent_message = person.account.messages()[-1]
    await person.press("Tôi đồng ý")
    # The old language and consent buttons, pressed after registration finished.
    await person.press_data(language_message.message_id, "onb:lang:en")
    await person.press_data(consent_message.message_id, "onb:agree")
    await person.press_data(consent_message.message_id, "forged:payload:123")
    assert person.answers()[-3:] == ["Nút này không còn hiệu lực."] * 3
    stored = contact(world, 1101)
    assert stored is not None and stored.language == "vi"
    with world.database.session() as session:
        assert len(session.exec(select(Contact)).all()) == 1


async def test_switching_language(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 1201, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    person = world.user(1201)
    await person.say("/language")
    reply = await person.press("English")
    assert reply is not None and "in English from now on" in reply.plain
    stored = contact(world, 1201)
    assert stored is not None and stored.language == "en"
    help_text = await person.say("/help")
    assert help_text is not None and "Here is what you can do" in help_text.plain
    descriptions = {c["command"]: c["description"] for c in world.sandbox.commands("chat:1201")}
    assert descriptions["help"] == "What I can do for you"
    await person.say("/language")
    await person.press("Tiếng Việt")
    assert "Trợ giúp" in str(person.account.reply_keyboard())


async def test_restart_in_the_middle_of_registration_resumes(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    person = world.user(1301)
    await person.say(f"/start {make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)}")
    await person.press("English")
    await world.restart()
    reply = await person.press("I agree")
    assert reply is not None and "Welcome" in reply.plain
    assert contact(world, 1301) is not None


async def test_help_unknown_command_and_free_text_for_unregistered(world: World) -> None:
    person = world.user(1401)
    reply = await person.say("/help")
    assert reply is not None and "/start" in reply.plain
    reply = await person.say("/frobnicate")
    assert reply is not None and "chưa hiểu lệnh" in reply.plain
    reply = await person.say("xin chào")
    assert reply is not None and "link mời" in reply.plain
    reply = await person.say("/cancel")
    assert reply is not None and "Đã hủy" in reply.plain


async def test_blocking_marks_unreachable_and_a_message_makes_reachable(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 1501, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    person = world.user(1501)
    person.account.block()
    await world.deliver()
    stored = contact(world, 1501)
    assert stored is not None and stored.unreachable_at is not None
    person.account.unblock()
    await world.deliver()
    stored = contact(world, 1501)
    assert stored is not None and stored.unreachable_at is None


async def test_refused_command_menu_does_not_stop_start_up(world: World) -> None:
    world.sandbox.faults.add("5xx", method="setMyCommands", times=4)
    await world.restart()
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 1601, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    assert contact(world, 1601) is not None


def test_invite_codes_are_long_and_random(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm Cần Thơ")
        codes = {
            create_invite(session, role=Role.STAFF, provider_id=provider.id, days=14).code
            for _ in range(200)
        }
    assert len(codes) == 200
    assert all(len(code) >= 16 for code in codes)  # 12 random bytes = 96 bits


def test_expiry_is_configurable(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        invite = create_invite(session, role=Role.COORDINATOR, days=3)
        assert invite.expires_at - invite.created_at == timedelta(days=3)
        assert invite.max_uses == 1
        assert session.exec(select(Enterprise)).all() == []


async def test_the_consent_names_the_controller_the_transfer_abroad_and_who_sees_reports(
    world: World,
) -> None:
    """Law 91/2025: the consent card names who is responsible (the provider, with its phone
    and e-mail), says that messages pass through the platform's servers abroad, and says what
    employers see of their workers' reports. Recorded with the text's version."""
    from models.programme import CONSENT_TEXT_VERSION
    from models.tables import Provider

    provider = make_provider(world)
    with world.database.session() as session:
        row = session.get(Provider, provider)
        assert row is not None
        row.phone, row.email = "0236 3822 123", "atvsld@danang.gov.vn"
        session.add(row)
    enterprise = make_enterprise(world, provider)
    person = world.user(111, "Chị Hoa")
    await person.say(f"/start {make_invite(world, Role.WORKER, enterprise_id=enterprise)}")
    card = await person.press("Tiếng Việt")
    assert card is not None
    assert (
        "Đơn vị chịu trách nhiệm về dữ liệu của Anh/Chị: Trung tâm ATVSLĐ Đà Nẵng, liên hệ: "
        "0236 3822 123 · atvsld@danang.gov.vn."
    ) in card.plain
    assert "máy chủ của Telegram" in card.plain and "ra nước ngoài" in card.plain
    assert "chủ doanh nghiệp cũng xem được báo cáo của người lao động" in card.plain
    assert "không bao giờ kèm tên người gửi" in card.plain
    await person.press("✅")
    english = world.user(112, "Hoa", language_code="en")
    await english.say(f"/start {make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)}")
    card = await english.press("English")
    assert card is not None
    assert (
        "Who is responsible for your data: Trung tâm ATVSLĐ Đà Nẵng, contact: 0236 3822 123"
    ) in card.plain
    assert "servers of Telegram, a messaging service based outside Viet Nam" in card.plain
    assert 'shown as "a worker", never with the worker\'s name' in card.plain
    with world.database.session() as session:
        stored = contact(world, 111)
        versions = session.exec(
            select(Consent.text_version).where(Consent.contact_id == stored.id)  # type: ignore[union-attr]
        ).all()
    assert set(versions) == {CONSENT_TEXT_VERSION} and CONSENT_TEXT_VERSION == "2026-12"


async def test_a_coordinator_and_a_provider_without_contact_get_the_programme_contact(
    world: World,
) -> None:
    world.settings.controller_contact = "Ban điều phối, 024 3826 9534"
    person = world.user(121, "Anh Nam")
    await person.say(f"/start {make_invite(world, Role.COORDINATOR)}")
    card = await person.press("Tiếng Việt")
    assert card is not None
    assert (
        "Đơn vị chịu trách nhiệm về dữ liệu của Anh/Chị: ban điều phối chương trình, liên hệ: "
        "Ban điều phối, 024 3826 9534."
    ) in card.plain
    staff = world.user(122, "Chị Vân")
    await staff.say(f"/start {make_invite(world, Role.STAFF, provider_id=make_provider(world))}")
    card = await staff.press("Tiếng Việt")
    assert card is not None
    assert "Trung tâm ATVSLĐ Đà Nẵng, liên hệ: Ban điều phối, 024 3826 9534." in card.plain


async def test_consents_given_to_the_earlier_text_stay_valid(world: World) -> None:
    """The text's version changed; a person who agreed to the earlier one is not asked again and
    keeps receiving what they agreed to."""
    from models.privacy import active_consents
    from models.tables import ConsentPurpose
    from models.tips import next_contacts

    enterprise = make_enterprise(world, make_provider(world))
    with world.database.session() as session:
        earlier = Contact(telegram_user_id=131, chat_id=131, role=Role.EMPLOYER,
                          enterprise_id=enterprise)  # fmt: skip
        session.add(earlier)
        session.flush()
        for purpose in (ConsentPurpose.FOLLOWUP, ConsentPurpose.TIPS):
            session.add(Consent(contact_id=earlier.id, purpose=purpose, text_version="2026-11",  # type: ignore[arg-type]
                                language="vi"))  # fmt: skip
    with world.database.session() as session:
        assert active_consents(session, earlier.id) == {  # type: ignore[arg-type]
            ConsentPurpose.FOLLOWUP,
            ConsentPurpose.TIPS,
        }
        assert [c.id for c in next_contacts(session, period="2027-03", after_id=0, limit=10)] == [
            earlier.id
        ]
    person = world.user(131)
    await person.say("/start")
    assert "Anh/Chị đã đăng ký" in person.last_text()
