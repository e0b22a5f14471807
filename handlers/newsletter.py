"""/newsletter: staff get their provider's newsletter, coordinators the programme's, as an HTML
file and a PDF in Telegram, in their language; then they may broadcast it, as a PDF in each
recipient's language, to the enterprises' people who accepted good examples (the newsletter
carries other enterprises' good practices). The broadcast goes through models/broadcasts.py,
so the outbox's guarantees hold: nobody gets it twice, opted-out people get nothing."""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.i18n import LANGUAGES, format_number, translator
from bot.render import acknowledge, inline
from bot.runtime import current_contact, language_of, runtime, tr
from models import audience as audiences
from models import broadcasts
from models.outbox import Message
from models.programme import ProgrammeError
from models.tables import Contact, Role
from reports import current, newsletter, publish
from reports.figures import relative_period

log = logging.getLogger(__name__)

PREFIX = "nl:"
SEND = PREFIX + "bc:"  # nl:bc:<broadcast id>:<period key>
DROP = PREFIX + "no:"  # nl:no:<broadcast id>
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
    await offer_broadcast(update, context, contact, key, label)


def newsletter_audience(contact: Contact) -> audiences.Audience:
    return audiences.Audience(
        provider_id=contact.provider_id if contact.role == Role.STAFF else None,
        good_examples=True,
    )


def caption(language: str, label: str) -> str:
    _ = translator(language)
    return _("📰 Newsletter {period}: good practices, figures and tips from the programme.",
             period=label)  # fmt: skip


async def offer_broadcast(
    update: Update, context: ContextTypes.DEFAULT_TYPE, contact: Contact, key: str, label: str
) -> None:
    """A draft broadcast with its exact count, to confirm or drop."""
    assert update.effective_chat is not None
    _ = tr(update, context)
    language = language_of(update, context)
    with runtime(context).database.session() as session:
        draft = broadcasts.create(session, author=contact, text=caption(language, label))
        count = broadcasts.set_audience(
            session, broadcast_id=draft.id, author=contact, audience=newsletter_audience(contact)
        )  # type: ignore[arg-type]
        if not count:
            broadcasts.cancel(session, broadcast_id=draft.id, author=contact)  # type: ignore[arg-type]
    if not count:
        await context.bot.send_message(
            update.effective_chat.id,
            _("Nobody can receive the newsletter yet: no one in your enterprises has accepted "
              "good examples from other enterprises."),
        )  # fmt: skip
        return
    number = format_number(count, language)
    await context.bot.send_message(
        update.effective_chat.id,
        _("Send this newsletter as a PDF to {count} people of the enterprises? Only those who "
          "accepted good examples from other enterprises receive it, each in their language.",
          count=number),
        reply_markup=inline([
            [(_("📣 Send to {count}", count=number), f"{SEND}{draft.id}:{key}")],
            [(_("No, thanks"), f"{DROP}{draft.id}")],
        ]),
    )  # fmt: skip


async def send_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    contact = current_contact(update, context)
    if not allowed(contact):
        await refuse(update, context)
        return
    assert contact is not None
    _ = tr(update, context)
    raw_id, _sep, key = (query.data or "").removeprefix(SEND).partition(":")
    if not raw_id.isdigit() or key not in PERIODS:
        await acknowledge(query, _("This button is no longer active."))
        return
    rt = runtime(context)
    broadcast_id = int(raw_id)
    with rt.database.session() as session:
        try:
            draft = broadcasts.own_draft(session, broadcast_id, contact)
        except ProgrammeError:
            await acknowledge(query, _("This button is no longer active."))
            return
        if draft.status != broadcasts.Status.DRAFT:
            await acknowledge(query, _("This broadcast is already on its way."), show_alert=True)
            return
    await acknowledge(query)
    await query.edit_message_text(_("Preparing the newsletter…"))
    period = relative_period(key, rt.today())
    provider_id = contact.provider_id if contact.role == Role.STAFF else None
    link = publish.invitation_link(rt.settings.site_url, rt.bot_username or context.bot.username)
    folder = rt.settings.data_dir / "newsletters" / str(broadcast_id)

    def build() -> dict[str, str]:
        """One PDF per language, kept until the outbox has sent them."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        with rt.database.session() as session:
            for language in LANGUAGES:
                made = newsletter.newsletter(
                    session, period_text=period.label, language=language,
                    provider_id=provider_id, tz=rt.settings.tz, today=rt.today(), link=link,
                    media_root=rt.settings.media_dir,
                )  # fmt: skip
                paths[language] = str(newsletter.write(made, folder, html=False)[0])
        return paths

    paths = await asyncio.to_thread(build)
    label = {language: publish.month_label(period.first, language) for language in LANGUAGES}
    try:
        with rt.database.session() as session:
            total = broadcasts.confirm(
                session, broadcast_id=broadcast_id, author=contact, now=rt.now(),
                render=lambda language: Message(
                    caption(language, label[language]), document_path=paths[language]
                ),
            )  # fmt: skip
    except ProgrammeError:
        await query.edit_message_text(_("This button is no longer active."))
        return
    await query.edit_message_text(
        _("Queued: the newsletter goes to {count} people as a PDF.",
          count=format_number(total, language_of(update, context))),
    )  # fmt: skip


async def drop_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    contact = current_contact(update, context)
    _ = tr(update, context)
    raw = (query.data or "").removeprefix(DROP)
    if contact is None or not raw.isdigit():
        await acknowledge(query, _("This button is no longer active."))
        return
    with runtime(context).database.session() as session:
        try:
            broadcasts.cancel(session, broadcast_id=int(raw), author=contact)
        except ProgrammeError:
            await acknowledge(query, _("This button is no longer active."))
            return
    await acknowledge(query)
    await query.edit_message_text(_("Not sent. You can forward the PDF yourself."))


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
        CallbackQueryHandler(send_pressed, pattern=f"^{SEND}"),
        CallbackQueryHandler(drop_pressed, pattern=f"^{DROP}"),
        CallbackQueryHandler(period_pressed, pattern=f"^{PREFIX}"),
    ]
