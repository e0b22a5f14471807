"""How many updates a second the running bot handles when every Bot API call takes a network
round trip, how long each waits for its answer, and whether one person's flood delays others.

    .venv/bin/python bench/updates.py [--people 600] [--per-person 4] [--rate 400]
        [--latency 0.1] [--database-url URL] [--request aiohttp|httpx]

The real Application runs as `oshbot run` does: long polling, its update queue and update
processor, persistence flushing every second, the bot's own rate limiter on the wall clock and
its own Bot API client (bot/request.py; `--request httpx`: PTB's default, for comparison).
Telegram's side (the sandbox over HTTP, every Bot API call taking `--latency` seconds, and the
people) runs in a process of its own (bench/telegram_side.py), so that the CPU measured is the
bot's. Registered people send "/help" and a greeting outside any conversation, `--rate` updates
a second in all, each answered with one message; a person's next update comes more than a
second later, within Telegram's per-chat pace. For the throughput the limiter's overall rate is
raised above the offered rate (as OSHBOT_SEND_RATE would): at the default 30 messages a second,
that limit, not the bot, bounds how many people a second get an answer. The flood runs with the
defaults, on the in-process sandbox.

Figures: throughput (updates answered per second, from the first update offered to the last
answer), end-to-end latency per update (offered to its answer accepted by the sandbox), the
bot process's CPU per update, database statements per update (the queries that look people up,
several people each when updates come together; persistence writes). Then a flood: one person
sends 40 messages at once while 100 others send /help; the others' answer times.

Baseline: run this same file against the code before issue 14's fix, e.g.
    git archive 09faa25 | tar -x -C /tmp/baseline
    PYTHONPATH=/tmp/baseline .venv/bin/python bench/updates.py --people 100 --per-person 2
(updates one at a time: about 9 a second, so fewer updates keep the run short). Telegram's side
is always today's sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from telegram import Update
from telegram.request import HTTPXRequest
from telegram_side import People  # bench/, the script's folder

from bot.app import build_application
from bot.guard import LIMITER_KEY, InboundLimiter
from bot.ratelimit import PacedRateLimiter
from bot.settings import Settings
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider, create_invite, register
from models.tables import Role

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
FIRST_USER = 50_000
FLOODER = 49_999
ANSWERS_WAIT = 600  # seconds


def seed(database: Database, people: int) -> None:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng")
        draft = EnterpriseDraft("Xưởng mộc Hòa Phát", "wood", "da-nang", 5000, NOW.date())
        enterprise = add_enterprise(session, provider_id=provider.id, draft=draft, today=NOW.date())
        code = create_invite(
            session, role=Role.WORKER, enterprise_id=enterprise.id, days=14, now=NOW
        ).code
    for user_id in [FLOODER, *range(FIRST_USER, FIRST_USER + people)]:
        with database.session() as session:
            register(
                session, code=code, telegram_user_id=user_id, chat_id=user_id,
                display_name=f"Người lao động {user_id}", username=None, language="vi", now=NOW,
            )  # fmt: skip
    # The planner's statistics, as a database in service has them (autovacuum gathers them
    # within a minute of a bulk load; a run must not depend on whether it has yet).
    with database.engine.connect() as connection:
        connection.execute(sa.text("ANALYZE"))
        connection.commit()


def count(statements: Counter[str], _conn, _cursor, statement: str, *_args: Any) -> None:  # type: ignore[no-untyped-def]
    """Counts the statements the figures name."""
    if "FROM contact" in statement and "telegram_user_id IN " in statement:
        statements["person look-up queries"] += 1  # several people each (bot/runtime.py People)
    if "bot_state" in statement and statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
        statements["persistence writes"] += 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Bench:
    def __init__(self, url: str, data_dir: Path, latency: float, per_second: float) -> None:
        self.database = Database(url)
        # Telegram's side, in this process (the flood measures others' waits, not throughput).
        people = People(latency)
        self.sandbox, self.answered = people.sandbox, people.answered
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            token=self.sandbox.token, database_url=url, api_base_url="http://sandbox/bot",
            data_dir=data_dir,
        )  # fmt: skip
        self.application = build_application(
            settings, database=self.database, request=self.sandbox.make_request(),
            get_updates_request=self.sandbox.make_request(), clock=lambda: NOW,
            rate_limiter=PacedRateLimiter(per_second=per_second),
        )  # fmt: skip
        # People's pace is real time here: the guard counts on the wall clock.
        self.application.bot_data[LIMITER_KEY] = InboundLimiter()

    async def start(self) -> None:
        await self.application.initialize()
        assert self.application.job_queue is not None
        self.application.job_queue.scheduler.remove_all_jobs()  # only updates are measured
        await self.application.start()

    async def stop(self) -> None:
        await self.application.stop()
        await self.application.shutdown()
        self.database.dispose()

    def update(self, user_id: int, text: str) -> Update:
        user = self.sandbox.user(user_id, f"Người lao động {user_id}")
        raw = user.send_command(text) if text.startswith("/") else user.send_text(text)
        self.sandbox.take_updates()
        return Update.de_json(raw, self.application.bot)

    async def offer(self, plan: list[tuple[float, int, str]]) -> list[tuple[int, int, float]]:
        """Puts each (second, person, text) into the update queue at its time; returns
        (person, how many answers they had before, when offered)."""
        offered = []
        started = time.perf_counter()
        for at, user_id, text in plan:
            delay = started + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            update = self.update(user_id, text)
            offered.append((user_id, len(self.answered[user_id]), time.perf_counter()))
            # the answers a person already had, so the next one is this update's
            await self.application.update_queue.put(update)
        return offered

    async def wait_for_answers(self, offered: list[tuple[int, int, float]]) -> list[float]:
        """Seconds from each update offered to its answer."""
        wanted: Counter[int] = Counter(user for user, _, _ in offered)
        while any(len(self.answered[u]) < n for u, n in wanted.items()):
            await asyncio.sleep(0.01)
        return [self.answered[user][index] - at for user, index, at in offered]


async def steady(args: argparse.Namespace, url: str, folder: Path) -> dict[str, Any]:
    """The bot as `oshbot run` runs it, over HTTP to Telegram's side in a process of its own
    (bench/telegram_side.py): the figures are the bot's, not the bot's and the sandbox's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # today's sandbox, always
    side = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("telegram_side.py")),
        "--latency", str(args.latency),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        limit=2**24,  # the result is one line of every latency
    )  # fmt: skip
    try:
        return await _steady(args, url, folder, side)
    finally:
        if side.returncode is None:
            side.kill()
            await side.wait()


