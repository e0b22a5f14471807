"""The programme's data as an XLSX workbook and CSV files, streamed.

Sheets: enterprises, improvements, survey answers, visits, the summary tables, kinds of
improvement per area, and what is going well and the support wanted (texts to read). Rows come
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
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from bot.i18n import N_, gettext, normalise_language
from models import content
from models.tables import PlanItem, VisitCheck
from reports.events import EXPORT_HEADERS as EVENT_HEADERS
from reports.events import event_export_rows
from reports.figures import (
    EMPLOYER,
    VOICE_QUESTIONS,
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
from reports.text import area_name, kind_name, period_title, province_name, sector_name

item = PlanItem.__table__  # type: ignore[attr-defined]
chk = VisitCheck.__table__  # type: ignore[attr-defined]

BATCH = 2000
Progress = Callable[[str, int], None]  # sheet name, rows written so far in it


class Kind(StrEnum):
    """What a column holds: its number format and width in the workbook."""

    TEXT = "text"  # names, labels
    LONG = "long"  # descriptions, notes, questions and answers
    ID = "id"
    INT = "int"
    DECIMAL = "decimal"  # means and medians, one decimal
    VND = "vnd"
    DATE = "date"
    MOMENT = "moment"  # date and time, programme time
    ANY = "any"  # the summary's value column: each row says (see Typed)


@dataclass(frozen=True)
class Column:
    header: str  # msgid
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Typed:
    """A value of an ANY column with the kind it should be shown as."""

    value: Any
    kind: Kind


@dataclass(frozen=True)
class Sheet:
    name: str  # sheet and CSV file name
    columns: tuple[Column, ...]
    rows: Callable[[], Iterator[Sequence[Any]]]
    count: Callable[[], int]  # rows to expect, for progress bars

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(column.header for column in self.columns)


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    # Excel keeps no time zones: programme time, without the zone.
    return value.astimezone(tz).replace(tzinfo=None) if value is not None else None


def _stream(session: Session, statement: sa.Select[Any]) -> Iterator[tuple[Any, ...]]:
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
            ent.c.archived_at,
        )
        .select_from(ent.join(prov, prov.c.id == ent.c.provider_id))
        .where(ent.c.id.in_(in_scope))
        .order_by(ent.c.id)
    )

    def enterprise_rows() -> Iterator[Sequence[Any]]:
        for id_, provider, name, sector, province, workers, trained, archived in _stream(
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
                _local(archived, tz),  # archived ones stay: the export counts what happened
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
            imp.c.kind_code,
        )
        .select_from(imp.join(ent, ent.c.id == imp.c.enterprise_id))
        .where(*improvement_where)
        .order_by(imp.c.id)
    )

    def improvement_rows() -> Iterator[Sequence[Any]]:
        for row in _stream(session, improvements):
            values = list(row)
            values[3] = area_name(values[3], lang)
            values[6] = _label(lang, BAND_LABELS, values[6])
            values[8] = _label(lang, LIKELIHOOD_LABELS, values[8])
            values[9] = _label(lang, SEVERITY_LABELS, values[9])
            values[11] = _label(lang, LIKELIHOOD_LABELS, values[11])
            values[12] = _label(lang, SEVERITY_LABELS, values[12])
            values[14] = _label(lang, STATUS_LABELS, values[14])
            values[15] = _local(values[15], tz)
            values[16] = _local(values[16], tz)
            values[17] = _label(lang, SOURCE_LABELS, values[17])
            # Last, so that the earlier columns keep their places for existing spreadsheets.
            values[18] = kind_name(values[18], lang) if values[18] is not None else None
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

    # What is going well and what support is wanted, to be read: the same rows as the survey
    # answers sheet (worker texts only from released rounds, without response number), only
    # those questions.
    voice_questions = sa.or_(
        *(
            sa.and_(resp.c.questionnaire == questionnaire, ans.c.question_id.in_(questions))
            for questionnaire, questions in VOICE_QUESTIONS.items()
        )
    )
    voices = answers.where(
        voice_questions, sa.func.length(sa.func.trim(sa.func.coalesce(ans.c.value_text, ""))) > 0
    )

    def voice_rows() -> Iterator[Sequence[Any]]:
        for name, number, questionnaire_id, response, question, value_int, value_text in _stream(
            session, voices
        ):
            yield (
                name,
                number,
                questionnaire_label(questionnaire_id, lang),
                response,
                question_text(questionnaire_id, question, lang),
                answer_label(questionnaire_id, question, value_int, value_text, lang),
            )

    kind_table = [
        (
            area_name(k.area_code, lang),
            kind_name(k.kind_code, lang),
            k.improvements,
            k.effective,
        )
        for k in summary.kinds
    ]

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
                _label(lang, VISIT_LABELS, status),
                _local(scheduled, tz),
                _local(done, tz),
                notes,
            )

    plan_where = [
        item.c.due_on >= period.first,
        item.c.due_on <= period.last,
        item.c.enterprise_id.in_(in_scope),
    ]
    if scope.area_code is not None:
        plan_where.append(item.c.area_code == scope.area_code)
    # The items the summary's plan completion counts: due in the period.
    plan_items = (
        sa.select(
            item.c.id,
            item.c.enterprise_id,
            ent.c.name,
            item.c.area_code,
            item.c.what,
            item.c.checkpoint,
            item.c.who,
            item.c.due_on,
            item.c.status,
            item.c.done_at,
            item.c.in_use_at,
            item.c.ended_at,
            item.c.improvement_id,
            item.c.source,
        )
        .select_from(item.join(ent, ent.c.id == item.c.enterprise_id))
        .where(*plan_where)
        .order_by(item.c.enterprise_id, item.c.due_on, item.c.id)
    )

    def plan_rows() -> Iterator[Sequence[Any]]:
        for row in _stream(session, plan_items):
            values = list(row)
            values[3] = area_name(values[3], lang)
            values[8] = _label(lang, PLAN_LABELS, values[8])
            values[9:12] = [_local(value, tz) for value in values[9:12]]
            values[13] = _label(lang, PLAN_SOURCE_LABELS, values[13])
            yield values

    # The checks the summary's revisit figures read: made in the period (models/visit_checks.py).
    area = sa.func.coalesce(imp.c.area_code, item.c.area_code)
    check_where = [
        chk.c.checked_at >= start,
        chk.c.checked_at < end,
        chk.c.enterprise_id.in_(in_scope),
    ]
    if scope.area_code is not None:
        check_where.append(area == scope.area_code)
    checks = (
        sa.select(
            chk.c.visit_id,
            chk.c.enterprise_id,
            ent.c.name,
            chk.c.improvement_id,
            chk.c.plan_item_id,
            area,
            sa.func.coalesce(imp.c.description, item.c.what),
            chk.c.state,
            chk.c.self_score,
            chk.c.staff_score,
            chk.c.checked_at,
        )
        .select_from(
            chk.join(ent, ent.c.id == chk.c.enterprise_id)
            .outerjoin(imp, imp.c.id == chk.c.improvement_id)
            .outerjoin(item, item.c.id == chk.c.plan_item_id)
        )
        .where(*check_where)
        .order_by(chk.c.checked_at, chk.c.id)
    )

    def check_rows() -> Iterator[Sequence[Any]]:
        for row in _stream(session, checks):
            values = list(row)
            values[5] = area_name(values[5], lang) if values[5] else None
            values[7] = _label(lang, CHECK_LABELS, values[7])
            values[10] = _local(values[10], tz)
            yield values

    summary_table = list(summary_rows(summary, lang))
    event_table = event_export_rows(
        session,  # type: ignore[arg-type]
        provider_id=scope.provider_id,
        today=summary.today,
        start=start,
        end=end,
        tz=tz,
        language=lang,
    )
    return [
        Sheet(
            "enterprises", ENTERPRISE_COLUMNS, enterprise_rows, lambda: _count(session, enterprises)
        ),
        Sheet(
            "improvements",
            IMPROVEMENT_COLUMNS,
            improvement_rows,
            lambda: _count(session, improvements),
        ),
        Sheet("survey_answers", ANSWER_COLUMNS, answer_rows, lambda: _count(session, answers)),
        Sheet("visits", VISIT_COLUMNS, visit_rows, lambda: _count(session, visits)),
        Sheet("summary", SUMMARY_COLUMNS, lambda: iter(summary_table), lambda: len(summary_table)),
        # Events (reports/events.py): meetings and workshops that started in the period.
        Sheet("events", EVENT_COLUMNS, lambda: iter(event_table), lambda: len(event_table)),
        # Action plans (models/plans.py): the items due in the period.
        Sheet("plan", PLAN_COLUMNS, plan_rows, lambda: _count(session, plan_items)),
        # Kinds of improvement per area (content/kinds.toml), as the summary counts them.
        Sheet("kinds", KIND_COLUMNS, lambda: iter(kind_table), lambda: len(kind_table)),
        Sheet("voices", ANSWER_COLUMNS, voice_rows, lambda: _count(session, voices)),
        # Visit checklists (models/visit_checks.py): what staff saw at visits in the period.
        Sheet("visit_checks", CHECK_COLUMNS, check_rows, lambda: _count(session, checks)),
    ]


ENTERPRISE_COLUMNS = (
    Column(N_("enterprise id"), Kind.ID),
    Column(N_("provider")),
    Column(N_("enterprise")),
    Column(N_("sector")),
    Column(N_("province")),
    Column(N_("workers"), Kind.INT),
    Column(N_("training date"), Kind.DATE),
    Column(N_("archived"), Kind.MOMENT),  # empty while it is followed up
)
IMPROVEMENT_COLUMNS = (
    Column(N_("improvement id"), Kind.ID),
    Column(N_("enterprise id"), Kind.ID),
    Column(N_("enterprise")),
    Column(N_("area")),
    Column(N_("what was done"), Kind.LONG),
    Column(N_("cost (VND)"), Kind.VND),
    Column(N_("cost band")),
    Column(N_("workers benefiting"), Kind.INT),
    Column(N_("likelihood before")),
    Column(N_("severity before")),
    Column(N_("risk before"), Kind.INT),
    Column(N_("likelihood after")),
    Column(N_("severity after")),
    Column(N_("risk after"), Kind.INT),
    Column(N_("status")),
    Column(N_("submitted"), Kind.MOMENT),
    Column(N_("reviewed"), Kind.MOMENT),
    Column(N_("source")),
    Column(N_("kind of improvement")),
)
ANSWER_COLUMNS = (
    Column(N_("enterprise")),
    Column(N_("round"), Kind.INT),
    Column(N_("questionnaire")),
    Column(N_("employer response"), Kind.ID),
    Column(N_("question"), Kind.LONG),
    Column(N_("answer"), Kind.LONG),
)
VISIT_COLUMNS = (
    Column(N_("visit id"), Kind.ID),
    Column(N_("enterprise")),
    Column(N_("provider")),
    Column(N_("due"), Kind.DATE),
    Column(N_("status")),
    Column(N_("scheduled"), Kind.MOMENT),
    Column(N_("done"), Kind.MOMENT),
    Column(N_("notes"), Kind.LONG),
)
PLAN_COLUMNS = (
    Column(N_("plan item id"), Kind.ID),
    Column(N_("enterprise id"), Kind.ID),
    Column(N_("enterprise")),
    Column(N_("area")),
    Column(N_("what is planned"), Kind.LONG),
    Column(N_("checkpoint")),
    Column(N_("who does it")),
    Column(N_("due day"), Kind.DATE),
    Column(N_("status")),
    Column(N_("done"), Kind.MOMENT),
    Column(N_("still in use"), Kind.MOMENT),
    Column(N_("no longer in use"), Kind.MOMENT),
    Column(N_("improvement id"), Kind.ID),
    Column(N_("source")),
)
KIND_COLUMNS = (
    Column(N_("area")),
    Column(N_("kind of improvement")),
    Column(N_("improvements"), Kind.INT),
    Column(N_("effective (verified or risk reduced)"), Kind.INT),
)
CHECK_COLUMNS = (
    Column(N_("visit id"), Kind.ID),
    Column(N_("enterprise id"), Kind.ID),
    Column(N_("enterprise")),
    Column(N_("improvement id"), Kind.ID),
    Column(N_("plan item id"), Kind.ID),
    Column(N_("area")),
    Column(N_("what"), Kind.LONG),
    Column(N_("seen at the visit")),
    Column(N_("risk now, the enterprise's rating"), Kind.INT),
    Column(N_("risk now, staff's rating"), Kind.INT),
    Column(N_("checked"), Kind.MOMENT),
)
SUMMARY_COLUMNS = (
    Column(N_("table")),
    Column(N_("row")),
    Column(N_("figure"), Kind.LONG),
    Column(N_("value"), Kind.ANY),
    Column(N_("based on (n)"), Kind.INT),
)
EVENT_KINDS = (
    Kind.ID, Kind.MOMENT, Kind.TEXT, Kind.LONG, Kind.TEXT, Kind.INT, Kind.INT, Kind.INT,
    Kind.INT, Kind.INT, Kind.INT, Kind.INT, Kind.DECIMAL,
)  # fmt: skip
EVENT_COLUMNS = tuple(
    Column(header, kind) for header, kind in zip(EVENT_HEADERS, EVENT_KINDS, strict=True)
)
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
# The same words as the report conversation's buttons (handlers/review.py), which the domain
# cannot import.
BAND_LABELS = {
    "free": N_("Free"),
    "under_1m": N_("Under 1 million"),
    "1m_5m": N_("1–5 million"),
    "over_5m": N_("Over 5 million"),
}
LIKELIHOOD_LABELS = {1: N_("unlikely"), 2: N_("possible"), 3: N_("likely")}
SEVERITY_LABELS = {1: N_("minor"), 2: N_("serious"), 3: N_("very serious")}
PLAN_LABELS = {
    "planned": N_("planned"),
    "done": N_("done"),
    "in_use": N_("still in use"),
    "ended": N_("no longer in use"),
}
CHECK_LABELS = {
    "in_use": N_("in use"),
    "partly": N_("partly in use"),
    "no_longer": N_("not in use"),
}
PLAN_SOURCE_LABELS = {"chat": N_("chat"), "import": N_("spreadsheet")}
SOURCE_LABELS = {
    "telegram": N_("Telegram"),
    "zalo": N_("Zalo"),
    "paper": N_("paper checklist"),
    "visit": N_("seen by staff at a visit"),
}


def _label(language: str, labels: Mapping[Any, str], code: Any) -> Any:
    """The reader's word for a stored code; an unknown code as it is, an empty cell empty."""
    if code is None:
        return None
    found = labels.get(code)
    return gettext(language, found) if found is not None else code


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


