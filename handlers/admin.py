"""Coordinators list providers and invite their staff; staff list their enterprises, hand
out their links, move, archive and restore them. Adding a provider or an enterprise is a
journey (models/journeys/admin.py)."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session
from telegram import InputFile
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.i18n import Translate, format_day, shorten
from bot.render import esc, inline
from handlers import menu
from handlers.context import Ask, handler
from handlers.driver import place
from models import enterprises, programme
from models.journeys.admin import (
    ADD_PROVIDER,
    PARTNER_INVITE,
    STAFF_INVITE,
    code_line,
    invite_cards,
)
from models.journeys.core import Reply
from models.journeys.errors import error_text
from models.media import qr_png
from models.notices import enterprises as pages
from models.programme import (
    ProgrammeError,
    create_invite,
    deep_link,
    may_manage,
    providers,
)
from models.tables import Contact, Enterprise, Invite, Provider, Role

ENT_LINKS = "adm:links:"


# -- coordinators: providers and staff invites -----------------------------------------------


@handler(Role.COORDINATOR, refusal="staff_only")
async def providers_command(ask: Ask) -> None:
    _ = ask._
    with ask.runtime.database.session() as session:
        rows = providers(session)
    lines = [f"• {esc(p.name)}" for p in rows] or [_("No providers yet.")]
    buttons = [[(_("➕ Add a provider"), ADD_PROVIDER)]] + [
        [
            (_("Invite staff: {name}", name=shorten(p.name)), f"{STAFF_INVITE}{p.id}"),
            (_("🤝 Invite a partner"), f"{PARTNER_INVITE}{p.id}"),
        ]
        for p in rows
    ]
    await ask.reply(_("<b>OSH service providers</b>") + "\n" + "\n".join(lines), buttons)


@handler(Role.COORDINATOR, refusal="staff_only")
async def staff_invite(ask: Ask) -> None:
    await provider_invite(ask, Role.STAFF, STAFF_INVITE)


@handler(Role.COORDINATOR, refusal="staff_only")
async def partner_invite(ask: Ask) -> None:
    await provider_invite(ask, Role.PARTNER, PARTNER_INVITE)


async def provider_invite(ask: Ask, role: Role, prefix: str) -> None:
    """A staff invite (single use) or a partner invite (up to the partner limit) for a
    provider: its QR code, link and short code."""
    _, rt, contact = ask._, ask.runtime, ask.person
    assert contact is not None
    try:
        provider_id = int(ask.data.removeprefix(prefix))
    except ValueError:
        await ask.stale()
        return
    with rt.database.session() as session:
        provider = session.get(Provider, provider_id)
        if provider is not None:
            invite = create_invite(
                session,
                role=role,
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
    if role == Role.STAFF:
        text = _(
            "Staff invite for {provider}. It works once and until {until}. Send it to one "
            "staff member:\n{link}",
            provider=esc(name), until=until, link=link,
        )  # fmt: skip
    else:
        text = _(
            "Partner invite for {provider}: for agencies and organisations that take part in "
            "its events. Up to {limit} people can join with it until {until}:\n{link}",
            provider=esc(name), limit=invite.max_uses, until=until, link=link,
        )  # fmt: skip
    await send_invite(ask, link, text + "\n" + code_line(_, invite))


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


def looks_after(contact: Contact | None) -> bool:
    """Staff of a provider, and coordinators: they look after enterprises."""
    if contact is None:
        return False
    return contact.role == Role.COORDINATOR or (
        contact.role == Role.STAFF and contact.provider_id is not None
    )


def enterprise_texts(_: Translate, error: ProgrammeError, language: str) -> str:
    """Another provider's enterprise, or one that no longer exists, told as such."""
    if error.code in ("not_allowed", "unknown_enterprise"):
        return _("Sorry, only the staff of this enterprise's provider can see this.")
    return error_text(_, error, language)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


