"""Summary, charts and spreadsheet as files in a folder: `oshbot export`, /export, the demo; and
what staff get for a period on Telegram and Zalo alike (`shown_summary`, `period_export`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from models.db import Database
from models.tables import Contact, Provider, Role
from reports.charts import Chart, summary_charts
from reports.figures import Period, Scope, Summary, year_period
from reports.summary import build_summary
from reports.text import period_title, summary_message, summary_text
from reports.xlsx import Progress, export_sheets, write_export, zip_csvs


@dataclass(frozen=True)
class Written:
    summary: Summary
    text_path: Path
    json_path: Path
    chart_paths: list[Path]
    xlsx_path: Path
    csv_paths: list[Path]
    csv_zip: Path


def provider_name(session: Session, scope: Scope) -> str | None:
    if scope.provider_id is None:
        return None
    provider = session.get(Provider, scope.provider_id)
    return provider.name if provider is not None else None


# Who may see the follow-up summary and its export (staff their provider's, coordinators all).
SUMMARY_ROLES = (Role.STAFF, Role.COORDINATOR)


def held_scope(contact: Contact, scope: Scope) -> Scope:
    """The scope a person may see: staff are always held to their own provider."""
    if contact.role == Role.STAFF:
        return replace(scope, provider_id=contact.provider_id)
    return scope


def shown_summary(
    session: Session, *, period: Period, scope: Scope, tz: ZoneInfo, today: date, language: str
) -> tuple[str, list[Chart]]:
    """The compact summary (HTML) and its charts, as /summary shows them."""
    summary = build_summary(session, period=period, scope=scope, tz=tz, today=today)
    name = provider_name(session, summary.scope)
    return summary_message(summary, language, name), summary_charts(summary, language)


def period_export(
    session: Session,
    *,
    period: Period,
    scope: Scope,
    tz: ZoneInfo,
    today: date,
    language: str,
    out: Path,
) -> tuple[Path, Path, str]:
    """The workbook and the zip of CSV files /export sends, and the period's title."""
    summary = build_summary(session, period=period, scope=scope, tz=tz, today=today)
    xlsx, _csvs, archive = export_files(session, summary=summary, tz=tz, language=language, out=out)
    return xlsx, archive, period_title(summary.period, language)


def export_files(
    session: Session,
    *,
    summary: Summary,
    tz: ZoneInfo,
    language: str,
    out: Path,
    stem: str = "oshbot",
    progress: Progress | None = None,
) -> tuple[Path, list[Path], Path]:
    """The workbook, the CSV files and a zip of them (Telegram sends one document for all)."""
    out.mkdir(parents=True, exist_ok=True)
    sheets = export_sheets(session, summary=summary, tz=tz, language=language)
    written = write_export(
        sheets,
        language=language,
        xlsx_path=out / f"{stem}-{summary.period.label}.xlsx",
        csv_dir=out / "csv",
        progress=progress,
    )
    csv_paths = written[1:]
    archive = zip_csvs(csv_paths, out / f"{stem}-{summary.period.label}-csv.zip")
    return written[0], csv_paths, archive


def write_reports(
    out: Path,
    database_url: str,
    *,
    period: Period | None = None,
    scope: Scope | None = None,
    today: date,
    tz: ZoneInfo,
    language: str = "vi",
) -> Written:
    """Everything a provider would take to a meeting, into `out`: the summary as Markdown and
    JSON, the three charts, the workbook and the CSV files."""
    out.mkdir(parents=True, exist_ok=True)
    period = period or year_period(today.year)
    scope = scope or Scope()
    database = Database(database_url)
    try:
        with database.session() as session:
            summary = build_summary(session, period=period, scope=scope, tz=tz, today=today)
            text = summary_text(summary, language, provider_name(session, scope))
            xlsx_path, csv_paths, archive = export_files(
                session, summary=summary, tz=tz, language=language, out=out
            )
    finally:
        database.dispose()
    text_path = out / "followup-summary.md"
    text_path.write_text(text, encoding="utf-8")
    json_path = out / "followup-summary.json"
    json_path.write_text(
        json.dumps(summary.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    chart_paths = []
    for chart in summary_charts(summary, language):
        path = out / f"chart-{chart.name}.png"
        path.write_bytes(chart.png)
        chart_paths.append(path)
    return Written(summary, text_path, json_path, chart_paths, xlsx_path, csv_paths, archive)
