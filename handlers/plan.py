"""The action plan in the chat (/plan): staff of the provider, coordinators and the enterprise's
employers see the plan made at the training, add items to it, and move each item along
(done, still in use, no longer in use).

Adding an item is a journey (models/journeys/plan.py), opened by the ➕ button of a plan. Every
item button is checked against the database, so a stale, repeated or foreign button changes
nothing.
"""

from __future__ import annotations

import contextlib

from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.render import grid
from handlers import menu
from handlers.context import Ask, handler
from models import plans
from models.journeys import plan as plan_views
from models.journeys.plan import (
    ITEM,
    MOVE,
    PRAISE,
    SHOW,
    chooser,
    entity_id,
    move_from,
)
from models.programme import ProgrammeError
from models.tables import Contact, Enterprise, PlanItem, Role


async def drop_buttons(ask: Ask) -> None:
    """Takes the buttons off a message; already gone (a double tap) is fine."""
    with contextlib.suppress(BadRequest):
        await ask.edit_actions(None)


async def show_plan(ask: Ask, enterprise_id: int, contact: Contact) -> None:
    with ask.runtime.database.session() as session:
        shown = plan_views.shown_plan(ask._, session, enterprise_id, contact, ask.today)
    if shown is None:
        await ask.send(ask.refusal("plan_not_allowed"))
        return
    text, actions = shown
    await ask.send(text, [[(a.label, a.payload)] for a in actions])


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
        text, actions = chooser(_, session, contact)
    await ask.send(text, grid([(a.label, a.payload) for a in actions], 1) or None)


@handler()
async def plan_chosen(ask: Ask) -> None:
    enterprise_id = entity_id(ask.data, SHOW)
    if enterprise_id is None or ask.person is None:
        await ask.stale()
        return
    await ask.notice()
    await show_plan(ask, enterprise_id, ask.person)


# -- one item: its card and its moves --------------------------------------------------------


async def item_card(ask: Ask, item: PlanItem, hint: str | None = None) -> None:
    _, rt = ask._, ask.runtime
    language = ask.person.language if ask.person else "vi"
    with rt.database.session() as session:
        text, moves = plan_views.item_card(_, session, item, language, ask.today, rt.settings.tz)
    buttons = [[(a.label, a.payload) for a in moves]] if moves else None
    await ask.send(f"{hint}\n\n{text}" if hint else text, buttons)


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
    found = move_from(ask.data)
    if found is None:
        await ask.stale()
        return
    status, item_id = found
    try:
        with rt.database.session() as session:
            item = plans.move(session, item_id, to=status, actor=ask.person, now=ask.now)
    except ProgrammeError as error:
        await ask.refuse(error)
        if error.code == "plan_moved":
            await drop_buttons(ask)
            with rt.database.session() as session:
                current = session.get(PlanItem, item_id)
            if current is not None:
                await item_card(ask, current)
        return
    await ask.notice()
    await drop_buttons(ask)
    await item_card(ask, item, hint=_(PRAISE[item.status]))


# -- wiring ----------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler(menu.PLAN.command, plan_command),
        MessageHandler(menu.button(menu.PLAN), plan_command),
        CallbackQueryHandler(plan_chosen, pattern=f"^{SHOW}"),
        CallbackQueryHandler(item_chosen, pattern=f"^{ITEM}"),
        CallbackQueryHandler(item_moved, pattern=f"^{MOVE}"),
    ]