@handler(may=looks_after, refusal="staff_only")
async def enterprises_command(ask: Ask) -> None:
    """/enterprises [words]: a page of the enterprises, those whose name or province has the
    words when given, each a button to its page."""
    text = ask.message.text if ask.message is not None else ""
    parts = (text or "").split(maxsplit=1)
    words = parts[1].strip() if len(parts) > 1 and parts[0].startswith("/") else ""
    with ask.runtime.database.session() as session:
        found = enterprises.search(session, ask.person, words)
    await ask.show(pages.listing(ask._, found, words, ask.language))


@handler(may=looks_after, refusal="staff_only")
async def list_pressed(ask: Ask) -> None:
    """A page of the list, or of the archived enterprises' list."""
    archived = ask.data.startswith(pages.ARCHIVED_LIST)
    prefix = pages.ARCHIVED_LIST if archived else pages.LIST
    number, _, words = ask.data.removeprefix(prefix).partition(":")
    page = _number(number)
    if page is None:
        await ask.stale()
        return
    with ask.runtime.database.session() as session:
        found = enterprises.search(session, ask.person, words, page, archived=archived)
    await ask.notice()
    await ask.rewrite(pages.listing(ask._, found, words, ask.language, archived=archived))


Ids = tuple[int, ...]


async def _pressed(
    ask: Ask,
    prefix: str,
    work: Callable[[Session, Ids], Reply | str],
    *,
    count: int = 1,
    show: bool = False,
) -> None:
    """An enterprise button carrying `count` ids ("<prefix>12" or "<prefix>12:3"): `work` in a
    transaction makes the answer, or refuses with a ProgrammeError, as data that no longer
    parses is refused; a Reply goes as a new message (`show`) or in place of the pressed one,
    words in place of it."""
    numbers = [_number(part) for part in ask.data.removeprefix(prefix).split(":")]
    try:
        if len(numbers) != count or None in numbers:
            raise ProgrammeError("stale")
        with ask.runtime.database.session() as session:
            answer = work(session, tuple(n for n in numbers if n is not None))
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    await ask.notice()
    if isinstance(answer, str):
        await ask.edit(answer)
    elif show:
        await ask.show(answer)
    else:
        await ask.rewrite(answer)


@handler(may=looks_after, refusal="staff_only", texts=enterprise_texts)
async def page_pressed(ask: Ask) -> None:
    def page(session: Session, ids: Ids) -> Reply:
        found = enterprises.history(session, ask.person, ids[0])
        return pages.page(ask._, found, ask.language, ask.runtime.settings.tz)

    await _pressed(ask, pages.PAGE, page, show=True)


@handler(may=looks_after, refusal="staff_only", texts=enterprise_texts)
async def move_pressed(ask: Ask) -> None:
    def choices(session: Session, ids: Ids) -> Reply:
        enterprise = enterprises.managed_and_followed(session, ask.person, ids[0])
        targets = enterprises.providers_to_move_to(session, enterprise)
        return pages.move_choices(ask._, enterprise, targets)

    await _pressed(ask, pages.MOVE, choices, show=True)


@handler(may=looks_after, refusal="staff_only", texts=enterprise_texts)
async def move_to_pressed(ask: Ask) -> None:
    def question(session: Session, ids: Ids) -> Reply:
        enterprise = enterprises.managed_and_followed(session, ask.person, ids[0])
        target = session.get(Provider, ids[1])
        source = session.get(Provider, enterprise.provider_id)
        if target is None or source is None or target.id == source.id:
            raise ProgrammeError("stale")
        return pages.move_question(ask._, enterprise, source.name, target)

    await _pressed(ask, pages.MOVE_TO, question, count=2)


@handler(may=looks_after, refusal="staff_only", texts=enterprise_texts)
async def move_ok_pressed(ask: Ask) -> None:
    def moved(session: Session, ids: Ids) -> str:
        enterprise, _, target = enterprises.transfer(
            session, ask.person, ids[0], ids[1], now=ask.now
        )
        return pages.moved(ask._, enterprise, target)

    await _pressed(ask, pages.MOVE_OK, moved, count=2)


