"""Staff and coordinators create an event, and move one: two forms (steps.py).

Creating (`/event`, or "➕ New event" under /events) asks the kind (the same message offers the
printable check-in QR code of upcoming events, which handlers/events.py sends), the title, the
start, the place (typed; a location pin may come before or after it), the agenda (or Skip),
whom to invite (the broadcast filters and partners, ticked in place), the good practices to
showcase (when the library has any), then shows the event with the number of people: ✅
creates it, queues the invitations in the outbox and hands out the check-in QR code. Moving
("🕑 Move" under an event's card) asks the new start and a confirmation; every invitee is told
once. Who may do either is checked on every step against the database, never trusted from a
button.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.i18n import Translate, format_moment, format_number, shorten
from models import content, events, goodpractice
from models.audience import SME_ROLES, Audience
from models.journeys.core import Action, Input, Outcome, Place, Reply, Turn
from models.journeys.errors import STALE, error_text
from models.journeys.steps import ENDS, GOES_ON, Form, Step, choice, one_of, typed
from models.media import qr_png
from models.programme import ProgrammeError, providers
from models.tables import Contact, Event, Provider, Role
from models.text import check, esc

PREFIX = "evt:"
NEW = PREFIX + "new"
KIND = PREFIX + "kind:"
NO_PIN = PREFIX + "nopin"
NO_AGENDA = PREFIX + "noagenda"
AUD_ROLE = PREFIX + "ar:"  # evt:ar:employer | worker | partner
AUD_OPEN = PREFIX + "ao:"  # evt:ao:prov | sect | area | provider
AUD_PICK = PREFIX + "ap:"  # evt:ap:<what>:<code>
AUD_BACK = PREFIX + "ab"
AUD_NEXT = PREFIX + "an"
PRACTICE = PREFIX + "gp:"
PRACTICES_DONE = PREFIX + "gpd"
CREATE = PREFIX + "create"
DROP = PREFIX + "drop"  # ✖ Cancel under both confirmations: the form in front takes it
MOVE = PREFIX + "move:"
MOVE_OK = PREFIX + "moveok"
QR = PREFIX + "qr:"  # answered by handlers/events.py, wherever the person stands

PRACTICES_OFFERED = 12
PICKERS = ("prov", "sect", "area", "provider")
NO_AREA = "-"
ALL = "all"
QR_OFFERED = 5


def organiser(turn: Turn) -> Contact | None:
    """The person, if they may organise events (fresh from the database on every input)."""
    return turn.contact if events.is_organiser(turn.contact) else None


def refusal_code(contact: Contact | None) -> str:
    # Staff of another provider are programme staff: they are told whose event it is.
    return "not_allowed" if events.is_organiser(contact) else "staff_only"


def refusal_text(_: Translate, contact: Contact | None, language: str) -> str:
    return error_text(_, ProgrammeError(refusal_code(contact)), language)


def refusal(turn: Turn, *, pressed: bool) -> Outcome:
    """A dialog on a button, else a reply."""
    text = refusal_text(turn._, turn.contact, turn.language)
    return Outcome(notice=text, alert=True) if pressed else Outcome().say(text)


def stale(turn: Turn) -> Outcome:
    return Outcome(notice=error_text(turn._, ProgrammeError(STALE), turn.language))


def number_after(data: str | None, prefix: str) -> int | None:
    """The id after `prefix` in an action's data; None when forged (not a database integer)."""
    raw = (data or "").removeprefix(prefix).split(":")[0]
    if not (data or "").startswith(prefix) or not raw.isdigit() or len(raw) > 10:
        return None
    return int(raw) if int(raw) < 2**31 else None


def rows_of(actions: list[Action], columns: int) -> list[list[Action]]:
    return [actions[i : i + columns] for i in range(0, len(actions), columns)]


def checkin_qr(_: Translate, language: str, place: Place, event: Event) -> Reply:
    """The printable check-in QR code: the deep link that checks the scanner in."""
    link = place.invite_link(f"{events.CHECKIN_PREFIX}{event.checkin_code}")
    caption = _(
        "🔳 Check-in QR code for <b>{title}</b>, {moment}. Print it or show it at the door: "
        "people scan it with their phone camera to check in. Link: {link}",
        title=esc(shorten(event.title, 200)),
        moment=format_moment(event.starts_at, language, place.tz),
        link=link,
    )
    return Reply(caption, photo=qr_png(link), photo_name=f"event-{event.id}-checkin.png")


# -- creating: kind, title, start, place, pin, agenda ------------------------------------------


