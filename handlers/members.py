"""Members in Telegram: who joined an enterprise, removing someone, and new links after a leak.

Buttons and /members only, no conversation: 🏭 My enterprises → 🔗 Links → 👥 Members or
🔁 New links; the 🚫 button of the notice staff get when someone joins (models/members.py);
/members for staff (their enterprises) and coordinators (providers → their staff, partners and
enterprises). Every press is checked against the database: another provider's staff are
refused, a removed person or a replaced link answers that it is gone.
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.i18n import Translate, format_day, shorten
from bot.render import esc
from handlers.admin import show_enterprise_links
from handlers.context import Ask, handler
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


def error_text(_: Translate, error: ProgrammeError, language: str = "") -> str:
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


# -- /members --------------------------------------------------------------------------------


@handler(texts=error_text)
async def members_command(ask: Ask) -> None:
    _, contact = ask._, ask.person
    with ask.runtime.database.session() as session:
        if contact is not None and contact.role == Role.STAFF and contact.provider_id:
            rows = [(e.id, e.name) for e in enterprises_of(session, contact.provider_id)]
            prefix, head = MEMBERS, _("<b>👥 Members</b>: which enterprise?")
        elif contact is not None and contact.role == Role.COORDINATOR:
            rows = [(p.id, p.name) for p in providers(session)]
            prefix, head = PROVIDER, _("<b>👥 Members</b>: which provider?")
        else:
            rows = None
    if rows is None:
        await ask.refuse("not_allowed")
        return
    if not rows:
        await ask.reply(_("There is nobody to show yet."))
        return
    buttons = [[(shorten(name), f"{prefix}{key}")] for key, name in rows[:ENTERPRISE_BUTTONS]]
    await ask.reply(head, buttons)


# -- an enterprise's members -----------------------------------------------------------------


@handler(texts=error_text)
async def show_members(ask: Ask) -> None:
    found = numbers(ask.data, MEMBERS, count=2)
    if found is None:
        await ask.stale()
        return
    enterprise_id, page = found[0], (found[1] if len(found) > 1 else 0)
    _, language, tz = ask._, ask.language, ask.runtime.settings.tz
    try:
        with ask.runtime.database.session() as session:
            enterprise = managed_enterprise(session, ask.person, enterprise_id)
            people = members.members_of(session, enterprise_id)
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    await ask.notice()
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
        day = format_day(person.registered_at.astimezone(tz).date(), language)
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
    if len(found) > 1 and ask.query is not None and ask.query.message is not None:
        # Paging edits the list in place; opening it from a links card sends a new message.
        await ask.edit(text, buttons)
    else:
        await ask.send(text, buttons)


# -- a provider's people (coordinators) ------------------------------------------------------


@handler(texts=error_text)
async def show_provider(ask: Ask) -> None:
    found = numbers(ask.data, PROVIDER)
    if found is None:
        await ask.stale()
        return
    _, language, tz = ask._, ask.language, ask.runtime.settings.tz
    if ask.person is None or ask.person.role != Role.COORDINATOR:
        await ask.refuse("not_allowed")
        return
    with ask.runtime.database.session() as session:
        provider = session.get(Provider, found[0])
        people = members.people_of(session, found[0]) if provider else []
        enterprises = enterprises_of(session, found[0]) if provider else []
    if provider is None:
        await ask.refuse("unknown_provider")
        return
    await ask.notice()
    lines = [_("<b>👥 {provider}</b>", provider=esc(provider.name)), ""]
    if not people:
        lines.append(_("No staff or partners have joined yet."))
    for person in people[:PAGE]:
        day = format_day(person.registered_at.astimezone(tz).date(), language)
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
    await ask.send("\n".join(lines), buttons)


# -- removing someone ------------------------------------------------------------------------


@handler(texts=error_text)
async def ask_remove(ask: Ask) -> None:
    found = numbers(ask.data, ASK_REMOVE)
    if found is None:
        await ask.stale()
        return
    _ = ask._
    try:
        with ask.runtime.database.session() as session:
            person = members.removable(session, found[0], actor=ask.person)
            organisation = organisation_name(session, person) or ""
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    await ask.notice()
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
    await ask.send(text, buttons)


@handler(texts=error_text)
async def remove(ask: Ask) -> None:
    found = numbers(ask.data, REMOVE)
    if found is None:
        await ask.stale()
        return
    _ = ask._
    try:
        with ask.runtime.database.session() as session:
            before = session.get(Contact, found[0])
            enterprise_id = before.enterprise_id if before is not None else None
            person = members.remove_member(session, found[0], actor=ask.person, now=ask.now)
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    await ask.notice()
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
        buttons = [[(_("🔁 New links"), f"{NEW_LINKS}{enterprise_id}")]]
    await ask.edit(text, buttons)


@handler()
async def keep(ask: Ask) -> None:
    await ask.notice()
    await ask.edit(ask._("Nothing changed."))


# -- new links -------------------------------------------------------------------------------


@handler(texts=error_text)
async def ask_new_links(ask: Ask) -> None:
    found = numbers(ask.data, NEW_LINKS)
    if found is None:
        await ask.stale()
        return
    _ = ask._
    try:
        with ask.runtime.database.session() as session:
            enterprise = managed_enterprise(session, ask.person, found[0])
            current = live_invite(session, enterprise_id=found[0], role=Role.WORKER, now=ask.now)
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    await ask.notice()
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
    await ask.send(text, [[(_("🔁 Yes, new links"), renew), (_("✖ Cancel"), KEEP_LINKS)]])


@handler(texts=error_text)
async def renew(ask: Ask) -> None:
    found = numbers(ask.data, RENEW, count=2)
    if found is None or len(found) != 2:
        await ask.stale()
        return
    _, rt, contact = ask._, ask.runtime, ask.person
    try:
        with rt.database.session() as session:
            enterprise = managed_enterprise(session, contact, found[0])
            current = live_invite(session, enterprise_id=found[0], role=Role.WORKER, now=ask.now)
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
                        now=ask.now,
                    )
                    for role in (Role.EMPLOYER, Role.WORKER)
                }
    except ProgrammeError as error:
        await ask.refuse(error)
        return
    await ask.notice()
    if invites is None:
        await ask.edit(_("These links have changed since. Open 🔗 Links to see the current ones."))
        return
    await ask.edit(
        _(
            "Done: the old links of <b>{enterprise}</b> no longer work. Here are the new ones.",
            enterprise=esc(enterprise.name),
        )
    )
    await show_enterprise_links(ask, enterprise, invites)


@handler()
async def keep_links(ask: Ask) -> None:
    await ask.notice()
    await ask.edit(ask._("Nothing changed: the current links still work."))


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
