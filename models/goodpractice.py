"""The good-practice library: improvements that staff marked as good practice AND whose
enterprise agreed to share them.

An entry is a view over `Improvement`, not a copy: the report stays as the enterprise wrote it.
Staff may give it public wording (`Improvement.public_text`; the original `description` is kept)
and withdraw it from the library (`library_withdrawn_at`), which changes nothing else about the
report or its review. The enterprise is named only when it agreed to be named, and its photos
are shown only when the reporter confirmed that nobody is in them or that those shown agreed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from models.programme import ProgrammeError, audit
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    PeopleShown,
    ReviewStatus,
    Role,
    ShareConsent,
    utcnow,
)

# Photos go public only when the reporter said nobody is shown, or that those shown agreed;
# "not asked" and an unanswered question (reports from before the question) keep them out.
PHOTOS_PUBLIC = (PeopleShown.NONE, PeopleShown.AGREED)
PUBLIC_TEXT_MIN = 10
PUBLIC_TEXT_MAX = 1000  # Improvement.public_text column
SHARED = (ShareConsent.NAMED, ShareConsent.ANONYMOUS)


@dataclass(frozen=True)
class Entry:
    """One good practice as the public sees it."""

    id: int
    area_code: str | None
    text: str  # the public wording when staff gave one, else the enterprise's own words
    original: str
    edited: bool
    photo_before_path: str | None
    photo_after_path: str | None
    cost_vnd: int | None
    workers_benefiting: int | None
    risk_before: int | None
    risk_after: int | None
    province_code: str
    sector_code: str
    enterprise_name: str | None  # only when the enterprise agreed to be named
    provider_id: int
    reviewed_at: datetime | None

    @property
    def risk_reduction(self) -> int | None:
        if self.risk_before is None or self.risk_after is None:
            return None
        return self.risk_before - self.risk_after


def _in_library() -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Improvement.status) == str(ReviewStatus.GOOD_PRACTICE),
        col(Improvement.share_consent).in_([str(s) for s in SHARED]),
        col(Improvement.library_withdrawn_at).is_(None),
    )


def _query() -> Select[Improvement, Enterprise]:
    return (
        select(Improvement, Enterprise)
        .join(Enterprise, col(Enterprise.id) == Improvement.enterprise_id)
        .where(_in_library())
    )


def _photo(path: str | None, media_root: Path | None) -> str | None:
    """Reports keep photo paths relative to the media folder; readers get a usable path."""
    if not path or media_root is None:
        return path
    return str(media_root / path)  # an absolute stored path stays as it is


def _entry(
    improvement: Improvement, enterprise: Enterprise, media_root: Path | None = None
) -> Entry:
    assert improvement.id is not None and enterprise.id is not None
    original = improvement.description or ""
    public = (improvement.public_text or "").strip()
    photos = improvement.people_shown in PHOTOS_PUBLIC
    return Entry(
        id=improvement.id,
        area_code=improvement.area_code,
        text=public or original,
        original=original,
        edited=bool(public),
        photo_before_path=_photo(improvement.photo_before_path, media_root) if photos else None,
        photo_after_path=_photo(improvement.photo_after_path, media_root) if photos else None,
        cost_vnd=improvement.cost_vnd,
        workers_benefiting=improvement.workers_benefiting,
        risk_before=improvement.risk_before_score,
        risk_after=improvement.risk_after_score,
        province_code=enterprise.province_code,
        sector_code=enterprise.sector_code,
        enterprise_name=(
            enterprise.name if improvement.share_consent == ShareConsent.NAMED else None
        ),
        provider_id=enterprise.provider_id,
        reviewed_at=improvement.reviewed_at,
    )


def entries(
    session: Session,
    *,
    area: str | None = None,
    province: str | None = None,
    provider_id: int | None = None,
    limit: int | None = None,
    media_root: Path | None = None,
) -> list[Entry]:
    """Entries, newest review first; filters are optional. With `media_root` (the settings'
    media folder) the photo paths are usable as they are."""
    query = _query()
    if area is not None:
        query = query.where(Improvement.area_code == area)
    if province is not None:
        query = query.where(Enterprise.province_code == province)
    if provider_id is not None:
        query = query.where(Enterprise.provider_id == provider_id)
    query = query.order_by(
        col(Improvement.reviewed_at).desc().nulls_last(), col(Improvement.id).desc()
    )
    if limit is not None:
        query = query.limit(limit)
    return [_entry(*row, media_root) for row in session.exec(query)]


def entry(session: Session, improvement_id: int, *, media_root: Path | None = None) -> Entry | None:
    row = session.exec(_query().where(Improvement.id == improvement_id)).first()
    return _entry(*row, media_root) if row is not None else None


def counts_by_area(session: Session, *, provider_id: int | None = None) -> dict[str, int]:
    """How many entries each technical area has (areas without any are absent)."""
    query = (
        select(Improvement.area_code, sa.func.count(col(Improvement.id)))
        .join(Enterprise, col(Enterprise.id) == Improvement.enterprise_id)
        .where(_in_library(), col(Improvement.area_code).is_not(None))
        .group_by(Improvement.area_code)
    )
    if provider_id is not None:
        query = query.where(Enterprise.provider_id == provider_id)
    return {str(area): int(number) for area, number in session.exec(query)}


def provinces_with_entries(session: Session) -> list[str]:
    query = (
        select(Enterprise.province_code)
        .join(Improvement, col(Improvement.enterprise_id) == Enterprise.id)
        .where(_in_library())
        .group_by(Enterprise.province_code)
        .order_by(Enterprise.province_code)
    )
    return [str(code) for code in session.exec(query)]


def can_manage(contact: Contact | None, found: Entry) -> bool:
    """Staff manage their own provider's entries; coordinators every entry."""
    if contact is None:
        return False
    if contact.role == Role.COORDINATOR:
        return True
    return contact.role == Role.STAFF and contact.provider_id == found.provider_id


