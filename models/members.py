"""Who belongs to an enterprise or a provider, and taking people out again.

Staff hear of every person who joins one of their provider's enterprises (through the outbox,
with a button to remove them); staff remove employers and workers of their provider's
enterprises, coordinators remove staff and partners who have left. A removed person loses
access at once (`contact_by_user` no longer finds them), hears it politely in their language,
and receives nothing else; their reports stay with the enterprise, and a new invite link brings
them back. The links themselves (limits, revoking, new links, short codes) are in
models/programme.py. Nothing here knows about Telegram: buttons are actions with a payload.

Outbox keys:
  member-joined:<contact>:<staff>:<joined at>   staff: someone joined one of their enterprises
  member-removed:<contact>:<removed at>         the person removed
"""

from __future__ import annotations

import html
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.i18n import Translate, shorten, translator
from models import outbox
from models.outbox import PRIORITY_NOTICE, REMOVED_EXEMPT_KINDS, Message, enqueue, reachable
from models.programme import ProgrammeError, audit, may_manage, organisation_name
from models.tables import (
    Consent,
    Contact,
    Enterprise,
    Invite,
    Outbox,
    Role,
    Visit,
    VisitStatus,
)

PREFIX = "mem:"
ASK_REMOVE = PREFIX + "ask:"  # <contact id>: the confirmation card for removing a person
MEMBERS = PREFIX + "ent:"  # <enterprise id>[:<page>]: an enterprise's members
NEW_LINKS = PREFIX + "new:"  # <enterprise id>: new links (after a confirmation)
JOINED_KIND = "member-joined"
REMOVED_KIND = "member-removed"
assert REMOVED_KIND in REMOVED_EXEMPT_KINDS
BUTTON_NAME_MAX = 30
MEMBER_ROLES = (Role.EMPLOYER, Role.WORKER)
PROVIDER_ROLES = (Role.STAFF, Role.PARTNER)
OPEN_VISITS = (VisitStatus.PLANNED, VisitStatus.PROPOSED, VisitStatus.CONFIRMED)


def _active() -> sa.ColumnElement[bool]:
    return sa.and_(col(Contact.removed_at).is_(None), col(Contact.erased_at).is_(None))


def members_of(session: Session, enterprise_id: int) -> list[Contact]:
    """The enterprise's employers, then its workers, in the order they joined."""
    query = (
        select(Contact)
        .where(
            Contact.enterprise_id == enterprise_id,
            col(Contact.role).in_([str(role) for role in MEMBER_ROLES]),
            _active(),
        )
        .order_by(
            sa.case((col(Contact.role) == Role.EMPLOYER, 0), else_=1),
            col(Contact.registered_at),
            col(Contact.id),
        )
    )
    return list(session.exec(query))


def people_of(session: Session, provider_id: int) -> list[Contact]:
    """A provider's staff, then its partners, in the order they joined."""
    query = (
        select(Contact)
        .where(
            Contact.provider_id == provider_id,
            col(Contact.role).in_([str(role) for role in PROVIDER_ROLES]),
            _active(),
        )
        .order_by(
            sa.case((col(Contact.role) == Role.STAFF, 0), else_=1),
            col(Contact.registered_at),
            col(Contact.id),
        )
    )
    return list(session.exec(query))


def name_of(_: Translate, contact: Contact) -> str:
    if contact.display_name:
        return contact.display_name
    if contact.username:
        return f"@{contact.username}"
    return _("a person without a name")


def role_label(_: Translate, role: Role) -> str:
    names = {
        Role.COORDINATOR: _("programme coordinator"),
        Role.STAFF: _("provider staff"),
        Role.EMPLOYER: _("employer"),
        Role.WORKER: _("worker"),
        Role.PARTNER: _("partner"),
    }
    return names[role]


def may_remove(session: Session, actor: Contact | None, member: Contact) -> bool:
    """Staff remove the employers and workers of their provider's enterprises, coordinators
    those and staff and partners; coordinators are removed only at the command line."""
    if actor is None or actor.id == member.id or actor.removed_at or actor.erased_at:
        return False
    if member.role in MEMBER_ROLES:
        enterprise = session.get(Enterprise, member.enterprise_id)
        return may_manage(actor, enterprise)
    if member.role in PROVIDER_ROLES:
        return actor.role == Role.COORDINATOR
    return False


def member(session: Session, contact_id: int) -> Contact:
    """A person who still belongs to the programme, or ProgrammeError("not_a_member")."""
    found = session.get(Contact, contact_id)
    if found is None or found.removed_at is not None or found.erased_at is not None:
        raise ProgrammeError("not_a_member")
    return found


def removable(session: Session, contact_id: int, *, actor: Contact | None) -> Contact:
    """The person `actor` may remove (checked against the database at each press)."""
    found = member(session, contact_id)
    if not may_remove(session, actor, found):
        raise ProgrammeError("not_allowed")
    return found


