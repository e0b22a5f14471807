"""`oshbot backup` and `oshbot restore`: the database and the data folder in one archive.

The archive is a gzip'd tar holding:
* `manifest.json`: oshbot's version, the schema revision, the database kind, when it was taken;
* `database.sqlite3` (SQLite's online backup API: a consistent copy while the bot runs) or
  `database.dump` (`pg_dump --format=custom`: one consistent snapshot, restored with
  `pg_restore`);
* `data/`: OSHBOT_DATA_DIR (photos, invite QR codes, exports).

Consistency: the database is copied first, then the files. Files are written once under new
names and never changed, so every file the copied database refers to is in the archive; a file
added after the copy is an extra nobody refers to. (Only the retention job deletes files, at
03:00: do not schedule the backup at that minute.)
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bot import __version__
from models.db import current_revisions, make_engine, sqlite_path
from models.files import FILE_MODE, private_dir

MANIFEST = "manifest.json"
SQLITE_NAME = "database.sqlite3"
PG_NAME = "database.dump"
DATA = "data"


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why in one line."""


@dataclass(frozen=True)
class Manifest:
    version: str
    database: str  # "sqlite" or "postgresql"
    revisions: list[str]
    taken_at: str


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as pg_dump and pg_restore take it (no "+psycopg" driver part)."""
    parsed = sa.engine.make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _kind(url: str) -> str:
    backend = sa.engine.make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups cover SQLite and PostgreSQL, not {backend}")
    return backend


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{command[0]} failed: {message[-1] if message else done.returncode}")


def backup(url: str, data_dir: Path, target: Path) -> Manifest:
    kind = _kind(url)
    engine = make_engine(url)
    try:
        revisions = sorted(current_revisions(engine))
    except sa.exc.OperationalError as error:
        raise BackupError(f"cannot reach the database: {str(error).splitlines()[0]}") from None
    finally:
        engine.dispose()
    manifest = Manifest(__version__, kind, revisions, datetime.now(UTC).isoformat())
    with tempfile.TemporaryDirectory(prefix="oshbot-backup-") as scratch:
        work = Path(scratch)
        if kind == "sqlite":
            source = sqlite_path(url)
            if source is None or not source.exists():
                raise BackupError(f"no SQLite database file at {source}")
            dump = work / SQLITE_NAME
            with sqlite3.connect(source) as live, sqlite3.connect(dump) as copy:
                live.backup(copy)
            live.close()
            copy.close()
        else:
            dump = work / PG_NAME
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", libpq_url(url)])
        (work / MANIFEST).write_text(json.dumps(manifest.__dict__, indent=2))
        private_dir(target.parent)
        partial = target.with_name(target.name + ".part")
        # The archive holds everyone's personal data: owner-only from the first byte.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                tar.add(work / MANIFEST, arcname=MANIFEST)
                tar.add(dump, arcname=dump.name)
                if data_dir.exists():
                    tar.add(data_dir, arcname=DATA)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)
    return manifest


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            return Manifest(**json.loads(member.read()))
    except (OSError, tarfile.TarError, KeyError, ValueError, TypeError) as error:
        raise BackupError(f"{archive} is not an oshbot backup ({error})") from None


def restore(archive: Path, url: str, data_dir: Path) -> Manifest:
    """Replaces the database and the data folder with the archive's. Stop every worker first."""
    manifest = read_manifest(archive)
    kind = _kind(url)
    if kind != manifest.database:
        raise BackupError(
            f"the backup holds a {manifest.database} database; OSHBOT_DATABASE_URL is {kind}"
        )
    with tempfile.TemporaryDirectory(prefix="oshbot-restore-") as scratch:
        work = Path(scratch)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work, filter="data")
        if kind == "sqlite":
            target = sqlite_path(url)
            if target is None:
                raise BackupError("restore needs a SQLite database file, not an in-memory one")
            make_engine(url).dispose()  # creates the file owner-only when missing
            with sqlite3.connect(work / SQLITE_NAME) as saved, sqlite3.connect(target) as live:
                saved.backup(live)
            saved.close()
            live.close()
        else:
            _run([
                "pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                f"--dbname={libpq_url(url)}", str(work / PG_NAME),
            ])  # fmt: skip
        # The folder's contents, not the folder: it may be a mounted volume.
        private_dir(data_dir)
        for entry in data_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        if (work / DATA).exists():
            shutil.copytree(work / DATA, data_dir, dirs_exist_ok=True)
    return manifest
