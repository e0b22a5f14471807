"""Staff and coordinators compose a broadcast: news or a good practice for a chosen audience.

/broadcast (or 📣 in the menu) asks for the message: typed text, a photo with its text (a photo
without one asks for the text next), or a good practice picked from the library. The broadcast
is a row from then on (models/broadcasts.py). Then the audience: everyone, employers or workers
only, a province, a sector, or the enterprises with no report yet in a technical area; the
question becomes the preview, with the exact number of recipients, and the preview becomes the
progress of the sending once Send is pressed (handlers/broadcast.py edits it until the final
report). Everything goes out through the outbox.

The draft keeps the broadcast's id ("broadcast") and the photo received before its text
("photo"); "step" is where the person stands: "compose", "caption", "audience" or "preview".
Whether the person may broadcast is checked against the database on every input. Send carries
the broadcast's id, so pressing it on an old preview (after /cancel, or while composing another
broadcast) still sends that draft, once: a second press, or a forged id, queues nobody.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bot.i18n import Translate, format_number, shorten
from models import audience as audiences
from models import broadcasts, content, goodpractice, media
from models.journeys.core import Action, Input, Outcome, Reply, Turn, paused_note
from models.journeys.errors import STALE, error_text
from models.notices.cards import area_label, place, renderer
from models.programme import ProgrammeError
from models.tables import Contact, Role

PREFIX = "bc:"
PICK = PREFIX + "pick"
PICKED = PREFIX + "gp:"  # bc:gp:<improvement id>
AUDIENCE = PREFIX + "aud:"  # bc:aud:all | prov | sec | emp | wrk | area
PROVINCE = PREFIX + "prov:"
SECTOR = PREFIX + "sec:"
AREA = PREFIX + "area:"
SEND = PREFIX + "ok:"  # bc:ok:<broadcast id>
CHANGE = PREFIX + "chg"
DROP = PREFIX + "no"

COMPOSE, CAPTION, CHOOSE, PREVIEW = "compose", "caption", "audience", "preview"
PICK_MAX = 10
BAR = 10

GOES_ON, ENDS = True, False

# The domain's codes, as this journey tells them (errors.py).
RENAMED = {"text_too_long": "broadcast_too_long", "not_allowed": "staff_only"}


def told(turn: Turn, error: ProgrammeError) -> str:
    code = RENAMED.get(error.code, error.code)
    return error_text(turn._, ProgrammeError(code, **error.details), turn.language)


def sender(turn: Turn) -> Contact | None:
    """The person, if they may broadcast (read from the database for this input)."""
    return turn.contact if broadcasts.may_broadcast(turn.contact) else None


def refusal(turn: Turn, *, pressed: bool) -> tuple[Outcome, bool]:
    turn.data.clear()
    text = told(turn, ProgrammeError("not_allowed"))
    return (Outcome(notice=text, alert=True) if pressed else Outcome().say(text)), ENDS


def stale(turn: Turn) -> tuple[Outcome, bool]:
    """An action of an earlier step, or of a broadcast no longer in hand."""
    return Outcome(notice=error_text(turn._, ProgrammeError(STALE), turn.language)), in_hand(turn)


def in_hand(turn: Turn) -> bool:
    return turn.data.get("step") is not None


def pairs(actions: list[Action]) -> list[list[Action]]:
    return [actions[i : i + 2] for i in range(0, len(actions), 2)]


# -- 1. compose ------------------------------------------------------------------------------


def share_action(_: Translate) -> list[list[Action]]:
    return [[Action(_("🌟 Share a good practice"), PICK)]]


def pick_list(turn: Turn, contact: Contact) -> Outcome:
    """The compose question becomes the choice of a good practice."""
    _ = turn._
    # Staff see their own provider's good practices first: those they know best.
    own = (
        goodpractice.entries(turn.session, provider_id=contact.provider_id, limit=PICK_MAX)
        if contact.provider_id
        else []
    )
    known = {o.id for o in own}
    others = goodpractice.entries(turn.session, limit=PICK_MAX)
    chosen = (own + [e for e in others if e.id not in known])[:PICK_MAX]
    if not chosen:
        text = _("The library has no good practices yet. Type a message or send a photo instead.")
        return Outcome(edit=Reply(text))
    language = turn.language
    actions = [
        [Action(shorten(f"{area_label(e.area_code, language)} · {place(e, language)}", 60),
                f"{PICKED}{e.id}")]
        for e in chosen
    ]  # fmt: skip
    return Outcome(edit=Reply(_("Which good practice shall we share?"), actions))


def photo_received(turn: Turn, contact: Contact, given: Input) -> tuple[Outcome, bool]:
    """A photo, made safe and kept (models/media.py); its caption, if any, is the text."""
    _ = turn._
    upload = given.upload
    if upload is None or upload.data is None:
        # Not received from the channel: send it again.
        return Outcome().say(told(turn, ProgrammeError("photo_type"))), GOES_ON
    try:
        photo = media.reencode(upload.data)
    except ProgrammeError as error:
        return Outcome().say(told(turn, error)), GOES_ON
    target = media.save(photo, turn.place.media_dir / "broadcasts" / uuid.uuid4().hex)
    turn.data["photo"] = str(target)
    if upload.caption:
        return create(turn, contact, Outcome(), text=upload.caption)
    turn.data["step"] = CAPTION
    return Outcome().say(_("Thank you. Now type the text that goes with the photo.")), GOES_ON


def create(
    turn: Turn,
    contact: Contact,
    outcome: Outcome,
    *,
    text: str | None = None,
    improvement_id: int | None = None,
) -> tuple[Outcome, bool]:
    """The broadcast row, from the text (with the photo received, if any) or a good practice;
    then the audience question."""
    photo = turn.data.get("photo") if improvement_id is None else None
    try:
        with turn.session.begin_nested():
            draft = broadcasts.create(
                turn.session, author=contact, text=text, photo_path=photo,
                improvement_id=improvement_id,
            )  # fmt: skip
    except ProgrammeError as error:
        turn.data["step"] = CAPTION if photo is not None else COMPOSE
        return outcome.say(told(turn, error)), GOES_ON
    turn.data.pop("photo", None)
    turn.data["broadcast"] = draft.id
    turn.data["step"] = CHOOSE
    return outcome.say(turn._("Who should receive it?"), audience_actions(turn._, contact)), GOES_ON


# -- 2. audience -----------------------------------------------------------------------------


def audience_actions(_: Translate, contact: Contact) -> list[list[Action]]:
    everyone = (
        _("🌐 All providers' enterprises")
        if contact.role == Role.COORDINATOR
        else _("🏭 All my enterprises")
    )
    return [
        [Action(everyone, AUDIENCE + "all")],
        [
            Action(_("📍 By province"), AUDIENCE + "prov"),
            Action(_("🏷 By sector"), AUDIENCE + "sec"),
        ],
        [
            Action(_("👔 Employers only"), AUDIENCE + "emp"),
            Action(_("👷 Workers only"), AUDIENCE + "wrk"),
        ],
        [Action(_("📭 No report yet in an area"), AUDIENCE + "area")],
    ]


def audience_pressed(turn: Turn, contact: Contact, choice: str) -> tuple[Outcome, bool]:
    """Everyone, employers or workers: the preview; a province, sector or area: which one."""
    _ = turn._
    language = turn.language
    quick = {
        "all": audiences.Audience(),
        "emp": audiences.Audience(roles=(Role.EMPLOYER,)),
        "wrk": audiences.Audience(roles=(Role.WORKER,)),
    }
    if choice in quick:
        return preview(turn, contact, quick[choice])
    provinces, sectors = broadcasts.scope_choices(turn.session, contact)
    if choice == "prov":
        found = [p for p in map(content.province, provinces) if p is not None]
        actions = [Action(p.name(language), PROVINCE + p.code) for p in found]
        text = _("Which province?")
    elif choice == "sec":
        kinds = [s for s in map(content.sector, sectors) if s is not None]
        actions = [Action(s.label(language), SECTOR + s.code) for s in kinds]
        text = _("Which sector?")
    elif choice == "area":
        actions = [Action(area.label(language), AREA + area.code) for area in content.areas()]
        text = _("Enterprises that have reported nothing yet in which technical area?")
    else:
        return stale(turn)
    if not actions:
        edit = Reply(_("You have no enterprises yet."), audience_actions(_, contact))
        return Outcome(edit=edit), GOES_ON
    return Outcome(edit=Reply(text, pairs(actions))), GOES_ON


def narrowed(payload: str) -> audiences.Audience | None:
    """The audience a province, sector or area action stands for (None: not a valid one)."""
    if payload.startswith(PROVINCE) and content.province(code := payload.removeprefix(PROVINCE)):
        return audiences.Audience(provinces=(code,))
    if payload.startswith(SECTOR) and content.sector(code := payload.removeprefix(SECTOR)):
        return audiences.Audience(sectors=(code,))
    if payload.startswith(AREA) and content.area(code := payload.removeprefix(AREA)):
        return audiences.Audience(no_reports_in_area=code)
    return None


def describe(_: Translate, chosen: audiences.Audience, contact: Contact, language: str) -> str:
    parts = [
        _("all providers")
        if contact.role == Role.COORDINATOR and chosen.provider_id is None
        else _("your enterprises")
    ]
    if chosen.provinces:
        names = [p.name(language) for code in chosen.provinces if (p := content.province(code))]
        parts.append(_("in {where}", where=", ".join(names)))
    if chosen.sectors:
        names = [t.name(language) for code in chosen.sectors if (t := content.sector(code))]
        parts.append(_("sector: {sector}", sector=", ".join(names)))
    if chosen.no_reports_in_area:
        area = content.area(chosen.no_reports_in_area)
        parts.append(_("with no report yet in {area}", area=area.name(language) if area else ""))
    if tuple(chosen.roles) == (Role.EMPLOYER,):
        parts.append(_("employers only"))
    elif tuple(chosen.roles) == (Role.WORKER,):
        parts.append(_("workers only"))
    else:
        parts.append(_("employers and workers"))
    return ", ".join(parts)


def preview(turn: Turn, contact: Contact, chosen: audiences.Audience) -> tuple[Outcome, bool]:
    """The audience question becomes the preview, with the exact number of recipients."""
    _ = turn._
    language = turn.language
    broadcast_id = turn.data.get("broadcast")
    if not isinstance(broadcast_id, int):
        return stale(turn)
    try:
        with turn.session.begin_nested():
            number = broadcasts.set_audience(
                turn.session, broadcast_id=broadcast_id, author=contact, audience=chosen
            )
    except ProgrammeError as error:
        turn.data.clear()
        return Outcome(notice=told(turn, error), alert=True), ENDS
    stored = broadcasts.own_draft(turn.session, broadcast_id, contact)
    # As stored: staff's audience is narrowed to their own provider's enterprises.
    who = describe(_, broadcasts.audience_of(stored) or chosen, contact, language)
    turn.data["step"] = PREVIEW
    change = Action(_("🎯 Change audience"), CHANGE)
    drop = Action(_("✖ Cancel"), DROP)
    if number == 0:
        text = _("Nobody matches: {who}. Please choose another audience.", who=who)
        return Outcome(edit=Reply(text, [[change, drop]])), GOES_ON
    count = format_number(number, language)
    text = _(
        "<b>Ready to send</b> to <b>{count}</b> recipients ({who}). People who opted out or "
        "cannot be reached are not counted.",
        count=count,
        who=who,
    )
    send = Action(_("✅ Send to {count}", count=count), f"{SEND}{broadcast_id}")
    return Outcome(edit=Reply(text, [[send], [change, drop]])), GOES_ON


# -- 3. confirm ------------------------------------------------------------------------------


def send_pressed(turn: Turn, contact: Contact, given: Input) -> tuple[Outcome, bool]:
    """Queues everyone; the preview becomes the progress message. Pressing it again (or an old
    copy) queues nobody twice."""
    _ = turn._
    assert given.payload is not None
    raw = given.payload.removeprefix(SEND)
    if not raw.isdigit():
        return stale(turn)
    broadcast_id = int(raw)
    # The journey goes on only when this was another broadcast than the one in hand.
    going_on = in_hand(turn) and turn.data.get("broadcast") != broadcast_id
    try:
        found = broadcasts.own_draft(turn.session, broadcast_id, contact)
    except ProgrammeError:
        return stale(turn)
    if found.status != broadcasts.Status.DRAFT:
        notice = told(turn, ProgrammeError("already_sent"))
        return Outcome(notice=notice, alert=True), going_on
    try:
        with turn.session.begin_nested():
            entry = (
                goodpractice.entry(
                    turn.session, found.improvement_id, media_root=turn.place.media_dir
                )
                if found.improvement_id
                else None
            )
            if found.improvement_id and entry is None:
                raise ProgrammeError("not_in_library")
            total = broadcasts.confirm(
                turn.session, broadcast_id=broadcast_id, author=contact,
                render=renderer(entry, found.text, found.photo_path), now=turn.now,
            )  # fmt: skip
            if given.message is not None and contact.chat_id is not None:
                broadcasts.set_progress_message(
                    turn.session, broadcast_id=broadcast_id, chat_id=contact.chat_id,
                    message_id=given.message,
                )  # fmt: skip
    except ProgrammeError as error:
        if not going_on:
            turn.data.clear()
        return Outcome(notice=told(turn, error), alert=True), going_on
    if not going_on:
        turn.data.clear()
    shown = broadcasts.Progress(total=total, sent=0, failed=0, skipped=0, pending=total)
    edit = Reply(progress_text(_, shown, turn.language))
    return Outcome(notice=_("Queued."), edit=edit), going_on


def change_pressed(turn: Turn, contact: Contact) -> tuple[Outcome, bool]:
    turn.data["step"] = CHOOSE
    edit = Reply(turn._("Who should receive it?"), audience_actions(turn._, contact))
    return Outcome(edit=edit), GOES_ON


def drop_pressed(turn: Turn, contact: Contact) -> tuple[Outcome, bool]:
    broadcast_id = turn.data.get("broadcast")
    if isinstance(broadcast_id, int):
        broadcasts.cancel(turn.session, broadcast_id=broadcast_id, author=contact)
    turn.data.clear()
    return Outcome(edit=Reply(turn._("Cancelled: nothing was sent."))), ENDS


# -- 4. progress -----------------------------------------------------------------------------


def bar(fraction: float) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * BAR)
    return "▓" * filled + "░" * (BAR - filled) + f" {round(fraction * 100)}%"


def progress_text(_: Translate, shown: broadcasts.Progress, language: str) -> str:
    """What the sender's progress message says (handlers/broadcast.py edits it as it goes)."""

    def n(value: int) -> str:
        return format_number(value, language)

    if shown.finished:
        return _(
            "✅ <b>Broadcast finished</b> — {total} recipients\n"
            "Delivered: {sent}\nFailed: {failed}\n"
            "Skipped (opted out or unreachable): {skipped}",
            total=n(shown.total),
            sent=n(shown.sent),
            failed=n(shown.failed),
            skipped=n(shown.skipped),
        )
    return _(
        "📣 <b>Sending</b> to {total} recipients\n{bar}\n"
        "Sent: {sent} · Failed: {failed} · Skipped: {skipped} · Waiting: {pending}",
        total=n(shown.total),
        bar=bar(shown.fraction()),
        sent=n(shown.sent),
        failed=n(shown.failed),
        skipped=n(shown.skipped),
        pending=n(shown.pending),
    )


