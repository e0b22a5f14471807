"""The person's rights in Telegram: /mydata, /deleteme, /stop (and STOP, DỪNG, huỷ), /privacy."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InputFile, ReplyKeyboardRemove, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, format_moment
from bot.render import esc, inline
from bot.runtime import current_contact, runtime, tr, user_data
from handlers import newsletter
from models import privacy
from models.programme import audit, contact_by_user
from models.tables import ConsentPurpose, Contact, Role

PREFIX = "prv:"
ERASE = PREFIX + "erase"
KEEP = PREFIX + "keep"
TOGGLE = PREFIX + "toggle:"


async def not_registered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _ = tr(update, context)
    text = _("We hold nothing about you: you have not joined the programme.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def my_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = current_contact(update, context)
    if contact is None:
        await not_registered(update, context)
        return
    assert update.effective_message is not None
    rt = runtime(context)
    _ = tr(update, context)
    with rt.database.session() as session:
        data = privacy.export(session, contact)
        audit(session, "contact.export", actor_id=contact.id, subject=contact)
    document = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    await update.effective_message.reply_document(
        InputFile(document, filename="oshbot-my-data.json"),
        caption=summary(_, data, contact, rt.settings.tz),
    )


def summary(_: Translate, data: dict[str, Any], contact: Contact, tz: ZoneInfo) -> str:
    consents = [c["purpose"] for c in data["consents"] if c["withdrawn_at"] is None]
    organisation = data["contact"]["organisation"]
    lines = [
        _("<b>What we hold about you</b>"),
        _("Name: {value}", value=esc(data["contact"]["name"] or "—")),
        _("Organisation: {value}", value=esc(organisation["name"] if organisation else "—")),
        _(
            "Registered: {value}",
            value=format_moment(contact.registered_at, contact.language, tz),
        ),
        _("Consents: {value}", value=", ".join(purpose_name(_, p) for p in consents) or "—"),
        _("Improvement reports: {count}", count=len(data["improvement_reports"])),
        _("Survey answers linked to you: {count}", count=len(data["survey_answers"])),
        _(
            "Messages we sent you on our own initiative: {count}",
            count=len(data["messages_sent_to_you"]),
        ),
        _("The attached file has all of it."),
    ]
    return "\n".join(lines)


def purpose_name(_: Translate, purpose: str) -> str:
    names = {
        ConsentPurpose.FOLLOWUP: _("taking part in the follow-up"),
        ConsentPurpose.TIPS: _("monthly tips and good practices"),
        ConsentPurpose.NAMING: _("naming our enterprise in good practices"),
    }
    return names.get(ConsentPurpose(purpose), purpose)


async def delete_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = current_contact(update, context)
    if contact is None:
        await not_registered(update, context)
        return
    assert update.effective_message is not None
    _ = tr(update, context)
    await update.effective_message.reply_text(
        _(
            "Do you want us to erase your personal data? Your name and Telegram account will be "
            "deleted and you will leave the programme. Improvement reports stay with your "
            "enterprise without your name; anonymous survey answers stay anonymous. This cannot "
            "be undone."
        ),
        reply_markup=inline([[(_("🗑 Yes, erase my data"), ERASE)], [(_("No, keep it"), KEEP)]]),
    )


async def erase_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    with rt.database.session() as session:
        contact = contact_by_user(session, update.effective_user.id)
        if contact is None:
            await query.answer(_("This button is no longer active."))
            return
        privacy.erase(session, contact, now=rt.now())
    newsletter.refresh_publications(context)
    user_data(context).clear()
    await query.answer()
    await query.edit_message_text(
        _("Done: your personal data has been erased. Thank you for taking part.")
    )
    await query.message.reply_text(  # type: ignore[union-attr]
        _("If you want to take part again later, open a new invite link."),
        reply_markup=ReplyKeyboardRemove(),
    )


async def keep(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    await query.answer()
    await query.edit_message_text(_("Nothing was erased."))


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every journey and ends the update there: STOP typed in the middle of a
    conversation stops messages instead of becoming an answer."""
    assert update.effective_message is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    with rt.database.session() as session:
        contact = contact_by_user(session, update.effective_user.id)
        if contact is not None:
            privacy.stop(session, contact, now=rt.now())
    if contact is None:
        await not_registered(update, context)
    else:
        await update.effective_message.reply_text(
            _(
                "Stopped: we will send you no more tips, good practices or reminders. Visits you "
                "arrange still reach you. Send /start to receive messages again."
            )
        )
    raise ApplicationHandlerStop


async def privacy_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = current_contact(update, context)
    if contact is None:
        await not_registered(update, context)
        return
    assert update.effective_message is not None
    text, buttons = settings_card(update, context, contact)
    await update.effective_message.reply_text(text, reply_markup=inline(buttons))


def settings_card(
    update: Update, context: ContextTypes.DEFAULT_TYPE, contact: Contact
) -> tuple[str, list[list[tuple[str, str]]]]:
    _ = tr(update, context)
    assert contact.id is not None
    with runtime(context).database.session() as session:
        active = privacy.active_consents(session, contact.id)
    purposes = [ConsentPurpose.TIPS]
    if contact.role == Role.EMPLOYER:
        purposes.append(ConsentPurpose.NAMING)
    lines = [_("<b>Your choices</b>")]
    buttons = []
    for purpose in purposes:
        on = purpose in active
        state = _("yes") if on else _("no")
        lines.append(f"• {purpose_name(_, purpose)}: {state}")
        name = purpose_name(_, purpose)
        if on:
            label = _("Turn off: {purpose}", purpose=name)
        else:
            label = _("Turn on: {purpose}", purpose=name)
        buttons.append([(label, TOGGLE + purpose)])
    lines.append(_("Taking part in the follow-up itself ends with /deleteme."))
    return "\n".join(lines), buttons


async def toggle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    _ = tr(update, context)
    rt = runtime(context)
    try:
        purpose = ConsentPurpose(query.data.removeprefix(TOGGLE))
    except ValueError:
        await query.answer(_("This button is no longer active."))
        return
    with rt.database.session() as session:
        contact = contact_by_user(session, update.effective_user.id)
        allowed = (ConsentPurpose.TIPS,) + (
            (ConsentPurpose.NAMING,) if contact and contact.role == Role.EMPLOYER else ()
        )
        if contact is None or purpose not in allowed:
            await query.answer(_("This button is no longer active."))
            return
        assert contact.id is not None
        if purpose in privacy.active_consents(session, contact.id):
            privacy.withdraw(session, contact, purpose, now=rt.now())
        else:
            privacy.grant(session, contact, purpose, language=contact.language, now=rt.now())
    await query.answer(_("Saved."))
    text, buttons = settings_card(update, context, contact)
    await query.edit_message_text(text, reply_markup=inline(buttons))


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
