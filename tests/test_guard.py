"""Abuse limits at the door and a token that never reaches the logs."""

from __future__ import annotations

import io
import logging

import pytest
from sqlmodel import select
from telegram import Update

from bot.guard import LIMIT, LIMITER_KEY, InboundLimiter, RedactToken
from models.tables import Contact, Role
from tests.conftest import World
from tests.factories import join, make_enterprise, make_invite, make_provider, message


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


def tap(user_id: int, update_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "callback_query": {
                "id": str(update_id),
                "chat_instance": "1",
                "data": "fb:a:1",
                "from": {"id": user_id, "is_bot": False, "first_name": "An"},
            },
        },
        None,
    )


def test_button_taps_do_not_count_toward_the_limit() -> None:
    """A report straight into a survey, or two events created in a minute: a dozen typed
    answers and dozens of taps on the bot's own buttons. Nobody is silenced for that."""
    now = [1000.0]
    limiter = InboundLimiter(lambda: now[0])
    verdicts = []
    for index in range(60):
        update = message(7, f"answer {index}", index) if index % 4 == 0 else tap(7, index)
        verdicts.append(limiter.judge(update))
        now[0] += 0.9
    assert set(verdicts) == {"ok"}


def test_stop_words_pass_a_silenced_person() -> None:
    now = [1000.0]
    limiter = InboundLimiter(lambda: now[0])
    for index in range(LIMIT + 1):
        limiter.judge(message(7, f"spam {index}", index))
    assert limiter.judge(message(7, "more", 99)) == "drop"
    for word in ("STOP", "dừng", "DỪNG", "/stop"):
        assert limiter.judge(message(7, word, 100)) == "ok", word


async def test_stop_is_honoured_while_silenced(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 904, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    person = world.user(904)
    world.api_clock.advance(120)
    for index in range(LIMIT + 3):
        person.account.send_text(f"xin chào {index}")
    await world.deliver()
    assert "gửi tin nhắn rất nhanh" in person.last_text()
    reply = await person.say("DỪNG")
    assert reply is not None and reply.plain.startswith("Đã dừng"), person.last_text()
    with world.database.session() as session:
        stored = session.exec(select(Contact).where(Contact.telegram_user_id == 904)).one()
        assert stored.opted_out_at is not None


async def test_an_album_gets_one_answer(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 905, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    person = world.user(905)
    before = len(person.account.messages())
    limiter = world.application.bot_data[LIMITER_KEY]
    counted = len(limiter.seen[905])
    for _ in range(6):
        person.account.send_photo(b"\xff\xd8 not really a photo")
    for raw in world.sandbox.take_updates():  # Telegram marks the items of one album alike
        raw["message"]["media_group_id"] = "13911"
        world.sandbox.inject_raw(raw)
    await world.deliver()
    answers = person.texts()[before:]
    # The album's first photo is offered to the provider (handlers/inbox.py), once.
    assert answers == [
        "Anh/Chị có muốn gửi nội dung này đến đơn vị cung cấp dịch vụ ATVSLĐ không? Họ sẽ trả "
        "lời Anh/Chị tại đây."
    ]
    assert len(limiter.seen[905]) == counted + 1  # the album counted once
    # Nothing was fetched before the person said yes; this one is not a photo at all.
    await person.press("✅")
    assert person.answers()[-1] == (
        "Tôi không đọc được ảnh này. Anh/Chị vui lòng gửi lại dưới dạng ảnh."
    )
