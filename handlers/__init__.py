"""The bot's table of contents: every journey's handlers, in the order they get a chance.

Group -3 turns away floods; group -2 takes STOP before anything else (typed mid-conversation
it must not become an answer); group -1 only observes (reachability); group 0 holds the
journeys, then the catch-alls that answer whatever no journey took.
"""

from __future__ import annotations

from telegram.ext import Application

from bot.guard import inbound_guard
from handlers import (
    admin,
    broadcast,
    common,
    events,
    feedback,
    goodpractices,
    members,
    menu,
    newsletter,
    onboarding,
    privacy,
    report,
    review,
    summary,
    visits,
    web,
)

__all__ = ["menu", "register"]


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(inbound_guard(), group=-3)
    application.add_handlers(privacy.stop_handlers(), group=-2)
    application.add_handlers(common.tracking_handlers(), group=-1)
    application.add_handler(onboarding.conversation())
    # Before the other journeys: after pressing Ask or Reply, the next text is that message.
    application.add_handlers(review.handlers_list())
    application.add_handlers(admin.handlers_list())
    application.add_handlers(report.handlers_list())
    application.add_handler(feedback.conversation())
    application.add_handlers(events.handlers_list())
    application.add_handlers(privacy.handlers_list())
    application.add_handlers(goodpractices.handlers_list())
    application.add_handlers(broadcast.handlers_list())
    application.add_handlers(newsletter.handlers_list())
    application.add_handlers(summary.handlers_list())
    application.add_handlers(visits.handlers_list())
    application.add_handlers(web.handlers_list())
    application.add_handlers(members.handlers_list())
    broadcast.schedule(application)
    # Text that no journey took may be a short invite code typed by someone not registered.
    application.add_handler(onboarding.typed_code_handler())
    application.add_handlers(common.late_handlers())
