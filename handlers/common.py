"""What works everywhere: /help, /language, /cancel, stale buttons, unknown input, and noticing
when a person blocks or unblocks the bot."""

from __future__ import annotations

from telegram import ChatMember
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import LANGUAGES, translator
from bot.runtime import LANGUAGE_KEY, user_data
from handlers import inbox, menu
from handlers.context import Ask, handler
from models.programme import mark_reachable, mark_unreachable, set_language

SET_LANGUAGE = "lang:set:"


@handler()
async def cancel(ask: Ask) -> None:
    """/cancel with no journey in front (a journey in front takes it: handlers/driver.py)."""
    _, contact = ask._, ask.person
    markup = menu.keyboard(contact.role, contact.language) if contact is not None else None
    await ask.reply(
        _("Cancelled. What would you like to do next?") if contact else _("Cancelled."), markup
    )


@handler()
async def help_command(ask: Ask) -> None:
    _, contact = ask._, ask.person
    entries = menu.MENUS[contact.role] if contact is not None else menu.UNREGISTERED
    lines = [f"/{entry.command} — {_(entry.description)}" for entry in entries]
    if contact is None:
        head = _(
            "I help enterprises and OSH service providers follow up workplace improvements. "
            "To join, open the invite link or scan the QR code from your OSH service provider."
        )
    else:
        head = _("Here is what you can do:")
    markup = menu.keyboard(contact.role, contact.language) if contact is not None else None
    await ask.reply(head + "\n\n" + "\n".join(lines), markup)


@handler()
async def language_command(ask: Ask) -> None:
    await ask.reply(
        ask._("Which language would you like?"),
        [[("Tiếng Việt", SET_LANGUAGE + "vi"), ("English", SET_LANGUAGE + "en")]],
    )


@handler()
async def language_chosen(ask: Ask) -> None:
    language = ask.data.removeprefix(SET_LANGUAGE)
    if language not in LANGUAGES:
        await ask.notice()
        return
    user_data(ask.context)[LANGUAGE_KEY] = language
    _ = translator(language)
    with ask.runtime.database.session() as session:
        contact = ask.person_in(session)
        if contact is not None:
            set_language(session, contact, language)
    await ask.notice()
    await ask.edit(_("Language: English"))
    if contact is not None:
        await ask.send(
            _("Done. I will write to you in English from now on."),
            menu.keyboard(contact.role, language),
        )
        await menu.set_role_commands(ask.context.bot, ask.chat_id, contact.role, language)


@handler()
async def stale_button(ask: Ask) -> None:
    """A button of a finished conversation, an old message, or data that was tampered with."""
    await ask.stale()


@handler()
async def unknown_command(ask: Ask) -> None:
    await ask.reply(ask._("I do not know that command. Send /help to see what you can do."))


@handler()
async def anything_else(ask: Ask) -> None:
    """A message outside any conversation: text, a photo or a voice note from an employer or
    worker is offered to their provider (handlers/inbox.py); anything else points to the menu
    instead of staying silent."""
    _, contact = ask._, ask.person
    if contact is None:
        text = _(
            "To join, please open the invite link or scan the QR code that your OSH service "
            "provider gave you."
        )
        await ask.reply(text)
        return
    if inbox.offers(ask):
        # An employer's or worker's own words go to their provider, if they say so.
        await inbox.offer(ask.update, ask.context)
        return
    await ask.reply(
        _("Please choose from the menu below, or send /help."),
        menu.keyboard(contact.role, contact.language),
    )


@handler()
async def reachability(ask: Ask) -> None:
    """Blocking the bot makes the person unreachable before the next broadcast fails on them."""
    change = ask.update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    with ask.runtime.database.session() as session:
        if change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT):
            mark_unreachable(session, change.from_user.id, now=ask.now)
            return
        contact = ask.person_in(session)
        if contact is not None:
            mark_reachable(session, contact, chat_id=change.chat.id)


@handler()
async def seen(ask: Ask) -> None:
    """Any message from a registered person proves that the bot can reach them again."""
    if ask.update.effective_chat is None or ask.person is None:
        return
    # The lookup is remembered for the journey that handles this update next.
    if ask.person.unreachable_at is not None:
        with ask.runtime.database.session() as session:
            contact = ask.person_in(session)
            if contact is not None:
                mark_reachable(session, contact, chat_id=ask.chat_id)


def late_handlers() -> list:  # type: ignore[type-arg]
    """Handlers that answer what no journey took; registered after every journey."""
    return [
        CommandHandler("help", help_command),
        MessageHandler(menu.button(menu.HELP), help_command),
        CommandHandler("language", language_command),
        MessageHandler(menu.button(menu.LANGUAGE), language_command),
        CallbackQueryHandler(language_chosen, pattern=f"^{SET_LANGUAGE}"),
        CommandHandler("cancel", cancel),
        MessageHandler(filters.COMMAND, unknown_command),
        CallbackQueryHandler(stale_button),
        MessageHandler(filters.ALL, anything_else),
    ]


def tracking_handlers() -> list:  # type: ignore[type-arg]
    return [
        ChatMemberHandler(reachability, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.ALL, seen),
    ]
