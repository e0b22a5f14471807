"""How many people per second the bot registers end to end (real Application, sandbox, SQLite
or PostgreSQL), and what bounds it.

    .venv/bin/python bench/registration.py [--people 300] [--database-url URL]

Baseline: the same number of `models.programme.register` calls alone, without Telegram. The
sandbox enforces Telegram's limits on its own clock and the bot's rate limiter waits on that
clock, so the wall-clock figure is the bot's own cost (handlers, persistence, HTTP transport);
in production the overall limit of 30 messages a second bounds registrations at about six a
second, since each takes about five sends.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.app import build_application
from bot.playback import Stage
from bot.ratelimit import PacedRateLimiter
from bot.sandbox import FakeClock, Sandbox
from bot.settings import Settings
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider, create_invite, register
from models.tables import Role

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def seed(database: Database) -> tuple[str, int]:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng")
        draft = EnterpriseDraft("Xưởng mộc Hòa Phát", "wood", "da-nang", 5000, NOW.date())
        enterprise = add_enterprise(session, provider_id=provider.id, draft=draft, today=NOW.date())
        invite = create_invite(
            session, role=Role.WORKER, enterprise_id=enterprise.id, days=14, now=NOW
        )
        return invite.code, enterprise.id  # type: ignore[return-value]


async def through_the_bot(url: str, people: int, data_dir: Path) -> tuple[float, int, int]:
    database = Database(url)
    code, _ = seed(database)
    sandbox = Sandbox(clock=(api_clock := FakeClock()))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        token=sandbox.token, database_url=url, api_base_url="http://sandbox/bot",
        data_dir=data_dir,
    )  # fmt: skip
    # The sandbox enforces Telegram's limits on its clock; the limiter waits on the same clock,
    # so the figure is the bot's own cost, not a second of pacing per reply.
    application = build_application(
        settings, database=database, request=sandbox.make_request(),
        get_updates_request=sandbox.make_request(), clock=lambda: NOW,
        rate_limiter=PacedRateLimiter(clock=api_clock, sleep=api_clock.sleep),
    )  # fmt: skip
    await application.initialize()
    stage = Stage(sandbox, application, api_clock=api_clock)
    started = time.perf_counter()
    for index in range(people):
        person = stage.person(10_000 + index, f"Người lao động {index}")
        await person.say(f"/start {code}")
        await person.press("Tiếng Việt")
        await person.press("✅")
    elapsed = time.perf_counter() - started
    await application.shutdown()
    database.dispose()
    return elapsed, len(sandbox.stats.sends), sandbox.stats.rate_limited


def domain_only(url: str, people: int) -> float:
    database = Database(url)
    code, _ = seed(database)
    started = time.perf_counter()
    for index in range(people):
        with database.session() as session:
            register(
                session, code=code, telegram_user_id=20_000 + index, chat_id=20_000 + index,
                display_name=f"Người lao động {index}", username=None, language="vi", now=NOW,
            )  # fmt: skip
    elapsed = time.perf_counter() - started
    database.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        urls = [args.database_url or f"sqlite:///{folder}/a.db", f"sqlite:///{folder}/b.db"]
        if args.database_url:
            urls[1] = args.database_url
        run = through_the_bot(urls[0], args.people, Path(folder))
        bot_seconds, sends, refused = asyncio.run(run)
        base_seconds = domain_only(urls[1], args.people)
    per_person = bot_seconds / args.people * 1000
    print(f"people registered:            {args.people}")
    print(f"through the bot (3 updates):  {bot_seconds:.2f} s, {args.people / bot_seconds:.1f}/s, "
          f"{per_person:.1f} ms per person")  # fmt: skip
    print(f"baseline, domain call only:   {base_seconds:.2f} s, {args.people / base_seconds:.1f}/s")
    print(f"chat sends and edits:         {sends} ({sends / args.people:.1f} per person), "
          f"429 answers: {refused}")  # fmt: skip


if __name__ == "__main__":
    main()
