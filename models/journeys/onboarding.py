"""Registration: an invite (`/start <code>`, or its short code typed) -> language -> consent ->
welcome, as a form (steps.py). A typed code may also be a registered person's code to link this
channel to them (models/linking.py): that links at once, with nothing to ask.

Someone registering is nobody yet (`turn.contact` is None): their position is keyed by their
channel identity, and the draft holds the invite's code ("invite"), whether it came typed
("typed": its language actions are "onb:tlang:<language>"), and the language they chose
("language", in which the form speaks from then on). Declining, /cancel or a code that cannot
be used keep nothing of them (the engine drops the position of someone not registered). Until
it ends, the bot's other commands are answered beside it and it stays in front
(`holds_front`): there is nothing else to do before registering.

/start also answers people it does not register: a registered person is welcomed back (after
/stop) or told they are registered already; without a code, or with one that cannot be used,
the person is told how to join. `/start ev_<code>` is an event's check-in, not this journey's.
"""

from __future__ import annotations

from dataclasses import replace

from bot.i18n import LANGUAGES, Translate, translator
from models import linking, privacy
from models.enrolment import JOIN_PAYLOAD
from models.events import CHECKIN_PREFIX
from models.journeys.core import Action, Input, Outcome, Reply, Turn
from models.journeys.link import use_code
from models.journeys.state import channel_of, telegram_user, zalo_user
from models.journeys.steps import ENDS, Form, Step, one_of
from models.members import role_label
from models.privacy import resume
from models.programme import (
    ProgrammeError,
    Registration,
    organisation_name,
    register,
    usable_invite,
)
from models.tables import Contact, Role, WebSignIn
from models.text import esc

PREFIX = "onb:"
LANG_DATA = PREFIX + "lang:"
TYPED_LANG_DATA = PREFIX + "tlang:"  # the language actions after a typed short code
AGREE = PREFIX + "agree"
AGREE_NO_TIPS = PREFIX + "agree-notips"
DECLINE = PREFIX + "decline"

# Entries that only a driver gives (a typed command's word has no ":"):
# text that someone not registered typed outside any journey, perhaps an invite's short code;
CODE_TYPED = "start:typed"
# an invite's code that came with a deep link another part of the bot did not claim (an
# invite whose code happens to begin like an event's check-in).
CODE_GIVEN = "start:code"

LANGUAGE_PROMPT = "Xin chào! Anh/Chị muốn dùng ngôn ngữ nào?\nHello! Which language would you like?"


# -- texts -----------------------------------------------------------------------------------


def invalid_invite_text(_: Translate) -> str:
    return _(
        "This invite link is not valid any more. Links expire after a while and some can "
        "be used only once. Please ask your OSH service provider for a new link."
    )


def invalid_code_text(_: Translate) -> str:
    return _(
        "This code is not valid: it may be mistyped, expired or no longer in use. Please check "
        "it, or ask your OSH service provider for a new one."
    )


def already_registered_text(_: Translate, contact: Contact, organisation: str | None) -> str:
    role = role_label(_, contact.role)
    if organisation:
        return _(
            "You are already registered as {role} of {organisation}. Send /help to see "
            "what you can do.",
            role=role,
            organisation=esc(organisation),
        )
    return _("You are already registered as {role}. Send /help to see what you can do.", role=role)


def welcome_text(_: Translate, role: Role, organisation: str | None) -> str:
    name = esc(organisation or "")
    texts = {
        Role.COORDINATOR: _(
            "Welcome, coordinator! You can add OSH service providers and invite their staff "
            "with the 🏢 Providers button."
        ),
        Role.STAFF: _(
            "Welcome to the team of {provider}! Add the enterprises you support with "
            "➕ Add an enterprise; each gets its own invite links for its employer and workers.",
            provider=name,
        ),
        Role.EMPLOYER: _(
            "Welcome, {enterprise}! Thank you for taking part. Here you can report the "
            "improvements you make, tell us how the support helped and arrange visits.",
            enterprise=name,
        ),
        Role.WORKER: _(
            "Welcome! You have joined the follow-up of {enterprise}. Your ideas about safer, "
            "easier work matter; your survey answers are anonymous.",
            enterprise=name,
        ),
        Role.PARTNER: _(
            "Welcome, partner of {provider}! You will receive invitations to programme meetings "
            "and workshops here.",
            provider=name,
        ),
    }
    return texts[role]


# -- the steps -------------------------------------------------------------------------------


def speaking(turn: Turn) -> Turn:
    """The turn in the language chosen in this journey, once it is (a person not registered
    keeps it nowhere else)."""
    language = turn.data.get("language")
    if language not in LANGUAGES or language == turn.language:
        return turn
    return replace(turn, language=language, _=translator(language))


def language_prompt(turn: Turn) -> Reply:
    prefix = TYPED_LANG_DATA if turn.data.get("typed") else LANG_DATA
    return Reply(
        LANGUAGE_PROMPT, [[Action("Tiếng Việt", prefix + "vi"), Action("English", prefix + "en")]]
    )


def chosen_language(turn: Turn, given: Input) -> str:
    """A language action; anything else (an action of an earlier registration too) asks again."""
    payload = given.payload or ""
    for prefix in (LANG_DATA, TYPED_LANG_DATA):
        if payload.startswith(prefix) and payload.removeprefix(prefix) in LANGUAGES:
            return payload.removeprefix(prefix)
    raise ProgrammeError("choose_language")


