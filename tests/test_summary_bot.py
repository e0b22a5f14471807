"""/summary, /export and /progress through the real Application and the sandbox.

The world's clock stands at 01/03/2027, so "this quarter" is 2027-Q1, whose figures the
programme of tests/test_summary.py gives by hand.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from bot.playback import Person
from bot.sandbox import SentMessage
from models.tables import Role
from tests.conftest import World
from tests.factories import Programme, coordinator, join, make_invite, seed, staff

PNG = b"\x89PNG\r\n\x1a\n"
STALE = "Nút này không còn hiệu lực."


def sent_since(person: Person, before: int) -> list[SentMessage]:
    return person.account.messages()[before:]


async def open_panel(person: Person) -> SentMessage:
    panel = await person.say("📊 Tổng hợp")
    assert panel is not None and "Tổng hợp theo dõi" in panel.plain, person.last_text()
    return panel


async def show(world: World, person: Person, panel: SentMessage) -> list[SentMessage]:
    before = len(person.account.messages())
    await person.press("📊 Xem", panel)
    photos = sent_since(person, before)
    # One tap, three messages: the most Telegram lets a chat receive in a burst.
    assert [m.method for m in photos] == ["sendPhoto"] * 3
    for photo in photos:
        assert photo.photo is not None
        assert world.sandbox.files[photo.photo].data.startswith(PNG)
    return photos


async def test_staff_sees_their_provider_for_the_quarter(world: World) -> None:
    programme = seed(world.database)
    person = await staff(world, 9001, programme.p1)
    panel = await open_panel(person)
    assert "Phạm vi: Trung tâm ATVSLĐ Đà Nẵng" in panel.plain
    assert "🏢 Đơn vị ▸" not in [label for label, _ in person.account.buttons(panel)]
    await person.press("Quý này", panel)
    assert "Kỳ: quý 1/2027" in panel.plain and "✓ Quý này" in str(person.account.buttons(panel))
    caption = (await show(world, person, panel))[0].caption or ""
    assert "Tổng hợp theo dõi, quý 1/2027" in caption
    assert "Doanh nghiệp: 3 tham gia, 3 đã được theo dõi, 0 chưa có báo cáo" in caption
    assert "Cải thiện: 6; đã xác nhận: 4; điển hình tốt: 1" in caption
    assert "Điểm rủi ro 6,3 → 3,3 (n = 4)" in caption
    assert "2/3 rủi ro cao đã xuống mức trung bình hoặc thấp" in caption
    assert "Người lao động (3): an toàn hơn 4,0/5" in caption
    assert "Cơ khí Tân Tiến" not in caption and "Cần Thơ" not in caption


async def test_filters_and_suppression_in_chat(world: World) -> None:
    programme = seed(world.database)
    person = await staff(world, 9002, programme.p1)
    panel = await open_panel(person)
    await person.press("Quý này", panel)
    await person.press("🏭 Ngành ▸", panel)
    assert "Ngành nào?" in panel.plain
    await person.press("Gỗ", panel)
    assert "Lọc: Gỗ, nội thất" in panel.plain
    caption = (await show(world, person, panel))[0].caption or ""
    # E1 and E3 are wood; E1's two workers are too few to show.
    assert "Doanh nghiệp: 2 tham gia" in caption
    assert "Người lao động (2): quá ít câu trả lời để hiển thị" in caption
    await person.press("🏭 Ngành ▸", panel)
    await person.press("Không lọc", panel)
    assert "Lọc: không" in panel.plain or "Lọc: none" in panel.plain


async def test_the_choice_survives_a_restart(world: World) -> None:
    programme = seed(world.database)
    person = await staff(world, 9003, programme.p1)
    panel = await open_panel(person)
    await person.press("Quý này", panel)
    await person.press("📍 Tỉnh ▸", panel)
    await person.press("Huế", panel)
    await world.restart()
    caption = (await show(world, person, panel))[0].caption or ""
    assert "Huế" in caption and "Doanh nghiệp: 1 tham gia" in caption


async def test_coordinator_chooses_a_provider(world: World) -> None:
    programme = seed(world.database)
    boss = await coordinator(world, 9004)
    panel = await open_panel(boss)
    assert "Phạm vi: toàn chương trình" in panel.plain
    await boss.press("Quý này", panel)
    caption = (await show(world, boss, panel))[0].caption or ""
    assert "Doanh nghiệp: 4 tham gia, 3 đã được theo dõi, 1 chưa có báo cáo" in caption
    await boss.press("🏢 Đơn vị ▸", panel)
    await boss.press("Trung tâm Y tế lao động Cần Thơ", panel)
    assert "Phạm vi: Trung tâm Y tế lao động Cần Thơ" in panel.plain
    photos = await show(world, boss, panel)
    assert "Cải thiện: 0" in (photos[0].caption or "")
    assert "Rủi ro: chưa có cải thiện nào" in (photos[0].caption or "")
    assert programme.p2


async def test_export_sends_a_workbook_and_csv_files(world: World) -> None:
    programme = seed(world.database)
    person = await staff(world, 9005, programme.p1)
    panel = await open_panel(person)
    await person.press("Quý này", panel)
    before = len(person.account.messages())
    await person.press("📥 Xuất tệp", panel)
    documents = sent_since(person, before)
    assert [m.method for m in documents] == ["sendDocument", "sendDocument"]
    workbook_message, archive_message = documents
    assert workbook_message.document_filename == "oshbot-2027-Q1.xlsx"
    workbook = load_workbook(io.BytesIO(workbook_message.document_bytes or b""), read_only=True)
    assert workbook.sheetnames[:5] == ["Doanh nghiệp", "Cải thiện", "Trả lời khảo sát",
                                       "Lượt thăm", "Tổng hợp"]  # fmt: skip
    enterprises = list(workbook["Doanh nghiệp"].iter_rows(values_only=True))
    assert enterprises[0][:3] == ("mã doanh nghiệp", "đơn vị", "doanh nghiệp")
    assert {row[2] for row in enterprises[1:]} == {
        "Xưởng mộc Hòa Phát", "Công ty May Thu Hà", "Mộc Thuận An",
    }  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(archive_message.document_bytes or b"")) as archive:
        assert set(archive.namelist()) >= {
            "enterprises.csv", "improvements.csv", "summary.csv", "survey_answers.csv",
            "visits.csv",
        }  # fmt: skip
        improvements = archive.read("improvements.csv").decode("utf-8-sig").splitlines()
    assert len(improvements) == 1 + 6
    assert person.account.messages()[-1].caption == "Các bảng trên ở dạng tệp CSV (UTF-8)."
    # /export opens the same panel.
    assert "Tổng hợp theo dõi" in ((await person.say("/export")) or panel).plain


async def test_others_are_refused_and_forged_buttons_do_nothing(world: World) -> None:
    programme = seed(world.database)
    employer = await employer_of(world, programme, 9006)
    await employer.say("/summary")
    assert employer.last_text() == "Xin lỗi, chức năng này chỉ dành cho cán bộ chương trình."
    person = await staff(world, 9007, programme.p1)
    panel = await open_panel(person)
    for data in ("sum:v:province:atlantis", "sum:p:next_decade", "sum:f:provider",
                 f"sum:v:provider:{programme.p2}", "sum:v:sector:"):  # fmt: skip
        before = len(person.account.messages())
        await person.press_data(panel.message_id, data)
        assert person.answers()[-1] == STALE, data
        assert len(person.account.messages()) == before
    assert "Phạm vi: Trung tâm ATVSLĐ Đà Nẵng" in panel.plain
    # An employer pressing a staff panel's button (e.g. forwarded data) is refused.
    employer_panel = employer.account.messages()[-1]
    await employer.press_data(employer_panel.message_id, "sum:go")
    assert employer.answers()[-1] == "Xin lỗi, chức năng này chỉ dành cho cán bộ chương trình."


async def employer_of(world: World, programme: Programme, user_id: int) -> Person:
    await join(world, user_id, make_invite(world, Role.EMPLOYER, enterprise_id=programme.e1))
    return world.user(user_id)


async def test_employer_progress_beside_peers(world: World) -> None:
    programme = seed(world.database)
    employer = await employer_of(world, programme, 9008)
    shown = await employer.say("📈 Kết quả của chúng tôi")
    assert shown is not None
    text = shown.plain
    assert "Xưởng mộc Hòa Phát: kết quả của doanh nghiệp, quý 1/2027" in text
    assert "Cải thiện Anh/Chị đã báo cáo: 3 (2 đã được xác nhận)" in text
    assert "quá ít câu trả lời để hiển thị" in text
    assert "chưa đủ doanh nghiệp cùng ngành" in text
    assert "Mộc Thuận An" not in text
    await employer.press("Năm nay", shown)
    assert "năm 2027" in shown.plain and "Cải thiện Anh/Chị đã báo cáo: 4" in shown.plain
    worker = world.user(9009)
    await join(world, 9009, make_invite(world, Role.WORKER, enterprise_id=programme.e1))
    await worker.say("/progress")
    assert "dành cho chủ doanh nghiệp" in worker.last_text()


async def test_an_export_too_large_for_telegram_comes_as_download_links(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram takes at most 50 MB from a bot: larger files come as signed links to
    `oshbot serve` (OSHBOT_PUBLIC_URL), valid two days, and the retention job deletes them
    after; without a public address the person is told where the operator finds them."""
    from bot.dashboard.auth import secret_of
    from handlers import summary as chat_summary
    from models import links
    from scheduler.config import SchedulerConfig
    from scheduler.jobs import retention_job

    monkeypatch.setattr(chat_summary, "DOCUMENT_LIMIT", 100)  # every export is "too large"
    programme = seed(world.database)
    person = await staff(world, 9006, programme.p1)
    panel = await open_panel(person)
    before = len(person.account.messages())
    await person.press("📥 Xuất tệp", panel)
    [told] = sent_since(person, before)
    assert told.method == "sendMessage" and "oshbot export" in told.plain
    world.settings.public_url = "https://osh.example.vn"
    before = len(person.account.messages())
    await person.press("📥 Xuất tệp", panel)
    [sent] = sent_since(person, before)
    assert "trong hai ngày" in sent.plain or "two days" in sent.plain, sent.plain
    found = re.findall(r'href="https://osh\.example\.vn/files/([^"]+)"', sent.text)
    assert len(found) == 2
    secret, data_dir = secret_of(world.settings), world.settings.data_dir
    files = [links.linked_file(token, secret, data_dir, now=world.clock()) for token in found]
    assert sorted(path.suffix for path in files) == [".xlsx", ".zip"]
    config = SchedulerConfig.from_settings(world.settings)
    with world.database.session() as session:
        assert retention_job(session, world.clock(), config=config)["downloads"] == 0
    later = world.clock() + timedelta(days=3)
    with world.database.session() as session:
        assert retention_job(session, later, config=config)["downloads"] == 1
    assert not any(path.exists() for path in files)
