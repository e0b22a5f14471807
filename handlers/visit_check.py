"""The visit checklist in the chat (models/visit_checks.py): after staff log a visit as done
(and add notes or skip them), one card per earlier improvement and plan item with three
buttons: in use, partly, not in use. For an improvement, staff may then agree with the
enterprise's own rating of the risk, rate it themselves, or skip. When every line is checked,
or staff press Finish, the one-page visit report (reports/visit_report.py) goes to the
employers through the outbox, and to the staff member here, to print or forward.

Where the checklist stands is read from the database on every press (the first line without a
check is next), so no conversation state is kept: a restart, a stale or a repeated button
changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlmodel import col, select
from telegram import CallbackQuery, InputFile, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.i18n import N_, Translate, format_number, normalise_language, shorten
from bot.render import acknowledge, esc, grid, inline
from bot.runtime import current_contact, language_of, runtime, tr
from models import content, visit_checks, visits
from models.programme import ProgrammeError
from models.tables import CheckState, Contact, Enterprise, Role, Visit
from reports import visit_report
from scheduler import notices
from scheduler.config import SchedulerConfig
from scheduler.notices import DONE

PREFIX = "vck:"
STATE = PREFIX + "s:"  # s:<visit>:<i|p><id>:<u|p|n>
RISK = PREFIX + "r:"  # r:<check>:<a(gree)|r(ate)|s(kip)>
LIKELY = PREFIX + "l:"  # l:<check>:<likelihood>
SEVERE = PREFIX + "v:"  # v:<check>:<likelihood>:<severity>
FINISH = PREFIX + "f:"  # f:<visit>
CHOOSE = PREFIX + "e:"  # e:<enterprise>: /visit's chooser
CHOOSER_LIMIT = 30

STATES = {"u": CheckState.IN_USE, "p": CheckState.PARTLY, "n": CheckState.NO_LONGER}
STATE_LABEL = {
    CheckState.IN_USE: N_("👍 In use"),
    CheckState.PARTLY: N_("🔸 Partly"),
    CheckState.NO_LONGER: N_("🚫 Not in use"),
}
LIKELIHOOD = {1: N_("unlikely"), 2: N_("possible"), 3: N_("likely")}
SEVERITY = {1: N_("minor"), 2: N_("serious"), 3: N_("very serious")}


def error_text(_: Translate, error: ProgrammeError) -> str:
    texts = {
        "visit_unknown": _("This visit no longer exists."),
        "not_allowed": _("Sorry, this button is not for you."),
        "visit_not_done": _("The checklist opens once the visit is logged as done."),
        "checklist_finished": _("The checklist of this visit is finished; the report was sent."),
        "check_unknown": _("This line is no longer on the checklist."),
        "check_done": _("This line is already checked."),
        "risk_done": _("The risk of this improvement is already checked."),
        "risk_not_rated": _("The enterprise did not rate this risk; please rate it yourself."),
        "risk_invalid": _("Please choose with the buttons."),
    }
    return texts.get(error.code, _("That did not work. Please try again."))


def numbers(raw: str | None, prefix: str, count: int) -> list[int] | None:
    parts = (raw or "").removeprefix(prefix).split(":")
    if not (raw or "").startswith(prefix) or len(parts) != count:
        return None
    if not all(part.isdigit() and len(part) < 12 for part in parts):
        return None
    return [int(part) for part in parts]


async def drop_buttons(query: CallbackQuery) -> None:
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)


async def say(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    buttons: list[list[tuple[str, str]]] | None = None,
) -> None:
    assert update.effective_chat is not None
    markup = inline(buttons) if buttons else None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


# -- the cards -------------------------------------------------------------------------------


def card_text(
    _: Translate, enterprise: Enterprise, line: visit_checks.Line, done: int, total: int,
    language: str,
) -> str:  # fmt: skip
    area = content.area(line.area_code)
    where = area.label(language) if area else ""
    kind = (
        _("reported improvement")
        if line.kind == visit_checks.IMPROVEMENT
        else _("action plan item")
    )
    return (
        _(
            "📋 <b>Checklist: {enterprise}</b> ({number} of {total})",
            enterprise=esc(enterprise.name),
            number=done + 1,
            total=total,
        )
        + f"\n\n<b>{esc(shorten(line.text, 300))}</b>\n"
        + (f"{where} · " if where else "")
        + kind
        + "\n\n"
        + _("What did you see: is it in use?")
    )


async def next_card(
    update: Update, context: ContextTypes.DEFAULT_TYPE, visit_id: int, contact: Contact | None
) -> None:
    """The next line to check, or, when none is left, the end of the checklist."""
    _ = tr(update, context)
    language = language_of(update, context)
    with runtime(context).database.session() as session:
        visit = session.get(Visit, visit_id)
        enterprise = session.get(Enterprise, visit.enterprise_id) if visit else None
        if visit is None or enterprise is None:
            await say(update, context, error_text(_, ProgrammeError("visit_unknown")))
            return
        line = visit_checks.next_line(session, visit)
        done, total = visit_checks.progress(session, visit)
    if line is None:
        await finish(update, context, visit_id, contact)
        return
    states = [
        (_(STATE_LABEL[state]), f"{STATE}{visit_id}:{line.kind}{line.id}:{code}")
        for code, state in STATES.items()
    ]
    await say(
        update,
        context,
        card_text(_, enterprise, line, done, total, language),
        [states, [(_("🏁 Finish the checklist"), f"{FINISH}{visit_id}")]],
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE, visit_id: int) -> None:
    """After a visit is logged as done: the checklist's first card (handlers/visits.py)."""
    contact = current_contact(update, context)
    await next_card(update, context, visit_id, contact)


