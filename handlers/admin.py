"""Coordinators add providers and invite staff; staff add enterprises and hand out their links."""

from __future__ import annotations

from datetime import date

from telegram import InputFile, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, format_day, format_number, shorten
from bot.render import esc, grid, inline, qr_png
from bot.runtime import current_contact, language_of, runtime, tr, user_data
from handlers import menu
from handlers.common import cancel, stay
from models import content, programme
from models.members import MEMBERS, NEW_LINKS
from models.programme import (
    EnterpriseDraft,
    ProgrammeError,
    add_enterprise,
    add_provider,
    clean_name,
    create_invite,
    deep_link,
    enterprises_of,
    format_short_code,
    may_manage,
    parse_day,
    parse_workers,
    providers,
)
from models.tables import Contact, Enterprise, Invite, Provider, Role

PREFIX = "adm:"
ADD_PROVIDER = PREFIX + "addprov"
STAFF_INVITE = PREFIX + "staffinv:"
PROVIDER_PROVINCE = PREFIX + "pprov:"
ENT_SECTOR = PREFIX + "sector:"
ENT_PROVINCE = PREFIX + "eprov:"
ENT_TODAY = PREFIX + "today"
ENT_CONFIRM = PREFIX + "confirm"
ENT_CANCEL = PREFIX + "cancel"
ENT_LINKS = PREFIX + "links:"

PROVIDER_NAME = "admin.provider_name"
PROVIDER_PROVINCE_STATE = "admin.provider_province"
ENT_NAME = "admin.enterprise_name"
ENT_SECTOR_STATE = "admin.enterprise_sector"
ENT_PROVINCE_STATE = "admin.enterprise_province"
ENT_WORKERS = "admin.enterprise_workers"
ENT_DATE = "admin.enterprise_date"
ENT_CONFIRM_STATE = "admin.enterprise_confirm"

DRAFT = "enterprise_draft"
LIST_TEXT_MAX = 3500  # of the 4096 characters Telegram allows in a message
PROVIDER_DRAFT = "provider_draft"


