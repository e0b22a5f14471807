"""The action plan end to end: made in the chat by the employer and by staff, moved along
planned -> done -> still in use / no longer in use, with refusals for bad input, foreign and
stale buttons. Time moves with `world.clock` (1 March 2027; training on 25 January)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from models import plans
from models.programme import ProgrammeError
from models.tables import AuditLog, PlanItem, PlanStatus, Provider, Role
from tests.conftest import World
from tests.factories import add_enterprise, add_person


@pytest.fixture
def cast(world: World):  # type: ignore[no-untyped-def]
    enterprise = add_enterprise(world)
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, name="Lan")
    add_person(world, 302, Role.WORKER, enterprise_id=enterprise.id, name="Bình")
    return enterprise


def stored(world: World) -> list[PlanItem]:
    with world.database.session() as session:
        return list(session.exec(select(PlanItem).order_by(PlanItem.id)))  # type: ignore[arg-type]


def add_item(world: World, enterprise_id: int, **fields: object) -> PlanItem:
    values = {
        "area_code": "storage",
        "what": "Kệ ba tầng cho thùng sơn",
        "who": "Anh Hùng",
        "due_on": date(2027, 4, 30),
    }
    values.update(fields)
    with world.database.session() as session:
        return plans.add_item(
            session,
            enterprise_id=enterprise_id,
            draft=plans.ItemDraft(**values),  # type: ignore[arg-type]
            actor=None,
            today=date(2027, 3, 1),
            now=world.clock(),
        )


async def test_the_employer_adds_an_item_and_bad_answers_lose_nothing(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    employer = world.user(301)
    await employer.say("/plan")
    assert "Chưa có cải thiện nào" in employer.last_text()
    await employer.press("➕")
    await employer.send("sticker")
    assert "chọn lĩnh vực bằng các nút" in employer.last_text()
    await employer.press("Lưu giữ")  # storage and handling
    await employer.say("Kệ")  # too short
    assert "ít nhất 5 ký tự" in employer.last_text()
    await employer.say("x" * 301)
    assert "301 ký tự, tối đa 300" in employer.last_text()
    await employer.say("Làm kệ ba tầng cho thùng sơn, có gờ chắn")
    await employer.say("x" * 41)  # a checkpoint is short
    assert "tối đa 40" in employer.last_text()
    await employer.say("CP 3")
    await employer.send("photo", b"\xff\xd8not-really")
    assert "trả lời bằng chữ" in employer.last_text()
    await employer.say("Anh Hùng, tổ trưởng")
    await employer.say("31/02/2027")
    assert "ví dụ 30/06/2027" in employer.last_text()
    await employer.say("20/01/2027")  # before the training on 25 January
    assert "trước buổi tập huấn (Thứ Hai, 25/01/2027)" in employer.last_text()
    assert stored(world) == []
    await employer.say("30/04")
    assert "Đã thêm vào kế hoạch" in employer.last_text()

    [item] = stored(world)
    assert (item.area_code, item.what, item.checkpoint, item.who, item.due_on) == (
        "storage",
        "Làm kệ ba tầng cho thùng sơn, có gờ chắn",
        "CP 3",
        "Anh Hùng, tổ trưởng",
        date(2027, 4, 30),
    )
    assert item.status == PlanStatus.PLANNED and item.source == "chat"
    with world.database.session() as session:
        entry = session.exec(select(AuditLog).where(AuditLog.action == "plan.add")).one()
    assert entry.subject_id == item.id and entry.actor_id is not None

    # The plan now lists it, with its button.
    await employer.press("Xem kế hoạch")
    assert "Làm kệ ba tầng" in employer.last_text() and "30/04/2027" in employer.last_text()


async def test_cancel_keeps_nothing_and_the_old_area_button_is_stale(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    employer = world.user(301)
    await employer.say("/plan")
    await employer.press("➕")
    areas = employer.account.last()
    await employer.say("/cancel")
    assert "Đã hủy" in employer.last_text()
    await employer.press("Lưu giữ", areas)
    assert employer.answers()[-1] == "Nút này không còn hiệu lực."
    assert stored(world) == []


async def test_staff_move_an_item_along_and_a_second_press_changes_nothing(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    item = add_item(world, cast.id)
    staff = world.user(201)
    await staff.say("/plan")
    await staff.press("Xưởng mộc Hòa Phát")
    assert "Kệ ba tầng" in staff.last_text() and "đang chờ: 1" in staff.last_text()
    await staff.press("Kệ ba tầng")
    card = staff.account.last()
    [(label, data)] = staff.account.buttons(card)
    assert label == "✅ Xong" and data is not None
    await staff.press("✅ Xong", card)
    assert "Làm tốt lắm" in staff.last_text()
    await staff.press_data(card.message_id, data)  # a double tap on the same card
    assert "đã được cập nhật trước đó" in (staff.answers()[-1] or "")

    world.clock.advance(days=40)
    await staff.press("Vẫn đang dùng")
    with world.database.session() as session:
        moved = session.get(PlanItem, item.id)
        assert moved is not None
        actions = session.exec(
            select(AuditLog.action).where(AuditLog.subject_type == "planitem")
        ).all()
    assert moved.status == PlanStatus.IN_USE
    assert moved.done_at is not None and moved.in_use_at is not None
    assert moved.in_use_at > moved.done_at and moved.done_by_id == moved.in_use_by_id
    assert sorted(actions) == ["plan.add", "plan.done", "plan.in_use"]
    assert "Dũng" in staff.last_text()  # who moved it is shown on the card

    await staff.press("Không còn dùng")
    assert stored(world)[0].status == PlanStatus.ENDED


async def test_others_cannot_see_or_change_a_plan(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    item = add_item(world, cast.id)
    with world.database.session() as session:
        other = Provider(name="Trung tâm khác", province_code="hue")
        session.add(other)
        session.flush()
        other_id = other.id
    add_person(world, 202, Role.STAFF, provider_id=other_id, name="Khác")
    stranger, worker = world.user(202), world.user(302)

    await stranger.say(f"/plan {cast.id}")
    assert "không có quyền" in stranger.last_text()
    shown = stranger.account.last().message_id
    await stranger.press_data(shown, f"plan:mv:done:{item.id}")  # a forged button
    assert "không có quyền" in (stranger.answers()[-1] or "")
    await stranger.press_data(shown, f"plan:item:{item.id}")
    assert "không có quyền" in (stranger.answers()[-1] or "")
    await stranger.press_data(shown, f"plan:add:{cast.id}")
    assert "không có quyền" in (stranger.answers()[-1] or "")
    await worker.say("/plan")
    assert "chỉ dành cho chủ doanh nghiệp" in worker.last_text()
    assert stored(world)[0].status == PlanStatus.PLANNED


def test_the_domain_refuses_moves_out_of_order(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    item = add_item(world, cast.id)
    with world.database.session() as session:
        from models.tables import Contact

        staff = session.exec(select(Contact).where(Contact.role == Role.STAFF)).one()
        with pytest.raises(ProgrammeError) as refused:
            plans.move(session, item.id, to=PlanStatus.IN_USE, actor=staff, now=world.clock())  # type: ignore[arg-type]
        assert refused.value.code == "plan_moved"
        with pytest.raises(ProgrammeError) as refused:
            plans.move(session, item.id, to=PlanStatus.PLANNED, actor=staff, now=world.clock())  # type: ignore[arg-type]
        assert refused.value.code == "plan_moved"


def test_due_days_are_read_the_way_people_type_them() -> None:
    today = date(2027, 3, 1)
    assert plans.parse_due("30/06/2027", today=today) == date(2027, 6, 30)
    assert plans.parse_due("30-6-27", today=today) == date(2027, 6, 30)
    assert plans.parse_due("2027-06-30", today=today) == date(2027, 6, 30)
    assert plans.parse_due("15/02", today=today) == date(2028, 2, 15)  # the next 15 February
    for bad in ("", "soon", "31/02/2027", "1/2/3/4"):
        with pytest.raises(ProgrammeError):
            plans.parse_due(bad, today=today)


# -- a report carries out a planned item ------------------------------------------------------


async def test_a_report_linked_to_a_planned_item_marks_it_done_when_sent(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    from tests.factories import ASK_KIND, ASK_TEXT, STEPS, SUMMARY, expect, tap

    shelf = add_item(world, cast.id)
    aisle = add_item(world, cast.id, what="Kẻ vạch lối đi cho xe đẩy", due_on=date(2027, 5, 31))
    guard = add_item(world, cast.id, area_code="machine", what="Che chắn dây curoa máy cưa")
    employer = world.user(301)

    await employer.say("/report")
    await expect(employer, await tap(employer, "📦 Lưu giữ, vận chuyển"), ASK_KIND)
    # The plan question follows the kind of improvement.
    await expect(employer, await tap(employer, "Giá, kệ nhiều tầng"), "lên kế hoạch không?")
    labels = [label for label, _ in employer.account.buttons()]
    assert labels == [shelf.what, aisle.what, "Không, việc khác"]  # only this area's items
    await employer.send("sticker")
    assert "chọn bằng các nút" in employer.last_text()
    await expect(employer, await tap(employer, shelf.what), ASK_TEXT)
    for how, value, prompt in STEPS[3:]:
        action = await (employer.say(value) if how == "say" else tap(employer, value))
        await expect(employer, action, prompt)
    assert SUMMARY in employer.last_text()
    # Not sent yet: nothing is done.
    assert [item.status for item in stored(world)] == [PlanStatus.PLANNED] * 3
    await tap(employer, "✅ Xác nhận và gửi")
    assert "đã được đánh dấu là đã thực hiện" in employer.last_text()

    items = {item.id: item for item in stored(world)}
    with world.database.session() as session:
        from models.tables import Improvement

        report = session.exec(select(Improvement)).one()
    assert items[shelf.id].status == PlanStatus.DONE
    assert items[shelf.id].improvement_id == report.id
    assert items[shelf.id].done_by_id == report.reporter_id
    assert items[aisle.id].status == PlanStatus.PLANNED
    assert items[guard.id].status == PlanStatus.PLANNED

    # The next report in the same area is not forced onto the plan.
    await employer.say("/report")
    await tap(employer, "📦 Lưu giữ, vận chuyển")
    await tap(employer, "Khác / bỏ qua")
    assert [label for label, _ in employer.account.buttons()] == [aisle.what, "Không, việc khác"]
    await expect(employer, await tap(employer, "Không, việc khác"), ASK_TEXT)
    await employer.say("/cancel")
    # An area without planned items goes straight to the description.
    await employer.say("/report")
    await expect(employer, await tap(employer, "🪑 Vị trí làm việc"), ASK_KIND)
    await expect(employer, await tap(employer, "Khác / bỏ qua"), ASK_TEXT)
    assert stored(world)[1].status == PlanStatus.PLANNED


# -- the revisit card and the reminder --------------------------------------------------------


async def test_the_revisit_card_shows_the_plan(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import run_visits

    done = add_item(world, cast.id)
    add_item(world, cast.id, what="Kẻ vạch lối đi cho xe đẩy")  # due 30 April: planned
    add_item(world, cast.id, what="Che chắn dây curoa", due_on=date(2027, 2, 15))  # overdue
    with world.database.session() as session:
        from models.tables import Contact

        staff = session.exec(select(Contact).where(Contact.role == Role.STAFF)).one()
        plans.move(session, done.id, to=PlanStatus.DONE, actor=staff, now=world.clock())  # type: ignore[arg-type]
    assert run_visits(world)["nudged"] == 1
    await world.drain()
    card = world.user(201).last_text()
    assert "Đã đến hạn thăm lại" in card
    assert "Kế hoạch hành động: 1 việc đã làm, 1 việc đang chờ, 1 việc quá hạn" in card


async def test_a_card_without_a_plan_says_nothing_of_it(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import run_visits

    run_visits(world)
    await world.drain()
    assert "Kế hoạch hành động" not in world.user(201).last_text()


def run_nudges(world: World) -> int:
    from scheduler.jobs import nudges_job
    from tests.factories import CONFIG

    with world.database.session() as session:
        return nudges_job(session, world.clock(), config=CONFIG)["plan"]


async def test_employers_are_reminded_once_a_week_before_the_due_day(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    from tests.factories import local

    soon = add_item(world, cast.id, due_on=date(2027, 3, 8))  # 7 days after 1 March
    later = add_item(world, cast.id, what="Kẻ vạch lối đi", due_on=date(2027, 3, 20))
    add_item(world, cast.id, what="Đã xong rồi", due_on=date(2027, 3, 5))
    with world.database.session() as session:
        session.get(PlanItem, stored(world)[2].id).status = PlanStatus.DONE  # type: ignore[union-attr]
    employer, staff = world.user(301), world.user(201)

    # 22:00 on 1 March: queued, but held through the night's quiet hours.
    world.clock.now = local(2027, 3, 1, 22)
    assert run_nudges(world) == 1  # the employer only; staff and the worker get none
    assert run_nudges(world) == 0  # once
    assert (await world.drain()).sent == 0
    world.clock.now = local(2027, 3, 2, 7, 30)
    await world.drain()
    assert "Xin nhắc nhẹ" in employer.last_text() and "08/03/2027" in employer.last_text()
    assert soon.what in employer.last_text()
    assert not any("Xin nhắc nhẹ" in text for text in staff.texts())
    # Its button opens the plan.
    await employer.press("Xem kế hoạch")
    assert "Kế hoạch hành động của Xưởng mộc Hòa Phát" in employer.last_text()

    # The later item comes up a week before its own day; an employer who sent /stop gets none.
    with world.database.session() as session:
        from models.tables import Contact

        person = session.exec(select(Contact).where(Contact.role == Role.EMPLOYER)).one()
        person.opted_out_at = world.clock()
        session.add(person)
    world.clock.now = local(2027, 3, 13, 10)
    assert run_nudges(world) == 0
    with world.database.session() as session:
        assert session.get(PlanItem, later.id).reminded_at is not None  # type: ignore[union-attr]


# -- import from the training's spreadsheet ---------------------------------------------------

PLAN_CSV = """Lĩnh vực;Việc cần làm;Điểm kiểm tra;Người thực hiện;Hạn hoàn thành
Lưu giữ, vận chuyển;Kệ ba tầng cho thùng sơn;CP 3;Anh Hùng;30/04/2027
machine;Che chắn dây curoa máy cưa;;Tổ bảo trì;2027-05-15

