"""Follow-up surveys as a journey: employers and workers answer their questionnaire, one
question at a time.

`/feedback` (or the 📋 menu button), or the action of a survey invitation ("fb:start:<round>"),
starts or resumes the person's response to the enterprise's open round. The action of an
event's reaction-survey invitation ("fb:event:<event>", sent by models/events.py) starts the
same journey on the event's questionnaire, for the people who attended it. Finite choices are
actions; text and numbers are typed. Every answer is stored as it is given (models/surveys.py),
so a restart or /cancel loses nothing: /feedback (or the invitation) resumes at the same
question.

The journey's draft keeps only which survey is in hand ("for": "r<round>" or "e<event>") and
the options ticked so far of a several-choice question ("picked"); answer actions carry the
questionnaire's tag, which finds the survey again even when that is lost. A person who leaves
one survey for another resumes the first one later where they left it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.i18n import Translate, format_number, shorten
from models import events, surveys
from models.content import YES, Option, Question
from models.journeys.core import Action, Input, Outcome, Reply, Turn, paused_note
from models.programme import ProgrammeError
from models.surveys import Progress, Subject, SurveyError
from models.tables import Contact, Enterprise, Role, SurveyRound
from models.text import check, esc

PREFIX = "fb:"
START = surveys.START_PREFIX  # fb:start:<round id>
START_EVENT = surveys.EVENT_START_PREFIX  # fb:event:<event id>
# Staff take the employer survey down at a visit, for an owner who does not use the chat (the
# visit checklist's button, models/journeys/visits.py): fb:assist:<visit id>.
ASSIST = PREFIX + "assist:"
ANSWER = PREFIX + "a:"  # fb:a:<tag>:<question index>:<value>
TOGGLE = PREFIX + "t:"  # fb:t:<tag>:<question index>:<option code>
DONE = PREFIX + "d:"  # fb:d:<tag>:<question index>
SKIP = PREFIX + "s:"  # fb:s:<tag>:<question index>

ROLES = (Role.EMPLOYER, Role.WORKER)

GOES_ON, ENDS = True, False


# -- texts -----------------------------------------------------------------------------------


def error_text(_: Translate, error: SurveyError, language: str) -> str:
    details = error.details
    low = format_number(details.get("min", 0), language)
    high = format_number(details.get("max", 0), language)
    limit = format_number(details.get("limit", 0), language)
    length = format_number(details.get("length", 0), language)
    texts = {
        "number_invalid": _("Please type a whole number from {min} to {max}.", min=low, max=high),
        "number_out_of_range": _("Please give a number from {min} to {max}.", min=low, max=high),
        "invalid_option": _("Please choose one of the buttons."),
        "choose_button": _("Please choose one of the buttons below."),
        "choose_one": _("Please choose at least one option, then press Done."),
        "exclusive_mixed": _("That choice cannot be combined with the others."),
        "text_empty": _("Please type your answer."),
        "text_expected": _("Please answer with text."),
        "text_too_long": _(
            "That is {length} characters; at most {limit} fit. Please shorten it a little.",
            length=length,
            limit=limit,
        ),
        "not_optional": _("This question cannot be skipped."),
        "not_current": _("That question is already answered. Please answer the latest one."),
        "round_closed": _(
            "This survey round has closed. Thank you! Send /feedback to answer the current one."
        ),
        "already_answered": _("You already answered this round, thank you!"),
        "answered_at_visit": _(
            "Your provider took down your enterprise's answers for this round at the visit. "
            "Thank you!"
        ),
        "assisted_done": _("The employer survey of this visit is already taken down. Thank you!"),
        "employer_answered": _(
            "The employer already answered this round's survey in the chat: there is nothing "
            "to take down."
        ),
        "visit_not_done": _("The checklist opens once the visit is logged as done."),
        "checklist_finished": _("The checklist of this visit is finished; the report was sent."),
        "visit_unknown": _("This visit no longer exists."),
        "not_allowed": _("Sorry, this button is not for you."),
        "no_round": _("This visit has no survey round open, so there is nothing to take down."),
        "not_participant": _(
            "Sorry, the follow-up survey is for employers and workers of the enterprises in "
            "the programme."
        ),
        "unknown_round": _("This button is no longer active."),
        "unknown_event": _("This button is no longer active."),
        "not_attendee": _(
            "Sorry, this feedback form is for the people who attended the event. Thank you for "
            "your interest!"
        ),
        "reaction_closed": _(
            "The feedback on {event} has closed. Thank you for your interest!",
            event=esc(details.get("title", "")),
        ),
        "already_reacted": _(
            "You have already given your feedback on {event}. Thank you!",
            event=esc(details.get("title", "")),
        ),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


def question_text(_: Translate, found: Progress, language: str) -> str:
    question = found.question
    assert question is not None
    head = "<i>{} · {}</i>".format(
        esc(found.questionnaire.title(language)),
        _("question {number}/{total}", number=found.number, total=found.total),
    )
    lines = [head, "", f"<b>{esc(found.question_text(language))}</b>"]
    if question.type == "scale":
        lines.append(
            _(
                "{min} = {low} · {max} = {high}",
                min=question.min,
                low=esc(question.low(language)),
                max=question.max,
                high=esc(question.high(language)),
            )
        )
    elif question.type == "multi":
        lines.append(_("Tap all that apply, then press Done."))
    elif question.type == "text":
        lines.append(
            _(
                "Please type your answer (at most {limit} characters).",
                limit=format_number(question.max_length, language),
            )
        )
    elif question.type == "number":
        limits = surveys.bounds(question)
        lines.append(
            _(
                "Please type a number from {min} to {max}.",
                min=format_number(limits["min"], language),
                max=format_number(limits["max"], language),
            )
        )
    if question.optional:
        lines.append(_("You may skip this question."))
    return "\n".join(lines)


def question_actions(
    _: Translate, found: Progress, language: str, picked: list[str]
) -> list[list[Action]]:
    question = found.question
    assert question is not None
    where = f"{found.tag}:{found.index}"
    rows: list[list[Action]] = []
    if question.type == "scale":
        assert question.min is not None and question.max is not None
        numbers = range(question.min, question.max + 1)
        rows.append([Action(str(n), f"{ANSWER}{where}:{n}") for n in numbers])
    elif question.type == "yesno":
        rows.append(
            [Action(_("Yes"), f"{ANSWER}{where}:{YES}"), Action(_("No"), f"{ANSWER}{where}:no")]
        )
    elif question.type == "single":
        rows += [
            [Action(option.label(language), f"{ANSWER}{where}:{option.code}")]
            for option in surveys.options_of(question, found.sources)
        ]
    elif question.type == "multi":
        for option in surveys.options_of(question, found.sources):
            label = check(option.code in picked) + shorten(option.label(language), 60)
            rows.append([Action(label, f"{TOGGLE}{where}:{option.code}")])
        rows.append([Action(_("✔ Done"), f"{DONE}{where}")])
    if question.optional:
        rows.append([Action(_("Skip"), f"{SKIP}{where}")])
    return rows


def answer_label(
    _: Translate,
    question: Question,
    value: object,
    language: str,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> str:
    """The answer as the person sees it under the question once given."""
    if value is None:
        return _("(skipped)")
    if question.type == "yesno":
        return _("Yes") if value == YES else _("No")
    if question.type in ("single", "multi"):
        codes = {str(code) for code in (value if isinstance(value, list) else [value])}
        # In the questionnaire's order, whatever order they were tapped in.
        options = surveys.options_of(question, sources)
        return ", ".join(o.label(language) for o in options if o.code in codes)
    if isinstance(value, int):
        return format_number(value, language)
    return str(value)


def parse_action(data: str) -> tuple[str, str, int, str] | None:
    """(kind, tag, question index, value) from an answer action, None if malformed."""
    kind, _, rest = data.removeprefix(PREFIX).partition(":")
    parts = rest.split(":", 2)
    if kind not in ("a", "t", "d", "s") or len(parts) < 2 or not parts[1].isdigit():
        return None
    value = parts[2] if len(parts) == 3 else ""
    if (kind in ("a", "t")) != bool(value):
        return None
    return kind, parts[0], int(parts[1]), value


# -- the draft -------------------------------------------------------------------------------


def in_hand(turn: Turn) -> Subject | None:
    return Subject.parse(turn.data.get("for"))


def hold(turn: Turn, found: Progress) -> None:
    """Makes `found` the survey in hand (typed answers go to it)."""
    if in_hand(turn) != found.subject:
        turn.data.pop("picked", None)
    turn.data["for"] = found.subject.text


def picked_for(turn: Turn, found: Progress) -> list[str]:
    state = turn.data.get("picked")
    if isinstance(state, dict) and state.get("q") == found.index:
        return [str(code) for code in state.get("codes", [])]
    return []


def participant(turn: Turn, found: Progress | None = None) -> Contact | None:
    """The person if they may answer surveys (checked on every step): follow-up surveys are
    for employers and workers; an event's reaction survey is for anyone but the organisers
    (the survey engine checks attendance on every answer)."""
    contact = turn.contact
    if contact is None:
        return None
    if found is not None and surveys.is_assisted(found.pending, contact):
        return contact  # staff taking the survey down at a visit
    if found is not None and found.subject.event_id is not None:
        return None if events.is_organiser(contact) else contact
    if contact.role not in ROLES or contact.enterprise_id is None:
        return None
    return contact


def current(turn: Turn, *, tag: str | None = None) -> Progress | None:
    """The person's unfinished survey: the one in hand, or (`tag`, from an answer action) the
    one the action belongs to, whatever is in hand."""
    contact = turn.contact
    if contact is None:
        return None
    subject = in_hand(turn)
    if tag is not None:
        candidates = surveys.unfinished(turn.session, contact)
    else:
        candidates = [subject] if subject is not None else []
    for candidate in candidates:
        found = surveys.progress(turn.session, contact=contact, subject=candidate)
        if found is not None and found.question is not None and tag in (None, found.tag):
            return found
    if tag is None:
        turn.data.clear()
    return None


# -- answers ---------------------------------------------------------------------------------


def ask(turn: Turn, found: Progress, outcome: Outcome, *, prefix: str | None = None) -> Outcome:
    """The current question (after an optional line such as a re-prompt)."""
    text = question_text(turn._, found, turn.language)
    if prefix:
        text = f"{prefix}\n\n{text}"
    return outcome.say(
        text, question_actions(turn._, found, turn.language, picked_for(turn, found))
    )


def refuse(text: str) -> tuple[Outcome, bool]:
    return Outcome().say(text), ENDS


def finish(turn: Turn, found: Progress, outcome: Outcome) -> tuple[Outcome, bool]:
    turn.data.clear()
    if turn.contact is not None and surveys.is_assisted(found.pending, turn.contact):
        return finish_assisted(turn, found, outcome)
    return outcome.say(esc(found.questionnaire.thanks(turn.language)), menu=True), ENDS


def finish_assisted(turn: Turn, found: Progress, outcome: Outcome) -> tuple[Outcome, bool]:
    """The owner's answers are stored; the staff member goes back to the visit's checklist."""
    from models.journeys.visits import CHOOSE  # the checklist's own action, at the enterprise

    _ = turn._
    survey_round = turn.session.get(SurveyRound, found.subject.round_id)
    text = _(
        "✅ The employer's answers are recorded, marked as taken down at the visit. Thank you!"
    )
    if survey_round is None:
        return outcome.say(text, menu=True), ENDS
    back = Action(_("📋 Back to the checklist"), f"{CHOOSE}{survey_round.enterprise_id}")
    return outcome.say(text, [[back]]), ENDS


def begin_assisted(turn: Turn, payload: str) -> tuple[Outcome, bool]:
    """Staff start (or pick up again) the employer survey of a visit, for the owner."""
    from models import visit_checks  # the visit's checks: who may, and whether it is open

    _ = turn._
    raw = payload.removeprefix(ASSIST)
    contact = turn.contact
    if not raw.isdigit() or len(raw) > 11 or contact is None:
        return Outcome(notice=_("This button is no longer active.")), ENDS
    try:
        with turn.session.begin_nested():
            visit = visit_checks.ready_to_finish(turn.session, visit_id=int(raw), staff=contact)
            survey_round = visit_checks.survey_round(turn.session, visit)
            if survey_round is None or survey_round.id is None:
                raise SurveyError("no_round")
            found = surveys.start_assisted(
                turn.session, staff=contact, round_id=survey_round.id, now=turn.now
            )
    except ProgrammeError as error:
        refused = error_text(_, SurveyError(error.code), turn.language)
        return Outcome(notice=refused, alert=True), ENDS
    hold(turn, found)
    if found.resumed:
        return ask(turn, found, Outcome(), prefix=_("Let us continue where you left off.")), GOES_ON
    enterprise = turn.session.get(Enterprise, survey_round.enterprise_id)
    intro = _(
        "📝 <b>Employer survey, taken down at the visit</b>\nRead each question to the owner of "
        "{enterprise} and enter their answer. The answers count as the enterprise's own, marked "
        "as taken down by you at the visit.",
        enterprise=esc(enterprise.name if enterprise else ""),
    )
    return ask(turn, found, Outcome().say(intro)), GOES_ON


def opened(
    turn: Turn, found: Progress, *, note: str | None = None, intro: bool = True
) -> tuple[Outcome, bool]:
    """The survey just started (intro, then the first question) or resumed. `intro` is False
    where the invitation the person answered already carried it."""
    _ = turn._
    hold(turn, found)
    outcome = Outcome()
    if found.resumed:
        prefix = _("Welcome back! Let us continue where you left off.")
        return ask(turn, found, outcome, prefix=prefix), GOES_ON
    if not intro:
        return ask(turn, found, outcome, prefix=note), GOES_ON
    text = esc(found.questionnaire.intro(turn.language))
    outcome.say(f"{text}\n{note}" if note else text)
    return ask(turn, found, outcome), GOES_ON


def _begin_round(turn: Turn, contact: Contact, round_id: int | None) -> Progress | None:
    assert contact.enterprise_id is not None
    session = turn.session
    if round_id is None:
        survey_round = surveys.round_to_answer(session, contact.enterprise_id, now=turn.now)
    else:
        survey_round = surveys.current_round(session, contact.enterprise_id)
        if survey_round is not None and survey_round.id != round_id:
            survey_round = None
    if survey_round is None:
        return None
    assert survey_round.id is not None
    return surveys.start(session, contact=contact, round_id=survey_round.id, now=turn.now)


def begin(turn: Turn, *, round_id: int | None) -> tuple[Outcome, bool]:
    """Starts or resumes the person's response; `round_id` from an invitation."""
    _ = turn._
    contact = participant(turn)
    if contact is None:
        return refuse(error_text(_, SurveyError("not_participant"), turn.language))
    try:
        with turn.session.begin_nested():
            found = _begin_round(turn, contact, round_id)
    except SurveyError as error:
        return refuse(error_text(_, error, turn.language))
    if found is None:
        if round_id is None:
            return refuse(
                _(
                    "There is no survey open for your enterprise right now. We will send you "
                    "the next one after the next visit. Thank you!"
                )
            )
        return refuse(
            _(
                "This invitation is for a survey round that has closed. Send /feedback to "
                "answer the current one."
            )
        )
    return opened(turn, found)


