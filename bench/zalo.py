"""How many Zalo messages a second the Zalo driver turns into journey answers, and how long each
takes, against the in-process Zalo sandbox.

    .venv/bin/python bench/zalo.py [--people 200] [--database-url URL]

Registered employers on Zalo each open a report (/report), choose its area by words without
diacritics and its kind by number, and ask for /help: four messages each, taken from the
sandbox with getUpdates and handled as `oshbot run` handles them (a task per update, one
person's in order). The sandbox's rate limits are off and the pacer raised above the offered
load, so the figures are the driver's and the database's: each update is read (the person,
their journey and their numbered options), run through the engine in one transaction, and
answered with one to three messages.

Figures: updates handled per second (first update taken to last answer), the time of each
update from being taken to its last message accepted, and the messages sent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.settings import Settings
from bot.zalo.channel import ZaloChannel
from bot.zalo.pacing import Pacer
from bot.zalo.sandbox import BASE_URL, ZaloSandbox
from bot.zalo.types import Update
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider, create_invite, register
from models.tables import Role

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def seed(database: Database, people: int) -> None:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng")
        for n in range(people):
            draft = EnterpriseDraft(f"Xưởng {n}", "wood", "da-nang", 20, NOW.date())
            enterprise = add_enterprise(
                session, provider_id=provider.id, draft=draft, today=NOW.date()
            )
            invite = create_invite(
                session, role=Role.EMPLOYER, enterprise_id=enterprise.id, days=14, now=NOW
            )
            register(
                session, code=invite.code, zalo_user_id=f"zl{n:06d}", display_name=f"Chủ {n}",
                username=None, language="vi", now=NOW,
            )  # fmt: skip


async def run(people: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        database = Database(url)
        seed(database, people)
        platform = ZaloSandbox(limits=None)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            data_dir=Path(folder) / "data",
            zalo_token=platform.token,
            zalo_api_base_url=BASE_URL,
        )
        channel = ZaloChannel(
            settings, database, clock=lambda: NOW, transport=platform.transport(),
            pacer=Pacer(100_000, 1_000, chat_burst=10),
        )  # fmt: skip
        driver = channel.driver
        users = [platform.user(f"zl{n:06d}", f"Chủ {n}") for n in range(people)]
        timings: list[float] = []
        handled = 0

        async def timed(update: Update) -> None:
            started = time.perf_counter()
            await driver.dispatch(update)
            timings.append(time.perf_counter() - started)

        began, cpu = time.perf_counter(), time.process_time()
        for text in ("/report", "luu giu, van chuyen", "1", "/help"):
            for user in users:
                user.send_text(text)
            tasks = []
            while (update := await channel.client.get_updates(timeout=0)) is not None:
                tasks.append(asyncio.create_task(timed(update)))
                handled += 1
            await asyncio.gather(*tasks)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        sent = sum(len(user.messages()) for user in users)
        asked = sum("Anh/Chị đã cải thiện điều gì?" in user.inbox_text() for user in users)
        await channel.stop()
        database.dispose()
    timings.sort()
    print(f"people {people}, updates {handled}, messages sent {sent}")
    print(f"reached the description question: {asked} of {people}")
    print(f"throughput: {handled / elapsed:.0f} updates/s ({elapsed:.1f} s)")
    print(f"process CPU per update: {cpu / handled * 1000:.1f} ms; load {os.getloadavg()[0]:.1f}")
    print(
        f"per update: median {statistics.median(timings) * 1000:.0f} ms, "
        f"p95 {timings[int(len(timings) * 0.95) - 1] * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    asyncio.run(run(options.people, options.database_url))


if __name__ == "__main__":
    main()
