"""Faults: duplicate updates, Telegram failing for a stretch, the database unavailable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models.db import Database
from models.outbox import Message, enqueue
from models.tables import Contact, Invite, Outbox, OutboxStatus, Role
from tests.conftest import POSTGRES, World, make_world
from tests.factories import contact, join, make_enterprise, make_invite, make_provider


async def test_a_duplicated_update_changes_nothing_twice(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    code = make_invite(world, Role.WORKER, enterprise_id=enterprise)
    person = world.user(601)
    await person.say(f"/start {code}")
    await person.press("Tiếng Việt")
    consent = person.account.messages()[-1]
    update = person.account.press(consent.message_id, "onb:agree")
    world.sandbox.inject_raw(update)  # Telegram delivering the same update again
    await world.deliver()
    with world.database.session() as session:
        assert len(session.exec(select(Contact)).all()) == 1
        assert session.exec(select(Invite).where(Invite.code == code)).one().uses == 1
    welcomes = [t for t in person.texts() if t.startswith("Chào mừng")]
    assert len(welcomes) == 1


async def test_telegram_failing_for_a_stretch_loses_nothing(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 602, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    recipients = []
    with world.database.session() as session:
        for user_id in range(700, 720):
            world.sandbox.user(user_id, f"Người {user_id}")
            person = Contact(telegram_user_id=user_id, chat_id=user_id, role=Role.WORKER,
                             enterprise_id=enterprise)  # fmt: skip
            session.add(person)
            session.flush()
            enqueue(session, key=f"tip:{user_id}", contact=person, kind="tip",
                    message=Message(f"Mẹo cho {user_id}"))  # fmt: skip
            recipients.append(user_id)
    for user_id in recipients[:6]:
        world.sandbox.faults.add("5xx", method="sendMessage", chat_id=user_id)
    for user_id in recipients[6:10]:
        world.sandbox.faults.add("timeout", method="sendMessage", chat_id=user_id)
    world.sandbox.faults.add("429", method="sendMessage", retry_after=20, times=2)
    await world.drain()
    # While proactive sends are failing, the bot still answers the person talking to it.
    reply = await world.user(602).say("/help")
    assert reply is not None and "/mydata" in reply.plain
    for _ in range(10):
        world.clock.advance(minutes=5)
        await world.drain()
    for user_id in recipients:
        assert [m.plain for m in world.sandbox.users[user_id].messages()] == [f"Mẹo cho {user_id}"]
    with world.database.session() as session:
        statuses = {row.status for row in session.exec(select(Outbox))}
    assert statuses == {OutboxStatus.SENT}
    assert world.sandbox.stats.rate_limited >= 1


@pytest.mark.skipif(POSTGRES, reason="SQLite's file lock; PostgreSQL is covered below")
async def test_a_locked_database_asks_to_try_again_and_keeps_what_was_entered(
    database: Database, tmp_path: Path
) -> None:
    impatient = Database(database.url, busy_timeout=0.2)
    world = make_world(impatient, tmp_path)
    await world.start()
    try:
        enterprise = make_enterprise(world, make_provider(world))
        code = make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)
        person = world.user(603)
        await person.say(f"/start {code}")
        await person.press("Tiếng Việt")
        blocker = sqlite3.connect(database.url.removeprefix("sqlite:///"))
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            await person.press("Tôi đồng ý")
        finally:
            blocker.rollback()
            blocker.close()
        assert "Hệ thống đang bận" in person.texts()[-1]
        assert contact(world, 603) is None
        with world.database.session() as session:
            assert session.exec(select(Invite).where(Invite.code == code)).one().uses == 0
        world.errors.clear()  # the failure above was expected and answered
        reply = await person.press("Tôi đồng ý")
        assert reply is not None and "Chào mừng" in reply.plain
        assert contact(world, 603) is not None
    finally:
        await world.stop()
        impatient.dispose()
    assert not world.errors


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL connections only")
async def test_lost_database_connections_are_replaced(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    code = make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)
    person = world.user(604)
    await person.say(f"/start {code}")
    await person.press("Tiếng Việt")
    # What a PostgreSQL restart does to the pool: every server connection is gone.
    admin = sa.create_engine(world.database.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    admin.dispose()
    reply = await person.press("Tôi đồng ý")
    assert reply is not None and "Chào mừng" in reply.plain
    assert contact(world, 604) is not None


def test_a_nul_character_in_user_text_is_dropped_not_fatal(database: Database) -> None:
    """PostgreSQL's text cannot hold NUL; Telegram text may carry one (the fuzz test found it).
    Single and many-row writes keep the text without it, on both databases."""
    from models.outbox import insert_ignoring_conflicts
    from models.tables import AuditLog, Provider, utcnow

    with database.session() as session:
        provider = Provider(name="Trung tâm\x00 A", province_code="hue")
        session.add(provider)
        session.flush()
        session.execute(
            sa.insert(AuditLog),
            [{"action": f"x\x00{n}", "details": {"a": "b\x00"}, "at": utcnow()} for n in range(3)],
        )
        # A batched INSERT … RETURNING (how the outbox queues many) passes one flat row.
        rows = [{"name": f"Hội\x00 {n}", "active": True, "created_at": utcnow()} for n in range(3)]
        assert insert_ignoring_conflicts(session, Provider.__table__, rows) == 3
    with database.session() as session:
        assert session.get(Provider, provider.id).name == "Trung tâm A"
        names = session.execute(sa.select(Provider.name).where(Provider.name.like("Hội%")))
        assert sorted(names.scalars()) == ["Hội 0", "Hội 1", "Hội 2"]
        actions = session.execute(sa.select(AuditLog.action).order_by(AuditLog.id)).scalars()
        assert list(actions)[-3:] == ["x0", "x1", "x2"]
