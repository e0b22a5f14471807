"""/goodpractices: the library by technical area, for everyone registered; staff of the entry's
provider (and coordinators) can withdraw it, or change its public wording (a journey:
models/journeys/goodpractices.py)."""

from __future__ import annotations

from pathlib import Path

from telegram import InputFile
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.i18n import Translate
from bot.render import esc, inline
from handlers import menu, newsletter
from handlers.context import Ask, handler
from models import goodpractice
from models.journeys.goodpractices import EDIT
from models.notices import library
from models.notices.cards import area_label, before_photo, card, card_photo, place
from models.notices.library import AREA, AREAS, BEFORE, PREFIX, READERS, SHOW
from models.tables import Contact

WITHDRAW = PREFIX + "wd:"
WITHDRAW_YES = PREFIX + "wdyes:"
WITHDRAW_NO = PREFIX + "wdno:"


def media(ask: Ask) -> Path:
    return ask.runtime.settings.media_dir


def areas_view(_: Translate, language: str, counts: dict[str, int]):  # type: ignore[no-untyped-def]
    text, actions = library.areas_view(_, language, counts)
    return text, inline([[(a.label, a.payload)] for a in actions]) if actions else None


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
    with ask.runtime.database.session() as session:
        page = library.area_page(_, session, ask.data)
    if page is None:
        await ask.stale()
        return
    await ask.notice()
    nav = [(a.label, a.payload) for a in page.nav]
    if not page.shown:
        await ask.edit(library.gone_text(_), [nav[:1]])
        return
    lines = [f"<b>{esc(area_label(page.code, language))}</b>"]
    buttons = []
    for number, item in enumerate(page.shown, start=page.first):
        summary = library.summary(item)
        lines.append(f"{number}. {esc(summary)} <i>({esc(place(item, language))})</i>")
        buttons.append((str(number), f"{SHOW}{item.id}"))
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
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
    with ask.runtime.database.session() as session:
        return library.chosen_entry(session, ask.data, prefix, media(ask))


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
