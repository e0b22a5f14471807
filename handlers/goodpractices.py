"""/goodpractices: the library by technical area, for everyone registered; staff of the entry's
provider (and coordinators) can withdraw it, or change its public wording (a journey:
models/journeys/goodpractices.py)."""

from __future__ import annotations

from pathlib import Path

from telegram import InputFile
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.i18n import Translate, shorten
from bot.render import esc, inline
from handlers import menu, newsletter
from handlers.context import Ask, handler
from models import content, goodpractice
from models.journeys.goodpractices import EDIT
from models.notices.cards import area_label, before_photo, card, card_photo, place
from models.tables import Contact, Role

PREFIX = "gp:"
AREAS = PREFIX + "areas"
AREA = PREFIX + "area:"  # gp:area:<code>:<page>
SHOW = PREFIX + "show:"
BEFORE = PREFIX + "before:"
WITHDRAW = PREFIX + "wd:"
WITHDRAW_YES = PREFIX + "wdyes:"
WITHDRAW_NO = PREFIX + "wdno:"

PAGE = 8
READERS = (Role.COORDINATOR, Role.STAFF, Role.EMPLOYER, Role.WORKER)


def media(ask: Ask) -> Path:
    return ask.runtime.settings.media_dir


def areas_view(_: Translate, language: str, counts: dict[str, int]):  # type: ignore[no-untyped-def]
    if not counts:
        return _("No good practices have been shared yet. They appear here once staff have "
                 "reviewed them and the enterprise agreed to share."), None  # fmt: skip
    buttons = [
        [(f"{area.label(language)} ({counts[area.code]})", f"{AREA}{area.code}:0")]
        for area in content.areas()
        if counts.get(area.code)
    ]
    text = _("<b>Good practices</b> from enterprises in the programme. Choose a technical area:")
    return text, inline(buttons)


@handler(*READERS, refusal="library_readers")
async def goodpractices_command(ask: Ask) -> None:
    with ask.runtime.database.session() as session:
        counts = goodpractice.counts_by_area(session)
    text, markup = areas_view(ask._, ask.language, counts)
    await ask.reply(text, markup)


@handler(*READERS, refusal="library_readers")
async def areas_pressed(ask: Ask) -> None:
    with ask.runtime.database.session() as session:
        counts = goodpractice.counts_by_area(session)
    text, markup = areas_view(ask._, ask.language, counts)
    await ask.notice()
    await ask.edit(text, markup)


@handler(*READERS, refusal="library_readers")
async def area_pressed(ask: Ask) -> None:
    _, language = ask._, ask.language
    code, _sep, page_text = ask.data.removeprefix(AREA).partition(":")
    if content.area(code) is None or not page_text.isdigit():
        await ask.stale()
        return
    page = int(page_text)
    with ask.runtime.database.session() as session:
        found = goodpractice.entries(session, area=code)
    shown = found[page * PAGE : (page + 1) * PAGE]
    await ask.notice()
    if not shown:
        await ask.edit(_("No good practices in this area any more."), [[(_("◀ All areas"), AREAS)]])
        return
    lines = [f"<b>{esc(area_label(code, language))}</b>"]
    buttons = []
    for number, item in enumerate(shown, start=page * PAGE + 1):
        summary = shorten(item.text, 90)
        lines.append(f"{number}. {esc(summary)} <i>({esc(place(item, language))})</i>")
        buttons.append((str(number), f"{SHOW}{item.id}"))
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    nav = [(_("◀ All areas"), AREAS)]
    if len(found) > (page + 1) * PAGE:
        nav.append((_("More ▶"), f"{AREA}{code}:{page + 1}"))
    lines.append("")
    lines.append(_("Press a number to see the photos and figures."))
    await ask.edit("\n".join(lines), [*rows, nav])


def entry_buttons(_: Translate, item: goodpractice.Entry, manager: bool):  # type: ignore[no-untyped-def]
    rows = []
    if item.photo_before_path and item.photo_after_path:
        rows.append([(_("📷 Before"), f"{BEFORE}{item.id}")])
    if manager:
        edit = (_("✏️ Public wording"), f"{EDIT}{item.id}")
        rows.append([edit, (_("🚫 Withdraw"), f"{WITHDRAW}{item.id}")])
    return inline(rows) if rows else None


