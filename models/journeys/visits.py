"""Revisits as one journey: staff propose a date, employers confirm it or suggest another
time, staff accept a suggestion and log the outcome with notes; after a visit that took place,
the checklist of earlier improvements and plan items, a re-rated risk, then an end card: new
improvements staff see (area, kind, words, photos: "at" is "seen" while one is recorded), the
employer survey taken down for an owner who does not use the chat (the feedback journey's
`fb:assist:<visit>`, models/journeys/feedback.py), and Finish with the one-page visit report.
`/visits` shows staff their upcoming and overdue visits and `/nextvisit` employers
their next one; `/visit` at an enterprise logs its visit or picks its checklist up again.

The journey holds the foreground only while it waits for the person (`at` in the draft):
"when" for the time staff propose, "suggest" for the time an employer suggests, "notes" for
the outcome's notes, "check" while a checklist is in hand. `visit` is the visit it concerns.
Every other action is a one-shot press: it is checked against the database (models/visits.py,
models/visit_checks.py) and leaves the position as it was, so a stale, forged or another
person's button gets a clear answer and changes nothing. The checklist's own place is the
database (the first line without a check is next): its cards' buttons carry what they check.

The arrangement's buttons arrive on messages the scheduler queued (models/notices/visits.py owns
their payloads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.i18n import N_, Translate, format_day, format_moment, format_number, shorten
from bot.i18n import normalise_language as lang_of
from models import content, media, surveys, visit_checks, visits
from models import improvements as imp
from models.improvements import PhotoSlot
from models.journeys import feedback
from models.journeys.core import Action, Input, Outcome, Reply, Rows, Turn
from models.journeys.report import error_text as report_error
from models.notices import visits as notices
from models.notices.visits import ACCEPT, CONFIRM, DONE, MISSED, PROPOSE, SKIP_NOTES, SUGGEST
from models.outbox import reachable_now
from models.programme import ProgrammeError, audit
from models.tables import CheckState, Contact, Enterprise, Role, Visit, VisitStatus
from models.text import esc
from reports import visit_report
from scheduler import jobs

GOES_ON, ENDS = True, False

# The checklist's actions.
CHECK = "vck:"
STATE = CHECK + "s:"  # s:<visit>:<i|p><id>:<u|p|n>
RISK = CHECK + "r:"  # r:<check>:<a(gree)|r(ate)|s(kip)>
LIKELY = CHECK + "l:"  # l:<check>:<likelihood>
SEVERE = CHECK + "v:"  # v:<check>:<likelihood>:<severity>
FINISH = CHECK + "f:"  # f:<visit>
CHOOSE = CHECK + "e:"  # e:<enterprise>: /visit's chooser
# A new improvement staff see at the visit: its area, its kind, then photos (or none).
NEW = CHECK + "n:"  # n:<visit>
SEEN_AREA = CHECK + "a:"  # a:<visit>:<area>
SEEN_KIND = CHECK + "k:"  # k:<visit>:<kind, or "-" for none>
NO_PHOTO = CHECK + "p:"  # p:<improvement>:<after|before>
CHOOSER_LIMIT = 30
BOARD_LIMIT = 10

# Positions (the draft's "at").
WHEN, SUGGEST_WHEN, NOTES, CHECKING, SEEN = "when", "suggest", "notes", "check", "seen"

STATES = {"u": CheckState.IN_USE, "p": CheckState.PARTLY, "n": CheckState.NO_LONGER}
STATE_LABEL = {
    CheckState.IN_USE: N_("👍 In use"),
    CheckState.PARTLY: N_("🔸 Partly"),
    CheckState.NO_LONGER: N_("🚫 Not in use"),
}
LIKELIHOOD = {1: N_("unlikely"), 2: N_("possible"), 3: N_("likely")}
SEVERITY = {1: N_("minor"), 2: N_("serious"), 3: N_("very serious")}
# Refusals after which a pressed message's buttons can never work again.
SPENT = frozenset({"visit_already_confirmed", "visit_not_proposed", "visit_closed"})
SPENT_CHECK = frozenset({"check_done", "checklist_finished", "check_unknown"})
SPENT_RISK = frozenset({"risk_done", "checklist_finished", "check_unknown"})


@dataclass(frozen=True)
class Finishing:
    """What Finish reads of the database (Visits.report)."""

    visit: Visit
    employers: list[Contact]
    data: visit_report.ReportData
    languages: frozenset[str]  # the employers' and the staff member's


def error_text(_: Translate, error: ProgrammeError) -> str:
    texts = {
        "when_invalid": _(
            "Please type a day and a time, for example 20/03 9:00 or 20/03/2027 14h30."
        ),
        "when_needs_time": _("Please add a time as well, for example 20/03 9:00."),
        "when_past": _("That time has already passed. Please type a time to come."),
        "when_too_far": _("That is more than a year ahead. Please choose a nearer date."),
        "visit_unknown": _("This visit no longer exists."),
        "visit_closed": _("This visit is already closed."),
        "visit_already_confirmed": _("This visit is already confirmed. Thank you!"),
        "visit_not_proposed": _("This date is no longer on the table."),
        "visit_no_suggestion": _("There is no suggested time to accept any more."),
        "not_allowed": _("Sorry, this button is not for you."),
        "notes_too_long": _("That is too long: at most 1000 characters, please."),
        "visit_not_done": _("The checklist opens once the visit is logged as done."),
        "checklist_finished": _("The checklist of this visit is finished; the report was sent."),
        "check_unknown": _("This line is no longer on the checklist."),
        "check_done": _("This line is already checked."),
        "risk_done": _("The risk of this improvement is already checked."),
        "risk_not_rated": _("The enterprise did not rate this risk; please rate it yourself."),
        "risk_invalid": _("Please choose with the buttons."),
        "unknown_enterprise": _("This enterprise no longer exists."),
        "unknown_area": _("Please choose with the buttons."),
        "unknown_kind": _("Please choose with the buttons."),
        "not_your_enterprise": _("Sorry, this button is not for you."),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


def numbers(payload: str | None, prefix: str, count: int) -> list[int] | None:
    """The `count` whole numbers after `prefix`, separated by ":", or None (forged, stale)."""
    raw = payload or ""
    parts = raw.removeprefix(prefix).split(":")
    if not raw.startswith(prefix) or len(parts) != count:
        return None
    if not all(part.isdigit() and len(part) < 12 for part in parts):
        return None
    return [int(part) for part in parts]


def moment(turn: Turn, at: datetime) -> str:
    return format_moment(at, turn.language, turn.place.schedule.tz)


def staff_to_tell(turn: Turn, visit: Visit) -> list[Contact]:
    """Who hears the employer's answer: the staff member who proposed, while reachable, else
    every staff member of the provider."""
    session = turn.session
    person = session.get(Contact, visit.staff_id) if visit.staff_id else None
    if person is not None and reachable_now(person):
        return [person]
    enterprise = session.get(Enterprise, visit.enterprise_id)
    return visits.staff_of(session, enterprise.provider_id) if enterprise else []


class Visits:
    name = "visits"
    # A wait set aside is dropped: every position is reached again from a button or /visit.
    resumable = False
    cancel_keeps_draft = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return entry.command in ("visits", "nextvisit", "visit")

    def owns(self, payload: str) -> bool:
        return payload.startswith((notices.PREFIX, CHECK))

    # -- the engine's side -------------------------------------------------------------------

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        if entry.command == "visit":
            turn.data.clear()
            return self.at_enterprise(turn, entry.text or "")
        # The lists are answered beside whatever wait is in hand, which keeps its place.
        outcome = self.board(turn) if entry.command == "visits" else self.next_visit(turn)
        return outcome, self.waiting(turn)

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        payload = given.payload
        if payload is None:
            return self.typed(turn, given)
        for prefix, act in (
            (PROPOSE, self.propose),
            (SUGGEST, self.suggest),
            (CONFIRM, self.confirm),
            (ACCEPT, self.accept),
            (DONE, self.outcome),
            (MISSED, self.outcome),
            (STATE, self.state_pressed),
            (RISK, self.risk_pressed),
            (LIKELY, self.likelihood_pressed),
            (SEVERE, self.severity_pressed),
            (FINISH, self.finish_pressed),
            (CHOOSE, self.chosen),
            (NEW, self.new_pressed),
            (SEEN_AREA, self.seen_area),
            (SEEN_KIND, self.seen_kind),
            (NO_PHOTO, self.no_photo),
        ):
            if payload.startswith(prefix):
                return act(turn, payload)
        if payload == SKIP_NOTES:
            return self.skip_notes(turn)
        return self.stale(turn)

    def pause(self, turn: Turn) -> Outcome:
        _ = turn._
        text = _("Cancelled. What would you like to do next?") if turn.contact else _("Cancelled.")
        return Outcome().say(text, menu=True)

    def aside(self, turn: Turn) -> Outcome:
        """A checklist set aside stays open in the database: say how to pick it up again."""
        if turn.data.get("at") in (CHECKING, SEEN):
            return Outcome().say(
                turn._("The visit checklist waits for you: send /visit to continue it.")
            )
        return Outcome()

    # -- helpers -----------------------------------------------------------------------------

    def waiting(self, turn: Turn) -> bool:
        """Whether the journey still waits for the person (it keeps the foreground)."""
        return turn.data.get("at") is not None

    def stale(self, turn: Turn) -> tuple[Outcome, bool]:
        return Outcome(notice=turn._("This button is no longer active.")), self.waiting(turn)

    def refused(
        self, turn: Turn, error: ProgrammeError, *, drop: bool = False
    ) -> tuple[Outcome, bool]:
        """A press the database turned down: a dialog, and the buttons go when spent."""
        outcome = Outcome(notice=error_text(turn._, error), alert=True)
        if drop:
            outcome.edit, outcome.edit_actions_only = Reply(""), True
        return outcome, self.waiting(turn)

    def wait(self, turn: Turn, at: str, visit_id: int) -> None:
        turn.data.clear()
        turn.data.update(at=at, visit=visit_id)

    # -- typed answers -----------------------------------------------------------------------

    def typed(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        _ = turn._
        at, visit_id = turn.data.get("at"), turn.data.get("visit")
        if not isinstance(visit_id, int):
            turn.data.clear()
            return self.pause(turn), ENDS
        if at in (WHEN, SUGGEST_WHEN):
            if given.text is None:
                text = _("Please type the day and time as text, for example 20/03 9:00.")
                return Outcome().say(text), GOES_ON
            if at == WHEN:
                return self.proposed(turn, visit_id, given.text)
            return self.suggested(turn, visit_id, given.text)
        if at == NOTES:
            if given.text is None:
                return Outcome().say(_("Please type your notes as text, or press Skip.")), GOES_ON
            return self.noted(turn, visit_id, given.text)
        if at == SEEN:
            return self.seen_typed(turn, given, visit_id)
        return Outcome().say(_("Please choose with the buttons above, or /cancel.")), GOES_ON

    # -- staff: propose a date ---------------------------------------------------------------

    def propose(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        found = numbers(payload, PROPOSE, 1)
        if found is None:
            return self.stale(turn)
        visit_id = found[0]
        visit = turn.session.get(Visit, visit_id)
        enterprise = turn.session.get(Enterprise, visit.enterprise_id) if visit else None
        if visit is None or enterprise is None:
            return self.refused(turn, ProgrammeError("visit_unknown"))
        if not visits.may_manage(turn.contact, enterprise):
            return self.refused(turn, ProgrammeError("not_allowed"))
        if visit.status not in visits.OPEN:
            return self.refused(turn, ProgrammeError("visit_closed"))
        self.wait(turn, WHEN, visit_id)
        text = turn._(
            "When would you like to visit {enterprise}? Type the day and time, for example "
            "<b>20/03 9:00</b>. (/cancel to stop)",
            enterprise=esc(enterprise.name),
        )
        return Outcome().say(text), GOES_ON

    def timed(
        self, turn: Turn, text: str, write: Callable[[datetime], str]
    ) -> tuple[Outcome, bool]:
        """A typed day and time, stored by `write` (which queues its notices and returns what
        the person is told); a time not understood is asked again."""
        _ = turn._
        try:
            at = visits.parse_when(text, now=turn.now, tz=turn.place.schedule.tz)
            with turn.session.begin_nested():
                said = write(at)
        except ProgrammeError as error:
            if error.code.startswith("when_"):
                return Outcome().say(error_text(_, error)), GOES_ON
            turn.data.clear()
            return Outcome().say(error_text(_, error)), ENDS
        turn.data.clear()
        return Outcome().say(said), ENDS

    def proposed(self, turn: Turn, visit_id: int, text: str) -> tuple[Outcome, bool]:
        _ = turn._

        def write(at: datetime) -> str:
            proposal = visits.propose(
                turn.session, visit_id=visit_id, staff=turn.contact, at=at, now=turn.now
            )
            notices.proposal(
                turn.session, proposal.visit, proposal.employers, now=turn.now,
                config=turn.place.schedule,
            )  # fmt: skip
            enterprise = turn.session.get(Enterprise, proposal.visit.enterprise_id)
            assert enterprise is not None
            if proposal.employers:
                return _(
                    "Thank you. I have asked {enterprise} whether {when} suits them; I will tell "
                    "you their answer.",
                    enterprise=esc(enterprise.name),
                    when=moment(turn, at),
                )
            return _(
                "Recorded: {enterprise} on {when}. Nobody from the enterprise uses the bot yet, "
                "so please agree the date with them directly. I will remind you the day before.",
                enterprise=esc(enterprise.name),
                when=moment(turn, at),
            )

        return self.timed(turn, text, write)

    # -- employer: confirm or suggest --------------------------------------------------------

    def confirm(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        found = numbers(payload, CONFIRM, 1)
        if found is None:
            return self.stale(turn)
        config = turn.place.schedule
        try:
            with turn.session.begin_nested():
                visit = visits.confirm(
                    turn.session, visit_id=found[0], employer=turn.contact, now=turn.now
                )
                notices.confirmed(
                    turn.session, visit, staff_to_tell(turn, visit), by=turn.contact,
                    now=turn.now, config=config,
                )  # fmt: skip
        except ProgrammeError as error:
            return self.refused(turn, error, drop=error.code in SPENT)
        assert visit.scheduled_at is not None
        text = turn._(
            "✅ Confirmed: the visit on <b>{when}</b>. Thank you! I will remind you the day "
            "before.",
            when=moment(turn, visit.scheduled_at),
        )
        return Outcome(edit=Reply(text)), self.waiting(turn)

    def suggest(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        found = numbers(payload, SUGGEST, 1)
        if found is None:
            return self.stale(turn)
        visit = turn.session.get(Visit, found[0])
        contact = turn.contact
        if (
            visit is None
            or contact is None
            or contact.role != Role.EMPLOYER
            or contact.enterprise_id != visit.enterprise_id
        ):
            return self.refused(turn, ProgrammeError("not_allowed"))
        if visit.status not in visits.ARRANGED:
            return self.refused(turn, ProgrammeError("visit_not_proposed"))
        self.wait(turn, SUGGEST_WHEN, found[0])
        text = turn._(
            "Which day and time would suit you better? Type it, for example <b>22/03 14:00</b>. "
            "(/cancel to keep the proposed time)"
        )
        return Outcome().say(text), GOES_ON

    def suggested(self, turn: Turn, visit_id: int, text: str) -> tuple[Outcome, bool]:
        def write(at: datetime) -> str:
            visit = visits.suggest(
                turn.session, visit_id=visit_id, employer=turn.contact, at=at, now=turn.now
            )
            assert turn.contact is not None
            notices.suggestion(
                turn.session, visit, staff_to_tell(turn, visit), employer=turn.contact,
                now=turn.now, config=turn.place.schedule,
            )  # fmt: skip
            return turn._(
                "Thank you. I have passed {when} on to your provider; they will confirm it or "
                "propose another time.",
                when=moment(turn, at),
            )

        return self.timed(turn, text, write)

    def accept(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        found = numbers(payload, ACCEPT, 1)
        if found is None:
            return self.stale(turn)
        try:
            with turn.session.begin_nested():
                visit = visits.accept_suggestion(
                    turn.session, visit_id=found[0], staff=turn.contact, now=turn.now
                )
                employers = visits.employers_of(turn.session, visit.enterprise_id)
                notices.confirmed(
                    turn.session, visit, employers, by=turn.contact, now=turn.now,
                    config=turn.place.schedule,
                )  # fmt: skip
        except ProgrammeError as error:
            return self.refused(turn, error)
        assert visit.scheduled_at is not None
        text = turn._(
            "✅ Agreed: the visit on <b>{when}</b>. I have told the enterprise.",
            when=moment(turn, visit.scheduled_at),
        )
        return Outcome(edit=Reply(text)), self.waiting(turn)

    # -- staff: the outcome and its notes ----------------------------------------------------

    def outcome(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        done = payload.startswith(DONE)
        found = numbers(payload, DONE if done else MISSED, 1)
        if found is None:
            return self.stale(turn)
        visit_id = found[0]
        try:
            with turn.session.begin_nested():
                visit, replacement = visits.record_outcome(
                    turn.session, visit_id=visit_id, staff=turn.contact, done=done, now=turn.now,
                    tz=turn.tz,
                )  # fmt: skip
                if done:
                    # The next survey round opens and its invitations are queued.
                    jobs.after_visit_done(turn.session, visit, now=turn.now)
        except ProgrammeError as error:
            return self.refused(turn, error, drop=error.code == "visit_closed")
        enterprise = turn.session.get(Enterprise, visit.enterprise_id)
        assert enterprise is not None
        if done:
            head = _(
                "✅ Logged: the visit to {enterprise} took place. The employer and worker surveys "
                "are on their way.",
                enterprise=esc(enterprise.name),
            )
        else:
            head = _(
                "Logged: the visit to {enterprise} did not happen.",
                enterprise=esc(enterprise.name),
            )
        actions: list[list[Action]] = [[Action(_("Skip"), SKIP_NOTES)]]
        if replacement is not None:
            actions.insert(0, [Action(_("📅 Propose a new date"), f"{PROPOSE}{replacement.id}")])
        self.wait(turn, NOTES, visit_id)
        # The question becomes the record; the notes are asked below it (an answer that asks
        # something brings the journey to the foreground).
        notes = _("Any notes for the record? Type them, or press Skip.")
        return Outcome(edit=Reply(head)).say(notes, actions), GOES_ON

    def noted(self, turn: Turn, visit_id: int, text: str) -> tuple[Outcome, bool]:
        _ = turn._
        contact = turn.contact
        try:
            with turn.session.begin_nested():
                visits.add_notes(turn.session, visit_id=visit_id, staff=contact, text=text)
                audit(turn.session, "visit.notes", actor_id=contact.id if contact else None)
        except ProgrammeError as error:
            if error.code == "notes_too_long":
                return Outcome().say(error_text(_, error)), GOES_ON
            turn.data.clear()
            return Outcome().say(error_text(_, error)), ENDS
        outcome = Outcome().say(_("Notes saved. Thank you!"))
        return self.checklist_if_done(turn, outcome, visit_id)

    def skip_notes(self, turn: Turn) -> tuple[Outcome, bool]:
        visit_id = turn.data.get("visit")
        if turn.data.get("at") != NOTES or not isinstance(visit_id, int):
            return self.stale(turn)
        outcome = Outcome(notice=turn._("No notes. Thank you!"))
        outcome.edit, outcome.edit_actions_only = Reply(""), True
        return self.checklist_if_done(turn, outcome, visit_id)

    def checklist_if_done(
        self, turn: Turn, outcome: Outcome, visit_id: int
    ) -> tuple[Outcome, bool]:
        """A visit that took place goes on to its checklist; a missed one ends here."""
        turn.data.clear()
        visit = turn.session.get(Visit, visit_id)
        if visit is None or visit.status != VisitStatus.DONE:
            return outcome, ENDS
        return self.next_card(turn, outcome, visit_id)

    # -- the checklist -----------------------------------------------------------------------

    def card_head(
        self, turn: Turn, enterprise: Enterprise, line: visit_checks.Line, number: int, total: int
    ) -> str:
        _ = turn._
        area = content.area(line.area_code)
        where = area.label(turn.language) if area else ""
        kind = (
            _("reported improvement")
            if line.kind == visit_checks.IMPROVEMENT
            else _("action plan item")
        )
        return (
            _(
                "📋 <b>Checklist: {enterprise}</b> ({number} of {total})",
                enterprise=esc(enterprise.name),
                number=number,
                total=total,
            )
            + f"\n\n<b>{esc(shorten(line.text, 300))}</b>\n"
            + (f"{where} · " if where else "")
            + kind
        )

    def next_card(self, turn: Turn, outcome: Outcome, visit_id: int) -> tuple[Outcome, bool]:
        """The next line to check (the checklist holds the foreground), or, when none is left,
        the end of the checklist and its report."""
        _ = turn._
        visit = turn.session.get(Visit, visit_id)
        enterprise = turn.session.get(Enterprise, visit.enterprise_id) if visit else None
        if visit is None or enterprise is None:
            turn.data.clear()
            return outcome.say(error_text(_, ProgrammeError("visit_unknown"))), ENDS
        line = visit_checks.next_line(turn.session, visit)
        if line is None:
            return self.end_card(turn, outcome, visit, enterprise)
        done, total = visit_checks.progress(turn.session, visit)
        states = [
            Action(_(STATE_LABEL[state]), f"{STATE}{visit_id}:{line.kind}{line.id}:{code}")
            for code, state in STATES.items()
        ]
        text = (
            self.card_head(turn, enterprise, line, done + 1, total)
            + "\n\n"
            + _("What did you see: is it in use?")
        )
        self.wait(turn, CHECKING, visit_id)
        finish = Action(_("🏁 Finish the checklist"), f"{FINISH}{visit_id}")
        return outcome.say(text, [states, [finish]]), GOES_ON

    def end_card(
        self, turn: Turn, outcome: Outcome, visit: Visit, enterprise: Enterprise
    ) -> tuple[Outcome, bool]:
        """Every line is checked (or there was none): what else staff saw, the employer survey
        taken down for an owner who does not use the chat, or Finish and the report."""
        _ = turn._
        assert visit.id is not None
        done, total = visit_checks.progress(turn.session, visit)
        seen = visit_checks.seen_at(turn.session, visit.id)
        lines = [
            _("📋 <b>Checklist: {enterprise}</b>", enterprise=esc(enterprise.name)),
            _("Lines checked: {done} of {total}.", done=done, total=total),
        ]
        if seen:
            lines.append(_("New improvements seen at this visit: {n}.", n=len(seen)))
        survey_round = visit_checks.survey_round(turn.session, visit)
        offer_survey = False
        if survey_round is not None and survey_round.id is not None:
            if surveys.assisted_response(turn.session, survey_round.id) is not None:
                lines.append(_("📝 Employer survey: taken down at this visit."))
            elif surveys.employer_answered(turn.session, survey_round.id):
                lines.append(_("📝 The employer answered the survey in the chat."))
            else:
                offer_survey = survey_round.closed_at is None
        lines += [
            "",
            _(
                "Did you see a new improvement? Record it with its photos. If the owner does not "
                "use the chat, you can take their survey answers down here. Then finish: the "
                "visit report goes to the employer."
            ),
        ]
        rows: list[list[Action]] = [[Action(_("➕ A new improvement I saw"), f"{NEW}{visit.id}")]]
        if offer_survey:
            rows.append(
                [Action(_("📝 Employer survey for the owner"), f"{feedback.ASSIST}{visit.id}")]
            )
        rows.append([Action(_("🏁 Finish the checklist"), f"{FINISH}{visit.id}")])
        self.wait(turn, CHECKING, visit.id)
        return outcome.say("\n".join(lines), rows), GOES_ON

    # -- new improvements seen at the visit ----------------------------------------------------

    def new_pressed(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        found = numbers(payload, NEW, 1)
        if found is None:
            return self.stale(turn)
        try:
            visit_checks.ready_to_finish(turn.session, visit_id=found[0], staff=turn.contact)
        except ProgrammeError as error:
            return self.refused(turn, error, drop=error.code in SPENT_CHECK)
        self.wait(turn, SEEN, found[0])
        areas = [
            Action(a.label(turn.language), f"{SEEN_AREA}{found[0]}:{a.code}")
            for a in content.areas()
        ]
        rows = [areas[i : i + 2] for i in range(0, len(areas), 2)]
        text = _("➕ <b>A new improvement you see</b>\nWhich area is it about? (/cancel to stop)")
        return Outcome().say(text, rows), GOES_ON

    def seen_draft(self, turn: Turn, visit_id: int) -> bool:
        """Whether the draft is a new improvement of this visit, not yet described."""
        return (
            turn.data.get("at") == SEEN
            and turn.data.get("visit") == visit_id
            and "improvement" not in turn.data
        )

    def seen_area(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        raw = payload.removeprefix(SEEN_AREA).split(":")
        if len(raw) != 2 or not raw[0].isdigit() or len(raw[0]) > 11:
            return self.stale(turn)
        visit_id, code = int(raw[0]), raw[1]
        if not self.seen_draft(turn, visit_id) or "area" in turn.data:
            return self.stale(turn)
        if content.area(code) is None:
            return self.stale(turn)
        turn.data["area"] = code
        outcome = Outcome(edit=Reply(""), edit_actions_only=True)
        kinds = content.kinds(code)
        if not kinds:
            turn.data["kind"] = None
            return outcome.say(self.describe_prompt(turn)), GOES_ON
        rows = [[Action(k.name(turn.language), f"{SEEN_KIND}{visit_id}:{k.code}")] for k in kinds]
        rows.append([Action(_("Other / skip"), f"{SEEN_KIND}{visit_id}:-")])
        text = _("Which kind of improvement is it? Choose the closest one, or “Other / skip”.")
        return outcome.say(text, rows), GOES_ON

    def seen_kind(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        raw = payload.removeprefix(SEEN_KIND).split(":")
        if len(raw) != 2 or not raw[0].isdigit() or len(raw[0]) > 11:
            return self.stale(turn)
        visit_id, code = int(raw[0]), raw[1]
        area = turn.data.get("area")
        if not self.seen_draft(turn, visit_id) or area is None or "kind" in turn.data:
            return self.stale(turn)
        kind = content.kind(code) if code != "-" else None
        if code != "-" and (kind is None or kind.area != area):
            return self.stale(turn)
        turn.data["kind"] = None if kind is None else code
        outcome = Outcome(edit=Reply(""), edit_actions_only=True)
        return outcome.say(self.describe_prompt(turn)), GOES_ON

    def describe_prompt(self, turn: Turn) -> str:
        return turn._(
            "What do you see? In a few sentences: what the enterprise changed, and what it "
            "does for the workers ({minimum} to {maximum} characters).",
            minimum=imp.DESCRIPTION_MIN,
            maximum=format_number(imp.DESCRIPTION_MAX, turn.language),
        )

    def photo_prompt(self, turn: Turn, improvement_id: int, slot: PhotoSlot) -> Reply:
        _ = turn._
        if slot == PhotoSlot.AFTER:
            text = _("📷 Send a photo of it as you see it now, or press the button.")
        else:
            text = _(
                "Does the enterprise have a photo from before the change? Send it here, or "
                "press the button."
            )
        return Reply(text, [[Action(_("🚫 No photo"), f"{NO_PHOTO}{improvement_id}:{slot}")]])

    def seen_typed(self, turn: Turn, given: Input, visit_id: int) -> tuple[Outcome, bool]:
        """What staff send while recording a new improvement: its words, then its photos."""
        _ = turn._
        if "kind" not in turn.data:
            return Outcome().say(_("Please choose with the buttons above, or /cancel.")), GOES_ON
        improvement_id = turn.data.get("improvement")
        if not isinstance(improvement_id, int):
            if given.text is None:
                return Outcome().say(
                    _("Please describe what you see in words first; photos come next.")
                ), GOES_ON
            try:
                with turn.session.begin_nested():
                    seen = visit_checks.record_seen(
                        turn.session, visit_id=visit_id, staff=turn.contact,
                        area_code=str(turn.data.get("area")), kind_code=turn.data.get("kind"),
                        text=given.text, now=turn.now,
                    )  # fmt: skip
            except ProgrammeError as error:
                if error.code.startswith("text_"):
                    return Outcome().say(report_error(_, error, turn.language)), GOES_ON
                turn.data.clear()
                return Outcome().say(error_text(_, error)), ENDS
            assert seen.id is not None
            turn.data.update(improvement=seen.id, slot=str(PhotoSlot.AFTER))
            outcome = Outcome(retire_buttons=True)
            return outcome.show(self.photo_prompt(turn, seen.id, PhotoSlot.AFTER)), GOES_ON
        upload = given.upload
        if upload is None or upload.kind == "voice":
            return Outcome().say(_("Please send a photo, or press the button.")), GOES_ON
        slot = PhotoSlot(str(turn.data.get("slot")))
        try:
            imp.check_photo(file_size=upload.size, mime_type=upload.mime_type)
            if upload.data is None:
                raise ProgrammeError("photo_not_received")
            imp.check_photo(file_size=len(upload.data))
            # Decoded under a pixel limit and written anew: no bomb, no EXIF (GPS) kept.
            photo = media.reencode(upload.data)
        except ProgrammeError as error:
            return Outcome().say(report_error(_, error, turn.language)), GOES_ON
        relative = imp.photo_name(improvement_id, slot, upload.unique, photo.mime_type)
        target = media.save(photo, turn.place.media_dir / relative)
        try:
            with turn.session.begin_nested():
                visit_checks.seen_photo(
                    turn.session, improvement_id=improvement_id, staff=turn.contact, slot=slot,
                    file_id=upload.ref, path=relative, media_root=turn.place.media_dir,
                    now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            target.unlink(missing_ok=True)
            turn.data.clear()
            return Outcome().say(error_text(_, error)), ENDS
        outcome = Outcome(retire_buttons=True).say(_("📷 Photo saved."))
        return self.photo_done(turn, outcome, improvement_id, slot, visit_id)

    def no_photo(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        raw = payload.removeprefix(NO_PHOTO).split(":")
        if len(raw) != 2 or not raw[0].isdigit() or raw[1] not in ("after", "before"):
            return self.stale(turn)
        visit_id = turn.data.get("visit")
        if (
            turn.data.get("at") != SEEN
            or turn.data.get("improvement") != int(raw[0])
            or turn.data.get("slot") != raw[1]
            or not isinstance(visit_id, int)
        ):
            return self.stale(turn)
        outcome = Outcome(edit=Reply(""), edit_actions_only=True)
        return self.photo_done(turn, outcome, int(raw[0]), PhotoSlot(raw[1]), visit_id)

    def photo_done(
        self, turn: Turn, outcome: Outcome, improvement_id: int, slot: PhotoSlot, visit_id: int
    ) -> tuple[Outcome, bool]:
        """After the photo of now, the one from before; after that, the improvement is
        recorded and the checklist goes on."""
        if slot == PhotoSlot.AFTER:
            turn.data["slot"] = str(PhotoSlot.BEFORE)
            return outcome.show(self.photo_prompt(turn, improvement_id, PhotoSlot.BEFORE)), GOES_ON
        turn.data.clear()
        outcome.say(
            turn._(
                "✅ Recorded as an improvement seen at the visit: it counts as verified by you, "
                "apart from what the enterprise reports itself."
            )
        )
        return self.next_card(turn, outcome, visit_id)

    def state_pressed(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        raw = payload.removeprefix(STATE).split(":")
        valid = (
            len(raw) == 3
            and raw[0].isdigit()
            and raw[1][:1] in (visit_checks.IMPROVEMENT, visit_checks.PLAN_ITEM)
            and raw[1][1:].isdigit()
            and raw[2] in STATES
            and len(payload) < 64
        )
        if not valid:
            return self.stale(turn)
        visit_id, kind, ref_id, state = int(raw[0]), raw[1][:1], int(raw[1][1:]), STATES[raw[2]]
        try:
            with turn.session.begin_nested():
                check = visit_checks.record(
                    turn.session, visit_id=visit_id, staff=turn.contact, kind=kind,
                    ref_id=ref_id, state=state, now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            return self.refused(turn, error, drop=error.code in SPENT_CHECK)
        visit = turn.session.get(Visit, visit_id)
        enterprise = turn.session.get(Enterprise, check.enterprise_id)
        assert visit is not None and enterprise is not None
        # The card keeps its words, with what staff saw in place of its question.
        found = visit_checks.lines(turn.session, visit)
        number = next(
            (n for n, line in enumerate(found, 1) if (line.kind, line.id) == (kind, ref_id)), 0
        )
        line = found[number - 1] if number else None
        outcome = Outcome()
        if line is not None:
            head = self.card_head(turn, enterprise, line, number, len(found))
            seen = _("✓ {state}", state=_(STATE_LABEL[state]))
            outcome.edit = Reply(f"{head}\n\n{seen}")
        else:
            outcome.edit, outcome.edit_actions_only = Reply(""), True
        if kind != visit_checks.IMPROVEMENT:
            return self.next_card(turn, outcome, visit_id)
        self.wait(turn, CHECKING, visit_id)
        if check.self_score is None:
            question = _(
                "The enterprise did not rate the risk after this improvement. Would you "
                "rate the risk as it is now?"
            )
            actions: Rows = [
                [Action(_("✏️ Rate it"), f"{RISK}{check.id}:r"),
                 Action(_("Skip"), f"{RISK}{check.id}:s")],
            ]  # fmt: skip
        else:
            question = _(
                "The enterprise rated the risk now at <b>{score} of 9</b> (likelihood × "
                "severity). Do you agree, from what you saw?",
                score=check.self_score,
            )
            actions = [
                [Action(_("✅ I agree"), f"{RISK}{check.id}:a"),
                 Action(_("✏️ Rate it again"), f"{RISK}{check.id}:r")],
                [Action(_("Skip"), f"{RISK}{check.id}:s")],
            ]  # fmt: skip
        return outcome.say(question, actions), GOES_ON

    def risk_pressed(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        raw, _sep, choice = payload.removeprefix(RISK).partition(":")
        if not raw.isdigit() or len(raw) > 11 or choice not in ("a", "r", "s"):
            return self.stale(turn)
        try:
            with turn.session.begin_nested():
                if choice == "a":
                    check = visit_checks.rate_risk(
                        turn.session, check_id=int(raw), staff=turn.contact, agree=True,
                        now=turn.now,
                    )  # fmt: skip
                else:
                    check = visit_checks.check_of(turn.session, int(raw), turn.contact)
        except ProgrammeError as error:
            return self.refused(turn, error, drop=error.code in SPENT_RISK)
        outcome = Outcome(edit=Reply(""), edit_actions_only=True)
        if choice == "r":
            self.wait(turn, CHECKING, check.visit_id)
            likely = [Action(_(LIKELIHOOD[n]), f"{LIKELY}{raw}:{n}") for n in LIKELIHOOD]
            return outcome.say(_("How likely is an accident or illness now?"), [likely]), GOES_ON
        if choice == "a":
            outcome.say(_("Noted: you agree with the enterprise's rating."))
        return self.next_card(turn, outcome, check.visit_id)

    def likelihood_pressed(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        found = numbers(payload, LIKELY, 2)
        if found is None or found[1] not in LIKELIHOOD:
            return self.stale(turn)
        check_id, likelihood = found
        try:
            check = visit_checks.check_of(turn.session, check_id, turn.contact)
        except ProgrammeError as error:
            return self.refused(turn, error, drop=True)
        self.wait(turn, CHECKING, check.visit_id)
        severe = [Action(_(SEVERITY[n]), f"{SEVERE}{check_id}:{likelihood}:{n}") for n in SEVERITY]
        outcome = Outcome(edit=Reply(""), edit_actions_only=True)
        return outcome.say(_("And if it happened now, how serious could it be?"), [severe]), GOES_ON

    def severity_pressed(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        found = numbers(payload, SEVERE, 3)
        if found is None:
            return self.stale(turn)
        check_id, likelihood, severity = found
        try:
            with turn.session.begin_nested():
                check = visit_checks.rate_risk(
                    turn.session, check_id=check_id, staff=turn.contact, likelihood=likelihood,
                    severity=severity, now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            return self.refused(turn, error, drop=True)
        if check.self_score is None:
            text = _("Noted: the risk now is {staff} of 9 as you rate it.", staff=check.staff_score)
        else:
            text = _(
                "Noted: the risk now is {staff} of 9 as you rate it, {own} of 9 as the "
                "enterprise rated it. Both are kept.",
                staff=check.staff_score,
                own=check.self_score,
            )
        outcome = Outcome(edit=Reply(""), edit_actions_only=True).say(text)
        return self.next_card(turn, outcome, check.visit_id)

    # -- the end: the report -----------------------------------------------------------------

    def finish_pressed(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        found = numbers(payload, FINISH, 1)
        if found is None:
            return self.stale(turn)
        outcome = Outcome(edit=Reply(""), edit_actions_only=True)
        return self.finish(turn, outcome, found[0])

    def prepares(self, given: Input) -> bool:
        return (given.payload or "").startswith(FINISH)

    def prepare(self, turn: Turn, given: Input) -> Callable[[], visit_report.Drafts] | None:
        """Finish, before its transaction (the engine's `prepare`): the report as the
        database has it, rendered in every language it will be read in once the reading has
        ended (about a second a language). None when the checklist may not be finished: the
        transaction says why."""
        found = numbers(given.payload, FINISH, 1)
        if found is None:
            return None
        try:
            report = self.report(turn, found[0])
        except ProgrammeError:
            return None
        folder = visit_report.folder_of(turn.place.data_dir, found[0])
        return lambda: visit_report.draft(report.data, report.languages, folder)

    def report(self, turn: Turn, visit_id: int, *, lock: bool = False) -> Finishing:
        """What Finish reads; ProgrammeError when the checklist may not be finished. `lock`:
        in Finish's transaction, the visit is locked first, until it commits: a colleague's
        check waits, and one committed before is read (models/visit_checks.py)."""
        visit = visit_checks.ready_to_finish(
            turn.session, visit_id=visit_id, staff=turn.contact, lock=lock
        )
        employers = visits.employers_of(turn.session, visit.enterprise_id)
        data = visit_report.gather(turn.session, visit_id, tz=turn.place.schedule.tz)
        languages = {lang_of(e.language) for e in employers} | {lang_of(turn.language)}
        return Finishing(visit, employers, data, frozenset(languages))

    def finish(self, turn: Turn, outcome: Outcome, visit_id: int) -> tuple[Outcome, bool]:
        """Closes the checklist and queues the report for the employers (a second Finish, or
        a colleague's, finds it closed and queues nothing), and hands the staff member their
        copy. The PDFs were rendered before this transaction (`prepare`), so that no writer
        waits for them: when what the report shows changed meanwhile (a colleague checked a
        line), nothing is sent and the checklist is shown again as it stands."""
        _ = turn._
        config = turn.place.schedule
        language = lang_of(turn.language)
        if turn.data.get("visit") == visit_id:
            turn.data.clear()
        try:
            report = self.report(turn, visit_id, lock=True)
            done, total = visit_checks.progress(turn.session, report.visit)
        except ProgrammeError as error:
            return outcome.say(error_text(_, error)), self.waiting(turn)
        drafts = turn.prepared
        if (
            not isinstance(drafts, visit_report.Drafts)
            or drafts.data != report.data
            or not report.languages <= drafts.languages
        ):
            outcome.say(
                _(
                    "Something at this visit changed while its report was being made: here "
                    "is the checklist as it stands now. Press 🏁 Finish again when you are ready."
                )
            )
            return self.next_card(turn, outcome, visit_id)
        try:
            with turn.session.begin_nested():
                visit = visit_checks.finish(
                    turn.session, visit_id=visit_id, staff=turn.contact, now=turn.now
                )
                # Only the Finish that closed the checklist puts its files in place.
                documents = drafts.publish()
                queued = notices.visit_report(
                    turn.session, visit, report.employers, documents=documents, now=turn.now,
                    config=config,
                )  # fmt: skip
        except ProgrammeError as error:
            return outcome.say(error_text(_, error)), self.waiting(turn)
        text = _(
            "🏁 Checklist finished: {done} of {total} lines checked.",
            done=format_number(done, language),
            total=format_number(total, language),
        )
        if queued:
            text += "\n" + _("The visit report is on its way to the employer. Here is your copy.")
        else:
            text += "\n" + _(
                "Nobody from the enterprise uses the chat: please print this report or hand it "
                "over."
            )
        name = visit_report.file_name(report.data, language)
        copy = Reply(text, document=drafts.pdf[language], document_name=name)
        return outcome.show(copy), self.waiting(turn)

    # -- /visit: at the enterprise -----------------------------------------------------------

    def at_enterprise(self, turn: Turn, text: str) -> tuple[Outcome, bool]:
        """Staff at an enterprise: continue its visit's checklist, or log its visit as done."""
        _ = turn._
        contact = turn.contact
        if contact is None or contact.role not in (Role.STAFF, Role.COORDINATOR):
            return Outcome().say(_("Sorry, the visit checklist is for the providers' staff.")), ENDS
        wanted = "".join(text.split()[1:])
        if wanted.isdigit() and len(wanted) < 12:
            return self.offer(turn, int(wanted))
        enterprises = visit_checks.enterprises_of(turn.session, contact, limit=CHOOSER_LIMIT + 1)
        if not enterprises:
            return Outcome().say(_("You have no enterprises yet.")), ENDS
        said = _("Which enterprise are you visiting?")
        if len(enterprises) > CHOOSER_LIMIT:
            said += "\n" + _("More enterprises than fit here: send /visit followed by the id.")
        rows = [
            [Action(shorten(e.name, 40), f"{CHOOSE}{e.id}")] for e in enterprises[:CHOOSER_LIMIT]
        ]
        return Outcome().say(said, rows), ENDS

    def chosen(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        found = numbers(payload, CHOOSE, 1)
        if found is None or turn.contact is None:
            return self.stale(turn)
        return self.offer(turn, found[0])

    def offer(self, turn: Turn, enterprise_id: int) -> tuple[Outcome, bool]:
        _ = turn._
        try:
            found = visit_checks.visit_to_check(
                turn.session, enterprise_id=enterprise_id, staff=turn.contact, now=turn.now
            )
        except ProgrammeError as error:
            return Outcome().say(error_text(_, error)), self.waiting(turn)
        enterprise = turn.session.get(Enterprise, enterprise_id)
        assert enterprise is not None
        if found is None:
            text = _("{enterprise} has no visit to log now.", enterprise=esc(enterprise.name))
            return Outcome().say(text), self.waiting(turn)
        assert found.visit.id is not None
        if found.done:
            return self.next_card(turn, Outcome(), found.visit.id)
        text = _(
            "Log the visit to {enterprise} as done today, then go through its checklist?",
            enterprise=esc(enterprise.name),
        )
        took_place = Action(_("✅ Yes, the visit took place"), f"{DONE}{found.visit.id}")
        return Outcome().say(text, [[took_place]]), self.waiting(turn)

    # -- /visits and /nextvisit --------------------------------------------------------------

    def board_line(self, turn: Turn, row: visits.VisitRow) -> str:
        _ = turn._
        name = f"<b>{esc(row.enterprise.name)}</b>"
        visit = row.visit
        if visit.scheduled_at is not None and visit.status in visits.ARRANGED:
            when = moment(turn, visit.scheduled_at)
            state = _("confirmed") if visit.status == "confirmed" else _("waiting for the employer")
            if visit.suggested_at is not None:
                state = _("the employer suggests {when}", when=moment(turn, visit.suggested_at))
            return f"• {name} — {when} ({state})"
        day = format_day(visit.due_on, turn.language)
        return "• " + _("{name} — due since {day}", name=name, day=day)

    def board(self, turn: Turn) -> Outcome:
        _ = turn._
        contact = turn.contact
        if contact is None or contact.role not in (Role.STAFF, Role.COORDINATOR, Role.EMPLOYER):
            return Outcome().say(_("Sorry, visits are for enterprises and their providers."))
        if contact.role == Role.EMPLOYER:
            return self.next_visit(turn)
        provider_id = contact.provider_id if contact.role == Role.STAFF else None
        upcoming, overdue = visits.visits_board(
            turn.session, provider_id=provider_id, now=turn.now, tz=turn.place.schedule.tz,
            limit=BOARD_LIMIT,
        )  # fmt: skip
        lines = [_("🗓 <b>Upcoming visits</b>")]
        lines += [self.board_line(turn, row) for row in upcoming] or [_("None arranged.")]
        lines += ["", _("⏰ <b>Overdue: due, no date agreed</b>")]
        lines += [self.board_line(turn, row) for row in overdue] or [_("Nothing overdue. 👍")]
        actions = [
            [
                Action(
                    _("📅 Propose: {name}", name=shorten(row.enterprise.name, 30)),
                    f"{PROPOSE}{row.visit.id}",
                )
            ]
            for row in overdue
        ]
        return Outcome().say("\n".join(lines), actions)

    def next_visit(self, turn: Turn) -> Outcome:
        _ = turn._
        contact = turn.contact
        if contact is None or contact.role not in (Role.STAFF, Role.COORDINATOR, Role.EMPLOYER):
            return Outcome().say(_("Sorry, visits are for enterprises and their providers."))
        if contact.role != Role.EMPLOYER:
            return self.board(turn)
        assert contact.enterprise_id is not None
        visit = visits.next_visit(turn.session, enterprise_id=contact.enterprise_id, now=turn.now)
        if visit is None or visit.scheduled_at is None:
            return Outcome().say(
                _(
                    "No visit is arranged yet. Your provider will propose a date, and you can "
                    "confirm it or suggest another time here."
                )
            )
        when = moment(turn, visit.scheduled_at)
        if visit.status == "confirmed":
            return Outcome().say(_("🗓 Your next visit: <b>{when}</b> (confirmed).", when=when))
        return Outcome().say(
            _(
                "🗓 Your provider proposes a visit on <b>{when}</b>; please confirm it or suggest "
                "another time with the buttons of their message.",
                when=when,
            )
        )


VISITS = Visits()
