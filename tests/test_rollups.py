"""The summary from the rollups equals the summary from the raw rows, on random programmes.

A seeded generator writes a programme through the ORM (so the rollups are kept incrementally,
as in production), then changes it the ways the bot does: submissions, reviews and withdrawals
through models/improvements.py, bulk UPDATE/DELETE statements, a survey response completed
after its answers, an enterprise moved to another provider and province, workforces shrunk,
workers erased.
Every figure of every summary is compared, for many periods, scopes and filters; and the
rollups kept incrementally equal the ones rebuilt from the raw rows.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from models.audience import SME_ROLES, Audience, count
from models.db import Database
from models.improvements import Review, review, withdraw
from models.programme import mark_zalo_reachable, mark_zalo_unreachable
from models.surveys import release
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
from reports.figures import Scope, parse_period
from reports.rollups import TABLES, cover, rebuild
from reports.summary import build_summary
from reports.summary_rolled import _rollup_keys
from tests.conftest import POSTGRES

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AREAS = ["storage", "workstation", "machine", "environment", None]
PROVINCES = ["ha-noi", "hue", "can-tho"]
SECTORS = ["wood", "garment", "metal"]
STATUSES = list(ReviewStatus)
PERIODS = [
    "2027",
    "2027-Q1",
    "2027-Q4",
    "2027-03",
    "2027-12",
    "2027-02-01..2027-07-31",
    # Days inside months: whole months from the rollups, the edge days from the raw rows.
    "2027-01-15..2027-02-14",
    "2027-03-10..2027-03-20",
    "2027-02-15..2027-11-10",
]
SCOPES = [
    {},
    {"provider_id": 1},
    {"province_code": "hue"},
    {"sector_code": "wood"},
    {"area_code": "storage"},
    {"province_code": "ha-noi", "area_code": "machine"},
    {"provider_id": 2, "sector_code": "garment"},
]


def moment(rng: random.Random) -> datetime:
    """A time in 2027, often right at a month's edge in Viet Nam (17:00 UTC the day before)."""
    if rng.random() < 0.25:
        month = rng.randrange(1, 13)
        edge = datetime(2027, month, 1, tzinfo=TZ).astimezone(UTC)
        return edge + rng.choice(
            [timedelta(microseconds=-1), timedelta(0), timedelta(seconds=-1), timedelta(hours=1)]
        )
    return datetime(2027, 1, 1, tzinfo=UTC) + timedelta(
        minutes=rng.randrange(0, 365 * 24 * 60), microseconds=rng.randrange(0, 10**6)
    )


