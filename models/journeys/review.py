"""A question about an improvement report and its answer, as two short journeys.

Staff press "❓ Ask a question" under a report card ("rev:ask:<report>"); what they type next
is the question, relayed to the reporter with a "Reply" action ("rev:re:<question>"); what
the reporter types after pressing it is the answer, relayed back. Each journey waits for one
typed message. Stepped aside from (another command), it ends: nothing half-typed is kept, and
the person is told that nothing was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from models import improvements as imp
from models.journeys.core import Input, Outcome, Turn
from models.notices.reports import (
    ASK,
    REPLY,
    message_error,
    parse_id,
    refusal_text,
    relay_answer,
    relay_question,
)
from models.programme import ProgrammeError
from models.tables import Enterprise, Improvement, ImprovementMessage, ReviewStatus
from models.text import esc

GOES_ON, ENDS = True, False
RETYPE = ("text_too_long", "text_too_short", "text_empty")


def _stale(turn: Turn) -> tuple[Outcome, bool]:
    return Outcome(notice=turn._("This button is no longer active.")), ENDS


def _refused(turn: Turn, error: ProgrammeError) -> tuple[Outcome, bool]:
    return Outcome(notice=refusal_text(turn._, error), alert=True), ENDS


@dataclass(frozen=True)
class Ask:
    """Staff ask the reporter of a report a question."""

    name: str = "review.ask"
    resumable: bool = False
    cancel_keeps_draft: bool = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return (entry.payload or "").startswith(ASK)

    def owns(self, payload: str) -> bool:
        return payload.startswith(ASK)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        _ = turn._
        report_id = parse_id(entry.payload, ASK)
        if report_id is None:
            return _stale(turn)
        try:
            improvement = imp.reviewable(turn.session, report_id, turn.contact)
            if improvement.status == ReviewStatus.WITHDRAWN:
                raise ProgrammeError("withdrawn")
        except ProgrammeError as error:
            return _refused(turn, error)
        enterprise = turn.session.get(Enterprise, improvement.enterprise_id)
        turn.data.clear()
        turn.data["report"] = report_id
        text = _(
            "Please type your question about report #{id} for {enterprise}. I will pass it on "
            "and bring the answer back to you. (/cancel to stop)",
            id=report_id,
            enterprise=esc(enterprise.name if enterprise else ""),
        )
        return Outcome().say(text), GOES_ON

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        _ = turn._
        report_id = turn.data.get("report")
        if given.payload is not None:
            return self.start(turn, given)
        if given.text is None or not isinstance(report_id, int):
            return Outcome().say(_("Please type your question as text.")), GOES_ON
        try:
            with turn.session.begin_nested():
                question = imp.ask(
                    turn.session, report_id, reviewer=turn.contact, text=given.text, now=turn.now
                )
        except ProgrammeError as error:
            if error.code in RETYPE:
                return Outcome().say(message_error(_, error)), GOES_ON
            return Outcome().say(refusal_text(_, error)), ENDS
        relay_question(turn.session, question, now=turn.now)
        improvement = turn.session.get(Improvement, report_id)
        enterprise = (
            turn.session.get(Enterprise, improvement.enterprise_id) if improvement else None
        )
        text = _(
            "Sent to {enterprise}. Their answer will come to you here.",
            enterprise=esc(enterprise.name if enterprise else "—"),
        )
        return Outcome().say(text), ENDS

    def pause(self, turn: Turn) -> Outcome:
        return cancelled(turn)

    def aside(self, turn: Turn) -> Outcome:
        return Outcome().say(turn._("I did not send anything."))


@dataclass(frozen=True)
class Answer:
    """The reporter answers a question from staff."""

    name: str = "review.answer"
    resumable: bool = False
    cancel_keeps_draft: bool = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return (entry.payload or "").startswith(REPLY)

    def owns(self, payload: str) -> bool:
        return payload.startswith(REPLY)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        _ = turn._
        question_id = parse_id(entry.payload, REPLY)
        reporter = turn.contact
        question = turn.session.get(ImprovementMessage, question_id) if question_id else None
        improvement = turn.session.get(Improvement, question.improvement_id) if question else None
        if (
            question is None
            or improvement is None
            or reporter is None
            or question.recipient_id != reporter.id
        ):
            return Outcome(notice=_("This button is no longer active."), alert=True), ENDS
        if improvement.status == ReviewStatus.WITHDRAWN:
            notice = _("You withdrew this report, so there is nothing to answer.")
            return Outcome(notice=notice), ENDS
        turn.data.clear()
        turn.data["question"] = question_id
        text = _(
            "Please type your answer to: <i>{question}</i>\n(/cancel to stop)",
            question=esc(question.text),
        )
        return Outcome().say(text), GOES_ON

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        _ = turn._
        question_id = turn.data.get("question")
        if given.payload is not None:
            return self.start(turn, given)
        if given.text is None or not isinstance(question_id, int):
            return Outcome().say(_("Please type your answer as text.")), GOES_ON
        try:
            with turn.session.begin_nested():
                reply = imp.answer(
                    turn.session, question_id, reporter=turn.contact, text=given.text,
                    now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            if error.code in RETYPE:
                return Outcome().say(message_error(_, error)), GOES_ON
            return Outcome().say(refusal_text(_, error)), ENDS
        relay_answer(turn.session, reply, now=turn.now)
        text = _("Thank you! I passed your answer on to your OSH service provider.")
        return Outcome().say(text), ENDS

    def pause(self, turn: Turn) -> Outcome:
        return cancelled(turn)

    def aside(self, turn: Turn) -> Outcome:
        return Outcome().say(turn._("I did not send anything."))


def cancelled(turn: Turn) -> Outcome:
    _ = turn._
    text = _("Cancelled. What would you like to do next?") if turn.contact else _("Cancelled.")
    return Outcome().say(text, menu=True)


ASK_QUESTION = Ask()
ANSWER_QUESTION = Answer()
