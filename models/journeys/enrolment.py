"""Joining without an invite, as two journeys (models/enrolment.py holds the rules).

`Enrolment`, a form (steps.py): `/start join` (the QR code of the newsletter, the leaflet and
the website) -> language -> consent -> the enterprise's name, province (a button, or the name
typed), sector, workers, phone number -> the request to check, ✅ Send or ✖ Cancel. The person
is nobody yet: the draft holds the answers, and declining, /cancel or ✖ Cancel keep nothing.
Until it ends, the bot's other commands are answered beside it (`holds_front`).

`Decision`: the buttons of the notice its deciders receive. ✅ Accept (for a provider) is one
press; ✖ Decline asks for the reason (the journey holds the foreground while it waits: "at"
is "reason", "request" the request). Both are checked against the database, so a stale,
forged or another provider's button gets a clear answer and changes nothing.
"""

from __future__ import annotations

from bot.i18n import N_, format_number
from models import content, enrolment, privacy
from models.enrolment import ACCEPT, DECLINE, JOIN_PAYLOAD
from models.journeys.admin import province_step
from models.journeys.core import Action, Input, Outcome, Reply, Turn
from models.journeys.errors import error_text
from models.journeys.onboarding import LANGUAGE_PROMPT, Speaking, speaking, start_code
from models.journeys.state import telegram_user
from models.journeys.steps import ENDS, GOES_ON, Step, choice, one_of, typed
from models.programme import ProgrammeError, clean_name, contact_by_user
from models.tables import Provider
from models.text import esc

PREFIX = "enj:"
LANG = PREFIX + "lang:"
AGREE = PREFIX + "agree"
AGREE_NO_TIPS = PREFIX + "agree-notips"
NO_CONSENT = PREFIX + "decline"
PROVINCE = PREFIX + "prov:"
SECTOR = PREFIX + "sector:"
SEND = PREFIX + "send"
CANCEL = PREFIX + "cancel"


def refusal_text(turn: Turn, error: ProgrammeError) -> str:
    _ = turn._
    texts = {
        "request_pending": _(
            "Your request to join is already with the providers. They will contact you soon; "
            "you will hear from me as soon as they decide."
        ),
        "already_registered": _("You are already registered. Send /help to see what you can do."),
        "request_unknown": _("This request no longer exists."),
        "request_decided": _("This request has already been decided. Thank you!"),
        "not_allowed": _("Sorry, this button is not for you."),
        "requester_registered": _(
            "They have registered in the meantime with another link: please decline this request."
        ),
        "reason_too_short": _("Please type the reason in a few words (at least 3 characters)."),
        "reason_too_long": _(
            "That is too long: {length} characters, at most {limit} fit. Please shorten it.",
            length=format_number(error.details.get("length", 0), turn.language),
            limit=format_number(error.details.get("limit", 0), turn.language),
        ),
    }
    if error.code in texts:
        return texts[error.code]
    return error_text(_, error, turn.language)


# -- the request -----------------------------------------------------------------------------


def language_prompt(turn: Turn) -> Reply:
    languages = [Action("Tiếng Việt", LANG + "vi"), Action("English", LANG + "en")]
    return Reply(LANGUAGE_PROMPT, [languages])


def chosen_language(turn: Turn, given: Input) -> str:
    code = (given.payload or "").removeprefix(LANG)
    if (given.payload or "").startswith(LANG) and code in ("vi", "en"):
        return code
    raise ProgrammeError("choose_language")


def consent_prompt(turn: Turn) -> Reply:
    _ = turn._
    controller = privacy.Controller(None, turn.place.controller_contact)
    text = (
        _(
            "You are asking to join the OSH follow-up programme. First, a few words about "
            "your data. Your request (with your phone number) goes to the OSH service providers "
            "of your province, who will decide on it."
        )
        + "\n\n"
        + privacy.consent_notice(_, controller)
    )
    actions = [
        [Action(_("✅ I agree"), AGREE)],
        [Action(_("✅ I agree, but no tips"), AGREE_NO_TIPS)],
        [Action(_("No, thanks"), NO_CONSENT)],
    ]
    return Reply(text, actions)


def consented(turn: Turn, given: Input) -> str:
    value = one_of(AGREE, AGREE_NO_TIPS, NO_CONSENT, wrong="consent_buttons")(turn, given)
    if value == NO_CONSENT:
        # Nothing more is asked: the form finishes at once and keeps nothing.
        for later in ("name", "province", "sector", "workers", "phone", "confirm"):
            turn.data[later] = None
    return str(value)


