"""Drives the journeys: one foreground journey per person, its position in the database.

`run` takes one input: /cancel pauses the foreground journey; a journey's entry (its command,
an action that opens it) brings it to the foreground, pausing the one there and saying so; an
action belongs to its own journey whoever holds the foreground (an action that several journeys
own, to the one in front), so a stale or foreign button can never be taken as an answer to the
wrong question; anything else goes to the foreground journey.
What no journey takes returns None, for the channel's other handlers. An input that leaves
nothing in front or waiting creates no position, and a person who has not registered keeps none.

`run` is one transaction, which on SQLite holds the write lock from its start: an input that
needs slow work (Finish renders the visit report) has it done first by `prepare`, which reads in
a session that takes no lock and works after that closed; `run` gets what it made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.i18n import translator
from models import menus
from models.journeys.core import (
    Action,
    Input,
    Journey,
    Outcome,
    Place,
    Prepared,
    Profile,
    Reply,
    Turn,
    paused_note,
)
from models.journeys.state import TELEGRAM, keep, position, telegram_person
from models.tables import Contact, JourneyState, table_of

REGISTRY: dict[str, Journey] = {}


def register(journeys: Iterable[Journey]) -> None:
    for journey in journeys:
        REGISTRY[journey.name] = journey


def _entry(given: Input) -> Journey | None:
    return next((j for j in REGISTRY.values() if j.starts(given)), None)


def _owner(payload: str | None, current: Journey | None = None) -> Journey | None:
    """The journey an action belongs to; an action that several journeys own (✖ Cancel under
    both event forms' confirmations) belongs to the one in front."""
    if payload is None:
        return None
    if current is not None and current.owns(payload):
        return current
    return next((j for j in REGISTRY.values() if j.owns(payload)), None)


def takes(given: Input) -> bool:
    """Whether some journey opens with this input, or owns this action (no database needed):
    the driver's quick test before it looks anything up."""
    return _entry(given) is not None or _owner(given.payload) is not None


PASS, RUN, ASIDE = "pass", "run", "aside"


def route(given: Input, in_front: str | None) -> str:
    """What a channel's driver does with an input, before any database work: RUN it through
    the journeys; set the journey in front ASIDE (another part of the bot answers the command,
    and the person is told the journey waits); or PASS it to the rest of the bot. /help,
    /language and /stop, and the commands a journey `keeps`, are answered beside it; a
    mistyped command moves nobody."""
    current = REGISTRY.get(in_front or "")
    if given.command in menus.STAYING or (current is not None and given.command in current.keeps):
        return PASS
    if takes(given):
        return RUN
    if current is None:
        return PASS
    if given.command == "cancel":
        return RUN
    if given.command in menus.KNOWN_COMMANDS:
        return ASIDE
    if given.payload is not None or given.command is not None:
        return PASS
    return RUN


# Built once: every update runs one, and building a statement costs more than running it.
_WHO_AND_WHERE_ZALO = (
    select(Contact, JourneyState)
    .outerjoin(JourneyState, col(JourneyState.person) == sa.bindparam("person"))
    .where(
        Contact.zalo_user_id == sa.bindparam("user_id"),
        col(Contact.erased_at).is_(None),
        col(Contact.removed_at).is_(None),
    )
)


# Many people at once: their journeys joined on the person's key, built from the account.
_WHO_AND_WHERE_ALL = (
    select(Contact, JourneyState)
    .outerjoin(
        JourneyState,
        col(JourneyState.person)
        == sa.literal(TELEGRAM) + sa.cast(col(Contact.telegram_user_id), sa.String),
    )
    .where(
        col(Contact.telegram_user_id).in_(sa.bindparam("user_ids", expanding=True)),
        col(Contact.erased_at).is_(None),
        col(Contact.removed_at).is_(None),
    )
)


def who_and_where_all(
    session: Session, telegram_user_ids: Iterable[int]
) -> dict[int, tuple[Contact | None, str | None, str | None]]:
    """The registered person behind each Telegram account (as `contact_by_user` finds them),
    the journey in their foreground and the language a registration draft holds: one query for
    the registered ones, since every update needs all three, and one for the others' drafts."""
    wanted = set(telegram_user_ids)
    found: dict[int, tuple[Contact | None, str | None, str | None]] = {}
    for contact, state in session.exec(_WHO_AND_WHERE_ALL, params={"user_ids": sorted(wanted)}):
        assert contact.telegram_user_id is not None
        found.setdefault(contact.telegram_user_id, (contact, *_standing_of(state)))
    strangers = {telegram_person(user_id): user_id for user_id in wanted - found.keys()}
    drafts: dict[int, JourneyState] = {}
    if strangers:
        query = select(JourneyState).where(col(JourneyState.person).in_(sorted(strangers)))
        drafts = {strangers[state.person]: state for state in session.exec(query)}
    for user_id in strangers.values():
        found[user_id] = (None, *_standing_of(drafts.get(user_id)))
    return found


def who_and_where_zalo(
    session: Session, zalo_user_id: str, person: str
) -> tuple[Contact | None, str | None, str | None]:
    """The person behind a Zalo account (as `contact_by_zalo` finds them), the journey in
    their foreground and the language a registration draft holds."""
    return _who_and_where(session, _WHO_AND_WHERE_ZALO, zalo_user_id, person)


def _who_and_where(
    session: Session, statement: Any, user_id: int | str, person: str
) -> tuple[Contact | None, str | None, str | None]:
    row = session.exec(statement, params={"person": person, "user_id": user_id}).first()
    if row is None:
        return None, *standing(session, person)
    contact, state = row
    return contact, *_standing_of(state)


def standing(session: Session, person: str) -> tuple[str | None, str | None]:
    """The journey in the person's foreground, and the language its draft holds, if any (the
    language someone chose while registering: until they have, there is no other place for it)."""
    return _standing_of(session.get(JourneyState, person))


def _standing_of(found: JourneyState | None) -> tuple[str | None, str | None]:
    if found is None or found.journey is None:
        return None, None
    chosen = (found.data or {}).get("language")
    return found.journey, chosen if isinstance(chosen, str) else None


def _preparing(given: Input) -> Journey | None:
    journey = _owner(given.payload)
    if journey is None or not getattr(journey, "prepares", lambda _: False)(given):
        return None
    return journey


def prepares(given: Input) -> bool:
    """Whether this input needs slow work done before its transaction (Journey.prepare); no
    database needed, so that a driver opens no extra session for every other input."""
    return _preparing(given) is not None


def prepare(
    reading: Callable[[], AbstractContextManager[Session]],
    *,
    person: str,
    contact: Contact | None,
    language: str,
    now: datetime,
    given: Input,
    place: Place | None = None,
    profile: Profile | None = None,
) -> Prepared | None:
    """The slow work an input needs, done before the transaction that takes it (`run`'s
    `prepared`), so that no writer waits for it: what it needs is read in a session of
    `reading` (one that never takes the write lock), and the work runs after that closed."""
    journey = _preparing(given)
    if journey is None:
        return None
    with reading() as session:
        turn = Turn(
            session, person, contact, language, translator(language), now, {},
            place or Place(), profile or Profile(),
        )  # fmt: skip
        work = journey.prepare(turn, given)  # type: ignore[attr-defined]
    return work() if work is not None else None


def run(
    session: Session,
    *,
    person: str,
    contact: Contact | None,
    language: str,
    now: datetime,
    given: Input,
    place: Place | None = None,
    profile: Profile | None = None,
    prepared: Prepared | None = None,
) -> Outcome | None:
    """One input of `person`: what they are told, or None when no journey takes it.
    `prepared`: what `prepare` made for the input, before this transaction."""
    state = position(session, person)
    outcome = _take(
        session, state, contact=contact, language=language, now=now, given=given,
        place=place or Place(), profile=profile or Profile(), prepared=prepared,
    )  # fmt: skip
    keep(session, state, registered=contact is not None)
    return outcome


def _take(
    session: Session,
    state: JourneyState,
    *,
    contact: Contact | None,
    language: str,
    now: datetime,
    given: Input,
    place: Place,
    profile: Profile,
    prepared: Prepared | None,
) -> Outcome | None:
    current = REGISTRY.get(state.journey or "")
    _ = translator(language)

    def turn(data: dict[str, Any]) -> Turn:
        data.pop(CHOICES, None)  # the channel's, not the journey's
        return Turn(
            session, state.person, contact, language, _, now, data, place, profile, prepared
        )

    if given.command == "cancel":
        if current is None:
            return None
        outcome = current.pause(turn(dict(state.data or {})))
        _set_aside(state, current, now, keep=current.cancel_keeps_draft)
        return outcome
    journey = _entry(given)
    if journey is None:
        journey = _owner(given.payload, current)
        if journey is None:
            if current is None or given.command is not None:
                return None
            # An answer to the journey in the foreground.
            active = turn(dict(state.data or {}))
            outcome, going_on = current.handle(active, given)
            return _settle(state, current, active, outcome, going_on, now)
        if journey is current:
            active = turn(dict(state.data or {}))
            outcome, going_on = current.handle(active, given)
            return _settle(state, current, active, outcome, going_on, now)
        # Another journey's action. It comes to the foreground when it asks something (the
        # paused survey's answer button); a change it only records (a box ticked) waits with
        # its draft among the paused ones.
        active = turn(_resumed_data(state, journey))
        outcome, going_on = journey.handle(active, given)
        if going_on and not outcome.replies:
            _keep_paused(state, journey, active.data, now)
            return outcome
        if going_on and current is not None:
            outcome.replies[:0] = _told(current, turn(dict(state.data or {})))
            _set_aside(state, current, now)
        return _settle(state, journey, active, outcome, going_on, now)
    active = turn(
        _resumed_data(state, journey) if journey is not current else dict(state.data or {})
    )
    outcome, going_on = journey.start(active, given)
    if going_on and current is not None and current is not journey:
        outcome.replies[:0] = _told(current, turn(dict(state.data or {})))
        _set_aside(state, current, now)
    return _settle(state, journey, active, outcome, going_on, now)


def step_aside(
    session: Session, *, person: str, contact: Contact | None, language: str, now: datetime
) -> Outcome | None:
    """Another part of the bot takes the person's next inputs (a command that is not a
    journey's): the foreground journey is paused, and the person told so."""
    state = position(session, person)
    current = REGISTRY.get(state.journey or "")
    if current is None or getattr(current, "holds_front", False):
        return None
    _ = translator(language)
    data = dict(state.data or {})
    data.pop(CHOICES, None)
    told = _told(current, Turn(session, person, contact, language, _, now, data))
    _set_aside(state, current, now)
    return Outcome(replies=told)


def remember_buttons(session: Session, person: str, message_id: int | None) -> None:
    """The message now carrying the foreground journey's actions (None: the latest has none)."""
    state = position(session, person)
    if state.journey is not None:
        state.buttons_message = message_id


# Where a channel without buttons keeps the actions it numbered for the person (Zalo: "reply
# 1, 2 or 3"), in the foreground journey's draft, so that a restart or another process reads the
# same numbers; the journeys never see it.
CHOICES = "_choices"


def choices(session: Session, person: str) -> list[Action]:
    """The actions numbered in the last message of the journey in the person's foreground."""
    found = session.get(JourneyState, person)
    if found is None or found.journey is None:
        return []
    kept = (found.data or {}).get(CHOICES) or []
    return [Action(str(label), str(payload)) for label, payload in kept]


def remember_choices(session: Session, person: str, actions: Sequence[Action]) -> None:
    """The actions the person's latest message numbered (none: a question without choices).
    Only a journey in front keeps them: its draft goes when it ends, and they with it."""
    state = position(session, person)
    if state.journey is None:
        return
    data = {k: v for k, v in (state.data or {}).items() if k != CHOICES}
    if actions:
        data[CHOICES] = [[a.label, a.payload] for a in actions]
    state.data = data
    session.add(state)


def notice_choices(session: Session, person: str) -> list[Action]:
    """The actions the latest message of the outbox with answerable buttons numbered for the
    person, on a channel without buttons (Zalo): kept whatever journey comes and goes, until a
    newer message numbers others or an answer spends them. While a journey is in front, its
    own numbers (`choices`) are the ones the person answers."""
    found = session.get(JourneyState, person)
    kept = (found.notice_choices if found is not None else None) or []
    return [Action(str(entry[0]), str(entry[1])) for entry in kept]


def remember_notice_choices(
    session: Session,
    person: str,
    actions: Sequence[Action],
    *,
    now: datetime,
    groups: Sequence[str] | None = None,
) -> None:
    """Replaces the person's notice choices (none: they are spent). `groups` names, action by
    action, what each answers when the numbers cover several things at once (/events on Zalo:
    the answers of several invitations, one group each), so that answering one leaves the
    others' numbers (`spend_notice_choices`); without it they are one message's. One upsert, so
    that the outbox's sender and the person's own messages, served by any process, never both
    insert the person's row; it leaves the journey and its draft as they are."""
    if groups is not None and len(groups) != len(actions):
        raise ValueError("one group per action")
    entries = [
        [a.label, a.payload, *([groups[index]] if groups is not None else [])]
        for index, a in enumerate(actions)
    ]
    _store_notice_choices(session, person, entries, now=now)


def _store_notice_choices(
    session: Session, person: str, entries: list[list[str]], *, now: datetime
) -> None:
    # What the unit of work holds for the row (a position created by this turn) goes first.
    session.flush()
    table = table_of(JourneyState)
    kept = entries or sa.null()  # SQL NULL, not JSON null
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(
        person=person, data={}, paused=[], notice_choices=kept, updated_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.person],
            set_={"notice_choices": statement.excluded.notice_choices},
        )
    )


