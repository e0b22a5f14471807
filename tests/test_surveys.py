"""The survey engine (models/surveys.py): rounds, answers, conditions, validation, who is still
to answer, and the anonymity of worker responses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import SQLModel, select

from bot.i18n import translator
from models import content
from models.content import Option, Question
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.surveys import (
    MIN_GROUP,
    RANDOM_ID_FLOOR,
    Subject,
    SurveyError,
    answer,
    close_round,
    current_round,
    free_text_questions,
    next_question,
    open_round,
    parse_start_data,
    parse_typed,
    pending_respondents,
    progress,
    release,
    round_to_answer,
    skip,
    start,
    stored_answers,
    survey_invitation,
    toggle,
    validate,
)
from models.tables import (
    Contact,
    Role,
    SurveyAnswer,
    SurveyParticipation,
    SurveyPending,
    SurveyResponse,
    SurveyRound,
)

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
WORKER_ANSWERS = {
    "safer": 4,
    "less_tiring": 3,
    "helpful_change": "Bàn làm việc cao hơn",
    "remaining_problem": None,
    "ideas_asked": "yes",
    "training_this_year": "no",
}


@pytest.fixture
def db(database: Database) -> Database:
    return database


def make_enterprise(db: Database, name: str = "Xưởng mộc Hòa Phát") -> int:
    with db.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng", province_code="da-nang")
        draft = EnterpriseDraft(name, "wood", "da-nang", 12, date(2026, 10, 1))
        enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=date(2027, 3, 1)
        )
        return enterprise.id  # type: ignore[return-value]


def make_contact(db: Database, enterprise_id: int | None, role: Role, user_id: int) -> Contact:
    with db.session() as session:
        contact = Contact(
            telegram_user_id=user_id,
            chat_id=user_id,
            display_name=f"Person {user_id}",
            role=role,
            enterprise_id=enterprise_id,
            language="vi",
        )
        session.add(contact)
        session.flush()
        return contact


def answer_all(db: Database, contact: Contact, round_id: int, given: dict[str, object]) -> Subject:
    """Answers every question asked, from `given` (None skips), as a channel would."""
    with db.session() as session:
        found = start(session, contact=contact, round_id=round_id, now=NOW)
    subject = found.subject
    while found.question is not None:
        value = given[found.question.id]
        with db.session() as session:
            if value is None:
                found = skip(
                    session, subject=subject, contact=contact, question_id=found.question.id,
                    now=NOW,
                )  # fmt: skip
            else:
                found = answer(
                    session, subject=subject, contact=contact, question_id=found.question.id,
                    value=value, now=NOW,
                )  # fmt: skip
    assert found.just_completed
    return subject


# -- rounds ----------------------------------------------------------------------------------


def test_rounds_are_numbered_per_enterprise_and_only_one_is_open(db: Database) -> None:
    first, other = make_enterprise(db), make_enterprise(db, "Công ty May Thu Hà")
    with db.session() as session:
        one = open_round(session, enterprise_id=first, now=NOW)
        elsewhere = open_round(session, enterprise_id=other, now=NOW)
        two = open_round(session, enterprise_id=first, now=NOW + timedelta(days=90))
        assert (one.number, two.number, elsewhere.number) == (1, 2, 1)
        assert one.closed_at == NOW + timedelta(days=90)
        assert current_round(session, first) == two
        assert current_round(session, other) == elsewhere


def test_feedback_opens_round_one_only_when_the_enterprise_has_none(db: Database) -> None:
    enterprise = make_enterprise(db)
    with db.session() as session:
        opened = round_to_answer(session, enterprise, now=NOW)
        assert opened is not None and opened.number == 1
        assert round_to_answer(session, enterprise, now=NOW) == opened
        opened.closed_at = NOW
        session.add(opened)
        session.flush()
        # Every round closed: the next one opens after the next visit, not on request.
        assert round_to_answer(session, enterprise, now=NOW) is None


# -- answering -------------------------------------------------------------------------------


def test_employer_answers_are_stored_one_by_one_with_conditions(db: Database) -> None:
    enterprise = make_enterprise(db)
    employer = make_contact(db, enterprise, Role.EMPLOYER, 1)
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
    given = {
        "usefulness": 5,
        "support_helpful": ["training", "visit_advice"],
        "going_well": "  Kho gọn gàng  ",
        "improvement_areas": ["storage"],
        "improvements_kept": "yes",  # so kept_why_not is not asked
        "benefits": ["tidier"],
        "main_obstacle": "money",
        "next_improvement": None,
        "support_wanted": ["other"],  # so support_wanted_other is asked
        "support_wanted_other": "Đo nhiệt độ",
        "recommend": True,
    }
    answer_all(db, employer, round_id, given)  # type: ignore[arg-type]
    with db.session() as session:
        response = session.exec(select(SurveyResponse)).one()
        assert response.contact_id == employer.id  # employer answers are not anonymous
        assert response.complete and response.completed_at == NOW and response.started_at == NOW
        assert response.released  # named answers count at once
        stored = stored_answers(session, response.id)  # type: ignore[arg-type]
        assert stored["going_well"] == "Kho gọn gàng"
        assert sorted(stored["support_helpful"]) == ["training", "visit_advice"]  # type: ignore[arg-type]
        assert stored["recommend"] == "yes"
        assert stored["next_improvement"] is None
        assert "kept_why_not" not in stored
        # Nothing is left in progress.
        assert session.exec(select(SurveyPending)).all() == []
        rows = session.exec(select(SurveyAnswer)).all()
        assert all(row.answered_at == NOW for row in rows)
        assert len(rows) == 12  # 11 questions, two choices in one multi
        taken = session.exec(select(SurveyParticipation)).one()
        assert (taken.contact_id, taken.completed_at) == (employer.id, NOW)


def test_a_condition_on_a_partly_kept_improvement_asks_why() -> None:
    survey = content.questionnaire("employer")
    assert survey is not None
    answers: dict[str, object] = {q.id: None for q in survey.questions[:4]}
    answers["improvements_kept"] = "partly"
    found = next_question(survey, answers)
    assert found is not None and found.id == "kept_why_not"
    answers["improvements_kept"] = "yes"
    found = next_question(survey, answers)
    assert found is not None and found.id == "benefits"


def test_the_total_counts_a_follow_up_once_an_answer_makes_it_due(db: Database) -> None:
    """ "câu 2/10": the two follow-ups of the employer survey count only when they are due."""
    enterprise = make_enterprise(db)
    employer = make_contact(db, enterprise, Role.EMPLOYER, 1)
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
        found = start(session, contact=employer, round_id=round_id, now=NOW)  # type: ignore[arg-type]
    assert (found.number, found.total) == (1, 10)
    given: dict[str, object] = {
        "usefulness": 4,
        "support_helpful": ["training"],
        "going_well": "Kho gọn",
        "improvement_areas": ["storage"],
        "improvements_kept": "partly",  # kept_why_not becomes due
    }
    seen = []
    while found.question is not None and found.question.id in given:
        with db.session() as session:
            found = answer(
                session, subject=found.subject, contact=employer,
                question_id=found.question.id, value=given[found.question.id], now=NOW,
            )  # fmt: skip
        seen.append((found.number, found.total))
    assert seen == [(2, 10), (3, 10), (4, 10), (5, 10), (6, 11)]
    assert found.question is not None and found.question.id == "kept_why_not"


def test_a_worker_reads_the_worker_wording_of_a_reaction_question() -> None:
    survey = content.questionnaire("event_reaction")
    assert survey is not None
    question = next(q for q in survey.questions if q.id == "next_steps")
    assert "doanh nghiệp" in question.text("vi")
    assert "doanh nghiệp" not in question.text("vi", worker=True)
    assert question.text("en", worker=True).endswith("at your workplace?")
    plain = next(q for q in survey.questions if q.id == "rating")
    assert plain.text("vi", worker=True) == plain.text("vi")  # no variant: the same question


def test_only_the_current_question_can_be_answered(db: Database) -> None:
    enterprise = make_enterprise(db)
    worker = make_contact(db, enterprise, Role.WORKER, 2)
    other = make_contact(db, enterprise, Role.WORKER, 3)
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
        found = start(session, contact=worker, round_id=round_id, now=NOW)  # type: ignore[arg-type]
        assert found.question is not None and found.question.id == "safer"
        with pytest.raises(SurveyError) as refused:
            answer(
                session, subject=found.subject, contact=worker, question_id="less_tiring",
                value=3, now=NOW,
            )  # fmt: skip
        assert refused.value.code == "not_current"
        # Someone else cannot answer in the worker's place: the questionnaire is theirs.
        with pytest.raises(SurveyError):
            answer(
                session, subject=found.subject, contact=other, question_id="safer", value=3,
                now=NOW,
            )  # fmt: skip
        assert session.exec(select(SurveyPending)).one().answers == {}


@pytest.mark.parametrize(
    ("question_id", "value", "code"),
    [
        ("usefulness", 0, "number_out_of_range"),
        ("usefulness", 6, "number_out_of_range"),
        ("usefulness", "four", "number_invalid"),
        ("usefulness", True, "number_invalid"),
        ("improvements_kept", "maybe", "invalid_option"),
        ("recommend", "perhaps", "invalid_option"),
        ("improvement_areas", [], "choose_one"),
        ("improvement_areas", ["storage", "none"], "exclusive_mixed"),
        ("improvement_areas", ["storage", "garden"], "invalid_option"),
        ("improvement_areas", "storage", "invalid_option"),
        ("going_well", "   ", "text_empty"),
        ("going_well", "x" * 501, "text_too_long"),
        ("going_well", 5, "text_expected"),
    ],
)
def test_invalid_answers_are_refused(question_id: str, value: object, code: str) -> None:
    survey = content.questionnaire("employer")
    assert survey is not None
    question = survey.question(question_id)
    assert question is not None
    with pytest.raises(SurveyError) as refused:
        validate(question, value)
    assert refused.value.code == code


def test_number_questions_keep_to_their_bounds() -> None:
    question = Question(id="people", type="number", text_vi="?", text_en="?", min=0, max=500)
    assert parse_typed(question, "1.200") == 1200
    assert validate(question, parse_typed(question, " 25 ")) == 25
    for typed, code in (("1.200", "number_out_of_range"), ("-3", "number_out_of_range")):
        with pytest.raises(SurveyError) as refused:
            validate(question, parse_typed(question, typed))
        assert refused.value.code == code
    with pytest.raises(SurveyError) as refused:
        parse_typed(question, "twenty")
    assert refused.value.code == "number_invalid" and refused.value.details["max"] == 500


def test_free_text_questions_are_told_apart_from_coded_answers() -> None:
    found = free_text_questions()
    assert found["worker"] == ("helpful_change", "remaining_problem")
    assert "improvements_kept" not in found["employer"] and "going_well" in found["employer"]


def test_exclusive_option_clears_the_others_and_back() -> None:
    survey = content.questionnaire("employer")
    assert survey is not None
    question = survey.question("improvement_areas")
    assert question is not None
    picked = toggle(question, [], "storage")
    picked = toggle(question, picked, "machine")
    assert picked == ["storage", "machine"]
    assert toggle(question, picked, "none") == ["none"]
    assert toggle(question, ["none"], "welfare") == ["welfare"]
    assert toggle(question, ["welfare"], "welfare") == []
    with pytest.raises(SurveyError):
        toggle(question, [], "garden")


def test_only_optional_questions_can_be_skipped(db: Database) -> None:
    enterprise = make_enterprise(db)
    worker = make_contact(db, enterprise, Role.WORKER, 2)
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
        found = start(session, contact=worker, round_id=round_id, now=NOW)  # type: ignore[arg-type]
        with pytest.raises(SurveyError) as refused:
            skip(session, subject=found.subject, contact=worker, question_id="safer", now=NOW)
        assert refused.value.code == "not_optional"


def test_dynamic_options_fill_in_and_an_empty_source_skips_the_question() -> None:
    survey = content.questionnaire("event_reaction")
    assert survey is not None
    answers: dict[str, object] = {"most_useful": "Tất cả"}
    found = next_question(survey, answers)
    assert found is not None and found.id == "next_steps"
    sources = {"event_good_practices": [Option("gp-12", "Kệ hai tầng", "Two-level shelf")]}
    found = next_question(survey, answers, sources)
    assert found is not None and found.id == "practices_to_try"
    assert validate(found, ["gp-12"], sources) == ["gp-12"]


# -- rounds, restarts and double answers -----------------------------------------------------


def test_a_second_answer_in_the_same_round_is_refused(db: Database) -> None:
    enterprise = make_enterprise(db)
    worker = make_contact(db, enterprise, Role.WORKER, 2)
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
    assert round_id is not None
    answer_all(db, worker, round_id, WORKER_ANSWERS)
    with db.session() as session, pytest.raises(SurveyError) as refused:
        start(session, contact=worker, round_id=round_id, now=NOW)
    assert refused.value.code == "already_answered"
    # The next round is a new question to them.
    with db.session() as session:
        round_two = open_round(session, enterprise_id=enterprise, now=NOW + timedelta(days=90))
        found = start(session, contact=worker, round_id=round_two.id, now=NOW)  # type: ignore[arg-type]
        assert found.question is not None and found.question.id == "safer"


def test_resume_by_contact_after_a_restart(db: Database) -> None:
    enterprise = make_enterprise(db)
    worker = make_contact(db, enterprise, Role.WORKER, 2)
    employer = make_contact(db, enterprise, Role.EMPLOYER, 1)
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
        assert round_id is not None
        first = start(session, contact=worker, round_id=round_id, now=NOW)
        answer(
            session, subject=first.subject, contact=worker, question_id="safer", value=4, now=NOW
        )
    # Nothing kept by the channel: a new session finds the worker's place from the contact.
    with db.session() as session:
        again = start(session, contact=worker, round_id=round_id, now=NOW)
        assert again.resumed and again.tag == first.tag and again.answers == {"safer": 4}
        assert again.question is not None and again.question.id == "less_tiring"
        found = progress(session, contact=worker, subject=Subject(round_id=round_id))
        assert found is not None and found.question == again.question
        boss = start(session, contact=employer, round_id=round_id, now=NOW)
        answer(
            session, subject=boss.subject, contact=employer, question_id="usefulness", value=5,
            now=NOW,
        )  # fmt: skip
        boss_again = start(session, contact=employer, round_id=round_id, now=NOW)
        assert boss_again.resumed and boss_again.tag == boss.tag != first.tag
        assert len(session.exec(select(SurveyParticipation)).all()) == 2
        # Nothing of either is a response yet: answers in progress are not survey results.
        assert session.exec(select(SurveyResponse)).all() == []


def test_a_closed_round_takes_no_more_answers(db: Database) -> None:
    enterprise = make_enterprise(db)
    worker = make_contact(db, enterprise, Role.WORKER, 2)
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
        found = start(session, contact=worker, round_id=round_id, now=NOW)  # type: ignore[arg-type]
        open_round(session, enterprise_id=enterprise, now=NOW + timedelta(days=1))
        with pytest.raises(SurveyError) as refused:
            answer(
                session, subject=found.subject, contact=worker, question_id="safer", value=4,
                now=NOW,
            )  # fmt: skip
        assert refused.value.code == "round_closed"
        with pytest.raises(SurveyError) as refused:
            start(session, contact=worker, round_id=round_id, now=NOW)  # type: ignore[arg-type]
        assert refused.value.code == "round_closed"


def test_staff_and_other_enterprises_cannot_answer(db: Database) -> None:
    enterprise, other = make_enterprise(db), make_enterprise(db, "Cơ khí Tân Tiến")
    staff = make_contact(db, None, Role.STAFF, 3)
    stranger = make_contact(db, other, Role.WORKER, 4)
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
        for contact in (staff, stranger):
            with pytest.raises(SurveyError) as refused:
                start(session, contact=contact, round_id=round_id, now=NOW)  # type: ignore[arg-type]
            assert refused.value.code == "not_participant"


# -- anonymity -------------------------------------------------------------------------------


def test_worker_responses_lead_to_no_person(db: Database) -> None:
    enterprise = make_enterprise(db)
    workers = [make_contact(db, enterprise, Role.WORKER, 10 + n) for n in range(3)]
    employer = make_contact(db, enterprise, Role.EMPLOYER, 1)
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
    assert round_id is not None
    for worker in workers[:2]:
        answer_all(db, worker, round_id, WORKER_ANSWERS)
    with db.session() as session:
        # Two complete questionnaires are still personal data, kept under their contacts; the
        # job writes nothing for fewer than MIN_GROUP.
        assert release(session, now=NOW) == {}
        waiting = session.exec(select(SurveyPending)).all()
        assert {p.contact_id for p in waiting} == {w.id for w in workers[:2]}
        assert all(p.complete and p.anonymous for p in waiting)
        assert session.exec(select(SurveyResponse)).all() == []
    answer_all(db, workers[2], round_id, WORKER_ANSWERS)
    with db.session() as session:
        # Completing touched only the person's own rows: no anonymous row yet.
        assert session.exec(select(SurveyResponse)).all() == []
        assert release(session, now=NOW) == {"written": MIN_GROUP}
    with db.session() as session:
        assert session.exec(select(SurveyPending)).all() == []
        responses = session.exec(
            select(SurveyResponse).where(SurveyResponse.questionnaire == "worker")
        ).all()
        assert len(responses) == 3 and all(r.complete for r in responses)
        # Written, but not released while the round is open: they count in no figure yet.
        assert not any(r.released for r in responses)
        ids = {r.id for r in responses}
        answers = session.exec(
            select(SurveyAnswer).where(SurveyAnswer.response_id.in_(ids))  # type: ignore[union-attr]
        ).all()
        # No column of theirs points at a contact, and no time can be matched with the
        # participation rows: every foreign key goes to the round (and the round to the
        # enterprise, which is many people), never to a person.
        for table, rows in (
            (SurveyResponse.__table__, responses),
            (SurveyAnswer.__table__, answers),
        ):
            for fk in table.foreign_keys:  # type: ignore[attr-defined]
                if fk.column.table.name == "contact":
                    assert all(getattr(row, fk.parent.name) is None for row in rows)
                else:
                    assert fk.column.table.name in ("surveyround", "surveyresponse", "event")
        assert all(r.contact_id is None for r in responses)
        assert all(r.started_at is None and r.completed_at is None for r in responses)
        assert all(a.answered_at is None for a in answers)
        # Ids are random, so their order says nothing about who answered first.
        assert all(i >= RANDOM_ID_FLOOR for i in ids | {a.id for a in answers})  # type: ignore[operator]
        # Nothing else points at a response: who took part is kept apart from what they said.
        pointing = {
            table.name
            for table in SQLModel.metadata.tables.values()
            for fk in table.foreign_keys
            if fk.column.table.name == "surveyresponse"
        }
        assert pointing == {"surveyanswer"}
        taken = session.exec(select(SurveyParticipation)).all()
        assert sorted(t.contact_id for t in taken) == sorted(w.id for w in workers)  # type: ignore[type-var]
        assert all(t.completed_at is not None for t in taken)
        # The employer, who did not answer, is the only one still to be asked.
        assert [c.id for c in pending_respondents(session, round_id)] == [employer.id]


def test_pending_respondents_leave_out_the_done_the_opted_out_and_the_unreachable(
    db: Database,
) -> None:
    enterprise, other = make_enterprise(db), make_enterprise(db, "Cơ khí Tân Tiến")
    employer = make_contact(db, enterprise, Role.EMPLOYER, 1)
    done, waiting, opted_out, unreachable = (
        make_contact(db, enterprise, Role.WORKER, 10 + n) for n in range(4)
    )
    make_contact(db, other, Role.WORKER, 20)
    make_contact(db, None, Role.STAFF, 30)
    with db.session() as session:
        for contact, field in ((opted_out, "opted_out_at"), (unreachable, "unreachable_at")):
            row = session.get(Contact, contact.id)
            setattr(row, field, NOW)
            session.add(row)
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
    assert round_id is not None
    answer_all(db, done, round_id, WORKER_ANSWERS)
    with db.session() as session:
        # Started but not finished still counts as pending: a nudge helps them finish.
        start(session, contact=waiting, round_id=round_id, now=NOW)
        pending = pending_respondents(session, round_id)
        assert [c.id for c in pending] == [employer.id, waiting.id]
        assert pending_respondents(session, 99999) == []


def test_invitation_button_starts_the_round(db: Database) -> None:
    enterprise = make_enterprise(db)
    worker = make_contact(db, enterprise, Role.WORKER, 2)
    with db.session() as session:
        survey_round = open_round(session, enterprise_id=enterprise, now=NOW)
    message = survey_invitation(survey_round, worker, translator("en"))
    assert "anonymous" in message.text and "round 1" in message.text
    assert message.buttons is not None
    _label, data = message.buttons[0][0]
    assert parse_start_data(data) == survey_round.id and len(data.encode()) <= 64
    assert parse_start_data("fb:start:abc") is None and parse_start_data("fb:a:1") is None
    with db.session() as session:
        assert session.exec(select(SurveyRound)).one().id == survey_round.id


# -- release ---------------------------------------------------------------------------------


def _round_with_workers(db: Database, count: int) -> tuple[int, int, list[Contact]]:
    enterprise = make_enterprise(db)
    workers = [make_contact(db, enterprise, Role.WORKER, 100 + n) for n in range(count)]
    with db.session() as session:
        round_id = open_round(session, enterprise_id=enterprise, now=NOW).id
    assert round_id is not None
    return enterprise, round_id, workers


def _worker_responses(db: Database) -> list[SurveyResponse]:
    with db.session() as session:
        return list(
            session.exec(select(SurveyResponse).where(SurveyResponse.questionnaire == "worker"))
        )


def test_a_closed_round_is_released_whole_in_one_shuffled_batch(db: Database) -> None:
    enterprise, round_id, workers = _round_with_workers(db, 5)
    for worker in workers[:4]:
        answer_all(db, worker, round_id, {**WORKER_ANSWERS, "safer": 5})
    with db.session() as session:
        # One worker left half-way; the fifth never started.
        start(session, contact=workers[4], round_id=round_id, now=NOW)
        assert release(session, now=NOW) == {"written": 4}
    before = {r.id for r in _worker_responses(db)}
    with db.session() as session:
        open_round(session, enterprise_id=enterprise, now=NOW + timedelta(days=1))
        assert release(session, now=NOW) == {"released": 4, "dropped_unfinished": 1}
    released = _worker_responses(db)
    assert len(released) == 4 and all(r.released for r in released)
    # Rewritten with new random ids in one transaction: the earlier batches leave no trace.
    assert not before & {r.id for r in released}
    with db.session() as session:
        assert session.exec(select(SurveyPending)).all() == []
        # A released unit never changes again; the job finds nothing more to do.
        assert release(session, now=NOW) == {}


def test_a_unit_that_closes_with_fewer_than_three_is_never_released(db: Database) -> None:
    _enterprise, round_id, workers = _round_with_workers(db, 2)
    for worker in workers:
        answer_all(db, worker, round_id, WORKER_ANSWERS)
    with db.session() as session:
        close_round(session, round_id, now=NOW)
        assert release(session, now=NOW) == {"dropped_small": 2}
        # Their answers could never be shown: they are not kept either.
        assert session.exec(select(SurveyPending)).all() == []
        assert session.exec(select(SurveyResponse)).all() == []
        # Who took part stays (nudges and the "already answered" refusal read it).
        assert len(session.exec(select(SurveyParticipation)).all()) == 2


def test_a_late_answer_to_a_released_unit_is_dropped(db: Database) -> None:
    _enterprise, round_id, workers = _round_with_workers(db, 4)
    for worker in workers[:3]:
        answer_all(db, worker, round_id, WORKER_ANSWERS)
    with db.session() as session:
        found = start(session, contact=workers[3], round_id=round_id, now=NOW)
        close_round(session, round_id, now=NOW)
        assert release(session, now=NOW) == {"released": 3, "dropped_unfinished": 1}
        # An answer that was in flight when the round closed, completed after the release
        # (written straight to the table, as a racing transaction would have).
        session.add(
            SurveyPending(
                contact_id=workers[3].id, round_id=round_id, questionnaire="worker",
                anonymous=True, key="late", answers=dict(WORKER_ANSWERS), complete=True,
            )
        )  # fmt: skip
        assert found.tag
    with db.session() as session:
        assert release(session, now=NOW) == {"dropped_late": 1}
    assert len(_worker_responses(db)) == 3


def test_erasure_deletes_answers_in_progress(db: Database) -> None:
    from models.privacy import erase

    _enterprise, round_id, workers = _round_with_workers(db, 1)
    with db.session() as session:
        found = start(session, contact=workers[0], round_id=round_id, now=NOW)
        answer(
            session, subject=found.subject, contact=workers[0], question_id="safer", value=2,
            now=NOW,
        )  # fmt: skip
    with db.session() as session:
        contact = session.get(Contact, workers[0].id)
        assert contact is not None
        erase(session, contact, now=NOW)
    with db.session() as session:
        assert session.exec(select(SurveyPending)).all() == []
