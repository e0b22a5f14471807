"""The action plan in the chat (/plan): staff of the provider, coordinators and the enterprise's
employers see the plan made at the training, add items to it, and move each item along
(done, still in use, no longer in use).

Adding an item is five questions, one at a time: area (buttons), what, checkpoint (optional),
who, due day. Each answer is checked with the domain's rules (models/plans.py) and a refused
answer keeps what was given before; the item is written once the due day is accepted. Every
item button is checked against the database, so a stale, repeated or foreign button changes
nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from sqlmodel import col, select
from telegram import CallbackQuery, Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import N_, Translate, format_day, format_number
from bot.render import acknowledge, esc, grid, inline
from bot.runtime import current_contact, runtime, tr, user_data
from handlers import menu
from handlers.common import cancel
from models import content, plans
from models.programme import ProgrammeError
from models.tables import Contact, Enterprise, PlanItem, PlanStatus, Role
from scheduler.notices import PLAN_SHOW

PREFIX = "plan:"
SHOW = PLAN_SHOW  # the plan of enterprise <id>; the scheduler's reminders carry it too
ADD = PREFIX + "add:"  # add an item to enterprise <id>
AREA = PREFIX + "area:"
NO_CHECKPOINT = PREFIX + "nocp"
ITEM = PREFIX + "item:"  # the card of item <id>
MOVE = PREFIX + "mv:"  # mv:<status>:<item id>

AREA_STATE = "plan.area"
WHAT_STATE = "plan.what"
CHECKPOINT_STATE = "plan.checkpoint"
WHO_STATE = "plan.who"
DUE_STATE = "plan.due"

DATA = "plan"
CHOOSER_LIMIT = 30  # enterprises offered as buttons to staff
BUTTON_TEXT = 40

STATUS = {
    PlanStatus.PLANNED: N_("planned"),
    PlanStatus.DONE: N_("done"),
    PlanStatus.IN_USE: N_("still in use"),
    PlanStatus.ENDED: N_("no longer in use"),
}
MARK = {PlanStatus.PLANNED: "⏳", PlanStatus.DONE: "✅", PlanStatus.IN_USE: "👍",
        PlanStatus.ENDED: "🚫"}  # fmt: skip
MOVE_LABEL = {
    PlanStatus.DONE: N_("✅ Done"),
    PlanStatus.IN_USE: N_("👍 Still in use"),
    PlanStatus.ENDED: N_("🚫 No longer in use"),
}


async def drop_buttons(query: CallbackQuery) -> None:
    """Takes the buttons off a message; already gone (a double tap) is fine."""
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)


def data(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    return user_data(context).setdefault(DATA, {})  # type: ignore[no-any-return]


def error_text(_: Translate, error: ProgrammeError, language: str) -> str:
    details = error.details
    if error.code in ("what_too_long", "who_too_long", "checkpoint_too_long"):
        return _(
            "That is too long: {length} characters, at most {limit} fit. Please shorten it.",
            length=format_number(details.get("length", 0), language),
            limit=format_number(details.get("limit", 0), language),
        )
    if error.code == "due_before_training":
        return _(
            "That day is before the training ({day}). Please type a day after it.",
            day=format_day(details["training"], language),
        )
    texts = {
        "what_too_short": _(
            "That is a little short. Please write at least {minimum} characters.",
            minimum=details.get("limit", plans.WHAT_MIN),
        ),
        "who_too_short": _(
            "Please write who does it: a name or a role, at least {minimum} characters.",
            minimum=details.get("limit", plans.WHO_MIN),
        ),
        "due_invalid": _("Please type a day, for example 30/06/2027 or 30/06."),
        "due_too_far": _("That is more than three years ahead. Please choose a nearer day."),
        "unknown_enterprise": _("This enterprise no longer exists."),
        "unknown_area": _("Please choose an area with the buttons."),
        "not_allowed": _("Sorry, this plan is not yours to change."),
        "plan_unknown": _("This plan item no longer exists."),
        "plan_moved": _("This item has already moved on. Here it is as it stands now."),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


def entity_id(raw: str | None, prefix: str) -> int | None:
    raw = raw or ""
    text = raw.removeprefix(prefix)
    return int(text) if raw.startswith(prefix) and text.isdigit() and len(text) < 12 else None


def short(text: str, limit: int = BUTTON_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_line(_: Translate, item: PlanItem, language: str, today: Any) -> str:
    area = content.area(item.area_code)
    late = " " + _("(overdue)") if plans.is_overdue(item, today) else ""
    checkpoint = f" [{esc(item.checkpoint)}]" if item.checkpoint else ""
    return (
        f"{MARK[item.status]} <b>{esc(item.what)}</b>{checkpoint}\n    "
        + _(
            "{area} · {who} · by {day} · {status}",
            area=area.label(language) if area else item.area_code,
            who=esc(item.who),
            day=format_day(item.due_on, language),
            status=_(STATUS[item.status]),
        )
        + late
    )


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


async def show_plan(
    update: Update, context: ContextTypes.DEFAULT_TYPE, enterprise_id: int, contact: Contact
) -> None:
    _ = tr(update, context)
    rt = runtime(context)
    today = rt.today()
    with rt.database.session() as session:
        enterprise = session.get(Enterprise, enterprise_id)
        if enterprise is None or not plans.may_edit(contact, enterprise):
            await reply(update, context, _("Sorry, this plan is not yours to change."))
            return
        items = plans.items_of(session, enterprise_id)
        counts = plans.counts(session, enterprise_id=enterprise_id, today=today)
    text = plan_text(_, enterprise, items, counts, contact.language, today)
    await reply(update, context, text, plan_buttons(_, enterprise_id, items))


async def reply(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    buttons: list[list[tuple[str, str]]] | None = None,
) -> None:
    assert update.effective_chat is not None
    markup = inline(buttons) if buttons else None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


# -- /plan -----------------------------------------------------------------------------------


async def plan_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _ = tr(update, context)
    contact = current_contact(update, context)
    if contact is None:
        await reply(
            update,
            context,
            _(
                "To join, please open the invite link or scan the QR code that your OSH service "
                "provider gave you."
            ),
        )
        return
    if contact.role not in plans.EDITOR_ROLES:
        await reply(
            update, context, _("Sorry, the action plan is only for employers and their providers.")
        )
        return
    if contact.role == Role.EMPLOYER:
        assert contact.enterprise_id is not None
        await show_plan(update, context, contact.enterprise_id, contact)
        return
    wanted = entity_id("".join(context.args or []), "")
    if wanted is not None:
        await show_plan(update, context, wanted, contact)
        return
    with runtime(context).database.session() as session:
        query = select(Enterprise).order_by(col(Enterprise.name))
        if contact.role == Role.STAFF:
            query = query.where(Enterprise.provider_id == contact.provider_id)
        enterprises = list(session.exec(query.limit(CHOOSER_LIMIT + 1)))
    if not enterprises:
        await reply(update, context, _("You have no enterprises yet."))
        return
    buttons = [(short(e.name), f"{SHOW}{e.id}") for e in enterprises[:CHOOSER_LIMIT]]
    text = _("Whose action plan would you like to see?")
    if len(enterprises) > CHOOSER_LIMIT:
        text += "\n" + _("More enterprises than fit here: send /plan followed by the id.")
    await reply(update, context, text, grid(buttons, 1))


async def plan_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    contact = current_contact(update, context)
    enterprise_id = entity_id(query.data, SHOW)
    _ = tr(update, context)
    if enterprise_id is None or contact is None:
        await acknowledge(query, _("This button is no longer active."))
        return
    await acknowledge(query)
    await show_plan(update, context, enterprise_id, contact)


# -- one item: its card and its moves --------------------------------------------------------


def next_moves(item: PlanItem) -> list[PlanStatus]:
    return [to for to, sources in plans.MOVES.items() if item.status in sources]


async def item_card(
    update: Update, context: ContextTypes.DEFAULT_TYPE, item: PlanItem, hint: str | None = None
) -> None:
    _ = tr(update, context)
    contact = current_contact(update, context)
    language = contact.language if contact else "vi"
    rt = runtime(context)
    text = item_line(_, item, language, rt.today())
    if item.status != PlanStatus.PLANNED:
        with rt.database.session() as session:
            text += "\n" + history(_, session, item, language, rt.settings.tz)
    moves = next_moves(item)
    buttons = [[(_(MOVE_LABEL[to]), f"{MOVE}{to}:{item.id}") for to in moves]] if moves else None
    await reply(update, context, f"{hint}\n\n{text}" if hint else text, buttons)


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


async def item_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    item_id = entity_id(query.data, ITEM)
    with runtime(context).database.session() as session:
        item = session.get(PlanItem, item_id) if item_id is not None else None
        allowed = item is not None and plans.may_edit(
            contact, session.get(Enterprise, item.enterprise_id)
        )
    if item is None:
        await acknowledge(query, _("This plan item no longer exists."), show_alert=True)
        return
    if not allowed:
        await acknowledge(query, _("Sorry, this plan is not yours to change."), show_alert=True)
        return
    await acknowledge(query)
    await item_card(update, context, item)


async def item_moved(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    raw = (query.data or "").removeprefix(MOVE)
    status, _sep, item_text = raw.partition(":")
    contact = current_contact(update, context)
    rt = runtime(context)
    language = contact.language if contact else "vi"
    if status not in {str(s) for s in plans.MOVES} or not item_text.isdigit():
        await acknowledge(query, _("This button is no longer active."))
        return
    try:
        with rt.database.session() as session:
            item = plans.move(
                session, int(item_text), to=PlanStatus(status), actor=contact, now=rt.now()
            )
    except ProgrammeError as error:
        await acknowledge(query, error_text(_, error, language), show_alert=True)
        if error.code == "plan_moved":
            await drop_buttons(query)
            with rt.database.session() as session:
                current = session.get(PlanItem, int(item_text))
            if current is not None:
                await item_card(update, context, current)
        return
    await acknowledge(query)
    await drop_buttons(query)
    praise = {
        PlanStatus.DONE: _("Well done! The item is marked as done."),
        PlanStatus.IN_USE: _("Good to hear it is still in use."),
        PlanStatus.ENDED: _("Noted: no longer in use. Perhaps your provider can help find a way."),
    }[item.status]
    await item_card(update, context, item, hint=praise)


# -- adding an item --------------------------------------------------------------------------


async def add_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    enterprise_id = entity_id(query.data, ADD)
    with runtime(context).database.session() as session:
        enterprise = session.get(Enterprise, enterprise_id) if enterprise_id else None
        allowed = plans.may_edit(contact, enterprise)
        name = enterprise.name if enterprise else ""
    if not allowed:
        await acknowledge(query, _("Sorry, this plan is not yours to change."), show_alert=True)
        return ConversationHandler.END
    await acknowledge(query)
    user_data(context)[DATA] = {"enterprise": enterprise_id}
    return await ask_area(update, context, name)


async def ask_area(
    update: Update, context: ContextTypes.DEFAULT_TYPE, name: str | None = None
) -> str:
    _ = tr(update, context)
    buttons = [(a.label(language(update, context)), AREA + a.code) for a in content.areas()]
    head = _("New item for the plan of {enterprise}.", enterprise=esc(name)) + "\n" if name else ""
    await reply(
        update,
        context,
        head + _("Which technical area is it about? (/cancel to stop)"),
        grid(buttons, 2),
    )
    return AREA_STATE


async def area_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    code = (query.data or "").removeprefix(AREA)
    if content.area(code) is None or "enterprise" not in data(context):
        await acknowledge(query, _("This button is no longer active."))
        return AREA_STATE if "enterprise" in data(context) else ConversationHandler.END
    await acknowledge(query)
    await drop_buttons(query)
    data(context)["area"] = code
    await reply(
        update,
        context,
        _(
            "What is planned? In one sentence, for example “Put the paint cans on a shelf "
            "with a bund”. ({minimum} to {maximum} characters)",
            minimum=plans.WHAT_MIN,
            maximum=plans.WHAT_MAX,
        ),
    )
    return WHAT_STATE


async def _take(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    field: str,
    clean: Callable[[str | None], str | None],
) -> bool:
    """Keeps the typed answer, cleaned, in the draft; or says what is wrong with it (the
    step is asked again). Whether it was kept."""
    message = update.effective_message
    assert message is not None
    try:
        data(context)[field] = clean(message.text)
    except ProgrammeError as error:
        _ = tr(update, context)
        await message.reply_text(error_text(_, error, language(update, context)))
        return False
    return True


async def what_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    if not await _take(update, context, "what", plans.clean_what):
        return WHAT_STATE
    _ = tr(update, context)
    await reply(
        update,
        context,
        _(
            "Is there a checkpoint for it, a short code or note from the checklist (for "
            "example “CP 12”)? Type it, or press Skip."
        ),
        [[(_("Skip"), NO_CHECKPOINT)]],
    )
    return CHECKPOINT_STATE


async def checkpoint_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _ = tr(update, context)
    if update.callback_query is not None:
        await acknowledge(update.callback_query)
        await drop_buttons(update.callback_query)
        data(context)["checkpoint"] = None
    elif not await _take(update, context, "checkpoint", plans.clean_checkpoint):
        return CHECKPOINT_STATE
    await reply(
        update,
        context,
        _("Who will do it? A name or a role, for example “Mr Hùng, workshop lead”."),
    )
    return WHO_STATE


async def who_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    if not await _take(update, context, "who", plans.clean_who):
        return WHO_STATE
    _ = tr(update, context)
    await reply(update, context, _("By when? Type the day, for example 30/06/2027."))
    return DUE_STATE


async def due_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    rt = runtime(context)
    contact = current_contact(update, context)
    draft = data(context)
    lang = language(update, context)
    if not {"enterprise", "area", "what", "who"} <= draft.keys():
        user_data(context).pop(DATA, None)
        return await cancel(update, context)
    try:
        due = plans.parse_due(message.text, today=rt.today())
        with rt.database.session() as session:
            item = plans.add_item(
                session,
                enterprise_id=draft["enterprise"],
                draft=plans.ItemDraft(
                    area_code=draft["area"],
                    what=draft["what"],
                    who=draft["who"],
                    due_on=due,
                    checkpoint=draft.get("checkpoint"),
                ),
                actor=contact,
                today=rt.today(),
                now=rt.now(),
            )
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, lang))
        if error.code.startswith("due_"):
            return DUE_STATE
        user_data(context).pop(DATA, None)
        return ConversationHandler.END
    user_data(context).pop(DATA, None)
    await reply(
        update,
        context,
        _("Added to the plan:") + "\n" + item_line(_, item, lang, rt.today()),
        [
            [(_("➕ Add another"), f"{ADD}{item.enterprise_id}")],
            [(_("🎯 See the plan"), f"{SHOW}{item.enterprise_id}")],
        ],
    )
    return ConversationHandler.END


def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    contact = current_contact(update, context)
    return contact.language if contact else runtime(context).settings.default_language


async def text_please(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(_("Please answer with text."))


async def buttons_please(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(_("Please choose an area with the buttons."))


async def leave(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    user_data(context).pop(DATA, None)
    return await cancel(update, context)


def stay(state: str, answer: Any) -> Any:
    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        await answer(update, context)
        return state

    return handler


async def stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button of this journey from an earlier message, pressed mid-way: it changes nothing."""
    assert update.callback_query is not None
    _ = tr(update, context)
    await acknowledge(update.callback_query, _("This button is no longer active."))