@handler(may=looks_after, refusal="staff_only", texts=enterprise_texts)
async def archive_pressed(ask: Ask) -> None:
    """🗄 Archive on a page: what it does, to confirm."""

    def question(session: Session, ids: Ids) -> Reply:
        enterprise = enterprises.managed_and_followed(session, ask.person, ids[0])
        return pages.archive_question(ask._, enterprise)

    await _pressed(ask, pages.ARCHIVE, question, show=True)


@handler(may=looks_after, refusal="staff_only", texts=enterprise_texts)
async def archive_ok_pressed(ask: Ask) -> None:
    def archived(session: Session, ids: Ids) -> Reply:
        done = enterprises.archive(session, ask.person, ids[0], now=ask.now)
        return pages.archived(ask._, done)

    await _pressed(ask, pages.ARCHIVE_OK, archived)


@handler(may=looks_after, refusal="staff_only", texts=enterprise_texts)
async def restore_pressed(ask: Ask) -> None:
    """♻️ Restore on an archived enterprise's page: to confirm."""

    def question(session: Session, ids: Ids) -> Reply:
        enterprise = programme.managed_enterprise(session, ask.person, ids[0])
        if enterprise.archived_at is None:
            raise ProgrammeError("not_archived")
        return pages.restore_question(ask._, enterprise)

    await _pressed(ask, pages.RESTORE, question, show=True)


@handler(may=looks_after, refusal="staff_only", texts=enterprise_texts)
async def restore_ok_pressed(ask: Ask) -> None:
    def restored(session: Session, ids: Ids) -> Reply:
        enterprise = enterprises.restore(session, ask.person, ids[0], now=ask.now)
        return pages.restored(ask._, enterprise)

    await _pressed(ask, pages.RESTORE_OK, restored)


@handler()
async def keep_pressed(ask: Ask) -> None:
    await ask.notice()
    await ask.edit(ask._("Nothing was changed."))


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
    if enterprise.archived_at is not None:
        await ask.refuse(ProgrammeError("archived"))  # a button of its page before it was
        return
    await ask.notice()
    await send_enterprise_invites(ask, contact, enterprise_id)


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("providers", providers_command),
        MessageHandler(menu.button(menu.PROVIDERS), providers_command),
        CallbackQueryHandler(staff_invite, pattern=f"^{STAFF_INVITE}"),
        CallbackQueryHandler(partner_invite, pattern=f"^{PARTNER_INVITE}"),
        CommandHandler("enterprises", enterprises_command),
        CallbackQueryHandler(list_pressed, pattern=f"^({pages.LIST}|{pages.ARCHIVED_LIST})"),
        CallbackQueryHandler(page_pressed, pattern=f"^{pages.PAGE}"),
        CallbackQueryHandler(move_pressed, pattern=f"^{pages.MOVE}"),
        CallbackQueryHandler(move_to_pressed, pattern=f"^{pages.MOVE_TO}"),
        CallbackQueryHandler(move_ok_pressed, pattern=f"^{pages.MOVE_OK}"),
        CallbackQueryHandler(archive_pressed, pattern=f"^{pages.ARCHIVE}"),
        CallbackQueryHandler(archive_ok_pressed, pattern=f"^{pages.ARCHIVE_OK}"),
        CallbackQueryHandler(restore_pressed, pattern=f"^{pages.RESTORE}"),
        CallbackQueryHandler(restore_ok_pressed, pattern=f"^{pages.RESTORE_OK}"),
        CallbackQueryHandler(keep_pressed, pattern=f"^{pages.KEEP}"),
        MessageHandler(menu.button(menu.ENTERPRISES), enterprises_command),
        CallbackQueryHandler(enterprise_links, pattern=f"^{ENT_LINKS}"),
    ]
