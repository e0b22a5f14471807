"""The newsletter (HTML and PDF) and the one-page A5 leaflet of one good practice.

Figures come from the follow-up summary (reports/summary.py), stories from the good-practice
library, tips from the content library; everything is rendered from Jinja2 templates in the
reader's language and the PDF is the same HTML laid out by WeasyPrint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.i18n import format_number, normalise_language, translator
from models import content, goodpractice
from models.programme import ProgrammeError
from models.tables import Provider
from reports import charts, publish
from reports.figures import MIN_GROUP, Period, Scope, parse_period
from reports.summary import build_summary

STORIES = 5


@dataclass(frozen=True)
class Publication:
    html: str
    pdf: bytes
    name: str  # file name without extension


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    note: str = ""


def period_of(text: str) -> Period:
    try:
        return parse_period(text)
    except ValueError as error:
        raise ProgrammeError("period_invalid", value=text) from error


def story(entry: goodpractice.Entry, language: str) -> dict[str, object]:
    return {
        "entry": entry,
        "before": publish.photo_uri(entry.photo_before_path),
        "after": publish.photo_uri(entry.photo_after_path),
    }


def contacts(session: Session, provider_id: int | None) -> list[Provider]:
    query = select(Provider).where(Provider.active).order_by(col(Provider.name))
    if provider_id is not None:
        query = query.where(Provider.id == provider_id)
    return list(session.exec(query))


def headline(
    session: Session,
    *,
    period: Period,
    provider_id: int | None,
    tz: ZoneInfo,
    today: date,
    language: str,
) -> tuple[list[Figure], bytes | None]:
    """The figures at the top and the chart of improvements by technical area."""
    _ = translator(language)
    summary = build_summary(
        session,
        period=period,
        scope=Scope(provider_id=provider_id),
        tz=tz,
        today=today,
        # The raw rows: exact whatever the state of the rollup tables, and one month is small.
        rollups=False,
    )
    improvements = summary.improvements

    def n(value: int) -> str:
        return format_number(value, language)

    figures = [
        Figure(_("enterprises in the programme"), n(summary.enterprises.in_programme)),
        Figure(_("improvements reported"), n(improvements.total)),
        Figure(_("verified by staff"), n(improvements.verified)),
        Figure(_("workers benefiting"), n(improvements.workers_benefiting)),
    ]
    risk = summary.risk
    if risk.high_before >= MIN_GROUP and risk.share_moved_down is not None:
        figures.append(
            Figure(
                _("high risks brought down"),
                f"{round(risk.share_moved_down * 100)}%",
                _("of {count} rated high before", count=risk.high_before),
            )
        )
    # The summary's own chart, drawn for a phone: the newsletter is read on one as often as on
    # paper. Counts of improvements are shown as they are (only survey answers are withheld
    # under MIN_GROUP, and the newsletter shows none).
    chart = charts.improvements_per_area(summary, language).png if summary.areas else None
    return figures, chart


def tips_of_the_month(period: Period) -> list[content.Tip]:
    """One tip per technical area, a different one each month."""
    chosen = []
    for area in content.areas():
        found = content.tips(area=area.code)
        if found:
            chosen.append(found[(period.first.year * 12 + period.first.month) % len(found)])
    return chosen


def newsletter(
    session: Session,
    *,
    period_text: str,
    language: str,
    provider_id: int | None,
    tz: ZoneInfo,
    today: date,
    link: str,
    media_root: Path | None = None,
) -> Publication:
    language = normalise_language(language)
    period = period_of(period_text)
    figures, chart = headline(
        session, period=period, provider_id=provider_id, tz=tz, today=today, language=language
    )
    entries = goodpractice.entries(
        session, provider_id=provider_id, limit=STORIES, media_root=media_root
    )
    providers = contacts(session, provider_id)
    html = publish.render(
        "newsletter.html.j2",
        language,
        period_label=publish.month_label(period.first, language)
        if len(period.label) == 7
        else period.label,
        provider=providers[0] if provider_id is not None and providers else None,
        figures=figures,
        chart=publish.data_uri(chart, "image/png"),
        stories=[story(entry, language) for entry in entries],
        tips=tips_of_the_month(period),
        providers=providers,
        qr=publish.qr_uri(link),
        link=link,
    )
    name = f"newsletter-{period.label}-{language}"
    return Publication(html=html, pdf=publish.pdf(html), name=name)


# Leaflet layouts from the fullest down: the first that fits one A5 page is printed. Large
# text, photos as large as the story leaves room for, then the area's ideas and a tip to fill
# the page; a 1,000-character story with two photos still fits the last ones.
LEAFLET_FITS = tuple(
    {"text": text, "photo": photo, "ideas": ideas, "tip": tip, "about": about}
    for text, photo, ideas, tip, about in (
        ("12pt", "7.6cm", 5, True, True),
        ("12pt", "7.6cm", 3, True, True),
        ("12pt", "7.6cm", 4, True, False),
        ("12pt", "7.6cm", 3, False, False),
        ("12pt", "7.6cm", 0, False, False),
        ("12pt", "6.6cm", 2, False, False),
        ("12pt", "6.6cm", 0, False, False),
        ("11pt", "5.6cm", 0, False, False),
        ("10pt", "4.6cm", 0, False, False),
        ("9.5pt", "3.6cm", 0, False, False),
        ("9pt", "3cm", 0, False, False),
        ("8.5pt", "2.4cm", 0, False, False),
    )
)


def leaflet(
    session: Session,
    *,
    improvement_id: int,
    language: str,
    link: str,
    media_root: Path | None = None,
) -> Publication:
    """One good practice on one A5 page: both photos, the story, its figures, ideas and a tip
    of its technical area, and the QR code at the foot of the page."""
    language = normalise_language(language)
    entry = goodpractice.entry(session, improvement_id, media_root=media_root)
    if entry is None:
        raise ProgrammeError("not_in_library")
    provider = session.get(Provider, entry.provider_id)
    area = content.area(entry.area_code)
    tips = content.tips(area=entry.area_code) if entry.area_code else []
    values = {
        "story": story(entry, language),
        "title": publish.headline(entry.text),
        "area": area,
        "tip": tips[entry.id % len(tips)] if tips else None,
        "provider": provider,
        "qr": publish.qr_uri(link),
        "link": link,
    }
    for fit in LEAFLET_FITS:
        html = publish.render("leaflet.html.j2", language, fit=fit, **values)
        document = publish.document(html)
        if len(document.pages) == 1:
            break
    return Publication(
        html=html, pdf=document.write_pdf(), name=f"leaflet-{improvement_id}-{language}"
    )


def write(publication: Publication, out: Path, *, html: bool = True) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if html:
        written.append(out / f"{publication.name}.html")
        written[-1].write_text(publication.html, encoding="utf-8")
    written.append(out / f"{publication.name}.pdf")
    written[-1].write_bytes(publication.pdf)
    return written
