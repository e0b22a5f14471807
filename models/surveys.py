"""Follow-up surveys: rounds, responses, answers, and who has still to answer.

Channel-free: a response is started, answered question by question and completed through the
functions below, whatever carries the conversation (Telegram today, a web form tomorrow). The
questionnaires themselves are content (`content/surveys/*.toml`, read by `models.content`).

Rounds. An enterprise has rounds 1, 2, ... (usually one after each revisit). At most one is
open: opening a new round closes the previous one, and a closed round takes no more answers
(a response left unfinished there stays unfinished; the person answers the new round instead).

Events. After an event, the people who attended answer its reaction survey (the
`event_reaction` questionnaire) with the same functions: `start_event` instead of `start`, and
the response, like the participation, names the event instead of a round. Only attendees
answer (`models.events.attended`), once per event. Its `practices_to_try` question offers the
good practices the event showcased, as run-time options (`event_sources`); `progress` and the
other steps find them from the response's event by themselves, so that whatever carries the
conversation cannot pass the wrong list, and a question whose list comes out empty is skipped.

Anonymity. Employer answers are not anonymous: their response names the contact and keeps its
times. An event reaction is the voice of the enterprise or organisation that attended
(employers, partners) and is named the same way, so that the providers can follow up on the
good practices it wants to try; a worker who attended answers it anonymously, like the worker
survey. A response is anonymous exactly when it has no contact. Anonymous answers are split in
two so that nothing staff can read leads from an answer to a person:

- `SurveyParticipation` says WHO took part in a round (or an event's reaction survey) and
  whether they finished: what nudges and the "already answered" refusal need. It has no column
  that points at a response.
- `SurveyResponse` / `SurveyAnswer` hold WHAT was said, with no contact, no time (started_at,
  completed_at and answered_at stay empty; `complete` marks a finished response), a random
  `respondent_key`, and random ids, so that neither a time nor an id order can be matched
  against participation times.
- The only link from a person to their unfinished response is the `Handle` the channel keeps
  while they answer (Telegram: the person's own persisted user_data); it is dropped on
  completion, after which no row anywhere connects the two.

What this does not hide: the text a person types (the questionnaire asks not to write names),
and, for someone with raw access to the database server, physical row order and PostgreSQL's
transaction ids; and a lone worker among an event's respondents is as exposed as a lone worker
in a round. Reports must still suppress groups under 3 respondents.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import content, events
from models.content import YES, Option, Question, Questionnaire
from models.outbox import Message
from models.programme import ProgrammeError, audit
from models.tables import (
    Contact,
    Event,
    Role,
    SurveyAnswer,
    SurveyParticipation,
    SurveyResponse,
    SurveyRound,
)

QUESTIONNAIRE_OF_ROLE: Mapping[Role, str] = {Role.EMPLOYER: "employer", Role.WORKER: "worker"}
ANONYMOUS = frozenset({"worker"})

# Callback data of the button that opens a survey from a proactive message (scheduler nudges).
START_PREFIX = "fb:start:"
# ... and of the button of an event's reaction-survey invitation (models/events.py sends it).
EVENT_START_PREFIX = events.SURVEY_DATA  # fb:event:<event id>
EVENT_SOURCE = "event_good_practices"  # `options_from` of the reaction survey

# Survey rows get random ids from this range: an autoincrement id would give away the order in
# which anonymous answers arrived. The floor keeps them clear of any sequence-issued ids.
RANDOM_ID_FLOOR = 2**30
RANDOM_ID_CEILING = 2**31 - 1  # PostgreSQL INTEGER
NUMBER_LIMIT = 1_000_000_000  # a `number` question without bounds still gets a sane range

Translate = Callable[..., str]


class SurveyError(ProgrammeError):
    """A survey step refused for a reason the person can act on (see `code` and `details`)."""


# -- rounds ----------------------------------------------------------------------------------


def current_round(session: Session, enterprise_id: int) -> SurveyRound | None:
    """The enterprise's open round, if any."""
    query = (
        select(SurveyRound)
        .where(SurveyRound.enterprise_id == enterprise_id, col(SurveyRound.closed_at).is_(None))
        .order_by(col(SurveyRound.number).desc())
    )
    return session.exec(query).first()


