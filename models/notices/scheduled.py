"""What the scheduler's jobs say on their own (scheduler/jobs.py queues it): the monthly tip,
the gentle nudges about a survey or an unfinished report, and the staff's weekly and the
coordinators' monthly digests; each in the recipient's language."""

from __future__ import annotations

from bot.i18n import translator
from models import content, surveys, tips
from models.outbox import Message
from models.tables import Contact, SurveyRound
from models.text import MESSAGE_LIMIT, esc, truncate_html


def tip(tip: tips.Candidate, texts: dict[int, tuple[str, str, str, str]], lang: str) -> Message:
    title_vi, title_en, body_vi, body_en = texts[tip.id]
    _ = translator(lang)
    title, body = (title_vi, body_vi) if lang == "vi" else (title_en, body_en)
    area = content.area(tip.area)
    lines = [_("💡 <b>Tip of the month: {title}</b>", title=esc(title)), "", esc(body)]
    if area is not None:
        lines += ["", f"<i>{area.emoji} {esc(area.name(lang))}</i>"]
    return Message("\n".join(lines))


def survey_nudge(contact: Contact, survey_round: SurveyRound) -> Message:
    _ = translator(contact.language)
    text = _(
        "📋 A gentle reminder: we would still like to hear your views on the follow-up "
        "(round {number}). It takes a few minutes, and every answer helps.",
        number=survey_round.number,
    )
    assert survey_round.id is not None
    return Message(text, [[(_("📋 Answer the survey"), surveys.start_data(survey_round.id))]])


def draft_nudge(reporter: Contact) -> Message:
    _ = translator(reporter.language)
    return Message(
        _(
            "📝 You started an improvement report and have not finished it yet. Whenever it "
            "suits you, send /report to continue where you left off."
        )
    )


def weekly_digest(
    contact: Contact, waiting: int, coming: int, overdue: int, unanswered: int, joining: int = 0
) -> Message:
    """Monday morning, to a staff member: what waits for their provider this week."""
    _ = translator(contact.language)
    lines = [
        _("🗞 <b>Your week</b>"),
        _("• Reports waiting for your review: {count}", count=waiting),
        _("• Visits this week: {count}", count=coming),
        _("• Overdue visits (due, no date agreed): {count}", count=overdue),
        _("• Open threads in your inbox: {count}", count=unanswered),
        "",
        _("Send /visits to see them and propose dates."),
    ]
    if unanswered:
        lines.append(_("Send /inbox to answer the messages."))
    if joining:
        lines.insert(
            5,
            _(
                "• Requests to join from your province, waiting for an answer: {count} (their "
                "cards came to you with ✅ Accept and ✖ Decline)",
                count=joining,
            ),
        )
    return Message("\n".join(lines))


def monthly_digest(
    contact: Contact, names: dict[int, str], counts: dict[int, tuple[int, int, int]]
) -> Message:
    """On the 1st, to a coordinator: every provider's figures (cut, never inside a tag, to what
    one message holds)."""
    _ = translator(contact.language)
    lines = [_("🗞 <b>The programme this month</b>"), ""]
    for provider_id, name in names.items():
        waiting, coming, overdue = counts.get(provider_id, (0, 0, 0))
        lines.append(
            _(
                "<b>{provider}</b>: {waiting} reports to review, {coming} visits in the coming "
                "month, {overdue} overdue",
                provider=esc(name),
                waiting=waiting,
                coming=coming,
                overdue=overdue,
            )
        )
    return Message(truncate_html("\n".join(lines), MESSAGE_LIMIT))
