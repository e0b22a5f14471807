"""How updates are scheduled (issue 14): one person's in order, different people's at once; the
flood guard at arrival; persistence off the event loop and only for what changed; one look-up
of the person per update; a command inside a conversation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlmodel import select
from telegram import Update

from bot.guard import LIMIT, InboundLimiter
from bot.i18n import gettext
from bot.persistence import DatabasePersistence
from bot.processor import PerPersonProcessor
from bot.runtime import People, Runtime
from models.db import Database
from models.journeys.state import telegram_person
from models.tables import BotState, Contact, JourneyState, Role, utcnow
from tests.conftest import World
from tests.factories import (
    add_person,
    join,
    make_enterprise,
    make_invite,
    make_provider,
    message,
)


async def test_one_persons_updates_keep_their_order_while_others_overtake() -> None:
    processor = PerPersonProcessor()
    log: list[str] = []
    slow_started, release = asyncio.Event(), asyncio.Event()

    async def handle(name: str, wait: bool = False) -> None:
        log.append(f"start {name}")
        if wait:
            slow_started.set()
            await release.wait()
        log.append(f"end {name}")

    first = asyncio.create_task(
        processor.process_update(message(1, "a", 1), handle("a1", wait=True))
    )
    await slow_started.wait()
    second = asyncio.create_task(processor.process_update(message(1, "b", 2), handle("a2")))
    other = asyncio.create_task(processor.process_update(message(2, "c", 3), handle("b1")))
    await other  # another person is not held up by the slow update
    assert log == ["start a1", "start b1", "end b1"]
    release.set()
    await asyncio.gather(first, second)
    # the person's second update waited for their first
    assert log[3:] == ["end a1", "start a2", "end a2"]
    assert not processor._locks, "nobody waiting: nothing kept"


async def test_the_processor_drops_a_flood_at_arrival() -> None:
    now = [1000.0]
    limiter = InboundLimiter(lambda: now[0])
    processor = PerPersonProcessor(lambda: limiter)
    ran: list[int] = []

    async def handle(index: int) -> None:
        ran.append(index)

    for index in range(LIMIT + 10):
        await processor.process_update(message(5, f"x{index}", index + 1), handle(index))
    # the warning's update still runs (the guard handler sends the warning); the rest never do
    assert ran == list(range(LIMIT + 1))
    assert not processor.verdicts


async def test_another_persons_help_is_answered_during_a_flood(world: World) -> None:
    """The bot as it runs: updates through the update queue and the processor, each Bot API
    call taking a round trip."""
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 901, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    await join(world, 902, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    flooder, other = world.user(901), world.user(902)
    world.api_clock.advance(120)
    before_flood, before_other = len(flooder.account.messages()), len(other.account.messages())
    application = world.application
    assert application.job_queue is not None
    application.job_queue.scheduler.remove_all_jobs()  # only the updates here
    world.sandbox.latency = 0.02
    await application.start()
    try:
        for index in range(40):
            flooder.account.send_text(f"xin chào {index}")
        other.account.send_command("/help")
        for raw in world.sandbox.take_updates():
            await application.update_queue.put(Update.de_json(raw, application.bot))
        while len(other.account.messages()) == before_other:
            await asyncio.sleep(0.005)
        answered_flooder = len(flooder.account.messages()) - before_flood
        await application.update_queue.join()
    finally:
        await application.stop()
    assert "/mydata" in other.account.messages()[-1].plain
    # One after the other, /help would have waited for all the flooder's answers.
    assert answered_flooder < 5, answered_flooder
    texts = [m.plain for m in flooder.account.messages()[before_flood:]]
    assert len(texts) == LIMIT + 1 and "gửi tin nhắn rất nhanh" in texts[-1]


# -- persistence ---------------------------------------------------------------------------


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[tuple[str, str]]]:
    """(thread name, SQL) of every statement run while the block lasts."""
    seen: list[tuple[str, str]] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append((threading.current_thread().name, statement))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def bot_state_writes(seen: list[tuple[str, str]]) -> list[str]:
    return [
        sql
        for _, sql in seen
        if "bot_state" in sql.lower() and sql.lstrip().upper().startswith(("INSERT", "UPDATE"))
    ]


async def test_persistence_writes_only_what_changed_and_off_the_event_loop(
    world: World,
) -> None:
    persistence = world.application.persistence
    assert isinstance(persistence, DatabasePersistence)
    engine = world.database.engine
    with statements(engine) as seen:  # someone met with nothing to keep: no row to write
        await persistence.update_user_data(8, {})
    assert seen == []
    with statements(engine) as seen:
        await persistence.update_user_data(7, {"lang": "vi"})
    assert len(bot_state_writes(seen)) == 1
    assert all(thread != threading.current_thread().name for thread, _ in seen), seen
    with statements(engine) as seen:
        for _ in range(3):  # PTB's flushes of a person whose data did not change
            await persistence.update_user_data(7, {"lang": "vi"})
    assert seen == []
    with statements(engine) as seen:
        await persistence.update_user_data(7, {"lang": "en"})
    assert len(bot_state_writes(seen)) == 1
    # what another process reads back
    reread = DatabasePersistence(world.database)
    assert (await reread.get_user_data())[7] == {"lang": "en"}


async def test_one_lookup_of_the_person_per_update(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 903, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    person = world.user(903)
    with statements(world.database.engine) as seen:
        reply = await person.say("/help")
    assert reply is not None and "/mydata" in reply.plain
    assert len(person_lookups(seen)) == 1, person_lookups(seen)


def runtime_of(world: World) -> Runtime:
    return world.application.bot_data["runtime"]  # type: ignore[no-any-return]


def person_lookups(seen: list[tuple[str, str]]) -> list[str]:
    return [sql for _, sql in seen if "telegram_user_id" in sql and "FROM contact" in sql]


async def test_people_asking_at_once_are_found_in_one_query(world: World) -> None:
    """Look-ups asked on one turn of the event loop go to the database together, and each
    person gets their own: the registered with the journey in front of them, someone
    registering with the language of their draft, someone removed with their former one."""
    enterprise = make_enterprise(world, make_provider(world))
    for user_id, language in [(911, "vi"), (912, "en"), (913, "vi")]:
        add_person(world, user_id, Role.WORKER, enterprise_id=enterprise, language=language)
    add_person(world, 915, Role.WORKER, enterprise_id=enterprise, language="en")
    with world.database.session() as session:
        session.add(JourneyState(person=telegram_person(913), journey="report", data={}))
        session.add(
            JourneyState(person=telegram_person(914), journey="onboarding", data={"language": "en"})
        )
        removed = session.exec(select(Contact).where(Contact.telegram_user_id == 915)).one()
        removed.removed_at = utcnow()
    people = People(world.database)
    with statements(world.database.engine) as seen:
        found = await asyncio.gather(*(people.find(u) for u in (911, 912, 913, 914, 915, 916)))
    # one query for the registered, one for the former languages of those not found
    assert len(person_lookups(seen)) == 2, person_lookups(seen)
    drafts = [sql for _, sql in seen if "FROM journey_state" in sql]
    assert len(drafts) == 1, drafts  # and one for the drafts of those not registered
    by_user = dict(zip((911, 912, 913, 914, 915, 916), found, strict=True))
    assert [c.language if c else None for c, *_ in found] == ["vi", "en", "vi", None, None, None]
    assert by_user[911][1:] == (None, None, None)
    assert by_user[913][1] == "report"
    assert by_user[914][1:] == ("onboarding", "en", None)
    assert by_user[915][1:] == (None, None, "en")  # removed: answered in their former language
    assert by_user[916][1:] == (None, None, None)  # a stranger
    # One at a time, from the calling thread, finds the same.
    assert people.find_now(913)[1] == "report" and people.find_now(915)[3] == "en"


async def test_a_failed_lookup_reaches_everyone_who_asked_and_the_next_ones_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = People(world.database)
    failing = True
    tries: list[list[int]] = []

    def find_all(user_ids: list[int]) -> dict:  # type: ignore[type-arg]
        tries.append(user_ids)
        if failing:
            raise sa.exc.OperationalError("SELECT", {}, Exception("the server closed"))
        return {user_id: (None, None, None, None) for user_id in user_ids}

    monkeypatch.setattr(people, "_find_all", find_all)
    results = await asyncio.gather(people.find(1), people.find(2), return_exceptions=True)
    assert all(isinstance(r, sa.exc.OperationalError) for r in results), results
    # The database out of reach: not asked again person by person, each waiting its timeout.
    assert tries == [[1, 2]]
    failing = False
    assert await people.find(3) == (None, None, None, None)


async def test_one_persons_failed_lookup_fails_only_their_update(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that fails is asked again person by person: the one whose row cannot be read
    (a newer worker's data, say) fails alone."""
    people = People(world.database)

    def find_all(user_ids: list[int]) -> dict:  # type: ignore[type-arg]
        if 2 in user_ids:
            raise ValueError("a row this worker cannot read")
        return {user_id: (None, None, None, None) for user_id in user_ids}

    monkeypatch.setattr(people, "_find_all", find_all)
    results = await asyncio.gather(*(people.find(u) for u in (1, 2, 3)), return_exceptions=True)
    assert results[0] == results[2] == (None, None, None, None)
    assert isinstance(results[1], ValueError)


