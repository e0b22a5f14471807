"""Bulk import of enterprises from the spreadsheet a provider already keeps.

Providers arrive with their list of trained enterprises in Excel or as a CSV export; typing each
one into the bot would be the reason they never start. The file is checked row by row with the
same domain rules as the bot's own dialogue (`models.programme`), so an imported enterprise is
indistinguishable from a typed one, and every refused row is reported with the line number the
person sees in their spreadsheet so they can fix it and upload the same file again: rows already
imported come back as "duplicate" instead of being created twice.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from charset_normalizer import from_bytes
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException
from sqlmodel import Session, select

from bot.i18n import N_, format_number, gettext
from models import content
from models.programme import (
    EnterpriseDraft,
    ProgrammeError,
    add_enterprise,
    clean_name,
    parse_day,
    parse_workers,
)
from models.tables import AuditLog, Enterprise, Provider

SUFFIXES = (".csv", ".xlsx")

# Column -> what it holds; quoted in the README, so it speaks to the person preparing the file.
IMPORT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "name": "Enterprise name, 2 to 200 characters.",
        "sector": "Sector: its code (e.g. garment) or its Vietnamese or English name; "
        "accents and case do not matter.",
        "province": "Province or centrally-run city, by name with or without accents, by code, "
        "or by the name of a province merged into it in 2025.",
        "workers": "Number of workers, a whole number of at least 1 (1.200 and 1,200 are read "
        "as twelve hundred).",
        "intervention_date": "Day of the training or intervention: dd/mm/yyyy, yyyy-mm-dd or an "
        "Excel date cell; not in the future.",
    }
)

# Headers accepted for each column. Matched after `content.fold`, so case, accents, spaces and
# underscores do not matter: "Số lao động", "so_lao_dong" and "SO LAO DONG" are one header.
COLUMN_HEADERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "name": (
            "name",
            "enterprise",
            "enterprise name",
            "tên",
            "tên doanh nghiệp",
            "doanh nghiệp",
        ),
        "sector": ("sector", "ngành", "ngành nghề", "lĩnh vực"),
        "province": ("province", "tỉnh", "tỉnh thành", "tỉnh thành phố", "tỉnh/thành phố"),
        "workers": ("workers", "number of workers", "số lao động", "lao động", "số công nhân"),
        "intervention_date": (
            "intervention_date",
            "date",
            "training date",
            "ngày tập huấn",
            "ngày can thiệp",
        ),
    }
)

_HEADER_INDEX = {
    content.fold(header): column for column, headers in COLUMN_HEADERS.items() for header in headers
}


@dataclass(frozen=True)
class RowError:
    """One problem with one row. A row with several problems gives several errors, so that
    the person can fix the whole row at once instead of re-uploading once per mistake."""

    line: int
    code: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    created: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_blank: int = 0

    @property
    def failed_lines(self) -> list[int]:
        """The rows not imported: a row with three problems is one row."""
        return sorted({error.line for error in self.errors})


# -- reading ---------------------------------------------------------------------------------


Cell = str | int | float | date | None
Row = tuple[int, Sequence[Cell]]  # line number as the person sees it, and the cells


# What a CSV made in Viet Nam comes in: UTF-8 (Excel's "CSV UTF-8", with a BOM, and most other
# programs, without), UTF-16 with a BOM (Excel's "Unicode Text"), and the Windows code pages of
# a Vietnamese (cp1258) or Western (cp1252) Windows. Offering charset-normalizer only these
# keeps a short file from being read as some unrelated code page that happens to decode it.
ENCODINGS = ("utf_8", "utf_16", "utf_32", "cp1258", "cp1252")
DELIMITERS = (",", ";", "\t")


def decode(data: bytes) -> str:
    """The text of a CSV file, whatever Excel or another program saved it as; NFC, so that
    cp1258's letters followed by a combining tone mark equal the same letters typed at once."""
    if not data.strip():
        return ""
    found = from_bytes(data, cp_isolation=list(ENCODINGS)).best()
    if found is None:
        raise ProgrammeError("import_unreadable", reason="encoding")
    return unicodedata.normalize("NFC", str(found)).removeprefix("\ufeff")


