"""The receiving end of a Zalo webhook, fed by the sandbox's real posts; and the Zalo settings."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import ValidationError

from bot.settings import Settings
from bot.zalo import SECRET_HEADER, InvalidWebhookBody, ZaloClient, parse_webhook, secret_matches
from bot.zalo.sandbox import BASE_URL, ZaloSandbox

SECRET = "s3cret_TOKEN-for-zalo"


async def test_a_sandbox_post_parses_and_its_secret_matches() -> None:
    received: list[httpx.Request] = []

    def webhook(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    sandbox = ZaloSandbox(http_transport=httpx.MockTransport(webhook))
    async with ZaloClient(sandbox.token, BASE_URL, sandbox.transport()) as zalo:
        await zalo.set_webhook("https://oshbot.test/zalo/webhook", SECRET)
    sandbox.user("u1", "Chị Mai").send_text("Báo cáo cải tiến")
    await sandbox.webhook_idle()
    (post,) = received
    assert secret_matches(post.headers.get(SECRET_HEADER), SECRET)
    update = parse_webhook(post.content)
    assert update.event_name == "message.text.received"
    assert update.message is not None and update.message.text == "Báo cáo cải tiến"
    assert update.message.sender.display_name == "Chị Mai"


def test_secret_checks() -> None:
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches(SECRET[:-1] + "X", SECRET)
    assert not secret_matches(None, SECRET)
    assert not secret_matches("", SECRET)
    assert not secret_matches(SECRET, "")  # no secret configured lets nothing in


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"ok": True}).encode(),
        json.dumps({"ok": True, "result": [{"event_name": "message.text.received"}]}).encode(),
        json.dumps({"ok": True, "result": {"message": {}}}).encode(),
        json.dumps(
            {"ok": True, "result": {"event_name": "message.text.received", "message": {"text": 1}}}
        ).encode(),
    ],
)
def test_malformed_webhook_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidWebhookBody):
        parse_webhook(body)


def test_unknown_events_and_fields_pass() -> None:
    update = parse_webhook(
        {"ok": True, "result": {"event_name": "message.voice.received", "future": 1}}
    )
    assert update.event_name == "message.voice.received" and update.message is None


def test_zalo_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKEN", "API_BASE_URL", "WEBHOOK_SECRET", "SEND_RATE", "CHAT_RATE"):
        monkeypatch.delenv(f"OSHBOT_ZALO_{name}", raising=False)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.zalo_token is None
    assert defaults.zalo_api_base_url == "https://bot-api.zaloplatforms.com/bot"
    assert defaults.zalo_webhook_secret is None
    assert (defaults.zalo_send_rate, defaults.zalo_chat_rate) == (8.0, 1.0)
    monkeypatch.setenv("OSHBOT_ZALO_TOKEN", "123:abc")
    monkeypatch.setenv("OSHBOT_ZALO_API_BASE_URL", "http://127.0.0.1:8082/bot")
    monkeypatch.setenv("OSHBOT_ZALO_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("OSHBOT_ZALO_SEND_RATE", "5")
    configured = Settings(_env_file=None)  # type: ignore[call-arg]
    assert configured.zalo_token == "123:abc" and configured.zalo_webhook_secret == SECRET
    assert configured.zalo_api_base_url == "http://127.0.0.1:8082/bot"
    assert configured.zalo_send_rate == 5.0
    for secret in ("short", "x" * 257, "has space in it"):
        monkeypatch.setenv("OSHBOT_ZALO_WEBHOOK_SECRET", secret)
        with pytest.raises(ValidationError):
            Settings(_env_file=None)  # type: ignore[call-arg]
