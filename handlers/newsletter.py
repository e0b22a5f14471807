"""/newsletter: staff get their provider's newsletter, coordinators the programme's, as an HTML
file and a PDF in Telegram, in their language; then they may broadcast it, as a PDF in each
recipient's language, to the enterprises' people who accepted good examples (the newsletter
carries other enterprises' good practices). The broadcast goes through models/broadcasts.py,
so the outbox's guarantees hold: nobody gets it twice, opted-out people get nothing."""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.i18n import LANGUAGES, format_number, translator
from bot.runtime import runtime
from handlers.context import Ask, handler
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


@handler(may=allowed, refusal="staff_only")
async def newsletter_command(ask: Ask) -> None:
    buttons = []
    for key in PERIODS:
        period = relative_period(key, ask.today)
        buttons.append((publish.month_label(period.first, ask.language), PREFIX + key))
    await ask.reply(ask._("Which month should the newsletter cover?"), [buttons])


@handler(may=allowed, refusal="staff_only")
async def period_pressed(ask: Ask) -> None:
    _, rt, contact, language = ask._, ask.runtime, ask.person, ask.language
    assert contact is not None
    key = ask.data.removeprefix(PREFIX)
    if key not in PERIODS:
        await ask.stale()
        return
    period = relative_period(key, ask.today)
    provider_id = contact.provider_id if contact.role == Role.STAFF else None
    bot = ask.context.bot
    link = publish.invitation_link(rt.settings.site_url, rt.bot_username or bot.username)
    await ask.notice()
    await ask.edit(_("Preparing the newsletter…"))

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
    await bot.send_document(
        ask.chat_id,
        InputFile(publication.html.encode(), filename=f"{publication.name}.html"),
        caption=_("Newsletter {period}: open it in a browser, or forward it.", period=label),
    )
    await bot.send_document(
        ask.chat_id,
        InputFile(publication.pdf, filename=f"{publication.name}.pdf"),
        caption=_("The same newsletter as PDF, ready to print."),
    )
    await offer_broadcast(ask, contact, key, label)


def newsletter_audience(contact: Contact) -> audiences.Audience:
    return audiences.Audience(
        provider_id=contact.provider_id if contact.role == Role.STAFF else None,
        good_examples=True,
    )


def caption(language: str, label: str) -> str:
    _ = translator(language)
    return _("📰 Newsletter {period}: good practices, figures and tips from the programme.",
             period=label)  # fmt: skip


async def offer_broadcast(ask: Ask, contact: Contact, key: str, label: str) -> None:
    """A draft broadcast with its exact count, to confirm or drop."""
    _, language = ask._, ask.language
    with ask.runtime.database.session() as session:
        draft = broadcasts.create(session, author=contact, text=caption(language, label))
        count = broadcasts.set_audience(
            session, broadcast_id=draft.id, author=contact, audience=newsletter_audience(contact)
        )  # type: ignore[arg-type]
        if not count:
            broadcasts.cancel(session, broadcast_id=draft.id, author=contact)  # type: ignore[arg-type]
    if not count:
        await ask.send(
            _("Nobody can receive the newsletter yet: no one in your enterprises has accepted "
              "good examples from other enterprises."),
        )  # fmt: skip
        return
    number = format_number(count, language)
    await ask.send(
        _("Send this newsletter as a PDF to {count} people of the enterprises? Only those who "
          "accepted good examples from other enterprises receive it, each in their language.",
          count=number),
        [
            [(_("📣 Send to {count}", count=number), f"{SEND}{draft.id}:{key}")],
            [(_("No, thanks"), f"{DROP}{draft.id}")],
        ],
    )  # fmt: skip


@handler(may=allowed, refusal="staff_only")
async def send_pressed(ask: Ask) -> None:
    _, rt, contact = ask._, ask.runtime, ask.person
    assert contact is not None
    raw_id, _sep, key = ask.data.removeprefix(SEND).partition(":")
    if not raw_id.isdigit() or key not in PERIODS:
        await ask.stale()
        return
    broadcast_id = int(raw_id)
    try:
        with rt.database.session() as session:
            status = broadcasts.own_draft(session, broadcast_id, contact).status
    except ProgrammeError:
        await ask.stale()
        return
    if status != broadcasts.Status.DRAFT:
        await ask.refuse("already_sent")
        return
    await ask.notice()
    await ask.edit(_("Preparing the newsletter…"))
    period = relative_period(key, ask.today)
    provider_id = contact.provider_id if contact.role == Role.STAFF else None
    bot_username = rt.bot_username or ask.context.bot.username
    link = publish.invitation_link(rt.settings.site_url, bot_username)
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
        await ask.edit(_("This button is no longer active."))
        return
    await ask.edit(
        _("Queued: the newsletter goes to {count} people as a PDF.",
          count=format_number(total, ask.language)),
    )  # fmt: skip


@handler()
async def drop_pressed(ask: Ask) -> None:
    raw = ask.data.removeprefix(DROP)
    if ask.person is None or not raw.isdigit():
        await ask.stale()
        return
    try:
        with ask.runtime.database.session() as session:
            broadcasts.cancel(session, broadcast_id=int(raw), author=ask.person)
    except ProgrammeError:
        await ask.stale()
        return
    await ask.notice()
    await ask.edit(ask._("Not sent. You can forward the PDF yourself."))


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
