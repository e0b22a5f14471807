"""The improvement report as the bot shows it on its own: the report card that the reporter
and staff both see, the staff review buttons, and every notice about a report (to reviewers,
to the reporter, a question and its answer), queued in the outbox in each reader's language.
Rendered here, from the data, for every channel and for the dashboard."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.i18n import (
    N_,
    Translate,
    format_day,
    format_moment,
    format_number,
    format_vnd,
    shorten,
    translator,
)
from models import content
from models import improvements as imp
from models.outbox import PRIORITY_NOTICE, Message, enqueue, mention
from models.programme import ProgrammeError
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    ImprovementMessage,
    Provider,
    ReviewStatus,
    Role,
    ShareConsent,
)
from models.text import esc

log = logging.getLogger(__name__)

PREFIX = "rev:"
VERIFY = PREFIX + "ok:"
GOOD = PREFIX + "gp:"
ASK = PREFIX + "ask:"
REPLY = PREFIX + "re:"


LIKELIHOOD = {1: N_("unlikely"), 2: N_("possible"), 3: N_("likely")}
SEVERITY = {1: N_("minor"), 2: N_("serious"), 3: N_("very serious")}
BANDS = {
    imp.CostBand.FREE: N_("Free"),
    imp.CostBand.UNDER_1M: N_("Under 1 million"),
    imp.CostBand.FROM_1M_TO_5M: N_("1–5 million"),
    imp.CostBand.OVER_5M: N_("Over 5 million"),
}
SHARING = {
    ShareConsent.NAMED: N_("yes, naming the enterprise"),
    ShareConsent.ANONYMOUS: N_("yes, without naming the enterprise"),
    ShareConsent.NO: N_("no"),
}
STATUS = {
    ReviewStatus.DRAFT: N_("📝 unfinished"),
    ReviewStatus.SUBMITTED: N_("⏳ waiting for review"),
    ReviewStatus.VERIFIED: N_("✅ verified"),
    ReviewStatus.GOOD_PRACTICE: N_("⭐ good practice"),
    ReviewStatus.WITHDRAWN: N_("↩️ withdrawn"),
}


# -- the card --------------------------------------------------------------------------------


def area_label(code: str | None, language: str) -> str:
    area = content.area(code)
    return area.label(language) if area is not None else "—"


def kind_label(code: str | None, language: str) -> str:
    kind = content.kind(code)
    return esc(kind.name(language)) if kind is not None else "—"


def risk_text(_: Translate, likelihood: int | None, severity: int | None, score: int | None) -> str:
    if likelihood is None or severity is None or score is None:
        return "—"
    return _(
        "{likelihood} × {severity} = {score}/9",
        likelihood=_(LIKELIHOOD[likelihood]),
        severity=_(SEVERITY[severity]),
        score=score,
    )


def cost_text(_: Translate, improvement: Improvement, language: str) -> str:
    if improvement.cost_vnd is not None and improvement.cost_band != imp.CostBand.FREE:
        return format_vnd(improvement.cost_vnd, language)
    if improvement.cost_band in {b.value for b in imp.CostBand}:
        return _(BANDS[imp.CostBand(improvement.cost_band)])
    return "—"


def card(_: Translate, improvement: Improvement, language: str) -> str:
    """What the report says, for the reporter's summary and the staff notice alike."""
    yes, no = "✔", "—"
    lines = [
        _("<b>Area:</b> {value}", value=area_label(improvement.area_code, language)),
        _("<b>Kind:</b> {value}", value=kind_label(improvement.kind_code, language)),
        _("<b>What was improved:</b> {value}", value=esc(improvement.description or "—")),
        _(
            "<b>Photos:</b> before {before}, after {after}",
            before=yes if improvement.photo_before_path else no,
            after=yes if improvement.photo_after_path else no,
        ),
        _("<b>Cost:</b> {value}", value=cost_text(_, improvement, language)),
        _(
            "<b>Workers who benefit:</b> {value}",
            value=format_number(improvement.workers_benefiting, language)
            if improvement.workers_benefiting is not None
            else "—",
        ),
        _(
            "<b>Risk before:</b> {value}",
            value=risk_text(
                _,
                improvement.risk_before_likelihood,
                improvement.risk_before_severity,
                improvement.risk_before_score,
            ),
        ),
        _(
            "<b>Risk after:</b> {value}",
            value=risk_text(
                _,
                improvement.risk_after_likelihood,
                improvement.risk_after_severity,
                improvement.risk_after_score,
            ),
        ),
        _(
            "<b>Share as a good practice:</b> {value}",
            value=_(SHARING[ShareConsent(improvement.share_consent)])
            if improvement.share_consent
            else "—",
        ),
    ]
    return "\n".join(lines)