async def _steady(
    args: argparse.Namespace, url: str, folder: Path, side: asyncio.subprocess.Process
) -> dict[str, Any]:
    assert side.stdin is not None and side.stdout is not None
    ready = (await side.stdout.readline()).decode().split()
    if not ready or ready[0] != "READY":
        raise SystemExit(f"Telegram's side did not start: {ready}")
    port, token = int(ready[1]), ready[2]
    database = Database(url)
    seed(database, args.people)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        token=token, database_url=url, api_base_url=f"http://127.0.0.1:{port}/bot",
        api_file_base_url=f"http://127.0.0.1:{port}/file/bot", data_dir=folder,
    )  # fmt: skip
    application = build_application(
        settings, database=database, clock=lambda: NOW,
        # The Application's own request unless --request httpx: PTB's default, for comparison.
        request=HTTPXRequest(connection_pool_size=256) if args.request == "httpx" else None,
        rate_limiter=PacedRateLimiter(per_second=max(30.0, args.rate * 2)),
    )  # fmt: skip
    # People's pace is real time here: the guard counts on the wall clock.
    application.bot_data[LIMITER_KEY] = InboundLimiter()
    statements: Counter[str] = Counter()
    sa.event.listen(database.engine, "before_cursor_execute", partial(count, statements))
    await application.initialize()
    assert application.job_queue is not None and application.updater is not None
    application.job_queue.scheduler.remove_all_jobs()  # only updates are measured
    await application.start()
    await application.updater.start_polling(allowed_updates=["message", "callback_query"])
    updates = args.people * args.per_person
    texts = ("/help", "xin chào")
    plan = [
        (index / args.rate, FIRST_USER + index % args.people, texts[(index // args.people) % 2])
        for index in range(updates)
    ]
    statements.clear()
    cpu = time.process_time()
    side.stdin.write((json.dumps({"plan": plan}) + "\n").encode())
    await side.stdin.drain()
    try:
        # Every answer, or the run gives up: a lost answer must not leave it waiting forever.
        result = json.loads(await asyncio.wait_for(side.stdout.readline(), ANSWERS_WAIT))
    except TimeoutError:
        raise SystemExit(f"not every update was answered within {ANSWERS_WAIT} s") from None
    cpu = time.process_time() - cpu
    await asyncio.sleep(1.5)  # a persistence flush after the last update
    measured = dict(statements)
    await application.updater.stop()
    await application.stop()
    await application.shutdown()
    database.dispose()
    side.stdin.close()
    await side.wait()
    return {
        "count": updates, "elapsed": result["elapsed"], "cpu": cpu,
        "latencies": result["latencies"], "statements": measured,
    }  # fmt: skip


async def flood(args: argparse.Namespace, url: str, folder: Path) -> dict[str, Any]:
    bench = Bench(url, folder, args.latency, per_second=30.0)
    others = 100
    seed(bench.database, others)
    await bench.start()
    plan = [(0.0, FLOODER, f"xin chào {index}") for index in range(40)]
    plan += [(index / 20, FIRST_USER + index, "/help") for index in range(others)]
    plan.sort(key=lambda item: item[0])
    offered = await bench.offer(plan)
    helped = [item for item in offered if item[0] != FLOODER]
    latencies = await bench.wait_for_answers(helped)
    flooder_answers = len(bench.answered[FLOODER])
    await bench.stop()
    return {"latencies": latencies, "flooder_answers": flooder_answers}


def describe(name: str, latencies: list[float]) -> str:
    return (
        f"{name}: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=600)
    parser.add_argument("--per-person", type=int, default=4)
    parser.add_argument("--rate", type=float, default=400.0, help="updates offered a second")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per Bot API call")
    parser.add_argument("--database-url", default=None, help="an empty database; default SQLite")
    parser.add_argument("--no-flood", action="store_true")
    parser.add_argument(
        "--request", choices=("aiohttp", "httpx"), default="aiohttp",
        help="the client of the bot's sends: oshbot's (bot/request.py) or PTB's HTTPXRequest",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/steady.db"
        result = asyncio.run(steady(args, url, Path(folder)))
        print(f"database: {sa.engine.make_url(url).get_backend_name()}, "
              f"Bot API round trip {args.latency * 1000:.0f} ms")  # fmt: skip
        print(f"updates: {result['count']} from {args.people} people, offered at "
              f"{args.rate:.0f}/s")  # fmt: skip
        print(f"throughput: {result['count'] / result['elapsed']:.0f} updates/s "
              f"({result['elapsed']:.2f} s)")  # fmt: skip
        print(describe("end to end", result["latencies"]))
        # The process's own CPU (its threads included): what the figures above would be on a
        # machine that gave the bot a whole core, whatever else the machine is doing.
        print(f"CPU per update: {result['cpu'] / result['count'] * 1000:.2f} ms "
              f"(one free core: {result['count'] / result['cpu']:.0f} updates/s)")  # fmt: skip
        for name, number in sorted(result["statements"].items()):
            print(f"{name} per update: {number / result['count']:.2f}")
        if args.no_flood or args.database_url:  # the flood needs a second empty database
            return
        flooded = asyncio.run(flood(args, f"sqlite:///{folder}/flood.db", Path(folder)))
        print(describe("others' /help during a 40-message flood", flooded["latencies"]))
        print(f"answers to the flooder: {flooded['flooder_answers']} (40 sent)")


if __name__ == "__main__":
    main()
