"""The follow-up summary against a small programme whose every figure was counted by hand.

The programme (period 2027-Q1 unless a test says otherwise; Viet Nam is UTC+7):

provider P1 (Đà Nẵng): E1 wood/da-nang 10 workers, E2 garment/da-nang 50, E3 wood/hue 8
                        (trained 10/01/2027), E5 wood/da-nang trained 01/05/2027 (not yet in Q1)
provider P2 (Cần Thơ):  E4 metal/can-tho 20 workers, no reports at all

improvements (UTC submission time -> local day)
  i1 E1 verified   2027-01-05 storage  cost 0          4 workers  risk 9->2  reviewed +24 h
  i2 E1 good pr.   2027-02-10 storage  cost 500.000    5 workers  risk 6->3  reviewed +72 h
  i3 E1 submitted  03-31 16:59Z = 31/03 23:59  machine  2.000.000  6 workers  risk 6->6
  i4 E1 submitted  03-31 18:00Z = 01/04 01:00  machine  (April, outside Q1)
  i5 E1 draft, i6 E1 withdrawn                            (never counted)
  i7 E2 verified   2027-01-20 workstation band under_1m 20 workers risk 4->2  reviewed +48 h
  i8 E2 submitted  2026-12-31 18:00Z = 01/01/2027 environment 1.000.000, risk 6->? (unrated)
  i9 E3 verified   2027-03-01 no area  cost 300.000   3 workers  no risk      reviewed +12 h
  i10 E5 submitted 2027-03-01                        (E5 not in the programme in Q1)
"""

from __future__ import annotations

from datetime import date

import pytest

from models.content import questionnaire
from models.db import Database
from models.tables import (
    Enterprise,
    Improvement,
    Provider,
    ReviewStatus,
    Visit,
    VisitStatus,
)
from reports.figures import (
    AreaFigures,
    Bucket,
    Choice,
    GroupFigures,
    PeriodError,
    Rating,
    RiskFigures,
    RoundRate,
    Scope,
    YesNo,
    parse_period,
    relative_period,
)
from reports.summary import build_summary, enterprise_progress, question_ids
from tests.factories import TODAY, TZ, at, seed, summarise

# -- periods ---------------------------------------------------------------------------------


def test_periods_parse_and_cover_whole_local_days() -> None:
    q1 = parse_period("2027-q1")
    assert (q1.first, q1.last, q1.label) == (date(2027, 1, 1), date(2027, 3, 31), "2027-Q1")
    assert q1.bounds(TZ) == (at("2026-12-31T17:00:00"), at("2027-03-31T17:00:00"))
    assert parse_period("2027-02").last == date(2027, 2, 28)
    assert parse_period("2028-02").last == date(2028, 2, 29)
    assert parse_period("2027").last == date(2027, 12, 31)
    span = parse_period("2027-01-15..2027-02-14")
    assert (span.first, span.last) == (date(2027, 1, 15), date(2027, 2, 14))
    wrong_periods = ("2027-13", "2027-Q5", "2027-02-10..2027-01-01", "March", "2027-02-30..03-01")
    for wrong in wrong_periods:
        with pytest.raises(PeriodError):
            parse_period(wrong)


def test_relative_periods_follow_today() -> None:
    today = date(2027, 1, 15)
    assert relative_period("this_month", today).label == "2027-01"
    assert relative_period("last_month", today).label == "2026-12"
    assert relative_period("this_quarter", today).label == "2027-Q1"
    assert relative_period("this_year", today).label == "2027"


def test_summary_reads_questions_that_exist() -> None:
    for questionnaire_id, question in question_ids():
        found = questionnaire(questionnaire_id)
        assert found is not None
        assert question in {q.id for q in found.questions}, (questionnaire_id, question)


# -- the whole programme ---------------------------------------------------------------------


