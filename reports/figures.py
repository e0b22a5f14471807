"""What a follow-up summary is made of: periods, scopes, the figures as frozen dataclasses, the
rules every figure shares (what counts, what is released) and the SQL building blocks that the raw
(reports/summary_raw.py) and the rolled-up (reports/summary_rolled.py) computations both use.

It imports neither of them, nor reports/rollups.py, which builds its rollups from the same rules.
"""

from __future__ import annotations

import calendar
import re
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
# What is going well and what support is wanted (issue 16): the employer's "going well" text,
# the support wanted (choices, and "other" as text), and the worker's change that helped most.
GOING_WELL = "going_well"
SUPPORT_WANTED = "support_wanted"
SUPPORT_OTHER = "support_wanted_other"
HELPFUL_CHANGE = "helpful_change"
TEXT_QUESTIONS = (REMAINING, GOING_WELL, SUPPORT_OTHER, HELPFUL_CHANGE)
SUMMARY_QUESTIONS = {
    EMPLOYER: (
        USEFULNESS, BENEFITS, OBSTACLE, KEPT, RECOMMEND, GOING_WELL, SUPPORT_WANTED,
        SUPPORT_OTHER,
    ),
    WORKER: (SAFER, LESS_TIRING, IDEAS_ASKED, TRAINING, REMAINING, HELPFUL_CHANGE),
}  # fmt: skip
# The free texts staff may read (the export's "going well and support wanted" sheet): worker
# texts only from released units, like every worker answer.
VOICE_QUESTIONS = {
    EMPLOYER: (GOING_WELL, SUPPORT_WANTED, SUPPORT_OTHER),
    WORKER: (HELPFUL_CHANGE,),
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
class KindFigures:
    """Improvements of one kind inside one technical area (content/kinds.toml)."""

    area_code: str | None  # None: no area given
    kind_code: str | None  # None: no kind given ("Other / skip", or reported before kinds)
    improvements: int
    effective: int  # verified, or rated lower risk after than before (`_effective`)


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
    going_well: int = 0  # employers who wrote what is going well
    support_wanted: tuple[Choice, ...] = ()  # further support wanted, most cited first
    support_other: int = 0  # wrote another kind of support they want


@dataclass(frozen=True)
class WorkerSide:
    respondents: int
    shown: bool  # False: fewer than MIN_GROUP respondents, nothing broken down
    safer: Rating
    less_tiring: Rating
    ideas_asked: YesNo
    training: YesNo
    remaining_problems: int | None  # how many named a problem that remains (None: withheld)
    helpful_change: int | None = None  # named the change that helped most (None: withheld)


@dataclass(frozen=True)
class PlanFigures:
    """The action plans made at the training (models/plans.py): items due in the period, and
    those carried out, done or found still in use. An item found no longer in use is planned
    and not carried out."""

    planned: int = 0
    completed: int = 0

    @property
    def completion(self) -> float | None:
        return self.completed / self.planned if self.planned else None


@dataclass(frozen=True)
class RevisitFigures:
    """What staff found at revisits in the period (models/visit_checks.py): improvements and
    plan items checked, each once by its latest check, and how many were in use; and the
    improvements whose risk staff verified against the enterprise's own rating."""

    checked: int = 0
    in_use: int = 0
    partly: int = 0
    no_longer: int = 0
    risk_checked: int = 0
    risk_agreed: int = 0
    risk_higher: int = 0
    risk_lower: int = 0
    # New improvements staff saw at visits (counted among the verified ones too), and employer
    # surveys taken down at visits for owners who do not use the chat (among the employers).
    seen: int = 0
    assisted: int = 0

    @property
    def in_use_share(self) -> float | None:
        return self.in_use / self.checked if self.checked else None


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
    plan: PlanFigures = field(default_factory=PlanFigures)
    kinds: tuple[KindFigures, ...] = ()  # per area (content order), most improvements first
    revisits: RevisitFigures = field(default_factory=RevisitFigures)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (dates as ISO text), with the derived shares."""
        data = _plain(asdict(self))
        data["improvements"]["low_cost_share"] = self.improvements.low_cost_share
        data["risk"]["share_moved_down"] = self.risk.share_moved_down
        data["plan"]["completion"] = self.plan.completion
        data["revisits"]["in_use_share"] = self.revisits.in_use_share
        for area, area_figures in zip(data["areas"], self.areas, strict=True):
            area["risk"]["share_moved_down"] = area_figures.risk.share_moved_down
        for rate, round_rate in zip(data["rounds"], self.rounds, strict=True):
            rate["employer_rate"] = round_rate.employer_rate
            rate["worker_rate"] = round_rate.worker_rate
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


def _effective() -> ColumnElement[bool]:
    """An effective improvement: verified (or a good practice) by the provider, or rated both
    times with a lower risk after than before."""
    return sa.or_(
        imp.c.status.in_([str(s) for s in VERIFIED]),
        sa.and_(
            imp.c.risk_before_score.is_not(None),
            imp.c.risk_after_score.is_not(None),
            imp.c.risk_after_score < imp.c.risk_before_score,
        ),
    )


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


def _yes() -> ColumnElement[bool]:
    return sa.or_(ans.c.value_int == 1, sa.func.lower(ans.c.value_text).in_(YES_TEXTS))


def _no() -> ColumnElement[bool]:
    return sa.or_(ans.c.value_int == 0, sa.func.lower(ans.c.value_text).in_(NO_TEXTS))


def _reviewed() -> ColumnElement[bool]:
    return sa.and_(imp.c.reviewed_at.is_not(None), imp.c.status.in_([str(s) for s in VERIFIED]))


def _awaiting() -> ColumnElement[bool]:
    return sa.and_(imp.c.status == str(ReviewStatus.SUBMITTED), imp.c.reviewed_at.is_(None))


ALL = -1  # the key of the programme-wide median among the per-provider ones


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
