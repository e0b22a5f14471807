"""Delivers the outbox through the Bot API.

One function, `send_due`, claims the rows whose time has come and sends them one by one;
the scheduler calls it every few seconds, the CLI and the tests call it directly. What
Telegram answers decides the row's fate: accepted -> sent (never again); Forbidden -> the
contact is unreachable and the row skipped; RetryAfter -> pending again after the given wait;
other errors -> retried with backoff, then failed with the reason kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.render import inline
from models import outbox
from models.db import Database
from models.programme import audit
from models.tables import Contact, Outbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


async def deliver(bot: Bot, row: Outbox) -> int:
    """Sends one outbox row; returns Telegram's message id."""
    message = outbox.Message.from_payload(row.payload)
    markup = inline(message.buttons) if message.buttons else None
    if message.photo_path:
        data = Path(message.photo_path).read_bytes()
        sent = await bot.send_photo(
            row.chat_id,
            InputFile(data, filename=Path(message.photo_path).name),
            caption=message.text or None,
            reply_markup=markup,
        )
    elif message.document_path:
        data = Path(message.document_path).read_bytes()
        sent = await bot.send_document(
            row.chat_id,
            InputFile(data, filename=Path(message.document_path).name),
            caption=message.text or None,
            reply_markup=markup,
        )
    else:
        sent = await bot.send_message(row.chat_id, message.text, reply_markup=markup)
    return sent.message_id


async def send_due(bot: Bot, database: Database, *, now: datetime, limit: int = 100) -> SendReport:
    report = SendReport()
    with database.session() as session:
        outbox.release_stale_claims(session, now=now)
        rows = outbox.due(session, now=now, limit=limit)
    for row in rows:
        assert row.id is not None
        with database.session() as session:
            contact = session.get(Contact, row.contact_id) if row.contact_id else None
            if contact is not None and (
                contact.unreachable_at is not None or contact.erased_at is not None
            ):
                outbox.mark_failed(session, row.id, reason="contact unreachable", skipped=True)
                report.skipped += 1
                continue
            if not outbox.claim(session, row.id, now=now):
                continue  # another sender has it
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
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            with database.session() as session:
                outbox.retry_later(
                    session, row.id, at=now + timedelta(seconds=seconds), reason=str(error)
                )
            report.deferred += 1
            break  # Telegram asked everyone to wait, not only this chat
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
                    outbox.retry_later(
                        session, row.id, at=now + backoff(attempts), reason=str(error)
                    )
                    report.deferred += 1
            report.errors.append(str(error))
        else:
            with database.session() as session:
                outbox.mark_sent(session, row.id, message_id=message_id, now=now)
            report.sent += 1
    return report
