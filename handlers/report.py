"""Employers and workers follow their improvement reports (/myreports): the list, and
withdrawing a report not reviewed yet. Reporting, and changing a sent report, is the report
journey (models/journeys/report.py)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler

from bot.i18n import N_, format_day, shorten
from bot.render import acknowledge, esc, inline
from bot.runtime import current_contact, language_of, runtime, tr
from handlers import menu
from models import improvements as imp
from models.journeys.report import MY_EDIT, error_text, refusal, status_refusal
from models.notices import reports as notices
from models.notices.reports import STATUS, area_label
from models.programme import ProgrammeError
from models.tables import Contact, Enterprise, Improvement, ReviewStatus, Role

MY = "myr:"
MY_WITHDRAW = MY + "wd:"
MY_WITHDRAW_YES = MY + "wdy:"
MY_KEEP = MY + "keep"
LIST_LIMIT = 20
SNIPPET = 80
# A worker's report is shown to the employer as "a worker", never by name.
SENT_BY = {
    imp.ReportedBy.WORKER: N_("(sent by a worker)"),
    imp.ReportedBy.EMPLOYER: N_("(sent by a colleague)"),
    imp.ReportedBy.SOMEONE: N_("(sent by someone at the enterprise)"),
}


def reporter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Contact | None:
    contact = current_contact(update, context)
    if contact is None or contact.role not in imp.REPORTER_ROLES:
        return None
    return contact


# -- /myreports ------------------------------------------------------------------------------


async def my_reports(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    _ = tr(update, context)
    rt = runtime(context)
    with rt.database.session() as session:
        contact = reporter(update, context)
        if contact is None:
            refused = refusal(current_contact(update, context))
            await update.effective_message.reply_text(
                error_text(_, refused, language_of(update, context))
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
    report_id = notices.parse_id(query.data, MY_WITHDRAW)
    with runtime(context).database.session() as session:
        contact = reporter(update, context)
        improvement = session.get(Improvement, report_id) if report_id else None
        if contact is None or improvement is None or improvement.reporter_id != contact.id:
            await acknowledge(query, _("This button is no longer active."), show_alert=True)
            return
        status, area = improvement.status, area_label(improvement.area_code, contact.language)
    if status != ReviewStatus.SUBMITTED:
        await acknowledge(query, status_refusal(_, status, "withdraw"), show_alert=True)
        return
    await acknowledge(query)
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id,
        _(
            "Withdraw report #{id} ({area})? Your OSH service provider will be told. This cannot "
            "be undone.",
            id=report_id,
            area=area,
        ),
        reply_markup=inline(
            [
                [
                    (_("Yes, withdraw the report"), f"{MY_WITHDRAW_YES}{report_id}"),
                    (_("No, keep it"), MY_KEEP),
                ]
            ]
        ),
    )


async def withdraw_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    rt = runtime(context)
    if query.data == MY_KEEP:
        await acknowledge(query)
        await query.edit_message_text(_("Kept. Nothing was changed."))
        return
    report_id = notices.parse_id(query.data, MY_WITHDRAW_YES)
    with rt.database.session() as session:
        contact = reporter(update, context)
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
            await acknowledge(query, text, show_alert=True)
            return
        if done.changed:
            notices.notify_withdrawn(session, done.improvement, now=rt.now())
    if not done.changed:
        await acknowledge(query, _("This report was already withdrawn."), show_alert=True)
        return
    await acknowledge(query)
    await query.edit_message_text(_("Report #{id} was withdrawn.", id=report_id))


# -- wiring ----------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("myreports", my_reports),
        MessageHandler(menu.button(menu.MYREPORTS), my_reports),
        CallbackQueryHandler(withdraw_asked, pattern=f"^{MY_WITHDRAW}"),
        CallbackQueryHandler(withdraw_confirmed, pattern=f"^({MY_WITHDRAW_YES}|{MY_KEEP})"),
    ]
