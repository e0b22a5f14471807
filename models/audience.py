"""Who a broadcast or an event invitation goes to: one filter, one SQL query.

Staff choose among their own provider's enterprises; coordinators across providers. Opted-out,
unreachable and erased contacts are never part of an audience, nor the people of an archived
enterprise (models/enterprises.py, `followed_up`). A message that carries good
examples from other enterprises reaches only people who accepted them: "I agree, but no tips"
at registration (or /privacy later) declines tips and good examples alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models.enterprises import is_followed_up
from models.outbox import reachable
from models.tables import (
    Consent,
    ConsentPurpose,
    Contact,
    Enterprise,
    Improvement,
    ReviewStatus,
    Role,
)

SME_ROLES = (Role.EMPLOYER, Role.WORKER)
# Reports still being written or withdrawn do not count as "has reported".
COUNTED_STATUSES = (ReviewStatus.SUBMITTED, ReviewStatus.VERIFIED, ReviewStatus.GOOD_PRACTICE)


@dataclass(frozen=True)
class Audience:
    """A filter over the programme's contacts. Empty tuples mean "no restriction"."""

    provider_id: int | None = None  # None: every provider (coordinators only)
    provinces: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    roles: tuple[str, ...] = field(default=SME_ROLES)
    # Enterprises that have reported nothing yet in this technical area.
    no_reports_in_area: str | None = None
    # Partners of the provider (events only: they see nothing but events).
    include_partners: bool = False
    # The message shares good examples from other enterprises: only people who hold the tips
    # consent (which covers good examples) receive it.
    good_examples: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in data.items()
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(
            provider_id=data.get("provider_id"),
            provinces=tuple(data.get("provinces") or ()),
            sectors=tuple(data.get("sectors") or ()),
            roles=tuple(data.get("roles") or SME_ROLES),
            no_reports_in_area=data.get("no_reports_in_area"),
            include_partners=bool(data.get("include_partners")),
            good_examples=bool(data.get("good_examples")),
        )


def contacts_query(audience: Audience) -> SelectOfScalar[Contact]:
    """Contacts in the audience, ordered by id (stable, so an interrupted send can resume)."""
    enterprises = select(Enterprise.id).where(is_followed_up())
    if audience.provider_id is not None:
        enterprises = enterprises.where(Enterprise.provider_id == audience.provider_id)
    if audience.provinces:
        enterprises = enterprises.where(col(Enterprise.province_code).in_(audience.provinces))
    if audience.sectors:
        enterprises = enterprises.where(col(Enterprise.sector_code).in_(audience.sectors))
    if audience.no_reports_in_area:
        reported = select(Improvement.enterprise_id).where(
            Improvement.area_code == audience.no_reports_in_area,
            col(Improvement.status).in_([str(status) for status in COUNTED_STATUSES]),
        )
        enterprises = enterprises.where(col(Enterprise.id).not_in(reported))
    chosen = sa.and_(
        col(Contact.role).in_([str(role) for role in audience.roles]),
        col(Contact.enterprise_id).in_(enterprises),
    )
    if audience.include_partners:
        partners = col(Contact.role) == Role.PARTNER
        if audience.provider_id is not None:
            partners = sa.and_(partners, col(Contact.provider_id) == audience.provider_id)
        chosen = sa.or_(chosen, partners)
    if audience.good_examples:
        chosen = sa.and_(chosen, accepts_good_examples())
    return (
        select(Contact)
        .where(
            chosen,
            col(Contact.opted_out_at).is_(None),
            reachable(),
            col(Contact.erased_at).is_(None),
        )
        .order_by(col(Contact.id))
    )


def accepts_good_examples() -> sa.ColumnElement[bool]:
    """A WHERE clause on Contact: an active tips consent, which also covers good examples."""
    return sa.exists(
        select(Consent.id).where(
            Consent.contact_id == Contact.id,
            Consent.purpose == ConsentPurpose.TIPS,
            col(Consent.withdrawn_at).is_(None),
        )
    )


def members(session: Session, audience: Audience) -> list[Contact]:
    return list(session.exec(contacts_query(audience)))


def count(session: Session, audience: Audience) -> int:
    subquery = contacts_query(audience).subquery()
    return int(session.exec(select(sa.func.count()).select_from(subquery)).one())
