"""The journey engine on its own (models/journeys/engine.py), with two small journeys of the
test's: the foreground rule, paused drafts, /cancel, and what leaves a position behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from models.db import Database
from models.journeys import engine
from models.journeys.core import Input, Outcome, Turn
from models.tables import Contact, JourneyState, Role

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
GOES_ON, ENDS = True, False


@dataclass(frozen=True)
class Counter:
    """Counts typed words until "done"; "c:tick" ticks without a reply (recorded only)."""

    name: str
    resumable: bool = True
    cancel_keeps_draft: bool = False
    keeps: frozenset[str] = frozenset({"peek"})

    def starts(self, entry: Input) -> bool:
        return entry.command == self.name

    def owns(self, payload: str) -> bool:
        return payload.startswith(f"{self.name}:")

    def start(self, turn: Turn, entry: Input) -> tuple[Outcome, bool]:
        turn.data.setdefault("words", 0)
        return Outcome().say(f"{self.name} at {turn.data['words']}"), GOES_ON

    def handle(self, turn: Turn, given: Input) -> tuple[Outcome, bool]:
        if given.payload == f"{self.name}:tick":
            turn.data["ticks"] = turn.data.get("ticks", 0) + 1
            return Outcome(notice="ticked"), GOES_ON
        if given.payload is not None:
            return Outcome(notice="stale"), ENDS
        if given.text == "done":
            return Outcome().say(f"{self.name} done"), ENDS
        turn.data["words"] = turn.data.get("words", 0) + 1
        return Outcome().say(f"{self.name} {turn.data['words']}"), GOES_ON

    def pause(self, turn: Turn) -> Outcome:
        return Outcome().say(f"{self.name} cancelled")

    def aside(self, turn: Turn) -> Outcome:
        return Outcome().say(f"{self.name} waits")


@pytest.fixture
def journeys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        engine, "REGISTRY", {"one": Counter("one"), "two": Counter("two", resumable=False)}
    )


def say(
    database: Database, given: Input, contact: Contact | None, person: str = "tg:1"
) -> Outcome | None:
    with database.session() as session:
        return engine.run(
            session, person=person, contact=contact, language="en", now=NOW, given=given
        )


def row(database: Database, person: str = "tg:1") -> JourneyState | None:
    with database.session() as session:
        return session.get(JourneyState, person)


def texts(outcome: Outcome | None) -> list[str]:
    assert outcome is not None
    return [reply.text for reply in outcome.replies]


SOMEONE = Contact(id=1, telegram_user_id=1, role=Role.WORKER, language="en")


def test_the_route_before_any_database_work(journeys: None) -> None:
    route = engine.route
    assert route(Input(command="help"), "one") == engine.PASS  # answered beside it
    assert route(Input(command="peek"), "one") == engine.PASS  # one of the journey's own
    assert route(Input(command="two"), "one") == engine.RUN  # another journey's entry
    assert route(Input(command="cancel"), "one") == engine.RUN
    assert route(Input(command="cancel"), None) == engine.PASS
    assert route(Input(command="report"), "one") == engine.ASIDE  # a command the bot knows
    assert route(Input(command="reprot"), "one") == engine.PASS  # mistyped: nobody moves
    assert route(Input(payload="rev:ok:1"), "one") == engine.PASS  # a one-shot button
    assert route(Input(payload="two:tick"), None) == engine.RUN  # an action finds its journey
    assert route(Input(text="hello"), "one") == engine.RUN
    assert route(Input(text="hello"), None) == engine.PASS


def test_a_new_journey_sets_the_one_in_front_aside_and_it_resumes(
    journeys: None, database: Database
) -> None:
    say(database, Input(command="one"), SOMEONE)
    say(database, Input(text="a"), SOMEONE)
    # "two" comes in front; "one" says it waits, and its draft waits too.
    assert texts(say(database, Input(command="two"), SOMEONE)) == ["one waits", "two at 0"]
    assert texts(say(database, Input(text="b"), SOMEONE)) == ["two 1"]  # free text: to "two"
    state = row(database)
    assert state is not None and state.journey == "two"
    assert state.paused == [{"journey": "one", "data": {"words": 1}}]
    # Back to "one": it goes on from its draft; "two" is not resumable, so it is dropped.
    assert texts(say(database, Input(command="one"), SOMEONE)) == ["two waits", "one at 1"]
    state = row(database)
    assert state is not None and state.journey == "one" and state.paused == []


def test_an_action_of_a_paused_journey_that_only_records_keeps_it_paused(
    journeys: None, database: Database
) -> None:
    say(database, Input(command="one"), SOMEONE)
    say(database, Input(command="two"), SOMEONE)
    outcome = say(database, Input(payload="one:tick"), SOMEONE)
    assert outcome is not None and outcome.notice == "ticked" and not outcome.replies
    state = row(database)
    assert state is not None and state.journey == "two"
    assert state.paused == [{"journey": "one", "data": {"words": 0, "ticks": 1}}]


def test_cancel_drops_a_form_s_draft_and_a_stray_button_leaves_no_row(
    journeys: None, database: Database
) -> None:
    assert say(database, Input(payload="one:old"), SOMEONE) is not None  # stale: answered
    assert row(database) is None  # ... and nothing kept for it
    say(database, Input(command="one"), SOMEONE)
    say(database, Input(text="a"), SOMEONE)
    assert texts(say(database, Input(command="cancel"), SOMEONE)) == ["one cancelled"]
    state = row(database)
    assert state is not None and state.journey is None and not state.paused
    assert texts(say(database, Input(command="one"), SOMEONE)) == ["one at 0"]


def test_someone_not_registered_keeps_no_position_once_done(
    journeys: None, database: Database
) -> None:
    say(database, Input(command="one"), None, person="tg:9")
    assert row(database, "tg:9") is not None
    assert texts(say(database, Input(text="done"), None, person="tg:9")) == ["one done"]
    assert row(database, "tg:9") is None
