"""The outbox and its sender: keyed once, sent once, and what Telegram's answers do to a row."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from telegram.ext import ExtBot

from bot.ratelimit import PacedRateLimiter
from bot.sandbox import BASE_FILE_URL, BASE_URL
from bot.sender import MAX_ATTEMPTS, drain, send_due
from models.outbox import CLAIM_TIMEOUT, Message, enqueue
from models.tables import Contact, Outbox, OutboxStatus, Role
from tests.conftest import World


def reachable_contact(world: World, user_id: int) -> Contact:
    world.sandbox.user(user_id, "Chị Lan")
    with world.database.session() as session:
        contact = Contact(telegram_user_id=user_id, chat_id=user_id, role=Role.EMPLOYER)
        session.add(contact)
        session.flush()
        return contact


def queue(world: World, contact: Contact, key: str, text: str = "Mẹo tháng 3") -> Outbox | None:
    with world.database.session() as session:
        return enqueue(
            session, key=key, contact=contact, kind="tip", message=Message(text, [[("OK", "x")]])
        )


def row(world: World, key: str) -> Outbox:
    with world.database.session() as session:
        return session.exec(select(Outbox).where(Outbox.key == key)).one()


async def test_a_key_is_queued_and_sent_once(world: World) -> None:
    contact = reachable_contact(world, 11)
    assert queue(world, contact, "tip:11:2027-03") is not None
    assert queue(world, contact, "tip:11:2027-03", "again") is None
    report = await world.drain()
    assert report.sent == 1
    again = await world.drain()
    assert again.sent == 0
    messages = world.sandbox.users[11].messages()
    assert [m.plain for m in messages] == ["Mẹo tháng 3"]
    assert world.sandbox.users[11].buttons(messages[0]) == [("OK", "x")]
    stored = row(world, "tip:11:2027-03")
    assert stored.status == OutboxStatus.SENT
    assert stored.telegram_message_id == messages[0].message_id


async def test_forbidden_marks_the_contact_unreachable(world: World) -> None:
    contact = reachable_contact(world, 12)
    world.sandbox.users[12].block()
    world.sandbox.take_updates()
    queue(world, contact, "a:12")
    queue(world, contact, "b:12")
    report = await world.drain()
    assert report.skipped == 2 and report.sent == 0
    with world.database.session() as session:
        assert session.get(Contact, contact.id).unreachable_at is not None  # type: ignore[union-attr]
    assert row(world, "a:12").status == OutboxStatus.SKIPPED


async def test_server_errors_back_off_then_send(world: World) -> None:
    contact = reachable_contact(world, 13)
    queue(world, contact, "k:13")
    world.sandbox.faults.add("5xx", method="sendMessage", times=1)
    assert (await world.drain()).deferred == 1
    assert row(world, "k:13").status == OutboxStatus.PENDING
    assert (await world.drain()).sent == 0  # not before the backoff
    world.clock.advance(seconds=31)
    assert (await world.drain()).sent == 1


async def test_server_errors_fail_a_row_after_five_attempts(world: World) -> None:
    contact = reachable_contact(world, 16)
    queue(world, contact, "k:16")
    world.sandbox.faults.add("5xx", method="sendMessage", times=5)
    for _ in range(5):
        await world.drain()
        world.clock.advance(hours=1)
    stored = row(world, "k:16")
    assert stored.status == OutboxStatus.FAILED and "Bad Gateway" in (stored.last_error or "")


async def test_a_message_failing_for_good_is_failed_with_its_reason(world: World) -> None:
    contact = reachable_contact(world, 14)
    queue(world, contact, "long:14", "x" * 5000)
    report = await world.drain()
    assert report.failed == 1
    assert "too long" in (row(world, "long:14").last_error or "").lower()


async def test_a_claim_left_by_a_dead_sender_is_sent_later(world: World) -> None:
    contact = reachable_contact(world, 15)
    queue(world, contact, "c:15")
    with world.database.session() as session:
        stored = session.exec(select(Outbox).where(Outbox.key == "c:15")).one()
        stored.status = OutboxStatus.SENDING
        stored.sent_at = world.clock()
        session.add(stored)
    assert (await world.drain()).sent == 0
    world.clock.advance(minutes=3)
    assert (await world.drain()).sent == 1


async def test_a_malformed_row_ends_failed_after_the_usual_attempts(world: World) -> None:
    contact = reachable_contact(world, 17)
    queue(world, contact, "bad:17")
    queue(world, contact, "good:17", "Mẹo khác")
    with world.database.session() as session:
        session.execute(
            sa.update(Outbox)
            .where(col(Outbox.key) == "bad:17")
            .values(payload={"text": "Mẹo", "buttons": [["a label without its data"]]})
        )
    for _ in range(MAX_ATTEMPTS + 2):
        await world.drain()
        world.clock.advance(hours=2)
    stored = row(world, "bad:17")
    assert stored.status == OutboxStatus.FAILED
    assert stored.attempts == MAX_ATTEMPTS
    assert "ValueError" in (stored.last_error or "")
    assert row(world, "good:17").status == OutboxStatus.SENT  # the rest of the queue moved on


async def test_a_row_that_stopped_its_sender_every_time_ends_failed(world: World) -> None:
    contact = reachable_contact(world, 18)
    queue(world, contact, "crash:18")
    with world.database.session() as session:
        session.execute(
            sa.update(Outbox)
            .where(col(Outbox.key) == "crash:18")
            .values(status=OutboxStatus.SENDING, attempts=MAX_ATTEMPTS, sent_at=world.clock())
        )
    world.clock.advance(minutes=3)
    assert (await world.drain()).sent == 0
    assert row(world, "crash:18").status == OutboxStatus.FAILED


async def test_a_slow_batch_and_a_second_sender_deliver_nothing_twice(world: World) -> None:
    """A batch to one chat (a second between messages) runs longer than the claim timeout;
    a second sender on the same database runs while the first has its last rows in flight."""
    count = int(CLAIM_TIMEOUT.total_seconds()) + 20
    contact = reachable_contact(world, 19)
    for number in range(count):
        queue(world, contact, f"slow:{number}", f"Tin số {number}")
    world.sandbox.limits = None  # two senders, two limiters: the test is about the outbox
    base, start = world.api_clock(), world.clock()

    def clock() -> datetime:
        return start + timedelta(seconds=world.api_clock() - base)

    second = ExtBot(
        world.sandbox.token, base_url=BASE_URL, base_file_url=BASE_FILE_URL,
        request=world.sandbox.make_request(),
        rate_limiter=PacedRateLimiter(clock=world.api_clock, sleep=world.api_clock.sleep),
    )  # fmt: skip
    real = world.sandbox.call
    interrupted: list[float] = []

    async def call(token: str, method: str, params: Any, files: Any = None) -> Any:
        text = params.get("text") if hasattr(params, "get") else None
        if text == f"Tin số {count - 3}" and not interrupted:
            # The first sender's request is in flight: the second sender's loop comes round.
            interrupted.append(world.api_clock())
            await send_due(second, world.database, clock=clock, limit=500)
        return await real(token, method, params, files)

    world.sandbox.call = call  # type: ignore[method-assign]
    async with second:
        await drain(world.application.bot, world.database, clock=clock, batch=500)
        await send_due(second, world.database, clock=clock, limit=500)
    assert interrupted and interrupted[0] - base > CLAIM_TIMEOUT.total_seconds()
    texts = [message.plain for message in world.sandbox.users[19].messages()]
    repeated = [text for text, seen in Counter(texts).items() if seen > 1]
    assert repeated == [] and len(texts) == count
