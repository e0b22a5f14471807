"""How fast the follow-up summary and the XLSX export are on a national-scale programme.

    .venv/bin/python bench/summary.py [--scale 1.0] [--postgres-url URL] [--skip-postgres]
                                      [--export-rows-check]

Generates 100,000 enterprises, 1,000,000 improvements and 300,000 survey responses (with their
answers, rounds, visits and contacts) at --scale 1.0, with bulk inserts (executemany on SQLite,
COPY on PostgreSQL, in a database created for the run and dropped after). The bulk load
bypasses the ORM, so the summary rollups (reports/rollups.py) are then rebuilt from the raw
rows, and timed. Then times:
- the full summary (whole programme, the year 2027, every figure) with `build_summary`, which
  reads the rollups (best of 3), and once from the raw rows alone (`rollups=False`);
- a baseline that loads the rows the summary needs into Python and counts there (best of 3);
- the XLSX export (all five sheets), with tracemalloc's peak at this size and at a tenth of it:
  streaming means the peak does not grow with the row count.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from models.db import Database
from reports.figures import Scope, year_period
from reports.rollups import rebuild
from reports.summary import build_summary
from reports.xlsx import export_sheets, write_export

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2027, 12, 31)
PERIOD = year_period(2027)
AREAS = ["storage", "workstation", "machine", "environment", "welfare", "organisation", None]
SECTORS = ["garment", "wood", "food", "metal", "electronics", "handicrafts", "other"]
PROVINCES = ["ha-noi", "ho-chi-minh", "da-nang", "hue", "can-tho", "hai-phong", "nghe-an"]
STATUSES = ["submitted", "verified", "good_practice", "verified", "draft", "withdrawn"]
BENEFITS = ["fewer_injuries", "less_fatigue", "productivity", "tidier", "morale"]
OBSTACLES = ["money", "time", "know_how", "space", "worker_interest", "none"]
START = datetime(2027, 1, 1, tzinfo=UTC)
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def stamp(moment: datetime | None, sqlite: bool) -> str | None:
    if moment is None:
        return None
    if sqlite:  # the format SQLAlchemy writes for naive UTC datetimes
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment.isoformat()


def generate(
    scale: float, sqlite: bool, seed: int = 7
) -> dict[str, tuple[list[str], Iterator[tuple[Any, ...]]]]:
    """Table -> (columns, rows), generated lazily so that memory stays small."""
    rng = random.Random(seed)
    providers = max(2, int(50 * scale))
    enterprises = int(100_000 * scale)
    improvements = int(1_000_000 * scale)
    responses = int(300_000 * scale)
    rounds = int(150_000 * scale)
    visits = int(200_000 * scale)
    contacts = int(250_000 * scale)
    created = stamp(START, sqlite)

    def provider_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, providers + 1):
            yield i, f"Trung tâm ATVSLĐ số {i}", PROVINCES[i % len(PROVINCES)], True, created

    def enterprise_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, enterprises + 1):
            yield (
                i,
                1 + i % providers,
                f"Doanh nghiệp {i}",
                SECTORS[i % len(SECTORS)],
                PROVINCES[(i // 7) % len(PROVINCES)],
                5 + i % 200,
                date(2026, 1 + i % 12, 1 + i % 28).isoformat(),
                created,
            )

    def improvement_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, improvements + 1):
            submitted = START + timedelta(minutes=rng.randrange(0, 364 * 24 * 60))
            status = STATUSES[rng.randrange(len(STATUSES))]
            before = rng.choice((2, 3, 4, 6, 6, 9, None))
            after = rng.choice((1, 2, 3, 4, 6)) if before else None
            reviewed = (
                submitted + timedelta(hours=rng.randrange(1, 400))
                if status in ("verified", "good_practice")
                else None
            )
            cost = rng.choice((0, 200_000, 500_000, 800_000, 1_500_000, 3_000_000, None))
            yield (
                i,
                1 + rng.randrange(enterprises),
                AREAS[rng.randrange(len(AREAS))],
                "Giá nhiều tầng để vật liệu không nằm dưới sàn",
                cost,
                None if cost is None else ("free" if cost == 0 else "under_1m"),
                rng.randrange(1, 30),
                before,
                after,
                status,
                stamp(None if status == "draft" else submitted, sqlite),
                stamp(reviewed, sqlite),
                created,
                created,
                "telegram",
            )

    def round_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, rounds + 1):
            opened = START + timedelta(minutes=rng.randrange(0, 364 * 24 * 60))
            yield i, 1 + (i - 1) % enterprises, 1 + (i - 1) // enterprises, stamp(opened, sqlite)

    answer_id = iter(range(1, 10**9))
    answers: list[tuple[Any, ...]] = []

    def response_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, responses + 1):
            employer = i % 4 == 0
            questionnaire = "employer" if employer else "worker"
            yield (
                i,
                1 + rng.randrange(rounds),
                questionnaire,
                uuid.uuid4().hex[:16],
                True,
                stamp(START, sqlite) if employer else None,
            )

    def answer_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, responses + 1):
            if i % 4 == 0:
                items: list[tuple[str, int | None, str | None]] = [
                    ("usefulness", rng.randrange(1, 6), None),
                    ("main_obstacle", None, rng.choice(OBSTACLES)),
                    ("improvements_kept", None, rng.choice(("yes", "partly", "no"))),
                    ("recommend", None, rng.choice(("yes", "no"))),
                    ("going_well", None, "Xưởng gọn gàng hơn"),
                ]
                items += [("benefits", None, b) for b in rng.sample(BENEFITS, 2)]
                items += [
                    ("support_wanted", None, "revisit"),
                    ("support_helpful", None, "training"),
                ]
            else:
                items = [
                    ("safer", rng.randrange(1, 6), None),
                    ("less_tiring", rng.randrange(1, 6), None),
                    ("ideas_asked", None, rng.choice(("yes", "no"))),
                    ("training_this_year", None, rng.choice(("yes", "no"))),
                    ("remaining_problem", None, rng.choice(("Bụi", None, "Ồn"))),
                ]
            for question, value_int, value_text in items:
                yield next(answer_id), i, question, value_int, value_text

    def visit_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, visits + 1):
            due = date(2027, 1, 1) + timedelta(days=rng.randrange(0, 365))
            status = rng.choice(("done", "done", "planned", "confirmed", "missed", "cancelled"))
            done = (
                datetime.combine(due, datetime.min.time(), UTC)
                + timedelta(days=rng.randrange(-3, 30))
                if status == "done"
                else None
            )
            yield (
                i,
                1 + rng.randrange(enterprises),
                due.isoformat(),
                status,
                stamp(done, sqlite),
                created,
            )

    def contact_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, contacts + 1):
            role = "employer" if i % 5 == 0 else "worker"
            yield (
                i,
                10_000_000 + i,
                10_000_000 + i,
                role,
                1 + rng.randrange(enterprises),
                "vi",
                created,
                stamp(START, sqlite) if i % 50 == 0 else None,
            )

    del answers
    return {
        "provider": (["id", "name", "province_code", "active", "created_at"], provider_rows()),
        "enterprise": (
            [
                "id",
                "provider_id",
                "name",
                "sector_code",
                "province_code",
                "workers",
                "intervention_date",
                "created_at",
            ],
            enterprise_rows(),
        ),
        "improvement": (
            [
                "id",
                "enterprise_id",
                "area_code",
                "description",
                "cost_vnd",
                "cost_band",
                "workers_benefiting",
                "risk_before_score",
                "risk_after_score",
                "status",
                "submitted_at",
                "reviewed_at",
                "created_at",
                "updated_at",
                "source",
            ],
            improvement_rows(),
        ),
        "surveyround": (["id", "enterprise_id", "number", "opened_at"], round_rows()),
        "surveyresponse": (
            ["id", "round_id", "questionnaire", "respondent_key", "complete", "completed_at"],
            response_rows(),
        ),
        "surveyanswer": (
            ["id", "response_id", "question_id", "value_int", "value_text"],
            answer_rows(),
        ),
        "visit": (
            ["id", "enterprise_id", "due_on", "status", "done_at", "created_at"],
            visit_rows(),
        ),
        "contact": (
            [
                "id",
                "telegram_user_id",
                "chat_id",
                "role",
                "enterprise_id",
                "language",
                "registered_at",
                "unreachable_at",
            ],
            contact_rows(),
        ),
    }


def batches(rows: Iterator[tuple[Any, ...]], size: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load(database: Database, scale: float) -> dict[str, int]:
    sqlite = database.engine.dialect.name == "sqlite"
    counts: dict[str, int] = {}
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if sqlite:
            cursor.execute("PRAGMA synchronous=OFF")
        for table, (columns, rows) in generate(scale, sqlite).items():
            counts[table] = 0
            names = ", ".join(f'"{c}"' for c in columns)
            if sqlite:
                marks = ", ".join("?" for _ in columns)
                if table == "surveyresponse" and "complete" not in _columns(database, table):
                    raise SystemExit("surveyresponse.complete is missing: run the migrations")
                for batch in batches(rows):
                    cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', batch)
                    counts[table] += len(batch)
                raw.commit()
            else:
                with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
                        counts[table] += 1
                raw.commit()
        if sqlite:
            cursor.execute("ANALYZE")
        else:
            for table in counts:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT max(id) FROM "{table}"))'
                )
            raw.commit()
    finally:
        raw.close()
    if not sqlite:
        # VACUUM fills the visibility map, so that index-only scans need not visit the heap.
        with database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE"
            )
    return counts


def _columns(database: Database, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(database.engine).get_columns(table)}


def rebuild_rollups(database: Database) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    with database.session() as session:
        rows = rebuild(session)
    elapsed = time.perf_counter() - started
    # Fresh statistics (and, on PostgreSQL, a visibility map for index-only scans).
    with database.engine.connect() as connection:
        if database.engine.dialect.name == "sqlite":
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE " + ", ".join(rows)
            )
    return elapsed, rows


def full_summary(database: Database, *, rollups: bool = True, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        with database.session() as session:
            build_summary(
                session, period=PERIOD, scope=Scope(), tz=TZ, today=TODAY, rollups=rollups
            )
        best = min(best, time.perf_counter() - started)
    return best


def baseline(database: Database) -> float:
    """The same headline figures, counted in Python over every row."""
    start, end = PERIOD.bounds(TZ)
    started = time.perf_counter()
    with database.engine.connect() as connection:
        enterprises = {
            row[0]: row[1:]
            for row in connection.execute(
                sa.text(
                    "SELECT id, provider_id, province_code, sector_code, workers FROM enterprise"
                )
            )
        }
        improvements = connection.execute(
            sa.text(
                "SELECT enterprise_id, area_code, status, cost_vnd, cost_band, workers_benefiting, "
                "risk_before_score, risk_after_score, submitted_at, reviewed_at FROM improvement"
            )
        ).all()
        rounds = {
            r[0]: r[1:]
            for r in connection.execute(
                sa.text("SELECT id, enterprise_id, number, opened_at FROM surveyround")
            )
        }
        responses = {
            r[0]: r[1:]
            for r in connection.execute(
                sa.text("SELECT id, round_id, questionnaire, complete FROM surveyresponse")
            )
        }
        answers = connection.execute(
            sa.text("SELECT response_id, question_id, value_int, value_text FROM surveyanswer")
        ).all()
        visits = connection.execute(
            sa.text("SELECT enterprise_id, due_on, status, done_at FROM visit")
        ).all()
    sqlite = database.engine.dialect.name == "sqlite"

    def moment(value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    per_enterprise: Counter[int] = Counter()
    per_area: Counter[Any] = Counter()
    costs, review_hours, before, after = [], [], [], []
    for e_id, area, status, cost, _band, _w, rb, ra, submitted, reviewed in improvements:
        when = moment(submitted)
        if status not in ("submitted", "verified", "good_practice") or when is None:
            continue
        if not start <= when < end:
            continue
        per_enterprise[e_id] += 1
        per_area[area] += 1
        if cost is not None:
            costs.append(cost)
        if rb is not None and ra is not None:
            before.append(rb)
            after.append(ra)
        if reviewed is not None:
            review_hours.append((moment(reviewed) - when).total_seconds() / 3600)  # type: ignore[operator]
    counts = [per_enterprise.get(e, 0) for e in enterprises]
    statistics.median(counts)
    statistics.median(costs)
    statistics.median(review_hours)
    statistics.mean(before)
    statistics.mean(after)
    by_province: Counter[str] = Counter()
    for e_id, n in per_enterprise.items():
        by_province[enterprises[e_id][1]] += n
    ratings: dict[tuple[str, str], Counter[Any]] = defaultdict(Counter)
    for response_id, question, value_int, value_text in answers:
        response = responses.get(response_id)
        if response is None or not response[2]:
            continue
        survey_round = rounds[response[0]]
        opened = moment(survey_round[2])
        if opened is None or not start <= opened < end:
            continue
        ratings[(response[1], question)][value_int if value_int is not None else value_text] += 1
    by_provider: Counter[int] = Counter()
    for e_id, _due, status, _done in visits:
        if status != "cancelled":
            by_provider[enterprises[e_id][0]] += 1
    del sqlite
    return time.perf_counter() - started


def export(database: Database, folder: Path, name: str, *, trace: bool) -> tuple[float, float, int]:
    """Seconds, tracemalloc peak (MiB, 0 without tracing) and rows of the whole export."""
    gc.collect()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with database.session() as session:
        summary = build_summary(session, period=PERIOD, scope=Scope(), tz=TZ, today=TODAY)
        sheets = export_sheets(session, summary=summary, tz=TZ, language="vi")
        write_export(sheets, language="vi", xlsx_path=folder / f"{name}.xlsx")
    elapsed = time.perf_counter() - started
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    with database.session() as session:
        rows = sum(sheet.count() for sheet in sheets_for(session))
    return elapsed, peak, rows


def sheets_for(session: Any) -> list[Any]:
    summary = build_summary(session, period=PERIOD, scope=Scope(), tz=TZ, today=TODAY)
    return export_sheets(session, summary=summary, tz=TZ, language="vi")


def run(
    url: str, scale: float, label: str, folder: Path, *, figures: bool, export_mode: str | None
) -> None:
    database = Database(url)
    started = time.perf_counter()
    counts = load(database, scale)
    loaded = time.perf_counter() - started
    print(
        f"[{label}] generated and loaded in {loaded:.1f} s: "
        + ", ".join(f"{table} {count:,}" for table, count in counts.items()),
        flush=True,
    )
    # The bulk load bypasses the ORM, so the rollups are rebuilt from the raw rows.
    rebuilt, rows = rebuild_rollups(database)
    print(
        f"[{label}] rollups rebuilt in {rebuilt:.1f} s: "
        + ", ".join(f"{table} {count:,}" for table, count in rows.items()),
        flush=True,
    )
    if figures:
        summary_s = full_summary(database)
        raw_s = full_summary(database, rollups=False, repeat=1)
        baseline_s = min(baseline(database) for _ in range(3))
        print(
            f"[{label}] full summary: {summary_s * 1000:.0f} ms (best of 3; from the raw rows "
            f"without rollups: {raw_s:.2f} s); baseline in Python: {baseline_s:.2f} s (best of "
            f"3); {baseline_s / summary_s:.1f}x faster",
            flush=True,
        )
    if export_mode is not None:
        seconds, peak, rows = export(database, folder, label, trace=export_mode == "peak")
        size = (folder / f"{label}.xlsx").stat().st_size / 2**20
        memory = f", tracemalloc peak {peak:.1f} MiB" if export_mode == "peak" else ""
        print(
            f"[{label}] XLSX export: {rows:,} rows in {seconds:.1f} s "
            f"({rows / seconds:,.0f} rows/s), file {size:.0f} MiB{memory}",
            flush=True,
        )
    database.dispose()


def postgres(admin_url: str) -> tuple[str, Any]:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"oshbot_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    url = sa.engine.make_url(admin_url).set(database=name)
    return url.render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args()
    small, medium = args.scale / 100, args.scale / 10
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        targets = [("sqlite", lambda n: (f"sqlite:///{folder}/{n}.db", lambda: None))]
        if not args.skip_postgres:
            targets.append(("postgresql", lambda _n: postgres(args.postgres_url)))
        for engine, make in targets:
            if not args.skip_export:
                # Memory of the streamed export at two sizes, ten times apart.
                for scale in (small, medium):
                    url, drop = make(f"peak{scale:g}")
                    try:
                        run(
                            url,
                            scale,
                            f"{engine} x{scale:g}",
                            folder,
                            figures=False,
                            export_mode="peak",
                        )
                    finally:
                        drop()
            url, drop = make("full")
            try:
                run(
                    url,
                    args.scale,
                    f"{engine} x{args.scale:g}",
                    folder,
                    figures=True,
                    export_mode=None if args.skip_export else "time",
                )
            finally:
                drop()


if __name__ == "__main__":
    main()