def kind_actions(_: Translate) -> list[list[Action]]:
    return [[Action(events.kind_name(_, kind), KIND + kind)] for kind in events.KINDS]


def kind_prompt(turn: Turn) -> Reply:
    _ = turn._
    text = _("Let us prepare an event. What kind of event is it? (/cancel to stop)")
    actions = kind_actions(_)
    contact = organiser(turn)
    if contact is not None:
        upcoming, _past = events.events_for(turn.session, contact, now=turn.now, past_limit=0)
        planned = [e for e in upcoming if e.status == events.PLANNED][:QR_OFFERED]
        if planned:
            text += "\n\n" + _("Or show the printable check-in QR code of an upcoming event:")
            actions += [[Action(f"🔳 {shorten(e.title)}", f"{QR}{e.id}")] for e in planned]
    return Reply(text, actions)


def moment_taken(turn: Turn, given: Input) -> str:
    def parse(text: str) -> str:
        return events.parse_moment(text, now=turn.now, tz=turn.tz).isoformat()

    return str(typed(parse)(turn, given))


def place_prompt(turn: Turn) -> Reply:
    _ = turn._
    if turn.data.get("pin"):
        return Reply(
            _("Thank you, the pin is saved. Now please type the name or address of the place.")
        )
    return Reply(
        _(
            "Where will it take place? Type the place or address. You can also send a "
            "location pin (📎 → Location)."
        )
    )


def place_taken(turn: Turn, given: Input) -> str | list[float]:
    """The place typed, or a pin sent first (the place is asked again after it)."""
    if given.payload is not None:
        raise ProgrammeError(STALE)
    if given.location is not None:
        return list(events.clean_location(*given.location))
    if given.text is None:
        raise ProgrammeError("place_expected")
    return events.clean_place(given.text)


def place_saved(turn: Turn, value: str | list[float]) -> None:
    turn.data["pin" if isinstance(value, list) else "place"] = value


def pin_prompt(turn: Turn) -> Reply:
    _ = turn._
    text = _(
        "Would you like to add a location pin, so that people find the way? Send it now, "
        "or press Skip."
    )
    return Reply(text, [[Action(_("Skip"), NO_PIN)]])


def pin_taken(turn: Turn, given: Input) -> list[float] | None:
    if given.payload == NO_PIN:
        return None
    if given.payload is not None:
        raise ProgrammeError(STALE)
    if given.location is None:
        raise ProgrammeError("pin_or_skip")
    return list(events.clean_location(*given.location))


def agenda_prompt(turn: Turn) -> Reply:
    _ = turn._
    text = _("What is on the agenda? Type it (several lines are fine), or press Skip.")
    return Reply(text, [[Action(_("Skip"), NO_AGENDA)]])


def agenda_taken(turn: Turn, given: Input) -> str | None:
    if given.payload == NO_AGENDA:
        return None
    return str(typed(events.clean_agenda)(turn, given))


def buttons_only(turn: Turn, given: Input) -> Any:
    """A step answered by its own actions (handled by the form): anything else is told so."""
    if given.payload is not None:
        raise ProgrammeError(STALE)
    raise ProgrammeError("use_buttons")


# -- creating: whom to invite ------------------------------------------------------------------


def selection(turn: Turn, contact: Contact) -> Audience:
    """Whom the organiser has chosen so far (staff: their provider's people, to begin with)."""
    chosen = turn.data.get("selection")
    if isinstance(chosen, dict):
        return Audience.from_json(chosen)
    return Audience(provider_id=contact.provider_id if contact.role == Role.STAFF else None)


def audience_text(
    _: Translate,
    audience: Audience,
    language: str,
    size: int,
    provider: str | None,
    coordinator: bool,
) -> str:
    groups = [
        name
        for role, name in ((Role.EMPLOYER, _("employers")), (Role.WORKER, _("workers")))
        if role in audience.roles
    ]
    if audience.include_partners:
        groups.append(_("partners"))
    provinces = [p.name(language) for code in audience.provinces if (p := content.province(code))]
    sectors = [s.name(language) for code in audience.sectors if (s := content.sector(code))]
    area = content.area(audience.no_reports_in_area)
    lines = [
        _("<b>Who should be invited?</b> Tap to change."),
        _("People: {value}", value=", ".join(groups) or "—"),
        _("Provinces: {value}", value=", ".join(provinces) or _("all")),
        _("Sectors: {value}", value=", ".join(sectors) or _("all")),
    ]
    if area is not None:
        lines.append(
            _("Only enterprises with no report yet on: {value}", value=area.name(language))
        )
    if coordinator:
        lines.append(_("Provider: {value}", value=esc(provider) if provider else _("all")))
    lines += ["", _("👥 {count} people will be invited.", count=format_number(size, language))]
    return "\n".join(lines)


