"""Shared fixtures: a fresh database per test (SQLite or PostgreSQL), and a world in which the
real Application talks to the in-process Bot API sandbox.

OSHBOT_TEST_DATABASE=postgres runs everything on PostgreSQL at OSHBOT_TEST_POSTGRES_URL; each
test gets its own database cloned from a migrated template, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from telegram.ext import Application, ContextTypes

from bot.app import build_application
from bot.guard import LIMITER_KEY, InboundLimiter
from bot.playback import Person, Stage
from bot.ratelimit import PacedRateLimiter
from bot.sandbox import FakeClock, Sandbox
from bot.sender import SendReport, send_due
from bot.settings import Settings
from models.db import Database, make_engine, upgrade

POSTGRES = os.environ.get("OSHBOT_TEST_DATABASE") == "postgres"
POSTGRES_URL = os.environ.get(
    "OSHBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _with_database(url: str, name: str) -> str:
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that every test copies, so migrations run once per session."""
    if not POSTGRES:
        path = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield str(path)
        return
    name = f"oshbot_tpl_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(_with_database(POSTGRES_URL, name))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@contextmanager
def fresh_database(template: str, folder: Path) -> Iterator[str]:
    """A database of its own, cloned from the migrated template, dropped afterwards."""
    if not POSTGRES:
        target = folder / f"oshbot-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    name = f"oshbot_t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(template_database, tmp_path) as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


class Clock:
    """The programme's clock in tests: moves only when a test moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    """A running bot and the people who talk to it."""

    sandbox: Sandbox
    settings: Settings
    database: Database
    clock: Clock
    api_clock: FakeClock
    application: Application = field(init=False)  # type: ignore[type-arg]
    errors: list[BaseException] = field(default_factory=list)
    stage: Stage = field(init=False)

    async def start(self) -> None:
        self.application = build_application(
            self.settings,
            database=self.database,
            request=self.sandbox.make_request(),
            get_updates_request=self.sandbox.make_request(),
            clock=self.clock,
            # The limiter paces on the sandbox's fake clock; its waits advance that clock.
            rate_limiter=PacedRateLimiter(clock=self.api_clock, sleep=self.api_clock.sleep),
        )

        async def collect(_: object, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert context.error is not None
            self.errors.append(context.error)

        self.application.add_error_handler(collect)
        # People's pace is the sandbox's clock, which each of their actions moves by seconds.
        self.application.bot_data[LIMITER_KEY] = InboundLimiter(self.api_clock)
        # People keep talking to the same stage across a restart; only the bot behind it changes.
        if hasattr(self, "stage"):
            self.stage.application = self.application
        else:
            self.stage = Stage(self.sandbox, self.application, api_clock=self.api_clock)
        await self.application.initialize()
        if self.application.post_init is not None:
            await self.application.post_init(self.application)

    async def restart(self) -> None:
        """What a process restart does: state is flushed and read back by a new Application."""
        await self.stop()
        await self.start()

    async def stop(self) -> None:
        await self.application.update_persistence()
        await self.application.shutdown()

    async def deliver(self) -> None:
        await self.stage.deliver()

    async def drain(self) -> SendReport:
        """Sends what the outbox holds that is due now, as the scheduler's sender would."""
        return await send_due(self.application.bot, self.database, now=self.clock())

    def user(self, user_id: int, name: str = "An", language_code: str = "vi") -> Person:
        return self.stage.person(user_id, name, language_code)


START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def make_world(database: Database, folder: Path) -> World:
    sandbox = Sandbox(clock=(api_clock := FakeClock()))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        token=sandbox.token,
        database_url=database.url,
        api_base_url="http://sandbox/bot",
        data_dir=folder / "data",
        bot_username=None,
    )
    return World(sandbox, settings, database, Clock(START), api_clock)


@pytest.fixture
async def world(database: Database, tmp_path: Path) -> AsyncIterator[World]:
    created = make_world(database, tmp_path)
    await created.start()
    yield created
    await created.stop()
    assert not created.errors, f"handlers raised: {created.errors!r}"
