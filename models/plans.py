"""The action plan an enterprise made at the training (step 3 of the guide): what it planned to
improve, in which technical area, who does it and by when. It is the follow-up's baseline: the
revisit card shows it, reports can be linked to it, and the summary counts how much of it was
carried out.

Each item moves planned -> done -> still in use, and a done item can later be found no longer in
use. Every move is one conditional UPDATE (as in models/improvements.py), so that a button
pressed twice or two people pressing at once take effect once; who moved it and when stay on the
row and in the audit log.

Who may write a plan: staff of the enterprise's provider, coordinators, and the enterprise's
own employers. Workers see nothing of it here. Nothing here knows about Telegram.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from openpyxl.utils.datetime import from_excel
from sqlmodel import Session, col, select

from models import content
from models.enterprises import followed_up
from models.imports import (
    Cell,
    ImportReport,
    RowError,
    _is_blank,
    _rows,
    _text,
    area_index,
    header_positions,
)
from models.programme import ProgrammeError, audit
from models.tables import Contact, Enterprise, Improvement, PlanItem, PlanStatus, Role

WHAT_MIN, WHAT_MAX = 5, 300  # PlanItem.what
WHO_MIN, WHO_MAX = 2, 100  # PlanItem.who
CHECKPOINT_MAX = 40  # PlanItem.checkpoint
# A plan made at a training looks months ahead, rarely years; further is a typing slip.
HORIZON_DAYS = 3 * 365
# The employer hears about an item this many days before it is due, once.
REMIND_DAYS = 7

EDITOR_ROLES = frozenset({Role.STAFF, Role.COORDINATOR, Role.EMPLOYER})
# The action that shows the plan of enterprise <id> (handlers/plan.py); reminders carry it too.
SHOW_DATA = "plan:ent:"
# What each move may start from; anything else is a stale button or a race lost.
MOVES: dict[PlanStatus, tuple[PlanStatus, ...]] = {
    PlanStatus.DONE: (PlanStatus.PLANNED,),
    PlanStatus.IN_USE: (PlanStatus.DONE,),
    PlanStatus.ENDED: (PlanStatus.DONE, PlanStatus.IN_USE),
}
_STAMP = {
    PlanStatus.DONE: ("done_at", "done_by_id"),
    PlanStatus.IN_USE: ("in_use_at", "in_use_by_id"),
    PlanStatus.ENDED: ("ended_at", "ended_by_id"),
}
# Carried out, for the completion figure: done, or found still in use.
COMPLETED = (PlanStatus.DONE, PlanStatus.IN_USE)


@dataclass(frozen=True)
class ItemDraft:
    area_code: str
    what: str
    who: str
    due_on: date
    checkpoint: str | None = None


# -- who may ---------------------------------------------------------------------------------


def may_edit(contact: Contact | None, enterprise: Enterprise | None) -> bool:
    if contact is None or enterprise is None or contact.removed_at is not None:
        return False
    if contact.role == Role.COORDINATOR:
        return True
    if contact.role == Role.STAFF:
        return contact.provider_id == enterprise.provider_id
    return contact.role == Role.EMPLOYER and contact.enterprise_id == enterprise.id


def editable_enterprise(session: Session, actor: Contact | None, enterprise_id: int) -> Enterprise:
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise ProgrammeError("unknown_enterprise")
    if not may_edit(actor, enterprise):
        raise ProgrammeError("plan_not_allowed")
    return enterprise


# -- the fields, checked the same way in the chat and in the import ----------------------------


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def clean_area(code: str | None) -> str:
    if content.area(code) is None:
        raise ProgrammeError("unknown_area")
    assert code is not None
    return code


def clean_what(text: str | None) -> str:
    what = _one_line(text)
    if len(what) < WHAT_MIN:
        raise ProgrammeError("what_too_short", limit=WHAT_MIN)
    if len(what) > WHAT_MAX:
        raise ProgrammeError("what_too_long", limit=WHAT_MAX, length=len(what))
    return what


def clean_who(text: str | None) -> str:
    who = _one_line(text)
    if len(who) < WHO_MIN:
        raise ProgrammeError("who_too_short", limit=WHO_MIN)
    if len(who) > WHO_MAX:
        raise ProgrammeError("who_too_long", limit=WHO_MAX, length=len(who))
    return who


def clean_checkpoint(text: str | None) -> str | None:
    checkpoint = _one_line(text)
    if not checkpoint:
        return None
    if len(checkpoint) > CHECKPOINT_MAX:
        raise ProgrammeError("checkpoint_too_long", limit=CHECKPOINT_MAX, length=len(checkpoint))
    return checkpoint


def parse_due(text: str | None, *, today: date) -> date:
    """A due day typed the Vietnamese way (30/06/2027, 30-6-2027), as ISO (2027-06-30), or
    without a year (30/06: its next occurrence from today)."""
    raw = (text or "").strip().replace("-", "/").replace(".", "/")
    parts = [part.strip() for part in raw.split("/")]
    try:
        if len(parts) == 3 and len(parts[0]) == 4:
            day = date(int(parts[0]), int(parts[1]), int(parts[2]))
        elif len(parts) == 3:
            year = int(parts[2])
            day = date(year + 2000 if year < 100 else year, int(parts[1]), int(parts[0]))
        elif len(parts) == 2:
            day = date(today.year, int(parts[1]), int(parts[0]))
            if day < today:
                day = date(today.year + 1, day.month, day.day)
        else:
            raise ProgrammeError("due_invalid")
    except ValueError as error:
        raise ProgrammeError("due_invalid") from error
    return day


def check_due(day: date, *, enterprise: Enterprise, today: date) -> date:
    """A plan is made at the training: nothing in it falls due before that day."""
    if day < enterprise.intervention_date:
        raise ProgrammeError("due_before_training", training=enterprise.intervention_date)
    if day > today + timedelta(days=HORIZON_DAYS):
        raise ProgrammeError("due_too_far")
    return day


# -- writing ---------------------------------------------------------------------------------


def add_item(
    session: Session,
    *,
    enterprise_id: int,
    draft: ItemDraft,
    actor: Contact | None,
    today: date,
    now: datetime,
    source: str = "chat",
) -> PlanItem:
    """One more item of the enterprise's plan, every field checked again here. Without an
    `actor` the operator at the command line adds it, who may write any plan."""
    if actor is not None:
        enterprise = editable_enterprise(session, actor, enterprise_id)
    elif (found := session.get(Enterprise, enterprise_id)) is not None:
        enterprise = found
    else:
        raise ProgrammeError("unknown_enterprise")
    item = PlanItem(
        enterprise_id=enterprise_id,
        area_code=clean_area(draft.area_code),
        what=clean_what(draft.what),
        checkpoint=clean_checkpoint(draft.checkpoint),
        who=clean_who(draft.who),
        due_on=check_due(draft.due_on, enterprise=enterprise, today=today),
        source=source,
        created_by_id=actor.id if actor else None,
        created_at=now,
    )
    session.add(item)
    session.flush()
    audit(
        session,
        "plan.add",
        actor_id=actor.id if actor else None,
        subject=item,
        enterprise_id=enterprise_id,
        source=source,
    )
    return item


def move(
    session: Session, item_id: int, *, to: PlanStatus, actor: Contact | None, now: datetime
) -> PlanItem:
    """planned -> done -> in use, or done / in use -> no longer in use. Refused with
    "plan_moved" when the item is no longer where the button found it (pressed twice, or
    someone else was quicker)."""
    item = session.get(PlanItem, item_id)
    if item is None:
        raise ProgrammeError("plan_unknown")
    if not may_edit(actor, session.get(Enterprise, item.enterprise_id)):
        raise ProgrammeError("plan_not_allowed")
    assert actor is not None
    return _move(session, item, to=to, actor_id=actor.id, now=now)


def _move(
    session: Session,
    item: PlanItem,
    *,
    to: PlanStatus,
    actor_id: int | None,
    now: datetime,
    **extra: Any,
) -> PlanItem:
    if to not in MOVES:
        raise ProgrammeError("plan_moved", status=str(item.status))
    at, by = _STAMP[to]
    changed = session.execute(
        sa.update(PlanItem)
        .where(
            col(PlanItem.id) == item.id,
            col(PlanItem.status).in_([str(s) for s in MOVES[to]]),
        )
        .values(status=str(to), **{at: now, by: actor_id}, **extra)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(item)
    if not changed:
        raise ProgrammeError("plan_moved", status=str(item.status))
    audit(session, f"plan.{to}", actor_id=actor_id, subject=item, **extra)
    return item


def link(
    session: Session, item_id: int, *, improvement: Improvement, actor: Contact, now: datetime
) -> PlanItem | None:
    """The reported improvement carried out this planned item: the item is done, and points to
    the report. None when the item moved on meanwhile or belongs elsewhere (the report stands
    on its own then)."""
    item = session.get(PlanItem, item_id)
    if (
        item is None
        or item.enterprise_id != improvement.enterprise_id
        or item.area_code != improvement.area_code
    ):
        return None
    try:
        return _move(
            session,
            item,
            to=PlanStatus.DONE,
            actor_id=actor.id,
            now=now,
            improvement_id=improvement.id,
        )
    except ProgrammeError:
        return None


def seen_at_visit(
    session: Session, item: PlanItem, *, in_use: bool | None, actor_id: int | None, now: datetime
) -> PlanItem:
    """What staff saw at a visit moves the item: in use (`True`) carries a planned or done item
    to "still in use" (a planned one is done first, on the same day); no longer in use
    (`False`) ends a done or in-use item; partly (`None`) and anything the item's status
    does not allow (no longer in use of an item never done) leave it where it is."""
    steps: tuple[PlanStatus, ...] = ()
    if in_use is True:
        steps = {
            PlanStatus.PLANNED: (PlanStatus.DONE, PlanStatus.IN_USE),
            PlanStatus.DONE: (PlanStatus.IN_USE,),
        }.get(item.status, ())
    elif in_use is False and item.status in MOVES[PlanStatus.ENDED]:
        steps = (PlanStatus.ENDED,)
    for to in steps:
        try:
            item = _move(session, item, to=to, actor_id=actor_id, now=now)
        except ProgrammeError:  # someone else moved it meanwhile: theirs stands
            break
    return item


# -- reading ---------------------------------------------------------------------------------


def items_of(session: Session, enterprise_id: int) -> list[PlanItem]:
    """The plan in the order people work through it: by due day."""
    return list(
        session.exec(
            select(PlanItem)
            .where(PlanItem.enterprise_id == enterprise_id)
            .order_by(col(PlanItem.due_on), col(PlanItem.id))
        )
    )


def open_items(session: Session, *, enterprise_id: int, area_code: str) -> list[PlanItem]:
    """Planned items of one area that a new report may carry out."""
    return list(
        session.exec(
            select(PlanItem)
            .where(
                PlanItem.enterprise_id == enterprise_id,
                PlanItem.area_code == area_code,
                PlanItem.status == PlanStatus.PLANNED,
            )
            .order_by(col(PlanItem.due_on), col(PlanItem.id))
        )
    )


def is_overdue(item: PlanItem, today: date) -> bool:
    return item.status == PlanStatus.PLANNED and item.due_on < today


@dataclass(frozen=True)
class PlanCounts:
    """The plan at a glance: carried out (done or still in use), still planned and not yet
    due, planned and overdue, and no longer in use."""

    done: int = 0
    planned: int = 0
    overdue: int = 0
    ended: int = 0

    @property
    def total(self) -> int:
        return self.done + self.planned + self.overdue + self.ended


def counts(session: Session, *, enterprise_id: int, today: date) -> PlanCounts:
    late = sa.and_(col(PlanItem.status) == str(PlanStatus.PLANNED), col(PlanItem.due_on) < today)
    row = session.execute(
        sa.select(
            sa.func.count().filter(col(PlanItem.status).in_([str(s) for s in COMPLETED])),
            sa.func.count().filter(col(PlanItem.status) == str(PlanStatus.PLANNED), sa.not_(late)),
            sa.func.count().filter(late),
            sa.func.count().filter(col(PlanItem.status) == str(PlanStatus.ENDED)),
        ).where(col(PlanItem.enterprise_id) == enterprise_id)
    ).one()
    return PlanCounts(*(int(value or 0) for value in row))


def due_for_reminder(session: Session, *, today: date) -> list[PlanItem]:
    """Planned items of enterprises followed up, falling due within the reminder window, that
    nobody was reminded of."""
    return list(
        session.exec(
            select(PlanItem)
            .where(
                PlanItem.status == PlanStatus.PLANNED,
                col(PlanItem.due_on) >= today,
                col(PlanItem.due_on) <= today + timedelta(days=REMIND_DAYS),
                col(PlanItem.reminded_at).is_(None),
                followed_up(PlanItem.enterprise_id),
            )
            .order_by(col(PlanItem.due_on), col(PlanItem.id))
        )
    )


def mark_reminded(session: Session, item: PlanItem, *, now: datetime) -> bool:
    """Claims the item's reminder; False when another run already did."""
    changed = session.execute(
        sa.update(PlanItem)
        .where(col(PlanItem.id) == item.id, col(PlanItem.reminded_at).is_(None))
        .values(reminded_at=now)
    ).rowcount  # type: ignore[attr-defined]
    return bool(changed)