def audience_actions(_: Translate, audience: Audience, coordinator: bool) -> list[list[Action]]:
    roles = audience.roles
    rows = [
        [
            Action(check(Role.EMPLOYER in roles) + _("Employers"), AUD_ROLE + Role.EMPLOYER),
            Action(check(Role.WORKER in roles) + _("Workers"), AUD_ROLE + Role.WORKER),
            Action(check(audience.include_partners) + _("Partners"), AUD_ROLE + Role.PARTNER),
        ],
        [Action(_("📍 Provinces"), AUD_OPEN + "prov"), Action(_("🏭 Sectors"), AUD_OPEN + "sect")],
        [Action(_("🔎 No report yet on…"), AUD_OPEN + "area")],
    ]  # fmt: skip
    if coordinator:
        rows.append([Action(_("🏢 Provider"), AUD_OPEN + "provider")])
    rows.append([Action(_("Next ▶"), AUD_NEXT)])
    return rows


def audience_prompt(turn: Turn) -> Reply:
    contact = organiser(turn)
    assert contact is not None  # the form checks it before every step
    audience = events.scoped_audience(selection(turn, contact), contact)
    coordinator = contact.role == Role.COORDINATOR
    size = events.audience_size(turn.session, audience, contact)
    provider = turn.session.get(Provider, audience.provider_id) if audience.provider_id else None
    text = audience_text(
        turn._, audience, turn.language, size, provider.name if provider else None, coordinator
    )
    return Reply(text, audience_actions(turn._, audience, coordinator))


def with_roles(audience: Audience, roles: tuple[str, ...], partners: bool) -> Audience:
    # An empty role list means "employers and workers" to Audience; a role no enterprise
    # member has stands for "nobody from the enterprises" (partners only).
    return Audience(
        provider_id=audience.provider_id,
        provinces=audience.provinces,
        sectors=audience.sectors,
        roles=roles or (Role.PARTNER,),
        no_reports_in_area=audience.no_reports_in_area,
        include_partners=partners,
    )


def toggled_role(audience: Audience, role: str) -> Audience:
    roles = tuple(r for r in audience.roles if r in SME_ROLES)
    partners = audience.include_partners
    if role == Role.PARTNER:
        partners = not partners
    elif role in roles:
        roles = tuple(r for r in roles if r != role)
    else:
        roles = tuple(r for r in SME_ROLES if r in roles or r == role)
    return with_roles(audience, roles, partners)


def choices_for(
    _: Translate, what: str, audience: Audience, language: str, session: Session
) -> list[tuple[str, str]]:
    provinces, sectors = events.audience_choices(session, audience.provider_id)
    if what == "prov":
        return [(code, p.name(language)) for code in provinces if (p := content.province(code))]
    if what == "sect":
        return [(code, s.label(language)) for code in sectors if (s := content.sector(code))]
    if what == "area":
        return [(NO_AREA, _("Any enterprise"))] + [
            (a.code, a.label(language)) for a in content.areas()
        ]
    return [(ALL, _("All providers"))] + [(str(p.id), shorten(p.name)) for p in providers(session)]


def picker(turn: Turn, contact: Contact, what: str) -> Reply:
    """The choices of one filter, ticked where chosen, with ◀ Back to the card."""
    _ = turn._
    audience = events.scoped_audience(selection(turn, contact), contact)
    choices = choices_for(_, what, audience, turn.language, turn.session)
    back = [Action(_("◀ Back"), AUD_BACK)]
    if what in ("prov", "sect") and not choices:
        return Reply(_("There are no enterprises to choose from yet."), [back])
    chosen = {
        "prov": set(audience.provinces),
        "sect": set(audience.sectors),
        "area": {audience.no_reports_in_area or NO_AREA},
        "provider": {str(audience.provider_id) if audience.provider_id else ALL},
    }[what]
    texts = {
        "prov": _("Choose the provinces (none chosen: all)."),
        "sect": _("Choose the sectors (none chosen: all)."),
        "area": _(
            "Invite only enterprises that have not reported an improvement in this area yet:"
        ),
        "provider": _("Whose enterprises and partners should be invited?"),
    }
    buttons = [
        Action(check(code in chosen) + shorten(label), f"{AUD_PICK}{what}:{code}")
        for code, label in choices
    ]
    rows = rows_of(buttons, 2 if what in ("prov", "sect") else 1)
    rows.append(back)
    return Reply(texts[what], rows)


