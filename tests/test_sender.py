"""The sender and the rate limiter against the sandbox, on the sandbox's fake clock: pacing,
quiet hours, 429 storms (everything delivered, nothing sent during a pause), priorities."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.ratelimit import BULK, JITTER, PacedRateLimiter
from bot.sandbox import FakeClock, RateLimits
from bot.sender import drain
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

    for n in range(90):  # three seconds of bulk at full pace: 30 in every 1 + JITTER seconds
        await paced.process_request(ok, (), {}, "sendMessage", {"chat_id": n}, BULK)
    assert sum(s for w, s in slept) == pytest.approx(89 * (1 + JITTER) / 30, abs=0.01)
    slept.clear()
    who["now"] = "reply"
    for _ in range(3):  # a button press answered with three messages
        await paced.process_request(ok, (), {}, "sendMessage", {"chat_id": 9999}, None)
    # Replies count Telegram's own second, not the bulk's longer one: they find a slot at once
    # or within one bulk step, never a second.
    assert slept[0][1] < 0.1 and sum(s for _, s in slept) < 0.1
    slept.clear()
    who["now"] = "bulk"
    await paced.process_request(ok, (), {}, "sendMessage", {"chat_id": 5000}, BULK)
    assert slept and slept[0][1] > 0  # the bulk send waited for the window to free a slot


async def test_replies_go_before_bulk_sends_waiting_with_them() -> None:
    clock = FakeClock()
    paced = PacedRateLimiter(clock=clock, sleep=clock.sleep)
    order: list[str] = []

    def record(name: str):  # type: ignore[no-untyped-def]
        async def call(*_: Any, **__: Any) -> bool:
            order.append(name)
            return True

        return call

    for n in range(29):  # the window is full for bulk
        await paced.process_request(record("bulk"), (), {}, "sendMessage", {"chat_id": n}, BULK)
    order.clear()
    bulk = [
        paced.process_request(record("bulk"), (), {}, "sendMessage", {"chat_id": 100 + n}, BULK)
        for n in range(5)
    ]
    replies = [
        paced.process_request(record("reply"), (), {}, "sendMessage", {"chat_id": 900}, None)
        for _ in range(2)
    ]
    await asyncio.gather(*bulk, *replies)
    assert order[:2] == ["reply", "reply"]


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


def api_time(world: World):  # type: ignore[no-untyped-def]
    """A datetime clock that moves with the sandbox's fake clock, so that a row deferred by a
    429 comes due when the limiter has slept the pause out."""
    base = world.api_clock()
    start = world.clock()
    return lambda: start + timedelta(seconds=world.api_clock() - base)


async def test_a_429_is_waited_out_and_sending_resumes_as_soon_as_it_ends(world: World) -> None:
    contacts = [add_person(world, 5000 + n, Role.WORKER) for n in range(20)]
    for contact in contacts:
        queue(world, contact, f"r:{contact.id}")
    world.sandbox.faults.add("429", method="sendMessage", times=1, retry_after=3)
    report = await drain(world.application.bot, world.database, clock=api_time(world))
    assert (report.sent, report.deferred) == (20, 0)
    assert report.waited == pytest.approx(3, abs=0.1)
    [(_, end)] = limiter(world).pauses
    first = min(world.sandbox.stats.send_times())
    # Not at the next outbox tick (5 s later): right after Telegram's wait.
    assert end <= first < end + 0.5
    assert all(len(world.sandbox.chat_messages(c.chat_id or 0)) == 1 for c in contacts)


async def test_a_pause_longer_than_the_patience_is_left_to_the_next_run(world: World) -> None:
    contacts = [add_person(world, 5100 + n, Role.WORKER) for n in range(3)]
    for contact in contacts:
        queue(world, contact, f"p:{contact.id}")
    world.sandbox.faults.add("429", method="sendMessage", times=1, retry_after=30)
    before = world.api_clock()
    report = await drain(world.application.bot, world.database, clock=api_time(world), patience=10)
    assert report.sent == 0 and report.deferred >= 1 and report.waited == 0
    assert world.api_clock() - before < 1  # it did not sit out the 30 s


async def test_full_speed_against_a_strict_sliding_window_with_network_jitter(
    world: World,
) -> None:
    """Telegram counts sends in any sliding second as they arrive, and arrival is a little late
    by a varying amount: pacing at exactly 30 a second gets 429s, the margin gets none."""
    jitter = random.Random(14)
    world.sandbox.limits = RateLimits(strict=True)
    world.sandbox.clock = lambda: world.api_clock() + jitter.uniform(0, 0.02)
    contacts = [add_person(world, 6000 + n, Role.WORKER) for n in range(300)]
    for contact in contacts:
        queue(world, contact, f"w:{contact.id}")
    report = await drain(world.application.bot, world.database, clock=world.clock)
    assert report.sent == 300
    assert world.sandbox.stats.rate_limited == 0
    times = sorted(world.sandbox.stats.send_times())
    assert (len(times) - 1) / (times[-1] - times[0]) >= 28


async def test_bulk_never_fills_telegrams_second_even_with_the_edges_counted() -> None:
    clock = FakeClock()
    paced = PacedRateLimiter(clock=clock, sleep=clock.sleep)
    sent: list[float] = []

    async def ok(*_: Any, **__: Any) -> bool:
        sent.append(clock())
        return True

    await asyncio.gather(
        *(
            paced.process_request(ok, (), {}, "sendMessage", {"chat_id": n}, BULK)
            for n in range(150)
        )
    )
    # A closed window [t, t + 1]: a send at its very edge may land inside Telegram's second.
    most = max(bisect.bisect_right(sent, t + 1.0) - i for i, t in enumerate(sent))
    assert most <= 30
