"""Adding an item to an enterprise's action plan, as a form (steps.py): area (actions), what,
checkpoint (typed, or Skip), who, due day; the item is written once the due day is accepted.

The action "plan:add:<enterprise>" opens it, for staff of the enterprise's provider,
coordinators and the enterprise's employers; who may is checked against the database at every
step. Each answer is read with the domain's rules (models/plans.py) and a refused answer keeps
what was given before. The plan itself, its items and their moves are not a conversation: they
are one-shot actions of the channels (handlers/plan.py: buttons; bot/zalo/practices.py: numbered
choices), which show the plan and its items with the views here (`plan_text`, `item_card`).
"""

from __future__ import annotations

from datetime import date, tzinfo

from sqlmodel import Session, col, select

from bot.i18n import N_, Translate, format_day
from models import content, plans
from models.journeys.core import Action, Input, Outcome, Reply, Turn
from models.journeys.errors import error_text
from models.journeys.steps import ENDS, GOES_ON, Form, Step, choice, typed
from models.programme import ProgrammeError
from models.tables import Contact, Enterprise, PlanItem, PlanStatus, Role
from models.text import esc

PREFIX = "plan:"
SHOW = plans.SHOW_DATA  # the plan of enterprise <id> (handlers/plan.py)
ADD = PREFIX + "add:"  # add an item to enterprise <id>
ITEM = PREFIX + "item:"  # the card of item <id>
MOVE = PREFIX + "mv:"  # mv:<status>:<item id>
AREA = PREFIX + "area:"
NO_CHECKPOINT = PREFIX + "nocp"

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
PRAISE = {
    PlanStatus.DONE: N_("Well done! The item is marked as done."),
    PlanStatus.IN_USE: N_("Good to hear it is still in use."),
    PlanStatus.ENDED: N_("Noted: no longer in use. Perhaps your provider can help find a way."),
}
BUTTON_TEXT = 40
CHOOSER_LIMIT = 30  # enterprises offered to staff as a choice


def entity_id(raw: str | None, prefix: str) -> int | None:
    raw = raw or ""
    text = raw.removeprefix(prefix)
    return int(text) if raw.startswith(prefix) and text.isdigit() and len(text) < 12 else None


def item_line(_: Translate, item: PlanItem, language: str, today: date) -> str:
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


# -- the plan and its items, as the channels show them ---------------------------------------


