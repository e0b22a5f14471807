"""Employers and workers report an improvement: the report journey.

Questions one at a time, in the order of `QUESTIONS`: area, the kind of improvement in that
area (optional), what was improved, photo before, photo after, cost, workers who benefit, risk
before and after (likelihood × severity), sharing; then a summary card with Confirm, Edit (one
field, then back to the card) and Cancel. Each answer is written to the database at once
(models/improvements.py), so a restart resumes at the same question and an abandoned draft
waits for the reporter; /cancel deletes the draft.
A report that was sent but not reviewed yet can be changed from /myreports the same way.

A question is one `Question`: its prompt and actions, how an answer is read, and how it is
stored. Adding a question is a step in models/improvements.py (`Step`, its column, its setter)
and one `Question` here. Besides the questions the journey has a few positions of its own:
continue or restart an unfinished report, which planned item it carries out, a number of
workers above the workforce to confirm, the severity half of a risk, whether shared photos
show people, the summary card and its field menu. The draft holds only which report is in hand
and those positions, never an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.i18n import N_, Translate, format_day, format_number, format_vnd
from models import content, media, plans
from models import improvements as imp
from models.improvements import CostBand, PhotoSlot, RiskWhen, Step
from models.journeys.core import Action, Input, Outcome, Reply, Turn
from models.journeys.state import channel_of
from models.notices import reports as notices
from models.notices.reports import BANDS, LIKELIHOOD, SEVERITY, area_label, card
from models.programme import ProgrammeError
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    PeopleShown,
    Provider,
    ReviewStatus,
    Role,
    ShareConsent,
)
from models.text import esc

PREFIX = "rep:"
AREA = PREFIX + "area:"
KIND = PREFIX + "kind:"  # kind <code>, or NO_KIND
NO_KIND = KIND + "-"
NO_PHOTO = PREFIX + "nophoto:"
BAND = PREFIX + "band:"
WORKERS_YES = PREFIX + "wyes:"
WORKERS_NO = PREFIX + "wno"
LIKELY = PREFIX + "lik:"
SEVERE = PREFIX + "sev:"
SHARE = PREFIX + "share:"
PEOPLE = PREFIX + "people:"
CONFIRM = PREFIX + "ok:"
EDIT = PREFIX + "edit"
CANCEL = PREFIX + "cancel"
DONE = PREFIX + "done"
FIELD = PREFIX + "field:"
BACK = PREFIX + "back"
CONTINUE = PREFIX + "continue"
RESTART = PREFIX + "new"
PLANNED = PREFIX + "plan:"  # the report carries out planned item <id>
UNPLANNED = PREFIX + "noplan"
MY_EDIT = "myr:edit:"  # ✏️ in /myreports: change a sent report

# Positions that are not questions.
RESUME, PLAN, WORKERS_CONFIRM, PEOPLE_SHOWN, FIELDS = (
    "resume", "plan", "workers_confirm", "people", "fields",
)  # fmt: skip
SEVERITY_OF = {RiskWhen.BEFORE: "risk_before_severity", RiskWhen.AFTER: "risk_after_severity"}
WHEN = {Step.RISK_BEFORE: RiskWhen.BEFORE, Step.RISK_AFTER: RiskWhen.AFTER}
SLOT = {Step.PHOTO_BEFORE: PhotoSlot.BEFORE, Step.PHOTO_AFTER: PhotoSlot.AFTER}

GOES_ON, ENDS = True, False
# Refusals after which the journey cannot go on: the report changed state elsewhere.
TERMINAL = frozenset(
    {"not_editable", "unknown_report", "not_a_reporter", "reporters_only", "not_registered",
     "unknown_enterprise"}
)  # fmt: skip
HINTS = {
    "text": N_("Please answer with text."),
    "buttons": N_("Please choose with the buttons."),
    "photo": N_("Please send a photo, or press the button."),
    "description_photo": N_("Please describe the improvement in words first; photos come next."),
    "cost": N_("Please type the amount, or choose a range with the buttons."),
    "summary": N_("Please use the buttons under your report."),
}


class Stale(Exception):
    """An action of another question or an old message, or forged data: nothing is stored."""


class Hint(Exception):
    """Input of the wrong kind: say what is expected (and ask again where buttons are)."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


