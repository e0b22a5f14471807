"""The outbox and its sender: keyed once, sent once, and what Telegram's answers do to a row."""

from __future__ import annotations

from sqlmodel import select

from models.outbox import Message, enqueue
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