def _decimal(value: float | None) -> Typed | None:
    return Typed(value, Kind.DECIMAL) if value is not None else None


def summary_rows(summary: Summary, language: str) -> Iterator[tuple[Any, ...]]:
    """The summary's figures as (table, row, figure, value, n) lines, worker figures resting on
    fewer than MIN_GROUP respondents replaced by "too few answers to show"."""

    def _(message: str, **values: Any) -> str:
        return gettext(language, message, **values)

    s = summary
    hidden = _(SUPPRESSED)
    head = _("summary")
    title = period_title(s.period, language)
    yield head, title, _("first day"), Typed(s.period.first, Kind.DATE), None
    yield head, title, _("last day"), Typed(s.period.last, Kind.DATE), None
    # Counts of revisits stop at the report date (a visit due later is not due yet).
    yield head, title, _("report date"), Typed(s.today, Kind.DATE), None
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
    yield table, "", _("seen new by staff at visits"), s.revisits.seen, i.verified
    yield table, "", _("good practices"), i.good_practice, None
    yield table, "", _("median per enterprise"), _decimal(i.per_enterprise_median), e.in_programme
    # The count beside the median is the number of amounts it was taken from, not the reports
    # with a cost band only.
    yield table, "", _("median cost (VND)"), Typed(i.cost_median_vnd, Kind.VND), i.cost_amounts
    yield table, "", _("no or low cost (under 1 million VND)"), i.low_cost, i.cost_known
    yield table, "", _("workers benefiting"), i.workers_benefiting, None
    table = _("action plans")
    yield table, "", _("items due in the period"), s.plan.planned, None
    yield table, "", _("done or still in use"), s.plan.completed, s.plan.planned
    seen = s.revisits
    table = _("revisits")
    yield table, "", _("improvements and plan items checked at revisits"), seen.checked, None
    yield table, "", _("in use at revisit"), seen.in_use, seen.checked
    yield table, "", _("partly in use at revisit"), seen.partly, seen.checked
    yield table, "", _("no longer in use at revisit"), seen.no_longer, seen.checked
    yield table, "", _("risk verified against the self-rating"), seen.risk_checked, None
    yield table, "", _("staff agree with the self-rating"), seen.risk_agreed, seen.risk_checked
    yield table, "", _("staff rate the risk higher"), seen.risk_higher, seen.risk_checked
    yield table, "", _("staff rate the risk lower"), seen.risk_lower, seen.risk_checked
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
        yield table, label, _("mean risk before"), _decimal(risk.mean_before), risk.rated
        yield table, label, _("mean risk after"), _decimal(risk.mean_after), risk.rated
        yield table, label, _("high → medium or low"), risk.moved_down, risk.high_before
    table = _("kinds of improvement")
    for k in s.kinds:
        label = f"{area_name(k.area_code, language)}: {kind_name(k.kind_code, language)}"
        yield table, label, _("improvements"), k.improvements, None
        yield table, label, _("effective (verified or risk reduced)"), k.effective, k.improvements
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
    yield table, "", _("taken down by staff at a visit"), s.revisits.assisted, emp.respondents
    yield (
        table, "", _("usefulness of the support (1–5)"), _decimal(emp.usefulness.mean),
        emp.usefulness.n,
    )  # fmt: skip
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
    yield table, "", _("wrote what is going well"), emp.going_well, emp.respondents
    for choice in emp.support_wanted:
        label = answer_label(EMPLOYER, "support_wanted", None, choice.code, language)
        yield (
            table,
            question_text(EMPLOYER, "support_wanted", language),
            label,
            choice.count,
            emp.respondents,
        )
    yield table, "", _("wrote what other support they want"), emp.support_other, emp.respondents
    table = _("workers")
    w = s.workers
    yield table, "", _("respondents"), w.respondents, None
    for label, rating in (
        (_("work is safer (1–5)"), w.safer),
        (_("work is less tiring (1–5)"), w.less_tiring),
    ):
        yield table, "", label, _decimal(rating.mean) if rating.shown else hidden, rating.n
    for label, answer in (
        (_("workers' ideas were asked for"), w.ideas_asked),
        (_("OSH training this year"), w.training),
    ):
        yield table, "", label, answer.yes if answer.shown else hidden, answer.n
    remaining = w.remaining_problems if w.remaining_problems is not None else hidden
    yield table, "", _("named a problem that remains"), remaining, w.respondents
    helpful = w.helpful_change if w.helpful_change is not None else hidden
    yield table, "", _("named the change that helped most"), helpful, w.respondents
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
        yield table, p.name, _("median days to review"), _decimal(p.review_median_days), p.reviewed
        yield table, p.name, _("awaiting review"), p.awaiting_review, None
        yield (
            table, p.name, _("employer usefulness (1–5)"), _decimal(p.usefulness.mean),
            p.usefulness.n,
        )  # fmt: skip


