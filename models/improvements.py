"""Improvement reports: drafts saved at every step, submission, edits, withdrawal, review, and
the question thread between provider staff and the reporter.

A report is written into the database as it is told, one field at a time, so that a restart
or an abandoned conversation loses nothing (`draft_step` says where the reporter stopped). Every
change of state is one conditional UPDATE (`... WHERE status IN (...)`), so that a button
pressed twice, two staff members pressing Verify at once, or an edit racing a review each
take effect once and never overwrite a later state.

Who may do what is checked here from the database, never trusted from a button:
- the reporter edits and withdraws their own report until it is reviewed;
- staff of the enterprise's provider, and coordinators, review it and ask questions;
- only the person a question was sent to may answer it.

Photo paths are stored relative to the media folder (`OSHBOT_DATA_DIR/media`).
Nothing here knows about Telegram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import content, outbox, privacy
from models.enterprises import followed_up
from models.programme import ProgrammeError, audit
from models.tables import (
    ConsentPurpose,
    Contact,
    Enterprise,
    Improvement,
    ImprovementMessage,
    PeopleShown,
    ReviewStatus,
    Role,
    ShareConsent,
)

DESCRIPTION_MIN = 5
DESCRIPTION_MAX = 1000  # Improvement.description column
MESSAGE_MAX = 1000  # ImprovementMessage.text column
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})
# Far above any low-cost improvement of a small enterprise (about 400,000 USD); a typing slip
# ("5000000000000") is refused rather than stored into every total.
COST_MAX = 10_000_000_000
WORKERS_MAX = 1_000_000

REPORTER_ROLES = frozenset({Role.EMPLOYER, Role.WORKER})
REVIEWER_ROLES = frozenset({Role.STAFF, Role.COORDINATOR})
EDITABLE = (ReviewStatus.DRAFT, ReviewStatus.SUBMITTED)
REVIEWED = (ReviewStatus.VERIFIED, ReviewStatus.GOOD_PRACTICE)


class CostBand(StrEnum):
    FREE = "free"
    UNDER_1M = "under_1m"
    FROM_1M_TO_5M = "1m_5m"
    OVER_5M = "over_5m"


class Step(StrEnum):
    """The questions of the report conversation, in order; stored as `draft_step`."""

    AREA = "area"
    KIND = "kind"  # optional: a kind of improvement inside the area, or none
    DESCRIPTION = "description"
    PHOTO_BEFORE = "photo_before"
    PHOTO_AFTER = "photo_after"
    COST = "cost"
    WORKERS = "workers"
    RISK_BEFORE = "risk_before"
    RISK_AFTER = "risk_after"
    SHARE = "share"
    SUMMARY = "summary"


STEPS = list(Step)
LIKELIHOODS = (1, 2, 3)  # unlikely, possible, likely
SEVERITIES = (1, 2, 3)  # minor, serious, very serious


class Review(StrEnum):
    VERIFY = "verify"
    GOOD_PRACTICE = "good_practice"


# -- parsing what people type ----------------------------------------------------------------

_CURRENCY = re.compile(r"(vnđ|vnd|đồng|dong|đ|d)\.?$")
_UNITS = {
    "k": 1_000,
    "nghìn": 1_000,
    "nghin": 1_000,
    "ngàn": 1_000,
    "ngan": 1_000,
    "tr": 1_000_000,
    "triệu": 1_000_000,
    "trieu": 1_000_000,
    "m": 1_000_000,
    "million": 1_000_000,
    "millions": 1_000_000,
    "tỷ": 1_000_000_000,
    "tỉ": 1_000_000_000,
    "ty": 1_000_000_000,
    "billion": 1_000_000_000,
}
_AMOUNT = re.compile(r"^(?P<number>\d+(?:[.,]\d+)*)\s*(?P<unit>[^\d\s.,]+)?$")
_GROUPED = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")
_FREE_WORDS = frozenset({"free", "mien phi", "khong mat tien", "khong ton tien", "none"})


def parse_cost(text: str | None) -> int:
    """A cost typed the ways people write it: "500000", "500.000", "500,000 đ", "500k",
    "1,5 triệu", "2tr", "1.5 million", "0", "miễn phí". Thousands separators are "." or ","
    in groups of three; a decimal part is understood only with a unit ("1,5 triệu")."""
    raw = " ".join((text or "").strip().lower().split())
    if not raw:
        raise ProgrammeError("cost_not_number")
    if content.fold(raw) in _FREE_WORDS:
        return 0
    if raw.startswith("-"):
        raise ProgrammeError("cost_negative")
    raw = _CURRENCY.sub("", raw).strip()
    raw = re.sub(r"(?<=\d) (?=\d{3}\b)", "", raw)  # "500 000"
    found = _AMOUNT.match(raw)
    if found is None:
        raise ProgrammeError("cost_not_number")
    number, unit = found.group("number"), found.group("unit")
    if unit is not None and unit not in _UNITS:
        raise ProgrammeError("cost_not_number")
    if _GROUPED.match(number) or number.isdigit():
        value = float(int(re.sub(r"[.,]", "", number)))
    elif unit is not None and re.fullmatch(r"\d+[.,]\d+", number):
        value = float(number.replace(",", "."))
    else:
        raise ProgrammeError("cost_unclear")
    amount = round(value * _UNITS.get(unit or "", 1))
    if amount > COST_MAX:
        raise ProgrammeError("cost_too_high", limit=COST_MAX)
    return amount


def band_of(cost_vnd: int) -> CostBand:
    if cost_vnd <= 0:
        return CostBand.FREE
    if cost_vnd < 1_000_000:
        return CostBand.UNDER_1M
    if cost_vnd <= 5_000_000:
        return CostBand.FROM_1M_TO_5M
    return CostBand.OVER_5M


_WORKER_WORDS = frozenset(
    {"", "nguoi", "nguoi lao dong", "lao dong", "cong nhan", "worker", "workers", "people"}
)
_WORKERS = re.compile(r"^(?P<number>\d[\d.,\s]*?)\s*(?P<word>[^\d.,]*)$")


def parse_workers(text: str | None) -> int:
    """Workers who benefit: a whole number, 0 allowed (see README, "Improvement reports");
    "1.200", "1 200" and "12 người" are understood."""
    typed = (text or "").strip().lower()
    if typed.startswith("-"):
        raise ProgrammeError("workers_negative")
    found = _WORKERS.match(typed)
    if found is None or content.fold(found.group("word")) not in _WORKER_WORDS:
        raise ProgrammeError("workers_not_number")
    number = found.group("number").replace(" ", "")
    if re.fullmatch(r"\d+[.,]\d{1,2}", number):
        raise ProgrammeError("workers_not_whole")
    if not (number.isdigit() or _GROUPED.match(number)):
        raise ProgrammeError("workers_not_number")
    workers = int(re.sub(r"[.,]", "", number))
    if workers > WORKERS_MAX:
        raise ProgrammeError("workers_too_many", limit=WORKERS_MAX)
    return workers


def clean_text(text: str | None, *, minimum: int = DESCRIPTION_MIN, maximum: int) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise ProgrammeError("text_empty", minimum=minimum)
    if len(cleaned) < minimum:
        raise ProgrammeError("text_too_short", minimum=minimum)
    if len(cleaned) > maximum:
        raise ProgrammeError("text_too_long", limit=maximum, length=len(cleaned))
    return cleaned


def risk_score(likelihood: int, severity: int) -> int:
    if likelihood not in LIKELIHOODS or severity not in SEVERITIES:
        raise ProgrammeError("risk_invalid")
    return likelihood * severity


# -- drafts ----------------------------------------------------------------------------------


def reporter_enterprise(session: Session, contact: Contact | None) -> Enterprise:
    """The enterprise a person reports for; refused for staff, partners and strangers."""
    if contact is None or contact.role not in REPORTER_ROLES or contact.enterprise_id is None:
        raise ProgrammeError("not_a_reporter")
    enterprise = session.get(Enterprise, contact.enterprise_id)
    if enterprise is None:
        raise ProgrammeError("unknown_enterprise")
    return enterprise


def current_draft(session: Session, reporter: Contact) -> Improvement | None:
    """The reporter's unfinished report for their enterprise, newest first (there is normally
    one; a person removed and back with another enterprise's link leaves the old one be)."""
    query = (
        select(Improvement)
        .where(
            Improvement.reporter_id == reporter.id,
            Improvement.enterprise_id == reporter.enterprise_id,
            Improvement.status == ReviewStatus.DRAFT,
        )
        .order_by(col(Improvement.updated_at).desc(), col(Improvement.id).desc())
    )
    return session.exec(query).first()


