"""One catalogue of what the person is told when a step cannot take their answer: every
journey's validation raises a `ProgrammeError` with a code (and details), and the text comes
from here, in the person's language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Translate, format_day, format_moment, format_number
from models.programme import ProgrammeError

STALE = "stale"  # an action of an earlier step, or one that no longer means anything
# Asked before anyone has chosen a language, so in both.
CHOOSE_LANGUAGE = (
    "Vui lòng chọn ngôn ngữ bằng các nút bên dưới.\nPlease choose a language with the buttons."
)


def error_text(
    _: Translate, error: ProgrammeError, language: str, *, tz: ZoneInfo | None = None
) -> str:
    """`tz`: the programme's time zone, for the errors that name a moment."""
    details = error.details
    limit = format_number(details.get("limit", 0), language)
    length = format_number(details.get("length", 0), language)
    too_long = _(
        "That is too long: {length} characters, at most {limit} fit. Please shorten it.",
        length=length, limit=limit,
    )  # fmt: skip
    training = details.get("training")
    texts = {
        STALE: _("This button is no longer active."),
        "text_expected": _("Please answer with text."),
        "choose_button": _("Please choose one of the buttons below."),
        "name_too_short": _("The name is too short. Please type at least 2 characters."),
        "name_too_long": _(
            "The name is too long: at most {limit} characters, please.", limit=limit
        ),
        "workers_not_number": _("Please type the number of workers as a whole number, e.g. 25."),
        "workers_too_few": _("An enterprise has at least 1 worker. Please type the number again."),
        "workers_too_many": _(
            "That is more than {limit} workers. Please check the number.", limit=limit
        ),
        "date_invalid": _("Please type the date as day/month/year, e.g. 15/03/2026."),
        "date_in_future": _(
            "That date is in the future. Please type the date the training took place."
        ),
        "date_too_old": _("That date is more than 10 years ago. Please check it."),
        "unknown_province": _("I could not find that province. Please choose one of the buttons."),
        "unknown_sector": _("Please choose a sector with the buttons."),
        "unknown_provider": _("That provider no longer exists."),
        "unknown_enterprise": _("That enterprise no longer exists."),
        "archived": _("This enterprise is archived. Restore it from its page first."),
        "not_archived": _("This enterprise is not archived (any more)."),
        "save_or_cancel": _("Please press ✅ Save or ✖ Cancel."),
        "staff_only": _("Sorry, this is only for programme staff."),
        "inbox_staff_only": _("Sorry, the inbox is for the staff of OSH service providers."),
        "employers_progress": _(
            "Progress figures are for employers of the enterprises in the programme."
        ),
        "join_first": _(
            "To join, please open the invite link or scan the QR code that your OSH service "
            "provider gave you."
        ),
        "plan_roles": _("Sorry, the action plan is only for employers and their providers."),
        "nothing_held": _("We hold nothing about you: you have not joined the programme."),
        # A broadcast (models/journeys/broadcast.py).
        "text_empty": _("Please type the text of the message."),
        "broadcast_too_long": _(
            "That is {length} characters; at most {limit} fit (a photo's caption is shorter). "
            "Please shorten it.",
            length=length,
            limit=limit,
        ),
        "library_readers": _(
            "The good-practice library is for enterprises and staff taking part in the programme."
        ),
        "not_in_library": _("This good practice is no longer in the library."),
        "no_audience": _("Please choose who should receive it first."),
        "already_sent": _("This broadcast is already on its way."),
        # A good practice's public wording (models/journeys/goodpractices.py).
        "wording_expected": _("Please type the new wording, or /cancel."),
        "wording_too_short": _(
            "That is too short: please write at least {limit} characters.", limit=limit
        ),
        "wording_too_long": _("That is too long: at most {limit} characters, please.", limit=limit),
        "not_your_entry": _("Only staff of the enterprise's provider can change this entry."),
        # events (models/events.py, models/journeys/events.py)
        "title_too_short": _("The title is too short. Please type at least 3 characters."),
        "title_too_long": _(
            "The title is too long: at most {limit} characters, please.", limit=limit
        ),
        "place_too_short": _("Please type the place: a name or an address."),
        "place_too_long": _(
            "The place is too long: at most {limit} characters, please.", limit=limit
        ),
        "place_expected": _("Please type the place, or send a location pin."),
        "pin_or_skip": _("Please send a location pin, or press Skip."),
        "agenda_too_short": _("The agenda is too short. Type a few lines, or press Skip."),
        "agenda_too_long": _(
            "The agenda is too long: at most {limit} characters, please.", limit=limit
        ),
        "location_invalid": _("That location pin cannot be read. Please send another one."),
        "moment_invalid": _(
            "Please type the date and time as day/month/year hour:minute, e.g. 20/03/2027 14:00."
        ),
        "moment_in_past": _("That time has already passed. Please type a time in the future."),
        "moment_too_far": _("That is more than two years ahead. Please check the year."),
        "moment_unchanged": _("That is the time the event already has."),
        "use_buttons": _("Please use the buttons above."),
        "create_or_cancel": _("Please press ✅ Create and send invitations, or ✖ Cancel."),
        "move_or_cancel": _("Please press ✅ Move it, or ✖ Cancel."),
        "unknown_event": _("That event no longer exists."),
        "not_allowed": _("Sorry, this is only for the organisers of this event."),
        "event_cancelled": _("This event has been cancelled."),
        "event_started": _("The event has already started, so answers are closed."),
        "not_invited": _("This invitation is not for you."),
        "unknown_checkin": _(
            "I do not know this check-in code. Please scan the QR code at the venue again."
        ),
        "checkin_closed": _("Check-in for this event has closed."),
        "unknown_practice": _("That good practice is no longer in the library."),
        "too_many_practices": _("At most {limit} good practices, please.", limit=limit),
        "choose_language": CHOOSE_LANGUAGE,
        # the action plan (models/plans.py)
        "what_too_short": _(
            "That is a little short. Please write at least {minimum} characters.", minimum=limit
        ),
        "who_too_short": _(
            "Please write who does it: a name or a role, at least {minimum} characters.",
            minimum=limit,
        ),
        "what_too_long": too_long,
        "who_too_long": too_long,
        "checkpoint_too_long": too_long,
        "due_invalid": _("Please type a day, for example 30/06/2027 or 30/06."),
        "due_too_far": _("That is more than three years ahead. Please choose a nearer day."),
        "due_before_training": _(
            "That day is before the training ({day}). Please type a day after it.",
            day=format_day(training, language) if training else "",
        ),
        "unknown_area": _("Please choose an area with the buttons."),
        "plan_not_allowed": _("Sorry, this plan is not yours to change."),
        "plan_unknown": _("This plan item no longer exists."),
        "plan_moved": _("This item has already moved on. Here it is as it stands now."),
        "consent_buttons": _("Please answer with the buttons: do you agree?"),
        "phone_invalid": _(
            "Please type a Vietnamese phone number, for example 0912 345 678 or +84 912 345 678."
        ),
        "send_or_cancel": _("Please press ✅ Send the request or ✖ Cancel."),
    }
    starts_at = details.get("starts_at")
    if error.code == "checkin_not_open" and isinstance(starts_at, datetime) and tz is not None:
        return _(
            "Check-in opens shortly before the event, which starts at {moment}. See you there!",
            moment=format_moment(starts_at, language, tz),
        )
    return texts.get(error.code, _("That did not work. Please try again."))
