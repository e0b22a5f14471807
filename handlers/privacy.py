"""The person's rights in Telegram: /mydata, /deleteme, /stop (and STOP, DỪNG, huỷ), /privacy."""

from __future__ import annotations

import json

from telegram import InputFile, ReplyKeyboardRemove
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.runtime import user_data
from handlers import newsletter
from handlers.context import MEMBERS, Ask, handler
from models import privacy
from models.programme import audit
from models.tables import ConsentPurpose, Contact

PREFIX = "prv:"
ERASE = PREFIX + "erase"
KEEP = PREFIX + "keep"
TOGGLE = PREFIX + "toggle:"


@handler(*MEMBERS, refusal="nothing_held")
async def my_data(ask: Ask) -> None:
    contact = ask.person
    assert contact is not None
    with ask.runtime.database.session() as session:
        data = privacy.export(session, contact)
        audit(session, "contact.export", actor_id=contact.id, subject=contact)
    document = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    assert ask.message is not None
    await ask.message.reply_document(
        InputFile(document, filename="oshbot-my-data.json"),
        caption=privacy.summary(ask._, data, contact, ask.runtime.settings.tz),
    )


@handler(*MEMBERS, refusal="nothing_held")
async def delete_me(ask: Ask) -> None:
    _ = ask._
    await ask.reply(
        privacy.erase_question(_),
        [[(_("🗑 Yes, erase my data"), ERASE)], [(_("No, keep it"), KEEP)]],
    )


@handler()
async def erase_confirmed(ask: Ask) -> None:
    _ = ask._
    with ask.runtime.database.session() as session:
        contact = ask.person_in(session)
        if contact is not None:
            privacy.erase(session, contact, now=ask.now)
    if contact is None:
        await ask.stale()
        return
    newsletter.refresh_publications(ask.context)
    user_data(ask.context).clear()
    await ask.notice()
    await ask.edit(privacy.erased_text(_))
    await ask.send(
        _("If you want to take part again later, open a new invite link."), ReplyKeyboardRemove()
    )


@handler()
async def keep(ask: Ask) -> None:
    await ask.notice()
    await ask.edit(ask._("Nothing was erased."))


@handler()
async def stop(ask: Ask) -> None:
    """Runs before every journey and ends the update there: STOP typed in the middle of a
    conversation stops messages instead of becoming an answer."""
    with ask.runtime.database.session() as session:
        contact = ask.person_in(session)
        if contact is not None:
            privacy.stop(session, contact, now=ask.now)
    if contact is None:
        await ask.refuse("nothing_held")
    else:
        await ask.reply(privacy.stopped_text(ask._))
    raise ApplicationHandlerStop


@handler(*MEMBERS, refusal="nothing_held")
async def privacy_settings(ask: Ask) -> None:
    assert ask.person is not None
    text, buttons = settings_card(ask, ask.person)
    await ask.reply(text, buttons)


def settings_card(ask: Ask, contact: Contact) -> tuple[str, list[list[tuple[str, str]]]]:
    _ = ask._
    assert contact.id is not None
    with ask.runtime.database.session() as session:
        active = privacy.active_consents(session, contact.id)
    buttons = [
        [(privacy.toggle_label(_, purpose, purpose in active), TOGGLE + purpose)]
        for purpose in privacy.choosable(contact)
    ]
    return privacy.choices_text(_, contact, active), buttons


@handler()
async def toggle(ask: Ask) -> None:
    contact = ask.person
    try:
        purpose = ConsentPurpose(ask.data.removeprefix(TOGGLE))
    except ValueError:
        await ask.stale()
        return
    if contact is None:
        await ask.stale()
        return
    with ask.runtime.database.session() as session:
        toggled = privacy.toggle(session, contact, purpose, now=ask.now)
    if not toggled:
        await ask.stale()
        return
    await ask.notice(ask._("Saved."))
    text, buttons = settings_card(ask, contact)
    await ask.edit(text, buttons)


def stop_words() -> filters.BaseFilter:
    class StopWord(filters.MessageFilter):
        def filter(self, message) -> bool:  # type: ignore[no-untyped-def]
            return privacy.is_stop_word(message.text)

    return filters.TEXT & StopWord()


def stop_handlers() -> list:  # type: ignore[type-arg]
    """Registered in a group before every journey."""
    return [CommandHandler("stop", stop), MessageHandler(stop_words(), stop)]


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("mydata", my_data),
        CommandHandler("deleteme", delete_me),
        CallbackQueryHandler(erase_confirmed, pattern=f"^{ERASE}$"),
        CallbackQueryHandler(keep, pattern=f"^{KEEP}$"),
        CommandHandler("privacy", privacy_settings),
        CallbackQueryHandler(toggle, pattern=f"^{TOGGLE}"),
    ]
