"""Coordinators list providers and invite their staff; staff list their enterprises and hand
out their links. Adding a provider or an enterprise is a journey (models/journeys/admin.py)."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
)

from bot.i18n import format_day, format_number, shorten
from bot.render import esc, inline
from bot.runtime import current_contact, language_of, runtime, tr
from handlers import menu
from handlers.driver import place, send
from models import content, programme
from models.journeys.admin import ADD_PROVIDER, STAFF_INVITE, code_line, invite_cards
from models.media import qr_png
from models.programme import (
    create_invite,
    deep_link,
    enterprises_of,
    may_manage,
    providers,
)
from models.tables import Contact, Enterprise, Invite, Provider, Role

ENT_LINKS = "adm:links:"
LIST_TEXT_MAX = 3500  # of the 4096 characters Telegram allows in a message


def require(contact: Contact | None, *roles: Role) -> bool:
    """Checked against the database on every action, never trusted from the button."""
    return contact is not None and contact.role in roles


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _ = tr(update, context)
    text = _("Sorry, this is only for programme staff.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


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
    cards = invite_cards(
        tr(update, context), language_of(update, context), place(context), enterprise, invites
    )
    for card in cards:
        await send(update, context, card)


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
    return [
        CommandHandler("providers", providers_command),
        MessageHandler(menu.button(menu.PROVIDERS), providers_command),
        CallbackQueryHandler(staff_invite, pattern=f"^{STAFF_INVITE}"),
        CommandHandler("enterprises", enterprises_command),
        MessageHandler(menu.button(menu.ENTERPRISES), enterprises_command),
        CallbackQueryHandler(enterprise_links, pattern=f"^{ENT_LINKS}"),
    ]