def start_draft(
    session: Session,
    *,
    reporter: Contact,
    area_code: str,
    now: datetime,
    source: str = outbox.TELEGRAM,
) -> Improvement:
    """A new report, created with its first answer so that an idle /report leaves nothing.
    `source`: the channel it is made on ("telegram", "zalo"), shown in exports and the
    dashboard."""
    enterprise = reporter_enterprise(session, reporter)
    if content.area(area_code) is None:
        raise ProgrammeError("unknown_area")
    improvement = Improvement(
        enterprise_id=enterprise.id,  # type: ignore[arg-type]
        reporter_id=reporter.id,
        area_code=area_code,
        status=ReviewStatus.DRAFT,
        draft_step=Step.KIND,
        source=source,
        created_at=now,
        updated_at=now,
    )
    session.add(improvement)
    session.flush()
    audit(session, "improvement.draft", actor_id=reporter.id, subject=improvement)
    return improvement


def get_own(session: Session, improvement_id: int, reporter: Contact) -> Improvement:
    improvement = session.get(Improvement, improvement_id)
    if improvement is None or improvement.reporter_id != reporter.id:
        raise ProgrammeError("unknown_report")
    return improvement


def _edit(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    now: datetime,
    values: dict[str, Any],
    step: Step | None = None,
) -> Improvement:
    """Writes fields of a report the reporter may still change, in one conditional UPDATE."""
    improvement = get_own(session, improvement_id, reporter)
    values = {**values, "updated_at": now}
    if step is not None and improvement.status == ReviewStatus.DRAFT:
        values["draft_step"] = str(step)
    changed = session.execute(
        sa.update(Improvement)
        .where(
            col(Improvement.id) == improvement_id,
            col(Improvement.status).in_([str(s) for s in EDITABLE]),
        )
        .values(**values)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(improvement)
    if changed != 1:
        raise ProgrammeError("not_editable", status=str(improvement.status))
    return improvement


def set_step(
    session: Session, improvement_id: int, *, reporter: Contact, step: Step, now: datetime
) -> Improvement:
    return _edit(session, improvement_id, reporter=reporter, now=now, values={}, step=step)


def set_area(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    area_code: str,
    now: datetime,
    step: Step | None = None,
) -> Improvement:
    if content.area(area_code) is None:
        raise ProgrammeError("unknown_area")
    values: dict[str, Any] = {"area_code": area_code}
    kind = content.kind(get_own(session, improvement_id, reporter).kind_code)
    if kind is not None and kind.area != area_code:
        values["kind_code"] = None  # a kind belongs to its area
    return _edit(session, improvement_id, reporter=reporter, now=now, values=values, step=step)


def set_kind(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    kind_code: str | None,
    now: datetime,
    step: Step | None = None,
) -> Improvement:
    """The kind of improvement inside the report's area (content/kinds.toml), or None: the
    question is optional, and "other" is stored as no kind."""
    if kind_code is not None:
        kind = content.kind(kind_code)
        if kind is None or kind.area != get_own(session, improvement_id, reporter).area_code:
            raise ProgrammeError("unknown_kind")
    return _edit(
        session, improvement_id, reporter=reporter, now=now, values={"kind_code": kind_code},
        step=step,
    )  # fmt: skip


def set_description(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    text: str | None,
    now: datetime,
    step: Step | None = None,
) -> Improvement:
    description = clean_text(text, maximum=DESCRIPTION_MAX)
    return _edit(
        session, improvement_id, reporter=reporter, now=now,
        values={"description": description}, step=step,
    )  # fmt: skip


class PhotoSlot(StrEnum):
    BEFORE = "before"
    AFTER = "after"


def check_photo(*, file_size: int | None, mime_type: str | None = None) -> None:
    """Refuses what cannot be a report photo before anything is downloaded."""
    if mime_type is not None and mime_type not in PHOTO_TYPES:
        raise ProgrammeError("photo_type")
    if file_size is not None and file_size > PHOTO_MAX_BYTES:
        raise ProgrammeError("photo_too_big", limit=PHOTO_MAX_BYTES, size=file_size)


def photo_name(improvement_id: int, slot: PhotoSlot, unique_id: str, mime_type: str) -> str:
    """Where a photo goes, relative to the media folder."""
    suffix = ".png" if mime_type == "image/png" else ".jpg"
    safe = re.sub(r"[^A-Za-z0-9_-]", "", unique_id)[:40] or "photo"
    return f"improvements/{improvement_id}-{slot}-{safe}{suffix}"


def set_photo(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    slot: PhotoSlot,
    file_id: str | None,
    path: str | None,
    media_root: Path,
    now: datetime,
    step: Step | None = None,
) -> Improvement:
    """Stores (or, with None, clears) the before or after photo; a replaced file is deleted.
    A new photo may show other people: the reporter's earlier answer about people in the
    photos no longer holds and is asked again (models/goodpractice hides photos until then)."""
    improvement = get_own(session, improvement_id, reporter)
    old = getattr(improvement, f"photo_{slot}_path")
    values: dict[str, Any] = {f"photo_{slot}_file_id": file_id, f"photo_{slot}_path": path}
    if path is not None and path != old:
        values["people_shown"] = None
    improvement = _edit(
        session, improvement_id, reporter=reporter, now=now, values=values, step=step
    )
    if old and old != path:
        (media_root / old).unlink(missing_ok=True)
    return improvement


def set_cost(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    now: datetime,
    cost_vnd: int | None = None,
    band: CostBand | None = None,
    step: Step | None = None,
) -> Improvement:
    """A typed amount (its band is derived, so that every report can be counted by band) or
    only a band. "Free" is an amount too: 0."""
    if cost_vnd is not None:
        if cost_vnd < 0:
            raise ProgrammeError("cost_negative")
        if cost_vnd > COST_MAX:
            raise ProgrammeError("cost_too_high", limit=COST_MAX)
        band = band_of(cost_vnd)
    elif band is None:
        raise ProgrammeError("cost_not_number")
    elif band == CostBand.FREE:
        cost_vnd = 0
    return _edit(
        session, improvement_id, reporter=reporter, now=now,
        values={"cost_vnd": cost_vnd, "cost_band": str(CostBand(band))}, step=step,
    )  # fmt: skip


def workforce(session: Session, improvement: Improvement) -> int:
    enterprise = session.get(Enterprise, improvement.enterprise_id)
    return enterprise.workers if enterprise is not None else 0


def set_workers(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    workers: int,
    now: datetime,
    confirmed: bool = False,
    step: Step | None = None,
) -> Improvement:
    """More workers than the enterprise employs is possible (the improvement may help a
    neighbouring workshop, or the workforce grew), but only when the reporter confirms it."""
    if workers < 0:
        raise ProgrammeError("workers_negative")
    if workers > WORKERS_MAX:
        raise ProgrammeError("workers_too_many", limit=WORKERS_MAX)
    improvement = get_own(session, improvement_id, reporter)
    employed = workforce(session, improvement)
    if workers > employed and not confirmed:
        raise ProgrammeError("workers_above_workforce", workforce=employed, workers=workers)
    return _edit(
        session, improvement_id, reporter=reporter, now=now,
        values={"workers_benefiting": workers}, step=step,
    )  # fmt: skip


class RiskWhen(StrEnum):
    BEFORE = "before"
    AFTER = "after"


def set_risk(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    when: RiskWhen,
    now: datetime,
    likelihood: int | None = None,
    severity: int | None = None,
    step: Step | None = None,
) -> Improvement:
    """Stores one or both raw values; the 1..9 score is kept whenever both are known (and
    cleared while a new likelihood waits for its severity, so that no score is ever stale)."""
    values: dict[str, Any] = {}
    if likelihood is not None:
        if likelihood not in LIKELIHOODS:
            raise ProgrammeError("risk_invalid")
        values[f"risk_{when}_likelihood"] = likelihood
    if severity is not None:
        if severity not in SEVERITIES:
            raise ProgrammeError("risk_invalid")
        values[f"risk_{when}_severity"] = severity
    improvement = get_own(session, improvement_id, reporter)
    final_l = (
        likelihood if likelihood is not None else getattr(improvement, f"risk_{when}_likelihood")
    )
    final_s = severity if severity is not None else getattr(improvement, f"risk_{when}_severity")
    if likelihood is not None and severity is None:
        final_s = None
        values[f"risk_{when}_severity"] = None
    values[f"risk_{when}_score"] = (
        risk_score(final_l, final_s) if final_l is not None and final_s is not None else None
    )
    return _edit(session, improvement_id, reporter=reporter, now=now, values=values, step=step)


def set_share(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    consent: ShareConsent,
    now: datetime,
    step: Step | None = None,
) -> Improvement:
    consent = ShareConsent(consent)
    if consent == ShareConsent.NAMED and reporter.role != Role.EMPLOYER:
        # Naming the enterprise in public is the employer's decision, not a worker's.
        raise ProgrammeError("naming_is_for_employers")
    edited = _edit(
        session, improvement_id, reporter=reporter, now=now,
        values={"share_consent": str(consent)}, step=step,
    )  # fmt: skip
    if consent == ShareConsent.NAMED:
        # Choosing "yes, with our name" is the employer's consent to naming, recorded as such,
        # so that /privacy can withdraw it later.
        privacy.grant(session, reporter, ConsentPurpose.NAMING, language=reporter.language, now=now)
    return edited


def asks_about_people(improvement: Improvement) -> bool:
    """Whether the reporter should say who is in the photos: only a report that may be shared
    and has a photo can put someone's picture in public."""
    shared = improvement.share_consent in (ShareConsent.NAMED, ShareConsent.ANONYMOUS)
    has_photo = bool(improvement.photo_before_path or improvement.photo_after_path)
    return shared and has_photo


def set_people_shown(
    session: Session,
    improvement_id: int,
    *,
    reporter: Contact,
    answer: PeopleShown,
    now: datetime,
    step: Step | None = None,
) -> Improvement:
    """The reporter's word about people in the photos: nobody is shown, they agreed, or they
    were not asked. Publications show the photos only for the first two (models/goodpractice)."""
    answer = PeopleShown(answer)
    edited = _edit(
        session, improvement_id, reporter=reporter, now=now,
        values={"people_shown": str(answer)}, step=step,
    )  # fmt: skip
    audit(session, "improvement.people_shown", actor_id=reporter.id, subject=edited,
          answer=str(answer))  # fmt: skip
    return edited


REQUIRED = (
    ("area_code", Step.AREA),
    ("description", Step.DESCRIPTION),
    ("cost_band", Step.COST),
    ("workers_benefiting", Step.WORKERS),
    ("risk_before_score", Step.RISK_BEFORE),
    ("risk_after_score", Step.RISK_AFTER),
    ("share_consent", Step.SHARE),
)


def missing(improvement: Improvement) -> list[Step]:
    """The steps whose answer a report still lacks (photos are optional)."""
    return [step for name, step in REQUIRED if getattr(improvement, name) is None]


def resume_step(improvement: Improvement) -> Step:
    """Where an unfinished report continues: the stored step, or the first missing answer."""
    if improvement.draft_step in {s.value for s in Step}:
        return Step(improvement.draft_step)
    gaps = missing(improvement)
    return gaps[0] if gaps else Step.SUMMARY


def discard_draft(
    session: Session, improvement_id: int, *, reporter: Contact, media_root: Path
) -> bool:
    """Deletes an unfinished report and its photos; a submitted report is never deleted here."""
    improvement = session.get(Improvement, improvement_id)
    if (
        improvement is None
        or improvement.reporter_id != reporter.id
        or improvement.status != ReviewStatus.DRAFT
    ):
        return False
    paths = [improvement.photo_before_path, improvement.photo_after_path]
    deleted = session.execute(
        sa.delete(Improvement).where(
            col(Improvement.id) == improvement_id,
            col(Improvement.status) == str(ReviewStatus.DRAFT),
        )
    ).rowcount  # type: ignore[attr-defined]
    if deleted:
        for path in paths:
            if path:
                (media_root / path).unlink(missing_ok=True)
        audit(session, "improvement.discard", actor_id=reporter.id, subject=improvement)
    return bool(deleted)


def stale_drafts(session: Session, *, older_than: datetime) -> list[Improvement]:
    """Unfinished reports untouched since `older_than` (for the scheduler's one reminder), of
    enterprises followed up."""
    query = (
        select(Improvement)
        .where(
            Improvement.status == ReviewStatus.DRAFT,
            col(Improvement.updated_at) < older_than,
            col(Improvement.reporter_id).is_not(None),
            followed_up(Improvement.enterprise_id),
        )
        .order_by(col(Improvement.updated_at), col(Improvement.id))
    )
    return list(session.exec(query))


# -- seen at a visit -------------------------------------------------------------------------

SEEN_SOURCE = "visit"  # Improvement.source of an improvement staff saw at a visit


def add_seen(
    session: Session,
    *,
    enterprise_id: int,
    visit_id: int,
    staff: Contact | None,
    area_code: str,
    kind_code: str | None,
    text: str | None,
    now: datetime,
) -> Improvement:
    """An improvement that provider staff saw at a visit (models/visit_checks.py checks the
    visit): the same area, kind and description rules as a report, stored at once as verified
    by the staff member who saw it, with `source` SEEN_SOURCE and the visit, never reported by
    the enterprise (no reporter, no consent to share: it stays out of every publication)."""
    if content.area(area_code) is None:
        raise ProgrammeError("unknown_area")
    if kind_code is not None:
        kind = content.kind(kind_code)
        if kind is None or kind.area != area_code:
            raise ProgrammeError("unknown_kind")
    description = clean_text(text, maximum=DESCRIPTION_MAX)
    improvement = Improvement(
        enterprise_id=enterprise_id,
        area_code=area_code,
        kind_code=kind_code,
        description=description,
        status=ReviewStatus.VERIFIED,
        reviewed_by_id=staff.id if staff else None,
        reviewed_at=now,
        created_at=now,
        submitted_at=now,
        updated_at=now,
        source=SEEN_SOURCE,
        seen_at_visit_id=visit_id,
    )
    if not can_review(session, staff, improvement):
        raise ProgrammeError("not_your_enterprise")
    assert staff is not None
    session.add(improvement)
    session.flush()
    audit(session, "improvement.seen", actor_id=staff.id, subject=improvement, visit=visit_id)
    return improvement


def set_seen_photo(
    session: Session,
    improvement_id: int,
    *,
    staff: Contact | None,
    slot: PhotoSlot,
    file_id: str | None,
    path: str | None,
    media_root: Path,
    now: datetime,
) -> Improvement:
    """The before or after photo of an improvement seen at a visit, by staff who may review it;
    a replaced file is deleted, as `set_photo` does for a report."""
    improvement = session.get(Improvement, improvement_id)
    if improvement is None or improvement.seen_at_visit_id is None:
        raise ProgrammeError("unknown_report")
    if not can_review(session, staff, improvement):
        raise ProgrammeError("not_your_enterprise")
    old = getattr(improvement, f"photo_{slot}_path")
    session.execute(
        sa.update(Improvement)
        .where(col(Improvement.id) == improvement_id)
        .values({f"photo_{slot}_file_id": file_id, f"photo_{slot}_path": path, "updated_at": now})
    )
    session.refresh(improvement)
    if old and old != path:
        (media_root / old).unlink(missing_ok=True)
    return improvement


# -- submission, withdrawal ------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """The report after an action, and whether this call made the change (False when the same
    action had already happened: a button pressed twice, an update delivered twice)."""

    improvement: Improvement
    changed: bool


def submit(
    session: Session, improvement_id: int, *, reporter: Contact, now: datetime
) -> Transition:
    improvement = get_own(session, improvement_id, reporter)
    if improvement.status != ReviewStatus.DRAFT:
        return Transition(improvement, changed=False)
    gaps = missing(improvement)
    if gaps:
        raise ProgrammeError("incomplete", missing=[str(s) for s in gaps])
    changed = session.execute(
        sa.update(Improvement)
        .where(
            col(Improvement.id) == improvement_id,
            col(Improvement.status) == str(ReviewStatus.DRAFT),
        )
        .values(
            status=str(ReviewStatus.SUBMITTED),
            submitted_at=now,
            updated_at=now,
            draft_step=None,
        )
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(improvement)
    if changed:
        audit(session, "improvement.submit", actor_id=reporter.id, subject=improvement)
    return Transition(improvement, changed=bool(changed))


def withdraw(
    session: Session, improvement_id: int, *, reporter: Contact, now: datetime
) -> Transition:
    """The reporter takes back a report that nobody has reviewed yet."""
    improvement = get_own(session, improvement_id, reporter)
    if improvement.status == ReviewStatus.WITHDRAWN:
        return Transition(improvement, changed=False)
    changed = session.execute(
        sa.update(Improvement)
        .where(
            col(Improvement.id) == improvement_id,
            col(Improvement.status) == str(ReviewStatus.SUBMITTED),
        )
        .values(status=str(ReviewStatus.WITHDRAWN), updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(improvement)
    if not changed:
        raise ProgrammeError("not_withdrawable", status=str(improvement.status))
    audit(session, "improvement.withdraw", actor_id=reporter.id, subject=improvement)
    return Transition(improvement, changed=True)


# -- review ----------------------------------------------------------------------------------


def can_review(session: Session, contact: Contact | None, improvement: Improvement) -> bool:
    """Staff of the enterprise's provider, and coordinators; read from the database."""
    if contact is None or contact.erased_at is not None:
        return False
    if contact.role == Role.COORDINATOR:
        return True
    if contact.role != Role.STAFF or contact.provider_id is None:
        return False
    enterprise = session.get(Enterprise, improvement.enterprise_id)
    return enterprise is not None and enterprise.provider_id == contact.provider_id