def _read_csv(path: Path) -> Generator[Row, None, None]:
    text = decode(path.read_bytes())
    first = next((line for line in text.splitlines() if line.strip()), "")
    # Vietnamese Excel writes ";" (the comma is the decimal sign there), "Unicode Text" a tab.
    # Judged on the header alone, because commas inside enterprise names would sway a guess
    # made on the data.
    delimiter = max(DELIMITERS, key=first.count)
    # newline="" hands line ends to the csv module, which needs them for quoted multi-line cells.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for cells in reader:
        # A quoted cell may span lines; the person looks for the row where it begins.
        yield start, cells
        start = reader.line_num + 1


def _read_xlsx(path: Path) -> Generator[Row, None, None]:
    try:
        # data_only: a formula cell gives its last computed value, not the formula text.
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise ProgrammeError("import_unreadable", reason="xlsx") from error
    try:
        sheet = workbook.worksheets[0]
        # Some programs write a wrong sheet size; trusting it would cut rows off silently.
        sheet.reset_dimensions()
        # min_row=1 makes openpyxl pad skipped rows, so the count matches Excel's row numbers.
        yield from enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
    finally:
        workbook.close()


def _rows(path: Path) -> Generator[Row, None, None]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise ProgrammeError("import_format", suffix=suffix, accepted=list(SUFFIXES))


