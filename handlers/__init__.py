"""The bot's table of contents: every journey's handlers, in the order they get a chance.

Group -5 turns away floods; group -4 takes STOP before anything else (typed mid-conversation
it must not become an answer); group -3 only observes (reachability); group -2 ends a
conversation that another journey's command interrupts; group -1 is the driver of the journeys
built on the journey engine (handlers/driver.py, models/journeys/); group 0 holds the
conversations still built on ConversationHandler, then the catch-alls that answer whatever no
journey took. Group 1 hands a command that ended a conversation in its own words back to the
journeys (handlers/common.py).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ConversationHandler, TypeHandler

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

OWN_INTERRUPTION: set[str] = set()


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(inbound_guard(), group=-5)
    application.add_handlers(privacy.stop_handlers(), group=-4)
    application.add_handlers(common.tracking_handlers(), group=-3)
    application.add_handler(common.interrupt_handler(), group=-2)
    application.add_handler(driver.handler(), group=-1)
    # An event's check-in link (/start ev_<code>); every other /start is registration's journey.
    application.add_handler(onboarding.checkin_handler())
    # Before the other journeys: after pressing Ask or Reply, the next text is that message.
    application.add_handlers(review.handlers_list())
    # Also before: after pressing Answer, staff's next text, photo or voice note is the answer.
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
    for handler in application.handlers[0]:
        # The report steps aside in its own words, and keeps /myreports inside. (Registration,
        # a journey, holds the front itself: models/journeys/onboarding.py.)
        if isinstance(handler, ConversationHandler) and handler.name not in OWN_INTERRUPTION:
            common.interruptible(handler)
    application.add_handler(TypeHandler(Update, common.rerun), group=1)