async def state_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    raw = (query.data or "").removeprefix(STATE).split(":")
    valid = (
        len(raw) == 3
        and raw[0].isdigit()
        and raw[1][:1] in (visit_checks.IMPROVEMENT, visit_checks.PLAN_ITEM)
        and raw[1][1:].isdigit()
        and raw[2] in STATES
        and len(query.data or "") < 64
    )
    if not valid:
        await acknowledge(query, _("This button is no longer active."))
        return
    visit_id, kind, ref_id, state = int(raw[0]), raw[1][:1], int(raw[1][1:]), STATES[raw[2]]
    contact = current_contact(update, context)
    rt = runtime(context)
    try:
        with rt.database.session() as session:
            check = visit_checks.record(session, visit_id=visit_id, staff=contact, kind=kind,
                                        ref_id=ref_id, state=state, now=rt.now())  # fmt: skip
            check_id, self_score = check.id, check.self_score
    except ProgrammeError as error:
        await acknowledge(query, error_text(_, error), show_alert=True)
        if error.code in ("check_done", "checklist_finished", "check_unknown"):
            await drop_buttons(query)
        return
    await acknowledge(query)
    text = (query.message.text_html if query.message else "") or ""  # type: ignore[union-attr]
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(
            text.rsplit("\n\n", 1)[0] + "\n\n" + _("✓ {state}", state=_(STATE_LABEL[state]))
        )
    if kind != visit_checks.IMPROVEMENT:
        await next_card(update, context, visit_id, contact)
        return
    if self_score is None:
        question = _("The enterprise did not rate the risk after this improvement. Would you "
                     "rate the risk as it is now?")  # fmt: skip
        buttons = [[(_("✏️ Rate it"), f"{RISK}{check_id}:r"), (_("Skip"), f"{RISK}{check_id}:s")]]
    else:
        question = _(
            "The enterprise rated the risk now at <b>{score} of 9</b> (likelihood × severity). "
            "Do you agree, from what you saw?",
            score=self_score,
        )
        buttons = [
            [
                (_("✅ I agree"), f"{RISK}{check_id}:a"),
                (_("✏️ Rate it again"), f"{RISK}{check_id}:r"),
            ],
            [(_("Skip"), f"{RISK}{check_id}:s")],
        ]
    await say(update, context, question, buttons)


