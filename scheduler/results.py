"""Results pushed back to the enterprises without their asking (step 5 of the guide: feed the
results back to many SMEs, so that improvement goes on voluntarily): a card when a survey round
closes, and each quarter the province's figures.

When a round has closed and the `surveys` job has settled its workers' answers (none waits in
the pending table any more), each employer of the enterprise gets one card: its improvements
and risk reduced since the training, what its workers said (only from a released unit of at
least three), and where it stands among the other enterprises of its sector and of its
province, as medians that never name or single out another enterprise. The outbox key makes
the card once per round and person, whichever process or rerun gets there first.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from bot.i18n import translator
from models import goodpractice
from models.audience import Audience, members
from models.enterprises import followed_up
from models.outbox import Message, Queued, enqueue, enqueue_many
from models.tables import Contact, Enterprise, Role, SurveyPending, SurveyRound
from models.tips import good_practice_text
from reports.figures import Period, Scope, quarter_period
from reports.summary import build_summary, enterprise_progress
from reports.text import progress_message, render
from scheduler.config import DEFAULT_CONFIG, SchedulerConfig

KIND = "round-results"
# A round closed longer ago than this gets no card any more: news that late is no news (and
# the job never walks the whole history).
WINDOW = timedelta(days=14)


def results_job(
    session: Session, now: datetime, *, config: SchedulerConfig = DEFAULT_CONFIG
) -> dict[str, int]:
    rounds = session.exec(
        select(SurveyRound, Enterprise)
        .join(Enterprise, col(Enterprise.id) == SurveyRound.enterprise_id)
        .where(
            col(SurveyRound.closed_at).is_not(None),
            col(SurveyRound.closed_at) > now - WINDOW,
            followed_up(SurveyRound.enterprise_id),  # an archived one's round closed unfinished
        )
        .order_by(col(SurveyRound.id))
    ).all()
    cards = waiting = 0
    for survey_round, enterprise in rounds:
        assert survey_round.id is not None and survey_round.closed_at is not None
        unsettled = session.exec(
            select(SurveyPending.id).where(SurveyPending.round_id == survey_round.id)
        ).first()
        if unsettled is not None:
            waiting += 1  # the next `surveys` run settles it; the card follows
            continue
        closed_on = config.today(survey_round.closed_at)
        first = min(enterprise.intervention_date, closed_on)
        period = Period(first, closed_on, f"{first.isoformat()}..{closed_on.isoformat()}")
        progress = enterprise_progress(
            session, enterprise_id=survey_round.enterprise_id, period=period, tz=config.tz
        )
        employers = session.exec(
            select(Contact).where(
                Contact.enterprise_id == enterprise.id,
                Contact.role == Role.EMPLOYER,
                col(Contact.erased_at).is_(None),
                col(Contact.removed_at).is_(None),
                col(Contact.opted_out_at).is_(None),
            )
        ).all()
        for employer in employers:
            _ = translator(employer.language)
            heading = _(
                "✅ Follow-up round {number} is complete. Thank you for taking part! Here is "
                "what your enterprise has achieved since the training.",
                number=survey_round.number,
            )
            text = heading + "\n\n" + progress_message(progress, employer.language, enterprise.name)
            cards += bool(
                enqueue(
                    session,
                    key=f"{KIND}:{survey_round.id}:{employer.id}",
                    contact=employer,
                    kind=KIND,
                    message=Message(text),
                    not_before=now,
                )
            )
    return {"cards": cards, "waiting": waiting}


# -- each quarter, the province's results ------------------------------------------------------

QUARTER_KIND = "province-results"
QUARTER_MONTHS = (1, 4, 7, 10)  # the job runs monthly and speaks in the month after a quarter


def previous_quarter(today: date) -> Period:
    quarter = (today.month - 1) // 3  # the quarter before today's, 0 meaning last year's Q4
    return quarter_period(today.year, quarter) if quarter else quarter_period(today.year - 1, 4)


def province_results_job(
    session: Session, now: datetime, *, config: SchedulerConfig = DEFAULT_CONFIG
) -> dict[str, int]:
    """In the month after each quarter: every employer and worker who accepts good examples
    (the tips consent) gets their province's figures for the quarter, by technical area, with
    one good practice (from their province when there is one). Nothing for a province where
    nothing was reported."""
    today = config.today(now)
    if today.month not in QUARTER_MONTHS:
        return {"messages": 0, "provinces": 0}
    period = previous_quarter(today)
    provinces = session.exec(select(Enterprise.province_code).distinct()).all()
    queued = told = 0
    for province in sorted(provinces):
        summary = build_summary(
            session, period=period, scope=Scope(province_code=province), tz=config.tz, today=today
        )
        if summary.improvements.total == 0:
            continue
        areas = sorted(
            (a for a in summary.areas if a.area_code and a.improvements),
            key=lambda a: (-a.improvements, a.area_code or ""),
        )
        practice = next(iter(goodpractice.entries(session, province=province, limit=1)), None)
        practice = practice or next(iter(goodpractice.entries(session, limit=1)), None)
        recipients = members(session, Audience(provinces=(province,), good_examples=True))
        texts: dict[str, str] = {}
        items = []
        for contact in recipients:
            language = contact.language
            if language not in texts:
                shown = None
                if practice is not None:
                    title, body = good_practice_text(practice, language)
                    shown = {"title": title, "body": body}
                texts[language] = render(
                    "province_results.html.j2",
                    language,
                    s=summary,
                    province=province,
                    areas=areas,
                    practice=shown,
                ).strip()
            items.append(
                Queued(
                    key=f"{QUARTER_KIND}:{period.label}:{contact.id}",
                    contact=contact,
                    kind=QUARTER_KIND,
                    message=Message(texts[language]),
                    not_before=now,
                )
            )
        queued += enqueue_many(session, items, now=now)
        told += 1
    return {"messages": queued, "provinces": told}
