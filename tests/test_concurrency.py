"""The bot, a cron `oshbot jobs run` and an `oshbot broadcast --yes` on one database at the same
time, each its own process, as the README allows (issue 14: SQLite "database is locked")."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from sqlmodel import select

from bot.sandbox import Sandbox, SandboxUser
from bot.sandbox_http import SandboxServer
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider, create_invite, register
from models.tables import Contact, Role, utcnow
from tests.factories import OSHBOT, next_reply

MEMBERS = 40  # broadcast recipients, registered beforehand
JOINERS = 8  # people registering through the bot meanwhile
BUSY = ("Hệ thống đang bận", "The system is busy")


def seed(database: Database) -> tuple[str, list[int]]:
    now = utcnow()
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Hải Phòng")
        draft = EnterpriseDraft("Xưởng may Thành Công", "garment", "hai-phong", 500, now.date())
        enterprise = add_enterprise(session, provider_id=provider.id, draft=draft, today=now.date())
        code = create_invite(
            session, role=Role.WORKER, enterprise_id=enterprise.id, days=14, now=now
        ).code
    members = list(range(7000, 7000 + MEMBERS))
    for user_id in members:
        with database.session() as session:
            register(
                session, code=code, telegram_user_id=user_id, chat_id=user_id,
                display_name=f"Công nhân {user_id}", username=None, language="vi", now=now,
            )  # fmt: skip
    return code, members


async def join(user: SandboxUser, code: str, process: subprocess.Popen[bytes]) -> str:
    user.send_command("/start", code)
    language = await next_reply(user, process, 0)
    user.press(language.message_id, "onb:lang:vi")
    consent = await next_reply(user, process, 1)
    user.press(consent.message_id, "onb:agree")
    return (await next_reply(user, process, 2)).plain


async def test_bot_cron_and_broadcast_share_one_sqlite_file(
    database: Database, tmp_path: Path
) -> None:
    code, members = seed(database)
    sandbox = Sandbox(limits=None)
    for user_id in members:
        sandbox.user(user_id, f"Công nhân {user_id}")
    server = SandboxServer(sandbox)
    port = await server.start()
    env = {
        **os.environ,
        "OSHBOT_TOKEN": sandbox.token,
        "OSHBOT_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(tmp_path / "data"),
        # Sending must not wait for the morning, whenever the test runs.
        "OSHBOT_QUIET_START": "23:59",
        "OSHBOT_QUIET_END": "00:00",
    }
    bot = subprocess.Popen([*OSHBOT, "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        # The bot is starting (migrations checked, catch-up, outbox tick) while people join
        # and the two commands write.
        joiners = [sandbox.user(8000 + index, f"Người {index}") for index in range(JOINERS)]
        commands = [
            asyncio.create_subprocess_exec(
                *OSHBOT, "jobs", "run", env=env, cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            ),
            asyncio.create_subprocess_exec(
                *OSHBOT, "broadcast", "--text", "Hội thảo ATVSLĐ ngày 20/3", "--yes",
                env=env, cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            ),
        ]  # fmt: skip
        processes = [await command for command in commands]
        welcomes, *outputs = await asyncio.gather(
            asyncio.gather(*(join(user, code, bot) for user in joiners)),
            *(process.communicate() for process in processes),
        )
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, (out.decode(), err.decode())
            assert b"database is locked" not in out + err
        assert all("Chào mừng" in text for text in welcomes), welcomes
    finally:
        bot.terminate()
        _, stderr = bot.communicate(timeout=30)
        await server.stop()
    assert b"database is locked" not in stderr, stderr.decode()[-2000:]
    everyone = [*members, *(user.id for user in joiners)]
    for user_id in everyone:
        texts = [m.plain for m in sandbox.chat_messages(user_id)]
        assert not any(busy in text for text in texts for busy in BUSY), (user_id, texts)
    for user_id in members:  # the broadcast reached everyone it was meant for
        texts = [m.plain for m in sandbox.chat_messages(user_id)]
        assert any("Hội thảo ATVSLĐ ngày 20/3" in text for text in texts), (user_id, texts)
    with database.session() as session:
        joined = session.exec(select(Contact).where(Contact.telegram_user_id >= 8000)).all()
    assert len(joined) == JOINERS  # nobody's registration was lost
