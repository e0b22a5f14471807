"""The one place where the Telegram Application is assembled: production, demo and tests."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from datetime import datetime

import sqlalchemy.exc
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

import handlers
from bot.i18n import translator
from bot.persistence import DatabasePersistence
from bot.runtime import Runtime, language_of
from bot.settings import Settings
from models.db import Database
from models.tables import utcnow

log = logging.getLogger(__name__)

# Conversations mix buttons and typed answers per chat (per_message=False) on purpose.
warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")


class MissingToken(RuntimeError):
    """`oshbot run` without OSHBOT_TOKEN."""


def build_application(
    settings: Settings,
    *,
    database: Database | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Application:
    if not settings.token:
        raise MissingToken("OSHBOT_TOKEN is not set")
    database = database or Database(settings.database_url)
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .persistence(DatabasePersistence(database, update_interval=settings.persistence_interval))
        .rate_limiter(AIORateLimiter(max_retries=2))
        .post_init(_post_init)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application = builder.build()
    application.bot_data["runtime"] = Runtime(settings=settings, database=database, clock=clock)
    handlers.register(application)
    application.add_error_handler(_on_error)
    return application


async def _post_init(application: Application) -> None:
    runtime: Runtime = application.bot_data["runtime"]
    runtime.bot_username = application.bot.username
    await handlers.menu.set_default_commands(application.bot)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        _ = translator(language_of(update, context))
    except Exception:  # the database itself may be what failed
        _ = translator(context.application.bot_data["runtime"].settings.default_language)
    if isinstance(context.error, sqlalchemy.exc.OperationalError):
        text = _("The system is busy. Please try again in a moment.")
    else:
        text = _("Sorry, something went wrong on our side. Please try again.")
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)
