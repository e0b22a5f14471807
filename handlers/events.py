"""Events in Telegram: staff and coordinators create a meeting, workshop or training and follow
it; invitees answer Going / Maybe / Can't come; attendees check in by scanning the event's QR.

- `/event`: a conversation — kind, title, date and time, place (text, optionally a location
  pin), agenda, audience (the broadcast filters, plus partners), good practices to showcase,
  preview with the number of people -> create and send the invitations (through the outbox).
  It also offers the printable check-in QR code of the upcoming events.
- `/events` (📅): organisers see upcoming and past events with invited / going / attended /
  reactions, and from there the summary, the QR code, attendance ticking, move and cancel.
  Everyone else (partners above all: they see nothing but events) sees the events they were
  invited to, with their answer.
- The deep link `https://t.me/<bot>?start=ev_<code>` reaches `checkin_from_start` through a
  small hook in handlers/onboarding.py.
- The reaction survey after the event is not here: its invitation button (`fb:event:<event>`)
  opens the follow-up survey journey, models/journeys/feedback.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InputFile, Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, format_moment, format_number, shorten
from bot.render import check, esc, grid, inline
from bot.runtime import current_contact, language_of, runtime, tr, user_data
from handlers import menu
from handlers.common import cancel, stay
from models import content, events, goodpractice
from models.audience import SME_ROLES, Audience
from models.media import qr_png
from models.programme import ProgrammeError, contact_by_user, providers, usable_invite
from models.tables import Contact, Event, Provider, Role
from models.text import MESSAGE_LIMIT, truncate_html
from reports import events as event_reports

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
DROP = PREFIX + "drop"
SHOW = PREFIX + "show:"
QR = PREFIX + "qr:"
ATTENDANCE = PREFIX + "att:"  # evt:att:<event>:<page>
TICK = PREFIX + "tick:"  # evt:tick:<event>:<contact>:<page>
MOVE = PREFIX + "move:"
MOVE_OK = PREFIX + "moveok"
CANCEL_EVENT = PREFIX + "cancel:"
CANCEL_OK = PREFIX + "cancelok:"
MINE = PREFIX + "mine:"
RSVP = events.RSVP_DATA
CHECKIN_PREFIX = events.CHECKIN_PREFIX

KIND_STATE = "events.kind"
TITLE_STATE = "events.title"
WHEN_STATE = "events.when"
PLACE_STATE = "events.place"
PIN_STATE = "events.pin"
AGENDA_STATE = "events.agenda"
AUDIENCE_STATE = "events.audience"
PRACTICES_STATE = "events.practices"
CONFIRM_STATE = "events.confirm"
MOVE_WHEN_STATE = "events.move_when"
MOVE_CONFIRM_STATE = "events.move_confirm"

DRAFT = "event_draft"
MOVING = "event_moving"
PAGE_SIZE = 8
LIST_MAX = 8  # events per section of /events
PRACTICES_OFFERED = 12
NO_AREA = "-"
ALL = "all"


# -- texts -----------------------------------------------------------------------------------


def error_text(_: Translate, error: ProgrammeError, language: str, rt: Any = None) -> str:
    limit = format_number(error.details.get("limit", 0), language)
    texts = {
        "title_too_short": _("The title is too short. Please type at least 3 characters."),
        "title_too_long": _(
            "The title is too long: at most {limit} characters, please.", limit=limit
        ),
        "place_too_short": _("Please type the place: a name or an address."),
        "place_too_long": _(
            "The place is too long: at most {limit} characters, please.", limit=limit
        ),
        "agenda_too_short": _("The agenda is too short. Type a few lines, or press Skip."),
        "agenda_too_long": _(
            "The agenda is too long: at most {limit} characters, please.", limit=limit
        ),
        "location_invalid": _("That location pin cannot be read. Please send another one."),
        "moment_invalid": _(
            "Please type the date and time as day/month/year hour:minute, e.g. 20/03/2027 14:00."
        ),
        "moment_in_past": _("That time has already passed. Please type a time in the future."),
        "moment_too_far": _("That is more than two years ahead. Please check the year."),
        "moment_unchanged": _("That is the time the event already has."),
        "unknown_event": _("That event no longer exists."),
        "not_allowed": _("Sorry, this is only for the organisers of this event."),
        "event_cancelled": _("This event has been cancelled."),
        "event_started": _("The event has already started, so answers are closed."),
        "not_invited": _("This invitation is not for you."),
        "unknown_checkin": _(
            "I do not know this check-in code. Please scan the QR code at the venue again."
        ),
        "checkin_closed": _("Check-in for this event has closed."),
        "unknown_practice": _("That good practice is no longer in the library."),
        "too_many_practices": _("At most {limit} good practices, please.", limit=limit),
    }
    if error.code == "checkin_not_open":
        starts_at = error.details.get("starts_at")
        if isinstance(starts_at, datetime) and rt is not None:
            return _(
                "Check-in opens shortly before the event, which starts at {moment}. See you there!",
                moment=format_moment(starts_at, language, rt.settings.tz),
            )
    return texts.get(error.code, _("That did not work. Please try again."))


def refusal(_: Translate, contact: Contact | None = None) -> str:
    # Staff of another provider are programme staff: they are told whose event it is.
    if events.is_organiser(contact):
        return _("Sorry, this is only for the organisers of this event.")
    return _("Sorry, this is only for programme staff.")


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    _ = tr(update, context)
    text = refusal(_, current_contact(update, context))
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return ConversationHandler.END


async def stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer(tr(update, context)("This button is no longer active."))


def organiser(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Contact | None:
    """The person, if they may organise events (checked in the database on every action)."""
    contact = current_contact(update, context)
    return contact if events.is_organiser(contact) else None


def number_after(data: str | None, prefix: str) -> int | None:
    raw = (data or "").removeprefix(prefix).split(":")[0]
    if not (data or "").startswith(prefix) or not raw.isdigit() or len(raw) > 10:
        return None
    return int(raw)


async def send(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, **kwargs: Any) -> Any:
    assert update.effective_chat is not None
    return await context.bot.send_message(update.effective_chat.id, text, **kwargs)


async def edit(update: Update, text: str | None = None, markup: Any = None) -> None:
    """Edits the message of the pressed button; an identical edit is not an error."""
    query = update.callback_query
    assert query is not None
    try:
        if text is None:
            await query.edit_message_reply_markup(markup)
        else:
            await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


# -- the draft -------------------------------------------------------------------------------


def draft(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    return user_data(context).setdefault(DRAFT, {})  # type: ignore[no-any-return]


def draft_audience(data: dict[str, Any]) -> Audience:
    return Audience.from_json(data.get("audience") or {})


def set_audience(data: dict[str, Any], audience: Audience) -> None:
    data["audience"] = audience.to_json()


def draft_of(data: dict[str, Any]) -> events.EventDraft:
    return events.EventDraft(
        kind=data["kind"],
        title=data["title"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        place=data["place"],
        agenda=data.get("agenda"),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        audience=draft_audience(data),
        good_practices=tuple(data.get("practices") or ()),
    )


# -- /event: kind, title, time, place, agenda ------------------------------------------------


async def event_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    contact = organiser(update, context)
    if contact is None:
        return await refuse(update, context)
    _ = tr(update, context)
    rt = runtime(context)
    user_data(context)[DRAFT] = {}
    with rt.database.session() as session:
        upcoming, _past = events.events_for(session, contact, now=rt.now(), past_limit=0)
    kinds = [[(events.kind_name(_, kind), KIND + kind)] for kind in events.KINDS]
    text = _("Let us prepare an event. What kind of event is it? (/cancel to stop)")
    planned = [e for e in upcoming if e.status == events.PLANNED][:5]
    if planned:
        text += "\n\n" + _("Or show the printable check-in QR code of an upcoming event:")
        kinds += [[(f"🔳 {shorten(e.title)}", f"{QR}{e.id}")] for e in planned]
    await send(update, context, text, reply_markup=inline(kinds))
    return KIND_STATE


async def new_event_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    assert update.callback_query is not None
    if organiser(update, context) is None:
        return await refuse(update, context)
    await update.callback_query.answer()
    return await event_command(update, context)


async def kind_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    kind = (query.data or "").removeprefix(KIND)
    if kind not in events.KINDS:
        await stale(update, context)
        return KIND_STATE
    await query.answer()
    draft(context)["kind"] = kind
    await edit(update, "✔ " + events.kind_name(_, kind), None)
    await send(update, context, _("What is the title of the event?"))
    return TITLE_STATE


async def kind_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _ = tr(update, context)
    kinds = [[(events.kind_name(_, kind), KIND + kind)] for kind in events.KINDS]
    await send(
        update,
        context,
        _("Please choose the kind of event with the buttons."),
        reply_markup=inline(kinds),
    )
    return KIND_STATE


async def title_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    try:
        draft(context)["title"] = events.clean_title(message.text)
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, language_of(update, context)))
        return TITLE_STATE
    await message.reply_text(
        _("When does it start? Type the date and time, e.g. 20/03/2027 14:00.")
    )
    return WHEN_STATE


async def when_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    rt = runtime(context)
    try:
        moment = events.parse_moment(message.text, now=rt.now(), tz=rt.settings.tz)
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, language_of(update, context)))
        return WHEN_STATE
    draft(context)["starts_at"] = moment.isoformat()
    await message.reply_text(
        _(
            "Where will it take place? Type the place or address. You can also send a "
            "location pin (📎 → Location)."
        )
    )
    return PLACE_STATE


async def place_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    try:
        draft(context)["place"] = events.clean_place(message.text)
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, language_of(update, context)))
        return PLACE_STATE
    if draft(context).get("latitude") is not None:
        return await ask_agenda(update, context)
    await message.reply_text(
        _(
            "Would you like to add a location pin, so that people find the way? Send it now, "
            "or press Skip."
        ),
        reply_markup=inline([[(_("Skip"), NO_PIN)]]),
    )
    return PIN_STATE


async def location_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    message = update.effective_message
    assert message is not None and message.location is not None
    _ = tr(update, context)
    try:
        latitude, longitude = events.clean_location(
            message.location.latitude, message.location.longitude
        )
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, language_of(update, context)))
        return PIN_STATE if "place" in draft(context) else PLACE_STATE
    draft(context).update(latitude=latitude, longitude=longitude)
    if "place" not in draft(context):
        await message.reply_text(
            _("Thank you, the pin is saved. Now please type the name or address of the place.")
        )
        return PLACE_STATE
    return await ask_agenda(update, context)


async def no_pin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await edit(update, markup=None)
    return await ask_agenda(update, context)


async def pin_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _ = tr(update, context)
    await send(
        update,
        context,
        _("Please send a location pin, or press Skip."),
        reply_markup=inline([[(_("Skip"), NO_PIN)]]),
    )
    return PIN_STATE


async def ask_agenda(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _ = tr(update, context)
    await send(
        update,
        context,
        _("What is on the agenda? Type it (several lines are fine), or press Skip."),
        reply_markup=inline([[(_("Skip"), NO_AGENDA)]]),
    )
    return AGENDA_STATE


async def agenda_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    try:
        draft(context)["agenda"] = events.clean_agenda(message.text)
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, language_of(update, context)))
        return AGENDA_STATE
    return await show_audience(update, context, fresh=True)


async def no_agenda(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await edit(update, markup=None)
    draft(context)["agenda"] = None
    return await show_audience(update, context, fresh=True)


# -- audience --------------------------------------------------------------------------------


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


def audience_buttons(
    _: Translate, audience: Audience, coordinator: bool
) -> list[list[tuple[str, str]]]:
    rows = [
        [
            (check(Role.EMPLOYER in audience.roles) + _("Employers"), AUD_ROLE + Role.EMPLOYER),
            (check(Role.WORKER in audience.roles) + _("Workers"), AUD_ROLE + Role.WORKER),
            (check(audience.include_partners) + _("Partners"), AUD_ROLE + Role.PARTNER),
        ],
        [(_("📍 Provinces"), AUD_OPEN + "prov"), (_("🏭 Sectors"), AUD_OPEN + "sect")],
        [(_("🔎 No report yet on…"), AUD_OPEN + "area")],
    ]
    if coordinator:
        rows.append([(_("🏢 Provider"), AUD_OPEN + "provider")])
    rows.append([(_("Next ▶"), AUD_NEXT)])
    return rows


async def show_audience(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, fresh: bool = False
) -> str:
    contact = organiser(update, context)
    if contact is None:
        await refuse(update, context)
        return AUDIENCE_STATE
    _ = tr(update, context)
    language = language_of(update, context)
    data = draft(context)
    if "audience" not in data:
        provider_id = contact.provider_id if contact.role == Role.STAFF else None
        set_audience(data, Audience(provider_id=provider_id))
    audience = events.scoped_audience(draft_audience(data), contact)
    coordinator = contact.role == Role.COORDINATOR
    with runtime(context).database.session() as session:
        size = events.audience_size(session, audience, contact)
        provider = session.get(Provider, audience.provider_id) if audience.provider_id else None
        provider_name = provider.name if provider else None
    text = audience_text(_, audience, language, size, provider_name, coordinator)
    markup = inline(audience_buttons(_, audience, coordinator))
    if fresh or update.callback_query is None:
        await send(update, context, text, reply_markup=markup)
    else:
        await edit(update, text, markup)
    return AUDIENCE_STATE


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


async def audience_role(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None
    role = (query.data or "").removeprefix(AUD_ROLE)
    data = draft(context)
    if role not in (Role.EMPLOYER, Role.WORKER, Role.PARTNER) or "audience" not in data:
        await stale(update, context)
        return AUDIENCE_STATE
    await query.answer()
    audience = draft_audience(data)
    roles = tuple(r for r in audience.roles if r in SME_ROLES)
    partners = audience.include_partners
    if role == Role.PARTNER:
        partners = not partners
    elif role in roles:
        roles = tuple(r for r in roles if r != role)
    else:
        roles = tuple(r for r in SME_ROLES if r in roles or r == role)
    set_audience(data, with_roles(audience, roles, partners))
    return await show_audience(update, context)


def picker(
    _: Translate, what: str, audience: Audience, language: str, choices: list[tuple[str, str]]
) -> tuple[str, list[list[tuple[str, str]]]]:
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
        (check(code in chosen) + shorten(label), f"{AUD_PICK}{what}:{code}")
        for code, label in choices
    ]
    rows = grid(buttons, 2 if what in ("prov", "sect") else 1)
    rows.append([(_("◀ Back"), AUD_BACK)])
    return texts[what], rows


def choices_for(
    _: Translate, what: str, audience: Audience, language: str, session: Any
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


async def audience_open(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None
    what = (query.data or "").removeprefix(AUD_OPEN)
    contact = organiser(update, context)
    data = draft(context)
    if (
        what not in ("prov", "sect", "area", "provider")
        or "audience" not in data
        or contact is None
    ):
        await stale(update, context)
        return AUDIENCE_STATE
    if what == "provider" and contact.role != Role.COORDINATOR:
        await stale(update, context)
        return AUDIENCE_STATE
    await query.answer()
    return await show_picker(update, context, what)


async def show_picker(update: Update, context: ContextTypes.DEFAULT_TYPE, what: str) -> str:
    _ = tr(update, context)
    language = language_of(update, context)
    contact = organiser(update, context)
    assert contact is not None
    audience = events.scoped_audience(draft_audience(draft(context)), contact)
    with runtime(context).database.session() as session:
        choices = choices_for(_, what, audience, language, session)
    if what in ("prov", "sect") and not choices:
        text, rows = _("There are no enterprises to choose from yet."), [[(_("◀ Back"), AUD_BACK)]]
    else:
        text, rows = picker(_, what, audience, language, choices)
    await edit(update, text, inline(rows))
    return AUDIENCE_STATE


async def audience_pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None
    what, _sep, code = (query.data or "").removeprefix(AUD_PICK).partition(":")
    data = draft(context)
    contact = organiser(update, context)
    if "audience" not in data or contact is None:
        await stale(update, context)
        return AUDIENCE_STATE
    audience = draft_audience(data)
    fields = audience.to_json()
    if what == "prov" and content.province(code) is not None:
        fields["provinces"] = sorted(set(audience.provinces) ^ {code})
    elif what == "sect" and content.sector(code) is not None:
        fields["sectors"] = sorted(set(audience.sectors) ^ {code})
    elif what == "area" and (code == NO_AREA or content.area(code) is not None):
        fields["no_reports_in_area"] = None if code == NO_AREA else code
    elif (
        what == "provider" and contact.role == Role.COORDINATOR and (code == ALL or code.isdigit())
    ):
        with runtime(context).database.session() as session:
            if code != ALL and session.get(Provider, int(code)) is None:
                await stale(update, context)
                return AUDIENCE_STATE
        # Provinces and sectors were offered from the previous provider's enterprises.
        fields.update(provider_id=None if code == ALL else int(code), provinces=[], sectors=[])
    else:
        await stale(update, context)
        return AUDIENCE_STATE
    await query.answer()
    data["audience"] = Audience.from_json(fields).to_json()
    if what in ("prov", "sect"):
        return await show_picker(update, context, what)
    return await show_audience(update, context)


async def audience_back(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.callback_query is not None
    if "audience" not in draft(context):
        await stale(update, context)
        return AUDIENCE_STATE
    await update.callback_query.answer()
    return await show_audience(update, context)


async def audience_next(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    contact = organiser(update, context)
    data = draft(context)
    if contact is None or "audience" not in data:
        await stale(update, context)
        return AUDIENCE_STATE
    with runtime(context).database.session() as session:
        size = events.audience_size(session, draft_audience(data), contact)
        offered = goodpractice.entries(session, limit=PRACTICES_OFFERED)
    if size == 0:
        await query.answer(
            _("Nobody matches these choices yet. Please widen them."), show_alert=True
        )
        return AUDIENCE_STATE
    await query.answer()
    await edit(update, markup=None)
    if not offered:
        data["practices"] = []
        return await show_preview(update, context)
    data.setdefault("practices", [])
    text, markup = practices_view(_, offered, data["practices"])
    await send(update, context, text, reply_markup=markup)
    return PRACTICES_STATE


def practices_view(
    _: Translate, offered: list[goodpractice.Entry], chosen: list[int]
) -> tuple[str, Any]:
    text = _(
        "Would you like to showcase good practices at the event? They are listed in the "
        "invitation, and the feedback survey asks which ones the enterprise wants to try. "
        "Tap to choose up to {limit} (✅ chosen, ⬜ not chosen), then press Done.",
        limit=events.SHOWCASE_MAX,
    )
    rows = [
        [(check(entry.id in chosen) + shorten(entry.text, 48), f"{PRACTICE}{entry.id}")]
        for entry in offered
    ]
    rows.append([(_("Done ▶"), PRACTICES_DONE)])
    return text, inline(rows)


async def practice_toggled(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    improvement_id = number_after(query.data, PRACTICE)
    data = draft(context)
    with runtime(context).database.session() as session:
        offered = goodpractice.entries(session, limit=PRACTICES_OFFERED)
    if (
        improvement_id is None
        or "practices" not in data
        or improvement_id not in {e.id for e in offered}
    ):
        await stale(update, context)
        return PRACTICES_STATE
    chosen: list[int] = data["practices"]
    if improvement_id in chosen:
        chosen.remove(improvement_id)
    elif len(chosen) >= events.SHOWCASE_MAX:
        await query.answer(
            _("At most {limit} good practices, please.", limit=events.SHOWCASE_MAX), show_alert=True
        )
        return PRACTICES_STATE
    else:
        chosen.append(improvement_id)
    await query.answer()
    text, markup = practices_view(_, offered, chosen)
    await edit(update, text, markup)
    return PRACTICES_STATE


async def practices_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.callback_query is not None
    if "practices" not in draft(context):
        await stale(update, context)
        return PRACTICES_STATE
    await update.callback_query.answer()
    await edit(update, markup=None)
    return await show_preview(update, context)


async def buttons_please(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    _ = tr(update, context)
    if update.callback_query is not None:
        await stale(update, context)
        return
    await update.effective_message.reply_text(_("Please use the buttons above."))


# -- preview and creation --------------------------------------------------------------------


async def show_preview(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _ = tr(update, context)
    rt = runtime(context)
    language = language_of(update, context)
    contact = organiser(update, context)
    assert contact is not None
    plan = draft_of(draft(context))
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
    with rt.database.session() as session:
        size = events.audience_size(session, plan.audience, contact)
        practices = [e for i in plan.good_practices if (e := goodpractice.entry(session, i))]
    card = events.event_card(_, preview, language, rt.settings.tz, practices=practices)
    text = "\n\n".join(
        [
            _("<b>Please check the event</b>"),
            card,
            _("👥 {count} people will be invited.", count=format_number(size, language)),
        ]
    )
    await send(
        update,
        context,
        text,
        reply_markup=inline(
            [[(_("✅ Create and send invitations"), CREATE)], [(_("✖ Cancel"), DROP)]]
        ),
    )
    return CONFIRM_STATE


async def create(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    contact = organiser(update, context)
    if contact is None:
        return await refuse(update, context)
    data = user_data(context).pop(DRAFT, None)
    if not data or "kind" not in data:
        await stale(update, context)
        return ConversationHandler.END
    await query.answer()
    rt = runtime(context)
    language = language_of(update, context)
    try:
        with rt.database.session() as session:
            event = events.create_event(session, draft=draft_of(data), actor=contact, now=rt.now())
            invited = events.invite(session, event=event, now=rt.now(), tz=rt.settings.tz)
    except ProgrammeError as error:
        await edit(update, markup=None)
        await send(update, context, error_text(_, error, language, rt))
        return ConversationHandler.END
    done = _(
        "✅ Event created. {count} invitations are on their way; you will see the answers "
        "in 📅 Events.",
        count=format_number(invited, language),
    )
    await edit(update, f"{done}\n\n{query.message.text_html if query.message else ''}", None)  # type: ignore[union-attr]
    await send_qr(update, context, event)
    return ConversationHandler.END


async def drop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.callback_query is not None
    user_data(context).pop(DRAFT, None)
    await update.callback_query.answer()
    await edit(update, markup=None)
    return await cancel(update, context)


async def confirm_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    if update.callback_query is not None:
        await stale(update, context)
    await send(update, context, _("Please press ✅ Create and send invitations, or ✖ Cancel."))
    return CONFIRM_STATE


# -- the check-in QR code --------------------------------------------------------------------


def bot_username(context: ContextTypes.DEFAULT_TYPE) -> str:
    return runtime(context).bot_username or context.bot.username


def checkin_link(context: ContextTypes.DEFAULT_TYPE, event: Event) -> str:
    return f"https://t.me/{bot_username(context)}?start={events.CHECKIN_PREFIX}{event.checkin_code}"


async def send_qr(update: Update, context: ContextTypes.DEFAULT_TYPE, event: Event) -> None:
    assert update.effective_chat is not None
    _ = tr(update, context)
    link = checkin_link(context, event)
    caption = _(
        "🔳 Check-in QR code for <b>{title}</b>, {moment}. Print it or show it at the door: "
        "people scan it with their phone camera to check in. Link: {link}",
        title=esc(shorten(event.title, 200)),
        moment=format_moment(
            event.starts_at, language_of(update, context), runtime(context).settings.tz
        ),
        link=link,
    )
    await context.bot.send_photo(
        update.effective_chat.id,
        InputFile(qr_png(link), filename=f"event-{event.id}-checkin.png"),
        caption=caption,
    )


async def qr_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    event_id = number_after(query.data, QR)
    contact = organiser(update, context)
    with runtime(context).database.session() as session:
        event = session.get(Event, event_id) if event_id is not None else None
    if not events.can_manage(contact, event):
        await refuse(update, context)
        return
    assert event is not None
    await query.answer()
    await send_qr(update, context, event)


# -- check-in through the deep link ----------------------------------------------------------


async def checkin_from_start(
    update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str
) -> bool:
    """`/start ev_<code>`: records attendance. Returns False when the payload is not an event
    code but a registration invite that happens to begin the same way."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    rt = runtime(context)
    code = payload.removeprefix(events.CHECKIN_PREFIX)
    _ = tr(update, context)
    language = language_of(update, context)
    with rt.database.session() as session:
        event = events.event_by_code(session, code)
        if event is None and usable_invite(session, payload, now=rt.now()) is not None:
            return False
        contact = contact_by_user(session, user.id)
        if contact is None:
            await message.reply_text(
                _(
                    "Welcome! To check in with this bot you first need to join the programme "
                    "with the invite link from your OSH service provider. For today, please "
                    "give your name at the registration desk."
                )
            )
            return True
        try:
            result = events.check_in(session, code=code, contact=contact, now=rt.now())
        except ProgrammeError as error:
            await message.reply_text(error_text(_, error, language, rt))
            return True
    title = esc(result.event.title)
    count = format_number(result.attendees, language)
    if result.outcome == "organiser":
        text = _(
            "This is the check-in code of <b>{title}</b>. {count} people have checked in so far.",
            title=title,
            count=count,
        )
    elif result.outcome == "already":
        text = _("You have already checked in to <b>{title}</b>. Enjoy the event!", title=title)
    elif result.outcome == "walk_in":
        text = _(
            "✅ Welcome to <b>{title}</b>! You are checked in. We are glad you could come.",
            title=title,
        )
    else:
        text = _("✅ Welcome to <b>{title}</b>! You are checked in.", title=title)
    await message.reply_text(text, reply_markup=menu.keyboard(contact.role, contact.language))
    return True