def generate(database: Database, seed: int) -> None:
    rng = random.Random(seed)
    with database.session() as session:
        providers = [Provider(name=f"P{i}", province_code=PROVINCES[i % 3]) for i in range(3)]
        session.add_all(providers)
        session.flush()
        coordinator = Contact(telegram_user_id=1, chat_id=1, role=Role.COORDINATOR)
        session.add(coordinator)
        enterprises = []
        for i in range(12):
            enterprise = Enterprise(
                provider_id=providers[i % 3].id,
                name=f"E{i}",
                sector_code=rng.choice(SECTORS),
                province_code=rng.choice(PROVINCES),
                workers=rng.randrange(1, 30),
                intervention_date=date(2026, rng.randrange(1, 13), 1),
            )
            session.add(enterprise)
            enterprises.append(enterprise)
        session.flush()
        reporters = {}
        for enterprise in enterprises:
            for n in range(rng.randrange(0, 5)):
                role = Role.EMPLOYER if n == 0 else Role.WORKER
                user = rng.randrange(10**6, 10**9)
                person = Contact(
                    telegram_user_id=user, chat_id=user, role=role, enterprise_id=enterprise.id
                )
                session.add(person)
                session.flush()
                reporters.setdefault(enterprise.id, person)
        for _ in range(150):
            enterprise = rng.choice(enterprises)
            status = rng.choice(STATUSES)
            submitted = moment(rng)
            before = rng.choice([None, 1, 2, 3, 4, 6, 9])
            cost = rng.choice([None, 0, 300_000, 999_999, 1_000_000, 2_500_000])
            session.add(
                Improvement(
                    enterprise_id=enterprise.id,
                    reporter_id=getattr(reporters.get(enterprise.id), "id", None),
                    area_code=rng.choice(AREAS),
                    cost_vnd=cost,
                    cost_band=rng.choice([None, "free", "under_1m", "1m_5m"]),
                    workers_benefiting=rng.choice([None, 1, 5, 40]),
                    risk_before_score=before,
                    risk_after_score=rng.choice([None, 1, 2, 4, 6]) if before else None,
                    status=status,
                    submitted_at=None if status == ReviewStatus.DRAFT else submitted,
                    reviewed_at=(
                        submitted + timedelta(minutes=rng.choice([30, 90, 150, 1440, 4000]))
                        if status in (ReviewStatus.VERIFIED, ReviewStatus.GOOD_PRACTICE)
                        else None
                    ),
                )
            )
        session.flush()
        rounds = []
        for enterprise in enterprises:
            for number in range(1, rng.randrange(1, 4)):
                survey_round = SurveyRound(
                    enterprise_id=enterprise.id, number=number, opened_at=moment(rng)
                )
                session.add(survey_round)
                session.flush()
                rounds.append(survey_round)
        for survey_round in rounds:
            for _ in range(rng.randrange(0, 6)):
                employer = rng.random() < 0.3
                complete = rng.random() < 0.8
                response = SurveyResponse(
                    round_id=survey_round.id,
                    questionnaire="employer" if employer else "worker",
                    complete=complete,
                    completed_at=moment(rng) if complete and employer else None,
                    # Worker answers count only once released (models/surveys.py).
                    released=employer or rng.random() < 0.5,
                )
                session.add(response)
                session.flush()
                answers: list[tuple[str, int | None, str | None]]
                if employer:
                    answers = [
                        ("usefulness", rng.choice([None, 1, 3, 5]), None),
                        ("recommend", None, rng.choice(["yes", "No", "TRUE", None])),
                        ("main_obstacle", None, rng.choice(["money", "time", "none"])),
                        ("improvements_kept", None, rng.choice(["yes", "partly"])),
                    ]
                    answers += [("benefits", None, b) for b in rng.sample(["a", "b", "c"], 2)]
                else:
                    answers = [
                        ("safer", rng.choice([1, 2, 4, 5]), None),
                        ("less_tiring", rng.choice([None, 3, 4]), None),
                        ("ideas_asked", rng.choice([None, 0, 1]), rng.choice([None, "yes"])),
                        ("training_this_year", None, rng.choice(["yes", "no", "0"])),
                        ("remaining_problem", None, rng.choice([None, "  ", "Bụi"])),
                    ]
                for question, value_int, value_text in answers:
                    session.add(
                        SurveyAnswer(
                            response_id=response.id,
                            question_id=question,
                            value_int=value_int,
                            value_text=value_text,
                        )
                    )
                session.flush()
        for _ in range(60):
            due = date(2027, 1, 1) + timedelta(days=rng.randrange(0, 365))
            status = rng.choice(list(VisitStatus))
            session.add(
                Visit(
                    enterprise_id=rng.choice(enterprises).id,
                    due_on=due,
                    status=status,
                    done_at=(
                        datetime.combine(due, datetime.min.time(), UTC)
                        + timedelta(hours=rng.randrange(-48, 24 * 30))
                        if status == VisitStatus.DONE
                        else None
                    ),
                )
            )