# OWASP's CSV injection guidance: a text cell starting with one of these is run as a formula by
# Excel, LibreOffice and Google Sheets (a report description "=HYPERLINK(...)" became a live
# link in the staff export). Stored text is the reporters', so every text cell is checked.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Column widths in characters: wide enough for a date, a time and a cost in the formats below
# (Excel shows #### in a column too narrow for its number).
WIDTHS = {
    Kind.TEXT: 22, Kind.LONG: 50, Kind.ID: 10, Kind.INT: 10, Kind.DECIMAL: 10, Kind.VND: 16,
    Kind.DATE: 12, Kind.MOMENT: 17, Kind.ANY: 16,
}  # fmt: skip
FORMATS = {
    "vi": {
        Kind.VND: '#,##0 "đ"', Kind.DECIMAL: "0.0", Kind.DATE: "dd/mm/yyyy",
        Kind.MOMENT: "dd/mm/yyyy hh:mm",
    },
    "en": {
        Kind.VND: '#,##0 "VND"', Kind.DECIMAL: "0.0", Kind.DATE: "d mmm yyyy",
        Kind.MOMENT: "d mmm yyyy hh:mm",
    },
}  # fmt: skip


def formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def _csv_value(value: Any) -> Any:
    if isinstance(value, Typed):
        value = value.value
        if isinstance(value, float):
            value = round(value, 2)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if formula_like(value):
        # A CSV cell has no type: the apostrophe is what makes a spreadsheet read it as text.
        return "'" + value
    return value


