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
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from models import surveys
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    Provider,
    ReviewStatus,
    Role,
    SurveyAnswer,
    SurveyResponse,
    SurveyRound,
    Visit,
    VisitStatus,
)

# Worker answers count only from released units of at least MIN_GROUP questionnaires
# (models/surveys.py), and breakdowns resting on fewer answers are not shown either.
MIN_GROUP = surveys.MIN_GROUP
# "No or low cost", as the guide's low-cost improvements: under one million VND.
LOW_COST_VND = 1_000_000
# Cost bands an improvement may carry instead of an exact amount (models/improvements.py).
LOW_COST_BANDS = ("free", "under_1m")
# Risk scores are likelihood x severity, each 1-3: 6-9 is high, 3-4 medium, 1-2 low.
HIGH_RISK = 6
# A revisit is on time when done within two weeks of its due day: the due day only starts the
# arranging of a date with the employer.
ON_TIME_DAYS = 14

COUNTED = (ReviewStatus.SUBMITTED, ReviewStatus.VERIFIED, ReviewStatus.GOOD_PRACTICE)
VERIFIED = (ReviewStatus.VERIFIED, ReviewStatus.GOOD_PRACTICE)
OPEN_VISIT = (
    VisitStatus.PLANNED,
    VisitStatus.PROPOSED,
    VisitStatus.CONFIRMED,
    VisitStatus.MISSED,
)

EMPLOYER = "employer"
WORKER = "worker"
# Question ids of content/surveys/*.toml that the summary reads.
USEFULNESS = "usefulness"
BENEFITS = "benefits"
OBSTACLE = "main_obstacle"
KEPT = "improvements_kept"
RECOMMEND = "recommend"
SAFER = "safer"
LESS_TIRING = "less_tiring"
IDEAS_ASKED = "ideas_asked"
TRAINING = "training_this_year"
REMAINING = "remaining_problem"
TEXT_QUESTIONS = (REMAINING,)
SUMMARY_QUESTIONS = {
    EMPLOYER: (USEFULNESS, BENEFITS, OBSTACLE, KEPT, RECOMMEND),
    WORKER: (SAFER, LESS_TIRING, IDEAS_ASKED, TRAINING, REMAINING),
}
YES_TEXTS = ("yes", "true", "1")
NO_TEXTS = ("no", "false", "0")

# Improvements per enterprise, as the distribution shows them.
BUCKETS = ("0", "1", "2", "3-4", "5-9", "10+")

imp = Improvement.__table__  # type: ignore[attr-defined]
ent = Enterprise.__table__  # type: ignore[attr-defined]
con = Contact.__table__  # type: ignore[attr-defined]
prov = Provider.__table__  # type: ignore[attr-defined]
rnd = SurveyRound.__table__  # type: ignore[attr-defined]
resp = SurveyResponse.__table__  # type: ignore[attr-defined]
ans = SurveyAnswer.__table__  # type: ignore[attr-defined]
vis = Visit.__table__  # type: ignore[attr-defined]


