"""The sandbox's strict mode: at most 30 sends in any sliding second, no burst, and a 429 with
Telegram's retry_after beyond; in process, over HTTP and from `oshbot sandbox --strict`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from bot import sandbox_http
from bot.cli import app
from bot.sandbox import FakeClock, RateLimits, Sandbox
from bot.sandbox_http import SandboxServer


async def send(sandbox: Sandbox, chat_id: int) -> tuple[int, dict[str, Any]]:
    return await sandbox.call(sandbox.token, "sendMessage", {"chat_id": chat_id, "text": "Chào"})


def users(sandbox: Sandbox, count: int) -> None:
    for user_id in range(1, count + 1):
        sandbox.user(user_id, f"Người {user_id}")


async def test_strict_mode_counts_any_sliding_second() -> None:
    clock = FakeClock(0.0)
    sandbox = Sandbox(clock=clock, limits=RateLimits(strict=True))
    users(sandbox, 40)
    for chat in range(1, 31):  # 30 in the first tenth of a second: allowed
        assert (await send(sandbox, chat))[0] == 200
        clock.advance(0.1 / 30)
    clock.now = 0.5
    status, body = await send(sandbox, 31)
    assert status == 429 and body["parameters"]["retry_after"] == 1
    clock.now = 1.001  # the first send has left the second
    assert (await send(sandbox, 31))[0] == 200
    assert (await send(sandbox, 32))[0] == 429  # the second one has not yet
    assert sandbox.stats.rate_limited == 2


async def test_the_lenient_bucket_lets_the_same_pattern_through() -> None:
    clock = FakeClock(0.0)
    sandbox = Sandbox(clock=clock, limits=RateLimits())
    users(sandbox, 40)
    for chat in range(1, 31):
        assert (await send(sandbox, chat))[0] == 200
        clock.advance(0.1 / 30)
    clock.now = 0.5  # the bucket refilled 15 tokens meanwhile: Telegram's tolerance
    assert (await send(sandbox, 31))[0] == 200


async def test_strict_mode_over_http() -> None:
    sandbox = Sandbox(limits=RateLimits(strict=True))
    users(sandbox, 35)
    server = SandboxServer(sandbox)
    port = await server.start()
    try:
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port}/bot{sandbox.token}/sendMessage"
            answers = [
                (await client.post(url, json={"chat_id": chat, "text": "Chào"})).json()
                for chat in range(1, 32)
            ]
    finally:
        await server.stop()
    assert all(answer["ok"] for answer in answers[:30])
    assert answers[30]["error_code"] == 429 and answers[30]["parameters"]["retry_after"] >= 1


def test_oshbot_sandbox_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(sandbox_http, "serve_forever", lambda **kwargs: served.update(kwargs))
    result = CliRunner().invoke(app, ["sandbox", "--strict", "--rate", "20"], env={})
    assert result.exit_code == 0, result.output
    assert served["limits"] == RateLimits(global_per_second=20, global_burst=20, strict=True)
    refused = CliRunner().invoke(app, ["sandbox", "--strict", "--no-limits"], env={})
    assert refused.exit_code != 0 and "contradict" in refused.output