def pressed_entry(ask: Ask, prefix: str) -> goodpractice.Entry | None:
    """The library entry the pressed button names (None: gone from the library, or none)."""
    raw = ask.data.removeprefix(prefix)
    if not raw.isdigit():
        return None
    with ask.runtime.database.session() as session:
        return goodpractice.entry(session, int(raw), media_root=media(ask))


@handler(*READERS, refusal="library_readers")
async def show_pressed(ask: Ask) -> None:
    item = pressed_entry(ask, SHOW)
    if item is None:
        await ask.refuse("not_in_library")
        return
    await ask.notice()
    text = card(item, ask.language)
    markup = entry_buttons(ask._, item, goodpractice.can_manage(ask.person, item))
    photo = card_photo(item)
    if photo:
        await ask.context.bot.send_photo(
            ask.chat_id,
            InputFile(Path(photo).read_bytes(), filename=Path(photo).name),
            caption=text,
            reply_markup=markup,
        )
    else:
        await ask.send(text, markup)


@handler(*READERS, refusal="library_readers")
async def before_pressed(ask: Ask) -> None:
    item = pressed_entry(ask, BEFORE)
    if item is None or before_photo(item) is None:
        await ask.refuse("not_in_library")
        return
    await ask.notice()
    await ask.context.bot.send_photo(
        ask.chat_id,
        InputFile(Path(item.photo_before_path).read_bytes(), filename="before.jpg"),
        caption=ask._("Before the improvement"),
    )


async def managed_entry(ask: Ask, prefix: str) -> tuple[Contact, goodpractice.Entry] | None:
    """The entry behind the button, if this person may change it (checked in the database)."""
    item = pressed_entry(ask, prefix)
    if item is None:
        await ask.refuse("not_in_library")
        return None
    if ask.person is None or not goodpractice.can_manage(ask.person, item):
        await ask.refuse("not_your_entry")
        return None
    return ask.person, item


@handler()
async def withdraw_pressed(ask: Ask) -> None:
    found = await managed_entry(ask, WITHDRAW)
    if found is None:
        return
    _ = ask._
    _contact, item = found
    await ask.notice()
    yes = (_("Yes, withdraw it"), f"{WITHDRAW_YES}{item.id}")
    await ask.edit_actions([[yes, (_("No, keep it"), f"{WITHDRAW_NO}{item.id}")]])


@handler()
async def withdraw_confirmed(ask: Ask) -> None:
    found = await managed_entry(ask, WITHDRAW_YES)
    if found is None:
        return
    contact, item = found
    with ask.runtime.database.session() as session:
        goodpractice.withdraw(session, improvement_id=item.id, actor=contact, now=ask.now)
    newsletter.refresh_publications(ask.context)
    await ask.notice()
    await ask.edit_actions(None)
    await ask.send(
        ask._("Withdrawn from the library. The enterprise's report itself is unchanged.")
    )


@handler()
async def withdraw_declined(ask: Ask) -> None:
    found = await managed_entry(ask, WITHDRAW_NO)
    if found is None:
        return
    await ask.notice(ask._("Kept in the library."))
    await ask.edit_actions(entry_buttons(ask._, found[1], True))


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("goodpractices", goodpractices_command),
        MessageHandler(menu.button(menu.GOOD_PRACTICES), goodpractices_command),
        CallbackQueryHandler(areas_pressed, pattern=f"^{AREAS}$"),
        CallbackQueryHandler(area_pressed, pattern=f"^{AREA}"),
        CallbackQueryHandler(show_pressed, pattern=f"^{SHOW}"),
        CallbackQueryHandler(before_pressed, pattern=f"^{BEFORE}"),
        CallbackQueryHandler(withdraw_pressed, pattern=f"^{WITHDRAW}"),
        CallbackQueryHandler(withdraw_confirmed, pattern=f"^{WITHDRAW_YES}"),
        CallbackQueryHandler(withdraw_declined, pattern=f"^{WITHDRAW_NO}"),
    ]
