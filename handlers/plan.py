"""The action plan in the chat (/plan): staff of the provider, coordinators and the enterprise's
employers see the plan made at the training, add items to it, and move each item along
(done, still in use, no longer in use).

Adding an item is a journey (models/journeys/plan.py), opened by the ➕ button of a plan. Every
item button is checked against the database, so a stale, repeated or foreign button changes
nothing.
"""

from __future__ import annotations

import contextlib
from typing import Any

from sqlmodel import col, select
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.i18n import N_, Translate, format_day
from bot.render import esc, grid
from handlers import menu
from handlers.context import Ask, handler
from models import plans
from models.journeys.plan import ADD, MARK, PREFIX, SHOW, STATUS, entity_id, item_line
from models.programme import ProgrammeError
from models.tables import Contact, Enterprise, PlanItem, PlanStatus, Role

ITEM = PREFIX + "item:"  # the card of item <id>
MOVE = PREFIX + "mv:"  # mv:<status>:<item id>

CHOOSER_LIMIT = 30  # enterprises offered as buttons to staff
BUTTON_TEXT = 40

MOVE_LABEL = {
    PlanStatus.DONE: N_("✅ Done"),
    PlanStatus.IN_USE: N_("👍 Still in use"),
    PlanStatus.ENDED: N_("🚫 No longer in use"),
}


async def drop_buttons(ask: Ask) -> None:
    """Takes the buttons off a message; already gone (a double tap) is fine."""
    with contextlib.suppress(BadRequest):
        await ask.edit_actions(None)


