"""`oshbot demo` plays the whole registration story through the sandbox."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from bot.demo import run_demo
from models.db import Database
from models.tables import Contact, Enterprise, Invite, Provider


async def test_demo_registers_every_role_and_writes_both_languages(tmp_path: Path) -> None:
    result = await run_demo(tmp_path / "demo")
    transcript = result.transcript_path.read_text(encoding="utf-8")
    assert "Chào mừng điều phối viên!" in transcript
    screens = {path.name for path in (tmp_path / "demo" / "screens").glob("*.png")}
    expected = {f"dashboard-{page}-{width}.png" for page in ("overview", "enterprise")
                for width in ("phone", "desktop")}  # fmt: skip
    if result.screens_missing:  # no Chromium or poppler here: the demo says so
        assert all("missing" in reason for reason in result.screens_missing)
    else:
        assert expected <= screens and {"leaflet-1-vi.png", "leaflet-1-en.png"} <= screens
    assert "Welcome to the team of Trung tâm Y tế lao động Cần Thơ!" in transcript
    assert "không còn hiệu lực" in transcript  # the expired and the mistyped code
    assert "have not stored anything" in transcript or "không lưu thông tin" in transcript
    # Zalo people beside the Telegram ones: choices as numbered lines, answered by words.
    assert "**Chị Hằng (thợ may) · Zalo** → tieng viet" in transcript
    assert "1. ✅ Tôi đồng ý\n> 2. ✅ Tôi đồng ý, nhưng không nhận mẹo" in transcript
    assert "> Trả lời 1, 2 hoặc 3." in transcript
    assert "Đã liên kết! Cuộc trò chuyện Zalo này" in transcript
    assert "| Trung tâm ATVSLĐ Đà Nẵng | Xưởng mộc Hòa Phát | 1 employer, 3 worker |" in (
        result.summary_text
    )
    database = Database(result.database_url)
    with database.session() as session:
        people = session.exec(select(Contact)).all()
        roles = sorted(c.role for c in people if c.removed_at is None)
        assert roles == ["coordinator", *["employer"] * 5, "staff", "staff", *["worker"] * 7]
        # One joined by typing the short code, one without an invite, two on Zalo; Bà Thu
        # linked her Zalo account to her Telegram registration and stays one person.
        on_zalo = sorted(c.display_name or "" for c in people if c.zalo_user_id is not None)
        assert on_zalo == ["Anh Quang (quản đốc)", "Bà Thu (giám đốc)", "Chị Hằng (thợ may)"]
        assert [c.telegram_user_id for c in people if c.display_name == "Bà Thu (giám đốc)"] == [
            3004
        ]
        # The stranger who joined with the leaked link was removed, and told so.
        assert [c.display_name for c in people if c.removed_at is not None] == ["Người lạ"]
        assert "Quyền tham gia theo dõi của Anh/Chị tại Cơ khí Tân Tiến đã kết thúc" in transcript
        assert len(session.exec(select(Provider)).all()) == 2
        # The fourth asked to join through the newsletter's QR code and was accepted.
        assert len(session.exec(select(Enterprise)).all()) == 4
        assert session.exec(select(Invite)).all()
    database.dispose()


async def test_demo_can_run_twice_in_the_same_folder(tmp_path: Path) -> None:
    await run_demo(tmp_path)
    second = await run_demo(tmp_path)
    assert "- enterprises: 4" in second.summary_text


async def test_demo_plays_improvement_reports_with_photos_and_a_review(tmp_path: Path) -> None:
    from models.tables import Improvement, ImprovementMessage

    result = await run_demo(tmp_path / "demo")
    transcript = result.transcript_path.read_text(encoding="utf-8")
    assert "> 📝 Báo cáo cải thiện mới #" in transcript  # the staff notice, with its buttons
    assert "> [✅ Xác nhận] [⭐ Điển hình tốt] [❓ Đặt câu hỏi]" in transcript
    assert "Chi phí không thể là số âm" in transcript  # a refusal on the way
    assert "Người báo cáo: một người lao động" in transcript  # never a worker's name
    database = Database(result.database_url)
    with database.session() as session:
        reports = session.exec(
            select(Improvement).where(
                col(Improvement.source).in_(["telegram", "zalo"]),
                col(Improvement.submitted_at).is_not(None),
            )
        ).all()
        statuses = sorted(str(r.status) for r in reports if r.reporter_id is not None)
        assert {"good_practice", "verified", "submitted"} <= set(statuses)
        with_photos = [r for r in reports if r.photo_before_path and r.photo_after_path]
        assert len(with_photos) >= 2
        for report in with_photos:
            photo = tmp_path / "demo" / "data" / "media" / report.photo_after_path  # type: ignore[operator]
            assert photo.read_bytes()[:2] == b"\xff\xd8"  # a real JPEG, downloaded
        # The report made on Zalo, its two photos fetched from their links, verified by the
        # staff member on Telegram.
        [on_zalo] = [r for r in reports if r.description.startswith("Làm tấm che dây curoa")]
        assert on_zalo.status == "verified" and on_zalo.photo_before_path
        assert on_zalo.source == "zalo"  # and every other report came by Telegram
        assert {r.source for r in reports if r is not on_zalo} == {"telegram"}
        assert on_zalo.photo_after_path
        kinds = [m.kind for m in session.exec(select(ImprovementMessage))]
        assert kinds == ["question", "answer"]
    database.dispose()
    # Each good practice as a leaflet in both languages.
    leaflets = sorted(p.name for p in (tmp_path / "demo" / "publications").glob("leaflet-*.pdf"))
    assert leaflets and {name.rsplit("-", 1)[1] for name in leaflets} == {"vi.pdf", "en.pdf"}
    assert len(leaflets) % 2 == 0


def test_a_fresh_process_keeps_the_summary_rollups(tmp_path: Path) -> None:
    """In its own process, where nothing imported the rollups module by chance first, the
    demo's writes must reach the rollups: the summary read from them equals the raw one."""
    import subprocess
    import sys
    from datetime import date
    from zoneinfo import ZoneInfo

    from reports.figures import Scope, year_period
    from reports.summary import build_summary

    subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "demo", "--out", str(tmp_path)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    database = Database(f"sqlite:///{tmp_path / 'oshbot.db'}")
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    with database.session() as session:
        figures = [
            build_summary(
                session,
                period=year_period(2027),
                scope=Scope(),
                tz=tz,
                today=date(2027, 4, 21),
                rollups=rollups,
            )
            for rollups in (True, False)
        ]
    database.dispose()
    assert figures[0].enterprises.in_programme == 4
    assert figures[0] == figures[1]


