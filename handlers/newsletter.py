"""/newsletter: staff get their provider's newsletter, coordinators the programme's, as an HTML
file and a PDF in Telegram, in their language."""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.render import inline
from bot.runtime import current_contact, language_of, runtime, tr
from models.tables import Contact, Role
from reports import current, newsletter, publish
from reports.summary import relative_period

log = logging.getLogger(__name__)

PREFIX = "nl:"
REBUILD_TASK = "oshbot:publications"
PERIODS = ("this_month", "last_month")


def allowed(contact: Contact | None) -> bool:
    return contact is not None and (
        contact.role == Role.COORDINATOR
        or (contact.role == Role.STAFF and contact.provider_id is not None)
    )


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = tr(update, context)("Sorry, this is only for programme staff.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def newsletter_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not allowed(current_contact(update, context)):
        await refuse(update, context)
        return
    assert update.effective_message is not None
    _ = tr(update, context)
    language = language_of(update, context)
    today = runtime(context).today()
    buttons = []
    for key in PERIODS:
        period = relative_period(key, today)
        buttons.append((publish.month_label(period.first, language), PREFIX + key))
    await update.effective_message.reply_text(
        _("Which month should the newsletter cover?"), reply_markup=inline([buttons])
    )


async def period_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    contact = current_contact(update, context)
    if not allowed(contact):
        await refuse(update, context)
        return
    assert contact is not None
    _ = tr(update, context)
    key = (query.data or "").removeprefix(PREFIX)
    if key not in PERIODS:
        await query.answer(_("This button is no longer active."))
        return
    rt = runtime(context)
    language = language_of(update, context)
    period = relative_period(key, rt.today())
    provider_id = contact.provider_id if contact.role == Role.STAFF else None
    link = publish.invitation_link(rt.settings.site_url, rt.bot_username or context.bot.username)
    await query.answer()
    await query.edit_message_text(_("Preparing the newsletter…"))

    def build() -> newsletter.Publication:
        with rt.database.session() as session:
            return newsletter.newsletter(
                session, period_text=period.label, language=language, provider_id=provider_id,
                tz=rt.settings.tz, today=rt.today(), link=link,
                media_root=rt.settings.media_dir,
            )  # fmt: skip

    # WeasyPrint takes a second or two: off the event loop, so other people get their answers.
    publication = await asyncio.to_thread(build)
    label = publish.month_label(period.first, language)
    chat = update.effective_chat.id
    await context.bot.send_document(
        chat,
        InputFile(publication.html.encode(), filename=f"{publication.name}.html"),
        caption=_("Newsletter {period}: open it in a browser, or forward it.", period=label),
    )
    await context.bot.send_document(
        chat,
        InputFile(publication.pdf, filename=f"{publication.name}.pdf"),
        caption=_("The same newsletter as PDF, ready to print."),
    )


def refresh_publications(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Withdrawn or erased content leaves the public site and newsletter now, not at the next
    daily rebuild. In the background: WeasyPrint takes seconds, and updates keep flowing."""
    rt = runtime(context)

    async def rebuild() -> None:
        try:
            await asyncio.to_thread(current.rebuild_now, rt.database, rt.settings, now=rt.now())
        except Exception:
            log.exception("rebuilding the publications failed; the daily job tries again")

    context.application.create_task(rebuild(), name=REBUILD_TASK)


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("newsletter", newsletter_command),
        CallbackQueryHandler(period_pressed, pattern=f"^{PREFIX}"),
    ]