def short(text: str, limit: int = BUTTON_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plan_text(
    _: Translate, enterprise: Enterprise, items: list[PlanItem], counts: plans.PlanCounts,
    language: str, today: Any,
) -> str:  # fmt: skip
    head = _("🎯 <b>Action plan of {enterprise}</b>", enterprise=esc(enterprise.name))
    if not items:
        return (
            head
            + "\n\n"
            + _(
                "No improvements are planned yet. Add the ones decided at the training, one by one."
            )
        )
    summary = _(
        "Done or in use: {done} · planned: {planned} · overdue: {overdue}",
        done=counts.done,
        planned=counts.planned,
        overdue=counts.overdue,
    )
    lines = [item_line(_, item, language, today) for item in items]
    return head + "\n" + summary + "\n\n" + "\n".join(lines)


def plan_buttons(
    _: Translate, enterprise_id: int, items: list[PlanItem]
) -> list[list[tuple[str, str]]]:
    rows = [
        [(f"{MARK[item.status]} {short(item.what)}", f"{ITEM}{item.id}")]
        for item in items
        if item.status != PlanStatus.ENDED
    ]
    return [*rows, [(_("➕ Add a planned improvement"), f"{ADD}{enterprise_id}")]]


async def show_plan(ask: Ask, enterprise_id: int, contact: Contact) -> None:
    _, today = ask._, ask.today
    with ask.runtime.database.session() as session:
        enterprise = session.get(Enterprise, enterprise_id)
        mine = enterprise is not None and plans.may_edit(contact, enterprise)
        if mine:
            items = plans.items_of(session, enterprise_id)
            counts = plans.counts(session, enterprise_id=enterprise_id, today=today)
    if enterprise is None or not mine:
        await ask.send(ask.refusal("plan_not_allowed"))
        return
    text = plan_text(_, enterprise, items, counts, contact.language, today)
    await ask.send(text, plan_buttons(_, enterprise_id, items))


# -- /plan -----------------------------------------------------------------------------------


def plan_refusal(contact: Contact | None) -> str:
    return "join_first" if contact is None else "plan_roles"


@handler(*plans.EDITOR_ROLES, refusal=plan_refusal)
async def plan_command(ask: Ask) -> None:
    _, contact = ask._, ask.person
    assert contact is not None
    if contact.role == Role.EMPLOYER:
        assert contact.enterprise_id is not None
        await show_plan(ask, contact.enterprise_id, contact)
        return
    wanted = entity_id("".join(ask.context.args or []), "")
    if wanted is not None:
        await show_plan(ask, wanted, contact)
        return
    with ask.runtime.database.session() as session:
        query = select(Enterprise).order_by(col(Enterprise.name))
        if contact.role == Role.STAFF:
            query = query.where(Enterprise.provider_id == contact.provider_id)
        enterprises = list(session.exec(query.limit(CHOOSER_LIMIT + 1)))
    if not enterprises:
        await ask.send(_("You have no enterprises yet."))
        return
    buttons = [(short(e.name), f"{SHOW}{e.id}") for e in enterprises[:CHOOSER_LIMIT]]
    text = _("Whose action plan would you like to see?")
    if len(enterprises) > CHOOSER_LIMIT:
        text += "\n" + _("More enterprises than fit here: send /plan followed by the id.")
    await ask.send(text, grid(buttons, 1))


@handler()
async def plan_chosen(ask: Ask) -> None:
    enterprise_id = entity_id(ask.data, SHOW)
    if enterprise_id is None or ask.person is None:
        await ask.stale()
        return
    await ask.notice()
    await show_plan(ask, enterprise_id, ask.person)


# -- one item: its card and its moves --------------------------------------------------------


def next_moves(item: PlanItem) -> list[PlanStatus]:
    return [to for to, sources in plans.MOVES.items() if item.status in sources]


async def item_card(ask: Ask, item: PlanItem, hint: str | None = None) -> None:
    _, rt = ask._, ask.runtime
    language = ask.person.language if ask.person else "vi"
    text = item_line(_, item, language, ask.today)
    if item.status != PlanStatus.PLANNED:
        with rt.database.session() as session:
            text += "\n" + history(_, session, item, language, rt.settings.tz)
    moves = next_moves(item)
    buttons = [[(_(MOVE_LABEL[to]), f"{MOVE}{to}:{item.id}") for to in moves]] if moves else None
    await ask.send(f"{hint}\n\n{text}" if hint else text, buttons)


def history(_: Translate, session: Any, item: PlanItem, language: str, tz: Any) -> str:
    """Who moved the item along, and when."""
    lines = []
    for at, by, label in (
        (item.done_at, item.done_by_id, STATUS[PlanStatus.DONE]),
        (item.in_use_at, item.in_use_by_id, STATUS[PlanStatus.IN_USE]),
        (item.ended_at, item.ended_by_id, STATUS[PlanStatus.ENDED]),
    ):
        if at is None:
            continue
        person = session.get(Contact, by) if by else None
        lines.append(
            "    "
            + _(
                "{status}: {day}, {who}",
                status=_(label),
                day=format_day(at.astimezone(tz).date(), language),
                who=esc(person.display_name or "—") if person else "—",
            )
        )
    if item.improvement_id:
        lines.append("    " + _("Reported as improvement #{id}", id=item.improvement_id))
    return "\n".join(lines)


@handler()
async def item_chosen(ask: Ask) -> None:
    item_id = entity_id(ask.data, ITEM)
    with ask.runtime.database.session() as session:
        item = session.get(PlanItem, item_id) if item_id is not None else None
        allowed = item is not None and plans.may_edit(
            ask.person, session.get(Enterprise, item.enterprise_id)
        )
    if item is None:
        await ask.refuse("plan_unknown")
        return
    if not allowed:
        await ask.refuse("plan_not_allowed")
        return
    await ask.notice()
    await item_card(ask, item)


@handler()
async def item_moved(ask: Ask) -> None:
    _, rt = ask._, ask.runtime
    status, _sep, item_text = ask.data.removeprefix(MOVE).partition(":")
    if status not in {str(s) for s in plans.MOVES} or not item_text.isdigit():
        await ask.stale()
        return
    try:
        with rt.database.session() as session:
            item = plans.move(
                session, int(item_text), to=PlanStatus(status), actor=ask.person, now=ask.now
            )
    except ProgrammeError as error:
        await ask.refuse(error)
        if error.code == "plan_moved":
            await drop_buttons(ask)
            with rt.database.session() as session:
                current = session.get(PlanItem, int(item_text))
            if current is not None:
                await item_card(ask, current)
        return
    await ask.notice()
    await drop_buttons(ask)
    praise = {
        PlanStatus.DONE: _("Well done! The item is marked as done."),
        PlanStatus.IN_USE: _("Good to hear it is still in use."),
        PlanStatus.ENDED: _("Noted: no longer in use. Perhaps your provider can help find a way."),
    }[item.status]
    await item_card(ask, item, hint=praise)


# -- wiring ----------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler(menu.PLAN.command, plan_command),
        MessageHandler(menu.button(menu.PLAN), plan_command),
        CallbackQueryHandler(plan_chosen, pattern=f"^{SHOW}"),
        CallbackQueryHandler(item_chosen, pattern=f"^{ITEM}"),
        CallbackQueryHandler(item_moved, pattern=f"^{MOVE}"),
    ]