def reviewable(session: Session, improvement_id: int, reviewer: Contact | None) -> Improvement:
    improvement = session.get(Improvement, improvement_id)
    if improvement is None or improvement.status == ReviewStatus.DRAFT:
        raise ProgrammeError("unknown_report")
    if not can_review(session, reviewer, improvement):
        raise ProgrammeError("not_your_enterprise")
    return improvement


def review(
    session: Session,
    improvement_id: int,
    *,
    reviewer: Contact | None,
    decision: Review,
    now: datetime,
) -> Transition:
    """Verify, or verify and mark as good practice. A verified report may still be marked as
    good practice later; nothing goes back. Good practice may be marked without the
    enterprise's consent to share: it then counts in the provider's figures but never reaches
    the library, newsletters or the website (see models/goodpractice.py)."""
    improvement = reviewable(session, improvement_id, reviewer)
    assert reviewer is not None
    target = ReviewStatus.VERIFIED if decision == Review.VERIFY else ReviewStatus.GOOD_PRACTICE
    if improvement.status == target:
        return Transition(improvement, changed=False)
    allowed = [ReviewStatus.SUBMITTED]
    if target == ReviewStatus.GOOD_PRACTICE:
        allowed.append(ReviewStatus.VERIFIED)
    changed = session.execute(
        sa.update(Improvement)
        .where(
            col(Improvement.id) == improvement_id,
            col(Improvement.status).in_([str(s) for s in allowed]),
        )
        .values(status=str(target), reviewed_by_id=reviewer.id, reviewed_at=now, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(improvement)
    if not changed:
        raise ProgrammeError("already_reviewed", status=str(improvement.status))
    audit(session, f"improvement.{decision}", actor_id=reviewer.id, subject=improvement)
    return Transition(improvement, changed=True)


def publishable(improvement: Improvement) -> bool:
    """Whether a report may be shown outside its enterprise and provider."""
    return improvement.status == ReviewStatus.GOOD_PRACTICE and improvement.share_consent in (
        ShareConsent.NAMED,
        ShareConsent.ANONYMOUS,
    )


def reviewers(session: Session, improvement: Improvement) -> list[Contact]:
    """Who is told about a report: the staff of the enterprise's provider; when the provider
    has no reachable staff yet, the coordinators, so that no report goes unseen."""
    enterprise = session.get(Enterprise, improvement.enterprise_id)
    if enterprise is None:
        return []
    reachable = (
        col(Contact.erased_at).is_(None),
        outbox.reachable(),
    )
    staff = list(
        session.exec(
            select(Contact)
            .where(
                Contact.role == Role.STAFF,
                Contact.provider_id == enterprise.provider_id,
                *reachable,
            )
            .order_by(col(Contact.id))
        )
    )
    if staff:
        return staff
    return list(
        session.exec(
            select(Contact)
            .where(Contact.role == Role.COORDINATOR, *reachable)
            .order_by(col(Contact.id))
        )
    )


# -- questions and answers -------------------------------------------------------------------


class MessageKind(StrEnum):
    QUESTION = "question"
    ANSWER = "answer"


def ask(
    session: Session,
    improvement_id: int,
    *,
    reviewer: Contact | None,
    text: str | None,
    now: datetime,
) -> ImprovementMessage:
    """A reviewer's question, to be relayed to the reporter."""
    improvement = reviewable(session, improvement_id, reviewer)
    assert reviewer is not None
    if improvement.status == ReviewStatus.WITHDRAWN:
        raise ProgrammeError("withdrawn")
    reporter = session.get(Contact, improvement.reporter_id) if improvement.reporter_id else None
    if reporter is None or outbox.route(reporter) is None:
        raise ProgrammeError("reporter_gone")
    message = ImprovementMessage(
        improvement_id=improvement_id,
        kind=str(MessageKind.QUESTION),
        sender_id=reviewer.id,  # type: ignore[arg-type]
        recipient_id=reporter.id,  # type: ignore[arg-type]
        text=clean_text(text, minimum=2, maximum=MESSAGE_MAX),
        created_at=now,
    )
    session.add(message)
    session.flush()
    audit(session, "improvement.question", actor_id=reviewer.id, subject=improvement)
    return message


def answer(
    session: Session,
    question_id: int,
    *,
    reporter: Contact | None,
    text: str | None,
    now: datetime,
) -> ImprovementMessage:
    """The reporter's answer to a question, to be relayed to the staff member who asked."""
    question = session.get(ImprovementMessage, question_id)
    if (
        question is None
        or question.kind != MessageKind.QUESTION
        or reporter is None
        or question.recipient_id != reporter.id
    ):
        raise ProgrammeError("unknown_question")
    improvement = session.get(Improvement, question.improvement_id)
    if improvement is None or improvement.status == ReviewStatus.WITHDRAWN:
        raise ProgrammeError("withdrawn")
    message = ImprovementMessage(
        improvement_id=question.improvement_id,
        kind=str(MessageKind.ANSWER),
        sender_id=reporter.id,
        recipient_id=question.sender_id,
        reply_to_id=question.id,
        text=clean_text(text, minimum=1, maximum=MESSAGE_MAX),
        created_at=now,
    )
    session.add(message)
    session.flush()
    audit(session, "improvement.answer", actor_id=reporter.id, subject=improvement)
    return message


def thread(session: Session, improvement_id: int) -> list[ImprovementMessage]:
    query = (
        select(ImprovementMessage)
        .where(ImprovementMessage.improvement_id == improvement_id)
        .order_by(col(ImprovementMessage.created_at), col(ImprovementMessage.id))
    )
    return list(session.exec(query))


# -- listing ---------------------------------------------------------------------------------


def reports_for(session: Session, contact: Contact, *, limit: int = 20) -> list[Improvement]:
    """/myreports: an employer sees every report of the enterprise (an improvement belongs to
    the enterprise; see `reported_by` for how their senders are named), a worker their own;
    unfinished drafts are not reports yet. Newest first."""
    enterprise = reporter_enterprise(session, contact)
    query = select(Improvement).where(
        Improvement.enterprise_id == enterprise.id,
        Improvement.status != ReviewStatus.DRAFT,
    )
    if contact.role != Role.EMPLOYER:
        query = query.where(Improvement.reporter_id == contact.id)
    query = query.order_by(col(Improvement.submitted_at).desc(), col(Improvement.id).desc()).limit(
        limit
    )
    return list(session.exec(query))


class ReportedBy(StrEnum):
    """Who sent a report, as /myreports shows it to someone else of the enterprise."""

    WORKER = "worker"
    EMPLOYER = "employer"
    SOMEONE = "someone"  # the reporter erased their data


def reported_by(
    session: Session, reports: list[Improvement], viewer: Contact
) -> dict[int, ReportedBy]:
    """For each report that `viewer` did not send: who did. An improvement belongs to the
    enterprise, so its employer sees every report; a worker's report shows "a worker", never
    the worker's name (as staff see it). One query for the whole list."""
    others = {r.reporter_id for r in reports if r.reporter_id and r.reporter_id != viewer.id}
    roles = dict(
        session.exec(
            select(col(Contact.id), col(Contact.role)).where(
                col(Contact.id).in_(others), col(Contact.erased_at).is_(None)
            )
        ).all()
        if others
        else []
    )
    kinds = {Role.WORKER: ReportedBy.WORKER, Role.EMPLOYER: ReportedBy.EMPLOYER}

    def kind(reporter_id: int | None) -> ReportedBy:
        role = roles.get(reporter_id) if reporter_id is not None else None
        return kinds.get(role, ReportedBy.SOMEONE) if role is not None else ReportedBy.SOMEONE

    return {
        r.id: kind(r.reporter_id)
        for r in reports
        if r.id is not None and r.reporter_id != viewer.id
    }


def count_for(session: Session, contact: Contact) -> int:
    enterprise = reporter_enterprise(session, contact)
    query = (
        select(sa.func.count())
        .select_from(Improvement)
        .where(
            Improvement.enterprise_id == enterprise.id,
            Improvement.status != ReviewStatus.DRAFT,
        )
    )
    if contact.role != Role.EMPLOYER:
        query = query.where(Improvement.reporter_id == contact.id)
    return int(session.exec(query).one())
