"""The visit as a record, end to end: staff log a visit as done, go through the checklist of
earlier improvements and plan items in the chat, re-rate a risk, and the employers receive the
one-page visit report in their language; plus the refusals, the PDF's content and the
summary's figures, counted by hand."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import select

from bot.sandbox import SentMessage
from models import visit_checks
from models.db import sqlite_path
from models.programme import ProgrammeError
from models.tables import (
    CheckState,
    Contact,
    Outbox,
    PlanItem,
    PlanStatus,
    Provider,
    ReviewStatus,
    Role,
    Visit,
    VisitCheck,
    VisitStatus,
)
from reports import visit_report
from reports.figures import Scope, parse_period
from reports.summary import build_summary
from reports.text import summary_message, summary_text
from reports.xlsx import summary_rows
from scheduler import jobs
from scheduler.config import SchedulerConfig
from tests import test_zalo_driver
from tests.conftest import POSTGRES, World
from tests.factories import NOW, TZ, add_enterprise, add_improvement, add_person, local, run_visits
from tests.test_zalo_driver import Zalo, number_of
from tests.test_zalo_driver import text_of as zalo_text
from tests.test_zalo_practices import on_zalo

# The Zalo side of the world, as the driver's tests have it.
zalo = test_zalo_driver.zalo

SHELVES = "Kệ ba tầng cho nguyên liệu, lối đi sơn vạch vàng."
GUARD = "Lắp nắp che bánh đà máy bào."


def text_of(pdf: bytes, folder: Path) -> str:
    """The PDF's text, by pdftotext where poppler is installed, else by pypdf."""
    if shutil.which("pdftotext"):
        path = folder / "report.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout
    else:
        reader = PdfReader(io.BytesIO(pdf))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def plan_item(
    world: World,
    enterprise_id: int,
    what: str,
    *,
    area: str = "workstation",
    status: PlanStatus = PlanStatus.PLANNED,
    due_on: date = date(2027, 4, 30),
    improvement_id: int | None = None,
) -> int:
    with world.database.session() as session:
        item = PlanItem(
            enterprise_id=enterprise_id, area_code=area, what=what, who="Anh Hòa",
            due_on=due_on, status=status, improvement_id=improvement_id,
            done_at=NOW if status != PlanStatus.PLANNED else None,
            ended_at=NOW if status == PlanStatus.ENDED else None,
        )  # fmt: skip
        session.add(item)
        session.flush()
        assert item.id is not None
        return item.id


def item_status(world: World, item_id: int) -> PlanItem:
    with world.database.session() as session:
        item = session.get(PlanItem, item_id)
        assert item is not None
        return item