async def risk_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    raw, _sep, choice = (query.data or "").removeprefix(RISK).partition(":")
    if not raw.isdigit() or len(raw) > 11 or choice not in ("a", "r", "s"):
        await acknowledge(query, _("This button is no longer active."))
        return
    contact = current_contact(update, context)
    rt = runtime(context)
    try:
        with rt.database.session() as session:
            if choice == "a":
                check = visit_checks.rate_risk(
                    session, check_id=int(raw), staff=contact, agree=True, now=rt.now()
                )
            else:
                check = visit_checks.check_of(session, int(raw), contact)
            visit_id = check.visit_id
    except ProgrammeError as error:
        await acknowledge(query, error_text(_, error), show_alert=True)
        if error.code in ("risk_done", "checklist_finished", "check_unknown"):
            await drop_buttons(query)
        return
    await acknowledge(query)
    await drop_buttons(query)
    if choice == "r":
        await say(
            update,
            context,
            _("How likely is an accident or illness now?"),
            [[(_(LIKELIHOOD[n]), f"{LIKELY}{raw}:{n}") for n in LIKELIHOOD]],
        )
        return
    if choice == "a":
        await say(update, context, _("Noted: you agree with the enterprise's rating."))
    await next_card(update, context, visit_id, contact)


async def likelihood_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    found = numbers(query.data, LIKELY, 2)
    if found is None or found[1] not in LIKELIHOOD:
        await acknowledge(query, _("This button is no longer active."))
        return
    check_id, likelihood = found
    contact = current_contact(update, context)
    try:
        with runtime(context).database.session() as session:
            visit_checks.check_of(session, check_id, contact)
    except ProgrammeError as error:
        await acknowledge(query, error_text(_, error), show_alert=True)
        await drop_buttons(query)
        return
    await acknowledge(query)
    await drop_buttons(query)
    await say(
        update,
        context,
        _("And if it happened now, how serious could it be?"),
        [[(_(SEVERITY[n]), f"{SEVERE}{check_id}:{likelihood}:{n}") for n in SEVERITY]],
    )


async def severity_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    found = numbers(query.data, SEVERE, 3)
    if found is None:
        await acknowledge(query, _("This button is no longer active."))
        return
    check_id, likelihood, severity = found
    contact = current_contact(update, context)
    rt = runtime(context)
    try:
        with rt.database.session() as session:
            check = visit_checks.rate_risk(session, check_id=check_id, staff=contact,
                                           likelihood=likelihood, severity=severity,
                                           now=rt.now())  # fmt: skip
            visit_id, own, staff_score = check.visit_id, check.self_score, check.staff_score
    except ProgrammeError as error:
        await acknowledge(query, error_text(_, error), show_alert=True)
        await drop_buttons(query)
        return
    await acknowledge(query)
    await drop_buttons(query)
    if own is None:
        text = _("Noted: the risk now is {staff} of 9 as you rate it.", staff=staff_score)
    else:
        text = _(
            "Noted: the risk now is {staff} of 9 as you rate it, {own} of 9 as the enterprise "
            "rated it. Both are kept.",
            staff=staff_score,
            own=own,
        )
    await say(update, context, text)
    await next_card(update, context, visit_id, contact)


# -- the end: the report -----------------------------------------------------------------------


async def finish_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    found = numbers(query.data, FINISH, 1)
    if found is None:
        await acknowledge(query, _("This button is no longer active."))
        return
    await acknowledge(query)
    await drop_buttons(query)
    await finish(update, context, found[0], current_contact(update, context))


async def finish(
    update: Update, context: ContextTypes.DEFAULT_TYPE, visit_id: int, contact: Contact | None
) -> None:
    """Builds the report in every language it is read in, then closes the checklist and queues
    the report for the employers in one transaction (a second Finish, or a colleague's, finds
    it closed and queues nothing), and hands the staff member their copy."""
    _ = tr(update, context)
    rt = runtime(context)
    config = SchedulerConfig.from_settings(rt.settings)
    language = normalise_language(language_of(update, context))
    try:
        with rt.database.session() as session:
            visit = visit_checks.ready_to_finish(session, visit_id=visit_id, staff=contact)
            employers = visits.employers_of(session, visit.enterprise_id)
            done, total = visit_checks.progress(session, visit)
            data = visit_report.gather(session, visit_id, tz=config.tz)
    except ProgrammeError as error:
        await say(update, context, error_text(_, error))
        return
    languages = {normalise_language(e.language) for e in employers} | {language}
    folder = rt.settings.data_dir / "visit-reports" / str(visit_id)

    def build() -> dict[str, str]:
        return {lang: str(visit_report.write(data, lang, folder)) for lang in sorted(languages)}

    documents = await asyncio.to_thread(build)
    try:
        with rt.database.session() as session:
            visit = visit_checks.finish(session, visit_id=visit_id, staff=contact, now=rt.now())
            employers = visits.employers_of(session, visit.enterprise_id)
            employers = [e for e in employers if normalise_language(e.language) in documents]
            queued = notices.visit_report(
                session, visit, employers, documents=documents, now=rt.now(), config=config
            )
    except ProgrammeError as error:
        await say(update, context, error_text(_, error))
        return
    text = _(
        "🏁 Checklist finished: {done} of {total} lines checked.",
        done=format_number(done, language),
        total=format_number(total, language),
    )
    if queued:
        text += "\n" + _("The visit report is on its way to the employer. Here is your copy.")
    else:
        text += "\n" + _(
            "Nobody from the enterprise uses the chat: please print this report or hand it over."
        )
    path = Path(documents[language])
    assert update.effective_chat is not None
    await context.bot.send_document(
        update.effective_chat.id,
        InputFile(path.read_bytes(), filename=path.name),
        caption=text,
    )


