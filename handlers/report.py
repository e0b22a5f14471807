"""Employers and workers report an improvement (/report) and follow their reports (/myreports).

Ten questions, one at a time: area, the kind of improvement in that area (optional), what was
improved, photo before, photo after, cost,
workers who benefit, risk before and after (likelihood × severity), sharing; then a summary card
with Confirm, Edit (one field, then back to the card) and Cancel. Each answer is written to the
database at once (models/improvements.py), so a restart resumes at the same question and an
abandoned draft waits for the reporter; /cancel deletes the draft.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import (
    LANGUAGES,
    N_,
    Translate,
    format_day,
    format_number,
    format_vnd,
    gettext,
    shorten,
)
from bot.render import esc, grid, inline
from bot.runtime import language_of, runtime, tr, user_data
from handlers import menu, review
from handlers.common import run_next
from handlers.review import BANDS, LIKELIHOOD, SEVERITY, STATUS, area_label, card
from models import content, media, plans
from models import improvements as imp
from models.improvements import CostBand, PhotoSlot, RiskWhen, Step
from models.programme import ProgrammeError, contact_by_user
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    PeopleShown,
    Provider,
    ReviewStatus,
    Role,
    ShareConsent,
)

PREFIX = "rep:"
AREA = PREFIX + "area:"
KIND = PREFIX + "kind:"  # kind <code>, or NO_KIND
NO_KIND = KIND + "-"
NO_PHOTO = PREFIX + "nophoto:"
BAND = PREFIX + "band:"
WORKERS_YES = PREFIX + "wyes:"
WORKERS_NO = PREFIX + "wno"
LIKELY = PREFIX + "lik:"
SEVERE = PREFIX + "sev:"
SHARE = PREFIX + "share:"
PEOPLE = PREFIX + "people:"
CONFIRM = PREFIX + "ok:"
EDIT = PREFIX + "edit"
CANCEL = PREFIX + "cancel"
DONE = PREFIX + "done"
FIELD = PREFIX + "field:"
BACK = PREFIX + "back"
CONTINUE = PREFIX + "continue"
RESTART = PREFIX + "new"
PLANNED = PREFIX + "plan:"  # the report carries out planned item <id>
UNPLANNED = PREFIX + "noplan"

MY = "myr:"
MY_EDIT = MY + "edit:"
MY_WITHDRAW = MY + "wd:"
MY_WITHDRAW_YES = MY + "wdy:"
MY_KEEP = MY + "keep"

STATE = {step: f"report.{step}" for step in Step}
WORKERS_CONFIRM = "report.workers_confirm"
SEVERITY_STATE = {RiskWhen.BEFORE: "report.risk_before_severity",
                  RiskWhen.AFTER: "report.risk_after_severity"}  # fmt: skip
FIELDS = "report.fields"
PEOPLE_STATE = "report.people"
RESUME = "report.resume"
PLAN_STATE = "report.plan"

DATA = "report"
LIST_LIMIT = 20
SNIPPET = 80

FIELD_LABELS = {
    Step.AREA: N_("Area"),
    Step.KIND: N_("Kind of improvement"),
    Step.DESCRIPTION: N_("What was improved"),
    Step.PHOTO_BEFORE: N_("Photo before"),
    Step.PHOTO_AFTER: N_("Photo after"),
    Step.COST: N_("Cost"),
    Step.WORKERS: N_("Workers who benefit"),
    Step.RISK_BEFORE: N_("Risk before"),
    Step.RISK_AFTER: N_("Risk after"),
    Step.SHARE: N_("Sharing"),
}
SLOT = {Step.PHOTO_BEFORE: PhotoSlot.BEFORE, Step.PHOTO_AFTER: PhotoSlot.AFTER}
# A worker's report is shown to the employer as "a worker", never by name.
SENT_BY = {
    imp.ReportedBy.WORKER: N_("(sent by a worker)"),
    imp.ReportedBy.EMPLOYER: N_("(sent by a colleague)"),
    imp.ReportedBy.SOMEONE: N_("(sent by someone at the enterprise)"),
}
WHEN = {Step.RISK_BEFORE: RiskWhen.BEFORE, Step.RISK_AFTER: RiskWhen.AFTER}
# Refusals after which the conversation cannot go on: the report changed state elsewhere.
TERMINAL = frozenset(
    {"not_editable", "unknown_report", "not_a_reporter", "reporters_only", "not_registered",
     "unknown_enterprise"}
)  # fmt: skip


def data(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    """What the conversation remembers besides the database: which report, and the mode."""
    return user_data(context).setdefault(DATA, {})  # type: ignore[no-any-return]


def next_step(step: Step) -> Step:
    steps = list(Step)
    return steps[min(steps.index(step) + 1, len(steps) - 1)]


def following(context: ContextTypes.DEFAULT_TYPE, step: Step) -> Step:
    """After an answer: the next question, or back to the card when one field was edited."""
    return Step.SUMMARY if data(context).get("editing") else next_step(step)


def error_text(_: Translate, error: ProgrammeError, language: str) -> str:
    details = error.details
    if error.code == "text_too_long":
        return _(
            "That is too long: {length} characters, at most {limit} fit. Please shorten it and "
            "send it again.",
            length=format_number(details.get("length", 0), language),
            limit=format_number(details.get("limit", 0), language),
        )
    if error.code == "photo_too_big":
        return _(
            "This photo is too large ({size} MB). A photo can be at most {limit} MB; please "
            "send a smaller one.",
            size=format_number(round(details.get("size", 0) / 1024 / 1024, 1), language),
            limit=format_number(details.get("limit", 0) // 1024 // 1024, language),
        )
    if error.code == "cost_too_high":
        return _(
            "That is more than {limit}. Please check the amount.",
            limit=format_vnd(details.get("limit", 0), language),
        )
    if error.code == "workers_too_many":
        return _(
            "That is more than {limit} workers. Please check the number.",
            limit=format_number(details.get("limit", 0), language),
        )
    texts = {
        "text_empty": _("Please describe the improvement in words."),
        "text_too_short": _(
            "That is a little short. Please write at least {minimum} characters.",
            minimum=details.get("minimum", imp.DESCRIPTION_MIN),
        ),
        "photo_type": _("Please send a photo (JPEG or PNG), or press the button."),
        "cost_not_number": _(
            "Please type the cost in đồng, for example 500.000, 500k or 1,5 triệu, or choose "
            "a range with the buttons."
        ),
        "cost_unclear": _(
            "I am not sure about that amount. Please type it in full, for example 1.500.000, "
            "or with a unit, for example 1,5 triệu."
        ),
        "cost_negative": _(
            "A cost cannot be negative. Please type the amount, or 0 if it was free."
        ),
        "workers_not_number": _(
            "Please type the number of workers who benefit as a whole number, for example 12 "
            "(or 0)."
        ),
        "workers_negative": _("The number of workers cannot be negative. Please type it again."),
        "workers_not_whole": _("Please type a whole number of workers, for example 12."),
        "not_editable": _("This report was already reviewed, so it can no longer be changed."),
        "unknown_report": _("This report no longer exists. Send /report to start a new one."),
        "unknown_kind": _("Please choose a kind with the buttons."),
        "not_a_reporter": _(
            "Improvement reports are sent by enterprises. When one of your enterprises sends a "
            "report, it will come to you to review."
        ),
        "reporters_only": _(
            "Improvement reports are sent by the employers and workers of the enterprises "
            "taking part in the programme."
        ),
        "not_registered": _(
            "To join, please open the invite link or scan the QR code that your OSH service "
            "provider gave you."
        ),
    }
    return texts.get(error.code, _("This button is no longer active."))


def refusal(session: Any, update: Update) -> ProgrammeError:
    """Why this person cannot report: not registered, staff (who review instead), or another
    role."""
    assert update.effective_user is not None
    contact = contact_by_user(session, update.effective_user.id)
    if contact is None:
        return ProgrammeError("not_registered")
    if contact.role in (Role.STAFF, Role.COORDINATOR):
        return ProgrammeError("not_a_reporter")
    return ProgrammeError("reporters_only")


def required_reporter(session: Any, update: Update) -> Contact:
    """The reporter behind this update; refused (a ProgrammeError) for anyone else."""
    contact = reporter(session, update)
    if contact is None:
        raise ProgrammeError("not_a_reporter")
    return contact


def save_step(
    update: Update, context: ContextTypes.DEFAULT_TYPE, setter: Callable[..., Any], **fields: Any
) -> None:
    """Writes one step of this person's draft with `setter` (a models.improvements function),
    as its reporter; a ProgrammeError says why not."""
    rt = runtime(context)
    with rt.database.session() as session:
        setter(
            session,
            data(context).get("id") or 0,
            reporter=required_reporter(session, update),
            now=rt.now(),
            **fields,
        )


def reporter(session: Any, update: Update) -> Contact | None:
    assert update.effective_user is not None
    contact = contact_by_user(session, update.effective_user.id)
    if contact is None or contact.role not in imp.REPORTER_ROLES:
        return None
    return contact


async def say(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    buttons: list[list[tuple[str, str]]] | None = None,
    **kwargs: Any,
) -> None:
    assert update.effective_chat is not None
    markup = inline(buttons) if buttons else kwargs.pop("reply_markup", None)
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup, **kwargs)


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE, error: ProgrammeError) -> int:
    _ = tr(update, context)
    user_data(context).pop(DATA, None)
    if update.callback_query is not None:
        await review.acknowledge(
            update.callback_query,
        )
    await say(update, context, error_text(_, error, language_of(update, context)))
    return ConversationHandler.END


# -- the questions ---------------------------------------------------------------------------


def load(
    context: ContextTypes.DEFAULT_TYPE, update: Update
) -> tuple[Improvement | None, Contact | None, int]:
    """The report of this conversation, its reporter and the enterprise's workforce."""
    with runtime(context).database.session() as session:
        contact = reporter(session, update)
        report_id = data(context).get("id")
        improvement = session.get(Improvement, report_id) if report_id else None
        if improvement is not None and (contact is None or improvement.reporter_id != contact.id):
            improvement = None
        enterprise = (
            session.get(Enterprise, contact.enterprise_id)
            if contact and contact.enterprise_id
            else None
        )
        return improvement, contact, enterprise.workers if enterprise else 0


