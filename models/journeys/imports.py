"""Staff import a spreadsheet by sending it to the bot: enterprises, or the improvements of an
earlier paper round, with the same importers and the same sentences as `oshbot import`.

/import asks what the file holds, then (a coordinator only) for which provider, then for the
file, as a document. A file that cannot be read at all is answered in words and the journey
waits for a corrected one; otherwise the rows are imported, and every refused row is told by
its line number in the spreadsheet (the others are imported). Staff import for their own
provider only: a paper round's enterprises may be named, and must be their provider's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlmodel import col, select

from bot.i18n import Translate, format_number, shorten
from models.imports import describe_file_error, describe_report, import_enterprises
from models.journeys.admin import refusal
from models.journeys.core import Action, Input, Outcome, Reply, Turn
from models.journeys.errors import STALE, error_text
from models.journeys.steps import ENDS, GOES_ON, Form, Step, choice
from models.programme import ProgrammeError
from models.tables import Provider, Role
from models.text import esc
from reports.paper_import import import_improvements

PREFIX = "imp:"
WHAT = PREFIX + "what:"
PROVIDER = PREFIX + "prov:"
ENTERPRISES, IMPROVEMENTS = "enterprises", "improvements"
SUBJECTS = {ENTERPRISES: "enterprise", IMPROVEMENTS: "improvement"}
FILE_MAX_MB = 5  # a spreadsheet of thousands of rows is far smaller
FILE_MAX_BYTES = FILE_MAX_MB * 1024 * 1024
REPORT_MAX = 3500  # characters of the outcome in one message (Telegram allows 4096)
ROLES = (Role.STAFF, Role.COORDINATOR)


def _may(turn: Turn) -> bool:
    contact = turn.contact
    if contact is None or contact.role not in ROLES:
        return False
    return contact.role == Role.COORDINATOR or contact.provider_id is not None


def what_prompt(turn: Turn) -> Reply:
    _ = turn._
    return Reply(
        _("What does the file hold? (/cancel to stop)"),
        [
            [Action(_("🏭 Enterprises"), WHAT + ENTERPRISES)],
            [Action(_("📝 Improvements of a paper round"), WHAT + IMPROVEMENTS)],
        ],
    )


def provider_prompt(turn: Turn) -> Reply:
    providers = turn.session.exec(
        select(Provider).where(col(Provider.active)).order_by(col(Provider.name))
    )
    actions = [[Action(shorten(p.name), f"{PROVIDER}{p.id}")] for p in providers]
    return Reply(turn._("For which provider?"), actions)


def take_provider(turn: Turn, given: Input) -> str:
    if given.payload is None:
        raise ProgrammeError("choose_button")
    code = given.payload.removeprefix(PROVIDER)
    known = code.isdigit() and turn.session.get(Provider, int(code)) is not None
    if given.payload.startswith(PROVIDER) and known:
        return code
    raise ProgrammeError(STALE)


def take_nothing(turn: Turn, given: Input) -> None:
    raise AssertionError("the file is taken by ImportFile.handle")


def file_prompt(turn: Turn) -> Reply:
    _ = turn._
    if turn.data.get("what") == ENTERPRISES:
        columns = _("Columns: name, sector, province, workers, intervention_date.")
    else:
        columns = _(
            "Columns: enterprise (its id or name), date, area, description; optional: kind, "
            "cost, workers, risk_before, risk_after, verified."
        )
    return Reply(
        _("Send the CSV or XLSX file now, as a file (📎), at most {limit} MB.", limit=FILE_MAX_MB)
        + "\n"
        + columns
    )


def suffix_of(data: bytes, mime_type: str) -> str:
    """What the file is by its first bytes (names and types can be wrong): an XLSX workbook is a
    zip, an old Excel file an OLE container (refused by the importers, with the reason)."""
    if data.startswith(b"PK\x03\x04"):
        return ".xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0") or mime_type == "application/vnd.ms-excel":
        return ".xls"
    return ".csv"


class ImportFile(Form):
    name = "import"
    resumable = False
    steps = (
        Step("what", what_prompt, choice(WHAT, lambda code: code in SUBJECTS), reask="actions"),
        Step("provider", provider_prompt, take_provider, reask="actions"),
        Step("file", file_prompt, take_nothing),
    )  # fmt: skip

    def starts(self, entry: Input) -> bool:
        return entry.command == "import"

    def owns(self, payload: str) -> bool:
        return payload.startswith(PREFIX)

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        if not _may(turn):
            return refusal(turn, pressed=entry.pressed)
        assert turn.contact is not None
        if turn.contact.role == Role.STAFF:
            turn.data["provider"] = str(turn.contact.provider_id)
        return None

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        if not _may(turn):
            return refusal(turn, pressed=given.pressed), ENDS
        if turn.data.get("step") != "file":
            return super().handle(turn, given)
        return self._take_file(turn, given)

    def _take_file(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        _ = turn._
        upload = given.upload
        if given.payload is not None:
            return Outcome(notice=error_text(_, ProgrammeError(STALE), turn.language)), GOES_ON
        if upload is None or upload.kind != "document":
            wrong = _("Please send the spreadsheet as a file (📎), not as text or a photo.")
            return Outcome().say(wrong), GOES_ON
        sizes = (upload.size, len(upload.data) if upload.data is not None else None)
        if any(size is not None and size > FILE_MAX_BYTES for size in sizes):
            big = _("This file is larger than {limit} MB. Please split it.", limit=FILE_MAX_MB)
            return Outcome().say(big), GOES_ON
        if upload.data is None:
            lost = _("I could not receive this file. Please send it again.")
            return Outcome().say(lost), GOES_ON
        what, provider_id = turn.data["what"], int(turn.data["provider"])
        assert turn.contact is not None
        language = turn.language
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / ("import" + suffix_of(upload.data, upload.mime_type))
            path.write_bytes(upload.data)
            try:
                # A savepoint: a file refused as a whole leaves nothing behind.
                with turn.session.begin_nested():
                    if what == ENTERPRISES:
                        report = import_enterprises(
                            turn.session, path, provider_id=provider_id, today=turn.today,
                            actor_id=turn.contact.id,
                        )  # fmt: skip
                    else:
                        report = import_improvements(
                            turn.session, path, provider_id=provider_id, today=turn.today,
                            tz=turn.place.tz, actor_id=turn.contact.id,
                        )  # fmt: skip
            except ProgrammeError as error:
                again = _("Please correct the file and send it again, or /cancel.")
                return Outcome().say(
                    esc(describe_file_error(error, language)) + "\n" + again
                ), GOES_ON
        head, *problems = describe_report(report, language, subject=SUBJECTS[what])
        return Outcome().say(report_text(_, head, problems, language), menu=True), ENDS

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        raise AssertionError("the file step ends the journey itself")


def report_text(_: Translate, head: str, problems: list[str], language: str) -> str:
    """The outcome in one message: the counts, then each problem by line while they fit."""
    lines = [f"<b>{esc(head)}</b>"]
    used = len(head)
    for shown, problem in enumerate(problems):
        if used + len(problem) > REPORT_MAX:
            more = format_number(len(problems) - shown, language)
            lines.append(_("… and {count} more.", count=more))
            break
        lines.append("• " + esc(problem))
        used += len(problem) + 3
    return "\n".join(lines)


IMPORT_FILE = ImportFile()