def test_enterprise_and_improvement_figures(database: Database) -> None:
    seed(database)
    summary = summarise(database)
    e = summary.enterprises
    # E5 is trained after Q1; E4 made no report; E1, E2 answered surveys, E3 had a visit.
    assert (e.in_programme, e.followed_up, e.without_reports) == (4, 3, 1)
    # Reachable: employers of E1, E2, E4 (E2's second was erased); workers of E1 (one
    # unreachable, one opted out are left out) and E2's four. E5's worker is out of scope.
    assert (e.reachable_employers, e.reachable_workers) == (3, 5)
    i = summary.improvements
    assert (i.total, i.verified, i.good_practice) == (6, 4, 1)
    # Per enterprise 3, 2, 1, 0: median (1 + 2) / 2.
    assert i.per_enterprise_median == 1.5
    assert i.distribution == (
        Bucket("0", 1),
        Bucket("1", 1),
        Bucket("2", 1),
        Bucket("3-4", 1),
        Bucket("5-9", 0),
        Bucket("10+", 0),
    )
    # Amounts 0, 300.000, 500.000, 1.000.000, 2.000.000 (+ one band only): median 500.000.
    assert (i.cost_known, i.cost_median_vnd) == (6, 500_000)
    # Under 1 million: 0, 500.000, 300.000 and the under_1m band; 1.000.000 is not under.
    assert (i.low_cost, i.low_cost_share) == (4, 4 / 6)
    # E1 reports 4 + 5 + 6 = 15 beneficiaries of a 10-person workforce: 10, + 20 + 3.
    assert i.workers_benefiting == 33


def test_risk_reduction_with_counts(database: Database) -> None:
    seed(database)
    summary = summarise(database)
    # Rated: i1 9->2, i2 6->3, i3 6->6, i7 4->2. High before: i1, i2, i3; down: i1, i2.
    assert summary.risk == RiskFigures(4, 25 / 4, 13 / 4, 3, 2)
    assert summary.risk.share_moved_down == 2 / 3
    assert summary.areas == (
        AreaFigures("storage", 2, 2, 1, RiskFigures(2, 7.5, 2.5, 2, 2)),
        AreaFigures("environment", 1, 0, 0, RiskFigures(0, None, None, 0, 0)),
        AreaFigures("machine", 1, 0, 0, RiskFigures(1, 6.0, 6.0, 1, 0)),
        AreaFigures("workstation", 1, 1, 0, RiskFigures(1, 4.0, 2.0, 0, 0)),
        AreaFigures(None, 1, 1, 0, RiskFigures(0, None, None, 0, 0)),
    )


def test_breakdowns_by_province_and_sector(database: Database) -> None:
    seed(database)
    summary = summarise(database)
    assert summary.provinces == (
        GroupFigures("da-nang", 2, 5),
        GroupFigures("hue", 1, 1),
        GroupFigures("can-tho", 1, 0),
    )
    assert summary.sectors == (
        GroupFigures("wood", 2, 4),
        GroupFigures("garment", 1, 2),
        GroupFigures("metal", 1, 0),
    )


def test_employers_and_workers_side_by_side(database: Database) -> None:
    seed(database)
    summary = summarise(database)
    employers = summary.employers
    assert employers.respondents == 2  # round 2 of E2 opened on 01/04 in Viet Nam
    assert employers.usefulness == Rating(2, 3.0, (0, 1, 0, 1, 0))
    assert employers.benefits == (Choice("tidier", 2), Choice("less_fatigue", 1))
    assert employers.obstacles == (Choice("money", 1), Choice("time", 1))
    assert employers.kept == (Choice("partly", 1), Choice("yes", 1))
    assert employers.recommend == YesNo(2, 1)
    workers = summary.workers
    # Three complete worker responses (an unfinished one does not count).
    assert (workers.respondents, workers.shown) == (3, True)
    assert workers.safer == Rating(3, 4.0, (0, 0, 1, 1, 1))
    assert workers.less_tiring == Rating(3, 3.0, (0, 1, 1, 1, 0))
    assert workers.ideas_asked == YesNo(3, 1)
    assert workers.training == YesNo(3, 2)
    assert workers.remaining_problems == 2