def question(
    _: Translate,
    step: Step,
    language: str,
    contact: Contact | None,
    workforce: int,
    area_code: str | None = None,
) -> tuple[str, list[list[tuple[str, str]]]]:
    if step == Step.AREA:
        buttons = [(a.label(language), AREA + a.code) for a in content.areas()]
        return _("Which area is your improvement about?"), grid(buttons, 2)
    if step == Step.KIND:
        found = content.kinds(area_code) if area_code else []
        kinds = [[(kind.name(language), KIND + kind.code)] for kind in found]
        return (
            _(
                "Which kind of improvement is it? Choose the closest one, or “Other / skip” if "
                "none fits."
            ),
            [*kinds, [(_("Other / skip"), NO_KIND)]],
        )
    if step == Step.DESCRIPTION:
        return (
            _(
                "What did you improve? In a few sentences: what was the problem, and what did "
                "you change? ({minimum} to {maximum} characters)",
                minimum=imp.DESCRIPTION_MIN,
                maximum=format_number(imp.DESCRIPTION_MAX, language),
            ),
            [],
        )
    if step == Step.PHOTO_BEFORE:
        return (
            _("Do you have a photo from before the change? Send it here, or press the button."),
            [[(_("🚫 No photo"), NO_PHOTO + PhotoSlot.BEFORE)]],
        )
    if step == Step.PHOTO_AFTER:
        return (
            _("And a photo after the change? Send it here, or press the button."),
            [[(_("🚫 No photo yet"), NO_PHOTO + PhotoSlot.AFTER)]],
        )
    if step == Step.COST:
        bands = [(_(BANDS[band]), BAND + band) for band in CostBand]
        return (
            _(
                "About how much did it cost? Type the amount in đồng (for example 500.000, 500k "
                "or 1,5 triệu), or choose a range."
            ),
            grid(bands, 2),
        )
    if step == Step.WORKERS:
        return (
            _(
                "How many workers benefit from it? Type a number (your enterprise has {workers} "
                "workers).",
                workers=format_number(workforce, language),
            ),
            [],
        )
    if step in WHEN:
        when = WHEN[step]
        text = (
            _("<b>Before</b> the change: how likely was it that someone got hurt or ill?")
            if when == RiskWhen.BEFORE
            else _("<b>After</b> the change: how likely is it now that someone gets hurt or ill?")
        )
        return text, [[(_(LIKELIHOOD[n]), f"{LIKELY}{when}:{n}") for n in imp.LIKELIHOODS]]
    if step == Step.SHARE:
        if contact is not None and contact.role == Role.EMPLOYER:
            options = [
                [(_("Yes, with our name"), SHARE + ShareConsent.NAMED)],
                [(_("Yes, without our name"), SHARE + ShareConsent.ANONYMOUS)],
            ]
        else:
            # Naming the enterprise in public is the employer's decision.
            options = [[(_("Yes, without the enterprise's name"), SHARE + ShareConsent.ANONYMOUS)]]
        options.append([(_("No"), SHARE + ShareConsent.NO)])
        return _("May we share this as a good practice with other enterprises?"), options
    raise ValueError(step)


