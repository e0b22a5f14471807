"""Follow-up surveys: employers and workers answer their questionnaire, one question at a time.

`/feedback`, the 📋 menu button, or the button of a survey invitation ("fb:start:<round>")
start or resume the person's response to the enterprise's open round. The button of an event's
reaction-survey invitation ("fb:event:<event>", sent by models/events.py) starts the same
conversation on the event's questionnaire, for the people who attended it. Finite choices are
buttons; text and numbers are typed. Every answer is stored as it is given (models/surveys.py),
so a restart or /cancel loses nothing: /feedback (or the invitation button) resumes at the same
question.

The engine keeps each person's answers so far under their contact (models/surveys.py), so the
conversation keeps only which survey is in hand (user_data "for": "r<round>" or "e<event>") for
typed answers; answer buttons carry the questionnaire's tag, which finds it again even when
that is lost. A person who leaves one survey for another (a worker in the middle of the round
survey who presses an event's invitation) resumes the first one later where they left it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, format_number, shorten
from bot.render import acknowledge, check, esc, inline
from bot.runtime import current_contact, language_of, runtime, tr, user_data
from handlers import menu
from models import events, surveys
from models.content import YES, Option, Question
from models.surveys import Progress, Subject, SurveyError
from models.tables import Contact, Role

PREFIX = "fb:"
START = surveys.START_PREFIX  # fb:start:<round id>
START_EVENT = surveys.EVENT_START_PREFIX  # fb:event:<event id>
ANSWER = PREFIX + "a:"  # fb:a:<tag>:<question index>:<value>
TOGGLE = PREFIX + "t:"  # fb:t:<tag>:<question index>:<option code>
DONE = PREFIX + "d:"  # fb:d:<tag>:<question index>
SKIP = PREFIX + "s:"  # fb:s:<tag>:<question index>

ANSWERING = "feedback.answering"

SURVEY = "survey"  # user_data: {"for": "r<round>" | "e<event>", "message": id} of the one in hand
PICKED = "survey_picked"  # user_data: {"q": question index, "codes": [...]} while choosing

ROLES = (Role.EMPLOYER, Role.WORKER)


# -- texts -----------------------------------------------------------------------------------


def error_text(_: Translate, error: SurveyError, language: str) -> str:
    details = error.details
    low = format_number(details.get("min", 0), language)
    high = format_number(details.get("max", 0), language)
    limit = format_number(details.get("limit", 0), language)
    length = format_number(details.get("length", 0), language)
    texts = {
        "number_invalid": _("Please type a whole number from {min} to {max}.", min=low, max=high),
        "number_out_of_range": _("Please give a number from {min} to {max}.", min=low, max=high),
        "invalid_option": _("Please choose one of the buttons."),
        "choose_button": _("Please choose one of the buttons below."),
        "choose_one": _("Please choose at least one option, then press Done."),
        "exclusive_mixed": _("That choice cannot be combined with the others."),
        "text_empty": _("Please type your answer."),
        "text_expected": _("Please answer with text."),
        "text_too_long": _(
            "That is {length} characters; at most {limit} fit. Please shorten it a little.",
            length=length,
            limit=limit,
        ),
        "not_optional": _("This question cannot be skipped."),
        "not_current": _("That question is already answered. Please answer the latest one."),
        "round_closed": _(
            "This survey round has closed. Thank you! Send /feedback to answer the current one."
        ),
        "already_answered": _("You already answered this round, thank you!"),
        "not_participant": _(
            "Sorry, the follow-up survey is for employers and workers of the enterprises in "
            "the programme."
        ),
        "unknown_round": _("This button is no longer active."),
        "unknown_event": _("This button is no longer active."),
        "not_attendee": _(
            "Sorry, this feedback form is for the people who attended the event. Thank you for "
            "your interest!"
        ),
        "reaction_closed": _(
            "The feedback on {event} has closed. Thank you for your interest!",
            event=esc(details.get("title", "")),
        ),
        "already_reacted": _(
            "You have already given your feedback on {event}. Thank you!",
            event=esc(details.get("title", "")),
        ),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


def question_text(_: Translate, found: Progress, language: str) -> str:
    question = found.question
    assert question is not None
    head = "<i>{} · {}</i>".format(
        esc(found.questionnaire.title(language)),
        _("question {number}/{total}", number=found.number, total=found.total),
    )
    lines = [head, "", f"<b>{esc(found.question_text(language))}</b>"]
    if question.type == "scale":
        lines.append(
            _(
                "{min} = {low} · {max} = {high}",
                min=question.min,
                low=esc(question.low(language)),
                max=question.max,
                high=esc(question.high(language)),
            )
        )
    elif question.type == "multi":
        lines.append(_("Tap all that apply, then press Done."))
    elif question.type == "text":
        lines.append(
            _(
                "Please type your answer (at most {limit} characters).",
                limit=format_number(question.max_length, language),
            )
        )
    elif question.type == "number":
        limits = surveys.bounds(question)
        lines.append(
            _(
                "Please type a number from {min} to {max}.",
                min=format_number(limits["min"], language),
                max=format_number(limits["max"], language),
            )
        )
    if question.optional:
        lines.append(_("You may skip this question."))
    return "\n".join(lines)


def question_buttons(
    _: Translate, found: Progress, language: str, picked: list[str]
) -> list[list[tuple[str, str]]]:
    question = found.question
    assert question is not None
    where = f"{found.tag}:{found.index}"
    rows: list[list[tuple[str, str]]] = []
    if question.type == "scale":
        assert question.min is not None and question.max is not None
        numbers = range(question.min, question.max + 1)
        rows.append([(str(n), f"{ANSWER}{where}:{n}") for n in numbers])
    elif question.type == "yesno":
        rows.append([(_("Yes"), f"{ANSWER}{where}:{YES}"), (_("No"), f"{ANSWER}{where}:no")])
    elif question.type == "single":
        rows += [
            [(option.label(language), f"{ANSWER}{where}:{option.code}")]
            for option in surveys.options_of(question, found.sources)
        ]
    elif question.type == "multi":
        for option in surveys.options_of(question, found.sources):
            label = check(option.code in picked) + shorten(option.label(language), 60)
            rows.append([(label, f"{TOGGLE}{where}:{option.code}")])
        rows.append([(_("✔ Done"), f"{DONE}{where}")])
    if question.optional:
        rows.append([(_("Skip"), f"{SKIP}{where}")])
    return rows


def answer_label(
    _: Translate,
    question: Question,
    value: object,
    language: str,
    sources: Mapping[str, Sequence[Option]] | None = None,
) -> str:
    """The answer as the person sees it under the question once given."""
    if value is None:
        return _("(skipped)")
    if question.type == "yesno":
        return _("Yes") if value == YES else _("No")
    if question.type in ("single", "multi"):
        codes = {str(code) for code in (value if isinstance(value, list) else [value])}
        # In the questionnaire's order, whatever order they were tapped in.
        options = surveys.options_of(question, sources)
        return ", ".join(o.label(language) for o in options if o.code in codes)
    if isinstance(value, int):
        return format_number(value, language)
    return str(value)


# -- state kept in user_data -----------------------------------------------------------------


def in_hand(context: ContextTypes.DEFAULT_TYPE) -> Subject | None:
    state = user_data(context).get(SURVEY)
    return Subject.parse(state.get("for")) if isinstance(state, dict) else None


def hold(context: ContextTypes.DEFAULT_TYPE, found: Progress) -> None:
    """Makes `found` the survey in hand (typed answers go to it)."""
    data = user_data(context)
    if in_hand(context) != found.subject:
        data.pop(PICKED, None)
    data[SURVEY] = {"for": found.subject.text}


def forget(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Nothing in hand any more (on completion)."""
    user_data(context).pop(SURVEY, None)
    user_data(context).pop(PICKED, None)