def _xlsx_value(worksheet: Any, value: Any, kind: Kind, formats: Mapping[Kind, str]) -> Any:
    """The value as the workbook should hold it: plain values as they are (cheap: a workbook
    may have millions of cells), formatted cells for numbers and dates, text that looks like
    a formula as text."""
    if isinstance(value, Typed):
        value, kind = value.value, value.kind
    if isinstance(value, str):
        if not formula_like(value):
            return value
        cell = WriteOnlyCell(worksheet, value=value)
        # openpyxl makes any text starting with "=" a formula. A text cell with Excel's quote
        # prefix is what Excel itself stores when someone types '=...: shown as typed, and
        # still text when the cell is edited later.
        cell.data_type = "s"
        cell.quotePrefix = True
        return cell
    number_format = formats.get(kind)
    if value is None or number_format is None or isinstance(value, bool):
        return value
    if kind in (Kind.DATE, Kind.MOMENT) and not isinstance(value, date):
        return value
    cell = WriteOnlyCell(worksheet, value=value)
    cell.number_format = number_format
    return cell


def write_export(
    sheets: list[Sheet],
    *,
    language: str,
    xlsx_path: Path,
    csv_dir: Path | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Writes the workbook (and one CSV per sheet) in one pass over each sheet's rows. Each
    sheet opens with its header row frozen and filters on, columns wide enough for their
    contents, costs, dates and means formatted for the reader's language."""
    lang = normalise_language(language)
    formats = FORMATS[lang]
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    written = [xlsx_path]
    if csv_dir is not None:
        csv_dir.mkdir(parents=True, exist_ok=True)
    for sheet in sheets:
        worksheet = workbook.create_sheet(gettext(lang, SHEET_TITLES[sheet.name])[:31])
        headers = [gettext(lang, header) for header in sheet.headers]
        kinds = [column.kind for column in sheet.columns]
        # Written before the first row: a write-only sheet puts its views and widths first.
        worksheet.freeze_panes = "A2"
        for index, (header, kind) in enumerate(zip(headers, kinds, strict=True), start=1):
            width = max(WIDTHS[kind], min(len(header) + 3, 30))
            worksheet.column_dimensions[get_column_letter(index)].width = width
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(worksheet, value=header)
            cell.font = bold
            cell.alignment = wrap
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
        number = 0
        try:
            for number, row in enumerate(sheet.rows(), start=1):
                worksheet.append(
                    [
                        _xlsx_value(worksheet, value, kind, formats)
                        for value, kind in zip(row, kinds, strict=True)
                    ]
                )
                if writer is not None:
                    writer.writerow([_csv_value(value) for value in row])
                if progress is not None and number % BATCH == 0:
                    progress(sheet.name, number)
        finally:
            if handle is not None:
                handle.close()
        worksheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{number + 1}"
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
    "plan": N_("Action plans"),
    "visit_checks": N_("Visit checklists"),
    "summary": N_("Summary"),
    "events": N_("Events"),
    "kinds": N_("Kinds of improvement"),
    "voices": N_("Going well and support wanted"),
}


def zip_csvs(paths: list[Path], target: Path) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            if path.suffix == ".csv":
                archive.write(path, arcname=path.name)
    return target
