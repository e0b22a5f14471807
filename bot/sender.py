"""Delivers the outbox through the Bot API.

`send_due` claims the rows whose time has come and sends them; the bot's JobQueue calls
`drain` every few seconds (bot/app.py), `oshbot jobs run` and the tests call them directly.
What Telegram answers decides the row's fate: accepted -> sent (never again); Forbidden -> the
contact is unreachable and the row skipped; RetryAfter -> pending again after the given wait,
and the batch stops (Telegram asked everyone to wait); other errors -> retried with backoff,
then failed with the reason kept.

Pacing is the bot's rate limiter's job (bot/ratelimit.py): the sender marks its requests as bulk,
so that replies to people go first, and the limiter raises RetryAfter instead of sleeping through
a 429 pause, so that the row goes back to the outbox rather than being held.

Crash safety: claim (status "sending", committed) -> send -> mark sent (committed). A crash after
Telegram accepted a message and before the mark leaves the row "sending"; after CLAIM_TIMEOUT it
is pending again and is sent a second time. Telegram has no idempotency key, so exactly-once is
impossible; at most the rows in flight at the crash (one per sender) are repeated.

Quiet hours (default 21:00-07:00 programme time): only the kinds in QUIET_EXEMPT_KINDS go out;
everything else stays pending and leaves when the quiet hours end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select
from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.ratelimit import BULK, PacedRateLimiter, retry_seconds
from bot.render import inline
from models import outbox
from models.db import Database
from models.programme import audit
from models.tables import Contact, Outbox, OutboxStatus
from scheduler.config import DEFAULT_CONFIG, QUIET_EXEMPT_KINDS, SchedulerConfig

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CONCURRENCY = 8  # requests in flight at once (each to a different chat)
# Kinds that reach a contact who stopped proactive messages: visits they take part in, and what
# they asked for themselves.


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)
    paused: bool = False  # a 429 pause was running: nothing was sent
    held: bool = False  # quiet hours: only exempt kinds were looked at

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.deferred += other.deferred
        self.errors += other.errors
        self.paused = self.paused or other.paused
        self.held = self.held or other.held


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def limiter_of(bot: Bot) -> PacedRateLimiter | None:
    limiter = getattr(bot, "rate_limiter", None)
    return limiter if isinstance(limiter, PacedRateLimiter) else None


def due_rows(
    session: Session, *, now: datetime, limit: int, kinds: frozenset[str] | None = None
) -> list[Outbox]:
    """Pending rows whose time has come, most urgent first, then oldest first; only `kinds`
    when given (quiet hours).

    One query per priority level (there are a handful): each walks the (status, priority,
    not_before, id) index in order and stops at `limit`, where a single query ordered by
    "priority DESC, not_before" would read and sort every pending row first."""
    pending = Outbox.status == OutboxStatus.PENDING
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
    extra = {"rate_limit_args": BULK} if limiter_of(bot) is not None else {}
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
    else:
        sent = await bot.send_message(row.chat_id, message.text, reply_markup=markup, **extra)
    return sent.message_id


async def send_due(
    bot: Bot,
    database: Database,
    *,
    now: datetime,
    limit: int = 100,
    config: SchedulerConfig | None = None,
) -> SendReport:
    """One batch: up to `limit` due rows. A chat that has just had a message waits until the
    rest of the batch is out, so one busy chat never holds up the others."""
    config = config or DEFAULT_CONFIG
    report = SendReport()
    limiter = limiter_of(bot)
    if limiter is not None and limiter.paused_for() > 0:
        report.paused = True
        return report
    quiet = config.quiet.until(now, config.tz) is not None
    report.held = quiet
    with database.session() as session:
        outbox.release_stale_claims(session, now=now)
        rows = due_rows(session, now=now, limit=limit, kinds=QUIET_EXEMPT_KINDS if quiet else None)
    # Rounds: each round sends to every chat that is ready, one message per chat; a chat that
    # just had one waits for a later round, so one busy chat never holds up the others. Within
    # a round up to CONCURRENCY requests are in flight (a Bot API round trip takes far longer
    # than the 1/30 s between two sends); the limiter keeps the pace.
    waiting = rows
    while waiting:
        later: list[Outbox] = []
        ready: list[Outbox] = []
        chats: set[int] = set()
        for row in waiting:
            if row.chat_id in chats or (limiter is not None and limiter.chat_wait(row.chat_id) > 0):
                later.append(row)
            else:
                chats.add(row.chat_id)
                ready.append(row)
        if not await _send_round(bot, database, ready, now=now, report=report):
            return report  # a 429: the rest stays pending, untouched
        if later and not ready and limiter is not None:
            await limiter.sleep(min(limiter.chat_wait(row.chat_id) for row in later) + 1e-6)
        waiting = later
    return report


async def _send_round(
    bot: Bot, database: Database, rows: list[Outbox], *, now: datetime, report: SendReport
) -> bool:
    gate = asyncio.Semaphore(CONCURRENCY)
    stopped = False

    async def one(row: Outbox) -> None:
        nonlocal stopped
        async with gate:
            if stopped:
                return
            if not await _send_row(bot, database, row, now=now, report=report):
                stopped = True

    await asyncio.gather(*(one(row) for row in rows))
    return not stopped


async def drain(
    bot: Bot,
    database: Database,
    *,
    clock: Callable[[], datetime],
    config: SchedulerConfig | None = None,
    batch: int = 500,
    max_batches: int = 20,
) -> SendReport:
    """Batches until nothing is due (or a pause or the batch budget stops it)."""
    total = SendReport()
    for _ in range(max_batches):
        report = await send_due(bot, database, now=clock(), limit=batch, config=config)
        total.add(report)
        handled = report.sent + report.failed + report.skipped + report.deferred
        if report.paused or handled < batch:
            break
    return total


async def _send_row(
    bot: Bot, database: Database, row: Outbox, *, now: datetime, report: SendReport
) -> bool:
    """Sends one row and records what happened; False when the batch must stop (429)."""
    assert row.id is not None
    with database.session() as session:
        contact = session.get(Contact, row.contact_id) if row.contact_id else None
        reason = _undeliverable(contact, row.kind)
        if reason is not None:
            outbox.mark_failed(session, row.id, reason=reason, skipped=True)
            report.skipped += 1
            return True
        if not outbox.claim(session, row.id, now=now):
            return True  # another sender has it
    try:
        message_id = await deliver(bot, row)
    except Forbidden as error:
        with database.session() as session:
            outbox.mark_failed(session, row.id, reason=str(error), skipped=True)
            contact = session.get(Contact, row.contact_id) if row.contact_id else None
            if contact is not None and contact.unreachable_at is None:
                contact.unreachable_at = now
                session.add(contact)
                audit(session, "contact.unreachable", subject=contact, reason=str(error))
        report.skipped += 1
    except RetryAfter as error:
        seconds = retry_seconds(error)
        with database.session() as session:
            defer(
                session,
                row.id,
                at=now + timedelta(seconds=seconds),
                reason=str(error),
                counts=False,
            )
        report.deferred += 1
        report.paused = True
        return False  # Telegram asked everyone to wait, not only this chat
    except (BadRequest, FileNotFoundError) as error:
        # A message Telegram will never accept as it is: retrying cannot help.
        with database.session() as session:
            outbox.mark_failed(session, row.id, reason=str(error))
        report.failed += 1
        report.errors.append(str(error))
    except TelegramError as error:
        attempts = row.attempts + 1
        with database.session() as session:
            if attempts >= MAX_ATTEMPTS:
                outbox.mark_failed(session, row.id, reason=str(error))
                report.failed += 1
            else:
                defer(session, row.id, at=now + backoff(attempts), reason=str(error), counts=True)
                report.deferred += 1
        report.errors.append(str(error))
    else:
        with database.session() as session:
            outbox.mark_sent(session, row.id, message_id=message_id, now=now)
        report.sent += 1
    return True


def _undeliverable(contact: Contact | None, kind: str) -> str | None:
    if contact is None:
        return None
    if contact.unreachable_at is not None or contact.erased_at is not None:
        return "contact unreachable"
    if contact.removed_at is not None and kind not in outbox.REMOVED_EXEMPT_KINDS:
        return "contact removed"
    if contact.opted_out_at is not None and kind not in outbox.STOP_EXEMPT_KINDS:
        return "contact stopped messages"
    return None
