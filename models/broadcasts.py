"""Broadcasts: compose -> audience -> preview (exact count) -> confirm -> outbox -> progress.

A broadcast is a row from the first step on, so a half-composed one survives a restart. Confirming
queues one outbox row per recipient with the key `broadcast:<id>:<contact id>`, all in one
transaction: confirming twice, or again after a crash, never queues anyone twice, and the
sender's own guarantees (sent once Telegram accepted it; opted-out and unreachable contacts
skipped; limits and quiet hours) apply to every message. Progress is counted from the outbox rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import audience as audiences
from models import goodpractice
from models.outbox import PRIORITY_BULK, Message, Queued, enqueue_many
from models.programme import ProgrammeError, audit
from models.tables import Broadcast, Contact, Enterprise, Outbox, OutboxStatus, Role, utcnow
from models.text import utf16_len

TEXT_MAX = 4000  # of Telegram's 4096, leaving room for the markup around it
CAPTION_MAX = 1000  # of Telegram's 1024 for a photo's caption
KIND = "broadcast"
SENDERS = (Role.STAFF, Role.COORDINATOR)


class Status(StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


def key(broadcast_id: int, contact_id: int) -> str:
    return f"broadcast:{broadcast_id}:{contact_id}"


def may_broadcast(contact: Contact | None) -> bool:
    return (
        contact is not None
        and contact.role in SENDERS
        and (contact.role == Role.COORDINATOR or contact.provider_id is not None)
    )


def clean_text(text: str | None, *, with_photo: bool) -> str:
    cleaned = (text or "").strip()
    limit = CAPTION_MAX if with_photo else TEXT_MAX
    if not cleaned:
        raise ProgrammeError("text_empty")
    # Telegram counts UTF-16 code units: most emoji count twice.
    length = utf16_len(cleaned)
    if length > limit:
        raise ProgrammeError("text_too_long", limit=limit, length=length)
    return cleaned


def create(
    session: Session,
    *,
    author: Contact | None,
    text: str | None = None,
    photo_path: str | None = None,
    improvement_id: int | None = None,
) -> Broadcast:
    """A draft: either a text (optionally with a photo) or a good-practice entry. `author` None
    is the operator at the command line, who may reach every provider."""
    if author is not None and not may_broadcast(author):
        raise ProgrammeError("not_allowed")
    if improvement_id is not None:
        if goodpractice.entry(session, improvement_id) is None:
            raise ProgrammeError("not_in_library")
        cleaned = None
    else:
        cleaned = clean_text(text, with_photo=photo_path is not None)
    broadcast = Broadcast(
        provider_id=author.provider_id if author and author.role == Role.STAFF else None,
        created_by_id=author.id if author else None,
        text=cleaned,
        photo_path=photo_path,
        improvement_id=improvement_id,
        status=Status.DRAFT,
    )
    session.add(broadcast)
    session.flush()
    audit(session, "broadcast.create", actor_id=author.id if author else None, subject=broadcast)
    return broadcast


def own_draft(session: Session, broadcast_id: int, author: Contact | None) -> Broadcast:
    """The author's broadcast; anybody else's id (a forged button) is refused."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.created_by_id != (author.id if author else None):
        raise ProgrammeError("not_allowed")
    if author is not None and not may_broadcast(author):
        raise ProgrammeError("not_allowed")
    return broadcast


def scoped(
    audience: audiences.Audience, author: Contact | None, broadcast: Broadcast
) -> audiences.Audience:
    """Staff reach their own provider's enterprises only, whatever the request said; a good
    practice (or a newsletter, which carries them) reaches only people who accepted good
    examples from other enterprises."""
    chosen = replace(
        audience, good_examples=audience.good_examples or broadcast.improvement_id is not None
    )
    if author is None or author.role == Role.COORDINATOR:
        return chosen
    return replace(chosen, provider_id=author.provider_id, include_partners=False)


def set_audience(
    session: Session, *, broadcast_id: int, author: Contact | None, audience: audiences.Audience
) -> int:
    """Stores the audience of a draft and returns the exact number of recipients it has now."""
    broadcast = own_draft(session, broadcast_id, author)
    if broadcast.status != Status.DRAFT:
        raise ProgrammeError("already_sent")
    chosen = scoped(audience, author, broadcast)
    broadcast.audience = chosen.to_json()
    session.add(broadcast)
    return audiences.count(session, chosen)


def audience_of(broadcast: Broadcast) -> audiences.Audience | None:
    return audiences.Audience.from_json(broadcast.audience) if broadcast.audience else None


def preview_count(session: Session, broadcast: Broadcast) -> int:
    chosen = audience_of(broadcast)
    if chosen is None:
        return 0
    # Drafts stored before good examples needed their consent get the rule too.
    return audiences.count(
        session,
        replace(chosen, good_examples=chosen.good_examples or broadcast.improvement_id is not None),
    )


Render = Callable[[str], Message]  # a recipient's language -> the message in it