def open_round(
    session: Session,
    *,
    enterprise_id: int,
    visit_id: int | None = None,
    now: datetime,
    actor_id: int | None = None,
) -> SurveyRound:
    """Opens the next round (1, 2, ...) and closes the one still open, so that each person's
    answers belong to exactly one period."""
    for previous in session.exec(
        select(SurveyRound).where(
            SurveyRound.enterprise_id == enterprise_id, col(SurveyRound.closed_at).is_(None)
        )
    ):
        previous.closed_at = now
        session.add(previous)
    highest = session.exec(
        select(sa.func.max(SurveyRound.number)).where(SurveyRound.enterprise_id == enterprise_id)
    ).one()
    survey_round = SurveyRound(
        enterprise_id=enterprise_id, number=(highest or 0) + 1, visit_id=visit_id, opened_at=now
    )
    session.add(survey_round)
    session.flush()
    audit(
        session, "survey.round.open", actor_id=actor_id, subject=survey_round,
        enterprise=enterprise_id, number=survey_round.number,
    )  # fmt: skip
    return survey_round


def close_round(session: Session, round_id: int, *, now: datetime) -> None:
    survey_round = session.get(SurveyRound, round_id)
    if survey_round is not None and survey_round.closed_at is None:
        survey_round.closed_at = now
        session.add(survey_round)


def round_to_answer(session: Session, enterprise_id: int, *, now: datetime) -> SurveyRound | None:
    """The round a person asking for the survey answers: the open one; round 1, opened now, if
    the enterprise never had a round; None when every round is closed (the next opens after
    the next visit)."""
    found = current_round(session, enterprise_id)
    if found is not None:
        return found
    any_round = session.exec(
        select(SurveyRound.id).where(SurveyRound.enterprise_id == enterprise_id)
    ).first()
    if any_round is None:
        return open_round(session, enterprise_id=enterprise_id, now=now)
    return None


def start_data(round_id: int) -> str:
    return f"{START_PREFIX}{round_id}"


def parse_start_data(data: str | None) -> int | None:
    raw = (data or "").removeprefix(START_PREFIX)
    if not (data or "").startswith(START_PREFIX) or not raw.isdigit() or len(raw) > 10:
        return None
    return int(raw)


def event_start_data(event_id: int) -> str:
    return f"{EVENT_START_PREFIX}{event_id}"


def parse_event_start_data(data: str | None) -> int | None:
    raw = (data or "").removeprefix(EVENT_START_PREFIX)
    if not (data or "").startswith(EVENT_START_PREFIX) or not raw.isdigit() or len(raw) > 10:
        return None
    return int(raw)


def questionnaire_for(contact: Contact) -> Questionnaire | None:
    name = QUESTIONNAIRE_OF_ROLE.get(contact.role)
    return content.questionnaire(name) if name else None


def is_anonymous(questionnaire_id: str) -> bool:
    return questionnaire_id in ANONYMOUS


def free_text_questions() -> dict[str, tuple[str, ...]]:
    """Questionnaire id -> its `text` questions: the only answers holding what people wrote
    (other answers keep option codes in `value_text`), e.g. for retention."""
    return {
        survey.id: tuple(q.id for q in survey.questions if q.type == "text")
        for survey in content.questionnaires()
    }


