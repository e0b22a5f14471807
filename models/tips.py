"""Monthly tips: the library from content/tips.toml and the shared good practices, kept in the
Tip table, and the choice of one new tip for each contact each month.

The choice, for a contact of an enterprise: tips it has not had, that suit its sector (tips
tagged `all` suit everyone), from the technical area its enterprise has reported least (no
report at all comes first), its own sector's tips before general ones, good practices of other
enterprises before library texts, then a spread that differs from contact to contact so that a
workshop's people do not all read the same tip. TipDelivery has one row per contact and month
(a unique constraint), so a contact never gets two tips in a month, whoever runs the job.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.i18n import format_vnd, translator
from models import content, goodpractice
from models.enterprises import followed_up
from models.outbox import reachable
from models.tables import (
    Consent,
    ConsentPurpose,
    Contact,
    Enterprise,
    Improvement,
    ReviewStatus,
    Role,
    Tip,
    TipDelivery,
)

GOOD_PRACTICE_PREFIX = "gp-"
TIP_ROLES = (Role.EMPLOYER, Role.WORKER)
COUNTED = (ReviewStatus.SUBMITTED, ReviewStatus.VERIFIED, ReviewStatus.GOOD_PRACTICE)


def period_of(now: datetime, tz: ZoneInfo) -> str:
    return now.astimezone(tz).strftime("%Y-%m")


# -- the library -----------------------------------------------------------------------------


def sync_library(session: Session) -> int:
    """Brings the Tip table in line with content/tips.toml by code: new tips added, texts
    updated, tips gone from the file deactivated (deliveries keep pointing at them)."""
    stored = {tip.code: tip for tip in session.exec(select(Tip))}
    changed = 0
    codes = set()
    for item in content.tips():
        codes.add(item.code)
        values: dict[str, Any] = {
            "area_code": item.area,
            "sectors": list(item.sectors),
            "title_vi": item.title_vi,
            "title_en": item.title_en,
            "body_vi": item.body_vi,
            "body_en": item.body_en,
            "active": True,
        }
        tip = stored.get(item.code)
        if tip is None:
            session.add(Tip(code=item.code, **values))
            changed += 1
        elif any(getattr(tip, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(tip, key, value)
            session.add(tip)
            changed += 1
    for code, tip in stored.items():
        if tip.improvement_id is None and code not in codes and tip.active:
            tip.active = False
            session.add(tip)
            changed += 1
    session.flush()
    return changed


def good_practice_text(entry: goodpractice.Entry, language: str) -> tuple[str, str]:
    """(title, body) of a good practice told as a tip: "An enterprise in Đà Nẵng did this"."""
    _ = translator(language)
    province = content.province(entry.province_code)
    place = province.name(language) if province else ""
    if entry.enterprise_name:
        title = _(
            "{enterprise} in {province} did this", enterprise=entry.enterprise_name, province=place
        )
    else:
        title = _("An enterprise in {province} did this", province=place)
    body = entry.text.strip().rstrip(".") + "."
    if entry.cost_vnd:
        body += " " + _("It cost about {cost}.", cost=format_vnd(entry.cost_vnd, language))
    return title[:200], body[:2000]


def sync_good_practices(session: Session) -> int:
    """Shared good practices become tips (code gp-<improvement>); one taken out of the library
    stops being offered."""
    in_library = {entry.id: entry for entry in goodpractice.entries(session)}
    stored = {
        tip.improvement_id: tip
        for tip in session.exec(select(Tip).where(col(Tip.improvement_id).is_not(None)))
    }
    changed = 0
    for improvement_id, entry in in_library.items():
        title_vi, body_vi = good_practice_text(entry, "vi")
        title_en, body_en = good_practice_text(entry, "en")
        values: dict[str, Any] = {
            "area_code": entry.area_code or "",
            "sectors": [entry.sector_code],
            "title_vi": title_vi,
            "title_en": title_en,
            "body_vi": body_vi,
            "body_en": body_en,
            "active": True,
        }
        tip = stored.get(improvement_id)
        if tip is None:
            code = f"{GOOD_PRACTICE_PREFIX}{improvement_id}"
            session.add(Tip(code=code, improvement_id=improvement_id, **values))
            changed += 1
        elif any(getattr(tip, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(tip, key, value)
            session.add(tip)
            changed += 1
    for stored_id, tip in stored.items():
        if stored_id not in in_library and tip.active:
            tip.active = False
            session.add(tip)
            changed += 1
    session.flush()
    return changed


# -- who gets a tip --------------------------------------------------------------------------


def eligible(period: str) -> sa.ColumnElement[bool]:
    """Employers and workers of enterprises followed up (not archived) who can be written to,
    hold an active tips consent, have not stopped messages, and have no tip for `period` yet."""
    return sa.and_(
        col(Contact.role).in_(TIP_ROLES),
        col(Contact.enterprise_id).is_not(None),
        followed_up(Contact.enterprise_id),
        reachable(),
        col(Contact.opted_out_at).is_(None),
        col(Contact.erased_at).is_(None),
        sa.exists(
            select(Consent.id).where(
                Consent.contact_id == Contact.id,
                Consent.purpose == ConsentPurpose.TIPS,
                col(Consent.withdrawn_at).is_(None),
            )
        ),
        ~sa.exists(
            select(TipDelivery.id).where(
                TipDelivery.contact_id == Contact.id, TipDelivery.period == period
            )
        ),
    )


def next_contacts(session: Session, *, period: str, after_id: int, limit: int) -> list[Contact]:
    """The next batch, in id order (keyset paging: memory stays flat however many there are)."""
    return list(
        session.exec(
            select(Contact)
            .where(eligible(period), col(Contact.id) > after_id)
            .order_by(col(Contact.id))
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Candidate:
    id: int
    code: str
    area: str
    sectors: tuple[str, ...]
    improvement_id: int | None
    enterprise_id: int | None  # whose good practice it is


def candidates(session: Session) -> list[Candidate]:
    rows = session.exec(
        select(Tip, Improvement.enterprise_id)
        .join(Improvement, col(Improvement.id) == Tip.improvement_id, isouter=True)
        .where(col(Tip.active))
        .order_by(Tip.code)
    ).all()
    return [
        Candidate(
            tip.id,  # type: ignore[arg-type]
            tip.code,
            tip.area_code,
            tuple(tip.sectors),
            tip.improvement_id,
            enterprise_id,
        )
        for tip, enterprise_id in rows
    ]


def choose(
    tips: Sequence[Candidate],
    *,
    contact_id: int,
    enterprise_id: int | None,
    sector: str | None,
    had: set[int],
    area_counts: dict[str, int],
) -> Candidate | None:
    """The tip for one contact this month, or None when every suitable tip was sent before."""

    def suits(tip: Candidate) -> bool:
        return content.ALL_SECTORS in tip.sectors or (sector is not None and sector in tip.sectors)

    def rank(tip: Candidate) -> tuple[int, bool, bool, int]:
        return (
            area_counts.get(tip.area, 0),
            sector not in tip.sectors,  # its own sector's tips first
            tip.improvement_id is None,  # good practices of others first
            zlib.crc32(f"{contact_id}:{tip.code}".encode()),
        )

    fresh = [
        tip
        for tip in tips
        if tip.id not in had
        and suits(tip)
        and not (tip.enterprise_id is not None and tip.enterprise_id == enterprise_id)
    ]
    return min(fresh, key=rank) if fresh else None


def history(session: Session, contact_ids: Iterable[int]) -> dict[int, set[int]]:
    had: dict[int, set[int]] = {}
    for contact_id, tip_id in session.exec(
        select(TipDelivery.contact_id, TipDelivery.tip_id).where(
            col(TipDelivery.contact_id).in_(list(contact_ids))
        )
    ):
        had.setdefault(contact_id, set()).add(tip_id)
    return had


def area_counts(session: Session, enterprise_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Reports per area for each enterprise (one GROUP BY for the whole batch)."""
    counts: dict[int, dict[str, int]] = {}
    for enterprise_id, area, number in session.exec(
        select(
            col(Improvement.enterprise_id),
            col(Improvement.area_code),
            sa.func.count(col(Improvement.id)),
        )
        .where(
            col(Improvement.enterprise_id).in_(list(enterprise_ids)),
            col(Improvement.status).in_(COUNTED),
            col(Improvement.area_code).is_not(None),
        )
        .group_by(col(Improvement.enterprise_id), col(Improvement.area_code))
    ):
        if area is not None:
            counts.setdefault(enterprise_id, {})[area] = number
    return counts


def sectors_of(session: Session, enterprise_ids: Iterable[int]) -> dict[int, str]:
    return {
        enterprise_id: sector
        for enterprise_id, sector in session.exec(
            select(col(Enterprise.id), col(Enterprise.sector_code)).where(
                col(Enterprise.id).in_(list(enterprise_ids))
            )
        )
        if enterprise_id is not None
    }
