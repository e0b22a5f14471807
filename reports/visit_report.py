"""The one-page visit report an employer receives after staff finish a visit's checklist
(models/visit_checks.py): the enterprise, the visit's day, what staff saw of each earlier
improvement and plan item (and the risk as both sides rate it), the new improvements they saw,
whether they took the employer survey down for the owner, what changed since the last visit,
and the next visit's date. In the reader's language, one A4 page laid out by WeasyPrint
from the same Jinja2 setup as the newsletter and the leaflet (reports/publish.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.i18n import normalise_language
from bot.i18n import shorten as _shorten
from models import surveys, visit_checks
from models.programme import ProgrammeError
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    PlanItem,
    PlanStatus,
    Provider,
    Visit,
    VisitStatus,
)
from models.visits import OPEN
from reports import publish

TEXT_MAX = 180  # characters of an improvement's text in a line of the report


@dataclass(frozen=True)
class Seen:
    area_code: str | None
    text: str
    state: str  # CheckState
    plan: bool  # a plan item (no risk rating)
    self_score: int | None
    staff_score: int | None  # None: staff did not check the risk


@dataclass(frozen=True)
class Changed:
    area_code: str | None
    text: str


@dataclass(frozen=True)
class Visited:
    """The enterprise as the report names it."""

    name: str
    province_code: str


@dataclass(frozen=True)
class ReportData:
    """What the report shows, in plain values: two gatherings compare equal when the report
    would read the same (the Finish that rendered it ahead checks it before sending)."""

    visit_id: int
    enterprise: Visited
    provider: str
    staff: str | None
    day: date  # the visit's day, in the programme's time zone
    seen: list[Seen]
    since: date  # the last visit's day, or the training's
    since_training: bool
    reported: list[Changed]  # improvements reported since then
    carried_out: list[Changed]  # plan items done since then
    next_visit: date | None
    next_confirmed: bool
    # New improvements staff saw at this visit (models/visit_checks.py `record_seen`).
    new_seen: list[Changed] = field(default_factory=list)
    # The employer survey of the visit's round was taken down by staff for the owner.
    assisted: bool = False


def _day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def gather(session: Session, visit_id: int, *, tz: ZoneInfo) -> ReportData:
    visit = session.get(Visit, visit_id)
    if visit is None or visit.status != VisitStatus.DONE or visit.done_at is None:
        raise ProgrammeError("visit_not_done")
    enterprise = session.get(Enterprise, visit.enterprise_id)
    assert enterprise is not None
    provider = session.get(Provider, enterprise.provider_id)
    staff = session.get(Contact, visit.staff_id) if visit.staff_id else None
    seen = [
        Seen(
            line.area_code,
            _shorten(line.text, TEXT_MAX),
            str(line.check.state),
            line.kind == visit_checks.PLAN_ITEM,
            line.check.self_score,
            line.check.staff_score if line.check.risk_checked_at else None,
        )
        for line in visit_checks.lines(session, visit)
        if line.check is not None
    ]
    previous = session.exec(
        select(Visit)
        .where(
            Visit.enterprise_id == enterprise.id,
            Visit.status == VisitStatus.DONE,
            col(Visit.done_at) < visit.done_at,
        )
        .order_by(col(Visit.done_at).desc())
    ).first()
    since = (
        visit_checks.held_at(previous)
        if previous is not None
        else datetime.combine(enterprise.intervention_date, time(0), tzinfo=tz)
    )
    reported = session.exec(
        select(Improvement)
        .where(
            Improvement.enterprise_id == enterprise.id,
            col(Improvement.status).in_(visit_checks.REPORTED),
            col(Improvement.submitted_at) >= since,
            col(Improvement.submitted_at) <= visit.done_at,
            # What staff saw at a visit is that visit's record, not something reported.
            col(Improvement.seen_at_visit_id).is_(None),
        )
        .order_by(col(Improvement.submitted_at), col(Improvement.id))
    ).all()
    carried_out = session.exec(
        select(PlanItem)
        .where(
            PlanItem.enterprise_id == enterprise.id,
            col(PlanItem.status).in_([str(PlanStatus.DONE), str(PlanStatus.IN_USE)]),
            col(PlanItem.done_at) >= since,
        )
        .order_by(col(PlanItem.done_at), col(PlanItem.id))
    ).all()
    upcoming = session.exec(
        select(Visit).where(
            Visit.enterprise_id == enterprise.id,
            col(Visit.status).in_(OPEN),
            col(Visit.id) != visit.id,
        )
    ).all()
    dated = sorted(
        (
            (_day(v.scheduled_at, tz) if v.scheduled_at else v.due_on, v.status == "confirmed")
            for v in upcoming
        ),
    )
    following = next((pair for pair in dated if pair[0] >= _day(visit.done_at, tz)), None)
    survey_round = visit_checks.survey_round(session, visit)
    assisted = (
        survey_round is not None
        and survey_round.id is not None
        and surveys.assisted_response(session, survey_round.id) is not None
    )
    return ReportData(
        visit_id=visit_id,
        enterprise=Visited(enterprise.name, enterprise.province_code),
        provider=provider.name if provider else "",
        staff=staff.display_name if staff else None,
        day=_day(visit_checks.held_at(visit), tz),
        seen=seen,
        since=_day(since, tz),
        since_training=previous is None,
        reported=[Changed(i.area_code, _shorten(i.description or "", TEXT_MAX)) for i in reported],
        carried_out=[Changed(i.area_code, _shorten(i.what, TEXT_MAX)) for i in carried_out],
        next_visit=following[0] if following else None,
        next_confirmed=bool(following and following[1]),
        new_seen=[
            Changed(i.area_code, _shorten(i.description or "", TEXT_MAX))
            for i in visit_checks.seen_at(session, visit_id)
        ],
        assisted=assisted,
    )


# From roomy to tight: the first layout that fits one A4 page is sent; the last ones list
# only the first lines of each part and say how many more there are.
FITS = (
    {"text": "11pt", "lines": None},
    {"text": "10pt", "lines": None},
    {"text": "9pt", "lines": None},
    {"text": "9pt", "lines": 14},
    {"text": "8.5pt", "lines": 8},
    {"text": "8pt", "lines": 4},
)


@dataclass(frozen=True)
class Rendered:
    html: str
    pdf: bytes
    pages: int


def render(data: ReportData, language: str) -> Rendered:
    language = normalise_language(language)
    for fit in FITS:
        html = publish.render("visit_report.html.j2", language, fit=fit, r=data)
        document = publish.document(html)
        if len(document.pages) == 1:
            break
    return Rendered(html=html, pdf=document.write_pdf(), pages=len(document.pages))


def file_name(data: ReportData, language: str) -> str:
    return f"visit-report-{data.visit_id}-{normalise_language(language)}.pdf"


@dataclass
class Drafts:
    """The report rendered ahead of the transaction that sends it (rendering takes about a
    second a language; no writer should wait for it): each language's PDF written beside its
    place under a name of its own, and its bytes. `publish` puts the files in their places,
    `discard` drops those not published."""

    data: ReportData
    folder: Path
    staged: dict[str, Path]  # language -> the file written, not yet in its place
    pdf: dict[str, bytes]  # language -> the PDF

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.pdf)

    def publish(self) -> dict[str, str]:
        """Each file moved to its place (`file_name` in `folder`), whole: a rename, quick
        enough inside the transaction that queues the report. Language -> path."""
        documents = {}
        for language, staged in sorted(self.staged.items()):
            path = self.folder / file_name(self.data, language)
            os.replace(staged, path)
            documents[language] = str(path)
        self.staged = {}
        return documents

    def discard(self) -> None:
        for staged in self.staged.values():
            staged.unlink(missing_ok=True)
        self.staged = {}


# Where the reports are kept, under the data folder: a folder a visit (`draft`'s `folder`).
FOLDER = "visit-reports"
DRAFT_SUFFIX = ".part"
# A draft older than this was left by a process that died while Finish rendered it (a Finish
# publishes or discards its drafts within seconds): the retention job deletes it.
DRAFT_LIFETIME = timedelta(days=1)


def folder_of(data_dir: Path, visit_id: int) -> Path:
    return data_dir / FOLDER / str(visit_id)


def forget_drafts(data_dir: Path, *, now: datetime) -> int:
    """Deletes the drafts (`draft`) older than DRAFT_LIFETIME that no Finish published or
    discarded (its process died meanwhile); returns how many. The published reports stay."""
    cutoff = (now - DRAFT_LIFETIME).timestamp()
    removed = 0
    for path in (data_dir / FOLDER).glob(f"*/*{DRAFT_SUFFIX}"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # published or discarded meanwhile
            continue
    return removed


def draft(data: ReportData, languages: Iterable[str], folder: Path) -> Drafts:
    """The report in each of `languages`, rendered and written in `folder` under names of their
    own (two Finishes pressed together never write over each other's file)."""
    folder.mkdir(parents=True, exist_ok=True)
    drafts = Drafts(data, folder, {}, {})
    try:
        for language in sorted({normalise_language(x) for x in languages}):
            pdf = render(data, language).pdf
            with tempfile.NamedTemporaryFile(
                dir=folder, suffix=DRAFT_SUFFIX, delete=False
            ) as handle:
                drafts.staged[language] = Path(handle.name)
                handle.write(pdf)
            drafts.pdf[language] = pdf
    except BaseException:
        drafts.discard()
        raise
    return drafts


def write(data: ReportData, language: str, folder: Path) -> Path:
    """The PDF in `folder`, replaced whole (the sender never reads a half-written file)."""
    return Path(draft(data, [language], folder).publish()[normalise_language(language)])
