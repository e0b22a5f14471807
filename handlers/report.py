"""Employers and workers follow their improvement reports (/myreports): the list, and
withdrawing a report not reviewed yet. Reporting, and changing a sent report, is the report
journey (models/journeys/report.py)."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from handlers import menu
from handlers.context import Ask, handler
from models import improvements as imp
from models.journeys.report import MY_EDIT, error_text, refusal, status_refusal
from models.notices import reports as notices
from models.notices.reports import area_label
from models.programme import ProgrammeError
from models.tables import Contact, Improvement, ReviewStatus

MY = "myr:"
MY_WITHDRAW = MY + "wd:"
MY_WITHDRAW_YES = MY + "wdy:"
MY_KEEP = MY + "keep"


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
    with rt.database.session() as session:
        listed = notices.my_reports(session, _, contact, rt.settings.tz)
    if not listed.text:
        await ask.reply(notices.no_reports_text(_), menu.keyboard(contact.role, contact.language))
        return
    buttons = [
        [
            (_("✏️ Change #{id}", id=report_id), f"{MY_EDIT}{report_id}"),
            (_("↩️ Withdraw #{id}", id=report_id), f"{MY_WITHDRAW}{report_id}"),
        ]
        for report_id in listed.changeable
    ]
    await ask.reply(listed.text, buttons or None)


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
