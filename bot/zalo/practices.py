"""/goodpractices and /plan on Zalo, through the views Telegram's handlers show
(models/notices/library.py, models/journeys/plan.py) and the same domain functions:

* /goodpractices: the areas, an area's entries a page at a time, and an entry's card with its
  after photo (and its before photo, which Telegram sends on a button) as signed-link photos;
* /plan: an employer's plan (staff and coordinators choose the enterprise, or type
  "/plan <id>"), each item's card, and its moves (done, still in use, no longer in use); a new
  item is the plan's journey (models/journeys/plan.py), which the driver runs.

Their actions are numbered as the outbox's messages' are: kept as the person's notice choices
(engine.remember_notice_choices), which the driver reads while no journey is in front, so that
the answer "2" comes back here as the action (`answers`). An entry's card leaves the area's
numbers standing, as Telegram's list keeps its buttons; an item's card numbers its moves. A
library entry's staff actions (withdraw, public wording) stay on Telegram.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.i18n import Translate, translator
from models import goodpractice, plans
from models.journeys import engine
from models.journeys import plan as plan_views
from models.journeys.core import Action, Input, Reply
from models.journeys.errors import STALE, error_text
from models.notices import library
from models.notices.cards import area_label, before_photo, card, card_photo, place
from models.programme import ProgrammeError
from models.tables import Contact, Enterprise, PlanItem, Role
from models.text import esc

if TYPE_CHECKING:
    from bot.zalo.driver import ZaloDriver, _Who
    from bot.zalo.types import Message

COMMANDS = frozenset({"goodpractices", "plan"})
_LIBRARY = (library.AREAS, library.AREA, library.SHOW)
_PLAN = (plan_views.SHOW, plan_views.ITEM, plan_views.MOVE)

# What one answer shows: the messages, and the actions the last one numbers (None: the numbers
# shown before still stand).
Shown = tuple[list[Reply], list[Action] | None]


def refusal(command: str | None, contact: Contact | None) -> str | None:
    """Why the person may not use this command (Telegram's refusals), or None."""
    if command == "goodpractices" and (contact is None or contact.role not in library.READERS):
        return "library_readers"
    if command == "plan" and (contact is None or contact.role not in plans.EDITOR_ROLES):
        return "join_first" if contact is None else "plan_roles"
    return None


def answers(given: Input) -> bool:
    """Whether the input is one of the actions numbered here."""
    return given.payload is not None and given.payload.startswith((*_LIBRARY, *_PLAN))


async def command(
    driver: ZaloDriver, message: Message, person: str, who: _Who, given: Input
) -> None:
    """/goodpractices or /plan, for someone `refusal` lets through."""
    contact = who.contact
    assert contact is not None
    if given.command == "goodpractices":
        await _show(driver, message, person, who, lambda s, _, now: _areas(s, _, who.language))
        return
    words = (given.text or "").split()
    wanted = plan_views.entity_id(words[1] if len(words) > 1 else None, "")
    if contact.role == Role.EMPLOYER:
        wanted = contact.enterprise_id
    if wanted is not None:
        chosen = wanted
        await _show(driver, message, person, who,
                    lambda s, _, now: _plan(driver, s, _, contact, chosen, now))  # fmt: skip
        return
    await _show(driver, message, person, who,
                lambda s, _, now: _listed(plan_views.chooser(_, s, contact)))  # fmt: skip


async def chosen(
    driver: ZaloDriver, message: Message, person: str, who: _Who, given: Input
) -> None:
    """A numbered action answered: checked again as Telegram checks a button pressed."""
    payload = given.payload or ""
    reason = refusal("goodpractices" if payload.startswith(_LIBRARY) else "plan", who.contact)
    if reason is not None:
        _ = translator(who.language)
        await driver.say(message.chat.id, error_text(_, ProgrammeError(reason), who.language), who)
        return
    contact = who.contact
    assert contact is not None
    language = who.language

    def work(session: Session, _: Translate, now: datetime) -> Shown:
        if payload == library.AREAS:
            return _areas(session, _, language)
        if payload.startswith(library.AREA):
            return _area(session, _, language, payload)
        if payload.startswith(library.SHOW):
            return _entry(session, _, language, payload, driver.settings.media_dir)
        if payload.startswith(plan_views.SHOW):
            wanted = plan_views.entity_id(payload, plan_views.SHOW)
            return _plan(driver, session, _, contact, wanted, now)
        if payload.startswith(plan_views.ITEM):
            return _item(driver, session, _, contact, payload, now)
        return _move(driver, session, _, contact, payload, now)

    await _show(driver, message, person, who, work)


async def _show(
    driver: ZaloDriver, message: Message, person: str, who: _Who,
    work: Callable[[Session, Translate, datetime], Shown],
) -> None:  # fmt: skip
    """`work` in a transaction of its own, with the actions it numbers remembered in it; then
    its messages, the last with its numbers."""
    _ = translator(who.language)

    def run() -> tuple[list[Reply], list[Action]]:
        with driver.database.session() as session:
            now = driver.clock()
            replies, actions = work(session, _, now)
            if actions is not None:
                engine.remember_notice_choices(session, person, actions, now=now)
            return replies, actions or []

    replies, actions = await asyncio.to_thread(run)
    for reply in replies:
        await driver.reply(message.chat.id, reply, who, actions if reply is replies[-1] else [])


def _refused(_: Translate, language: str, code: str) -> Shown:
    return [Reply(error_text(_, ProgrammeError(code), language))], None


def _listed(view: tuple[str, list[Action]]) -> Shown:
    text, actions = view
    return [Reply(text)], actions or None


# -- the library -----------------------------------------------------------------------------


def _areas(session: Session, _: Translate, language: str) -> Shown:
    return _listed(library.areas_view(_, language, goodpractice.counts_by_area(session)))


def _area(session: Session, _: Translate, language: str, payload: str) -> Shown:
    page = library.area_page(_, session, payload)
    if page is None:
        return _refused(_, language, STALE)
    if not page.shown:
        return [Reply(library.gone_text(_))], page.nav[:1]
    entries = [
        Action(f"{library.summary(item)} ({place(item, language)})", f"{library.SHOW}{item.id}")
        for item in page.shown
    ]
    return [Reply(f"<b>{esc(area_label(page.code, language))}</b>")], [*entries, *page.nav]


def _entry(session: Session, _: Translate, language: str, payload: str, media: Path) -> Shown:
    item = library.chosen_entry(session, payload, library.SHOW, media)
    if item is None:
        return _refused(_, language, "not_in_library")
    shown = [_photo(card(item, language), card_photo(item))]
    before = before_photo(item)
    if item.photo_after_path and before is not None and before != card_photo(item):
        shown.append(_photo(_("Before the improvement"), before))
    return shown, None


def _photo(text: str, path: str | None) -> Reply:
    if path is None:
        return Reply(text)
    return Reply(text, photo=Path(path).read_bytes(), photo_name=Path(path).name)


# -- the action plan -------------------------------------------------------------------------


def _today(driver: ZaloDriver, now: datetime) -> date:
    return now.astimezone(driver.settings.tz).date()


def _plan(
    driver: ZaloDriver, session: Session, _: Translate, contact: Contact, enterprise_id: int | None,
    now: datetime,
) -> Shown:  # fmt: skip
    shown = None
    if enterprise_id is not None:
        shown = plan_views.shown_plan(_, session, enterprise_id, contact, _today(driver, now))
    if shown is None:
        return _refused(_, contact.language, "plan_not_allowed")
    return _listed(shown)


def _item(
    driver: ZaloDriver, session: Session, _: Translate, contact: Contact, payload: str,
    now: datetime,
) -> Shown:  # fmt: skip
    item_id = plan_views.entity_id(payload, plan_views.ITEM)
    item = session.get(PlanItem, item_id) if item_id is not None else None
    if item is None:
        return _refused(_, contact.language, "plan_unknown")
    if not plans.may_edit(contact, session.get(Enterprise, item.enterprise_id)):
        return _refused(_, contact.language, "plan_not_allowed")
    return _card(driver, session, _, contact, item, now)


def _card(
    driver: ZaloDriver, session: Session, _: Translate, contact: Contact, item: PlanItem,
    now: datetime, hint: str | None = None,
) -> Shown:  # fmt: skip
    text, moves = plan_views.item_card(
        _, session, item, contact.language, _today(driver, now), driver.settings.tz
    )
    return [Reply(f"{hint}\n\n{text}" if hint else text)], moves


def _move(
    driver: ZaloDriver, session: Session, _: Translate, contact: Contact, payload: str,
    now: datetime,
) -> Shown:  # fmt: skip
    found = plan_views.move_from(payload)
    if found is None:
        return _refused(_, contact.language, STALE)
    status, item_id = found
    actor = session.get(Contact, contact.id)
    try:
        with session.begin_nested():
            item = plans.move(session, item_id, to=status, actor=actor, now=now)
    except ProgrammeError as error:
        refused = error_text(_, error, contact.language)
        current = session.get(PlanItem, item_id) if error.code == "plan_moved" else None
        if current is None:
            return [Reply(refused)], None
        return _card(driver, session, _, contact, current, now, hint=refused)
    return _card(driver, session, _, contact, item, now, hint=_(plan_views.PRAISE[item.status]))