def test_response_rates_per_round(database: Database) -> None:
    seed(database)
    # Round 1 of E1, E2, E4 opened in Q1; employers answered in E1 and E2; 3 of the 7 worker
    # contacts of those enterprises answered (E1 has 3, E2 has 4, E4 none).
    assert summarise(database).rounds == (RoundRate(1, 3, 2, 3, 7),)
    assert summarise(database).rounds[0].worker_rate == 3 / 7


def test_service_quality_per_provider(database: Database) -> None:
    programme = seed(database)
    p1, p2 = summarise(database).providers
    assert (p1.provider_id, p1.enterprises, p1.improvements) == (programme.p1, 3, 6)
    # Due in Q1 and not cancelled: 5. On time: 24/01 local (due 10/01 + 14) and E3's visit;
    # the one done at 00:30 on 16/02 local is a day late; 20/02 is overdue by 10/04.
    assert (p1.visits_due, p1.visits_on_time, p1.visits_late, p1.visits_overdue) == (5, 2, 1, 1)
    # Reviews after 12, 24, 48 and 72 hours: median 36 hours.
    assert (p1.reviewed, p1.review_median_days, p1.awaiting_review) == (4, 1.5, 2)
    assert p1.usefulness == Rating(2, 3.0, (0, 1, 0, 1, 0))
    assert summarise(database).review_median_days == 1.5
    assert (p2.provider_id, p2.enterprises, p2.improvements, p2.visits_due) == (
        programme.p2,
        1,
        0,
        0,
    )
    assert (p2.review_median_days, p2.usefulness.n) == (None, 0)


# -- scopes, filters, suppression and periods ------------------------------------------------


def test_staff_scope_is_one_provider(database: Database) -> None:
    programme = seed(database)
    summary = summarise(database, provider_id=programme.p2)
    assert (summary.enterprises.in_programme, summary.enterprises.without_reports) == (1, 1)
    assert (summary.improvements.total, summary.improvements.per_enterprise_median) == (0, 0.0)
    assert [p.provider_id for p in summary.providers] == [programme.p2]
    assert summary.employers.respondents == 0 and summary.risk.rated == 0


def test_province_sector_and_area_filters(database: Database) -> None:
    seed(database)
    hue = summarise(database, province_code="hue")
    assert (hue.enterprises.in_programme, hue.improvements.total) == (1, 1)
    storage = summarise(database, area_code="storage")
    assert (storage.improvements.total, storage.enterprises.without_reports) == (2, 3)
    assert storage.improvements.per_enterprise_median == 0.0
    assert storage.risk == RiskFigures(2, 7.5, 2.5, 2, 2)
    wood = summarise(database, sector_code="wood")
    assert (wood.enterprises.in_programme, wood.improvements.total) == (2, 4)


def test_worker_answers_of_two_are_suppressed_and_of_three_shown(database: Database) -> None:
    seed(database)
    three = summarise(database).workers
    assert three.shown and three.safer.mean == 4.0
    two = summarise(database, sector_code="wood").workers  # E1's two workers only
    assert (two.respondents, two.shown) == (2, False)
    assert two.safer == Rating(2, None, (0, 0, 0, 0, 0), shown=False)
    assert two.ideas_asked == YesNo(2, None, shown=False) and two.ideas_asked.share_yes is None
    assert two.remaining_problems is None
    one = summarise(database, sector_code="garment").workers
    assert (one.respondents, one.shown, one.less_tiring.mean) == (1, False, None)
    # Employers are not anonymous: their single answer is shown.
    assert summarise(database, sector_code="garment").employers.usefulness.mean == 2.0


def test_a_report_sent_at_01_00_on_1_april_in_viet_nam_counts_in_april(database: Database) -> None:
    seed(database)
    march, april = summarise(database, "2027-03"), summarise(database, "2027-04")
    assert march.improvements.total == 2  # i3 (23:59 on 31/03) and i9
    assert april.improvements.total == 1  # i4, sent 2027-03-31T18:00Z
    assert [a.area_code for a in april.areas] == ["machine"]
    # The survey round opened at the same instant belongs to April too.
    assert (march.employers.respondents, april.employers.respondents) == (1, 1)
    assert april.employers.usefulness.mean == 5.0
    # E5, trained on 01/05, is not in the programme in April.
    assert april.enterprises.in_programme == 4
    span = summarise(database, "2027-03-31..2027-04-01")
    assert span.improvements.total == 2


