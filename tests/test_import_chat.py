"""Staff import a spreadsheet by sending it to the bot (/import): enterprises, or a paper round,
answered in words with line numbers; a coordinator chooses the provider; bad input loses
nothing."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlmodel import col, select

from models.tables import AuditLog, Enterprise, Improvement
from tests.conftest import World
from tests.factories import coordinator, make_enterprise, make_provider, staff

ENTERPRISES_CSV = (
    "tên doanh nghiệp;ngành;tỉnh;số lao động;ngày tập huấn\n"
    "Xưởng may Thành Công;garment;Đà Nẵng;40;01/10/2026\n"
    "Cơ khí Hưng Thịnh;metal;Đà Nẵng;không rõ;01/10/2026\n"
    "Lò bánh Phú Quý;food;Huế;12;2026-09-15\n"
).encode()


def names(world: World) -> list[str]:
    with world.database.session() as session:
        return list(session.exec(select(Enterprise.name).order_by(col(Enterprise.id))))


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_staff_import_enterprises_and_hear_each_refused_row_by_its_line(
    world: World,
) -> None:
    provider = make_provider(world)
    person = await staff(world, 501, provider)
    asked = await person.say("/import")
    assert asked is not None and "Tệp chứa nội dung gì?" in asked.plain
    await person.press("🏭 Doanh nghiệp")
    assert "gửi tệp CSV hoặc XLSX" in person.last_text()

    # Wrong kinds of message first: text, a photo, a stale button. Nothing is lost.
    await person.say("đây là tệp")
    assert "dưới dạng tệp" in person.last_text()
    await person.press_data(asked.message_id, "imp:what:enterprises")
    assert person.answers()[-1] == "Nút này không còn hiệu lực."

    done = await person.send("document", ENTERPRISES_CSV, "doanh-nghiep.csv", "text/csv")
    assert done is not None
    assert "Đã nhập 2 doanh nghiệp" in done.plain
    assert "Dòng 3" in done.plain and "số lao động" in done.plain
    assert names(world) == ["Xưởng may Thành Công", "Lò bánh Phú Quý"]
    with world.database.session() as session:
        providers = session.exec(select(Enterprise.provider_id)).all()
        assert set(providers) == {provider}
    # The journey ended: a second file is not imported unasked.
    await person.send("document", ENTERPRISES_CSV, "again.csv", "text/csv")
    assert len(names(world)) == 2


async def test_a_file_refused_as_a_whole_is_asked_for_again(world: World) -> None:
    provider = make_provider(world)
    person = await staff(world, 501, provider, "English")
    await person.say("/import")
    await person.press("🏭 Enterprises")
    wrong = await person.send("document", b"colour;shape\nred;round\n", "x.csv", "text/csv")
    assert wrong is not None and "Please correct the file and send it again" in wrong.plain
    assert names(world) == []
    right = workbook(
        [["name", "sector", "province", "workers", "intervention_date"],
         ["Xưởng gỗ An Phú", "wood", "da-nang", 8, "01/10/2026"]]
    )  # fmt: skip
    done = await person.send("document", right, "enterprises.xlsx")
    assert done is not None and "Imported 1 enterprise" in done.plain
    assert names(world) == ["Xưởng gỗ An Phú"]
    with world.database.session() as session:
        actions = session.exec(select(AuditLog.action)).all()
    assert "enterprise.import" in actions


async def test_a_paper_round_names_only_the_staff_member_s_own_enterprises(world: World) -> None:
    provider = make_provider(world)
    mine = make_enterprise(world, provider, "Xưởng mộc Hòa Phát")
    other = make_enterprise(world, make_provider(world, "Trung tâm Huế"), "Xưởng của Huế")
    person = await staff(world, 501, provider)
    await person.say("/import")
    await person.press("📝 Cải thiện")
    paper = (
        "enterprise,date,area,description\n"
        f"{mine},15/11/2026,storage,Kệ ba tầng cho nguyên liệu\n"
        f"{other},15/11/2026,storage,Kệ của doanh nghiệp khác\n"
        "Xưởng mộc Hòa Phát,16/11/2026,welfare,Góc nước uống mát\n"
    ).encode()
    done = await person.send("document", paper, "dot-giay.csv", "text/csv")
    assert done is not None and "Đã nhập 2 cải thiện" in done.plain
    assert "Dòng 3" in done.plain
    with world.database.session() as session:
        found = session.exec(select(Improvement.enterprise_id)).all()
    assert sorted(found) == [mine, mine]


async def test_a_coordinator_chooses_the_provider_and_others_are_refused(world: World) -> None:
    provider = make_provider(world)
    second = make_provider(world, "Trung tâm ATVSLĐ Huế")
    boss = await coordinator(world)
    await boss.say("/import")
    await boss.press("🏭 Doanh nghiệp")
    assert "Cho đơn vị cung cấp dịch vụ nào?" in boss.last_text()
    await boss.press("Trung tâm ATVSLĐ Huế")
    await boss.send("document", ENTERPRISES_CSV, "dn.csv", "text/csv")
    with world.database.session() as session:
        providers = set(session.exec(select(Enterprise.provider_id)).all())
    assert providers == {second} and provider != second

    employer = world.user(777)
    from models.tables import Role
    from tests.factories import join, make_invite

    enterprise = make_enterprise(world, provider, "Xưởng khác")
    await join(world, 777, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    refused = await employer.say("/import")
    assert refused is not None and "cán bộ" in refused.plain


async def test_a_file_too_large_is_refused_in_words(world: World) -> None:
    provider = make_provider(world)
    person = await staff(world, 501, provider, "English")
    await person.say("/import")
    await person.press("🏭 Enterprises")
    big = b"name;sector\n" + b"x" * (5 * 1024 * 1024 + 1)
    await person.send("document", big, "big.csv", "text/csv")
    assert "larger than 5 MB" in person.last_text()
    assert names(world) == []
