"""The bot's table of contents: every handler, in the order they get a chance.

Group -4 turns away floods; group -3 takes STOP before anything else (typed in the middle of a
journey it must not become an answer); group -2 only observes (reachability); group -1 is the
driver of the journeys (handlers/driver.py, models/journeys/): every conversation, and the
foreground rule that a command of something else sets the journey in front aside; group 0
holds the plain commands and one-shot buttons, then the catch-alls that answer whatever
nothing took.
"""

from __future__ import annotations

from telegram.ext import Application

from bot.guard import inbound_guard
from handlers import (
    admin,
    broadcast,
    common,
    driver,
    events,
    goodpractices,
    inbox,
    members,
    menu,
    newsletter,
    onboarding,
    plan,
    privacy,
    report,
    review,
    summary,
    web,
)

__all__ = ["menu", "register"]


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(inbound_guard(), group=-4)
    application.add_handlers(privacy.stop_handlers(), group=-3)
    application.add_handlers(common.tracking_handlers(), group=-2)
    application.add_handler(driver.handler(), group=-1)
    # An event's check-in link (/start ev_<code>); every other /start is registration's journey.
    application.add_handler(onboarding.checkin_handler())
    application.add_handlers(review.handlers_list())
    application.add_handlers(inbox.handlers_list())
    application.add_handlers(admin.handlers_list())
    application.add_handlers(report.handlers_list())
    application.add_handlers(events.handlers_list())
    application.add_handlers(privacy.handlers_list())
    application.add_handlers(goodpractices.handlers_list())
    application.add_handlers(newsletter.handlers_list())
    application.add_handlers(summary.handlers_list())
    application.add_handlers(plan.handlers_list())
    application.add_handlers(web.handlers_list())
    application.add_handlers(members.handlers_list())
    broadcast.schedule(application)
    # Text that no journey took may be a short invite code typed by someone not registered.
    application.add_handler(onboarding.typed_code_handler())
    application.add_handlers(common.late_handlers())
