"""Follow-up surveys: rounds, who is answering, released answers, and who has still to answer.

Channel-free and keyed by the person: a channel starts or resumes a questionnaire with
`start(contact, round)` or `start_event(contact, event)`, and then calls `answer` / `skip` with
the contact and the `Subject` (the round or the event) until `Progress.just_completed`. Nothing
has to be kept by the channel: the answers so far are in the database (`SurveyPending`), so a
restart, another channel or another process resumes at the same question. The questionnaires
themselves are content (`content/surveys/*.toml`, read by `models.content`).

Rounds. An enterprise has rounds 1, 2, ... (usually one after each revisit). At most one is
open: opening a new round closes the previous one, and a closed round takes no more answers (a
questionnaire left unfinished there is dropped; the person answers the new round instead).

Events. After an event, the people who attended answer its reaction survey (the
`event_reaction` questionnaire) with the same functions: `start_event` instead of `start`. Only
attendees answer (`models.events.attended`), once per event, until the answering window closes
(`reaction_closes_at`: a week after the last invitation can have gone out). Its
`practices_to_try` question offers the good practices the event showcased, as run-time options
(`event_sources`); the steps find them from the event by themselves, so that whatever carries
the conversation cannot pass the wrong list, and a question whose list comes out empty is
skipped.

Anonymity. Employer answers are not anonymous: their response names the contact and keeps its
times, and it counts as soon as it is complete. An event reaction is the voice of the
enterprise or organisation that attended (employers, partners) and is named the same way; a
worker answers it anonymously, like the worker survey. Worker answers are protected twice:

- Against reading the figures: worker answers count in a figure only from released units, and
  a unit is one enterprise's CLOSED round (or one event's reaction survey once its answering
  window has closed) with at least MIN_GROUP complete worker questionnaires. A released unit
  never changes again (a late answer is dropped), and a unit that closes with fewer is never
  released: its answers are deleted. Every figure of worker answers is a sum over whole
  released units, so the difference of any two figures, of any roles, periods or scopes, is
  again a sum over whole units of at least MIN_GROUP people (README, "Privacy and security").
- Against reading the database: while a worker answers, their answers are personal data kept
  under their contact (`SurveyPending`). On completion only the participation row and the
  pending row change. The anonymous `SurveyResponse` / `SurveyAnswer` rows are written later
  by `release` (the scheduler's `surveys` job), in a transaction of their own that writes no
  row naming a person, for at least MIN_GROUP completed questionnaires of one unit at a time
  (and the whole unit again, shuffled, when it closes): random ids, random insertion order, no
  contact, no time, no sequence. So no transaction id, physical position, timestamp or
  sequence value of a row that names a person matches one of an anonymous row.
- `SurveyParticipation` says WHO took part and whether they finished: what nudges and the
  "already answered" refusal need. It has no column that points at a response.

What this does not hide: the text a person types (the questionnaire asks not to write names);
pending answers, which name their contact until release (and their dead row versions, which
stay in the data files until VACUUM, and the server's write-ahead log and backups); and which
MIN_GROUP or more people of a unit completed it (participation), though not who said what.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import content, events
from models.content import YES, Option, Question, Questionnaire
from models.enterprises import followed_up
from models.outbox import Message, reachable
from models.programme import ProgrammeError, audit
from models.tables import (
    Contact,
    Enterprise,
    Event,
    Role,
    SurveyAnswer,
    SurveyParticipation,
    SurveyPending,
    SurveyResponse,
    SurveyRound,
)

QUESTIONNAIRE_OF_ROLE: Mapping[Role, str] = {Role.EMPLOYER: "employer", Role.WORKER: "worker"}
ANONYMOUS = frozenset({"worker"})
# The smallest group of worker questionnaires released together, and shown in any figure (the
# worker questionnaire promises it: "results are only shown for groups of 3 or more").
MIN_GROUP = 3
# How long after the last reaction-survey invitation can go out (models/events.py) the event's
# reaction survey still takes answers; then its worker answers are released.
REACTION_ANSWER_TIME = timedelta(days=7)

# Callback data of the button that opens a survey from a proactive message (scheduler nudges).
START_PREFIX = "fb:start:"
# ... and of the button of an event's reaction-survey invitation (models/events.py sends it).
EVENT_START_PREFIX = events.SURVEY_DATA  # fb:event:<event id>
EVENT_SOURCE = "event_good_practices"  # `options_from` of the reaction survey

# Survey rows get random ids from this range: an autoincrement id would give away the order in
# which answers were released. The floor keeps them clear of any sequence-issued ids.
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
    the next visit), and for an archived enterprise (its round closed when it was archived)."""
    found = current_round(session, enterprise_id)
    if found is not None:
        return found
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None or enterprise.archived_at is not None:
        return None
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


