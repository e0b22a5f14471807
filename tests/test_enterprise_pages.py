"""Staff find their enterprises by name or province a page at a time, open an enterprise's
history, and move it to another provider with that history."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from models.tables import (
    AuditLog,
    Enterprise,
    InboxThread,
    PlanItem,
    PlanStatus,
    ReviewStatus,
    Role,
    SurveyRound,
    Visit,
    VisitStatus,
)
from reports.rollups import rebuild
from tests.conftest import World
from tests.factories import (
    add_improvement,
    coordinator,
    join,
    make_enterprise,
    make_invite,
    make_provider,
    staff,
)
from tests.test_rollups import dump


async def test_a_long_list_pages_and_searches_without_accents(world: World) -> None:
    provider = make_provider(world)
    for number in range(1, 24):
        make_enterprise(world, provider, f"Xưởng số {number:02d}")
    make_enterprise(world, provider, "Xưởng mộc Hòa Phát")
    person = await staff(world, 501, provider)

    listing = await person.say("/enterprises")
    assert listing is not None
    assert "Doanh nghiệp của Anh/Chị: 24" in listing.plain and "Trang 1 trên 3." in listing.plain
    assert len([b for b in person.account.buttons(listing) if "Xưởng" in b[0]]) == 10
    await person.press("Tiếp ▶", listing)
    assert "Trang 2 trên 3." in person.account.messages()[-1].plain
    assert person.account.messages()[-1].message_id == listing.message_id  # turned in place
    await person.press("◀ Trước")
    assert "Trang 1 trên 3." in person.account.messages()[-1].plain

    found = await person.say("/enterprises hoa phat")
    assert found is not None
    assert "khớp với “hoa phat”: 1" in found.plain and "Xưởng mộc Hòa Phát" in found.plain
    by_province = await person.say("/enterprises Đà Nẵng")
    assert by_province is not None and "Đà Nẵng”: 24" in by_province.plain
    nothing = await person.say("/enterprises Hà Giang")
    assert nothing is not None and "Không có doanh nghiệp nào khớp" in nothing.plain


async def test_an_enterprise_s_page_shows_its_history(world: World) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    person = await staff(world, 501, provider, "English")
    add_improvement(world.database, enterprise, status=ReviewStatus.VERIFIED)
    add_improvement(world.database, enterprise, status=ReviewStatus.SUBMITTED, seed=2)
    now = world.clock()
    with world.database.session() as session:
        session.add(SurveyRound(enterprise_id=enterprise, number=1, opened_at=now))
        session.add(
            Visit(
                enterprise_id=enterprise, due_on=date(2026, 12, 1), status=VisitStatus.DONE,
                done_at=now - timedelta(days=3),
            )
        )  # fmt: skip
        session.add(Visit(enterprise_id=enterprise, due_on=date(2027, 3, 1)))
        session.add(
            PlanItem(
                enterprise_id=enterprise, area_code="storage", what="Kệ ba tầng",
                who="Anh Tuấn", due_on=date(2027, 1, 30), status=PlanStatus.DONE,
            )
        )  # fmt: skip
    await person.say("/enterprises")
    shown = await person.press("Xưởng mộc Hòa Phát")
    assert shown is not None
    page = shown.plain
    assert "Xưởng mộc Hòa Phát" in page and "Provider: Trung tâm ATVSLĐ Đà Nẵng" in page
    assert "Round 1 (open)" in page and "0 answers" in page
    assert "Done: 1 of 2" in page and "Next: " in page and "(to be planned)" in page
    assert "2 sent: 1 verified, 1 waiting for review" in page
    assert "1 items: 1 done" in page
    assert "Threads: 0 open, 0 closed" in page
    labels = [label for label, _ in person.account.buttons(shown)]
    assert labels == [
        "🔗 Invite links",
        "👥 Members",
        "🎯 Action plan",
        "✏️ Edit",
        "↪️ Move to another provider",
        "🗄 Archive",
    ]


async def test_moving_an_enterprise_takes_its_history_and_tells_the_new_staff(
    world: World,
) -> None:
    provider = make_provider(world)
    other = make_provider(world, "Trung tâm ATVSLĐ Huế")
    enterprise = make_enterprise(world, provider)
    person = await staff(world, 501, provider)
    receiver = await staff(world, 502, other, "English")
    employer = world.user(101)
    await join(world, 101, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    await employer.say("Xin chào, chúng tôi cần tư vấn")
    await employer.press("✅ Có, gửi đi")
    add_improvement(world.database, enterprise, status=ReviewStatus.VERIFIED)
    with world.database.session() as session:
        session.add(Visit(enterprise_id=enterprise, due_on=date(2027, 3, 1), staff_id=None))
    await world.drain()

    await person.say("/enterprises")
    await person.press("Xưởng mộc Hòa Phát")
    await person.press("↪️ Chuyển sang đơn vị khác")
    await person.press("Trung tâm ATVSLĐ Huế")
    assert "Chuyển <b>" not in person.last_text()  # tags are rendered, not shown
    assert "từ Trung tâm ATVSLĐ Đà Nẵng sang Trung tâm ATVSLĐ Huế" in person.last_text()
    await person.press("✅")
    assert "nay thuộc Trung tâm ATVSLĐ Huế" in person.last_text()
    with world.database.session() as session:
        moved = session.get(Enterprise, enterprise)
        assert moved is not None and moved.provider_id == other
        [thread] = session.exec(select(InboxThread)).all()
        assert thread.provider_id == other
        audit = session.exec(select(AuditLog).where(AuditLog.action == "enterprise.transfer")).one()
        assert audit.details == {"from": provider, "to": other}
    # The summary's rollups follow the move (they are keyed by provider), as a rebuild would.
    with world.database.session() as session:
        kept = dump(session)
        assert any(other in row for row in kept["rollup_improvement"] | kept["rollup_enterprise"])
        rebuild(session)
        assert dump(session) == kept
    await world.drain()
    told = receiver.last_text()
    assert "has been moved to your provider from Trung tâm ATVSLĐ Đà Nẵng" in told
    opened = await receiver.press("🏭 Open its page")
    assert opened is not None and "Provider: Trung tâm ATVSLĐ Huế" in opened.plain
    assert "Threads: 1 open, 0 closed" in opened.plain

    # The first staff member no longer looks after it: the old buttons are refused.
    from models.notices.enterprises import MOVE_OK, PAGE

    for data in (f"{PAGE}{enterprise}", f"{MOVE_OK}{enterprise}:{provider}"):
        await person.press_data(person.account.messages()[-1].message_id, data)
        assert "chỉ cán bộ của đơn vị hỗ trợ doanh nghiệp này" in (person.answers()[-1] or "")
    with world.database.session() as session:
        assert session.get(Enterprise, enterprise).provider_id == other  # type: ignore[union-attr]


async def test_coordinators_see_every_provider_and_others_are_refused(world: World) -> None:
    first = make_provider(world)
    second = make_provider(world, "Trung tâm ATVSLĐ Huế")
    make_enterprise(world, first, "Xưởng A")
    ours = make_enterprise(world, second, "Xưởng B")
    boss = await coordinator(world)
    listing = await boss.say("/enterprises")
    assert listing is not None and "Doanh nghiệp của Anh/Chị: 2" in listing.plain
    employer = world.user(101)
    await join(world, 101, make_invite(world, Role.EMPLOYER, enterprise_id=ours))
    refused = await employer.say("/enterprises")
    assert refused is not None and "cán bộ" in refused.plain


async def test_staff_correct_an_enterprise_one_answer_at_a_time(world: World) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    person = await staff(world, 501, provider)
    await person.say("/enterprises")
    page = await person.press("Xưởng mộc Hòa Phát")
    await person.press("✏️ Sửa", page)
    assert "Anh/Chị muốn sửa thông tin nào của Xưởng mộc Hòa Phát?" in person.last_text()
    await person.press("Người lao động")
    await person.say("mười hai")  # wrong: asked again, nothing lost
    assert "số nguyên" in person.last_text()
    await person.say("0")
    await person.say("35")
    assert "Đã lưu." in person.last_text() and "35" in person.last_text()

    await person.press("✏️ Sửa", page)
    await person.press("Tỉnh, thành")
    await person.say("hue")  # typed without accents
    await person.press("✏️ Sửa", page)
    await person.press("Ngày tập huấn")
    await person.say("01/01/2099")  # in the future: refused
    assert "Ngày này chưa tới" in person.last_text()
    await person.say("/cancel")
    with world.database.session() as session:
        edited = session.get(Enterprise, enterprise)
        assert edited is not None
        assert (edited.workers, edited.province_code) == (35, "hue")
        assert edited.intervention_date == date(2026, 10, 1)
        changes = session.exec(
            select(AuditLog.details).where(AuditLog.action == "enterprise.edit")
        ).all()
    assert changes == [
        {"field": "workers", "before": "12", "after": "35"},
        {"field": "province", "before": "da-nang", "after": "hue"},
    ]
    # Another provider's staff cannot open the form, whatever they press.
    outsider = await staff(world, 502, make_provider(world, "Trung tâm Huế"))
    anchor = outsider.account.messages()[-1]
    await outsider.press_data(anchor.message_id, f"adm:edit:{enterprise}")
    assert "cán bộ" in (outsider.answers()[-1] or "")
