"""The summary's figures read from the rollup tables (reports/rollups.py) for the whole months of a
period, with the raw rows of the days at its edges."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.tables import (
    VisitStatus,
)
from reports.figures import (
    ALL,
    EMPLOYER,
    ON_TIME_DAYS,
    OPEN_VISIT,
    USEFULNESS,
    AreaFigures,
    EmployerSide,
    GroupFigures,
    Period,
    RiskFigures,
    RoundRate,
    Scope,
    WorkerSide,
    _f,
    _histogram_median,
    _i,
    _in,
    _median_of,
    ent,
    vis,
)
from reports.rollups import ALL as EVERY
from reports.rollups import (
    ROLLUP_TZ,
    cover,
    edge_rows,
    r_ans,
    r_cell,
    r_cnt,
    r_day,
    r_ent,
    r_imp,
    r_rnd,
    r_val,
    r_vis,
)
from reports.summary_raw import _risk, _survey_sides

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

    conditions: list[Any] = []
    if scope.provider_id is not None:
        conditions.append(table.c.provider_id == scope.provider_id)
    area = by_area and scope.area_code is not None
    if coarse:
        fine = area or scope.province_code is not None or scope.sector_code is not None
        conditions.append(
            (table.c.province_code != EVERY) if fine else (table.c.province_code == EVERY)
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
        figures = [
            GroupFigures(code, count, improvements[kind].get(code, (0, 0, 0))[0])
            for code, count in counted.items()
        ]
        # Most improvements first; ties by code so that output is stable.
        result[kind] = tuple(
            sorted(figures, key=lambda g: (-g.improvements, -g.enterprises, g.code))
        )
    result["reviews"] = {
        int(code): improvements["provider"].get(code, (0, 0, 0))[1:]
        for code in enterprises["provider"]
    }
    return result


def _counted(scope: Scope, rolled: Rolled) -> sa.Select[Any]:
    """(v improvements, c enterprises that made v, w their workers benefiting, capped at each
    workforce) from rollup_count: the enterprises with reports, one row per count."""

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

    source, period_rows = rolled.rows(r_val)
    v = source.c
    fine = any(x is not None for x in (scope.province_code, scope.sector_code, scope.area_code))
    group = v.provider_id if by_provider else v.kind
    where = [
        *period_rows,
        v.kind == (kind if fine else kind + EVERY),
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


def _rolled_surveys(
    session: Session, scope: Scope, rolled: Rolled, min_group: int
) -> tuple[EmployerSide, WorkerSide]:

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

    if rolled.counted(scope, by_area=False):
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

    employers, workers = session.execute(
        sa.select(
            sa.func.sum(r_cell.c.reachable_employers), sa.func.sum(r_cell.c.reachable_workers)
        ).where(*_dims(r_cell, scope, coarse=False, by_area=False))
    ).one()
    return {"reachable_employers": _i(employers), "reachable_workers": _i(workers)}


def _rolled_round_rates(session: Session, scope: Scope, rolled: Rolled) -> tuple[RoundRate, ...]:

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
