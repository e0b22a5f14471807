"""Importing enterprises from CSV and XLSX files."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from sqlmodel import Session, select

from models import imports
from models.db import Database
from models.imports import IMPORT_COLUMNS, ImportReport, RowError, import_enterprises
from models.programme import ProgrammeError, add_provider
from models.tables import AuditLog, Enterprise

TODAY = date(2027, 3, 1)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database("sqlite:///" + str(tmp_path / "t.db"))
    yield database
    database.dispose()


@pytest.fixture
def provider_id(db: Database) -> int:
    with db.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Hà Nội", province_code="ha-noi")
        assert provider.id is not None
        return provider.id


def write_csv(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run(db: Database, path: Path, provider_id: int, **kwargs: Any) -> ImportReport:
    with db.session() as session:
        return import_enterprises(session, path, provider_id=provider_id, today=TODAY, **kwargs)


def count(db: Database) -> int:
    with db.session() as session:
        return len(session.exec(select(Enterprise)).all())


def stored(db: Database, provider_id: int | None = None) -> dict[str, Enterprise]:
    with db.session() as session:
        query = select(Enterprise)
        if provider_id is not None:
            query = query.where(Enterprise.provider_id == provider_id)
        return {item.name: item for item in session.exec(query)}


def codes(report: ImportReport) -> list[tuple[int, str]]:
    return [(error.line, error.code) for error in report.errors]


MIXED = """name,sector,province,workers,intervention_date
Công ty May Hà Nội,garment,Hà Nội,120,15/01/2027
Xưởng Thực Phẩm An,Che bien thuc pham,Bình Dương,1.200,2026-11-29
Phi thuyền Sao,Spaceships,Hà Nội,10,15/01/2027