@dataclass(frozen=True)
class Completion:
    """Plan completion over a scope and period: items due in the period, and how many of
    them were carried out (done or still in use)."""

    planned: int
    completed: int

    @property
    def rate(self) -> float | None:
        return self.completed / self.planned if self.planned else None


def completion(
    session: Session,
    *,
    enterprise_ids: sa.Select[Any] | None,
    start: date,
    end: date,
    area_code: str | None = None,
) -> Completion:
    """Items due from `start` up to (not including) `end`, of the enterprises `enterprise_ids`
    selects (None: all), of one area or all. An item no longer in use counts as planned, not
    as completed."""
    query = sa.select(
        sa.func.count(),
        sa.func.count().filter(col(PlanItem.status).in_([str(s) for s in COMPLETED])),
    ).where(col(PlanItem.due_on) >= start, col(PlanItem.due_on) < end)
    if enterprise_ids is not None:
        query = query.where(col(PlanItem.enterprise_id).in_(enterprise_ids))
    if area_code is not None:
        query = query.where(col(PlanItem.area_code) == area_code)
    planned, completed = session.execute(query).one()
    return Completion(planned=int(planned or 0), completed=int(completed or 0))


# -- import from the spreadsheet made at the training -----------------------------------------

# Column -> what it holds; quoted in the README.
PLAN_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "area": "Technical area: its code (storage, workstation, machine, environment, welfare, "
        "organisation) or its Vietnamese or English name. Required.",
        "what": f"What is planned, {WHAT_MIN} to {WHAT_MAX} characters. Required.",
        "checkpoint": f"Checkpoint: a short code or note, at most {CHECKPOINT_MAX} characters. "
        "Optional.",
        "who": f"Who does it: a name or a role, {WHO_MIN} to {WHO_MAX} characters. Required.",
        "due": "Due day: dd/mm/yyyy, yyyy-mm-dd or an Excel date; not before the enterprise's "
        "training, at most three years ahead. Required.",
    }
)
PLAN_REQUIRED = ("area", "what", "who", "due")
PLAN_HEADERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "area": ("area", "technical area", "lĩnh vực", "lĩnh vực kỹ thuật"),
        "what": ("what", "improvement", "planned improvement", "action", "việc cần làm",
                 "nội dung", "cải thiện", "nội dung cải thiện", "hành động"),
        "checkpoint": ("checkpoint", "check point", "điểm kiểm tra", "mã điểm kiểm tra"),
        "who": ("who", "responsible", "person responsible", "người thực hiện",
                "người phụ trách", "ai làm"),
        "due": ("due", "due date", "deadline", "by", "hạn", "hạn hoàn thành", "thời hạn",
                "ngày hoàn thành"),
    }
)  # fmt: skip
_PLAN_HEADER_INDEX = {
    content.fold(header): column for column, headers in PLAN_HEADERS.items() for header in headers
}
SOURCE_IMPORT = "import"


