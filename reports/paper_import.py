"""Improvements recorded on paper checklists in earlier follow-up rounds, imported from CSV/XLSX.

Before the bot, providers noted improvements on paper during their revisits; typed into a
spreadsheet they become data like any report, so that the summary covers the whole programme.
Same approach as the enterprise import (models/imports.py, whose readers this reuses): every
row is checked, a refused row is reported with the line number the person sees in the
spreadsheet and the others are imported, and uploading the same file again only adds what was
refused before (rows already imported come back as "duplicate").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import closing
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import content
from models.imports import (
    Cell,
    ImportReport,
    RowError,
    _day,
    _is_blank,
    _rows,
    _text,
    area_index,
    header_positions,
    kind_index,
)
from models.improvements import band_of
from models.programme import ProgrammeError, audit
from models.tables import Enterprise, Improvement, Provider, ReviewStatus

SOURCE = "paper"
DESCRIPTION_MIN, DESCRIPTION_MAX = 5, 1000
COST_MAX = 10_000_000_000
WORKERS_MAX = 1_000_000

# Column -> what it holds; quoted in the README.
IMPROVEMENT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "enterprise": "The enterprise's id (as in the exports) or its exact name among the "
        "provider's enterprises. Required.",
        "date": "Day the improvement was recorded: dd/mm/yyyy, yyyy-mm-dd or an Excel date; "
        "not in the future. Required.",
        "area": "Technical area: its code (storage, workstation, machine, environment, welfare, "
        "organisation) or its Vietnamese or English name. Required.",
        "kind": "Kind of improvement inside the area: its code or name from "
        "content/kinds.toml (e.g. storage-racks). Optional.",
        "description": "What was improved, 5 to 1000 characters. Required.",
        "cost": "Cost in VND, a whole number (500.000 and 500,000 are five hundred thousand). "
        "Optional.",
        "workers": "Workers who benefit, a whole number. Optional.",
        "risk_before": "Risk score before, 1-9 (likelihood x severity), or written as 3x2. "
        "Optional; give both or neither.",
        "risk_after": "Risk score after, the same way. Optional.",
        "verified": "yes / có when the provider saw the improvement on site: imported as "
        "verified. Optional (default: submitted, to be reviewed).",
    }
)
REQUIRED = ("enterprise", "date", "area", "description")
COLUMN_HEADERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "enterprise": ("enterprise", "enterprise id", "doanh nghiệp", "mã doanh nghiệp",
                       "tên doanh nghiệp"),
        "date": ("date", "ngày", "ngày ghi nhận", "ngày thăm"),
        "area": ("area", "technical area", "lĩnh vực", "lĩnh vực kỹ thuật"),
        "kind": ("kind", "kind of improvement", "loại", "loại cải thiện"),
        "description": ("description", "what was done", "nội dung", "cải thiện",
                        "nội dung cải thiện", "mô tả"),
        "cost": ("cost", "cost vnd", "cost (vnd)", "chi phí", "chi phí (đồng)", "chi phí vnd"),
        "workers": ("workers", "workers benefiting", "số người hưởng lợi",
                    "người lao động hưởng lợi"),
        "risk_before": ("risk_before", "risk before", "rủi ro trước"),
        "risk_after": ("risk_after", "risk after", "rủi ro sau"),
        "verified": ("verified", "đã xác nhận", "đã xác minh"),
    }
)  # fmt: skip
_HEADER_INDEX = {
    content.fold(header): column for column, headers in COLUMN_HEADERS.items() for header in headers
}
YES = {"yes", "y", "x", "1", "true", "co", "da xac nhan"}
NO = {"", "no", "n", "0", "false", "khong"}


def _whole(cell: Cell, *, limit: int, code: str) -> int | None:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, bool):
        raise ProgrammeError(code)
    if isinstance(cell, float):
        if not cell.is_integer():
            raise ProgrammeError(code)
        cell = int(cell)
    text = str(cell).strip().replace(".", "").replace(",", "").replace(" ", "")
    if not text.isdigit():
        raise ProgrammeError(code)
    value = int(text)
    if value > limit:
        raise ProgrammeError(code, limit=limit)
    return value


def _risk(cell: Cell) -> int | None:
    text = _text(cell).lower().replace("×", "x").replace("*", "x").replace(" ", "")
    if not text:
        return None
    if found := re.fullmatch(r"([1-3])x([1-3])", text):
        return int(found[1]) * int(found[2])
    if text.endswith(".0"):
        text = text[:-2]
    if text.isdigit() and 1 <= int(text) <= 9:
        return int(text)
    raise ProgrammeError("risk_invalid")


def _parse(
    cells: Any,
    positions: Mapping[str, int],
    *,
    enterprises: Mapping[str, int],
    areas: Mapping[str, str],
    kinds: Mapping[str, str],
    today: date,
) -> tuple[dict[str, Any] | None, list[tuple[str, dict[str, Any]]]]:
    def cell(column: str) -> Cell:
        position = positions.get(column)
        return cells[position] if position is not None and position < len(cells) else None

    def enterprise(value: Cell) -> int:
        text = _text(value)
        key = text if text.isdigit() else f"name:{content.fold(text)}"
        if key not in enterprises:
            raise ProgrammeError("unknown_enterprise")
        return enterprises[key]

    def area(value: Cell) -> str:
        code = areas.get(content.fold(_text(value)))
        if code is None:
            raise ProgrammeError("unknown_area")
        return code

    def kind(value: Cell) -> str | None:
        text = _text(value)
        if not text:
            return None
        code = kinds.get(content.fold(text))
        if code is None:
            raise ProgrammeError("unknown_kind")
        return code

    def description(value: Cell) -> str:
        text = " ".join(_text(value).split())
        if len(text) < DESCRIPTION_MIN:
            raise ProgrammeError("description_too_short", limit=DESCRIPTION_MIN)
        if len(text) > DESCRIPTION_MAX:
            raise ProgrammeError("description_too_long", limit=DESCRIPTION_MAX)
        return text

    def verified(value: Cell) -> bool:
        text = content.fold(_text(value))
        if text in YES:
            return True
        if text in NO:
            return False
        raise ProgrammeError("verified_invalid")

    readers = {
        "enterprise": enterprise,
        "date": lambda value: _day(value, today=today),
        "area": area,
        "kind": kind,
        "description": description,
        "cost": lambda value: _whole(value, limit=COST_MAX, code="cost_invalid"),
        "workers": lambda value: _whole(value, limit=WORKERS_MAX, code="workers_invalid"),
        "risk_before": _risk,
        "risk_after": _risk,
        "verified": verified,
    }
    values: dict[str, Any] = {}
    problems: list[tuple[str, dict[str, Any]]] = []
    for column, read in readers.items():
        raw = cell(column)
        try:
            values[column] = read(raw)
        except ProgrammeError as error:
            problems.append((error.code, {"column": column, "value": _text(raw), **error.details}))
    if not problems and (values["risk_before"] is None) != (values["risk_after"] is None):
        problems.append(("risk_incomplete", {"column": "risk_after", "value": ""}))
    found = content.kind(values.get("kind"))
    if not problems and found is not None and found.area != values["area"]:
        problems.append(("unknown_kind", {"column": "kind", "value": _text(cell("kind"))}))
    return (None, problems) if problems else (values, [])


def import_improvements(
    session: Session,
    path: Path,
    *,
    provider_id: int | None,
    today: date,
    tz: ZoneInfo,
    actor_id: int | None = None,
) -> ImportReport:
    """Create the improvements listed in a CSV or XLSX file. With `provider_id`, enterprises
    may be named and must belong to that provider; without it, only ids are accepted."""
    if provider_id is not None and session.get(Provider, provider_id) is None:
        raise ProgrammeError("unknown_provider")
    query = select(col(Enterprise.id), col(Enterprise.name))
    if provider_id is not None:
        query = query.where(Enterprise.provider_id == provider_id)
    enterprises: dict[str, int] = {}
    for enterprise_id, name in session.exec(query):
        assert enterprise_id is not None  # a stored row's key
        enterprises[str(enterprise_id)] = enterprise_id
        if provider_id is not None:
            enterprises[f"name:{content.fold(name)}"] = enterprise_id
    areas = area_index()
    kinds = kind_index()
    existing = {
        (row[0], row[1].astimezone(tz).date() if row[1] else None, row[2])
        for row in session.execute(
            sa.select(
                col(Improvement.enterprise_id),
                col(Improvement.submitted_at),
                col(Improvement.description),
            ).where(col(Improvement.source) == SOURCE)
        )
    }
    report = ImportReport()
    now = datetime.now(UTC)
    with closing(_rows(path)) as rows:
        positions: dict[str, int] | None = None
        for line, cells in rows:
            if _is_blank(cells):
                if positions is not None:
                    report.skipped_blank += 1
                continue
            if positions is None:
                positions = header_positions(list(cells), _HEADER_INDEX, REQUIRED)
                continue
            values, problems = _parse(cells, positions, enterprises=enterprises, areas=areas,
                                      kinds=kinds, today=today)  # fmt: skip
            if values is None:
                report.errors.extend(RowError(line, code, details) for code, details in problems)
                continue
            # Noon in the programme's time zone: the recorded day, whatever the zone offset.
            submitted = datetime.combine(values["date"], time(12), tz).astimezone(UTC)
            key = (values["enterprise"], values["date"], values["description"])
            if key in existing:
                report.errors.append(RowError(line, "duplicate", {}))
                continue
            cost = values["cost"]
            improvement = Improvement(
                enterprise_id=values["enterprise"],
                area_code=values["area"],
                kind_code=values["kind"],
                description=values["description"],
                cost_vnd=cost,
                cost_band=str(band_of(cost)) if cost is not None else None,
                workers_benefiting=values["workers"],
                risk_before_score=values["risk_before"],
                risk_after_score=values["risk_after"],
                status=ReviewStatus.VERIFIED if values["verified"] else ReviewStatus.SUBMITTED,
                submitted_at=submitted,
                # Seen on site, not reviewed in the bot: no review time to count.
                reviewed_at=None,
                created_at=now,
                updated_at=now,
                source=SOURCE,
            )
            with session.begin_nested():
                session.add(improvement)
                session.flush()
            existing.add(key)
            assert improvement.id is not None
            report.created.append(improvement.id)
        if positions is None:
            raise ProgrammeError("import_columns", missing=list(REQUIRED))
    audit(session, "improvement.import", actor_id=actor_id, file=path.name[:100],
          created=len(report.created), failed_lines=len(report.failed_lines))  # fmt: skip
    return report
