"""Abuse limits at the door and a token that never reaches the logs."""

from __future__ import annotations

import io
import logging

import pytest

from bot.guard import LIMIT, InboundLimiter, RedactToken
from models.tables import Role
from tests.conftest import World
from tests.factories import join, make_enterprise, make_invite, make_provider


def test_limiter_warns_once_then_drops_then_forgives() -> None:
    now = [1000.0]
    limiter = InboundLimiter(lambda: now[0])
    verdicts = [limiter.check(7) for _ in range(LIMIT + 3)]
    assert verdicts == ["ok"] * LIMIT + ["warn", "drop", "drop"]
    assert limiter.check(8) == "ok"  # other people are not affected
    now[0] += 301
    assert limiter.check(7) == "ok"


def test_a_steady_pace_is_never_limited() -> None:
    now = [1000.0]
    limiter = InboundLimiter(lambda: now[0])
    for _ in range(200):
        assert limiter.check(7) == "ok"
        now[0] += 3.5


async def test_a_flood_gets_one_polite_warning_then_silence(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 901, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    person = world.user(901)
    before = len(person.account.messages())
    world.api_clock.advance(120)
    for index in range(LIMIT + 10):  # faster than anyone types: no pause between them
        person.account.send_text(f"xin chào {index}")
        world.api_clock.advance(2.0)
        await world.deliver()
    texts = person.texts()[before:]
    warnings = [t for t in texts if "gửi tin nhắn rất nhanh" in t]
    assert len(warnings) == 1
    assert texts[-1] == warnings[0]  # nothing answered after the warning
    world.api_clock.advance(360)
    reply = await person.say("/help")
    assert reply is not None and "/mydata" in reply.plain


@pytest.mark.parametrize("where", ["message", "args", "traceback"])
def test_the_token_is_redacted_from_logs(where: str) -> None:
    token = "123456:SECRET-token-value"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactToken(token))
    log = logging.getLogger(f"test.redaction.{where}")
    log.addHandler(handler)
    log.propagate = False
    url = f"https://api.telegram.org/bot{token}/getMe"
    if where == "message":
        log.warning("request to " + url)
    elif where == "args":
        log.warning("HTTP Request: %s %s", "POST", url)
    else:
        try:
            raise ConnectionError(f"cannot reach {url}")
        except ConnectionError:
            log.exception("request failed")
    output = stream.getvalue()
    assert token not in output
    assert "[token]" in output