Gỗ Đại Dương,wood,Atlantis,10,15/01/2027
Cơ khí Âm,metal,Hà Nội,-5,15/01/2027
Cơ khí Tương Lai,metal,Hà Nội,10,01/04/2027
Cơ khí Nhiều,metal,Hà Nội,nhiều,15/01/2027
A,metal,Hà Nội,10,15/01/2027
Cơ khí Ngày Sai,metal,Hà Nội,10,31/02/2026
Hai Lỗi,Spaceships,Atlantis,10,15/01/2027
"Xưởng gỗ Minh, Phát",Wood and furniture,da-nang,35,2027-02-28
"""


def test_csv_imports_good_rows_and_reports_bad_ones(
    db: Database, provider_id: int, tmp_path: Path
) -> None:
    report = run(db, write_csv(tmp_path / "list.csv", MIXED), provider_id)

    assert len(report.created) == 3
    assert report.skipped_blank == 1
    # Line numbers count the header as line 1 and the blank line 5 too, as an editor shows them.
    assert codes(report) == [
        (4, "unknown_sector"),
        (6, "unknown_province"),
        (7, "workers_too_few"),
        (8, "date_in_future"),
        (9, "workers_not_number"),
        (10, "name_too_short"),
        (11, "date_invalid"),
        (12, "unknown_sector"),
        (12, "unknown_province"),
    ]
    assert report.failed_lines == [4, 6, 7, 8, 9, 10, 11, 12]
    assert report.errors[0].details == {"column": "sector", "value": "Spaceships"}

    rows = stored(db, provider_id)
    assert set(rows) == {"Công ty May Hà Nội", "Xưởng Thực Phẩm An", "Xưởng gỗ Minh, Phát"}
    garment = rows["Công ty May Hà Nội"]
    assert (garment.sector_code, garment.province_code, garment.workers) == (
        "garment",
        "ha-noi",
        120,
    )
    assert garment.intervention_date == date(2027, 1, 15)
    food = rows["Xưởng Thực Phẩm An"]
    # Bình Dương was merged into Ho Chi Minh City in 2025; "1.200" is twelve hundred.
    assert (food.sector_code, food.province_code, food.workers) == ("food", "tp-ho-chi-minh", 1200)
    assert food.intervention_date == date(2026, 11, 29)
    wood = rows["Xưởng gỗ Minh, Phát"]
    assert (wood.sector_code, wood.province_code, wood.workers) == ("wood", "da-nang", 35)
    assert sorted(report.created) == sorted(item.id for item in rows.values())


def test_vietnamese_headers_semicolons_and_bom(
    db: Database, provider_id: int, tmp_path: Path
) -> None:
    text = (
        "Ghi chú;Tên doanh nghiệp;NGÀNH;Tỉnh;Số lao động;Ngày tập huấn\n"
        "mới;Dệt Kim Sơn, chi nhánh 2;Dệt may;Đà Nẵng;1.200;05/02/2027\n"
        ";Da giày Hưng;LEATHER-FOOTWEAR;tp hcm;45;2027-01-31\n"
        ";;;;;\n"
        ";Điện tử Bé;electronics;Hà Nội;0;05/02/2027\n"
    )
    report = run(db, write_csv(tmp_path / "ds.csv", text, bom=True), provider_id)

    assert len(report.created) == 2
    assert report.skipped_blank == 1
    assert codes(report) == [(5, "workers_too_few")]
    rows = stored(db, provider_id)
    knit = rows["Dệt Kim Sơn, chi nhánh 2"]
    assert (knit.sector_code, knit.province_code, knit.workers) == ("garment", "da-nang", 1200)
    assert knit.intervention_date == date(2027, 2, 5)
    assert rows["Da giày Hưng"].sector_code == "leather-footwear"
    assert rows["Da giày Hưng"].province_code == "tp-ho-chi-minh"


def test_ascii_vietnamese_headers(db: Database, provider_id: int, tmp_path: Path) -> None:
    text = "TEN,nganh,tinh,so_lao_dong,ngay_tap_huan\nGốm Bát Tràng,handicrafts,ha noi,8,1/2/2027\n"
    report = run(db, write_csv(tmp_path / "ascii.csv", text), provider_id)

    assert report.errors == []
    item = stored(db, provider_id)["Gốm Bát Tràng"]
    assert (item.sector_code, item.workers, item.intervention_date) == (
        "handicrafts",
        8,
        date(2027, 2, 1),
    )


def test_xlsx_with_date_cells(db: Database, provider_id: int, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Doanh nghiệp"
    sheet.append(["Tên doanh nghiệp", "Ngành", "Tỉnh", "Số lao động", "Ngày tập huấn"])
    sheet.append(["Nội thất Xuân", "Chế biến gỗ và đồ nội thất", "Huế", 25, datetime(2027, 1, 10)])
    sheet.append(["In Bao Bì Sáng", "printing-packaging", "Cần Thơ", 60.0, "10/01/2027"])
    sheet.append([None, None, None, None, None])
    sheet.append(["Cơ khí Mai Sau", "metal", "Huế", 12, datetime(2027, 6, 1)])
    sheet.append(["Thực phẩm Lẻ", "food", "Huế", 12.5, date(2027, 1, 10)])
    sheet.append([2024, "food", "Huế", 7, date(2027, 1, 10)])  # a name typed as a number
    sheet.append(["Gốm Số", "handicrafts", "Huế", "1.000", 46023])  # a date cell lost its format
    book.create_sheet("Notes").append(["name", "sector"])  # only the first sheet is read
    path = tmp_path / "list.xlsx"
    book.save(path)

    report = run(db, path, provider_id)

    assert len(report.created) == 4
    assert report.skipped_blank == 1
    assert codes(report) == [(5, "date_in_future"), (6, "workers_not_number")]
    rows = stored(db, provider_id)
    wood = rows["Nội thất Xuân"]
    assert (wood.sector_code, wood.province_code, wood.workers) == ("wood", "hue", 25)
    assert wood.intervention_date == date(2027, 1, 10)
    printing = rows["In Bao Bì Sáng"]
    assert (printing.province_code, printing.workers) == ("can-tho", 60)
    assert printing.intervention_date == date(2027, 1, 10)
    assert rows["2024"].sector_code == "food"
    assert (rows["Gốm Số"].workers, rows["Gốm Số"].intervention_date) == (1000, date(2026, 1, 1))


def test_reimport_reports_duplicates(db: Database, provider_id: int, tmp_path: Path) -> None:
    text = (
        "name,sector,province,workers,intervention_date\n"
        "May Hòa Bình,garment,Hà Nội,50,15/01/2027\n"
        "may  hòa bình,garment,ha noi,50,15/01/2027\n"  # same enterprise, typed differently
        "May Hòa Bình,garment,Đà Nẵng,50,15/01/2027\n"  # same name elsewhere: another one
    )
    path = write_csv(tmp_path / "list.csv", text)

    first = run(db, path, provider_id)
    assert len(first.created) == 2
    assert codes(first) == [(3, "duplicate")]
    assert first.errors[0].details == {"enterprise_id": first.created[0]}

    second = run(db, path, provider_id)
    assert second.created == []
    assert codes(second) == [(2, "duplicate"), (3, "duplicate"), (4, "duplicate")]
    assert count(db) == 2

    # Another provider's list is its own: the same rows are new enterprises there.
    with db.session() as session:
        other = add_provider(session, name="Công đoàn Đà Nẵng")
        assert other.id is not None
        other_id = other.id
    third = run(db, path, other_id)
    assert len(third.created) == 2
    assert count(db) == 4


def test_unknown_extension(db: Database, provider_id: int, tmp_path: Path) -> None:
    for name in ("list.txt", "list.xls", "list"):
        path = write_csv(tmp_path / name, "name,sector,province,workers,intervention_date\n")
        with pytest.raises(ProgrammeError) as caught:
            run(db, path, provider_id)
        assert caught.value.code == "import_format"


def test_upper_case_suffix_is_accepted(db: Database, provider_id: int, tmp_path: Path) -> None:
    text = "name,sector,province,workers,intervention_date\nMay Lớn,garment,Huế,5,1/1/2027\n"
    report = run(db, write_csv(tmp_path / "LIST.CSV", text), provider_id)
    assert len(report.created) == 1


def test_missing_column(db: Database, provider_id: int, tmp_path: Path) -> None:
    text = "tên,ngành,tỉnh,ngày tập huấn\nMay Lớn,garment,Huế,1/1/2027\n"
    with pytest.raises(ProgrammeError) as caught:
        run(db, write_csv(tmp_path / "list.csv", text), provider_id)
    assert caught.value.code == "import_columns"
    assert caught.value.details == {"missing": ["workers"]}
    assert stored(db) == {}


def test_empty_file_misses_every_column(db: Database, provider_id: int, tmp_path: Path) -> None:
    with pytest.raises(ProgrammeError) as caught:
        run(db, write_csv(tmp_path / "empty.csv", "\n\n"), provider_id)
    assert caught.value.code == "import_columns"
    assert caught.value.details == {"missing": list(IMPORT_COLUMNS)}


def test_file_that_is_not_text_or_not_xlsx(db: Database, provider_id: int, tmp_path: Path) -> None:
    photo = tmp_path / "photo.csv"  # a picture renamed: no text encoding makes sense of it
    photo.write_bytes(bytes(range(256)) * 20)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("name,sector\n")
    for path, reason in ((photo, "encoding"), (fake, "xlsx")):
        with pytest.raises(ProgrammeError) as caught:
            run(db, path, provider_id)
        assert (caught.value.code, caught.value.details) == (
            "import_unreadable",
            {"reason": reason},
        )


# What Vietnamese Windows Excel and other programs save a CSV as.
SHEET = [
    ["Tên doanh nghiệp", "Ngành nghề", "Tỉnh/thành phố", "Số lao động", "Ngày tập huấn"],
    ["Xưởng mộc Hòa Phát", "Gỗ, nội thất", "Đà Nẵng", "18", "15/01/2027"],
    ["Công ty May Thu Hà", "Dệt may", "Thừa Thiên Huế", "1.200", "20/01/2027"],
    ["Cơ khí Tân Tiến Ưng Ý", "Cơ khí, kim loại", "Cần Thơ", "35", "01/03/2026"],
]
# cp1258 has the letters with a circumflex, breve or horn but not the tone marks on top of
# them: Windows writes those as a letter followed by a combining tone mark.
SHAPES = {"\u0302", "\u0306", "\u031b"}


def cp1258(text: str) -> bytes:
    out = []
    for char in unicodedata.normalize("NFC", text):
        try:
            out.append(char.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", parts[0] + "".join(m for m in parts[1:] if m in SHAPES))
        out.append((base + "".join(m for m in parts[1:] if m not in SHAPES)).encode("cp1258"))
    return b"".join(out)


def saved_as(kind: str) -> bytes:
    delimiter = "\t" if kind == "utf-16 unicode text" else ";"
    text = "".join(
        delimiter.join(f'"{cell}"' if "," in cell else cell for cell in row) + "\r\n"
        for row in SHEET
    )
    if kind == "cp1258":
        data = cp1258(text)
        assert data.decode("cp1258") != text  # really decomposed, as Windows writes it
        return data
    if kind.startswith("utf-16"):
        return text.encode("utf-16")  # with its BOM, as Excel writes "Unicode Text"
    return (b"\xef\xbb\xbf" if kind == "utf-8 bom" else b"") + text.encode("utf-8")


@pytest.mark.parametrize("kind", ["cp1258", "utf-16", "utf-16 unicode text", "utf-8 bom", "utf-8"])
def test_a_csv_in_any_encoding_excel_writes_is_read(
    db: Database, provider_id: int, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "danh-sach.csv"
    path.write_bytes(saved_as(kind))
    report = run(db, path, provider_id)
    assert report.errors == [] and len(report.created) == 3
    rows = stored(db, provider_id)
    # Stored precomposed (NFC), whatever the file held: the name equals the one typed in chat.
    assert set(rows) == {"Xưởng mộc Hòa Phát", "Công ty May Thu Hà", "Cơ khí Tân Tiến Ưng Ý"}
    assert all(unicodedata.is_normalized("NFC", name) for name in rows)
    assert rows["Công ty May Thu Hà"].workers == 1200
    assert rows["Xưởng mộc Hòa Phát"].sector_code == "wood"


def test_problems_are_sentences_with_line_numbers_and_rows_are_counted_once(
    db: Database, provider_id: int, tmp_path: Path
) -> None:
    report = run(db, write_csv(tmp_path / "list.csv", MIXED), provider_id)
    vi = imports.describe_report(report, "vi", subject="enterprise")
    assert vi[0] == "Đã nhập 3 doanh nghiệp."
    # Nine problems in eight rows: the count is of rows.
    assert vi[1] == "8 dòng không được nhập:"
    assert vi[2] == (
        "Dòng 4: ngành “Spaceships” không có trong danh sách. Anh/Chị hãy ghi tên ngành, "
        "ví dụ “Dệt may”, hoặc mã ngành, ví dụ garment."
    )
    assert "Dòng 8: ngày tập huấn 01/04/2027 là ngày trong tương lai." in vi
    en = imports.describe_report(report, "en", subject="enterprise")
    assert en[:2] == ["Imported 3 enterprises.", "8 rows were not imported:"]
    assert "Line 7: the number of workers must be at least 1." in en
    assert (
        "Line 11: the training date “31/02/2026” is not a date. Write it as day/month/year, "
        "e.g. 15/03/2026." in en
    )
    every = "\n".join(vi + en)
    for code in ("unknown_sector", "date_in_future", "workers_too_few", "{", "}"):
        assert code not in every
    again = run(db, write_csv(tmp_path / "list.csv", MIXED), provider_id)
    duplicate = imports.describe_row_error(again.errors[0], "vi", subject="enterprise")
    assert duplicate == (
        "Dòng 2: doanh nghiệp này đã có trong chương trình (cùng tên và tỉnh/thành phố) nên "
        "dòng này được bỏ qua."
    )
    unreadable = ProgrammeError("import_unreadable", reason="encoding")
    assert imports.describe_file_error(unreadable, "en") == (
        "The file could not be read as text. Please save it from Excel as “CSV UTF-8” or as an "
        "Excel workbook (.xlsx)."
    )
    missing = ProgrammeError("import_columns", missing=["sector", "workers"])
    assert imports.describe_file_error(missing, "vi") == (
        "Dòng đầu tiên phải ghi tên các cột; đang thiếu: ngành, số lao động."
    )


def test_unknown_provider(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", "name,sector,province,workers,intervention_date\n")
    with pytest.raises(ProgrammeError) as caught:
        run(db, path, 999)
    assert caught.value.code == "unknown_provider"


def test_row_refused_by_database_spoils_no_other_row(
    db: Database, provider_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = imports.add_enterprise

    def failing_after_flush(session: Session, **kwargs: Any) -> Enterprise:
        enterprise = real(session, **kwargs)  # written to the database, then refused
        if enterprise.name == "Hỏng":
            raise sa.exc.IntegrityError("INSERT", {}, Exception("refused"))
        return enterprise

    monkeypatch.setattr(imports, "add_enterprise", failing_after_flush)
    text = (
        "name,sector,province,workers,intervention_date\n"
        "Trước,garment,Huế,5,1/1/2027\n"
        "Hỏng,garment,Huế,5,1/1/2027\n"
        "Sau,garment,Huế,5,1/1/2027\n"
    )
    report = run(db, write_csv(tmp_path / "list.csv", text), provider_id, actor_id=None)

    assert len(report.created) == 2
    assert report.errors == [RowError(3, "row_rejected", {"reason": "IntegrityError"})]
    assert set(stored(db)) == {"Trước", "Sau"}
    with db.session() as session:
        actions = [log.action for log in session.exec(select(AuditLog))]
    # The refused row's own audit entry went with its savepoint.
    assert actions.count("enterprise.add") == 2
    assert actions.count("enterprise.import") == 1


def test_columns_documented() -> None:
    assert list(IMPORT_COLUMNS) == ["name", "sector", "province", "workers", "intervention_date"]
    assert all(meaning.strip() for meaning in IMPORT_COLUMNS.values())


def test_caller_rollback_undoes_the_whole_import(
    db: Database, provider_id: int, tmp_path: Path
) -> None:
    text = "name,sector,province,workers,intervention_date\nMay Lớn,garment,Huế,5,1/1/2027\n"
    path = write_csv(tmp_path / "list.csv", text)
    with pytest.raises(RuntimeError), db.session() as session:
        report = import_enterprises(session, path, provider_id=provider_id, today=TODAY)
        assert len(report.created) == 1
        raise RuntimeError("the caller fails after importing")
    # Row savepoints sit inside the caller's transaction, also on SQLite.
    assert count(db) == 0


def test_import_is_audited_with_its_counts(db: Database, provider_id: int, tmp_path: Path) -> None:
    run(db, write_csv(tmp_path / "list.csv", MIXED), provider_id)
    with db.session() as session:
        entry = session.exec(select(AuditLog).where(AuditLog.action == "enterprise.import")).one()
    assert (entry.subject_type, entry.subject_id) == ("provider", provider_id)
    assert entry.details == {
        "file": "list.csv",
        "created": 3,
        "failed_lines": 8,
        "skipped_blank": 1,
    }


def test_line_numbers_follow_the_file(db: Database, provider_id: int, tmp_path: Path) -> None:
    text = (
        "\n"
        "name,sector,province,workers,intervention_date\n"
        '"Xưởng Dài\nTên Hai Dòng",garment,Huế,5,1/1/2027\n'
        "Sai Ngành,nothing,Huế,5,1/1/2027\n"
    )
    report = run(db, write_csv(tmp_path / "list.csv", text), provider_id)
    # The header sits on line 2 and the quoted name spans lines 3 and 4.
    assert len(report.created) == 1
    assert report.skipped_blank == 0
    assert codes(report) == [(5, "unknown_sector")]
    assert "Xưởng Dài Tên Hai Dòng" in stored(db)
