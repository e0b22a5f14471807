"""The direct line: what an employer or worker sends outside any journey reaches their provider.

The person is first asked whether a message (text, photo or voice note) should go to their
provider, and nothing is kept until they say yes: the question answers their message, so the
channel brings the message back with the answer (Telegram: the pressed button's message and
the message it replies to). Yes puts it in the person's open thread (a new one when none is
open) and tells the provider's staff through the outbox, once per message whoever presses
twice; No keeps nothing.

Staff of the provider (and coordinators) list the open threads, answer (the answer reaches the
person through the outbox, framed in the person's language) and close them. A worker is shown to
staff as "a worker at <enterprise>", never by name, as everywhere else (models/surveys.py).

Photos arrive re-encoded (models/media.py); voice notes are kept as received, with Telegram's
file id, and forwarded as voice notes. Nothing here knows about Telegram.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.i18n import Translate, format_moment, translator
from models import media
from models.files import write_private
from models.journeys.core import Upload
from models.outbox import PRIORITY_NOTICE, Message, enqueue, mention
from models.programme import ProgrammeError, audit
from models.tables import (
    Contact,
    Enterprise,
    InboxMessage,
    InboxThread,
    Provider,
    Role,
)
from models.text import esc, truncate_html
from models.visits import staff_of

TEXT_MAX = 3000  # a typed message; Telegram allows 4096, the notice adds a heading
CAPTION_MAX = 900  # a photo's or voice note's caption; Telegram allows 1024 in all
VOICE_BYTES_MAX = 20 * 1024 * 1024  # what a bot may download from Telegram
VOICE_SECONDS_MAX = 15 * 60
LISTED_MAX = 20  # threads in one /inbox list
SHOWN_MAX = 8  # messages shown when a thread is opened

OPEN = "open"
CLOSED = "closed"
WRITERS = frozenset({Role.EMPLOYER, Role.WORKER})
# An answer to what the person asked reaches them even after /stop (models/outbox.py).
ANSWER_KIND = "inbox-answer"
NOTICE_KIND = "inbox"

# Buttons: the channel-neutral actions of the direct line (handlers/inbox.py reads them).
PREFIX = "inb:"
SEND = PREFIX + "send:"  # the person: yes, send message <id> of their chat
DROP = PREFIX + "drop:"  # the person: no
SHOW = PREFIX + "show:"  # staff: open thread <id>
ANSWER = PREFIX + "ans:"  # staff: answer thread <id>
CLOSE = PREFIX + "close:"  # staff: close thread <id>


class Kind(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    VOICE = "voice"


@dataclass(frozen=True)
class Content:
    """What someone sends: text, or a photo or voice note with an optional caption."""

    kind: Kind
    text: str | None = None
    file_id: str | None = None
    file_path: str | None = None  # relative to the media folder
    duration: int | None = None


@dataclass(frozen=True)
class Listed:
    thread: InboxThread
    enterprise: str
    who: Contact | None
    messages: int


# -- checks -----------------------------------------------------------------------------------


def clean(content: Content) -> Content:
    """The text trimmed and within its limit; a text message must say something."""
    text = (content.text or "").strip()
    limit = TEXT_MAX if content.kind == Kind.TEXT else CAPTION_MAX
    if len(text) > limit:
        raise ProgrammeError("text_too_long", length=len(text), limit=limit)
    if content.kind == Kind.TEXT and not text:
        raise ProgrammeError("text_empty")
    if content.kind != Kind.TEXT and not content.file_path:
        raise ProgrammeError("file_missing")
    return Content(content.kind, text or None, content.file_id, content.file_path, content.duration)


def check_voice(*, file_size: int | None, duration: int | None) -> None:
    if file_size is not None and file_size > VOICE_BYTES_MAX:
        raise ProgrammeError("voice_too_big")
    if duration is not None and duration > VOICE_SECONDS_MAX:
        raise ProgrammeError("voice_too_long", limit=VOICE_SECONDS_MAX // 60)


def content_of(text: str | None, upload: Upload | None, media_root: Path) -> Content:
    """What a message carries, made safe and stored: text; a photo re-encoded (no bomb, no
    EXIF with the workshop's GPS position); a voice note kept as received."""
    # Here, not at the top: models.improvements reaches this module through models.privacy.
    from models.improvements import check_photo

    if upload is None:
        return Content(Kind.TEXT, text)
    if upload.kind == "photo":
        check_photo(file_size=upload.size)
        if upload.data is None:
            raise ProgrammeError("download")
        check_photo(file_size=len(upload.data))
        target = media.save(media.reencode(upload.data), media_root / "inbox" / uuid.uuid4().hex)
        relative = str(target.relative_to(media_root))
        return Content(Kind.PHOTO, upload.caption, upload.ref, relative)
    if upload.kind == "voice":
        check_voice(file_size=upload.size, duration=upload.duration)
        if upload.data is None:
            raise ProgrammeError("download")
        check_voice(file_size=len(upload.data), duration=None)
        relative = f"inbox/{uuid.uuid4().hex}.oga"
        write_private(media_root / relative, upload.data)
        return Content(Kind.VOICE, upload.caption, upload.ref, relative, upload.duration)
    raise ProgrammeError("unusable")


def may_write(contact: Contact | None) -> bool:
    return (
        contact is not None
        and contact.role in WRITERS
        and contact.enterprise_id is not None
        and contact.removed_at is None
        and contact.erased_at is None
    )


def may_handle(contact: Contact | None, thread: InboxThread) -> bool:
    if contact is None or contact.removed_at is not None or contact.erased_at is not None:
        return False
    if contact.role == Role.COORDINATOR:
        return True
    return contact.role == Role.STAFF and contact.provider_id == thread.provider_id


# -- the person writes ------------------------------------------------------------------------


def check_offer(kind: Kind, text: str | None, *, size: int | None, duration: int | None) -> None:
    """Refuses, before the person is asked, what could not be sent: a text too long or empty,
    a photo or voice note too large by the size the channel gives."""
    from models.improvements import check_photo  # see content_of

    if kind == Kind.PHOTO:
        check_photo(file_size=size)
    elif kind == Kind.VOICE:
        check_voice(file_size=size, duration=duration)
    clean(Content(kind, text, file_path=None if kind == Kind.TEXT else "-"))


def _open_thread(session: Session, contact: Contact, *, now: datetime) -> InboxThread:
    assert contact.enterprise_id is not None and contact.id is not None
    enterprise = session.get(Enterprise, contact.enterprise_id)
    assert enterprise is not None and enterprise.id is not None
    thread = session.exec(
        select(InboxThread)
        .where(InboxThread.contact_id == contact.id, InboxThread.status == OPEN)
        .order_by(col(InboxThread.id).desc())
    ).first()
    if thread is None:
        thread = InboxThread(
            provider_id=enterprise.provider_id,
            enterprise_id=enterprise.id,
            contact_id=contact.id,
            opened_at=now,
            last_message_at=now,
        )
        session.add(thread)
        session.flush()
        audit(session, "inbox.open", actor_id=contact.id, subject=thread)
    return thread


def send(
    session: Session, contact: Contact | None, content: Content, *, origin: str, now: datetime
) -> tuple[InboxThread, InboxMessage] | None:
    """What the person agreed to send goes into their open thread (opened now if none is);
    None when the message from `origin` (the channel's own id of what they sent) was sent
    already: by a second press, or by another process at the same moment."""
    if contact is None or not may_write(contact):
        raise ProgrammeError("not_allowed")
    content = clean(content)
    if was_sent(session, origin):
        return None
    thread = _open_thread(session, contact, now=now)
    assert contact.id is not None
    message = InboxMessage(
        thread_id=thread.id, sender_id=contact.id, incoming=True, kind=content.kind,
        text=content.text, file_id=content.file_id, file_path=content.file_path,
        duration=content.duration, origin=origin, created_at=now, sent_at=now,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except sa.exc.IntegrityError:
        return None  # the other press's row won; its transaction told staff
    thread.last_message_at = now
    session.add(thread)
    session.flush()
    return thread, message


def was_sent(session: Session, origin: str) -> bool:
    return (
        session.exec(select(InboxMessage.id).where(InboxMessage.origin == origin)).first()
        is not None
    )


def provider_name(session: Session, contact: Contact) -> str | None:
    """The name of the person's provider."""
    if contact.enterprise_id is None:
        return None
    return session.exec(
        select(Provider.name)
        .join(Enterprise, col(Enterprise.provider_id) == Provider.id)
        .where(Enterprise.id == contact.enterprise_id)
    ).first()


def forget_unsent(session: Session, *, media_root: Path) -> int:
    """Deletes what earlier versions kept while asking "Send this to your provider?" and the
    person never answered (a message without a thread), with its file: nothing is kept now
    before the person says yes."""
    rows = session.exec(select(InboxMessage).where(col(InboxMessage.thread_id).is_(None))).all()
    for row in rows:
        if row.file_path:
            (media_root / row.file_path).unlink(missing_ok=True)
        session.delete(row)
    return len(rows)


# -- staff ------------------------------------------------------------------------------------


def thread_for(session: Session, thread_id: int, staff: Contact | None) -> InboxThread:
    thread = session.get(InboxThread, thread_id)
    if thread is None:
        raise ProgrammeError("stale")
    if not may_handle(staff, thread):
        raise ProgrammeError("not_allowed")
    return thread


def answer(
    session: Session, thread_id: int, staff: Contact | None, content: Content, *, now: datetime
) -> tuple[InboxThread, InboxMessage]:
    thread = thread_for(session, thread_id, staff)
    assert staff is not None
    if thread.status != OPEN:
        raise ProgrammeError("closed")
    person = session.get(Contact, thread.contact_id)
    if person is None or person.erased_at is not None or person.removed_at is not None:
        raise ProgrammeError("person_gone")
    content = clean(content)
    assert staff.id is not None
    message = InboxMessage(
        thread_id=thread.id,
        sender_id=staff.id,
        incoming=False,
        kind=content.kind,
        text=content.text,
        file_id=content.file_id,
        file_path=content.file_path,
        duration=content.duration,
        created_at=now,
        sent_at=now,
    )
    session.add(message)
    thread.last_message_at = now
    session.add(thread)
    session.flush()
    audit(session, "inbox.answer", actor_id=staff.id, subject=thread)
    return thread, message


def close(session: Session, thread_id: int, staff: Contact | None, *, now: datetime) -> bool:
    """Closes an open thread; False when it was closed already."""
    thread = thread_for(session, thread_id, staff)
    assert staff is not None
    closed = session.execute(
        sa.update(InboxThread)
        .where(col(InboxThread.id) == thread.id, col(InboxThread.status) == OPEN)
        .values(status=CLOSED, closed_at=now, closed_by_id=staff.id)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    audit(session, "inbox.close", actor_id=staff.id, subject=thread)
    return True


def open_threads(session: Session, staff: Contact | None) -> list[Listed]:
    """The open threads staff may see, the most recent first (a coordinator sees all)."""
    if staff is None or staff.role not in (Role.STAFF, Role.COORDINATOR):
        raise ProgrammeError("not_allowed")
    counts = (
        select(col(InboxMessage.thread_id), sa.func.count(col(InboxMessage.id)).label("n"))
        .where(col(InboxMessage.thread_id).is_not(None))
        .group_by(col(InboxMessage.thread_id))
        .subquery()
    )
    query = (
        select(InboxThread, Enterprise.name, Contact, counts.c.n)
        .join(Enterprise, col(Enterprise.id) == InboxThread.enterprise_id)
        .join(Contact, col(Contact.id) == InboxThread.contact_id)
        .join(counts, counts.c.thread_id == InboxThread.id)
        .where(InboxThread.status == OPEN)
        .order_by(col(InboxThread.last_message_at).desc(), col(InboxThread.id).desc())
        .limit(LISTED_MAX)
    )
    if staff.role == Role.STAFF:
        query = query.where(InboxThread.provider_id == staff.provider_id)
    return [Listed(thread, name, who, n) for thread, name, who, n in session.exec(query).all()]


def latest(session: Session, thread_id: int, limit: int = SHOWN_MAX) -> list[InboxMessage]:
    """The thread's last `limit` messages, oldest first."""
    rows = session.exec(
        select(InboxMessage)
        .where(InboxMessage.thread_id == thread_id)
        .order_by(col(InboxMessage.id).desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def open_counts(session: Session) -> dict[int, int]:
    """provider id -> open threads (the weekly digest)."""
    rows = session.exec(
        select(col(InboxThread.provider_id), sa.func.count(col(InboxThread.id)))
        .where(InboxThread.status == OPEN)
        .group_by(col(InboxThread.provider_id))
    ).all()
    return {provider_id: count for provider_id, count in rows}


# -- rendering and notices (outbox) -----------------------------------------------------------


def who_text(_: Translate, person: Contact | None, enterprise: str) -> str:
    """An employer by name; a worker only as a worker of the enterprise."""
    if person is None or person.erased_at is not None:
        return _("someone at {enterprise}", enterprise=esc(enterprise))
    if person.role == Role.EMPLOYER:
        return _(
            "{name}, employer at {enterprise}",
            name=esc(person.display_name or "—"),
            enterprise=esc(enterprise),
        )
    return _("a worker at {enterprise}", enterprise=esc(enterprise))


def kind_label(_: Translate, message: InboxMessage) -> str:
    if message.kind == Kind.VOICE:
        return _("🎤 voice note")
    if message.kind == Kind.PHOTO:
        return _("📷 photo")
    return ""


def body_text(_: Translate, message: InboxMessage) -> str:
    """A message as one line of a thread: its kind (for media) and its escaped text."""
    parts = [kind_label(_, message), f"<i>{esc(message.text)}</i>" if message.text else ""]
    return " ".join(part for part in parts if part)


def thread_text(
    _: Translate,
    session: Session,
    thread: InboxThread,
    messages: list[InboxMessage],
    language: str,
    tz: ZoneInfo,
) -> str:
    enterprise = session.get(Enterprise, thread.enterprise_id)
    person = session.get(Contact, thread.contact_id)
    lines = [
        _(
            "<b>💬 Thread #{id}</b> with {who}",
            id=thread.id,
            who=who_text(_, person, enterprise.name if enterprise else "—"),
        ),
        "",
    ]
    for message in messages:
        moment = format_moment(message.sent_at or message.created_at, language, tz)
        if message.incoming:
            lines.append(f"📩 {moment}: {body_text(_, message)}")
        else:
            lines.append(
                _("↩️ {moment}, answered: {text}", moment=moment, text=body_text(_, message))
            )
    if thread.status != OPEN:
        lines += ["", _("This thread is closed.")]
    return truncate_html("\n".join(lines), 4000)


def staff_buttons(_: Translate, thread: InboxThread) -> list[list[tuple[str, str]]]:
    if thread.status != OPEN:
        return []
    return [[(_("↩️ Answer"), f"{ANSWER}{thread.id}"), (_("✔ Close"), f"{CLOSE}{thread.id}")]]


def notify_staff(
    session: Session,
    thread: InboxThread,
    message: InboxMessage,
    *,
    media_root: Path,
    now: datetime,
) -> int:
    """Queues the new message for each staff member of the provider; returns how many."""
    enterprise = session.get(Enterprise, thread.enterprise_id)
    person = session.get(Contact, thread.contact_id)
    name = enterprise.name if enterprise else "—"
    named = mention(person) if person is not None and person.role == Role.EMPLOYER else None
    told = 0
    for staff in staff_of(session, thread.provider_id):
        _ = translator(staff.language)
        head = _(
            "<b>📨 New message</b> from {who} (thread #{id}):",
            who=who_text(_, person, name),
            id=thread.id,
        )
        tail = _("Send /inbox to see all open threads.")
        body = f"<i>{esc(message.text)}</i>" if message.text else ""
        if message.kind == Kind.TEXT:
            text = truncate_html(f"{head}\n\n{body}\n\n{tail}", 4000)
        else:
            text = truncate_html("\n\n".join(p for p in (head, body) if p), 1000)
        row = enqueue(
            session,
            key=f"inbox-new:{message.id}:{staff.id}",
            contact=staff,
            kind=NOTICE_KIND,
            message=Message(
                text,
                staff_buttons(_, thread),
                photo_path=media_file(media_root, message, Kind.PHOTO),
                voice_path=media_file(media_root, message, Kind.VOICE),
                mentions=named,
            ),
            priority=PRIORITY_NOTICE,
            not_before=now,
        )
        told += row is not None
    return told


def media_file(media_root: Path, message: InboxMessage, kind: Kind) -> str | None:
    if message.kind != kind or not message.file_path:
        return None
    return str(media_root / message.file_path)


def relay_answer(
    session: Session,
    thread: InboxThread,
    message: InboxMessage,
    *,
    media_root: Path,
    now: datetime,
) -> bool:
    """Queues the staff's answer for the person, framed in the person's language."""
    person = session.get(Contact, thread.contact_id)
    provider = session.get(Provider, thread.provider_id)
    assert person is not None
    _ = translator(person.language)
    head = _(
        "💬 <b>{provider}</b> answered your message:",
        provider=esc(provider.name if provider else "—"),
    )
    body = f"<i>{esc(message.text)}</i>" if message.text else ""
    tail = _("To write to them again, just send me a message.")
    limit = 4000 if message.kind == Kind.TEXT else 1000
    text = truncate_html("\n\n".join(p for p in (head, body, tail) if p), limit)
    row = enqueue(
        session,
        key=f"inbox-answer:{message.id}",
        contact=person,
        kind=ANSWER_KIND,
        message=Message(
            text,
            photo_path=media_file(media_root, message, Kind.PHOTO),
            voice_path=media_file(media_root, message, Kind.VOICE),
        ),
        priority=PRIORITY_NOTICE,
        not_before=now,
    )
    return row is not None


# -- privacy ----------------------------------------------------------------------------------


def close_for(session: Session, person: Contact, *, now: datetime) -> int:
    """Closes the person's open threads (they erased themselves): nobody can be answered."""
    closed = session.execute(
        sa.update(InboxThread)
        .where(col(InboxThread.contact_id) == person.id, col(InboxThread.status) == OPEN)
        .values(status=CLOSED, closed_at=now)
    )
    return int(closed.rowcount or 0)  # type: ignore[attr-defined]


def exported(session: Session, person: Contact) -> list[dict[str, object]]:
    """What the person wrote to their provider and was answered, for /mydata."""
    rows = session.exec(
        select(InboxMessage)
        .outerjoin(InboxThread, col(InboxThread.id) == InboxMessage.thread_id)
        .where(
            sa.or_(
                col(InboxMessage.sender_id) == person.id,
                col(InboxThread.contact_id) == person.id,
            )
        )
        .order_by(col(InboxMessage.id))
    ).all()
    return [
        {
            "thread": row.thread_id,
            "from_you": row.incoming,
            "kind": row.kind,
            "text": row.text,
            "file": row.file_path,
            "at": (row.sent_at or row.created_at).isoformat(),
        }
        for row in rows
    ]


def purge(session: Session, people: Any, *, media_root: Path) -> tuple[int, int]:
    """Deletes the words and files of the threads (and unsent messages) of `people` (a select
    of contact ids); returns (texts, files) deleted."""
    rows = session.exec(
        select(InboxMessage)
        .outerjoin(InboxThread, col(InboxThread.id) == InboxMessage.thread_id)
        .where(
            sa.or_(
                col(InboxThread.contact_id).in_(people),
                sa.and_(
                    col(InboxMessage.thread_id).is_(None), col(InboxMessage.sender_id).in_(people)
                ),
            ),
            sa.or_(col(InboxMessage.text).is_not(None), col(InboxMessage.file_path).is_not(None)),
        )
    ).all()
    texts = files = 0
    for row in rows:
        if row.text is not None:
            row.text = None
            texts += 1
        if row.file_path:
            (media_root / row.file_path).unlink(missing_ok=True)
            row.file_path = None
            row.file_id = None
            files += 1
        session.add(row)
    return texts, files


def error_text(_: Translate, error: ProgrammeError) -> str:
    code = error.code
    if code == "text_too_long":
        return _(
            "That is too long: {length} characters, at most {limit} fit. Please shorten it and "
            "send it again.",
            length=error.details.get("length"),
            limit=error.details.get("limit"),
        )
    if code in ("text_empty", "text_too_short"):
        return _("Please type a few words.")
    if code == "photo_too_big":
        return _("This photo is too large. Please send a smaller one.")
    if code == "photo_type":
        return _("I could not read this photo. Please send it again as a photo.")
    if code == "voice_too_big":
        return _("This voice note is too large. Please record a shorter one.")
    if code == "voice_too_long":
        return _(
            "This voice note is too long: at most {minutes} minutes fit. Please record a "
            "shorter one.",
            minutes=error.details.get("limit"),
        )
    if code == "download":
        return _("I could not receive this file. Please send it again.")
    if code == "closed":
        return _("This thread is closed.")
    if code == "gone":
        return _(
            "I can no longer see the message this question was about (deleted, or older than "
            "two days). Please send it again."
        )
    if code == "person_gone":
        return _("This person can no longer be reached through the bot.")
    if code == "not_allowed":
        return _("Sorry, only the staff of this enterprise's provider can see this.")
    return _("This button is no longer active.")
