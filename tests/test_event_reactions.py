"""The reaction survey after an event, on the follow-up survey engine (models/surveys.py) and in
the feedback journey (models/journeys/feedback.py): who may answer, anonymity, run-time options,
and keeping a survey in progress when another one starts. The whole workshop cycle, summary
included, is in tests/test_events.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.playback import Person
from models import events, surveys
from models.programme import new_code
from models.surveys import SurveyError
from models.tables import (
    Contact,
    Event,
    EventGoodPractice,
    Role,
    Rsvp,
    SurveyParticipation,
    SurveyPending,
    SurveyResponse,
)
from tests.conftest import World
from tests.factories import (
    contact,
    good_practice,
    join,
    make_enterprise,
    make_invite,
    make_provider,
    member,
    staff,
)

NOT_ATTENDEE_VI = "dành cho những người đã tham dự sự kiện"
ANONYMOUS_VI = "Câu trả lời của Anh/Chị là ẩn danh."
WELCOME_BACK_VI = "Chào mừng Anh/Chị quay lại!"


# -- helpers ---------------------------------------------------------------------------------


def held_event(world: World, provider: int, *, practices: tuple[int, ...] = ()) -> int:
    """A workshop that ended an hour ago (check-in and invitations are tests/test_events.py's)."""
    with world.database.session() as session:
        event = Event(
            provider_id=provider,
            kind=events.ACHIEVEMENT_WORKSHOP,
            title="Hội thảo kết quả",
            starts_at=world.clock() - events.EVENT_LENGTH - timedelta(hours=1),
            place="Hội trường",
            audience={},
            checkin_code=new_code(),
        )
        session.add(event)
        session.flush()
        for improvement_id in practices:
            session.add(EventGoodPractice(event_id=event.id, improvement_id=improvement_id))
        return event.id  # type: ignore[return-value]


def attend(world: World, event_id: int, *user_ids: int) -> None:
    with world.database.session() as session:
        for user_id in user_ids:
            found = contact(world, user_id)
            assert found is not None
            session.add(
                Rsvp(
                    event_id=event_id,
                    contact_id=found.id,  # type: ignore[arg-type]
                    invited_at=world.clock() - timedelta(days=5),
                    answer=events.GOING,
                    attended_at=world.clock() - timedelta(hours=4),
                    checkin_method=events.QR,
                )
            )


async def invitations(world: World) -> int:
    """What the scheduler does for events, then the sender."""
    with world.database.session() as session:
        queued = events.enqueue_survey_invitations(session, world.clock())
    await world.drain()
    return queued


def me(world: World, user_id: int) -> Contact:
    found = contact(world, user_id)
    assert found is not None
    return found


def responses(world: World) -> list[SurveyResponse]:
    with world.database.session() as session:
        return list(session.exec(select(SurveyResponse)))


async def react_en(person: Person, *, rating: str = "4") -> None:
    """Answers the whole reaction survey in English when the event showcased no practice."""
    await person.say("Meeting the other workshops")
    await person.say("Tidy the storeroom")
    await person.press(rating)
    await person.press("Skip")


# -- in Telegram -----------------------------------------------------------------------------


async def test_a_partner_reacts_by_name_and_no_practices_means_no_practice_question(
    world: World,
) -> None:
    provider = make_provider(world)
    partner = world.user(105, "Mr. Phuc")
    await join(world, 105, make_invite(world, Role.PARTNER, provider_id=provider), "English")
    event_id = held_event(world, provider)
    attend(world, event_id, 105)
    assert await invitations(world) == 1
    assert "Thank you for coming to" in partner.last_text()
    assert "anonymous" not in partner.last_text()

    await partner.press("Give feedback")
    # The invitation introduced the survey: the first question follows without a second intro.
    assert sum("Please take about 3 minutes" in text for text in partner.texts()) == 1
    assert "Which part of the event was most useful to you?" in partner.last_text()
    assert "question 1/4" in partner.last_text()  # no practices shown: four questions
    await partner.send("sticker")  # a sticker where text is expected
    assert partner.last_text() == "Please answer with text."
    await partner.say("x" * 501)
    assert "at most 500 fit" in partner.last_text()
    await react_en(partner, rating="5")  # the practices question is never asked
    assert "Thank you! We will send you more" in partner.last_text()

    [response] = responses(world)
    assert (response.event_id, response.round_id) == (event_id, None)
    assert response.contact_id == me(world, 105).id and response.completed_at == world.clock()
    with world.database.session() as session:
        stored = surveys.stored_answers(session, response.id)  # type: ignore[arg-type]
        assert surveys.reacted(session, event_id, me(world, 105).id)  # type: ignore[arg-type]
    assert stored == {
        "most_useful": "Meeting the other workshops",
        "next_steps": "Tidy the storeroom",
        "rating": 5,
        "suggestions": None,
    }


async def test_a_worker_keeps_the_round_survey_in_progress_while_reacting_to_an_event(
    world: World,
) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    practice = good_practice(world, enterprise, "Kệ hai tầng")
    binh = await member(world, 102, Role.WORKER, "Anh Bình", enterprise_id=enterprise)
    event_id = held_event(world, provider, practices=(practice,))
    attend(world, event_id, 102)

    await binh.say("/feedback")  # the anonymous worker survey: one answer, then the event
    await binh.press("3")
    round_question = binh.last_text()
    assert await invitations(world) == 1
    assert ANONYMOUS_VI in binh.last_text()
    await binh.press("Góp ý")
    assert ANONYMOUS_VI in binh.last_text() and "câu 1/5" in binh.last_text()
    assert sum("Anh/Chị dành giúp khoảng 3 phút" in text for text in binh.texts()) == 1
    await binh.say("Phần kệ")
    # A worker is asked about his workplace, not about what "the enterprise" plans.
    assert "Anh/Chị muốn nơi mình làm việc áp dụng cách nào?" in binh.last_text()
    assert "doanh nghiệp" not in binh.last_text()
    await binh.press("Kệ hai tầng")
    await binh.press("Xong")
    assert "Anh/Chị mong nơi làm việc của mình cải thiện điều gì" in binh.last_text()
    assert "doanh nghiệp dự định" not in binh.last_text()
    await binh.say("Làm kệ")
    await binh.press("4")
    await binh.press("Bỏ qua")
    assert "Cảm ơn Anh/Chị!" in binh.last_text()

    # Back to the round survey, where he left it: same anonymous response, not a new one.
    await binh.say("/feedback")
    assert WELCOME_BACK_VI in binh.last_text()
    assert "câu 2/6" in round_question and "câu 2/6" in binh.last_text()
    assert round_question.split("\n")[2] in binh.last_text()  # the same question as before
    # Both are his own while in progress or waiting for release: nothing anonymous yet.
    assert responses(world) == []
    with world.database.session() as session:
        kept = {
            (p.questionnaire, p.complete): p.answers
            for p in session.exec(select(SurveyPending)).all()
        }
        assert set(kept) == {("worker", False), ("event_reaction", True)}
        answers = kept[("event_reaction", True)]
        taken = session.exec(
            select(SurveyParticipation).where(SurveyParticipation.event_id == event_id)
        ).one()
    assert answers["practices_to_try"] == [str(practice)]
    assert (taken.contact_id, taken.round_id, taken.completed_at) == (
        me(world, 102).id,
        None,
        world.clock(),
    )


async def test_a_paused_reaction_resumes_with_feedback_and_survives_a_restart(
    world: World,
) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    practice = good_practice(world, enterprise, "Kệ hai tầng")
    lan = await member(world, 101, Role.EMPLOYER, "Chị Lan", enterprise_id=enterprise)
    event_id = held_event(world, provider, practices=(practice,))
    attend(world, event_id, 101)
    await invitations(world)

    await lan.press("Góp ý")
    await lan.say("Phần chia sẻ")
    await lan.press("Kệ hai tầng")  # picked, not yet Done
    await lan.say("/cancel")
    assert "Đã tạm dừng" in lan.last_text()
    await world.restart()
    await lan.say("/feedback")  # continues the event's survey, not the follow-up one
    assert WELCOME_BACK_VI in lan.last_text()
    assert "doanh nghiệp muốn thử áp dụng cách nào?" in lan.last_text()
    assert lan.account.buttons()[0][0] == "✅ Kệ hai tầng"  # her pick is kept too
    await lan.press("Xong")
    await world.restart()
    await lan.say("Làm kệ")
    await lan.press("5")
    await lan.press("Bỏ qua")
    assert "Cảm ơn Anh/Chị!" in lan.last_text()
    [response] = responses(world)
    with world.database.session() as session:
        stored = surveys.stored_answers(session, response.id)  # type: ignore[arg-type]
    assert stored["practices_to_try"] == str(practice) and stored["rating"] == 5

    # The invitation button again, and /feedback, no longer open it.
    await lan.press("Góp ý")
    assert "đã góp ý về Hội thảo kết quả rồi" in lan.last_text()


async def test_only_attendees_answer_and_attendance_is_checked_on_every_step(
    world: World,
) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    organiser = await staff(world, 100, provider)
    lan = await member(world, 101, Role.EMPLOYER, "Chị Lan", enterprise_id=enterprise)
    thu = await member(world, 103, Role.EMPLOYER, "Bà Thu", enterprise_id=enterprise)
    event_id = held_event(world, provider)
    attend(world, event_id, 101)
    await invitations(world)

    # Not there: a forged button, or a malformed one.
    await thu.press_data(thu.account.messages()[-1].message_id, f"fb:event:{event_id}")
    assert NOT_ATTENDEE_VI in thu.last_text()
    await thu.press_data(thu.account.messages()[-1].message_id, "fb:event:12x")
    assert thu.answers()[-1] == "Nút này không còn hiệu lực."
    await organiser.press_data(organiser.account.messages()[-1].message_id, f"fb:event:{event_id}")
    assert NOT_ATTENDEE_VI in organiser.last_text()

    # Ticked by mistake, unticked while answering: the next answer is refused, nothing stored.
    await lan.press("Góp ý")
    with world.database.session() as session:
        events.toggle_attendance(
            session,
            event_id=event_id,
            contact_id=me(world, 101).id,  # type: ignore[arg-type]
            actor=me(world, 100),
            now=world.clock(),
        )
    await lan.say("Phần chia sẻ")
    assert NOT_ATTENDEE_VI in lan.last_text()
    with world.database.session() as session:
        assert session.exec(select(SurveyPending)).one().answers == {}


# -- the engine ------------------------------------------------------------------------------


async def test_start_event_refuses_strangers_and_a_second_answer(world: World) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    practice = good_practice(world, enterprise, "Kệ hai tầng")
    await member(world, 101, Role.EMPLOYER, "Chị Lan", enterprise_id=enterprise)
    await member(world, 103, Role.EMPLOYER, "Bà Thu", enterprise_id=enterprise)
    event_id = held_event(world, provider, practices=(practice,))
    attend(world, event_id, 101)
    lan, thu = me(world, 101), me(world, 103)
    now = world.clock()
    with world.database.session() as session:
        with pytest.raises(SurveyError) as refused:
            surveys.start_event(session, contact=thu, event_id=event_id, now=now)
        assert refused.value.code == "not_attendee"
        with pytest.raises(SurveyError) as refused:
            surveys.start_event(session, contact=lan, event_id=event_id + 1000, now=now)
        assert refused.value.code == "unknown_event"

        found = surveys.start_event(session, contact=lan, event_id=event_id, now=now)
        assert [o.code for o in found.sources[surveys.EVENT_SOURCE]] == [str(practice)]
        subject = found.subject
        for question, value in (
            ("most_useful", "Phần chia sẻ"),
            ("practices_to_try", [str(practice)]),
            ("next_steps", "Làm kệ"),
            ("rating", 4),
        ):
            found = surveys.answer(
                session, subject=subject, contact=lan, question_id=question, value=value,
                now=now,
            )  # fmt: skip
        assert found.question is not None and found.question.id == "suggestions"
        found = surveys.skip(
            session, subject=subject, contact=lan, question_id="suggestions", now=now
        )
        assert found.just_completed and surveys.reacted(session, event_id, lan.id)  # type: ignore[arg-type]
        with pytest.raises(SurveyError) as refused:
            surveys.start_event(session, contact=lan, event_id=event_id, now=now)
        assert refused.value.code == "already_reacted"
        assert refused.value.details["title"] == "Hội thảo kết quả"


async def test_the_practice_question_takes_only_the_events_own_practices(world: World) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    shown = good_practice(world, enterprise, "Kệ hai tầng")
    other = good_practice(world, enterprise, "Quạt thông gió")
    await member(world, 102, Role.WORKER, "Anh Bình", enterprise_id=enterprise)
    event_id = held_event(world, provider, practices=(shown,))
    attend(world, event_id, 102)
    binh, now = me(world, 102), world.clock()
    with world.database.session() as session:
        found = surveys.start_event(session, contact=binh, event_id=event_id, now=now)
        assert found.anonymous  # a worker
        found = surveys.answer(
            session, subject=found.subject, contact=binh, question_id="most_useful",
            value="Phần kệ", now=now,
        )  # fmt: skip
        with pytest.raises(SurveyError) as refused:
            surveys.answer(
                session, subject=found.subject, contact=binh, question_id="practices_to_try",
                value=[str(other)], now=now,
            )  # fmt: skip
        assert refused.value.code == "invalid_option"
        # Found again from the contact alone (after a restart), the options are the event's.
        again = surveys.progress(session, contact=binh, subject=found.subject)
        assert again is not None
        assert [o.code for o in again.sources[surveys.EVENT_SOURCE]] == [str(shown)]
        assert surveys.toggle(again.question, [], str(shown), again.sources) == [str(shown)]  # type: ignore[arg-type]
