"""The choices of the plain commands, for a channel without buttons (Zalo): /deleteme's
confirmation, /privacy's switches and /language's two languages are numbered options, and the
numbers live in the person's journey draft like any journey's. Telegram answers the same
commands with buttons that keep nothing (handlers/privacy.py, handlers/common.py); both call
the same domain functions (models/privacy.py, models/programme.py).

The journeys open on a command no one can type (a word with a dot, which neither channel's
commands allow): only the Zalo driver opens them, so Telegram never routes its own commands
here. Each ends with its answer; stepped aside from, it is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import LANGUAGES, translator
from models import privacy
from models.journeys.core import Action, Input, Outcome, Turn
from models.programme import set_language
from models.tables import ConsentPurpose

GOES_ON, ENDS = True, False
PREFIX = "rgt:"
ERASE = PREFIX + "erase"
KEEP = PREFIX + "keep"
TOGGLE = PREFIX + "toggle:"
DONE = PREFIX + "done"
LANGUAGE = PREFIX + "lang:"
# Opened by the Zalo driver only.
OPEN_ERASE = "zalo.deleteme"
OPEN_PRIVACY = "zalo.privacy"
OPEN_LANGUAGE = "zalo.language"
OPENERS = frozenset({OPEN_ERASE, OPEN_PRIVACY, OPEN_LANGUAGE})


@dataclass(frozen=True)
class Rights:
    name: str = "rights"
    resumable: bool = False
    cancel_keeps_draft: bool = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return entry.command in OPENERS

    def owns(self, payload: str) -> bool:
        return payload.startswith(PREFIX)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        turn.data.clear()
        if turn.contact is None:
            return Outcome().say(
                turn._("We hold nothing about you: you have not joined the programme.")
            ), ENDS
        if entry.command == OPEN_ERASE:
            turn.data["asked"] = "erase"
            return Outcome().say(*_erase_question(turn)), GOES_ON
        if entry.command == OPEN_LANGUAGE:
            turn.data["asked"] = "language"
            return Outcome().say(*_language_question(turn)), GOES_ON
        turn.data["asked"] = "privacy"
        return Outcome().say(*_choices_card(turn)), GOES_ON

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        _, contact, payload = turn._, turn.contact, given.payload or ""
        if payload == KEEP:
            return Outcome().say(_("Nothing was erased."), menu=True), ENDS
        if payload == ERASE and contact is not None:
            privacy.erase(turn.session, contact, now=turn.now)
            return Outcome().say(
                privacy.erased_text(_)
                + "\n\n"
                + _("If you want to take part again later, type the code of a new invite.")
            ), ENDS
        if payload.startswith(LANGUAGE):
            language = payload.removeprefix(LANGUAGE)
            if language not in LANGUAGES:
                return Outcome().say(*_language_question(turn)), GOES_ON
            chosen = translator(language)
            if contact is not None:
                set_language(turn.session, contact, language)
            return Outcome().say(
                chosen("Done. I will write to you in English from now on."), menu=True
            ), ENDS
        if payload.startswith(TOGGLE) and contact is not None:
            try:
                purpose = ConsentPurpose(payload.removeprefix(TOGGLE))
            except ValueError:
                purpose = None
            if purpose is not None and privacy.toggle(turn.session, contact, purpose, now=turn.now):
                return Outcome(notice=_("Saved.")).say(*_choices_card(turn)), GOES_ON
        if payload == DONE:
            return Outcome().say(_("Saved."), menu=True), ENDS
        # Anything else: the question again, with its numbers.
        asked = turn.data.get("asked")
        if asked == "language" or contact is None:
            return Outcome().say(*_language_question(turn)), GOES_ON
        if asked == "erase":
            return Outcome().say(*_erase_question(turn)), GOES_ON
        return Outcome().say(*_choices_card(turn)), GOES_ON

    def pause(self, turn: Turn) -> Outcome:
        return Outcome().say(turn._("Cancelled. What would you like to do next?"), menu=True)

    def aside(self, turn: Turn) -> Outcome:
        return Outcome()


def _language_question(turn: Turn) -> tuple[str, list[list[Action]]]:
    return turn._("Which language would you like?"), [
        [Action("Tiếng Việt", LANGUAGE + "vi"), Action("English", LANGUAGE + "en")]
    ]


def _erase_question(turn: Turn) -> tuple[str, list[list[Action]]]:
    _ = turn._
    return privacy.erase_question(_, channel="zalo"), [
        [Action(_("🗑 Yes, erase my data"), ERASE)],
        [Action(_("No, keep it"), KEEP)],
    ]


def _choices_card(turn: Turn) -> tuple[str, list[list[Action]]]:
    _, contact = turn._, turn.contact
    assert contact is not None and contact.id is not None
    active = privacy.active_consents(turn.session, contact.id)
    actions = [
        [Action(privacy.toggle_label(_, purpose, purpose in active), TOGGLE + purpose)]
        for purpose in privacy.choosable(contact)
    ]
    actions.append([Action(_("✔ Done"), DONE)])
    return privacy.choices_text(_, contact, active), actions


RIGHTS = Rights()
