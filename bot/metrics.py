"""What `/metrics` exposes (Prometheus text format, prometheus-client).

Counters and histograms live in one registry per process, fed where the work happens: updates
by the Application (bot/cluster.py, MeteredApplication), Bot API answers by the request object
(MeteredRequest), periodic jobs by the job queue (ClusterJobQueue). What the database knows
(outbox rows by status and kind, the last run of each scheduled job) is read when Prometheus
scrapes, by `DatabaseCollector`, so that every worker reports the same, current figures.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlmodel import col, func, select

from models.db import Database
from models.tables import JobRun, Outbox

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()

UPDATES = Counter(
    "oshbot_updates", "Updates handled, by kind.", ["channel", "kind"], registry=REGISTRY
)
HANDLER_SECONDS = Histogram(
    "oshbot_handler_seconds",
    "Time from an update entering the handlers to the last handler returning.",
    ["channel", "kind"],
    # People notice past a second; the tail past 10 s is a stuck dependency.
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
SENDS = Counter(
    "oshbot_sends",
    "Messages the channel accepted (send*, edit*, ...).",
    ["channel", "method"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "oshbot_rate_limited",
    "429 answers from the channel.",
    ["channel", "method"],
    registry=REGISTRY,
)
FAILURES = Counter(
    "oshbot_send_failures",
    "Requests the channel refused (other than 429) or that never got an answer.",
    ["channel", "method"],
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "oshbot_job_seconds",
    "Duration of a periodic job run on this worker.",
    ["job"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900),
    registry=REGISTRY,
)
JOB_RUNS = Counter(
    "oshbot_job_runs",
    "Periodic job ticks on this worker: ran, failed, or skipped (another worker sends).",
    ["job", "result"],
    registry=REGISTRY,
)
SENDER = Gauge("oshbot_sender", "1 when this worker holds the sender lock.", registry=REGISTRY)


class DatabaseCollector(Collector):
    """Figures read from the database at each scrape."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows = GaugeMetricFamily(
            "oshbot_outbox_rows", "Outbox rows by status and kind.", labels=["status", "kind"]
        )
        finished = GaugeMetricFamily(
            "oshbot_job_last_finished_timestamp_seconds",
            "When each scheduled job last finished a slot (Unix time).",
            labels=["job"],
        )
        result = GaugeMetricFamily(
            "oshbot_job_last_result",
            "The counts the last finished run of each scheduled job reported.",
            labels=["job", "key"],
        )
        try:
            with self.database.session() as session:
                counts = session.exec(
                    select(Outbox.status, Outbox.kind, func.count()).group_by(
                        col(Outbox.status), col(Outbox.kind)
                    )
                ).all()
                runs = session.exec(select(JobRun)).all()
        except sa.exc.SQLAlchemyError:
            log.warning("metrics: the database did not answer", exc_info=True)
            return
        for status, kind, count in counts:
            rows.add_metric([str(status), kind], count)
        for run in runs:
            if run.finished_at is not None:
                finished.add_metric([run.name], _timestamp(run.finished_at))
            for key, value in _counts(run.summary).items():
                result.add_metric([run.name, key], value)
        yield rows
        yield finished
        yield result


def _timestamp(moment: datetime) -> float:
    # SQLite hands back naive datetimes; the database stores UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _counts(summary: str | None) -> dict[str, float]:
    """The numbers of a job's summary (the repr of the dict it returned)."""
    if not summary:
        return {}
    try:
        data = ast.literal_eval(summary)
    except (ValueError, SyntaxError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(key): float(value)
        for key, value in data.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def exposition(database: Database) -> bytes:
    """The whole `/metrics` page: this process's counters, then the database's figures."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(DatabaseCollector(database))
    return generate_latest(REGISTRY) + generate_latest(scrape)