# -- periods and scopes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar days `first`..`last` (inclusive) in the programme's time zone."""

    first: date
    last: date
    label: str

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: midnight local at both ends."""
        start = datetime.combine(self.first, time(), tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), tz).astimezone(UTC)
        return start, end


class PeriodError(ValueError):
    """A period that cannot be read ("2027-Q5", "2027-13", an end before its start)."""


def month_period(year: int, month: int) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(date(year, month, 1), date(year, month, last), f"{year}-{month:02d}")


def quarter_period(year: int, quarter: int) -> Period:
    first_month = 3 * (quarter - 1) + 1
    last_month = first_month + 2
    last = calendar.monthrange(year, last_month)[1]
    return Period(date(year, first_month, 1), date(year, last_month, last), f"{year}-Q{quarter}")


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), str(year))


def parse_period(text: str) -> Period:
    """`2027`, `2027-Q1`, `2027-03` or `2027-01-15..2027-02-14` (both days included)."""
    raw = text.strip().upper()
    try:
        if re.fullmatch(r"\d{4}", raw):
            return year_period(int(raw))
        if found := re.fullmatch(r"(\d{4})-Q([1-4])", raw):
            return quarter_period(int(found[1]), int(found[2]))
        if found := re.fullmatch(r"(\d{4})-(\d{1,2})", raw):
            return month_period(int(found[1]), int(found[2]))
        if found := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", raw):
            first, last = date.fromisoformat(found[1]), date.fromisoformat(found[2])
            if last < first:
                raise PeriodError("the period ends before it starts")
            return Period(first, last, f"{first.isoformat()}..{last.isoformat()}")
    except ValueError as error:  # month 13, 31 February
        raise PeriodError(str(error)) from error
    raise PeriodError("use 2027, 2027-Q1, 2027-03 or 2027-01-15..2027-02-14")


RELATIVE_PERIODS = ("this_month", "last_month", "this_quarter", "this_year")


def relative_period(key: str, today: date) -> Period:
    """The periods offered as buttons, relative to today in the programme's time zone."""
    if key == "this_month":
        return month_period(today.year, today.month)
    if key == "last_month":
        previous = today.replace(day=1) - timedelta(days=1)
        return month_period(previous.year, previous.month)
    if key == "this_quarter":
        return quarter_period(today.year, (today.month - 1) // 3 + 1)
    if key == "this_year":
        return year_period(today.year)
    raise PeriodError(f"unknown period {key!r}")


@dataclass(frozen=True)
class Scope:
    """Whose data: one provider (None: the whole programme) and optional filters. The technical
    area filter narrows the improvement figures only; surveys and visits are not by area."""

    provider_id: int | None = None
    province_code: str | None = None
    sector_code: str | None = None
    area_code: str | None = None


# -- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseFigures:
    in_programme: int  # in scope, trained (intervention date) on or before the period's last day
    followed_up: int  # a visit done, or a complete survey response in a round of the period
    without_reports: int  # no improvement submitted in the period
    reachable_employers: int  # as of now: registered, not erased, opted out or unreachable
    reachable_workers: int


@dataclass(frozen=True)
class Bucket:
    label: str  # one of BUCKETS
    enterprises: int


@dataclass(frozen=True)
class ImprovementFigures:
    total: int
    verified: int  # verified or good practice
    good_practice: int
    per_enterprise_median: float | None  # over enterprises in the programme, zeros included
    distribution: tuple[Bucket, ...]
    cost_known: int  # an amount or a band was given
    cost_median_vnd: float | None  # over improvements with an amount
    cost_amounts: int  # improvements with an amount: the count behind the median
    low_cost: int  # under LOW_COST_VND, or a free / under-1-million band
    workers_benefiting: int  # per enterprise at most its workforce, then summed

    @property
    def low_cost_share(self) -> float | None:
        return self.low_cost / self.cost_known if self.cost_known else None


@dataclass(frozen=True)
class RiskFigures:
    """Improvements with both ratings; the means and shares always travel with their counts."""

    rated: int
    mean_before: float | None
    mean_after: float | None
    high_before: int  # rated high (6-9) before
    moved_down: int  # of those, rated medium or low after

    @property
    def share_moved_down(self) -> float | None:
        return self.moved_down / self.high_before if self.high_before else None


@dataclass(frozen=True)
class AreaFigures:
    area_code: str | None  # None: no area given
    improvements: int
    verified: int
    good_practice: int
    risk: RiskFigures


@dataclass(frozen=True)
class GroupFigures:
    """Enterprises and improvements of one province, sector or provider."""

    code: str
    enterprises: int
    improvements: int


@dataclass(frozen=True)
class Rating:
    """A 1-5 scale question. `shown` is False when worker answers rest on fewer than
    MIN_GROUP respondents: then mean and distribution are withheld."""

    n: int
    mean: float | None
    distribution: tuple[int, int, int, int, int]  # answers 1..5
    shown: bool = True


@dataclass(frozen=True)
class YesNo:
    n: int
    yes: int | None
    shown: bool = True

    @property
    def share_yes(self) -> float | None:
        return self.yes / self.n if self.shown and self.n and self.yes is not None else None


@dataclass(frozen=True)
class Choice:
    code: str
    count: int


@dataclass(frozen=True)
class EmployerSide:
    respondents: int
    usefulness: Rating
    benefits: tuple[Choice, ...]  # most cited first
    obstacles: tuple[Choice, ...]
    kept: tuple[Choice, ...]
    recommend: YesNo


@dataclass(frozen=True)
class WorkerSide:
    respondents: int
    shown: bool  # False: fewer than MIN_GROUP respondents, nothing broken down
    safer: Rating
    less_tiring: Rating
    ideas_asked: YesNo
    training: YesNo
    remaining_problems: int | None  # how many named a problem that remains (None: withheld)


@dataclass(frozen=True)
class RoundRate:
    number: int  # follow-up round 1, 2, ...
    rounds: int  # rounds opened in the period
    with_employer_answer: int
    worker_responses: int
    registered_workers: int  # worker contacts of those enterprises

    @property
    def employer_rate(self) -> float | None:
        return self.with_employer_answer / self.rounds if self.rounds else None

    @property
    def worker_rate(self) -> float | None:
        if not self.registered_workers:
            return None
        return self.worker_responses / self.registered_workers


@dataclass(frozen=True)
class ProviderQuality:
    provider_id: int
    name: str
    enterprises: int
    improvements: int
    visits_due: int
    visits_on_time: int
    visits_late: int
    visits_overdue: int
    reviewed: int
    review_median_days: float | None
    awaiting_review: int
    usefulness: Rating


@dataclass(frozen=True)
class Summary:
    period: Period
    scope: Scope
    today: date
    enterprises: EnterpriseFigures
    improvements: ImprovementFigures
    risk: RiskFigures
    areas: tuple[AreaFigures, ...]
    provinces: tuple[GroupFigures, ...]
    sectors: tuple[GroupFigures, ...]
    employers: EmployerSide
    workers: WorkerSide
    rounds: tuple[RoundRate, ...]
    providers: tuple[ProviderQuality, ...]
    review_median_days: float | None  # submission to review, over all providers in scope
    min_group: int = field(default=MIN_GROUP)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (dates as ISO text), with the derived shares."""
        data = _plain(asdict(self))
        data["improvements"]["low_cost_share"] = self.improvements.low_cost_share
        data["risk"]["share_moved_down"] = self.risk.share_moved_down
        for area, figures in zip(data["areas"], self.areas, strict=True):
            area["risk"]["share_moved_down"] = figures.risk.share_moved_down
        for rate, figures in zip(data["rounds"], self.rounds, strict=True):
            rate["employer_rate"] = figures.employer_rate
            rate["worker_rate"] = figures.worker_rate
        return data


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- SQL building blocks ---------------------------------------------------------------------


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _i(value: Any) -> int:
    return 0 if value is None else int(value)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _in(column: Any, in_scope: sa.Select[Any] | None) -> ColumnElement[bool]:
    """`column IN (enterprises in scope)`, or nothing when every enterprise is in scope."""
    return sa.true() if in_scope is None else column.in_(in_scope)


def _scope_filter(session: Session, scope: Scope, period: Period) -> sa.Select[Any] | None:
    """The enterprises in scope, or None when that is every enterprise: the whole programme
    with nobody trained after the period. Skipping the semi-join then saves a probe per row."""
    filtered = any(
        value is not None for value in (scope.provider_id, scope.province_code, scope.sector_code)
    )
    if not filtered:
        later = session.execute(
            sa.select(ent.c.id).where(ent.c.intervention_date > period.last).limit(1)
        ).first()
        if later is None:
            return None
    return _scoped_enterprises(scope, period)


def _scoped_enterprises(scope: Scope, period: Period) -> sa.Select[Any]:
    """Enterprises in scope that were in the programme by the period's last day."""
    conditions = [ent.c.intervention_date <= period.last]
    if scope.provider_id is not None:
        conditions.append(ent.c.provider_id == scope.provider_id)
    if scope.province_code is not None:
        conditions.append(ent.c.province_code == scope.province_code)
    if scope.sector_code is not None:
        conditions.append(ent.c.sector_code == scope.sector_code)
    return sa.select(ent.c.id).where(*conditions)


def _counted_improvements(scope: Scope, start: datetime, end: datetime) -> list[Any]:
    conditions: list[Any] = [
        imp.c.submitted_at >= start,
        imp.c.submitted_at < end,
        imp.c.status.in_([str(s) for s in COUNTED]),
    ]
    if scope.area_code is not None:
        conditions.append(imp.c.area_code == scope.area_code)
    return conditions


def _response_complete() -> ColumnElement[bool]:
    # The surveys module marks anonymous responses complete without a time.
    if "complete" in resp.c:
        return sa.or_(resp.c.complete.is_(True), resp.c.completed_at.is_not(None))
    return resp.c.completed_at.is_not(None)


def _released() -> ColumnElement[bool]:
    """A response whose answers count in figures: a named one, or an anonymous (worker) one
    released with its whole unit (models/surveys.py, "Anonymity"). So every figure of worker
    answers is a sum over whole released units of at least MIN_GROUP, and so is the
    difference of any two figures."""
    return sa.or_(resp.c.contact_id.is_not(None), resp.c.released.is_(True))


def _median(values: sa.Select[Any]) -> sa.Select[Any]:
    """(group, median, n) for a select of (group `g`, value `v`).

    From the histogram of distinct values and its running sum: the lower middle value is the
    first whose running count reaches n/2, the upper one the first that passes it.
    """
    source = values.subquery("median_values")
    histogram = (
        sa.select(source.c.g, source.c.v, sa.func.count().label("c"))
        .where(source.c.v.is_not(None))
        .group_by(source.c.g, source.c.v)
        .subquery("histogram")
    )
    return _median_of(histogram)


def _median_of(histogram: Any) -> sa.Select[Any]:
    """(group, median, n) from a histogram of (group `g`, value `v`, count `c`)."""
    running = sa.select(
        histogram.c.g,
        histogram.c.v,
        sa.func.sum(histogram.c.c)
        .over(partition_by=histogram.c.g, order_by=histogram.c.v)
        .label("cum"),
        sa.func.sum(histogram.c.c).over(partition_by=histogram.c.g).label("total"),
    ).subquery("running")
    lower = sa.func.min(sa.case((2 * running.c.cum >= running.c.total, running.c.v)))
    upper = sa.func.min(sa.case((2 * running.c.cum > running.c.total, running.c.v)))
    return sa.select(
        running.c.g,
        ((sa.cast(lower, sa.Float) + sa.cast(upper, sa.Float)) / 2).label("median"),
        sa.func.max(running.c.total).label("n"),
    ).group_by(running.c.g)


def _hours_between(dialect: str, earlier: Any, later: Any) -> ColumnElement[Any]:
    if dialect == "sqlite":
        hours = (sa.func.julianday(later) - sa.func.julianday(earlier)) * 24
    else:
        hours = sa.extract("epoch", later - earlier) / 3600
    return sa.func.round(hours)


def _local_day_on_or_before(
    dialect: str, moment: Any, day: Any, days_after: int, tz: ZoneInfo, at: datetime
) -> ColumnElement[bool]:
    """The local calendar day of `moment` is no later than `day` + `days_after`."""
    if dialect == "sqlite":
        # SQLite keeps no zones: shift by the programme's offset (fixed in Viet Nam; for zones
        # with daylight saving, the offset at the period start).
        offset = int((at.astimezone(tz).utcoffset() or timedelta()).total_seconds() // 60)
        local = sa.func.date(moment, f"{offset:+d} minutes")
        return local <= sa.func.date(day, f"+{days_after} days")
    local_day = sa.cast(sa.func.timezone(tz.key, moment), sa.Date)
    return local_day <= day + days_after


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
    )


def _enterprise_rows(
    session: Session,
    scope: Scope,
    period: Period,
    in_scope: sa.Select[Any] | None,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """One pass over the improvements per enterprise, then every enterprise-level figure from
    it in one statement: totals, per province, sector and provider, the distribution and the
    median of improvements per enterprise."""
    per_improvement = (
        sa.select(
            imp.c.enterprise_id,
            sa.func.count().label("n"),
            sa.func.sum(imp.c.workers_benefiting).label("w"),
            _count_if(_reviewed()).label("r"),
            _count_if(_awaiting()).label("a"),
        )
        .where(*_counted_improvements(scope, start, end), _in(imp.c.enterprise_id, in_scope))
        .group_by(imp.c.enterprise_id)
        .subquery("per_improvement")
    )
    n = sa.func.coalesce(per_improvement.c.n, 0)
    w = sa.func.coalesce(per_improvement.c.w, 0)
    per_enterprise = (
        sa.select(
            ent.c.id,
            ent.c.province_code,
            ent.c.sector_code,
            ent.c.provider_id,
            n.label("n"),
            # A worker may benefit from several improvements: never more than the workforce.
            sa.case((w > ent.c.workers, ent.c.workers), else_=w).label("w"),
            sa.func.coalesce(per_improvement.c.r, 0).label("r"),
            sa.func.coalesce(per_improvement.c.a, 0).label("a"),
        )
        .select_from(ent.outerjoin(per_improvement, per_improvement.c.enterprise_id == ent.c.id))
        .where(_in(ent.c.id, in_scope))
        .cte("per_enterprise")
        .prefix_with("MATERIALIZED")
    )
    pe = per_enterprise.c
    bucket = sa.case(
        (pe.n == 0, "0"),
        (pe.n == 1, "1"),
        (pe.n == 2, "2"),
        (pe.n <= 4, "3-4"),
        (pe.n <= 9, "5-9"),
        else_="10+",
    )

    def row(kind: str, key: Any, a: Any, b: Any, c: Any, d: Any) -> sa.Select[Any]:
        return sa.select(
            sa.literal(kind).label("kind"),
            sa.cast(key, sa.String).label("key"),
            sa.cast(a, sa.Float).label("a"),
            sa.cast(b, sa.Float).label("b"),
            sa.cast(c, sa.Float).label("c"),
            sa.cast(d, sa.Float).label("d"),
        )

    count = sa.func.count()
    total_n = sa.func.coalesce(sa.func.sum(pe.n), 0)
    median_source = _median(sa.select(sa.literal(0).label("g"), pe.n.label("v"))).subquery("m")
    statement = sa.union_all(
        row("total", None, count, total_n, _count_if(pe.n == 0), sa.func.sum(pe.w)),
        row("province", pe.province_code, count, total_n, None, None).group_by(pe.province_code),
        row("sector", pe.sector_code, count, total_n, None, None).group_by(pe.sector_code),
        row(
            "provider", pe.provider_id, count, total_n, sa.func.sum(pe.r), sa.func.sum(pe.a)
        ).group_by(pe.provider_id),
        row("bucket", bucket, count, None, None, None).group_by(bucket),
        sa.select(
            sa.literal("median"),
            sa.cast(None, sa.String),
            sa.cast(median_source.c.median, sa.Float),
            sa.cast(median_source.c.n, sa.Float),
            sa.cast(None, sa.Float),
            sa.cast(None, sa.Float),
        ),
    )
    result: dict[str, Any] = {"total": (0, 0, 0, 0), "median": None, "bucket": {}, "reviews": {}}
    groups: dict[str, list[GroupFigures]] = {"province": [], "sector": [], "provider": []}
    for kind, key, a, b, c, d in session.execute(statement):
        if kind == "total":
            result["total"] = (_i(a), _i(b), _i(c), _i(d))
        elif kind == "median":
            result["median"] = _f(a)
        elif kind == "bucket":
            result["bucket"][key] = _i(a)
        else:
            groups[kind].append(GroupFigures(str(key), _i(a), _i(b)))
            if kind == "provider":
                result["reviews"][int(key)] = (_i(c), _i(d))
    for kind, items in groups.items():
        # Most improvements first; ties by code so that output is stable.
        result[kind] = tuple(sorted(items, key=lambda g: (-g.improvements, -g.enterprises, g.code)))
    return result


def _risk_columns() -> list[ColumnElement[Any]]:
    rated = sa.and_(imp.c.risk_before_score.is_not(None), imp.c.risk_after_score.is_not(None))
    high = sa.and_(rated, imp.c.risk_before_score >= HIGH_RISK)
    return [
        _count_if(rated).label("rated"),
        sa.func.sum(sa.case((rated, imp.c.risk_before_score))).label("before"),
        sa.func.sum(sa.case((rated, imp.c.risk_after_score))).label("after"),
        _count_if(high).label("high"),
        _count_if(sa.and_(high, imp.c.risk_after_score < HIGH_RISK)).label("down"),
    ]


def _risk(rated: int, before: Any, after: Any, high: int, down: int) -> RiskFigures:
    return RiskFigures(
        rated=rated,
        mean_before=float(before) / rated if rated else None,
        mean_after=float(after) / rated if rated else None,
        high_before=high,
        moved_down=down,
    )


def _areas(
    session: Session,
    scope: Scope,
    in_scope: sa.Select[Any] | None,
    start: datetime,
    end: datetime,
) -> tuple[tuple[AreaFigures, ...], RiskFigures, int, int, dict[str, Any]]:
    """One pass over the improvements grouped by area and amount: the per-area figures, the
    cost counts and the histogram of amounts behind the median cost, in one statement."""
    known = sa.or_(imp.c.cost_vnd.is_not(None), imp.c.cost_band.is_not(None))
    low = sa.or_(
        imp.c.cost_vnd < LOW_COST_VND,
        sa.and_(imp.c.cost_vnd.is_(None), imp.c.cost_band.in_(LOW_COST_BANDS)),
    )
    grouped = (
        sa.select(
            imp.c.area_code.label("area"),
            imp.c.cost_vnd.label("cost"),
            sa.func.count().label("n"),
            _count_if(imp.c.status.in_([str(s) for s in VERIFIED])).label("verified"),
            _count_if(imp.c.status == str(ReviewStatus.GOOD_PRACTICE)).label("good"),
            *_risk_columns(),
            _count_if(known).label("known"),
            _count_if(low).label("low"),
        )
        .where(*_counted_improvements(scope, start, end), _in(imp.c.enterprise_id, in_scope))
        .group_by(imp.c.area_code, imp.c.cost_vnd)
        .cte("by_area_and_cost")
        .prefix_with("MATERIALIZED")
    )
    g = grouped.c
    sums = [g.n, g.verified, g.good, g.rated, g.before, g.after, g.high, g.down, g.known, g.low]
    per_area = sa.select(
        sa.literal("area").label("kind"),
        g.area,
        *[sa.cast(sa.func.sum(column), sa.Float) for column in sums],
    ).group_by(g.area)
    costs = (
        sa.select(sa.literal(0).label("g"), g.cost.label("v"), sa.func.sum(g.n).label("c"))
        .where(g.cost.is_not(None))
        .group_by(g.cost)
        .subquery("cost_histogram")
    )
    median = _median_of(costs).subquery("cost_median")
    statement = sa.union_all(
        per_area,
        sa.select(
            sa.literal("cost_median"),
            sa.cast(None, sa.String),
            sa.cast(median.c.median, sa.Float),
            sa.cast(median.c.n, sa.Float),
            *[sa.cast(None, sa.Float)] * (len(sums) - 2),
        ),
    )
    areas = []
    totals = [0.0] * len(sums)
    cost_median, cost_amounts = None, 0
    for kind, code, *values in session.execute(statement):
        if kind == "cost_median":
            cost_median, cost_amounts = _f(values[0]), int(values[1] or 0)
            continue
        numbers = [_f(value) or 0.0 for value in values]
        # Seven rows at most (six areas and "none"): adding them up here is no row loop.
        totals = [total + value for total, value in zip(totals, numbers, strict=True)]
        count, verified, good, rated, _before, _after, high, down = (int(x) for x in numbers[:8])
        areas.append(
            AreaFigures(
                area_code=code,
                improvements=count,
                verified=verified,
                good_practice=good,
                risk=_risk(rated, numbers[4], numbers[5], high, down),
            )
        )
    areas.sort(key=lambda a: (-a.improvements, a.area_code or "~"))
    t = totals
    total_risk = _risk(int(t[3]), t[4], t[5], int(t[6]), int(t[7]))
    cost = {
        "cost_known": int(t[8]),
        "cost_median_vnd": cost_median,
        "cost_amounts": cost_amounts,
        "low_cost": int(t[9]),
    }
    return tuple(areas), total_risk, int(t[1]), int(t[2]), cost


def _followed_up(
    session: Session, in_scope: sa.Select[Any] | None, start: datetime, end: datetime
) -> int:
    visited = sa.select(vis.c.enterprise_id).where(
        vis.c.status == str(VisitStatus.DONE), vis.c.done_at >= start, vis.c.done_at < end
    )
    answered = (
        sa.select(rnd.c.enterprise_id)
        .select_from(rnd.join(resp, resp.c.round_id == rnd.c.id))
        .where(rnd.c.opened_at >= start, rnd.c.opened_at < end, _response_complete())
    )
    followed = sa.union(visited, answered).subquery("followed")
    statement = (
        sa.select(sa.func.count())
        .select_from(followed)
        .where(_in(followed.c.enterprise_id, in_scope))
    )
    return int(session.execute(statement).scalar_one())


def _reachable(session: Session, in_scope: sa.Select[Any]) -> dict[str, int]:
    statement = (
        sa.select(con.c.role, sa.func.count())
        .where(
            _in(con.c.enterprise_id, in_scope),
            # Removed people are detached from their enterprise (models/members.py).
            con.c.enterprise_id.is_not(None),
            con.c.role.in_([str(Role.EMPLOYER), str(Role.WORKER)]),
            con.c.telegram_user_id.is_not(None),
            con.c.erased_at.is_(None),
            con.c.opted_out_at.is_(None),
            con.c.unreachable_at.is_(None),
        )
        .group_by(con.c.role)
    )
    counts = dict(session.execute(statement).all())
    return {
        "reachable_employers": _i(counts.get(str(Role.EMPLOYER))),
        "reachable_workers": _i(counts.get(str(Role.WORKER))),
    }


# -- surveys ---------------------------------------------------------------------------------


def _responses(in_scope: sa.Select[Any] | None, start: datetime, end: datetime) -> sa.Select[Any]:
    """Complete employer and worker responses of rounds opened in the period, in scope."""
    return (
        sa.select(resp.c.id, resp.c.questionnaire, resp.c.round_id, rnd.c.enterprise_id)
        .select_from(resp.join(rnd, rnd.c.id == resp.c.round_id))
        .where(
            rnd.c.opened_at >= start,
            rnd.c.opened_at < end,
            _in(rnd.c.enterprise_id, in_scope),
            resp.c.questionnaire.in_([EMPLOYER, WORKER]),
            _response_complete(),
            _released(),
        )
    )


def _yes() -> ColumnElement[bool]:
    return sa.or_(ans.c.value_int == 1, sa.func.lower(ans.c.value_text).in_(YES_TEXTS))


def _no() -> ColumnElement[bool]:
    return sa.or_(ans.c.value_int == 0, sa.func.lower(ans.c.value_text).in_(NO_TEXTS))


def _surveys(
    session: Session,
    in_scope: sa.Select[Any] | None,
    start: datetime,
    end: datetime,
    min_group: int,
) -> tuple[EmployerSide, WorkerSide]:
    responses = _responses(in_scope, start, end).cte("responses")
    respondents = dict(
        session.execute(
            sa.select(responses.c.questionnaire, sa.func.count()).group_by(
                responses.c.questionnaire
            )
        ).all()
    )
    questions = [q for qs in SUMMARY_QUESTIONS.values() for q in qs]
    # Free-text answers are only counted here ("named a problem"), never grouped by their text.
    value_text = sa.case(
        (ans.c.question_id.in_(TEXT_QUESTIONS), sa.literal(None, sa.String)),
        (_yes(), sa.literal("yes")),
        (_no(), sa.literal("no")),
        else_=ans.c.value_text,
    )
    given = sa.and_(
        ans.c.question_id.in_(TEXT_QUESTIONS), sa.func.length(sa.func.trim(ans.c.value_text)) > 0
    )
    scale = sa.case((ans.c.question_id.in_([USEFULNESS, SAFER, LESS_TIRING]), ans.c.value_int))
    statement = (
        sa.select(
            responses.c.questionnaire,
            ans.c.question_id,
            scale.label("scale"),
            value_text.label("value"),
            sa.func.count(),
            _count_if(given),
        )
        .select_from(ans.join(responses, responses.c.id == ans.c.response_id))
        .where(ans.c.question_id.in_(questions))
        .group_by(responses.c.questionnaire, ans.c.question_id, scale, value_text)
    )
    counts: dict[tuple[str, str], dict[Any, int]] = {}
    texts_given: dict[tuple[str, str], int] = {}
    for questionnaire, question, scale_value, text, count, text_count in session.execute(statement):
        key = (questionnaire, question)
        value = scale_value if scale_value is not None else text
        bucket = counts.setdefault(key, {})
        bucket[value] = bucket.get(value, 0) + int(count)
        texts_given[key] = texts_given.get(key, 0) + _i(text_count)
    return _survey_sides(respondents, counts, texts_given, min_group)


def _survey_sides(
    respondents: dict[str, Any],
    counts: dict[tuple[str, str], dict[Any, int]],
    texts_given: dict[tuple[str, str], int],
    min_group: int,
) -> tuple[EmployerSide, WorkerSide]:
    """Both sides from the answer counts per (questionnaire, question) and value."""

    def rating(questionnaire: str, question: str, protect: bool) -> Rating:
        found = counts.get((questionnaire, question), {})
        distribution = tuple(found.get(value, 0) for value in range(1, 6))
        n = sum(distribution)
        mean = sum(v * c for v, c in zip(range(1, 6), distribution, strict=True)) / n if n else None
        if protect and n < min_group:
            return Rating(n, None, (0, 0, 0, 0, 0), shown=False)
        return Rating(n, mean, distribution)  # type: ignore[arg-type]

    def yes_no(questionnaire: str, question: str, protect: bool) -> YesNo:
        found = counts.get((questionnaire, question), {})
        n = found.get("yes", 0) + found.get("no", 0)
        if protect and n < min_group:
            return YesNo(n, None, shown=False)
        return YesNo(n, found.get("yes", 0))

    def choices(question: str) -> tuple[Choice, ...]:
        found = counts.get((EMPLOYER, question), {})
        ranked = sorted(
            (Choice(str(code), c) for code, c in found.items() if code is not None),
            key=lambda choice: (-choice.count, choice.code),
        )
        return tuple(ranked)

    employer_count = _i(respondents.get(EMPLOYER))
    worker_count = _i(respondents.get(WORKER))
    shown = worker_count >= min_group
    employers = EmployerSide(
        respondents=employer_count,
        usefulness=rating(EMPLOYER, USEFULNESS, protect=False),
        benefits=choices(BENEFITS),
        obstacles=choices(OBSTACLE),
        kept=choices(KEPT),
        recommend=yes_no(EMPLOYER, RECOMMEND, protect=False),
    )
    workers = WorkerSide(
        respondents=worker_count,
        shown=shown,
        safer=rating(WORKER, SAFER, protect=True),
        less_tiring=rating(WORKER, LESS_TIRING, protect=True),
        ideas_asked=yes_no(WORKER, IDEAS_ASKED, protect=True),
        training=yes_no(WORKER, TRAINING, protect=True),
        remaining_problems=texts_given.get((WORKER, REMAINING), 0) if shown else None,
    )
    return employers, workers


def _round_rates(
    session: Session, in_scope: sa.Select[Any] | None, start: datetime, end: datetime
) -> tuple[RoundRate, ...]:
    rounds = (
        sa.select(rnd.c.id, rnd.c.number, rnd.c.enterprise_id)
        .where(rnd.c.opened_at >= start, rnd.c.opened_at < end, _in(rnd.c.enterprise_id, in_scope))
        .subquery("rounds")
    )
    answered = (
        sa.select(
            resp.c.round_id,
            _count_if(resp.c.questionnaire == EMPLOYER).label("employers"),
            _count_if(resp.c.questionnaire == WORKER).label("workers"),
        )
        .where(resp.c.round_id.in_(sa.select(rounds.c.id)), _response_complete())
        .group_by(resp.c.round_id)
        .subquery("answered")
    )
    registered = (
        sa.select(con.c.enterprise_id, sa.func.count().label("workers"))
        .where(
            con.c.role == str(Role.WORKER),
            con.c.erased_at.is_(None),
            con.c.enterprise_id.in_(sa.select(rounds.c.enterprise_id)),
        )
        .group_by(con.c.enterprise_id)
        .subquery("registered")
    )
    statement = (
        sa.select(
            rounds.c.number,
            sa.func.count(),
            _count_if(answered.c.employers > 0),
            sa.func.coalesce(sa.func.sum(answered.c.workers), 0),
            sa.func.coalesce(sa.func.sum(registered.c.workers), 0),
        )
        .select_from(
            rounds.outerjoin(answered, answered.c.round_id == rounds.c.id).outerjoin(
                registered, registered.c.enterprise_id == rounds.c.enterprise_id
            )
        )
        .group_by(rounds.c.number)
        .order_by(rounds.c.number)
    )
    return tuple(
        RoundRate(int(number), _i(count), _i(employer), _i(workers), _i(workers_registered))
        for number, count, employer, workers, workers_registered in session.execute(statement)
    )


# -- service quality per provider ------------------------------------------------------------


def _providers(
    session: Session,
    scope: Scope,
    period: Period,
    in_scope: sa.Select[Any] | None,
    start: datetime,
    dialect: str,
    tz: ZoneInfo,
    today: date,
    enterprise_rows: dict[str, Any],
    median_days: dict[int, float],
    counted: tuple[dict[int, Any], dict[int, list[int]]] | None = None,
) -> tuple[ProviderQuality, ...]:
    """`counted`: visit figures and usefulness ratings per provider from elsewhere (rollups)."""
    names_query = sa.select(prov.c.id, prov.c.name)
    if scope.provider_id is not None:
        names_query = names_query.where(prov.c.id == scope.provider_id)
    names = dict(session.execute(names_query).all())
    visit_rows, ratings = counted or _provider_counts(
        session, period, in_scope, start, dialect, tz, today
    )
    return _provider_quality(names, visit_rows, ratings, enterprise_rows, median_days)


def _provider_counts(
    session: Session,
    period: Period,
    in_scope: sa.Select[Any] | None,
    start: datetime,
    dialect: str,
    tz: ZoneInfo,
    today: date,
) -> tuple[dict[int, Any], dict[int, list[int]]]:
    end = period.bounds(tz)[1]
    # Revisits "due" are those due by the report date: a visit due later in the period is not
    # due yet, and counting it would make the figure say the whole year was due.
    due_by = min(period.last, today)

    on_time = sa.and_(
        vis.c.status == str(VisitStatus.DONE),
        vis.c.done_at.is_not(None),
        _local_day_on_or_before(dialect, vis.c.done_at, vis.c.due_on, ON_TIME_DAYS, tz, start),
    )
    overdue = sa.and_(
        vis.c.status.in_([str(s) for s in OPEN_VISIT]),
        vis.c.due_on < today - timedelta(days=ON_TIME_DAYS),
    )
    visits = (
        sa.select(
            ent.c.provider_id,
            sa.func.count(),
            _count_if(on_time),
            _count_if(sa.and_(vis.c.status == str(VisitStatus.DONE), sa.not_(on_time))),
            _count_if(overdue),
        )
        .select_from(vis.join(ent, ent.c.id == vis.c.enterprise_id))
        .where(
            vis.c.due_on >= period.first,
            vis.c.due_on <= due_by,
            vis.c.status != str(VisitStatus.CANCELLED),
            _in(vis.c.enterprise_id, in_scope),
        )
        .group_by(ent.c.provider_id)
    )
    visit_rows = {row[0]: row[1:] for row in session.execute(visits)}

    usefulness = (
        sa.select(
            ent.c.provider_id,
            ans.c.value_int,
            sa.func.count(),
        )
        .select_from(
            ans.join(resp, resp.c.id == ans.c.response_id)
            .join(rnd, rnd.c.id == resp.c.round_id)
            .join(ent, ent.c.id == rnd.c.enterprise_id)
        )
        .where(
            ans.c.question_id == USEFULNESS,
            ans.c.value_int.between(1, 5),
            resp.c.questionnaire == EMPLOYER,
            _response_complete(),
            _released(),
            rnd.c.opened_at >= start,
            rnd.c.opened_at < end,
            _in(rnd.c.enterprise_id, in_scope),
        )
        .group_by(ent.c.provider_id, ans.c.value_int)
    )
    ratings: dict[int, list[int]] = {}
    for provider_id, value, count in session.execute(usefulness):
        ratings.setdefault(provider_id, [0] * 5)[int(value) - 1] = int(count)
    return visit_rows, ratings


def _provider_quality(
    names: dict[int, str],
    visit_rows: dict[int, Any],
    ratings: dict[int, list[int]],
    enterprise_rows: dict[str, Any],
    median_days: dict[int, float],
) -> tuple[ProviderQuality, ...]:
    review_rows = enterprise_rows["reviews"]
    per_provider = {g.code: g for g in enterprise_rows["provider"]}

    result = []
    for provider_id, name in names.items():
        group = per_provider.get(str(provider_id))
        due, in_time, late, late_open = visit_rows.get(provider_id, (0, 0, 0, 0))
        done_reviews, waiting = review_rows.get(provider_id, (0, 0))
        distribution = ratings.get(provider_id, [0] * 5)
        n = sum(distribution)
        mean = sum((i + 1) * c for i, c in enumerate(distribution)) / n if n else None
        result.append(
            ProviderQuality(
                provider_id=provider_id,
                name=name,
                enterprises=group.enterprises if group else 0,
                improvements=group.improvements if group else 0,
                visits_due=_i(due),
                visits_on_time=_i(in_time),
                visits_late=_i(late),
                visits_overdue=_i(late_open),
                reviewed=_i(done_reviews),
                review_median_days=median_days.get(provider_id),
                awaiting_review=_i(waiting),
                usefulness=Rating(n, mean, tuple(distribution)),  # type: ignore[arg-type]
            )
        )
    # Providers without enterprises in scope say nothing about service quality.
    result = [p for p in result if p.enterprises or p.visits_due or p.reviewed]
    result.sort(key=lambda p: p.name)
    return tuple(result)


def _reviewed() -> ColumnElement[bool]:
    return sa.and_(imp.c.reviewed_at.is_not(None), imp.c.status.in_([str(s) for s in VERIFIED]))


def _awaiting() -> ColumnElement[bool]:
    return sa.and_(imp.c.status == str(ReviewStatus.SUBMITTED), imp.c.reviewed_at.is_(None))


ALL = -1  # the key of the programme-wide median among the per-provider ones


def _review_medians(
    session: Session,
    scope: Scope,
    in_scope: sa.Select[Any] | None,
    start: datetime,
    end: datetime,
    dialect: str,
) -> dict[int, float]:
    """Median days from submission to review (in whole hours), per provider and over all
    (key ALL), from one histogram of (provider, hours)."""
    hours = _hours_between(dialect, imp.c.submitted_at, imp.c.reviewed_at)
    histogram = (
        sa.select(ent.c.provider_id.label("g"), hours.label("v"), sa.func.count().label("c"))
        .select_from(imp.join(ent, ent.c.id == imp.c.enterprise_id))
        .where(
            *_counted_improvements(scope, start, end),
            _in(imp.c.enterprise_id, in_scope),
            _reviewed(),
        )
        .group_by(ent.c.provider_id, hours)
        .cte("review_hours")
        .prefix_with("MATERIALIZED")
    )
    overall = (
        sa.select(sa.literal(ALL).label("g"), histogram.c.v, sa.func.sum(histogram.c.c).label("c"))
        .group_by(histogram.c.v)
        .subquery("all_review_hours")
    )
    statement = sa.union_all(_median_of(histogram), _median_of(overall))
    return {int(g): float(m) / 24 for g, m, _n in session.execute(statement)}


# -- the same figures from the rollups -------------------------------------------------------
# reports/rollups.py keeps counts and sums per programme-time month, quarter and year; a
# period of whole months reads the few keys that cover it. The figures are the same as from
# the raw rows (tests/test_rollups.py compares both on random programmes).


@dataclass(frozen=True)
class Rolled:
    """Where a summary's figures come from: the rollup keys of the whole months inside the
    period, and the raw rows of the days at its edges that no whole month covers."""

    keys: list[str]
    edges: list[tuple[date, date]]
    dialect: str

    @property
    def single(self) -> bool:
        """One key and no edges: each rollup row is already the whole period's."""
        return len(self.keys) == 1 and not self.edges

    def counted(self, scope: Scope, *, by_area: bool = True) -> bool:
        """Whether rollup_count (enterprises per provider and number of improvements, for one
        period key) serves the scope: no filter finer than the provider."""
        fine = scope.province_code is not None or scope.sector_code is not None
        return self.single and not fine and not (by_area and scope.area_code is not None)

    def rows(self, table: Any) -> tuple[Any, list[Any]]:
        """(rows of `table` for the period, conditions that pick them): the rollup table with
        a condition on its keys, or the union of its keyed rows with rows of the same shape
        aggregated from the raw rows of the edge days."""
        from reports.rollups import edge_rows

        if not self.edges:
            return table, [table.c.period_key.in_(self.keys)]
        keyed = sa.select(*table.c).where(table.c.period_key.in_(self.keys))
        union = sa.union_all(keyed, *edge_rows(self.dialect, table, self.edges))
        return union.subquery(f"{table.name}_of_period"), []


def _rollup_keys(session: Session, scope: Scope, period: Period, tz: ZoneInfo) -> Rolled | None:
    """The rollup keys covering the period (and the edge days no whole month covers), or None
    when only the raw rows give the exact figures: another time zone than the rollups', or
    enterprises matching the filters that were trained after the period (the rollups count
    every enterprise under its provider, province and sector)."""
    from reports.rollups import ROLLUP_TZ, cover

    if tz.key != ROLLUP_TZ.key:
        return None
    keys, edges = cover(period.first, period.last)
    later = [ent.c.intervention_date > period.last]
    if scope.provider_id is not None:
        later.append(ent.c.provider_id == scope.provider_id)
    if scope.province_code is not None:
        later.append(ent.c.province_code == scope.province_code)
    if scope.sector_code is not None:
        later.append(ent.c.sector_code == scope.sector_code)
    if session.execute(sa.select(ent.c.id).where(*later).limit(1)).first() is not None:
        return None
    return Rolled(keys, edges, session.get_bind().dialect.name)


def _dims(table: Any, scope: Scope, *, coarse: bool, by_area: bool) -> list[Any]:
    """Rollup rows of the scope. Tables with coarse rows ("*" for province, sector and area)
    serve a scope without those filters from them, and a filtered one from the fine rows."""
    from reports.rollups import ALL

    conditions: list[Any] = []
    if scope.provider_id is not None:
        conditions.append(table.c.provider_id == scope.provider_id)
    area = by_area and scope.area_code is not None
    if coarse:
        fine = area or scope.province_code is not None or scope.sector_code is not None
        conditions.append(
            (table.c.province_code != ALL) if fine else (table.c.province_code == ALL)
        )
    if scope.province_code is not None:
        conditions.append(table.c.province_code == scope.province_code)
    if scope.sector_code is not None:
        conditions.append(table.c.sector_code == scope.sector_code)
    if area:
        conditions.append(table.c.area_code == scope.area_code)
    return conditions


def _rolled_enterprise_rows(
    session: Session,
    scope: Scope,
    period: Period,
    in_scope: sa.Select[Any] | None,
    rolled: Rolled,
) -> dict[str, Any]:
    """`_enterprise_rows` from the rollups. The per-enterprise figures (distribution, median,
    workers capped at each workforce) need each enterprise's count over the period: one pass
    over the enterprises with reports, folded into a histogram of counts; the enterprises
    without reports are the rest of the programme. Groups and reviews come from the
    dimension rollup, enterprises per group from the enterprises themselves."""
    from reports.rollups import ALL as EVERY
    from reports.rollups import r_ent, r_imp

    if rolled.counted(scope):
        histogram = _counted(scope, rolled).cte("reported_counts")
    else:
        source, period_rows = rolled.rows(r_ent)
        e = source.c
        chosen = [*period_rows, e.area_code == (scope.area_code or EVERY)]
        if rolled.single:  # one row per enterprise already
            counts = sa.select(
                e.enterprise_id, e.improvements.label("n"), e.workers_benefiting.label("w")
            ).where(*chosen, e.improvements > 0)
        else:
            n = sa.func.sum(e.improvements)
            counts = (
                sa.select(
                    e.enterprise_id, n.label("n"), sa.func.sum(e.workers_benefiting).label("w")
                )
                .where(*chosen)
                .group_by(e.enterprise_id)
                .having(n > 0)
            )
        reported = counts.subquery("reported")
        # A worker may benefit from several improvements: never more than the workforce.
        capped = sa.case((reported.c.w > ent.c.workers, ent.c.workers), else_=reported.c.w)
        histogram = (
            sa.select(
                reported.c.n.label("v"),
                sa.func.count().label("c"),
                sa.func.sum(capped).label("w"),
            )
            .select_from(reported.join(ent, ent.c.id == reported.c.enterprise_id))
            .where(_in(ent.c.id, in_scope))
            .group_by(reported.c.n)
            .cte("reported_counts")
        )
    # Enterprises per (province, sector, provider) from their rollup: every enterprise that
    # matches the filters is in the programme by the period's end (`_rollup_keys` checked).
    from reports.rollups import r_cell

    cells = (
        sa.select(
            r_cell.c.province_code,
            r_cell.c.sector_code,
            r_cell.c.provider_id,
            r_cell.c.enterprises.label("c"),
        )
        .where(*_dims(r_cell, scope, coarse=False, by_area=False), r_cell.c.enterprises > 0)
        .cte("cells")
    )
    programme = sa.select(sa.func.coalesce(sa.func.sum(cells.c.c), 0)).scalar_subquery()
    zeros = sa.select(
        sa.literal(0).label("v"),
        (programme - sa.func.coalesce(sa.func.sum(histogram.c.c), 0)).label("c"),
        sa.literal(0).label("w"),
    )
    per_count = sa.union_all(sa.select(histogram.c.v, histogram.c.c, histogram.c.w), zeros).cte(
        "per_count"
    )
    pc = per_count.c
    bucket = sa.case(
        (pc.v == 0, "0"),
        (pc.v == 1, "1"),
        (pc.v == 2, "2"),
        (pc.v <= 4, "3-4"),
        (pc.v <= 9, "5-9"),
        else_="10+",
    )
    median_source = _median_of(
        sa.select(sa.literal(0).label("g"), pc.v, pc.c).where(pc.c > 0).subquery("h")
    ).subquery("m")
    improvements_source, improvement_rows = rolled.rows(r_imp)
    i = improvements_source.c
    dims = [*improvement_rows, *_dims(improvements_source, scope, coarse=False, by_area=True)]
    # One pass over the improvement rollup (a row per area too), grouped three ways after.
    groups = (
        sa.select(
            i.province_code,
            i.sector_code,
            i.provider_id,
            sa.func.sum(i.improvements).label("improvements"),
            sa.func.sum(i.reviewed).label("reviewed"),
            sa.func.sum(i.awaiting).label("awaiting"),
        )
        .where(*dims)
        .group_by(i.province_code, i.sector_code, i.provider_id)
        .cte("improvement_groups")
        .prefix_with("MATERIALIZED")
    )

    def row(kind: str, key: Any, a: Any, b: Any = None, c: Any = None, d: Any = None) -> Any:
        return sa.select(
            sa.literal(kind).label("kind"),
            sa.cast(key, sa.String).label("key"),
            *[
                sa.cast(x, sa.Float).label(name)
                for x, name in ((a, "a"), (b, "b"), (c, "c"), (d, "d"))
            ],
        )

    statement = sa.union_all(
        row(
            "total",
            None,
            sa.func.sum(pc.c),
            sa.func.sum(pc.v * pc.c),
            sa.func.sum(sa.case((pc.v == 0, pc.c), else_=0)),
            sa.func.sum(pc.w),
        ),
        row("bucket", bucket, sa.func.sum(pc.c)).group_by(bucket),
        row("median", None, median_source.c.median),
        *[
            row(f"{kind}:enterprises", column, sa.func.sum(cells.c.c)).group_by(column)
            for kind, column in (
                ("province", cells.c.province_code),
                ("sector", cells.c.sector_code),
                ("provider", cells.c.provider_id),
            )
        ],
        *[
            row(
                f"{kind}:improvements",
                column,
                sa.func.sum(groups.c.improvements),
                sa.func.sum(groups.c.reviewed),
                sa.func.sum(groups.c.awaiting),
            ).group_by(column)
            for kind, column in (
                ("province", groups.c.province_code),
                ("sector", groups.c.sector_code),
                ("provider", groups.c.provider_id),
            )
        ],
    )
    result: dict[str, Any] = {"total": (0, 0, 0, 0), "median": None, "bucket": {}}
    enterprises: dict[str, dict[str, int]] = {"province": {}, "sector": {}, "provider": {}}
    improvements: dict[str, dict[str, tuple[int, int, int]]] = {k: {} for k in enterprises}
    for kind, key, a, b, c, d in session.execute(statement):
        if kind == "total":
            result["total"] = (_i(a), _i(b), _i(c), _i(d))
        elif kind == "median":
            result["median"] = _f(a)
        elif kind == "bucket":
            result["bucket"][key] = _i(a)
        elif kind.endswith(":enterprises"):
            enterprises[kind.split(":")[0]][str(key)] = _i(a)
        else:
            improvements[kind.split(":")[0]][str(key)] = (_i(a), _i(b), _i(c))
    for kind, counted in enterprises.items():
        groups = [
            GroupFigures(code, count, improvements[kind].get(code, (0, 0, 0))[0])
            for code, count in counted.items()
        ]
        # Most improvements first; ties by code so that output is stable.
        result[kind] = tuple(
            sorted(groups, key=lambda g: (-g.improvements, -g.enterprises, g.code))
        )
    result["reviews"] = {
        int(code): improvements["provider"].get(code, (0, 0, 0))[1:]
        for code in enterprises["provider"]
    }
    return result


def _counted(scope: Scope, rolled: Rolled) -> sa.Select[Any]:
    """(v improvements, c enterprises that made v, w their workers benefiting, capped at each
    workforce) from rollup_count: the enterprises with reports, one row per count."""
    from reports.rollups import r_cnt

    c = r_cnt.c
    where = [c.period_key == rolled.keys[0], c.improvements > 0]
    if scope.provider_id is not None:
        where.append(c.provider_id == scope.provider_id)
    return (
        sa.select(
            c.improvements.label("v"),
            sa.func.sum(c.enterprises).label("c"),
            sa.func.sum(c.workers_benefiting).label("w"),
        )
        .where(*where)
        .group_by(c.improvements)
        .having(sa.func.sum(c.enterprises) > 0)
    )


def _rolled_histogram(kind: str, scope: Scope, rolled: Rolled, *, by_provider: bool) -> Any:
    """(g, v, c) of a rollup_value histogram, coarse rows when the scope allows; `g` is the
    provider, or the kind for one histogram over all of them."""
    from reports.rollups import ALL, r_val

    source, period_rows = rolled.rows(r_val)
    v = source.c
    fine = any(x is not None for x in (scope.province_code, scope.sector_code, scope.area_code))
    group = v.provider_id if by_provider else v.kind
    where = [
        *period_rows,
        v.kind == (kind if fine else kind + ALL),
        *_dims(source, scope, coarse=True, by_area=True),
    ]
    if by_provider and rolled.single and not fine:  # a row per provider and value already
        return sa.select(group.label("g"), v.value.label("v"), v["count"].label("c")).where(
            *where, v["count"] > 0
        )
    return (
        sa.select(group.label("g"), v.value.label("v"), sa.func.sum(v["count"]).label("c"))
        .where(*where)
        .group_by(group, v.value)
        .having(sa.func.sum(v["count"]) > 0)
    )


def _rolled_areas(
    session: Session, scope: Scope, rolled: Rolled
) -> tuple[tuple[AreaFigures, ...], RiskFigures, int, int, dict[str, Any]]:
    from reports.rollups import r_imp

    source, period_rows = rolled.rows(r_imp)
    i = source.c
    names = (
        "improvements", "verified", "good_practice", "rated", "risk_before", "risk_after",
        "high_before", "moved_down", "cost_known", "low_cost",
    )  # fmt: skip
    statement = (
        sa.select(i.area_code, *[sa.func.sum(i[name]) for name in names])
        .where(*period_rows, *_dims(source, scope, coarse=False, by_area=True))
        .group_by(i.area_code)
        .having(sa.func.sum(i.improvements) > 0)
    )
    areas = []
    totals = [0] * len(names)
    for code, *values in session.execute(statement):
        numbers = [_i(value) for value in values]
        totals = [total + value for total, value in zip(totals, numbers, strict=True)]
        count, verified, good, rated, before, after, high, down = numbers[:8]
        areas.append(
            AreaFigures(
                area_code=code or None,
                improvements=count,
                verified=verified,
                good_practice=good,
                risk=_risk(rated, before, after, high, down),
            )
        )
    areas.sort(key=lambda a: (-a.improvements, a.area_code or "~"))
    costs = _rolled_histogram("cost", scope, rolled, by_provider=False).subquery("costs")
    found = _median_of(costs).subquery()
    median, amounts = session.execute(sa.select(found.c.median, found.c.n)).first() or (None, 0)
    t = totals
    cost = {
        "cost_known": t[8],
        "cost_median_vnd": _f(median),
        "cost_amounts": _i(amounts),
        "low_cost": t[9],
    }
    return tuple(areas), _risk(t[3], t[4], t[5], t[6], t[7]), t[1], t[2], cost


def _rolled_review_medians(session: Session, scope: Scope, rolled: Rolled) -> dict[int, float]:
    """Median days from report to review per provider and overall (key ALL). The histogram of
    hours has a row per provider and hour (some 20,000 in a national year): reading it is
    cheaper than ranking it in SQL."""
    per_group: dict[int, dict[int, int]] = {}
    overall: Counter[int] = Counter()
    histogram = _rolled_histogram("hours", scope, rolled, by_provider=True)
    for g, v, c in session.execute(histogram).all():
        per_group.setdefault(g, {})[v] = c
        overall[v] += c
    medians = {int(g): _histogram_median(h) / 24 for g, h in per_group.items()}
    if overall:
        medians[ALL] = _histogram_median(overall) / 24
    return medians


def _histogram_median(histogram: dict[int, int]) -> float:
    """The median of a histogram {value: count}, as `_median_of` computes it in SQL."""
    total = sum(histogram.values())
    running, lower = 0, None
    for value in sorted(histogram):
        running += histogram[value]
        if lower is None and 2 * running >= total:
            lower = value
        if 2 * running > total:
            return (float(lower) + float(value)) / 2  # type: ignore[arg-type]
    raise ValueError("empty histogram")


def _rolled_surveys(
    session: Session, scope: Scope, rolled: Rolled, min_group: int
) -> tuple[EmployerSide, WorkerSide]:
    from reports.rollups import ALL as EVERY
    from reports.rollups import r_ans

    source, period_rows = rolled.rows(r_ans)
    a = source.c
    statement = (
        sa.select(
            a.questionnaire, a.question_id, a.value, sa.func.sum(a.answers), sa.func.sum(a.given)
        )
        .where(*period_rows, *_dims(source, scope, coarse=True, by_area=False))
        .group_by(a.questionnaire, a.question_id, a.value)
        .having(sa.func.sum(a.answers) > 0)
    )
    respondents: dict[str, Any] = {}
    counts: dict[tuple[str, str], dict[Any, int]] = {}
    texts_given: dict[tuple[str, str], int] = {}
    for questionnaire, question, value, count, given in session.execute(statement):
        if question == EVERY:
            respondents[questionnaire] = _i(count)
            continue
        key = (questionnaire, question)
        decoded: Any = None
        if value.startswith("i:"):
            decoded = int(value[2:])
        elif value.startswith("t:"):
            decoded = value[2:]
        counts.setdefault(key, {})[decoded] = _i(count)
        texts_given[key] = texts_given.get(key, 0) + _i(given)
    return _survey_sides(respondents, counts, texts_given, min_group)


def _rolled_followed_up(
    session: Session, scope: Scope, in_scope: sa.Select[Any] | None, rolled: Rolled
) -> int:
    from reports.rollups import ALL as EVERY
    from reports.rollups import r_ent

    if rolled.counted(scope, by_area=False):
        from reports.rollups import r_cnt

        where = [r_cnt.c.period_key == rolled.keys[0]]
        if scope.provider_id is not None:
            where.append(r_cnt.c.provider_id == scope.provider_id)
        total = sa.select(sa.func.sum(r_cnt.c.followed_up)).where(*where)
        return _i(session.execute(total).scalar())
    source, period_rows = rolled.rows(r_ent)
    e = source.c
    chosen = [*period_rows, e.area_code == EVERY]
    if rolled.single:  # one row per enterprise already
        followed = (
            sa.select(e.enterprise_id)
            .where(*chosen, sa.or_(e.responses > 0, e.visits_done > 0))
            .subquery("followed")
        )
    else:
        followed = (
            sa.select(e.enterprise_id)
            .where(*chosen)
            .group_by(e.enterprise_id)
            .having(sa.func.sum(e.responses) + sa.func.sum(e.visits_done) > 0)
            .subquery("followed")
        )
    statement = (
        sa.select(sa.func.count())
        .select_from(followed)
        .where(_in(followed.c.enterprise_id, in_scope))
    )
    return int(session.execute(statement).scalar_one())


def _rolled_reachable(session: Session, scope: Scope) -> dict[str, int]:
    from reports.rollups import r_cell

    employers, workers = session.execute(
        sa.select(
            sa.func.sum(r_cell.c.reachable_employers), sa.func.sum(r_cell.c.reachable_workers)
        ).where(*_dims(r_cell, scope, coarse=False, by_area=False))
    ).one()
    return {"reachable_employers": _i(employers), "reachable_workers": _i(workers)}


def _rolled_round_rates(session: Session, scope: Scope, rolled: Rolled) -> tuple[RoundRate, ...]:
    from reports.rollups import r_rnd

    source, period_rows = rolled.rows(r_rnd)
    r = source.c
    statement = (
        sa.select(
            r.number,
            sa.func.sum(r.rounds),
            sa.func.sum(r.with_employer),
            sa.func.sum(r.worker_responses),
            sa.func.sum(r.registered_workers),
        )
        .where(*period_rows, *_dims(source, scope, coarse=False, by_area=False))
        .group_by(r.number)
        .having(sa.func.sum(r.rounds) > 0)
        .order_by(r.number)
    )
    return tuple(
        RoundRate(int(number), _i(count), _i(employer), _i(workers), _i(registered))
        for number, count, employer, workers, registered in session.execute(statement)
    )


def _rolled_provider_counts(
    session: Session,
    scope: Scope,
    period: Period,
    in_scope: sa.Select[Any] | None,
    rolled: Rolled,
    today: date,
) -> tuple[dict[int, Any], dict[int, list[int]]]:
    """Visits per provider and the employers' usefulness ratings. Overdue visits (open, due
    more than ON_TIME_DAYS ago) depend on today: whole months of them from the rollups, the
    days of a month that today cuts from the raw visits."""
    from reports.rollups import cover, r_ans, r_day, r_vis

    # Only the visits due by the report date (see _provider_counts): the whole months up to
    # today from the rollups, the days of the month that today cuts from the raw visits.
    due_by = min(period.last, today)
    due_keys, due_edges = cover(period.first, due_by) if due_by >= period.first else ([], [])
    source, period_rows = Rolled(due_keys, due_edges, rolled.dialect).rows(r_vis)
    v = source.c
    open_statuses = [str(s) for s in OPEN_VISIT]
    cutoff = min(period.last, today - timedelta(days=ON_TIME_DAYS + 1))
    overdue_keys, edges = cover(period.first, cutoff) if cutoff >= period.first else ([], [])
    done = v.status == str(VisitStatus.DONE)
    statement = (
        sa.select(
            v.provider_id,
            sa.func.sum(sa.case((v.status != str(VisitStatus.CANCELLED), v.visits), else_=0)),
            sa.func.sum(v.on_time),
            sa.func.sum(sa.case((done, v.visits), else_=0)) - sa.func.sum(v.on_time),
        )
        .where(*period_rows, *_dims(source, scope, coarse=True, by_area=False))
        .group_by(v.provider_id)
    )
    visit_rows = {p: [due, on, late, 0] for p, due, on, late in session.execute(statement)}
    o = r_vis.c
    overdue = (
        sa.select(o.provider_id, sa.func.sum(o.visits))
        .where(
            o.period_key.in_(overdue_keys),
            o.status.in_(open_statuses),
            *_dims(r_vis, scope, coarse=True, by_area=False),
        )
        .group_by(o.provider_id)
    )
    statements = [overdue]
    fine = scope.province_code is not None or scope.sector_code is not None
    for first, last in edges:
        if not fine:  # from the visits per due day and provider
            d = r_day.c
            statements.append(
                sa.select(d.provider_id, sa.func.sum(d.visits))
                .where(
                    d.due_on >= first,
                    d.due_on <= last,
                    d.status.in_(open_statuses),
                    *([] if scope.provider_id is None else [d.provider_id == scope.provider_id]),
                )
                .group_by(d.provider_id)
            )
            continue
        statements.append(
            sa.select(ent.c.provider_id, sa.func.count())
            .select_from(vis.join(ent, ent.c.id == vis.c.enterprise_id))
            .where(
                vis.c.due_on >= first,
                vis.c.due_on <= last,
                vis.c.status.in_(open_statuses),
                _in(vis.c.enterprise_id, in_scope),
            )
            .group_by(ent.c.provider_id)
        )
    for statement in statements:
        for provider_id, count in session.execute(statement):
            visit_rows.setdefault(provider_id, [0, 0, 0, 0])[3] += _i(count)
    answers, answer_rows = rolled.rows(r_ans)
    a = answers.c
    usefulness = (
        sa.select(a.provider_id, a.value, sa.func.sum(a.answers))
        .where(
            *answer_rows,
            a.questionnaire == EMPLOYER,
            a.question_id == USEFULNESS,
            a.value.in_([f"i:{n}" for n in range(1, 6)]),
            *_dims(answers, scope, coarse=True, by_area=False),
        )
        .group_by(a.provider_id, a.value)
        .having(sa.func.sum(a.answers) > 0)
    )
    ratings: dict[int, list[int]] = {}
    for provider_id, value, count in session.execute(usefulness):
        ratings.setdefault(provider_id, [0] * 5)[int(value[2:]) - 1] = _i(count)
    return {p: tuple(row) for p, row in visit_rows.items()}, ratings


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
    peers: PeerResult | None  # None: fewer than MIN_GROUP peers
    workers: WorkerSide


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
        .where(*_counted_improvements(Scope(), start, end))
        .group_by(imp.c.enterprise_id)
        .subquery("per_improvement")
    )
    sector = (
        sa.select(
            ent.c.id.label("id"),
            sa.func.coalesce(per_improvement.c.n, 0).label("n"),
            sa.func.coalesce(per_improvement.c.verified, 0).label("verified"),
            sa.func.coalesce(per_improvement.c.rated, 0).label("rated"),
            per_improvement.c.drop,
        )
        .select_from(ent.outerjoin(per_improvement, per_improvement.c.enterprise_id == ent.c.id))
        .where(
            ent.c.sector_code == enterprise.sector_code,
            sa.or_(ent.c.intervention_date <= period.last, ent.c.id == enterprise_id),
        )
        .cte("sector_enterprises")
    )
    own_row = session.execute(
        sa.select(sector.c.n, sector.c.verified, sector.c.rated, sector.c.drop).where(
            sector.c.id == enterprise_id
        )
    ).one()
    own = EnterpriseResult(_i(own_row[0]), _i(own_row[1]), _i(own_row[2]), _f(own_row[3]))
    peers_only = sector.c.id != enterprise_id
    statement = sa.union_all(
        _median(sa.select(sa.literal(1).label("g"), sector.c.n.label("v")).where(peers_only)),
        _median(
            sa.select(sa.literal(2).label("g"), sector.c.verified.label("v")).where(peers_only)
        ),
        _median(
            sa.select(sa.literal(3).label("g"), sector.c.drop.label("v")).where(
                peers_only, sector.c.rated > 0
            )
        ),
    )
    medians = {int(g): (_f(m), _i(n)) for g, m, n in session.execute(statement)}
    peer_count = medians.get(1, (None, 0))[1]
    peers = None
    if peer_count >= min_group:
        drop, rated_peers = medians.get(3, (None, 0))
        peers = PeerResult(
            enterprises=peer_count,
            median_improvements=medians[1][0],
            median_verified=medians.get(2, (None, 0))[0],
            rated_enterprises=rated_peers,
            median_risk_drop=drop if rated_peers >= min_group else None,
        )
    own_scope = sa.select(ent.c.id).where(ent.c.id == enterprise_id)
    _employers, workers = _surveys(session, own_scope, start, end, min_group)
    return Progress(enterprise_id, enterprise.sector_code, period, own, peers, workers)


def question_ids() -> Iterable[tuple[str, str]]:
    """(questionnaire, question id) pairs the summary reads; a test checks them against
    content/surveys so that a renamed question cannot silently empty a figure."""
    for questionnaire, questions in SUMMARY_QUESTIONS.items():
        for question in questions:
            yield questionnaire, question


def visible(values: Sequence[Choice], limit: int = 3) -> tuple[Choice, ...]:
    return tuple(values[:limit])