# -- answers to invitations ------------------------------------------------------------------


async def rsvp_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    parts = (query.data or "").removeprefix(RSVP).split(":")
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in events.ANSWERS:
        await stale(update, context)
        return
    event_id, value = int(parts[0]), parts[1]
    language = language_of(update, context)
    try:
        with rt.database.session() as session:
            contact = contact_by_user(session, update.effective_user.id)
            if contact is None:
                await stale(update, context)
                return
            _row, changed = events.answer(
                session, event_id=event_id, contact=contact, value=value, now=rt.now()
            )
    except ProgrammeError as error:
        await query.answer(error_text(_, error, language, rt), show_alert=True)
        return
    thanks = {
        events.GOING: _("Thank you! We look forward to seeing you."),
        events.MAYBE: _("Thank you. You can change your answer until the event starts."),
        events.NO: _("Thank you for letting us know. We hope to see you another time."),
    }
    await query.answer(thanks[value])
    if changed:
        await edit(update, markup=inline(events.rsvp_buttons(_, event_id, value)))


# -- /events ---------------------------------------------------------------------------------


def counts_line(_: Translate, figures: event_reports.EventCounts, language: str, past: bool) -> str:
    def n(value: int) -> str:
        return format_number(value, language)

    if past:
        return _(
            "invited {invited} · going {going} · attended {attended} · reactions {reactions}",
            invited=n(figures.invited),
            going=n(figures.going),
            attended=n(figures.attended),
            reactions=n(figures.reactions),
        )
    return _(
        "invited {invited} · going {going} · maybe {maybe} · can't {cannot}",
        invited=n(figures.invited),
        going=n(figures.going),
        maybe=n(figures.maybe),
        cannot=n(figures.cannot),
    )