def _is_blank(cells: Sequence[Cell]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _find_header(rows: Iterator[Row]) -> dict[str, int]:
    """Column -> position, from the first row that is not blank (the rows are consumed up to it;
    blank lines above the header are layout, not rows left out)."""
    for _line, cells in rows:
        if not _is_blank(cells):
            return header_positions(cells, _HEADER_INDEX, IMPORT_COLUMNS)
    raise ProgrammeError("import_columns", missing=list(IMPORT_COLUMNS))


def header_positions(
    cells: Sequence[Cell], index: dict[str, str], required: Iterable[str]
) -> dict[str, int]:
    """Column -> position for a header row, its cells read through `index` (folded heading ->
    column); the first of two cells with the same meaning wins. Every import's header."""
    positions: dict[str, int] = {}
    for position, cell in enumerate(cells):
        column = index.get(content.fold(str(cell))) if cell is not None else None
        if column is not None and column not in positions:
            positions[column] = position
    missing = [column for column in required if column not in positions]
    if missing:
        raise ProgrammeError("import_columns", missing=missing)
    return positions


def area_index() -> dict[str, str]:
    """Folded code, name or short name of each technical area -> its code, for cells that name
    an area in either language."""
    index = {}
    for area in content.areas():
        for text in (area.code, area.name("vi"), area.name("en"), area.short_vi, area.short_en):
            index[content.fold(text)] = area.code
    return index


def kind_index() -> dict[str, str]:
    """Folded code or name (either language) of each kind of improvement -> its code."""
    index = {}
    for kind in content.kinds():
        for text in (kind.code, kind.name("vi"), kind.name("en")):
            index[content.fold(text)] = kind.code
    return index


# -- one row ---------------------------------------------------------------------------------


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # a number-formatted name cell would otherwise end in ".0"
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return str(cell).strip()


def sector_index() -> dict[str, str | None]:
    """Folded code or name -> sector code; None marks a text naming two sectors."""
    index: dict[str, str | None] = {}
    for item in content.sectors():
        for text in (item.code, item.name("vi"), item.name("en"), item.short_vi, item.short_en):
            key = content.fold(text)
            if key:
                index[key] = item.code if index.get(key, item.code) == item.code else None
    return index


def _sector(cell: Cell, index: Mapping[str, str | None]) -> str:
    code = index.get(content.fold(_text(cell)))
    if code is None:
        raise ProgrammeError("unknown_sector")
    return code


def _province(cell: Cell) -> str:
    found = content.find_province(_text(cell))
    if found is None:
        raise ProgrammeError("unknown_province")
    return found.code


def _workers(cell: Cell) -> int:
    if isinstance(cell, bool):  # before int: True is an int, but not a head count
        raise ProgrammeError("workers_not_number")
    if isinstance(cell, float):
        if not cell.is_integer():
            raise ProgrammeError("workers_not_number")
        cell = int(cell)
    text = str(cell) if isinstance(cell, int) else _text(cell)
    if text.startswith("-"):
        # parse_workers calls "-5" not a number; the person did write a number, only too small.
        try:
            parse_workers(text[1:])
        except ProgrammeError as error:
            if error.code == "workers_not_number":
                raise
        raise ProgrammeError("workers_too_few")
    return parse_workers(text)


def _day(cell: Cell, *, today: date) -> date:
    if isinstance(cell, datetime):
        cell = cell.date()
    elif isinstance(cell, int | float) and not isinstance(cell, bool):
        # A date cell whose format was lost shows Excel's day serial number instead.
        try:
            cell = from_excel(cell).date()
        except (ValueError, OverflowError, TypeError) as error:
            raise ProgrammeError("date_invalid") from error
    # Excel dates take the same route as typed ones, so the future and too-old rules match.
    return parse_day(cell.isoformat() if isinstance(cell, date) else _text(cell), today=today)


def _name_key(name: str) -> str:
    # NFC, so that a name typed with combining accents equals the same name precomposed;
    # accents themselves are kept, since "Hà" and "Hạ" are different names.
    return unicodedata.normalize("NFC", name).casefold()


def _parse(
    cells: Sequence[Cell],
    positions: Mapping[str, int],
    *,
    sectors: Mapping[str, str | None],
    today: date,
) -> tuple[EnterpriseDraft | None, list[tuple[str, dict[str, Any]]]]:
    def cell(column: str) -> Cell:
        position = positions[column]
        return cells[position] if position < len(cells) else None

    problems: list[tuple[str, dict[str, Any]]] = []
    values: dict[str, Any] = {}
    readers = {
        "name": lambda value: clean_name(_text(value)),
        "sector": lambda value: _sector(value, sectors),
        "province": _province,
        "workers": _workers,
        "intervention_date": lambda value: _day(value, today=today),
    }
    for column, read in readers.items():
        raw = cell(column)
        try:
            values[column] = read(raw)
        except ProgrammeError as error:
            problems.append((error.code, {"column": column, "value": _text(raw), **error.details}))
    if problems:
        return None, problems
    draft = EnterpriseDraft(
        name=values["name"],
        sector_code=values["sector"],
        province_code=values["province"],
        workers=values["workers"],
        intervention_date=values["intervention_date"],
    )
    return draft, []


# -- the import ------------------------------------------------------------------------------


def _store(
    session: Session,
    draft: EnterpriseDraft,
    *,
    provider_id: int,
    today: date,
    actor_id: int | None,
) -> Enterprise | tuple[str, dict[str, Any]]:
    """The created enterprise, or the code and details of why the row was refused."""
    try:
        # A savepoint per row: a row the database refuses is undone alone, the others stay.
        with session.begin_nested():
            return add_enterprise(
                session, provider_id=provider_id, draft=draft, today=today, actor_id=actor_id
            )
    except ProgrammeError as error:
        return error.code, dict(error.details)
    except (sa.exc.IntegrityError, sa.exc.DataError) as error:
        return "row_rejected", {"reason": type(error).__name__}


def import_enterprises(
    session: Session,
    path: Path,
    *,
    provider_id: int,
    today: date,
    actor_id: int | None = None,
) -> ImportReport:
    """Create the enterprises listed in a CSV or XLSX file for one provider.

    Raises ProgrammeError for a file that cannot be imported at all ("import_format",
    "import_unreadable", "import_columns", "unknown_provider"); problems of single rows are
    returned in the report and never stop the other rows.
    """
    # Checked once here; otherwise every row would fail with the same complaint.
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise ProgrammeError("unknown_provider")
    report = ImportReport()
    sectors = sector_index()
    existing = session.exec(select(Enterprise).where(Enterprise.provider_id == provider_id))
    known = {(_name_key(item.name), item.province_code): item.id for item in existing}

    # closing: a ProgrammeError mid-file must not leave the workbook's file handle open.
    with closing(_rows(path)) as rows:
        positions = _find_header(rows)
        # Written before the first row, not after the last: on SQLite the driver opens its
        # transaction only at the first write, and a savepoint opened before that commits for
        # good when released, so rows would survive a caller's rollback. Counts come at the end.
        entry = AuditLog(
            action="enterprise.import",
            actor_id=actor_id,
            subject_type="provider",
            subject_id=provider.id,
            details={"file": path.name[:100]},
        )
        session.add(entry)
        session.flush()
        for line, cells in rows:
            if _is_blank(cells):
                report.skipped_blank += 1
                continue
            draft, problems = _parse(cells, positions, sectors=sectors, today=today)
            if draft is None:
                report.errors.extend(RowError(line, code, details) for code, details in problems)
                continue
            # Keyed on name and province so that uploading a corrected file again only adds
            # the rows that were refused before.
            key = (_name_key(draft.name), draft.province_code)
            if key in known:
                report.errors.append(RowError(line, "duplicate", {"enterprise_id": known[key]}))
                continue
            stored = _store(session, draft, provider_id=provider_id, today=today, actor_id=actor_id)
            if isinstance(stored, tuple):
                report.errors.append(RowError(line, *stored))
                continue
            assert stored.id is not None  # add_enterprise flushes
            known[key] = stored.id
            report.created.append(stored.id)

    # A new dict, not an update in place: the JSON column only notices reassignment.
    entry.details = {
        **entry.details,
        "created": len(report.created),
        "failed_lines": len(report.failed_lines),
        "skipped_blank": report.skipped_blank,
    }
    session.add(entry)
    return report


# -- what the person reads -------------------------------------------------------------------

# The column names as a person reads them, for both imports (reports/paper_import.py too).
COLUMN_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "name": N_("name"),
        "sector": N_("sector"),
        "province": N_("province"),
        "workers": N_("number of workers"),
        "intervention_date": N_("training date"),
        "enterprise": N_("enterprise"),
        "date": N_("date"),
        "area": N_("technical area"),
        "kind": N_("kind of improvement"),
        "description": N_("description"),
        "cost": N_("cost"),
        "risk_before": N_("risk before"),
        "risk_after": N_("risk after"),
        "verified": N_("verified"),
        "what": N_("what is planned"),
        "who": N_("who does it"),
        "checkpoint": N_("checkpoint"),
        "due": N_("due day"),
    }
)
ROW_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "name_too_short": N_(
            "Line {line}: the name “{value}” is too short: at least 2 characters."
        ),
        "name_too_long": N_("Line {line}: the name is too long: at most {limit} characters."),
        "unknown_sector": N_(
            "Line {line}: the sector “{value}” is not in the list. Write its name, e.g. "
            "“Dệt may”, or its code, e.g. garment."
        ),
        "unknown_province": N_(
            "Line {line}: the province “{value}” was not found. Write the name of a province "
            "or city, e.g. Đà Nẵng."
        ),
        "workers_not_number": N_(
            "Line {line}: the number of workers “{value}” is not a whole number."
        ),
        "workers_too_few": N_("Line {line}: the number of workers must be at least 1."),
        "workers_too_many": N_(
            "Line {line}: {value} workers is more than {limit}. Please check the number."
        ),
        "date_invalid": N_(
            "Line {line}: the {column} “{value}” is not a date. Write it as day/month/year, "
            "e.g. 15/03/2026."
        ),
        "date_in_future": N_("Line {line}: the {column} {value} is in the future."),
        "date_too_old": N_("Line {line}: the {column} {value} is more than 10 years ago."),
        "row_rejected": N_("Line {line}: the database refused this row. Please check its values."),
        "unknown_enterprise": N_(
            "Line {line}: no enterprise “{value}” was found. Write its id (as in the export) "
            "or its exact name."
        ),
        "unknown_area": N_("Line {line}: “{value}” is not one of the six technical areas."),
        "unknown_kind": N_(
            "Line {line}: “{value}” is not a kind of improvement of this row's technical area. "
            "Write its code or name as in the list of kinds, or leave the cell empty."
        ),
        "description_too_short": N_(
            "Line {line}: the description is too short: at least {limit} characters."
        ),
        "description_too_long": N_(
            "Line {line}: the description is too long: at most {limit} characters."
        ),
        "cost_invalid": N_("Line {line}: the cost “{value}” is not a whole number of đồng."),
        "workers_invalid": N_(
            "Line {line}: the number of workers benefiting “{value}” is not a whole number."
        ),
        "risk_invalid": N_(
            "Line {line}: the {column} “{value}” is not a risk score. Write 1 to 9, or "
            "likelihood × severity such as 3x2."
        ),
        "verified_invalid": N_("Line {line}: “{value}” in the column verified: write yes or no."),
        "risk_incomplete": N_(
            "Line {line}: give the risk score both before and after, or neither."
        ),
        "what_too_short": N_(
            "Line {line}: what is planned is too short: at least {limit} characters."
        ),
        "what_too_long": N_(
            "Line {line}: what is planned is too long: at most {limit} characters."
        ),
        "who_too_short": N_("Line {line}: write who does it, at least {limit} characters."),
        "who_too_long": N_("Line {line}: who does it is too long: at most {limit} characters."),
        "checkpoint_too_long": N_(
            "Line {line}: the checkpoint is too long: at most {limit} characters."
        ),
        "due_invalid": N_(
            "Line {line}: the due day “{value}” is not a date. Write it as day/month/year, "
            "e.g. 30/06/2027."
        ),
        "due_before_training": N_(
            "Line {line}: the due day {value} is before the enterprise's training."
        ),
        "due_too_far": N_("Line {line}: the due day {value} is more than three years ahead."),
    }
)
DUPLICATES: Mapping[str, str] = MappingProxyType(
    {
        "enterprise": N_(
            "Line {line}: this enterprise is already in the programme (same name and "
            "province), so the row was skipped."
        ),
        "improvement": N_(
            "Line {line}: this improvement was imported before (same enterprise, day and "
            "description), so the row was skipped."
        ),
        "plan": N_(
            "Line {line}: this item is already in the plan (same area, what and due day), so "
            "the row was skipped."
        ),
    }
)
OTHER_PROBLEM = N_("Line {line}: this row could not be imported ({column}).")
FILE_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "import_format": N_("Please send a CSV or XLSX file (this one ends in “{suffix}”)."),
        "encoding": N_(
            "The file could not be read as text. Please save it from Excel as “CSV UTF-8” "
            "or as an Excel workbook (.xlsx)."
        ),
        "xlsx": N_(
            "The file could not be opened as an Excel workbook. Please save it again as .xlsx."
        ),
        "import_columns": N_("The first row must name the columns; these are missing: {columns}."),
        "unknown_provider": N_("There is no provider with that id."),
        "unknown_enterprise": N_("There is no enterprise with that id."),
    }
)
IMPORTED = {
    "enterprise": (N_("Imported 1 enterprise."), N_("Imported {count} enterprises.")),
    "improvement": (N_("Imported 1 improvement."), N_("Imported {count} improvements.")),
    "plan": (N_("Imported 1 plan item."), N_("Imported {count} plan items.")),
}
NOT_IMPORTED = (N_("1 row was not imported:"), N_("{count} rows were not imported:"))
VALUE_SHOWN = 40  # characters of a cell quoted back: enough to find it, never a whole page


