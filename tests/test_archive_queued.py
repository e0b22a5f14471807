"""What was queued for an enterprise's people before it was archived (models/enterprises.py,
`withheld`): the programme's follow-up is withdrawn, what the person is still owed goes, on
Telegram and on Zalo, through the real sender; a restore brings nothing back; and a sender that
holds rows when the archive commits (in this process, in another, or waiting on its locks)
sends no withdrawn row later."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.sandbox import Sandbox
from bot.sandbox_http import SandboxServer
from bot.sender import SendReport, _claim, drain, due_rows
from models import enterprises, events
from models.db import Database
from models.enterprises import ARCHIVE_GOING_KINDS, ARCHIVE_KEPT_KINDS, WITHDRAWN
from models.outbox import PRIORITY_NOTICE, Message, enqueue
from models.tables import AuditLog, Contact, Enterprise, Outbox, OutboxStatus, Role, Rsvp
from tests.conftest import POSTGRES, START, World
from tests.factories import add_enterprise, add_person, contact, make_provider, staff
from tests.test_sender_cli import MORNING, oshbot
from tests.test_sender_cli import seed as seed_cli
from tests.test_sender_zalo import ALWAYS, Zalo, zalo_person

ROOT = Path(__file__).resolve().parent.parent

# Every kind the code queues for a person of an enterprise, with the decision: withdrawn by the
# archive, or still owed (models/enterprises.py). Staff's kinds never reach an enterprise's
# people. A kind queued anywhere and named nowhere here fails the first test below.
WITHDRAWN_KINDS = frozenset(
    {"tip", "survey-invite", "survey-nudge", "draft-nudge", "plan-reminder", "round-results",
     "province-results", "broadcast", "event-invite", "visit-proposal", "visit-confirmed",
     "visit-today", "visit-reminder", "visit-report"}
)  # fmt: skip
STAFF_KINDS = frozenset(
    {"visit-due", "visit-outcome", "digest", "enterprise", "member-joined", "inbox",
     "report-submitted", "report-photo", "report-withdrawn", "report-answer"}
)  # fmt: skip
QUEUED = re.compile(
    r"""(?:kind=(?:visit_kind\()?|^(?:[A-Z]+_)?KIND = )"([a-z][a-z-]+)\"""", re.MULTILINE
)
NOT_OUTBOX = {"png", "svg", "article", "website"}  # image formats and page kinds, not messages