async def events_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = current_contact(update, context)
    assert update.effective_message is not None
    _ = tr(update, context)
    if contact is None:
        await update.effective_message.reply_text(refusal(_))
        return
    rt = runtime(context)
    language = language_of(update, context)
    tz = rt.settings.tz
    with rt.database.session() as session:
        upcoming, past = events.events_for(session, contact, now=rt.now(), past_limit=LIST_MAX)
        upcoming = upcoming[:LIST_MAX]
        answers = {
            e.id: (row.answer if (row := events.rsvp_of(session, e.id, contact.id)) else None)  # type: ignore[arg-type]
            for e in upcoming
        }
        figures = event_reports.counts(session, [e.id for e in upcoming + past])  # type: ignore[misc]
    manage = events.is_organiser(contact)
    lines = [_("<b>Events</b>")]
    buttons: list[list[tuple[str, str]]] = []
    answer_names = {
        events.GOING: _("you are going"),
        events.MAYBE: _("you might come"),
        events.NO: _("you can't come"),
        None: _("not answered yet"),
    }
    for heading, group, is_past in (
        (_("<b>Upcoming</b>"), upcoming, False),
        (_("<b>Past</b>"), past, True),
    ):
        if not group:
            continue
        lines += ["", heading]
        for event in group:
            assert event.id is not None
            moment = format_moment(event.starts_at, language, tz)
            line = f"• {moment} — <b>{esc(shorten(event.title, 80))}</b>"
            if event.status == events.CANCELLED:
                line += " " + _("(cancelled)")
            elif manage:
                line += "\n   " + counts_line(_, figures[event.id], language, is_past)
            elif not is_past:
                line += " — " + answer_names[answers.get(event.id)]
            lines.append(line)
            if manage:
                buttons.append(
                    [
                        (
                            f"{'📅' if not is_past else '📊'} {shorten(event.title)}",
                            f"{SHOW}{event.id}",
                        )
                    ]
                )
            elif not is_past and event.status != events.CANCELLED:
                buttons.append([(f"📅 {shorten(event.title)}", f"{MINE}{event.id}")])
    if len(lines) == 1:
        lines.append(
            _("No events yet. Create one with /event.")
            if manage
            else _("You have no event invitations yet.")
        )
    if manage:
        buttons.append([(_("➕ New event"), NEW)])
    await update.effective_message.reply_text(
        "\n".join(lines), reply_markup=inline(buttons) if buttons else None
    )


