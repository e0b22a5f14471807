"""The command line's sending paths end to end: `oshbot jobs run` (cron) and `oshbot broadcast`
as separate processes, sending through the sandbox over HTTP like they would to Telegram.

They build their own bot, without the running bot's defaults: what the recipient reads must
still be formatted text, not tags, and a 429 must be waited out, not end the run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import select

from bot.sandbox import Sandbox
from bot.sandbox_http import SandboxServer
from models.db import Database
from models.locks import Leadership
from models.outbox import PRIORITY_REMINDER, Message, enqueue
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import Consent, ConsentPurpose, Contact, Outbox, OutboxStatus, Role
from scheduler.config import PROGRAMME_TZ
from tests.conftest import START

OSHBOT = [sys.executable, "-c", "from bot.cli import main; main()"]
PATIENCE = 120  # seconds a process may take on a busy machine before the test gives up
# 10:00 in Viet Nam: outside quiet hours.
MORNING = (START + timedelta(hours=1)).isoformat()


def seed(database: Database, sandbox: Sandbox, people: int) -> list[Contact]:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng")
        draft = EnterpriseDraft("Xưởng mộc Hòa Phát", "wood", "da-nang", 40, START.date())
        enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=START.date()
        )
        contacts = []
        for n in range(people):
            user_id = 7000 + n
            sandbox.user(user_id, f"Người lao động {n}")
            contact = Contact(
                telegram_user_id=user_id, chat_id=user_id, role=Role.WORKER,
                enterprise_id=enterprise.id, language="vi", registered_at=START,
            )  # fmt: skip
            session.add(contact)
            session.flush()
            for purpose in (ConsentPurpose.FOLLOWUP, ConsentPurpose.TIPS):
                consent = Consent(
                    contact_id=contact.id, purpose=purpose, text_version="2026-11", language="vi"
                )
                session.add(consent)
            contacts.append(contact)
        return contacts


def quiet_hours(*, now_quiet: bool) -> dict[str, str]:
    """Quiet hours set around the wall clock (the command line's broadcast has no `--now`): a
    window of two hours either side of now, or one that excludes now by as much."""
    local = datetime.now(PROGRAMME_TZ)
    before, after = local - timedelta(hours=2), local + timedelta(hours=2)
    start, end = (before, after) if now_quiet else (after, before)
    return {"OSHBOT_QUIET_START": f"{start:%H:%M}", "OSHBOT_QUIET_END": f"{end:%H:%M}"}


async def oshbot(
    server: SandboxServer,
    port: int,
    database: Database,
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs the command in its own process while this event loop keeps serving the sandbox."""
    env = {
        **os.environ,
        "OSHBOT_TOKEN": server.sandbox.token,
        "OSHBOT_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(tmp_path / "data"),
        "OSHBOT_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    return await command(env, tmp_path, *args)


async def command(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`oshbot *args` in its own process, while this event loop keeps serving the sandboxes."""
    process = await asyncio.create_subprocess_exec(
        *OSHBOT, *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), PATIENCE)
    assert process.returncode is not None
    return subprocess.CompletedProcess(args, process.returncode, stdout.decode(), stderr.decode())


async def test_cron_sends_formatted_text_and_waits_out_a_429(
    database: Database, tmp_path: Path
) -> None:
    sandbox = Sandbox(limits=None)
    server = SandboxServer(sandbox)
    port = await server.start()
    try:
        people = seed(database, sandbox, 5)
        with database.session() as session:
            for contact in people:
                enqueue(
                    session, key=f"visit-reminder:{contact.id}", contact=contact,
                    kind="visit-reminder", priority=PRIORITY_REMINDER, not_before=START,
                    message=Message("🔔 <b>Nhắc lịch</b> thăm ngày mai &amp; khảo sát ngắn"),
                )  # fmt: skip
        # Telegram asks the run to wait: the first send gets a 429 with a two-second wait.
        sandbox.faults.add("429", method="sendMessage", times=1, retry_after=2)
        result = await oshbot(server, port, database, tmp_path, "jobs", "run", "--now", MORNING)
    finally:
        await server.stop()
    assert result.returncode == 0, result.stderr
    # The reminders, and the monthly tips the run's jobs queued, all went out.
    assert "outbox: 10 sent, 0 deferred" in result.stdout, result.stdout
    assert sandbox.stats.faults_fired == 1
    for contact in people:
        messages = sandbox.chat_messages(contact.chat_id or 0)
        assert len(messages) == 2
        assert all(message.parse_mode == "HTML" for message in messages)
        assert "🔔 Nhắc lịch thăm ngày mai & khảo sát ngắn" in [m.plain for m in messages]
        assert not any("<b>" in m.plain or "&amp;" in m.plain for m in messages)
    with database.session() as session:
        statuses = {row.status for row in session.exec(select(Outbox))}
    assert statuses == {OutboxStatus.SENT}


async def test_a_command_line_broadcast_reads_as_typed(database: Database, tmp_path: Path) -> None:
    sandbox = Sandbox(limits=None)
    server = SandboxServer(sandbox)
    port = await server.start()
    typed = "Mời dự hội thảo <b>quan trọng</b> & miễn phí"
    try:
        people = seed(database, sandbox, 3)
        result = await oshbot(
            server, port, database, tmp_path, "broadcast", "--text", typed, "--yes",
            env=quiet_hours(now_quiet=False),
        )  # fmt: skip
    finally:
        await server.stop()
    assert result.returncode == 0, result.stderr
    assert "Sent 3" in result.stdout, result.stdout
    for contact in people:
        [message] = sandbox.chat_messages(contact.chat_id or 0)
        assert message.parse_mode == "HTML"
        # The text exactly as typed: the tags the operator typed are text, not formatting, and
        # no escaping shows.
        assert message.plain == typed


async def test_a_command_line_broadcast_ends_when_its_channels_are_done(
    database: Database, tmp_path: Path
) -> None:
    """With Telegram's token only, recipients on Zalo alone wait for a process with Zalo's:
    the command sends Telegram's share, says how many wait, and ends (it waited for ever)."""
    sandbox = Sandbox(limits=None)
    server = SandboxServer(sandbox)
    port = await server.start()
    try:
        people = seed(database, sandbox, 2)
        with database.session() as session:
            enterprise_id = people[0].enterprise_id
            on_zalo = Contact(
                zalo_user_id="z0a1b2", role=Role.WORKER, enterprise_id=enterprise_id,
                language="vi", registered_at=START,
            )  # fmt: skip
            session.add(on_zalo)
            session.flush()
            for purpose in (ConsentPurpose.FOLLOWUP, ConsentPurpose.TIPS):
                session.add(
                    Consent(contact_id=on_zalo.id, purpose=purpose, text_version="2026-11",
                            language="vi")
                )  # fmt: skip
        result = await oshbot(
            server, port, database, tmp_path, "broadcast", "--text", "Mời dự hội thảo", "--yes",
            env={**quiet_hours(now_quiet=False), "OSHBOT_ZALO_TOKEN": ""},
        )  # fmt: skip
    finally:
        await server.stop()
    assert result.returncode == 0, result.stderr
    assert "Sent 2, failed 0, skipped 0, waiting 1." in result.stdout, result.stdout
    assert "1 of them are on Zalo and OSHBOT_ZALO_TOKEN is not set" in result.stdout
    assert all(len(sandbox.chat_messages(p.chat_id or 0)) == 1 for p in people)


async def test_a_command_line_broadcast_in_quiet_hours_says_when_the_rest_goes(
    database: Database, tmp_path: Path
) -> None:
    """At night the broadcast is queued and nothing is sent; the operator is told why and when,
    and the queued messages wait for the morning."""
    sandbox = Sandbox(limits=None)
    server = SandboxServer(sandbox)
    port = await server.start()
    night = quiet_hours(now_quiet=True)
    try:
        people = seed(database, sandbox, 2)
        result = await oshbot(
            server, port, database, tmp_path, "broadcast", "--text", "Mời dự hội thảo", "--yes",
            env=night,
        )  # fmt: skip
    finally:
        await server.stop()
    assert result.returncode == 0, result.stderr
    assert "Sent 0, failed 0, skipped 0, waiting 2." in result.stdout, result.stdout
    assert f"Quiet hours until {night['OSHBOT_QUIET_END']} (programme time)" in result.stdout
    assert all(sandbox.chat_messages(p.chat_id or 0) == [] for p in people)
    with database.session() as session:
        statuses = [row.status for row in session.exec(select(Outbox))]
    assert statuses == [OutboxStatus.PENDING] * 2


async def test_cron_leaves_the_sending_to_a_running_sender(
    database: Database, tmp_path: Path
) -> None:
    """A running bot holds the sender lock: a cron `jobs run` beside it runs its jobs but sends
    nothing, so that the two never send at once (Telegram's limit is the bot's, not each
    process's); once the lock is free, the next run sends what is due."""
    sandbox = Sandbox(limits=None)
    server = SandboxServer(sandbox)
    port = await server.start()
    running_bot = Leadership(database.engine)
    try:
        [person] = seed(database, sandbox, 1)
        with database.session() as session:
            enqueue(
                session, key=f"visit-reminder:{person.id}", contact=person, kind="visit-reminder",
                priority=PRIORITY_REMINDER, not_before=START, message=Message("🔔 Nhắc lịch"),
            )  # fmt: skip
        assert running_bot.check()[0]
        beside = await oshbot(server, port, database, tmp_path, "jobs", "run", "--now", MORNING)
        sent_beside = len(sandbox.chat_messages(person.chat_id or 0))
        running_bot.release()
        alone = await oshbot(server, port, database, tmp_path, "jobs", "run", "--now", MORNING)
    finally:
        running_bot.release()
        await server.stop()
    assert beside.returncode == 0, beside.stderr
    assert "the running bot is sending" in beside.stdout, beside.stdout
    assert sent_beside == 0
    assert alone.returncode == 0 and "sent, 0 deferred" in alone.stdout, alone.stdout
    assert "🔔 Nhắc lịch" in [m.plain for m in sandbox.chat_messages(person.chat_id or 0)]
