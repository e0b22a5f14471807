"""The direct line's question on a channel without replies (Zalo): what an employer or worker
sends outside any journey is offered to their provider ("Send this to your provider?"), and
what waits for their Yes is kept in this journey's draft: the words, or the photo's address
(fetched only once they say Yes). Telegram keeps nothing (handlers/inbox.py: its question
replies to the message, and Telegram brings the message back). Both send through
models/inbox.py `send`, once per message (its origin), however often Yes is answered.

Opened by the Zalo driver only (a command no one can type). A new message while the question
waits is the one offered instead; stepped aside from, nothing is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session

from models import inbox
from models.inbox import Content, Kind, error_text
from models.journeys.core import Action, Input, Outcome, Turn
from models.programme import ProgrammeError
from models.tables import JourneyState
from models.text import esc

GOES_ON, ENDS = True, False
NAME = "inbox.offer"
PREFIX = "ofr:"
SEND = PREFIX + "send"
DROP = PREFIX + "drop"
OPEN = "zalo.offer"


@dataclass(frozen=True)
class Offer:
    name: str = NAME
    resumable: bool = False
    cancel_keeps_draft: bool = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return entry.command == OPEN

    def owns(self, payload: str) -> bool:
        return payload.startswith(PREFIX)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        _ = turn._
        photo = entry.upload
        kind = Kind.PHOTO if photo is not None else Kind.TEXT
        words = photo.caption if photo is not None else entry.text
        try:
            if not inbox.may_write(turn.contact) or not entry.origin:
                raise ProgrammeError("not_allowed")
            inbox.check_offer(kind, words, size=photo.size if photo else None, duration=None)
        except ProgrammeError as error:
            return Outcome().say(error_text(_, error)), ENDS
        turn.data.clear()
        turn.data.update(kind=str(kind), text=words, origin=entry.origin)
        if photo is not None:
            turn.data["url"] = photo.ref
        return Outcome().say(*_question(turn)), GOES_ON

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        _ = turn._
        origin = turn.data.get("origin")
        if given.payload == DROP:
            if isinstance(origin, str) and inbox.was_sent(turn.session, origin):
                return Outcome().say(_("This was sent already.")), ENDS
            return Outcome().say(_("Not sent. Send /help to see what you can do.")), ENDS
        if given.payload != SEND or not isinstance(origin, str):
            return Outcome().say(*_question(turn)), GOES_ON
        photo = turn.data.get("kind") == Kind.PHOTO
        content: Content | None = None
        try:
            with turn.session.begin_nested():
                words = turn.data.get("text")
                upload = given.upload
                if photo and upload is None:
                    raise ProgrammeError("download")
                if upload is not None:
                    # The caption was offered with the photo's address; it goes with the photo.
                    upload = replace(upload, caption=words)
                content = inbox.content_of(words, upload if photo else None, turn.place.media_dir)
                sent = inbox.send(turn.session, turn.contact, content, origin=origin, now=turn.now)
                if sent is not None:
                    inbox.notify_staff(
                        turn.session, *sent, media_root=turn.place.media_dir, now=turn.now
                    )
        except ProgrammeError as error:
            _forget(turn, content)
            return Outcome().say(error_text(_, error)), ENDS
        if sent is None:
            _forget(turn, content)
            return Outcome().say(_("This was sent already.")), ENDS
        assert turn.contact is not None
        name = inbox.provider_name(turn.session, turn.contact) or "—"
        return Outcome().say(
            _("📨 Sent to {provider}. Their answer will come to you here.", provider=esc(name))
        ), ENDS

    def pause(self, turn: Turn) -> Outcome:
        return Outcome().say(turn._("Not sent. Send /help to see what you can do."))

    def aside(self, turn: Turn) -> Outcome:
        return Outcome().say(turn._("I did not send anything."))


def _question(turn: Turn) -> tuple[str, list[list[Action]]]:
    _ = turn._
    return _("Send this to your OSH service provider? They will answer you here."), [
        [Action(_("✅ Yes, send it"), SEND), Action(_("✖ No"), DROP)]
    ]


def _forget(turn: Turn, content: Content | None) -> None:
    if content is not None and content.file_path:
        (turn.place.media_dir / content.file_path).unlink(missing_ok=True)


def pending_photo(session: Session, person: str) -> str | None:
    """The address of the photo waiting for the person's Yes, if a photo waits."""
    state = session.get(JourneyState, person)
    if state is None or state.journey != NAME:
        return None
    data = state.data or {}
    url = data.get("url")
    return url if data.get("kind") == Kind.PHOTO and isinstance(url, str) else None


OFFER = Offer()
