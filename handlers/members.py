"""Members in Telegram: who joined an enterprise, removing someone, and new links after a leak.

Buttons and /members only, no conversation: 🏭 My enterprises → 🔗 Links → 👥 Members or
🔁 New links; the 🚫 button of the notice staff get when someone joins (models/members.py);
/members for staff (their enterprises) and coordinators (providers → their staff, partners and
enterprises). Every press is checked against the database: another provider's staff are
refused, a removed person or a replaced link answers that it is gone.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.i18n import Translate, format_day, shorten
from bot.render import acknowledge, esc, inline
from bot.runtime import current_contact, language_of, runtime, tr
from handlers.admin import show_enterprise_links
from models import members
from models.members import ASK_REMOVE, MEMBERS, NEW_LINKS, PREFIX
from models.programme import (
    ProgrammeError,
    enterprises_of,
    live_invite,
    managed_enterprise,
    organisation_name,
    providers,
    reissue_invite,
)
from models.tables import Contact, Provider, Role

REMOVE = PREFIX + "rm:"  # <contact id>: remove, once confirmed
KEEP = PREFIX + "keep:"  # <contact id>: changed their mind
RENEW = PREFIX + "renew:"  # <enterprise id>:<worker link id or 0>: new links, once confirmed
KEEP_LINKS = PREFIX + "keeplinks"
PROVIDER = PREFIX + "prov:"  # <provider id>: a provider's people and enterprises

PAGE = 20
NAME_IN_LIST = 60
ENTERPRISE_BUTTONS = 40


def numbers(data: str | None, prefix: str, count: int = 1) -> list[int] | None:
    """The ids after `prefix` ("mem:ent:12:2" → [12, 2]); None for forged or foreign data."""
    if not (data or "").startswith(prefix):
        return None
    parts = (data or "").removeprefix(prefix).split(":")
    if not 1 <= len(parts) <= count or not all(p.isdigit() and len(p) < 12 for p in parts):
        return None
    return [int(p) for p in parts]


def error_text(_: Translate, error: ProgrammeError) -> str:
    texts = {
        "not_a_member": _("This person is no longer a member."),
        "not_allowed": _(
            "Sorry, this is only for the staff of the enterprise's OSH service provider and "
            "for programme coordinators."
        ),
        "unknown_enterprise": _("That enterprise no longer exists."),
        "unknown_provider": _("That provider no longer exists."),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


async def answer_error(
    update: Update, context: ContextTypes.DEFAULT_TYPE, error: ProgrammeError
) -> None:
    _ = tr(update, context)
    if update.callback_query is not None:
        await acknowledge(update.callback_query, error_text(_, error), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(error_text(_, error))


async def stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    await acknowledge(
        update.callback_query, tr(update, context)("This button is no longer active.")
    )


def chat_of(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


# -- /members --------------------------------------------------------------------------------


async def members_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    with runtime(context).database.session() as session:
        if contact is not None and contact.role == Role.STAFF and contact.provider_id:
            rows = [(e.id, e.name) for e in enterprises_of(session, contact.provider_id)]
            prefix, head = MEMBERS, _("<b>👥 Members</b>: which enterprise?")
        elif contact is not None and contact.role == Role.COORDINATOR:
            rows = [(p.id, p.name) for p in providers(session)]
            prefix, head = PROVIDER, _("<b>👥 Members</b>: which provider?")
        else:
            await answer_error(update, context, ProgrammeError("not_allowed"))
            return
    if not rows:
        await update.effective_message.reply_text(_("There is nobody to show yet."))
        return
    buttons = [[(shorten(name), f"{prefix}{key}")] for key, name in rows[:ENTERPRISE_BUTTONS]]
    await update.effective_message.reply_text(head, reply_markup=inline(buttons))


# -- an enterprise's members -----------------------------------------------------------------


async def show_members(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    found = numbers(query.data, MEMBERS, count=2)
    if found is None:
        await stale(update, context)
        return
    enterprise_id, page = found[0], (found[1] if len(found) > 1 else 0)
    _ = tr(update, context)
    language = language_of(update, context)
    contact = current_contact(update, context)
    try:
        with runtime(context).database.session() as session:
            enterprise = managed_enterprise(session, contact, enterprise_id)
            people = members.members_of(session, enterprise_id)
    except ProgrammeError as error:
        await answer_error(update, context, error)
        return
    await acknowledge(query)
    pages = max(1, -(-len(people) // PAGE))
    page = min(page, pages - 1)
    shown = people[page * PAGE : (page + 1) * PAGE]
    employers = sum(p.role == Role.EMPLOYER for p in people)
    lines = [
        _("<b>👥 Members of {enterprise}</b>", enterprise=esc(enterprise.name)),
        _(
            "{employers} employers and {workers} workers have joined.",
            employers=employers,
            workers=len(people) - employers,
        ),
        "",
    ]
    if not people:
        lines.append(_("Nobody has joined yet."))
    for number, person in enumerate(shown, start=page * PAGE + 1):
        day = format_day(
            person.registered_at.astimezone(runtime(context).settings.tz).date(), language
        )
        lines.append(
            f"{number}. {esc(shorten(members.name_of(_, person), NAME_IN_LIST))} — "
            + _("{role}, joined {day}", role=members.role_label(_, person.role), day=day)
        )
    if people:
        lines += ["", _("Press 🚫 beside someone you do not know to remove them.")]
    buttons = [
        [
            (
                _("🚫 {name}", name=shorten(members.name_of(_, p), members.BUTTON_NAME_MAX)),
                f"{ASK_REMOVE}{p.id}",
            )
        ]
        for p in shown
    ]
    moves = []
    if page > 0:
        moves.append((_("◀ Previous"), f"{MEMBERS}{enterprise_id}:{page - 1}"))
    if page + 1 < pages:
        moves.append((_("Next ▶"), f"{MEMBERS}{enterprise_id}:{page + 1}"))
    if moves:
        buttons.append(moves)
    buttons.append([(_("🔁 New links"), f"{NEW_LINKS}{enterprise_id}")])
    text = "\n".join(lines)
    if len(found) > 1 and query.message is not None:
        # Paging edits the list in place; opening it from a links card sends a new message.
        await query.edit_message_text(text, reply_markup=inline(buttons))
    else:
        await context.bot.send_message(chat_of(update), text, reply_markup=inline(buttons))


# -- a provider's people (coordinators) ------------------------------------------------------


async def show_provider(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    found = numbers(query.data, PROVIDER)
    if found is None:
        await stale(update, context)
        return
    _ = tr(update, context)
    language = language_of(update, context)
    contact = current_contact(update, context)
    if contact is None or contact.role != Role.COORDINATOR:
        await answer_error(update, context, ProgrammeError("not_allowed"))
        return
    with runtime(context).database.session() as session:
        provider = session.get(Provider, found[0])
        if provider is None:
            await answer_error(update, context, ProgrammeError("unknown_provider"))
            return
        people = members.people_of(session, found[0])
        enterprises = enterprises_of(session, found[0])
    await acknowledge(query)
    lines = [_("<b>👥 {provider}</b>", provider=esc(provider.name)), ""]
    if not people:
        lines.append(_("No staff or partners have joined yet."))
    for person in people[:PAGE]:
        day = format_day(
            person.registered_at.astimezone(runtime(context).settings.tz).date(), language
        )
        lines.append(
            f"• {esc(shorten(members.name_of(_, person), NAME_IN_LIST))} — "
            + _("{role}, joined {day}", role=members.role_label(_, person.role), day=day)
        )
    if len(people) > PAGE:
        lines.append(_("… and {count} more people.", count=len(people) - PAGE))
    if enterprises:
        lines += ["", _("Its enterprises are below: open one to see its members.")]
    buttons = [
        [
            (
                _("🚫 {name}", name=shorten(members.name_of(_, p), members.BUTTON_NAME_MAX)),
                f"{ASK_REMOVE}{p.id}",
            )
        ]
        for p in people[:PAGE]
    ] + [
        [(_("👥 {name}", name=shorten(e.name)), f"{MEMBERS}{e.id}")]
        for e in enterprises[:ENTERPRISE_BUTTONS]
    ]
    await context.bot.send_message(chat_of(update), "\n".join(lines), reply_markup=inline(buttons))


# -- removing someone ------------------------------------------------------------------------


async def ask_remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    found = numbers(query.data, ASK_REMOVE)
    if found is None:
        await stale(update, context)
        return
    _ = tr(update, context)
    contact = current_contact(update, context)
    try:
        with runtime(context).database.session() as session:
            person = members.removable(session, found[0], actor=contact)
            organisation = organisation_name(session, person) or ""
    except ProgrammeError as error:
        await answer_error(update, context, error)
        return
    await acknowledge(query)
    name = members.name_of(_, person)
    text = "\n".join(
        [
            _(
                "Remove <b>{name}</b> ({role}) from <b>{organisation}</b>?",
                name=esc(name),
                role=members.role_label(_, person.role),
                organisation=esc(organisation),
            ),
            _(
                "They lose access at once and receive nothing more from us; what they reported "
                "stays with the enterprise. They can come back only with a new invite link."
            ),
        ]
    )
    buttons = [
        [(_("✅ Yes, remove"), f"{REMOVE}{person.id}"), (_("✖ No, keep"), f"{KEEP}{person.id}")]
    ]
    await context.bot.send_message(chat_of(update), text, reply_markup=inline(buttons))


async def remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    found = numbers(query.data, REMOVE)
    if found is None:
        await stale(update, context)
        return
    _ = tr(update, context)
    rt = runtime(context)
    contact = current_contact(update, context)
    try:
        with rt.database.session() as session:
            before = session.get(Contact, found[0])
            enterprise_id = before.enterprise_id if before is not None else None
            person = members.remove_member(session, found[0], actor=contact, now=rt.now())
    except ProgrammeError as error:
        await answer_error(update, context, error)
        return
    await acknowledge(query)
    text = _(
        "Removed: <b>{name}</b>. They no longer have access, and we have told them politely.",
        name=esc(members.name_of(_, person)),
    )
    buttons = None
    if enterprise_id is not None:
        text += "\n" + _(
            "If they joined with a link that went to the wrong people, issue new links: the "
            "current ones then stop working."
        )
        buttons = inline([[(_("🔁 New links"), f"{NEW_LINKS}{enterprise_id}")]])
    await query.edit_message_text(text, reply_markup=buttons)


async def keep(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    await acknowledge(query)
    await query.edit_message_text(_("Nothing changed."))


# -- new links -------------------------------------------------------------------------------


async def ask_new_links(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    found = numbers(query.data, NEW_LINKS)
    if found is None:
        await stale(update, context)
        return
    _ = tr(update, context)
    rt = runtime(context)
    contact = current_contact(update, context)
    try:
        with rt.database.session() as session:
            enterprise = managed_enterprise(session, contact, found[0])
            current = live_invite(session, enterprise_id=found[0], role=Role.WORKER, now=rt.now())
    except ProgrammeError as error:
        await answer_error(update, context, error)
        return
    await acknowledge(query)
    text = "\n".join(
        [
            _("Issue new links for <b>{enterprise}</b>?", enterprise=esc(enterprise.name)),
            _(
                "The current employer and worker links, their codes and their QR codes (printed "
                "ones too) stop working at once. People who have joined stay members."
            ),
        ]
    )
    # The worker link of the moment is part of the button: a second press, or an old card,
    # cannot end the links this press issues.
    renew = f"{RENEW}{found[0]}:{current.id if current else 0}"
    buttons = [[(_("🔁 Yes, new links"), renew), (_("✖ Cancel"), KEEP_LINKS)]]
    await context.bot.send_message(chat_of(update), text, reply_markup=inline(buttons))


async def renew(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    found = numbers(query.data, RENEW, count=2)
    if found is None or len(found) != 2:
        await stale(update, context)
        return
    _ = tr(update, context)
    rt = runtime(context)
    contact = current_contact(update, context)
    try:
        with rt.database.session() as session:
            enterprise = managed_enterprise(session, contact, found[0])
            current = live_invite(session, enterprise_id=found[0], role=Role.WORKER, now=rt.now())
            if (current.id if current else 0) != found[1]:
                invites = None
            else:
                invites = {
                    role: reissue_invite(
                        session,
                        enterprise_id=found[0],
                        role=role,
                        actor=contact,
                        days=rt.settings.invite_days,
                        now=rt.now(),
                    )
                    for role in (Role.EMPLOYER, Role.WORKER)
                }
    except ProgrammeError as error:
        await answer_error(update, context, error)
        return
    await acknowledge(query)
    if invites is None:
        await query.edit_message_text(
            _("These links have changed since. Open 🔗 Links to see the current ones.")
        )
        return
    await query.edit_message_text(
        _(
            "Done: the old links of <b>{enterprise}</b> no longer work. Here are the new ones.",
            enterprise=esc(enterprise.name),
        )
    )
    await show_enterprise_links(update, context, enterprise, invites)


async def keep_links(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    await acknowledge(query)
    await query.edit_message_text(_("Nothing changed: the current links still work."))


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("members", members_command),
        CallbackQueryHandler(show_members, pattern=f"^{MEMBERS}"),
        CallbackQueryHandler(show_provider, pattern=f"^{PROVIDER}"),
        CallbackQueryHandler(ask_remove, pattern=f"^{ASK_REMOVE}"),
        CallbackQueryHandler(remove, pattern=f"^{REMOVE}"),
        CallbackQueryHandler(keep, pattern=f"^{KEEP}"),
        CallbackQueryHandler(ask_new_links, pattern=f"^{NEW_LINKS}"),
        CallbackQueryHandler(renew, pattern=f"^{RENEW}"),
        CallbackQueryHandler(keep_links, pattern=f"^{KEEP_LINKS}$"),
    ]
