"""Rollups of the follow-up summary: counts and sums per programme-time period and dimension.

The summary of a year over a national programme would otherwise read a million improvements and
two million survey answers; from these tables it reads a few thousand rows (and one row per
enterprise for the per-enterprise figures). Every rollup row belongs to a month ("2027-03"), a
quarter ("2027-Q1") and a year ("2027") of the programme time zone, so that any whole-month
period is covered by a handful of keys (`cover`).

One source of truth for what a row contributes: for each rollup table, `_sources` gives SELECTs
over the raw rows grouped by month. The rebuild runs them over every row (then sums months into
quarters and years); the incremental path runs the very same SELECTs restricted to the rows a
flush or a bulk UPDATE touches, before and after the write, and adds the difference, in the same
transaction as the write. So rebuild and incremental agree by construction, and a test checks it.

Why session events rather than calls from the domain functions: the rows that feed the summary
are written from many places (reports, reviews, paper imports, survey answers, visits, enterprise
edits, tests and the demo that add rows directly), some through the unit of work and some through
ORM-enabled bulk UPDATE/DELETE. `before_flush`/`after_flush` and `do_orm_execute` see all of
them, so a new write path cannot forget the rollups. Writes that bypass the ORM session (raw
DBAPI bulk loads such as bench/summary.py, or hand-written SQL) must be followed by
`rebuild(session)` (`oshbot db rebuild-rollups`).

Rollups are kept in Asia/Ho_Chi_Minh (`ROLLUP_TZ`), the programme's zone; a summary asked in
another zone reads the raw rows.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction

from models.outbox import reachable as reachable_by_some_channel
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    Role,
    RollupAnswer,
    RollupCell,
    RollupCount,
    RollupEnterprise,
    RollupImprovement,
    RollupRound,
    RollupValue,
    RollupVisit,
    RollupVisitDay,
    SurveyAnswer,
    SurveyResponse,
    SurveyRound,
    Visit,
    VisitStatus,
)
from reports.figures import (
    COUNTED,
    EMPLOYER,
    HIGH_RISK,
    LOW_COST_BANDS,
    LOW_COST_VND,
    ON_TIME_DAYS,
    SUMMARY_QUESTIONS,
    TEXT_QUESTIONS,
    VERIFIED,
    WORKER,
    _awaiting,
    _hours_between,
    _local_day_on_or_before,
    _no,
    _released,
    _response_complete,
    _reviewed,
    _yes,
)

ROLLUP_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ALL = "*"
# Questions whose answers are rolled up (reports/summary_rolled.py reads these and no others).
SCALE_QUESTIONS = ("usefulness", "safer", "less_tiring")

imp = Improvement.__table__  # type: ignore[attr-defined]
ent = Enterprise.__table__  # type: ignore[attr-defined]
rnd = SurveyRound.__table__  # type: ignore[attr-defined]
resp = SurveyResponse.__table__  # type: ignore[attr-defined]
ans = SurveyAnswer.__table__  # type: ignore[attr-defined]
vis = Visit.__table__  # type: ignore[attr-defined]
con = Contact.__table__  # type: ignore[attr-defined]
r_ent = RollupEnterprise.__table__  # type: ignore[attr-defined]
r_imp = RollupImprovement.__table__  # type: ignore[attr-defined]
r_val = RollupValue.__table__  # type: ignore[attr-defined]
r_ans = RollupAnswer.__table__  # type: ignore[attr-defined]
r_rnd = RollupRound.__table__  # type: ignore[attr-defined]
r_vis = RollupVisit.__table__  # type: ignore[attr-defined]
r_cell = RollupCell.__table__  # type: ignore[attr-defined]
r_day = RollupVisitDay.__table__  # type: ignore[attr-defined]
r_cnt = RollupCount.__table__  # type: ignore[attr-defined]
TABLES = (r_ent, r_imp, r_val, r_ans, r_rnd, r_vis, r_cell, r_day, r_cnt)


def _keys(table: sa.Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _values(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns if not c.primary_key]


# -- periods ---------------------------------------------------------------------------------


def month_keys(month: str) -> tuple[str, str, str]:
    """'2027-03' -> ('2027-03', '2027-Q1', '2027'): every key a month's rows count under."""
    year, number = month[:4], int(month[5:7])
    return month, f"{year}-Q{(number - 1) // 3 + 1}", year