def picked(turn: Turn, contact: Contact, what: str, code: str) -> Audience | None:
    """The selection with one choice of a picker changed; None if the choice means nothing."""
    audience = selection(turn, contact)
    fields = audience.to_json()
    if what == "prov" and content.province(code) is not None:
        fields["provinces"] = sorted(set(audience.provinces) ^ {code})
    elif what == "sect" and content.sector(code) is not None:
        fields["sectors"] = sorted(set(audience.sectors) ^ {code})
    elif what == "area" and (code == NO_AREA or content.area(code) is not None):
        fields["no_reports_in_area"] = None if code == NO_AREA else code
    elif (
        what == "provider"
        and contact.role == Role.COORDINATOR
        and (code == ALL or turn.session.get(Provider, number_after(code, "") or 0) is not None)
    ):
        # Provinces and sectors were offered from the previous provider's enterprises.
        fields.update(provider_id=number_after(code, ""), provinces=[], sectors=[])
    else:
        return None
    return Audience.from_json(fields)


# -- creating: good practices, preview ---------------------------------------------------------


def offered(session: Session) -> list[goodpractice.Entry]:
    return goodpractice.entries(session, limit=PRACTICES_OFFERED)


def practices_actions(
    _: Translate, entries: list[goodpractice.Entry], chosen: list[int]
) -> list[list[Action]]:
    rows = [
        [Action(check(entry.id in chosen) + shorten(entry.text, 48), f"{PRACTICE}{entry.id}")]
        for entry in entries
    ]
    rows.append([Action(_("Done ▶"), PRACTICES_DONE)])
    return rows


def ticked(turn: Turn) -> list[int]:
    return [int(i) for i in turn.data.get("ticked") or []]


def practices_prompt(turn: Turn) -> Reply:
    _ = turn._
    text = _(
        "Would you like to showcase good practices at the event? They are listed in the "
        "invitation, and the feedback survey asks which ones the enterprise wants to try. "
        "Tap to choose up to {limit} (✅ chosen, ⬜ not chosen), then press Done.",
        limit=events.SHOWCASE_MAX,
    )
    return Reply(text, practices_actions(_, offered(turn.session), ticked(turn)))


