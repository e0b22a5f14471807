"""The sender and the rate limiter against the sandbox, on the sandbox's fake clock: pacing,
quiet hours, 429 storms (everything delivered, nothing sent during a pause), priorities."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.ratelimit import BULK, PacedRateLimiter
from bot.sandbox import FakeClock
from models.outbox import Message, enqueue
from models.tables import Contact, Role
from tests.conftest import World
from tests.factories import add_person, local


def queue(world: World, contact: Contact, key: str, kind: str = "tip", text: str = "Mẹo") -> None:
    with world.database.session() as session:
        assert enqueue(session, key=key, contact=contact, kind=kind, message=Message(text))


def record_calls(world: World) -> list[tuple[float, str]]:
    """(fake time, method) of every request that reached the sandbox, accepted or not."""
    calls: list[tuple[float, str]] = []
    real = world.sandbox.call

    async def call(token: str, method: str, params: Any, files: Any = None) -> Any:
        calls.append((world.api_clock(), method))
        return await real(token, method, params, files)

    world.sandbox.call = call  # type: ignore[method-assign]
    return calls


def limiter(world: World) -> PacedRateLimiter:
    found = world.application.bot.rate_limiter
    assert isinstance(found, PacedRateLimiter)
    return found


async def test_bulk_sends_are_paced_overall_and_per_chat(world: World) -> None:
    contacts = [add_person(world, 1000 + n, Role.WORKER) for n in range(60)]
    for contact in contacts:
        queue(world, contact, f"a:{contact.id}")
    for n in range(3):
        queue(world, contacts[0], f"b:{n}")
    report = await world.drain()
    assert report.sent == 63
    assert world.sandbox.stats.rate_limited == 0
    times = world.sandbox.stats.send_times()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / 30 - 1e-9  # smooth: no burst even with a full bucket
    mine = world.sandbox.stats.send_times(contacts[0].chat_id)
    assert [round(b - a, 3) >= 1.0 for a, b in itertools.pairwise(mine)] == [True] * 3
    # 60 chats at 30 a second take about two seconds of (fake) time.
    assert 1.9 < times[-1] - times[0] < 4.5


async def test_a_storm_of_429s_delivers_everything_and_sends_nothing_during_a_pause(
    world: World,
) -> None:
    contacts = [add_person(world, 2000 + n, Role.WORKER) for n in range(20)]
    for contact in contacts:
        queue(world, contact, f"s:{contact.id}")
    calls = record_calls(world)
    world.sandbox.faults.add("429", method="sendMessage", times=4, retry_after=7)
    rounds = 0
    while True:
        report = await world.drain()
        rounds += 1
        if report.sent == 0 and not report.paused and report.deferred == 0:
            break
        world.clock.advance(seconds=3)
        world.api_clock.advance(3)
        assert rounds < 50
    assert all(len(world.user(c.telegram_user_id or 0).texts()) == 1 for c in contacts)
    pauses = limiter(world).pauses
    assert len(pauses) == 4
    for start, end in pauses:
        inside = [t for t, method in calls if start < t < end and method == "sendMessage"]
        assert inside == [], f"requests during the pause {start}-{end}: {inside}"
    assert world.sandbox.stats.rate_limited == 4  # only the scripted ones


async def test_quiet_hours_hold_bulk_messages_until_morning(world: World) -> None:
    worker = add_person(world, 3001, Role.WORKER)
    employer = add_person(world, 3002, Role.EMPLOYER)
    world.clock.now = local(2027, 3, 1, 22, 15)
    queue(world, worker, "tip:3001", kind="tip", text="Mẹo tháng")
    queue(world, employer, "today:3002", kind="visit-today", text="Đổi giờ thăm hôm nay")
    report = await world.drain()
    assert report.held and report.sent == 1
    assert world.user(3001).texts() == []
    assert world.user(3002).texts() == ["Đổi giờ thăm hôm nay"]
    world.clock.now = local(2027, 3, 2, 6, 59)
    assert (await world.drain()).sent == 0
    world.clock.now = local(2027, 3, 2, 7, 0)
    assert (await world.drain()).sent == 1
    assert world.user(3001).texts() == ["Mẹo tháng"]


async def test_stopped_contacts_get_visit_arrangements_only(world: World) -> None:
    employer = add_person(world, 3101, Role.EMPLOYER)
    queue(world, employer, "tip:3101", kind="tip")
    queue(world, employer, "visit:3101", kind="visit-proposal", text="Lịch thăm")
    with world.database.session() as session:
        row = session.get(Contact, employer.id)
        assert row is not None
        row.opted_out_at = world.clock()
        session.add(row)
    report = await world.drain()
    assert (report.sent, report.skipped) == (1, 1)
    assert world.user(3101).texts() == ["Lịch thăm"]


async def test_a_reply_waits_out_a_pause_and_is_not_sent_during_it(world: World) -> None:
    add_person(world, 3201, Role.EMPLOYER)
    person = world.user(3201)
    calls = record_calls(world)
    world.sandbox.faults.add("429", method="sendMessage", times=1, retry_after=4)
    await person.say("/help")
    assert person.texts() and "/help" in person.last_text()
    [(start, end)] = limiter(world).pauses
    assert end - start == pytest.approx(4)
    sends = [t for t, method in calls if method == "sendMessage"]
    assert len(sends) == 2 and sends[1] >= end


async def test_replies_jump_the_queue_of_bulk_sends() -> None:
    clock = FakeClock()
    slept: list[tuple[str, float]] = []
    who = {"now": "bulk"}

    async def sleep(seconds: float) -> None:
        slept.append((who["now"], seconds))
        clock.advance(seconds)

    paced = PacedRateLimiter(clock=clock, sleep=sleep)

    async def ok(*_: Any, **__: Any) -> bool:
        return True

    for n in range(90):  # three seconds of bulk at full pace
        await paced.process_request(ok, (), {}, "sendMessage", {"chat_id": n}, BULK)
    assert sum(s for w, s in slept) == pytest.approx(89 / 30, abs=0.01)
    slept.clear()
    who["now"] = "reply"
    for _ in range(3):  # a button press answered with three messages
        await paced.process_request(ok, (), {}, "sendMessage", {"chat_id": 9999}, None)
    assert slept == []  # replies found tokens kept for them: no wait at all
    who["now"] = "bulk"
    await paced.process_request(ok, (), {}, "sendMessage", {"chat_id": 5000}, BULK)
    assert slept and slept[0][1] > 0  # the bulk send waited for the reserve to refill


async def test_bulk_requests_during_a_pause_raise_without_calling() -> None:
    clock = FakeClock()
    paced = PacedRateLimiter(clock=clock, sleep=asyncio.sleep)
    called: list[int] = []

    async def flood(*_: Any, **__: Any) -> bool:
        called.append(1)
        raise RetryAfter(5)

    with pytest.raises(RetryAfter):
        await paced.process_request(flood, (), {}, "sendMessage", {"chat_id": 1}, BULK)
    clock.advance(2)
    with pytest.raises(RetryAfter) as raised:
        await paced.process_request(flood, (), {}, "sendMessage", {"chat_id": 2}, BULK)
    assert called == [1]  # the second never reached Telegram
    assert "3" in str(raised.value)
    assert paced.paused_for() == pytest.approx(3)
