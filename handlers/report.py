"""Employers and workers follow their improvement reports (/myreports): the list, and
withdrawing a report not reviewed yet. Reporting, and changing a sent report, is the report
journey (models/journeys/report.py)."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.i18n import N_, format_day, shorten
from bot.render import esc
from handlers import menu
from handlers.context import Ask, handler
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


def reporter(ask: Ask) -> Contact | None:
    contact = ask.person
    if contact is None or contact.role not in imp.REPORTER_ROLES:
        return None
    return contact


# -- /myreports ------------------------------------------------------------------------------


@handler(*imp.REPORTER_ROLES, refusal=refusal, texts=error_text)
async def my_reports(ask: Ask) -> None:
    _, rt, contact = ask._, ask.runtime, ask.person
    assert contact is not None
    language = contact.language
    with rt.database.session() as session:
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
        await ask.reply(
            _("No reports yet. Press 📝 Report an improvement to send your first one!"),
            menu.keyboard(contact.role, language),
        )
        return
    head = _(
        "<b>Improvement reports of {enterprise}</b>",
        enterprise=esc(enterprise.name if enterprise else ""),
    )
    if contact.role != Role.EMPLOYER:
        head = _("<b>Your improvement reports</b>")
    await ask.reply(head + "\n\n" + "\n\n".join(lines), buttons or None)


@handler()
async def withdraw_asked(ask: Ask) -> None:
    _ = ask._
    report_id = notices.parse_id(ask.data, MY_WITHDRAW)
    contact = reporter(ask)
    found = None
    with ask.runtime.database.session() as session:
        improvement = session.get(Improvement, report_id) if report_id and contact else None
        if (
            contact is not None
            and improvement is not None
            and improvement.reporter_id == contact.id
        ):
            found = improvement.status, area_label(improvement.area_code, contact.language)
    if found is None:
        await ask.stale(alert=True)
        return
    status, area = found
    if status != ReviewStatus.SUBMITTED:
        await ask.notice(status_refusal(_, status, "withdraw"), alert=True)
        return
    await ask.notice()
    await ask.send(
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


@handler()
async def withdraw_confirmed(ask: Ask) -> None:
    _ = ask._
    if ask.data == MY_KEEP:
        await ask.notice()
        await ask.edit(_("Kept. Nothing was changed."))
        return
    report_id = notices.parse_id(ask.data, MY_WITHDRAW_YES)
    contact = reporter(ask)
    try:
        if contact is None or report_id is None:
            raise ProgrammeError("unknown_report")
        with ask.runtime.database.session() as session:
            done = imp.withdraw(session, report_id, reporter=contact, now=ask.now)
            if done.changed:
                notices.notify_withdrawn(session, done.improvement, now=ask.now)
    except ProgrammeError as error:
        status = error.details.get("status")
        if status:
            await ask.notice(status_refusal(_, status, "withdraw"), alert=True)
        else:
            await ask.stale(alert=True)
        return
    if not done.changed:
        await ask.notice(_("This report was already withdrawn."), alert=True)
        return
    await ask.notice()
    await ask.edit(_("Report #{id} was withdrawn.", id=report_id))


# -- wiring ----------------------------------------------------------------------------------


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("myreports", my_reports),
        MessageHandler(menu.button(menu.MYREPORTS), my_reports),
        CallbackQueryHandler(withdraw_asked, pattern=f"^{MY_WITHDRAW}"),
        CallbackQueryHandler(withdraw_confirmed, pattern=f"^({MY_WITHDRAW_YES}|{MY_KEEP})"),
    ]