def begin_event(turn: Turn, *, event_id: int) -> tuple[Outcome, bool]:
    """Starts or resumes the person's reaction to an event they attended; the survey engine
    refuses people who did not attend and a second answer."""
    _ = turn._
    if turn.contact is None:
        return refuse(error_text(_, SurveyError("not_attendee"), turn.language))
    try:
        with turn.session.begin_nested():
            found = surveys.start_event(
                turn.session, contact=turn.contact, event_id=event_id, now=turn.now
            )
    except SurveyError as error:
        return refuse(error_text(_, error, turn.language))
    # The invitation (models/events.py) already introduced the survey.
    note = _("Your answers are anonymous.") if found.anonymous else None
    return opened(turn, found, note=note, intro=False)


def record(
    turn: Turn, contact: Contact, found: Progress, given: object, *, pressed: bool
) -> tuple[Outcome, bool]:
    """Stores one answer (None: skipped), then asks the next question or says thank you."""
    _ = turn._
    question = found.question
    assert question is not None
    outcome = Outcome()
    try:
        # The answer and the person's position commit together, or neither does.
        with turn.session.begin_nested():
            if given is None:
                after = surveys.skip(
                    turn.session, contact=contact, subject=found.subject,
                    question_id=question.id, now=turn.now, sources=found.sources,
                )  # fmt: skip
            else:
                after = surveys.answer(
                    turn.session, contact=contact, subject=found.subject,
                    question_id=question.id, value=given, now=turn.now, sources=found.sources,
                )  # fmt: skip
    except SurveyError as error:
        text = error_text(_, error, turn.language)
        if error.code in ("round_closed", "not_current", "not_attendee", "reaction_closed"):
            if error.code != "not_current":
                turn.data.clear()
                return outcome.say(text), ENDS
            refreshed = current(turn)
            if refreshed is None:
                return lost(turn, pressed=False)
            return ask(turn, refreshed, outcome, prefix=text), GOES_ON
        if pressed:
            outcome.notice = text
            return outcome, GOES_ON
        if question.type == "text" or error.code in ("number_invalid", "number_out_of_range"):
            return outcome.say(text), GOES_ON
        return ask(turn, found, outcome, prefix=text), GOES_ON
    turn.data.pop("picked", None)
    stored = after.answers.get(question.id)
    if pressed:
        shown = esc(answer_label(_, question, stored, turn.language, after.sources))
        outcome.edit = Reply(f"{question_text(_, found, turn.language)}\n\n→ <b>{shown}</b>")
    else:
        outcome.retire_buttons = True
    if after.just_completed:
        return finish(turn, after, outcome)
    return ask(turn, after, outcome), GOES_ON


