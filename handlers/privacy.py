"""The person's rights in Telegram: /mydata, /deleteme, /stop (and STOP, DỪNG, huỷ), /privacy."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InputFile, ReplyKeyboardRemove
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, format_moment
from bot.render import esc
from bot.runtime import user_data
from handlers import newsletter
from handlers.context import MEMBERS, Ask, handler
from models import privacy
from models.programme import audit
from models.tables import ConsentPurpose, Contact, Role

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
        caption=summary(ask._, data, contact, ask.runtime.settings.tz),
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


@handler(*MEMBERS, refusal="nothing_held")
async def delete_me(ask: Ask) -> None:
    _ = ask._
    await ask.reply(
        _(
            "Do you want us to erase your personal data? Your name and Telegram account will be "
            "deleted and you will leave the programme. Improvement reports stay with your "
            "enterprise without your name; anonymous survey answers stay anonymous. This cannot "
            "be undone."
        ),
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
    await ask.edit(_("Done: your personal data has been erased. Thank you for taking part."))
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
        await ask.reply(
            ask._(
                "Stopped: we will send you no more tips, good practices or reminders. Visits you "
                "arrange still reach you. Send /start to receive messages again."
            )
        )
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


@handler()
async def toggle(ask: Ask) -> None:
    contact = ask.person
    try:
        purpose = ConsentPurpose(ask.data.removeprefix(TOGGLE))
    except ValueError:
        await ask.stale()
        return
    allowed = (ConsentPurpose.TIPS,) + (
        (ConsentPurpose.NAMING,) if contact and contact.role == Role.EMPLOYER else ()
    )
    if contact is None or contact.id is None or purpose not in allowed:
        await ask.stale()
        return
    with ask.runtime.database.session() as session:
        if purpose in privacy.active_consents(session, contact.id):
            privacy.withdraw(session, contact, purpose, now=ask.now)
        else:
            privacy.grant(session, contact, purpose, language=contact.language, now=ask.now)
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
