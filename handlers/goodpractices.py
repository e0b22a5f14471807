"""/goodpractices: the library by technical area, for everyone registered; staff of the entry's
provider (and coordinators) can withdraw it, or change its public wording (a journey:
models/journeys/goodpractices.py)."""

from __future__ import annotations

from pathlib import Path

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler

from bot.i18n import Translate, shorten
from bot.render import esc, inline
from bot.runtime import current_contact, language_of, runtime, tr
from handlers import menu, newsletter
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


def media(context: ContextTypes.DEFAULT_TYPE) -> Path:
    return runtime(context).settings.media_dir


def reader(contact: Contact | None) -> bool:
    return contact is not None and contact.role in READERS


async def not_registered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _ = tr(update, context)
    text = _("The good-practice library is for enterprises and staff taking part in the programme.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


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


async def goodpractices_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = current_contact(update, context)
    if not reader(contact):
        await not_registered(update, context)
        return
    assert update.effective_message is not None
    _ = tr(update, context)
    with runtime(context).database.session() as session:
        counts = goodpractice.counts_by_area(session)
    text, markup = areas_view(_, language_of(update, context), counts)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def areas_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    if not reader(current_contact(update, context)):
        await not_registered(update, context)
        return
    _ = tr(update, context)
    with runtime(context).database.session() as session:
        counts = goodpractice.counts_by_area(session)
    text, markup = areas_view(_, language_of(update, context), counts)
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)


async def area_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    _ = tr(update, context)
    if not reader(current_contact(update, context)):
        await not_registered(update, context)
        return
    code, _sep, page_text = query.data.removeprefix(AREA).partition(":")
    if content.area(code) is None or not page_text.isdigit():
        await query.answer(_("This button is no longer active."))
        return
    page = int(page_text)
    language = language_of(update, context)
    with runtime(context).database.session() as session:
        found = goodpractice.entries(session, area=code)
    shown = found[page * PAGE : (page + 1) * PAGE]
    await query.answer()
    if not shown:
        await query.edit_message_text(
            _("No good practices in this area any more."),
            reply_markup=inline([[(_("◀ All areas"), AREAS)]]),
        )
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
    await query.edit_message_text("\n".join(lines), reply_markup=inline([*rows, nav]))


def entry_buttons(_: Translate, item: goodpractice.Entry, manager: bool):  # type: ignore[no-untyped-def]
    rows = []
    if item.photo_before_path and item.photo_after_path:
        rows.append([(_("📷 Before"), f"{BEFORE}{item.id}")])
    if manager:
        edit = (_("✏️ Public wording"), f"{EDIT}{item.id}")
        rows.append([edit, (_("🚫 Withdraw"), f"{WITHDRAW}{item.id}")])
    return inline(rows) if rows else None


def pressed_entry(
    update: Update, context: ContextTypes.DEFAULT_TYPE, prefix: str
) -> goodpractice.Entry | None:
    """The library entry the pressed button names (None: gone from the library, or none)."""
    query = update.callback_query
    assert query is not None
    raw = (query.data or "").removeprefix(prefix)
    if not raw.isdigit():
        return None
    with runtime(context).database.session() as session:
        return goodpractice.entry(session, int(raw), media_root=media(context))


async def show_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    if not reader(contact):
        await not_registered(update, context)
        return
    item = pressed_entry(update, context, SHOW)
    if item is None:
        await query.answer(_("This good practice is no longer in the library."), show_alert=True)
        return
    await query.answer()
    language = language_of(update, context)
    text = card(item, language)
    markup = entry_buttons(_, item, goodpractice.can_manage(contact, item))
    photo = card_photo(item)
    if photo:
        await context.bot.send_photo(
            update.effective_chat.id,
            InputFile(Path(photo).read_bytes(), filename=Path(photo).name),
            caption=text,
            reply_markup=markup,
        )
    else:
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


async def before_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    _ = tr(update, context)
    if not reader(current_contact(update, context)):
        await not_registered(update, context)
        return
    item = pressed_entry(update, context, BEFORE)
    if item is None or before_photo(item) is None:
        await query.answer(_("This good practice is no longer in the library."), show_alert=True)
        return
    await query.answer()
    await context.bot.send_photo(
        update.effective_chat.id,
        InputFile(Path(item.photo_before_path).read_bytes(), filename="before.jpg"),
        caption=_("Before the improvement"),
    )


async def managed_entry(
    update: Update, context: ContextTypes.DEFAULT_TYPE, prefix: str
) -> tuple[Contact, goodpractice.Entry] | None:
    """The entry behind the button, if this person may change it (checked in the database)."""
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    item = pressed_entry(update, context, prefix)
    if item is None:
        await query.answer(_("This good practice is no longer in the library."), show_alert=True)
        return None
    if contact is None or not goodpractice.can_manage(contact, item):
        await query.answer(
            _("Only staff of the enterprise's provider can change this entry."), show_alert=True
        )
        return None
    return contact, item


async def withdraw_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await managed_entry(update, context, WITHDRAW)
    if found is None:
        return
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    _contact, item = found
    await query.answer()
    yes = (_("Yes, withdraw it"), f"{WITHDRAW_YES}{item.id}")
    await query.edit_message_reply_markup(
        inline([[yes, (_("No, keep it"), f"{WITHDRAW_NO}{item.id}")]])
    )


async def withdraw_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await managed_entry(update, context, WITHDRAW_YES)
    if found is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    _ = tr(update, context)
    contact, item = found
    rt = runtime(context)
    with rt.database.session() as session:
        goodpractice.withdraw(session, improvement_id=item.id, actor=contact, now=rt.now())
    newsletter.refresh_publications(context)
    await query.answer()
    await query.edit_message_reply_markup(None)
    await context.bot.send_message(
        update.effective_chat.id,
        _("Withdrawn from the library. The enterprise's report itself is unchanged."),
    )


async def withdraw_declined(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await managed_entry(update, context, WITHDRAW_NO)
    if found is None:
        return
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    await query.answer(_("Kept in the library."))
    await query.edit_message_reply_markup(entry_buttons(_, found[1], True))


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
