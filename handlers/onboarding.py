"""Registration through an invite link: /start <code> -> language -> consent -> welcome."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import LANGUAGES, Translate, translator
from bot.render import acknowledge, esc, inline
from bot.runtime import LANGUAGE_KEY, language_of, runtime, tr, user_data
from handlers import events, menu
from handlers.common import cancel
from models import privacy
from models.privacy import resume
from models.programme import (
    Registration,
    contact_by_user,
    organisation_name,
    register,
    usable_invite,
)
from models.tables import Contact, Role

CHOOSE_LANGUAGE = "onboarding.language"
CONSENT = "onboarding.consent"
PREFIX = "onb:"
LANG_DATA = PREFIX + "lang:"
AGREE = PREFIX + "agree"
AGREE_NO_TIPS = PREFIX + "agree-notips"
DECLINE = PREFIX + "decline"
INVITE_KEY = "invite"

LANGUAGE_BUTTONS = [("Tiếng Việt", LANG_DATA + "vi"), ("English", LANG_DATA + "en")]


def invalid_invite_text(_: Translate) -> str:
    return _(
        "This invite link is not valid any more. Links expire after a while and some can "
        "be used only once. Please ask your OSH service provider for a new link."
    )


def already_registered_text(_: Translate, contact: Contact, organisation: str | None) -> str:
    role = role_name(_, contact.role)
    if organisation:
        return _(
            "You are already registered as {role} of {organisation}. Send /help to see "
            "what you can do.",
            role=role,
            organisation=esc(organisation),
        )
    return _("You are already registered as {role}. Send /help to see what you can do.", role=role)


def role_name(_: Translate, role: Role) -> str:
    names = {
        Role.COORDINATOR: _("programme coordinator"),
        Role.STAFF: _("provider staff"),
        Role.EMPLOYER: _("employer"),
        Role.WORKER: _("worker"),
        Role.PARTNER: _("partner"),
    }
    return names[role]


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    assert update.effective_user is not None and update.effective_message is not None
    rt = runtime(context)
    code = context.args[0] if context.args else None
    _ = tr(update, context)
    # The event check-in QR code opens the bot with "ev_<code>" (handlers/events.py).
    if (
        code is not None
        and code.startswith(events.CHECKIN_PREFIX)
        and await events.checkin_from_start(update, context, code)
    ):
        return ConversationHandler.END
    with rt.database.session() as session:
        contact = contact_by_user(session, update.effective_user.id)
        if contact is not None and code is None and resume(session, contact, now=rt.now()):
            await update.effective_message.reply_text(
                _("Welcome back! Tips, good examples and reminders will reach you again."),
                reply_markup=menu.keyboard(contact.role, contact.language),
            )
            return ConversationHandler.END
        if contact is not None:
            organisation = organisation_name(session, contact)
            await update.effective_message.reply_text(
                already_registered_text(_, contact, organisation),
                reply_markup=menu.keyboard(contact.role, contact.language),
            )
            return ConversationHandler.END
        if code is None:
            await update.effective_message.reply_text(
                _(
                    "Hello! I help enterprises and OSH service providers follow up workplace "
                    "improvements. To join, please open the invite link or scan the QR code "
                    "that your OSH service provider gave you."
                )
            )
            return ConversationHandler.END
        if usable_invite(session, code, now=rt.now()) is None:
            await update.effective_message.reply_text(invalid_invite_text(_))
            return ConversationHandler.END
    user_data(context)[INVITE_KEY] = code
    await update.effective_message.reply_text(
        "Xin chào! Anh/Chị muốn dùng ngôn ngữ nào?\nHello! Which language would you like?",
        reply_markup=inline([LANGUAGE_BUTTONS]),
    )
    return CHOOSE_LANGUAGE


def consent_buttons(_: Translate) -> list[list[tuple[str, str]]]:
    return [
        [(_("✅ I agree"), AGREE)],
        [(_("✅ I agree, but no tips"), AGREE_NO_TIPS)],
        [(_("No, thanks"), DECLINE)],
    ]


async def choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    query = update.callback_query
    assert query is not None and query.data is not None
    language = query.data.removeprefix(LANG_DATA)
    if language not in LANGUAGES:
        await query.answer()
        return CHOOSE_LANGUAGE
    user_data(context)[LANGUAGE_KEY] = language
    _ = translator(language)
    rt = runtime(context)
    with rt.database.session() as session:
        controller = privacy.controller_for_invite(
            session, user_data(context).get(INVITE_KEY, ""), fallback=rt.settings.controller_contact
        )
    await query.answer()
    await query.edit_message_text(_("Language: English"))
    await query.message.reply_text(  # type: ignore[union-attr]
        privacy.consent_notice(_, controller),
        reply_markup=inline(consent_buttons(_)),
    )
    return CONSENT


async def agree(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None and update.effective_chat is not None
    rt = runtime(context)
    language = language_of(update, context)
    _ = translator(language)
    data = user_data(context)
    await acknowledge(query)
    with rt.database.session() as session:
        result = register(
            session,
            # Read, not taken: if the write fails the person can press again.
            code=data.get(INVITE_KEY, ""),
            telegram_user_id=user.id,
            chat_id=update.effective_chat.id,
            display_name=user.full_name,
            username=user.username,
            language=language,
            now=rt.now(),
            tips=query.data == AGREE,
        )
        contact = result.contact
        organisation = organisation_name(session, contact) if contact is not None else None
    data.pop(INVITE_KEY, None)
    # The buttons go only now: had the write failed, the person could press again.
    await query.edit_message_reply_markup(None)
    if result.outcome is Registration.INVITE_INVALID or contact is None:
        await query.message.reply_text(invalid_invite_text(_))  # type: ignore[union-attr]
        return ConversationHandler.END
    if result.outcome is Registration.ALREADY_REGISTERED:
        await query.message.reply_text(  # type: ignore[union-attr]
            already_registered_text(_, contact, organisation)
        )
        return ConversationHandler.END
    await query.message.reply_text(  # type: ignore[union-attr]
        welcome_text(_, contact.role, organisation),
        reply_markup=menu.keyboard(contact.role, language),
    )
    await menu.set_role_commands(context.bot, update.effective_chat.id, contact.role, language)
    return ConversationHandler.END


def welcome_text(_: Translate, role: Role, organisation: str | None) -> str:
    name = esc(organisation or "")
    texts = {
        Role.COORDINATOR: _(
            "Welcome, coordinator! You can add OSH service providers and invite their staff "
            "with the 🏢 Providers button."
        ),
        Role.STAFF: _(
            "Welcome to the team of {provider}! Add the enterprises you support with "
            "➕ Add an enterprise; each gets its own invite links for its employer and workers.",
            provider=name,
        ),
        Role.EMPLOYER: _(
            "Welcome, {enterprise}! Thank you for taking part. Here you can report the "
            "improvements you make, tell us how the support helped and arrange visits.",
            enterprise=name,
        ),
        Role.WORKER: _(
            "Welcome! You have joined the follow-up of {enterprise}. Your ideas about safer, "
            "easier work matter; your survey answers are anonymous.",
            enterprise=name,
        ),
        Role.PARTNER: _(
            "Welcome, partner of {provider}! You will receive invitations to programme meetings "
            "and workshops here.",
            provider=name,
        ),
    }
    return texts[role]


async def decline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    await query.answer()
    await query.edit_message_reply_markup(None)
    # Nothing personal may stay behind: not even the language or the code they came with.
    user_data(context).clear()
    await query.message.reply_text(  # type: ignore[union-attr]
        _(
            "No problem: we have not stored anything about you. If you change your mind, "
            "open the invite link again."
        )
    )
    return ConversationHandler.END


async def language_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "Vui lòng chọn ngôn ngữ bằng các nút bên dưới.\nPlease choose a language with the buttons.",
        reply_markup=inline([LANGUAGE_BUTTONS]),
    )
    return CHOOSE_LANGUAGE


async def consent_reprompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.effective_message is not None
    _ = tr(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer(_("This button is no longer active."))
    await update.effective_message.reply_text(
        _("Please answer with the buttons: do you agree?"),
        reply_markup=inline(consent_buttons(_)),
    )
    return CONSENT


async def stale_language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    assert update.callback_query is not None
    await update.callback_query.answer(tr(update, context)("This button is no longer active."))
    return CONSENT


def conversation() -> ConversationHandler:
    not_command = ~filters.COMMAND
    return ConversationHandler(
        name="onboarding",
        persistent=True,
        allow_reentry=True,
        entry_points=[CommandHandler("start", start)],
        states={
            CHOOSE_LANGUAGE: [
                CallbackQueryHandler(choose_language, pattern=f"^{LANG_DATA}"),
                CallbackQueryHandler(language_reprompt),
                MessageHandler(not_command, language_reprompt),
            ],
            CONSENT: [
                CallbackQueryHandler(agree, pattern=f"^({AGREE}|{AGREE_NO_TIPS})$"),
                CallbackQueryHandler(decline, pattern=f"^{DECLINE}$"),
                CallbackQueryHandler(stale_language_button, pattern=f"^{LANG_DATA}"),
                CallbackQueryHandler(consent_reprompt),
                MessageHandler(not_command, consent_reprompt),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )
