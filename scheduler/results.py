"""Results pushed back to each enterprise when its survey round closes (step 5 of the guide:
feed the results back, so that improvement goes on without being asked for).

When a round has closed and the `surveys` job has settled its workers' answers (none waits in
the pending table any more), each employer of the enterprise gets one card: its improvements
and risk reduced since the training, what its workers said (only from a released unit of at
least three), and where it stands among the other enterprises of its sector and of its
province, as medians that never name or single out another enterprise. The outbox key makes
the card once per round and person, whichever process or rerun gets there first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.i18n import translator
from models.outbox import Message, enqueue
from models.tables import Contact, Enterprise, Role, SurveyPending, SurveyRound
from reports.figures import Period
from reports.summary import enterprise_progress
from reports.text import progress_message
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
        .where(col(SurveyRound.closed_at).is_not(None), col(SurveyRound.closed_at) > now - WINDOW)
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