# -- answering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What a questionnaire answers: a round or an event (exactly one)."""

    round_id: int | None = None
    event_id: int | None = None

    def __post_init__(self) -> None:
        if (self.round_id is None) == (self.event_id is None):
            raise ValueError("a survey subject is a round or an event")

    @property
    def text(self) -> str:
        """'r<round>' or 'e<event>': for a channel to remember which survey is in hand."""
        return f"r{self.round_id}" if self.round_id is not None else f"e{self.event_id}"

    @classmethod
    def parse(cls, text: object) -> Subject | None:
        raw = str(text or "")
        if len(raw) < 2 or raw[0] not in "re" or not raw[1:].isdigit() or len(raw) > 12:
            return None
        number = int(raw[1:])
        return cls(round_id=number) if raw[0] == "r" else cls(event_id=number)

    def columns(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "event_id": self.event_id}

    def of(self, model: Any) -> Any:
        """The condition that a row of `model` (with round_id and event_id) is about this."""
        if self.round_id is not None:
            return col(model.round_id) == self.round_id
        return col(model.event_id) == self.event_id


@dataclass
class Progress:
    """Where a person's questionnaire stands: the next question (None once complete) and the
    answers so far."""

    pending: SurveyPending
    questionnaire: Questionnaire
    question: Question | None
    answers: dict[str, object] = field(default_factory=dict)
    # The run-time option lists the questions were built with (an event's good practices):
    # pass them back on the next step, and use them to show the options.
    sources: Mapping[str, Sequence[Option]] = field(default_factory=dict)
    resumed: bool = False
    just_completed: bool = False

    @property
    def subject(self) -> Subject:
        return Subject(self.pending.round_id, self.pending.event_id)

    @property
    def anonymous(self) -> bool:
        return self.pending.anonymous

    @property
    def tag(self) -> str:
        """A short piece of the questionnaire's random key for button data, so that a button of
        another questionnaire (an earlier round, a finished survey) is recognised as stale."""
        return self.pending.key[:8]

    @property
    def number(self) -> int:
        """Position of the next question among those this person is asked (1-based)."""
        return len(self.answers) + 1

    @property
    def total(self) -> int:
        """How many questions this person is asked in all, as far as the answers so far tell:
        those behind them and those ahead whose condition already holds. A follow-up counts
        from the moment the answer it follows up makes it due."""
        ahead = [
            question
            for question in self.questionnaire.questions
            if question.id not in self.answers
            and question.should_ask(self.answers)
            and not (question.options_from and not options_of(question, self.sources))
        ]
        return len(self.answers) + len(ahead)

    @property
    def for_worker(self) -> bool:
        """Whether the questions are put to a worker (who answers anonymously, in the worker
        survey and in an event's reaction survey alike)."""
        return self.pending.anonymous

    def question_text(self, language: str) -> str:
        """The next question as this person reads it: a worker is asked about their workplace
        where an employer is asked about the enterprise."""
        assert self.question is not None
        return self.question.text(language, worker=self.for_worker)

    @property
    def index(self) -> int:
        """Index of the next question in the questionnaire (-1 once complete)."""
        if self.question is None:
            return -1
        return self.questionnaire.questions.index(self.question)


def _random_id(session: Session, model: type[Any], taken: set[int]) -> int:
    while True:
        candidate = RANDOM_ID_FLOOR + secrets.randbelow(RANDOM_ID_CEILING - RANDOM_ID_FLOOR)
        if candidate not in taken and session.get(model, candidate) is None:
            taken.add(candidate)
            return candidate


def _participation(
    session: Session, contact_id: int, questionnaire_id: str, subject: Subject
) -> SurveyParticipation | None:
    return session.exec(
        select(SurveyParticipation).where(
            subject.of(SurveyParticipation),
            SurveyParticipation.contact_id == contact_id,
            SurveyParticipation.questionnaire == questionnaire_id,
        )
    ).first()