def error_text(_: Translate, error: ProgrammeError, language: str) -> str:
    details = error.details
    if error.code == "text_too_long":
        return _(
            "That is too long: {length} characters, at most {limit} fit. Please shorten it and "
            "send it again.",
            length=format_number(details.get("length", 0), language),
            limit=format_number(details.get("limit", 0), language),
        )
    if error.code == "photo_too_big":
        return _(
            "This photo is too large ({size} MB). A photo can be at most {limit} MB; please "
            "send a smaller one.",
            size=format_number(round(details.get("size", 0) / 1024 / 1024, 1), language),
            limit=format_number(details.get("limit", 0) // 1024 // 1024, language),
        )
    if error.code == "cost_too_high":
        return _(
            "That is more than {limit}. Please check the amount.",
            limit=format_vnd(details.get("limit", 0), language),
        )
    if error.code == "workers_too_many":
        return _(
            "That is more than {limit} workers. Please check the number.",
            limit=format_number(details.get("limit", 0), language),
        )
    texts = {
        "text_empty": _("Please describe the improvement in words."),
        "text_too_short": _(
            "That is a little short. Please write at least {minimum} characters.",
            minimum=details.get("minimum", imp.DESCRIPTION_MIN),
        ),
        "photo_type": _("Please send a photo (JPEG or PNG), or press the button."),
        "photo_not_received": _("I could not receive this photo. Please send it again."),
        "cost_not_number": _(
            "Please type the cost in đồng, for example 500.000, 500k or 1,5 triệu, or choose "
            "a range with the buttons."
        ),
        "cost_unclear": _(
            "I am not sure about that amount. Please type it in full, for example 1.500.000, "
            "or with a unit, for example 1,5 triệu."
        ),
        "cost_negative": _(
            "A cost cannot be negative. Please type the amount, or 0 if it was free."
        ),
        "workers_not_number": _(
            "Please type the number of workers who benefit as a whole number, for example 12 "
            "(or 0)."
        ),
        "workers_negative": _("The number of workers cannot be negative. Please type it again."),
        "workers_not_whole": _("Please type a whole number of workers, for example 12."),
        "not_editable": _("This report was already reviewed, so it can no longer be changed."),
        "unknown_report": _("This report no longer exists. Send /report to start a new one."),
        "not_a_reporter": _(
            "Improvement reports are sent by enterprises. When one of your enterprises sends a "
            "report, it will come to you to review."
        ),
        "reporters_only": _(
            "Improvement reports are sent by the employers and workers of the enterprises "
            "taking part in the programme."
        ),
        "not_registered": _(
            "To join, please open the invite link or scan the QR code that your OSH service "
            "provider gave you."
        ),
    }
    return texts.get(error.code, _("This button is no longer active."))


def refusal(contact: Contact | None) -> ProgrammeError:
    """Why this person cannot report: not registered, staff (who review instead), or another
    role."""
    if contact is None:
        return ProgrammeError("not_registered")
    if contact.role in (Role.STAFF, Role.COORDINATOR):
        return ProgrammeError("not_a_reporter")
    return ProgrammeError("reporters_only")


def reporter(turn: Turn) -> Contact | None:
    contact = turn.contact
    if contact is None or contact.role not in imp.REPORTER_ROLES:
        return None
    return contact


def required_reporter(turn: Turn) -> Contact:
    contact = reporter(turn)
    if contact is None:
        raise ProgrammeError("not_a_reporter")
    return contact


def report(turn: Turn) -> Improvement | None:
    """The report in hand, if it is still this reporter's."""
    contact = reporter(turn)
    report_id = turn.data.get("id")
    found = turn.session.get(Improvement, report_id) if report_id else None
    if found is not None and (contact is None or found.reporter_id != contact.id):
        return None
    return found


def save(turn: Turn, setter: Callable[..., Any], **fields: Any) -> None:
    """Writes one answer with `setter` (a models.improvements function), as the reporter."""
    with turn.session.begin_nested():
        setter(
            turn.session, turn.data.get("id") or 0, reporter=required_reporter(turn),
            now=turn.now, **fields,
        )  # fmt: skip


# -- the questions ---------------------------------------------------------------------------


def pressed_code(given: Input, prefix: str, valid: Callable[[str], bool]) -> str:
    """The code of an action of this question; Stale for any other action, Hint for text."""
    if given.payload is None:
        raise Hint(HINTS["buttons"])
    code = given.payload.removeprefix(prefix)
    if not given.payload.startswith(prefix) or not valid(code):
        raise Stale
    return code


def grid(actions: list[Action], columns: int = 2) -> list[list[Action]]:
    return [actions[i : i + columns] for i in range(0, len(actions), columns)]


@dataclass(frozen=True)
class Question:
    step: Step
    label: str  # in the summary's field menu
    ask: Callable[[Turn], Reply]
    # Stores the answer (a ProgrammeError says why not; Stale or Hint for the wrong input);
    # returns a position to go to instead of the next question, or None.
    take: Callable[[Turn, Input, Step], str | None]


def ask_area(turn: Turn) -> Reply:
    actions = [Action(a.label(turn.language), AREA + a.code) for a in content.areas()]
    return Reply(turn._("Which area is your improvement about?"), grid(actions))


def take_area(turn: Turn, given: Input, after: Step) -> str | None:
    code = pressed_code(given, AREA, lambda c: content.area(c) is not None)
    if turn.data.get("id") is None:
        with turn.session.begin_nested():
            turn.data["id"] = imp.start_draft(
                turn.session, reporter=required_reporter(turn), area_code=code, now=turn.now,
                source=channel_of(turn.person),
            ).id  # fmt: skip
    else:
        save(turn, imp.set_area, area_code=code, step=after)
    # The kind belongs to the area: asked after it, also when the area was changed from the
    # card (then back to the card).
    return Step.KIND.value if turn.data.get("editing") else None


def ask_kind(turn: Turn) -> Reply:
    _ = turn._
    found = report(turn)
    kinds = content.kinds(found.area_code) if found is not None and found.area_code else []
    actions = [[Action(kind.name(turn.language), KIND + kind.code)] for kind in kinds]
    text = _(
        "Which kind of improvement is it? Choose the closest one, or “Other / skip” if none fits."
    )
    return Reply(text, [*actions, [Action(_("Other / skip"), NO_KIND)]])


def take_kind(turn: Turn, given: Input, after: Step) -> str | None:
    """A kind of the report's area, or "Other / skip" (stored as no kind)."""
    chosen = pressed_code(given, KIND, lambda code: True)
    try:
        save(turn, imp.set_kind, kind_code=None if given.payload == NO_KIND else chosen, step=after)
    except ProgrammeError as error:
        if error.code == "unknown_kind":  # another area's kind, or forged
            raise Stale from error
        raise
    found = report(turn)
    if after == Step.DESCRIPTION and found is not None and planned_items(turn, found.area_code):
        return PLAN
    return None


def ask_description(turn: Turn) -> Reply:
    text = turn._(
        "What did you improve? In a few sentences: what was the problem, and what did you "
        "change? ({minimum} to {maximum} characters)",
        minimum=imp.DESCRIPTION_MIN,
        maximum=format_number(imp.DESCRIPTION_MAX, turn.language),
    )
    return Reply(text)


def take_description(turn: Turn, given: Input, after: Step) -> str | None:
    if given.payload is not None:
        raise Stale
    if given.text is None:
        raise Hint(HINTS["description_photo" if given.other in ("photo", "document") else "text"])
    save(turn, imp.set_description, text=given.text, step=after)
    return None


def ask_photo(turn: Turn, step: Step) -> Reply:
    _ = turn._
    if step == Step.PHOTO_BEFORE:
        text = _("Do you have a photo from before the change? Send it here, or press the button.")
        return Reply(text, [[Action(_("🚫 No photo"), NO_PHOTO + PhotoSlot.BEFORE)]])
    text = _("And a photo after the change? Send it here, or press the button.")
    return Reply(text, [[Action(_("🚫 No photo yet"), NO_PHOTO + PhotoSlot.AFTER)]])


def take_photo(turn: Turn, given: Input, step: Step, after: Step) -> str | None:
    slot = SLOT[step]
    if given.payload is not None:
        if given.payload != NO_PHOTO + slot:
            raise Stale
        save(turn, imp.set_photo, slot=slot, file_id=None, path=None,
             media_root=turn.place.media_dir, step=after)  # fmt: skip
        return None
    upload = given.upload
    if upload is None:
        raise Hint(HINTS["photo"])
    imp.check_photo(file_size=upload.size, mime_type=upload.mime_type)
    if upload.data is None:
        raise ProgrammeError("photo_not_received")
    imp.check_photo(file_size=len(upload.data))
    # Decoded under a pixel limit and written anew: no bomb, no EXIF (GPS) kept.
    photo = media.reencode(upload.data)
    relative = imp.photo_name(turn.data.get("id") or 0, slot, upload.unique, photo.mime_type)
    target = media.save(photo, turn.place.media_dir / relative)
    try:
        save(turn, imp.set_photo, slot=slot, file_id=upload.ref, path=relative,
             media_root=turn.place.media_dir, step=after)  # fmt: skip
    except ProgrammeError:
        target.unlink(missing_ok=True)
        raise
    turn.data["said"] = turn._("📷 Photo saved.")
    return None


def ask_cost(turn: Turn) -> Reply:
    _ = turn._
    bands = [Action(_(BANDS[band]), BAND + band) for band in CostBand]
    text = _(
        "About how much did it cost? Type the amount in đồng (for example 500.000, 500k or "
        "1,5 triệu), or choose a range."
    )
    return Reply(text, grid(bands))


def take_cost(turn: Turn, given: Input, after: Step) -> str | None:
    if given.payload is not None:
        band = pressed_code(given, BAND, lambda c: c in {b.value for b in CostBand})
        save(turn, imp.set_cost, band=CostBand(band), step=after)
    elif given.text is not None:
        save(turn, imp.set_cost, cost_vnd=imp.parse_cost(given.text), step=after)
    else:
        raise Hint(HINTS["cost"])
    return None


def ask_workers(turn: Turn) -> Reply:
    contact = reporter(turn)
    enterprise = (
        turn.session.get(Enterprise, contact.enterprise_id)
        if contact and contact.enterprise_id
        else None
    )
    text = turn._(
        "How many workers benefit from it? Type a number (your enterprise has {workers} workers).",
        workers=format_number(enterprise.workers if enterprise else 0, turn.language),
    )
    return Reply(text)


def take_workers(turn: Turn, given: Input, after: Step) -> str | None:
    if given.payload is not None:
        raise Stale
    if given.text is None:
        raise Hint(HINTS["text"])
    workers = imp.parse_workers(given.text)
    try:
        save(turn, imp.set_workers, workers=workers, step=after)
    except ProgrammeError as error:
        if error.code != "workers_above_workforce":
            raise
        turn.data["workers"] = error.details["workers"]
        turn.data["workforce"] = error.details["workforce"]
        return WORKERS_CONFIRM
    return None


def ask_likelihood(turn: Turn, when: RiskWhen) -> Reply:
    _ = turn._
    text = (
        _("<b>Before</b> the change: how likely was it that someone got hurt or ill?")
        if when == RiskWhen.BEFORE
        else _("<b>After</b> the change: how likely is it now that someone gets hurt or ill?")
    )
    return Reply(text, [[Action(_(LIKELIHOOD[n]), f"{LIKELY}{when}:{n}") for n in imp.LIKELIHOODS]])


def take_likelihood(turn: Turn, given: Input, step: Step) -> str | None:
    when = WHEN[step]
    value = pressed_code(given, f"{LIKELY}{when}:", lambda c: c in {"1", "2", "3"})
    save(turn, imp.set_risk, when=when, likelihood=int(value), step=step)
    return SEVERITY_OF[when]


def ask_share(turn: Turn) -> Reply:
    _ = turn._
    contact = reporter(turn)
    if contact is not None and contact.role == Role.EMPLOYER:
        options = [
            [Action(_("Yes, with our name"), SHARE + ShareConsent.NAMED)],
            [Action(_("Yes, without our name"), SHARE + ShareConsent.ANONYMOUS)],
        ]
    else:
        # Naming the enterprise in public is the employer's decision.
        options = [
            [Action(_("Yes, without the enterprise's name"), SHARE + ShareConsent.ANONYMOUS)]
        ]
    options.append([Action(_("No"), SHARE + ShareConsent.NO)])
    return Reply(_("May we share this as a good practice with other enterprises?"), options)


def take_share(turn: Turn, given: Input, after: Step) -> str | None:
    code = pressed_code(given, SHARE, lambda c: c in {s.value for s in ShareConsent})
    try:
        save(turn, imp.set_share, consent=ShareConsent(code), step=after)
    except ProgrammeError as error:
        if error.code == "naming_is_for_employers":  # a forged button: not offered to workers
            raise Stale from error
        raise
    found = report(turn)
    return PEOPLE_SHOWN if found is not None and imp.asks_about_people(found) else None


QUESTIONS: tuple[Question, ...] = (
    Question(Step.AREA, N_("Area"), ask_area, take_area),
    Question(Step.KIND, N_("Kind of improvement"), ask_kind, take_kind),
    Question(Step.DESCRIPTION, N_("What was improved"), ask_description, take_description),
    Question(Step.PHOTO_BEFORE, N_("Photo before"),
             lambda turn: ask_photo(turn, Step.PHOTO_BEFORE),
             lambda turn, given, after: take_photo(turn, given, Step.PHOTO_BEFORE, after)),
    Question(Step.PHOTO_AFTER, N_("Photo after"),
             lambda turn: ask_photo(turn, Step.PHOTO_AFTER),
             lambda turn, given, after: take_photo(turn, given, Step.PHOTO_AFTER, after)),
    Question(Step.COST, N_("Cost"), ask_cost, take_cost),
    Question(Step.WORKERS, N_("Workers who benefit"), ask_workers, take_workers),
    Question(Step.RISK_BEFORE, N_("Risk before"),
             lambda turn: ask_likelihood(turn, RiskWhen.BEFORE),
             lambda turn, given, after: take_likelihood(turn, given, Step.RISK_BEFORE)),
    Question(Step.RISK_AFTER, N_("Risk after"),
             lambda turn: ask_likelihood(turn, RiskWhen.AFTER),
             lambda turn, given, after: take_likelihood(turn, given, Step.RISK_AFTER)),
    Question(Step.SHARE, N_("Sharing"), ask_share, take_share),
)  # fmt: skip
BY_STEP = {question.step: question for question in QUESTIONS}


def numbered(_: Translate, step: Step, text: str) -> str:
    """A question under a header that says where the person is ("question 3/9"), as the
    surveys do. The severity question belongs to its risk step and shares its number."""
    number = [q.step for q in QUESTIONS].index(step) + 1
    head = "<i>{} · {}</i>".format(
        _("Improvement report"), _("question {number}/{total}", number=number, total=len(QUESTIONS))
    )
    return f"{head}\n\n{text}"


def next_step(turn: Turn, step: Step) -> Step:
    """After an answer: the next question, or back to the card when one field was edited."""
    if turn.data.get("editing"):
        return Step.SUMMARY
    steps = [q.step for q in QUESTIONS]
    index = steps.index(step) + 1
    return steps[index] if index < len(steps) else Step.SUMMARY


# -- positions: asking -----------------------------------------------------------------------


def prompt(turn: Turn, position: str, hint: str | None = None) -> Reply:
    """What the person is asked at `position` (after a hint when the last answer was
    refused); moves the report's saved step along for the summary."""
    _ = turn._
    if position in BY_STEP:
        step = Step(position)
        reply = BY_STEP[step].ask(turn)
        text = numbered(_, step, reply.text)
    elif position in SEVERITY_OF.values():
        when = RiskWhen.BEFORE if position == SEVERITY_OF[RiskWhen.BEFORE] else RiskWhen.AFTER
        text = (
            _("And how serious could the harm have been?")
            if when == RiskWhen.BEFORE
            else _("And how serious could the harm be now?")
        )
        actions = [[Action(_(SEVERITY[n]), f"{SEVERE}{when}:{n}") for n in imp.SEVERITIES]]
        step = Step.RISK_BEFORE if when == RiskWhen.BEFORE else Step.RISK_AFTER
        reply, text = Reply(text, actions), numbered(_, step, text)
    elif position == PEOPLE_SHOWN:
        reply = Reply(
            _(
                "Are there people in the photos? Photos that show people are shared only if "
                "those people agreed."
            ),
            [
                [Action(_("No people in the photos"), PEOPLE + PeopleShown.NONE)],
                [Action(_("Yes, and they agreed"), PEOPLE + PeopleShown.AGREED)],
                [Action(_("Yes, but not asked"), PEOPLE + PeopleShown.NOT_AGREED)],
            ],
        )
        text = reply.text
    elif position == PLAN:
        found = report(turn)
        items = planned_items(turn, found.area_code if found else None)
        actions = [[Action(item.what[:60], f"{PLANNED}{item.id}")] for item in items[:8]]
        actions.append([Action(_("No, something else"), UNPLANNED)])
        reply = Reply(_("Is this one of your planned improvements?"), actions)
        text = reply.text
    elif position == WORKERS_CONFIRM:
        number = format_number(turn.data["workers"], turn.language)
        reply = Reply(
            _(
                "You wrote {number} workers, but your enterprise has {workforce}. Is {number} "
                "right?",
                number=number,
                workforce=format_number(turn.data.get("workforce", 0), turn.language),
            ),
            [
                [Action(_("Yes, {number}", number=number), f"{WORKERS_YES}{turn.data['workers']}")],
                [Action(_("No, I will correct it"), WORKERS_NO)],
            ],
        )
        text = reply.text
    else:
        raise ValueError(position)
    return Reply(f"{hint}\n\n{text}" if hint else text, reply.actions)


def summary_actions(_: Translate, improvement: Improvement, submitted: bool) -> list[list[Action]]:
    if submitted:
        return [[Action(_("✏️ Change something"), EDIT), Action(_("✅ Done"), DONE)]]
    return [
        [Action(_("✅ Confirm and send"), f"{CONFIRM}{improvement.id}")],
        [Action(_("✏️ Edit"), EDIT), Action(_("✖ Cancel"), CANCEL)],
    ]


def summary(turn: Turn, outcome: Outcome, hint: str | None = None) -> tuple[Outcome, bool]:
    _ = turn._
    found = report(turn)
    if found is None:
        return stop(turn, outcome, ProgrammeError("unknown_report"))
    submitted = bool(turn.data.get("submitted"))
    turn.data["editing"] = False
    turn.data["at"] = Step.SUMMARY.value
    assert found.id is not None
    if not submitted:
        try:
            with turn.session.begin_nested():
                imp.set_step(
                    turn.session, found.id, reporter=required_reporter(turn),
                    step=Step.SUMMARY, now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            return stop(turn, outcome, error)
    head = (
        _(
            "<b>Report #{id}</b> (sent, not reviewed yet). What would you like to change?",
            id=found.id,
        )
        if submitted
        else _("<b>Please check your report</b>")
    )
    text = head + "\n\n" + card(_, found, turn.language)
    if not submitted:
        text += "\n\n" + _("Is everything right? Confirm to send it to your OSH service provider.")
    if hint:
        text = f"{hint}\n\n{text}"
    return outcome.say(text, summary_actions(_, found, submitted)), GOES_ON


def go(
    turn: Turn, outcome: Outcome, position: str, hint: str | None = None
) -> tuple[Outcome, bool]:
    """Moves to `position` and asks it (after what the last answer earned: "Photo saved")."""
    said = turn.data.pop("said", None)
    if said and not hint:
        hint = said
    if position == Step.SUMMARY:
        return summary(turn, outcome, hint)
    turn.data["at"] = position
    return outcome.show(prompt(turn, position, hint)), GOES_ON


def stop(turn: Turn, outcome: Outcome, error: ProgrammeError) -> tuple[Outcome, bool]:
    turn.data.clear()
    return outcome.say(error_text(turn._, error, turn.language)), ENDS


def planned_items(turn: Turn, area_code: str | None) -> list[Any]:
    contact = reporter(turn)
    if contact is None or contact.enterprise_id is None or area_code is None:
        return []
    return plans.open_items(turn.session, enterprise_id=contact.enterprise_id, area_code=area_code)


def mark_changed(turn: Turn) -> None:
    if turn.data.get("submitted"):
        turn.data["changed"] = True


# -- positions: answers ----------------------------------------------------------------------


def spent(outcome: Outcome) -> Outcome:
    """The pressed message keeps its words and loses its buttons."""
    outcome.edit, outcome.edit_actions_only = Reply(""), True
    return outcome


def answer_question(turn: Turn, given: Input, step: Step) -> tuple[Outcome, bool]:
    _ = turn._
    after = next_step(turn, step)
    try:
        detour = BY_STEP[step].take(turn, given, after)
    except Stale:
        return go(turn, Outcome(notice=_("This button is no longer active.")), step)
    except Hint as wrong:
        if step in (Step.DESCRIPTION, Step.WORKERS):
            return Outcome().say(_(wrong.hint)), GOES_ON
        return go(turn, Outcome(), step, _(wrong.hint))
    except ProgrammeError as error:
        if error.code in TERMINAL:
            return stop(turn, Outcome(), error)
        told = error_text(_, error, turn.language)
        if step == Step.DESCRIPTION:
            found = report(turn)
            if found is not None and found.description:
                told += "\n" + _("Until then I keep what you wrote before.")
            return Outcome().say(told), GOES_ON
        if step == Step.WORKERS:
            return Outcome().say(told), GOES_ON
        return go(turn, Outcome(), step, told)
    outcome = spent(Outcome()) if given.payload is not None else Outcome(retire_buttons=True)
    # A likelihood is half an answer, and a number above the workforce waits for its yes.
    if detour not in (*SEVERITY_OF.values(), WORKERS_CONFIRM):
        mark_changed(turn)
    return go(turn, outcome, detour or after)


def answer_severity(turn: Turn, given: Input, position: str) -> tuple[Outcome, bool]:
    _ = turn._
    when = RiskWhen.BEFORE if position == SEVERITY_OF[RiskWhen.BEFORE] else RiskWhen.AFTER
    step = Step.RISK_BEFORE if when == RiskWhen.BEFORE else Step.RISK_AFTER
    try:
        value = pressed_code(given, f"{SEVERE}{when}:", lambda c: c in {"1", "2", "3"})
    except Stale:
        outcome = Outcome(notice=_("This button is no longer active."))
        return go(turn, outcome, position)
    except Hint as wrong:
        return go(turn, Outcome(), position, _(wrong.hint))
    after = next_step(turn, step)
    try:
        save(turn, imp.set_risk, when=when, severity=int(value), step=after)
    except ProgrammeError as error:
        return stop(turn, spent(Outcome()), error)
    mark_changed(turn)
    return go(turn, spent(Outcome()), after)


def answer_people(turn: Turn, given: Input) -> tuple[Outcome, bool]:
    _ = turn._
    try:
        code = pressed_code(given, PEOPLE, lambda c: c in {a.value for a in PeopleShown})
    except Stale:
        return go(turn, Outcome(notice=_("This button is no longer active.")), PEOPLE_SHOWN)
    except Hint:
        return go(turn, Outcome(), PEOPLE_SHOWN, _(HINTS["buttons"]))
    after = next_step(turn, Step.SHARE)
    try:
        save(turn, imp.set_people_shown, answer=PeopleShown(code), step=after)
    except ProgrammeError as error:
        return stop(turn, Outcome(), error)
    mark_changed(turn)
    return go(turn, spent(Outcome()), after)


def answer_plan(turn: Turn, given: Input) -> tuple[Outcome, bool]:
    """The choice is kept with the draft and applied when the report is sent: a draft abandoned
    halfway marks nothing done."""
    _ = turn._
    if given.payload is None:
        return Outcome().say(_(HINTS["buttons"])), GOES_ON
    if given.payload != UNPLANNED and not given.payload.startswith(PLANNED):
        return Outcome(notice=_("This button is no longer active.")), GOES_ON
    chosen = notices.parse_id(given.payload, PLANNED)
    turn.data.pop("plan_item", None)
    if chosen is not None:
        turn.data["plan_item"] = chosen
    return go(turn, spent(Outcome()), Step.DESCRIPTION)


def answer_workers_confirm(turn: Turn, given: Input) -> tuple[Outcome, bool]:
    _ = turn._
    if given.payload is None:
        if given.text is not None:
            return answer_question(turn, given, Step.WORKERS)
        return Outcome().say(_(HINTS["buttons"])), GOES_ON
    if given.payload == WORKERS_NO:
        turn.data.pop("workers", None)
        return go(turn, spent(Outcome()), Step.WORKERS)
    workers = notices.parse_id(given.payload, WORKERS_YES)
    if workers is None or workers != turn.data.get("workers"):
        return Outcome(notice=_("This button is no longer active.")), GOES_ON
    after = next_step(turn, Step.WORKERS)
    try:
        save(turn, imp.set_workers, workers=workers, confirmed=True, step=after)
    except ProgrammeError as error:
        return stop(turn, spent(Outcome()), error)
    turn.data.pop("workers", None)
    turn.data.pop("workforce", None)
    mark_changed(turn)
    return go(turn, spent(Outcome()), after)


def answer_resume(turn: Turn, given: Input) -> tuple[Outcome, bool]:
    _ = turn._
    if given.payload not in (CONTINUE, RESTART):
        if given.payload is not None:
            return Outcome(notice=_("This button is no longer active.")), GOES_ON
        return Outcome().say(_(HINTS["buttons"])), GOES_ON
    outcome = spent(Outcome())
    contact = reporter(turn)
    draft = report(turn)
    if contact is None or draft is None:
        turn.data.clear()
        return go(turn, outcome, Step.AREA)
    if given.payload == RESTART:
        assert draft.id is not None
        with turn.session.begin_nested():
            imp.discard_draft(
                turn.session, draft.id, reporter=contact, media_root=turn.place.media_dir
            )
        turn.data.clear()
        return go(turn, outcome, Step.AREA)
    step = imp.resume_step(draft)
    if (
        step in WHEN
        and getattr(draft, f"risk_{WHEN[step]}_likelihood") is not None
        and getattr(draft, f"risk_{WHEN[step]}_severity") is None
    ):
        return go(turn, outcome, SEVERITY_OF[WHEN[step]])
    return go(turn, outcome, step)


def answer_summary(turn: Turn, given: Input, position: str) -> tuple[Outcome, bool]:
    _ = turn._
    payload = given.payload
    if payload is None:
        return summary(turn, Outcome(), _(HINTS["summary"]))
    if payload.startswith(CONFIRM):
        return confirm(turn, given)
    if payload == EDIT and position == Step.SUMMARY:
        labels = [Action(_(q.label), FIELD + q.step) for q in QUESTIONS]
        actions = [*grid(labels), [Action(_("↩️ Back"), BACK)]]
        turn.data["at"] = FIELDS
        return Outcome(edit=Reply("", actions), edit_actions_only=True), GOES_ON
    if payload in (CANCEL, DONE) and position == Step.SUMMARY:
        return finish(turn, spent(Outcome())), ENDS
    if payload.startswith(FIELD) and position == FIELDS:
        code = payload.removeprefix(FIELD)
        if code not in {q.step.value for q in QUESTIONS}:
            return summary(turn, Outcome(notice=_("This button is no longer active.")))
        turn.data["editing"] = True
        return go(turn, spent(Outcome()), code)
    if payload == BACK and position == FIELDS:
        found = report(turn)
        turn.data["at"] = Step.SUMMARY.value
        actions = summary_actions(_, found, bool(turn.data.get("submitted"))) if found else []
        return Outcome(edit=Reply("", actions), edit_actions_only=True), GOES_ON
    return summary(turn, Outcome(notice=_("This button is no longer active.")))


def confirm(turn: Turn, given: Input) -> tuple[Outcome, bool]:
    _ = turn._
    report_id = notices.parse_id(given.payload, CONFIRM)
    contact = reporter(turn)
    try:
        if contact is None or report_id is None:
            raise ProgrammeError("unknown_report")
        with turn.session.begin_nested():
            done = imp.submit(turn.session, report_id, reporter=contact, now=turn.now)
    except ProgrammeError as error:
        if error.code == "incomplete":
            turn.data["editing"] = False
            hint = _("One answer is still missing.")
            return go(turn, spent(Outcome()), error.details["missing"][0], hint)
        notice = error_text(_, error, turn.language)
        return Outcome(notice=notice, alert=True), GOES_ON
    improvement = done.improvement
    if not done.changed:
        turn.data.clear()
        return Outcome(notice=_("This report was already sent."), alert=True), ENDS
    planned = None
    if turn.data.get("plan_item"):
        planned = plans.link(
            turn.session, turn.data["plan_item"], improvement=improvement, actor=contact,
            now=turn.now,
        )  # fmt: skip
    notices.notify_reviewers(
        turn.session, improvement, media_root=turn.place.media_dir, tz=turn.tz, now=turn.now
    )
    enterprise = turn.session.get(Enterprise, improvement.enterprise_id)
    provider = turn.session.get(Provider, enterprise.provider_id) if enterprise else None
    outcome = Outcome(
        edit=Reply(
            _("<b>✅ Report #{id} sent</b>", id=improvement.id)
            + "\n\n"
            + card(_, improvement, turn.language)
        )
    )
    outcome.say(
        _(
            "Thank you! Your report went to {provider}. They may ask you a question here. "
            "Until they review it you can still change or withdraw it in 🗂 My reports.",
            provider=esc(provider.name if provider else _("your OSH service provider")),
        ),
        menu=True,
    )
    if planned is not None:
        outcome.say(
            _(
                "🎯 In your action plan, “{what}” is now marked as done. Well done!",
                what=esc(planned.what),
            )
        )
    turn.data.clear()
    return outcome, ENDS


def already_sent(turn: Turn, given: Input) -> tuple[Outcome, bool]:
    """Confirm pressed again after the journey ended (or the same press delivered twice)."""
    _ = turn._
    report_id = notices.parse_id(given.payload, CONFIRM)
    contact = reporter(turn)
    found = turn.session.get(Improvement, report_id) if report_id else None
    if contact is None or found is None or found.reporter_id != contact.id:
        return Outcome(notice=_("This button is no longer active.")), ENDS
    if found.status == ReviewStatus.DRAFT:
        notice = _("Please send /report to continue this report.")
    elif found.status == ReviewStatus.WITHDRAWN:
        notice = _("This report was withdrawn.")
    else:
        notice = _("This report was already sent.")
    return Outcome(notice=notice, alert=True), ENDS


def finish(turn: Turn, outcome: Outcome) -> Outcome:
    """Cancel (button or /cancel): a draft is deleted; edits of a sent report are kept and,
    if there were any, staff see the report again."""
    _ = turn._
    state = dict(turn.data)
    turn.data.clear()
    contact = turn.contact
    report_id = state.get("id")
    found = turn.session.get(Improvement, report_id) if report_id else None
    if state.get("submitted"):
        if state.get("changed") and found is not None and found.status == ReviewStatus.SUBMITTED:
            notices.notify_reviewers(
                turn.session, found, media_root=turn.place.media_dir, tz=turn.tz, now=turn.now,
                updated=True,
            )  # fmt: skip
            text = _("Saved. Your OSH service provider will see the changes.")
        else:
            text = _("Nothing was changed.")
    elif (
        report_id
        and contact is not None
        and imp.discard_draft(
            turn.session, report_id, reporter=contact, media_root=turn.place.media_dir
        )
    ):
        text = _("Cancelled. Your unfinished report was deleted.")
    else:
        text = _("Cancelled. What would you like to do next?")
    return outcome.say(text, menu=True)


def status_refusal(_: Translate, status: str, action: str) -> str:
    if status == ReviewStatus.WITHDRAWN:
        return _("This report was withdrawn.")
    if status in imp.REVIEWED:
        if action == "edit":
            return _("This report was already reviewed, so it can no longer be changed.")
        return _("This report was already reviewed, so it can no longer be withdrawn.")
    return _("This button is no longer active.")


# -- the journey -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    name: str = "report"
    # The report lives in the database: set aside, it is kept there and /report continues it.
    resumable: bool = False
    cancel_keeps_draft: bool = False
    keeps: frozenset[str] = frozenset({"myreports"})

    def starts(self, entry: Input) -> bool:
        return entry.command == "report" or (entry.payload or "").startswith(MY_EDIT)

    def owns(self, payload: str) -> bool:
        return payload.startswith(PREFIX)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        _ = turn._
        turn.data.clear()
        if entry.payload is not None:
            return self.edit_sent(turn, entry.payload)
        contact = reporter(turn)
        if contact is None:
            return stop(turn, Outcome(), refusal(turn.contact))
        draft = imp.current_draft(turn.session, contact)
        if draft is not None:
            turn.data.update(id=draft.id, at=RESUME)
            text = _(
                "You have an unfinished report ({area}, started {day}). Would you like to "
                "continue it, or start a new one?",
                area=area_label(draft.area_code, turn.language),
                day=format_day(draft.created_at.astimezone(turn.tz).date(), turn.language),
            )
            actions = [
                [Action(_("▶️ Continue"), CONTINUE), Action(_("🆕 Start a new one"), RESTART)]
            ]
            return Outcome().say(text, actions), GOES_ON
        intro = _(
            "Let us record an improvement your workplace has made. It takes about two minutes; "
            "/cancel stops at any time."
        )
        return go(turn, Outcome(), Step.AREA, intro)

    def edit_sent(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        """✏️ from /myreports: change a report that was sent but not reviewed yet."""
        _ = turn._
        report_id = notices.parse_id(payload, MY_EDIT)
        contact = reporter(turn)
        found = turn.session.get(Improvement, report_id) if report_id else None
        if contact is None or found is None or found.reporter_id != contact.id:
            return Outcome(notice=_("This button is no longer active."), alert=True), ENDS
        if found.status != ReviewStatus.SUBMITTED:
            return Outcome(notice=status_refusal(_, found.status, "edit"), alert=True), ENDS
        turn.data.update(id=report_id, submitted=True, changed=False)
        return summary(turn, Outcome())

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        position = turn.data.get("at")
        if position is None:
            if given.payload is not None and given.payload.startswith(CONFIRM):
                return already_sent(turn, given)
            return Outcome(notice=turn._("This button is no longer active.")), ENDS
        if position in BY_STEP:
            return answer_question(turn, given, Step(position))
        if position in SEVERITY_OF.values():
            return answer_severity(turn, given, position)
        answers: dict[str, Callable[[], tuple[Outcome, bool]]] = {
            RESUME: lambda: answer_resume(turn, given),
            PLAN: lambda: answer_plan(turn, given),
            WORKERS_CONFIRM: lambda: answer_workers_confirm(turn, given),
            PEOPLE_SHOWN: lambda: answer_people(turn, given),
            Step.SUMMARY.value: lambda: answer_summary(turn, given, position),
            FIELDS: lambda: answer_summary(turn, given, position),
        }
        return answers[position]()

    def pause(self, turn: Turn) -> Outcome:
        return finish(turn, Outcome())

    def aside(self, turn: Turn) -> Outcome:
        """Another journey's command in the middle of a report: the report stops here (its
        draft stays in the database; /report continues it), since the text typed next belongs
        to that other journey; edits of a sent report reach staff."""
        _ = turn._
        found = turn.session.get(Improvement, turn.data["id"]) if turn.data.get("id") else None
        if (
            turn.data.get("submitted")
            and turn.data.get("changed")
            and found is not None
            and found.status == ReviewStatus.SUBMITTED
        ):
            notices.notify_reviewers(
                turn.session, found, media_root=turn.place.media_dir, tz=turn.tz, now=turn.now,
                updated=True,
            )  # fmt: skip
        if found is not None and found.status == ReviewStatus.DRAFT:
            return Outcome().say(_("I paused your report: it is kept, and /report continues it."))
        return Outcome()


REPORT = Report()