def lost(turn: Turn, *, pressed: bool) -> tuple[Outcome, bool]:
    """No survey in progress any more (finished, or its response is gone)."""
    _ = turn._
    if pressed:
        return Outcome(notice=_("This button is no longer active.")), ENDS
    return Outcome().say(_("This survey is not in progress. Send /feedback to start it.")), ENDS


def stale(turn: Turn) -> tuple[Outcome, bool]:
    return Outcome(notice=turn._("This button is no longer active.")), in_hand(turn) is not None


def on_action(turn: Turn, payload: str) -> tuple[Outcome, bool]:
    _ = turn._
    parsed = parse_action(payload)
    found = current(turn, tag=parsed[1]) if parsed is not None else None
    if parsed is None or found is None:
        # Forged data, or an action of a finished survey or of an earlier round.
        return stale(turn)
    kind, _tag, index, value = parsed
    hold(turn, found)
    contact = participant(turn, found)
    if contact is None:
        turn.data.clear()
        return refuse(error_text(_, SurveyError("not_participant"), turn.language))
    if index != found.index:
        # The latest question is just below; a notice says so without repeating it (and a
        # press delivered twice then changes nothing at all).
        notice = error_text(_, SurveyError("not_current"), turn.language)
        return Outcome(notice=notice), GOES_ON
    question = found.question
    assert question is not None
    if kind == "t":
        if question.type != "multi":
            return stale(turn)
        try:
            picked = surveys.toggle(question, picked_for(turn, found), value, found.sources)
        except SurveyError as error:
            return Outcome(notice=error_text(_, error, turn.language)), GOES_ON
        turn.data["picked"] = {"q": found.index, "codes": picked}
        actions = question_actions(_, found, turn.language, picked)
        return Outcome(edit=Reply("", actions), edit_actions_only=True), GOES_ON
    given: object
    if kind == "s" or (kind == "d" and not picked_for(turn, found) and question.optional):
        given = None
    elif kind == "d":
        if question.type != "multi":
            return stale(turn)
        given = picked_for(turn, found)
    else:
        if question.type not in ("scale", "single", "yesno"):
            return stale(turn)
        given = value
    return record(turn, contact, found, given, pressed=True)