QUESTIONS = [step for step in Step if step != Step.SUMMARY]


def numbered(_: Translate, step: Step, text: str) -> str:
    """A question under a header that says where the person is ("question 3/9"), as the
    surveys do. The severity question belongs to its risk step and shares its number."""
    head = "<i>{} · {}</i>".format(
        _("Improvement report"),
        _("question {number}/{total}", number=QUESTIONS.index(step) + 1, total=len(QUESTIONS)),
    )
    return f"{head}\n\n{text}"


def severity_question(_: Translate, when: RiskWhen) -> tuple[str, list[list[tuple[str, str]]]]:
    text = (
        _("And how serious could the harm have been?")
        if when == RiskWhen.BEFORE
        else _("And how serious could the harm be now?")
    )
    return text, [[(_(SEVERITY[n]), f"{SEVERE}{when}:{n}") for n in imp.SEVERITIES]]


async def ask(
    update: Update, context: ContextTypes.DEFAULT_TYPE, step: Step, hint: str | None = None
) -> str:
    """Sends the question of `step` (after a hint when the last answer was refused)."""
    if step == Step.SUMMARY:
        return await show_summary(update, context, hint=hint)
    _ = tr(update, context)
    improvement, contact, workforce = load(context, update)
    area_code = improvement.area_code if improvement is not None else None
    text, buttons = question(_, step, language_of(update, context), contact, workforce, area_code)
    text = numbered(_, step, text)
    await say(update, context, f"{hint}\n\n{text}" if hint else text, buttons)
    return STATE[step]


async def ask_severity(
    update: Update, context: ContextTypes.DEFAULT_TYPE, when: RiskWhen, hint: str | None = None
) -> str:
    _ = tr(update, context)
    text, buttons = severity_question(_, when)
    step = Step.RISK_BEFORE if when == RiskWhen.BEFORE else Step.RISK_AFTER
    text = numbered(_, step, text)
    await say(update, context, f"{hint}\n\n{text}" if hint else text, buttons)
    return SEVERITY_STATE[when]


def summary_buttons(
    _: Translate, improvement: Improvement, submitted: bool
) -> list[list[tuple[str, str]]]:
    if submitted:
        return [[(_("✏️ Change something"), EDIT), (_("✅ Done"), DONE)]]
    return [
        [(_("✅ Confirm and send"), f"{CONFIRM}{improvement.id}")],
        [(_("✏️ Edit"), EDIT), (_("✖ Cancel"), CANCEL)],
    ]


async def show_summary(
    update: Update, context: ContextTypes.DEFAULT_TYPE, hint: str | None = None
) -> str | int:
    _ = tr(update, context)
    improvement, _contact, _workforce = load(context, update)
    if improvement is None:
        return await stop(update, context, ProgrammeError("unknown_report"))
    submitted = bool(data(context).get("submitted"))
    data(context)["editing"] = False
    if not submitted:
        try:
            with runtime(context).database.session() as session:
                contact = required_reporter(session, update)
                imp.set_step(
                    session, improvement.id, reporter=contact, step=Step.SUMMARY,  # type: ignore[arg-type]
                    now=runtime(context).now(),
                )  # fmt: skip
        except ProgrammeError as error:
            return await stop(update, context, error)
    head = (
        _(
            "<b>Report #{id}</b> (sent, not reviewed yet). What would you like to change?",
            id=improvement.id,
        )
        if submitted
        else _("<b>Please check your report</b>")
    )
    text = head + "\n\n" + card(_, improvement, language_of(update, context))
    if not submitted:
        text += "\n\n" + _("Is everything right? Confirm to send it to your OSH service provider.")
    if hint:
        text = f"{hint}\n\n{text}"
    await say(update, context, text, summary_buttons(_, improvement, submitted))
    return STATE[Step.SUMMARY]


# -- starting, resuming ----------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    _ = tr(update, context)
    rt = runtime(context)
    with rt.database.session() as session:
        contact = reporter(session, update)
        if contact is None:
            return await stop(update, context, refusal(session, update))
        draft = imp.current_draft(session, contact)
    user_data(context)[DATA] = {}
    if draft is not None:
        data(context)["id"] = draft.id
        language = language_of(update, context)
        await say(
            update,
            context,
            _(
                "You have an unfinished report ({area}, started {day}). Would you like to "
                "continue it, or start a new one?",
                area=area_label(draft.area_code, language),
                day=format_day(draft.created_at.astimezone(rt.settings.tz).date(), language),
            ),
            [[(_("▶️ Continue"), CONTINUE), (_("🆕 Start a new one"), RESTART)]],
        )
        return RESUME
    intro = _(
        "Let us record an improvement your workplace has made. It takes about two minutes; "
        "/cancel stops at any time."
    )
    return await ask(update, context, Step.AREA, hint=intro)


async def resume_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    await review.acknowledge(query)
    await query.edit_message_reply_markup(None)
    rt = runtime(context)
    with rt.database.session() as session:
        contact = reporter(session, update)
        report_id = data(context).get("id")
        draft = session.get(Improvement, report_id) if report_id else None
        if contact is None or draft is None or draft.reporter_id != contact.id:
            data(context).clear()
            return await ask(update, context, Step.AREA)
        if query.data == RESTART:
            imp.discard_draft(session, draft.id, reporter=contact, media_root=rt.settings.media_dir)  # type: ignore[arg-type]
            data(context).clear()
            step = Step.AREA
        else:
            step = imp.resume_step(draft)
    if (
        step in WHEN
        and getattr(draft, f"risk_{WHEN[step]}_likelihood") is not None
        and getattr(draft, f"risk_{WHEN[step]}_severity") is None
    ):
        return await ask_severity(update, context, WHEN[step])
    return await ask(update, context, step)


async def start_edit_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    """✏️ from /myreports: change a report that was sent but not reviewed yet."""
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    report_id = review.parse_id(query.data, MY_EDIT)
    with runtime(context).database.session() as session:
        contact = reporter(session, update)
        improvement = session.get(Improvement, report_id) if report_id else None
        if contact is None or improvement is None or improvement.reporter_id != contact.id:
            await review.acknowledge(query, _("This button is no longer active."), show_alert=True)
            return ConversationHandler.END
        status = improvement.status
    if status != ReviewStatus.SUBMITTED:
        await review.acknowledge(query, status_refusal(_, status, "edit"), show_alert=True)
        return ConversationHandler.END
    await review.acknowledge(query)
    user_data(context)[DATA] = {"id": report_id, "submitted": True, "changed": False}
    return await show_summary(update, context)