# -- the journey -----------------------------------------------------------------------------


def on_action(turn: Turn, contact: Contact, given: Input) -> tuple[Outcome, bool]:
    payload = given.payload
    assert payload is not None
    step = turn.data.get("step")
    if payload.startswith(SEND):
        return send_pressed(turn, contact, given)
    if step == COMPOSE and payload == PICK:
        return pick_list(turn, contact), GOES_ON
    if step == COMPOSE and payload.startswith(PICKED):
        raw = payload.removeprefix(PICKED)
        if not raw.isdigit():
            return stale(turn)
        # The list keeps its words and loses its buttons.
        outcome = Outcome(edit=Reply(""), edit_actions_only=True)
        return create(turn, contact, outcome, improvement_id=int(raw))
    if step == CHOOSE and payload.startswith(AUDIENCE):
        return audience_pressed(turn, contact, payload.removeprefix(AUDIENCE))
    if step == CHOOSE and (chosen := narrowed(payload)) is not None:
        return preview(turn, contact, chosen)
    if step == PREVIEW and payload == CHANGE:
        return change_pressed(turn, contact)
    if step in (CHOOSE, PREVIEW) and payload == DROP:
        return drop_pressed(turn, contact)
    return stale(turn)


def on_message(turn: Turn, contact: Contact, given: Input) -> tuple[Outcome, bool]:
    """Typed text, a photo, or anything else, at the step the person stands at."""
    _ = turn._
    step = turn.data.get("step")
    if step in (COMPOSE, CAPTION):
        if given.text is not None:
            outcome, going_on = create(turn, contact, Outcome(), text=given.text)
            # The compose question's action is spent once a draft exists.
            outcome.retire_buttons = turn.data.get("step") == CHOOSE
            return outcome, going_on
        if given.other == "photo":
            return photo_received(turn, contact, given)
        if step == CAPTION:
            return Outcome().say(_("Please type the text that goes with the photo.")), GOES_ON
        text = _("Please type the message, send a photo, or press 🌟 Share a good practice.")
        return Outcome().say(text, share_action(_)), GOES_ON
    if step == CHOOSE:
        return Outcome().say(_("Please choose with the buttons above, or /cancel.")), GOES_ON
    if step == PREVIEW:
        return Outcome().say(_("Please press ✅ Send, change the audience, or /cancel.")), GOES_ON
    # Not composing anything (cannot happen while the journey is in front).
    turn.data.clear()
    return Outcome().say(told(turn, ProgrammeError("lost"))), ENDS


@dataclass(frozen=True)
class Broadcast:
    name: str = "broadcast"
    # Set aside by another command, the broadcast in hand waits only as its preview's Send.
    resumable: bool = False
    cancel_keeps_draft: bool = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return entry.command == "broadcast"

    def owns(self, payload: str) -> bool:
        return payload.startswith(PREFIX)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        _ = turn._
        turn.data.clear()
        if sender(turn) is None:
            return refusal(turn, pressed=entry.pressed)
        turn.data["step"] = COMPOSE
        text = _(
            "<b>New broadcast</b>\nType the message, or send a photo with its text. "
            "Or share a good practice from the library. (/cancel to stop)"
        )
        return Outcome().say(text, share_action(_)), GOES_ON

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        contact = sender(turn)
        if contact is None:
            return refusal(turn, pressed=given.pressed)
        if given.payload is not None:
            return on_action(turn, contact, given)
        return on_message(turn, contact, given)

    def pause(self, turn: Turn) -> Outcome:
        _ = turn._
        return Outcome().say(_("Cancelled. What would you like to do next?"), menu=True)

    def aside(self, turn: Turn) -> Outcome:
        return Outcome(replies=[paused_note(turn.language)])


BROADCAST = Broadcast()