def cover(first: date, last: date) -> tuple[list[str], list[tuple[date, date]]]:
    """Period keys of the whole years, quarters and months inside first..last (inclusive),
    fewest first, and the day ranges at the edges that no whole month covers."""
    keys: list[str] = []
    edges: list[tuple[date, date]] = []
    day = first
    while day <= last:
        month_end = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        if day.day != 1 or month_end > last:
            edge_end = min(month_end, last)
            edges.append((day, edge_end))
            day = edge_end + timedelta(days=1)
            continue
        if day.month == 1 and date(day.year, 12, 31) <= last:
            keys.append(str(day.year))
            day = date(day.year + 1, 1, 1)
            continue
        quarter_end_month = day.month + 2
        if (day.month - 1) % 3 == 0:
            quarter_end = date(
                day.year, quarter_end_month, calendar.monthrange(day.year, quarter_end_month)[1]
            )
            if quarter_end <= last:
                keys.append(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
                day = quarter_end + timedelta(days=1)
                continue
        keys.append(f"{day.year}-{day.month:02d}")
        day = month_end + timedelta(days=1)
    return keys, edges


# -- what the raw rows contribute, per month -------------------------------------------------


def _month(dialect: str, moment: Any) -> Any:
    """The programme-time month ('2027-03') of a UTC timestamp column."""
    if dialect == "sqlite":
        offset = int(
            (datetime(2000, 1, 1, tzinfo=ROLLUP_TZ).utcoffset() or timedelta()).total_seconds()
        )
        # Whole seconds first: SQLite's date functions round to milliseconds, which could carry
        # 23:59:59.9999 into the next month, while the summary compares the stored text.
        return sa.func.strftime(
            "%Y-%m", sa.func.substr(moment, 1, 19), f"{offset // 60:+d} minutes"
        )
    return sa.func.to_char(sa.func.timezone(ROLLUP_TZ.key, moment), "YYYY-MM")


def _day_month(dialect: str, day: Any) -> Any:
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m", day)
    return sa.func.to_char(day, "YYYY-MM")


def _count_if(condition: Any) -> Any:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _sum(value: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(value), 0)


def _value_key() -> Any:
    """The answer as the summary groups it: 'i:<n>' on scale questions, 't:<text>' otherwise
    (yes/no spellings folded, free text never kept), '' for nothing."""

    text = sa.case(
        (ans.c.question_id.in_(TEXT_QUESTIONS), sa.literal(None, sa.String)),
        (_yes(), sa.literal("yes")),
        (_no(), sa.literal("no")),
        else_=ans.c.value_text,
    )
    scale = sa.case((ans.c.question_id.in_(SCALE_QUESTIONS), ans.c.value_int))
    return sa.case(
        (scale.is_not(None), sa.literal("i:") + sa.cast(scale, sa.String)),
        (text.is_not(None), sa.literal("t:") + text),
        else_=sa.literal(""),
    )


def _sources(
    dialect: str, subject: str, where: Any, due: Any = None
) -> list[tuple[sa.Table, sa.Select[Any]]]:
    """(rollup table, SELECT of its key and value columns at month grain) for the raw rows of
    `subject` ("improvement", "round" or "visit") matching `where` (visits by their due day:
    `due`, when given)."""

    zero = sa.literal(0)
    if subject == "improvement":
        month = _month(dialect, imp.c.submitted_at).label("period_key")
        base = imp.join(ent, ent.c.id == imp.c.enterprise_id)
        counted = sa.and_(
            imp.c.submitted_at.is_not(None), imp.c.status.in_([str(s) for s in COUNTED]), where
        )
        w = sa.func.coalesce(imp.c.workers_benefiting, 0)

        def per_enterprise(area: Any, *extra: Any) -> sa.Select[Any]:
            return (
                sa.select(
                    month,
                    area.label("area_code"),
                    imp.c.enterprise_id,
                    sa.func.count().label("improvements"),
                    _sum(w).label("workers_benefiting"),
                    _count_if(_reviewed()).label("reviewed"),
                    _count_if(_awaiting()).label("awaiting"),
                    zero.label("responses"),
                    zero.label("visits_done"),
                )
                .where(counted, *extra)
                .group_by(month, area, imp.c.enterprise_id)
            )

        rated = sa.and_(imp.c.risk_before_score.is_not(None), imp.c.risk_after_score.is_not(None))
        high = sa.and_(rated, imp.c.risk_before_score >= HIGH_RISK)
        area = sa.func.coalesce(imp.c.area_code, "")
        dims = (ent.c.provider_id, ent.c.province_code, ent.c.sector_code)
        improvement = (
            sa.select(
                month,
                *dims,
                area.label("area_code"),
                sa.func.count().label("improvements"),
                _count_if(imp.c.status.in_([str(s) for s in VERIFIED])).label("verified"),
                _count_if(imp.c.status == "good_practice").label("good_practice"),
                _count_if(_reviewed()).label("reviewed"),
                _count_if(_awaiting()).label("awaiting"),
                _count_if(rated).label("rated"),
                _sum(sa.case((rated, imp.c.risk_before_score))).label("risk_before"),
                _sum(sa.case((rated, imp.c.risk_after_score))).label("risk_after"),
                _count_if(high).label("high_before"),
                _count_if(sa.and_(high, imp.c.risk_after_score < HIGH_RISK)).label("moved_down"),
                _count_if(sa.or_(imp.c.cost_vnd.is_not(None), imp.c.cost_band.is_not(None))).label(
                    "cost_known"
                ),
                _count_if(
                    sa.or_(
                        imp.c.cost_vnd < LOW_COST_VND,
                        sa.and_(imp.c.cost_vnd.is_(None), imp.c.cost_band.in_(LOW_COST_BANDS)),
                    )
                ).label("low_cost"),
            )
            .select_from(base)
            .where(counted)
            .group_by(month, *dims, area)
        )

        def histogram(kind: str, value: Any, condition: Any, fine: bool) -> sa.Select[Any]:
            if fine:
                keys = [ent.c.province_code, ent.c.sector_code, area]
            else:
                keys = [sa.literal(ALL), sa.literal(ALL), sa.literal(ALL)]
            return (
                sa.select(
                    month,
                    sa.literal(kind + ("" if fine else ALL)).label("kind"),
                    ent.c.provider_id,
                    keys[0].label("province_code"),
                    keys[1].label("sector_code"),
                    keys[2].label("area_code"),
                    value.label("value"),
                    sa.func.count().label("count"),
                )
                .select_from(base)
                .where(counted, condition)
                .group_by(month, ent.c.provider_id, *keys[: 3 if fine else 0], value)
            )

        hours = sa.cast(
            _hours_between(dialect, imp.c.submitted_at, imp.c.reviewed_at), sa.BigInteger
        )
        costed = imp.c.cost_vnd.is_not(None)
        return [
            (r_ent, per_enterprise(sa.literal(ALL))),
            (r_ent, per_enterprise(imp.c.area_code, imp.c.area_code.is_not(None))),
            (r_imp, improvement),
            *[
                (r_val, histogram(kind, value, condition, fine))
                for kind, value, condition in (
                    ("cost", imp.c.cost_vnd, costed),
                    ("hours", hours, _reviewed()),
                )
                for fine in (True, False)
            ],
        ]
    if subject == "round":
        month = _month(dialect, rnd.c.opened_at).label("period_key")
        complete = sa.and_(_response_complete(), where)
        responses = (
            sa.select(
                month,
                sa.literal(ALL).label("area_code"),
                rnd.c.enterprise_id,
                zero.label("improvements"),
                zero.label("workers_benefiting"),
                zero.label("reviewed"),
                zero.label("awaiting"),
                sa.func.count().label("responses"),
                zero.label("visits_done"),
            )
            .select_from(resp.join(rnd, rnd.c.id == resp.c.round_id))
            .where(complete)
            .group_by(month, rnd.c.enterprise_id)
        )
        questions = [q for qs in SUMMARY_QUESTIONS.values() for q in qs]

        given = sa.and_(
            ans.c.question_id.in_(TEXT_QUESTIONS),
            sa.func.length(sa.func.trim(ans.c.value_text)) > 0,
        )
        value = _value_key()
        surveyed = resp.join(rnd, rnd.c.id == resp.c.round_id).join(
            ent, ent.c.id == rnd.c.enterprise_id
        )
        # Answers count only from released units (reports/figures.py, `_released`): a unit
        # changes the rollups once, when it is released, by at least MIN_GROUP responses.
        mine = sa.and_(complete, resp.c.questionnaire.in_([EMPLOYER, WORKER]), _released())

        def answers(fine: bool) -> list[sa.Select[Any]]:
            keys = [ent.c.province_code, ent.c.sector_code] if fine else [sa.literal(ALL)] * 2
            group = [month, ent.c.provider_id, *keys[: 2 if fine else 0], resp.c.questionnaire]
            head = [
                month,
                ent.c.provider_id,
                keys[0].label("province_code"),
                keys[1].label("sector_code"),
                resp.c.questionnaire,
            ]
            return [
                sa.select(
                    *head,
                    ans.c.question_id,
                    value.label("value"),
                    sa.func.count().label("answers"),
                    _count_if(given).label("given"),
                )
                .select_from(surveyed.join(ans, ans.c.response_id == resp.c.id))
                .where(mine, ans.c.question_id.in_(questions))
                .group_by(*group, ans.c.question_id, value),
                sa.select(
                    *head,
                    sa.literal(ALL).label("question_id"),
                    sa.literal("").label("value"),
                    sa.func.count().label("answers"),
                    zero.label("given"),
                )
                .select_from(surveyed)
                .where(mine)
                .group_by(*group),
            ]

        per_round = (
            sa.select(
                resp.c.round_id,
                _count_if(resp.c.questionnaire == EMPLOYER).label("employers"),
                _count_if(resp.c.questionnaire == WORKER).label("workers"),
            )
            .where(_response_complete(), resp.c.round_id.is_not(None))
            .group_by(resp.c.round_id)
            .subquery("per_round")
        )
        registered = (
            sa.select(con.c.enterprise_id, sa.func.count().label("workers"))
            .where(
                con.c.role == str(Role.WORKER),
                con.c.erased_at.is_(None),
                con.c.enterprise_id.in_(sa.select(rnd.c.enterprise_id).where(where)),
            )
            .group_by(con.c.enterprise_id)
            .subquery("registered")
        )
        dims = (ent.c.provider_id, ent.c.province_code, ent.c.sector_code)
        rounds = (
            sa.select(
                month,
                *dims,
                rnd.c.number,
                sa.func.count().label("rounds"),
                _count_if(per_round.c.employers > 0).label("with_employer"),
                _sum(per_round.c.workers).label("worker_responses"),
                _sum(registered.c.workers).label("registered_workers"),
            )
            .select_from(
                rnd.join(ent, ent.c.id == rnd.c.enterprise_id)
                .outerjoin(per_round, per_round.c.round_id == rnd.c.id)
                .outerjoin(registered, registered.c.enterprise_id == rnd.c.enterprise_id)
            )
            .where(where)
            .group_by(month, *dims, rnd.c.number)
        )
        return [
            (r_ent, responses),
            *[(r_ans, s) for s in answers(True) + answers(False)],
            (r_rnd, rounds),
        ]
    if subject == "visit":
        done = sa.and_(vis.c.status == str(VisitStatus.DONE), vis.c.done_at.is_not(None))
        done_month = _month(dialect, vis.c.done_at).label("period_key")
        visited = (
            sa.select(
                done_month,
                sa.literal(ALL).label("area_code"),
                vis.c.enterprise_id,
                *[zero.label(n) for n in ("improvements", "workers_benefiting", "reviewed")],
                zero.label("awaiting"),
                zero.label("responses"),
                sa.func.count().label("visits_done"),
            )
            .where(done, where)
            .group_by(done_month, vis.c.enterprise_id)
        )
        due_month = _day_month(dialect, vis.c.due_on).label("period_key")
        at = datetime(2000, 1, 1, tzinfo=ROLLUP_TZ)  # the zone's offset (fixed in Viet Nam)
        on_time = sa.and_(
            done,
            _local_day_on_or_before(
                dialect, vis.c.done_at, vis.c.due_on, ON_TIME_DAYS, ROLLUP_TZ, at
            ),
        )
        by_due = where if due is None else due
        joined = vis.join(ent, ent.c.id == vis.c.enterprise_id)

        def visits(fine: bool) -> sa.Select[Any]:
            dims = [ent.c.province_code, ent.c.sector_code] if fine else [sa.literal(ALL)] * 2
            return (
                sa.select(
                    due_month,
                    ent.c.provider_id,
                    dims[0].label("province_code"),
                    dims[1].label("sector_code"),
                    vis.c.status,
                    sa.func.count().label("visits"),
                    _count_if(on_time).label("on_time"),
                )
                .select_from(joined)
                .where(by_due)
                .group_by(due_month, ent.c.provider_id, *dims[: 2 if fine else 0], vis.c.status)
            )

        days = (
            sa.select(
                vis.c.due_on,
                ent.c.provider_id,
                vis.c.status,
                sa.func.count().label("visits"),
            )
            .select_from(joined)
            .where(by_due)
            .group_by(vis.c.due_on, ent.c.provider_id, vis.c.status)
        )
        return [(r_ent, visited), (r_vis, visits(True)), (r_vis, visits(False)), (r_day, days)]
    if subject == "cell":
        # Some channel reaches them (the outbox's own test), as the raw summary counts them.
        reachable = sa.and_(
            con.c.erased_at.is_(None), con.c.opted_out_at.is_(None), reachable_by_some_channel()
        )
        reach = (
            sa.select(
                con.c.enterprise_id,
                _count_if(sa.and_(reachable, con.c.role == str(Role.EMPLOYER))).label("e"),
                _count_if(sa.and_(reachable, con.c.role == str(Role.WORKER))).label("w"),
            )
            .where(con.c.enterprise_id.in_(sa.select(ent.c.id).where(where)))
            .group_by(con.c.enterprise_id)
            .subquery("reach")
        )
        dims = (ent.c.provider_id, ent.c.province_code, ent.c.sector_code)
        cells = (
            sa.select(
                *dims,
                sa.func.count().label("enterprises"),
                _sum(reach.c.e).label("reachable_employers"),
                _sum(reach.c.w).label("reachable_workers"),
            )
            .select_from(ent.outerjoin(reach, reach.c.enterprise_id == ent.c.id))
            .where(where)
            .group_by(*dims)
        )
        return [(r_cell, cells)]
    raise ValueError(subject)


SUBJECTS = {"improvement": imp, "round": rnd, "visit": vis, "cell": ent}


def edge_rows(dialect: str, table: sa.Table, edges: list[tuple[date, date]]) -> list[Any]:
    """Rows shaped like `table`'s (same columns, same order, month keys), aggregated from the
    raw rows of the given programme-time day ranges: the edges of a period that no whole month
    covers. The same SELECTs as the rollups themselves, so the figures add up exactly."""
    found = []
    for first, last in edges:
        start = datetime.combine(first, time(), ROLLUP_TZ).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(), ROLLUP_TZ).astimezone(UTC)
        for subject, moment in (
            ("improvement", imp.c.submitted_at),
            ("round", rnd.c.opened_at),
            ("visit", vis.c.done_at),
        ):
            due = vis.c.due_on.between(first, last) if subject == "visit" else None
            within = sa.and_(moment >= start, moment < end)
            for target, select in _sources(dialect, subject, within, due):
                if target is table:
                    rows = select.subquery()
                    found.append(sa.select(*[rows.c[c.name] for c in table.columns]))
    return found