def picked_for(context: ContextTypes.DEFAULT_TYPE, found: Progress) -> list[str]:
    state = user_data(context).get(PICKED)
    if isinstance(state, dict) and state.get("q") == found.index:
        return [str(code) for code in state.get("codes", [])]
    return []


def participant(
    update: Update, context: ContextTypes.DEFAULT_TYPE, found: Progress | None = None
) -> Contact | None:
    """The person if they may answer surveys (checked in the database on every step): follow-up
    surveys are for employers and workers; an event's reaction survey is for anyone but the
    organisers (the engine checks attendance on every answer)."""
    contact = current_contact(update, context)
    if contact is None:
        return None
    if found is not None and found.subject.event_id is not None:
        return None if events.is_organiser(contact) else contact
    if contact.role not in ROLES or contact.enterprise_id is None:
        return None
    return contact


# -- sending ---------------------------------------------------------------------------------


async def say(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, **kwargs: Any
) -> Message:
    assert update.effective_chat is not None
    return await context.bot.send_message(update.effective_chat.id, text, **kwargs)


async def ask(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    found: Progress,
    *,
    prefix: str | None = None,
) -> str:
    """Sends the current question (after an optional line such as a re-prompt)."""
    _ = tr(update, context)
    language = language_of(update, context)
    picked = picked_for(context, found)
    text = question_text(_, found, language)
    if prefix:
        text = f"{prefix}\n\n{text}"
    buttons = question_buttons(_, found, language, picked)
    sent = await say(update, context, text, reply_markup=inline(buttons) if buttons else None)
    state = user_data(context).get(SURVEY)
    if isinstance(state, dict):
        state["message"] = sent.message_id if buttons else None
    return ANSWERING


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> int:
    if update.callback_query is not None:
        await acknowledge(update.callback_query)
    await say(update, context, text)
    return ConversationHandler.END


