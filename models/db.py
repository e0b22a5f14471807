"""Engine, sessions and schema migrations."""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # pysqlite starts transactions lazily at the first write, which releases a
            # SAVEPOINT taken before it for good; SQLAlchemy's recipe: begin explicitly.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # WAL lets the scheduler read while a handler writes; foreign keys are off by default.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(connection):  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN")
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    sa.event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _without_nul(_conn, _cursor, statement, parameters, _context, _executemany):  # type: ignore[no-untyped-def]
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

    def dispose(self) -> None:
        self.engine.dispose()
