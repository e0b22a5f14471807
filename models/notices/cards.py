"""Broadcast cards: a good practice as a short card (the caption of a broadcast and of
/goodpractices), and a composed text as typed.

Plain functions of an entry and a language, so that a broadcast renders each recipient's card in
their own language when it is queued. Telegram HTML; every stored text is escaped.
"""

from __future__ import annotations

from bot.i18n import format_number, format_vnd, translator
from models import content, media
from models.goodpractice import Entry
from models.outbox import Message
from models.text import CAPTION_LIMIT, esc, truncate_html, visible_len


def area_name(code: str | None, language: str) -> str:
    found = content.area(code)
    return found.name(language) if found is not None else (code or "")


def area_label(code: str | None, language: str) -> str:
    found = content.area(code)
    return found.label(language) if found is not None else (code or "")


def place(entry: Entry, language: str) -> str:
    sector = content.sector(entry.sector_code)
    province = content.province(entry.province_code)
    parts = [
        sector.name(language) if sector else entry.sector_code,
        province.name(language) if province else entry.province_code,
    ]
    return ", ".join(parts)


def facts(entry: Entry, language: str) -> list[str]:
    """The figures of an entry, one line each, only those the report has."""
    _ = translator(language)
    lines = []
    if entry.cost_vnd is not None:
        lines.append(_("Cost: {value}", value=format_vnd(entry.cost_vnd, language)))
    if entry.workers_benefiting is not None:
        lines.append(
            _(
                "Workers benefiting: {value}",
                value=format_number(entry.workers_benefiting, language),
            )
        )
    if entry.risk_before is not None and entry.risk_after is not None:
        lines.append(
            _("Risk score: {before} → {after}", before=entry.risk_before, after=entry.risk_after)
        )
    return lines


def card(entry: Entry, language: str) -> str:
    """Telegram HTML that fits a photo's caption as Telegram measures it (the description is
    shortened to fit)."""
    _ = translator(language)
    head = _("🌟 <b>Good practice: {area}</b>", area=esc(area_name(entry.area_code, language)))
    where_text = esc(place(entry, language))
    if entry.enterprise_name:
        where = _("{enterprise} ({place})", enterprise=esc(entry.enterprise_name), place=where_text)
    else:
        where = _("An enterprise in {place}", place=where_text)
    tail = "\n".join([where, *facts(entry, language)])
    room = CAPTION_LIMIT - visible_len(f"{head}\n\n\n{tail}")
    body = truncate_html(esc(entry.text), max(room, 0))
    return f"{head}\n{body}\n\n{tail}"


def card_photo(entry: Entry) -> str | None:
    """The after photo shows what can be achieved; the before photo only when there is no after
    (or the after photo is not a usable image: the card then goes without a broken one)."""
    for path in (entry.photo_after_path, entry.photo_before_path):
        if path and media.usable(path):
            return path
    return None


def before_photo(entry: Entry) -> str | None:
    """The before photo, for the card's "Before" button, when it is a usable image."""
    path = entry.photo_before_path
    return path if path and media.usable(path) else None


def renderer(entry: Entry | None, broadcast_text: str | None, photo_path: str | None):
    """What a broadcast sends, as a function of the recipient's language: a good practice as
    its card with the after photo, in each recipient's language; a composed text as typed."""
    if entry is not None:
        usable = card_photo(entry)
        return lambda language: Message(card(entry, language), photo_path=usable)
    text = esc(broadcast_text or "")
    return lambda language: Message(text, photo_path=photo_path)