# -- wiring ----------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    not_command = ~filters.COMMAND & ~menu.any_button()
    typed = filters.TEXT & not_command
    other = not_command & ~filters.TEXT
    ours = f"^{PREFIX}"

    def text_state(state: str, answer: Any) -> list:  # type: ignore[type-arg]
        return [
            MessageHandler(typed, answer),
            MessageHandler(other, stay(state, text_please)),
            CallbackQueryHandler(stay(state, stale), pattern=ours),
        ]

    conversation = ConversationHandler(
        name="plan",
        persistent=True,
        allow_reentry=True,
        entry_points=[CallbackQueryHandler(add_start, pattern=f"^{ADD}")],
        states={
            AREA_STATE: [
                CallbackQueryHandler(area_given, pattern=f"^{AREA}"),
                MessageHandler(not_command, stay(AREA_STATE, buttons_please)),
                CallbackQueryHandler(stay(AREA_STATE, stale), pattern=ours),
            ],
            WHAT_STATE: text_state(WHAT_STATE, what_given),
            CHECKPOINT_STATE: [
                CallbackQueryHandler(checkpoint_given, pattern=f"^{NO_CHECKPOINT}$"),
                *text_state(CHECKPOINT_STATE, checkpoint_given),
            ],
            WHO_STATE: text_state(WHO_STATE, who_given),
            DUE_STATE: text_state(DUE_STATE, due_given),
        },
        fallbacks=[CommandHandler("cancel", leave)],
    )
    return [
        conversation,
        CommandHandler(menu.PLAN.command, plan_command),
        MessageHandler(menu.button(menu.PLAN), plan_command),
        CallbackQueryHandler(plan_chosen, pattern=f"^{SHOW}"),
        CallbackQueryHandler(item_chosen, pattern=f"^{ITEM}"),
        CallbackQueryHandler(item_moved, pattern=f"^{MOVE}"),
    ]
