"""Registration through an invite link: /start <code> -> language -> consent -> welcome."""

from __future__ import annotations

from telegram import Message, Update
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
from handlers.common import anything_else, cancel
from models import privacy
from models.privacy import resume
from models.programme import (
    Registration,
    contact_by_user,
    looks_like_short_code,
    organisation_name,
    redeem_short_code,
    register,
    usable_invite,
)
from models.tables import Contact, Role

CHOOSE_LANGUAGE = "onboarding.language"
CONSENT = "onboarding.consent"
PREFIX = "onb:"
LANG_DATA = PREFIX + "lang:"
# The language buttons after a typed short code: they open the conversation (entry point).
TYPED_LANG_DATA = PREFIX + "tlang:"
AGREE = PREFIX + "agree"
AGREE_NO_TIPS = PREFIX + "agree-notips"
DECLINE = PREFIX + "decline"
INVITE_KEY = "invite"

LANGUAGE_BUTTONS = [("Tiếng Việt", LANG_DATA + "vi"), ("English", LANG_DATA + "en")]
TYPED_LANGUAGE_BUTTONS = [
    ("Tiếng Việt", TYPED_LANG_DATA + "vi"),
    ("English", TYPED_LANG_DATA + "en"),
]
LANGUAGE_PROMPT = "Xin chào! Anh/Chị muốn dùng ngôn ngữ nào?\nHello! Which language would you like?"


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
                _("Welcome back! Tips, good practices and reminders will reach you again."),
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
        user_id = update.effective_user.id
        if usable_invite(session, code, now=rt.now(), telegram_user_id=user_id) is None:
            await update.effective_message.reply_text(invalid_invite_text(_))
            return ConversationHandler.END
    user_data(context)[INVITE_KEY] = code
    await update.effective_message.reply_text(
        LANGUAGE_PROMPT, reply_markup=inline([LANGUAGE_BUTTONS])
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
    language = query.data.rpartition(":")[2]
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


# -- a short code typed instead of opening a link --------------------------------------------


class _ShortCodeShape(filters.MessageFilter):
    def filter(self, message: Message) -> bool:
        return looks_like_short_code(message.text)


def invalid_code_text(_: Translate) -> str:
    return _(
        "This code is not valid: it may be mistyped, expired or no longer in use. Please check "
        "it, or ask your OSH service provider for a new one."
    )


async def typed_code(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Someone not registered types the short code of an invite (read out at a workshop,
    printed beside the QR code): it counts as `/start <code>`. Registered after every journey,
    so that only text nothing else took can be a code."""
    assert update.effective_user is not None and update.effective_message is not None
    rt = runtime(context)
    _ = tr(update, context)
    with rt.database.session() as session:
        registered = contact_by_user(session, update.effective_user.id) is not None
        invite = None
        if not registered:
            invite = redeem_short_code(
                session,
                update.effective_message.text,
                sender_key=f"telegram:{update.effective_user.id}",
                now=rt.now(),
                telegram_user_id=update.effective_user.id,
            )
        code = invite.code if invite is not None else None
    if registered:
        await anything_else(update, context)
        return
    if code is None:
        await update.effective_message.reply_text(invalid_code_text(_))
        return
    user_data(context)[INVITE_KEY] = code
    await update.effective_message.reply_text(
        LANGUAGE_PROMPT, reply_markup=inline([TYPED_LANGUAGE_BUTTONS])
    )


async def typed_code_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    if INVITE_KEY not in user_data(context):
        assert update.callback_query is not None
        await acknowledge(
            update.callback_query, tr(update, context)("This button is no longer active.")
        )
        return None
    return await choose_language(update, context)


def typed_code_handler() -> MessageHandler:  # type: ignore[type-arg]
    return MessageHandler(filters.TEXT & ~filters.COMMAND & _ShortCodeShape(), typed_code)


def conversation() -> ConversationHandler:
    not_command = ~filters.COMMAND
    return ConversationHandler(
        name="onboarding",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler("start", start),
            CallbackQueryHandler(typed_code_language, pattern=f"^{TYPED_LANG_DATA}"),
        ],
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
