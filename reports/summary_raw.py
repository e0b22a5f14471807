"""The summary's figures computed from the raw rows (improvements, answers, visits): exact for any
period, scope and time zone, and what the rollups are tested against."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from models import content
from models.outbox import reachable
from models.tables import (
    ReviewStatus,
    Role,
    VisitStatus,
)
from reports.figures import (
    ALL,
    BENEFITS,
    EMPLOYER,
    GOING_WELL,
    HELPFUL_CHANGE,
    HIGH_RISK,
    IDEAS_ASKED,
    KEPT,
    LESS_TIRING,
    LOW_COST_BANDS,
    LOW_COST_VND,
    OBSTACLE,
    ON_TIME_DAYS,
    OPEN_VISIT,
    RECOMMEND,
    REMAINING,
    SAFER,
    SUMMARY_QUESTIONS,
    SUPPORT_OTHER,
    SUPPORT_WANTED,
    TEXT_QUESTIONS,
    TRAINING,
    USEFULNESS,
    VERIFIED,
    WORKER,
    AreaFigures,
    Choice,
    EmployerSide,
    GroupFigures,
    KindFigures,
    Period,
    ProviderQuality,
    Rating,
    RiskFigures,
    RoundRate,
    Scope,
    WorkerSide,
    YesNo,
    _awaiting,
    _count_if,
    _counted_improvements,
    _effective,
    _f,
    _hours_between,
    _i,
    _in,
    _local_day_on_or_before,
    _median,
    _median_of,
    _no,
    _released,
    _response_complete,
    _reviewed,
    _yes,
    ans,
    con,
    ent,
    imp,
    prov,
    resp,
    rnd,
    vis,
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


def _kinds(
    session: Session,
    scope: Scope,
    in_scope: sa.Select[Any] | None,
    start: datetime,
    end: datetime,
) -> tuple[KindFigures, ...]:
    """Improvements per area and kind, and how many of them were effective (`_effective`), in
    one GROUP BY over the summary's covering index. Read from the improvements for every
    summary, rolled up or not: a few dozen groups, with the same counting rules."""
    statement = (
        sa.select(
            imp.c.area_code,
            imp.c.kind_code,
            sa.func.count(),
            _count_if(_effective()),
        )
        .where(*_counted_improvements(scope, start, end), _in(imp.c.enterprise_id, in_scope))
        .group_by(imp.c.area_code, imp.c.kind_code)
    )
    area_order = {area.code: n for n, area in enumerate(content.areas())}
    found = [
        KindFigures(area, kind, int(count), _i(effective))
        for area, kind, count, effective in session.execute(statement)
    ]
    # Areas in their content order; inside one, most improvements first, "no kind" last.
    found.sort(
        key=lambda k: (
            area_order.get(k.area_code or "", len(area_order)),
            k.kind_code is None,
            -k.improvements,
            k.kind_code or "",
        )
    )
    return tuple(found)


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


def _reachable(session: Session, in_scope: sa.Select[Any] | None) -> dict[str, int]:
    statement = (
        sa.select(con.c.role, sa.func.count())
        .where(
            _in(con.c.enterprise_id, in_scope),
            # Removed people are detached from their enterprise (models/members.py).
            con.c.enterprise_id.is_not(None),
            con.c.role.in_([str(Role.EMPLOYER), str(Role.WORKER)]),
            con.c.erased_at.is_(None),
            con.c.opted_out_at.is_(None),
            # Some channel reaches them: Telegram, Zalo or both (the outbox's own test).
            reachable(),
        )
        .group_by(con.c.role)
    )
    counts: dict[str, int] = dict(session.execute(statement).all())
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


def _surveys(
    session: Session,
    in_scope: sa.Select[Any] | None,
    start: datetime,
    end: datetime,
    min_group: int,
) -> tuple[EmployerSide, WorkerSide]:
    responses = _responses(in_scope, start, end).cte("responses")
    respondents: dict[str, int] = dict(
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
        going_well=texts_given.get((EMPLOYER, GOING_WELL), 0),
        support_wanted=choices(SUPPORT_WANTED),
        support_other=texts_given.get((EMPLOYER, SUPPORT_OTHER), 0),
    )
    workers = WorkerSide(
        respondents=worker_count,
        shown=shown,
        safer=rating(WORKER, SAFER, protect=True),
        less_tiring=rating(WORKER, LESS_TIRING, protect=True),
        ideas_asked=yes_no(WORKER, IDEAS_ASKED, protect=True),
        training=yes_no(WORKER, TRAINING, protect=True),
        remaining_problems=texts_given.get((WORKER, REMAINING), 0) if shown else None,
        helpful_change=texts_given.get((WORKER, HELPFUL_CHANGE), 0) if shown else None,
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
    names: dict[int, str] = dict(session.execute(names_query).all())
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
