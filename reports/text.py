"""The summary as words: Jinja2 templates in reports/templates, strings through gettext.

Two kinds of output share the same figures: Telegram HTML (`*.html.j2`, autoescaped; names from
the database are escaped, the catalogue's tags are kept) and plain Markdown for the command line
and the demo folder (`*.md.j2`). StrictUndefined makes a missing figure fail a test instead of
reaching a reader. `{{ _("... {name} ...", name=value) }}` uses the same str.format placeholders
as the Python code, so one catalogue serves both.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from bot.i18n import (
    Translate,
    format_day,
    format_number,
    format_vnd,
    gettext,
    normalise_language,
    translator,
)
from models import content
from models.tables import Contact, Enterprise, Role
from models.text import esc
from reports.figures import Period, Summary, relative_period
from reports.summary import Progress, enterprise_progress

TEMPLATES = Path(__file__).resolve().parent / "templates"
CAPTION_LIMIT = 1024  # the compact message travels as a photo caption


def one_decimal(value: float) -> Decimal:
    """Half up, as people round (Babel's default, half even, shows 6.25 as 6.2)."""
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def period_labels(_: Translate) -> dict[str, str]:
    """The names of the periods offered (RELATIVE_PERIODS), as buttons or typed words."""
    return {
        "this_month": _("This month"),
        "last_month": _("Last month"),
        "this_quarter": _("This quarter"),
        "this_year": _("This year"),
    }


def export_captions(_: Translate, title: str) -> tuple[str, str]:
    """What /export says of its two files, the workbook and the zip of CSV files (HTML)."""
    workbook = _(
        "Follow-up data, {period}: enterprises, improvements, survey answers "
        "(workers anonymous), visits and the summary tables.",
        period=esc(title),
    )
    return workbook, _("The same tables as CSV files (UTF-8).")


def period_title(period: Period, language: str) -> str:
    lang = normalise_language(language)
    _ = translator(lang)
    label = period.label
    if len(label) == 4:
        return _("year {year}", year=label)
    if "-Q" in label:
        year, quarter = label.split("-Q")
        return _("quarter {quarter}/{year}", quarter=quarter, year=year)
    if len(label) == 7:
        year, month = label.split("-")
        return _("month {month}/{year}", month=int(month), year=year)
    return f"{format_day(period.first, lang)}–{format_day(period.last, lang)}"


def area_name(code: str | None, language: str) -> str:
    found = content.area(code)
    if found is None:
        _ = translator(language)
        return _("no area given") if code is None else code
    return found.short(language)


def kind_name(code: str | None, language: str) -> str:
    """A kind of improvement (content/kinds.toml); None: none given."""
    found = content.kind(code)
    if found is None:
        _ = translator(language)
        return _("other or not given") if code is None else code
    return found.name(language)


def sector_name(code: str | None, language: str) -> str:
    found = content.sector(code)
    return found.short(language) if found is not None else str(code)


def province_name(code: str | None, language: str) -> str:
    found = content.province(code)
    return found.name(language) if found is not None else str(code)


def option_label(questionnaire_id: str, question_id: str, code: str, language: str) -> str:
    found = content.questionnaire(questionnaire_id)
    question = next((q for q in found.questions if q.id == question_id), None) if found else None
    option = question.option(code) if question is not None else None
    return option.label(language) if option is not None else code


@cache
def environment(language: str, html: bool) -> Environment:
    """One environment per language and kind, with its translator installed."""
    lang = normalise_language(language)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False)
        if html
        else False,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    def translate(message: str, **values: Any) -> str:
        text = gettext(lang, message)
        if html:
            # The catalogue's tags are ours; every value is escaped by Markup.format.
            return Markup(text).format(**values)
        return text.format(**values) if values else text

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return translate(singular if n == 1 else plural, n=n, **values)

    env.install_gettext_callables(translate, ngettext, newstyle=False)  # type: ignore[attr-defined]
    env.filters.update(
        num=lambda value: format_number(value, lang),
        vnd=lambda value: format_vnd(round(value), lang),
        pct=lambda value: format_percent(value, "#,##0%", locale=lang),
        mean=lambda value: format_decimal(one_decimal(value), "#,##0.0", locale=lang),
        day=lambda value: format_day(value, lang),
        area=lambda code: area_name(code, lang),
        kind=lambda code: kind_name(code, lang),
        sector=lambda code: sector_name(code, lang),
        province=lambda code: province_name(code, lang),
        period=lambda period: period_title(period, lang),
        option=lambda code, questionnaire_id, question_id: option_label(
            questionnaire_id, question_id, code, lang
        ),
    )
    return env


def render(template: str, language: str, **values: Any) -> str:
    """A template of reports/templates in a language (HTML-escaped when it is .html.j2)."""
    html = template.endswith(".html.j2")
    return environment(language, html).get_template(template).render(**values)


def scope_lines(summary: Summary, language: str, provider_name: str | None) -> list[str]:
    """What the summary covers, in words (not escaped: templates escape)."""
    _ = translator(language)
    parts = [provider_name or _("whole programme")]
    scope = summary.scope
    if scope.province_code:
        parts.append(province_name(scope.province_code, language))
    if scope.sector_code:
        parts.append(sector_name(scope.sector_code, language))
    if scope.area_code:
        parts.append(area_name(scope.area_code, language))
    return parts


def summary_message(summary: Summary, language: str, provider_name: str | None = None) -> str:
    """The compact Telegram message (HTML), short enough to be a photo caption."""
    return render(
        "summary_message.html.j2",
        language,
        s=summary,
        scope=scope_lines(summary, language, provider_name),
        visits=visit_totals(summary),
    ).strip()


def summary_text(summary: Summary, language: str, provider_name: str | None = None) -> str:
    """The whole summary as Markdown: the command line, the demo folder."""
    return render(
        "summary.md.j2",
        language,
        s=summary,
        scope=scope_lines(summary, language, provider_name),
        visits=visit_totals(summary),
    )


def progress_message(progress: Progress, language: str, enterprise_name: str) -> str:
    return render("progress.html.j2", language, p=progress, name=enterprise_name).strip()


def shows_progress(contact: Contact | None) -> bool:
    """Who may read /progress: an employer of an enterprise in the programme (workers' answers
    reach them only as the anonymous figures `enterprise_progress` gives)."""
    return (
        contact is not None and contact.role == Role.EMPLOYER and contact.enterprise_id is not None
    )


def progress_text(
    session: Session, contact: Contact, key: str, language: str, *, today: date, tz: ZoneInfo
) -> str:
    """/progress on every channel: the employer's enterprise over a period relative to today
    (`relative_period`), as Telegram HTML."""
    assert contact.enterprise_id is not None
    enterprise = session.get(Enterprise, contact.enterprise_id)
    assert enterprise is not None
    progress = enterprise_progress(
        session, enterprise_id=contact.enterprise_id, period=relative_period(key, today), tz=tz
    )
    return progress_message(progress, language, enterprise.name)


def visit_totals(summary: Summary) -> dict[str, Any]:
    """Visits added up over the providers shown (a handful of rows, already aggregated)."""
    providers = summary.providers
    return {
        "due": sum(p.visits_due for p in providers),
        "on_time": sum(p.visits_on_time for p in providers),
        "late": sum(p.visits_late for p in providers),
        "overdue": sum(p.visits_overdue for p in providers),
        "awaiting_review": sum(p.awaiting_review for p in providers),
    }
