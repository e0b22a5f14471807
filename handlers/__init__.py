"""The bot's table of contents: every journey's handlers, in the order they get a chance.

Group -1 only observes (reachability); group 0 holds the journeys, then the catch-alls that
answer whatever no journey took.
"""

from __future__ import annotations

from telegram.ext import Application

from handlers import admin, common, menu, onboarding

__all__ = ["menu", "register"]


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handlers(common.tracking_handlers(), group=-1)
    application.add_handler(onboarding.conversation())
    application.add_handlers(admin.handlers_list())
    application.add_handlers(common.late_handlers())