def on_text(turn: Turn, text: str) -> tuple[Outcome, bool]:
    _ = turn._
    found = current(turn)
    if found is None:
        return lost(turn, pressed=False)
    contact = participant(turn, found)
    if contact is None:
        turn.data.clear()
        return refuse(error_text(_, SurveyError("not_participant"), turn.language))
    question = found.question
    assert question is not None
    try:
        given = surveys.parse_typed(question, text)
    except SurveyError as error:
        if error.code == "choose_button":
            return ask(turn, found, Outcome(), prefix=error_text(_, error, turn.language)), GOES_ON
        return Outcome().say(error_text(_, error, turn.language)), GOES_ON
    return record(turn, contact, found, given, pressed=False)


def on_other(turn: Turn) -> tuple[Outcome, bool]:
    """A sticker, voice, photo, location...: say what kind of answer is expected."""
    _ = turn._
    found = current(turn)
    if found is None:
        return lost(turn, pressed=False)
    question = found.question
    assert question is not None
    if question.type == "text":
        return Outcome().say(_("Please answer with text.")), GOES_ON
    if question.type == "number":
        return Outcome().say(_("Please answer by typing a number.")), GOES_ON
    prefix = _("Please choose one of the buttons below.")
    return ask(turn, found, Outcome(), prefix=prefix), GOES_ON


