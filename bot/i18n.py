"""Translations and locale-aware formatting.

Source strings are English `_("...")` calls (and `{{ _("...") }}` in templates); Babel extracts
them into `bot/locale/messages.pot` and the Vietnamese and English catalogues carry the text
people read. Catalogues are read from the `.po` files at start-up, so there is no compile step
that could be forgotten.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "oshbot"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

Translate = Callable[..., str]


def N_(message: str) -> str:
    """Marks a string for extraction where it is translated later (module-level constants)."""
    return message


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def load_catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


@cache
def _messages(language: str) -> dict[str, str]:
    return {
        message.id: message.string
        for message in load_catalog(language)
        if message.id and isinstance(message.id, str) and message.string
    }


def normalise_language(language: str | None) -> str:
    if language and language.split("-")[0].lower() in LANGUAGES:
        return language.split("-")[0].lower()
    return DEFAULT_LANGUAGE


def gettext(language: str, message: str, **values: object) -> str:
    """The message in `language`, with `{name}` placeholders filled from `values`."""
    text = _messages(normalise_language(language)).get(message, message)
    return text.format(**values) if values else text


def translator(language: str | None) -> Translate:
    """`_ = translator(lang)`; then `_("Hello {name}", name=...)`."""
    lang = normalise_language(language)

    def _(message: str, **values: object) -> str:
        return gettext(lang, message, **values)

    return _


def format_number(value: int | float | Decimal, language: str) -> str:
    return format_decimal(value, locale=normalise_language(language))


def format_vnd(value: int, language: str) -> str:
    """1.500.000 đ in Vietnamese, 1,500,000 VND in English."""
    lang = normalise_language(language)
    number = format_decimal(value, locale=lang)
    return f"{number} đ" if lang == "vi" else f"{number} VND"


def format_day(value: date, language: str) -> str:
    """Thứ Hai, 07/12/2026 in Vietnamese, Mon 7 Dec 2026 in English. People plan visits and
    workshops by the day of the week, so every date they read carries it."""
    lang = normalise_language(language)
    pattern = "EEEE, dd/MM/yyyy" if lang == "vi" else "EEE d MMM yyyy"
    return babel_format_date(value, pattern, locale=lang)


def format_moment(value: datetime, language: str, tz: ZoneInfo) -> str:
    """A UTC instant shown in the programme's time zone, with its weekday:
    08:30 Thứ Hai, 07/12/2026 or Mon 7 Dec 2026, 08:30."""
    lang = normalise_language(language)
    pattern = "HH:mm EEEE, dd/MM/yyyy" if lang == "vi" else "EEE d MMM yyyy, HH:mm"
    return babel_format_datetime(value.astimezone(tz), pattern, tzinfo=tz, locale=lang)


ELLIPSIS = "…"
# Telegram counts text in UTF-16 code units; a button label longer than this wraps or is
# cut by the app itself on a phone, without a mark.
LABEL_MAX = 40


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int = LABEL_MAX) -> str:
    """`text` in at most `limit` UTF-16 code units (as Telegram measures), cut at a word
    boundary and marked with "…" when it had to be cut. A single word longer than the limit is
    cut inside, never between a letter and its combining accent."""
    text = " ".join(str(text).split())
    if utf16_length(text) <= limit:
        return text
    budget = limit - utf16_length(ELLIPSIS)
    end = used = 0
    while used + utf16_length(text[end]) <= budget:
        used += utf16_length(text[end])
        end += 1
    cut = text[:end]
    if " " in cut and not text[end].isspace():
        cut = cut[: cut.rfind(" ")]
    while cut and unicodedata.combining(text[len(cut)]):
        cut = cut[:-1]
    return cut.rstrip(" ,;:.-–—/(") + ELLIPSIS
