"""The programme's data as an XLSX workbook and CSV files, streamed.

Sheets: enterprises, improvements, survey answers, visits, and the summary tables. Rows come
from the database a batch at a time (`yield_per`: a server-side cursor on PostgreSQL) and go
straight into openpyxl's write-only workbook and the CSV writers, so memory does not grow with
the number of rows. Headers are in the reader's language.

Worker answers leave without identity: no response id, no contact, no time, and only from
released rounds (closed, with at least MIN_GROUP worker questionnaires: models/surveys.py);
within a round they are sorted by question and answer, so that rows cannot be put back together
into one person's questionnaire.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from bot.i18n import N_, gettext, normalise_language
from models import content
from reports.events import EXPORT_HEADERS as EVENT_HEADERS
from reports.events import event_export_rows
from reports.summary import (
    EMPLOYER,
    WORKER,
    Period,
    Scope,
    Summary,
    _released,
    _response_complete,
    _scoped_enterprises,
    ans,
    ent,
    imp,
    prov,
    resp,
    rnd,
    vis,
)
from reports.text import area_name, period_title, province_name, sector_name

BATCH = 2000
Progress = Callable[[str, int], None]  # sheet name, rows written so far in it


@dataclass(frozen=True)
class Sheet:
    name: str  # sheet and CSV file name
    headers: tuple[str, ...]  # msgids
    rows: Callable[[], Iterator[Sequence[Any]]]
    count: Callable[[], int]  # rows to expect, for progress bars


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    # Excel keeps no time zones: programme time, without the zone.
    return value.astimezone(tz).replace(tzinfo=None) if value is not None else None


def _stream(session: Session, statement: sa.Select[Any]) -> Iterator[sa.Row[Any]]:
    result = session.execute(statement.execution_options(yield_per=BATCH))
    yield from result


def _count(session: Session, statement: sa.Select[Any]) -> int:
    subquery = statement.order_by(None).subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(subquery)).scalar_one())


def _enterprise_ids(scope: Scope, period: Period) -> sa.Select[Any]:
    return _scoped_enterprises(scope, period)


def export_sheets(
    session: Session,
    *,
    summary: Summary,
    tz: ZoneInfo,
    language: str,
) -> list[Sheet]:
    lang = normalise_language(language)
    period, scope = summary.period, summary.scope
    start, end = period.bounds(tz)
    in_scope = _enterprise_ids(scope, period)

    enterprises = (
        sa.select(
            ent.c.id,
            prov.c.name,
            ent.c.name,
            ent.c.sector_code,
            ent.c.province_code,
            ent.c.workers,
            ent.c.intervention_date,
        )
        .select_from(ent.join(prov, prov.c.id == ent.c.provider_id))
        .where(ent.c.id.in_(in_scope))
        .order_by(ent.c.id)
    )

    def enterprise_rows() -> Iterator[Sequence[Any]]:
        for id_, provider, name, sector, province, workers, trained in _stream(
            session, enterprises
        ):
            yield (
                id_,
                provider,
                name,
                sector_name(sector, lang),
                province_name(province, lang),
                workers,
                trained,
            )

    improvement_where = [
        imp.c.submitted_at >= start,
        imp.c.submitted_at < end,
        imp.c.enterprise_id.in_(in_scope),
        imp.c.status.in_(["submitted", "verified", "good_practice"]),
    ]
    if scope.area_code is not None:
        improvement_where.append(imp.c.area_code == scope.area_code)
    improvements = (
        sa.select(
            imp.c.id,
            imp.c.enterprise_id,
            ent.c.name,
            imp.c.area_code,
            imp.c.description,
            imp.c.cost_vnd,
            imp.c.cost_band,
            imp.c.workers_benefiting,
            imp.c.risk_before_likelihood,
            imp.c.risk_before_severity,
            imp.c.risk_before_score,
            imp.c.risk_after_likelihood,
            imp.c.risk_after_severity,
            imp.c.risk_after_score,
            imp.c.status,
            imp.c.submitted_at,
            imp.c.reviewed_at,
            imp.c.source,
        )
        .select_from(imp.join(ent, ent.c.id == imp.c.enterprise_id))
        .where(*improvement_where)
        .order_by(imp.c.id)
    )

    def improvement_rows() -> Iterator[Sequence[Any]]:
        for row in _stream(session, improvements):
            values = list(row)
            values[3] = area_name(values[3], lang)
            values[14] = gettext(lang, STATUS_LABELS.get(values[14], values[14]))
            values[15] = _local(values[15], tz)
            values[16] = _local(values[16], tz)
            yield values

    # Worker answers leave the database only from released units: closed rounds with at least
    # MIN_GROUP of them, whole (models/surveys.py), so two exports never differ by fewer.
    round_where = [
        rnd.c.opened_at >= start,
        rnd.c.opened_at < end,
        rnd.c.enterprise_id.in_(in_scope),
        _response_complete(),
        _released(),
        resp.c.questionnaire.in_([EMPLOYER, WORKER]),
    ]
    # Employer answers keep their response number (several choices of one person belong
    # together); worker rows get none.
    response_number = sa.case((resp.c.questionnaire == EMPLOYER, resp.c.id))
    answers = (
        sa.select(
            ent.c.name,
            rnd.c.number,
            resp.c.questionnaire,
            response_number,
            ans.c.question_id,
            ans.c.value_int,
            ans.c.value_text,
        )
        .select_from(
            ans.join(resp, resp.c.id == ans.c.response_id)
            .join(rnd, rnd.c.id == resp.c.round_id)
            .join(ent, ent.c.id == rnd.c.enterprise_id)
        )
        .where(*round_where, sa.or_(ans.c.value_int.is_not(None), ans.c.value_text.is_not(None)))
        .order_by(
            ent.c.name,
            rnd.c.number,
            resp.c.questionnaire,
            response_number,
            ans.c.question_id,
            ans.c.value_int,
            ans.c.value_text,
        )
    )

    def answer_rows() -> Iterator[Sequence[Any]]:
        for name, number, questionnaire_id, response, question, value_int, value_text in _stream(
            session, answers
        ):
            label = answer_label(questionnaire_id, question, value_int, value_text, lang)
            yield (
                name,
                number,
                questionnaire_label(questionnaire_id, lang),
                response,
                question_text(questionnaire_id, question, lang),
                label,
            )

    visits = (
        sa.select(
            vis.c.id,
            ent.c.name,
            prov.c.name,
            vis.c.due_on,
            vis.c.status,
            vis.c.scheduled_at,
            vis.c.done_at,
            vis.c.notes,
        )
        .select_from(
            vis.join(ent, ent.c.id == vis.c.enterprise_id).join(
                prov, prov.c.id == ent.c.provider_id
            )
        )
        .where(
            vis.c.due_on >= period.first,
            vis.c.due_on <= period.last,
            vis.c.enterprise_id.in_(in_scope),
        )
        .order_by(vis.c.due_on, vis.c.id)
    )

    def visit_rows() -> Iterator[Sequence[Any]]:
        for id_, name, provider, due, status, scheduled, done, notes in _stream(session, visits):
            yield (
                id_,
                name,
                provider,
                due,
                gettext(lang, VISIT_LABELS.get(status, status)),
                _local(scheduled, tz),
                _local(done, tz),
                notes,
            )

    summary_table = list(summary_rows(summary, lang))
    event_table = event_export_rows(
        session,  # type: ignore[arg-type]
        provider_id=scope.provider_id,
        start=start,
        end=end,
        tz=tz,
        language=lang,
    )
    return [
        Sheet(
            "enterprises", ENTERPRISE_HEADERS, enterprise_rows, lambda: _count(session, enterprises)
        ),
        Sheet(
            "improvements",
            IMPROVEMENT_HEADERS,
            improvement_rows,
            lambda: _count(session, improvements),
        ),
        Sheet("survey_answers", ANSWER_HEADERS, answer_rows, lambda: _count(session, answers)),
        Sheet("visits", VISIT_HEADERS, visit_rows, lambda: _count(session, visits)),
        Sheet("summary", SUMMARY_HEADERS, lambda: iter(summary_table), lambda: len(summary_table)),
        # Events (reports/events.py): meetings and workshops that started in the period.
        Sheet("events", EVENT_HEADERS, lambda: iter(event_table), lambda: len(event_table)),
    ]


ENTERPRISE_HEADERS = (
    N_("enterprise id"),
    N_("provider"),
    N_("enterprise"),
    N_("sector"),
    N_("province"),
    N_("workers"),
    N_("training date"),
)
IMPROVEMENT_HEADERS = (
    N_("improvement id"),
    N_("enterprise id"),
    N_("enterprise"),
    N_("area"),
    N_("what was done"),
    N_("cost (VND)"),
    N_("cost band"),
    N_("workers benefiting"),
    N_("likelihood before"),
    N_("severity before"),
    N_("risk before"),
    N_("likelihood after"),
    N_("severity after"),
    N_("risk after"),
    N_("status"),
    N_("submitted"),
    N_("reviewed"),
    N_("source"),
)
ANSWER_HEADERS = (
    N_("enterprise"),
    N_("round"),
    N_("questionnaire"),
    N_("employer response"),
    N_("question"),
    N_("answer"),
)
VISIT_HEADERS = (
    N_("visit id"),
    N_("enterprise"),
    N_("provider"),
    N_("due"),
    N_("status"),
    N_("scheduled"),
    N_("done"),
    N_("notes"),
)
SUMMARY_HEADERS = (N_("table"), N_("row"), N_("figure"), N_("value"), N_("n"))
STATUS_LABELS = {
    "submitted": N_("submitted"),
    "verified": N_("verified"),
    "good_practice": N_("good practice"),
}
VISIT_LABELS = {
    "planned": N_("planned"),
    "proposed": N_("proposed"),
    "confirmed": N_("confirmed"),
    "done": N_("done"),
    "missed": N_("did not happen"),
    "cancelled": N_("cancelled"),
}
SUPPRESSED = N_("too few answers to show")
YES, NO = N_("yes"), N_("no")


def questionnaire_label(questionnaire_id: str, language: str) -> str:
    found = content.questionnaire(questionnaire_id)
    return found.title(language) if found is not None else questionnaire_id


def question_text(questionnaire_id: str, question_id: str, language: str) -> str:
    found = content.questionnaire(questionnaire_id)
    question = next((q for q in found.questions if q.id == question_id), None) if found else None
    return question.text(language) if question is not None else question_id


def answer_label(
    questionnaire_id: str,
    question_id: str,
    value_int: int | None,
    value_text: str | None,
    language: str,
) -> Any:
    if value_int is not None:
        return value_int
    found = content.questionnaire(questionnaire_id)
    question = next((q for q in found.questions if q.id == question_id), None) if found else None
    if question is not None and value_text is not None:
        if question.type == "yesno":
            return gettext(language, YES if value_text == "yes" else NO)
        option = question.option(value_text)
        if option is not None:
            return option.label(language)
    return value_text


def summary_rows(summary: Summary, language: str) -> Iterator[tuple[Any, ...]]:
    """The summary's figures as (table, row, figure, value, n) lines, worker figures resting on
    fewer than MIN_GROUP respondents replaced by "too few answers to show"."""

    def _(message: str, **values: Any) -> str:
        return gettext(language, message, **values)

    s = summary
    hidden = _(SUPPRESSED)
    head = _("summary")
    yield head, period_title(s.period, language), _("first day"), s.period.first, None
    yield head, period_title(s.period, language), _("last day"), s.period.last, None
    e = s.enterprises
    table = _("enterprises")
    yield table, "", _("in the programme"), e.in_programme, None
    yield table, "", _("followed up"), e.followed_up, None
    yield table, "", _("without an improvement report"), e.without_reports, None
    yield table, "", _("reachable employers"), e.reachable_employers, None
    yield table, "", _("reachable workers"), e.reachable_workers, None
    i = s.improvements
    table = _("improvements")
    yield table, "", _("total"), i.total, None
    yield table, "", _("verified"), i.verified, None
    yield table, "", _("good practices"), i.good_practice, None
    yield table, "", _("median per enterprise"), i.per_enterprise_median, e.in_programme
    yield table, "", _("median cost (VND)"), i.cost_median_vnd, None
    yield table, "", _("no or low cost (under 1 million VND)"), i.low_cost, i.cost_known
    yield table, "", _("workers benefiting"), i.workers_benefiting, None
    for bucket in i.distribution:
        yield (
            _("improvements per enterprise"),
            bucket.label,
            _("enterprises"),
            bucket.enterprises,
            None,
        )
    table = _("risk before and after")
    for area in (*s.areas, None):
        label = _("all") if area is None else area_name(area.area_code, language)
        risk = s.risk if area is None else area.risk
        improvements = i.total if area is None else area.improvements
        yield table, label, _("improvements"), improvements, None
        yield table, label, _("mean risk before"), risk.mean_before, risk.rated
        yield table, label, _("mean risk after"), risk.mean_after, risk.rated
        yield table, label, _("high → medium or low"), risk.moved_down, risk.high_before
    for kind, groups, name in (
        (_("province"), s.provinces, province_name),
        (_("sector"), s.sectors, sector_name),
    ):
        for group in groups:
            yield kind, name(group.code, language), _("enterprises"), group.enterprises, None
            yield kind, name(group.code, language), _("improvements"), group.improvements, None
    table = _("employers")
    emp = s.employers
    yield table, "", _("respondents"), emp.respondents, None
    yield table, "", _("usefulness of the support (1–5)"), emp.usefulness.mean, emp.usefulness.n
    yield table, "", _("would recommend the programme"), emp.recommend.yes, emp.recommend.n
    for question, choices in (
        ("benefits", emp.benefits),
        ("main_obstacle", emp.obstacles),
        ("improvements_kept", emp.kept),
    ):
        for choice in choices:
            label = answer_label(EMPLOYER, question, None, choice.code, language)
            yield (
                table,
                question_text(EMPLOYER, question, language),
                label,
                choice.count,
                emp.respondents,
            )
    table = _("workers")
    w = s.workers
    yield table, "", _("respondents"), w.respondents, None
    for label, rating in (
        (_("work is safer (1–5)"), w.safer),
        (_("work is less tiring (1–5)"), w.less_tiring),
    ):
        yield table, "", label, rating.mean if rating.shown else hidden, rating.n
    for label, answer in (
        (_("workers' ideas were asked for"), w.ideas_asked),
        (_("OSH training this year"), w.training),
    ):
        yield table, "", label, answer.yes if answer.shown else hidden, answer.n
    remaining = w.remaining_problems if w.remaining_problems is not None else hidden
    yield table, "", _("named a problem that remains"), remaining, w.respondents
    table = _("response rates per round")
    for r in s.rounds:
        yield table, r.number, _("rounds opened"), r.rounds, None
        yield table, r.number, _("with an employer answer"), r.with_employer_answer, r.rounds
        yield table, r.number, _("worker answers"), r.worker_responses, r.registered_workers
    table = _("service quality per provider")
    for p in s.providers:
        yield table, p.name, _("revisits due"), p.visits_due, None
        yield table, p.name, _("on time"), p.visits_on_time, p.visits_due
        yield table, p.name, _("late"), p.visits_late, p.visits_due
        yield table, p.name, _("overdue"), p.visits_overdue, p.visits_due
        yield table, p.name, _("median days to review"), p.review_median_days, p.reviewed
        yield table, p.name, _("awaiting review"), p.awaiting_review, None
        yield table, p.name, _("employer usefulness (1–5)"), p.usefulness.mean, p.usefulness.n


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_export(
    sheets: list[Sheet],
    *,
    language: str,
    xlsx_path: Path,
    csv_dir: Path | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Writes the workbook (and one CSV per sheet) in one pass over each sheet's rows."""
    lang = normalise_language(language)
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    written = [xlsx_path]
    if csv_dir is not None:
        csv_dir.mkdir(parents=True, exist_ok=True)
    for sheet in sheets:
        worksheet = workbook.create_sheet(gettext(lang, SHEET_TITLES[sheet.name])[:31])
        headers = [gettext(lang, header) for header in sheet.headers]
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(worksheet, value=header)
            cell.font = bold
            header_cells.append(cell)
        worksheet.append(header_cells)
        handle = None
        writer = None
        if csv_dir is not None:
            path = csv_dir / f"{sheet.name}.csv"
            written.append(path)
            # utf-8-sig: Excel opens the file with its Vietnamese letters intact.
            handle = path.open("w", encoding="utf-8-sig", newline="")
            writer = csv.writer(handle)
            writer.writerow(headers)
        try:
            for number, row in enumerate(sheet.rows(), start=1):
                worksheet.append(list(row))
                if writer is not None:
                    writer.writerow([_csv_value(value) for value in row])
                if progress is not None and number % BATCH == 0:
                    progress(sheet.name, number)
        finally:
            if handle is not None:
                handle.close()
        if progress is not None:
            progress(sheet.name, -1)
    xlsx_path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(xlsx_path)
    return written


SHEET_TITLES = {
    "enterprises": N_("Enterprises"),
    "improvements": N_("Improvements"),
    "survey_answers": N_("Survey answers"),
    "visits": N_("Visits"),
    "summary": N_("Summary"),
    "events": N_("Events"),
}


def zip_csvs(paths: list[Path], target: Path) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            if path.suffix == ".csv":
                archive.write(path, arcname=path.name)
    return target


def csv_bytes(rows: Iterator[Sequence[Any]], headers: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")