@pytest.fixture
def cast(world: World):  # type: ignore[no-untyped-def]
    """An enterprise with two earlier reports (one rated 9 -> 4, one unrated), a plan item
    carried out by the first report, one done, one still planned and one given up."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, name="Lan")
    add_person(world, 303, Role.EMPLOYER, enterprise_id=enterprise.id, name="Mai",
               language="en")  # fmt: skip
    shelves = add_improvement(world.database, enterprise.id, risk=(9, 4),
                              status=ReviewStatus.VERIFIED)  # fmt: skip
    guard = add_improvement(world.database, enterprise.id, area="machine", description=GUARD,
                            risk=None, status=ReviewStatus.SUBMITTED)  # fmt: skip
    items = {
        "linked": plan_item(world, enterprise.id, "Làm kệ để nguyên liệu", area="storage",
                            status=PlanStatus.DONE, improvement_id=shelves),
        "done": plan_item(world, enterprise.id, "Che chắn dây curoa máy cưa", area="machine",
                          status=PlanStatus.DONE, due_on=date(2027, 2, 28)),
        "planned": plan_item(world, enterprise.id, "Nâng bàn làm việc lên cao 80 cm"),
        "ended": plan_item(world, enterprise.id, "Thảm chống mỏi cho thợ đứng",
                           status=PlanStatus.ENDED),
    }  # fmt: skip
    return enterprise, shelves, guard, items


async def done_visit(world: World, enterprise_id: int) -> int:
    """A visit confirmed for 2 March, the outcome asked on 3 March, staff press Done."""
    with world.database.session() as session:
        visit = Visit(
            enterprise_id=enterprise_id, offset_months=1, due_on=date(2027, 2, 25),
            status=VisitStatus.CONFIRMED, scheduled_at=local(2027, 3, 2, 9),
            confirmed_at=local(2027, 3, 1, 9), nudged_at=local(2027, 3, 1, 9),
        )  # fmt: skip
        session.add(visit)
        session.flush()
        visit_id = visit.id
    assert visit_id is not None
    world.clock.now = local(2027, 3, 3, 8)
    assert run_visits(world)["outcome"] == 1
    await world.drain()
    await world.user(201).press("✅")
    return visit_id


def document(world: World, user_id: int) -> SentMessage:
    """The one document a person received (the survey invitation comes beside it)."""
    [found] = [m for m in world.user(user_id).account.messages() if m.document_filename]
    return found


def checks(world: World) -> list[VisitCheck]:
    with world.database.session() as session:
        return list(session.exec(select(VisitCheck).order_by(VisitCheck.id)))


async def test_staff_go_through_the_checklist_and_employers_get_the_report(
    world: World,
    cast,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    enterprise, shelves, guard, items = cast
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    await staff.press("Bỏ qua")  # no notes: straight to the checklist

    # 1 of 4: the first report; the plan item it carried out has no card of its own.
    first = staff.account.last()
    assert "Danh mục kiểm tra: Xưởng mộc Hòa Phát (1/4)" in first.plain
    assert SHELVES in first.plain
    assert [label for label, _ in staff.account.buttons(first)] == [
        "👍 Đang dùng", "🔸 Một phần", "🚫 Không dùng", "🏁 Kết thúc kiểm tra",
    ]  # fmt: skip
    await staff.press("Đang dùng", first)
    assert "4/9" in staff.last_text()  # the enterprise's own rating of the risk now
    await staff.press("Đánh giá lại")
    await staff.press("dễ xảy ra")
    await staff.press("nghiêm trọng")
    assert "6/9" in staff.texts()[-2] and "4/9" in staff.texts()[-2]

    # 2 of 4: the unrated report; the risk question can be skipped.
    assert "(2/4)" in staff.last_text() and GUARD in staff.last_text()
    await staff.press("Một phần")
    assert "chưa tự đánh giá" in staff.last_text()
    await staff.press("Bỏ qua")

    # 3 of 4: a done plan item, no longer in use; a second press on the first card is refused.
    assert "(3/4)" in staff.last_text() and "Che chắn dây curoa" in staff.last_text()
    await staff.press("Không dùng")
    first_state = f"vck:s:{visit_id}:i{shelves}:p"
    await staff.press_data(first.message_id, first_state)
    assert "đã được kiểm tra rồi" in (staff.answers()[-1] or "")

    # 4 of 4: a planned item found in use; then the end card, and Finish.
    assert "(4/4)" in staff.last_text() and "Nâng bàn" in staff.last_text()
    await staff.press("Đang dùng")
    assert "Đã xem: 4/4 mục." in staff.last_text()
    await staff.press("Kết thúc kiểm tra")
    copy = staff.account.last()
    assert copy.document_filename == f"visit-report-{visit_id}-vi.pdf"
    assert "Đã hoàn tất danh mục kiểm tra: đã xem 4/4 mục" in (copy.caption or "")

    found = checks(world)
    assert [(c.improvement_id, c.plan_item_id, c.state) for c in found] == [
        (shelves, None, CheckState.IN_USE),
        (guard, None, CheckState.PARTLY),
        (None, items["done"], CheckState.NO_LONGER),
        (None, items["planned"], CheckState.IN_USE),
    ]
    rated = found[0]
    assert (rated.self_score, rated.staff_likelihood, rated.staff_severity, rated.staff_score) == (
        4, 3, 2, 6,
    )  # fmt: skip
    assert found[1].staff_score is None and found[1].risk_checked_at is None
    # Plan items moved with what staff saw; the one given up before stays out of it.
    assert item_status(world, items["linked"]).status == PlanStatus.IN_USE
    assert item_status(world, items["done"]).status == PlanStatus.ENDED
    planned = item_status(world, items["planned"])
    assert planned.status == PlanStatus.IN_USE and planned.done_at == planned.in_use_at
    assert item_status(world, items["ended"]).status == PlanStatus.ENDED

    # Each employer gets the report once, in their language.
    with world.database.session() as session:
        queued = session.exec(select(Outbox.key).where(Outbox.kind == "visit-report")).all()
        employers = session.exec(select(Contact.id).where(Contact.role == Role.EMPLOYER)).all()
    assert sorted(queued) == sorted(f"visit-report:{visit_id}:{e}" for e in employers)
    assert len(queued) == 2
    await world.drain()
    lan, mai = (document(world, user) for user in (301, 303))
    assert lan.document_filename == f"visit-report-{visit_id}-vi.pdf"
    assert mai.document_filename == f"visit-report-{visit_id}-en.pdf"
    assert "Báo cáo chuyến thăm Xưởng mộc Hòa Phát ngày Thứ Ba, 02/03/2027" in (lan.caption or "")

    vi = text_of(lan.document_bytes or b"", tmp_path)
    assert pages(lan.document_bytes or b"") == 1
    for expected in (
        "Báo cáo chuyến thăm", "Xưởng mộc Hòa Phát", "Trung tâm ATVSLĐ Đà Nẵng",
        "Chuyến thăm ngày Thứ Ba, 02/03/2027", "do Dũng thực hiện",  # the agreed day
        "Đang sử dụng — " + SHELVES, "Sử dụng một phần — " + GUARD,
        "Không sử dụng — Che chắn dây curoa máy cưa",
        "Rủi ro hiện nay: Anh/Chị tự đánh giá 4/9, chúng tôi đánh giá 6/9.",
        "Những thay đổi kể từ khóa tập huấn (Thứ Hai, 25/01/2027)",
        "Cải thiện đã báo cáo: " + GUARD,
        "Việc trong kế hoạch hành động đã thực hiện: Nâng bàn làm việc lên cao 80 cm",
        "Lần thăm tới: khoảng Chủ Nhật, 25/04/2027",
    ):  # fmt: skip
        assert expected in vi, expected
    assert "Thảm chống mỏi" not in vi  # given up before the visit
    en = text_of(mai.document_bytes or b"", tmp_path)
    assert "What we saw" in en and "Risk now: your rating 4 of 9, ours 6 of 9." in en
    assert "Next visit: around Sun 25 Apr 2027" in en

    # Finish pressed again on an old card: nothing is sent twice.
    await staff.press_data(first.message_id, f"vck:f:{visit_id}")
    assert "đã hoàn tất" in staff.last_text()
    with world.database.session() as session:
        assert len(session.exec(select(Outbox).where(Outbox.kind == "visit-report")).all()) == 2


async def test_staff_may_finish_early_and_print_the_report_when_nobody_uses_the_chat(
    world: World,
) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    add_improvement(world.database, enterprise.id, risk=(6, 2))
    add_improvement(world.database, enterprise.id, description=GUARD, area="machine")
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    await staff.say("Công nhân đã dùng kệ mới hằng ngày.")  # notes first, then the checklist
    assert "(1/2)" in staff.last_text()
    await staff.press("Đang dùng")
    await staff.press("Tôi đồng ý")
    assert "đồng ý với mức doanh nghiệp tự đánh giá" in staff.texts()[-2]
    second = staff.account.last()
    assert "(2/2)" in second.plain
    partly = staff.account.buttons(second)[1][1]
    assert partly is not None
    await staff.press("Kết thúc kiểm tra")
    copy = staff.account.last()
    assert copy.document_filename == f"visit-report-{visit_id}-vi.pdf"
    assert "đã xem 1/2 mục" in (copy.caption or "")
    assert "in báo cáo này" in (copy.caption or "")
    [agreed] = checks(world)
    assert agreed.staff_score == agreed.self_score == 2
    # The second card is stale now.
    await staff.press_data(second.message_id, partly)
    assert "đã hoàn tất" in (staff.answers()[-1] or "")
    assert len(checks(world)) == 1


class Rendering:
    """visit_report.render held until the test lets it go: the moment a Finish renders."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.calls = 0
        real = visit_report.render

        def held(data: visit_report.ReportData, language: str) -> visit_report.Rendered:
            self.calls += 1
            self.started.set()
            assert self.release.wait(30), "the test never let the rendering go"
            return real(data, language)

        monkeypatch.setattr(visit_report, "render", held)

    async def begun(self) -> None:
        assert await asyncio.to_thread(self.started.wait, 30), "nothing was rendered"


