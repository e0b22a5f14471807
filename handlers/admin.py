"""Coordinators list providers and invite their staff; staff list their enterprises and hand
out their links. Adding a provider or an enterprise is a journey (models/journeys/admin.py)."""

from __future__ import annotations

from telegram import InputFile
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.i18n import format_day, format_number, shorten
from bot.render import esc, inline
from handlers import menu
from handlers.context import Ask, handler
from handlers.driver import place
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


# -- coordinators: providers and staff invites -----------------------------------------------


@handler(Role.COORDINATOR, refusal="staff_only")
async def providers_command(ask: Ask) -> None:
    _ = ask._
    with ask.runtime.database.session() as session:
        rows = providers(session)
    lines = [f"• {esc(p.name)}" for p in rows] or [_("No providers yet.")]
    buttons = [[(_("➕ Add a provider"), ADD_PROVIDER)]] + [
        [(_("Invite staff: {name}", name=shorten(p.name)), f"{STAFF_INVITE}{p.id}")] for p in rows
    ]
    await ask.reply(_("<b>OSH service providers</b>") + "\n" + "\n".join(lines), buttons)


@handler(Role.COORDINATOR, refusal="staff_only")
async def staff_invite(ask: Ask) -> None:
    _, rt, contact = ask._, ask.runtime, ask.person
    assert contact is not None
    try:
        provider_id = int(ask.data.removeprefix(STAFF_INVITE))
    except ValueError:
        await ask.stale()
        return
    with rt.database.session() as session:
        provider = session.get(Provider, provider_id)
        if provider is not None:
            invite = create_invite(
                session,
                role=Role.STAFF,
                provider_id=provider_id,
                days=rt.settings.invite_days,
                actor_id=contact.id,
                now=ask.now,
            )
            name = provider.name
    if provider is None:
        await ask.refuse("unknown_provider")
        return
    await ask.notice()
    link = deep_link(bot_username(ask), invite.code)
    until = format_day(invite.expires_at.astimezone(rt.settings.tz).date(), ask.language)
    await send_invite(
        ask,
        link,
        _(
            "Staff invite for {provider}. It works once and until {until}. Send it to one "
            "staff member:\n{link}",
            provider=esc(name),
            until=until,
            link=link,
        )
        + "\n"
        + code_line(_, invite),
    )


def bot_username(ask: Ask) -> str:
    return ask.runtime.bot_username or ask.context.bot.username


async def send_invite(
    ask: Ask, link: str, caption: str, buttons: list[list[tuple[str, str]]] | None = None
) -> None:
    await ask.context.bot.send_photo(
        ask.chat_id,
        InputFile(qr_png(link), filename="invite.png"),
        caption=caption,
        reply_markup=inline(buttons) if buttons else None,
    )


async def send_enterprise_invites(ask: Ask, contact: Contact, enterprise_id: int) -> None:
    """The enterprise's current links (issued only where none admits anyone any more)."""
    rt = ask.runtime
    with rt.database.session() as session:
        invites = programme.enterprise_links(
            session,
            enterprise_id=enterprise_id,
            actor=contact,
            days=rt.settings.invite_days,
            now=ask.now,
        )
        enterprise = session.get(Enterprise, enterprise_id)
        assert enterprise is not None
    await show_enterprise_links(ask, enterprise, invites)


async def show_enterprise_links(
    ask: Ask, enterprise: Enterprise, invites: dict[Role, Invite]
) -> None:
    """The links card: one QR photo per role, its short code and how many joined."""
    for card in invite_cards(ask._, ask.language, place(ask.context), enterprise, invites):
        await ask.show(card)


def staff_of_provider(contact: Contact | None) -> bool:
    return contact is not None and contact.role == Role.STAFF and contact.provider_id is not None


@handler(may=staff_of_provider, refusal="staff_only")
async def enterprises_command(ask: Ask) -> None:
    _, contact = ask._, ask.person
    assert contact is not None and contact.provider_id is not None
    language = contact.language
    with ask.runtime.database.session() as session:
        rows = enterprises_of(session, contact.provider_id)
    if not rows:
        await ask.reply(_("You have no enterprises yet. Add one with ➕ Add an enterprise."))
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
    await ask.reply(_("<b>Your enterprises</b>") + "\n" + "\n".join(lines), buttons)


@handler()
async def enterprise_links(ask: Ask) -> None:
    contact = ask.person
    try:
        enterprise_id = int(ask.data.removeprefix(ENT_LINKS))
    except ValueError:
        await ask.stale()
        return
    with ask.runtime.database.session() as session:
        enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None or contact is None or not may_manage(contact, enterprise):
        await ask.refuse("staff_only")
        return
    await ask.notice()
    await send_enterprise_invites(ask, contact, enterprise_id)


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("providers", providers_command),
        MessageHandler(menu.button(menu.PROVIDERS), providers_command),
        CallbackQueryHandler(staff_invite, pattern=f"^{STAFF_INVITE}"),
        CommandHandler("enterprises", enterprises_command),
        MessageHandler(menu.button(menu.ENTERPRISES), enterprises_command),
        CallbackQueryHandler(enterprise_links, pattern=f"^{ENT_LINKS}"),
    ]
