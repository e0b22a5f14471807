"""Journeys made of steps, one question each: a `Form`.

A step asks (`ask`: the prompt and its actions), takes the answer (`take`: a pressed action or
typed text becomes a value, or a `ProgrammeError` whose code names what is wrong, told from
the one catalogue in errors.py), and keeps it in the draft under its name (or `save`s it its
own way). The next step is the first one, in order, whose answer the draft does not hold yet
(a form that lets people change an answer from its summary just drops that answer); when none
is left, the form `finish`es. Steps are plain Python: a step with an unusual rule writes its
own `take` or `save`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from models.journeys.core import Input, Outcome, Reply, Turn
from models.journeys.errors import STALE, error_text
from models.programme import ProgrammeError

GOES_ON, ENDS = True, False

Take = Callable[[Turn, Input], Any]


@dataclass(frozen=True)
class Step:
    name: str
    ask: Callable[[Turn], Reply]
    take: Take
    save: Callable[[Turn, Any], None] | None = None
    # After a wrong answer: "" only says what is wrong (typed text: the question is just
    # above); "actions" offers the step's actions again under it; "prompt" asks again in full.
    reask: str = ""


def typed(parse: Callable[[str], Any]) -> Take:
    """Typed text, read by `parse` (which raises ProgrammeError)."""

    def take(turn: Turn, given: Input) -> Any:
        if given.payload is not None:
            raise ProgrammeError(STALE)
        if given.text is None:
            raise ProgrammeError("text_expected")
        return parse(given.text)

    return take


def choice(
    prefix: str,
    valid: Callable[[str], bool],
    *,
    typed: Callable[[str], str | None] | None = None,
    wrong: str = "choose_button",
) -> Take:
    """One of the step's actions ("<prefix><code>"), or, with `typed`, words that name one."""

    def take(turn: Turn, given: Input) -> Any:
        if given.payload is not None:
            code = given.payload.removeprefix(prefix)
            if given.payload.startswith(prefix) and valid(code):
                return code
            raise ProgrammeError(STALE)
        found = typed(given.text) if typed is not None and given.text else None
        if found is None:
            raise ProgrammeError(wrong)
        return found

    return take


def one_of(*payloads: str, wrong: str = "choose_button") -> Take:
    """Exactly one of these actions (Save, Cancel...)."""

    def take(turn: Turn, given: Input) -> Any:
        if given.payload in payloads:
            return given.payload
        if given.payload is not None:
            raise ProgrammeError(STALE)
        raise ProgrammeError(wrong)

    return take


class Form:
    """A journey of `steps`. Subclasses say how it opens (`starts`, `owns`, `begin`) and what
    happens once every step is answered (`finish`)."""

    name: str
    resumable: bool = True
    cancel_keeps_draft: bool = False
    keeps: frozenset[str] = frozenset()
    steps: tuple[Step, ...] = ()

    # -- what a subclass provides ------------------------------------------------------------

    def starts(self, entry: Input) -> bool:
        raise NotImplementedError

    def owns(self, payload: str) -> bool:
        raise NotImplementedError

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        """Checks who may start it and fills the draft; an Outcome refuses (the form ends)."""
        return None

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        raise NotImplementedError

    def pause(self, turn: Turn) -> Outcome:
        _ = turn._
        return Outcome().say(_("Cancelled. What would you like to do next?"), menu=True)

    def aside(self, turn: Turn) -> Outcome:
        from models.journeys.core import paused_note

        return Outcome(replies=[paused_note(turn.language)])

    # -- the engine's side -------------------------------------------------------------------

    def step(self, name: object) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def pending(self, turn: Turn, steps: Iterable[Step] | None = None) -> Step | None:
        return next((s for s in steps or self.steps if s.name not in turn.data), None)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        turn.data.clear()
        refused = self.begin(turn, entry)
        if refused is not None:
            return refused, ENDS
        return self.next(turn, Outcome())

    def next(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        """Asks the first step not answered yet, or finishes."""
        following = self.pending(turn)
        if following is None:
            turn.data.pop("step", None)
            return self.finish(turn, outcome)
        turn.data["step"] = following.name
        return outcome.show(following.ask(turn)), GOES_ON

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        step = self.step(turn.data.get("step"))
        if step is None:
            return Outcome(notice=turn._("This button is no longer active.")), ENDS
        try:
            value = step.take(turn, given)
        except ProgrammeError as error:
            if error.code == STALE:
                return Outcome(notice=error_text(turn._, error, turn.language)), GOES_ON
            wrong = error_text(turn._, error, turn.language)
            if step.reask == "prompt":
                return Outcome().say(wrong).show(step.ask(turn)), GOES_ON
            actions = step.ask(turn).actions if step.reask == "actions" else ()
            return Outcome().say(wrong, actions), GOES_ON
        if step.save is not None:
            step.save(turn, value)
        else:
            turn.data[step.name] = value
        outcome = Outcome()
        if given.payload is not None:
            # The answered question keeps its words and loses its buttons.
            outcome.edit, outcome.edit_actions_only = Reply(""), True
        else:
            outcome.retire_buttons = True
        return self.next(turn, outcome)