def draft_of(data: dict[str, Any]) -> events.EventDraft:
    pin = data.get("pin") or [None, None]
    return events.EventDraft(
        kind=data["kind"],
        title=data["title"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        place=data["place"],
        agenda=data.get("agenda"),
        latitude=pin[0],
        longitude=pin[1],
        audience=Audience.from_json(data.get("audience") or {}),
        good_practices=tuple(data.get("practices") or ()),
    )


def preview_text(turn: Turn, contact: Contact) -> str:
    _ = turn._
    plan = draft_of(turn.data)
    preview = Event(
        kind=plan.kind,
        title=plan.title,
        starts_at=plan.starts_at,
        place=plan.place,
        latitude=plan.latitude,
        longitude=plan.longitude,
        agenda=plan.agenda,
        checkin_code="",
    )
    size = events.audience_size(turn.session, plan.audience, contact)
    practices = [e for i in plan.good_practices if (e := goodpractice.entry(turn.session, i))]
    from models.notices.events import event_card  # it names this module's actions

    card = event_card(_, preview, turn.language, turn.tz, practices=practices)
    count = _("👥 {count} people will be invited.", count=format_number(size, turn.language))
    return "\n\n".join([_("<b>Please check the event</b>"), card, count])


def preview_prompt(turn: Turn) -> Reply:
    _ = turn._
    contact = organiser(turn)
    assert contact is not None  # the form checks it before every step
    actions = [[Action(_("✅ Create and send invitations"), CREATE)], [Action(_("✖ Cancel"), DROP)]]
    return Reply(preview_text(turn, contact), actions)


# -- the forms ---------------------------------------------------------------------------------


class EventForm(Form):
    """What both event forms share: only organisers, checked before every step; a confirmation
    whose ✖ Cancel drops the draft and whose ✅ does the work (`complete`)."""

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        if self.step(turn.data.get("step")) is not None and organiser(turn) is None:
            return refusal(turn, pressed=given.pressed), ENDS
        return super().handle(turn, given)

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        if turn.data["confirm"] == DROP:
            return outcome.show(self.pause(turn).replies[0]), ENDS
        contact = organiser(turn)
        if contact is None:
            return refusal(turn, pressed=True), ENDS
        return self.complete(turn, outcome, contact), ENDS

    def complete(self, turn: Turn, outcome: Outcome, contact: Contact) -> Outcome:
        raise NotImplementedError


class NewEvent(EventForm):
    name = "events.create"
    steps = (
        Step("kind", kind_prompt, choice(KIND, lambda code: code in events.KINDS)),
        Step("title", lambda turn: Reply(turn._("What is the title of the event?")),
             typed(events.clean_title)),
        Step("starts_at", lambda turn: Reply(turn._(
            "When does it start? Type the date and time, e.g. 20/03/2027 14:00.")),
             moment_taken),
        Step("place", place_prompt, place_taken, save=place_saved),
        Step("pin", pin_prompt, pin_taken, reask="actions"),
        Step("agenda", agenda_prompt, agenda_taken),
        Step("audience", audience_prompt, buttons_only),
        Step("practices", practices_prompt, buttons_only),
        Step("confirm", preview_prompt, one_of(CREATE, DROP, wrong="create_or_cancel")),
    )  # fmt: skip

    def starts(self, entry: Input) -> bool:
        return entry.command == "event" or entry.payload == NEW

    def owns(self, payload: str) -> bool:
        return payload.startswith((KIND, AUD_ROLE, AUD_OPEN, AUD_PICK, PRACTICE)) or payload in (
            NEW, NO_PIN, NO_AGENDA, AUD_BACK, AUD_NEXT, PRACTICES_DONE, CREATE, DROP,
        )  # fmt: skip

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        if organiser(turn) is None:
            return refusal(turn, pressed=entry.pressed)
        return None

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        step = turn.data.get("step")
        payload = given.payload or ""
        if step is None or organiser(turn) is None:
            return super().handle(turn, given)
        if step == "kind" and not given.pressed:
            text = turn._("Please choose the kind of event with the buttons.")
            return Outcome().say(text, kind_actions(turn._)), GOES_ON
        if step == "audience" and (
            payload.startswith((AUD_ROLE, AUD_OPEN, AUD_PICK)) or payload in (AUD_BACK, AUD_NEXT)
        ):
            return self.choose_audience(turn, payload)
        if step == "practices" and (payload.startswith(PRACTICE) or payload == PRACTICES_DONE):
            return self.choose_practices(turn, payload)
        outcome, going_on = super().handle(turn, given)
        if step == "kind" and "kind" in turn.data:
            # The question keeps the answer instead of its buttons.
            outcome.edit = Reply("✔ " + events.kind_name(turn._, turn.data["kind"]))
            outcome.edit_actions_only = False
        return outcome, going_on

    def choose_audience(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        """A tick or a filter changes the card in place; Next goes on when anybody matches."""
        contact = organiser(turn)
        assert contact is not None
        if payload == AUD_NEXT:
            audience = selection(turn, contact)
            if events.audience_size(turn.session, audience, contact) == 0:
                notice = turn._("Nobody matches these choices yet. Please widen them.")
                return Outcome(notice=notice, alert=True), GOES_ON
            turn.data.pop("selection", None)
            turn.data["audience"] = audience.to_json()
            if not offered(turn.session):
                turn.data["practices"] = []
            return self.next(turn, Outcome(edit=Reply(""), edit_actions_only=True))
        if payload.startswith(AUD_OPEN):
            what = payload.removeprefix(AUD_OPEN)
            if what not in PICKERS or (what == "provider" and contact.role != Role.COORDINATOR):
                return stale(turn), GOES_ON
            return Outcome(edit=picker(turn, contact, what)), GOES_ON
        if payload.startswith(AUD_ROLE):
            role = payload.removeprefix(AUD_ROLE)
            if role not in (Role.EMPLOYER, Role.WORKER, Role.PARTNER):
                return stale(turn), GOES_ON
            turn.data["selection"] = toggled_role(selection(turn, contact), role).to_json()
        elif payload.startswith(AUD_PICK):
            what, _sep, code = payload.removeprefix(AUD_PICK).partition(":")
            changed = picked(turn, contact, what, code)
            if changed is None:
                return stale(turn), GOES_ON
            turn.data["selection"] = changed.to_json()
            if what in ("prov", "sect"):
                return Outcome(edit=picker(turn, contact, what)), GOES_ON
        return Outcome(edit=audience_prompt(turn)), GOES_ON

    def choose_practices(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        if payload == PRACTICES_DONE:
            turn.data["practices"] = ticked(turn)
            turn.data.pop("ticked", None)
            return self.next(turn, Outcome(edit=Reply(""), edit_actions_only=True))
        entries = offered(turn.session)
        improvement_id = number_after(payload, PRACTICE)
        if improvement_id not in {e.id for e in entries}:
            return stale(turn), GOES_ON
        chosen = ticked(turn)
        if improvement_id in chosen:
            chosen.remove(improvement_id)
        elif len(chosen) >= events.SHOWCASE_MAX:
            notice = _("At most {limit} good practices, please.", limit=events.SHOWCASE_MAX)
            return Outcome(notice=notice, alert=True), GOES_ON
        else:
            assert improvement_id is not None
            chosen.append(improvement_id)
        turn.data["ticked"] = chosen
        edit = Reply("", practices_actions(_, entries, chosen))
        return Outcome(edit=edit, edit_actions_only=True), GOES_ON

    def complete(self, turn: Turn, outcome: Outcome, contact: Contact) -> Outcome:
        _ = turn._
        preview = preview_text(turn, contact)
        try:
            with turn.session.begin_nested():
                event = events.create_event(
                    turn.session, draft=draft_of(turn.data), actor=contact, now=turn.now
                )
                invited = events.invite(turn.session, event=event, now=turn.now, tz=turn.tz)
        except ProgrammeError as error:
            return outcome.say(error_text(_, error, turn.language, tz=turn.tz))
        done = _(
            "✅ Event created. {count} invitations are on their way; you will see the answers "
            "in 📅 Events.",
            count=format_number(invited, turn.language),
        )
        outcome.edit, outcome.edit_actions_only = Reply(f"{done}\n\n{preview}"), False
        return outcome.show(checkin_qr(_, turn.language, turn.place, event))


# -- moving ------------------------------------------------------------------------------------


def move_prompt(turn: Turn) -> Reply:
    _ = turn._
    event = turn.session.get(Event, turn.data["event"])
    assert event is not None  # looked up when the form began, in the same transaction
    return Reply(
        _(
            "<b>{title}</b> now starts at {moment}. Type the new date and time, e.g. "
            "20/03/2027 14:00. (/cancel to keep it)",
            title=esc(shorten(event.title, 200)),
            moment=format_moment(event.starts_at, turn.language, turn.tz),
        )
    )


def move_confirm_prompt(turn: Turn) -> Reply:
    _ = turn._
    moment = datetime.fromisoformat(turn.data["starts_at"])
    text = _(
        "Move the event to {moment}? Everyone invited will be told once, and asked again "
        "whether they can come.",
        moment=format_moment(moment, turn.language, turn.tz),
    )
    return Reply(text, [[Action(_("✅ Move it"), MOVE_OK), Action(_("✖ Cancel"), DROP)]])


class MoveEvent(EventForm):
    name = "events.move"
    steps = (
        Step("starts_at", move_prompt, moment_taken),
        Step("confirm", move_confirm_prompt, one_of(MOVE_OK, DROP, wrong="move_or_cancel")),
    )

    def starts(self, entry: Input) -> bool:
        return (entry.payload or "").startswith(MOVE)

    def owns(self, payload: str) -> bool:
        return payload.startswith(MOVE) or payload in (MOVE_OK, DROP)

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        event_id = number_after(entry.payload, MOVE)
        event = turn.session.get(Event, event_id) if event_id is not None else None
        if event is None or not events.can_manage(turn.contact, event):
            return refusal(turn, pressed=entry.pressed)
        if event.status != events.PLANNED or event.starts_at <= turn.now:
            return stale(turn)
        turn.data["event"] = event.id
        return None

    def complete(self, turn: Turn, outcome: Outcome, contact: Contact) -> Outcome:
        _ = turn._
        try:
            with turn.session.begin_nested():
                told = events.move_event(
                    turn.session, event_id=turn.data["event"],
                    starts_at=datetime.fromisoformat(turn.data["starts_at"]), actor=contact,
                    now=turn.now, tz=turn.tz,
                )  # fmt: skip
        except ProgrammeError as error:
            outcome.notice = error_text(_, error, turn.language, tz=turn.tz)
            outcome.alert = True
            return outcome
        text = _(
            "🕑 The event is moved. {count} invitees will be told.",
            count=format_number(told, turn.language),
        )
        outcome.edit, outcome.edit_actions_only = Reply(text), False
        return outcome


NEW_EVENT = NewEvent()
MOVE_EVENT = MoveEvent()