def reporter_text(_: Translate, session: Session, improvement: Improvement) -> str:
    """Who reported: an employer by name; a worker only as "a worker", so that nothing shown
    to staff points at one worker."""
    reporter = session.get(Contact, improvement.reporter_id) if improvement.reporter_id else None
    if reporter is None or reporter.erased_at is not None:
        return _("someone at the enterprise")
    if reporter.role == Role.EMPLOYER:
        return _("the employer, {name}", name=esc(reporter.display_name or "—"))
    return _("a worker")


def staff_card(
    _: Translate,
    session: Session,
    improvement: Improvement,
    language: str,
    tz: ZoneInfo,
    *,
    headline: str,
) -> str:
    enterprise = session.get(Enterprise, improvement.enterprise_id)
    assert enterprise is not None
    province = content.province(enterprise.province_code)
    sector = content.sector(enterprise.sector_code)
    moment = improvement.submitted_at or improvement.updated_at
    place = province.name(language) if province else enterprise.province_code
    trade = sector.name(language) if sector else enterprise.sector_code
    head = [
        headline,
        f"<b>{esc(enterprise.name)}</b> — {place}, {trade}",
        _(
            "Reported by {who}, {moment}",
            who=reporter_text(_, session, improvement),
            moment=format_moment(moment, language, tz),
        ),
    ]
    return "\n".join(head) + "\n\n" + card(_, improvement, language)


def review_buttons(_: Translate, improvement: Improvement) -> list[list[tuple[str, str]]]:
    rows: list[list[tuple[str, str]]] = []
    if improvement.status == ReviewStatus.SUBMITTED:
        rows.append([(_("✅ Verify"), f"{VERIFY}{improvement.id}")])
    if improvement.status in (ReviewStatus.SUBMITTED, ReviewStatus.VERIFIED):
        rows.append([(_("⭐ Good practice"), f"{GOOD}{improvement.id}")])
    if improvement.status != ReviewStatus.WITHDRAWN:
        rows.append([(_("❓ Ask a question"), f"{ASK}{improvement.id}")])
    return rows


# -- notices (outbox) ------------------------------------------------------------------------


def notify_reviewers(
    session: Session,
    improvement: Improvement,
    *,
    media_root: Path,
    tz: ZoneInfo,
    now: datetime,
    updated: bool = False,
) -> int:
    """Queues the report card (with its photos first) for each reviewer; returns how many
    reviewers were told. An update after an edit gets its own key per edit."""
    told = 0
    stamp = int(improvement.updated_at.timestamp())
    # The card names an employer who reported (reporter_text); never a worker.
    reporter = session.get(Contact, improvement.reporter_id) if improvement.reporter_id else None
    if reporter is not None and reporter.role != Role.EMPLOYER:
        reporter = None
    for staff in imp.reviewers(session, improvement):
        _ = translator(staff.language)
        base = (
            f"report-updated:{improvement.id}:{staff.id}:{stamp}"
            if updated
            else f"report-submitted:{improvement.id}:{staff.id}"
        )
        if not updated:
            for slot, label in (("before", N_("Before")), ("after", N_("After"))):
                path = getattr(improvement, f"photo_{slot}_path")
                if path and (media_root / path).exists():
                    enqueue(
                        session,
                        key=f"{base}:{slot}",
                        contact=staff,
                        kind="report-photo",
                        message=Message(
                            _("Report #{id}: {label}", id=improvement.id, label=_(label)),
                            photo_path=str(media_root / path),
                        ),
                        priority=PRIORITY_NOTICE,
                        not_before=now,
                    )
        headline = (
            _("<b>✏️ Report #{id} was changed by the enterprise</b>", id=improvement.id)
            if updated
            else _("<b>📝 New improvement report #{id}</b>", id=improvement.id)
        )
        text = staff_card(_, session, improvement, staff.language, tz, headline=headline)
        row = enqueue(
            session,
            key=base,
            contact=staff,
            kind="report-submitted",
            message=Message(text, review_buttons(_, improvement), mentions=mention(reporter)),
            priority=PRIORITY_NOTICE,
            not_before=now,
        )
        told += row is not None
    return told