def survey_invitation(survey_round: SurveyRound, contact: Contact, _: Translate) -> Message:
    """The proactive message asking a contact to answer a round (the caller enqueues it with
    `models.outbox.enqueue`, translated for `contact.language`)."""
    survey = questionnaire_for(contact)
    if survey is None:
        raise SurveyError("not_participant")
    text = "<b>{}</b>\n{}".format(
        survey.title(contact.language),
        _("We would like to hear your views (round {number}). It takes a few minutes.",
          number=survey_round.number),
    )  # fmt: skip
    if is_anonymous(survey.id):
        text += "\n" + _("Your answers are anonymous.")
    assert survey_round.id is not None
    return Message(text=text, buttons=[[(_("📋 Answer the survey"), start_data(survey_round.id))]])


# -- responses -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handle:
    """What the channel keeps while a person answers, to find their response again. For
    anonymous responses it is the only link between the person and the response."""

    response_id: int
    key: str

    @property
    def tag(self) -> str:
        """A short piece of the key for button data, so a button of another response (an
        earlier round, a finished survey) is recognised as stale."""
        return self.key[:8]

    def to_dict(self) -> dict[str, Any]:
        return {"response": self.response_id, "key": self.key}

    @classmethod
    def from_dict(cls, data: object) -> Handle | None:
        if not isinstance(data, dict):
            return None
        response_id, key = data.get("response"), data.get("key")
        if not isinstance(response_id, int) or not isinstance(key, str):
            return None
        return cls(response_id, key)


@dataclass
class Progress:
    """Where a response stands: the next question (None once complete) and the answers."""

    response: SurveyResponse
    questionnaire: Questionnaire
    question: Question | None
    answers: dict[str, object] = field(default_factory=dict)
    # The run-time option lists the questions were built with (an event's good practices):
    # pass them back on the next step, and use them to show the options.
    sources: Mapping[str, Sequence[Option]] = field(default_factory=dict)
    resumed: bool = False
    just_completed: bool = False

    @property
    def handle(self) -> Handle:
        assert self.response.id is not None
        return Handle(self.response.id, self.response.respondent_key)

    @property
    def number(self) -> int:
        """Position of the next question among those this person is asked (1-based)."""
        return len(self.answers) + 1

    @property
    def index(self) -> int:
        """Index of the next question in the questionnaire (-1 once complete)."""
        if self.question is None:
            return -1
        return self.questionnaire.questions.index(self.question)


def _random_id(session: Session, model: type[Any]) -> int:
    while True:
        candidate = RANDOM_ID_FLOOR + secrets.randbelow(RANDOM_ID_CEILING - RANDOM_ID_FLOOR)
        if session.get(model, candidate) is None:
            return candidate


def _participation(
    session: Session,
    contact_id: int,
    questionnaire_id: str,
    *,
    round_id: int | None = None,
    event_id: int | None = None,
) -> SurveyParticipation | None:
    subject = (
        SurveyParticipation.round_id == round_id
        if round_id is not None
        else SurveyParticipation.event_id == event_id
    )
    return session.exec(
        select(SurveyParticipation).where(
            subject,
            SurveyParticipation.contact_id == contact_id,
            SurveyParticipation.questionnaire == questionnaire_id,
        )
    ).first()


def _check_participant(contact: Contact, survey_round: SurveyRound) -> Questionnaire:
    survey = questionnaire_for(contact)
    if survey is None or contact.enterprise_id != survey_round.enterprise_id:
        raise SurveyError("not_participant")
    return survey


def _open_round(session: Session, round_id: int) -> SurveyRound:
    survey_round = session.get(SurveyRound, round_id)
    if survey_round is None:
        raise SurveyError("unknown_round")
    if survey_round.closed_at is not None:
        raise SurveyError("round_closed", number=survey_round.number)
    return survey_round


def _held_response(
    session: Session,
    held: Handle | None,
    questionnaire_id: str,
    *,
    round_id: int | None = None,
    event_id: int | None = None,
) -> SurveyResponse | None:
    if held is None:
        return None
    response = session.get(SurveyResponse, held.response_id)
    if (
        response is None
        or response.respondent_key != held.key
        or response.round_id != round_id
        or response.event_id != event_id
        or response.questionnaire != questionnaire_id
        or response.complete
    ):
        return None
    return response