def status_refusal(_: Translate, status: str, action: str) -> str:
    if status == ReviewStatus.WITHDRAWN:
        return _("This report was withdrawn.")
    if status in imp.REVIEWED:
        if action == "edit":
            return _("This report was already reviewed, so it can no longer be changed.")
        return _("This report was already reviewed, so it can no longer be withdrawn.")
    return _("This button is no longer active.")


# -- answers ---------------------------------------------------------------------------------


async def pressed(update: Update) -> str:
    """Acknowledges a button and takes its keyboard away, so that it cannot be pressed again."""
    query = update.callback_query
    assert query is not None
    await review.acknowledge(query)
    await query.edit_message_reply_markup(None)
    return query.data or ""


def mark_changed(context: ContextTypes.DEFAULT_TYPE) -> None:
    if data(context).get("submitted"):
        data(context)["changed"] = True


async def area_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    code = (update.callback_query.data or "").removeprefix(AREA)  # type: ignore[union-attr]
    if content.area(code) is None:
        return await wrong_button(update, context, Step.AREA)
    await pressed(update)
    rt = runtime(context)
    after = following(context, Step.AREA)
    try:
        with rt.database.session() as session:
            contact = required_reporter(session, update)
            if data(context).get("id") is None:
                data(context)["id"] = imp.start_draft(
                    session, reporter=contact, area_code=code, now=rt.now()
                ).id
            else:
                imp.set_area(
                    session,
                    data(context)["id"],
                    reporter=contact,
                    area_code=code,
                    now=rt.now(),
                    step=after,
                )
    except ProgrammeError as error:
        return await stop(update, context, error)
    mark_changed(context)
    # The kind belongs to the area: asked after it, also when the area was changed from the card
    # (then back to the card).
    return await ask(update, context, Step.KIND)


async def kind_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    """A kind of the report's area, or "Other / skip" (stored as no kind)."""
    chosen = (update.callback_query.data or "").removeprefix(KIND)  # type: ignore[union-attr]
    code = None if chosen == NO_KIND.removeprefix(KIND) else chosen
    _ = tr(update, context)
    after = following(context, Step.KIND)
    try:
        save_step(update, context, imp.set_kind, kind_code=code, step=after)
    except ProgrammeError as error:
        if error.code in TERMINAL:
            return await stop(update, context, error)
        return await wrong_button(update, context, Step.KIND)
    await pressed(update)
    mark_changed(context)
    if after == Step.DESCRIPTION:
        improvement, _contact, _workforce = load(context, update)
        if improvement is not None and improvement.area_code is not None:
            return await ask_planned(update, context, improvement.area_code)
    return await ask(update, context, after)


async def ask_planned(
    update: Update, context: ContextTypes.DEFAULT_TYPE, area_code: str
) -> str:
    """Before the description of a new report: is it one of the enterprise's planned items in
    this area? Asked only when there are some."""
    _ = tr(update, context)
    data(context).pop("plan_item", None)
    with runtime(context).database.session() as session:
        contact = reporter(session, update)
        items = (
            plans.open_items(session, enterprise_id=contact.enterprise_id, area_code=area_code)
            if contact is not None and contact.enterprise_id is not None
            else []
        )
    if not items:
        return await ask(update, context, Step.DESCRIPTION)
    buttons = [[(item.what[:60], f"{PLANNED}{item.id}")] for item in items[:8]]
    buttons.append([(_("No, something else"), UNPLANNED)])
    await say(update, context, _("Is this one of your planned improvements?"), buttons)
    return PLAN_STATE