def _column(code: str, language: str) -> str:
    name = COLUMN_NAMES.get(code)
    return gettext(language, name) if name is not None else code


def describe_row_error(error: RowError, language: str, *, subject: str = "enterprise") -> str:
    """One problem of one row as a sentence in the person's language, with the line number
    they see in their spreadsheet. `subject`: "enterprise" or "improvement"."""
    value = str(error.details.get("value", ""))
    if len(value) > VALUE_SHOWN:
        value = value[: VALUE_SHOWN - 1] + "…"
    values = {
        "line": format_number(error.line, language),
        "value": value,
        "column": _column(str(error.details.get("column", "")), language),
        "limit": format_number(error.details.get("limit", 0), language),
    }
    if error.code == "duplicate":
        return gettext(language, DUPLICATES[subject], **values)
    message = ROW_MESSAGES.get(error.code, OTHER_PROBLEM)
    return gettext(language, message, **values)


def describe_file_error(error: ProgrammeError, language: str) -> str:
    """Why a whole file could not be imported, as a sentence in the person's language."""
    key = (
        error.details.get("reason", error.code) if error.code == "import_unreadable" else error.code
    )
    message = FILE_MESSAGES.get(str(key))
    if message is None:
        return error.code
    columns = ", ".join(_column(str(c), language) for c in error.details.get("missing", []))
    return gettext(language, message, suffix=error.details.get("suffix", ""), columns=columns)


def describe_report(report: ImportReport, language: str, *, subject: str) -> list[str]:
    """The outcome, first line first: how many were imported, how many rows were not (rows,
    not problems: a row with three problems is one row), then each problem by line."""
    one, many = IMPORTED[subject]
    created = len(report.created)
    lines = [
        gettext(language, one if created == 1 else many, count=format_number(created, language))
    ]
    failed = len(report.failed_lines)
    if failed:
        one, many = NOT_IMPORTED
        lines.append(
            gettext(language, one if failed == 1 else many, count=format_number(failed, language))
        )
        lines.extend(describe_row_error(e, language, subject=subject) for e in report.errors)
    return lines