def spend_notice_choices(
    session: Session,
    person: str,
    answered: Sequence[Action],
    left: Sequence[Action],
    *,
    now: datetime,
    chosen: str | None = None,
) -> bool:
    """After the person answered `chosen`, one of the numbers `answered` (read before the
    answer), what is left of them replaces them (`_after_answer`); unless a newer message
    numbered others meanwhile (the outbox's sender, in another process): those stand, and False
    is returned. The row is read locked, so that the sender's write waits for this one or this
    one sees it."""
    session.flush()
    found = session.get(JourneyState, person, with_for_update=True, populate_existing=True)
    current = (found.notice_choices if found is not None else None) or []
    if [str(entry[1]) for entry in current] != [a.payload for a in answered]:
        return False
    _store_notice_choices(session, person, _after_answer(current, chosen, left), now=now)
    return True


def _after_answer(
    current: list[list[str]], chosen: str | None, left: Sequence[Action]
) -> list[list[str]]:
    """The numbers after an answer to `chosen` changed what it answered: one message's (no
    groups) are what the changed message keeps, `left` (none: spent). Where the numbers cover
    several groups (several invitations listed by /events), only the answered group's lines
    change, in their place, so that the others keep their numbers: they become `left`'s, each
    with the words it had (which name the event); when `left` is empty they stay, and answering
    them again is told why, as the first answer was."""

    def group(entry: list[str]) -> str | None:
        return str(entry[2]) if len(entry) > 2 else None

    answered = next((group(entry) for entry in current if entry[1] == chosen), None)
    if answered is None or len({group(entry) for entry in current}) == 1:
        return [[a.label, a.payload] for a in left]
    if not left:
        return current
    words = {entry[1]: entry[0] for entry in current if group(entry) == answered}
    refreshed = [[words.get(a.payload, a.label), a.payload, answered] for a in left]
    kept: list[list[str]] = []
    for entry in current:
        if group(entry) != answered:
            kept.append(entry)
        elif refreshed:
            kept.extend(refreshed)
            refreshed = []
    return kept