# -- /visit: at the enterprise ------------------------------------------------------------------


async def visit_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Staff at an enterprise: continue its visit's checklist, or log its visit as done."""
    _ = tr(update, context)
    contact = current_contact(update, context)
    if contact is None or contact.role not in (Role.STAFF, Role.COORDINATOR):
        await say(update, context, _("Sorry, the visit checklist is for the providers' staff."))
        return
    wanted = "".join(context.args or [])
    if wanted.isdigit() and len(wanted) < 12:
        await offer(update, context, int(wanted), contact)
        return
    with runtime(context).database.session() as session:
        query = select(Enterprise).order_by(col(Enterprise.name))
        if contact.role == Role.STAFF:
            query = query.where(Enterprise.provider_id == contact.provider_id)
        enterprises = list(session.exec(query.limit(CHOOSER_LIMIT + 1)))
    if not enterprises:
        await say(update, context, _("You have no enterprises yet."))
        return
    text = _("Which enterprise are you visiting?")
    if len(enterprises) > CHOOSER_LIMIT:
        text += "\n" + _("More enterprises than fit here: send /visit followed by the id.")
    buttons = [(shorten(e.name, 40), f"{CHOOSE}{e.id}") for e in enterprises[:CHOOSER_LIMIT]]
    await say(update, context, text, grid(buttons, 1))


async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    found = numbers(query.data, CHOOSE, 1)
    contact = current_contact(update, context)
    if found is None or contact is None:
        await acknowledge(query, _("This button is no longer active."))
        return
    await acknowledge(query)
    await offer(update, context, found[0], contact)


async def offer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, enterprise_id: int, contact: Contact
) -> None:
    _ = tr(update, context)
    rt = runtime(context)
    try:
        with rt.database.session() as session:
            found = visit_checks.visit_to_check(
                session, enterprise_id=enterprise_id, staff=contact, now=rt.now()
            )
            enterprise = session.get(Enterprise, enterprise_id)
    except ProgrammeError as error:
        texts = {"unknown_enterprise": _("This enterprise no longer exists.")}
        await say(update, context, texts.get(error.code) or error_text(_, error))
        return
    assert enterprise is not None
    if found is None:
        await say(update, context, _("{enterprise} has no visit to log now.",
                                     enterprise=esc(enterprise.name)))  # fmt: skip
        return
    if found.done:
        assert found.visit.id is not None
        await next_card(update, context, found.visit.id, contact)
        return
    await say(
        update,
        context,
        _(
            "Log the visit to {enterprise} as done today, then go through its checklist?",
            enterprise=esc(enterprise.name),
        ),
        [[(_("✅ Yes, the visit took place"), f"{DONE}{found.visit.id}")]],
    )


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("visit", visit_command),
        CallbackQueryHandler(chosen, pattern=f"^{CHOOSE}"),
        CallbackQueryHandler(state_pressed, pattern=f"^{STATE}"),
        CallbackQueryHandler(risk_pressed, pattern=f"^{RISK}"),
        CallbackQueryHandler(likelihood_pressed, pattern=f"^{LIKELY}"),
        CallbackQueryHandler(severity_pressed, pattern=f"^{SEVERE}"),
        CallbackQueryHandler(finish_pressed, pattern=f"^{FINISH}"),
    ]