Nhà kho;Kẻ vạch lối đi;;Chị Mai;31/05/2027
welfare;Ok;;Chị Mai;31/05/2027
welfare;Tủ thuốc sơ cứu ở xưởng;;X;15/13/2027
environment;Quạt hút bụi ở máy chà nhám;;Anh Tâm;10/01/2027
"""


def run_import(world: World, path, enterprise_id: int):  # type: ignore[no-untyped-def]
    with world.database.session() as session:
        return plans.import_plan(
            session, path, enterprise_id=enterprise_id, today=date(2027, 3, 1), now=world.clock()
        )


def test_a_plan_is_imported_row_by_row_with_errors_by_line(world: World, cast, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from models.imports import describe_report

    sheet = tmp_path / "ke-hoach.csv"
    sheet.write_text(PLAN_CSV, encoding="utf-8-sig")
    report = run_import(world, sheet, cast.id)
    assert len(report.created) == 2 and report.failed_lines == [5, 6, 7, 8]
    lines = describe_report(report, "vi", subject="plan")
    assert lines[:2] == ["Đã nhập 2 việc vào kế hoạch.", "4 dòng không được nhập:"]
    assert "Dòng 5: “Nhà kho” không phải là một trong sáu lĩnh vực kỹ thuật." in lines
    assert "Dòng 6: nội dung việc cần làm quá ngắn: ít nhất 5 ký tự." in lines
    assert "Dòng 7: vui lòng ghi người thực hiện, ít nhất 2 ký tự." in lines
    assert any(line.startswith("Dòng 7: hạn hoàn thành “15/13/2027” không phải") for line in lines)
    assert "Dòng 8: hạn hoàn thành 10/01/2027 trước ngày tập huấn của doanh nghiệp." in lines
    first, second = stored(world)
    assert (first.area_code, first.checkpoint, first.due_on, first.source) == (
        "storage", "CP 3", date(2027, 4, 30), "import",
    )  # fmt: skip
    assert (second.area_code, second.checkpoint, second.due_on) == (
        "machine", None, date(2027, 5, 15),
    )  # fmt: skip

    # The corrected file again: only what was refused comes in.
    sheet.write_text(PLAN_CSV.replace("Nhà kho", "storage"), encoding="utf-8")
    again = run_import(world, sheet, cast.id)
    assert len(again.created) == 1 and again.failed_lines == [2, 3, 6, 7, 8]
    described = describe_report(again, "vi", subject="plan")
    assert "Dòng 2: việc này đã có trong kế hoạch" in described[2]


def test_an_xlsx_plan_with_excel_dates(world: World, cast, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["area", "what", "who", "due"])
    sheet.append(["Welfare facilities", "First-aid box in the workshop", "Ms Mai",
                  dt(2027, 6, 30)])  # fmt: skip
    sheet.append(["organisation", "Weekly five-minute safety talk", "Foreman", 46600])
    path = tmp_path / "plan.xlsx"
    book.save(path)
    report = run_import(world, path, cast.id)
    assert report.errors == []
    assert [(i.area_code, i.due_on) for i in stored(world)] == [
        ("welfare", date(2027, 6, 30)),
        ("organisation", date(2027, 8, 1)),  # Excel's day 46600
    ]


def test_the_import_command(world: World, cast, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from tests.factories import oshbot

    # The command reads today's date: the item is due a month from it, and after the training.
    due = max(datetime.now(UTC).date() + timedelta(days=30), date(2027, 2, 1))
    due = due.strftime("%d/%m/%Y")
    sheet = tmp_path / "plan.csv"
    sheet.write_text(f"area,what,who,due\nstorage,Kệ cho thùng sơn,Anh Hùng,{due}\n"
                     f"storage,Kệ,Anh Hùng,{due}\n", encoding="utf-8")  # fmt: skip
    result = oshbot(world.database, tmp_path, "import", "plan", str(sheet),
                    "--enterprise", str(cast.id), "--language", "en")  # fmt: skip
    assert result.exit_code == 1
    assert "Imported 1 plan item." in result.output
    assert "Line 3: what is planned is too short: at least 5 characters." in result.output
    assert [item.what for item in stored(world)] == ["Kệ cho thùng sơn"]
    missing = oshbot(world.database, tmp_path, "import", "plan", str(sheet), "--enterprise", "999")
    assert missing.exit_code == 1
    assert "Không có doanh nghiệp nào với mã số này" in " ".join(missing.output.split())


# -- the summary and the export --------------------------------------------------------------


def plan_programme(world: World) -> dict[str, int]:
    """Provider A: E1 (Đà Nẵng) and E2 (Huế); provider B: E3. Items with their due day and the
    state they reached; March 2027 is the period counted by hand below."""
    e1 = add_enterprise(world, name="E1")
    e2 = add_enterprise(world, provider_id=e1.provider_id, name="E2", province="hue")
    e3 = add_enterprise(world, name="E3")
    staff = add_person(world, 250, Role.STAFF, provider_id=e1.provider_id)
    with world.database.session() as session:
        for enterprise, area, due, reached in (
            (e1, "storage", date(2027, 3, 5), [PlanStatus.DONE]),
            (e1, "storage", date(2027, 3, 20), [PlanStatus.DONE, PlanStatus.IN_USE]),
            (e1, "welfare", date(2027, 3, 25), []),
            (e1, "welfare", date(2027, 3, 28), [PlanStatus.DONE, PlanStatus.ENDED]),
            (e1, "storage", date(2027, 4, 2), [PlanStatus.DONE]),  # April: outside
            (e1, "storage", date(2027, 2, 27), []),  # February: outside
            (e2, "machine", date(2027, 3, 10), []),
            (e2, "machine", date(2027, 3, 15), [PlanStatus.DONE]),
            (e3, "machine", date(2027, 3, 12), [PlanStatus.DONE]),
        ):
            item = plans.add_item(
                session,
                enterprise_id=enterprise.id,  # type: ignore[arg-type]
                draft=plans.ItemDraft(area, f"Việc của {enterprise.name}", "Anh Hùng", due),
                actor=None,
                today=date(2027, 3, 1),
                now=world.clock(),
            )
            for to in reached:
                plans._move(session, item, to=to, actor_id=staff.id, now=world.clock())
    return {"a": e1.provider_id, "b": e3.provider_id, "e1": e1.id}  # type: ignore[dict-item]


@pytest.mark.parametrize("rollups", [True, False])
def test_plan_completion_for_each_scope_counted_by_hand(world: World, rollups: bool) -> None:
    from reports.figures import Scope, parse_period
    from reports.summary import build_summary
    from tests.factories import TZ

    ids = plan_programme(world)

    def plan(**scope: object) -> tuple[int, int, float | None]:
        with world.database.session() as session:
            summary = build_summary(session, period=parse_period("2027-03"), tz=TZ,
                                    scope=Scope(**scope), today=date(2027, 4, 10),  # type: ignore[arg-type]
                                    rollups=rollups)  # fmt: skip
        return summary.plan.planned, summary.plan.completed, summary.plan.completion

    # March, whole programme: E1's four, E2's two, E3's one; done or in use: E1 5/3 and 20/3,
    # E2 15/3, E3 12/3. The item no longer in use (28/3) is planned, not completed.
    assert plan() == (7, 4, 4 / 7)
    assert plan(provider_id=ids["a"]) == (6, 3, 0.5)
    assert plan(provider_id=ids["b"]) == (1, 1, 1.0)
    assert plan(provider_id=ids["a"], area_code="machine") == (2, 1, 0.5)
    assert plan(province_code="hue") == (2, 1, 0.5)
    assert plan(area_code="organisation") == (0, 0, None)


def test_the_export_has_a_plan_sheet_and_the_summary_sheet_the_completion(
    world: World, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    from reports.figures import Scope, parse_period
    from reports.files import write_reports
    from tests.factories import TZ

    ids = plan_programme(world)
    written = write_reports(tmp_path, world.database.url, period=parse_period("2027-03"),
                            today=date(2027, 4, 10), tz=TZ, language="en",
                            scope=Scope(provider_id=ids["a"]))  # fmt: skip
    workbook = load_workbook(written.xlsx_path, read_only=True)
    try:
        sheet = [tuple(row) for row in workbook["Action plans"].iter_rows(values_only=True)]
        summary = [tuple(row) for row in workbook["Summary"].iter_rows(values_only=True)]
    finally:
        workbook.close()
    header, *items = sheet
    assert header[:9] == (
        "plan item id", "enterprise id", "enterprise", "area", "what is planned", "checkpoint",
        "who does it", "due day", "status",
    )  # fmt: skip
    assert len(items) == 6  # provider A's items due in March
    by_due = {str(row[7])[:10]: row for row in items}
    assert by_due["2027-03-20"][8] == "still in use"
    assert by_due["2027-03-28"][8] == "no longer in use"
    assert by_due["2027-03-25"][8] == "planned" and by_due["2027-03-25"][9] is None
    assert {row[2] for row in items} == {"E1", "E2"}
    figures = {(r[0], r[2]): (r[3], r[4] if len(r) > 4 else None) for r in summary[1:]}
    assert figures[("action plans", "items due in the period")] == (6, None)
    assert figures[("action plans", "done or still in use")] == (3, 6)