async def mine_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An invitee opens one of their events again: the card with the answer buttons."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    event_id = number_after(query.data, MINE)
    with rt.database.session() as session:
        contact = contact_by_user(session, update.effective_user.id)
        event = session.get(Event, event_id) if event_id is not None else None
        row = events.rsvp_of(session, event_id, contact.id) if event and contact else None  # type: ignore[arg-type]
        practices = events.showcased(session, event_id) if event else []  # type: ignore[arg-type]
        organiser_name = events.organiser_name(session, event) if event else None
    if event is None or row is None or row.invited_at is None:
        await stale(update, context)
        return
    await query.answer()
    card = events.event_card(
        _,
        event,
        language_of(update, context),
        rt.settings.tz,
        practices=practices,
        organiser=organiser_name,
    )
    upcoming = event.status == events.PLANNED and event.starts_at > rt.now()
    markup = inline(events.rsvp_buttons(_, event.id, row.answer)) if upcoming else None  # type: ignore[arg-type]
    await send(update, context, card, reply_markup=markup)


def reaction_lines(
    _: Translate, summary: event_reports.ReactionSummary, language: str
) -> list[str]:
    waiting = []
    if summary.awaiting:
        waiting.append(
            _(
                "{count} workers' reactions are added together when the feedback closes, if "
                "there are {minimum} or more, so that nobody can be recognised.",
                count=format_number(summary.awaiting, language),
                minimum=event_reports.SMALL_GROUP,
            )
        )
    return _counted_reaction_lines(_, summary, language) + waiting


