"""oshbot with only a Zalo token (OSHBOT_ZALO_TOKEN, no OSHBOT_TOKEN) runs on Zalo alone: `oshbot
run` answers Zalo, runs the scheduler and sends the outbox to Zalo; `oshbot jobs run` and
`oshbot broadcast` send Zalo's messages. Each as a process, against the Zalo sandbox over HTTP.

A message queued for Telegram to someone who is on Zalo too goes by Zalo; one for someone on
Telegram only waits in the outbox (nothing can send it), and the commands say so in one line."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.cli import app
from bot.settings import Settings
from bot.zalo.sandbox import ZaloSandbox
from bot.zalo.sandbox_http import ZaloSandboxServer
from models.db import Database
from models.outbox import PRIORITY_REMINDER, TELEGRAM, ZALO, Message, enqueue, move_to_zalo
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import (
    Consent,
    ConsentPurpose,
    Contact,
    JobRun,
    Outbox,
    OutboxStatus,
    Role,
    utcnow,
)
from tests.conftest import START
from tests.factories import OSHBOT, runner, wait_for
from tests.test_sender_cli import command, quiet_hours

# 10:00 in Viet Nam: outside quiet hours.
MORNING = (START + timedelta(hours=1)).isoformat()
REMINDER = "🔔 <b>Nhắc lịch</b> thăm ngày mai &amp; khảo sát ngắn"
SEEN = "🔔 Nhắc lịch thăm ngày mai & khảo sát ngắn"  # as Zalo shows it: plain text
WAITS = "those for people on Telegram only stay in the outbox"


def seed(database: Database, platform: ZaloSandbox, *, due: datetime = START) -> None:
    """Three people of one enterprise: on Zalo only, on both channels, on Telegram only; a
    visit reminder queued for each (by Telegram for the one on both: `route` prefers it)."""
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Cần Thơ")
        draft = EnterpriseDraft("Xưởng may Tây Đô", "garment", "can-tho", 25, START.date())
        enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=START.date()
        )
        accounts = {"zalo": (None, "a11ce"), "both": (8801, "b0b0"), "telegram": (8802, None)}
        for name, (telegram, zalo) in accounts.items():
            contact = Contact(
                telegram_user_id=telegram, chat_id=telegram, zalo_user_id=zalo,
                role=Role.WORKER, enterprise_id=enterprise.id, language="vi",
                registered_at=START,
            )  # fmt: skip
            session.add(contact)
            session.flush()
            session.add(
                Consent(contact_id=contact.id, purpose=ConsentPurpose.FOLLOWUP,
                        text_version="2026-12", language="vi")
            )  # fmt: skip
            row = enqueue(
                session, key=f"visit-reminder:{name}", contact=contact, kind="visit-reminder",
                priority=PRIORITY_REMINDER, not_before=due, message=Message(REMINDER),
            )  # fmt: skip
            assert row is not None
        platform.user("a11ce", "Chị Lan")
        platform.user("b0b0", "Anh Bảo")


def env_for(server: ZaloSandboxServer, database: Database, tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("OSHBOT_")},
        "OSHBOT_ZALO_TOKEN": server.sandbox.token,
        "OSHBOT_ZALO_API_BASE_URL": server.base_url,
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(tmp_path / "data"),
    }


def statuses(database: Database) -> dict[str, OutboxStatus]:
    with database.session() as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "visit-reminder")).all()
        return {row.key.removeprefix("visit-reminder:"): row.status for row in rows}


def reminded(platform: ZaloSandbox, user_id: str) -> bool:
    return SEEN in platform.user(user_id).inbox_text()


async def test_oshbot_run_on_zalo_alone_runs_the_scheduler_and_sends_the_outbox(
    database: Database, tmp_path: Path
) -> None:
    platform = ZaloSandbox(limits=None)
    server = ZaloSandboxServer(platform)
    await server.start()
    # `oshbot run` has no --now: the reminders are due by the wall clock.
    seed(database, platform, due=utcnow())
    env = {
        **env_for(server, database, tmp_path),
        "OSHBOT_SEND_INTERVAL": "0.5",
        "OSHBOT_QUIET_START": "00:00",  # no quiet hours, whatever the time the test runs
        "OSHBOT_QUIET_END": "00:00",
    }
    process = subprocess.Popen([*OSHBOT, "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        await wait_for(lambda: reminded(platform, "a11ce") and reminded(platform, "b0b0"), process)
        # The scheduler's catch-up ran the jobs that were due (each claims its slot).
        with database.session() as session:
            await wait_for(
                lambda: bool(session.exec(select(JobRun)).all()) or bool(session.rollback()),
                process,
            )
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        await server.stop()
    assert process.returncode in (0, -15), stderr.decode()[-2000:]
    assert "OSHBOT_TOKEN is not set: running on Zalo alone" in stderr.decode()
    assert statuses(database) == {
        "zalo": OutboxStatus.SENT, "both": OutboxStatus.SENT, "telegram": OutboxStatus.PENDING,
    }  # fmt: skip
    with database.session() as session:
        moved = session.exec(select(Outbox).where(Outbox.key == "visit-reminder:both")).one()
        assert (moved.channel, moved.address) == ("zalo", "b0b0")


async def test_cron_on_zalo_alone_sends_zalos_messages(database: Database, tmp_path: Path) -> None:
    platform = ZaloSandbox(limits=None)
    server = ZaloSandboxServer(platform)
    await server.start()
    seed(database, platform)
    try:
        env = env_for(server, database, tmp_path)
        result = await command(env, tmp_path, "jobs", "run", "--now", MORNING)
    finally:
        await server.stop()
    assert result.returncode == 0, result.stderr
    assert WAITS in result.stdout
    assert "outbox: 2 sent" in result.stdout, result.stdout
    assert reminded(platform, "a11ce") and reminded(platform, "b0b0")
    assert statuses(database)["telegram"] == OutboxStatus.PENDING


async def test_a_command_line_broadcast_on_zalo_alone_reaches_zalo(
    database: Database, tmp_path: Path
) -> None:
    platform = ZaloSandbox(limits=None)
    server = ZaloSandboxServer(platform)
    await server.start()
    seed(database, platform)
    try:
        env = {**env_for(server, database, tmp_path), **quiet_hours(now_quiet=False)}
        result = await command(
            env, tmp_path, "broadcast", "--text", "Mời dự hội thảo an toàn", "--yes"
        )
    finally:
        await server.stop()
    assert result.returncode == 0, result.stderr
    assert WAITS in result.stdout
    for user in ("a11ce", "b0b0"):
        assert "Mời dự hội thảo an toàn" in platform.user(user).inbox_text()
    assert "Sent 2, failed 0, skipped 0, waiting 1." in result.stdout, result.stdout


class Proxy(httpx.AsyncBaseTransport):
    """What stands between Zalo and `oshbot serve` in production (TLS at OSHBOT_PUBLIC_URL):
    the platform's webhook posts to the public https address reach the local server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return await self.inner.handle_async_request(request)