def confirm(
    session: Session,
    *,
    broadcast_id: int,
    author: Contact | None,
    render: Render,
    now: datetime | None = None,
) -> int:
    """Queues the broadcast for every member of its audience; returns how many are queued.

    One transaction: either every recipient is queued and the broadcast is `sending`, or
    nothing changed. A second call finds it `sending` and queues nobody again."""
    broadcast = own_draft(session, broadcast_id, author)
    assert broadcast.id is not None
    if broadcast.status != Status.DRAFT:
        return queued(session, broadcast.id)
    chosen = audience_of(broadcast)
    if chosen is None:
        raise ProgrammeError("no_audience")
    chosen = scoped(chosen, author, broadcast)
    already = set(
        session.exec(select(Outbox.contact_id).where(Outbox.broadcast_id == broadcast.id))
    )
    moment = now or utcnow()
    messages: dict[str, Message] = {}
    recipients = []
    for contact in audiences.members(session, chosen):
        if contact.id in already:
            continue
        if contact.language not in messages:
            messages[contact.language] = render(contact.language)
        assert contact.id is not None
        recipients.append(
            Queued(
                key=key(broadcast.id, contact.id),
                contact=contact,
                kind=KIND,
                message=messages[contact.language],
                priority=PRIORITY_BULK,
                broadcast_id=broadcast.id,
            )
        )
    enqueue_many(session, recipients, now=moment)
    total = queued(session, broadcast.id)
    broadcast.status = Status.SENDING if total else Status.DONE
    broadcast.confirmed_at = moment
    broadcast.recipients = total
    if not total:
        broadcast.finished_at = broadcast.confirmed_at
    session.add(broadcast)
    audit(
        session,
        "broadcast.confirm",
        actor_id=author.id if author else None,
        subject=broadcast,
        recipients=total,
    )
    return total


def cancel(session: Session, *, broadcast_id: int, author: Contact) -> None:
    broadcast = own_draft(session, broadcast_id, author)
    if broadcast.status == Status.DRAFT:
        broadcast.status = Status.CANCELLED
        session.add(broadcast)


def queued(session: Session, broadcast_id: int) -> int:
    query = select(sa.func.count(col(Outbox.id))).where(Outbox.broadcast_id == broadcast_id)
    return int(session.exec(query).one())


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    skipped: int
    pending: int

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped

    @property
    def finished(self) -> bool:
        return self.pending == 0

    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def signature(self) -> str:
        return f"{self.sent}/{self.failed}/{self.skipped}/{self.pending}"


def progress(session: Session, broadcast_id: int, *, channel: str | None = None) -> Progress:
    """Counted from the outbox rows in one GROUP BY: what the channel accepted, what failed,
    what was skipped (opted out, unreachable), and what is still to go (pending or in flight);
    only `channel`'s rows when given."""
    query = select(Outbox.status, sa.func.count(col(Outbox.id))).where(
        Outbox.broadcast_id == broadcast_id
    )
    if channel is not None:
        query = query.where(col(Outbox.channel) == channel)
    rows = session.exec(query.group_by(Outbox.status)).all()
    by_status = {str(status): int(number) for status, number in rows}
    pending = by_status.get(OutboxStatus.PENDING, 0) + by_status.get(OutboxStatus.SENDING, 0)
    return Progress(
        total=sum(by_status.values()),
        sent=by_status.get(OutboxStatus.SENT, 0),
        failed=by_status.get(OutboxStatus.FAILED, 0),
        skipped=by_status.get(OutboxStatus.SKIPPED, 0),
        pending=pending,
    )


def set_progress_message(
    session: Session, *, broadcast_id: int, chat_id: int, message_id: int
) -> None:
    session.execute(
        sa.update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id)
        .values(progress_chat_id=chat_id, progress_message_id=message_id)
    )


def sending(session: Session) -> list[Broadcast]:
    """Broadcasts whose progress may still change (and whose message may need an edit)."""
    query = select(Broadcast).where(Broadcast.status == Status.SENDING).order_by(col(Broadcast.id))
    return list(session.exec(query))


def record_shown(
    session: Session, *, broadcast_id: int, shown: Progress, now: datetime | None = None
) -> None:
    """What the progress message now says; a finished broadcast leaves the `sending` list."""
    values: dict[str, object] = {"progress_shown": shown.signature()}
    if shown.finished:
        values.update(status=Status.DONE, finished_at=now or utcnow())
    session.execute(sa.update(Broadcast).where(col(Broadcast.id) == broadcast_id).values(**values))


def scope_choices(session: Session, author: Contact) -> tuple[list[str], list[str]]:
    """The provinces and sectors of the enterprises this person may broadcast to."""

    def distinct(column: Any) -> list[str]:
        query = select(column).distinct().order_by(column)
        if author.role != Role.COORDINATOR:
            query = query.where(Enterprise.provider_id == author.provider_id)
        return [str(value) for value in session.exec(query)]

    return distinct(Enterprise.province_code), distinct(Enterprise.sector_code)