async def planned_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The choice is kept with the draft and applied when the report is sent: a draft
    abandoned halfway marks nothing done."""
    chosen = review.parse_id((await pressed(update)), PLANNED)
    if chosen is not None:
        data(context)["plan_item"] = chosen
    return await ask(update, context, Step.DESCRIPTION)


async def stale_planned(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.callback_query is not None
    await review.acknowledge(
        update.callback_query, tr(update, context)("This button is no longer active.")
    )
    return PLAN_STATE


async def description_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    after = following(context, Step.DESCRIPTION)
    try:
        save_step(update, context, imp.set_description, text=message.text, step=after)
    except ProgrammeError as error:
        if error.code in TERMINAL:
            return await stop(update, context, error)
        hint = error_text(_, error, language_of(update, context))
        improvement, _c, _w = load(context, update)
        if improvement is not None and improvement.description:
            hint += "\n" + _("Until then I keep what you wrote before.")
        await message.reply_text(hint)
        return STATE[Step.DESCRIPTION]
    mark_changed(context)
    return await ask(update, context, after)


async def photo_given(update: Update, context: ContextTypes.DEFAULT_TYPE, step: Step) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    language = language_of(update, context)
    rt = runtime(context)
    slot = SLOT[step]
    if message.photo:
        size = message.photo[-1]  # Telegram lists the sizes of a photo smallest first
        file_id, unique, file_size, mime = (
            size.file_id,
            size.file_unique_id,
            size.file_size,
            "image/jpeg",
        )
    else:
        document = message.document
        assert document is not None
        file_id, unique, file_size = document.file_id, document.file_unique_id, document.file_size
        mime = document.mime_type or "application/octet-stream"
    try:
        imp.check_photo(file_size=file_size, mime_type=mime)
    except ProgrammeError as error:
        return await ask(update, context, step, hint=error_text(_, error, language))
    report_id = data(context).get("id") or 0
    try:
        telegram_file = await context.bot.get_file(file_id)
        content_bytes = bytes(await telegram_file.download_as_bytearray())
    except TelegramError:
        return await ask(
            update, context, step, hint=_("I could not receive this photo. Please send it again.")
        )
    try:
        imp.check_photo(file_size=len(content_bytes))
        # Decoded under a pixel limit and written anew: no bomb, no EXIF (GPS) kept.
        photo = await asyncio.to_thread(media.reencode, content_bytes)
    except ProgrammeError as error:
        return await ask(update, context, step, hint=error_text(_, error, language))
    relative = imp.photo_name(report_id, slot, unique, photo.mime_type)
    target = media.save(photo, rt.settings.media_dir / relative)
    after = following(context, step)
    try:
        save_step(
            update, context, imp.set_photo, slot=slot, file_id=file_id, path=relative,
            media_root=rt.settings.media_dir, step=after,
        )  # fmt: skip
    except ProgrammeError as error:
        target.unlink(missing_ok=True)
        return await stop(update, context, error)
    mark_changed(context)
    return await ask(update, context, after, hint=_("📷 Photo saved."))


async def no_photo(update: Update, context: ContextTypes.DEFAULT_TYPE, step: Step) -> str | int:
    await pressed(update)
    rt = runtime(context)
    after = following(context, step)
    try:
        save_step(
            update, context, imp.set_photo, slot=SLOT[step], file_id=None, path=None,
            media_root=rt.settings.media_dir, step=after,
        )  # fmt: skip
    except ProgrammeError as error:
        return await stop(update, context, error)
    mark_changed(context)
    return await ask(update, context, after)


async def cost_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    _ = tr(update, context)
    query = update.callback_query
    after = following(context, Step.COST)
    try:
        if query is not None:
            band_code = (query.data or "").removeprefix(BAND)
            if band_code not in {b.value for b in CostBand}:
                return await wrong_button(update, context, Step.COST)
            await pressed(update)
            values: dict[str, Any] = {"band": CostBand(band_code)}
        else:
            assert update.effective_message is not None
            values = {"cost_vnd": imp.parse_cost(update.effective_message.text)}
        save_step(update, context, imp.set_cost, step=after, **values)
    except ProgrammeError as error:
        if error.code in TERMINAL:
            return await stop(update, context, error)
        return await ask(
            update, context, Step.COST, hint=error_text(_, error, language_of(update, context))
        )
    mark_changed(context)
    return await ask(update, context, after)


async def workers_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    message = update.effective_message
    assert message is not None
    _ = tr(update, context)
    language = language_of(update, context)
    after = following(context, Step.WORKERS)
    try:
        workers = imp.parse_workers(message.text)
        save_step(update, context, imp.set_workers, workers=workers, step=after)
    except ProgrammeError as error:
        if error.code in TERMINAL:
            return await stop(update, context, error)
        if error.code == "workers_above_workforce":
            data(context)["workers"] = error.details["workers"]
            number = format_number(error.details["workers"], language)
            await message.reply_text(
                _(
                    "You wrote {number} workers, but your enterprise has {workforce}. Is "
                    "{number} right?",
                    number=number,
                    workforce=format_number(error.details["workforce"], language),
                ),
                reply_markup=inline(
                    [
                        [
                            (
                                _("Yes, {number}", number=number),
                                f"{WORKERS_YES}{error.details['workers']}",
                            )
                        ],
                        [(_("No, I will correct it"), WORKERS_NO)],
                    ]
                ),
            )
            return WORKERS_CONFIRM
        await message.reply_text(error_text(_, error, language))
        return STATE[Step.WORKERS]
    mark_changed(context)
    return await ask(update, context, after)


async def workers_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    if query.data == WORKERS_NO:
        await pressed(update)
        data(context).pop("workers", None)
        return await ask(update, context, Step.WORKERS)
    workers = review.parse_id(query.data, WORKERS_YES)
    if workers is None or workers != data(context).get("workers"):
        return await wrong_button(update, context, None)
    await pressed(update)
    after = following(context, Step.WORKERS)
    try:
        save_step(update, context, imp.set_workers, workers=workers, confirmed=True, step=after)
    except ProgrammeError as error:
        return await stop(update, context, error)
    data(context).pop("workers", None)
    mark_changed(context)
    return await ask(update, context, after)


def risk_value(query_data: str, prefix: str, when: RiskWhen) -> int | None:
    value = query_data.removeprefix(f"{prefix}{when}:")
    return int(value) if value in {"1", "2", "3"} and query_data.startswith(prefix) else None


async def likelihood_given(
    update: Update, context: ContextTypes.DEFAULT_TYPE, step: Step
) -> str | int:
    when = WHEN[step]
    value = risk_value(update.callback_query.data or "", LIKELY, when)  # type: ignore[union-attr]
    if value is None:
        return await wrong_button(update, context, step)
    await pressed(update)
    try:
        save_step(update, context, imp.set_risk, when=when, likelihood=value, step=step)
    except ProgrammeError as error:
        return await stop(update, context, error)
    return await ask_severity(update, context, when)


async def severity_given(
    update: Update, context: ContextTypes.DEFAULT_TYPE, step: Step
) -> str | int:
    when = WHEN[step]
    value = risk_value(update.callback_query.data or "", SEVERE, when)  # type: ignore[union-attr]
    if value is None:
        await review.acknowledge(
            update.callback_query, tr(update, context)("This button is no longer active.")
        )  # type: ignore[union-attr]
        return await ask_severity(update, context, when)
    await pressed(update)
    after = following(context, step)
    try:
        save_step(update, context, imp.set_risk, when=when, severity=value, step=after)
    except ProgrammeError as error:
        return await stop(update, context, error)
    mark_changed(context)
    return await ask(update, context, after)


async def share_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    code = (update.callback_query.data or "").removeprefix(SHARE)  # type: ignore[union-attr]
    if code not in {c.value for c in ShareConsent}:
        return await wrong_button(update, context, Step.SHARE)
    after = following(context, Step.SHARE)
    try:
        save_step(update, context, imp.set_share, consent=ShareConsent(code), step=after)
    except ProgrammeError as error:
        if error.code == "naming_is_for_employers":  # a forged button: not offered to workers
            return await wrong_button(update, context, Step.SHARE)
        return await stop(update, context, error)
    await pressed(update)
    mark_changed(context)
    improvement, _contact, _workforce = load(context, update)
    if improvement is not None and imp.asks_about_people(improvement):
        return await ask_people(update, context)
    return await ask(update, context, after)


async def ask_people(
    update: Update, context: ContextTypes.DEFAULT_TYPE, hint: str | None = None
) -> str:
    """Shared photos may show people: published only when nobody is shown or they agreed."""
    _ = tr(update, context)
    text = _(
        "Are there people in the photos? Photos that show people are shared only if those "
        "people agreed."
    )
    buttons = [
        [(_("No people in the photos"), PEOPLE + PeopleShown.NONE)],
        [(_("Yes, and they agreed"), PEOPLE + PeopleShown.AGREED)],
        [(_("Yes, but not asked"), PEOPLE + PeopleShown.NOT_AGREED)],
    ]
    await say(update, context, f"{hint}\n\n{text}" if hint else text, buttons)
    return PEOPLE_STATE


async def people_given(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    code = (update.callback_query.data or "").removeprefix(PEOPLE)  # type: ignore[union-attr]
    if code not in {answer.value for answer in PeopleShown}:
        return await people_reprompt(update, context)
    after = following(context, Step.SHARE)
    try:
        save_step(update, context, imp.set_people_shown, answer=PeopleShown(code), step=after)
    except ProgrammeError as error:
        return await stop(update, context, error)
    await pressed(update)
    mark_changed(context)
    return await ask(update, context, after)


async def people_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _ = tr(update, context)
    if update.callback_query is not None:
        await review.acknowledge(update.callback_query, _("This button is no longer active."))
        return await ask_people(update, context)
    return await ask_people(update, context, hint=_(HINTS["buttons"]))


# -- the summary card ------------------------------------------------------------------------


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    rt = runtime(context)
    report_id = review.parse_id(query.data, CONFIRM)
    language = language_of(update, context)
    with rt.database.session() as session:
        contact = reporter(session, update)
        try:
            if contact is None or report_id is None:
                raise ProgrammeError("unknown_report")
            done = imp.submit(session, report_id, reporter=contact, now=rt.now())
        except ProgrammeError as error:
            if error.code == "incomplete":
                await review.acknowledge(query)
                await query.edit_message_reply_markup(None)
                data(context)["editing"] = False
                return await ask(
                    update,
                    context,
                    Step(error.details["missing"][0]),
                    hint=_("One answer is still missing."),
                )
            await review.acknowledge(query, error_text(_, error, language), show_alert=True)
            return STATE[Step.SUMMARY]
        improvement = done.improvement
        planned = None
        if done.changed and contact is not None and data(context).get("plan_item"):
            planned = plans.link(
                session,
                data(context)["plan_item"],
                improvement=improvement,
                actor=contact,
                now=rt.now(),
            )
        if done.changed:
            review.notify_reviewers(
                session,
                improvement,
                media_root=rt.settings.media_dir,
                tz=rt.settings.tz,
                now=rt.now(),
            )
        assert contact is not None
        enterprise = session.get(Enterprise, improvement.enterprise_id)
        provider = session.get(Provider, enterprise.provider_id) if enterprise else None
        provider_name = provider.name if provider is not None else None
    if not done.changed:
        await review.acknowledge(query, _("This report was already sent."), show_alert=True)
        user_data(context).pop(DATA, None)
        return ConversationHandler.END
    await review.acknowledge(query)
    await query.edit_message_text(
        _("<b>✅ Report #{id} sent</b>", id=improvement.id)
        + "\n\n"
        + card(_, improvement, language)
    )
    await say(
        update,
        context,
        _(
            "Thank you! Your report went to {provider}. They may ask you a question here. "
            "Until they review it you can still change or withdraw it in 🗂 My reports.",
            provider=esc(provider_name or _("your OSH service provider")),
        ),
        reply_markup=menu.keyboard(contact.role, contact.language),
    )
    if planned is not None:
        await say(
            update,
            context,
            _(
                "🎯 In your action plan, “{what}” is now marked as done. Well done!",
                what=esc(planned.what),
            ),
        )
    user_data(context).pop(DATA, None)
    return ConversationHandler.END


async def already_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Confirm pressed again after the conversation ended (or the same update delivered twice)."""
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    report_id = review.parse_id(query.data, CONFIRM)
    with runtime(context).database.session() as session:
        contact = reporter(session, update)
        improvement = session.get(Improvement, report_id) if report_id else None
        if contact is None or improvement is None or improvement.reporter_id != contact.id:
            await review.acknowledge(query, _("This button is no longer active."))
            return
        status = improvement.status
    if status == ReviewStatus.DRAFT:
        await review.acknowledge(
            query, _("Please send /report to continue this report."), show_alert=True
        )
    elif status == ReviewStatus.WITHDRAWN:
        await review.acknowledge(query, _("This report was withdrawn."), show_alert=True)
    else:
        await review.acknowledge(query, _("This report was already sent."), show_alert=True)


