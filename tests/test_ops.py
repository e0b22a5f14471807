"""Operations: the sender lock, the migration lock, one SQLite worker, backups, errors, logs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.cli import JsonFormatter
from bot.cluster import release_claims
from bot.sandbox import Sandbox
from bot.sandbox_http import SandboxServer
from models.db import Database, current_revisions, head_revisions, make_engine, upgrade
from models.locks import AlreadyRunning, Leadership, single_process
from models.programme import add_provider
from models.tables import Outbox, OutboxStatus, Provider, utcnow
from tests.conftest import POSTGRES, POSTGRES_URL, World, _with_database

postgres_only = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL run only")


@contextmanager
def empty_postgres() -> Iterator[str]:
    """A database with no schema at all, dropped afterwards."""
    name = f"oshbot_ops_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# -- the sender lock ------------------------------------------------------------------------


@postgres_only
def test_one_worker_leads_and_another_takes_over_when_its_connection_dies(
    database: Database,
) -> None:
    first, second = make_engine(database.url), make_engine(database.url)
    try:
        one, two = Leadership(first), Leadership(second)
        assert one.check() == (True, True)
        assert one.check() == (True, False)  # still leading, not a new takeover
        assert two.check() == (False, False)
        # What the server sees when a worker is killed: its connection ends.
        first.dispose()
        assert one._connection is not None
        one._connection.invalidate()
        # The server frees the lock once it sees the connection end: at once, or a moment later
        # on a loaded machine.
        for _ in range(50):
            if (taken := two.check()) == (True, True):
                break
            time.sleep(0.1)
        assert taken == (True, True)
        assert one.check() == (False, False)  # back, it finds the lock taken
    finally:
        first.dispose()
        second.dispose()


@postgres_only
def test_a_standby_waiting_in_the_queue_leads_the_moment_the_sender_dies(
    database: Database,
) -> None:
    """`oshbot serve` on PostgreSQL: a worker that does not send waits in the lock's queue
    (`wait`, in a thread of its own) and holds the lock as soon as the sender's connection ends;
    its next `check` says it took over."""
    first, second = make_engine(database.url), make_engine(database.url)
    try:
        sender, standby = Leadership(first), Leadership(second)
        assert sender.check() == (True, True)
        waiting = threading.Thread(target=standby.wait, daemon=True)
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive() and not standby.leading  # queued behind the sender
        assert sender._connection is not None
        sender._connection.invalidate()  # what the server sees when the sender is killed
        waiting.join(10)
        assert not waiting.is_alive() and standby.leading
        assert standby.check() == (True, True)
        assert standby.check() == (True, False)
        assert sender.check() == (False, False)
    finally:
        first.dispose()
        second.dispose()


def test_on_a_sqlite_file_one_sender_at_a_time_and_the_next_takes_over(
    database: Database,
) -> None:
    """The bot and a cron `jobs run` (or `broadcast --yes`) on one SQLite file: one holds
    `<database>.sender.lock`, the other waits its turn; the lock goes with its holder."""
    if POSTGRES:
        pytest.skip("SQLite run only")
    bot, cron = Leadership(database.engine), Leadership(database.engine)
    assert bot.check() == (True, True)
    assert bot.check() == (True, False)
    assert cron.check() == (False, False) and not cron.leading
    bot.release()
    assert cron.check() == (True, True)
    assert bot.check() == (False, False)
    cron.release()
    assert Leadership(make_engine("sqlite://")).check() == (True, False)  # in memory: alone


def test_a_new_sender_takes_back_what_the_dead_one_had_in_flight(database: Database) -> None:
    now = utcnow()
    with database.session() as session:
        session.add(
            Outbox(key="broadcast:1:1", chat_id=1, kind="broadcast", payload={"text": "x"},
                   status=OutboxStatus.SENDING, sent_at=now - timedelta(seconds=5),
                   not_before=now, created_at=now)
        )  # fmt: skip
    assert release_claims(database) == 1
    with database.session() as session:
        assert session.exec(select(Outbox.status)).one() == OutboxStatus.PENDING


# -- migrations -----------------------------------------------------------------------------


@postgres_only
def test_workers_starting_together_migrate_once() -> None:
    with empty_postgres() as url:
        errors: list[BaseException] = []
        applied: list[bool] = []
        engines = [make_engine(url) for _ in range(3)]
        start = threading.Barrier(len(engines))

        def migrate(engine: sa.Engine) -> None:
            start.wait()
            try:
                applied.append(upgrade(engine))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(applied) == [False, False, True]
        assert current_revisions(engines[0]) == head_revisions(url)
        for engine in engines:
            engine.dispose()


# -- SQLite: one worker -----------------------------------------------------------------------


def test_a_second_process_on_one_sqlite_database_is_refused(tmp_path: Path) -> None:
    database_file = tmp_path / "oshbot.db"
    with single_process(database_file):
        with pytest.raises(AlreadyRunning), single_process(database_file):
            pass
        other = subprocess.run(
            [sys.executable, "-c",
             "import sys; from pathlib import Path; from models.locks import single_process\n"
             "with single_process(Path(sys.argv[1])): pass", str(database_file)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert other.returncode != 0 and "AlreadyRunning" in other.stderr
    with single_process(database_file):  # free again once the holder is gone
        pass


def oshbot(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OSHBOT_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        capture_output=True, text=True, check=False, env=environment, cwd=cwd,
        timeout=120,
    )  # fmt: skip


def test_serve_on_sqlite_refuses_a_second_worker_with_a_clear_message(tmp_path: Path) -> None:
    database_file = tmp_path / "oshbot.db"
    env = {
        "OSHBOT_TOKEN": "123:abc", "OSHBOT_DATABASE_URL": f"sqlite:///{database_file}",
        "OSHBOT_WEBHOOK_URL": "https://bot.example.org/telegram",
        "OSHBOT_WEBHOOK_SECRET": "s3cret", "OSHBOT_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
    }  # fmt: skip
    with single_process(database_file):
        second = oshbot("serve", "--port", "1", env=env, cwd=tmp_path)
    assert second.returncode == 1
    assert "SQLite allows one worker" in second.stderr
    assert "Traceback" not in second.stderr


# -- errors and logs --------------------------------------------------------------------------


def test_version() -> None:
    from bot import __version__

    done = oshbot("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"oshbot {__version__}" and __version__ != "0+unknown"


def test_an_unreachable_database_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    env = {"OSHBOT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    short = oshbot("db", "upgrade", env=env, cwd=tmp_path)
    assert short.returncode == 1
    lines = short.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Cannot reach the database:"), short.stderr
    long = oshbot("--debug", "db", "upgrade", env=env, cwd=tmp_path)
    assert "Traceback" in long.stderr
    also = oshbot("db", "upgrade", env={**env, "OSHBOT_LOG_LEVEL": "debug"}, cwd=tmp_path)
    assert "Traceback" in also.stderr


def test_an_unreachable_bot_api_is_one_line(tmp_path: Path) -> None:
    env = {
        "OSHBOT_TOKEN": "123:abc", "OSHBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "OSHBOT_API_BASE_URL": "http://127.0.0.1:1/bot", "OSHBOT_DATA_DIR": str(tmp_path / "d"),
        "OSHBOT_LOG_LEVEL": "WARNING",
    }  # fmt: skip
    done = oshbot("run", env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("Cannot reach the Bot API")


async def test_a_refused_token_is_one_line(tmp_path: Path) -> None:
    server = SandboxServer(Sandbox())
    port = await server.start()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OSHBOT_")}
    environment.update({
        "OSHBOT_TOKEN": "999:not-the-sandbox-token", "OSHBOT_API_BASE_URL": server.base_url,
        "OSHBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "OSHBOT_LOG_LEVEL": "WARNING",
        "OSHBOT_DATA_DIR": str(tmp_path / "d"),
    })  # fmt: skip
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from bot.cli import main; main()", "run",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=environment, cwd=tmp_path,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 120)
    finally:
        await server.stop()
    assert port and process.returncode == 1
    text = stderr.decode()
    assert "Traceback" not in text
    assert (
        text.strip()
        .splitlines()[-1]
        .startswith("The Bot API refused OSHBOT_TOKEN: check it with @BotFather.")
    )


def test_json_logs_are_one_object_a_line() -> None:
    record = logging.LogRecord("oshbot", logging.WARNING, __file__, 1, "Gửi %d tin", (3,), None)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == ("WARNING", "oshbot", "Gửi 3 tin")


# -- backup and restore ----------------------------------------------------------------------


def test_backup_and_restore_round_trip(database: Database, tmp_path: Path) -> None:
    data = tmp_path / "data"
    photo = data / "media" / "improvements" / "a.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8 before")
    with database.session() as session:
        add_provider(session, name="Trung tâm ATVSLĐ Huế")
    env = {"OSHBOT_DATABASE_URL": database.url, "OSHBOT_DATA_DIR": str(data)}
    archive = tmp_path / "backups" / "b.tar.gz"
    taken = oshbot("backup", str(archive), env=env, cwd=tmp_path)
    assert taken.returncode == 0, taken.stderr
    assert archive.stat().st_mode & 0o077 == 0  # everyone's personal data: owner only
    # Life goes on after the backup: a provider added, a photo gone, another one new.
    with database.session() as session:
        add_provider(session, name="Trung tâm sau sao lưu")
    photo.unlink()
    (data / "media" / "later.jpg").write_bytes(b"later")
    database.dispose()
    restored = oshbot("restore", str(archive), "--yes", env=env, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    with database.session() as session:
        assert session.exec(select(Provider.name)).all() == ["Trung tâm ATVSLĐ Huế"]
    assert photo.read_bytes() == b"\xff\xd8 before"
    assert not (data / "media" / "later.jpg").exists()
    assert current_revisions(database.engine) == head_revisions(database.url)


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"not a tar")
    done = oshbot(
        "restore",
        str(bogus),
        "--yes",
        cwd=tmp_path,
        env={"OSHBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
    )
    assert done.returncode == 1 and "is not an oshbot backup" in done.stderr
    assert "Traceback" not in done.stderr


@postgres_only
def test_simultaneous_checks_make_one_leader(database: Database) -> None:
    leadership = Leadership(database.engine)
    start = threading.Barrier(8)
    outcomes: list[tuple[bool, bool]] = []

    def check() -> None:
        start.wait()
        outcomes.append(leadership.check())

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [(True, False)] * 7 + [(True, True)]
    leadership.release()


@postgres_only
@pytest.mark.filterwarnings("ignore:Tasks created via:telegram.warnings.PTBUserWarning")
async def test_periodic_jobs_run_only_on_the_worker_that_sends(world: World) -> None:
    from bot.cluster import CATCH_UP, LEADERSHIP, ClusterJobQueue

    other = Leadership(make_engine(world.database.url))
    assert other.check() == (True, True)  # another worker sends
    ours = Leadership(world.database.engine)
    world.application.bot_data[LEADERSHIP] = ours
    ran: list[str] = []

    async def record(context: object) -> None:
        ran.append(context.job.name)

    queue = world.application.job_queue
    assert isinstance(queue, ClusterJobQueue)
    outbox = queue.run_once(record, when=3600, name="outbox")
    catch_up = queue.run_once(record, when=3600, name=CATCH_UP)
    await ClusterJobQueue.job_callback(queue, outbox)
    await ClusterJobQueue.job_callback(queue, catch_up)
    assert ran == []  # skipped: the other worker sends
    other.release()  # it stops (or dies): this worker takes over at its next tick
    other.engine.dispose()
    await ClusterJobQueue.job_callback(queue, outbox)
    for _ in range(100):  # the skipped catch-up runs once, in the background
        if len(ran) == 2:
            break
        await asyncio.sleep(0.01)
    assert sorted(ran) == sorted(["outbox", CATCH_UP])
    ours.release()
