"""Staff answer a thread of the direct line (models/inbox.py): after "↩️ Answer" under a
thread, their next text, photo or voice note is the answer, relayed to the person in the
person's language. Stepped aside from, it ends: nothing half-sent is kept."""

from __future__ import annotations

from dataclasses import dataclass

from models import inbox
from models.inbox import ANSWER, CLOSE, error_text
from models.journeys.core import Action, Input, Outcome, Turn
from models.programme import ProgrammeError
from models.tables import Enterprise
from models.text import esc

GOES_ON, ENDS = True, False
# After these the thread cannot take an answer from this person any more.
FINAL = ("closed", "person_gone", "not_allowed", "stale")


def thread_of(payload: str | None) -> int | None:
    raw = (payload or "").removeprefix(ANSWER)
    return int(raw) if (payload or "").startswith(ANSWER) and raw.isdigit() else None


@dataclass(frozen=True)
class AnswerThread:
    name: str = "inbox.answer"
    resumable: bool = False
    cancel_keeps_draft: bool = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return (entry.payload or "").startswith(ANSWER)

    def owns(self, payload: str) -> bool:
        return payload.startswith(ANSWER)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        _ = turn._
        thread_id = thread_of(entry.payload)
        try:
            if thread_id is None:
                raise ProgrammeError("stale")
            thread = inbox.thread_for(turn.session, thread_id, turn.contact)
            if thread.status != inbox.OPEN:
                raise ProgrammeError("closed")
        except ProgrammeError as error:
            return Outcome(notice=error_text(_, error), alert=True), ENDS
        enterprise = turn.session.get(Enterprise, thread.enterprise_id)
        turn.data.clear()
        turn.data["thread"] = thread_id
        text = _(
            "Please send your answer to thread #{id} ({enterprise}): text, a photo or a voice "
            "note. I will pass it on. (/cancel to stop)",
            id=thread_id,
            enterprise=esc(enterprise.name if enterprise else "—"),
        )
        return Outcome().say(text), GOES_ON

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        _ = turn._
        if given.payload is not None:
            return self.start(turn, given)
        thread_id = turn.data.get("thread")
        usable = given.text is not None or (
            given.upload is not None and given.upload.kind in ("photo", "voice")
        )
        if not isinstance(thread_id, int) or not usable:
            return Outcome().say(
                _("Please send your answer as text, a photo or a voice note.")
            ), GOES_ON
        content = None
        try:
            with turn.session.begin_nested():
                content = inbox.content_of(given.text, given.upload, turn.place.media_dir)
                thread, sent = inbox.answer(
                    turn.session, thread_id, turn.contact, content, now=turn.now
                )
                inbox.relay_answer(
                    turn.session, thread, sent, media_root=turn.place.media_dir, now=turn.now
                )
        except ProgrammeError as error:
            if content is not None and content.file_path:
                (turn.place.media_dir / content.file_path).unlink(missing_ok=True)
            return Outcome().say(error_text(_, error)), ENDS if error.code in FINAL else GOES_ON
        text = _("Sent. Close thread #{id} when nothing more is needed.", id=thread_id)
        return Outcome().say(text, [[Action(_("✔ Close"), f"{CLOSE}{thread_id}")]]), ENDS

    def pause(self, turn: Turn) -> Outcome:
        _ = turn._
        return Outcome().say(_("Cancelled. What would you like to do next?"), menu=True)

    def aside(self, turn: Turn) -> Outcome:
        return Outcome().say(turn._("I did not send anything."))


ANSWER_THREAD = AnswerThread()
