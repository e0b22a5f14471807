"""An invitee's answer to an event's invitation (✅ Going, 🤔 Maybe, ✖ Can't come), on every
channel: the buttons of the invitation, the reminders and the invitee's card
(models/notices/events.py `rsvp_buttons`, payload `evr:<event>:<answer>`) on Telegram, their
numbers or words on Zalo.

Every answer is a one-shot press: checked against the database (models/events.py `answer`:
invited people only, until the event starts) and never holding the foreground, so the journey
in front stays as it was. A changed answer marks the chosen button; the same answer again
changes nothing; a stale or forged one is told why, and the buttons of an event that started or
was cancelled go.
"""

from __future__ import annotations

from models import events
from models.journeys.core import Action, Input, Outcome, Reply, Turn
from models.journeys.errors import STALE, error_text
from models.notices import events as pages
from models.programme import ProgrammeError

PREFIX = events.RSVP_DATA
ENDS = False
# Refusals after which the answer buttons can never work again: they go.
SPENT = frozenset({"unknown_event", "event_cancelled", "event_started"})


def parsed(payload: str | None) -> tuple[int, str] | None:
    """(event id, answer) of an answer's payload; None when forged or stale."""
    parts = (payload or "").removeprefix(PREFIX).split(":")
    if not (payload or "").startswith(PREFIX) or len(parts) != 2:
        return None
    event, answer = parts
    if not (event.isdigit() and len(event) <= 10 and int(event) < 2**31):
        return None
    return (int(event), answer) if answer in events.ANSWERS else None


class Rsvp:
    name = "events.rsvp"
    resumable = False
    cancel_keeps_draft = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return False

    def owns(self, payload: str) -> bool:
        return payload.startswith(PREFIX)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        return self.handle(turn, entry)

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        _ = turn._
        found = parsed(given.payload)
        if found is None or turn.contact is None:
            return Outcome(notice=error_text(_, ProgrammeError(STALE), turn.language)), ENDS
        event_id, value = found
        try:
            with turn.session.begin_nested():
                _row, changed = events.answer(
                    turn.session, event_id=event_id, contact=turn.contact, value=value,
                    now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            outcome = Outcome(notice=error_text(_, error, turn.language, tz=turn.tz), alert=True)
            if error.code in SPENT:
                outcome.edit, outcome.edit_actions_only = Reply(""), True
            return outcome, ENDS
        outcome = Outcome(notice=pages.rsvp_thanks(_, value))
        if changed:
            # The answer given is marked on the buttons, which stay for a change of mind.
            marked = pages.rsvp_buttons(_, event_id, value)
            rows = [[Action(label, data) for label, data in row] for row in marked]
            outcome.edit, outcome.edit_actions_only = Reply("", rows), True
        return outcome, ENDS

    def pause(self, turn: Turn) -> Outcome:
        return Outcome()

    def aside(self, turn: Turn) -> Outcome:
        return Outcome()


RSVP = Rsvp()