async def test_demo_makes_a_plan_and_links_a_report_to_it(tmp_path: Path) -> None:
    from models.tables import Improvement, PlanItem, PlanStatus

    result = await run_demo(tmp_path / "demo")
    transcript = result.transcript_path.read_text(encoding="utf-8")
    assert "4b. The action plan made at the training" in transcript
    assert "Đây có phải là một trong những cải thiện Anh/Chị đã lên kế hoạch không?" in transcript
    assert "“Giá kệ 3 tầng cho cuộn vải, kẻ vạch lối đi” đã được đánh dấu là đã thực hiện" in (
        transcript
    )
    database = Database(result.database_url)
    with database.session() as session:
        items = session.exec(select(PlanItem).order_by(PlanItem.id)).all()
        assert [item.status for item in items] == [
            PlanStatus.DONE, PlanStatus.PLANNED, PlanStatus.PLANNED,
        ]  # fmt: skip
        linked = session.get(Improvement, items[0].improvement_id)
        assert linked is not None and "giá kệ" in (linked.description or "").lower()
    database.dispose()


async def test_demo_answers_a_worker_s_voice_note_with_a_voice_note(tmp_path: Path) -> None:
    from models.tables import InboxMessage, InboxThread

    result = await run_demo(tmp_path / "demo")
    transcript = result.transcript_path.read_text(encoding="utf-8")
    scene = transcript.split("## 11. A voice note to the provider")[1]
    assert "[🎤 voice note] 📨 New message from a worker at Cơ khí Tân Tiến" in scene
    assert "[🎤 voice note] 💬 Trung tâm Y tế lao động Cần Thơ đã trả lời tin nhắn" in scene
    assert "Anh Khoa" not in scene.split("New message")[1].split("\n")[0]
    database = Database(result.database_url)
    with database.session() as session:
        thread = session.exec(select(InboxThread)).one()
        assert thread.status == "closed"
        kinds = [(m.incoming, m.kind) for m in session.exec(select(InboxMessage))]
        assert kinds == [(True, "voice"), (False, "voice")]
    database.dispose()


async def test_demo_records_a_visit_and_accepts_a_request_to_join(tmp_path: Path) -> None:
    from models.tables import EnrolmentRequest, Improvement, SurveyResponse

    result = await run_demo(tmp_path / "demo")
    transcript = result.transcript_path.read_text(encoding="utf-8")
    assert "Đã ghi là cải thiện thấy trong chuyến thăm" in transcript
    assert "📝 Khảo sát chủ doanh nghiệp: đã ghi thay trong chuyến thăm này." in transcript
    scene = transcript.split("## 12. Joining without an invite")[1]
    assert "🆕 Yêu cầu tham gia chương trình" in scene
    assert "🎉 Tin vui: Trung tâm ATVSLĐ Đà Nẵng đã chào đón Cơ sở đồ gỗ Hương Quê" in scene
    database = Database(result.database_url)
    with database.session() as session:
        [seen] = session.exec(select(Improvement).where(Improvement.source == "visit")).all()
        assert seen.photo_after_path and seen.seen_at_visit_id is not None
        assisted = session.exec(select(SurveyResponse).where(SurveyResponse.assisted)).all()
        assert len(assisted) == 1 and assisted[0].recorded_by_id is not None
        [request] = session.exec(select(EnrolmentRequest)).all()
        assert request.status == "accepted" and request.contact_id is not None
    database.dispose()
