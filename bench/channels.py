"""A broadcast to people on Telegram and people on Zalo at once, through both sandboxes with
their limits on, on the real clock.

    .venv/bin/python -m bench.channels [--telegram 600] [--zalo 160] [--database-url URL]

The outbox is drained as the running bot drains it (`drain` with the Zalo route): each channel
in its own lane, Telegram's rows through oshbot's limiter (bot/ratelimit.py) against the
Telegram sandbox in its strict mode (at most 30 sends in any sliding second), Zalo's through the
Zalo client and its pacer (bot/zalo/pacing.py, 8 a second) against the Zalo sandbox (10 a
second overall, 1 a second per chat, 429 without retry_after). It prints, per channel, the rate
(accepted sends / time from the first to the last), the 429s, the busiest second, and how much
of the two channels' sending overlapped (1.0: the slower channel sent the whole time the faster
one did). The defaults take about 20 s on each channel.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import tempfile
import time
from dataclasses import dataclass
from datetime import time as clock_time
from pathlib import Path

import sqlalchemy as sa

from bot.app import build_application
from bot.dashboard.auth import secret_of
from bot.ratelimit import PacedRateLimiter
from bot.sandbox import RateLimits, Sandbox
from bot.sender import ZaloRoute, drain
from bot.settings import Settings
from bot.zalo.client import ZaloClient
from bot.zalo.limits import SEND_RATE as ZALO_PACE
from bot.zalo.pacing import Pacer
from bot.zalo.sandbox import BASE_URL, ZaloSandbox
from models import broadcasts
from models.audience import Audience
from models.db import Database
from models.outbox import Message
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import Contact, Role, utcnow
from scheduler.config import QuietHours, SchedulerConfig

FIRST_TELEGRAM = 100_000
ALWAYS = SchedulerConfig(quiet=QuietHours(clock_time(0, 0), clock_time(0, 0)))
TEXT = "<b>Mời Anh/Chị</b> dự hội thảo thành tựu ngày 20/3 tại Khu công nghiệp Hòa Khánh."


@dataclass
class Lane:
    name: str
    times: list[float]
    rate_limited: int
    limit: float

    def rate(self) -> float:
        span = self.times[-1] - self.times[0] if len(self.times) > 1 else float("nan")
        return (len(self.times) - 1) / span

    def busiest(self) -> int:
        times = self.times
        return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)

    def line(self) -> str:
        return (
            f"{self.name:<9} {len(self.times):>5} sent  {self.rate():6.2f} msg/s  "
            f"429s: {self.rate_limited:<3} busiest second: {self.busiest()} "
            f"(sandbox limit {self.limit:g}/s)"
        )


def seed(database: Database, telegram: int, zalo: int) -> None:
    today = utcnow().date()
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng")
        draft = EnterpriseDraft("Khu công nghiệp Hòa Khánh", "wood", "da-nang", 50_000, today)
        enterprise = add_enterprise(session, provider_id=provider.id, draft=draft, today=today)
        common = {"role": str(Role.WORKER), "enterprise_id": enterprise.id, "language": "vi",
                  "registered_at": utcnow()}  # fmt: skip
        rows = [
            {"telegram_user_id": uid, "chat_id": uid, **common}
            for uid in range(FIRST_TELEGRAM, FIRST_TELEGRAM + telegram)
        ] + [{"zalo_user_id": f"z{n}", **common} for n in range(zalo)]
        session.execute(sa.insert(Contact), rows)


async def run(telegram: int, zalo: int, url: str) -> tuple[Lane, Lane, float]:
    database = Database(url)
    seed(database, telegram, zalo)
    sandbox = Sandbox(limits=RateLimits(strict=True))
    for uid in range(FIRST_TELEGRAM, FIRST_TELEGRAM + telegram):
        sandbox.user(uid, f"Người lao động {uid}")
    zalo_sandbox = ZaloSandbox(fetch_photos=False)
    for n in range(zalo):
        zalo_sandbox.user(f"z{n}", f"Người lao động Zalo {n}")
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            token=sandbox.token, database_url=url, api_base_url="http://sandbox/bot",
            data_dir=Path(data), public_url="https://osh.example.vn",
        )  # fmt: skip
        application = build_application(
            settings, database=database, request=sandbox.make_request(),
            get_updates_request=sandbox.make_request(), clock=utcnow,
            rate_limiter=PacedRateLimiter(),
        )  # fmt: skip
        await application.initialize()
        client = ZaloClient(zalo_sandbox.token, BASE_URL, zalo_sandbox.transport(), pacer=Pacer())
        route = ZaloRoute(client, settings.data_dir, secret_of(settings), settings.public_url)
        with database.session() as session:
            draft = broadcasts.create(session, author=None, text="Mời dự hội thảo")
            assert draft.id is not None
            broadcasts.set_audience(session, broadcast_id=draft.id, author=None,
                                    audience=Audience(roles=(Role.WORKER,)))  # fmt: skip
            broadcasts.confirm(session, broadcast_id=draft.id, author=None,
                               render=lambda _: Message(TEXT))  # fmt: skip
        started = time.perf_counter()
        while True:
            await drain(application.bot, database, clock=utcnow, config=ALWAYS, zalo=route)
            with database.session() as session:
                if broadcasts.progress(session, draft.id).finished:
                    break
            await asyncio.sleep(1.0)
        elapsed = time.perf_counter() - started
        await client.aclose()
        await application.shutdown()
    database.dispose()
    on_telegram = Lane("telegram", sorted(sandbox.stats.send_times()), sandbox.stats.rate_limited,
                       RateLimits().global_per_second)  # fmt: skip
    on_zalo = Lane("zalo", sorted(zalo_sandbox.stats.send_times()),
                   zalo_sandbox.stats.rate_limited, 10.0)  # fmt: skip
    return on_telegram, on_zalo, elapsed


def overlap(one: Lane, other: Lane) -> float:
    """The share of the shorter lane's span during which the other was sending too."""
    start = max(one.times[0], other.times[0])
    end = min(one.times[-1], other.times[-1])
    shorter = min(one.times[-1] - one.times[0], other.times[-1] - other.times[0])
    return max(0.0, end - start) / shorter if shorter > 0 else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--telegram", type=int, default=600)
    parser.add_argument("--zalo", type=int, default=160)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    print(f"broadcast to {args.telegram} people on Telegram (strict sandbox, 30/s) and "
          f"{args.zalo} on Zalo (sandbox 10/s, pacer {ZALO_PACE:g}/s)")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        on_telegram, on_zalo, elapsed = await run(args.telegram, args.zalo, url)
    print(on_telegram.line())
    print(on_zalo.line())
    print(f"overlap of the two channels: {overlap(on_telegram, on_zalo):.2f}; "
          f"whole broadcast {elapsed:.1f} s")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