def remove_member(
    session: Session, contact_id: int, *, actor: Contact | None, now: datetime
) -> Contact:
    """Takes a person out of the programme at once. `actor` None is the operator at the
    command line, who may remove anyone. Raises ProgrammeError "not_a_member" (unknown,
    removed already, erased) or "not_allowed"."""
    person = (
        member(session, contact_id)
        if actor is None
        else removable(session, contact_id, actor=actor)
    )
    # A conditional update, so that two staff pressing Remove at once remove (and tell) once.
    taken = session.execute(
        sa.update(Contact)
        .where(col(Contact.id) == person.id, col(Contact.removed_at).is_(None))
        .values(removed_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise ProgrammeError("not_a_member")
    organisation = organisation_name(session, person)
    audit(
        session, "contact.remove", actor_id=actor.id if actor else None, subject=person,
        role=str(person.role), enterprise=person.enterprise_id, provider=person.provider_id,
    )  # fmt: skip
    # Nothing queued for them goes out any more, except the word that their access ended.
    outbox.withdraw(session, col(Outbox.contact_id) == person.id, reason="contact removed")
    session.execute(
        sa.update(Consent)
        .where(col(Consent.contact_id) == person.id, col(Consent.withdrawn_at).is_(None))
        .values(withdrawn_at=now)
    )
    if person.role == Role.STAFF:
        # Their open visits fall back to the provider's other staff.
        session.execute(
            sa.update(Visit)
            .where(
                col(Visit.staff_id) == person.id,
                col(Visit.status).in_([str(status) for status in OPEN_VISITS]),
            )
            .values(staff_id=None)
        )
    # Detached through the ORM, so that the summary's rollups see them leave their enterprise
    # and every audience (built from enterprises and providers) leaves them out.
    person.removed_at = now
    person.enterprise_id = None
    person.provider_id = None
    session.add(person)
    session.flush()
    _tell_removed(session, person, organisation, now=now)
    return person


def _tell_removed(
    session: Session, person: Contact, organisation: str | None, *, now: datetime
) -> None:
    _ = translator(person.language)
    name = _esc(organisation or "")
    if person.role in MEMBER_ROLES:
        text = _(
            "Your access to the follow-up of <b>{enterprise}</b> has ended: its OSH service "
            "provider has removed you from its members. The improvements you reported stay "
            "with the enterprise. If you think this is a mistake, please ask your provider for "
            "a new invite link.",
            enterprise=name,
        )
    elif person.role in PROVIDER_ROLES:
        text = _(
            "Your access as a member of <b>{provider}</b> has ended: a programme coordinator "
            "has removed you. Thank you for your work! If you think this is a mistake, please "
            "ask the coordinator for a new invite link.",
            provider=name,
        )
    else:
        text = _("Your access as programme coordinator has ended. Thank you for your work!")
    enqueue(
        session,
        key=f"{REMOVED_KIND}:{person.id}:{now:%Y%m%d%H%M%S}",
        contact=person,
        kind=REMOVED_KIND,
        message=Message(text),
        priority=PRIORITY_NOTICE,
        not_before=now,
    )


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


# -- telling staff who joined ----------------------------------------------------------------


def staff_to_tell(session: Session, provider_id: int) -> list[Contact]:
    return list(
        session.exec(
            select(Contact).where(
                Contact.role == Role.STAFF,
                Contact.provider_id == provider_id,
                reachable(),
                _active(),
            )
        )
    )


def announce_join(session: Session, contact: Contact, invite: Invite, *, now: datetime) -> int:
    """Tells the staff of the enterprise's provider that someone joined with one of its links,
    with a button to remove them (a leaked link shows itself here). How many were told."""
    if contact.role not in MEMBER_ROLES or contact.enterprise_id is None:
        return 0
    enterprise = session.get(Enterprise, contact.enterprise_id)
    if enterprise is None:
        return 0
    uses, limit = session.execute(
        sa.select(col(Invite.uses), col(Invite.max_uses)).where(col(Invite.id) == invite.id)
    ).one()
    told = 0
    person = contact.id
    assert person is not None
    for staff in staff_to_tell(session, enterprise.provider_id):
        _ = translator(staff.language)
        name = name_of(_, contact)
        if limit is not None:
            used = _("{uses} of the {limit} places on this link are taken.", uses=uses, limit=limit)
        else:
            used = _("{uses} people have joined with this link.", uses=uses)
        text = "\n".join(
            [
                _(
                    "👋 <b>{name}</b> joined <b>{enterprise}</b> as {role}.",
                    name=_esc(name),
                    enterprise=_esc(enterprise.name),
                    role=role_label(_, contact.role),
                ),
                used,
                _(
                    "If you do not know this person, remove them: they lose access at once. "
                    "If the link went to the wrong people, issue new links (🏭 My enterprises)."
                ),
            ]
        )
        label = _("🚫 Remove {name}", name=shorten(name, BUTTON_NAME_MAX))
        told += bool(
            enqueue(
                session,
                key=f"{JOINED_KIND}:{contact.id}:{staff.id}:{now:%Y%m%d%H%M%S}",
                contact=staff,
                kind=JOINED_KIND,
                message=Message(
                    text,
                    buttons=[[(label, f"{ASK_REMOVE}{contact.id}")]],
                    mentions={person: [_esc(name), shorten(name, BUTTON_NAME_MAX)]},
                ),
                priority=PRIORITY_NOTICE,
                not_before=now,
            )
        )
    return told
