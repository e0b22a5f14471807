"""Webhook mode: Telegram's secret token is required on every request."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx

from tests.conftest import World

SECRET = "s3cret-Token_value"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_requests_without_the_secret_are_refused(world: World) -> None:
    app = world.application
    port = free_port()
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="telegram",
        secret_token=SECRET,
        webhook_url="https://bot.example.org/telegram",
    )
    await app.start()
    try:
        assert world.sandbox.webhook_secret == SECRET
        user = world.sandbox.user(4711, "Hà")
        update = user.send_command("/help")
        world.sandbox.take_updates()
        body = json.dumps(update)
        url = f"http://127.0.0.1:{port}/telegram"
        headers = {"Content-Type": "application/json"}
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, content=body, headers=headers)
            wrong = await client.post(
                url, content=body, headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "x"}
            )
            assert (forged.status_code, wrong.status_code) == (403, 403)
            assert user.messages() == []
            right = await client.post(
                url, content=body, headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert right.status_code == 200
        for _ in range(200):  # the update is handled in the background; wait for it (bounded)
            if user.messages():
                break
            await asyncio.sleep(0.01)
        assert "link mời" in user.messages()[-1].plain
    finally:
        await app.stop()
        await app.updater.stop()