async def finish(update: Update, context: ContextTypes.DEFAULT_TYPE, found: Progress) -> int:
    forget(context)
    language = language_of(update, context)
    contact = current_contact(update, context)
    markup = menu.keyboard(contact.role, contact.language) if contact is not None else None
    await say(update, context, esc(found.questionnaire.thanks(language)), reply_markup=markup)
    return ConversationHandler.END


async def drop_old_buttons(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed answer: the buttons (Skip) under the question it answers are spent."""
    state = user_data(context).get(SURVEY)
    message_id = state.get("message") if isinstance(state, dict) else None
    if not message_id or update.effective_chat is None:
        return
    state["message"] = None  # type: ignore[index]
    # Already without buttons, or too old to edit: nothing to tidy.
    with contextlib.suppress(BadRequest):
        await context.bot.edit_message_reply_markup(update.effective_chat.id, message_id)


# -- starting --------------------------------------------------------------------------------


async def opened(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    found: Progress,
    *,
    note: str | None = None,
    intro: bool = True,
) -> str:
    """Shows the survey just started (intro, then the first question) or resumed. `intro` is
    False where the invitation the person answered already carried it."""
    _ = tr(update, context)
    language = language_of(update, context)
    if update.callback_query is not None:
        await acknowledge(update.callback_query)
    hold(context, found)
    if found.resumed:
        return await ask(
            update, context, found, prefix=_("Welcome back! Let us continue where you left off.")
        )
    if not intro:
        return await ask(update, context, found, prefix=note)
    text = esc(found.questionnaire.intro(language))
    await say(update, context, f"{text}\n{note}" if note else text)
    return await ask(update, context, found)


async def begin(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, round_id: int | None
) -> str | int:
    """Starts or resumes the person's response; `round_id` from an invitation button."""
    _ = tr(update, context)
    language = language_of(update, context)
    contact = participant(update, context)
    if contact is None:
        return await refuse(
            update, context, error_text(_, SurveyError("not_participant"), language)
        )
    assert contact.enterprise_id is not None
    rt = runtime(context)
    closed = _(
        "This invitation is for a survey round that has closed. Send /feedback to answer the "
        "current one."
    )
    none_open = _(
        "There is no survey open for your enterprise right now. We will send you the next one "
        "after the next visit. Thank you!"
    )
    try:
        with rt.database.session() as session:
            if round_id is None:
                survey_round = surveys.round_to_answer(session, contact.enterprise_id, now=rt.now())
            else:
                survey_round = surveys.current_round(session, contact.enterprise_id)
                if survey_round is not None and survey_round.id != round_id:
                    survey_round = None
            found = None
            if survey_round is not None:
                assert survey_round.id is not None
                found = surveys.start(
                    session, contact=contact, round_id=survey_round.id, now=rt.now()
                )
    except SurveyError as error:
        return await refuse(update, context, error_text(_, error, language))
    if found is None:
        return await refuse(update, context, none_open if round_id is None else closed)
    return await opened(update, context, found)


async def begin_event(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, event_id: int
) -> str | int:
    """Starts or resumes the person's reaction to an event they attended (invitation button);
    the engine refuses people who did not attend and a second answer."""
    _ = tr(update, context)
    language = language_of(update, context)
    contact = current_contact(update, context)
    if contact is None:
        return await refuse(update, context, error_text(_, SurveyError("not_attendee"), language))
    rt = runtime(context)
    try:
        with rt.database.session() as session:
            found = surveys.start_event(session, contact=contact, event_id=event_id, now=rt.now())
    except SurveyError as error:
        return await refuse(update, context, error_text(_, error, language))
    # The invitation (models/events.py) already introduced the survey.
    return await opened(
        update,
        context,
        found,
        note=_("Your answers are anonymous.") if found.anonymous else None,
        intro=False,
    )


def event_in_hand(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int | None:
    """The event whose reaction survey the person left unfinished, if that is the one in hand."""
    subject = in_hand(context)
    if subject is None or subject.event_id is None:
        return None
    found = current(update, context)
    return found.subject.event_id if found is not None else None


async def feedback_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    # /feedback continues what the person paused, an event's reaction survey included.
    event_id = event_in_hand(update, context)
    if event_id is not None:
        return await begin_event(update, context, event_id=event_id)
    return await begin(update, context, round_id=None)


async def start_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    round_id = surveys.parse_start_data(query.data)
    if round_id is None:
        await acknowledge(query, tr(update, context)("This button is no longer active."))
        return ConversationHandler.END if in_hand(context) is None else ANSWERING
    return await begin(update, context, round_id=round_id)


async def start_event_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    event_id = surveys.parse_event_start_data(query.data)
    if event_id is None:
        await acknowledge(query, tr(update, context)("This button is no longer active."))
        return ConversationHandler.END if in_hand(context) is None else ANSWERING
    return await begin_event(update, context, event_id=event_id)


# -- answering -------------------------------------------------------------------------------


def current(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, tag: str | None = None
) -> Progress | None:
    """The person's unfinished survey: the one in hand, or (`tag`, from an answer button) the
    one the button belongs to, whatever is in hand."""
    contact = current_contact(update, context)
    if contact is None:
        return None
    subject = in_hand(context)
    with runtime(context).database.session() as session:
        if tag is not None:
            candidates = surveys.unfinished(session, contact)
        else:
            candidates = [subject] if subject is not None else []
        for candidate in candidates:
            found = surveys.progress(session, contact=contact, subject=candidate)
            if found is not None and found.question is not None and tag in (None, found.tag):
                return found
    if tag is None:
        forget(context)
    return None


async def lost(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """No survey in progress any more (finished, or its response is gone)."""
    _ = tr(update, context)
    text = _("This survey is not in progress. Send /feedback to start it.")
    if update.callback_query is not None:
        await acknowledge(update.callback_query, _("This button is no longer active."))
        return ConversationHandler.END
    await say(update, context, text)
    return ConversationHandler.END


def parse_button(data: str) -> tuple[str, str, int, str] | None:
    """(kind, tag, question index, value) from answer-button data, None if malformed."""
    kind, _, rest = data.removeprefix(PREFIX).partition(":")
    parts = rest.split(":", 2)
    if kind not in ("a", "t", "d", "s") or len(parts) < 2 or not parts[1].isdigit():
        return None
    value = parts[2] if len(parts) == 3 else ""
    if (kind in ("a", "t")) != bool(value):
        return None
    return kind, parts[0], int(parts[1]), value


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    language = language_of(update, context)
    parsed = parse_button(query.data or "")
    found = current(update, context, tag=parsed[1]) if parsed is not None else None
    if parsed is None or found is None:
        # Forged data, or a button of a finished survey or of an earlier round.
        await acknowledge(query, _("This button is no longer active."))
        return ANSWERING if in_hand(context) is not None else ConversationHandler.END
    kind, _tag, index, value = parsed
    hold(context, found)
    contact = participant(update, context, found)
    if contact is None:
        forget(context)
        return await refuse(
            update, context, error_text(_, SurveyError("not_participant"), language)
        )
    if index != found.index:
        # The latest question is just below; a toast says so without repeating it (and a
        # press delivered twice then changes nothing at all).
        await acknowledge(query, error_text(_, SurveyError("not_current"), language))
        return ANSWERING
    question = found.question
    assert question is not None
    if kind == "t":
        if question.type != "multi":
            await acknowledge(query, _("This button is no longer active."))
            return ANSWERING
        try:
            picked = surveys.toggle(question, picked_for(context, found), value, found.sources)
        except SurveyError as error:
            await acknowledge(query, error_text(_, error, language))
            return ANSWERING
        user_data(context)[PICKED] = {"q": found.index, "codes": picked}
        await acknowledge(query)
        await query.edit_message_reply_markup(inline(question_buttons(_, found, language, picked)))
        return ANSWERING
    given: object
    if kind == "s" or (kind == "d" and not picked_for(context, found) and question.optional):
        given = None
    elif kind == "d":
        if question.type != "multi":
            await acknowledge(query, _("This button is no longer active."))
            return ANSWERING
        given = picked_for(context, found)
    else:
        if question.type not in ("scale", "single", "yesno"):
            await acknowledge(query, _("This button is no longer active."))
            return ANSWERING
        given = value
    return await record(update, context, contact, found, given, shown_in=query.message)


async def record(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    contact: Contact,
    found: Progress,
    given: object,
    *,
    shown_in: object = None,
) -> str | int:
    """Stores one answer (None: skipped), then asks the next question or says thank you."""
    _ = tr(update, context)
    language = language_of(update, context)
    question = found.question
    assert question is not None
    rt = runtime(context)
    query = update.callback_query
    try:
        with rt.database.session() as session:
            if given is None:
                after = surveys.skip(
                    session, contact=contact, subject=found.subject, question_id=question.id,
                    now=rt.now(), sources=found.sources,
                )  # fmt: skip
            else:
                after = surveys.answer(
                    session, contact=contact, subject=found.subject, question_id=question.id,
                    value=given, now=rt.now(), sources=found.sources,
                )  # fmt: skip
    except SurveyError as error:
        text = error_text(_, error, language)
        if error.code in ("round_closed", "not_current", "not_attendee", "reaction_closed"):
            if query is not None:
                await acknowledge(query)
            if error.code != "not_current":
                forget(context)
                await say(update, context, text)
                return ConversationHandler.END
            refreshed = current(update, context)
            if refreshed is None:
                return await lost(update, context)
            return await ask(update, context, refreshed, prefix=text)
        if query is not None:
            await acknowledge(query, text)
            return ANSWERING
        if question.type == "text" or error.code in ("number_invalid", "number_out_of_range"):
            await say(update, context, text)
            return ANSWERING
        return await ask(update, context, found, prefix=text)
    user_data(context).pop(PICKED, None)
    stored = after.answers.get(question.id)
    if query is not None and isinstance(shown_in, Message):
        await acknowledge(query)
        shown = esc(answer_label(_, question, stored, language, after.sources))
        echo = f"{question_text(_, found, language)}\n\n→ <b>{shown}</b>"
        await query.edit_message_text(echo)
    else:
        await drop_old_buttons(update, context)
    if after.just_completed:
        return await finish(update, context, after)
    return await ask(update, context, after)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    language = language_of(update, context)
    found = current(update, context)
    if found is None:
        return await lost(update, context)
    contact = participant(update, context, found)
    if contact is None:
        forget(context)
        return await refuse(
            update, context, error_text(_, SurveyError("not_participant"), language)
        )
    question = found.question
    assert question is not None
    try:
        given = surveys.parse_typed(question, message.text or "")
    except SurveyError as error:
        if error.code == "choose_button":
            return await ask(update, context, found, prefix=error_text(_, error, language))
        await message.reply_text(error_text(_, error, language))
        return ANSWERING
    return await record(update, context, contact, found, given)


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    """A sticker, voice, photo, location...: say what kind of answer is expected."""
    _ = tr(update, context)
    found = current(update, context)
    if found is None:
        return await lost(update, context)
    question = found.question
    assert question is not None and update.effective_message is not None
    if question.type == "text":
        await update.effective_message.reply_text(_("Please answer with text."))
        return ANSWERING
    if question.type == "number":
        await update.effective_message.reply_text(_("Please answer by typing a number."))
        return ANSWERING
    return await ask(update, context, found, prefix=_("Please choose one of the buttons below."))


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel: leaves the survey; the answers so far stay stored, /feedback resumes."""
    assert update.effective_message is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    markup = menu.keyboard(contact.role, contact.language) if contact is not None else None
    await update.effective_message.reply_text(
        _("Paused. Your answers so far are saved; send /feedback to continue later."),
        reply_markup=markup,
    )
    return ConversationHandler.END


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    # Menu buttons are not answers (a worker typing "❓ Help" wants help): like commands they
    # fall through to their own handlers, and the survey keeps its place.
    menu_buttons = menu.any_button()
    not_command = ~filters.COMMAND & ~menu_buttons
    return ConversationHandler(
        name="feedback",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler("feedback", feedback_command),
            MessageHandler(menu.button(menu.FEEDBACK), feedback_command),
            CallbackQueryHandler(start_button, pattern=f"^{START}"),
            CallbackQueryHandler(start_event_button, pattern=f"^{START_EVENT}"),
            CallbackQueryHandler(on_button, pattern=f"^{PREFIX}[atds]:"),
        ],
        states={
            ANSWERING: [
                MessageHandler(filters.TEXT & not_command, on_text),
                MessageHandler(not_command & ~filters.TEXT, on_other),
            ],
        },
        fallbacks=[CommandHandler("cancel", pause)],
    )
