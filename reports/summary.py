"""The follow-up summary: what step 5 of the guide asks providers to compile, as SQL aggregations.

Every figure is a typed field of a frozen dataclass, computed in the database (GROUP BY, window
functions that SQLite and PostgreSQL both have); Python only ever sees aggregated rows, never the
improvements, answers or visits themselves. Medians come from a histogram of the values and a
running sum over it (`_median`), which is exact and sorts only the distinct values.

Periods are calendar days in the programme's time zone; their bounds are turned into UTC
instants before they reach the database, where timestamps are stored in UTC.

What the figures rest on (semantics owned by the reports, surveys and visits modules):
- an improvement counts when it was submitted (`submitted_at`) in the period and is submitted,
  verified or a good practice (drafts and withdrawn reports do not count); it is verified when
  its status is verified or good practice;
- a survey response counts when it is complete (`complete`, or `completed_at` set on tables
  without that flag) and belongs to a round of an enterprise; it falls in the period its round was
  opened in, because anonymous (worker) responses carry no time at all;
- worker answers count only once released: from a closed round with at least MIN_GROUP worker
  questionnaires, whole (`_released`, models/surveys.py "Anonymity"), so that no two figures,
  whatever their periods, scopes or readers, differ by fewer than MIN_GROUP workers' answers;
- a visit counts in the period it is due in (`due_on`), unless cancelled; it was done on time
  when done no later than `ON_TIME_DAYS` after its due day.

Where it lives: the figures, periods, scopes and these shared rules in reports/figures.py; the
computation from the raw rows in reports/summary_raw.py; the same figures from the rollup tables
in reports/summary_rolled.py (which reads reports/rollups.py; the rollups read only figures, so
nothing imports in a circle). This module chooses between them and adds an enterprise's progress.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import plans, visit_checks
from models.tables import (
    Enterprise,
)
from reports.figures import (
    ALL,
    BUCKETS,
    MIN_GROUP,
    SUMMARY_QUESTIONS,
    VERIFIED,
    Bucket,
    Choice,
    EnterpriseFigures,
    ImprovementFigures,
    Period,
    PlanFigures,
    RevisitFigures,
    Scope,
    Summary,
    WorkerSide,
    _count_if,
    _counted_improvements,
    _f,
    _i,
    _median,
    _scope_filter,
    ent,
    imp,
)
from reports.summary_raw import (
    _areas,
    _enterprise_rows,
    _followed_up,
    _kinds,
    _providers,
    _reachable,
    _review_medians,
    _round_rates,
    _surveys,
)
from reports.summary_rolled import (
    _rolled_areas,
    _rolled_enterprise_rows,
    _rolled_followed_up,
    _rolled_provider_counts,
    _rolled_reachable,
    _rolled_review_medians,
    _rolled_round_rates,
    _rolled_surveys,
    _rollup_keys,
)

# -- the summary -----------------------------------------------------------------------------


def build_summary(
    session: Session,
    *,
    period: Period,
    scope: Scope,
    tz: ZoneInfo,
    today: date,
    min_group: int = MIN_GROUP,
    rollups: bool = True,
) -> Summary:
    """`rollups`: read the rollup tables (reports/rollups.py) where they give the same figures
    (False: always the raw rows, which the tests compare them with)."""
    start, end = period.bounds(tz)
    dialect = session.get_bind().dialect.name
    in_scope = _scope_filter(session, scope, period)
    rolled = _rollup_keys(session, scope, period, tz) if rollups else None
    counted: tuple[dict[int, Any], dict[int, list[int]]] | None = None
    if rolled is None:
        enterprise_rows = _enterprise_rows(session, scope, period, in_scope, start, end)
        areas, risk, verified, good, costs = _areas(session, scope, in_scope, start, end)
        review_medians = _review_medians(session, scope, in_scope, start, end, dialect)
        employers, workers = _surveys(session, in_scope, start, end, min_group)
        followed_up = _followed_up(session, in_scope, start, end)
        rounds = _round_rates(session, in_scope, start, end)
        reachable = _reachable(session, in_scope)
    else:
        enterprise_rows = _rolled_enterprise_rows(session, scope, period, in_scope, rolled)
        areas, risk, verified, good, costs = _rolled_areas(session, scope, rolled)
        review_medians = _rolled_review_medians(session, scope, rolled)
        employers, workers = _rolled_surveys(session, scope, rolled, min_group)
        followed_up = _rolled_followed_up(session, scope, in_scope, rolled)
        rounds = _rolled_round_rates(session, scope, rolled)
        counted = _rolled_provider_counts(session, scope, period, in_scope, rolled, today)
        reachable = _rolled_reachable(session, scope)
    return Summary(
        period=period,
        scope=scope,
        today=today,
        enterprises=EnterpriseFigures(
            in_programme=enterprise_rows["total"][0],
            followed_up=followed_up,
            without_reports=enterprise_rows["total"][2],
            **reachable,
        ),
        improvements=ImprovementFigures(
            total=enterprise_rows["total"][1],
            verified=verified,
            good_practice=good,
            per_enterprise_median=enterprise_rows["median"],
            distribution=tuple(
                Bucket(label, enterprise_rows["bucket"].get(label, 0)) for label in BUCKETS
            ),
            **costs,
            workers_benefiting=enterprise_rows["total"][3],
        ),
        risk=risk,
        areas=areas,
        provinces=enterprise_rows["province"],
        sectors=enterprise_rows["sector"],
        employers=employers,
        workers=workers,
        rounds=rounds,
        providers=_providers(
            session,
            scope,
            period,
            in_scope,
            start,
            dialect,
            tz,
            today,
            enterprise_rows,
            review_medians,
            counted,
        ),
        review_median_days=review_medians.get(ALL),
        min_group=min_group,
        plan=_plan(session, scope, period, in_scope),
        kinds=_kinds(session, scope, in_scope, start, end),
        revisits=_revisits(session, scope, period, in_scope, tz),
    )


def _plan(
    session: Session, scope: Scope, period: Period, in_scope: sa.Select[Any] | None
) -> PlanFigures:
    """Read from the plan items themselves: a few per enterprise, on an index by due day."""
    found = plans.completion(
        session,  # type: ignore[arg-type]
        enterprise_ids=in_scope,
        start=period.first,
        end=period.last + timedelta(days=1),
        area_code=scope.area_code,
    )
    return PlanFigures(planned=found.planned, completed=found.completed)


def _revisits(
    session: Session, scope: Scope, period: Period, in_scope: sa.Select[Any] | None, tz: ZoneInfo
) -> RevisitFigures:
    """Read from the visit checks themselves: a handful per visit, on an index by day."""
    start, end = period.bounds(tz)
    found = visit_checks.revisit_counts(
        session,  # type: ignore[arg-type]
        enterprise_ids=in_scope,
        start=start,
        end=end,
        area_code=scope.area_code,
    )
    return RevisitFigures(**asdict(found))


# -- an enterprise beside its peers ----------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseResult:
    improvements: int
    verified: int
    rated: int  # improvements with both risk ratings
    mean_risk_drop: float | None  # mean of (before - after) over the rated ones


@dataclass(frozen=True)
class PeerResult:
    """Medians over the other enterprises of the sector: no single enterprise shows through,
    and nothing is shown with fewer than MIN_GROUP peers."""

    enterprises: int
    median_improvements: float | None
    median_verified: float | None
    rated_enterprises: int  # peers with at least one rated improvement
    median_risk_drop: float | None


@dataclass(frozen=True)
class Progress:
    enterprise_id: int
    sector_code: str
    period: Period
    own: EnterpriseResult
    peers: PeerResult | None  # the sector's other enterprises; None: fewer than MIN_GROUP
    workers: WorkerSide
    province_code: str = ""
    province_peers: PeerResult | None = None  # the province's other enterprises, any sector


def enterprise_progress(
    session: Session,
    *,
    enterprise_id: int,
    period: Period,
    tz: ZoneInfo,
    min_group: int = MIN_GROUP,
) -> Progress:
    start, end = period.bounds(tz)
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise LookupError(enterprise_id)
    rated = sa.and_(imp.c.risk_before_score.is_not(None), imp.c.risk_after_score.is_not(None))
    per_improvement = (
        sa.select(
            imp.c.enterprise_id,
            sa.func.count().label("n"),
            _count_if(imp.c.status.in_([str(s) for s in VERIFIED])).label("verified"),
            _count_if(rated).label("rated"),
            sa.func.avg(sa.case((rated, imp.c.risk_before_score - imp.c.risk_after_score))).label(
                "drop"
            ),
        )
        # What the enterprises reported themselves (the card says "you reported"): not what
        # staff saw new at a visit.
        .where(*_counted_improvements(Scope(), start, end), imp.c.seen_at_visit_id.is_(None))
        .group_by(imp.c.enterprise_id)
        .subquery("per_improvement")
    )

    def peer_group(same: Any, name: str) -> Any:
        """The enterprises sharing `same` with this one (trained by the period's end), with
        their counts; this enterprise among them."""
        return (
            sa.select(
                ent.c.id.label("id"),
                sa.func.coalesce(per_improvement.c.n, 0).label("n"),
                sa.func.coalesce(per_improvement.c.verified, 0).label("verified"),
                sa.func.coalesce(per_improvement.c.rated, 0).label("rated"),
                per_improvement.c.drop,
            )
            .select_from(
                ent.outerjoin(per_improvement, per_improvement.c.enterprise_id == ent.c.id)
            )
            .where(
                same,
                sa.or_(ent.c.intervention_date <= period.last, ent.c.id == enterprise_id),
            )
            .cte(name)
        )

    sector = peer_group(ent.c.sector_code == enterprise.sector_code, "sector_enterprises")
    own_row = session.execute(
        sa.select(sector.c.n, sector.c.verified, sector.c.rated, sector.c.drop).where(
            sector.c.id == enterprise_id
        )
    ).one()
    own = EnterpriseResult(_i(own_row[0]), _i(own_row[1]), _i(own_row[2]), _f(own_row[3]))
    peers = _peers(session, sector, enterprise_id, min_group)
    province = peer_group(ent.c.province_code == enterprise.province_code, "province_enterprises")
    province_peers = _peers(session, province, enterprise_id, min_group)
    own_scope = sa.select(ent.c.id).where(ent.c.id == enterprise_id)
    _employers, workers = _surveys(session, own_scope, start, end, min_group)
    return Progress(
        enterprise_id,
        enterprise.sector_code,
        period,
        own,
        peers,
        workers,
        province_code=enterprise.province_code,
        province_peers=province_peers,
    )


def _peers(session: Session, group: Any, enterprise_id: int, min_group: int) -> PeerResult | None:
    """Medians over the group's enterprises other than this one; None under MIN_GROUP of
    them, and no risk median under MIN_GROUP rated ones, so that no single peer shows."""
    peers_only = group.c.id != enterprise_id
    statement = sa.union_all(
        _median(sa.select(sa.literal(1).label("g"), group.c.n.label("v")).where(peers_only)),
        _median(sa.select(sa.literal(2).label("g"), group.c.verified.label("v")).where(peers_only)),
        _median(
            sa.select(sa.literal(3).label("g"), group.c.drop.label("v")).where(
                peers_only, group.c.rated > 0
            )
        ),
    )
    medians = {int(g): (_f(m), _i(n)) for g, m, n in session.execute(statement)}
    peer_count = medians.get(1, (None, 0))[1]
    if peer_count < min_group:
        return None
    drop, rated_peers = medians.get(3, (None, 0))
    return PeerResult(
        enterprises=peer_count,
        median_improvements=medians[1][0],
        median_verified=medians.get(2, (None, 0))[0],
        rated_enterprises=rated_peers,
        median_risk_drop=drop if rated_peers >= min_group else None,
    )


def question_ids() -> Iterable[tuple[str, str]]:
    """(questionnaire, question id) pairs the summary reads; a test checks them against
    content/surveys so that a renamed question cannot silently empty a figure."""
    for questionnaire, questions in SUMMARY_QUESTIONS.items():
        for question in questions:
            yield questionnaire, question


def visible(values: Sequence[Choice], limit: int = 3) -> tuple[Choice, ...]:
    return tuple(values[:limit])
