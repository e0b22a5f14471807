"""What an event's reaction survey costs per step, against a follow-up (round) survey step.

    .venv/bin/python bench/event_reactions.py [--people 200] [--database-url URL]

An event reaction step does what a round step does, plus finding the event's showcased good
practices (the run-time options, at most 5) and checking attendance, on every step, so that a
restart or another channel can never offer the wrong list. Baseline: the same number of
complete employer-survey responses in a round. Prints the time per answered question of each,
and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from models import content, events, surveys
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider, new_code
from models.tables import (
    Contact,
    Event,
    EventGoodPractice,
    Improvement,
    Role,
    Rsvp,
    SurveyRound,
)

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def value_for(found: surveys.Progress) -> object:
    question = found.question
    assert question is not None
    if question.type == "scale":
        return question.max
    if question.type == "yesno":
        return content.YES
    if question.type in ("single", "multi"):
        first = surveys.options_of(question, found.sources)[0].code
        return [first] if question.type == "multi" else first
    if question.type == "number":
        return 1
    return "Giá kệ nhiều tầng"


def answer_all(session: object, found: surveys.Progress, contact: Contact) -> int:
    steps = 0
    while found.question is not None:
        found = surveys.answer(
            session,  # type: ignore[arg-type]
            handle=found.handle,
            contact=contact,
            question_id=found.question.id,
            value=value_for(found),
            now=NOW,
            sources=found.sources,
        )
        steps += 1
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    database = Database(args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}")
    with database.session() as session:
        provider = add_provider(session, name="Bench", province_code="da-nang")
        draft = EnterpriseDraft("Xưởng", "wood", "da-nang", 12, date(2026, 10, 1))
        enterprise = add_enterprise(session, provider_id=provider.id, draft=draft, today=NOW.date())  # type: ignore[arg-type]
        event = Event(
            provider_id=provider.id,
            kind=events.ACHIEVEMENT_WORKSHOP,
            title="Hội thảo",
            starts_at=NOW - timedelta(hours=5),
            place="Hội trường",
            audience={},
            checkin_code=new_code(),
        )
        session.add(event)
        session.flush()
        for n in range(events.SHOWCASE_MAX):
            practice = Improvement(
                enterprise_id=enterprise.id,  # type: ignore[arg-type]
                area_code="storage",
                description=f"Cách làm hay số {n}",
                status="good_practice",
                share_consent="named",
                reviewed_at=NOW,
            )
            session.add(practice)
            session.flush()
            session.add(EventGoodPractice(event_id=event.id, improvement_id=practice.id))  # type: ignore[arg-type]
        people = []
        for n in range(args.people):
            person = Contact(
                telegram_user_id=10_000 + n,
                role=Role.EMPLOYER,
                enterprise_id=enterprise.id,
                provider_id=provider.id,
                language="vi",
            )
            session.add(person)
            session.flush()
            session.add(
                Rsvp(event_id=event.id, contact_id=person.id, attended_at=NOW - timedelta(hours=4))  # type: ignore[arg-type]
            )
            people.append(person.id)
        survey_round = SurveyRound(enterprise_id=enterprise.id, number=1, opened_at=NOW)  # type: ignore[arg-type]
        session.add(survey_round)
        session.flush()
        event_id, round_id = event.id, survey_round.id

    def run(kind: str) -> tuple[float, int]:
        steps = 0
        started = time.perf_counter()
        for contact_id in people:
            with database.session() as session:
                contact = session.get(Contact, contact_id)
                assert contact is not None and event_id is not None and round_id is not None
                if kind == "event":
                    found = surveys.start_event(
                        session, contact=contact, event_id=event_id, now=NOW
                    )
                else:
                    found = surveys.start(session, contact=contact, round_id=round_id, now=NOW)
                steps += answer_all(session, found, contact)
        return time.perf_counter() - started, steps

    round_time, round_steps = run("round")
    event_time, event_steps = run("event")
    per_round = round_time / round_steps * 1000
    per_event = event_time / event_steps * 1000
    print(f"database: {database.url.split(':')[0]}, people: {args.people}")
    print(f"round survey (baseline): {round_steps} answers, {per_round:.2f} ms per answer")
    print(f"event reaction:          {event_steps} answers, {per_event:.2f} ms per answer")
    print(f"ratio event / round per answer: {per_event / per_round:.2f}")


if __name__ == "__main__":
    main()
