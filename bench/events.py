"""How long the event operations take for a large audience (SQLite or PostgreSQL).

    .venv/bin/python bench/events.py [--people 2000] [--database-url URL]

Times: inviting N people (an Rsvp row and an outbox row each), the hourly job when the
day-before reminders fall due for all of them, a second run of the job (nothing to do: it must
be cheap, it runs every hour), and the SQL counts behind 📅 Events. Baseline: enqueueing the
same N outbox rows alone (in chunks, as invitations are), which is the least an invitation
can cost.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from models import events
from models.db import Database
from models.outbox import Message, Queued, enqueue_many
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import Contact, Event, Role
from reports import events as event_reports

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def seed(database: Database, people: int) -> Contact:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng")
        assert provider.id is not None
        for batch in range(0, people, 50):
            draft = EnterpriseDraft(f"Xưởng {batch}", "wood", "da-nang", 60, NOW.date())
            enterprise = add_enterprise(
                session, provider_id=provider.id, draft=draft, today=NOW.date()
            )
            for index in range(batch, min(batch + 50, people)):
                session.add(
                    Contact(
                        telegram_user_id=100_000 + index,
                        chat_id=100_000 + index,
                        role=Role.WORKER if index % 50 else Role.EMPLOYER,
                        enterprise_id=enterprise.id,
                        display_name=f"Người {index}",
                    )
                )
        organiser = Contact(telegram_user_id=1, chat_id=1, role=Role.STAFF, provider_id=provider.id)
        session.add(organiser)
        session.flush()
        return organiser


def timed(label: str, action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    print(f"{label:<44} {seconds * 1000:9.1f} ms   ({result})")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        database = Database(url)
        organiser = seed(database, args.people)
        starts = NOW + timedelta(days=10)

        def baseline() -> int:
            with database.session() as session:
                contacts = list(session.exec(select(Contact).where(Contact.role != Role.STAFF)))
                return enqueue_many(
                    session,
                    [
                        Queued(
                            key=f"baseline:{c.id}", contact=c, kind="bench", message=Message("x")
                        )
                        for c in contacts
                    ],
                    now=NOW,
                )

        def invite() -> int:
            with database.session() as session:
                event = events.create_event(
                    session,
                    draft=events.EventDraft(
                        kind=events.ACHIEVEMENT_WORKSHOP,
                        title="Hội thảo kết quả",
                        starts_at=starts,
                        place="Hội trường",
                    ),
                    actor=organiser,
                    now=NOW,
                )
                return events.invite(session, event=event, now=NOW, tz=TZ)

        def job(now: datetime) -> object:
            with database.session() as session:
                return events.events_job(session, now)

        def listing() -> int:
            with database.session() as session:
                ids = [e.id for e in session.exec(select(Event))]
                return sum(c.invited for c in event_reports.counts(session, ids).values())  # type: ignore[arg-type]

        base = timed(f"baseline: enqueue {args.people} outbox rows", baseline)
        spent = timed(f"invite {args.people} people", invite)
        print(f"{'invitation cost / bare enqueue':<44} {spent / base:9.2f} x")
        timed("hourly job, day-before reminders due", lambda: job(starts - timedelta(hours=20)))
        timed("hourly job again (nothing due)", lambda: job(starts - timedelta(hours=19)))
        timed("counts for 📅 Events", listing)
        database.dispose()


if __name__ == "__main__":
    main()