def change(database: Database, seed: int) -> None:
    """What happens to a programme after its rows are written."""
    rng = random.Random(seed + 1)
    now = datetime(2027, 6, 1, 3, tzinfo=UTC)
    with database.session() as session:
        coordinator = session.execute(
            sa.select(Contact).where(Contact.role == Role.COORDINATOR)
        ).scalar_one()
        waiting = session.execute(
            sa.select(Improvement).where(Improvement.status == ReviewStatus.SUBMITTED)
        ).scalars()
        for improvement in list(waiting)[:20]:
            assert improvement.id is not None
            if improvement.reporter_id is not None and rng.random() < 0.3:
                reporter = session.get(Contact, improvement.reporter_id)
                assert reporter is not None
                withdraw(session, improvement.id, reporter=reporter, now=now)
            else:
                decision = rng.choice(list(Review))
                review(session, improvement.id, reviewer=coordinator, decision=decision, now=now)
        # Bulk statements, as the domain modules write them.
        session.execute(
            sa.update(Improvement)
            .where(Improvement.status == ReviewStatus.DRAFT)
            .values(status=ReviewStatus.SUBMITTED, submitted_at=now)
        )
        session.execute(sa.delete(Improvement).where(Improvement.area_code == "environment"))
        session.execute(sa.update(Enterprise).where(Enterprise.id % 5 == 0).values(workers=3))
        session.execute(
            sa.update(Visit)
            .where(Visit.status == VisitStatus.PLANNED)
            .values(status=VisitStatus.DONE, done_at=now)
        )
        # Unit-of-work changes.
        edited = session.execute(sa.select(Improvement).limit(5)).scalars().all()
        for improvement in edited:
            improvement.area_code = "machine"
            improvement.cost_vnd = 123_000
        waiting_response = session.execute(
            sa.select(SurveyResponse).where(SurveyResponse.complete.is_(False)).limit(3)
        ).scalars()
        for response in waiting_response:
            response.complete = True
        # Units released in bulk, and one by the survey engine's own release.
        session.execute(
            sa.update(SurveyResponse)
            .where(SurveyResponse.round_id % 3 == 0, SurveyResponse.contact_id.is_(None))
            .values(released=True)
        )
        closing = session.execute(
            sa.select(SurveyRound)
            .where(SurveyRound.closed_at.is_(None), SurveyRound.id % 3 == 1)
            .limit(4)
        ).scalars()
        for survey_round in closing:
            survey_round.closed_at = now
        session.flush()
        release(session, now=now)
        moved = session.execute(sa.select(Enterprise).limit(2)).scalars().all()
        for enterprise in moved:
            enterprise.provider_id = 3
            enterprise.province_code = "can-tho"
        # A smaller workforce caps the workers benefiting of its improvements.
        shrunk = session.execute(sa.select(Enterprise).offset(4).limit(2)).scalars().all()
        for enterprise in shrunk:
            enterprise.workers = 2
        for worker in session.execute(
            sa.select(Contact).where(Contact.role == Role.WORKER).limit(3)
        ).scalars():
            worker.erased_at = now
        session.flush()
        doomed = session.execute(sa.select(Visit).limit(2)).scalars().all()
        for visit in doomed:
            session.delete(visit)
        # An enterprise entered by mistake, with a report and a visit, then removed.
        mistake = Enterprise(
            provider_id=1,
            name="Duplicate",
            sector_code="wood",
            province_code="hue",
            workers=5,
            intervention_date=date(2026, 1, 1),
        )
        session.add(mistake)
        session.flush()
        extra = [
            Improvement(
                enterprise_id=mistake.id,
                status=ReviewStatus.SUBMITTED,
                submitted_at=now,
                workers_benefiting=9,
            ),
            Visit(enterprise_id=mistake.id, due_on=date(2027, 6, 1), done_at=now, status="done"),
        ]
        session.add_all(extra)
        session.flush()
        for row in extra:
            session.delete(row)
        session.flush()
        session.delete(mistake)


def dump(session: Session) -> dict[str, set[tuple[Any, ...]]]:
    """Every rollup row that counts something (rows decremented to zero are the same as none)."""
    found = {}
    for table in TABLES:
        values = [c for c in table.columns if not c.primary_key]
        rows = session.execute(sa.select(table).where(sa.or_(*[c != 0 for c in values])))
        found[table.name] = {tuple(row) for row in rows}
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollup_summary_equals_raw_summary(database: Database, seed: int) -> None:
    generate(database, seed)
    change(database, seed)
    with database.session() as session:
        for text in PERIODS:
            period = parse_period(text)
            for filters in SCOPES:
                scope = Scope(**filters)
                assert _rollup_keys(session, scope, period, TZ) is not None, (text, filters)
                for today in (date(2027, 12, 20), date(2028, 1, 31), date(2027, 3, 10)):
                    rolled = build_summary(session, period=period, scope=scope, tz=TZ, today=today)
                    raw = build_summary(
                        session, period=period, scope=scope, tz=TZ, today=today, rollups=False
                    )
                    assert rolled.as_dict() == raw.as_dict(), (text, filters, today)


def test_incremental_rollups_equal_a_rebuild(database: Database) -> None:
    generate(database, 4)
    change(database, 4)
    with database.session() as session:
        kept = dump(session)
        assert kept["rollup_improvement"] and kept["rollup_answer"] and kept["rollup_visit"]
        rebuild(session)
        assert dump(session) == kept


