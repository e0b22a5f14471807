"""Provider staff review improvement reports: Verify and Good practice, on the report card's
buttons. Staff learn about a report from an outbox notice (models/notices/reports.py renders
the card and queues every notice about a report); asking the reporter a question, and the
reporter's answer, are journeys (models/journeys/review.py). Every button is checked against
the database when it is pressed: who presses it, and what state the report is in now.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import format_moment
from bot.render import acknowledge, esc, inline
from bot.runtime import runtime, tr
from models import improvements as imp
from models.notices.reports import (
    GOOD,
    VERIFY,
    notify_reporter_reviewed,
    parse_id,
    refusal_text,
    review_buttons,
)
from models.programme import ProgrammeError, contact_by_user
from models.tables import ShareConsent

log = logging.getLogger(__name__)


async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    data = query.data or ""
    decision = imp.Review.VERIFY if data.startswith(VERIFY) else imp.Review.GOOD_PRACTICE
    improvement_id = parse_id(data, VERIFY if decision == imp.Review.VERIFY else GOOD)
    if improvement_id is None:
        await acknowledge(query, _("This button is no longer active."))
        return
    with rt.database.session() as session:
        reviewer = contact_by_user(session, update.effective_user.id)
        try:
            done = imp.review(
                session, improvement_id, reviewer=reviewer, decision=decision, now=rt.now()
            )
        except ProgrammeError as error:
            await acknowledge(query, refusal_text(_, error), show_alert=True)
            return
        improvement = done.improvement
        if not done.changed:
            await acknowledge(
                query,
                refusal_text(_, ProgrammeError("already_reviewed", status=improvement.status)),
                show_alert=True,
            )
            return
        notify_reporter_reviewed(session, improvement, now=rt.now())
        name = esc(reviewer.display_name or "—") if reviewer else "—"
        moment = format_moment(rt.now(), reviewer.language if reviewer else "vi", rt.settings.tz)
        buttons = review_buttons(_, improvement)
    if decision == imp.Review.VERIFY:
        stamp = _("✅ Verified by {name}, {moment}", name=name, moment=moment)
        await acknowledge(query, _("Verified. Thank you!"))
    else:
        stamp = _("⭐ Marked as a good practice by {name}, {moment}", name=name, moment=moment)
        if improvement.share_consent in (ShareConsent.NAMED, ShareConsent.ANONYMOUS):
            await acknowledge(query, _("Marked as a good practice. It can now go to the library."))
        else:
            await acknowledge(
                query,
                _(
                    "Marked as a good practice. The enterprise did not agree to share it, so it "
                    "stays out of the library, newsletters and the website."
                ),
                show_alert=True,
            )
    message = query.message
    original = getattr(message, "text_html", None) or getattr(message, "caption_html", None)
    if original:
        await query.edit_message_text(f"{original}\n\n{stamp}", reply_markup=inline(buttons))
    else:
        await query.edit_message_reply_markup(inline(buttons))


def handlers_list() -> list:  # type: ignore[type-arg]
    return [CallbackQueryHandler(decide, pattern=f"^({VERIFY}|{GOOD})")]
