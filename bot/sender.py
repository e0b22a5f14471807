"""Delivers the outbox through the Bot API.

`send_due` claims the rows whose time has come and sends them; the bot's JobQueue calls
`drain` every few seconds (bot/app.py), `oshbot jobs run` and the tests call them directly.
What Telegram answers decides the row's fate: accepted -> sent (never again); Forbidden -> the
contact is unreachable and the row skipped; RetryAfter -> pending again after the given wait,
and the batch stops (Telegram asked everyone to wait); `drain` then sleeps until the wait is
over and carries on, rather than leaving the rest to the next outbox tick or the next cron run;
other errors, a malformed row among them -> retried with backoff, then failed after
MAX_ATTEMPTS with the reason kept.

Every message states its parse mode (HTML): the payload is HTML, and a bot built without
`Defaults(parse_mode=HTML)` (the command line's) would otherwise show the tags.

Pacing is the bot's rate limiter's job (bot/ratelimit.py): the sender marks its requests as bulk,
so that replies to people go first, and the limiter raises RetryAfter instead of sleeping through
a 429 pause, so that the row goes back to the outbox rather than being held.

Crash safety: claim (status "sending", committed) -> send -> mark sent (committed). Rows are
claimed CLAIM_CHUNK at a time in one statement just before they go (about half a second of
sending), and what Telegram answered is committed by a group commit (`_Writer`: everything
finished since the last commit, the rows sent in one statement); a request's slot of CONCURRENCY
is held until its row's outcome is committed. A crash after Telegram accepted a message and
before the mark leaves the row "sending"; after CLAIM_TIMEOUT (at once when another worker takes
over the sender lock) it is pending again and is sent a second time. Rows claimed and not yet
sent are pending again likewise, and reach their chat once. A claim is stamped with the time its
rows were claimed, not the start of their batch: a batch may take minutes (429 pauses, a slow
network), and a row claimed late in it must not look abandoned to another sender. Telegram has
no idempotency key, so exactly-once is impossible; at most the rows in flight or awaiting their
commit at the crash (CONCURRENCY per sender) are repeated.

Quiet hours (default 21:00-07:00 programme time): only the kinds in QUIET_EXEMPT_KINDS go out;
everything else stays pending and leaves when the quiet hours end.

Who may still be written to is checked as the rows are claimed, on every channel: a contact
unreachable, erased, removed or stopped, and a row that the archive of the person's enterprise
withdraws (models/enterprises.py `withheld`: a row queued or given back after the archive), and
a notice about a visit that is no longer to come (models/visits.py `closed_rows`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.dashboard.auth import secret_of
from bot.ratelimit import BULK, PacedRateLimiter, retry_seconds
from bot.render import inline
from bot.settings import Settings
from bot.zalo import notices as zalo_notices
from bot.zalo.client import ZaloClient
from bot.zalo.errors import ZaloError, ZaloInvalidRequest, ZaloRateLimited, ZaloUnreachable
from bot.zalo.pacing import DEFAULT_BACKOFF, Pacer
from bot.zalo.text import plain_text, split
from models import enterprises, links, outbox, visits
from models.db import Database
from models.outbox import TELEGRAM, ZALO
from models.programme import audit
from models.tables import Contact, Enterprise, Outbox, OutboxStatus
from scheduler.config import DEFAULT_CONFIG, QUIET_EXEMPT_KINDS, SchedulerConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = outbox.MAX_ATTEMPTS
CONCURRENCY = 8  # requests in flight at once (each to a different chat)
# Rows claimed in one statement, just before they are sent: about half a second of sending.
CLAIM_CHUNK = 16
# How long `drain` may wait, in all, for Telegram's 429 pauses to end before it gives the rest
# back to the next tick: the bot's ticks and `oshbot jobs run` (cron) pass their own bounds.
PAUSE_PATIENCE = 60.0


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    rate_limited: int = 0  # of `deferred`: put back because of a 429
    taken: int = 0  # due rows another sender claimed first
    errors: list[str] = field(default_factory=list)
    paused: bool = False  # a 429 pause was running: nothing was sent
    held: bool = False  # quiet hours: only exempt kinds were looked at
    resume_at: datetime | None = None  # when the row deferred by a 429 is due again
    waited: float = 0.0  # seconds `drain` slept for 429 pauses to end

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.deferred += other.deferred
        self.rate_limited += other.rate_limited
        self.taken += other.taken
        self.errors += other.errors
        self.paused = self.paused or other.paused
        self.held = self.held or other.held
        self.waited += other.waited
        if other.resume_at is not None:
            self.resume_at = max(self.resume_at or other.resume_at, other.resume_at)


class Unsendable(Exception):
    """A row that cannot be sent as it is on its channel (a file Zalo could only fetch by a
    public link, with no public address set): failed at once, retrying cannot help."""


@dataclass(frozen=True)
class ZaloRoute:
    """What the sender needs for Zalo rows: the client (its pacer keeps Zalo's pace, the bulk
    sends leaving tokens for replies), and where files go as signed links: Zalo takes a photo
    only by a public URL and has no document upload, so a file becomes a link to `oshbot serve`
    under OSHBOT_PUBLIC_URL (models/links.py)."""

    client: ZaloClient
    data_dir: Path
    secret: str
    public_url: str | None = None

    def link(self, path: Path, now: datetime) -> str:
        if not self.public_url:
            raise Unsendable(f"{path.name}: Zalo fetches files by link; set OSHBOT_PUBLIC_URL")
        try:
            return links.file_link(self.public_url, self.secret, self.data_dir, path, now=now)
        except ValueError as error:
            raise Unsendable(f"{path.name} is not under the data folder") from error


def zalo_route(settings: Settings, client: ZaloClient | None = None) -> ZaloRoute | None:
    """The Zalo route of these settings, None without OSHBOT_ZALO_TOKEN (Telegram alone).
    `client`: one already made (the Zalo driver's), so that replies and the outbox share its
    pacer; else a client paced at OSHBOT_ZALO_SEND_RATE and OSHBOT_ZALO_CHAT_RATE."""
    if not settings.zalo_token:
        return None
    if client is None:
        pacer = Pacer(settings.zalo_send_rate, settings.zalo_chat_rate)
        client = ZaloClient(settings.zalo_token, settings.zalo_api_base_url, pacer=pacer)
    return ZaloRoute(client, settings.data_dir, secret_of(settings), settings.public_url)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def limiter_of(bot: Bot | None) -> PacedRateLimiter | None:
    limiter = getattr(bot, "rate_limiter", None)
    return limiter if isinstance(limiter, PacedRateLimiter) else None


def due_rows(
    session: Session,
    *,
    now: datetime,
    limit: int,
    kinds: frozenset[str] | None = None,
    channel: str = TELEGRAM,
) -> list[Outbox]:
    """`channel`'s pending rows whose time has come, most urgent first, then oldest first; only
    `kinds` when given (quiet hours).

    One query per priority level (there are a handful): each walks the (status, priority,
    not_before, id) index in order and stops at `limit`, where a single query ordered by
    "priority DESC, not_before" would read and sort every pending row first."""
    pending = sa.and_(Outbox.status == OutboxStatus.PENDING, col(Outbox.channel) == channel)
    levels = session.exec(
        select(Outbox.priority).where(pending).distinct().order_by(col(Outbox.priority).desc())
    ).all()
    found: list[Outbox] = []
    for level in levels:
        query = select(Outbox).where(
            pending, Outbox.priority == level, col(Outbox.not_before) <= now
        )
        if kinds is not None:
            query = query.where(col(Outbox.kind).in_(sorted(kinds)))
        query = query.order_by(col(Outbox.not_before), col(Outbox.id)).limit(limit - len(found))
        found += session.exec(query).all()
        if len(found) >= limit:
            break
    return found


def defer(session: Session, row_id: int, *, at: datetime, reason: str, counts: bool) -> None:
    """Pending again from `at`; a 429 is Telegram's pacing, not the message's fault, so it does
    not count towards MAX_ATTEMPTS."""
    values: dict[str, object] = {
        "status": OutboxStatus.PENDING,
        "not_before": at,
        "last_error": reason[:500],
    }
    if not counts:
        values["attempts"] = Outbox.attempts - 1
    session.execute(sa.update(Outbox).where(col(Outbox.id) == row_id).values(**values))


async def deliver(bot: Bot, row: Outbox) -> int:
    """Sends one outbox row as a bulk request; returns Telegram's message id."""
    message = outbox.Message.from_payload(row.payload)
    markup = inline(message.buttons) if message.buttons else None
    # Only our limiter knows "bulk" (AIORateLimiter takes an int there).
    extra: dict[str, object] = {"parse_mode": ParseMode.HTML}
    if limiter_of(bot) is not None:
        extra["rate_limit_args"] = BULK
    if message.photo_path:
        data = Path(message.photo_path).read_bytes()
        sent = await bot.send_photo(
            row.chat_id,
            InputFile(data, filename=Path(message.photo_path).name),
            caption=message.text or None,
            reply_markup=markup,
            **extra,
        )
    elif message.document_path:
        data = Path(message.document_path).read_bytes()
        sent = await bot.send_document(
            row.chat_id,
            InputFile(data, filename=Path(message.document_path).name),
            caption=message.text or None,
            reply_markup=markup,
            **extra,
        )
    elif message.voice_path:
        data = Path(message.voice_path).read_bytes()
        sent = await bot.send_voice(
            row.chat_id,
            InputFile(data, filename=Path(message.voice_path).name),
            caption=message.text or None,
            reply_markup=markup,
            **extra,
        )
    else:
        sent = await bot.send_message(row.chat_id, message.text, reply_markup=markup, **extra)
    return sent.message_id


async def send_due(
    bot: Bot | None,
    database: Database,
    *,
    now: datetime | None = None,
    clock: Callable[[], datetime] | None = None,
    limit: int = 100,
    config: SchedulerConfig | None = None,
    channel: str = TELEGRAM,
    zalo: ZaloRoute | None = None,
) -> SendReport:
    """One batch of one channel's rows: up to `limit` rows due at `now` (default: `clock()`).
    A chat that has just had a message waits until the rest of the batch is out, so one busy
    chat never holds up the others. `clock` stamps each claim and deferral when it happens
    (default: `now`). Zalo rows need `zalo`; Telegram rows need `bot` (None: oshbot runs on
    Zalo alone, and they stay pending)."""
    if clock is None:
        assert now is not None, "send_due needs now or clock"
        fixed = now
        clock = lambda: fixed  # noqa: E731
    now = now or clock()
    config = config or DEFAULT_CONFIG
    report = SendReport()
    limiter = limiter_of(bot) if channel == TELEGRAM else None
    if limiter is not None and limiter.paused_for() > 0:
        report.paused = True
        return report
    if (channel == ZALO and zalo is None) or (channel == TELEGRAM and bot is None):
        return report
    quiet = config.quiet.until(now, config.tz) is not None
    report.held = quiet
    with database.session() as session:
        outbox.release_stale_claims(session, now=now)
        rows = due_rows(
            session,
            now=now,
            limit=limit,
            kinds=QUIET_EXEMPT_KINDS if quiet else None,
            channel=channel,
        )

    async def send(row: Outbox, writer: _Writer) -> bool:
        if zalo is not None and row.channel == ZALO:
            return await _send_zalo_row(zalo, writer, row, clock=clock, report=report)
        assert bot is not None
        return await _send_row(bot, writer, row, clock=clock, report=report)

    # Rounds: each round sends to every chat that is ready, one message per chat; a chat that
    # just had one waits for a later round, so one busy chat never holds up the others. Within
    # a round up to CONCURRENCY requests are in flight (a Bot API round trip takes far longer
    # than the 1/30 s between two sends); the limiter (Telegram) or the pacer (Zalo) keeps the
    # pace.
    waiting = rows
    while waiting:
        later: list[Outbox] = []
        ready: list[Outbox] = []
        chats: set[object] = set()
        for row in waiting:
            chat = row.address if row.channel == ZALO else row.chat_id
            if chat in chats or (limiter is not None and limiter.chat_wait(row.chat_id) > 0):
                later.append(row)
            else:
                chats.add(chat)
                ready.append(row)
        if not await _send_round(database, ready, send, report=report, clock=clock):
            return report  # asked to wait: the rest stays pending, untouched
        if later and not ready and limiter is not None:
            await limiter.sleep(min(limiter.chat_wait(row.chat_id) for row in later) + 1e-6)
        waiting = later
    return report


async def _send_round(
    database: Database,
    rows: list[Outbox],
    send: Callable[[Outbox, _Writer], Awaitable[bool]],
    *,
    report: SendReport,
    clock: Callable[[], datetime],
) -> bool:
    """Sends one round (one row per chat) with up to CONCURRENCY requests in flight.

    The rows are claimed CLAIM_CHUNK at a time in one statement, just before they go; what
    Telegram answered is written by a `_Writer` that commits everything finished since its last
    commit in one transaction (one statement for the rows sent). A slot of CONCURRENCY is held
    until its row's outcome is committed, so that a crash repeats at most CONCURRENCY messages,
    as when each row had transactions of its own. False when a 429 stopped the round: rows
    claimed and not sent are given back."""
    gate = asyncio.Semaphore(CONCURRENCY)
    writer = _Writer(database)
    stopped = False
    tasks: list[asyncio.Task[None]] = []
    unsent: list[int] = []

    async def one(row: Outbox) -> None:
        nonlocal stopped
        try:
            if not await send(row, writer):
                stopped = True
        finally:
            gate.release()

    for start in range(0, len(rows), CLAIM_CHUNK):
        if stopped:
            break
        chunk = rows[start : start + CLAIM_CHUNK]
        now = clock()
        claimed = await _in_thread(database, lambda s, c=chunk, n=now: _claim(s, c, n, report))
        for row in claimed:
            await gate.acquire()
            if stopped:
                gate.release()
                assert row.id is not None
                unsent.append(row.id)
                continue
            tasks.append(asyncio.create_task(one(row)))
    await asyncio.gather(*tasks)
    if unsent:
        await _in_thread(database, lambda session: outbox.unclaim(session, unsent))
    return not stopped


def _claim(session: Session, rows: list[Outbox], now: datetime, report: SendReport) -> list[Outbox]:
    """Claims `rows` (those another sender took are left out) and skips, there and then, the
    ones whose contact cannot be written to, or whose enterprise was archived and that it
    withdraws, or that are notices about a visit no longer to come; returns the rows to send."""
    # The claim (a write) comes first, so that the transaction never reads before it writes: in
    # SQLite's WAL mode a read transaction that then writes fails at once when another writer
    # went first, whatever the busy timeout.
    got = set(outbox.claim_many(session, [row.id for row in rows if row.id is not None], now=now))
    claimed = [row for row in rows if row.id in got]
    report.taken += len(rows) - len(claimed)
    contact_ids = {row.contact_id for row in claimed if row.contact_id is not None}
    contacts: dict[int | None, Contact] = {}
    shelved: set[int | None] = set()  # contacts whose enterprise is archived
    if contact_ids:
        found = session.exec(
            select(Contact, Enterprise.archived_at)
            .outerjoin(Enterprise, col(Enterprise.id) == col(Contact.enterprise_id))
            .where(col(Contact.id).in_(contact_ids))
        )
        for person, archived_at in found:
            contacts[person.id] = person
            if archived_at is not None:
                shelved.add(person.id)
    # A person of an archived enterprise gets only what they are still owed, whenever the row
    # was queued or given back (models/enterprises.py decides which rows).
    withheld = enterprises.withheld_rows(
        session, [row.id for row in claimed if row.id is not None and row.contact_id in shelved]
    )
    # A notice about a visit goes only while the visit is still to come (models/visits.py).
    closed = visits.closed_rows(session, claimed)
    send: list[Outbox] = []
    for row in claimed:
        assert row.id is not None
        reason = _undeliverable(contacts.get(row.contact_id), row.kind, row.channel)
        if reason is None and row.id in withheld:
            reason = enterprises.WITHDRAWN
        if reason is None:
            reason = closed.get(row.id)
        if reason is None:
            send.append(row)
        else:
            outbox.mark_failed(session, row.id, reason=reason, skipped=True)
            report.skipped += 1
    return send


class _Writer:
    """Group commit of the sender's outcomes: `write` queues a piece of work and returns once it
    is committed; the work queued while one transaction runs goes in the next, together. At the
    bot's pace (a send every 34 ms, a commit in a few) that is mostly one row a transaction, and
    never a wait: what it saves is the commits that would queue behind each other when the
    database is slow."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._sent: list[tuple[int, int | None, datetime]] = []
        self._work: list[Callable[[Session], object]] = []
        self._waiting: list[asyncio.Future[None]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def sent(self, row_id: int, message_id: int | None, at: datetime) -> None:
        self._sent.append((row_id, message_id, at))
        await self._wait()

    async def write(self, work: Callable[[Session], object]) -> None:
        self._work.append(work)
        await self._wait()

    async def _wait(self) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(done)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        try:
            while self._waiting:
                sent, work, waiting = self._sent, self._work, self._waiting
                self._sent, self._work, self._waiting = [], [], []

                def commit(
                    session: Session,
                    sent: list[tuple[int, int | None, datetime]] = sent,
                    work: list[Callable[[Session], object]] = work,
                ) -> None:
                    outbox.mark_sent_many(session, sent)
                    for piece in work:
                        piece(session)

                try:
                    await _in_thread(self.database, commit)
                except Exception as error:  # handed to every row waiting for this commit
                    for future in waiting:
                        future.set_exception(error)
                else:
                    for future in waiting:
                        future.set_result(None)
        finally:
            self._flushing = None


async def drain(
    bot: Bot | None,
    database: Database,
    *,
    clock: Callable[[], datetime],
    config: SchedulerConfig | None = None,
    batch: int = 500,
    max_batches: int = 20,
    patience: float = PAUSE_PATIENCE,
    sleep: Callable[[float], Awaitable[object]] | None = None,
    zalo: ZaloRoute | None = None,
) -> SendReport:
    """Batches until nothing is due or the batch budget is spent, for each channel at once:
    Telegram's rows at Telegram's pace and, with `zalo`, Zalo's rows at Zalo's, so that a
    broadcast to both goes out at both paces together rather than at the slower one. A 429
    pause is slept out (through the limiter's or the pacer's `sleep`, so tests run on a fake
    clock) and sending resumes as soon as the wait is over, as long as the waits add up to no
    more than `patience` seconds; a longer pause leaves the rest to the next call. Without
    `bot` (oshbot on Zalo alone) only Zalo's rows go, and those queued for Telegram to someone
    also on Zalo go by Zalo (`outbox.move_to_zalo`)."""
    if bot is None and zalo is not None:
        now = clock()
        moved = await _in_thread(database, lambda session: outbox.move_to_zalo(session, now=now))
        if moved:
            log.info("%d messages queued for Telegram go by Zalo (no OSHBOT_TOKEN)", moved)
    budget = (batch, max_batches, patience, sleep)
    lanes = []
    if bot is not None:
        lanes.append(_drain(bot, database, clock, config, *budget, TELEGRAM, None))
    if zalo is not None:
        lanes.append(_drain(bot, database, clock, config, *budget, ZALO, zalo))
    limiter = limiter_of(bot)
    if limiter is None:
        reports = await asyncio.gather(*lanes)
    else:
        # One drain at a time per bot (the outbox tick, a scheduled job's, the catch-up after a
        # takeover): two would share the pace but double the rows in flight.
        async with limiter.turn:
            reports = await asyncio.gather(*lanes)
    total = SendReport()
    for report in reports:
        total.add(report)
    return total


async def _drain(
    bot: Bot | None,
    database: Database,
    clock: Callable[[], datetime],
    config: SchedulerConfig | None,
    batch: int,
    max_batches: int,
    patience: float,
    sleep: Callable[[float], Awaitable[object]] | None,
    channel: str,
    zalo: ZaloRoute | None,
) -> SendReport:
    limiter = limiter_of(bot) if channel == TELEGRAM else None
    if sleep is None:
        if limiter is not None:
            sleep = limiter.sleep
        elif zalo is not None and zalo.client.pacer is not None:
            sleep = zalo.client.pacer.sleep
        else:
            sleep = asyncio.sleep
    total = SendReport()
    for _ in range(max_batches):
        report = await send_due(
            bot, database, clock=clock, limit=batch, config=config, channel=channel, zalo=zalo
        )
        total.add(report)
        if report.paused:
            wait = _pause_left(limiter, report.resume_at, clock())
            if total.waited + wait > patience:
                break
            total.waited += wait
            await sleep(wait)
            # What the 429 put back is sent by the batches that follow, not left deferred.
            total.deferred -= report.rate_limited
            total.rate_limited -= report.rate_limited
            continue
        # Rows another sender took count as handled: a full batch means more may be due.
        handled = report.sent + report.failed + report.skipped + report.deferred + report.taken
        if handled < batch:
            break
    return total


def _pause_left(
    limiter: PacedRateLimiter | None, resume_at: datetime | None, now: datetime
) -> float:
    """Seconds until both the limiter's pause and the deferred row's wait are over."""
    wait = limiter.paused_for() if limiter is not None else 0.0
    if resume_at is not None:
        wait = max(wait, (resume_at - now).total_seconds())
    # A hair more, so the deferred row is due (not_before <= now) when we look again.
    return max(wait, 0.0) + 1e-3


async def _in_thread(database: Database, work: Callable[[Session], T]) -> T:
    """Runs `work` in a transaction of its own on a worker thread: a commit that waits for the
    disk (or for another writer) must not hold up the event loop, which keeps the pace of the
    sends and answers people meanwhile."""

    def run() -> T:
        with database.session() as session:
            return work(session)

    return await asyncio.to_thread(run)


async def _retry_or_fail(
    writer: _Writer,
    report: SendReport,
    row: Outbox,
    reason: str,
    clock: Callable[[], datetime],
) -> None:
    """A send that failed for a reason that may pass: tried again later (backing off), until
    MAX_ATTEMPTS, then failed for good."""
    row_id = row.id
    assert row_id is not None
    attempts = row.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        await writer.write(lambda session: outbox.mark_failed(session, row_id, reason=reason))
        report.failed += 1
    else:
        at = clock() + backoff(attempts)
        await writer.write(
            lambda session: defer(session, row_id, at=at, reason=reason, counts=True)
        )
        report.deferred += 1
    report.errors.append(reason)


async def _unreachable(
    writer: _Writer, report: SendReport, row: Outbox, reason: str, now: datetime, channel: str
) -> None:
    """Blocked, or gone, on `channel`: the row skipped, and the contact unreachable there only
    (a person who blocked the bot on Zalo may still be reached on Telegram)."""
    assert row.id is not None
    row_id, field = row.id, ("zalo_unreachable_at" if channel == ZALO else "unreachable_at")
    said = {"channel": ZALO} if channel == ZALO else {}

    def mark(session: Session) -> None:
        outbox.mark_failed(session, row_id, reason=reason, skipped=True)
        contact = session.get(Contact, row.contact_id) if row.contact_id else None
        if contact is not None and getattr(contact, field) is None:
            setattr(contact, field, now)
            session.add(contact)
            audit(session, "contact.unreachable", subject=contact, reason=reason, **said)

    await writer.write(mark)
    report.skipped += 1


async def _paused(
    writer: _Writer, report: SendReport, row_id: int, resume_at: datetime, reason: str
) -> None:
    """A rate limit: the row waits until `resume_at`, without counting as an attempt, and the
    batch stops there (the caller returns False)."""
    await writer.write(
        lambda session: defer(session, row_id, at=resume_at, reason=reason, counts=False)
    )
    report.deferred += 1
    report.rate_limited += 1
    report.paused = True
    report.resume_at = max(report.resume_at or resume_at, resume_at)


async def _refused(writer: _Writer, report: SendReport, row_id: int, reason: str) -> None:
    """A message the platform will never accept as it is: failed at once."""
    await writer.write(lambda session: outbox.mark_failed(session, row_id, reason=reason))
    report.failed += 1
    report.errors.append(reason)


async def _send_row(
    bot: Bot,
    writer: _Writer,
    row: Outbox,
    *,
    clock: Callable[[], datetime],
    report: SendReport,
) -> bool:
    """Sends one claimed row and records what happened; False when the batch must stop (429)."""
    assert row.id is not None
    row_id = row.id
    try:
        message_id = await deliver(bot, row)
    except Forbidden as error:
        await _unreachable(writer, report, row, str(error), clock(), TELEGRAM)
    except RetryAfter as error:
        resume_at = clock() + timedelta(seconds=retry_seconds(error))
        await _paused(writer, report, row_id, resume_at, str(error))
        return False  # Telegram asked everyone to wait, not only this chat
    except (BadRequest, FileNotFoundError) as error:
        # A message Telegram will never accept as it is: retrying cannot help.
        await _refused(writer, report, row_id, str(error))
    except (TelegramError, ValueError, TypeError, KeyError, AttributeError, OSError) as error:
        # Telegram's other errors, and a row whose payload cannot be read (the shapes
        # `Message.from_payload` and the file reads throw): retried like any row, then failed,
        # never claimed again and again.
        reason = (
            str(error) if isinstance(error, TelegramError) else f"{type(error).__name__}: {error}"
        )
        if not isinstance(error, TelegramError):
            log.warning("outbox row %s cannot be sent: %s", row_id, reason)
        await _retry_or_fail(writer, report, row, reason, clock)
    else:
        await writer.sent(row_id, message_id, clock())
        report.sent += 1
    return True


async def deliver_zalo(
    zalo: ZaloRoute, row: Outbox, now: datetime, choices: str | None = None
) -> str | None:
    """Sends one outbox row to Zalo as a bulk request; returns Zalo's id of the first message.

    Zalo shows plain text only, at most 2000 units a message: the HTML becomes plain text
    (bot/zalo/text.py, as the Zalo driver renders it) and a longer text goes in several
    messages cut between words. A photo goes by signed link, with the text as its caption when
    it fits one message (else the text follows); a document or a voice note becomes a link at
    the end of the text. Zalo has no buttons: `choices`, the buttons it can answer as numbered
    lines (bot/zalo/notices.py), follow the text; the others are left out. A failure after the
    first of several messages sends them all again when the row is retried."""
    message = outbox.Message.from_payload(row.payload)
    if not row.address:
        raise Unsendable("a Zalo row without a Zalo address")
    text = "\n\n".join(filter(None, [plain_text(message.text or ""), choices]))
    first: str | None = None
    if message.photo_path:
        pieces = split(text)
        caption = pieces[0] if len(pieces) == 1 else None
        link = zalo.link(Path(message.photo_path), now)
        sent = await zalo.client.send_photo(row.address, link, caption, bulk=True)
        first = sent.message_id
        pieces = [] if caption is not None else pieces
    else:
        attached = message.document_path or message.voice_path
        if attached:
            text = (text + "\n\n" if text else "") + zalo.link(Path(attached), now)
        pieces = split(text)
        if not pieces:
            raise Unsendable("an empty message")
    for piece in pieces:
        sent = await zalo.client.send_message(row.address, piece, bulk=True)
        first = first or sent.message_id
    return first


async def _send_zalo_row(
    zalo: ZaloRoute,
    writer: _Writer,
    row: Outbox,
    *,
    clock: Callable[[], datetime],
    report: SendReport,
) -> bool:
    """`_send_row` for a Zalo row: "blocked" or "not found" marks the contact unreachable on
    Zalo only; a rate-limit answer defers the row and stops Zalo's part of the batch (the
    platform names no retry_after: the pacer's backoff)."""
    assert row.id is not None
    row_id = row.id
    try:
        numbered = await zalo_notices.prepare(writer.database, row)
        await deliver_zalo(zalo, row, clock(), numbered.text if numbered else None)
    except ZaloUnreachable as error:
        await _unreachable(writer, report, row, str(error), clock(), ZALO)
    except ZaloRateLimited as error:
        wait = error.retry_after if error.retry_after is not None else DEFAULT_BACKOFF
        await _paused(writer, report, row_id, clock() + timedelta(seconds=wait), str(error))
        return False
    except (ZaloInvalidRequest, Unsendable, FileNotFoundError) as error:
        await _refused(writer, report, row_id, str(error))
    except (ZaloError, ValueError, TypeError, KeyError, AttributeError, OSError) as error:
        reason = str(error) if isinstance(error, ZaloError) else f"{type(error).__name__}: {error}"
        if not isinstance(error, ZaloError):
            log.warning("outbox row %s cannot be sent: %s", row_id, reason)
        await _retry_or_fail(writer, report, row, reason, clock)
    else:
        if numbered is not None:
            # What the numbers stand for, once the person has them (they replace older ones).
            at = clock()
            await writer.write(lambda session: numbered.remember(session, now=at))
        await writer.sent(row_id, None, clock())
        report.sent += 1
    return True


def _undeliverable(contact: Contact | None, kind: str, channel: str = TELEGRAM) -> str | None:
    if contact is None:
        return None
    # Each channel has its own unreachability: a person who blocked the bot on Zalo may still
    # be reached on Telegram, and the other way round.
    unreachable = contact.zalo_unreachable_at if channel == ZALO else contact.unreachable_at
    if unreachable is not None or contact.erased_at is not None:
        return "contact unreachable"
    if contact.removed_at is not None and kind not in outbox.REMOVED_EXEMPT_KINDS:
        return "contact removed"
    if contact.opted_out_at is not None and kind not in outbox.STOP_EXEMPT_KINDS:
        return "contact stopped messages"
    return None