def writers_wait(world: World) -> bool:
    """Whether a writer elsewhere would wait now: on SQLite, whether another connection fails
    to take the write lock at once; on PostgreSQL, whether a transaction is open (idle in
    transaction, or working) in another session of the database."""
    path = sqlite_path(world.database.url)
    if path is not None:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as error:
            assert "locked" in str(error)
            return True
        finally:
            other.close()
    with world.database.engine.connect() as connection:
        open_transactions = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        ).scalar_one()
    return bool(open_transactions)


async def test_no_writer_waits_while_finish_renders_the_report(
    world: World,
    cast,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rendering takes about a second a language: it happens before the transaction that
    closes the checklist and queues the report, never while that one holds the database."""
    enterprise, *_ = cast
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    await staff.press("Bỏ qua")
    rendering = Rendering(monkeypatch)
    finishing = asyncio.create_task(staff.press("Kết thúc kiểm tra"))
    try:
        await rendering.begun()
        assert not writers_wait(world)
    finally:
        rendering.release.set()
        await finishing
    assert rendering.calls == 2  # Vietnamese (Lan, and the staff member) and English (Mai)
    copy = staff.account.last()
    assert copy.document_filename == f"visit-report-{visit_id}-vi.pdf"
    assert "đã xem 0/4 mục" in (copy.caption or "")
    with world.database.session() as session:
        queued = session.exec(select(Outbox).where(Outbox.kind == "visit-report")).all()
    folder = world.settings.data_dir / "visit-reports" / str(visit_id)
    assert sorted(Path(row.payload["document_path"]).name for row in queued) == [
        f"visit-report-{visit_id}-en.pdf", f"visit-report-{visit_id}-vi.pdf",
    ]  # fmt: skip
    # In their place, whole; nothing else is left in the folder.
    assert sorted(p.name for p in folder.iterdir()) == [
        f"visit-report-{visit_id}-en.pdf", f"visit-report-{visit_id}-vi.pdf",
    ]  # fmt: skip
    assert (folder / f"visit-report-{visit_id}-vi.pdf").read_bytes() == copy.document_bytes


async def test_a_line_checked_while_the_report_renders_sends_nothing_until_finish_again(
    world: World,
    cast,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A colleague checks a line while Finish renders: the report rendered would be out of
    date, so nothing is closed or sent and the checklist is shown as it stands; the next
    Finish sends the report with the colleague's check in it."""
    enterprise, shelves, _, _ = cast
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    colleague = add_person(world, 202, Role.STAFF, provider_id=enterprise.provider_id)
    await staff.press("Bỏ qua")
    rendering = Rendering(monkeypatch)
    finishing = asyncio.create_task(staff.press("Kết thúc kiểm tra"))
    try:
        await rendering.begun()
        with world.database.session() as session:
            visit_checks.record(
                session, visit_id=visit_id, staff=colleague, kind="i", ref_id=shelves,
                state=CheckState.IN_USE, now=world.clock(),
            )  # fmt: skip
    finally:
        rendering.release.set()
        await finishing
    assert "vừa có thay đổi" in staff.texts()[-2]
    card = staff.account.last()
    assert "(2/4)" in card.plain and card.document_filename is None
    with world.database.session() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None and visit.checklist_done_at is None
        assert session.exec(select(Outbox).where(Outbox.kind == "visit-report")).all() == []
    folder = world.settings.data_dir / "visit-reports" / str(visit_id)
    assert list(folder.iterdir()) == []  # what was rendered for nothing is gone

    await staff.press("Kết thúc kiểm tra", card)
    copy = staff.account.last()
    assert copy.document_filename == f"visit-report-{visit_id}-vi.pdf"
    assert "đã xem 1/4 mục" in (copy.caption or "")
    with world.database.session() as session:
        assert len(session.exec(select(Outbox).where(Outbox.kind == "visit-report")).all()) == 2


LOOKS = 6000  # at pg_stat_activity, 10 ms apart: a writer that never waits fails the test
LOCK_WAITS = "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"


def waits_for_a_lock(world: World, until: Callable[[], bool]) -> bool:
    """Whether a session of the database comes to wait for a lock before `until()` holds."""
    watching = world.database.engine.execution_options(isolation_level="AUTOCOMMIT")
    with watching.connect() as watcher:  # each look a statement of its own: a fresh view
        for _ in range(LOOKS):
            if watcher.exec_driver_sql(LOCK_WAITS).scalar():
                return True
            if until():
                return False
            time.sleep(0.01)
    pytest.fail("neither waited nor ended")


@pytest.mark.skipif(not POSTGRES, reason="SQLite: Finish's transaction holds the write lock")
async def test_a_line_checked_while_finish_closes_the_checklist_waits_and_is_refused(
    world: World,
    cast,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two sessions on PostgreSQL: a colleague checks a line just after Finish's transaction
    read the report. The check waits for the visit's lock until Finish commits, then finds
    the checklist finished: the report sent lacks nothing that was recorded."""
    enterprise, shelves, _, _ = cast
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    colleague = add_person(world, 202, Role.STAFF, provider_id=enterprise.provider_id)
    await staff.press("Bỏ qua")
    real = visit_report.gather
    calls: list[int] = []
    refused: list[str] = []
    waited: list[bool] = []

    def check() -> None:
        try:
            with world.database.session() as session:
                visit_checks.record(
                    session, visit_id=visit_id, staff=colleague, kind="i", ref_id=shelves,
                    state=CheckState.IN_USE, now=world.clock(),
                )  # fmt: skip
        except ProgrammeError as error:
            refused.append(error.code)

    def gather(*args, **kwargs):  # type: ignore[no-untyped-def]
        data = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:  # the final reading, in Finish's transaction
            thread = threading.Thread(target=check)
            thread.start()
            threads.append(thread)
            waited.append(waits_for_a_lock(world, lambda: not thread.is_alive()))
        return data

    threads: list[threading.Thread] = []
    monkeypatch.setattr(visit_report, "gather", gather)
    await staff.press("Kết thúc kiểm tra")
    for thread in threads:
        await asyncio.to_thread(thread.join)
    assert waited == [True]
    assert refused == ["checklist_finished"]
    copy = staff.account.last()
    assert "đã xem 0/4 mục" in (copy.caption or "")
    assert checks(world) == []


@pytest.mark.skipif(not POSTGRES, reason="SQLite: one writer at a time already")
async def test_finish_waits_for_a_line_being_checked_and_shows_the_checklist_again(
    world: World,
    cast,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two sessions on PostgreSQL: a colleague's check is in its transaction, not committed,
    when Finish's transaction begins. Finish waits for it, reads it, and sends nothing: its
    report was rendered without that line."""
    enterprise, shelves, _, _ = cast
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    colleague = add_person(world, 202, Role.STAFF, provider_id=enterprise.provider_id)
    await staff.press("Bỏ qua")
    rendering = Rendering(monkeypatch)
    recorded, commit = threading.Event(), threading.Event()

    def check() -> None:
        with world.database.session() as session:
            visit_checks.record(
                session, visit_id=visit_id, staff=colleague, kind="i", ref_id=shelves,
                state=CheckState.IN_USE, now=world.clock(),
            )  # fmt: skip
            session.flush()
            recorded.set()
            assert commit.wait(30), "the test never let the check commit"

    finishing = asyncio.create_task(staff.press("Kết thúc kiểm tra"))
    thread = threading.Thread(target=check)
    try:
        await rendering.begun()
        thread.start()
        assert await asyncio.to_thread(recorded.wait, 30)
        rendering.release.set()
        waited = await asyncio.to_thread(waits_for_a_lock, world, finishing.done)
    finally:
        rendering.release.set()
        commit.set()
        await finishing
        await asyncio.to_thread(thread.join)
    assert waited
    assert "vừa có thay đổi" in staff.texts()[-2]
    assert "(2/4)" in staff.account.last().plain
    with world.database.session() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None and visit.checklist_done_at is None
        assert session.exec(select(Outbox).where(Outbox.kind == "visit-report")).all() == []


def test_the_retention_job_deletes_drafts_left_by_a_process_that_died(world: World) -> None:
    """A process that died while Finish rendered leaves its `.part` drafts: the daily retention
    job deletes those older than a day; a draft a Finish may still be using, and the reports
    published, stay."""
    now = world.clock()
    config = SchedulerConfig.from_settings(world.settings)
    assert config.data_dir == world.settings.data_dir
    folder = visit_report.folder_of(world.settings.data_dir, 7)
    folder.mkdir(parents=True)
    files = {
        name: folder / name for name in ("tmpold.part", "tmpnew.part", "visit-report-7-vi.pdf")
    }
    for name, path in files.items():
        path.write_bytes(b"%PDF")
        age = timedelta(days=3) if "old" in name or name.endswith(".pdf") else timedelta(hours=2)
        stamp = (now - age).timestamp()
        os.utime(path, (stamp, stamp))
    with world.database.session() as session:
        assert jobs.retention_job(session, now, config=config)["drafts"] == 1
        assert jobs.retention_job(session, now, config=config)["drafts"] == 0
    assert sorted(p.name for p in folder.iterdir()) == ["tmpnew.part", "visit-report-7-vi.pdf"]
    bare = dataclasses.replace(config, data_dir=None)  # as in tests of other jobs: left alone
    with world.database.session() as session:
        assert "drafts" not in jobs.retention_job(session, now, config=bare)


async def test_on_zalo_too_no_writer_waits_while_finish_renders_the_report(
    world: World,
    zalo: Zalo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same through the Zalo driver: staff on Zalo pick a done visit up with /visit and
    answer Finish's number; the employer on Telegram gets the report through the outbox."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, name="Lan")
    staff = on_zalo(world, zalo, "zs1", Role.STAFF, provider_id=enterprise.provider_id)
    with world.database.session() as session:
        visit = Visit(enterprise_id=enterprise.id, offset_months=1, due_on=date(2027, 2, 25),
                      status=VisitStatus.DONE, scheduled_at=local(2027, 3, 2, 9),
                      done_at=local(2027, 3, 2, 11))  # fmt: skip
        session.add(visit)
        session.flush()
        visit_id = visit.id
    world.clock.now = local(2027, 3, 3, 8)
    card = await zalo.say(staff, f"/visit {enterprise.id}")
    rendering = Rendering(monkeypatch)
    finish = number_of(card, "🏁 Kết thúc kiểm tra")
    finishing = asyncio.create_task(zalo.say(staff, finish))
    try:
        await rendering.begun()
        assert not writers_wait(world)
    finally:
        rendering.release.set()
        copy = await finishing
    assert "Đã hoàn tất danh mục kiểm tra" in zalo_text(copy)
    assert "Tải về:" in zalo_text(copy)  # the staff member's copy, as a link
    await world.drain()
    assert document(world, 301).document_filename == f"visit-report-{visit_id}-vi.pdf"


async def test_others_cannot_check_and_a_missed_visit_has_no_checklist(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    enterprise, shelves, _, _ = cast
    with world.database.session() as session:
        other = Provider(name="Trung tâm khác", province_code="hue")
        session.add(other)
        session.flush()
        other_id = other.id
    assert other_id is not None
    add_person(world, 202, Role.STAFF, provider_id=other_id, name="Khác")
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    await staff.press("Bỏ qua")
    stranger, employer = world.user(202), world.user(301)
    for person in (stranger, employer):
        shown = await person.say("/help")
        assert shown is not None
        await person.press_data(shown.message_id, f"vck:s:{visit_id}:i{shelves}:u")
        assert "không dành cho" in (person.answers()[-1] or "")
        await person.press_data(shown.message_id, f"vck:f:{visit_id}")
        await person.press_data(shown.message_id, "vck:s:abc")
    assert checks(world) == []
    with world.database.session() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None and visit.checklist_done_at is None

    # A visit that did not happen goes to no checklist.
    with world.database.session() as session:
        missed = Visit(enterprise_id=enterprise.id, offset_months=3, due_on=date(2027, 3, 2),
                       status=VisitStatus.CONFIRMED, scheduled_at=local(2027, 3, 3, 9))  # fmt: skip
        session.add(missed)
        session.flush()
        missed_id = missed.id
    world.clock.now = local(2027, 3, 4, 8)
    run_visits(world)
    await world.drain()
    await staff.press("✖")
    await staff.press("Bỏ qua")
    assert "Danh mục kiểm tra" not in staff.last_text()
    with world.database.session() as session, pytest.raises(ProgrammeError) as refused:
        staff_contact = session.exec(select(Contact).where(Contact.telegram_user_id == 201)).one()
        visit_checks.record(session, visit_id=missed_id, staff=staff_contact,  # type: ignore[arg-type]
                            kind="i", ref_id=shelves, state=CheckState.IN_USE,
                            now=world.clock())  # fmt: skip
    assert refused.value.code == "visit_not_done"


async def test_a_visit_with_nothing_to_check_still_sends_its_report(world: World) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, name="Lan")
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    await staff.press("Bỏ qua")
    assert "Đã xem: 0/0 mục." in staff.last_text()  # the end card, with nothing to check
    await staff.press("Kết thúc kiểm tra")
    copy = staff.account.last()
    assert copy.document_filename == f"visit-report-{visit_id}-vi.pdf"
    assert "đã xem 0/0 mục" in (copy.caption or "")
    await world.drain()
    text = text_of(document(world, 301).document_bytes or b"", Path(world.settings.data_dir))
    assert "Trong chuyến thăm này chúng tôi chưa xem lại các cải thiện trước đây." in text
    assert "Trong thời gian này chưa có cải thiện mới nào được báo cáo." in text


# -- the PDF, from data ------------------------------------------------------------------------


def report_data(seen: int, changed: int) -> visit_report.ReportData:
    enterprise = visit_report.Visited("Công ty May Thu Hà", "da-nang")
    long = "Lắp quạt hút bụi và che chắn khu vực cắt vải để người lao động dễ thở hơn. " * 3
    return visit_report.ReportData(
        visit_id=7, enterprise=enterprise, provider="Trung tâm ATVSLĐ Đà Nẵng", staff="Dũng",
        day=date(2027, 6, 2),
        seen=[visit_report.Seen("environment", f"{n}. {long}"[:180], "in_use", False, 6, 4)
              for n in range(seen)],
        since=date(2027, 3, 3), since_training=False,
        reported=[visit_report.Changed("storage", f"Việc {n}: {long}"[:180])
                  for n in range(changed)],
        carried_out=[], next_visit=date(2027, 9, 2), next_confirmed=True,
    )  # fmt: skip


def test_a_long_visit_still_fits_one_page_and_says_how_much_is_left_out(tmp_path: Path) -> None:
    full = visit_report.render(report_data(seen=3, changed=1), "vi")
    text = text_of(full.pdf, tmp_path)
    assert full.pages == 1
    assert "Những thay đổi kể từ lần thăm trước (Thứ Tư, 03/03/2027)" in text
    assert "Anh/Chị tự đánh giá 6/9, chúng tôi đánh giá 4/9" in text
    assert "Lần thăm tới: Thứ Năm, 02/09/2027 (đã xác nhận)." in text
    assert "mục khác" not in text

    crowded = visit_report.render(report_data(seen=40, changed=30), "vi")
    assert crowded.pages == 1 and pages(crowded.pdf) == 1
    text = text_of(crowded.pdf, tmp_path)
    assert "0. Lắp quạt hút bụi" in text
    shown = sum(1 for n in range(40) if f"{n}. Lắp quạt" in text)
    assert 0 < shown < 40 and f"… và {40 - shown} mục khác." in text


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_the_report_renders_to_an_image(tmp_path: Path) -> None:
    """The page as the employer sees it (the PNG stays in the test's folder to look at)."""
    path = visit_report.write(report_data(seen=4, changed=2), "vi", tmp_path)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / "page")], check=True)
    [page] = sorted(tmp_path.glob("page-*.png"))
    assert page.stat().st_size > 20_000