def notify_withdrawn(session: Session, improvement: Improvement, *, now: datetime) -> None:
    enterprise = session.get(Enterprise, improvement.enterprise_id)
    assert enterprise is not None
    for staff in imp.reviewers(session, improvement):
        _ = translator(staff.language)
        enqueue(
            session,
            key=f"report-withdrawn:{improvement.id}:{staff.id}",
            contact=staff,
            kind="report-withdrawn",
            message=Message(
                _(
                    "↩️ {enterprise} withdrew report #{id} ({area}). Nothing to review.",
                    enterprise=esc(enterprise.name),
                    id=improvement.id,
                    area=area_label(improvement.area_code, staff.language),
                )
            ),
            priority=PRIORITY_NOTICE,
            not_before=now,
        )


def notify_reporter_reviewed(session: Session, improvement: Improvement, *, now: datetime) -> None:
    """Praise reaches the enterprise: the participatory method starts from what works."""
    reporter = session.get(Contact, improvement.reporter_id) if improvement.reporter_id else None
    if reporter is None:
        return
    _ = translator(reporter.language)
    area = area_label(improvement.area_code, reporter.language)
    if improvement.status == ReviewStatus.GOOD_PRACTICE:
        text = _(
            "⭐ Your report #{id} ({area}) was chosen as a good practice by your OSH service "
            "provider. Thank you for showing what works!",
            id=improvement.id,
            area=area,
        )
    else:
        text = _(
            "✅ Your report #{id} ({area}) was checked and verified by your OSH service "
            "provider. Well done, and thank you!",
            id=improvement.id,
            area=area,
        )
    enqueue(
        session,
        key=f"report-reviewed:{improvement.id}:{improvement.status}",
        contact=reporter,
        kind="report-reviewed",
        message=Message(text),
        priority=PRIORITY_NOTICE,
        not_before=now,
    )


def relay_question(session: Session, question: ImprovementMessage, *, now: datetime) -> bool:
    reporter = session.get(Contact, question.recipient_id)
    improvement = session.get(Improvement, question.improvement_id)
    staff = session.get(Contact, question.sender_id)
    assert reporter is not None and improvement is not None and staff is not None
    provider = session.get(Provider, staff.provider_id) if staff.provider_id else None
    _ = translator(reporter.language)
    asker = esc(provider.name) if provider is not None else _("the programme coordinator")
    text = _(
        "❓ A question from {asker} about your report #{id} ({area}):\n\n"
        "<i>{question}</i>\n\nPress Reply and type your answer.",
        asker=asker,
        id=improvement.id,
        area=area_label(improvement.area_code, reporter.language),
        question=esc(question.text),
    )
    row = enqueue(
        session,
        key=f"report-question:{question.id}",
        contact=reporter,
        kind="report-question",
        message=Message(text, [[(_("↩️ Reply"), f"{REPLY}{question.id}")]]),
        priority=PRIORITY_NOTICE,
        not_before=now,
    )
    return row is not None


def relay_answer(session: Session, answer_message: ImprovementMessage, *, now: datetime) -> None:
    staff = session.get(Contact, answer_message.recipient_id)
    improvement = session.get(Improvement, answer_message.improvement_id)
    question = (
        session.get(ImprovementMessage, answer_message.reply_to_id)
        if answer_message.reply_to_id
        else None
    )
    assert staff is not None and improvement is not None
    enterprise = session.get(Enterprise, improvement.enterprise_id)
    assert enterprise is not None
    _ = translator(staff.language)
    text = _(
        "💬 {enterprise} answered about report #{id}:\n\n<i>{answer}</i>\n\n"
        "Your question was: {question}",
        enterprise=esc(enterprise.name),
        id=improvement.id,
        answer=esc(answer_message.text),
        question=esc(question.text if question else "—"),
    )
    enqueue(
        session,
        key=f"report-answer:{answer_message.id}",
        contact=staff,
        kind="report-answer",
        message=Message(text, review_buttons(_, improvement)),
        priority=PRIORITY_NOTICE,
        not_before=now,
    )