def _pending(session: Session, contact_id: int, subject: Subject) -> SurveyPending | None:
    return session.exec(
        select(SurveyPending).where(
            subject.of(SurveyPending), SurveyPending.contact_id == contact_id
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


def _begin(
    session: Session,
    *,
    contact: Contact,
    survey: Questionnaire,
    anonymous: bool,
    now: datetime,
    sources: Mapping[str, Sequence[Option]] | None,
    subject: Subject,
) -> Progress:
    """Starts or resumes the contact's questionnaire; the caller has checked that the contact
    may answer and has not answered yet."""
    assert contact.id is not None
    if _participation(session, contact.id, survey.id, subject) is None:
        session.add(
            SurveyParticipation(
                contact_id=contact.id, questionnaire=survey.id, started_at=now,
                **subject.columns(),
            )
        )  # fmt: skip
    pending = _pending(session, contact.id, subject)
    resumed = pending is not None
    if pending is None:
        pending = SurveyPending(
            contact_id=contact.id, questionnaire=survey.id, anonymous=anonymous,
            key=secrets.token_hex(16), answers={}, **subject.columns(),
        )  # fmt: skip
        session.add(pending)
    session.flush()
    found = _progress(session, pending, survey, sources)
    if found.question is None:
        # Nothing left to ask (the questionnaire changed under a resumed person): it is done.
        _complete(session, found, contact, now)
        found.just_completed = True
    found.resumed = resumed and bool(found.answers)
    return found


def start(
    session: Session,
    *,
    contact: Contact,
    round_id: int,
    now: datetime,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress:
    """Starts the contact's questionnaire for a round, or resumes it where they left it.
    Refuses a second answer, a closed round, and anyone but the enterprise's employers and
    workers."""
    survey_round = _open_round(session, round_id)
    survey = _check_participant(contact, survey_round)
    assert contact.id is not None
    subject = Subject(round_id=round_id)
    taken = _participation(session, contact.id, survey.id, subject)
    if taken is not None and taken.completed_at is not None:
        raise SurveyError("already_answered", number=survey_round.number)
    if survey.id == EMPLOYER and assisted_response(session, round_id) is not None:
        # Staff took the enterprise's answers down at the visit: they count once.
        raise SurveyError("answered_at_visit", number=survey_round.number)
    return _begin(
        session, contact=contact, survey=survey, anonymous=is_anonymous(survey.id), now=now,
        sources=sources, subject=subject,
    )  # fmt: skip


# -- taken down at a visit -------------------------------------------------------------------

EMPLOYER = "employer"


def is_assisted(pending: SurveyPending, contact: Contact) -> bool:
    """Whether a questionnaire in progress is one staff take down for an owner: staff never
    answer the employer questionnaire for themselves."""
    return pending.questionnaire == EMPLOYER and contact.role in (Role.STAFF, Role.COORDINATOR)


def assisted_response(session: Session, round_id: int) -> SurveyResponse | None:
    return session.exec(
        select(SurveyResponse).where(
            SurveyResponse.round_id == round_id,
            col(SurveyResponse.assisted).is_(True),
            col(SurveyResponse.complete).is_(True),
        )
    ).first()


def employer_answered(session: Session, round_id: int) -> bool:
    """Whether an employer of the round's enterprise completed its questionnaire in the chat."""
    found = session.exec(
        select(SurveyParticipation.id).where(
            SurveyParticipation.round_id == round_id,
            SurveyParticipation.questionnaire == EMPLOYER,
            col(SurveyParticipation.completed_at).is_not(None),
        )
    ).first()
    return found is not None


def start_assisted(session: Session, *, staff: Contact, round_id: int, now: datetime) -> Progress:
    """Staff take down the employer questionnaire of a round at the visit, for an owner who
    does not use the chat (the caller checks that they may manage the enterprise). It waits
    under the staff member's own contact while they go through it, and becomes the
    enterprise's employer response, marked `assisted`, with them as its recorder (`_complete`).
    Refused once an employer answered the round in the chat, or once it was taken down."""
    survey_round = _open_round(session, round_id)
    survey = content.questionnaire(EMPLOYER)
    if survey is None or staff.role not in (Role.STAFF, Role.COORDINATOR) or staff.id is None:
        raise SurveyError("not_participant")
    if assisted_response(session, round_id) is not None:
        raise SurveyError("assisted_done", number=survey_round.number)
    if employer_answered(session, round_id):
        raise SurveyError("employer_answered", number=survey_round.number)
    subject = Subject(round_id=round_id)
    pending = _pending(session, staff.id, subject)
    resumed = pending is not None
    if pending is None:
        pending = SurveyPending(
            contact_id=staff.id, questionnaire=survey.id, anonymous=False,
            key=secrets.token_hex(16), answers={}, **subject.columns(),
        )  # fmt: skip
        session.add(pending)
        session.flush()
        audit(session, "survey.assisted.start", actor_id=staff.id, subject=survey_round)
    found = _progress(session, pending, survey, None)
    found.resumed = resumed and bool(found.answers)
    return found


# -- event reactions -------------------------------------------------------------------------


def event_sources(session: Session, event_id: int) -> dict[str, list[Option]]:
    """The run-time options of the reaction survey of an event: its showcased good practices
    (option codes are the improvement ids, which reports/events.py counts)."""
    return {EVENT_SOURCE: events.good_practice_options(session, event_id)}


def sources_for(session: Session, subject: Subject) -> dict[str, list[Option]]:
    """The run-time options a questionnaire's questions draw on (none for round surveys)."""
    return event_sources(session, subject.event_id) if subject.event_id is not None else {}


def event_anonymous(contact: Contact) -> bool:
    """Workers answer an event's reaction survey anonymously; employers and partners speak for
    their enterprise or organisation, by name (see "Anonymity" above)."""
    return contact.role == Role.WORKER


def reaction_closes_at(event: Event) -> datetime:
    """When an event's reaction survey stops taking answers (and its worker answers are
    released): a week after the last invitation can have been sent."""
    return event.starts_at + events.EVENT_LENGTH + events.SURVEY_WINDOW + REACTION_ANSWER_TIME


def _check_attendee(session: Session, event_id: int, contact: Contact, now: datetime) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise SurveyError("unknown_event")
    if (
        contact.id is None
        or events.is_organiser(contact)
        or not events.attended(session, event_id, contact.id)
    ):
        raise SurveyError("not_attendee")
    if now >= reaction_closes_at(event):
        raise SurveyError("reaction_closed", title=event.title)
    return event


def start_event(
    session: Session,
    *,
    contact: Contact,
    event_id: int,
    now: datetime,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress:
    """Starts the reaction survey of an event for a person who attended it, or resumes it.
    Refuses anyone who did not attend, a second answer, and answers after the window closed.
    `sources` defaults to the event's own (`event_sources`)."""
    survey = content.questionnaire(events.REACTION_QUESTIONNAIRE)
    if session.get(Event, event_id) is None or survey is None:
        raise SurveyError("unknown_event")
    event = _check_attendee(session, event_id, contact, now)
    assert contact.id is not None
    subject = Subject(event_id=event_id)
    taken = _participation(session, contact.id, survey.id, subject)
    if taken is not None and taken.completed_at is not None:
        raise SurveyError("already_reacted", title=event.title)
    return _begin(
        session, contact=contact, survey=survey, anonymous=event_anonymous(contact), now=now,
        sources=sources, subject=subject,
    )  # fmt: skip


def reacted(session: Session, event_id: int, contact_id: int) -> bool:
    """Whether the contact has completed the event's reaction survey (from participation)."""
    taken = _participation(
        session, contact_id, events.REACTION_QUESTIONNAIRE, Subject(event_id=event_id)
    )
    return taken is not None and taken.completed_at is not None


def progress(
    session: Session,
    *,
    contact: Contact,
    subject: Subject,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress | None:
    """The contact's unfinished questionnaire for the subject, or None (never started,
    complete, or dropped when its round closed)."""
    if contact.id is None:
        return None
    pending = _pending(session, contact.id, subject)
    if pending is None or pending.complete:
        return None
    survey = content.questionnaire(pending.questionnaire)
    if survey is None:
        return None
    return _progress(session, pending, survey, sources)


def unfinished(session: Session, contact: Contact) -> list[Subject]:
    """The subjects of the contact's unfinished questionnaires, rounds first."""
    if contact.id is None:
        return []
    rows = session.exec(
        select(SurveyPending).where(
            SurveyPending.contact_id == contact.id, col(SurveyPending.complete).is_(False)
        )
    ).all()
    subjects = [Subject(row.round_id, row.event_id) for row in rows]
    return sorted(subjects, key=lambda s: (s.round_id is None, s.round_id or 0, s.event_id or 0))


def stored_answers(session: Session, response_id: int) -> dict[str, object]:
    """A stored response's answers: question id -> value (int, code, list of codes for multi,
    text; None when skipped)."""
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
    pending: SurveyPending,
    survey: Questionnaire,
    sources: Mapping[str, Sequence[Option]] | None,
) -> Progress:
    answers: dict[str, object] = dict(pending.answers or {})
    # Multi answers are lists even with one choice, as Question.should_ask expects.
    for asked in survey.questions:
        value = answers.get(asked.id)
        if asked.type == "multi" and value is not None and not isinstance(value, list):
            answers[asked.id] = [value]
    subject = Subject(pending.round_id, pending.event_id)
    if sources is None:
        sources = sources_for(session, subject)
    question = None if pending.complete else next_question(survey, answers, sources)
    return Progress(
        pending=pending, questionnaire=survey, question=question, answers=answers,
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
    contact: Contact,
    subject: Subject,
    question_id: str,
    sources: Mapping[str, Sequence[Option]] | None,
    now: datetime,
) -> Progress:
    if subject.round_id is not None:
        _open_round(session, subject.round_id)
    if subject.event_id is not None:
        # Attendance is checked on every step: staff may untick someone ticked by mistake.
        _check_attendee(session, subject.event_id, contact, now)
    found = progress(session, contact=contact, subject=subject, sources=sources)
    if found is None or found.question is None or found.question.id != question_id:
        raise SurveyError("not_current")
    return found


def answer(
    session: Session,
    *,
    contact: Contact,
    subject: Subject,
    question_id: str,
    value: object,
    now: datetime,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress:
    """Stores the answer to the contact's current question of the subject (validated; an
    answer to any other question is refused as stale), and completes the questionnaire after
    the last one."""
    found = _current(session, contact, subject, question_id, sources, now)
    assert found.question is not None
    clean = validate(found.question, value, found.sources)
    return _store(session, found, contact, question_id, clean, now)


def skip(
    session: Session,
    *,
    contact: Contact,
    subject: Subject,
    question_id: str,
    now: datetime,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> Progress:
    """Records that an optional question was skipped, so that it is not asked again and a
    condition on it is false."""
    found = _current(session, contact, subject, question_id, sources, now)
    assert found.question is not None
    if not found.question.optional:
        raise SurveyError("not_optional")
    return _store(session, found, contact, question_id, None, now)


def _store(
    session: Session,
    found: Progress,
    contact: Contact,
    question_id: str,
    value: object,
    now: datetime,
) -> Progress:
    # A new dict, so that the JSON column sees the change.
    found.pending.answers = {**(found.pending.answers or {}), question_id: value}
    session.add(found.pending)
    session.flush()
    after = _progress(session, found.pending, found.questionnaire, found.sources)
    if after.question is None:
        _complete(session, after, contact, now)
        after.just_completed = True
    return after


def _complete(session: Session, found: Progress, contact: Contact, now: datetime) -> None:
    """Marks the participation complete. A named questionnaire becomes its response at once;
    an anonymous one waits, complete, for `release` (never written in this transaction, which
    names the person)."""
    pending = found.pending
    if is_assisted(pending, contact):
        _write(
            session, [(found.subject, pending.questionnaire, dict(pending.answers or {}))],
            started_at=now, completed_at=now, assisted=True, recorded_by_id=contact.id,
        )  # fmt: skip
        session.delete(pending)
        audit(session, "survey.assisted", actor_id=contact.id, round=pending.round_id)
        return
    taken = None
    if contact.id is not None:
        taken = _participation(session, contact.id, pending.questionnaire, found.subject)
        if taken is not None:
            taken.completed_at = now
            session.add(taken)
    if pending.anonymous:
        pending.complete = True
        session.add(pending)
        return
    _write(
        session, [(found.subject, pending.questionnaire, dict(pending.answers or {}))],
        contact_id=contact.id, started_at=taken.started_at if taken else now, completed_at=now,
    )  # fmt: skip
    session.delete(pending)


def _write(
    session: Session,
    batch: Sequence[tuple[Subject, str, Mapping[str, object]]],
    *,
    contact_id: int | None = None,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    released: bool = True,
    assisted: bool = False,
    recorded_by_id: int | None = None,
) -> None:
    """Writes complete responses and their answers (a multiple choice one row per option, a
    skipped question one row with neither value), with random ids, in the order given; the
    answers of the whole batch are shuffled together, so that physical order says nothing."""
    taken_responses: set[int] = set()
    taken_answers: set[int] = set()
    rows: list[SurveyAnswer] = []
    for subject, questionnaire, answers in batch:
        response = SurveyResponse(
            id=_random_id(session, SurveyResponse, taken_responses),
            questionnaire=questionnaire, contact_id=contact_id, started_at=started_at,
            completed_at=completed_at, complete=True, released=released, assisted=assisted,
            recorded_by_id=recorded_by_id, **subject.columns(),
        )  # fmt: skip
        session.add(response)
        assert response.id is not None
        for question_id, value in answers.items():
            for item in value if isinstance(value, list) else [value]:
                rows.append(
                    SurveyAnswer(
                        id=_random_id(session, SurveyAnswer, taken_answers),
                        response_id=response.id, question_id=question_id,
                        value_int=item if isinstance(item, int) else None,
                        value_text=item if isinstance(item, str) else None,
                        answered_at=completed_at,
                    )
                )  # fmt: skip
    # Responses are flushed first (the answers reference them); the unit of work inserts the
    # rows of a table in the order they were added.
    session.flush()
    random.SystemRandom().shuffle(rows)
    session.add_all(rows)
    session.flush()


# -- release ---------------------------------------------------------------------------------


def _closed_units(session: Session, now: datetime) -> list[Subject]:
    """Closed rounds and events with anything left to settle: pending questionnaires, or
    anonymous responses not yet released."""
    waiting = sa.or_(
        sa.exists().where(col(SurveyPending.round_id) == SurveyRound.id),
        sa.exists().where(
            col(SurveyResponse.round_id) == SurveyRound.id,
            col(SurveyResponse.contact_id).is_(None),
            col(SurveyResponse.assisted).is_(False),
            col(SurveyResponse.released).is_(False),
        ),
    )
    rounds = session.exec(
        select(SurveyRound.id).where(col(SurveyRound.closed_at).is_not(None), waiting)
    ).all()
    last_start = now - (events.EVENT_LENGTH + events.SURVEY_WINDOW + REACTION_ANSWER_TIME)
    event_waiting = sa.or_(
        sa.exists().where(col(SurveyPending.event_id) == Event.id),
        sa.exists().where(
            col(SurveyResponse.event_id) == Event.id,
            col(SurveyResponse.contact_id).is_(None),
            col(SurveyResponse.released).is_(False),
        ),
    )
    closed_events = session.exec(
        select(Event.id).where(col(Event.starts_at) <= last_start, event_waiting)
    ).all()
    return [Subject(round_id=r) for r in rounds] + [Subject(event_id=e) for e in closed_events]


def _settle(session: Session, subject: Subject, found: Counter[str]) -> None:
    """A closed unit: released whole, shuffled, if it has MIN_GROUP complete anonymous
    questionnaires or more; otherwise its anonymous answers are deleted. Unfinished
    questionnaires are dropped, and a late one for a unit already released too: a released
    unit never changes."""
    pending = session.exec(select(SurveyPending).where(subject.of(SurveyPending))).all()
    done = [p for p in pending if p.anonymous and p.complete]
    found["dropped_unfinished"] += len(pending) - len(done)
    # A response taken down at a visit has no contact either, but it is named: never settled.
    anonymous = sa.and_(
        subject.of(SurveyResponse),
        col(SurveyResponse.contact_id).is_(None),
        col(SurveyResponse.assisted).is_(False),
    )
    already = session.exec(
        select(SurveyResponse.id).where(anonymous, col(SurveyResponse.released)).limit(1)
    ).first()
    written = (
        []
        if already is not None
        else session.exec(
            select(SurveyResponse).where(anonymous, col(SurveyResponse.released).is_(False))
        ).all()
    )
    batch: list[tuple[Subject, str, Mapping[str, object]]] = [
        (subject, p.questionnaire, dict(p.answers or {})) for p in done
    ]
    for response in written:
        assert response.id is not None
        if response.complete:
            batch.append((subject, response.questionnaire, stored_answers(session, response.id)))
        for row in session.exec(
            select(SurveyAnswer).where(SurveyAnswer.response_id == response.id)
        ):
            session.delete(row)
        session.delete(response)
    for waiting in pending:
        session.delete(waiting)
    session.flush()
    if already is not None:
        found["dropped_late"] += len(done)
    elif len(batch) >= MIN_GROUP:
        random.SystemRandom().shuffle(batch)
        _write(session, batch, released=True)
        found["released"] += len(batch)
    else:
        found["dropped_small"] += len(batch)


def release(session: Session, *, now: datetime) -> dict[str, int]:
    """Writes anonymous answers out of the pending table, in a transaction that must write no
    row naming a person (the scheduler's `surveys` job runs it alone): each closed unit is
    settled (`_settle`), and an open unit with MIN_GROUP complete questionnaires waiting or
    more has them written as one shuffled batch, not yet released. Returns how many
    questionnaires went where; never what they said, nor whose they were."""
    found: Counter[str] = Counter()
    closed = _closed_units(session, now)
    for subject in closed:
        _settle(session, subject, found)
    settled = {s.text for s in closed}
    waiting = session.exec(
        select(col(SurveyPending.round_id), col(SurveyPending.event_id), sa.func.count())
        .where(col(SurveyPending.anonymous), col(SurveyPending.complete))
        .group_by(col(SurveyPending.round_id), col(SurveyPending.event_id))
        .having(sa.func.count() >= MIN_GROUP)
    ).all()
    for round_id, event_id, _count in waiting:
        subject = Subject(round_id, event_id)
        if subject.text in settled:
            continue
        done = session.exec(
            select(SurveyPending).where(
                subject.of(SurveyPending), col(SurveyPending.anonymous), col(SurveyPending.complete)
            )
        ).all()
        batch = [(subject, p.questionnaire, dict(p.answers or {})) for p in done]
        for row in done:
            session.delete(row)
        session.flush()
        random.SystemRandom().shuffle(batch)
        _write(session, batch, released=False)
        found["written"] += len(batch)
    return {what: count for what, count in found.items() if count}


def release_job(session: Session, now: datetime, *, config: object = None) -> dict[str, int]:
    """The scheduler's `surveys` job (scheduler/runner.py): `release`, in its own transaction."""
    return release(session, now=now)


def drop_pending(session: Session, contact_id: int) -> int:
    """Deletes a person's questionnaires in progress (erasure): they are personal data."""
    rows = session.exec(select(SurveyPending).where(SurveyPending.contact_id == contact_id)).all()
    for row in rows:
        session.delete(row)
    return len(rows)


def pending_answers(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """A person's questionnaires in progress or awaiting release, for their data export."""
    rows = session.exec(select(SurveyPending).where(SurveyPending.contact_id == contact_id)).all()
    return [
        {
            "questionnaire": row.questionnaire,
            "round_id": row.round_id,
            "event_id": row.event_id,
            "complete": row.complete,
            "answers": dict(row.answers or {}),
        }
        for row in rows
    ]


# -- who still has to answer -----------------------------------------------------------------


def pending_respondents(session: Session, round_id: int) -> list[Contact]:
    """Employers and workers of the round's enterprise who have not completed their
    questionnaire for this round and can be written to (not opted out, unreachable, erased),
    while the enterprise is followed up (not archived)."""
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
    roles = list(QUESTIONNAIRE_OF_ROLE)
    if assisted_response(session, round_id) is not None:
        roles.remove(Role.EMPLOYER)  # staff took the employer's answers down at the visit
    query = (
        select(Contact)
        .where(
            Contact.enterprise_id == survey_round.enterprise_id,
            col(Contact.role).in_(roles),
            col(Contact.opted_out_at).is_(None),
            reachable(),
            col(Contact.erased_at).is_(None),
            followed_up(Contact.enterprise_id),
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