def consent_prompt(turn: Turn) -> Reply:
    _ = speaking(turn)._
    controller = privacy.controller_for_invite(
        turn.session, turn.data.get("invite", ""), fallback=turn.place.controller_contact
    )
    actions = [
        [Action(_("✅ I agree"), AGREE)],
        [Action(_("✅ I agree, but no tips"), AGREE_NO_TIPS)],
        [Action(_("No, thanks"), DECLINE)],
    ]
    return Reply(privacy.consent_notice(_, controller, channel=channel_of(turn.person)), actions)


def start_code(entry: Input) -> str | None:
    """The code that came with /start (the deep link's payload), if any."""
    if entry.command == CODE_GIVEN:
        return entry.text
    words = (entry.text or "").split()
    return words[1] if len(words) > 1 else None


class Speaking(Form):
    """A form that opens by asking the language: each answer is taken in the language chosen
    so far, and the language question keeps the choice in words."""

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        asked = turn.data.get("step")
        outcome, going_on = super().handle(speaking(turn), given)
        if asked == "language" and "language" in turn.data:
            # The language message keeps the choice in words (its actions go).
            _ = speaking(turn)._
            outcome.edit, outcome.edit_actions_only = Reply(_("Language: English")), False
        return outcome, going_on


class Onboarding(Speaking):
    name = "onboarding"
    resumable = False
    holds_front = True
    steps = (
        Step("language", language_prompt, chosen_language, reask="actions"),
        Step("consent", consent_prompt,
             one_of(AGREE, AGREE_NO_TIPS, DECLINE, wrong="consent_buttons"), reask="actions"),
    )  # fmt: skip

    def starts(self, entry: Input) -> bool:
        if entry.command in (CODE_TYPED, CODE_GIVEN):
            return True
        code = start_code(entry) if entry.command == "start" else None
        # `/start join` is a request to join without an invite (models/journeys/enrolment.py).
        return (
            entry.command == "start"
            and not (code or "").startswith(CHECKIN_PREFIX)
            and code != JOIN_PAYLOAD
        )

    def owns(self, payload: str) -> bool:
        return payload.startswith(PREFIX)

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        _, contact = turn._, turn.contact
        if contact is not None:
            code = start_code(entry) if entry.command != CODE_TYPED else None
            if code is None and resume(turn.session, contact, now=turn.now):
                text = _("Welcome back! Tips, good practices and reminders will reach you again.")
                return Outcome().say(text, menu=True)
            organisation = organisation_name(turn.session, contact)
            return Outcome().say(already_registered_text(_, contact, organisation), menu=True)
        user, zalo = telegram_user(turn.person), zalo_user(turn.person)
        if entry.command == CODE_TYPED:
            # Wrong guesses count per sender: a Telegram account, or a Zalo one ("zalo:<id>").
            sender = f"zalo:{zalo}" if zalo is not None else turn.person
            found = linking.typed(
                turn.session, entry.text, sender_key=sender, now=turn.now,
                telegram_user_id=user, zalo_user_id=zalo,
            )  # fmt: skip
            if found is None or (user is None and zalo is None):
                return Outcome().say(invalid_code_text(_))
            if isinstance(found, WebSignIn):
                # A registered person's code to link this channel (models/linking.py).
                return use_code(turn, found)
            turn.data.update(invite=found.code, typed=True)
            return None
        code = start_code(entry)
        if code is None:
            return Outcome().say(
                _(
                    "Hello! I help enterprises and OSH service providers follow up workplace "
                    "improvements. To join, please open the invite link or scan the QR code "
                    "that your OSH service provider gave you."
                )
            )
        # A link's code comes with Telegram's /start; on Zalo a code is typed (above).
        if (
            user is None
            or usable_invite(turn.session, code, now=turn.now, telegram_user_id=user) is None
        ):
            return Outcome().say(invalid_invite_text(_))
        turn.data["invite"] = code
        return None

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        turn = speaking(turn)
        _ = turn._
        if turn.data["consent"] == DECLINE:
            # Nothing was stored: the draft goes with the journey, and the position with it.
            return outcome.say(
                _(
                    "No problem: we have not stored anything about you. If you change your "
                    "mind, open the invite link again."
                )
            ), ENDS
        user, zalo = telegram_user(turn.person), zalo_user(turn.person)
        assert user is not None or zalo is not None  # begin() lets only these this far
        result = register(
            turn.session, code=turn.data["invite"], telegram_user_id=user,
            # A private chat's id is its user's id, on Telegram and on Zalo.
            chat_id=user, zalo_user_id=zalo, display_name=turn.profile.name,
            username=turn.profile.handle, language=turn.language, now=turn.now,
            tips=turn.data["consent"] == AGREE,
        )  # fmt: skip
        contact = result.contact
        if result.outcome is Registration.INVITE_INVALID or contact is None:
            return outcome.say(invalid_invite_text(_)), ENDS
        organisation = organisation_name(turn.session, contact)
        if result.outcome is Registration.ALREADY_REGISTERED:
            return outcome.say(already_registered_text(_, contact, organisation)), ENDS
        outcome.say(welcome_text(_, contact.role, organisation), menu=True)
        outcome.menu_changed = True
        return outcome, ENDS

    def pause(self, turn: Turn) -> Outcome:
        _ = speaking(turn)._
        if turn.contact is None:
            return Outcome().say(_("Cancelled."))
        return Outcome().say(_("Cancelled. What would you like to do next?"), menu=True)


ONBOARDING = Onboarding()
