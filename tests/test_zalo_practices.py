"""/goodpractices and /plan on Zalo (issue 13), end to end through the Zalo driver and the
in-process Zalo sandbox, on the views and domain functions Telegram's handlers use: the library
by area with its cards as signed-link photos, the action plan with its items' moves and a new
item's journey, all as numbered choices; nothing to show, the wrong role and someone not
registered; Vietnamese and English. The world's clock is fixed (1 March 2027)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.zalo.sandbox import SandboxUser
from models import plans
from models.journeys.state import zalo_person
from models.notices import library
from models.tables import Contact, Improvement, JourneyState, PlanItem, PlanStatus, Role
from tests import test_zalo_driver
from tests.conftest import World
from tests.factories import add_enterprise, add_improvement, build_library
from tests.test_zalo_driver import PUBLIC_URL, Zalo, number_of, register, text_of, zalo_contact

# The Zalo side of the world (its sandbox and the running channel), as the driver's tests have it.
zalo = test_zalo_driver.zalo

JOIN = "Để tham gia, Anh/Chị vui lòng gõ mã"


def on_zalo(
    world: World, zalo: Zalo, user_id: str, role: Role, *, language: str = "vi", **where: int
) -> SandboxUser:
    """Someone registered on Zalo alone."""
    user = zalo.sandbox.user(user_id, "Anh Bình")
    with world.database.session() as session:
        session.add(
            Contact(zalo_user_id=user_id, display_name="Anh Bình", role=role, language=language,
                    **where)  # type: ignore[arg-type]
        )  # fmt: skip
    return user


def notice_payloads(world: World, user: SandboxUser) -> list[str]:
    with world.database.session() as session:
        state = session.get(JourneyState, zalo_person(user.id))
        return [payload for _label, payload in (state.notice_choices or [])] if state else []


def add_item(world: World, enterprise_id: int, what: str = "Kệ ba tầng cho thùng sơn") -> int:
    draft = plans.ItemDraft(
        area_code="storage", what=what, who="Anh Hùng", due_on=date(2027, 4, 30)
    )
    with world.database.session() as session:
        item = plans.add_item(
            session, enterprise_id=enterprise_id, draft=draft, actor=None,
            today=date(2027, 3, 1), now=world.clock(),
        )  # fmt: skip
        return item.id  # type: ignore[return-value]


def journey_of(world: World, user: SandboxUser) -> str | None:
    with world.database.session() as session:
        state = session.get(JourneyState, zalo_person(user.id))
        return state.journey if state is not None else None


def status_of(world: World, item_id: int) -> PlanStatus:
    with world.database.session() as session:
        item = session.get(PlanItem, item_id)
        assert item is not None
        return item.status


# -- /goodpractices --------------------------------------------------------------------------


async def test_a_zalo_employer_browses_the_library_and_gets_the_card_as_photos(
    world: World, zalo: Zalo, tmp_path: Path
) -> None:
    shared = build_library(world.database, tmp_path / "photos")
    employer = on_zalo(world, zalo, "gp1", Role.EMPLOYER, enterprise_id=shared.enterprises["may"])
    areas = await zalo.say(employer, "/goodpractices")
    shown = text_of(areas)
    assert "Anh/Chị chọn lĩnh vực kỹ thuật" in shown and "<b>" not in shown
    assert "1. 📦 Lưu giữ, vận chuyển (1)\n2. ⚙️ An toàn máy móc (1)\n\nTrả lời 1 hoặc 2." in shown

    # By its words, as a button's label would be typed.
    listing = text_of(await zalo.say(employer, "an toan may moc"))
    assert "⚙️ An toàn máy móc" in listing and "Che chắn dây curoa" in listing
    assert "Cần Thơ" in listing and "◀ Tất cả lĩnh vực" in listing
    assert notice_payloads(world, employer) == [f"gp:show:{shared.anonymous}", "gp:areas"]

    card = await zalo.say(employer, "1")
    assert [m.method for m in card] == ["sendPhoto", "sendPhoto"]
    after, before = card
    assert "Một doanh nghiệp ở" in (after.caption or "")  # anonymous: no name
    assert "Cơ khí Tân Tiến" not in (after.caption or "")
    assert "Mức rủi ro: 9 → 2" in (after.caption or "") and "<b>" not in (after.caption or "")
    assert before.caption == "Trước khi cải thiện"
    for photo in card:
        assert (photo.photo_url or "").startswith(f"{PUBLIC_URL}/files/")
        assert photo.photo_bytes and photo.photo_bytes.startswith(b"\xff\xd8\xff")
    # The area's numbers still stand, as the list's buttons do on Telegram.
    again = text_of(await zalo.say(employer, "2"))
    assert "Anh/Chị chọn lĩnh vực kỹ thuật" in again

    # An entry withdrawn meanwhile is told so, not shown.
    await zalo.say(employer, number_of(areas, "⚙️ An toàn máy móc (1)"))
    with world.database.session() as session:
        withdrawn = session.get(Improvement, shared.anonymous)
        assert withdrawn is not None
        withdrawn.library_withdrawn_at = world.clock()
        session.add(withdrawn)
    gone = await zalo.say(employer, "1")
    assert [m.method for m in gone] == ["sendMessage"]
    assert "không còn trong thư viện" in text_of(gone)


async def test_an_empty_library_the_english_and_those_not_registered(
    world: World, zalo: Zalo
) -> None:
    enterprise = add_enterprise(world)
    worker = on_zalo(world, zalo, "gp2", Role.WORKER, language="en", enterprise_id=enterprise.id)
    shown = text_of(await zalo.say(worker, "/goodpractices"))
    assert "No good practices have been shared yet." in shown
    assert "Reply" not in shown and notice_payloads(world, worker) == []
    # Workers read the library on Zalo, but have no action plan.
    helped = text_of(await zalo.say(worker, "/help"))
    assert "/goodpractices" in helped and "/plan" not in helped
    refused = text_of(await zalo.say(worker, "/plan"))
    assert "Sorry, the action plan is only for employers and their providers." in refused

    stranger = zalo.sandbox.user("gp3", "Ai đó")
    assert JOIN in text_of(await zalo.say(stranger, "/goodpractices"))
    assert JOIN in text_of(await zalo.say(stranger, "/plan"))


# -- /plan -----------------------------------------------------------------------------------


async def test_a_zalo_employer_moves_an_item_along_and_adds_one(world: World, zalo: Zalo) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    item = add_item(world, enterprise.id)
    employer = zalo.sandbox.user("pl1", "Chị Lan")
    await register(zalo, employer, enterprise.id)
    # /plan sets the journey in front aside, as on Telegram; the plan's numbers answer then.
    await zalo.say(employer, "/report")
    plan = await zalo.say(employer, "/plan")
    assert journey_of(world, employer) is None
    shown = text_of(plan)
    assert "🎯 Kế hoạch hành động của Xưởng mộc Hòa Phát" in shown and "<b>" not in shown
    assert "⏳ Kệ ba tầng cho thùng sơn" in shown
    assert "📦 Lưu giữ, vận chuyển · Anh Hùng · hạn Thứ Sáu, 30/04/2027 · đã lên kế hoạch" in shown
    assert shown.endswith(
        "1. ⏳ Kệ ba tầng cho thùng sơn\n2. ➕ Thêm việc vào kế hoạch\n\nTrả lời 1 hoặc 2."
    )

    card = text_of(await zalo.say(employer, "1"))
    assert card.endswith("1. ✅ Xong\n\nTrả lời 1 để chọn.")
    done = text_of(await zalo.say(employer, "1"))
    assert "Làm tốt lắm!" in done and "đã thực hiện: " in done and "Chị Lan" in done
    assert done.endswith("1. 👍 Vẫn đang dùng\n2. 🚫 Không còn dùng\n\nTrả lời 1 hoặc 2.")
    assert status_of(world, item) == PlanStatus.DONE
    contact = zalo_contact(world, employer.id)
    with world.database.session() as session:
        stored = session.get(PlanItem, item)
        assert stored is not None and contact is not None and stored.done_by_id == contact.id

    # Someone else was quicker: told so, with the item as it stands and its moves now.
    with world.database.session() as session:
        plans.move(session, item, to=PlanStatus.ENDED, actor=contact, now=world.clock())
    late = text_of(await zalo.say(employer, "1"))
    assert "Việc này đã được cập nhật trước đó." in late and "không còn sử dụng" in late
    assert status_of(world, item) == PlanStatus.ENDED
    assert notice_payloads(world, employer) == []  # no moves left to number

    # A new item is the plan's journey, opened by its number.
    plan = await zalo.say(employer, "/plan")
    assert "⏳" not in text_of(plan)  # an item no longer in use has no card to open
    asked = text_of(await zalo.say(employer, number_of(plan, "➕ Thêm việc vào kế hoạch")))
    assert "Việc này thuộc lĩnh vực kỹ thuật nào?" in asked and "1. 📦 Lưu giữ, vận chuyển" in asked


async def test_an_empty_plan_in_english_staff_choose_and_others_are_refused(
    world: World, zalo: Zalo
) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    employer = on_zalo(
        world, zalo, "pl2", Role.EMPLOYER, language="en", enterprise_id=enterprise.id
    )
    shown = text_of(await zalo.say(employer, "/plan"))
    assert "No improvements are planned yet." in shown
    assert shown.endswith("1. ➕ Add a planned improvement\n\nReply 1 to choose it.")
    assert "/plan" in text_of(await zalo.say(employer, "/help"))

    staff = on_zalo(world, zalo, "pl3", Role.STAFF, provider_id=enterprise.provider_id)
    chooser = await zalo.say(staff, "/plan")
    assert "Anh/Chị muốn xem kế hoạch hành động của doanh nghiệp nào?" in text_of(chooser)
    chosen = text_of(await zalo.say(staff, number_of(chooser, "Xưởng mộc Hòa Phát")))
    assert "Kế hoạch hành động của Xưởng mộc Hòa Phát" in chosen

    # Another provider's staff: no enterprises to choose, and not this plan by its id.
    other = add_enterprise(world, name="Cơ khí Tân Tiến")
    outsider = on_zalo(world, zalo, "pl4", Role.STAFF, provider_id=other.provider_id)
    theirs = text_of(await zalo.say(outsider, "/plan"))
    assert "1. Cơ khí Tân Tiến" in theirs and "Xưởng mộc" not in theirs
    refused = text_of(await zalo.say(outsider, f"/plan {enterprise.id}"))
    assert "Anh/Chị không có quyền thay đổi kế hoạch này." in refused
    assert notice_payloads(world, outsider) == [f"plan:ent:{other.id}"]  # the choice stands


async def test_an_area_s_entries_come_a_page_at_a_time_in_english(world: World, zalo: Zalo) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    for number in range(library.PAGE + 1):
        add_improvement(world.database, enterprise.id, description=f"Shelf number {number:02}.")
    worker = on_zalo(world, zalo, "gp4", Role.WORKER, language="en", enterprise_id=enterprise.id)
    areas = await zalo.say(worker, "/goodpractices")
    assert "1. 📦 Storage & handling (9)\n\nReply 1 to choose it." in text_of(areas)
    first = text_of(await zalo.say(worker, "1"))
    assert "1. Shelf number 08. (Wood and furniture, Da Nang)" in first  # the latest first
    assert "Shelf number 00." not in first
    assert first.endswith("9. ◀ All areas\n10. More ▶\n\nReply with a number from 1 to 10.")
    # By its words, as the button's label.
    second = text_of(await zalo.say(worker, "more"))
    assert "1. Shelf number 00. (Wood and furniture, Da Nang)" in second
    assert second.endswith("2. ◀ All areas\n\nReply 1 or 2.")
