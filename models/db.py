"""Engine, sessions and schema migrations."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import Session

from models.files import create_private_file, tighten
from models.locks import migration_lock

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Execution option of transactions that only read (Database.reading).
READ_ONLY = "oshbot_read_only"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's ini interpolation treats % specially; URLs may contain it (escaped passwords).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # a URI filename: SQLite opens it itself
        return None
    return Path(parsed.database)


def _owner_only(path: Path) -> None:
    """The database holds everyone's personal data: 0600 whatever the umask. SQLite gives its
    -wal and -shm files the database file's mode, so creating the file first covers them."""
    create_private_file(path)
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        tighten(companion)


def make_engine(url: str, *, busy_timeout: float = 15.0) -> sa.Engine:
    """`busy_timeout`: how long SQLite waits for another writer before giving up."""
    if url.startswith("sqlite"):
        if (path := sqlite_path(url)) is not None:
            _owner_only(path)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout}
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # pysqlite starts transactions lazily at the first write, which releases a
            # SAVEPOINT taken before it for good; SQLAlchemy's recipe: begin explicitly.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # WAL lets the scheduler read while a handler writes; foreign keys are off by default.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        # Raw connections of this thread inside a transaction that holds the write lock.
        holding = threading.local()

        def _held() -> set[int]:
            if not hasattr(holding, "connections"):
                holding.connections = set()
            return holding.connections

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            raw = id(connection.connection.dbapi_connection)
            if connection.get_execution_options().get(READ_ONLY) or _held():
                # A look-up that never writes needs no lock. And when this thread already holds
                # the lock in another session (an enclosing one, or another update's paused at
                # an await on the event loop), waiting for it could only end at busy_timeout: the
                # holder cannot go on until this thread does. Such a session reads what was
                # committed; the code never writes there.
                connection.exec_driver_sql("BEGIN")
                return
            # IMMEDIATE takes the write lock at the start, waiting up to busy_timeout for it. A
            # plain (deferred) BEGIN reads first and asks for the lock at its first write; in
            # WAL mode, if another connection holds it or wrote meanwhile, that fails at once
            # with "database is locked", busy_timeout or not (SQLite cannot wait: the snapshot
            # already read may be stale). Readers never wait for writers either way.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            _held().add(raw)

        def _released(connection) -> None:
            _held().discard(id(connection.connection.dbapi_connection))

        sa.event.listen(engine, "commit", _released)
        sa.event.listen(engine, "rollback", _released)

        @sa.event.listens_for(engine, "checkin")
        def _checked_in(dbapi_connection, _record):
            _held().discard(id(dbapi_connection))
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    sa.event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _without_nul(_conn, _cursor, statement, parameters, _context, _executemany):
    """Drops NUL characters from text parameters. PostgreSQL's text cannot hold them and nobody
    types them; a message that carries one is kept without it (on SQLite too, so that both
    databases store the same). Parameters come as a dict, a row, a list of rows, or a flat row
    of a batched INSERT, so they are walked whatever their shape."""
    if not _has_nul(parameters):
        return statement, parameters
    return statement, _strip_nul(parameters)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: _strip_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_strip_nul(item) for item in value)
    return value


def current_revisions(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions(url: str) -> set[str]:
    """The newest migrations; more than one while parallel branches await their merge."""
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def upgrade(engine: sa.Engine) -> bool:
    """Bring the schema to the newest migrations; returns whether anything was applied."""
    url = engine.url.render_as_string(hide_password=False)
    if current_revisions(engine) == head_revisions(url):
        return False
    # Workers starting together: one migrates, the others wait and then find nothing to do.
    with migration_lock(engine):
        return _upgrade(engine, url)


def _upgrade(engine: sa.Engine, url: str) -> bool:
    if current_revisions(engine) == head_revisions(url):
        return False
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
        if config.attributes.get("rebuild_rollups"):
            # A migration changed what the rollups count; they are derived data, rebuilt with
            # the code that matches the schema now at head. Local import: the reports depend on
            # the models, not the other way round.
            from reports.rollups import rebuild

            rebuild(Session(bind=connection))
    log.info("database upgraded to %s", ", ".join(sorted(head_revisions(url))))
    return True


class Database:
    """The one handle on the database that the bot, the scheduler and the CLI share."""

    def __init__(self, url: str, *, migrate: bool = True, busy_timeout: float = 15.0) -> None:
        # Local import: the reports depend on the models, not the other way round; every
        # process opens its database here, so every process keeps the rollups.
        from reports.rollups import install as keep_rollups

        keep_rollups()
        self.url = url
        self.engine = make_engine(url, busy_timeout=busy_timeout)
        self._reader = self.engine.execution_options(**{READ_ONLY: True})
        if self.engine.dialect.name != "sqlite":
            # A read needs no transaction of its own: in autocommit each statement is one round
            # trip, without the BEGIN and ROLLBACK around it (the person looked up on every
            # update). Reads of several statements see what each statement finds committed.
            self._reader = self._reader.execution_options(isolation_level="AUTOCOMMIT")
        if migrate:
            upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back when it raises."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads. On SQLite it starts without taking the write lock
        (see make_engine), so it never waits for a writer; elsewhere it runs in autocommit."""
        # Closing gives the connection back, which ends the transaction without expiring what
        # was read (a rollback would).
        with Session(self._reader) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
