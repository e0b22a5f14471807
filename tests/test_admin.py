"""Coordinators add providers and invite staff; staff add enterprises and hand out their links.

Driven end to end through the real Application and the Bot API sandbox, as people would.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.playback import Person
from bot.sandbox import SentMessage
from models.tables import Enterprise, Invite, Provider, Role
from tests.conftest import World
from tests.factories import (
    contact,
    coordinator,
    join,
    link_code,
    make_enterprise,
    make_invite,
    make_provider,
    photos,
    staff,
)

PNG = b"\x89PNG\r\n\x1a\n"
REFUSAL_VI = "Xin lỗi, chức năng này chỉ dành cho cán bộ chương trình."
REFUSAL_EN = "Sorry, this is only for programme staff."
STALE_VI = "Nút này không còn hiệu lực."
ASK_NAME = "Tên doanh nghiệp là gì?"
ASK_SECTOR = "Doanh nghiệp thuộc ngành nghề nào?"
ASK_PROVINCE = "Doanh nghiệp ở tỉnh/thành phố nào?"
ASK_WORKERS = "Doanh nghiệp có bao nhiêu người lao động?"
ASK_DATE = "Tập huấn hoặc can thiệp diễn ra ngày nào?"
SUMMARY = "Anh/Chị vui lòng kiểm tra thông tin doanh nghiệp mới"
TEXT_PLEASE = "Anh/Chị vui lòng trả lời bằng chữ."


# -- helpers ---------------------------------------------------------------------------------


def assert_png_photo(world: World, message: SentMessage) -> None:
    assert message.method == "sendPhoto" and message.photo is not None
    assert world.sandbox.files[message.photo].data.startswith(PNG)


def enterprises(world: World) -> list[Enterprise]:
    with world.database.session() as session:
        return list(session.exec(select(Enterprise).order_by(Enterprise.id)))  # type: ignore[arg-type]


def invites(world: World) -> list[Invite]:
    with world.database.session() as session:
        return list(session.exec(select(Invite).order_by(Invite.id)))  # type: ignore[arg-type]


async def expect(person: Person, action: SentMessage | None, text: str) -> SentMessage:
    """The bot answered, and its newest message contains `text`."""
    assert action is not None, f"no answer; last: {person.last_text()!r}"
    assert text in person.last_text(), person.last_text()
    return action


async def up_to_sector(person: Person, name: str = "Xưởng may Thu Hà") -> None:
    await expect(person, await person.say("➕ Thêm doanh nghiệp"), ASK_NAME)
    await expect(person, await person.say(name), ASK_SECTOR)


async def up_to_workers(person: Person, name: str = "Xưởng may Thu Hà") -> None:
    await up_to_sector(person, name)
    await expect(person, await person.press("Dệt may"), ASK_PROVINCE)
    await expect(person, await person.press("Đà Nẵng"), ASK_WORKERS)


async def up_to_date(person: Person, name: str = "Xưởng may Thu Hà") -> None:
    await up_to_workers(person, name)
    await expect(person, await person.say("25"), ASK_DATE)


# -- 1. coordinators: providers and staff invites --------------------------------------------


async def test_coordinator_adds_providers_and_invites_staff(world: World) -> None:
    boss = await coordinator(world)
    listing = await expect(boss, await boss.say("🏢 Đơn vị dịch vụ"), "Chưa có đơn vị nào.")
    await boss.press("➕ Thêm đơn vị", listing)
    assert boss.last_text() == "Tên đơn vị cung cấp dịch vụ là gì?"
    await expect(boss, await boss.say("Trung tâm ATVSLĐ Huế"), "hoạt động ở tỉnh/thành phố nào?")
    added = await expect(boss, await boss.press("Huế"), "Đã thêm đơn vị: Trung tâm ATVSLĐ Huế")
    assert boss.account.buttons(added)[0][0] == "Mời cán bộ: Trung tâm ATVSLĐ Huế"

    # The second provider, its province typed rather than pressed; /providers works too.
    listing = await expect(boss, await boss.say("/providers"), "Trung tâm ATVSLĐ Huế")
    await boss.press("➕ Thêm đơn vị", listing)
    await boss.say("  Công đoàn   KCN Hòa Khánh ")
    await expect(boss, await boss.say("da nang"), "Đã thêm đơn vị: Công đoàn KCN Hòa Khánh")

    with world.database.session() as session:
        rows = session.exec(select(Provider).order_by(Provider.id)).all()  # type: ignore[arg-type]
        assert [(p.name, p.province_code) for p in rows] == [
            ("Trung tâm ATVSLĐ Huế", "hue"),
            ("Công đoàn KCN Hòa Khánh", "da-nang"),
        ]
        hoa_khanh = rows[1].id

    listing = await expect(boss, await boss.say("/providers"), "• Công đoàn KCN Hòa Khánh")
    assert [label for label, _ in boss.account.buttons(listing)] == [
        "➕ Thêm đơn vị",
        "Mời cán bộ: Công đoàn KCN Hòa Khánh",
        "🤝 Mời đối tác",
        "Mời cán bộ: Trung tâm ATVSLĐ Huế",
        "🤝 Mời đối tác",
    ]
    invite_photo = await boss.press("Mời cán bộ: Công đoàn KCN Hòa Khánh", listing)
    assert invite_photo is not None
    assert_png_photo(world, invite_photo)
    assert "Link mời cán bộ của Công đoàn KCN Hòa Khánh" in (invite_photo.caption or "")
    assert "15/03/2027" in (invite_photo.caption or "")  # 14 days from 1 March
    code = link_code(invite_photo)
    stored = [i for i in invites(world) if i.code == code]
    assert len(stored) == 1
    assert (stored[0].role, stored[0].provider_id, stored[0].max_uses) == (
        Role.STAFF,
        hoa_khanh,
        1,
    )
    assert stored[0].created_by_id == contact(world, 3001).id  # type: ignore[union-attr]

    await join(world, 3101, code)
    newcomer = contact(world, 3101)
    assert newcomer is not None and (newcomer.role, newcomer.provider_id) == (
        Role.STAFF,
        hoa_khanh,
    )
    reply = await world.user(3102).say(f"/start {code}")
    assert reply is not None and "không còn hiệu lực" in reply.plain
    assert contact(world, 3102) is None


async def test_provider_conversation_rejects_bad_input(world: World) -> None:
    boss = await coordinator(world)
    await boss.say("🏢 Đơn vị dịch vụ")
    await boss.press("➕ Thêm đơn vị")
    await expect(boss, await boss.send("sticker"), TEXT_PLEASE)
    await expect(boss, await boss.say("A"), "Tên quá ngắn")
    await expect(boss, await boss.say("x" * 300), "Tên quá dài: tối đa 200 ký tự.")
    await expect(boss, await boss.say("Trung tâm Cần Thơ"), "hoạt động ở tỉnh/thành phố nào?")
    await expect(boss, await boss.say("Atlantis"), "Tôi không tìm thấy tỉnh/thành phố này")
    await expect(boss, await boss.send("photo", b"\xff\xd8jpeg"), "Tôi không tìm thấy")
    await expect(boss, await boss.press("Cần Thơ"), "Đã thêm đơn vị: Trung tâm Cần Thơ")
    with world.database.session() as session:
        assert [(p.name, p.province_code) for p in session.exec(select(Provider))] == [
            ("Trung tâm Cần Thơ", "can-tho")
        ]


async def test_cancel_while_adding_a_provider_stores_nothing(world: World) -> None:
    boss = await coordinator(world)
    await boss.say("🏢 Đơn vị dịch vụ")
    await boss.press("➕ Thêm đơn vị")
    await boss.say("Trung tâm Cần Thơ")
    province_prompt = boss.account.messages()[-1]
    await expect(boss, await boss.say("/cancel"), "Đã hủy")
    await boss.press("Cần Thơ", province_prompt)
    assert boss.answers()[-1] == STALE_VI
    with world.database.session() as session:
        assert session.exec(select(Provider)).all() == []


# -- 2. staff: adding an enterprise ----------------------------------------------------------


async def test_staff_adds_an_enterprise_and_its_people_join(world: World) -> None:
    provider = make_provider(world)
    person = await staff(world, 4001, provider)
    await up_to_sector(person, "Xưởng may Thu Hà")
    sector_prompt = person.account.messages()[-1]
    assert ("🧵 Dệt may", "adm:sector:garment") in person.account.buttons(sector_prompt)
    await expect(person, await person.press("Dệt may"), ASK_PROVINCE)
    await expect(person, await person.press("Quảng Ngãi"), ASK_WORKERS)
    await expect(person, await person.say("1.200"), ASK_DATE)
    summary = await expect(person, await person.say("15/01/2027"), SUMMARY)
    assert summary.plain.splitlines()[1:] == [
        "Tên: Xưởng may Thu Hà",
        "Ngành nghề: Dệt may",
        "Tỉnh/thành phố: Quảng Ngãi",
        "Số người lao động: 1.200",
        "Ngày tập huấn: Thứ Sáu, 15/01/2027",
    ]
    assert enterprises(world) == []
    before = len(person.account.messages())
    await person.press("✅ Lưu", summary)

    [saved] = enterprises(world)
    assert (
        saved.provider_id,
        saved.name,
        saved.sector_code,
        saved.province_code,
        saved.workers,
        saved.intervention_date,
    ) == (provider, "Xưởng may Thu Hà", "garment", "quang-ngai", 1200, date(2027, 1, 15))
    # The summary card turns into the confirmation, and the two invites follow it.
    assert summary.plain.splitlines()[0] == (
        "Đã lưu: Xưởng may Thu Hà. Đây là các đường link mời của doanh nghiệp."
    )
    assert "Số người lao động: 1.200" in summary.plain
    assert person.account.buttons(summary) == []
    employer_photo, worker_photo = person.account.messages()[before:]
    for photo in (employer_photo, worker_photo):
        assert_png_photo(world, photo)
    assert "Link cho chủ doanh nghiệp Xưởng may Thu Hà" in (employer_photo.caption or "")
    assert "Link cho người lao động của Xưởng may Thu Hà" in (worker_photo.caption or "")
    by_code = {i.code: i for i in invites(world)}
    employer_code, worker_code = link_code(employer_photo), link_code(worker_photo)
    assert (by_code[employer_code].role, by_code[employer_code].enterprise_id) == (
        Role.EMPLOYER,
        saved.id,
    )
    # 1.200 workers, 20 % and 2 more; an employer link admits 3.
    assert (by_code[worker_code].role, by_code[worker_code].max_uses) == (Role.WORKER, 1442)
    assert by_code[employer_code].max_uses == 3

    await join(world, 4101, employer_code)
    for worker_id in (4201, 4202):
        await join(world, worker_id, worker_code)
    for user_id, role in ((4101, Role.EMPLOYER), (4201, Role.WORKER), (4202, Role.WORKER)):
        joined = contact(world, user_id)
        assert joined is not None and (joined.role, joined.enterprise_id) == (role, saved.id)
    # The summary's buttons are gone: pressing the old Save again does not add a second one.
    await person.press_data(summary.message_id, "adm:confirm")
    assert person.answers()[-1] == STALE_VI
    assert len(enterprises(world)) == 1


async def test_today_button_sets_the_date(world: World) -> None:
    person = await staff(world, 4301, make_provider(world))
    await up_to_date(person, "Lò gạch Minh Tâm")
    summary = await expect(person, await person.press("Hôm nay"), SUMMARY)
    assert "Ngày tập huấn: Thứ Hai, 01/03/2027" in summary.plain
    await person.press("✅ Lưu")
    [saved] = enterprises(world)
    assert saved.intervention_date == date(2027, 3, 1) and saved.workers == 25


# -- 3. bad input at each step ---------------------------------------------------------------


async def test_wrong_kinds_of_message_keep_each_step(world: World) -> None:
    person = await staff(world, 5001, make_provider(world))
    await expect(person, await person.say("/newenterprise"), ASK_NAME)
    for kind, args in (("sticker", ()), ("photo", (b"\xff\xd8jpeg",)), ("voice", ())):
        await expect(person, await person.send(kind, *args), TEXT_PLEASE)
    await expect(person, await person.say("Xưởng mộc An Phú"), ASK_SECTOR)
    await expect(person, await person.send("sticker"), ASK_SECTOR)
    assert "chọn ngành nghề bằng các nút" in person.texts()[-2]
    await expect(person, await person.press("Gỗ, nội thất"), ASK_PROVINCE)
    await expect(person, await person.send("location", 16.0, 108.2), "Tôi không tìm thấy")
    await expect(person, await person.press("Huế"), ASK_WORKERS)
    await expect(person, await person.send("voice"), TEXT_PLEASE)
    await expect(person, await person.say("40"), ASK_DATE)
    await expect(person, await person.send("document", b"%PDF", "a.pdf"), TEXT_PLEASE)
    summary = await expect(person, await person.say("2026-12-01"), SUMMARY)
    await expect(person, await person.send("sticker"), "Anh/Chị vui lòng bấm ✅ Lưu hoặc ✖ Hủy.")
    await expect(person, await person.say("ok"), "bấm ✅ Lưu hoặc ✖ Hủy")
    await person.press("✅ Lưu", summary)
    [saved] = enterprises(world)
    assert (saved.name, saved.sector_code, saved.province_code, saved.workers) == (
        "Xưởng mộc An Phú",
        "wood",
        "hue",
        40,
    )
    assert saved.intervention_date == date(2026, 12, 1)


async def test_names_that_are_too_short_or_too_long(world: World) -> None:
    person = await staff(world, 5101, make_provider(world))
    await person.say("➕ Thêm doanh nghiệp")
    await expect(person, await person.say("A"), "Tên quá ngắn")
    await expect(person, await person.say("   "), "Tên quá ngắn")
    await expect(person, await person.say("x" * 300), "Tên quá dài: tối đa 200 ký tự.")
    await expect(person, await person.say("Cơ khí <Đông Á> & Co"), ASK_SECTOR)
    await person.press("Cơ khí")
    await person.press("Đà Nẵng")
    await person.say("7")
    summary = await expect(person, await person.press("Hôm nay"), "Tên: Cơ khí <Đông Á> & Co")
    await person.press("✅ Lưu", summary)
    assert [e.name for e in enterprises(world)] == ["Cơ khí <Đông Á> & Co"]


async def test_bad_numbers_of_workers(world: World) -> None:
    person = await staff(world, 5201, make_provider(world))
    await up_to_workers(person)
    whole = "Anh/Chị vui lòng nhập số người lao động là một số nguyên"
    for text, answer in (
        ("abc", whole),
        ("0", "Doanh nghiệp có ít nhất 1 người lao động"),
        ("-5", whole),
        ("12.5 người", whole),
        ("99999999", "Con số này vượt quá 1.000.000 người lao động"),
    ):
        await expect(person, await person.say(text), answer)
    await expect(person, await person.say("1 000 000"), ASK_DATE)
    summary = await expect(person, await person.press("Hôm nay"), "Số người lao động: 1.000.000")
    await person.press("✅ Lưu", summary)
    assert [e.workers for e in enterprises(world)] == [1_000_000]


async def test_bad_dates(world: World) -> None:
    person = await staff(world, 5301, make_provider(world))
    await up_to_date(person)
    invalid = "Anh/Chị vui lòng nhập ngày theo dạng ngày/tháng/năm"
    for text, answer in (
        ("31/02/2027", invalid),
        ("hôm qua", invalid),
        ("15/13/2026", invalid),
        ("2/3/2027", "Ngày này chưa tới"),  # 2 March, the day after today
        ("01/01/2030", "Ngày này chưa tới"),
        ("01/01/2010", "Ngày này đã hơn 10 năm trước"),
    ):
        await expect(person, await person.say(text), answer)
    trained = "Ngày tập huấn: Chủ Nhật, 28/02/2027"
    summary = await expect(person, await person.say("28.2.2027"), trained)
    await person.press("✅ Lưu", summary)
    assert [e.intervention_date for e in enterprises(world)] == [date(2027, 2, 28)]


async def test_sector_must_be_chosen_with_the_buttons(world: World) -> None:
    person = await staff(world, 5401, make_provider(world))
    await up_to_sector(person)
    first_prompt = person.account.messages()[-1]
    await expect(person, await person.say("dệt may"), ASK_SECTOR)
    assert person.texts()[-2] == "Anh/Chị vui lòng chọn ngành nghề bằng các nút."
    # A forged sector code is not taken either.
    await person.press_data(first_prompt.message_id, "adm:sector:rocketry")
    assert person.answers()[-1] == STALE_VI
    await expect(person, await person.press("Da giày"), ASK_PROVINCE)
    # The old sector buttons, pressed after moving on, change nothing.
    await person.press_data(first_prompt.message_id, "adm:sector:food")
    assert person.answers()[-1] == STALE_VI
    await person.press("Đồng Nai")
    await person.say("300")
    summary = await expect(person, await person.press("Hôm nay"), "Ngành nghề: Da giày")
    await person.press_data(first_prompt.message_id, "adm:sector:food")
    assert person.answers()[-1] == STALE_VI
    await person.press("✅ Lưu", summary)
    assert [e.sector_code for e in enterprises(world)] == ["leather-footwear"]


async def test_provinces_typed_by_name(world: World) -> None:
    person = await staff(world, 5501, make_provider(world))
    await up_to_sector(person)
    await person.press("Dệt may")
    await expect(person, await person.say("Atlantis"), "Tôi không tìm thấy tỉnh/thành phố này")
    assert person.account.buttons()[0][1].startswith("adm:eprov:")  # type: ignore[union-attr]
    await expect(person, await person.say("/frobnicate"), "chưa hiểu lệnh")
    await expect(person, await person.say("TP. Hồ Chí Minh"), ASK_WORKERS)
    await person.say("12")
    summary = await expect(person, await person.press("Hôm nay"), "Thành phố Hồ Chí Minh")
    await person.press("✅ Lưu", summary)
    assert [e.province_code for e in enterprises(world)] == ["tp-ho-chi-minh"]


async def test_cancel_in_the_middle_stores_nothing(world: World) -> None:
    person = await staff(world, 5601, make_provider(world))
    await up_to_workers(person)
    reply = await expect(
        person, await person.say("/cancel"), "Đã hủy. Anh/Chị muốn làm gì tiếp theo?"
    )
    assert reply.reply_markup is not None and "keyboard" in reply.reply_markup
    # After /cancel, a number is not taken as the count of workers.
    await expect(person, await person.say("25"), "Anh/Chị vui lòng chọn trong menu bên dưới")
    assert enterprises(world) == []

    # Cancelling on the summary card stores nothing either.
    await up_to_date(person, "Xưởng in Sao Mai")
    summary = await expect(person, await person.press("Hôm nay"), SUMMARY)
    await expect(person, await person.press("✖ Hủy", summary), "Đã hủy")
    await person.press_data(summary.message_id, "adm:confirm")
    assert person.answers()[-1] == STALE_VI
    assert enterprises(world) == []
    assert invites(world)[-1].role == Role.STAFF  # only the invite the person joined with

    # And a fresh start does not carry anything over from the cancelled draft.
    await up_to_sector(person, "Xưởng in Bình Minh")
    await person.press("In ấn")
    await person.press("Đà Nẵng")
    await person.say("9")
    summary = await expect(person, await person.press("Hôm nay"), "Tên: Xưởng in Bình Minh")
    await person.press("✅ Lưu", summary)
    assert [(e.name, e.workers) for e in enterprises(world)] == [("Xưởng in Bình Minh", 9)]


async def test_starting_again_in_the_middle_begins_a_fresh_draft(world: World) -> None:
    person = await staff(world, 5701, make_provider(world))
    await up_to_workers(person, "Xưởng cũ")
    await expect(person, await person.say("➕ Thêm doanh nghiệp"), ASK_NAME)
    await person.say("Xưởng mới")
    await expect(person, await person.press("Thủ công"), ASK_PROVINCE)
    await person.press("Huế")
    await person.say("5")
    summary = await expect(person, await person.press("Hôm nay"), "Tên: Xưởng mới")
    await person.press("✅ Lưu", summary)
    assert [(e.name, e.sector_code, e.province_code) for e in enterprises(world)] == [
        ("Xưởng mới", "handicrafts", "hue")
    ]


async def test_restart_in_the_middle_resumes_with_the_draft(world: World) -> None:
    person = await staff(world, 5801, make_provider(world))
    await up_to_workers(person, "Xưởng gốm Bát Tràng")
    await world.restart()
    await expect(person, await person.say("abc"), "số nguyên")
    await expect(person, await person.say("60"), ASK_DATE)
    await world.restart()
    summary = await expect(person, await person.say("20/02/2027"), SUMMARY)
    assert "Tên: Xưởng gốm Bát Tràng" in summary.plain and "Số người lao động: 60" in summary.plain
    await world.restart()
    await person.press("✅ Lưu", summary)
    [saved] = enterprises(world)
    assert (saved.name, saved.sector_code, saved.province_code, saved.workers) == (
        "Xưởng gốm Bát Tràng",
        "garment",
        "da-nang",
        60,
    )
    assert len(photos(person)) == 2


# -- 4. permissions --------------------------------------------------------------------------


async def test_employers_and_workers_are_refused(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 6001, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    await join(world, 6002, make_invite(world, Role.WORKER, enterprise_id=enterprise))
    for user_id in (6001, 6002):
        person = world.user(user_id)
        for command in (
            "/newenterprise",
            "/providers",
            "/enterprises",
            "➕ Thêm doanh nghiệp",
            "🏢 Đơn vị dịch vụ",
            "🏭 Doanh nghiệp của tôi",
        ):
            await expect(person, await person.say(command), REFUSAL_VI)
        # Not left inside a conversation: the next text is not taken as an enterprise name.
        # It is offered to the provider instead (handlers/inbox.py).
        await expect(person, await person.say("Xưởng giả"), "gửi nội dung này đến đơn vị")
        last = person.account.messages()[-1]
        for data in ("adm:addprov", f"adm:links:{enterprise}", "adm:staffinv:1"):
            await person.press_data(last.message_id, data)
            assert person.answers()[-1] == REFUSAL_VI
    unregistered = world.user(6003)
    await expect(unregistered, await unregistered.say("/newenterprise"), REFUSAL_VI)
    assert len(enterprises(world)) == 1
    assert len(invites(world)) == 2


async def test_staff_cannot_get_links_for_another_providers_enterprise(world: World) -> None:
    mine = make_provider(world, "Trung tâm Huế")
    theirs = make_provider(world, "Trung tâm Cần Thơ")
    their_enterprise = make_enterprise(world, theirs, "Xưởng của người khác")
    person = await staff(world, 6101, mine)
    before = len(invites(world))
    anchor = person.account.messages()[-1]
    for data in (f"adm:links:{their_enterprise}", "adm:links:9999", "adm:links:abc"):
        await person.press_data(anchor.message_id, data)
    assert person.answers()[-3:] == [REFUSAL_VI, REFUSAL_VI, STALE_VI]
    await person.press_data(anchor.message_id, f"adm:staffinv:{mine}")
    await person.press_data(anchor.message_id, "adm:addprov")
    assert person.answers()[-2:] == [REFUSAL_VI, REFUSAL_VI]
    await expect(person, await person.say("/providers"), REFUSAL_VI)
    assert len(invites(world)) == before
    assert photos(person) == []


async def test_a_coordinator_invites_a_provider_s_partners_in_the_chat(world: World) -> None:
    provider = make_provider(world, "Trung tâm ATVSLĐ Huế")
    boss = await coordinator(world, 6301)
    listing = await expect(boss, await boss.say("/providers"), "• Trung tâm ATVSLĐ Huế")
    card = await boss.press("🤝 Mời đối tác", listing)
    assert card is not None
    assert_png_photo(world, card)
    assert "Link mời đối tác của Trung tâm ATVSLĐ Huế" in (card.caption or "")
    assert "Tối đa 10 người" in (card.caption or "")
    code = link_code(card)
    [stored] = [i for i in invites(world) if i.code == code]
    assert (stored.role, stored.provider_id, stored.max_uses) == (Role.PARTNER, provider, 10)
    await join(world, 6401, code)
    partner = contact(world, 6401)
    assert partner is not None and (partner.role, partner.provider_id) == (Role.PARTNER, provider)
    # Staff may not, whatever they press.
    person = await staff(world, 6501, provider)
    anchor = person.account.messages()[-1]
    await person.press_data(anchor.message_id, f"adm:partinv:{provider}")
    assert person.answers()[-1] == REFUSAL_VI


async def test_coordinator_may_get_links_for_any_enterprise(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    boss = await coordinator(world, 6201)
    anchor = boss.account.messages()[-1]
    sent = await boss.press_data(anchor.message_id, f"adm:links:{enterprise}")
    assert sent is not None and len(photos(boss)) == 2
    # A coordinator is not staff of a provider, so cannot add an enterprise.
    await expect(boss, await boss.say("/newenterprise"), REFUSAL_VI)
    await boss.press_data(anchor.message_id, "adm:staffinv:9999")
    assert boss.answers()[-1] == "Đơn vị này không còn trong hệ thống."


# -- 5. my enterprises -----------------------------------------------------------------------


async def test_my_enterprises_lists_only_my_providers_and_shows_the_live_links(
    world: World,
) -> None:
    mine = make_provider(world, "Trung tâm Huế")
    theirs = make_provider(world, "Trung tâm Cần Thơ")
    first = make_enterprise(world, mine, "Xưởng mộc Hòa Phát")
    make_enterprise(world, mine, "Cơ khí Đông Á")
    make_enterprise(world, theirs, "Xưởng của người khác")
    person = await staff(world, 7001, mine)
    listing = await expect(
        person, await person.say("🏭 Doanh nghiệp của tôi"), "Doanh nghiệp của Anh/Chị"
    )
    assert listing.plain.splitlines()[1:3] == [
        "1. Cơ khí Đông Á — Đà Nẵng, 12 người lao động",
        "2. Xưởng mộc Hòa Phát — Đà Nẵng, 12 người lao động",
    ]
    assert "người khác" not in listing.plain
    assert [label for label, _ in person.account.buttons(listing)] == [
        "Cơ khí Đông Á",
        "Xưởng mộc Hòa Phát",
    ]
    page = await person.press("Xưởng mộc Hòa Phát", listing)
    await person.press("🔗 Link mời", page)
    await person.press("🔗 Link mời", page)
    sent = photos(person)
    assert len(sent) == 4
    codes = [link_code(m) for m in sent]
    # The same links again: showing them must not multiply the links that admit people.
    assert codes[:2] == codes[2:] and len(set(codes)) == 2
    by_code = {i.code: i for i in invites(world)}
    assert {by_code[c].enterprise_id for c in codes} == {first}
    assert [by_code[c].role for c in codes] == [Role.EMPLOYER, Role.WORKER] * 2
    await join(world, 7101, codes[2])
    joined = contact(world, 7101)
    assert joined is not None and (joined.role, joined.enterprise_id) == (Role.EMPLOYER, first)
    # /enterprises is the same list.
    again = await expect(person, await person.say("/enterprises"), "Xưởng mộc Hòa Phát")
    assert again.plain == listing.plain


async def test_my_enterprises_when_there_are_none(world: World) -> None:
    person = await staff(world, 7201, make_provider(world))
    await expect(
        person,
        await person.say("🏭 Doanh nghiệp của tôi"),
        "Anh/Chị chưa có doanh nghiệp nào. Hãy thêm bằng nút ➕ Thêm doanh nghiệp.",
    )


# -- 6. English ------------------------------------------------------------------------------


async def test_staff_in_english(world: World) -> None:
    provider = make_provider(world)
    person = await staff(world, 8001, provider, "English")
    keyboard = person.account.reply_keyboard() or []
    assert keyboard[0] == ["➕ Add an enterprise", "🏭 My enterprises"]
    assert {"❓ Help", "🌐 Language"} <= {label for row in keyboard for label in row}
    await expect(person, await person.say("➕ Add an enterprise"), "What is its name?")
    await expect(person, await person.send("sticker"), "Please answer with text.")
    await expect(person, await person.say("Thu Ha Garments"), "Which sector does it work in?")
    assert "🧵 Garment & textiles" in [label for label, _ in person.account.buttons()]
    await expect(person, await person.press("Garment & textiles"), "In which province or city")
    await expect(person, await person.say("Hue"), "How many workers does it have?")
    await expect(person, await person.say("99999999"), "more than 1,000,000 workers")
    await expect(person, await person.say("1,200"), "Type the date as day/month/year")
    assert person.account.buttons()[0][0] == "Today"
    summary = await expect(
        person, await person.say("15/01/2027"), "Please check the new enterprise"
    )
    assert summary.plain.splitlines()[1:] == [
        "Name: Thu Ha Garments",
        "Sector: Garment and textiles",
        "Province: Hue",
        "Workers: 1,200",
        "Training date: Fri 15 Jan 2027",
    ]
    await expect(person, await person.say("yes"), "Please press ✅ Save or ✖ Cancel.")
    await person.press("✅ Save", summary)
    assert summary.plain.splitlines()[0] == "Saved: Thu Ha Garments. Here are its invite links."
    employer_photo, worker_photo = photos(person)
    assert (employer_photo.caption or "").startswith("Employer link for Thu Ha Garments")
    assert (worker_photo.caption or "").startswith("Worker link for Thu Ha Garments")
    [saved] = enterprises(world)
    assert (saved.sector_code, saved.province_code, saved.workers) == ("garment", "hue", 1200)

    listing = await expect(person, await person.say("🏭 My enterprises"), "Your enterprises")
    assert "1. Thu Ha Garments — Hue, 1,200 workers" in listing.plain
    assert person.account.buttons(listing)[0][0] == "Thu Ha Garments"
    anchor = person.account.messages()[-1]
    await person.press_data(anchor.message_id, "adm:staffinv:1")
    assert person.answers()[-1] == REFUSAL_EN


async def test_coordinator_in_english(world: World) -> None:
    await join(world, 8101, make_invite(world, Role.COORDINATOR), "English")
    boss = world.user(8101)
    listing = await expect(boss, await boss.say("🏢 Providers"), "OSH service providers")
    await boss.press("➕ Add a provider", listing)
    await expect(boss, await boss.say("Hue OSH Centre"), "In which province or city does")
    added = await expect(boss, await boss.say("Thua Thien Hue"), "Provider added: Hue OSH Centre")
    invite_photo = await boss.press("Invite staff: Hue OSH Centre", added)
    assert invite_photo is not None
    assert (invite_photo.caption or "").startswith("Staff invite for Hue OSH Centre")
    assert "15 Mar 2027" in (invite_photo.caption or "")
    link_code(invite_photo)


# -- found along the way -----------------------------------------------------------------


STOPPED = "Tôi đã dừng việc đang làm dở để làm ngay việc Anh/Chị vừa yêu cầu."


async def test_menu_buttons_in_the_middle_are_not_taken_as_answers(world: World) -> None:
    provider = make_provider(world)
    make_enterprise(world, provider, "Xưởng mộc Hòa Phát")
    person = await staff(world, 5901, provider)
    await expect(person, await person.say("➕ Thêm doanh nghiệp"), ASK_NAME)
    await expect(person, await person.say("❓ Trợ giúp"), "Anh/Chị có thể:")
    # Help answers and the conversation still waits for the name.
    await expect(person, await person.say("Xưởng may Thu Hà"), ASK_SECTOR)
    await person.press("Dệt may")
    await person.press("Huế")
    # Another menu entry ends the conversation, saying so, and runs at once (issue 14); what
    # is typed next is not taken for the workforce.
    before = len(person.texts())
    await expect(person, await person.say("🏭 Doanh nghiệp của tôi"), "1. Xưởng mộc Hòa Phát")
    assert person.texts()[before] == STOPPED
    await expect(person, await person.say("30"), "chọn trong menu")
    await expect(person, await person.say("➕ Thêm doanh nghiệp"), ASK_NAME)
    await expect(person, await person.say("Xưởng may Thu Hà"), ASK_SECTOR)
    await person.press("Dệt may")
    await person.press("Huế")
    await expect(person, await person.say("30"), ASK_DATE)
    summary = await expect(person, await person.press("Hôm nay"), "Tên: Xưởng may Thu Hà")
    await person.press("✅ Lưu", summary)
    assert [e.name for e in enterprises(world)] == ["Xưởng mộc Hòa Phát", "Xưởng may Thu Hà"]

    boss = await coordinator(world, 5902)
    await boss.say("🏢 Đơn vị dịch vụ")
    await boss.press("➕ Thêm đơn vị")
    await expect(boss, await boss.say("🏢 Đơn vị dịch vụ"), "Các đơn vị cung cấp dịch vụ ATVSLĐ")
    await boss.press("➕ Thêm đơn vị")
    await expect(boss, await boss.say("Trung tâm Cần Thơ"), "hoạt động ở tỉnh/thành phố nào?")
    await expect(boss, await boss.press("Cần Thơ"), "Đã thêm đơn vị: Trung tâm Cần Thơ")
    with world.database.session() as session:
        assert sorted(p.name for p in session.exec(select(Provider))) == [
            "Trung tâm ATVSLĐ Đà Nẵng",
            "Trung tâm Cần Thơ",
        ]


async def test_a_long_list_of_enterprises_pages_and_each_page_fits_one_message(
    world: World,
) -> None:
    provider = make_provider(world)
    for number in range(60):
        make_enterprise(world, provider, f"{number:02d} " + "Công ty TNHH Sản xuất " * 9)
    person = await staff(world, 7301, provider)
    listing = await expect(person, await person.say("/enterprises"), "Doanh nghiệp của Anh/Chị")
    assert len(listing.plain) <= 4096 and "Trang 1 trên 6." in listing.plain
    assert "10. 09 Công ty" in listing.plain
    labels = [label for label, _ in person.account.buttons(listing)]
    assert len(labels) == 11 and labels[-1] == "Tiếp ▶"  # ten enterprises, then the page turn
    # A long name is cut at a word, and says so with "…", within Telegram's count.
    assert labels[0] == "00 Công ty TNHH Sản xuất Công ty TNHH…"
    for _ in range(4):
        await person.press("Tiếp ▶", listing)
    last = person.account.messages()[-1]
    assert "Trang 5 trên 6." in last.plain and len(last.plain) <= 4096
    page = await person.press("49 Công ty", last)
    await person.press("🔗 Link mời", page)
    assert len(photos(person)) == 2


async def test_no_keyboard_button_of_any_role_is_taken_as_a_name(world: World) -> None:
    from bot.i18n import gettext
    from handlers import menu

    person = await staff(world, 9301, make_provider(world))
    await person.say("➕ Thêm doanh nghiệp")
    labels = {entry.label for entries in menu.MENUS.values() for entry in entries if entry.label}
    for label in sorted(labels):
        world.api_clock.advance(30)
        before = len(person.texts())
        await person.say(gettext("vi", label))
        # Taken as the name, it would have been followed by the sector question.
        assert not any("ngành nghề" in text for text in person.texts()[before:]), label
        await person.say("/cancel")
        await person.say("➕ Thêm doanh nghiệp")
    await person.say("Xưởng cơ khí Đông Á")
    with world.database.session() as session:
        assert session.exec(select(Enterprise)).all() == []  # nothing saved yet
    assert "ngành nghề" in person.last_text()
