"""The periodic jobs, each a plain function of `(session, now)` (plus the programme's
SchedulerConfig): what has become due goes into the outbox, nothing is sent from here.

Every job is idempotent: the state it acts on (a visit's `nudged_at`, a contact's TipDelivery for
the month, an outbox key) is written in the same transaction as the message it queues, so a job
run twice, or run again after a crash halfway, queues nothing twice and skips nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.i18n import translator
from models import enrolment, improvements, inbox, links, plans, privacy, surveys, tips, visits
from models.notices import scheduled as say
from models.notices import visits as notices
from models.outbox import (
    PRIORITY_REMINDER,
    Queued,
    enqueue,
    enqueue_many,
    insert_ignoring_conflicts,
    reachable,
    reachable_now,
)
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    Outbox,
    OutboxStatus,
    Provider,
    ReviewStatus,
    Role,
    SurveyRound,
    TipDelivery,
    Visit,
    table_of,
)
from reports import current, publish, visit_report
from scheduler.config import DEFAULT_CONFIG, SchedulerConfig

SURVEY_NUDGE_DAYS = (3, 7)  # at most two reminders
SURVEY_NUDGE_WINDOW = timedelta(days=30)  # rounds older than this are left alone
DRAFT_NUDGE_AFTER = timedelta(days=1)
DRAFT_NUDGE_WINDOW = timedelta(days=30)


def _reachable(contact: Contact | None) -> bool:
    return contact is not None and reachable_now(contact)


# -- revisits -------------------------------------------------------------------------------


def visits_job(
    session: Session, now: datetime, *, config: SchedulerConfig = DEFAULT_CONFIG
) -> dict[str, int]:
    """Plans revisits, tells staff about the ones that came due, reminds both sides the day
    before, and asks staff how a visit went once its day is over."""
    planned = visits.plan_revisits(session, months=config.revisit_months)
    today = config.today(now)
    staff_cache: dict[int, list[Contact]] = {}

    def staff_for(enterprise: Enterprise) -> list[Contact]:
        if enterprise.provider_id not in staff_cache:
            staff_cache[enterprise.provider_id] = visits.staff_of(session, enterprise.provider_id)
        return staff_cache[enterprise.provider_id]

    def assigned(visit: Visit, enterprise: Enterprise) -> list[Contact]:
        person = session.get(Contact, visit.staff_id) if visit.staff_id else None
        return [person] if _reachable(person) else staff_for(enterprise)  # type: ignore[list-item]

    nudged = 0
    for visit in visits.due_unannounced(session, today=today):
        enterprise = session.get(Enterprise, visit.enterprise_id)
        assert enterprise is not None
        card = visits.card(session, enterprise, tz=config.tz, today=today)
        nudged += notices.visit_due(session, visit, card, staff_for(enterprise), now=now)
        visit.nudged_at = now
        session.add(visit)

    reminded = 0
    start = config.local(today + timedelta(days=1))
    for visit in visits.to_remind(session, start=start, end=start + timedelta(days=1)):
        enterprise = session.get(Enterprise, visit.enterprise_id)
        assert enterprise is not None
        people = assigned(visit, enterprise) + visits.employers_of(session, visit.enterprise_id)
        reminded += notices.reminder(session, visit, people, now=now, config=config)
        visit.reminded_at = now
        session.add(visit)

    asked = 0
    for visit in visits.awaiting_outcome(session, before=config.local(today)):
        enterprise = session.get(Enterprise, visit.enterprise_id)
        assert enterprise is not None
        people = assigned(visit, enterprise)
        asked += notices.outcome_question(session, visit, people, now=now, config=config)
        visit.outcome_asked_at = now
        session.add(visit)
    return {"planned": planned, "nudged": nudged, "reminded": reminded, "outcome": asked}


# -- surveys after a visit ---------------------------------------------------------------------


def survey_invitations(session: Session, survey_round: SurveyRound, *, now: datetime) -> int:
    """The employer and worker questionnaires of a new round, to everyone who can answer."""
    queued = 0
    for contact in surveys.pending_respondents(session, survey_round.id):  # type: ignore[arg-type]
        _ = translator(contact.language)
        try:
            message = surveys.survey_invitation(survey_round, contact, _)
        except surveys.SurveyError:
            continue
        queued += bool(
            enqueue(
                session,
                key=f"survey-invite:{survey_round.id}:{contact.id}",
                contact=contact,
                kind="survey-invite",
                message=message,
                priority=PRIORITY_REMINDER,
                not_before=now,
            )
        )
    return queued


def after_visit_done(session: Session, visit: Visit, *, now: datetime) -> SurveyRound:
    """ "Done" opens the next survey round and invites the enterprise's people."""
    survey_round = surveys.open_round(
        session, enterprise_id=visit.enterprise_id, visit_id=visit.id, now=now
    )
    survey_invitations(session, survey_round, now=now)
    return survey_round


