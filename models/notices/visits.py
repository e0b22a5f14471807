"""What the scheduler and the visit steps say, rendered in each recipient's language and queued
in the outbox. Nothing here sends: bot/sender.py does.

Keys (each message is queued once):
  visit-due:<visit>:<contact>                      staff: a revisit has come due
  visit-proposal:<visit>:<contact>:<proposed at>   employer: "Provider X would like to visit on"
  visit-confirmed:<visit>:<contact>:<confirmed at> the other side: confirmed / accepted
  visit-suggest:<visit>:<contact>:<suggested at>   staff: the employer suggests another time
  visit-reminder:<visit>:<contact>:<day>           both: the day before
  visit-outcome:<visit>:<contact>                  staff: how did it go?
  survey-invite:<round>:<contact>, survey-nudge:<round>:<contact>:<1|2>
  draft-nudge:<improvement>
  plan-reminder:<plan item>:<contact>              employer: a planned item falls due soon
  visit-report:<visit>:<contact>                   employer: the visit report (PDF)
  digest-weekly:<contact>:<yyyy-Www>, digest-monthly:<contact>:<yyyy-mm>
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from bot.i18n import (
    Translate,
    format_day,
    format_moment,
    format_number,
    normalise_language,
    translator,
)
from models import content
from models.outbox import PRIORITY_NOTICE, PRIORITY_REMINDER, Message, enqueue, mention
from models.plans import SHOW_DATA
from models.tables import Contact, Enterprise, PlanItem, Provider, Visit
from models.text import esc
from models.visit_checks import held_at
from models.visits import Card
from scheduler.config import SchedulerConfig

PREFIX = "vis:"
PROPOSE = PREFIX + "prop:"  # staff: propose a date for visit <id>
CONFIRM = PREFIX + "ok:"  # employer: confirm
SUGGEST = PREFIX + "alt:"  # employer: suggest another time
ACCEPT = PREFIX + "acc:"  # staff: accept the employer's suggestion
DONE = PREFIX + "done:"  # staff: the visit took place
MISSED = PREFIX + "miss:"  # staff: it did not happen
SKIP_NOTES = PREFIX + "skip"
PLAN_SHOW = SHOW_DATA  # the action plan of enterprise <id> (handlers/plan.py)


def stamp(moment: datetime) -> str:
    """To the second: a date proposed again a moment later (a typo put right) is a new key, not
    the one its step has just withdrawn (models/visits.py, `withdraw_notices`)."""
    return moment.strftime("%Y%m%d%H%M%S")


def when(moment: datetime, contact: Contact, config: SchedulerConfig) -> str:
    return format_moment(moment, contact.language, config.tz)


def visit_kind(kind: str, visit: Visit, now: datetime, config: SchedulerConfig) -> str:
    """Arrangements for a visit later today go out even in quiet hours."""
    if visit.scheduled_at is not None and config.today(visit.scheduled_at) == config.today(now):
        return "visit-today"
    return kind


def provider_name(session: Session, enterprise: Enterprise) -> str:
    provider = session.get(Provider, enterprise.provider_id)
    return provider.name if provider else ""


# -- staff: a revisit has come due ------------------------------------------------------------


def card_text(_: Translate, card: Card, contact: Contact, visit: Visit | None = None) -> str:
    language = contact.language
    enterprise = card.enterprise
    sector = content.sector(enterprise.sector_code)
    province = content.province(enterprise.province_code)
    lines = [
        f"<b>{esc(enterprise.name)}</b>",
        " · ".join(
            part
            for part in (
                sector.name(language) if sector else "",
                province.name(language) if province else "",
                _("{count} workers", count=format_number(enterprise.workers, language)),
            )
            if part
        ),
    ]
    if card.last_visit is not None:
        lines.append(_("Last visit: {day}", day=format_day(card.last_visit, language)))
    else:
        lines.append(
            _(
                "No revisit yet; training on {day}",
                day=format_day(enterprise.intervention_date, language),
            )
        )
    lines.append(_("Improvements reported since: {count}", count=card.reports_since))
    if card.plan.total:
        lines.append(
            _(
                "Action plan: {done} done, {planned} planned, {overdue} overdue",
                done=card.plan.done,
                planned=card.plan.planned,
                overdue=card.plan.overdue,
            )
        )
    if card.waiting_review or card.open_questions:
        lines.append(
            _(
                "Open: {reports} reports to review, {questions} unanswered questions",
                reports=card.waiting_review,
                questions=card.open_questions,
            )
        )
    if visit is not None and visit.offset_months:
        lines.append(
            _(
                "This is the {months}-month revisit, due on {day}.",
                months=visit.offset_months,
                day=format_day(visit.due_on, language),
            )
        )
    return "\n".join(lines)


def visit_due(
    session: Session, visit: Visit, card: Card, staff: list[Contact], *, now: datetime
) -> int:
    queued = 0
    for contact in staff:
        _ = translator(contact.language)
        text = _("🗓 <b>A revisit is due</b>") + "\n\n" + card_text(_, card, contact, visit)
        text += "\n\n" + _("When would you like to go? Propose a date and time to the enterprise.")
        message = Message(text, [[(_("📅 Propose a date"), f"{PROPOSE}{visit.id}")]])
        queued += bool(
            enqueue(
                session,
                key=f"visit-due:{visit.id}:{contact.id}",
                contact=contact,
                kind="visit-due",
                message=message,
                priority=PRIORITY_NOTICE,
                not_before=now,
            )
        )
    return queued


# -- the action plan ---------------------------------------------------------------------------


def plan_reminder(item: PlanItem, contact: Contact) -> Message:
    _ = translator(contact.language)
    text = _(
        "🎯 A gentle reminder from your action plan: “{what}” ({who}) was planned for "
        "<b>{day}</b>. If it is done already, well done: you can mark it in the plan.",
        what=esc(item.what),
        who=esc(item.who),
        day=format_day(item.due_on, contact.language),
    )
    return Message(text, [[(_("🎯 See the plan"), f"{PLAN_SHOW}{item.enterprise_id}")]])


# -- the arrangement ---------------------------------------------------------------------------


def proposal(
    session: Session,
    visit: Visit,
    employers: list[Contact],
    *,
    now: datetime,
    config: SchedulerConfig,
) -> int:
    assert visit.scheduled_at is not None and visit.proposed_at is not None
    enterprise = session.get(Enterprise, visit.enterprise_id)
    assert enterprise is not None
    provider = provider_name(session, enterprise)
    queued = 0
    for contact in employers:
        _ = translator(contact.language)
        text = _(
            "🗓 {provider} would like to visit {enterprise} on <b>{when}</b> to see how the "
            "improvements are going and to hear your views. Does this time suit you?",
            provider=esc(provider),
            enterprise=esc(enterprise.name),
            when=when(visit.scheduled_at, contact, config),
        )
        buttons = [
            [(_("✅ Confirm"), f"{CONFIRM}{visit.id}")],
            [(_("🕑 Suggest another time"), f"{SUGGEST}{visit.id}")],
        ]
        queued += bool(
            enqueue(
                session,
                key=f"visit-proposal:{visit.id}:{contact.id}:{stamp(visit.proposed_at)}",
                contact=contact,
                kind=visit_kind("visit-proposal", visit, now, config),
                message=Message(text, buttons),
                priority=PRIORITY_NOTICE,
                not_before=now,
            )
        )
    return queued


def confirmed(
    session: Session,
    visit: Visit,
    recipients: list[Contact],
    *,
    by: Contact | None,
    now: datetime,
    config: SchedulerConfig,
) -> int:
    """Tells the other side that the date stands (the employer confirmed, or staff accepted
    the employer's time)."""
    assert visit.scheduled_at is not None and visit.confirmed_at is not None
    enterprise = session.get(Enterprise, visit.enterprise_id)
    assert enterprise is not None
    queued = 0
    for contact in recipients:
        _ = translator(contact.language)
        text = _(
            "✅ The visit to {enterprise} on <b>{when}</b> is confirmed{by}.",
            enterprise=esc(enterprise.name),
            when=when(visit.scheduled_at, contact, config),
            by=_(" by {name}", name=esc(by.display_name)) if by and by.display_name else "",
        )
        queued += bool(
            enqueue(
                session,
                key=f"visit-confirmed:{visit.id}:{contact.id}:{stamp(visit.confirmed_at)}",
                contact=contact,
                kind=visit_kind("visit-confirmed", visit, now, config),
                message=Message(text, mentions=mention(by)),
                priority=PRIORITY_NOTICE,
                not_before=now,
            )
        )
    return queued


def visit_report(
    session: Session,
    visit: Visit,
    recipients: list[Contact],
    *,
    documents: dict[str, str],
    now: datetime,
    config: SchedulerConfig,
) -> int:
    """The one-page visit report (reports/visit_report.py) to the enterprise's employers, each
    the PDF of their language (`documents`: language -> path)."""
    assert visit.done_at is not None
    enterprise = session.get(Enterprise, visit.enterprise_id)
    assert enterprise is not None
    queued = 0
    for contact in recipients:
        _ = translator(contact.language)
        document = documents[normalise_language(contact.language)]
        text = _(
            "📄 The report of our visit to {enterprise} on {day}: what we saw, what changed and "
            "the next visit. Thank you for welcoming us!",
            enterprise=esc(enterprise.name),
            day=format_day(config.today(held_at(visit)), contact.language),
        )
        queued += bool(
            enqueue(
                session,
                key=f"visit-report:{visit.id}:{contact.id}",
                contact=contact,
                kind="visit-report",
                message=Message(text, document_path=document),
                priority=PRIORITY_NOTICE,
                not_before=now,
            )
        )
    return queued


def suggestion(
    session: Session,
    visit: Visit,
    staff: list[Contact],
    *,
    employer: Contact,
    now: datetime,
    config: SchedulerConfig,
) -> int:
    assert visit.suggested_at is not None
    enterprise = session.get(Enterprise, visit.enterprise_id)
    assert enterprise is not None
    queued = 0
    for contact in staff:
        _ = translator(contact.language)
        text = _(
            "🕑 {name} of {enterprise} asks to move the visit to <b>{when}</b>.",
            name=esc(employer.display_name or _("The employer")),
            enterprise=esc(enterprise.name),
            when=when(visit.suggested_at, contact, config),
        )
        buttons = [
            [(_("✅ Accept this time"), f"{ACCEPT}{visit.id}")],
            [(_("📅 Propose another date"), f"{PROPOSE}{visit.id}")],
        ]
        queued += bool(
            enqueue(
                session,
                key=f"visit-suggest:{visit.id}:{contact.id}:{stamp(visit.suggested_at)}",
                contact=contact,
                kind="visit-confirmed",
                message=Message(text, buttons, mentions=mention(employer)),
                priority=PRIORITY_NOTICE,
                not_before=now,
            )
        )
    return queued


def reminder(
    session: Session,
    visit: Visit,
    recipients: list[Contact],
    *,
    now: datetime,
    config: SchedulerConfig,
) -> int:
    assert visit.scheduled_at is not None
    enterprise = session.get(Enterprise, visit.enterprise_id)
    assert enterprise is not None
    provider = provider_name(session, enterprise)
    day = config.today(visit.scheduled_at).isoformat()
    queued = 0
    for contact in recipients:
        _ = translator(contact.language)
        if contact.enterprise_id is not None:
            text = _(
                "🔔 A reminder: {provider} visits you tomorrow, <b>{when}</b>. If that no longer "
                "suits you, please tell them.",
                provider=esc(provider),
                when=when(visit.scheduled_at, contact, config),
            )
        else:
            text = _(
                "🔔 A reminder: your visit to {enterprise} is tomorrow, <b>{when}</b>.",
                enterprise=esc(enterprise.name),
                when=when(visit.scheduled_at, contact, config),
            )
        queued += bool(
            enqueue(
                session,
                key=f"visit-reminder:{visit.id}:{contact.id}:{day}",
                contact=contact,
                kind="visit-reminder",
                message=Message(text),
                priority=PRIORITY_REMINDER,
                not_before=now,
            )
        )
    return queued


def outcome_question(
    session: Session,
    visit: Visit,
    staff: list[Contact],
    *,
    now: datetime,
    config: SchedulerConfig,
) -> int:
    assert visit.scheduled_at is not None
    enterprise = session.get(Enterprise, visit.enterprise_id)
    assert enterprise is not None
    queued = 0
    for contact in staff:
        _ = translator(contact.language)
        text = _(
            "📝 How did the visit to {enterprise} on {when} go?",
            enterprise=esc(enterprise.name),
            when=when(visit.scheduled_at, contact, config),
        )
        buttons = [
            [(_("✅ Done"), f"{DONE}{visit.id}"), (_("✖ Did not happen"), f"{MISSED}{visit.id}")]
        ]
        queued += bool(
            enqueue(
                session,
                key=f"visit-outcome:{visit.id}:{contact.id}",
                contact=contact,
                kind="visit-outcome",
                message=Message(text, buttons),
                priority=PRIORITY_NOTICE,
                not_before=now,
            )
        )
    return queued


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