def test_every_kind_queued_is_decided_for_an_archived_enterprise() -> None:
    found = set()
    for folder in ("models", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(QUEUED.findall(path.read_text(encoding="utf-8")))
    found -= NOT_OUTBOX
    decided = WITHDRAWN_KINDS | STAFF_KINDS | ARCHIVE_KEPT_KINDS | ARCHIVE_GOING_KINDS
    assert found - decided == set(), "decide in models/enterprises.py, then name it here"
    assert not WITHDRAWN_KINDS & (ARCHIVE_KEPT_KINDS | ARCHIVE_GOING_KINDS)
    assert {"tip", "broadcast", "event-reminder", "inbox-answer"} <= found  # the scan works


class Shelf:
    """Two enterprises of one provider; rows of every kind queued for the people of the one
    that will be archived. Its employer said "Going" to an event, its worker did not answer."""

    def __init__(self, world: World, organiser: Contact) -> None:
        self.world = world
        self.kept = add_enterprise(world, provider_id=organiser.provider_id, name="Cơ khí Tân Tiến")
        self.shelved = add_enterprise(world, provider_id=organiser.provider_id)
        assert self.kept.id is not None and self.shelved.id is not None
        self.employer = add_person(world, 401, Role.EMPLOYER, enterprise_id=self.shelved.id)
        self.worker = add_person(world, 402, Role.WORKER, enterprise_id=self.shelved.id)
        self.other = add_person(world, 301, Role.EMPLOYER, enterprise_id=self.kept.id)
        starts = world.clock() + timedelta(days=3)
        draft = events.EventDraft(events.ACHIEVEMENT_WORKSHOP, "Hội thảo", starts, "Đà Nẵng")
        with world.database.session() as session:
            event = events.create_event(session, draft=draft, actor=organiser, now=world.clock())
            self.event = event.id
            for person, answer in ((self.employer, events.GOING), (self.worker, None)):
                session.add(
                    Rsvp(event_id=event.id, contact_id=person.id, answer=answer,  # type: ignore[arg-type]
                         invited_at=world.clock())
                )  # fmt: skip

    def queue(self, person: Contact, kinds: frozenset[str] | set[str], *, tag: str = "") -> None:
        """One row of each kind, its text the kind (what the person reads says what went)."""
        with self.world.database.session() as session:
            for kind in sorted(kinds):
                # An event's rows are keyed `<kind>:<event>:...`, as models/events.py keys them.
                key = (
                    f"{kind}:{self.event}:{person.id}{tag}"
                    if kind.startswith("event-")
                    else f"{kind}:{person.id}{tag}"
                )
                row = enqueue(session, key=key, contact=person, kind=kind,
                              message=Message(kind + tag), priority=PRIORITY_NOTICE)  # fmt: skip
                assert row is not None, kind

    def archive(self, actor: Contact) -> enterprises.Archived:
        with self.world.database.session() as session:
            return enterprises.archive(
                session, session.get(Contact, actor.id), self.shelved.id,  # type: ignore[arg-type]
                now=self.world.clock(),
            )  # fmt: skip


def statuses(world: World, person: Contact) -> dict[str, tuple[OutboxStatus, str | None]]:
    with world.database.session() as session:
        rows = session.exec(select(Outbox).where(Outbox.contact_id == person.id)).all()
        return {row.payload["text"]: (row.status, row.last_error) for row in rows}


def texts(world: World, user_id: int) -> list[str]:
    return sorted(message.plain for message in world.sandbox.users[user_id].messages())


OWED = ARCHIVE_KEPT_KINDS | ARCHIVE_GOING_KINDS  # to the employer, who said "Going"
EVERY = WITHDRAWN_KINDS | OWED


async def test_archiving_withdraws_the_follow_up_and_its_people_still_get_what_they_are_owed(
    world: World,
) -> None:
    provider = make_provider(world)
    person = await staff(world, 501, provider)
    organiser = contact(world, 501)
    assert organiser is not None
    shelf = Shelf(world, organiser)
    shelf.queue(shelf.employer, EVERY)
    shelf.queue(shelf.worker, ARCHIVE_GOING_KINDS | {"tip", "inbox-answer"})
    shelf.queue(shelf.other, {"tip", "broadcast"})

    await person.say("/enterprises")
    await person.press("Xưởng mộc Hòa Phát")
    await person.press("🗄 Lưu trữ")
    await person.press("✅ Lưu trữ")
    # The employer's follow-up, and the worker's tip and event messages (they never said Going).
    withdrawn = len(WITHDRAWN_KINDS) + 1 + len(ARCHIVE_GOING_KINDS)
    assert (
        f"{withdrawn} tin nhắn đang chờ gửi đến người của doanh nghiệp (mẹo, lời nhắc, lời mời, "
        "tin gửi chung) sẽ không được gửi nữa; câu trả lời cho những gì họ đã hỏi vẫn được gửi."
    ) in person.last_text()
    with world.database.session() as session:
        [record] = session.exec(
            select(AuditLog.details).where(AuditLog.action == "enterprise.archive")
        ).all()
    assert record["withdrawn"] == withdrawn

    await world.drain()
    assert texts(world, 401) == sorted(OWED)
    assert texts(world, 402) == ["inbox-answer"]
    assert texts(world, 301) == ["broadcast", "tip"]  # the other enterprise: as ever
    employer = statuses(world, shelf.employer)
    assert {kind: employer[kind] for kind in WITHDRAWN_KINDS} == {
        kind: (OutboxStatus.SKIPPED, WITHDRAWN) for kind in WITHDRAWN_KINDS
    }
    assert statuses(world, shelf.worker)["event-reminder"] == (OutboxStatus.SKIPPED, WITHDRAWN)


async def test_a_restore_brings_nothing_withdrawn_back(world: World) -> None:
    organiser = add_person(world, 501, Role.STAFF, provider_id=make_provider(world))
    shelf = Shelf(world, organiser)
    shelf.queue(shelf.employer, {"tip", "survey-invite", "visit-reminder"})
    assert shelf.archive(organiser).withdrawn == 3
    world.clock.advance(days=2)
    with world.database.session() as session:
        enterprises.restore(session, session.get(Contact, organiser.id), shelf.shelved.id,  # type: ignore[arg-type]
                            now=world.clock())  # fmt: skip
    shelf.queue(shelf.employer, {"tip"}, tag=" (after the restore)")
    await world.drain()
    # Stale messages do not flood the person; what is queued after the restore goes.
    assert texts(world, 401) == ["tip (after the restore)"]
    assert statuses(world, shelf.employer)["survey-invite"] == (OutboxStatus.SKIPPED, WITHDRAWN)


async def test_both_channels_withhold_what_was_queued_for_it_after_the_archive(
    world: World,
) -> None:
    zalo = Zalo(world)
    try:
        organiser = add_person(world, 501, Role.STAFF, provider_id=make_provider(world))
        shelf = Shelf(world, organiser)
        on_zalo = zalo_person(world, zalo, "z-403", enterprise_id=shelf.shelved.id)
        shelf.queue(on_zalo, {"tip", "visit-reminder", "inbox-answer"})
        shelf.queue(shelf.employer, {"tip", "report-reviewed"})
        assert shelf.archive(organiser).withdrawn == 3
        # A job in another process chose its recipients a moment before the archive committed,
        # and queues now: the sender withholds those rows as it claims them, on either channel.
        late = {"broadcast", "round-results"}
        shelf.queue(on_zalo, late, tag=" (late)")
        shelf.queue(shelf.employer, late, tag=" (late)")
        report = await drain(
            world.application.bot, world.database, clock=world.clock, config=ALWAYS,
            zalo=zalo.route,
        )  # fmt: skip
    finally:
        await zalo.client.aclose()
    assert (report.sent, report.skipped) == (2, 4)
    assert [m.plain for m in zalo.sandbox.users["z-403"].messages()] == ["inbox-answer"]
    assert texts(world, 401) == ["report-reviewed"]
    for person in (on_zalo, shelf.employer):
        found = statuses(world, person)
        assert [found[f"{kind} (late)"] for kind in sorted(late)] == [
            (OutboxStatus.SKIPPED, WITHDRAWN)
        ] * 2


# -- a sender busy when the archive commits ---------------------------------------------------


LOOKS = 6000  # at the pg_stat_activity, 10 ms apart: a claim that never waits fails the test
LOCK_WAITS = sa.text("select count(*) from pg_stat_activity where wait_event_type = 'Lock'")


def hook(sandbox: Sandbox, text: str, act: Callable[[], object]) -> None:
    """Runs `act()` when the sender's request carrying `text` reaches the sandbox, before it
    is answered: the row is claimed and in flight."""
    real = sandbox.call

    async def call(token: str, method: str, params: Any, files: Any = None) -> Any:
        if hasattr(params, "get") and params.get("text") == text:
            act()
        return await real(token, method, params, files)

    sandbox.call = call  # type: ignore[method-assign]


@pytest.mark.parametrize("given_back", [False, True], ids=["sent", "given-back"])
async def test_a_row_in_flight_at_the_archive_goes_and_one_given_back_does_not(
    world: World, given_back: bool
) -> None:
    organiser = add_person(world, 501, Role.STAFF, provider_id=make_provider(world))
    shelf = Shelf(world, organiser)
    shelf.queue(shelf.employer, {"tip"})
    shelf.queue(shelf.employer, {"visit-reminder", "inbox-answer"})
    done: list[enterprises.Archived] = []
    hook(world.sandbox, "tip", lambda: done.append(shelf.archive(organiser)))
    if given_back:
        # Telegram asks the tip to wait: it goes back to the outbox after the archive, and is
        # withheld when it is claimed again.
        world.sandbox.faults.add("429", method="sendMessage", chat_id=401, retry_after=1)
    base, start = world.api_clock(), world.clock()

    def clock() -> datetime:
        return start + timedelta(seconds=world.api_clock() - base)

    await drain(world.application.bot, world.database, clock=clock)
    [archived] = done
    assert archived.withdrawn == 1  # the reminder waiting; the tip was claimed, in flight
    assert statuses(world, shelf.employer)["visit-reminder"] == (OutboxStatus.SKIPPED, WITHDRAWN)
    if given_back:
        assert texts(world, 401) == ["inbox-answer"]
        assert statuses(world, shelf.employer)["tip"] == (OutboxStatus.SKIPPED, WITHDRAWN)
    else:  # a message Telegram has accepted cannot be taken back
        assert texts(world, 401) == ["inbox-answer", "tip"]


async def test_a_claim_waiting_on_the_archive_transaction_takes_none_of_its_rows(
    world: World,
) -> None:
    """Two sessions: the archive's transaction is open when another sender claims the rows
    it read a moment before. The claim waits (SQLite: the write lock; PostgreSQL: the rows'
    locks) and then finds the withdrawn row gone, the owed one still its own."""
    organiser = add_person(world, 501, Role.STAFF, provider_id=make_provider(world))
    shelf = Shelf(world, organiser)
    shelf.queue(shelf.employer, {"tip", "inbox-answer"})
    with world.database.session() as session:
        rows = due_rows(session, now=world.clock(), limit=10)
        for row in rows:
            session.expunge(row)
    report = SendReport()
    got: list[Outbox] = []
    entered = threading.Event()

    def other_sender() -> None:
        entered.set()
        with world.database.session() as session:
            got.extend(_claim(session, rows, world.clock(), report))

    with world.database.session() as session:
        actor = session.get(Contact, organiser.id)
        assert shelf.shelved.id is not None
        enterprises.archive(session, actor, shelf.shelved.id, now=world.clock())
        session.flush()
        thread = threading.Thread(target=other_sender)
        thread.start()
        entered.wait()
        if POSTGRES:  # wait until the claim is really waiting for this transaction's locks
            watching = world.database.engine.execution_options(isolation_level="AUTOCOMMIT")
            with watching.connect() as watcher:  # each look a statement of its own: a fresh view
                for _ in range(LOOKS):
                    if watcher.execute(LOCK_WAITS).scalar():
                        break
                    time.sleep(0.01)
                else:
                    pytest.fail("the other sender's claim never waited for the archive")
    await asyncio.to_thread(thread.join)
    assert [row.payload["text"] for row in got] == ["inbox-answer"]
    assert report.taken == 1
    assert statuses(world, shelf.employer)["tip"] == (OutboxStatus.SKIPPED, WITHDRAWN)


async def test_another_process_sending_when_the_archive_commits(
    database: Database, tmp_path: Path
) -> None:
    """`oshbot jobs run` in its own process: its tips job queues the month's tip for the
    enterprise's worker, and its sender has the first row in flight when this process archives
    the enterprise. The tip is withdrawn; the answer owed to the worker still goes."""
    sandbox = Sandbox(limits=None)
    server = SandboxServer(sandbox)
    port = await server.start()
    try:
        [worker] = seed_cli(database, sandbox, 1)
        with database.session() as session:
            enterprise = session.get(Enterprise, worker.enterprise_id)
            assert enterprise is not None
            actor = Contact(role=Role.STAFF, provider_id=enterprise.provider_id, language="vi")
            session.add(actor)
            for kind in ("visit-reminder", "inbox-answer"):
                enqueue(session, key=f"{kind}:{worker.id}", contact=worker, kind=kind,
                        message=Message(kind), priority=PRIORITY_NOTICE)  # fmt: skip
            session.flush()
            actor_id = actor.id

        def archive() -> None:
            with database.session() as session:
                enterprises.archive(
                    session, session.get(Contact, actor_id), worker.enterprise_id,  # type: ignore[arg-type]
                    now=START + timedelta(hours=1),
                )  # fmt: skip

        hook(sandbox, "visit-reminder", archive)
        result = await oshbot(server, port, database, tmp_path, "jobs", "run", "--now", MORNING)
    finally:
        await server.stop()
    assert result.returncode == 0, result.stderr
    assert [m.plain for m in sandbox.chat_messages(worker.chat_id or 0)] == [
        "visit-reminder", "inbox-answer",
    ]  # fmt: skip
    with database.session() as session:
        tip = session.exec(select(Outbox).where(Outbox.kind == "tip")).one()
    assert (tip.status, tip.last_error) == (OutboxStatus.SKIPPED, WITHDRAWN)