# -- monthly tips -----------------------------------------------------------------------------


def tips_job(
    session: Session,
    now: datetime,
    *,
    config: SchedulerConfig = DEFAULT_CONFIG,
    batch: int = 500,
    after_batch: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """One new tip for every eligible contact, in committed batches: a crash keeps what was
    done, and the rerun serves exactly those who have no tip for the month yet."""
    tips.sync_library(session)
    tips.sync_good_practices(session)
    session.commit()
    period = tips.period_of(now, config.tz)
    library = tips.candidates(session)
    texts = {
        tip_id: (t_vi, t_en, b_vi, b_en)
        for tip_id, t_vi, t_en, b_vi, b_en in session.execute(
            sa.select(
                col(tips.Tip.id), col(tips.Tip.title_vi), col(tips.Tip.title_en),
                col(tips.Tip.body_vi), col(tips.Tip.body_en),
            ).where(col(tips.Tip.active))
        )
    }  # fmt: skip
    after, queued, exhausted = 0, 0, 0
    while True:
        contacts = tips.next_contacts(session, period=period, after_id=after, limit=batch)
        if not contacts:
            break
        enterprise_ids = {c.enterprise_id for c in contacts if c.enterprise_id is not None}
        sectors = tips.sectors_of(session, enterprise_ids)
        counts = tips.area_counts(session, enterprise_ids)
        had = tips.history(session, [c.id for c in contacts])  # type: ignore[misc]
        deliveries, messages = [], []
        for contact in contacts:
            assert contact.id is not None
            chosen = tips.choose(
                library,
                contact_id=contact.id,
                enterprise_id=contact.enterprise_id,
                sector=sectors.get(contact.enterprise_id),  # type: ignore[arg-type]
                had=had.get(contact.id, set()),
                area_counts=counts.get(contact.enterprise_id, {}),  # type: ignore[arg-type]
            )
            if chosen is None:
                exhausted += 1
                continue
            deliveries.append(
                {"tip_id": chosen.id, "contact_id": contact.id, "period": period, "created_at": now}
            )
            messages.append(
                Queued(
                    key=f"tip:{contact.id}:{period}",
                    contact=contact,
                    kind="tip",
                    message=say.tip(chosen, texts, contact.language),
                )
            )
        insert_ignoring_conflicts(session, table_of(TipDelivery), deliveries)
        queued += enqueue_many(session, messages, now=now)
        session.commit()
        after = contacts[-1].id  # type: ignore[assignment]
        if after_batch is not None:
            after_batch(queued)
    return {"queued": queued, "no_new_tip": exhausted}


# -- nudges -----------------------------------------------------------------------------------


def nudges_job(
    session: Session, now: datetime, *, config: SchedulerConfig = DEFAULT_CONFIG
) -> dict[str, int]:
    """Survey reminders (after 3 and 7 days, two at most) and one reminder of a report draft
    left for a day. Contacts who stopped messages, finished, or cannot be reached get none."""
    survey_nudges = 0
    rounds = session.exec(
        select(SurveyRound).where(
            col(SurveyRound.closed_at).is_(None),
            col(SurveyRound.opened_at) > now - SURVEY_NUDGE_WINDOW,
            col(SurveyRound.opened_at) <= now - timedelta(days=SURVEY_NUDGE_DAYS[0]),
        )
    ).all()
    for survey_round in rounds:
        age = now - survey_round.opened_at
        number = sum(1 for days in SURVEY_NUDGE_DAYS if age >= timedelta(days=days))
        invited = set(
            session.exec(
                select(Outbox.contact_id).where(
                    col(Outbox.key).startswith(f"survey-invite:{survey_round.id}:"),
                    Outbox.status == OutboxStatus.SENT,
                )
            )
        )
        for contact in surveys.pending_respondents(session, survey_round.id):  # type: ignore[arg-type]
            if contact.id not in invited:
                continue
            survey_nudges += bool(
                enqueue(
                    session,
                    key=f"survey-nudge:{survey_round.id}:{contact.id}:{number}",
                    contact=contact,
                    kind="survey-nudge",
                    message=say.survey_nudge(contact, survey_round),
                    not_before=now,
                )
            )

    draft_nudges = 0
    for draft in improvements.stale_drafts(session, older_than=now - DRAFT_NUDGE_AFTER):
        if draft.updated_at < now - DRAFT_NUDGE_WINDOW:
            continue
        reporter = session.get(Contact, draft.reporter_id) if draft.reporter_id else None
        if not _reachable(reporter) or reporter.opted_out_at is not None:  # type: ignore[union-attr]
            continue
        assert reporter is not None
        draft_nudges += bool(
            enqueue(
                session,
                key=f"draft-nudge:{draft.id}",
                contact=reporter,
                kind="draft-nudge",
                message=say.draft_nudge(reporter),
                not_before=now,
            )
        )
    return {
        "survey": survey_nudges,
        "draft": draft_nudges,
        "plan": plan_reminders(session, now, config=config),
    }


def plan_reminders(session: Session, now: datetime, *, config: SchedulerConfig) -> int:
    """One gentle word to the employers as a planned item's due day comes near. The item is
    claimed first, so it is reminded of once even when nobody can be written to today."""
    queued = 0
    for item in plans.due_for_reminder(session, today=config.today(now)):
        if not plans.mark_reminded(session, item, now=now):
            continue
        for contact in visits.employers_of(session, item.enterprise_id):
            if contact.opted_out_at is not None:
                continue
            queued += bool(
                enqueue(
                    session,
                    key=f"plan-reminder:{item.id}:{contact.id}",
                    contact=contact,
                    kind="plan-reminder",
                    message=notices.plan_reminder(item, contact),
                    priority=PRIORITY_REMINDER,
                    not_before=now,
                )
            )
    return queued


# -- digests ----------------------------------------------------------------------------------


def _counts_by_provider(
    session: Session, *, now: datetime, config: SchedulerConfig, days: int
) -> dict[int, tuple[int, int, int]]:
    """provider id -> (reports waiting for review, visits in the next `days` days, overdue)."""
    today = config.today(now)
    start = config.local(today)
    waiting = dict(
        session.exec(
            select(col(Enterprise.provider_id), sa.func.count(col(Improvement.id)))
            .join(Enterprise, col(Enterprise.id) == Improvement.enterprise_id)
            .where(Improvement.status == ReviewStatus.SUBMITTED)
            .group_by(col(Enterprise.provider_id))
        ).all()
    )
    coming = dict(
        session.exec(
            select(col(Enterprise.provider_id), sa.func.count(col(Visit.id)))
            .join(Enterprise, col(Enterprise.id) == Visit.enterprise_id)
            .where(
                col(Visit.status).in_(visits.ARRANGED),
                col(Visit.scheduled_at) >= start,
                col(Visit.scheduled_at) < start + timedelta(days=days),
            )
            .group_by(col(Enterprise.provider_id))
        ).all()
    )
    overdue = dict(
        session.exec(
            select(col(Enterprise.provider_id), sa.func.count(col(Visit.id)))
            .join(Enterprise, col(Enterprise.id) == Visit.enterprise_id)
            .where(
                col(Visit.status).in_(visits.OPEN),
                col(Visit.due_on) <= today,
                sa.or_(col(Visit.scheduled_at).is_(None), col(Visit.scheduled_at) < start),
            )
            .group_by(col(Enterprise.provider_id))
        ).all()
    )
    providers = set(waiting) | set(coming) | set(overdue)
    return {p: (waiting.get(p, 0), coming.get(p, 0), overdue.get(p, 0)) for p in providers}


def _recipients(session: Session, role: Role) -> list[Contact]:
    return list(
        session.exec(
            select(Contact).where(
                Contact.role == role,
                reachable(),
                col(Contact.opted_out_at).is_(None),
                col(Contact.erased_at).is_(None),
            )
        )
    )


def weekly_digest_job(
    session: Session, now: datetime, *, config: SchedulerConfig = DEFAULT_CONFIG
) -> dict[str, int]:
    """Monday morning, to each staff member: what waits for their provider this week."""
    counts = _counts_by_provider(session, now=now, config=config, days=7)
    threads = inbox.open_counts(session)
    requests = enrolment.waiting_by_provider(session)
    week = notices.week_label(config.today(now))
    queued = 0
    for contact in _recipients(session, Role.STAFF):
        waiting, coming, overdue = counts.get(contact.provider_id or 0, (0, 0, 0))
        unanswered = threads.get(contact.provider_id or 0, 0)
        joining = requests.get(contact.provider_id or 0, 0)
        if not (waiting or coming or overdue or unanswered or joining):
            continue
        queued += bool(
            enqueue(
                session,
                key=f"digest-weekly:{contact.id}:{week}",
                contact=contact,
                kind="digest",
                message=say.weekly_digest(contact, waiting, coming, overdue, unanswered, joining),
                not_before=now,
            )
        )
    return {"queued": queued}


def monthly_digest_job(
    session: Session, now: datetime, *, config: SchedulerConfig = DEFAULT_CONFIG
) -> dict[str, int]:
    """On the 1st, to each coordinator: the same figures for every provider."""
    counts = _counts_by_provider(session, now=now, config=config, days=31)
    names: dict[int, str] = {
        provider_id: name
        for provider_id, name in session.exec(
            select(col(Provider.id), col(Provider.name)).order_by(col(Provider.name))
        )
        if provider_id is not None
    }
    month = tips.period_of(now, config.tz)
    queued = 0
    for contact in _recipients(session, Role.COORDINATOR):
        if not names:
            continue
        queued += bool(
            enqueue(
                session,
                key=f"digest-monthly:{contact.id}:{month}",
                contact=contact,
                kind="digest",
                message=say.monthly_digest(contact, names, counts),
                not_before=now,
            )
        )
    return {"queued": queued}


def retention_job(
    session: Session, now: datetime, *, config: SchedulerConfig = DEFAULT_CONFIG
) -> dict[str, int]:
    """Deletes raw texts and photos past the retention period (models/privacy.py), files kept
    for download links that have expired (models/links.py), and direct-line messages an earlier
    version kept unsent (models/inbox.py), and visit-report drafts older than a day that a
    process which died while rendering them left behind (reports/visit_report.py)."""
    purged = privacy.purge_expired(
        session, now=now, retention_days=config.retention_days, media_root=config.media_root
    )
    purged["downloads"] = links.forget_downloads(config.media_root, now=now)
    purged["unsent"] = inbox.forget_unsent(session, media_root=config.media_root)
    if config.data_dir is not None:
        purged["drafts"] = visit_report.forget_drafts(config.data_dir, now=now)
    return purged


# -- publications ----------------------------------------------------------------------------


def publications_job(
    session: Session, now: datetime, *, config: SchedulerConfig = DEFAULT_CONFIG
) -> dict[str, int]:
    """The website and this month's newsletter, rebuilt from what is public today."""
    if config.public_dir is None:
        return {"skipped": 1}
    return current.rebuild(
        session,
        config.public_dir,
        tz=config.tz,
        today=config.today(now),
        link=publish.invitation_link(config.site_url, config.bot_username),
        media_root=config.media_root,
        site_url=config.site_url,
    )
