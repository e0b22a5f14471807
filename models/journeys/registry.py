"""Every journey the bot runs, registered with the engine once for every channel's driver."""

from __future__ import annotations

from models.journeys import engine
from models.journeys.admin import EDIT_ENTERPRISE, NEW_ENTERPRISE, NEW_PROVIDER
from models.journeys.broadcast import BROADCAST
from models.journeys.core import Journey
from models.journeys.enrolment import DECISION, ENROLMENT
from models.journeys.events import MOVE_EVENT, NEW_EVENT
from models.journeys.feedback import FEEDBACK
from models.journeys.goodpractices import EDIT_WORDING
from models.journeys.imports import IMPORT_FILE
from models.journeys.inbox import ANSWER_THREAD
from models.journeys.link import LINK_CHANNEL
from models.journeys.offer import OFFER
from models.journeys.onboarding import ONBOARDING
from models.journeys.plan import ADD_PLAN_ITEM
from models.journeys.report import REPORT
from models.journeys.review import ANSWER_QUESTION, ASK_QUESTION
from models.journeys.rights import RIGHTS
from models.journeys.rsvp import RSVP
from models.journeys.visits import VISITS

JOURNEYS: tuple[Journey, ...] = (
    ENROLMENT, ONBOARDING, DECISION,
    ASK_QUESTION, ANSWER_QUESTION, ANSWER_THREAD, FEEDBACK, NEW_PROVIDER, NEW_ENTERPRISE,
    REPORT, BROADCAST, EDIT_WORDING, NEW_EVENT, MOVE_EVENT, VISITS, ADD_PLAN_ITEM, IMPORT_FILE,
    EDIT_ENTERPRISE, RIGHTS, OFFER, LINK_CHANNEL, RSVP,
)  # fmt: skip

engine.register(JOURNEYS)