def _begin(
    session: Session,
    *,
    contact: Contact,
    survey: Questionnaire,
    anonymous: bool,
    now: datetime,
    held: Handle | None,
    sources: Mapping[str, Sequence[Option]] | None,
    round_id: int | None = None,
    event_id: int | None = None,
) -> Progress:
    """Starts or resumes a response to a round or to an event (exactly one of the two); the
    caller has checked that the contact may answer and has not answered yet."""
    assert contact.id is not None and (round_id is None) != (event_id is None)
    subject = {"round_id": round_id, "event_id": event_id}
    response = _held_response(session, held, survey.id, **subject)
    if response is None and not anonymous:
        response = session.exec(
            select(SurveyResponse).where(
                SurveyResponse.round_id == round_id
                if round_id is not None
                else SurveyResponse.event_id == event_id,
                SurveyResponse.questionnaire == survey.id,
                SurveyResponse.contact_id == contact.id,
                col(SurveyResponse.complete).is_(False),
            )
        ).first()
    resumed = response is not None
    if _participation(session, contact.id, survey.id, **subject) is None:
        session.add(
            SurveyParticipation(
                contact_id=contact.id, questionnaire=survey.id, started_at=now, **subject
            )
        )
    if response is None:
        # An anonymous person whose handle was lost starts afresh; the unfinished response
        # they leave behind never counts as complete, and cannot be traced to them.
        response = SurveyResponse(
            id=_random_id(session, SurveyResponse),
            questionnaire=survey.id,
            contact_id=None if anonymous else contact.id,
            respondent_key=secrets.token_urlsafe(24),
            started_at=None if anonymous else now,
            **subject,
        )
        session.add(response)
    session.flush()
    found = _progress(session, response, survey, sources)
    found.resumed = resumed and bool(found.answers)
    return found