def _due_cell(cell: Cell, *, today: date) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        # A date cell whose format was lost shows Excel's day serial number instead.
        try:
            return from_excel(cell).date()
        except (ValueError, OverflowError, TypeError) as error:
            raise ProgrammeError("due_invalid") from error
    return parse_due(_text(cell), today=today)


def import_plan(
    session: Session,
    path: Path,
    *,
    enterprise_id: int,
    today: date,
    now: datetime,
    actor_id: int | None = None,
) -> ImportReport:
    """Add the items of a CSV or XLSX plan to one enterprise's plan. Rows are checked with the
    chat's rules; a refused row is reported by its line and the others are imported, and the
    same file uploaded again adds only what was refused before (same area, what and due day)."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise ProgrammeError("unknown_enterprise")
    areas = area_index()
    known = {
        (item.area_code, content.fold(item.what), item.due_on)
        for item in items_of(session, enterprise_id)
    }
    report = ImportReport()
    with closing(_rows(path)) as rows:
        positions: dict[str, int] | None = None
        for line, cells in rows:
            if _is_blank(cells):
                if positions is not None:
                    report.skipped_blank += 1
                continue
            if positions is None:
                positions = header_positions(cells, _PLAN_HEADER_INDEX, PLAN_REQUIRED)
                # Before the first row, as in models/imports.py: a SQLite savepoint opened
                # before the first write would commit for good when released.
                audit(session, "plan.import", actor_id=actor_id, subject=enterprise,
                      file=path.name[:100])  # fmt: skip
                session.flush()
                continue
            draft, problems = _plan_row(cells, positions, areas=areas, today=today)
            if draft is None:
                report.errors.extend(RowError(line, code, details) for code, details in problems)
                continue
            key = (draft.area_code, content.fold(draft.what), draft.due_on)
            if key in known:
                report.errors.append(RowError(line, "duplicate", {}))
                continue
            try:
                with session.begin_nested():
                    item = add_item(session, enterprise_id=enterprise_id, draft=draft, actor=None,
                                    today=today, now=now, source=SOURCE_IMPORT)  # fmt: skip
            except ProgrammeError as error:
                column = "due" if error.code.startswith("due_") else ""
                value = draft.due_on.strftime("%d/%m/%Y") if column else ""
                details = {"column": column, "value": value, **error.details}
                report.errors.append(RowError(line, error.code, details))
                continue
            known.add(key)
            report.created.append(item.id)  # type: ignore[arg-type]
    if positions is None:
        raise ProgrammeError("import_columns", missing=list(PLAN_REQUIRED))
    return report


def _plan_row(
    cells: Sequence[Cell], positions: Mapping[str, int], *, areas: Mapping[str, str], today: date
) -> tuple[ItemDraft | None, list[tuple[str, dict[str, Any]]]]:
    def cell(column: str) -> Cell:
        position = positions.get(column)
        return cells[position] if position is not None and position < len(cells) else None

    def area(value: Cell) -> str:
        code = areas.get(content.fold(_text(value)))
        if code is None:
            raise ProgrammeError("unknown_area")
        return code

    readers: dict[str, Any] = {
        "area": area,
        "what": lambda value: clean_what(_text(value)),
        "checkpoint": lambda value: clean_checkpoint(_text(value)),
        "who": lambda value: clean_who(_text(value)),
        "due": lambda value: _due_cell(value, today=today),
    }
    values: dict[str, Any] = {}
    problems: list[tuple[str, dict[str, Any]]] = []
    for column, read in readers.items():
        raw = cell(column)
        try:
            values[column] = read(raw)
        except ProgrammeError as error:
            problems.append((error.code, {"column": column, "value": _text(raw), **error.details}))
    if problems:
        return None, problems
    return (
        ItemDraft(
            area_code=values["area"],
            what=values["what"],
            who=values["who"],
            due_on=values["due"],
            checkpoint=values["checkpoint"],
        ),
        [],
    )