def _counted_reaction_lines(
    _: Translate, summary: event_reports.ReactionSummary, language: str
) -> list[str]:
    if summary.responses == 0:
        return [] if summary.awaiting else [_("No reactions yet.")]
    if summary.suppressed:
        return [
            _(
                "{count} reactions so far. Details are shown from {minimum} reactions on, so "
                "that nobody can be recognised.",
                count=format_number(summary.responses, language),
                minimum=event_reports.SMALL_GROUP,
            )
        ]
    lines = [_("<b>Reactions</b> ({count})", count=format_number(summary.responses, language))]
    if summary.rating_mean is not None:
        lines.append(
            _(
                "Rating: {mean} of 5 (from {count} answers)",
                mean=format_number(round(summary.rating_mean, 1), language),
                count=format_number(summary.rating_count, language),
            )
        )
    for _id, text, chosen in summary.practices:
        lines.append(
            _(
                "• {practice}: {count} want to try it",
                practice=esc(shorten(text, 80)),
                count=format_number(chosen, language),
            )
        )
    for heading, texts in (
        (_("Most useful:"), summary.most_useful),
        (_("Next steps:"), summary.next_steps),
        (_("Suggestions:"), summary.suggestions),
    ):
        if texts:
            lines.append(heading)
            lines += [f"– {esc(shorten(text, 200))}" for text in texts]
    return lines


