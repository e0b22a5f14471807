"""/goodpractices: the library by technical area, for everyone registered; staff of the entry's
provider (and coordinators) can change its public wording or withdraw it."""

from __future__ import annotations

from pathlib import Path

from telegram import InputFile, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, format_number, shorten
from bot.render import esc, inline
from bot.runtime import current_contact, language_of, runtime, tr, user_data
from handlers import menu, newsletter
from handlers.common import cancel
from models import content, goodpractice
from models.programme import ProgrammeError
from models.tables import Contact, Role
from reports.cards import area_label, before_photo, card, card_photo, place

PREFIX = "gp:"
AREAS = PREFIX + "areas"
AREA = PREFIX + "area:"  # gp:area:<code>:<page>
SHOW = PREFIX + "show:"
BEFORE = PREFIX + "before:"
EDIT = PREFIX + "edit:"
WITHDRAW = PREFIX + "wd:"
WITHDRAW_YES = PREFIX + "wdyes:"
WITHDRAW_NO = PREFIX + "wdno:"

EDIT_TEXT = "goodpractices.edit_text"
EDITING = "goodpractice_editing"
PAGE = 8
READERS = (Role.COORDINATOR, Role.STAFF, Role.EMPLOYER, Role.WORKER)


def error_text(_: Translate, error: ProgrammeError, language: str) -> str:
    limit = format_number(error.details.get("limit", 0), language)
    texts = {
        "text_too_short": _(
            "That is too short: please write at least {limit} characters.", limit=limit
        ),
        "text_too_long": _("That is too long: at most {limit} characters, please.", limit=limit),
        "not_in_library": _("This good practice is no longer in the library."),
        "not_allowed": _("Only staff of the enterprise's provider can change this entry."),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


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


def entry_id(data: str | None, prefix: str) -> int | None:
    raw = (data or "").removeprefix(prefix)
    return int(raw) if raw.isdigit() else None


async def show_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    if not reader(contact):
        await not_registered(update, context)
        return
    item_id = entry_id(query.data, SHOW)
    with runtime(context).database.session() as session:
        item = (
            goodpractice.entry(session, item_id, media_root=media(context))
            if item_id is not None
            else None
        )
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
    item_id = entry_id(query.data, BEFORE)
    with runtime(context).database.session() as session:
        item = (
            goodpractice.entry(session, item_id, media_root=media(context))
            if item_id is not None
            else None
        )
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
    item_id = entry_id(query.data, prefix)
    with runtime(context).database.session() as session:
        item = (
            goodpractice.entry(session, item_id, media_root=media(context))
            if item_id is not None
            else None
        )
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


async def edit_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    found = await managed_entry(update, context, EDIT)
    if found is None:
        return ConversationHandler.END
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    _ = tr(update, context)
    _contact, item = found
    user_data(context)[EDITING] = item.id
    await query.answer()
    await context.bot.send_message(
        update.effective_chat.id,
        _(
            "The wording people see now:\n<i>{text}</i>\n\nPlease send the new public wording "
            "({low} to {high} characters). The enterprise's original report stays as it was. "
            "/cancel to keep it.",
            text=esc(item.text),
            low=goodpractice.PUBLIC_TEXT_MIN,
            high=format_number(goodpractice.PUBLIC_TEXT_MAX, language_of(update, context)),
        ),
    )
    return EDIT_TEXT


async def edit_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    language = language_of(update, context)
    item_id = user_data(context).get(EDITING)
    contact = current_contact(update, context)
    if item_id is None or contact is None:
        await message.reply_text(_("This button is no longer active."))
        return ConversationHandler.END
    rt = runtime(context)
    try:
        with rt.database.session() as session:
            item = goodpractice.edit_public_text(
                session, improvement_id=item_id, text=message.text or "", actor=contact,
                now=rt.now(),
            )  # fmt: skip
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, language))
        if error.code in ("text_too_short", "text_too_long"):
            return EDIT_TEXT
        user_data(context).pop(EDITING, None)
        return ConversationHandler.END
    user_data(context).pop(EDITING, None)
    await message.reply_text(
        _("Saved. The library now shows:") + "\n\n" + card(item, language),
        reply_markup=menu.keyboard(contact.role, contact.language),
    )
    return ConversationHandler.END


async def edit_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _ = tr(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer(_("Please type the new wording, or /cancel."))
    elif update.effective_message is not None:
        await update.effective_message.reply_text(_("Please type the new wording, or /cancel."))
    return EDIT_TEXT


def handlers_list() -> list:  # type: ignore[type-arg]
    menu_buttons = menu.any_button()
    typed = filters.TEXT & ~filters.COMMAND & ~menu_buttons
    edit_conversation = ConversationHandler(
        name="goodpractices.edit",
        persistent=True,
        allow_reentry=True,
        entry_points=[CallbackQueryHandler(edit_start, pattern=f"^{EDIT}")],
        states={
            EDIT_TEXT: [
                MessageHandler(typed, edit_text),
                MessageHandler(~filters.COMMAND & ~menu_buttons, edit_reprompt),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )
    return [
        edit_conversation,
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
