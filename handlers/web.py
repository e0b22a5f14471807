"""/web: staff and coordinators get a one-time link that signs them in to the web dashboard
(bot/dashboard/). The link works once and for minutes, so a forwarded message opens nothing."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.ext import CommandHandler, ContextTypes

from bot.dashboard.auth import sign_in_url
from bot.render import esc
from bot.runtime import current_contact, runtime, tr
from models import websignin
from models.programme import ProgrammeError, contact_by_user


async def web_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    if not websignin.may_use_dashboard(current_contact(update, context)):
        await message.reply_text(_("Sorry, this is only for programme staff."))
        return
    with rt.database.session() as session:
        try:
            link = websignin.issue(
                session, contact_by_user(session, update.effective_user.id), now=rt.now()
            )
        except ProgrammeError:
            await message.reply_text(_("Sorry, this is only for programme staff."))
            return
        url = sign_in_url(rt.settings, link.id)
    text = _(
        "Your sign-in link to the dashboard. It works once, for {minutes} minutes; do not "
        "forward it.\n\n{link}",
        minutes=websignin.LINK_MINUTES,
        link=esc(url),
    )
    # Telegram accepts only public https addresses on buttons; a local one stays in the text.
    markup = (
        InlineKeyboardMarkup([[InlineKeyboardButton(_("Open the dashboard"), url=url)]])
        if url.startswith("https://")
        else None
    )
    await message.reply_text(
        text, reply_markup=markup, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )


def handlers_list() -> list:  # type: ignore[type-arg]
    return [CommandHandler("web", web_command)]