def test_periods_are_covered_by_the_fewest_keys() -> None:
    assert cover(date(2027, 1, 1), date(2027, 12, 31)) == (["2027"], [])
    assert cover(date(2027, 2, 1), date(2027, 7, 31)) == (
        ["2027-02", "2027-03", "2027-Q2", "2027-07"],
        [],
    )
    assert cover(date(2026, 10, 1), date(2028, 1, 31)) == (["2026-Q4", "2027", "2028-01"], [])
    keys, edges = cover(date(2027, 1, 15), date(2027, 3, 10))
    assert (keys, edges) == (
        ["2027-02"],
        [(date(2027, 1, 15), date(2027, 1, 31)), (date(2027, 3, 1), date(2027, 3, 10))],
    )


def test_edges_and_what_the_rollups_cannot_answer(database: Database) -> None:
    generate(database, 5)
    with database.session() as session:
        whole = parse_period("2027-Q1")
        assert _rollup_keys(session, Scope(), whole, TZ) is not None
        # Days inside a month: the raw rows of the edge days join the rollups.
        part = parse_period("2027-01-15..2027-02-14")
        rolled = _rollup_keys(session, Scope(), part, TZ)
        assert rolled is not None and rolled.keys == []
        assert rolled.edges == [
            (date(2027, 1, 15), date(2027, 1, 31)),
            (date(2027, 2, 1), date(2027, 2, 14)),
        ]
        # Another zone, enterprises trained after the period: the raw rows only.
        assert _rollup_keys(session, Scope(), whole, ZoneInfo("Asia/Bangkok")) is None
        late = Enterprise(
            provider_id=1,
            name="late",
            sector_code="metal",
            province_code="hue",
            workers=3,
            intervention_date=date(2027, 5, 1),
        )
        session.add(late)
        session.flush()
        assert _rollup_keys(session, Scope(), whole, TZ) is None
        assert _rollup_keys(session, Scope(province_code="ha-noi"), whole, TZ) is not None
        for period in (part, whole):
            rolled = build_summary(
                session, period=period, scope=Scope(), tz=TZ, today=date(2027, 4, 1)
            )
            raw = build_summary(
                session, period=period, scope=Scope(), tz=TZ, today=date(2027, 4, 1), rollups=False
            )
            assert rolled.as_dict() == raw.as_dict()


