"""`oshbot run` as a separate process, long-polling the sandbox over HTTP like it would Telegram."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlmodel import select

from bot.sandbox import Sandbox
from bot.sandbox_http import SandboxServer
from models.db import Database
from models.programme import add_provider, create_invite
from models.tables import Contact, Role
from tests.factories import OSHBOT, next_reply


async def test_run_registers_a_user_over_http(database: Database, tmp_path: Path) -> None:
    sandbox = Sandbox(limits=None)
    server = SandboxServer(sandbox)
    port = await server.start()
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Hải Phòng")
        code = create_invite(session, role=Role.STAFF, provider_id=provider.id, days=14).code
    env = {
        **os.environ,
        "OSHBOT_TOKEN": sandbox.token,
        "OSHBOT_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(tmp_path / "data"),
    }
    process = subprocess.Popen([*OSHBOT, "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        user = sandbox.user(4242, "Minh")
        user.send_command("/start", code)
        language = await next_reply(user, process, 0)
        user.press(language.message_id, "onb:lang:en")
        consent = await next_reply(user, process, 1)
        assert "Before we start" in consent.plain
        user.press(consent.message_id, "onb:agree")
        welcome = await next_reply(user, process, 2)
        assert "Welcome to the team of Trung tâm ATVSLĐ Hải Phòng" in welcome.plain
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        await server.stop()
    with database.session() as session:
        contact = session.exec(select(Contact).where(Contact.telegram_user_id == 4242)).one()
        assert contact.role == Role.STAFF and contact.provider_id == provider.id
    assert sandbox.token not in stderr.decode(), "the token leaked into the logs"
    assert sandbox.commands("default"), "the command menu was set at start-up"


def test_run_without_token_is_a_one_line_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSHBOT_")}
    result = subprocess.run([*OSHBOT, "run"], env=env, cwd=tmp_path, capture_output=True)
    assert result.returncode != 0
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "OSHBOT_TOKEN" in lines[0], lines