async def test_oshbot_serve_on_zalo_alone_takes_zalos_webhook_and_sends_the_outbox(
    database: Database, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    platform = ZaloSandbox(limits=None)
    platform.http_transport = Proxy(port)
    server = ZaloSandboxServer(platform)
    await server.start()
    seed(database, platform, due=utcnow())
    env = {
        **env_for(server, database, tmp_path),
        "OSHBOT_PUBLIC_URL": "https://osh.test",
        "OSHBOT_ZALO_WEBHOOK_SECRET": "a-long-zalo-webhook-secret",
        "OSHBOT_SEND_INTERVAL": "0.5",
        "OSHBOT_QUIET_START": "00:00",
        "OSHBOT_QUIET_END": "00:00",
    }
    process = subprocess.Popen(
        [*OSHBOT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp_path, stderr=subprocess.PIPE,
    )  # fmt: skip
    lan = platform.user("a11ce")
    try:
        # The jobs and the sender run beside the web application.
        await wait_for(lambda: reminded(platform, "a11ce") and reminded(platform, "b0b0"), process)
        # Zalo posts what a person writes to OSHBOT_PUBLIC_URL + /zalo, with the secret.
        seen = len(lan.messages())
        lan.send_text("/help")
        await wait_for(lambda: len(lan.messages()) > seen, process)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            health = await http.get("/healthz")
            forged = await http.post("/zalo", json={"result": {}})
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        await server.stop()
    assert process.returncode in (0, -15), stderr.decode()[-2000:]
    assert "OSHBOT_TOKEN is not set: running on Zalo alone" in stderr.decode()
    assert platform.webhook_url == "https://osh.test/zalo"
    # Healthy although a Telegram message waits: nothing here could send it.
    assert health.status_code == 200, health.text
    assert health.json()["sender"] is True
    assert forged.status_code == 403
    assert statuses(database)["telegram"] == OutboxStatus.PENDING


def test_telegrams_webhook_command_says_what_runs_on_zalo_alone(
    database: Database, tmp_path: Path
) -> None:
    env = {
        "OSHBOT_TOKEN": "",
        "OSHBOT_ZALO_TOKEN": "1234567890:zalo-sandbox",
        "OSHBOT_DATABASE_URL": database.url,
        "OSHBOT_DATA_DIR": str(tmp_path / "data"),
    }
    result = runner.invoke(app, ["webhook"], env=env)
    assert result.exit_code == 1
    assert "On Zalo alone, run `oshbot run` (long polling) or `oshbot serve`" in " ".join(
        result.output.split()
    )


async def test_stopping_waits_for_the_drain_under_way_before_handing_over(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop in the middle of a drain lets it finish (its rows marked sent) before the sender
    lock goes to another worker, which would put those rows back and send them twice; and no
    drain starts once stopping."""
    import bot.alone as alone_module

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        token=None, zalo_token="1234567890:zalo-sandbox-token",
        zalo_api_base_url="http://127.0.0.1:9/bot", database_url=database.url,
        data_dir=tmp_path / "data",
    )  # fmt: skip
    alone = alone_module.Alone(settings, database)
    began, go_on, events = asyncio.Event(), asyncio.Event(), []

    async def slow_drain(*_: object, **__: object) -> None:
        events.append("drain began")
        began.set()
        await go_on.wait()
        events.append("drain ended")

    monkeypatch.setattr(alone_module, "drain", slow_drain)
    sending = asyncio.create_task(alone.send())
    await asyncio.wait_for(began.wait(), 10)
    assert alone.leadership.leading
    stopping = asyncio.create_task(alone.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done() and alone.leadership.leading  # still the sender, still draining
    go_on.set()
    await asyncio.wait_for(asyncio.gather(sending, stopping), 10)
    assert not alone.leadership.leading
    await alone.send()  # after the stop: nothing more is sent, and the lock is not taken
    assert not alone.leadership.leading
    assert events == ["drain began", "drain ended"]


def test_only_rows_due_move_to_zalo(database: Database) -> None:
    """On Zalo alone, a Telegram row of someone also on Zalo goes by Zalo once it is due; one
    due later stays Telegram's, so that a token set again meanwhile still sends it there."""
    seed(database, ZaloSandbox(limits=None), due=START + timedelta(days=1))
    with database.session() as session:
        assert move_to_zalo(session, now=START) == 0
    with database.session() as session:
        assert move_to_zalo(session, now=START + timedelta(days=1)) == 1
    with database.session() as session:
        channels = {row.key: row.channel for row in session.exec(select(Outbox))}
    assert channels == {
        "visit-reminder:zalo": ZALO, "visit-reminder:both": ZALO,
        "visit-reminder:telegram": TELEGRAM,
    }  # fmt: skip