def sector_step() -> Step:
    def prompt(turn: Turn) -> Reply:
        buttons = [Action(s.label(turn.language), SECTOR + s.code) for s in content.sectors()]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        return Reply(turn._("Which sector does your enterprise work in?"), rows)

    take = choice(SECTOR, lambda code: content.sector(code) is not None, wrong="unknown_sector")
    return Step("sector", prompt, take, reask="prompt")


def check_prompt(turn: Turn) -> Reply:
    _ = turn._
    province = content.province(turn.data["province"])
    sector = content.sector(turn.data["sector"])
    lines = [
        _("<b>Please check your request</b>"),
        _("Enterprise: {value}", value=esc(turn.data["name"])),
        _("Province: {value}", value=province.name(turn.language) if province else ""),
        _("Sector: {value}", value=sector.name(turn.language) if sector else ""),
        _("Workers: {value}", value=format_number(turn.data["workers"], turn.language)),
        _("Phone: {value}", value=esc(turn.data["phone"])),
    ]
    actions = [[Action(_("✅ Send the request"), SEND), Action(_("✖ Cancel"), CANCEL)]]
    return Reply("\n".join(lines), actions)


class Enrolment(Speaking):
    name = "enrolment"
    resumable = False
    holds_front = True
    steps = (
        Step("language", language_prompt, chosen_language, reask="actions"),
        Step("consent", consent_prompt, consented, reask="actions"),
        Step("name", lambda turn: Reply(turn._(
            "What is the name of your enterprise? (/cancel to stop)")), typed(clean_name)),
        province_step(N_("In which province or city is it? Choose below or type the name."),
                      PROVINCE),
        sector_step(),
        Step("workers", lambda turn: Reply(turn._("How many workers does it have?")),
             typed(enrolment.parse_workers)),
        Step("phone", lambda turn: Reply(turn._(
            "Which phone number can the provider call you on?")), typed(enrolment.parse_phone)),
        Step("confirm", check_prompt, one_of(SEND, CANCEL, wrong="send_or_cancel"),
             reask="actions"),
    )  # fmt: skip

    def starts(self, entry: Input) -> bool:
        return entry.command == "start" and start_code(entry) == JOIN_PAYLOAD

    def owns(self, payload: str) -> bool:
        return payload.startswith(PREFIX)

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        _ = turn._
        if turn.contact is not None:
            return Outcome().say(
                _("You are already registered. Send /help to see what you can do."), menu=True
            )
        user = telegram_user(turn.person)
        if user is None:
            return Outcome().say(
                _(
                    "Requests to join are made in Telegram for now. Please ask your OSH service "
                    "provider for an invite code."
                )
            )
        if enrolment.pending_of(turn.session, user) is not None:
            return Outcome().say(refusal_text(turn, ProgrammeError("request_pending")))
        return None

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        turn = speaking(turn)
        _ = turn._
        if turn.data.get("consent") == NO_CONSENT:
            return outcome.say(
                _(
                    "No problem: we have not stored anything about you. If you change your "
                    "mind, scan the code again."
                )
            ), ENDS
        if turn.data.get("confirm") != SEND:
            return outcome.say(_("Cancelled. Nothing was sent or kept.")), ENDS
        user = telegram_user(turn.person)
        assert user is not None  # begin() lets only Telegram accounts this far
        if contact_by_user(turn.session, user) is not None:
            return outcome.say(refusal_text(turn, ProgrammeError("already_registered"))), ENDS
        try:
            with turn.session.begin_nested():
                enrolment.submit(
                    turn.session, telegram_user_id=user, chat_id=user,
                    display_name=turn.profile.name, username=turn.profile.handle,
                    language=turn.language, tips=turn.data["consent"] == AGREE,
                    draft=enrolment.Draft(
                        turn.data["name"], turn.data["province"], turn.data["sector"],
                        turn.data["workers"], turn.data["phone"],
                    ),
                    now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            return outcome.say(refusal_text(turn, error)), ENDS
        return outcome.say(
            _(
                "Thank you! Your request has gone to the OSH service providers of your "
                "province. They may call you, and I will tell you here as soon as they decide."
            )
        ), ENDS

    def pause(self, turn: Turn) -> Outcome:
        return Outcome().say(speaking(turn)._("Cancelled. Nothing was sent or kept."))


# -- the decision ----------------------------------------------------------------------------

REASON = "reason"


class Decision:
    name = "enrolment.decision"
    resumable = False
    cancel_keeps_draft = False
    keeps: frozenset[str] = frozenset()

    def starts(self, entry: Input) -> bool:
        return False

    def owns(self, payload: str) -> bool:
        return payload.startswith(enrolment.PREFIX)

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        return Outcome(), ENDS

    def waiting(self, turn: Turn) -> bool:
        return turn.data.get("at") == REASON

    def refused(self, turn: Turn, error: ProgrammeError) -> tuple[Outcome, bool]:
        outcome = Outcome(notice=refusal_text(turn, error), alert=True)
        if error.code in ("request_decided", "request_unknown", "requester_registered"):
            outcome.edit, outcome.edit_actions_only = Reply(""), True
        return outcome, self.waiting(turn)

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        payload = given.payload
        if payload is None:
            return self.typed(turn, given)
        if payload.startswith(ACCEPT):
            return self.accept(turn, payload)
        if payload.startswith(DECLINE):
            return self.decline(turn, payload)
        return Outcome(notice=turn._("This button is no longer active.")), self.waiting(turn)

    def accept(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        raw = payload.removeprefix(ACCEPT).split(":")
        if len(raw) != 2 or not all(part.isdigit() and len(part) < 12 for part in raw):
            return Outcome(notice=_("This button is no longer active.")), self.waiting(turn)
        try:
            with turn.session.begin_nested():
                accepted = enrolment.accept(
                    turn.session, request_id=int(raw[0]), actor=turn.contact,
                    provider_id=int(raw[1]), now=turn.now, today=turn.today,
                )  # fmt: skip
        except ProgrammeError as error:
            return self.refused(turn, error)
        request = accepted.request
        provider = turn.session.get(Provider, int(raw[1]))
        text = (
            enrolment.card(request, turn.language)
            + "\n\n"
            + _(
                "✅ Accepted for {provider}: {enterprise} is in your list, and the person who "
                "asked is registered as its employer. I have told them.",
                provider=esc(provider.name if provider else ""),
                enterprise=esc(request.enterprise_name),
            )
        )
        return Outcome(edit=Reply(text)), self.waiting(turn)

    def decline(self, turn: Turn, payload: str) -> tuple[Outcome, bool]:
        _ = turn._
        raw = payload.removeprefix(DECLINE)
        if not raw.isdigit() or len(raw) > 11:
            return Outcome(notice=_("This button is no longer active.")), self.waiting(turn)
        try:
            request = enrolment.check_decider(turn.session, turn.contact, int(raw))
        except ProgrammeError as error:
            return self.refused(turn, error)
        turn.data.clear()
        turn.data.update(at=REASON, request=request.id)
        text = _(
            "Why is {enterprise} declined? Type the reason in a sentence; it is sent to them as "
            "you write it. (/cancel to keep the request open)",
            enterprise=esc(request.enterprise_name),
        )
        return Outcome().say(text), GOES_ON

    def typed(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        _ = turn._
        request_id = turn.data.get("request")
        if not self.waiting(turn) or not isinstance(request_id, int):
            turn.data.clear()
            return Outcome(), ENDS
        if given.text is None:
            return Outcome().say(_("Please type the reason as text, or /cancel.")), GOES_ON
        try:
            with turn.session.begin_nested():
                request = enrolment.decline(
                    turn.session, request_id=request_id, actor=turn.contact, reason=given.text,
                    now=turn.now,
                )  # fmt: skip
        except ProgrammeError as error:
            if error.code in ("reason_too_short", "reason_too_long"):
                return Outcome().say(refusal_text(turn, error)), GOES_ON
            turn.data.clear()
            return Outcome().say(refusal_text(turn, error)), ENDS
        turn.data.clear()
        text = _(
            "Declined: {enterprise}. I have told them, with your reason.",
            enterprise=esc(request.enterprise_name),
        )
        return Outcome().say(text), ENDS

    def pause(self, turn: Turn) -> Outcome:
        turn.data.clear()
        return Outcome().say(turn._("Cancelled: the request stays open."), menu=True)

    def aside(self, turn: Turn) -> Outcome:
        return Outcome()


ENROLMENT = Enrolment()
DECISION = Decision()