# -- refusals and what cannot be sent ----------------------------------------------------------


def refusal_text(_: Translate, error: ProgrammeError) -> str:
    status = error.details.get("status")
    if error.code == "not_your_enterprise":
        return _("Sorry, only the staff of this enterprise's provider can review this report.")
    if error.code in ("already_reviewed", "withdrawn") or status:
        if status == ReviewStatus.WITHDRAWN or error.code == "withdrawn":
            return _("This report was withdrawn by the enterprise.")
        if status == ReviewStatus.GOOD_PRACTICE:
            return _("This report was already marked as a good practice.")
        if status == ReviewStatus.VERIFIED:
            return _("This report was already verified.")
    if error.code == "reporter_gone":
        return _("The person who sent this report can no longer be reached through the bot.")
    return _("This button is no longer active.")


# -- /myreports -------------------------------------------------------------------------------

LIST_LIMIT = 20
SNIPPET = 80
# A worker's report is shown to the employer as "a worker", never by name.
SENT_BY = {
    imp.ReportedBy.WORKER: N_("(sent by a worker)"),
    imp.ReportedBy.EMPLOYER: N_("(sent by a colleague)"),
    imp.ReportedBy.SOMEONE: N_("(sent by someone at the enterprise)"),
}


@dataclass
class ReportList:
    """/myreports, for every channel: the text (empty when there is nothing to list) and the
    person's own reports that can still be changed or withdrawn (not reviewed yet)."""

    text: str
    changeable: list[int] = field(default_factory=list)


def my_reports(session: Session, _: Translate, contact: Contact, tz: ZoneInfo) -> ReportList:
    """An employer's list holds every report of the enterprise (a colleague's or a worker's
    marked so, never by name); a worker's their own; newest first, each with its review state."""
    language = contact.language
    rows = imp.reports_for(session, contact, limit=LIST_LIMIT)
    senders = imp.reported_by(session, rows, contact)
    total = imp.count_for(session, contact)
    draft = imp.current_draft(session, contact)
    enterprise = session.get(Enterprise, contact.enterprise_id)
    lines: list[str] = []
    changeable: list[int] = []
    for row in rows:
        moment = row.submitted_at or row.updated_at
        snippet = shorten(row.description or "", SNIPPET)
        mine = row.reporter_id == contact.id
        lines.append(
            "<b>#{}</b> {} · {} — {}\n<i>{}</i>{}".format(
                row.id,
                area_label(row.area_code, language),
                format_day(moment.astimezone(tz).date(), language),
                _(STATUS[ReviewStatus(row.status)]),
                esc(snippet),
                "" if mine else "\n" + _(SENT_BY[senders[row.id]]),  # type: ignore[index]
            )
        )
        if mine and row.status == ReviewStatus.SUBMITTED and row.id is not None:
            changeable.append(row.id)
    if total > len(rows):
        lines.append(_("… and {count} older reports.", count=total - len(rows)))
    if draft is not None:
        lines.append(_("📝 You have an unfinished report: send /report to continue it."))
    if not rows and draft is None:
        return ReportList("")
    head = _(
        "<b>Improvement reports of {enterprise}</b>",
        enterprise=esc(enterprise.name if enterprise else ""),
    )
    if contact.role != Role.EMPLOYER:
        head = _("<b>Your improvement reports</b>")
    return ReportList(head + "\n\n" + "\n\n".join(lines), changeable)


def no_reports_text(_: Translate) -> str:
    return _("No reports yet. Press 📝 Report an improvement to send your first one!")


def parse_id(data: str | None, prefix: str) -> int | None:
    try:
        return int((data or "").removeprefix(prefix))
    except ValueError:
        return None


def message_error(_: Translate, error: ProgrammeError) -> str:
    if error.code == "text_too_long":
        return _(
            "That is too long: {length} characters, at most {limit} fit. Please shorten it and "
            "send it again.",
            length=error.details.get("length"),
            limit=error.details.get("limit"),
        )
    return _("Please type a few words.")
