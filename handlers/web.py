"""/web: staff and coordinators get a one-time link that signs them in to the web dashboard
(bot/dashboard/). The link works once and for minutes, so a forwarded message opens nothing."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.ext import CommandHandler

from bot.dashboard.auth import sign_in_url
from handlers.context import Ask, handler
from models import websignin
from models.programme import ProgrammeError


@handler(may=websignin.may_use_dashboard, refusal="staff_only")
async def web_command(ask: Ask) -> None:
    _, rt = ask._, ask.runtime
    try:
        with rt.database.session() as session:
            link = websignin.issue(session, ask.person_in(session), now=ask.now)
            url = sign_in_url(rt.settings, link.id)
    except ProgrammeError:
        await ask.refuse("staff_only")
        return
    text = websignin.link_text(_, url)
    # Telegram accepts only public https addresses on buttons; a local one stays in the text.
    markup = (
        InlineKeyboardMarkup([[InlineKeyboardButton(_("Open the dashboard"), url=url)]])
        if url.startswith("https://")
        else None
    )
    await ask.reply(text, markup, link_preview_options=LinkPreviewOptions(is_disabled=True))


def handlers_list() -> list:  # type: ignore[type-arg]
    return [CommandHandler("web", web_command)]
