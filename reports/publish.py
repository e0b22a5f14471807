"""What the newsletter, the leaflet and the website share: one Jinja2 environment per language
(autoescape, StrictUndefined, the i18n extension bound to our catalogues), image helpers, the
QR code and the chart.

Templates call `_("English text {name}", name=...)` like the Python code does, so Babel extracts
them into the same catalogues.
"""

from __future__ import annotations

import base64
import io
import re
from datetime import date
from functools import cache
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.i18n import format_day, format_number, format_vnd, normalise_language, translator
from models import content, goodpractice, media

TEMPLATES = Path(__file__).resolve().parent / "templates"
PHOTO_MAX = 900  # pixels on the long side: sharp in print at the sizes used, small in a file
# Fonts with every Vietnamese diacritic; WeasyPrint finds them through fontconfig.
FONT_STACK = '"DejaVu Sans", "Noto Sans", "Liberation Sans", Arial, sans-serif'


@cache
def environment(language: str) -> Environment:
    lang = normalise_language(language)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    _ = translator(lang)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_, ngettext=lambda one, many, n, **values: _(one if n == 1 else many, **values),
        newstyle=False,
    )  # fmt: skip
    env.globals.update(lang=lang, font_stack=FONT_STACK)
    env.filters.update(
        vnd=lambda value: format_vnd(int(value), lang),
        number=lambda value: format_number(value, lang),
        day=lambda value: format_day(value, lang),
        area_name=lambda code: area.name(lang) if (area := content.area(code)) else code,
        area_emoji=lambda code: area.emoji if (area := content.area(code)) else "",
        province_name=lambda code: p.name(lang) if (p := content.province(code)) else code,
        sector_name=lambda code: s.name(lang) if (s := content.sector(code)) else code,
        percent=lambda value: format_number(round(value * 100), lang) + "%",
        headline=headline,
        after_headline=after_headline,
    )
    return env


def render(template: str, language: str, **values: object) -> str:
    return environment(language).get_template(template).render(**values)


def month_label(period_first: date, language: str) -> str:
    if normalise_language(language) == "vi":
        return f"{period_first.month:02d}/{period_first.year}"
    return period_first.strftime("%B %Y")


def photo(path: str | None) -> media.Photo | None:
    """A stored photo scaled down for print and the web; None when there is no usable file
    (logged), so that one bad image never stops a publication."""
    return media.publishable(path, long_side=PHOTO_MAX)


def data_uri(data: bytes | None, mime: str = "image/jpeg") -> str | None:
    """Images inside the HTML, so that one file sent in Telegram shows everything."""
    if data is None:
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def photo_uri(path: str | None) -> str | None:
    found = photo(path)
    return data_uri(found.data, found.mime_type) if found is not None else None


def qr_uri(link: str) -> str:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="svg", scale=6, border=2, dark="#1b4332")
    return data_uri(buffer.getvalue(), "image/svg+xml") or ""


def invitation_link(site_url: str | None, bot_username: str | None) -> str:
    """Where the QR code on printed matter leads: the programme's site, or the bot itself."""
    if site_url:
        return site_url
    return f"https://t.me/{bot_username or 'oshbot'}"


HEADLINE_MAX = 70


def _first_sentence(text: str) -> tuple[str, str]:
    parts = re.split(r"(?<=[.!?;:])\s|\n", text.strip(), maxsplit=1)
    return parts[0].strip().rstrip(".;:!? "), (parts[1].strip() if len(parts) > 1 else "")


def headline(text: str, limit: int = HEADLINE_MAX) -> str:
    """A title for a good practice from its own first sentence or clause: the technical area
    alone would give every practice of one area the same title."""
    first, _rest = _first_sentence(text)
    if len(first) > limit:
        first = first[:limit].rsplit(" ", 1)[0].rstrip(",;:–- ") + "…"
    return first[:1].upper() + first[1:]


def after_headline(text: str) -> str:
    """What the text says beyond its headline, so that a card does not print its title twice;
    the whole text when the headline had to be shortened."""
    first, rest = _first_sentence(text)
    if len(first) > HEADLINE_MAX:
        return text.strip()
    return rest[:1].upper() + rest[1:]


def headlines(entries: list[goodpractice.Entry], language: str) -> dict[int, str]:
    """A distinct title per entry: two practices opening with the same words are told apart
    by who did them (or where), then by number."""
    titles = {entry.id: headline(entry.text) for entry in entries}
    seen: dict[str, int] = {}
    for entry in entries:
        title = titles[entry.id]
        if title in seen and seen[title] != entry.id:
            place = entry.enterprise_name or (
                found.name(language)
                if (found := content.province(entry.province_code))
                else entry.province_code
            )
            title = f"{title} ({place})"
            if title in seen:
                title = f"{title} {entry.id}"
            titles[entry.id] = title
        seen[title] = entry.id
    return titles


def document(html: str):
    """WeasyPrint's laid-out pages, to count them before writing the PDF."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).render()


def pdf(html: str) -> bytes:
    """WeasyPrint: the same HTML, laid out for paper by its @page rules."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
