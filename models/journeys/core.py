"""What a journey takes and gives: channel-neutral inputs, outcomes and actions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.i18n import Translate, translator
from models.tables import Contact
from scheduler.config import SchedulerConfig


@dataclass(frozen=True)
class Action:
    """A button: what it says and what pressing it sends back (at most 64 bytes, Telegram's
    limit for callback data; a channel without buttons numbers the actions instead)."""

    label: str
    payload: str


Rows = Sequence[Sequence[Action]]


@dataclass(frozen=True)
class Reply:
    """One message to the person: HTML-safe text (escaped where it quotes anyone), optional
    actions under it, and whether the person's menu comes back with it (the journey ended)."""

    text: str
    actions: Rows = ()
    menu: bool = False
    # A picture sent with `text` as its caption (PNG bytes, e.g. an invite's QR code).
    photo: bytes | None = None
    photo_name: str = "photo.png"
    # A file sent with `text` as its caption (PDF bytes, e.g. a visit report); not with a photo.
    document: bytes | None = None
    document_name: str = "document.pdf"


@dataclass
class Outcome:
    """What the person sees after one input.

    `notice`: the short answer to the action pressed (a toast on Telegram); `edit`: the new
    text or actions of the message whose action was pressed (a channel that cannot edit sends
    it as a new message, or drops a change of actions only); `retire_buttons`: the actions of
    the journey's last message are spent (a typed answer made them so).
    """

    replies: list[Reply] = field(default_factory=list)
    notice: str | None = None
    alert: bool = False  # the notice needs acknowledging (a dialog on Telegram), not a toast
    edit: Reply | None = None
    edit_actions_only: bool = False
    retire_buttons: bool = False
    # Filled by the engine: the message whose actions `retire_buttons` spends, and whether the
    # journey that answered holds the foreground now (its last message's actions are live).
    retire_message: int | None = None
    in_front: bool = False
    # The person's role or language changed (they registered): a channel that keeps a menu of
    # commands per person sets it again.
    menu_changed: bool = False

    def say(self, text: str, actions: Rows = (), *, menu: bool = False) -> Outcome:
        self.replies.append(Reply(text, actions, menu))
        return self

    def show(self, reply: Reply) -> Outcome:
        self.replies.append(reply)
        return self


def paused_note(language: str) -> Reply:
    """What a person is told when what they were doing waits for what they just asked."""
    _ = translator(language)
    return Reply(_("I stopped what we were doing, to do what you asked."))


@dataclass(frozen=True)
class Upload:
    """A picture or file the person sent: what the channel says of it, and its bytes when the
    driver could fetch them (None: too large to fetch, or the download failed)."""

    kind: str  # "photo" (sent as a picture), "document" (sent as a file) or "voice"
    size: int | None
    mime_type: str
    ref: str  # the channel's id of the file, to send it again without uploading it
    unique: str  # an id that stays the same for the same file (a file name)
    data: bytes | None = None
    caption: str | None = None
    duration: int | None = None  # seconds, of a voice note


@dataclass(frozen=True)
class Input:
    """One thing the person sent: typed `text`, a pressed action's `payload`, a `command` (its
    word, from "/feedback" or the menu's button for it), or `other` (the kind of anything
    else: "photo", "voice", "sticker", ...; a "location" comes with its `location`, latitude
    and longitude).

    A photo, file or voice note sent to the journey in front comes as an `upload` (fetched by
    the driver, with its caption); a pressed action carries the `message` it sits on, on a
    channel whose messages can be edited later (Telegram)."""

    text: str | None = None
    payload: str | None = None
    command: str | None = None
    other: str | None = None
    upload: Upload | None = None
    message: int | None = None
    # The channel's own id of the message, where something must happen once per message (Zalo's
    # message_id: the direct line sends a message once, however often Yes is answered).
    origin: str | None = None
    location: tuple[float, float] | None = None

    @property
    def pressed(self) -> bool:
        return self.payload is not None


