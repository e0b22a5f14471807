"""The good-practice library's pages (/goodpractices), for every channel: the technical areas
with their counts, an area's entries a page at a page, and the entry an action names. Telegram
shows the actions as buttons (handlers/goodpractices.py), Zalo numbers them
(bot/zalo/practices.py); the card itself is models/notices/cards.py's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from bot.i18n import Translate, shorten
from models import content, goodpractice
from models.journeys.core import Action
from models.tables import Role

PREFIX = "gp:"
AREAS = PREFIX + "areas"
AREA = PREFIX + "area:"  # gp:area:<code>:<page>
SHOW = PREFIX + "show:"
BEFORE = PREFIX + "before:"

PAGE = 8
READERS = (Role.COORDINATOR, Role.STAFF, Role.EMPLOYER, Role.WORKER)


def areas_view(_: Translate, language: str, counts: dict[str, int]) -> tuple[str, list[Action]]:
    """The areas that have entries, as actions, and the text above them (no actions: the
    library is empty)."""
    if not counts:
        return _("No good practices have been shared yet. They appear here once staff have "
                 "reviewed them and the enterprise agreed to share."), []  # fmt: skip
    actions = [
        Action(f"{area.label(language)} ({counts[area.code]})", f"{AREA}{area.code}:0")
        for area in content.areas()
        if counts.get(area.code)
    ]
    text = _("<b>Good practices</b> from enterprises in the programme. Choose a technical area:")
    return text, actions


@dataclass(frozen=True)
class AreaPage:
    """One page of an area's entries: those shown, the number of the first, and the way on."""

    code: str
    first: int
    shown: list[goodpractice.Entry]
    nav: list[Action]


def area_page(_: Translate, session: Session, payload: str) -> AreaPage | None:
    """The page an area's action names; None when the action means nothing (stale)."""
    code, _sep, page_text = payload.removeprefix(AREA).partition(":")
    if not payload.startswith(AREA) or content.area(code) is None or not page_text.isdigit():
        return None
    page = int(page_text)
    found = goodpractice.entries(session, area=code)
    nav = [Action(_("◀ All areas"), AREAS)]
    if len(found) > (page + 1) * PAGE:
        nav.append(Action(_("More ▶"), f"{AREA}{code}:{page + 1}"))
    return AreaPage(code, page * PAGE + 1, found[page * PAGE : (page + 1) * PAGE], nav)


def gone_text(_: Translate) -> str:
    """An area page with nothing left on it."""
    return _("No good practices in this area any more.")


def summary(entry: goodpractice.Entry) -> str:
    """An entry in an area's list: the start of its public wording."""
    return shorten(entry.text, 90)


def chosen_entry(
    session: Session, payload: str, prefix: str, media_root: Path
) -> goodpractice.Entry | None:
    """The library entry an action names (None: gone from the library, or none)."""
    raw = payload.removeprefix(prefix)
    if not payload.startswith(prefix) or not raw.isdigit():
        return None
    return goodpractice.entry(session, int(raw), media_root=media_root)