async def show_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    rt = runtime(context)
    language = language_of(update, context)
    event_id = number_after(query.data, SHOW)
    contact = organiser(update, context)
    with rt.database.session() as session:
        event = session.get(Event, event_id) if event_id is not None else None
        if not events.can_manage(contact, event):
            await refuse(update, context)
            return
        assert event is not None and event.id is not None
        practices = events.showcased(session, event.id)
        figures = event_reports.counts(session, [event.id])[event.id]
        summary = event_reports.reactions(session, event.id)
    n = lambda value: format_number(value, language)  # noqa: E731
    lines = [events.event_card(_, event, language, rt.settings.tz, practices=practices)]
    if event.status == events.CANCELLED:
        lines.append(_("❌ Cancelled."))
    lines += [
        "",
        _(
            "Invited {invited}: going {going}, maybe {maybe}, can't come {cannot}, no answer "
            "{none}.",
            invited=n(figures.invited),
            going=n(figures.going),
            maybe=n(figures.maybe),
            cannot=n(figures.cannot),
            none=n(figures.no_answer),
        ),
        _(
            "Attended {attended} (of whom {walk_ins} without a Going answer). "
            "Reactions {reactions}.",
            attended=n(figures.attended),
            walk_ins=n(figures.walk_ins),
            reactions=n(figures.reactions),
        ),
    ]
    if event.starts_at <= rt.now():
        lines += ["", *reaction_lines(_, summary, language)]
    text = truncate_html("\n".join(lines), MESSAGE_LIMIT)
    buttons: list[list[tuple[str, str]]] = []
    if event.status == events.PLANNED:
        buttons.append(
            [(_("🔳 QR code"), f"{QR}{event.id}"), (_("☑ Attendance"), f"{ATTENDANCE}{event.id}:0")]
        )
        if event.starts_at > rt.now():
            buttons.append(
                [
                    (_("🕑 Move"), f"{MOVE}{event.id}"),
                    (_("❌ Cancel the event"), f"{CANCEL_EVENT}{event.id}"),
                ]
            )
    await query.answer()
    await send(update, context, text, reply_markup=inline(buttons) if buttons else None)


# -- attendance by hand ----------------------------------------------------------------------


