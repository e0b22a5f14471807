"""The outbox: every message oshbot sends on its own initiative is first a row here.

A row has a unique key (`tip:<contact>:<2027-03>`, `visit-reminder:<visit>:d-1`, ...), so the
same intention enqueued twice is one message. The sender (bot/sender.py) claims due rows,
sends them, and marks them sent with Telegram's message id; a key that Telegram accepted is
never sent again. Telegram has no idempotency key, so a crash between Telegram's answer and
the commit can repeat the few messages in flight at that instant, and nothing more.

Messages are rendered in the recipient's language when they are enqueued: the payload holds
the final HTML text, optional buttons and an optional photo or document path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models.tables import Contact, Outbox, OutboxStatus, table_of, utcnow
from models.text import esc

# Replies to people go straight out; among queued messages, these come first.
PRIORITY_NOTICE = 10  # a staff notice about a report, a visit arrangement
PRIORITY_REMINDER = 5
PRIORITY_BULK = 0  # tips, broadcasts, digests

# Messages that arrange a visit the person takes part in are service, not promotion: they
# still reach someone who stopped tips and broadcasts ("visit-today" is a same-day change).
VISIT_KINDS = frozenset(
    {"visit-due", "visit-proposal", "visit-reminder", "visit-confirmed", "visit-outcome",
     "visit-today", "visit-report"}
)  # fmt: skip
# What still reaches a person who sent /stop: visit arrangements and what they asked for.
# An answer from the provider to the person's own message (models/inbox.py) is one of those.
STOP_EXEMPT_KINDS = VISIT_KINDS | {"requested", "inbox-answer"}

# What still reaches a person removed from the programme: the word that their access ended.
REMOVED_EXEMPT_KINDS = frozenset({"member-removed"})
# What still reaches a person of an archived enterprise is decided with the rest of archiving:
# models/enterprises.py, `withheld`.

# The channels a row can go by (`Outbox.channel`); a Zalo row goes to `Outbox.address`.
TELEGRAM = "telegram"
ZALO = "zalo"
# A Zalo row's chat_id (the column predates channels and may not be empty): no Telegram chat.
NO_CHAT = 0

# A claim older than this belonged to a sender that died; its rows may be sent again.
CLAIM_TIMEOUT = timedelta(minutes=2)
# Tries before a row ends failed, whatever went wrong (a 429 is pacing and does not count). A
# claim counts as a try: a row that brings its sender down every time ends failed too.
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Message:
    """What to send: HTML text (or a caption), optional inline buttons, an optional file
    (a photo, a document, or a voice note sent as one).

    `mentions` maps the id of each person named in a message to someone else to the exact
    strings that name them (as escaped in the text, as shortened in a button), so that
    /deleteme can take the name out of messages still waiting (`forget_mentions`)."""

    text: str
    buttons: list[list[tuple[str, str]]] | None = None
    photo_path: str | None = None
    document_path: str | None = None
    mentions: dict[int, list[str]] | None = None
    voice_path: str | None = None

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text,
            "buttons": [[list(button) for button in row] for row in self.buttons or []],
            "photo_path": self.photo_path,
            "document_path": self.document_path,
        }
        if self.voice_path:
            payload["voice_path"] = self.voice_path
        if self.mentions:
            # JSON keys are strings; the longest form first, so that a name's shortened form
            # never takes a bite out of the full one.
            payload["mentions"] = {
                str(contact_id): sorted(set(forms), key=len, reverse=True)
                for contact_id, forms in self.mentions.items()
                if forms
            }
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Message:
        rows = payload.get("buttons") or []
        return cls(
            text=payload.get("text", ""),
            buttons=[[(label, data) for label, data in row] for row in rows] or None,
            photo_path=payload.get("photo_path"),
            document_path=payload.get("document_path"),
            voice_path=payload.get("voice_path"),
            mentions={int(k): list(v) for k, v in (payload.get("mentions") or {}).items()} or None,
        )


def mention(person: Contact | None) -> dict[int, list[str]] | None:
    """`Message.mentions` for a text that names `person` by display name (escaped)."""
    if person is None or person.id is None or not person.display_name:
        return None
    return {person.id: [esc(person.display_name)]}


def route(contact: Contact) -> tuple[str, int, str | None] | None:
    """(channel, chat id, address) a message to `contact` goes by, None when there is none.

    The rule: Telegram when the person has a Telegram chat and Telegram has not refused it,
    else Zalo when they have a Zalo id that Zalo has not refused; a person on both channels
    therefore gets Telegram unless Telegram is unreachable. A person whose only channel is
    unreachable still gets their row on it: the sender skips it and says why (as it always
    has for Telegram)."""
    if contact.erased_at is not None:
        return None
    if contact.chat_id is not None and contact.unreachable_at is None:
        return TELEGRAM, contact.chat_id, None
    if contact.zalo_user_id and contact.zalo_unreachable_at is None:
        return ZALO, NO_CHAT, contact.zalo_user_id
    if contact.chat_id is not None:
        return TELEGRAM, contact.chat_id, None
    if contact.zalo_user_id:
        return ZALO, NO_CHAT, contact.zalo_user_id
    return None


def reachable() -> sa.ColumnElement[bool]:
    """Contacts some channel can reach now (the SQL form of `route` finding a live channel)."""
    return sa.or_(
        sa.and_(col(Contact.chat_id).is_not(None), col(Contact.unreachable_at).is_(None)),
        sa.and_(col(Contact.zalo_user_id).is_not(None), col(Contact.zalo_unreachable_at).is_(None)),
    )


def reachable_now(contact: Contact) -> bool:
    """`reachable()` for one contact in hand."""
    return contact.erased_at is None and (
        (contact.chat_id is not None and contact.unreachable_at is None)
        or (bool(contact.zalo_user_id) and contact.zalo_unreachable_at is None)
    )


def writable(contact: Contact, kind: str) -> bool:
    """Whether a message of `kind` may be queued for `contact` at all."""
    if route(contact) is None:
        return False
    return contact.removed_at is None or kind in REMOVED_EXEMPT_KINDS


def enqueue(
    session: Session,
    *,
    key: str,
    contact: Contact,
    kind: str,
    message: Message,
    priority: int = PRIORITY_BULK,
    not_before: datetime | None = None,
    broadcast_id: int | None = None,
) -> Outbox | None:
    """Queues a message for `contact` unless `key` was queued before; returns the new row, or
    None when the key exists or the contact cannot be written to."""
    found = route(contact)
    if found is None or not writable(contact, kind):
        return None
    channel, chat_id, address = found
    if session.exec(select(Outbox.id).where(Outbox.key == key)).first() is not None:
        return None
    row = Outbox(
        key=key,
        contact_id=contact.id,
        chat_id=chat_id,
        channel=channel,
        address=address,
        kind=kind,
        payload=message.payload(),
        priority=priority,
        not_before=not_before or utcnow(),
        broadcast_id=broadcast_id,
    )
    # A savepoint, so that a concurrent insert of the same key loses quietly instead of
    # spoiling the caller's transaction.
    try:
        with session.begin_nested():
            session.add(row)
    except sa.exc.IntegrityError:
        return None
    return row


# -- many at once -----------------------------------------------------------------------------
# `enqueue` checks and inserts one row per call, which is right for a handler. Whoever queues
# hundreds or thousands (tips, digests, broadcasts, event invitations) inserts them in chunks with
# "on conflict do nothing": a key queued before is still queued once, and a rerun after a crash
# queues only what is missing.

CHUNK = 500


@dataclass(frozen=True)
class Queued:
    key: str
    contact: Contact
    kind: str
    message: Message
    priority: int = PRIORITY_BULK
    not_before: datetime | None = None
    broadcast_id: int | None = None


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
    """`enqueue` for many messages; returns how many were queued (keys seen before and
    contacts that cannot be written to are left out)."""
    rows = []
    for item in items:
        found = route(item.contact)
        if found is None or not writable(item.contact, item.kind):
            continue
        channel, chat_id, address = found
        rows.append({
            "key": item.key, "contact_id": item.contact.id, "chat_id": chat_id,
            "channel": channel, "address": address, "kind": item.kind,
            "payload": item.message.payload(), "priority": item.priority,
            "not_before": item.not_before or now, "status": OutboxStatus.PENDING.value,
            "attempts": 0, "created_at": now, "broadcast_id": item.broadcast_id,
        })  # fmt: skip
    return insert_ignoring_conflicts(session, table_of(Outbox), rows)


def claim(session: Session, row_id: int, *, now: datetime) -> bool:
    """Marks a row as being sent at `now`, the moment of this claim (a claim stamped with an
    earlier time, such as the start of a long batch, would look abandoned to another sender
    while it is still being sent); False when another sender took it first."""
    result = session.execute(
        sa.update(Outbox)
        .where(col(Outbox.id) == row_id, col(Outbox.status) == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, attempts=Outbox.attempts + 1, sent_at=now)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def claim_many(session: Session, row_ids: list[int], *, now: datetime) -> list[int]:
    """`claim` for several rows in one statement (the sender claims the next few rows it is
    about to send, a second's worth at most, so each claim is still stamped when its row is
    about to go); returns the ids this sender got."""
    if not row_ids:
        return []
    result = session.execute(
        sa.update(Outbox)
        .where(col(Outbox.id).in_(row_ids), col(Outbox.status) == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, attempts=Outbox.attempts + 1, sent_at=now)
        .returning(col(Outbox.id))
    )
    return [int(row_id) for row_id in result.scalars()]


def unclaim(session: Session, row_ids: list[int]) -> None:
    """Gives back rows this sender claimed and did not send (a 429 stopped the batch): pending
    again as they were, the claim not counted as a try."""
    if row_ids:
        session.execute(
            sa.update(Outbox)
            .where(col(Outbox.id).in_(row_ids), col(Outbox.status) == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING, attempts=Outbox.attempts - 1, sent_at=None)
        )


def move_to_zalo(session: Session, *, now: datetime) -> int:
    """Pending Telegram rows, due by `now`, of people who also have a live Zalo address go by
    Zalo instead: `route` chose Telegram when they were queued, and oshbot now runs on Zalo
    alone (no OSHBOT_TOKEN), so they would wait for a sender that never comes. Rows due later
    stay Telegram's until they are due, so that a token set again meanwhile still sends them
    there. Returns how many moved."""
    on_zalo = sa.and_(
        col(Contact.zalo_user_id).is_not(None), col(Contact.zalo_unreachable_at).is_(None)
    )
    address = (
        sa.select(col(Contact.zalo_user_id))
        .where(col(Contact.id) == col(Outbox.contact_id))
        .scalar_subquery()
    )
    result = session.execute(
        sa.update(Outbox)
        .where(
            col(Outbox.status) == OutboxStatus.PENDING,
            col(Outbox.channel) == TELEGRAM,
            col(Outbox.not_before) <= now,
            col(Outbox.contact_id).in_(sa.select(col(Contact.id)).where(on_zalo)),
        )
        .values(channel=ZALO, chat_id=NO_CHAT, address=address)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def release_stale_claims(session: Session, *, now: datetime) -> int:
    """Rows claimed by a sender that died: pending again (they may be sent a second time), or
    failed once they have had MAX_ATTEMPTS tries."""
    stale = (
        col(Outbox.status) == OutboxStatus.SENDING,
        col(Outbox.sent_at) < now - CLAIM_TIMEOUT,
    )
    session.execute(
        sa.update(Outbox)
        .where(*stale, col(Outbox.attempts) >= MAX_ATTEMPTS)
        .values(status=OutboxStatus.FAILED, last_error="sender stopped while sending, every try")
    )
    result = session.execute(sa.update(Outbox).where(*stale).values(status=OutboxStatus.PENDING))
    return int(result.rowcount)  # type: ignore[attr-defined]


def mark_sent(session: Session, row_id: int, *, message_id: int | None, now: datetime) -> None:
    mark_sent_many(session, [(row_id, message_id, now)])


_MARK_SENT = (
    sa.update(table_of(Outbox))
    .where(table_of(Outbox).c.id == sa.bindparam("row_id"))
    .values(
        status=OutboxStatus.SENT.value,
        telegram_message_id=sa.bindparam("message_id"),
        sent_at=sa.bindparam("at"),
    )
)


def mark_sent_many(session: Session, sent: list[tuple[int, int | None, datetime]]) -> None:
    """Marks (row id, message id, time accepted) rows sent in one statement run over every
    row (psycopg pipelines it): the sender writes what Telegram accepted together."""
    if sent:
        session.connection().execute(
            _MARK_SENT,
            [
                {"row_id": row_id, "message_id": message_id, "at": at}
                for row_id, message_id, at in sent
            ],
        )


def about(prefix: str, subject_id: int) -> sa.ColumnElement[bool]:
    """Rows whose key is about one subject: `<prefix>:<subject>:…` (an event, a visit)."""
    return col(Outbox.key).startswith(f"{prefix}:{subject_id}:", autoescape=True)


def withdraw(session: Session, *where: Any, reason: str) -> int:
    """Pending rows matching `where` never go: skipped for good, with `reason` as their last
    error (a person removed, stopped or erased, an enterprise archived, an event or a visit
    changed). Rows a sender has claimed are in flight already. Returns how many."""
    result = session.execute(
        sa.update(Outbox)
        .where(col(Outbox.status) == OutboxStatus.PENDING, *where)
        .values(status=OutboxStatus.SKIPPED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def mark_failed(session: Session, row_id: int, *, reason: str, skipped: bool = False) -> None:
    session.execute(
        sa.update(Outbox)
        .where(col(Outbox.id) == row_id)
        .values(
            status=OutboxStatus.SKIPPED if skipped else OutboxStatus.FAILED,
            last_error=reason[:500],
        )
    )


_TAGS = re.compile(r"(<[^<>]*>)")


def forget_mentions(
    session: Session, contact_id: int, replacement: Callable[[str | None], str]
) -> int:
    """Takes a person's name out of the messages to others that wait in the outbox (pending or
    deferred), replacing it with `replacement(recipient's language)`; returns how many changed.
    Messages already sent are Telegram's copy in the recipient's chat, beyond reach."""
    key = str(contact_id)
    # Only rows that mention someone: a text search narrows the scan, the JSON decides.
    candidates = session.exec(
        select(Outbox).where(
            col(Outbox.status) == OutboxStatus.PENDING,
            sa.cast(Outbox.payload, sa.Text).contains('"mentions"'),
        )
    ).all()
    changed = 0
    for row in candidates:
        payload = dict(row.payload)
        mentions = dict(payload.get("mentions") or {})
        forms = mentions.pop(key, None)
        if not forms:
            continue
        recipient = session.get(Contact, row.contact_id) if row.contact_id else None
        neutral = replacement(recipient.language if recipient else None)

        def scrub(text: str, forms: list[str] = forms, neutral: str = neutral) -> str:
            # Outside tags only (a name "b" must not break "<b>"), whole words only.
            words = "|".join(re.escape(form) for form in forms)
            pattern = re.compile(rf"(?<!\w)(?:{words})(?!\w)")
            parts = _TAGS.split(text)
            return "".join(
                part if part.startswith("<") else pattern.sub(neutral, part) for part in parts
            )

        payload["text"] = scrub(payload.get("text") or "")
        payload["buttons"] = [
            [[scrub(label), data] for label, data in line] for line in payload.get("buttons") or []
        ]
        if mentions:
            payload["mentions"] = mentions
        else:
            payload.pop("mentions", None)
        session.execute(
            sa.update(Outbox)
            .where(col(Outbox.id) == row.id, col(Outbox.status) == OutboxStatus.PENDING)
            .values(payload=payload)
        )
        changed += 1
    return changed