async def choose_field(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    await review.acknowledge(query)
    buttons = [(_(label), FIELD + step) for step, label in FIELD_LABELS.items()]
    await query.edit_message_reply_markup(inline([*grid(buttons, 2), [(_("↩️ Back"), BACK)]]))
    return FIELDS


async def field_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    query = update.callback_query
    assert query is not None
    code = (query.data or "").removeprefix(FIELD)
    if code not in {s.value for s in FIELD_LABELS}:
        return await wrong_button(update, context, None)
    await pressed(update)
    data(context)["editing"] = True
    return await ask(update, context, Step(code))


async def back_to_summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    await review.acknowledge(query)
    improvement, _contact, _workforce = load(context, update)
    if improvement is not None:
        await query.edit_message_reply_markup(
            inline(summary_buttons(_, improvement, bool(data(context).get("submitted"))))
        )
    return STATE[Step.SUMMARY]


async def finish(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Cancel (button or /cancel): a draft is deleted; edits of a sent report are kept and,
    if there were any, staff see the report again."""
    _ = tr(update, context)
    rt = runtime(context)
    if update.callback_query is not None:
        await pressed(update)
    state = user_data(context).pop(DATA, None) or {}
    with rt.database.session() as session:
        contact = contact_by_user(session, update.effective_user.id)  # type: ignore[union-attr]
        report_id = state.get("id")
        if state.get("submitted"):
            improvement = session.get(Improvement, report_id) if report_id else None
            if (
                state.get("changed")
                and improvement is not None
                and improvement.status == ReviewStatus.SUBMITTED
            ):
                review.notify_reviewers(
                    session, improvement, media_root=rt.settings.media_dir, tz=rt.settings.tz,
                    now=rt.now(), updated=True,
                )  # fmt: skip
                text = _("Saved. Your OSH service provider will see the changes.")
            else:
                text = _("Nothing was changed.")
        elif (
            report_id
            and contact is not None
            and imp.discard_draft(
                session, report_id, reporter=contact, media_root=rt.settings.media_dir
            )
        ):
            text = _("Cancelled. Your unfinished report was deleted.")
        else:
            text = _("Cancelled. What would you like to do next?")
    markup = menu.keyboard(contact.role, contact.language) if contact is not None else None
    await say(update, context, text, reply_markup=markup)
    return ConversationHandler.END


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Another journey's command or menu button in the middle of a report. The report stops
    here (its draft stays in the database; /report continues it), because the text typed next
    belongs to that other journey and must not be taken for an answer to this one; then the
    command runs."""
    _ = tr(update, context)
    rt = runtime(context)
    state = user_data(context).pop(DATA, None) or {}
    with rt.database.session() as session:
        improvement = session.get(Improvement, state["id"]) if state.get("id") else None
        if (
            state.get("submitted")
            and state.get("changed")
            and improvement is not None
            and improvement.status == ReviewStatus.SUBMITTED
        ):
            review.notify_reviewers(
                session,
                improvement,
                media_root=rt.settings.media_dir,
                tz=rt.settings.tz,
                now=rt.now(),
                updated=True,
            )
    if improvement is not None and improvement.status == ReviewStatus.DRAFT:
        await say(update, context, _("I paused your report: it is kept, and /report continues it."))
    # What was asked runs now, as if no report had been open.
    run_next(context)
    return ConversationHandler.END


# -- wrong input -----------------------------------------------------------------------------


async def wrong_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, step: Step | None
) -> str | int:
    """A button of another question or an old message, or forged data: nothing is stored."""
    query = update.callback_query
    assert query is not None
    await review.acknowledge(query, tr(update, context)("This button is no longer active."))
    return await reask(update, context, step, hint=None)


async def reask(
    update: Update, context: ContextTypes.DEFAULT_TYPE, step: Step | None, hint: str | None
) -> str | int:
    if step is None:
        return await show_summary(update, context, hint=hint)
    return await ask(update, context, step, hint=hint)


HINTS = {
    "text": N_("Please answer with text."),
    "buttons": N_("Please choose with the buttons."),
    "photo": N_("Please send a photo, or press the button."),
    "description_photo": N_("Please describe the improvement in words first; photos come next."),
    "cost": N_("Please type the amount, or choose a range with the buttons."),
    "summary": N_("Please use the buttons under your report."),
}


def reprompt(step: Step | None, hint: str, *, state: str | None = None):  # type: ignore[no-untyped-def]
    async def _reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
        _ = tr(update, context)
        if state == WORKERS_CONFIRM:
            await say(update, context, _(hint))
            return WORKERS_CONFIRM
        if state in (RESUME, PLAN_STATE):
            await say(update, context, _(hint))
            return state
        if step in WHEN and state == SEVERITY_STATE[WHEN[step]]:
            return await ask_severity(update, context, WHEN[step], hint=_(hint))
        if step in (Step.DESCRIPTION, Step.WORKERS):
            await update.effective_message.reply_text(_(hint))  # type: ignore[union-attr]
            return STATE[step]
        return await reask(update, context, step, _(hint))

    return _reprompt


# -- /myreports ------------------------------------------------------------------------------


async def my_reports(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    _ = tr(update, context)
    rt = runtime(context)
    with rt.database.session() as session:
        contact = reporter(session, update)
        if contact is None:
            await update.effective_message.reply_text(
                error_text(_, refusal(session, update), language_of(update, context))
            )
            return
        language = contact.language
        rows = imp.reports_for(session, contact, limit=LIST_LIMIT)
        senders = imp.reported_by(session, rows, contact)
        total = imp.count_for(session, contact)
        draft = imp.current_draft(session, contact)
        enterprise = session.get(Enterprise, contact.enterprise_id)
    lines: list[str] = []
    buttons: list[list[tuple[str, str]]] = []
    for row in rows:
        moment = row.submitted_at or row.updated_at
        snippet = shorten(row.description or "", SNIPPET)
        mine = row.reporter_id == contact.id
        lines.append(
            "<b>#{}</b> {} · {} — {}\n<i>{}</i>{}".format(
                row.id,
                area_label(row.area_code, language),
                format_day(moment.astimezone(rt.settings.tz).date(), language),
                _(STATUS[ReviewStatus(row.status)]),
                esc(snippet),
                "" if mine else "\n" + _(SENT_BY[senders[row.id]]),  # type: ignore[index]
            )
        )
        if mine and row.status == ReviewStatus.SUBMITTED:
            buttons.append(
                [
                    (_("✏️ Change #{id}", id=row.id), f"{MY_EDIT}{row.id}"),
                    (_("↩️ Withdraw #{id}", id=row.id), f"{MY_WITHDRAW}{row.id}"),
                ]
            )
    if total > len(rows):
        lines.append(_("… and {count} older reports.", count=total - len(rows)))
    if draft is not None:
        lines.append(_("📝 You have an unfinished report: send /report to continue it."))
    if not rows and draft is None:
        await update.effective_message.reply_text(
            _("No reports yet. Press 📝 Report an improvement to send your first one!"),
            reply_markup=menu.keyboard(contact.role, language),
        )
        return
    head = _(
        "<b>Improvement reports of {enterprise}</b>",
        enterprise=esc(enterprise.name if enterprise else ""),
    )
    if contact.role != Role.EMPLOYER:
        head = _("<b>Your improvement reports</b>")
    await update.effective_message.reply_text(
        head + "\n\n" + "\n\n".join(lines), reply_markup=inline(buttons) if buttons else None
    )


async def withdraw_asked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    report_id = review.parse_id(query.data, MY_WITHDRAW)
    with runtime(context).database.session() as session:
        contact = reporter(session, update)
        improvement = session.get(Improvement, report_id) if report_id else None
        if contact is None or improvement is None or improvement.reporter_id != contact.id:
            await review.acknowledge(query, _("This button is no longer active."), show_alert=True)
            return
        status, area = improvement.status, area_label(improvement.area_code, contact.language)
    if status != ReviewStatus.SUBMITTED:
        await review.acknowledge(query, status_refusal(_, status, "withdraw"), show_alert=True)
        return
    await review.acknowledge(query)
    await say(
        update,
        context,
        _(
            "Withdraw report #{id} ({area})? Your OSH service provider will be told. This cannot "
            "be undone.",
            id=report_id,
            area=area,
        ),
        [
            [
                (_("Yes, withdraw the report"), f"{MY_WITHDRAW_YES}{report_id}"),
                (_("No, keep it"), MY_KEEP),
            ]
        ],
    )


async def withdraw_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    rt = runtime(context)
    if query.data == MY_KEEP:
        await review.acknowledge(query)
        await query.edit_message_text(_("Kept. Nothing was changed."))
        return
    report_id = review.parse_id(query.data, MY_WITHDRAW_YES)
    with rt.database.session() as session:
        contact = reporter(session, update)
        try:
            if contact is None or report_id is None:
                raise ProgrammeError("unknown_report")
            done = imp.withdraw(session, report_id, reporter=contact, now=rt.now())
        except ProgrammeError as error:
            status = error.details.get("status")
            text = (
                status_refusal(_, status, "withdraw")
                if status
                else _("This button is no longer active.")
            )
            await review.acknowledge(query, text, show_alert=True)
            return
        if done.changed:
            review.notify_withdrawn(session, done.improvement, now=rt.now())
    if not done.changed:
        await review.acknowledge(query, _("This report was already withdrawn."), show_alert=True)
        return
    await review.acknowledge(query)
    await query.edit_message_text(_("Report #{id} was withdrawn.", id=report_id))


# -- wiring ----------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    menu_buttons = menu.any_button()
    not_command = ~filters.COMMAND & ~menu_buttons
    text = filters.TEXT & not_command
    other = not_command & ~filters.TEXT
    pictures = (filters.PHOTO | filters.Document.ALL) & not_command
    ours = f"^{PREFIX}"
    # Commands and buttons that answer and leave the report where it is; any other starts
    # another journey and pauses the report.
    staying = filters.Regex(r"^/(help|language|myreports)(@\w+)?(\s|$)") | filters.Text(
        sorted(
            {
                gettext(lang, entry.label)
                for entry in (menu.HELP, menu.LANGUAGE, menu.MYREPORTS)
                for lang in LANGUAGES
            }
        )
    )
    foreign = (filters.COMMAND | menu_buttons) & ~staying

    def on(step: Step, handler):  # type: ignore[no-untyped-def]
        async def _on(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
            return await handler(update, context, step)  # type: ignore[no-any-return]

        return _on

    def stale(step: Step | None):  # type: ignore[no-untyped-def]
        async def _stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
            return await wrong_button(update, context, step)

        return _stale

    def photo_state(step: Step) -> list:  # type: ignore[type-arg]
        return [
            MessageHandler(pictures, on(step, photo_given)),
            CallbackQueryHandler(on(step, no_photo), pattern=f"^{NO_PHOTO}{SLOT[step]}$"),
            MessageHandler(not_command, reprompt(step, HINTS["photo"])),
            CallbackQueryHandler(stale(step), pattern=ours),
        ]

    def risk_states(step: Step) -> dict[str, list]:  # type: ignore[type-arg]
        when = WHEN[step]
        return {
            STATE[step]: [
                CallbackQueryHandler(on(step, likelihood_given), pattern=f"^{LIKELY}{when}:"),
                MessageHandler(not_command, reprompt(step, HINTS["buttons"])),
                CallbackQueryHandler(stale(step), pattern=ours),
            ],
            SEVERITY_STATE[when]: [
                CallbackQueryHandler(on(step, severity_given), pattern=f"^{SEVERE}{when}:"),
                MessageHandler(
                    not_command, reprompt(step, HINTS["buttons"], state=SEVERITY_STATE[when])
                ),
                CallbackQueryHandler(on(step, severity_given), pattern=ours),
            ],
        }

    conversation = ConversationHandler(
        name="report",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler("report", start),
            MessageHandler(menu.button(menu.REPORT), start),
            CallbackQueryHandler(start_edit_sent, pattern=f"^{MY_EDIT}"),
        ],
        states={
            RESUME: [
                CallbackQueryHandler(resume_chosen, pattern=f"^({CONTINUE}|{RESTART})$"),
                MessageHandler(not_command, reprompt(None, HINTS["buttons"], state=RESUME)),
                CallbackQueryHandler(stale(None), pattern=ours),
            ],
            STATE[Step.AREA]: [
                CallbackQueryHandler(area_chosen, pattern=f"^{AREA}"),
                MessageHandler(not_command, reprompt(Step.AREA, HINTS["buttons"])),
                CallbackQueryHandler(stale(Step.AREA), pattern=ours),
            ],
            STATE[Step.KIND]: [
                CallbackQueryHandler(kind_chosen, pattern=f"^{KIND}"),
                MessageHandler(not_command, reprompt(Step.KIND, HINTS["buttons"])),
                CallbackQueryHandler(stale(Step.KIND), pattern=ours),
            ],
            PLAN_STATE: [
                CallbackQueryHandler(planned_given, pattern=f"^({PLANNED}|{UNPLANNED})"),
                MessageHandler(not_command, reprompt(None, HINTS["buttons"], state=PLAN_STATE)),
                CallbackQueryHandler(stale_planned, pattern=ours),
            ],
            STATE[Step.DESCRIPTION]: [
                MessageHandler(text, description_given),
                MessageHandler(pictures, reprompt(Step.DESCRIPTION, HINTS["description_photo"])),
                MessageHandler(other, reprompt(Step.DESCRIPTION, HINTS["text"])),
                CallbackQueryHandler(stale(Step.DESCRIPTION), pattern=ours),
            ],
            STATE[Step.PHOTO_BEFORE]: photo_state(Step.PHOTO_BEFORE),
            STATE[Step.PHOTO_AFTER]: photo_state(Step.PHOTO_AFTER),
            STATE[Step.COST]: [
                MessageHandler(text, cost_given),
                CallbackQueryHandler(cost_given, pattern=f"^{BAND}"),
                MessageHandler(other, reprompt(Step.COST, HINTS["cost"])),
                CallbackQueryHandler(stale(Step.COST), pattern=ours),
            ],
            STATE[Step.WORKERS]: [
                MessageHandler(text, workers_given),
                MessageHandler(other, reprompt(Step.WORKERS, HINTS["text"])),
                CallbackQueryHandler(stale(Step.WORKERS), pattern=ours),
            ],
            WORKERS_CONFIRM: [
                CallbackQueryHandler(workers_confirmed, pattern=f"^({WORKERS_YES}|{WORKERS_NO})"),
                MessageHandler(text, workers_given),
                MessageHandler(
                    other, reprompt(Step.WORKERS, HINTS["buttons"], state=WORKERS_CONFIRM)
                ),
                CallbackQueryHandler(stale(Step.WORKERS), pattern=ours),
            ],
            **risk_states(Step.RISK_BEFORE),
            **risk_states(Step.RISK_AFTER),
            STATE[Step.SHARE]: [
                CallbackQueryHandler(share_given, pattern=f"^{SHARE}"),
                MessageHandler(not_command, reprompt(Step.SHARE, HINTS["buttons"])),
                CallbackQueryHandler(stale(Step.SHARE), pattern=ours),
            ],
            PEOPLE_STATE: [
                CallbackQueryHandler(people_given, pattern=f"^{PEOPLE}"),
                MessageHandler(not_command, people_reprompt),
                CallbackQueryHandler(people_reprompt, pattern=ours),
            ],
            STATE[Step.SUMMARY]: [
                CallbackQueryHandler(confirm, pattern=f"^{CONFIRM}"),
                CallbackQueryHandler(choose_field, pattern=f"^{EDIT}$"),
                CallbackQueryHandler(finish, pattern=f"^({CANCEL}|{DONE})$"),
                MessageHandler(not_command, reprompt(None, HINTS["summary"])),
                CallbackQueryHandler(stale(None), pattern=ours),
            ],
            FIELDS: [
                CallbackQueryHandler(field_chosen, pattern=f"^{FIELD}"),
                CallbackQueryHandler(back_to_summary, pattern=f"^{BACK}$"),
                CallbackQueryHandler(confirm, pattern=f"^{CONFIRM}"),
                MessageHandler(not_command, reprompt(None, HINTS["summary"])),
                CallbackQueryHandler(stale(None), pattern=ours),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", finish),
            MessageHandler(foreign, pause),
        ],
    )
    return [
        conversation,
        CallbackQueryHandler(already_sent, pattern=f"^{CONFIRM}"),
        CommandHandler("myreports", my_reports),
        MessageHandler(menu.button(menu.MYREPORTS), my_reports),
        CallbackQueryHandler(withdraw_asked, pattern=f"^{MY_WITHDRAW}"),
        CallbackQueryHandler(withdraw_confirmed, pattern=f"^({MY_WITHDRAW_YES}|{MY_KEEP})"),
    ]