def attendance_view(
    _: Translate, event: Event, people: list[events.Attendee], page: int, language: str
) -> tuple[str, Any]:
    pages = max(1, (len(people) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    present = sum(1 for p in people if p.attended)
    text = _(
        "<b>Attendance: {title}</b>\n{present} of {total} checked in. Tap a name to tick or "
        "untick it.\n✅ here · ⬜ not checked in yet\nReply to the invitation: 👍 coming, "
        "🤔 maybe, ✖ not coming, … no reply",
        title=esc(shorten(event.title, 100)),
        present=format_number(present, language),
        total=format_number(len(people), language),
    )
    marks = {events.GOING: "👍", events.MAYBE: "🤔", events.NO: "✖", None: "…"}
    rows = []
    for person in people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        label = f"{check(person.attended)}{shorten(person.name, 28)} {marks.get(person.answer, '')}"
        if person.organisation:
            label += f" · {shorten(person.organisation, 20)}"
        rows.append([(label, f"{TICK}{event.id}:{person.contact_id}:{page}")])
    nav = []
    if page > 0:
        nav.append(("◀", f"{ATTENDANCE}{event.id}:{page - 1}"))
    if page < pages - 1:
        nav.append(("▶", f"{ATTENDANCE}{event.id}:{page + 1}"))
    if nav:
        rows.append(nav)
    return text, inline(rows)


def ids(data: str | None, prefix: str, count: int) -> list[int] | None:
    parts = (data or "").removeprefix(prefix).split(":")
    if not (data or "").startswith(prefix) or len(parts) != count:
        return None
    if not all(p.isdigit() and len(p) <= 10 for p in parts):
        return None
    return [int(p) for p in parts]


async def attendance_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    found = ids(query.data, ATTENDANCE, 2)
    contact = organiser(update, context)
    rt = runtime(context)
    with rt.database.session() as session:
        event = session.get(Event, found[0]) if found else None
        if found is None or not events.can_manage(contact, event):
            await refuse(update, context)
            return
        assert event is not None and event.id is not None
        people = events.attendance(session, event.id)
    await query.answer()
    text, markup = attendance_view(_, event, people, found[1], language_of(update, context))
    keyboard = query.message.reply_markup if query.message is not None else None  # type: ignore[union-attr]
    from_card = keyboard is not None and any(
        (button.callback_data or "").startswith(QR)
        for row in keyboard.inline_keyboard
        for button in row
    )
    if not from_card:  # paging through the list: turn the page in place
        await edit(update, text, markup)
    else:  # from the event card: a new message, so that the card stays above it
        await send(update, context, text, reply_markup=markup)


async def tick_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    found = ids(query.data, TICK, 3)
    contact = organiser(update, context)
    rt = runtime(context)
    language = language_of(update, context)
    if found is None or contact is None:
        await (stale(update, context) if contact else refuse(update, context))
        return
    event_id, contact_id, page = found
    try:
        with rt.database.session() as session:
            events.toggle_attendance(
                session, event_id=event_id, contact_id=contact_id, actor=contact, now=rt.now()
            )
            event = session.get(Event, event_id)
            people = events.attendance(session, event_id)
    except ProgrammeError as error:
        await query.answer(error_text(_, error, language, rt), show_alert=True)
        return
    assert event is not None
    await query.answer()
    text, markup = attendance_view(_, event, people, page, language)
    await edit(update, text, markup)


# -- cancel and move -------------------------------------------------------------------------


async def cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    event_id = number_after(query.data, CANCEL_EVENT)
    contact = organiser(update, context)
    with runtime(context).database.session() as session:
        event = session.get(Event, event_id) if event_id is not None else None
    if not events.can_manage(contact, event):
        await refuse(update, context)
        return
    assert event is not None
    await query.answer()
    await send(
        update,
        context,
        _(
            "Cancel <b>{title}</b>? Everyone invited will be told once.",
            title=esc(shorten(event.title, 200)),
        ),
        reply_markup=inline(
            [
                [
                    (_("Yes, cancel the event"), f"{CANCEL_OK}{event.id}"),
                    (_("No, keep it"), f"{SHOW}{event.id}"),
                ]
            ]
        ),
    )


async def cancel_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    rt = runtime(context)
    language = language_of(update, context)
    event_id = number_after(query.data, CANCEL_OK)
    contact = organiser(update, context)
    if event_id is None or contact is None:
        await refuse(update, context)
        return
    try:
        with rt.database.session() as session:
            told = events.cancel_event(
                session, event_id=event_id, actor=contact, now=rt.now(), tz=rt.settings.tz
            )
    except ProgrammeError as error:
        await query.answer(error_text(_, error, language, rt), show_alert=True)
        await edit(update, markup=None)
        return
    await query.answer()
    await edit(
        update,
        _(
            "❌ The event is cancelled. {count} invitees will be told.",
            count=format_number(told, language),
        ),
        None,
    )


async def move_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    rt = runtime(context)
    event_id = number_after(query.data, MOVE)
    contact = organiser(update, context)
    with rt.database.session() as session:
        event = session.get(Event, event_id) if event_id is not None else None
    if not events.can_manage(contact, event):
        return await refuse(update, context)
    assert event is not None
    if event.status != events.PLANNED or event.starts_at <= rt.now():
        await stale(update, context)
        return ConversationHandler.END
    await query.answer()
    user_data(context)[MOVING] = {"event": event.id}
    await send(
        update,
        context,
        _(
            "<b>{title}</b> now starts at {moment}. Type the new date and time, e.g. "
            "20/03/2027 14:00. (/cancel to keep it)",
            title=esc(shorten(event.title, 200)),
            moment=format_moment(event.starts_at, language_of(update, context), rt.settings.tz),
        ),
    )
    return MOVE_WHEN_STATE


async def move_when(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    rt = runtime(context)
    language = language_of(update, context)
    moving = user_data(context).get(MOVING)
    if not moving:
        return ConversationHandler.END
    try:
        moment = events.parse_moment(message.text, now=rt.now(), tz=rt.settings.tz)
    except ProgrammeError as error:
        await message.reply_text(error_text(_, error, language, rt))
        return MOVE_WHEN_STATE
    moving["starts_at"] = moment.isoformat()
    await message.reply_text(
        _(
            "Move the event to {moment}? Everyone invited will be told once, and asked again "
            "whether they can come.",
            moment=format_moment(moment, language, rt.settings.tz),
        ),
        reply_markup=inline([[(_("✅ Move it"), MOVE_OK), (_("✖ Cancel"), DROP)]]),
    )
    return MOVE_CONFIRM_STATE


async def move_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    rt = runtime(context)
    language = language_of(update, context)
    contact = organiser(update, context)
    moving = user_data(context).pop(MOVING, None)
    if contact is None or not moving or "starts_at" not in moving:
        await stale(update, context)
        return ConversationHandler.END
    try:
        with rt.database.session() as session:
            told = events.move_event(
                session,
                event_id=moving["event"],
                starts_at=datetime.fromisoformat(moving["starts_at"]),
                actor=contact,
                now=rt.now(),
                tz=rt.settings.tz,
            )
    except ProgrammeError as error:
        await query.answer(error_text(_, error, language, rt), show_alert=True)
        await edit(update, markup=None)
        return ConversationHandler.END
    await query.answer()
    await edit(
        update,
        _(
            "🕑 The event is moved. {count} invitees will be told.",
            count=format_number(told, language),
        ),
        None,
    )
    return ConversationHandler.END


async def move_drop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.callback_query is not None
    user_data(context).pop(MOVING, None)
    await update.callback_query.answer()
    await edit(update, markup=None)
    return await cancel(update, context)


async def move_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _ = tr(update, context)
    if update.callback_query is not None:
        await stale(update, context)
    await send(update, context, _("Please press ✅ Move it, or ✖ Cancel."))
    return MOVE_CONFIRM_STATE


# -- registration ----------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    menu_buttons = menu.any_button()
    not_command = ~filters.COMMAND & ~menu_buttons
    text = filters.TEXT & not_command
    other = not_command & ~filters.TEXT

    async def place_please(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        _ = tr(update, context)
        await update.effective_message.reply_text(
            _("Please type the place, or send a location pin.")
        )

    creation = ConversationHandler(
        name="events.create",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler("event", event_command),
            CallbackQueryHandler(new_event_button, pattern=f"^{NEW}$"),
        ],
        states={
            KIND_STATE: [
                CallbackQueryHandler(kind_chosen, pattern=f"^{KIND}"),
                CallbackQueryHandler(qr_button, pattern=f"^{QR}"),
                CallbackQueryHandler(stale),
                MessageHandler(not_command, kind_reprompt),
            ],
            TITLE_STATE: [
                MessageHandler(text, title_typed),
                MessageHandler(other, stay(TITLE_STATE)),
            ],
            WHEN_STATE: [MessageHandler(text, when_typed), MessageHandler(other, stay(WHEN_STATE))],
            PLACE_STATE: [
                MessageHandler(filters.LOCATION, location_sent),
                MessageHandler(text, place_typed),
                MessageHandler(other, stay(PLACE_STATE, place_please)),
            ],
            PIN_STATE: [
                MessageHandler(filters.LOCATION, location_sent),
                CallbackQueryHandler(no_pin, pattern=f"^{NO_PIN}$"),
                CallbackQueryHandler(stale),
                MessageHandler(not_command, pin_reprompt),
            ],
            AGENDA_STATE: [
                MessageHandler(text, agenda_typed),
                CallbackQueryHandler(no_agenda, pattern=f"^{NO_AGENDA}$"),
                CallbackQueryHandler(stale),
                MessageHandler(other, stay(AGENDA_STATE)),
            ],
            AUDIENCE_STATE: [
                CallbackQueryHandler(audience_role, pattern=f"^{AUD_ROLE}"),
                CallbackQueryHandler(audience_open, pattern=f"^{AUD_OPEN}"),
                CallbackQueryHandler(audience_pick, pattern=f"^{AUD_PICK}"),
                CallbackQueryHandler(audience_back, pattern=f"^{AUD_BACK}$"),
                CallbackQueryHandler(audience_next, pattern=f"^{AUD_NEXT}$"),
                CallbackQueryHandler(buttons_please),
                MessageHandler(not_command, stay(AUDIENCE_STATE, buttons_please)),
            ],
            PRACTICES_STATE: [
                CallbackQueryHandler(practice_toggled, pattern=f"^{PRACTICE}"),
                CallbackQueryHandler(practices_done, pattern=f"^{PRACTICES_DONE}$"),
                CallbackQueryHandler(buttons_please),
                MessageHandler(not_command, stay(PRACTICES_STATE, buttons_please)),
            ],
            CONFIRM_STATE: [
                CallbackQueryHandler(create, pattern=f"^{CREATE}$"),
                CallbackQueryHandler(drop, pattern=f"^{DROP}$"),
                CallbackQueryHandler(confirm_reprompt),
                MessageHandler(not_command, confirm_reprompt),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )
    moving = ConversationHandler(
        name="events.move",
        persistent=True,
        allow_reentry=True,
        entry_points=[CallbackQueryHandler(move_button, pattern=f"^{MOVE}")],
        states={
            MOVE_WHEN_STATE: [
                MessageHandler(text, move_when),
                MessageHandler(other, stay(MOVE_WHEN_STATE)),
            ],
            MOVE_CONFIRM_STATE: [
                CallbackQueryHandler(move_confirmed, pattern=f"^{MOVE_OK}$"),
                CallbackQueryHandler(move_drop, pattern=f"^{DROP}$"),
                CallbackQueryHandler(move_reprompt),
                MessageHandler(not_command, move_reprompt),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )
    return [
        creation,
        moving,
        CommandHandler("events", events_command),
        MessageHandler(menu.button(menu.EVENTS), events_command),
        CallbackQueryHandler(rsvp_button, pattern=f"^{RSVP}"),
        CallbackQueryHandler(qr_button, pattern=f"^{QR}"),
        CallbackQueryHandler(show_event, pattern=f"^{SHOW}"),
        CallbackQueryHandler(mine_button, pattern=f"^{MINE}"),
        CallbackQueryHandler(attendance_button, pattern=f"^{ATTENDANCE}"),
        CallbackQueryHandler(tick_button, pattern=f"^{TICK}"),
        CallbackQueryHandler(cancel_button, pattern=f"^{CANCEL_EVENT}"),
        CallbackQueryHandler(cancel_confirmed, pattern=f"^{CANCEL_OK}"),
    ]