def _managed(session: Session, improvement_id: int, actor: Contact) -> Improvement:
    found = entry(session, improvement_id)
    if found is None:
        raise ProgrammeError("not_in_library")
    if not can_manage(actor, found):
        raise ProgrammeError("not_allowed")
    improvement = session.get(Improvement, improvement_id)
    assert improvement is not None
    return improvement


def clean_public_text(text: str | None) -> str:
    cleaned = "\n".join(" ".join(line.split()) for line in (text or "").strip().splitlines())
    if len(cleaned) < PUBLIC_TEXT_MIN:
        raise ProgrammeError("text_too_short", limit=PUBLIC_TEXT_MIN)
    if len(cleaned) > PUBLIC_TEXT_MAX:
        raise ProgrammeError("text_too_long", limit=PUBLIC_TEXT_MAX)
    return cleaned


def edit_public_text(
    session: Session, *, improvement_id: int, text: str, actor: Contact, now: datetime | None = None
) -> Entry:
    """New public wording; the enterprise's own description stays as it was reported."""
    improvement = _managed(session, improvement_id, actor)
    improvement.public_text = clean_public_text(text)
    improvement.updated_at = now or utcnow()
    session.add(improvement)
    session.flush()
    audit(session, "goodpractice.edit", actor_id=actor.id, subject=improvement)
    found = entry(session, improvement_id)
    assert found is not None
    return found


def withdraw(
    session: Session, *, improvement_id: int, actor: Contact, now: datetime | None = None
) -> None:
    """Takes the entry out of the library (broadcast pickers, newsletter, leaflet, website)."""
    improvement = _managed(session, improvement_id, actor)
    improvement.library_withdrawn_at = now or utcnow()
    session.add(improvement)
    audit(session, "goodpractice.withdraw", actor_id=actor.id, subject=improvement)
