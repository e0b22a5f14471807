"""A broadcast to 2,000 people whose sender is killed (SIGKILL) in the middle, again and again.

Telegram has no idempotency key: a message Telegram accepted just before the kill, whose row was
not yet marked sent, goes out once more after the restart. So the promise is: nobody missed,
nothing else repeated, at most the messages in flight at each kill (the sender keeps at most
MAX_IN_FLIGHT requests open), and the progress report right at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.sandbox import Sandbox
from bot.sandbox_http import SandboxServer
from bot.sender import CONCURRENCY as MAX_IN_FLIGHT
from models import broadcasts
from models.audience import Audience
from models.db import Database
from models.outbox import Message
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import Contact, Role
from tests.conftest import START

RECIPIENTS = 2000
KILLS = 3
TEXT = "Điển hình tốt tháng 3: kệ nhiều tầng giúp lối đi thông thoáng."
OSHBOT = [sys.executable, "-c", "from bot.cli import main; main()"]
# 2,000 messages at Telegram's 30 a second take about 70 s; allow for a busy machine.
PATIENCE = 300.0


def seed(database: Database, sandbox: Sandbox) -> int:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng")
        draft = EnterpriseDraft("Xưởng may Thu Hà", "garment", "da-nang", 5000, START.date())
        enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=START.date()
        )
        people = [
            Contact(telegram_user_id=100_000 + n, chat_id=100_000 + n, role=Role.WORKER,
                    enterprise_id=enterprise.id)
            for n in range(RECIPIENTS)
        ]  # fmt: skip
        session.add_all(people)
        session.flush()
        broadcast = broadcasts.create(session, author=None, text=TEXT)
        assert broadcast.id is not None
        broadcasts.set_audience(
            session, broadcast_id=broadcast.id, author=None, audience=Audience()
        )
        queued = broadcasts.confirm(
            session, broadcast_id=broadcast.id, author=None, render=lambda _: Message(TEXT),
            now=START,
        )  # fmt: skip
        assert queued == RECIPIENTS
    for n in range(RECIPIENTS):
        sandbox.user(100_000 + n, f"Người lao động {n}")
    return broadcast.id


def received(sandbox: Sandbox) -> Counter[int]:
    return Counter(chat for _, chat, method in sandbox.stats.sends if method == "sendMessage")


async def test_killed_sender_misses_nobody_and_repeats_at_most_what_was_in_flight(
    database: Database, tmp_path: Path
) -> None:
    sandbox = Sandbox(limits=None)
    server = SandboxServer(sandbox)
    port = await server.start()
    broadcast_id = seed(database, sandbox)
    env = {
        **os.environ,
        "OSHBOT_TOKEN": sandbox.token,
        "OSHBOT_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(tmp_path / "data"),
        "OSHBOT_LOG_LEVEL": "WARNING",
    }
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    try:
        for attempt in range(KILLS + 1):
            # Each restart comes later than the claim timeout, so rows claimed by the killed
            # process are released and sent again.
            moment = START + timedelta(minutes=3 * attempt, hours=3)
            process = subprocess.Popen(
                [*OSHBOT, "jobs", "run", "--now", moment.isoformat()],
                env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            target = RECIPIENTS * (attempt + 1) // (KILLS + 2)
            while process.poll() is None:
                assert loop.time() < deadline, "the sender did not finish in time"
                if attempt < KILLS and sum(received(sandbox).values()) >= target:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    break
                await asyncio.sleep(0.01)
            else:
                assert process.returncode == 0, process.stderr.read().decode()  # type: ignore[union-attr]
            if process.stderr:
                process.stderr.close()
    finally:
        await server.stop()
    counts = received(sandbox)
    assert len(counts) == RECIPIENTS, "somebody was missed"
    repeats = sum(n - 1 for n in counts.values())
    assert repeats <= KILLS * MAX_IN_FLIGHT, f"{repeats} repeated messages"
    with database.session() as session:
        progress = broadcasts.progress(session, broadcast_id)
    assert (progress.total, progress.sent, progress.pending) == (RECIPIENTS, RECIPIENTS, 0)
