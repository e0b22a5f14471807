"""Events as the bot shows them outside the forms: the /events list, an event's page for its
organisers, an invitee's card, the attendance list, and the answers to a press or a scan.
Rendered here, from the data, in the reader's language, for every channel (handlers/events.py
sends them on Telegram). Creating and moving an event are journeys, models/journeys/events.py."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.i18n import Translate, format_moment, format_number, shorten, translator
from models import events
from models.goodpractice import Entry
from models.journeys.core import Action, Reply
from models.journeys.events import MOVE, NEW, QR
from models.outbox import Message
from models.tables import Contact, Event, Role
from models.text import MESSAGE_LIMIT, check, esc, truncate_html
from reports import events as event_reports

PREFIX = "evt:"
SHOW = PREFIX + "show:"
ATTENDANCE = PREFIX + "att:"  # evt:att:<event>:<page>
TICK = PREFIX + "tick:"  # evt:tick:<event>:<contact>:<page>
CANCEL_EVENT = PREFIX + "cancel:"
CANCEL_OK = PREFIX + "cancelok:"
MINE = PREFIX + "mine:"

PAGE_SIZE = 8
LIST_MAX = 8  # events per section of /events


# -- the list --------------------------------------------------------------------------------


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


def listing(
    session: Session, contact: Contact, _: Translate, language: str, tz: ZoneInfo, now: datetime
) -> Reply:
    """/events: organisers see their events with figures and open one; everyone else sees the
    events they were invited to, with their answer."""
    upcoming, past = events.events_for(session, contact, now=now, past_limit=LIST_MAX)
    upcoming = upcoming[:LIST_MAX]
    assert contact.id is not None
    answers = {
        e.id: (row.answer if (row := events.rsvp_of(session, e.id, contact.id)) else None)
        for e in upcoming
        if e.id is not None
    }
    figures = event_reports.counts(session, [e.id for e in upcoming + past if e.id is not None])
    manage = events.is_organiser(contact)
    lines = [_("<b>Events</b>")]
    actions: list[list[Action]] = []
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
                icon = "📊" if is_past else "📅"
                actions.append([Action(f"{icon} {shorten(event.title)}", f"{SHOW}{event.id}")])
            elif not is_past and event.status != events.CANCELLED:
                actions.append([Action(f"📅 {shorten(event.title)}", f"{MINE}{event.id}")])
    if len(lines) == 1:
        lines.append(
            _("No events yet. Create one with /event.")
            if manage
            else _("You have no event invitations yet.")
        )
    if manage:
        actions.append([Action(_("➕ New event"), NEW)])
    return Reply("\n".join(lines), actions)


def invitee_card(
    session: Session,
    contact: Contact | None,
    event_id: int | None,
    _: Translate,
    language: str,
    tz: ZoneInfo,
    now: datetime,
) -> Reply | None:
    """An invitee opens one of their events again: the card, with the answer buttons while it
    is upcoming; None when the event is not theirs."""
    event = session.get(Event, event_id) if event_id is not None else None
    if event is None or event.id is None or contact is None or contact.id is None:
        return None
    row = events.rsvp_of(session, event.id, contact.id)
    if row is None or row.invited_at is None:
        return None
    card = event_card(
        _, event, language, tz, practices=events.showcased(session, event.id),
        organiser=events.organiser_name(session, event),
    )  # fmt: skip
    upcoming = event.status == events.PLANNED and event.starts_at > now
    rows = rsvp_buttons(_, event.id, row.answer) if upcoming else []
    return Reply(card, [[Action(label, data) for label, data in r] for r in rows])


def invitation_answers(
    session: Session, contact: Contact, _: Translate, now: datetime
) -> list[Action]:
    """The answer buttons of the person's upcoming invitations listed by /events, each named
    with its event, for a channel without buttons that offers them under the list (Telegram
    opens each invitee's card instead, `invitee_card`, with the same buttons)."""
    assert contact.id is not None
    upcoming, _past = events.events_for(session, contact, now=now, past_limit=0)
    actions: list[Action] = []
    for event in upcoming[:LIST_MAX]:
        assert event.id is not None
        row = events.rsvp_of(session, event.id, contact.id)
        if event.status != events.PLANNED or row is None or row.invited_at is None:
            continue
        title = shorten(event.title, 40)
        for label, data in rsvp_buttons(_, event.id, row.answer)[0]:
            actions.append(Action(f"{label} — {title}", data))
    return actions


# -- an event's page for its organisers ------------------------------------------------------


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


def event_page(
    session: Session, event: Event, _: Translate, language: str, tz: ZoneInfo, now: datetime
) -> Reply:
    """The card, who answered and came, the reactions once it has started, and what the
    organisers can do with it."""
    assert event.id is not None
    figures = event_reports.counts(session, [event.id])[event.id]
    n = lambda value: format_number(value, language)  # noqa: E731
    lines = [event_card(_, event, language, tz, practices=events.showcased(session, event.id))]
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
    if event.starts_at <= now:
        lines += ["", *reaction_lines(_, event_reports.reactions(session, event.id), language)]
    actions: list[list[Action]] = []
    if event.status == events.PLANNED:
        actions.append(
            [
                Action(_("🔳 QR code"), f"{QR}{event.id}"),
                Action(_("☑ Attendance"), f"{ATTENDANCE}{event.id}:0"),
            ]
        )
        if event.starts_at > now:
            actions.append(
                [
                    Action(_("🕑 Move"), f"{MOVE}{event.id}"),
                    Action(_("❌ Cancel the event"), f"{CANCEL_EVENT}{event.id}"),
                ]
            )
    return Reply(truncate_html("\n".join(lines), MESSAGE_LIMIT), actions)


def cancel_question(_: Translate, event: Event) -> Reply:
    text = _(
        "Cancel <b>{title}</b>? Everyone invited will be told once.",
        title=esc(shorten(event.title, 200)),
    )
    actions = [
        [
            Action(_("Yes, cancel the event"), f"{CANCEL_OK}{event.id}"),
            Action(_("No, keep it"), f"{SHOW}{event.id}"),
        ]
    ]
    return Reply(text, actions)


# -- attendance by hand ----------------------------------------------------------------------


def attendance_page(
    _: Translate, event: Event, people: list[events.Attendee], page: int, language: str
) -> Reply:
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
        rows.append([Action(label, f"{TICK}{event.id}:{person.contact_id}:{page}")])
    nav = []
    if page > 0:
        nav.append(Action("◀", f"{ATTENDANCE}{event.id}:{page - 1}"))
    if page < pages - 1:
        nav.append(Action("▶", f"{ATTENDANCE}{event.id}:{page + 1}"))
    if nav:
        rows.append(nav)
    return Reply(text, rows)


def ids(data: str | None, prefix: str, count: int) -> list[int] | None:
    """The `count` ids after `prefix` in an action's data; None when forged."""
    parts = (data or "").removeprefix(prefix).split(":")
    if not (data or "").startswith(prefix) or len(parts) != count:
        return None
    if not all(p.isdigit() and len(p) <= 10 and int(p) < 2**31 for p in parts):
        return None
    return [int(p) for p in parts]


# -- answers to a press or a scan ------------------------------------------------------------


def rsvp_thanks(_: Translate, value: str) -> str:
    return {
        events.GOING: _("Thank you! We look forward to seeing you."),
        events.MAYBE: _("Thank you. You can change your answer until the event starts."),
        events.NO: _("Thank you for letting us know. We hope to see you another time."),
    }[value]


def checked_in(_: Translate, result: events.CheckIn, language: str) -> str:
    title = esc(result.event.title)
    count = format_number(result.attendees, language)
    if result.outcome == "organiser":
        return _(
            "This is the check-in code of <b>{title}</b>. {count} people have checked in so far.",
            title=title,
            count=count,
        )
    if result.outcome == "already":
        return _("You have already checked in to <b>{title}</b>. Enjoy the event!", title=title)
    if result.outcome == "walk_in":
        return _(
            "✅ Welcome to <b>{title}</b>! You are checked in. We are glad you could come.",
            title=title,
        )
    return _("✅ Welcome to <b>{title}</b>! You are checked in.", title=title)


def not_registered(_: Translate) -> str:
    return _(
        "Welcome! To check in with this bot you first need to join the programme with the "
        "invite link from your OSH service provider. For today, please give your name at the "
        "registration desk."
    )


# -- cards the bot sends on its own (queued by models/events.py) ---------------------------


def map_link(event: Event) -> str | None:
    if event.latitude is None or event.longitude is None:
        return None
    return f"https://maps.google.com/?q={event.latitude:.6f},{event.longitude:.6f}"


def event_card(
    _: Translate,
    event: Event,
    language: str,
    tz: ZoneInfo,
    *,
    practices: list[Entry] | None = None,
    organiser: str | None = None,
) -> str:
    """Title, kind, time, place, agenda and showcased good practices, as HTML."""
    lines = [
        f"<b>{esc(event.title)}</b>",
        events.kind_name(_, event.kind) + (f" — {esc(organiser)}" if organiser else ""),
        _("🕑 {moment}", moment=format_moment(event.starts_at, language, tz)),
        _("📍 {place}", place=esc(event.place or "")),
    ]
    link = map_link(event)
    if link:
        lines.append(_("Map: {link}", link=link))
    if event.agenda:
        lines += ["", _("<b>Agenda</b>"), esc(event.agenda)]
    if practices:
        lines += ["", _("<b>Good practices we will look at</b>")]
        for entry in practices:
            who = f" ({esc(entry.enterprise_name)})" if entry.enterprise_name else ""
            lines.append(f"• {truncate_html(esc(entry.text), 160)}{who}")
    return "\n".join(lines)


def rsvp_buttons(
    _: Translate, event_id: int, chosen: str | None = None
) -> list[list[tuple[str, str]]]:
    return [
        [
            (
                ("• " if answer == chosen else "") + _(events.ANSWER_LABELS[answer]),
                f"{events.RSVP_DATA}{event_id}:{answer}",
            )
            for answer in events.ANSWERS
        ]
    ]


def invitation(
    event: Event,
    contact: Contact,
    *,
    practices: list[Entry],
    tz: ZoneInfo,
    organiser: str | None = None,
) -> Message:
    _ = translator(contact.language)
    assert event.id is not None
    head = _("📅 <b>You are invited</b>")
    card = event_card(_, event, contact.language, tz, practices=practices, organiser=organiser)
    ask = _("Will you come? You can change your answer until the event starts.")
    return Message(f"{head}\n\n{card}\n\n{ask}", buttons=rsvp_buttons(_, event.id))


def reminder(
    event: Event, contact: Contact, answer_now: str | None, which: str, *, tz: ZoneInfo
) -> Message:
    _ = translator(contact.language)
    assert event.id is not None
    moment = format_moment(event.starts_at, contact.language, tz)
    if which == "d-1":
        head = _(
            "⏰ Reminder: <b>{title}</b> is tomorrow, {moment}.",
            title=esc(event.title),
            moment=moment,
        )
    else:
        head = _(
            "⏰ Reminder: <b>{title}</b> starts at {moment}.", title=esc(event.title), moment=moment
        )
    lines = [head, _("📍 {place}", place=esc(event.place or ""))]
    link = map_link(event)
    if link:
        lines.append(_("Map: {link}", link=link))
    if answer_now == events.GOING:
        lines.append(_("At the door, scan the event's QR code with your phone to check in."))
        buttons = None
    else:
        lines.append(_("Will you come? Your answer helps us prepare."))
        buttons = rsvp_buttons(_, event.id, answer_now)
    return Message("\n".join(lines), buttons=buttons)


def survey_invitation(event: Event, contact: Contact, title: str, intro: str) -> Message:
    """After an event, to those who came: its reaction survey."""
    _ = translator(contact.language)
    text = _(
        "🙏 Thank you for coming to <b>{event}</b>.\n\n<b>{title}</b>\n{intro}",
        event=esc(event.title),
        title=esc(title),
        intro=esc(intro),
    )
    if contact.role == Role.WORKER:  # models/surveys.py: event_anonymous
        text += "\n" + _("Your answers are anonymous.")
    return Message(text, buttons=[[(_("📝 Give feedback"), f"{events.SURVEY_DATA}{event.id}")]])


def cancelled(event: Event, contact: Contact, *, tz: ZoneInfo) -> Message:
    _ = translator(contact.language)
    return Message(
        _(
            "❌ <b>{title}</b> on {moment} is cancelled. We are sorry for the change; we will "
            "let you know when there is a new date.",
            title=esc(event.title),
            moment=format_moment(event.starts_at, contact.language, tz),
        )
    )


def moved(
    event: Event, contact: Contact, old: datetime, answer: str | None, *, tz: ZoneInfo
) -> Message:
    _ = translator(contact.language)
    assert event.id is not None
    text = _(
        "📅 <b>{title}</b> has moved: from {old} to <b>{new}</b>.\n📍 {place}\n"
        "Will you come at the new time?",
        title=esc(event.title),
        old=format_moment(old, contact.language, tz),
        new=format_moment(event.starts_at, contact.language, tz),
        place=esc(event.place or ""),
    )
    return Message(text, buttons=rsvp_buttons(_, event.id, answer))