def start(
    session: Session,
    *,
    contact: Contact,
    round_id: int,
    now: datetime,
    held: Handle | None = None,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress:
    """Starts the contact's response to a round, or resumes the one `held` (or, for a named
    employer response, the one stored under the contact). Refuses a second answer."""
    survey_round = _open_round(session, round_id)
    survey = _check_participant(contact, survey_round)
    assert contact.id is not None
    taken = _participation(session, contact.id, survey.id, round_id=round_id)
    if taken is not None and taken.completed_at is not None:
        raise SurveyError("already_answered", number=survey_round.number)
    return _begin(
        session, contact=contact, survey=survey, anonymous=is_anonymous(survey.id), now=now,
        held=held, sources=sources, round_id=round_id,
    )  # fmt: skip


# -- event reactions -------------------------------------------------------------------------


def event_sources(session: Session, event_id: int) -> dict[str, list[Option]]:
    """The run-time options of the reaction survey of an event: its showcased good practices
    (option codes are the improvement ids, which reports/events.py counts)."""
    return {EVENT_SOURCE: events.good_practice_options(session, event_id)}


def sources_for(session: Session, response: SurveyResponse) -> dict[str, list[Option]]:
    """The run-time options a response's questions draw on (none for round surveys)."""
    return event_sources(session, response.event_id) if response.event_id is not None else {}


def event_anonymous(contact: Contact) -> bool:
    """Workers answer an event's reaction survey anonymously; employers and partners speak for
    their enterprise or organisation, by name (see "Anonymity" above)."""
    return contact.role == Role.WORKER


def _check_attendee(session: Session, event_id: int, contact: Contact) -> None:
    if (
        contact.id is None
        or events.is_organiser(contact)
        or not events.attended(session, event_id, contact.id)
    ):
        raise SurveyError("not_attendee")


def start_event(
    session: Session,
    *,
    contact: Contact,
    event_id: int,
    now: datetime,
    held: Handle | None = None,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress:
    """Starts the reaction survey of an event for a person who attended it, or resumes the one
    `held` (or a named one stored under the contact). Refuses anyone who did not attend, and a
    second answer. `sources` defaults to the event's own (`event_sources`)."""
    event = session.get(Event, event_id)
    survey = content.questionnaire(events.REACTION_QUESTIONNAIRE)
    if event is None or survey is None:
        raise SurveyError("unknown_event")
    _check_attendee(session, event_id, contact)
    assert contact.id is not None
    taken = _participation(session, contact.id, survey.id, event_id=event_id)
    if taken is not None and taken.completed_at is not None:
        raise SurveyError("already_reacted", title=event.title)
    return _begin(
        session, contact=contact, survey=survey, anonymous=event_anonymous(contact), now=now,
        held=held, sources=sources, event_id=event_id,
    )  # fmt: skip


def reacted(session: Session, event_id: int, contact_id: int) -> bool:
    """Whether the contact has completed the event's reaction survey (from participation: an
    anonymous response does not say whose it is)."""
    taken = _participation(session, contact_id, events.REACTION_QUESTIONNAIRE, event_id=event_id)
    return taken is not None and taken.completed_at is not None


def still_open(session: Session, handle: Handle) -> bool:
    """Whether a handle still leads to a response that can take answers (unfinished, its round
    open), e.g. to decide whether a channel should keep it."""
    found = progress(session, handle)
    if found is None or found.question is None:
        return False
    round_id = found.response.round_id
    if round_id is None:
        return True
    survey_round = session.get(SurveyRound, round_id)
    return survey_round is not None and survey_round.closed_at is None


def progress(
    session: Session,
    handle: Handle,
    *,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress | None:
    """The response behind a handle, or None when it is gone or the key does not match."""
    response = session.get(SurveyResponse, handle.response_id)
    if response is None or response.respondent_key != handle.key:
        return None
    survey = content.questionnaire(response.questionnaire)
    if survey is None:
        return None
    return _progress(session, response, survey, sources)


def stored_answers(session: Session, response_id: int) -> dict[str, object]:
    """Question id -> value (int, code, list of codes for multi, text; None when skipped)."""
    rows = session.exec(select(SurveyAnswer).where(SurveyAnswer.response_id == response_id)).all()
    answers: dict[str, object] = {}
    for row in rows:
        value: object = row.value_int if row.value_int is not None else row.value_text
        if row.question_id in answers and value is not None:
            previous = answers[row.question_id]
            answers[row.question_id] = [
                *(previous if isinstance(previous, list) else [previous]),
                value,
            ]
        else:
            answers[row.question_id] = value
    return answers


def options_of(
    question: Question, sources: Mapping[str, Sequence[Option]] | None = None
) -> tuple[Option, ...]:
    """The question's options: those filled in at run time from `options_from`, then the
    static ones."""
    dynamic = tuple((sources or {}).get(question.options_from, ())) if question.options_from else ()
    return dynamic + question.options


def next_question(
    survey: Questionnaire,
    answers: Mapping[str, object],
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Question | None:
    """The first question, in file order, not yet answered or skipped that should be asked."""
    for question in survey.questions:
        if question.id in answers or not question.should_ask(answers):
            continue
        if question.options_from and not options_of(question, sources):
            continue  # a run-time option list that came out empty: nothing to choose from
        return question
    return None


def _progress(
    session: Session,
    response: SurveyResponse,
    survey: Questionnaire,
    sources: Mapping[str, Sequence[Option]] | None,
) -> Progress:
    assert response.id is not None
    answers = stored_answers(session, response.id)
    # Multi answers are lists even with one choice, as Question.should_ask expects.
    for question in survey.questions:
        value = answers.get(question.id)
        if question.type == "multi" and value is not None and not isinstance(value, list):
            answers[question.id] = [value]
    if sources is None:
        sources = sources_for(session, response)
    question = None if response.complete else next_question(survey, answers, sources)
    return Progress(
        response=response, questionnaire=survey, question=question, answers=answers,
        sources=sources,
    )  # fmt: skip


# -- answers ---------------------------------------------------------------------------------


def parse_typed(question: Question, text: str) -> object:
    """What a person typed, as the value `answer` takes: a whole number for scale and number
    questions ("1.200" and "1,200" are twelve hundred), the text itself otherwise."""
    if question.type in ("scale", "number"):
        raw = text.strip().replace(" ", "").replace(".", "").replace(",", "")
        negative = raw.startswith("-")
        digits = raw.removeprefix("-")
        if not digits.isdigit() or len(digits) > 12:
            # Words at a scale question: the buttons are the way to answer it.
            code = "choose_button" if question.type == "scale" else "number_invalid"
            raise SurveyError(code, **bounds(question))
        return -int(digits) if negative else int(digits)
    if question.type == "text":
        return text
    raise SurveyError("choose_button")


def bounds(question: Question) -> dict[str, int]:
    """The range a number answer must lie in (the question's own, or a sane default)."""
    low = question.min if question.min is not None else -NUMBER_LIMIT
    high = question.max if question.max is not None else NUMBER_LIMIT
    return {"min": low, "max": high}


def toggle(
    question: Question,
    picked: Sequence[str],
    code: str,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> list[str]:
    """A multiple-choice selection after tapping `code`: an exclusive option ("none") clears
    the others, any other option clears the exclusive ones; tapping again un-picks."""
    options = options_of(question, sources)
    option = next((o for o in options if o.code == code), None)
    if option is None:
        raise SurveyError("invalid_option")
    if code in picked:
        return [c for c in picked if c != code]
    if option.exclusive:
        return [code]
    exclusive = {o.code for o in options if o.exclusive}
    return [c for c in picked if c not in exclusive] + [code]


def validate(
    question: Question,
    value: object,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> object:
    """The value to store for `question`, or SurveyError saying what is wrong with it."""
    if question.type in ("scale", "number"):
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SurveyError("number_invalid", **bounds(question))
        limits = bounds(question)
        if not limits["min"] <= value <= limits["max"]:
            raise SurveyError("number_out_of_range", **limits)
        return value
    if question.type == "yesno":
        if isinstance(value, bool):
            value = YES if value else "no"
        if value not in (YES, "no"):
            raise SurveyError("invalid_option")
        return value
    codes = {option.code for option in options_of(question, sources)}
    if question.type == "single":
        if not isinstance(value, str) or value not in codes:
            raise SurveyError("invalid_option")
        return value
    if question.type == "multi":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise SurveyError("invalid_option")
        chosen = list(dict.fromkeys(value))
        if not chosen:
            raise SurveyError("choose_one")
        if any(code not in codes for code in chosen):
            raise SurveyError("invalid_option")
        exclusive = {o.code for o in options_of(question, sources) if o.exclusive}
        if len(chosen) > 1 and exclusive & set(chosen):
            raise SurveyError("exclusive_mixed")
        return chosen
    if question.type == "text":
        if not isinstance(value, str):
            raise SurveyError("text_expected", limit=question.max_length)
        text = value.strip()
        if not text:
            raise SurveyError("text_empty", limit=question.max_length)
        if len(text) > question.max_length:
            raise SurveyError("text_too_long", limit=question.max_length, length=len(text))
        return text
    raise SurveyError("invalid_option")


def _current(
    session: Session,
    handle: Handle,
    question_id: str,
    sources: Mapping[str, Sequence[Option]] | None,
    contact: Contact,
) -> Progress:
    found = progress(session, handle, sources=sources)
    if found is None or found.response.complete:
        raise SurveyError("not_current")
    if found.response.round_id is not None:
        _open_round(session, found.response.round_id)
    if found.response.event_id is not None:
        # Attendance is checked on every step: staff may untick someone ticked by mistake.
        _check_attendee(session, found.response.event_id, contact)
    if found.question is None or found.question.id != question_id:
        raise SurveyError("not_current")
    return found


def answer(
    session: Session,
    *,
    handle: Handle,
    contact: Contact,
    question_id: str,
    value: object,
    now: datetime,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress:
    """Stores the answer to the response's current question (validated; an answer to any
    other question is refused as stale), and completes the response after the last one."""
    found = _current(session, handle, question_id, sources, contact)
    assert found.question is not None
    clean = validate(found.question, value, found.sources)
    values = clean if isinstance(clean, list) else [clean]
    for item in values:
        _store(session, found, question_id, item, now)
    return _after_answer(session, found, contact, now, found.sources)


def skip(
    session: Session,
    *,
    handle: Handle,
    contact: Contact,
    question_id: str,
    now: datetime,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress:
    """Records that an optional question was skipped (a row with no value), so that it is not
    asked again and a condition on it is false."""
    found = _current(session, handle, question_id, sources, contact)
    assert found.question is not None
    if not found.question.optional:
        raise SurveyError("not_optional")
    _store(session, found, question_id, None, now)
    return _after_answer(session, found, contact, now, found.sources)


def _store(
    session: Session, found: Progress, question_id: str, value: object, now: datetime
) -> None:
    assert found.response.id is not None
    anonymous = found.response.contact_id is None
    session.add(
        SurveyAnswer(
            id=_random_id(session, SurveyAnswer),
            response_id=found.response.id,
            question_id=question_id,
            value_int=value if isinstance(value, int) else None,
            value_text=value if isinstance(value, str) else None,
            answered_at=None if anonymous else now,
        )
    )


def _after_answer(
    session: Session,
    found: Progress,
    contact: Contact,
    now: datetime,
    sources: Mapping[str, Sequence[Option]] | None,
) -> Progress:
    session.flush()
    after = _progress(session, found.response, found.questionnaire, sources)
    if after.question is None:
        _complete(session, after.response, contact, now)
        after.just_completed = True
    return after


def _complete(session: Session, response: SurveyResponse, contact: Contact, now: datetime) -> None:
    response.complete = True
    if response.contact_id is not None:
        response.completed_at = now
    session.add(response)
    if contact.id is not None:
        taken = _participation(
            session, contact.id, response.questionnaire,
            round_id=response.round_id, event_id=response.event_id,
        )  # fmt: skip
        if taken is not None:
            taken.completed_at = now
            session.add(taken)


# -- who still has to answer -----------------------------------------------------------------


def pending_respondents(session: Session, round_id: int) -> list[Contact]:
    """Employers and workers of the round's enterprise who have not completed their
    questionnaire for this round and can be written to (not opted out, unreachable, erased)."""
    survey_round = session.get(SurveyRound, round_id)
    if survey_round is None:
        return []
    done = (
        select(SurveyParticipation.id)
        .where(
            SurveyParticipation.round_id == round_id,
            SurveyParticipation.contact_id == Contact.id,
            col(SurveyParticipation.completed_at).is_not(None),
        )
        .exists()
    )
    query = (
        select(Contact)
        .where(
            Contact.enterprise_id == survey_round.enterprise_id,
            col(Contact.role).in_(list(QUESTIONNAIRE_OF_ROLE)),
            col(Contact.opted_out_at).is_(None),
            col(Contact.unreachable_at).is_(None),
            col(Contact.erased_at).is_(None),
            ~done,
        )
        .order_by(col(Contact.id))
    )
    return list(session.exec(query))


def participation_counts(session: Session, round_id: int) -> dict[str, dict[str, int]]:
    """Questionnaire -> {"started": n, "completed": n} for a round (who took part, in numbers)."""
    rows = session.exec(
        select(
            SurveyParticipation.questionnaire,
            sa.func.count(),
            sa.func.count(col(SurveyParticipation.completed_at)),
        )
        .where(SurveyParticipation.round_id == round_id)
        .group_by(SurveyParticipation.questionnaire)
    ).all()
    return {name: {"started": started, "completed": completed} for name, started, completed in rows}