def error_text(_: Translate, error: ProgrammeError, language: str = "vi") -> str:
    limit = format_number(error.details.get("limit", 0), language)
    texts = {
        "name_too_short": _("The name is too short. Please type at least 2 characters."),
        "name_too_long": _(
            "The name is too long: at most {limit} characters, please.", limit=limit
        ),
        "workers_not_number": _("Please type the number of workers as a whole number, e.g. 25."),
        "workers_too_few": _("An enterprise has at least 1 worker. Please type the number again."),
        "workers_too_many": _(
            "That is more than {limit} workers. Please check the number.", limit=limit
        ),
        "date_invalid": _("Please type the date as day/month/year, e.g. 15/03/2026."),
        "date_in_future": _(
            "That date is in the future. Please type the date the training took place."
        ),
        "date_too_old": _("That date is more than 10 years ago. Please check it."),
        "unknown_province": _("I could not find that province. Please choose one of the buttons."),
        "unknown_sector": _("Please choose a sector with the buttons."),
        "unknown_provider": _("That provider no longer exists."),
        "unknown_enterprise": _("That enterprise no longer exists."),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


def require(contact: Contact | None, *roles: Role) -> bool:
    """Checked against the database on every action, never trusted from the button."""
    return contact is not None and contact.role in roles


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    _ = tr(update, context)
    text = _("Sorry, this is only for programme staff.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return ConversationHandler.END


# -- coordinators: providers and staff invites -----------------------------------------------


async def providers_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = current_contact(update, context)
    if not require(contact, Role.COORDINATOR):
        await refuse(update, context)
        return
    assert update.effective_message is not None
    _ = tr(update, context)
    with runtime(context).database.session() as session:
        rows = providers(session)
    lines = [f"• {esc(p.name)}" for p in rows] or [_("No providers yet.")]
    buttons = [[(_("➕ Add a provider"), ADD_PROVIDER)]] + [
        [(_("Invite staff: {name}", name=shorten(p.name)), f"{STAFF_INVITE}{p.id}")] for p in rows
    ]
    await update.effective_message.reply_text(
        _("<b>OSH service providers</b>") + "\n" + "\n".join(lines), reply_markup=inline(buttons)
    )


async def add_provider_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    if not require(current_contact(update, context), Role.COORDINATOR):
        return await refuse(update, context)
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    await query.answer()
    await query.message.reply_text(_("What is the name of the provider?"))  # type: ignore[union-attr]
    return PROVIDER_NAME


async def provider_name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    try:
        name = clean_name(update.effective_message.text)
    except ProgrammeError as error:
        await update.effective_message.reply_text(error_text(_, error))
        return PROVIDER_NAME
    user_data(context)[PROVIDER_DRAFT] = {"name": name}
    await update.effective_message.reply_text(
        _("In which province or city does {name} work?", name=esc(name)),
        reply_markup=province_keyboard(language_of(update, context), PROVIDER_PROVINCE),
    )
    return PROVIDER_PROVINCE_STATE


def province_keyboard(language: str, prefix: str):  # type: ignore[no-untyped-def]
    buttons = [(p.name(language), prefix + p.code) for p in content.provinces()]
    return inline(grid(buttons, 2))


async def provider_province(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    _ = tr(update, context)
    code = await chosen_province(update, context, PROVIDER_PROVINCE)
    if code is None:
        return PROVIDER_PROVINCE_STATE
    draft = user_data(context).pop(PROVIDER_DRAFT, None)
    if not require(current_contact(update, context), Role.COORDINATOR) or draft is None:
        return await refuse(update, context)
    contact = current_contact(update, context)
    assert contact is not None and update.effective_chat is not None
    with runtime(context).database.session() as session:
        provider = add_provider(
            session, name=draft["name"], province_code=code, actor_id=contact.id
        )
    await context.bot.send_message(
        update.effective_chat.id,
        _(
            "Provider added: {name}. Invite its staff with the button below.",
            name=esc(provider.name),
        ),
        reply_markup=inline(
            [
                [
                    (
                        _("Invite staff: {name}", name=shorten(provider.name)),
                        f"{STAFF_INVITE}{provider.id}",
                    )
                ]
            ]
        ),
    )
    return ConversationHandler.END


async def chosen_province(
    update: Update, context: ContextTypes.DEFAULT_TYPE, prefix: str
) -> str | None:
    """A province from a button or typed by name; None after re-prompting."""
    _ = tr(update, context)
    query = update.callback_query
    if query is not None:
        code = (query.data or "").removeprefix(prefix)
        if (query.data or "").startswith(prefix) and content.province(code) is not None:
            await query.answer()
            await query.edit_message_reply_markup(None)
            return code
        await query.answer(_("This button is no longer active."))
        return None
    message = update.effective_message
    assert message is not None
    found = content.find_province(message.text) if message.text else None
    if found is not None:
        return found.code
    await message.reply_text(
        _("I could not find that province. Please choose one of the buttons."),
        reply_markup=province_keyboard(language_of(update, context), prefix),
    )
    return None


async def staff_invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    contact = current_contact(update, context)
    if not require(contact, Role.COORDINATOR):
        await refuse(update, context)
        return
    assert contact is not None
    _ = tr(update, context)
    rt = runtime(context)
    try:
        provider_id = int(query.data.removeprefix(STAFF_INVITE))
    except ValueError:
        await query.answer(_("This button is no longer active."))
        return
    with rt.database.session() as session:
        provider = session.get(Provider, provider_id)
        if provider is None:
            await query.answer(_("That provider no longer exists."), show_alert=True)
            return
        invite = create_invite(
            session,
            role=Role.STAFF,
            provider_id=provider_id,
            days=rt.settings.invite_days,
            actor_id=contact.id,
            now=rt.now(),
        )
        name = provider.name
    await query.answer()
    link = deep_link(bot_username(context), invite.code)
    await send_invite(
        update,
        context,
        link,
        _(
            "Staff invite for {provider}. It works once and until {until}. Send it to one "
            "staff member:\n{link}",
            provider=esc(name),
            until=format_day(
                invite.expires_at.astimezone(rt.settings.tz).date(), language_of(update, context)
            ),
            link=link,
        )
        + "\n"
        + code_line(_, invite),
    )


def bot_username(context: ContextTypes.DEFAULT_TYPE) -> str:
    return runtime(context).bot_username or context.bot.username


async def send_invite(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    link: str,
    caption: str,
    buttons: list[list[tuple[str, str]]] | None = None,
) -> None:
    assert update.effective_chat is not None
    await context.bot.send_photo(
        update.effective_chat.id,
        InputFile(qr_png(link), filename="invite.png"),
        caption=caption,
        reply_markup=inline(buttons) if buttons else None,
    )


# -- staff: enterprises ----------------------------------------------------------------------


def draft(context: ContextTypes.DEFAULT_TYPE) -> dict:  # type: ignore[type-arg]
    return user_data(context).setdefault(DRAFT, {})


async def new_enterprise(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    if not require(current_contact(update, context), Role.STAFF):
        return await refuse(update, context)
    assert update.effective_message is not None
    _ = tr(update, context)
    user_data(context)[DRAFT] = {}
    await update.effective_message.reply_text(
        _("Let us add an enterprise. What is its name? (/cancel to stop)")
    )
    return ENT_NAME


async def enterprise_name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    try:
        draft(context)["name"] = clean_name(update.effective_message.text)
    except ProgrammeError as error:
        await update.effective_message.reply_text(error_text(_, error))
        return ENT_NAME
    return await ask_sector(update, context)


async def ask_sector(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_chat is not None
    _ = tr(update, context)
    language = language_of(update, context)
    buttons = [(s.label(language), ENT_SECTOR + s.code) for s in content.sectors()]
    await context.bot.send_message(
        update.effective_chat.id,
        _("Which sector does it work in?"),
        reply_markup=inline(grid(buttons, 2)),
    )
    return ENT_SECTOR_STATE


async def enterprise_sector(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    code = (query.data or "").removeprefix(ENT_SECTOR)
    if content.sector(code) is None:
        await query.answer(_("This button is no longer active."))
        return ENT_SECTOR_STATE
    await query.answer()
    await query.edit_message_reply_markup(None)
    draft(context)["sector"] = code
    if "province" in draft(context):
        return await show_summary(update, context)
    await query.message.reply_text(  # type: ignore[union-attr]
        _("In which province or city is it? Choose below or type the name."),
        reply_markup=province_keyboard(language_of(update, context), ENT_PROVINCE),
    )
    return ENT_PROVINCE_STATE


async def sector_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(_("Please choose a sector with the buttons."))
    return await ask_sector(update, context)


async def enterprise_province(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    code = await chosen_province(update, context, ENT_PROVINCE)
    if code is None:
        return ENT_PROVINCE_STATE
    draft(context)["province"] = code
    if "workers" in draft(context):
        return await show_summary(update, context)
    assert update.effective_chat is not None
    _ = tr(update, context)
    await context.bot.send_message(update.effective_chat.id, _("How many workers does it have?"))
    return ENT_WORKERS


async def enterprise_workers(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    try:
        draft(context)["workers"] = parse_workers(message.text or "")
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, language_of(update, context)))
        return ENT_WORKERS
    if "date" in draft(context):
        return await show_summary(update, context)
    await message.reply_text(
        _("When was the training or intervention? Type the date as day/month/year."),
        reply_markup=inline([[(_("Today"), ENT_TODAY)]]),
    )
    return ENT_DATE


async def enterprise_date(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _ = tr(update, context)
    today = runtime(context).today()
    if update.callback_query is not None:
        if update.callback_query.data != ENT_TODAY:
            await update.callback_query.answer(_("This button is no longer active."))
            return ENT_DATE
        await update.callback_query.answer()
        await update.callback_query.edit_message_reply_markup(None)
        day = today
    else:
        message = update.effective_message
        assert message is not None
        try:
            day = parse_day(message.text or "", today=today)
        except ProgrammeError as error:
            await message.reply_text(error_text(_, error))
            return ENT_DATE
    draft(context)["date"] = day.isoformat()
    return await show_summary(update, context)


def draft_of(data: dict) -> EnterpriseDraft:  # type: ignore[type-arg]
    return EnterpriseDraft(
        name=data["name"],
        sector_code=data["sector"],
        province_code=data["province"],
        workers=data["workers"],
        intervention_date=date.fromisoformat(data["date"]),
    )


def enterprise_card(_: Translate, d: EnterpriseDraft, language: str) -> str:
    sector = content.sector(d.sector_code)
    province = content.province(d.province_code)
    assert sector is not None and province is not None
    return "\n".join(
        [
            _("Name: {value}", value=esc(d.name)),
            _("Sector: {value}", value=sector.name(language)),
            _("Province: {value}", value=province.name(language)),
            _("Workers: {value}", value=format_number(d.workers, language)),
            _("Training date: {value}", value=format_day(d.intervention_date, language)),
        ]
    )


async def show_summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_chat is not None
    _ = tr(update, context)
    card = enterprise_card(_, draft_of(draft(context)), language_of(update, context))
    await context.bot.send_message(
        update.effective_chat.id,
        _("<b>Please check the new enterprise</b>") + "\n" + card,
        reply_markup=inline([[(_("✅ Save"), ENT_CONFIRM), (_("✖ Cancel"), ENT_CANCEL)]]),
    )
    return ENT_CONFIRM_STATE


async def enterprise_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    if not require(contact, Role.STAFF) or contact is None or contact.provider_id is None:
        return await refuse(update, context)
    data = user_data(context).pop(DRAFT, None)
    await query.answer()
    if not data:
        await query.edit_message_reply_markup(None)
        await query.message.reply_text(_("This button is no longer active."))  # type: ignore[union-attr]
        return ConversationHandler.END
    rt = runtime(context)
    try:
        with rt.database.session() as session:
            enterprise = add_enterprise(
                session,
                provider_id=contact.provider_id,
                draft=draft_of(data),
                today=rt.today(),
                actor_id=contact.id,
            )
    except ProgrammeError as error:
        await query.edit_message_reply_markup(None)
        await query.message.reply_text(error_text(_, error))  # type: ignore[union-attr]
        return ConversationHandler.END
    # The card becomes the confirmation: one call rather than two, so that with the two invites
    # that follow the bot stays within Telegram's short burst for one chat.
    saved = _("Saved: {name}. Here are its invite links.", name=esc(enterprise.name))
    card = enterprise_card(_, draft_of(data), language_of(update, context))
    await query.edit_message_text(f"{saved}\n\n{card}")
    await send_enterprise_invites(update, context, contact, enterprise.id)  # type: ignore[arg-type]
    return ConversationHandler.END


async def enterprise_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    user_data(context).pop(DRAFT, None)
    await query.answer()
    await query.edit_message_reply_markup(None)
    return await cancel(update, context)


async def confirm_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer(_("This button is no longer active."))
    await update.effective_message.reply_text(_("Please press ✅ Save or ✖ Cancel."))
    return ENT_CONFIRM_STATE


async def send_enterprise_invites(
    update: Update, context: ContextTypes.DEFAULT_TYPE, contact: Contact, enterprise_id: int
) -> None:
    """The enterprise's current links (issued only where none admits anyone any more)."""
    rt = runtime(context)
    with rt.database.session() as session:
        invites = programme.enterprise_links(
            session,
            enterprise_id=enterprise_id,
            actor=contact,
            days=rt.settings.invite_days,
            now=rt.now(),
        )
        enterprise = session.get(Enterprise, enterprise_id)
        assert enterprise is not None
    await show_enterprise_links(update, context, enterprise, invites)


async def show_enterprise_links(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    enterprise: Enterprise,
    invites: dict[Role, Invite],
) -> None:
    """The links card: one QR photo per role, its short code and how many joined."""
    rt = runtime(context)
    _ = tr(update, context)
    name = enterprise.name
    language = language_of(update, context)
    until = format_day(
        invites[Role.EMPLOYER].expires_at.astimezone(rt.settings.tz).date(), language
    )
    for role, invite in invites.items():
        link = deep_link(bot_username(context), invite.code)
        if role == Role.EMPLOYER:
            caption = _(
                "Employer link for {enterprise} (valid until {until}):\n{link}",
                enterprise=esc(name),
                until=until,
                link=link,
            )
        else:
            caption = _(
                "Worker link for {enterprise} (valid until {until}); "
                "several workers can use it:\n{link}",
                enterprise=esc(name),
                until=until,
                link=link,
            )
        joined = _(
            "Joined so far: {uses} of {limit}.",
            uses=format_number(invite.uses, language),
            limit=format_number(invite.max_uses or 0, language),
        )
        caption = f"{caption}\n{code_line(_, invite)}\n{joined}"
        buttons = None
        if role == Role.WORKER:
            buttons = [
                [(_("👥 Members"), f"{MEMBERS}{enterprise.id}")],
                [(_("🔁 New links"), f"{NEW_LINKS}{enterprise.id}")],
            ]
        await send_invite(update, context, link, caption, buttons)


def code_line(_: Translate, invite: Invite) -> str:
    """The short code beside every link, for people who type it instead."""
    return _("Code to type: <b>{code}</b>", code=format_short_code(invite.short_code))


async def enterprises_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = current_contact(update, context)
    if not require(contact, Role.STAFF) or contact is None or contact.provider_id is None:
        await refuse(update, context)
        return
    assert update.effective_message is not None
    _ = tr(update, context)
    language = contact.language
    with runtime(context).database.session() as session:
        rows = enterprises_of(session, contact.provider_id)
    if not rows:
        await update.effective_message.reply_text(
            _("You have no enterprises yet. Add one with ➕ Add an enterprise.")
        )
        return
    lines: list[str] = []
    for e in rows[:50]:
        province = content.province(e.province_code)
        line = f"• <b>{esc(e.name)}</b> — {province.name(language) if province else ''}, " + _(
            "{count} workers", count=format_number(e.workers, language)
        )
        # Names may be 200 characters long: stop before the list outgrows one message.
        if sum(len(x) + 1 for x in lines) + len(line) > LIST_TEXT_MAX:
            break
        lines.append(line)
    if len(rows) > len(lines):
        lines.append(_("… and {count} more.", count=len(rows) - len(lines)))
    buttons = [
        [(_("🔗 Links: {name}", name=shorten(e.name)), f"{ENT_LINKS}{e.id}")] for e in rows[:50]
    ]
    await update.effective_message.reply_text(
        _("<b>Your enterprises</b>") + "\n" + "\n".join(lines), reply_markup=inline(buttons)
    )


async def enterprise_links(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    try:
        enterprise_id = int(query.data.removeprefix(ENT_LINKS))
    except ValueError:
        await query.answer(_("This button is no longer active."))
        return
    with runtime(context).database.session() as session:
        enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None or not may_manage(contact, enterprise):
        await refuse(update, context)
        return
    assert contact is not None
    await query.answer()
    await send_enterprise_invites(update, context, contact, enterprise_id)


def handlers_list() -> list:  # type: ignore[type-arg]
    menu_buttons = menu.any_button()
    not_command = ~filters.COMMAND & ~menu_buttons
    text = filters.TEXT & not_command
    other = not_command & ~filters.TEXT

    providers_conversation = ConversationHandler(
        name="admin.provider",
        persistent=True,
        entry_points=[CallbackQueryHandler(add_provider_start, pattern=f"^{ADD_PROVIDER}$")],
        states={
            PROVIDER_NAME: [
                MessageHandler(text, provider_name),
                MessageHandler(other, stay(PROVIDER_NAME)),
            ],
            PROVIDER_PROVINCE_STATE: [
                CallbackQueryHandler(provider_province, pattern=f"^{PROVIDER_PROVINCE}"),
                MessageHandler(not_command, provider_province),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )
    enterprise_conversation = ConversationHandler(
        name="admin.enterprise",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler("newenterprise", new_enterprise),
            MessageHandler(menu.button(menu.NEW_ENTERPRISE), new_enterprise),
        ],
        states={
            ENT_NAME: [
                MessageHandler(text, enterprise_name),
                MessageHandler(other, stay(ENT_NAME)),
            ],
            ENT_SECTOR_STATE: [
                CallbackQueryHandler(enterprise_sector, pattern=f"^{ENT_SECTOR}"),
                MessageHandler(not_command, sector_reprompt),
            ],
            ENT_PROVINCE_STATE: [
                CallbackQueryHandler(enterprise_province, pattern=f"^{ENT_PROVINCE}"),
                MessageHandler(not_command, enterprise_province),
            ],
            ENT_WORKERS: [
                MessageHandler(text, enterprise_workers),
                MessageHandler(other, stay(ENT_WORKERS)),
            ],
            ENT_DATE: [
                CallbackQueryHandler(enterprise_date, pattern=f"^{ENT_TODAY}$"),
                MessageHandler(text, enterprise_date),
                MessageHandler(other, stay(ENT_DATE)),
            ],
            ENT_CONFIRM_STATE: [
                CallbackQueryHandler(enterprise_confirm, pattern=f"^{ENT_CONFIRM}$"),
                CallbackQueryHandler(enterprise_cancel, pattern=f"^{ENT_CANCEL}$"),
                CallbackQueryHandler(confirm_reprompt),
                MessageHandler(not_command, confirm_reprompt),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )
    return [
        providers_conversation,
        enterprise_conversation,
        CommandHandler("providers", providers_command),
        MessageHandler(menu.button(menu.PROVIDERS), providers_command),
        CallbackQueryHandler(staff_invite, pattern=f"^{STAFF_INVITE}"),
        CommandHandler("enterprises", enterprises_command),
        MessageHandler(menu.button(menu.ENTERPRISES), enterprises_command),
        CallbackQueryHandler(enterprise_links, pattern=f"^{ENT_LINKS}"),
    ]
