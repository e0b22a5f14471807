"""Files with personal data or live links are the owner's alone, whatever the umask; no invite
code appears in a file name."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from models.db import Database
from models.tables import Invite
from tests.conftest import World


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask a careless server has: everything readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_the_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "new" / "oshbot.db"
    database = Database(f"sqlite:///{path}")
    try:
        with database.session() as session:
            session.add(Invite(code="x", role="worker", expires_at=database_now()))
        assert mode(path) == 0o600 and mode(path.parent) == 0o700
        wal = path.with_name("oshbot.db-wal")
        assert wal.exists() and mode(wal) == 0o600
    finally:
        database.dispose()


def test_a_database_left_readable_by_an_older_version_is_tightened(
    tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "oshbot.db"
    Database(f"sqlite:///{path}").dispose()
    os.chmod(path, 0o644)
    Database(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600
    assert any("readable by other accounts" in r.getMessage() for r in caplog.records)


def test_invite_qr_codes_are_owner_only_and_named_without_the_code(
    database: Database, tmp_path: Path, open_umask: None
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # as an older version left it
    env = {
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(data),
        "OSHBOT_BOT_USERNAME": "osh_followup_bot",
    }
    result = CliRunner().invoke(app, ["invite", "coordinator"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with database.session() as session:
        invite = session.exec(select(Invite)).one()
    written = list((data / "invites").iterdir())
    assert len(written) == 1
    qr = written[0]
    assert re.fullmatch(rf"invite-coordinator-\d{{8}}-\d{{6}}-{invite.id}\.png", qr.name), qr.name
    assert invite.code not in qr.name and invite.code not in str(qr)
    assert mode(qr) == 0o600 and mode(qr.parent) == 0o700 and mode(data) == 0o700
    # The operator's own --out file is owner-only too.
    own = tmp_path / "printed" / "staff.png"
    result = CliRunner().invoke(
        app, ["invite", "coordinator", "--out", str(own)], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0 and mode(own) == 0o600 and mode(own.parent) == 0o700


async def test_the_bot_makes_its_data_folder_owner_only(world: World) -> None:
    assert mode(world.settings.data_dir) == 0o700


def database_now():  # type: ignore[no-untyped-def]
    from models.tables import utcnow

    return utcnow()