@dataclass(frozen=True)
class Place:
    """Where the journeys run: the programme's time zone and settings, and the channel's link
    that opens the bot with an invite code (Telegram: t.me/<bot>?start=<code>)."""

    # The programme's time zone, quiet hours and media folder, as the scheduler has them.
    schedule: SchedulerConfig = field(default_factory=SchedulerConfig)
    invite_days: int = 14
    invite_link: Callable[[str], str] = str
    data_dir: Path = field(default_factory=lambda: Path("data"))
    # Who answers for people's data where their provider names no contact (the consent says it).
    controller_contact: str | None = None
    # The link that opens the bot's Zalo chat (OSHBOT_ZALO_CHAT_URL): invites show its QR code
    # beside Telegram's, with the code to type there.
    zalo_chat_url: str | None = None
    # The channels the deployment sends on ("telegram", "zalo": those it has a token for), so
    # that what the person is told of where messages come is true (models/journeys/link.py).
    sending: tuple[str, ...] = ("telegram", "zalo")

    @property
    def tz(self) -> ZoneInfo:
        return self.schedule.tz

    @property
    def media_dir(self) -> Path:
        """Where received photos are kept (Settings.media_dir)."""
        return self.schedule.media_root


@dataclass(frozen=True)
class Profile:
    """What the channel tells of the person: the name they go by and their handle (kept when
    they register)."""

    name: str | None = None
    handle: str | None = None


@dataclass
class Turn:
    """Everything a journey needs to answer one input. `data` is the journey's own draft, saved
    with the person's position when the turn ends."""

    session: Session
    person: str
    contact: Contact | None
    language: str
    _: Translate
    now: datetime
    data: dict[str, Any]
    place: Place = field(default_factory=lambda: Place())
    profile: Profile = field(default_factory=Profile)
    # What the journey made for this input before its transaction began (Journey.prepare).
    prepared: Prepared | None = None

    @property
    def tz(self) -> ZoneInfo:
        return self.place.tz

    @property
    def today(self) -> date:
        return self.now.astimezone(self.place.tz).date()

    def invite_link(self, code: str) -> str:
        return self.place.invite_link(code)


class Prepared(Protocol):
    """Slow work a journey did for an input before the transaction that takes it (a PDF
    rendered): the turn uses it or not; the driver calls `discard` after the transaction,
    whatever happened, to drop what was not used."""

    def discard(self) -> None: ...


class Journey(Protocol):
    """A journey as the engine drives it (see engine.py)."""

    @property
    def name(self) -> str: ...

    @property
    def resumable(self) -> bool:
        """Whether a draft set aside by another journey waits to be picked up again (a
        survey), or is dropped (a one-message wait such as a question to a reporter)."""

    @property
    def cancel_keeps_draft(self) -> bool:
        """Whether /cancel keeps the draft too (a survey: /feedback goes on where it stopped)
        or drops it (a form: cancelled means nothing of it is kept)."""

    @property
    def keeps(self) -> frozenset[str]:
        """Commands answered beside the journey, which stays in front (/myreports in a
        report)."""

    # Optional, `holds_front = True` (read with getattr): the commands of other parts of the bot
    # are answered beside it and it stays in front (registration: nothing else is open to the
    # person until it ends).

    # Optional, `prepares(given) -> bool` and `prepare(turn, given)` (read with getattr): an
    # action that needs slow work (rendering a report) has it done before its transaction,
    # which would otherwise hold the database's write lock meanwhile. `prepare` reads in a
    # session that never writes and returns the slow work as a function (or None), which the
    # engine runs after that session closed; what it makes comes to the action's turn as
    # `turn.prepared`, which must check it against the database before relying on it.

    def starts(self, entry: Input) -> bool:
        """Whether this input (a command's word, a menu label, an action) opens the journey."""

    def owns(self, payload: str) -> bool:
        """Whether an action belongs to this journey, whoever holds the foreground."""

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        """Opens or resumes the journey; True while it goes on (False: it ended at once)."""

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        """Answers one input while the journey is in the foreground (or one of its actions
        pressed while it is not); True while it goes on."""

    def pause(self, turn: Turn) -> Outcome:
        """/cancel: the journey leaves the foreground; what it stored stays stored."""

    def aside(self, turn: Turn) -> Outcome:
        """What the person is told when another journey or command takes the foreground."""