@pytest.mark.skipif(not POSTGRES, reason="SQLite lets one writer at a time: nothing interleaves")
def test_concurrent_reports_for_one_enterprise_count_it_once(database: Database) -> None:
    """Two reports of the same enterprise flushed at the same moment: the second waits on the
    rollup rows of the first, and its old count is read under that lock, so the enterprise
    moves 0 -> 1 -> 2 in rollup_count instead of 0 -> 1 twice."""
    generate(database, 5)
    with database.session() as session:
        enterprise_id = session.execute(sa.select(Enterprise.id).limit(1)).scalar_one()
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def report(day: int, first: bool) -> None:
        try:
            with database.session() as session:
                session.add(
                    Improvement(
                        enterprise_id=enterprise_id,
                        area_code="storage",
                        workers_benefiting=1,
                        status=ReviewStatus.SUBMITTED,
                        submitted_at=datetime(2027, 5, day, 3, tzinfo=UTC),
                    )
                )
                if first:  # holds its rollup rows until the other one is flushing
                    session.flush()
                    barrier.wait(timeout=10)
                    time.sleep(0.3)
                else:
                    barrier.wait(timeout=10)
                    session.flush()
        except BaseException as error:  # reported below: a thread's exception is lost
            failures.append(error)

    threads = [threading.Thread(target=report, args=(10 + n, n == 0)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures
    with database.session() as session:
        kept = dump(session)
        rebuild(session)
        assert dump(session) == kept


def test_a_process_that_never_imports_the_bot_keeps_the_rollups(tmp_path: Any) -> None:
    """The listeners come with the database, not with an import of `bot` or of the rollups: a
    script, a second channel or a tool that opens a Database and writes a report is counted in
    the summary, and importing the rollups alone changes no session's behaviour."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        from datetime import UTC, date, datetime
        import sqlalchemy as sa
        from sqlalchemy import event
        from sqlalchemy.orm import Session
        from reports import rollups
        from models.db import Database
        from models.tables import Enterprise, Improvement, Provider, ReviewStatus
        before = event.contains(Session, "after_flush", rollups._after_flush)
        database = Database("sqlite:///{tmp_path / "alone.db"}")
        with database.session() as session:
            provider = Provider(name="P", province_code="hue")
            session.add(provider)
            session.flush()
            enterprise = Enterprise(provider_id=provider.id, name="E", sector_code="wood",
                                    province_code="hue", workers=5,
                                    intervention_date=date(2026, 1, 1))
            session.add(enterprise)
            session.flush()
            session.add(Improvement(enterprise_id=enterprise.id, area_code="storage",
                                    status=ReviewStatus.SUBMITTED,
                                    submitted_at=datetime(2027, 3, 2, tzinfo=UTC)))
        with database.session() as session:
            rows = session.execute(sa.text("SELECT count(*) FROM rollup_enterprise")).scalar()
        print(rows, before)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    count, installed_by_import = done.stdout.split()
    assert int(count) > 0
    assert installed_by_import == "False"


def test_reachable_means_some_channel_reaches_them_raw_and_rolled(database: Database) -> None:
    """One enterprise's people on Telegram, on Zalo, on both, refused by one channel or by
    both: reachable when some channel reaches them, counted once, in the raw summary, the
    rolled one (kept as their channels change) and a broadcast's audience alike."""
    blocked = datetime(2027, 2, 1, tzinfo=UTC)
    people = {
        # name: (role, Telegram user, Zalo user, Telegram refused, Zalo refused, counted)
        "zalo employer": (Role.EMPLOYER, None, "z1", False, False, True),
        "telegram": (Role.WORKER, 11, None, False, False, True),
        "zalo": (Role.WORKER, None, "z2", False, False, True),
        "both": (Role.WORKER, 12, "z3", False, False, True),
        "both, telegram refused": (Role.WORKER, 13, "z4", True, False, True),
        "both, zalo refused": (Role.WORKER, 14, "z5", False, True, True),
        "telegram refused": (Role.WORKER, 15, None, True, False, False),
        "zalo refused": (Role.WORKER, None, "z6", False, True, False),
        "both refused": (Role.WORKER, 16, "z7", True, True, False),
    }
    with database.session() as session:
        provider = Provider(name="P")
        session.add(provider)
        session.flush()
        enterprise = Enterprise(
            provider_id=provider.id, name="Xưởng", sector_code="wood", province_code="hue",
            workers=30, intervention_date=date(2026, 10, 1),
        )  # fmt: skip
        session.add(enterprise)
        session.flush()
        for role, telegram, zalo, telegram_refused, zalo_refused, _counted in people.values():
            session.add(
                Contact(
                    telegram_user_id=telegram, chat_id=telegram, zalo_user_id=zalo, role=role,
                    enterprise_id=enterprise.id,
                    unreachable_at=blocked if telegram_refused else None,
                    zalo_unreachable_at=blocked if zalo_refused else None,
                )
            )  # fmt: skip

    def counts() -> tuple[int, int]:
        with database.session() as session:
            period, today = parse_period("2027-Q1"), date(2027, 3, 10)
            rolled = build_summary(session, period=period, scope=Scope(), tz=TZ, today=today)
            raw = build_summary(
                session, period=period, scope=Scope(), tz=TZ, today=today, rollups=False
            )
            assert rolled.as_dict() == raw.as_dict()
            audience = count(session, Audience(roles=SME_ROLES))
            e = raw.enterprises
            assert audience == e.reachable_employers + e.reachable_workers
            return e.reachable_employers, e.reachable_workers

    workers = sum(1 for role, *_, counted in people.values() if counted and role == Role.WORKER)
    assert counts() == (1, workers) == (1, 5)
    # The person refused on Zalo only writes there again; the one on Telegram only links Zalo.
    with database.session() as session:
        mark_zalo_reachable(session, "z6")
        person = session.exec(sa.select(Contact).where(Contact.telegram_user_id == 15)).scalar_one()
        person.zalo_user_id = "z8"
        session.add(person)
    assert counts() == (1, 7)
    # The Zalo-only employer blocks the bot on Zalo: nobody reaches them any more.
    with database.session() as session:
        mark_zalo_unreachable(session, "z1", now=blocked)
    assert counts() == (0, 7)