def short(text: str, limit: int = BUTTON_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plan_text(
    _: Translate, enterprise: Enterprise, items: list[PlanItem], counts: plans.PlanCounts,
    language: str, today: date,
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


def shown_plan(
    _: Translate, session: Session, enterprise_id: int, contact: Contact, today: date
) -> tuple[str, list[Action]] | None:
    """The enterprise's plan in the person's language, and its actions; None when it is not
    theirs to see (or gone)."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None or not plans.may_edit(contact, enterprise):
        return None
    items = plans.items_of(session, enterprise_id)
    counts = plans.counts(session, enterprise_id=enterprise_id, today=today)
    text = plan_text(_, enterprise, items, counts, contact.language, today)
    return text, plan_actions(_, enterprise_id, items)


def chooser(_: Translate, session: Session, contact: Contact) -> tuple[str, list[Action]]:
    """Whose plan staff (their provider's enterprises) or a coordinator (every one) may see,
    by name; beyond CHOOSER_LIMIT, "/plan <id>" is the way."""
    query = select(Enterprise).order_by(col(Enterprise.name))
    if contact.role == Role.STAFF:
        query = query.where(Enterprise.provider_id == contact.provider_id)
    enterprises = list(session.exec(query.limit(CHOOSER_LIMIT + 1)))
    if not enterprises:
        return _("You have no enterprises yet."), []
    text = _("Whose action plan would you like to see?")
    if len(enterprises) > CHOOSER_LIMIT:
        text += "\n" + _("More enterprises than fit here: send /plan followed by the id.")
    return text, [Action(short(e.name), f"{SHOW}{e.id}") for e in enterprises[:CHOOSER_LIMIT]]


def plan_actions(_: Translate, enterprise_id: int, items: list[PlanItem]) -> list[Action]:
    """An item's card for each item still moving, then a new item (this form)."""
    return [
        *(
            Action(f"{MARK[item.status]} {short(item.what)}", f"{ITEM}{item.id}")
            for item in items
            if item.status != PlanStatus.ENDED
        ),
        Action(_("➕ Add a planned improvement"), f"{ADD}{enterprise_id}"),
    ]


def next_moves(item: PlanItem) -> list[PlanStatus]:
    return [to for to, sources in plans.MOVES.items() if item.status in sources]


def item_card(
    _: Translate, session: Session, item: PlanItem, language: str, today: date, tz: tzinfo
) -> tuple[str, list[Action]]:
    """One item as it stands, who moved it along and when, and the moves it may make next."""
    text = item_line(_, item, language, today)
    if item.status != PlanStatus.PLANNED:
        text += "\n" + history(_, session, item, language, tz)
    moves = [Action(_(MOVE_LABEL[to]), f"{MOVE}{to}:{item.id}") for to in next_moves(item)]
    return text, moves


def history(_: Translate, session: Session, item: PlanItem, language: str, tz: tzinfo) -> str:
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


def move_from(payload: str) -> tuple[PlanStatus, int] | None:
    """The move and the item a move's action names; None when it means nothing."""
    status, _sep, item_text = payload.removeprefix(MOVE).partition(":")
    if status not in {str(s) for s in plans.MOVES} or not item_text.isdigit():
        return None
    return PlanStatus(status), int(item_text)


# -- the steps -------------------------------------------------------------------------------


def enterprise_of(turn: Turn) -> Enterprise | None:
    return turn.session.get(Enterprise, turn.data.get("enterprise"))


def area_prompt(turn: Turn) -> Reply:
    _ = turn._
    enterprise = enterprise_of(turn)
    buttons = [Action(a.label(turn.language), AREA + a.code) for a in content.areas()]
    head = ""
    if enterprise is not None:
        head = _("New item for the plan of {enterprise}.", enterprise=esc(enterprise.name)) + "\n"
    return Reply(
        head + _("Which technical area is it about? (/cancel to stop)"),
        [buttons[i : i + 2] for i in range(0, len(buttons), 2)],
    )


def what_prompt(turn: Turn) -> Reply:
    return Reply(
        turn._(
            "What is planned? In one sentence, for example “Put the paint cans on a shelf "
            "with a bund”. ({minimum} to {maximum} characters)",
            minimum=plans.WHAT_MIN,
            maximum=plans.WHAT_MAX,
        )
    )


def checkpoint_prompt(turn: Turn) -> Reply:
    _ = turn._
    text = _(
        "Is there a checkpoint for it, a short code or note from the checklist (for "
        "example “CP 12”)? Type it, or press Skip."
    )
    return Reply(text, [[Action(_("Skip"), NO_CHECKPOINT)]])


def checkpoint(turn: Turn, given: Input) -> str | None:
    if given.payload == NO_CHECKPOINT:
        return None
    return typed(plans.clean_checkpoint)(turn, given)


def due_day(turn: Turn, given: Input) -> str:
    def read(text: str) -> str:
        enterprise = enterprise_of(turn)
        if enterprise is None:
            raise ProgrammeError("unknown_enterprise")
        day = plans.parse_due(text, today=turn.today)
        return plans.check_due(day, enterprise=enterprise, today=turn.today).isoformat()

    return typed(read)(turn, given)


def refusal(turn: Turn, *, pressed: bool) -> Outcome:
    text = error_text(turn._, ProgrammeError("plan_not_allowed"), turn.language)
    return Outcome(notice=text, alert=True) if pressed else Outcome().say(text)


class AddPlanItem(Form):
    name = "plan"
    resumable = False
    steps = (
        Step("area", area_prompt,
             choice(AREA, lambda code: content.area(code) is not None, wrong="unknown_area")),
        Step("what", what_prompt, typed(plans.clean_what)),
        Step("checkpoint", checkpoint_prompt, checkpoint),
        Step("who", lambda turn: Reply(turn._(
            "Who will do it? A name or a role, for example “Mr Hùng, workshop lead”.")),
             typed(plans.clean_who)),
        Step("due", lambda turn: Reply(turn._("By when? Type the day, for example 30/06/2027.")),
             due_day),
    )  # fmt: skip

    def starts(self, entry: Input) -> bool:
        return (entry.payload or "").startswith(ADD)

    def owns(self, payload: str) -> bool:
        return payload.startswith((ADD, AREA)) or payload == NO_CHECKPOINT

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        turn.data["enterprise"] = entity_id(entry.payload, ADD)
        if not plans.may_edit(turn.contact, enterprise_of(turn)):
            return refusal(turn, pressed=entry.pressed)
        return None

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        # Whoever lost the right to this plan mid-way (removed, or moved to another provider)
        # goes no further.
        if "step" in turn.data and not plans.may_edit(turn.contact, enterprise_of(turn)):
            return refusal(turn, pressed=given.pressed), ENDS
        return super().handle(turn, given)

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        _, data = turn._, turn.data
        draft = plans.ItemDraft(
            area_code=data["area"], what=data["what"], who=data["who"],
            due_on=date.fromisoformat(data["due"]), checkpoint=data["checkpoint"],
        )  # fmt: skip
        try:
            with turn.session.begin_nested():
                item = plans.add_item(
                    turn.session, enterprise_id=data["enterprise"], draft=draft,
                    actor=turn.contact, today=turn.today, now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            outcome.say(error_text(_, error, turn.language))
            if error.code.startswith("due_"):
                # The training day moved meanwhile: the day is asked again.
                data.pop("due")
                data["step"] = "due"
                return outcome, GOES_ON
            return outcome, ENDS
        text = _("Added to the plan:") + "\n" + item_line(_, item, turn.language, turn.today)
        actions = [
            [Action(_("➕ Add another"), f"{ADD}{item.enterprise_id}")],
            [Action(_("🎯 See the plan"), f"{SHOW}{item.enterprise_id}")],
        ]
        return outcome.say(text, actions), ENDS


ADD_PLAN_ITEM = AddPlanItem()