def test_people_start_afresh_on_a_new_event_loop(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event loop that closed with look-ups under way (a stopped application, a test)
    leaves nothing behind that a look-up on the next loop would wait for."""
    people = People(database)
    find_all = people._find_all
    running, release = threading.Event(), threading.Event()

    def held(user_ids: list[int]) -> dict:  # type: ignore[type-arg]
        if 1 in user_ids:
            running.set()
            release.wait(10)
        return find_all(user_ids)

    monkeypatch.setattr(people, "_find_all", held)

    async def leave_two_pending() -> None:
        loop = asyncio.get_running_loop()
        first = loop.create_task(people.find(1))
        await loop.run_in_executor(None, running.wait, 10)  # its batch is in its thread
        second = loop.create_task(people.find(3))  # asked for the next batch
        await asyncio.sleep(0)
        assert not first.done() and not second.done()

    old = asyncio.new_event_loop()
    old.run_until_complete(leave_two_pending())
    old.close()  # its tasks never finish: neither the look-ups nor their batches
    release.set()
    found = asyncio.run(asyncio.wait_for(people.find(2), 10))
    assert found == (None, None, None, None)


async def test_a_persons_next_update_is_looked_up_after_their_previous_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many people's updates at once, and one person's "/report" with their next message right
    behind it: the look-ups go together, but the second message's look-up starts after /report
    has put the report in front of the person, so it finds the report there."""
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 921, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    others = list(range(931, 941))
    for user_id in others:
        add_person(world, user_id, Role.WORKER, enterprise_id=enterprise)
    reporter = world.user(921)
    before = len(reporter.account.messages())
    application = world.application
    assert application.job_queue is not None
    application.job_queue.scheduler.remove_all_jobs()
    people = runtime_of(world).people
    batches: list[list[int]] = []
    reporters_journeys: list[str | None] = []
    find_all = people._find_all

    def recording(user_ids: list[int]) -> dict:  # type: ignore[type-arg]
        batches.append(sorted(user_ids))
        found = find_all(user_ids)
        if 921 in found:
            reporters_journeys.append(found[921][1])
        return found

    monkeypatch.setattr(people, "_find_all", recording)
    world.sandbox.latency = 0.02
    await application.start()
    try:
        reporter.account.send_command("/report")
        reporter.account.send_text("xin chào")
        for user_id in others:
            world.sandbox.user(user_id, "An").send_command("/help")
        for raw in world.sandbox.take_updates():
            await application.update_queue.put(Update.de_json(raw, application.bot))
        await application.update_queue.join()
        while len(reporter.account.messages()) < before + 2 or any(
            not world.sandbox.user(u, "An").messages() for u in others
        ):
            await asyncio.sleep(0.005)
    finally:
        await application.stop()
    assert len(batches) < len(others) + 2, batches  # some went together
    assert reporters_journeys == [None, "report"]
    texts = [m.plain for m in reporter.account.messages()[before:]]
    offer = gettext("vi", "Send this to your OSH service provider? They will answer you here.")
    assert len(texts) == 2 and offer not in texts, texts
    assert all("/mydata" in world.sandbox.user(u, "An").messages()[-1].plain for u in others)


# -- a command inside a conversation -------------------------------------------------------


async def test_a_command_inside_any_conversation_ends_it_and_runs(world: World) -> None:
    from tests.factories import ASK_AREA, cast

    employer = (await cast(world)).employer
    question = await employer.say("/feedback")
    assert question is not None and "hữu ích đến mức nào" in question.plain
    await employer.say("/feedbak")  # a typo is answered and leaves the survey where it is
    assert "Tôi chưa hiểu lệnh này" in employer.last_text()
    before = len(employer.texts())
    await employer.say("/report")
    said = employer.texts()[before:]
    assert said[0] == "Tôi đã dừng việc đang làm dở để làm ngay việc Anh/Chị vừa yêu cầu.", said
    assert ASK_AREA in said[-1], said
    # the survey no longer holds the conversation: /help answers and nothing else
    before = len(employer.texts())
    await employer.say("/cancel")
    reply = await employer.say("4")
    assert reply is not None and "hữu ích" not in reply.plain, employer.texts()[before:]


# -- SQLite: writers take the lock when they begin ----------------------------------------


def test_a_read_then_write_waits_for_another_writer(database_url: str) -> None:
    """Two processes on one SQLite file (two engines here). A plain BEGIN reads first and asks
    for the lock at its first write; if the other wrote meanwhile, SQLite fails at once with
    "database is locked", busy_timeout or not. BEGIN IMMEDIATE waits its turn instead."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    first, second = Database(database_url, migrate=False), Database(database_url, migrate=False)
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            with second.session() as session:
                session.add(BotState(kind="test", key="other", data={}))
        except BaseException as error:
            errors.append(error)

    try:
        with first.session() as session:
            session.exec(select(BotState)).all()
            writer = threading.Thread(target=other_writer)
            writer.start()
            writer.join(timeout=0.5)  # a plain BEGIN lets the other write meanwhile
            session.add(BotState(kind="test", key="first", data={}))
        writer.join()
        assert errors == []
        with first.session() as session:
            keys = {
                row.key for row in session.exec(select(BotState).where(BotState.kind == "test"))
            }
        assert keys == {"first", "other"}
    finally:
        first.dispose()
        second.dispose()


def test_every_writing_session_begins_immediate_and_nested_ones_do_not_wait(
    database_url: str,
) -> None:
    """After sessions that committed, failed or only read, the next one still takes the lock
    at its start; a session opened inside another of the same thread reads without waiting
    for the lock its own thread holds."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    database = Database(database_url, migrate=False)
    try:
        with statements(database.engine) as seen:
            with database.session() as session:
                session.add(BotState(kind="test", key="a", data={}))
            with pytest.raises(RuntimeError), database.session() as session:
                session.exec(select(BotState)).all()
                raise RuntimeError("a handler failed")
            with database.session() as session:
                session.exec(select(BotState)).all()
            with database.reading() as session:
                session.exec(select(BotState)).all()
            with database.session() as outer:
                outer.add(BotState(kind="test", key="b", data={}))
                outer.flush()
                with database.session() as inner:  # would wait for `outer` until busy_timeout
                    assert inner.get(BotState, ("test", "a")) is not None
        begins = [sql for _, sql in seen if sql.startswith("BEGIN")]
        assert begins == ["BEGIN IMMEDIATE"] * 3 + ["BEGIN", "BEGIN IMMEDIATE", "BEGIN"]
    finally:
        database.dispose()
