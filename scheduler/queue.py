"""Queueing many outbox rows at once.

`models.outbox.enqueue` checks and inserts one row per call, which is right for a handler. A job
that queues thousands (tips, digests) inserts them in chunks with "on conflict do nothing", so a
key queued before is still queued once, and a rerun after a crash queues only what is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.outbox import PRIORITY_BULK, Message
from models.tables import Contact, Outbox, OutboxStatus

CHUNK = 500


@dataclass(frozen=True)
class Queued:
    key: str
    contact: Contact
    kind: str
    message: Message
    priority: int = PRIORITY_BULK
    not_before: datetime | None = None


def insert_ignoring_conflicts(session: Session, table: Any, rows: list[dict[str, Any]]) -> int:
    """Inserts rows, skipping those that hit a unique constraint; returns how many went in."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One cached statement run over many parameter sets ("insertmanyvalues" batches them and
    # still returns what was inserted; rowcount is -1 on psycopg for these).
    statement = insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    inserted = 0
    connection = session.connection()
    for start in range(0, len(rows), CHUNK):
        inserted += len(connection.execute(statement, rows[start : start + CHUNK]).all())
    return inserted


def enqueue_many(session: Session, items: Iterable[Queued], *, now: datetime) -> int:
    rows = [
        {
            "key": item.key,
            "contact_id": item.contact.id,
            "chat_id": item.contact.chat_id,
            "kind": item.kind,
            "payload": item.message.payload(),
            "priority": item.priority,
            "not_before": item.not_before or now,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "created_at": now,
        }
        for item in items
        if item.contact.chat_id is not None and item.contact.erased_at is None
    ]
    return insert_ignoring_conflicts(session, Outbox.__table__, rows)
