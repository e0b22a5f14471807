"""Staff change the public wording of a good practice: a form of one step (steps.py).

"✏️ Public wording" under a library card ("gp:edit:<entry>") shows the wording people see now
and waits for the new one; the enterprise's own report stays as it was reported. Who may change
the entry (staff of its provider, coordinators) is checked against the database when the button
is pressed and again when the wording is saved. Set aside by another command, the form ends:
nothing half-typed is kept. Browsing the library and withdrawing an entry are one-shot buttons
(handlers/goodpractices.py).
"""

from __future__ import annotations

from bot.i18n import format_number
from models import goodpractice
from models.journeys.core import Input, Outcome, Reply, Turn
from models.journeys.errors import STALE, error_text
from models.journeys.steps import ENDS, Form, Step
from models.notices.cards import card
from models.programme import ProgrammeError
from models.text import esc

EDIT = "gp:edit:"  # gp:edit:<improvement id>

# The domain's codes, as this form tells them (errors.py).
RENAMED = {
    "text_too_short": "wording_too_short",
    "text_too_long": "wording_too_long",
    "not_allowed": "not_your_entry",
}


def renamed(error: ProgrammeError) -> ProgrammeError:
    return ProgrammeError(RENAMED.get(error.code, error.code), **error.details)


def entry_id(payload: str | None) -> int | None:
    raw = (payload or "").removeprefix(EDIT)
    return int(raw) if raw.isdigit() else None


def wording(turn: Turn, given: Input) -> str:
    if given.payload is not None:
        raise ProgrammeError(STALE)
    if given.text is None:
        raise ProgrammeError("wording_expected")
    try:
        return goodpractice.clean_public_text(given.text)
    except ProgrammeError as error:
        raise renamed(error) from None


def wording_prompt(turn: Turn) -> Reply:
    shown = goodpractice.entry(turn.session, turn.data["entry"])
    return Reply(
        turn._(
            "The wording people see now:\n<i>{text}</i>\n\nPlease send the new public wording "
            "({low} to {high} characters). The enterprise's original report stays as it was. "
            "/cancel to keep it.",
            text=esc(shown.text if shown is not None else ""),
            low=goodpractice.PUBLIC_TEXT_MIN,
            high=format_number(goodpractice.PUBLIC_TEXT_MAX, turn.language),
        )
    )


class EditWording(Form):
    name = "goodpractices.edit"
    resumable = False
    steps = (Step("text", wording_prompt, wording),)

    def starts(self, entry: Input) -> bool:
        return (entry.payload or "").startswith(EDIT)

    def owns(self, payload: str) -> bool:
        return payload.startswith(EDIT)

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        item_id = entry_id(entry.payload)
        found = goodpractice.entry(turn.session, item_id) if item_id is not None else None
        if found is None:
            return refusal(turn, ProgrammeError("not_in_library"))
        if not goodpractice.can_manage(turn.contact, found):
            return refusal(turn, ProgrammeError("not_your_entry"))
        turn.data["entry"] = found.id
        return None

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        _ = turn._
        contact = turn.contact
        try:
            if contact is None:
                raise ProgrammeError("not_allowed")
            with turn.session.begin_nested():
                item = goodpractice.edit_public_text(
                    turn.session, improvement_id=turn.data["entry"], text=turn.data["text"],
                    actor=contact, now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            return outcome.say(error_text(_, renamed(error), turn.language)), ENDS
        saved = _("Saved. The library now shows:") + "\n\n" + card(item, turn.language)
        return outcome.say(saved, menu=True), ENDS


def refusal(turn: Turn, error: ProgrammeError) -> Outcome:
    return Outcome(notice=error_text(turn._, error, turn.language), alert=True)


EDIT_WORDING = EditWording()
