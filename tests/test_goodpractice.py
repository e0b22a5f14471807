"""The good-practice library: what enters it, public wording, withdrawal, /goodpractices."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models import goodpractice
from models.db import Database
from models.programme import ProgrammeError
from models.tables import (
    AuditLog,
    Contact,
    Improvement,
    PeopleShown,
    ReviewStatus,
    Role,
    ShareConsent,
)
from tests.conftest import World
from tests.factories import NOW, build_library, join, make_invite


def staff_contact(database: Database, provider_id: int, user_id: int = 501) -> Contact:
    with database.session() as session:
        contact = Contact(
            telegram_user_id=user_id, chat_id=user_id, role=Role.STAFF, provider_id=provider_id
        )
        session.add(contact)
        session.flush()
        return contact


# -- the domain ------------------------------------------------------------------------------


def test_only_shared_good_practices_enter_the_library(database: Database) -> None:
    library = build_library(database)
    with database.session() as session:
        ids = {e.id for e in goodpractice.entries(session)}
        assert ids == {library.named, library.anonymous}
        assert goodpractice.counts_by_area(session) == {"storage": 1, "machine": 1}
        assert [e.id for e in goodpractice.entries(session, area="machine")] == [library.anonymous]
        assert [e.id for e in goodpractice.entries(session, province="da-nang")] == [library.named]
        assert goodpractice.entry(session, library.not_shared) is None
        assert goodpractice.provinces_with_entries(session) == ["can-tho", "da-nang"]


def test_the_enterprise_is_named_only_when_it_agreed(database: Database) -> None:
    library = build_library(database)
    with database.session() as session:
        named = goodpractice.entry(session, library.named)
        anonymous = goodpractice.entry(session, library.anonymous)
    assert named is not None and named.enterprise_name == "Xưởng mộc Hòa Phát"
    assert anonymous is not None and anonymous.enterprise_name is None
    assert anonymous.province_code == "can-tho" and anonymous.risk_reduction == 7


def test_public_wording_keeps_the_original(database: Database) -> None:
    library = build_library(database)
    staff = staff_contact(database, library.north)
    with database.session() as session:
        edited = goodpractice.edit_public_text(
            session, improvement_id=library.named, text="  Kệ ba tầng   gọn gàng.  ", actor=staff
        )
    assert edited.text == "Kệ ba tầng gọn gàng." and edited.edited
    with database.session() as session:
        stored = session.get(Improvement, library.named)
        assert stored is not None
        assert stored.description == "Kệ ba tầng cho nguyên liệu, lối đi sơn vạch vàng."
        assert session.exec(select(AuditLog).where(AuditLog.action == "goodpractice.edit")).one()


@pytest.mark.parametrize(
    ("text", "code"), [("ngắn", "text_too_short"), ("x" * 1001, "text_too_long")]
)
def test_public_wording_is_checked(database: Database, text: str, code: str) -> None:
    library = build_library(database)
    staff = staff_contact(database, library.north)
    with database.session() as session, pytest.raises(ProgrammeError) as raised:
        goodpractice.edit_public_text(session, improvement_id=library.named, text=text, actor=staff)
    assert raised.value.code == code


def test_staff_manage_only_their_providers_entries(database: Database) -> None:
    library = build_library(database)
    other = staff_contact(database, library.south)
    with database.session() as session, pytest.raises(ProgrammeError) as raised:
        goodpractice.withdraw(session, improvement_id=library.named, actor=other)
    assert raised.value.code == "not_allowed"


def test_withdrawal_leaves_the_report_as_it_was(database: Database) -> None:
    library = build_library(database)
    staff = staff_contact(database, library.north)
    with database.session() as session:
        goodpractice.withdraw(session, improvement_id=library.named, actor=staff, now=NOW)
    with database.session() as session:
        assert goodpractice.entry(session, library.named) is None
        stored = session.get(Improvement, library.named)
        assert stored is not None and stored.status == ReviewStatus.GOOD_PRACTICE
        assert stored.library_withdrawn_at == NOW


# -- /goodpractices --------------------------------------------------------------------------


async def test_an_employer_browses_by_area_and_sees_the_card_with_the_after_photo(
    world: World, tmp_path: Path
) -> None:
    library = build_library(world.database, tmp_path / "photos")
    await join(
        world, 701, make_invite(world, Role.EMPLOYER, enterprise_id=library.enterprises["may"])
    )
    reader = world.user(701)
    areas = await reader.say("/goodpractices")
    assert areas is not None and "chọn lĩnh vực kỹ thuật" in areas.plain
    labels = [label for label, _ in reader.account.buttons(areas)]
    assert any("(1)" in label for label in labels) and len(labels) == 2
    await reader.press("máy", areas)
    listing = reader.account.messages()[-1]
    assert "Che chắn dây curoa" in listing.plain and "Cần Thơ" in listing.plain
    shown = await reader.press("1", listing)
    assert shown is not None and shown.method == "sendPhoto"
    assert "Một doanh nghiệp ở" in (shown.caption or "")  # anonymous: no name
    assert "Cơ khí Tân Tiến" not in (shown.caption or "")
    assert "Mức rủi ro: 9 → 2" in (shown.caption or "")
    # Readers get the before photo on request, never the staff buttons.
    labels = [label for label, _ in reader.account.buttons(shown)]
    assert labels == ["📷 Trước"]
    before = await reader.press("Trước", shown)
    assert before is not None and before.method == "sendPhoto"


async def test_staff_edit_the_wording_and_withdraw_an_entry(world: World, tmp_path: Path) -> None:
    library = build_library(world.database, tmp_path / "photos")
    await join(world, 702, make_invite(world, Role.STAFF, provider_id=library.north))
    staff = world.user(702)
    await staff.say("🌟 Điển hình tốt")
    await staff.press("Lưu giữ")
    card = await staff.press("1")
    assert card is not None and "Xưởng mộc Hòa Phát" in (card.caption or "")
    await staff.press("Lời giới thiệu", card)
    assert "Lời giới thiệu đang hiển thị" in staff.last_text()
    await staff.send("sticker")
    assert "nhập lời giới thiệu mới" in staff.last_text()
    await staff.say("ngắn")
    assert "ít nhất 10 ký tự" in staff.last_text()
    await staff.say("Xưởng sắp xếp kho bằng kệ ba tầng, lối đi thông thoáng.")
    assert "Đã lưu" in staff.last_text() and "kệ ba tầng, lối đi" in staff.last_text()

    await staff.press("Rút", card)
    await staff.press("Có, rút", card)
    assert "Đã rút khỏi thư viện" in staff.last_text()
    with world.database.session() as session:
        assert goodpractice.entry(session, library.named) is None
    # The same card's buttons are now stale: nothing breaks.
    await staff.press_data(card.message_id, f"gp:wdyes:{library.named}")
    assert "không còn trong thư viện" in (staff.answers()[-1] or "")


async def test_other_providers_staff_cannot_change_an_entry(world: World, tmp_path: Path) -> None:
    library = build_library(world.database, tmp_path / "photos")
    await join(world, 703, make_invite(world, Role.STAFF, provider_id=library.south))
    other = world.user(703)
    await other.say("/goodpractices")
    await other.press("Lưu giữ")
    card = await other.press("1")
    assert card is not None
    assert [label for label, _ in other.account.buttons(card)] == ["📷 Trước"]
    await other.press_data(card.message_id, f"gp:wdyes:{library.named}")
    assert "Chỉ cán bộ của đơn vị" in (other.answers()[-1] or "")
    await other.press_data(card.message_id, f"gp:edit:{library.named}")
    with world.database.session() as session:
        assert goodpractice.entry(session, library.named) is not None


async def test_unregistered_people_are_told_what_the_library_is(world: World) -> None:
    stranger = world.user(704)
    reply = await stranger.say("/goodpractices")
    assert reply is not None and "dành cho doanh nghiệp và cán bộ" in reply.plain


# -- people in the photos --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "public"),
    [
        (None, False),  # not asked: every report from before the question
        (PeopleShown.NOT_AGREED, False),
        (PeopleShown.NONE, True),
        (PeopleShown.AGREED, True),
    ],
)
def test_photos_are_published_only_when_nobody_is_shown_or_those_shown_agreed(
    database: Database, tmp_path: Path, answer: PeopleShown | None, public: bool
) -> None:
    from models.notices import cards
    from reports import newsletter
    from reports.site import build_site

    library = build_library(database, tmp_path / "photos")
    with database.session() as session:
        improvement = session.get(Improvement, library.named)
        assert improvement is not None and improvement.photo_after_path
        improvement.people_shown = answer
        session.add(improvement)
    with database.session() as session:
        found = goodpractice.entry(session, library.named)
        assert found is not None
        assert (found.photo_before_path is not None, found.photo_after_path is not None) == (
            public,
            public,
        )
        assert (cards.card_photo(found) is not None) is public
        leaflet = newsletter.leaflet(
            session, improvement_id=library.named, language="vi", link="https://t.me/x"
        )
        build_site(session, tmp_path / "site", tz=ZoneInfo("Asia/Ho_Chi_Minh"),
                   today=date(2027, 3, 20), link="https://t.me/x")  # fmt: skip
    # The text is published either way; only the photos depend on the answer.
    assert "Kệ ba tầng cho nguyên liệu" in leaflet.html
    assert ("data:image/jpeg;base64," in leaflet.html) is public
    site_photos = {p.name for p in (tmp_path / "site" / "media").iterdir()}
    assert (f"{library.named}-after.jpg" in site_photos) is public
    assert f"{library.anonymous}-after.jpg" in site_photos  # another report is not affected


def test_the_reporter_says_who_is_in_the_photos_and_a_new_photo_asks_again(
    database: Database, tmp_path: Path
) -> None:
    from models import improvements as imp
    from models.improvements import PhotoSlot

    library = build_library(database)
    media_root = tmp_path / "media"
    with database.session() as session:
        reporter = Contact(telegram_user_id=7, chat_id=7, role=Role.WORKER,
                           enterprise_id=library.enterprises["moc"])  # fmt: skip
        colleague = Contact(telegram_user_id=8, chat_id=8, role=Role.WORKER,
                            enterprise_id=library.enterprises["moc"])  # fmt: skip
        session.add_all([reporter, colleague])
        session.flush()
        draft = imp.start_draft(session, reporter=reporter, area_code="storage", now=NOW)
        assert draft.id is not None
        imp.set_share(session, draft.id, reporter=reporter, consent=ShareConsent.ANONYMOUS,
                      now=NOW)  # fmt: skip
        assert not imp.asks_about_people(draft)  # no photo: nobody can be shown
        imp.set_photo(session, draft.id, reporter=reporter, slot=PhotoSlot.AFTER,
                      file_id="f1", path="improvements/1-after.jpg", media_root=media_root,
                      now=NOW)  # fmt: skip
        assert imp.asks_about_people(session.get(Improvement, draft.id))  # type: ignore[arg-type]
        stored = imp.set_people_shown(session, draft.id, reporter=reporter,
                                      answer=PeopleShown.AGREED, now=NOW)  # fmt: skip
        assert stored.people_shown == PeopleShown.AGREED
        assert session.exec(
            select(AuditLog).where(AuditLog.action == "improvement.people_shown")
        ).one().details == {"answer": "agreed"}
        with pytest.raises(ProgrammeError, match="unknown_report"):
            imp.set_people_shown(session, draft.id, reporter=colleague,
                                 answer=PeopleShown.NONE, now=NOW)  # fmt: skip
        # Another photo may show other people: the answer is asked again.
        replaced = imp.set_photo(session, draft.id, reporter=reporter, slot=PhotoSlot.AFTER,
                                 file_id="f2", path="improvements/1-after-2.jpg",
                                 media_root=media_root, now=NOW)  # fmt: skip
        assert replaced.people_shown is None
        with pytest.raises(ValueError):
            imp.set_people_shown(session, draft.id, reporter=reporter, answer="maybe",  # type: ignore[arg-type]
                                 now=NOW)  # fmt: skip