# -- rebuild ---------------------------------------------------------------------------------


def rebuild(session: Session) -> dict[str, int]:
    """Recomputes every rollup from the raw rows; returns the rows per table."""
    connection = session.connection()
    dialect = connection.dialect.name
    for table in TABLES:
        connection.execute(table.delete())
    by_table: dict[str, list[sa.Select[Any]]] = {}
    for subject in SUBJECTS:
        for table, select in _sources(dialect, subject, sa.true()):
            by_table.setdefault(table.name, []).append(select)
    for table in TABLES:
        selects = by_table.get(table.name, [])
        if not selects:
            continue
        keys, values = _keys(table), _values(table)
        union = sa.union_all(*selects).subquery("source")
        months = sa.select(
            *[union.c[k] for k in keys], *[sa.func.sum(union.c[v]) for v in values]
        ).group_by(*[union.c[k] for k in keys])
        connection.execute(table.insert().from_select(keys + values, months))
        if "period_key" not in table.c:
            continue
        key = table.c.period_key
        is_month = sa.func.substr(key, 6, 1) != "Q"
        quarter = (
            sa.func.substr(key, 1, 4)
            + "-Q"
            + sa.cast((sa.cast(sa.func.substr(key, 6, 2), sa.Integer) + 2) // 3, sa.String)
        )
        for coarser in (quarter, sa.func.substr(key, 1, 4)):
            rest = [table.c[k] for k in keys if k != "period_key"]
            rolled = (
                sa.select(coarser, *rest, *[sa.func.sum(table.c[v]) for v in values])
                .where(sa.func.length(key) == 7, is_month)
                .group_by(coarser, *rest)
            )
            connection.execute(table.insert().from_select(keys + values, rolled))
    connection.execute(
        r_cnt.insert().from_select(_keys(r_cnt) + _values(r_cnt), _counts(sa.true()))
    )
    counts = {}
    for table in TABLES:
        counts[table.name] = int(
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        )
    return counts


# -- enterprises per number of improvements ---------------------------------------------------
# rollup_count is a rollup of rollup_enterprise's all-area rows: each enterprise counts once per
# period key, under the number of improvements it made then. That is not a sum over raw rows,
# so it is not kept by snapshots of them like the other tables. Instead the upsert into
# rollup_enterprise returns each row's new values, the old ones are the new minus the change
# just added (exact even when two transactions report for the same enterprise at once: the row
# lock orders them), and the enterprise moves from its old count to its new one. Enterprises
# whose provider or workforce changes are snapshotted before and after instead.

STATE_FIELDS = ("improvements", "workers_benefiting", "responses", "visits_done")


def _counts(where: Any) -> sa.Select[Any]:
    """rollup_count's rows for the enterprises matching `where`, from rollup_enterprise."""
    e = r_ent.c
    reported = e.improvements > 0
    followed = sa.or_(e.responses > 0, e.visits_done > 0)
    capped = sa.case(
        (e.workers_benefiting > ent.c.workers, ent.c.workers), else_=e.workers_benefiting
    )
    return (
        sa.select(
            e.period_key,
            ent.c.provider_id,
            e.improvements,
            sa.func.count().label("enterprises"),
            _sum(sa.case((reported, capped), else_=0)).label("workers_benefiting"),
            _count_if(followed).label("followed_up"),
        )
        .select_from(r_ent.join(ent, ent.c.id == e.enterprise_id))
        .where(e.area_code == ALL, sa.or_(reported, followed), where)
        .group_by(e.period_key, ent.c.provider_id, e.improvements)
    )


def _count(
    found: Counter[Any],
    period_key: str,
    provider_id: int,
    workers: int | None,
    state: Any,
    sign: int,
) -> None:
    """Adds (sign 1) or removes (-1) one enterprise's row of `_counts`."""
    improvements, benefiting, responses, visits_done = state
    followed = responses > 0 or visits_done > 0
    if improvements <= 0 and not followed:
        return
    key = (period_key, provider_id, improvements)
    found[(r_cnt.name, key, "enterprises")] += sign
    if improvements > 0:
        capped = workers if workers is not None and benefiting > workers else benefiting
        found[(r_cnt.name, key, "workers_benefiting")] += sign * capped
    if followed:
        found[(r_cnt.name, key, "followed_up")] += sign


def _count_snapshot(connection: sa.Connection, enterprises: set[int]) -> Counter[Any]:
    found: Counter[Any] = Counter()
    if enterprises:
        select = _counts(r_ent.c.enterprise_id.in_(sorted(enterprises)))
        for row in connection.execute(select).mappings():
            key = (row["period_key"], row["provider_id"], row["improvements"])
            for value in _values(r_cnt):
                found[(r_cnt.name, key, value)] += int(row[value])
    return found


# -- incremental -----------------------------------------------------------------------------


def _snapshot(connection: sa.Connection, ids: dict[str, set[int]]) -> Counter[Any]:
    """What the raw rows with these ids contribute now, at every period key."""
    dialect = connection.dialect.name
    found: Counter[Any] = Counter()
    for subject, chosen in ids.items():
        if not chosen:
            continue
        id_column = SUBJECTS[subject].c.id
        for table, select in _sources(dialect, subject, id_column.in_(sorted(chosen))):
            keys, values = _keys(table), _values(table)
            periodic = keys[0] == "period_key"
            for row in connection.execute(select).mappings():
                rest = tuple(row[k] for k in (keys[1:] if periodic else keys))
                for period_key in month_keys(row["period_key"]) if periodic else [None]:
                    key = (period_key, *rest) if periodic else rest
                    for value in values:
                        if row[value]:
                            found[(table.name, key, value)] += int(row[value])
    return found


def _apply(
    connection: sa.Connection,
    delta: Counter[Any],
    moved: set[int] | None = None,
    moved_before: Counter[Any] | None = None,
) -> None:
    """Adds `delta` to the rollups, and keeps rollup_count: from the rollup_enterprise rows it
    changes, and for the `moved` enterprises (provider or workforce changed) as their snapshot
    now minus `moved_before`."""
    rows: dict[str, dict[tuple[Any, ...], dict[str, int]]] = {}
    for (name, key, value), change in delta.items():
        if change:
            rows.setdefault(name, {}).setdefault(key, {})[value] = change
    moved = moved or set()
    changing = {key[2] for key in rows.get(r_ent.name, {}) if key[1] == ALL} - moved
    workforce = (
        {
            e_id: (provider, workers)
            for e_id, provider, workers in connection.execute(
                sa.select(ent.c.id, ent.c.provider_id, ent.c.workers).where(
                    ent.c.id.in_(sorted(changing))
                )
            )
        }
        if changing
        else {}
    )
    counts: Counter[Any] = Counter()
    tables = {t.name: t for t in TABLES}
    # Tables and rows always in the same order (rollup_count last), so that two transactions
    # adding to the same rollup rows on PostgreSQL wait for each other instead of deadlocking.
    for name in sorted(rows):
        keyed = dict(sorted(rows[name].items(), key=lambda item: tuple(map(str, item[0]))))
        table = tables[name]
        keys, values = _keys(table), _values(table)
        statement = _upsert(connection, table)
        params = [
            {**dict(zip(keys, key, strict=True)), **{v: changes.get(v, 0) for v in values}}
            for key, changes in keyed.items()
        ]
        if table is not r_ent or not changing:
            connection.execute(statement, params)
            continue
        for row in connection.execute(statement.returning(*r_ent.c), params).mappings():
            e_id = row["enterprise_id"]
            if row["area_code"] != ALL or e_id not in workforce:
                continue
            added = keyed[(row["period_key"], ALL, e_id)]
            new = [row[f] for f in STATE_FIELDS]
            old = [value - added.get(f, 0) for f, value in zip(STATE_FIELDS, new, strict=True)]
            provider, workers = workforce[e_id]
            _count(counts, row["period_key"], provider, workers, old, -1)
            _count(counts, row["period_key"], provider, workers, new, 1)
    if moved:
        counts.update(_count_snapshot(connection, moved))
        counts.subtract(moved_before or Counter())
    changed = {key: c for key, c in counts.items() if c}
    if changed:
        by_key: dict[tuple[Any, ...], dict[str, int]] = {}
        for (_name, key, value), change in changed.items():
            by_key.setdefault(key, {})[value] = change
        connection.execute(
            _upsert(connection, r_cnt),
            [
                {
                    **dict(zip(_keys(r_cnt), key, strict=True)),
                    **{v: c.get(v, 0) for v in _values(r_cnt)},
                }
                for key, c in sorted(by_key.items(), key=lambda item: tuple(map(str, item[0])))
            ],
        )


def _upsert(connection: sa.Connection, table: sa.Table) -> Any:
    insert = (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)
    return insert.on_conflict_do_update(
        index_elements=_keys(table),
        set_={v: table.c[v] + insert.excluded[v] for v in _values(table)},
    )


def _affected(connection: sa.Connection, objects: Iterable[Any]) -> dict[str, set[int]]:
    """Ids of the raw rows whose contribution the given objects may change."""
    improvements, visits, rounds, responses, enterprises = set(), set(), set(), set(), set()
    workplaces: set[Any] = set()
    for obj in objects:
        if isinstance(obj, Improvement):
            improvements.add(obj.id)
        elif isinstance(obj, Visit):
            visits.add(obj.id)
        elif isinstance(obj, SurveyRound):
            rounds.add(obj.id)
        elif isinstance(obj, SurveyResponse):
            rounds.add(obj.round_id)
            responses.add(obj.id)
        elif isinstance(obj, SurveyAnswer):
            responses.add(obj.response_id)
        elif isinstance(obj, Enterprise):
            enterprises.add(obj.id)
        elif isinstance(obj, Contact):
            # A worker registered or erased changes the registered workers of its rounds and
            # the reachable contacts of its enterprise.
            workplaces.add(obj.enterprise_id)
            if obj.id is not None:
                workplaces.update(
                    e
                    for (e,) in connection.execute(
                        sa.select(con.c.enterprise_id).where(con.c.id == obj.id)
                    )
                )
    workplaces.discard(None)
    if workplaces:
        rounds.update(
            r
            for (r,) in connection.execute(
                sa.select(rnd.c.id).where(rnd.c.enterprise_id.in_(sorted(workplaces)))
            )
        )
    ids = _ids(connection, improvements, visits, rounds, responses, enterprises)
    ids["cell"].update(workplaces)
    return ids


def _ids(
    connection: sa.Connection,
    improvements: set[Any],
    visits: set[Any],
    rounds: set[Any],
    responses: set[Any],
    enterprises: set[Any],
) -> dict[str, set[int]]:
    ids = {"improvement": improvements, "visit": visits, "round": rounds, "cell": set(enterprises)}
    responses.discard(None)
    if responses:
        rounds.update(
            r
            for (r,) in connection.execute(
                sa.select(resp.c.round_id).where(resp.c.id.in_(sorted(responses)))
            )
        )
    enterprises.discard(None)
    if enterprises:
        chosen = sorted(enterprises)
        for subject, table in SUBJECTS.items():
            if subject == "cell":
                continue
            ids[subject].update(
                i
                for (i,) in connection.execute(
                    sa.select(table.c.id).where(table.c.enterprise_id.in_(chosen))
                )
            )
    for found in ids.values():
        found.discard(None)
    return ids


WATCHED = (Improvement, Visit, SurveyRound, SurveyResponse, SurveyAnswer, Enterprise, Contact)
CONTACT_FIELDS = (
    "role",
    "erased_at",
    "enterprise_id",
    "telegram_user_id",
    "opted_out_at",
    # What `models.outbox.reachable` reads: a channel linked, refused or reached again.
    "chat_id",
    "unreachable_at",
    "zalo_user_id",
    "zalo_unreachable_at",
)
STATE = "rollup_pending"


def _before_flush(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    touched = [
        o
        for o in (*session.new, *session.dirty, *session.deleted)
        if isinstance(o, WATCHED)
        # An enterprise counts under its provider, province and sector; nothing else of it.
        # (and a new or removed one is one enterprise more or less in its cell).
        and not (isinstance(o, Enterprise) and o in session.dirty and not _dims_changed(o))
        and not (isinstance(o, Contact) and o in session.dirty and not _contact_changed(o))
    ]
    moved = {
        o.id
        for o in (*session.dirty, *session.deleted)
        if isinstance(o, Enterprise)
        and o.id is not None
        and (o in session.deleted or _count_changed(o))
    }
    if not touched and not moved:
        return
    with session.no_autoflush:
        connection = session.connection()
        # New rows have no id yet, but the round a new answer or response belongs to
        # already counts: its contribution before the flush is part of the difference.
        existing = _affected(connection, touched)
        before = _snapshot(connection, existing)
        moved_before = _count_snapshot(connection, moved)
    session.info[STATE] = (touched, existing, before, moved, moved_before)


def _dims_changed(enterprise: Enterprise) -> bool:
    state = sa.inspect(enterprise)
    return state.deleted or any(
        state.attrs[name].history.has_changes()
        for name in ("provider_id", "province_code", "sector_code")
    )


def _count_changed(enterprise: Enterprise) -> bool:
    """Changes that move an enterprise in rollup_count: its provider or its workforce (the cap
    on the workers benefiting)."""
    state = sa.inspect(enterprise)
    return any(state.attrs[name].history.has_changes() for name in ("provider_id", "workers"))


def _contact_changed(contact: Contact) -> bool:
    state = sa.inspect(contact)
    return state.deleted or any(state.attrs[n].history.has_changes() for n in CONTACT_FIELDS)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    pending = session.info.pop(STATE, None)
    if pending is None:
        return
    touched, existing, before, moved, moved_before = pending
    connection = session.connection()
    ids = _affected(connection, touched)
    for subject, chosen in existing.items():
        ids[subject] |= chosen
    after = _snapshot(connection, ids)
    after.subtract(before)
    _apply(connection, after, moved, moved_before)


def _bulk_write(state: Any) -> Any:
    """ORM-enabled UPDATE/DELETE statements (`sa.update(Improvement)...`) skip the flush:
    snapshot the rows they match before and after."""
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return None
    model = state.bind_mapper.class_
    if model not in WATCHED:
        return None
    table = model.__table__
    session = state.session
    if session.autoflush and (session.new or session.dirty or session.deleted):
        # The statement would autoflush these first, inside the before/after snapshots below,
        # and their change would be added twice (once by the flush, once here).
        session.flush()
    connection = session.connection()
    where = state.statement.whereclause
    column = table.c.id
    if model is SurveyAnswer:
        column = table.c.response_id
    elif model is Contact:
        column = table.c.enterprise_id
    select = sa.select(column) if where is None else sa.select(column).where(where)
    matched = {i for (i,) in connection.execute(select)}
    if not matched:
        return None
    empty: set[Any] = set()
    ids = _ids(
        connection,
        matched if model is Improvement else set(),
        matched if model is Visit else set(),
        matched if model is SurveyRound else set(),
        matched if model in (SurveyResponse, SurveyAnswer) else set(),
        matched if model is Enterprise else empty,
    )
    if model is Contact:
        ids["cell"].update(matched - {None})
        ids["round"].update(
            r
            for (r,) in connection.execute(
                sa.select(rnd.c.id).where(rnd.c.enterprise_id.in_(sorted(matched - {None})))
            )
        )
    before = _snapshot(connection, ids)
    moved = matched - {None} if model is Enterprise else set()
    moved_before = _count_snapshot(connection, moved)
    result = state.invoke_statement()
    after = _snapshot(connection, ids)
    after.subtract(before)
    _apply(connection, after, moved, moved_before)
    return result


def install() -> None:
    """Keeps the rollups in step with every write made through a session. Called where the
    database is set up (models/db.py `Database`), so that every process and every channel has
    it without importing the bot; idempotent."""
    for name, listener in (
        ("before_flush", _before_flush),
        ("after_flush", _after_flush),
        ("do_orm_execute", _bulk_write),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