# -- the journey -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Feedback:
    name: str = "feedback"
    resumable: bool = True
    cancel_keeps_draft: bool = True
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        payload = entry.payload or ""
        return entry.command == "feedback" or payload.startswith((START, START_EVENT, ASSIST))

    def owns(self, payload: str) -> bool:
        return payload.startswith(PREFIX)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        if entry.payload is None:
            # /feedback continues what the person paused, an event's survey included.
            subject = in_hand(turn)
            if subject is not None and subject.event_id is not None:
                found = current(turn)
                if found is not None and found.subject.event_id is not None:
                    return begin_event(turn, event_id=found.subject.event_id)
            return begin(turn, round_id=None)
        if entry.payload.startswith(ASSIST):
            return begin_assisted(turn, entry.payload)
        if entry.payload.startswith(START):
            round_id = surveys.parse_start_data(entry.payload)
            if round_id is None:
                return stale(turn)
            return begin(turn, round_id=round_id)
        event_id = surveys.parse_event_start_data(entry.payload)
        if event_id is None:
            return stale(turn)
        return begin_event(turn, event_id=event_id)

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        if given.payload is not None:
            return on_action(turn, given.payload)
        if given.text is not None:
            return on_text(turn, given.text)
        return on_other(turn)

    def pause(self, turn: Turn) -> Outcome:
        contact = turn.contact
        if contact is not None and contact.role in (Role.STAFF, Role.COORDINATOR):
            text = turn._(
                "Paused. The answers so far are saved; send /visit and press 📝 on the "
                "checklist to continue."
            )
            return Outcome().say(text, menu=True)
        text = turn._("Paused. Your answers so far are saved; send /feedback to continue later.")
        return Outcome().say(text, menu=True)

    def aside(self, turn: Turn) -> Outcome:
        return Outcome(replies=[paused_note(turn.language)])


FEEDBACK = Feedback()
