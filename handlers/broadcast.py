"""The progress of a broadcast, edited in place in the sender's chat.

Composing a broadcast is a journey (models/journeys/broadcast.py): its confirmation becomes the
progress message, and `refresh_progress` (a repeating job, or whoever drains the outbox) edits
it until the final report.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Bot
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot.i18n import translator
from bot.runtime import runtime
from models import broadcasts
from models.db import Database
from models.journeys.broadcast import progress_text
from models.tables import Contact

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between progress edits: well inside one edit a second per chat


async def refresh_progress(bot: Bot, database: Database, *, now: datetime) -> int:
    """Edits each sending broadcast's progress message when its counts changed, and marks the
    broadcast done (with the final report) when nothing is left to send. Returns the edits."""
    edits = 0
    with database.session() as session:
        active = broadcasts.sending(session)
        authors = {
            b.id: session.get(Contact, b.created_by_id) if b.created_by_id else None for b in active
        }
        counts = {b.id: broadcasts.progress(session, b.id) for b in active}  # type: ignore[arg-type]
    for broadcast in active:
        assert broadcast.id is not None
        shown = counts[broadcast.id]
        if shown.signature() == broadcast.progress_shown and not shown.finished:
            continue
        author = authors[broadcast.id]
        if broadcast.progress_message_id and broadcast.progress_chat_id and author is not None:
            language = author.language
            try:
                await bot.edit_message_text(
                    progress_text(translator(language), shown, language),
                    chat_id=broadcast.progress_chat_id,
                    message_id=broadcast.progress_message_id,
                )
                edits += 1
            except RetryAfter:
                continue  # the next round shows it
            except BadRequest as error:
                if "not modified" not in str(error).lower():
                    log.warning("progress of broadcast %s not shown: %s", broadcast.id, error)
            except TelegramError as error:
                log.warning("progress of broadcast %s not shown: %s", broadcast.id, error)
                continue
        with database.session() as session:
            broadcasts.record_shown(session, broadcast_id=broadcast.id, shown=shown, now=now)
    return edits


async def progress_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime(context)
    await refresh_progress(context.bot, rt.database, now=rt.now())


def schedule(application: Application) -> None:  # type: ignore[type-arg]
    """Progress edits every few seconds while the bot runs (tests call refresh_progress)."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            progress_job, interval=PROGRESS_EVERY, first=PROGRESS_EVERY, name="broadcast-progress"
        )