def test_empty_programme_gives_zeros_not_errors(database: Database) -> None:
    summary = summarise(database)
    assert summary.enterprises.in_programme == 0
    assert summary.improvements.per_enterprise_median is None
    assert summary.improvements.low_cost_share is None
    assert summary.risk.share_moved_down is None
    assert summary.providers == ()


def test_json_form_carries_every_figure(database: Database) -> None:
    seed(database)
    data = summarise(database).as_dict()
    assert data["period"] == {"first": "2027-01-01", "last": "2027-03-31", "label": "2027-Q1"}
    assert data["improvements"]["low_cost_share"] == 4 / 6
    assert data["risk"]["share_moved_down"] == 2 / 3
    assert data["rounds"][0]["worker_rate"] == 3 / 7
    assert data["workers"]["safer"]["mean"] == 4.0


# -- an enterprise beside its peers ----------------------------------------------------------


def test_progress_shows_own_results_and_hides_peers_under_three(database: Database) -> None:
    programme = seed(database)
    with database.session() as session:
        progress = enterprise_progress(
            session, enterprise_id=programme.e1, period=parse_period("2027-Q1"), tz=TZ
        )
    assert (progress.own.improvements, progress.own.verified, progress.own.rated) == (3, 2, 3)
    assert progress.own.mean_risk_drop == pytest.approx(10 / 3)
    # Wood peers in Q1: only E3 (E5 is trained later): no peer figure can be shown.
    assert progress.peers is None
    assert progress.workers.respondents == 2 and not progress.workers.shown


def test_progress_compares_with_the_sector_median(database: Database) -> None:
    programme = seed(database)
    with database.session() as session:
        e1 = session.get(Enterprise, programme.e1)
        assert e1 is not None
        for name, count in (("Mộc A", 4), ("Mộc B", 2), ("Mộc C", 5)):
            peer = Enterprise(
                provider_id=programme.p2,
                name=name,
                sector_code="wood",
                province_code="can-tho",
                workers=9,
                intervention_date=date(2026, 1, 1),
            )
            session.add(peer)
            session.flush()
            for index in range(count):
                session.add(
                    Improvement(
                        enterprise_id=peer.id,
                        status=ReviewStatus.VERIFIED,
                        submitted_at=at(f"2027-02-{index + 1:02d}T03:00:00"),
                        area_code="storage",
                        risk_before_score=6,
                        risk_after_score=6 - (index % 3),
                    )
                )
    with database.session() as session:
        progress = enterprise_progress(
            session, enterprise_id=programme.e1, period=parse_period("2027-Q1"), tz=TZ
        )
    peers = progress.peers
    assert peers is not None
    # Peers: E3 with 1, and 4, 2, 5: median (2 + 4) / 2 = 3; verified the same.
    assert (peers.enterprises, peers.median_improvements, peers.median_verified) == (4, 3.0, 3.0)
    # Mean drops: A (0+1+2+0)/4 = .75, B (0+1)/2 = .5, C (0+1+2+0+1)/5 = .8; E3 rated none.
    assert peers.rated_enterprises == 3
    assert peers.median_risk_drop == pytest.approx(0.75)


