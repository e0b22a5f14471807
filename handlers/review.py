"""Provider staff review improvement reports: Verify and Good practice, on the report card's
buttons. Staff learn about a report from an outbox notice (models/notices/reports.py renders
the card and queues every notice about a report); asking the reporter a question, and the
reporter's answer, are journeys (models/journeys/review.py). Every button is checked against
the database when it is pressed: who presses it, and what state the report is in now.
"""

from __future__ import annotations

import logging

from telegram.ext import CallbackQueryHandler

from bot.i18n import format_moment
from bot.render import esc, inline
from handlers.context import Ask, handler
from models import improvements as imp
from models.notices.reports import (
    GOOD,
    VERIFY,
    notify_reporter_reviewed,
    parse_id,
    refusal_text,
    review_buttons,
)
from models.programme import ProgrammeError
from models.tables import ShareConsent

log = logging.getLogger(__name__)


@handler()
async def decide(ask: Ask) -> None:
    _, rt = ask._, ask.runtime
    decision = imp.Review.VERIFY if ask.data.startswith(VERIFY) else imp.Review.GOOD_PRACTICE
    improvement_id = parse_id(ask.data, VERIFY if decision == imp.Review.VERIFY else GOOD)
    if improvement_id is None:
        await ask.stale()
        return
    try:
        with rt.database.session() as session:
            reviewer = ask.person_in(session)
            done = imp.review(
                session, improvement_id, reviewer=reviewer, decision=decision, now=ask.now
            )
            improvement = done.improvement
            if done.changed:
                notify_reporter_reviewed(session, improvement, now=ask.now)
            status = improvement.status
            name = esc(reviewer.display_name or "—") if reviewer else "—"
            moment = format_moment(ask.now, reviewer.language if reviewer else "vi", rt.settings.tz)
            buttons = review_buttons(_, improvement)
            share_consent = improvement.share_consent
    except ProgrammeError as error:
        await ask.notice(refusal_text(_, error), alert=True)
        return
    if not done.changed:
        refused = ProgrammeError("already_reviewed", status=status)
        await ask.notice(refusal_text(_, refused), alert=True)
        return
    if decision == imp.Review.VERIFY:
        stamp = _("✅ Verified by {name}, {moment}", name=name, moment=moment)
        await ask.notice(_("Verified. Thank you!"))
    else:
        stamp = _("⭐ Marked as a good practice by {name}, {moment}", name=name, moment=moment)
        if share_consent in (ShareConsent.NAMED, ShareConsent.ANONYMOUS):
            await ask.notice(_("Marked as a good practice. It can now go to the library."))
        else:
            await ask.notice(
                _(
                    "Marked as a good practice. The enterprise did not agree to share it, so it "
                    "stays out of the library, newsletters and the website."
                ),
                alert=True,
            )
    assert ask.query is not None
    message = ask.query.message
    original = getattr(message, "text_html", None) or getattr(message, "caption_html", None)
    if original:
        await ask.edit(f"{original}\n\n{stamp}", buttons)
    else:
        await ask.query.edit_message_reply_markup(inline(buttons))


def handlers_list() -> list:  # type: ignore[type-arg]
    return [CallbackQueryHandler(decide, pattern=f"^({VERIFY}|{GOOD})")]