# -- the figures -------------------------------------------------------------------------------


def test_revisit_figures_count_each_thing_once_by_its_latest_check(world: World) -> None:
    """By hand, Q1 2027 (checks on 3 and 20 March; one in April is outside):
    the shelves: partly on 3 March, in use on 20 March -> in use (latest); risk 4 vs 6: higher
    the guard: no longer in use on 3 March; risk agreed (2 = 2)
    the plan item: in use on 3 March
    the fan (another area): in use, risk lower (6 vs 3)
    => 4 checked: 3 in use, 0 partly, 1 no longer; risk checked 3: 1 agreed, 1 higher, 1 lower.
    The storage area alone: the shelves only -> 1 checked, 1 in use; risk 1 checked, 1 higher."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    staff = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id)
    shelves = add_improvement(world.database, enterprise.id, risk=(9, 4))
    guard = add_improvement(world.database, enterprise.id, risk=(6, 2), area="machine")
    fan = add_improvement(world.database, enterprise.id, risk=(9, 6), area="environment")
    item = plan_item(world, enterprise.id, "Nâng bàn làm việc lên cao 80 cm")
    with world.database.session() as session:
        visits = []
        for day in (3, 20):
            visit = Visit(enterprise_id=enterprise.id, due_on=date(2027, 3, day),
                          status=VisitStatus.DONE, done_at=local(2027, 3, day))  # fmt: skip
            session.add(visit)
            visits.append(visit)
        late = Visit(enterprise_id=enterprise.id, due_on=date(2027, 4, 2),
                     status=VisitStatus.DONE, done_at=local(2027, 4, 2))  # fmt: skip
        session.add(late)
        session.flush()
        first, second = (v.id for v in visits)

        def check(visit_id, kind, ref, state, day, month=3, **risk):  # type: ignore[no-untyped-def]
            made = visit_checks.record(session, visit_id=visit_id, staff=staff, kind=kind,
                                       ref_id=ref, state=state,
                                       now=local(2027, month, day))  # fmt: skip
            if risk:
                visit_checks.rate_risk(session, check_id=made.id, staff=staff,
                                       now=local(2027, month, day), **risk)  # fmt: skip

        check(first, "i", shelves, CheckState.PARTLY, 3)
        check(first, "i", guard, CheckState.NO_LONGER, 3, agree=True)
        check(first, "p", item, CheckState.IN_USE, 3)
        check(first, "i", fan, CheckState.IN_USE, 3, likelihood=3, severity=1)
        check(second, "i", shelves, CheckState.IN_USE, 20, likelihood=3, severity=2)
        check(late.id, "i", guard, CheckState.IN_USE, 2, month=4, likelihood=3, severity=3)
        with pytest.raises(ProgrammeError) as twice:
            check(first, "i", shelves, CheckState.IN_USE, 3)
        assert twice.value.code == "check_done"

    with world.database.session() as session:
        start, end = datetime(2027, 1, 1, tzinfo=TZ), datetime(2027, 4, 1, tzinfo=TZ)
        counts = visit_checks.revisit_counts(session, enterprise_ids=None, start=start, end=end)
        assert counts == visit_checks.RevisitCounts(4, 3, 0, 1, 3, 1, 1, 1)
        storage = visit_checks.revisit_counts(
            session, enterprise_ids=None, start=start, end=end, area_code="storage"
        )
        assert storage == visit_checks.RevisitCounts(1, 1, 0, 0, 1, 0, 1, 0)
        summary = build_summary(session, period=parse_period("2027-Q1"), scope=Scope(), tz=TZ,
                                today=date(2027, 4, 10))  # fmt: skip
    assert summary.revisits.checked == 4 and summary.revisits.in_use == 3
    assert summary.revisits.in_use_share == 0.75
    assert summary.as_dict()["revisits"]["risk_checked"] == 3
    message = summary_message(summary, "vi")
    assert "Cải thiện đang sử dụng khi thăm lại: 3/4 mục đã xem (75%)" in message
    assert "(1 đồng ý, 1 đánh giá cao hơn, 1 thấp hơn)" in message
    assert "in use at revisit: 3 (75%)" in summary_text(summary, "en")
    rows = {(row[0], row[2]): row[3:] for row in summary_rows(summary, "en")}
    assert rows[("revisits", "improvements and plan items checked at revisits")] == (4, None)
    assert rows[("revisits", "in use at revisit")] == (3, 4)
    assert rows[("revisits", "risk verified against the self-rating")] == (3, None)
    assert rows[("revisits", "staff rate the risk higher")] == (1, 3)


async def test_at_the_enterprise_visit_logs_the_visit_and_picks_the_checklist_up_again(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    enterprise, shelves, _, _ = cast
    other = add_enterprise(world, provider_id=enterprise.provider_id, name="Công ty May Thu Hà")
    staff, employer = world.user(201), world.user(301)
    run_visits(world)  # the 1, 3, 6 and 12-month revisits of both enterprises are planned
    await world.drain()

    await staff.say("/visit")
    assert "Anh/Chị đang thăm doanh nghiệp nào?" in staff.last_text()
    assert [label for label, _ in staff.account.buttons()] == [
        "Công ty May Thu Hà", "Xưởng mộc Hòa Phát",
    ]  # fmt: skip
    await staff.press("Xưởng mộc")
    assert "Ghi nhận chuyến thăm Xưởng mộc Hòa Phát hôm nay" in staff.last_text()
    await staff.press("Có, chuyến thăm đã diễn ra")
    await staff.press("Bỏ qua")
    assert "(1/4)" in staff.last_text()
    with world.database.session() as session:
        first = session.exec(
            select(Visit).where(Visit.enterprise_id == enterprise.id, Visit.offset_months == 1)
        ).one()
    assert first.status == VisitStatus.DONE and first.done_at == world.clock()

    await staff.press("Đang dùng")
    await staff.press("Bỏ qua")  # no opinion on the risk
    assert "(2/4)" in staff.last_text()
    # Interrupted; /visit again picks the checklist up where it stopped.
    await staff.say("/help")
    await staff.say(f"/visit {enterprise.id}")
    assert "(2/4)" in staff.last_text() and GUARD in staff.last_text()
    assert [c.improvement_id for c in checks(world)] == [shelves]

    # An enterprise whose plan has no open visit left says so; others may not use /visit.
    with world.database.session() as session:
        for visit in session.exec(select(Visit).where(Visit.enterprise_id == other.id)):
            visit.status = VisitStatus.CANCELLED
            session.add(visit)
    await staff.say(f"/visit {other.id}")
    assert "Công ty May Thu Hà hiện không có chuyến thăm nào cần ghi nhận" in staff.last_text()
    await employer.say("/visit")
    assert "chỉ dành cho cán bộ" in employer.last_text()
    await staff.say("/visit 99999")
    assert "không còn trong chương trình" in staff.last_text()


def test_the_export_lists_every_check_of_the_period(world: World) -> None:
    """One row per check made in the period, codes as words, both risk ratings side by side."""
    from reports.text import area_name
    from reports.xlsx import export_sheets

    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    staff = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id)
    shelves = add_improvement(world.database, enterprise.id, risk=(9, 4))
    item = plan_item(world, enterprise.id, "Nâng bàn làm việc lên cao 80 cm")
    with world.database.session() as session:
        visit = Visit(enterprise_id=enterprise.id, due_on=date(2027, 3, 3),
                      status=VisitStatus.DONE, done_at=local(2027, 3, 3))  # fmt: skip
        session.add(visit)
        session.flush()
        assert visit.id is not None
        made = visit_checks.record(session, visit_id=visit.id, staff=staff, kind="i",
                                   ref_id=shelves, state=CheckState.PARTLY,
                                   now=local(2027, 3, 3, 10))  # fmt: skip
        visit_checks.rate_risk(session, check_id=made.id, staff=staff, likelihood=1,  # type: ignore[arg-type]
                               severity=3, now=local(2027, 3, 3, 10))  # fmt: skip
        visit_checks.record(session, visit_id=visit.id, staff=staff, kind="p", ref_id=item,
                            state=CheckState.NO_LONGER, now=local(2027, 3, 3, 11))  # fmt: skip
        summary = build_summary(session, period=parse_period("2027-Q1"), scope=Scope(), tz=TZ,
                                today=date(2027, 4, 10))  # fmt: skip
        [sheet] = [s for s in export_sheets(session, summary=summary, tz=TZ, language="vi")
                   if s.name == "visit_checks"]  # fmt: skip
        rows = [tuple(row) for row in sheet.rows()]
        assert sheet.count() == 2
    assert [row[3:10] for row in rows] == [
        (shelves, None, area_name("storage", "vi"), SHELVES, "sử dụng một phần", 4, 3),
        (None, item, area_name("workstation", "vi"), "Nâng bàn làm việc lên cao 80 cm",
         "không sử dụng", None, None),
    ]  # fmt: skip
    assert rows[0][10] == datetime(2027, 3, 3, 10)  # programme time, as the workbook shows it