def test_progress_compares_with_the_province_median_of_any_sector(database: Database) -> None:
    """Peers in the province: every other enterprise there trained by the period's end,
    whatever its sector; the median of their counts (here 1, 2 and 6: 2), none named."""
    with database.session() as session:
        provider = Provider(name="Trung tâm Huế", province_code="hue")
        session.add(provider)
        session.flush()

        def enterprise(sector: str, province: str, trained: date, reports: int) -> int:
            row = Enterprise(
                provider_id=provider.id,
                name=f"{sector}-{province}-{reports}",
                sector_code=sector,
                province_code=province,
                workers=10,
                intervention_date=trained,
            )
            session.add(row)
            session.flush()
            for index in range(reports):
                session.add(
                    Improvement(
                        enterprise_id=row.id,
                        status=ReviewStatus.SUBMITTED,
                        submitted_at=at(f"2027-02-{index + 1:02d}T03:00:00"),
                        area_code="storage",
                    )
                )
            assert row.id is not None
            return row.id

        own = enterprise("wood", "hue", date(2026, 6, 1), 3)
        for sector, reports in (("garment", 1), ("food", 2), ("metal", 6)):
            enterprise(sector, "hue", date(2026, 6, 1), reports)
        enterprise("garment", "da-nang", date(2026, 6, 1), 10)  # another province
        enterprise("food", "hue", date(2027, 6, 1), 0)  # trained after the period
    with database.session() as session:
        progress = enterprise_progress(
            session, enterprise_id=own, period=parse_period("2027-Q1"), tz=TZ
        )
    assert progress.own.improvements == 3
    assert progress.peers is None  # no other wood enterprise
    province = progress.province_peers
    assert province is not None
    assert (province.enterprises, province.median_improvements) == (3, 2.0)
    assert progress.province_code == "hue"


# -- counts that say what they were computed from --------------------------------------------


@pytest.mark.parametrize("rollups", [True, False])
def test_the_cost_median_comes_with_the_number_of_amounts_behind_it(
    database: Database, rollups: bool
) -> None:
    seed(database)
    with database.session() as session:
        summary = build_summary(
            session, period=parse_period("2027-Q1"), scope=Scope(), tz=TZ, today=TODAY,
            rollups=rollups,
        )  # fmt: skip
    i = summary.improvements
    # Six reports gave a cost, but i7 only as a band: the median is of five amounts.
    assert (i.cost_known, i.cost_amounts, i.cost_median_vnd) == (6, 5, 500_000)
    from reports.text import summary_text

    text = summary_text(summary, "vi", None)
    assert "trung vị 500.000 đ (trên 5 khoản chi phí có số tiền)" in text


@pytest.mark.parametrize("rollups", [True, False])
def test_revisits_due_are_those_due_by_the_report_date(database: Database, rollups: bool) -> None:
    programme = seed(database)
    with database.session() as session:
        for due, status in (
            (date(2027, 4, 5), VisitStatus.PLANNED),  # due before the report date (10/04)
            (date(2027, 4, 25), VisitStatus.PLANNED),  # later this month: not due yet
            (date(2027, 9, 1), VisitStatus.PLANNED),  # later this year
            (date(2027, 12, 1), VisitStatus.DONE),  # done early: still not due
        ):
            done = at("2027-03-02T03:00:00") if status == VisitStatus.DONE else None
            session.add(Visit(enterprise_id=programme.e1, due_on=due, status=status,
                              done_at=done))  # fmt: skip

    def providers(period: str) -> dict[int, tuple[int, int, int, int]]:
        with database.session() as session:
            summary = build_summary(
                session, period=parse_period(period), scope=Scope(), tz=TZ, today=TODAY,
                rollups=rollups,
            )  # fmt: skip
        return {
            p.provider_id: (p.visits_due, p.visits_on_time, p.visits_late, p.visits_overdue)
            for p in summary.providers
        }

    # The year: Q1's five and 05/04 for P1, nothing of the rest of the year.
    year = providers("2027")
    assert year[programme.p1] == (6, 2, 1, 1)
    assert year[programme.p2] == (1, 1, 0, 0)  # E4's visit of 01/04, done the next day
    # April, cut by the report date on the 10th: only 05/04 for P1.
    april = providers("2027-04")
    assert april[programme.p1] == (1, 0, 0, 0)
    # A period that ended before the report date counts all of it.
    assert providers("2027-Q1")[programme.p1] == (5, 2, 1, 1)