def _told(journey: Journey, turn: Turn) -> list[Reply]:
    """What the person hears when `journey` steps aside: its own words, or that it stopped."""
    return journey.aside(turn).replies or [paused_note(turn.language)]


def _resumed_data(state: JourneyState, journey: Journey) -> dict[str, Any]:
    """The draft `journey` had when it was paused (it picks up where it stopped), or none."""
    for entry in state.paused or []:
        if entry.get("journey") == journey.name:
            return dict(entry.get("data") or {})
    return {}


def _keep_paused(
    state: JourneyState, journey: Journey, data: dict[str, Any], now: datetime
) -> None:
    kept = [e for e in (state.paused or []) if e.get("journey") != journey.name]
    state.paused = [*kept, {"journey": journey.name, "data": dict(data)}]
    state.updated_at = now


def _set_aside(state: JourneyState, journey: Journey, now: datetime, *, keep: bool = True) -> None:
    if journey.resumable and keep:
        _keep_paused(state, journey, dict(state.data or {}), now)
    state.journey = None
    state.data = {}
    state.buttons_message = None
    state.updated_at = now


def _settle(
    state: JourneyState,
    journey: Journey,
    active: Turn,
    outcome: Outcome,
    going_on: bool,
    now: datetime,
) -> Outcome:
    in_front = state.journey == journey.name
    if outcome.retire_buttons and in_front:
        outcome.retire_message = state.buttons_message
        state.buttons_message = None
    if going_on:
        # Its paused draft, if it had one, is now the foreground's.
        state.paused = [e for e in (state.paused or []) if e.get("journey") != journey.name]
        if not in_front:
            state.buttons_message = None
        state.journey = journey.name
        state.data = dict(active.data)
        outcome.in_front = True
    else:
        # It ended: no draft of it waits any more.
        state.paused = [e for e in (state.paused or []) if e.get("journey") != journey.name]
        if in_front:
            state.journey = None
            state.data = {}
            state.buttons_message = None
    state.updated_at = now
    return outcome
