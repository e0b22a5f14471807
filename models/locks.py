"""Coordination between several oshbot processes on one database, with PostgreSQL's own locks.

PostgreSQL is the distributed engine oshbot already has (DESIGN.md, "More than one process"):
an advisory lock held by a session is released by the server the moment that session's
connection ends, also when its process is killed with SIGKILL, so a lock is a lease that needs
no heartbeat, no expiry guess and no home-made protocol.

* `Leadership`: the one worker that sends (outbox, broadcast progress, scheduled jobs) holds
  SENDER_LOCK on a connection of its own for as long as it lives; the others wait in the lock's
  queue (`oshbot serve`) or try again at each of their periodic ticks, and the first one to get
  it after a crash takes over.
* `migration_lock`: `upgrade` runs under MIGRATION_LOCK, so workers started together do not
  apply the same migration twice.
* `single_process`: SQLite has no such locks and no second writer worth the name; a lock file
  beside the database makes a second `oshbot serve` on it stop at once with a clear message.

Each lock is a fixed 64-bit key: other applications sharing the PostgreSQL server pick their own.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

import sqlalchemy as sa

log = logging.getLogger(__name__)

# "oshbot" in ASCII, then a number per lock: stable across releases, unlikely to collide.
SENDER_LOCK = 0x6F736862_6F740001
MIGRATION_LOCK = 0x6F736862_6F740002


def is_postgres(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def migration_lock(engine: sa.Engine) -> Iterator[None]:
    """Held around a schema upgrade on PostgreSQL (a no-op elsewhere): a second process waits,
    then finds the schema already at head."""
    if not is_postgres(engine):
        yield
        return
    with engine.connect() as connection:
        connection.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK)))
        try:
            yield
        finally:
            connection.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK)))
            connection.commit()


class Leadership:
    """Whether this process is the one that sends: a worker of `oshbot serve` or `oshbot run`,
    or a command that sends (a cron `oshbot jobs run`, `oshbot broadcast --yes`), never two at
    once, so that the bot's rate stays within Telegram's limit whoever sends. On PostgreSQL the
    sender holds SENDER_LOCK; on a SQLite file it holds an exclusive lock on
    `<database>.sender.lock` (the kernel drops it when the process dies); an in-memory
    database has one process, which always leads.

    `check()` is cheap and safe to call at every tick: while leading it proves the lock's
    connection is still alive (a lost connection means a lost lock: another worker may already
    lead); while following it tries the lock once, without waiting."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._connection: sa.Connection | None = None
        self._pid: int | None = None
        self._guard = threading.Lock()
        self.since: datetime | None = None  # when this process last became the leader
        database = None if is_postgres(engine) else engine.url.database
        self._file_path = (
            Path(database + ".sender.lock")
            if database not in (None, "", ":memory:") and not str(database).startswith("file:")
            else None
        )
        self._file: IO[str] | None = None
        self._announce = False  # `wait` got the lock: the next `check` says it became leader

    @property
    def leading(self) -> bool:
        if is_postgres(self.engine):
            return self._connection is not None
        return self._file is not None or self._file_path is None

    def check(self) -> tuple[bool, bool]:
        """(leading now, became the leader with this call)."""
        # Jobs tick at once from several threads; one connection serves one query at a time.
        with self._guard:
            if is_postgres(self.engine):
                return self._check()
            return self._check_file()

    def _check_file(self) -> tuple[bool, bool]:
        if self._file_path is None or self._file is not None:
            return True, False
        handle: IO[str] = open(self._file_path, "a+")  # noqa: SIM115 (held while leading)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False, False
        self._file = handle
        self.since = datetime.now().astimezone()
        log.info("this process is now the sender (pid %d)", os.getpid())
        return True, True

    def _check(self) -> tuple[bool, bool]:
        if self._connection is not None:
            try:
                # The same server session as when the lock was taken: SQLAlchemy reconnects a
                # connection that broke, and a new session holds no lock.
                pid = self._connection.execute(sa.select(sa.func.pg_backend_pid())).scalar()
                self._connection.commit()  # never "idle in transaction" for a worker's life
                if pid == self._pid:
                    became, self._announce = self._announce, False
                    return True, became
                log.warning("the connection that held the sender lock was replaced")
                self._drop()
            except sa.exc.SQLAlchemyError:
                log.warning("lost the database connection that held the sender lock")
                self._drop()
        connection = None
        try:
            connection = self.engine.connect()
            got, pid = connection.execute(
                sa.select(sa.func.pg_try_advisory_lock(SENDER_LOCK), sa.func.pg_backend_pid())
            ).one()
            # Leaving no transaction open: the lock belongs to the session, not to one.
            connection.commit()
        except sa.exc.DBAPIError:
            if connection is not None:
                connection.close()
            log.warning("could not ask the database for the sender lock", exc_info=True)
            return False, False
        if not got:
            connection.close()
            return False, False
        self._connection, self._pid = connection, pid
        self.since = datetime.now().astimezone()
        log.info("this worker is now the sender (pid %d)", os.getpid())
        return True, True

    def wait(self) -> bool:
        """Blocks in the lock's queue until this process holds the sender lock (PostgreSQL):
        a standby worker calls it from a thread of its own, so that it leads the moment the
        sender's connection ends (the server hands the lock to the first session waiting),
        rather than at its next tick. The next `check` reports the change. False when the
        database could not be asked."""
        connection = None
        try:
            connection = self.engine.connect()
            pid = connection.execute(
                sa.select(sa.func.pg_advisory_lock(SENDER_LOCK), sa.func.pg_backend_pid())
            ).one()[1]
            connection.commit()
        except sa.exc.DBAPIError:
            if connection is not None:
                connection.close()
            log.warning("could not wait for the sender lock", exc_info=True)
            return False
        with self._guard:
            if self._connection is not None:  # a session of ours holds it already
                connection.execute(sa.select(sa.func.pg_advisory_unlock(SENDER_LOCK)))
                connection.commit()
                connection.close()
                return True
            self._connection, self._pid = connection, pid
            self._announce = True
            self.since = datetime.now().astimezone()
        log.info("this worker is now the sender (pid %d)", os.getpid())
        return True

    def release(self) -> None:
        with self._guard:
            self._release()

    def _release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None
        if self._connection is not None:
            try:
                self._connection.execute(sa.select(sa.func.pg_advisory_unlock(SENDER_LOCK)))
                self._connection.commit()
            except sa.exc.SQLAlchemyError:
                pass  # the lock went with the connection anyway
            self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # The connection may be broken: invalidate rather than return it to the pool.
            connection.invalidate()
            connection.close()


class AlreadyRunning(RuntimeError):
    """Another process serves this SQLite database."""


@contextmanager
def single_process(database_file: Path) -> Iterator[None]:
    """An exclusive lock on `<database>.lock` for the life of the block; raises AlreadyRunning
    at once when another process holds it. The kernel drops the lock when the holder dies, so a
    crash leaves nothing to clean up."""
    path = database_file.with_name(database_file.name + ".lock")
    handle: IO[str] = open(path, "a+")  # noqa: SIM115 (held for the whole block)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(str(database_file)) from None
        yield
    finally:
        handle.close()
