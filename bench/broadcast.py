"""A broadcast to many recipients against the sandbox with Telegram's limits enforced, on the
real clock, while a person keeps talking to the bot.

    .venv/bin/python -m bench.broadcast [--recipients 1500] [--mode strict|lenient|both]
                                        [--database-url URL]

(as a module: run as a script, bench/ comes first on sys.path and bench/scheduling.py would hide
the `scheduler` package)

The outbox is sent as the running bot sends it: `drain` on every tick of OSHBOT_SEND_INTERVAL
(5 s), a tick skipped while the previous one still runs (APScheduler's max_instances=1), with
oshbot's rate limiter (bot/ratelimit.py). Two sandbox modes, same data:

- strict: at most 30 sends in any sliding second, no burst (`RateLimits(strict=True)`, as
  `oshbot sandbox --strict`);
- lenient: the default token bucket, which tolerates a burst of 30.

Each run reports the sustained rate of the broadcast (accepted sends / time from the first to
the last), the number of 429 answers the sandbox gave, and the p95 delay of the bot's answer to
a person who sends a command every four seconds during the broadcast (the reply goes through
the same limiter as the broadcast). The baseline printed at the end was measured with this
script on the code before the margin and the resumption after a 429 (commit 09faa25).

1,500 recipients at about 29 a second take about a minute a run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

import sqlalchemy as sa
from telegram import Update
from telegram.ext import BaseRateLimiter

from bot.app import build_application
from bot.ratelimit import PacedRateLimiter
from bot.sandbox import RateLimits, Sandbox
from bot.sender import drain
from bot.settings import Settings
from models import broadcasts
from models.audience import Audience
from models.db import Database
from models.outbox import Message
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import Contact, Role, utcnow
from scheduler.config import QuietHours, SchedulerConfig

NOW = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)  # 10:00 in Viet Nam: outside quiet hours
TALKER = 1  # the person talking to the bot during the broadcast
FIRST_RECIPIENT = 100_000
# A command every 4 s: 15 a minute, under the inbound flood guard's 20 (bot/guard.py).
TALK_EVERY = 4.0
# The benchmark runs whatever the hour: no quiet hours.
ALWAYS = SchedulerConfig(quiet=QuietHours(clock_time(0, 0), clock_time(0, 0)))
SEND_INTERVAL = 5.0  # OSHBOT_SEND_INTERVAL's default: the bot's outbox tick
MODES = {"strict": RateLimits(strict=True), "lenient": RateLimits()}
# Measured with this script (and the sandbox's strict mode copied in) on commit 09faa25, before
# the margin and the resumption after a 429, on the shared 2-CPU machine (load average about 7):
# (mode, recipients, msg/s, 429s, reply p95 s).
BASELINE = (
    ("strict", 1500, 11.98, 20, 0.955),
    ("lenient", 1500, 28.50, 0, 0.030),
)


@dataclass
class Result:
    name: str
    recipients: int
    queue_seconds: float
    sent: int
    rate: float
    rate_limited: int
    replies: list[float]

    def p95(self) -> float:
        if len(self.replies) < 2:
            return self.replies[0] if self.replies else float("nan")
        return statistics.quantiles(self.replies, n=20)[-1]

    def line(self) -> str:
        return (
            f"{self.name:<22} {self.sent:>6} sent  {self.rate:6.2f} msg/s  "
            f"429s: {self.rate_limited:<4} reply p95: {self.p95():.3f} s "
            f"(median {statistics.median(self.replies):.3f} s, n={len(self.replies)})  "
            f"queueing: {self.queue_seconds:.1f} s"
        )


def seed(database: Database, recipients: int) -> None:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng")
        draft = EnterpriseDraft("Khu công nghiệp Hòa Khánh", "wood", "da-nang", 50_000, NOW.date())
        enterprise = add_enterprise(session, provider_id=provider.id, draft=draft, today=NOW.date())
        rows = [
            {"telegram_user_id": uid, "chat_id": uid, "role": str(Role.WORKER),
             "enterprise_id": enterprise.id, "language": "vi", "registered_at": NOW}
            for uid in range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients)
        ]  # fmt: skip
        session.execute(sa.insert(Contact), rows)
        session.add(
            Contact(
                telegram_user_id=TALKER,
                chat_id=TALKER,
                role=Role.EMPLOYER,
                enterprise_id=enterprise.id,
                language="vi",
            )
        )


async def run(name: str, limiter: BaseRateLimiter, recipients: int, url: str) -> Result:  # type: ignore[type-arg]
    database = Database(url)
    seed(database, recipients)
    sandbox = Sandbox(limits=MODES[name])  # the real clock: Telegram's limits in real time
    for uid in range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients):
        sandbox.user(uid, f"Người lao động {uid}")
    talker = sandbox.user(TALKER, "Chị Lan")
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            token=sandbox.token, database_url=url, api_base_url="http://sandbox/bot",
            data_dir=Path(data),
        )  # fmt: skip
        application = build_application(
            settings, database=database, request=sandbox.make_request(),
            get_updates_request=sandbox.make_request(), clock=utcnow, rate_limiter=limiter,
        )  # fmt: skip
        await application.initialize()
        started = time.perf_counter()
        with database.session() as session:
            draft = broadcasts.create(session, author=None, text="Mời Anh/Chị dự hội thảo.")
            assert draft.id is not None
            broadcast_id = draft.id
            broadcasts.set_audience(
                session, broadcast_id=broadcast_id, author=None,
                audience=Audience(roles=(Role.WORKER,)),
            )  # fmt: skip
            broadcasts.confirm(
                session, broadcast_id=broadcast_id, author=None,
                render=lambda language: Message("Mời Anh/Chị dự hội thảo thành tựu ngày 20/3."),
            )  # fmt: skip
        queue_seconds = time.perf_counter() - started
        done = asyncio.Event()
        replies: list[float] = []

        async def send() -> None:
            # The bot's outbox job: a tick every SEND_INTERVAL; a tick that comes while the
            # previous drain still runs is skipped.
            loop = asyncio.get_running_loop()
            first = loop.time()
            while True:
                await drain(application.bot, database, clock=utcnow, config=ALWAYS)
                with database.session() as session:
                    if broadcasts.progress(session, broadcast_id).finished:
                        done.set()
                        return
                elapsed = loop.time() - first
                await asyncio.sleep(SEND_INTERVAL - elapsed % SEND_INTERVAL)

        async def talk() -> None:
            await asyncio.sleep(1.0)
            while not done.is_set():
                before = len(talker.messages())
                talker.send_command("help")
                asked = time.perf_counter()
                for raw in sandbox.take_updates():
                    await application.process_update(Update.de_json(raw, application.bot))
                if len(talker.messages()) > before:
                    replies.append(time.perf_counter() - asked)
                await asyncio.sleep(TALK_EVERY)

        await asyncio.gather(send(), talk())
        await application.shutdown()
    times = [t for t, chat, _ in sandbox.stats.sends if chat >= FIRST_RECIPIENT]
    elapsed = (max(times) - min(times)) if len(times) > 1 else float("nan")
    database.dispose()
    return Result(
        name, recipients, queue_seconds, len(times), (len(times) - 1) / elapsed,
        sandbox.stats.rate_limited, replies,
    )  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=1500)
    parser.add_argument("--database-url", help="default: a fresh SQLite file per run")
    parser.add_argument("--mode", choices=["strict", "lenient", "both"], default="both")
    args = parser.parse_args()
    modes = ["strict", "lenient"] if args.mode == "both" else [args.mode]
    print(f"broadcast to {args.recipients} recipients, 30/s overall and 1/s a chat, outbox tick "
          f"{SEND_INTERVAL:g} s")  # fmt: skip
    for mode in modes:
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{folder}/bench.db"
            result = await run(mode, PacedRateLimiter(), args.recipients, url)
        print(result.line(), flush=True)
    print("baseline (commit 09faa25, before the margin and the resumption after a 429):")
    for mode, recipients, rate, limited, p95 in BASELINE:
        print(f"{mode:<22} {recipients:>6} sent  {rate:6.2f} msg/s  429s: {limited:<4} "
              f"reply p95: {p95:.3f} s")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
