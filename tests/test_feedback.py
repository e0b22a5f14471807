"""Employers and workers answer the follow-up surveys in Telegram (/feedback).

Driven end to end through the real Application and the Bot API sandbox, as people would.
"""

from __future__ import annotations

from sqlmodel import select

from bot.i18n import translator
from bot.playback import Person
from models import content, surveys
from models.journeys import feedback
from models.journeys.state import telegram_person
from models.outbox import enqueue
from models.tables import (
    Contact,
    JourneyState,
    Role,
    SurveyAnswer,
    SurveyParticipation,
    SurveyPending,
    SurveyResponse,
    SurveyRound,
)
from tests.conftest import World
from tests.factories import contact, join, make_enterprise, make_invite, make_provider

INTRO_WORKER_VI = "Câu trả lời là ẩn danh"
INTRO_WORKER_EN = "Your answers are anonymous"
THANKS_EMPLOYER_VI = "Cảm ơn Anh/Chị đã dành thời gian chia sẻ"
THANKS_WORKER_EN = "Thank you! Your views help"
ALREADY_VI = "Anh/Chị đã trả lời đợt khảo sát này rồi, xin cảm ơn!"
ALREADY_EN = "You already answered this round, thank you!"
STALE_VI = "Nút này không còn hiệu lực."
BUTTONS_VI = "Anh/Chị vui lòng chọn một trong các nút bên dưới."
TEXT_PLEASE_VI = "Anh/Chị vui lòng trả lời bằng chữ."


# -- helpers ---------------------------------------------------------------------------------


async def member(
    world: World, user_id: int, role: Role, enterprise: int, language: str = "Tiếng Việt"
) -> Person:
    await join(world, user_id, make_invite(world, role, enterprise_id=enterprise), language)
    return world.user(user_id)


def setup(world: World) -> int:
    return make_enterprise(world, make_provider(world))


def responses(world: World, questionnaire: str) -> list[SurveyResponse]:
    with world.database.session() as session:
        query = select(SurveyResponse).where(SurveyResponse.questionnaire == questionnaire)
        return list(session.exec(query))


def answers_of(world: World, response: SurveyResponse) -> dict[str, object]:
    with world.database.session() as session:
        return surveys.stored_answers(session, response.id)  # type: ignore[arg-type]


def answer_count(world: World) -> int:
    """Answers given: those of questionnaires in progress and those stored."""
    with world.database.session() as session:
        in_progress = sum(len(p.answers) for p in session.exec(select(SurveyPending)))
        return in_progress + len(session.exec(select(SurveyAnswer)).all())


def so_far(world: World, questionnaire: str) -> dict[str, object]:
    """The answers of the one questionnaire in progress."""
    with world.database.session() as session:
        [row] = session.exec(
            select(SurveyPending).where(SurveyPending.questionnaire == questionnaire)
        ).all()
        return dict(row.answers)


def release(world: World, *, close: bool = False) -> dict[str, int]:
    """What the scheduler's `surveys` job does, after closing the open rounds if asked."""
    with world.database.session() as session:
        if close:
            for survey_round in session.exec(select(SurveyRound)).all():
                surveys.close_round(session, survey_round.id, now=world.clock.now)  # type: ignore[arg-type]
    with world.database.session() as session:
        return surveys.release(session, now=world.clock.now)


async def worker_survey_en(person: Person) -> None:
    """A worker answers the whole worker survey in English (already started)."""
    await person.press("4")
    await person.press("5")
    await person.say("The new shelves by the saw")
    await person.press("Skip")
    await person.press("Yes")
    await person.press("No")


async def worker_survey_vi(person: Person, safer: str = "3") -> None:
    await person.press(safer)
    await person.press("4")
    await person.say("Có quạt thông gió")
    await person.say("Bụi gỗ vẫn nhiều")
    await person.press("Có")
    await person.press("Có")


# -- the whole surveys -----------------------------------------------------------------------


async def test_employer_answers_the_employer_survey_in_vietnamese(world: World) -> None:
    boss = await member(world, 101, Role.EMPLOYER, setup(world))
    intro = await boss.say("📋 Góp ý")
    assert intro is not None and "Nhìn chung, sự hỗ trợ" in intro.plain
    assert "Cảm ơn Anh/Chị đã cùng tham gia" in boss.texts()[-2]
    assert "1 = Chưa hữu ích · 5 = Rất hữu ích" in intro.plain
    assert [label for label, _ in boss.account.buttons(intro)] == ["1", "2", "3", "4", "5"]
    await boss.press("4")
    assert "→ 4" in boss.texts()[-2]  # the answered question shows the answer, without buttons
    assert boss.account.buttons(boss.account.messages()[-2]) == []

    # Several choices, toggled with ✅ on the same message, then Done.
    assert "có thể chọn nhiều" in boss.last_text()
    await boss.press("Tập huấn")
    await boss.press("Góp ý khi cán bộ đến thăm")
    await boss.press("Tập huấn")  # changed her mind
    await boss.press("Tài liệu")
    labels = [label for label, _ in boss.account.buttons()]
    assert "✅ Góp ý khi cán bộ đến thăm" in labels and "⬜ Tập huấn" in labels
    await boss.press("Xong")
    assert "→ Góp ý khi cán bộ đến thăm, Tài liệu, hình ảnh hướng dẫn" in boss.texts()[-2]

    await boss.say("Kho gọn gàng, lối đi thông thoáng")
    # "No new improvement yet" clears the other choices, and the other way round.
    await boss.press("Lưu giữ")
    await boss.press("Vị trí làm việc")
    await boss.press("Chưa có cải thiện mới")
    assert [label for label, _ in boss.account.buttons() if label.startswith("✅")] == [
        "✅ Chưa có cải thiện mới"
    ]
    await boss.press("Lưu giữ")
    await boss.press("Xong")
    await boss.press("Còn một phần")
    assert "vì sao một số cải thiện không còn" in boss.last_text()  # asked only if partly/no
    await boss.say("Thợ mới chưa quen")
    await boss.press("Nơi làm việc gọn gàng hơn")
    await boss.press("Xong")
    await boss.press("Kinh phí")
    assert "Cải thiện tiếp theo" in boss.last_text()
    await boss.press("Bỏ qua")
    await boss.press("Khác")
    await boss.press("Xong")
    await boss.say("Đo nhiệt độ trong xưởng")
    done = await boss.press("Có")
    assert done is not None and THANKS_EMPLOYER_VI in done.plain

    [response] = responses(world, "employer")
    stored = answers_of(world, response)
    assert stored == {
        "usefulness": 4,
        "support_helpful": stored["support_helpful"],
        "going_well": "Kho gọn gàng, lối đi thông thoáng",
        "improvement_areas": "storage",
        "improvements_kept": "partly",
        "kept_why_not": "Thợ mới chưa quen",
        "benefits": "tidier",
        "main_obstacle": "money",
        "next_improvement": None,
        "support_wanted": "other",
        "support_wanted_other": "Đo nhiệt độ trong xưởng",
        "recommend": "yes",
    }
    assert sorted(stored["support_helpful"]) == ["materials", "visit_advice"]  # type: ignore[arg-type]
    person = contact(world, 101)
    assert person is not None and response.contact_id == person.id and response.complete
    with world.database.session() as session:
        assert session.exec(select(SurveyRound)).one().number == 1  # /feedback opened round 1


async def test_worker_is_told_about_anonymity_first_and_answers_in_english(world: World) -> None:
    worker = await member(world, 201, Role.WORKER, setup(world), "English")
    first = await worker.say("📋 Feedback")
    assert first is not None and "Compared with before, is your work safer now?" in first.plain
    assert INTRO_WORKER_EN in worker.texts()[-2]  # the promise comes before the first question
    assert "1 = Less safe · 5 = Much safer" in first.plain
    await worker_survey_en(worker)
    assert THANKS_WORKER_EN in worker.last_text()

    again = await worker.say("/feedback")
    assert again is not None and again.plain == ALREADY_EN
    # One worker's answers wait, complete, under their contact: nothing anonymous is written
    # for fewer than three, and nothing in the transaction that completed them.
    assert responses(world, "worker") == []
    with world.database.session() as session:
        [waiting] = session.exec(select(SurveyPending)).all()
        assert waiting.complete and waiting.anonymous
        assert waiting.answers["helpful_change"] == "The new shelves by the saw"


# -- anonymity -------------------------------------------------------------------------------


async def test_three_workers_answer_and_no_row_leads_back_to_them(world: World) -> None:
    enterprise = setup(world)
    people = [
        await member(world, 301, Role.WORKER, enterprise),
        await member(world, 302, Role.WORKER, enterprise),
        await member(world, 303, Role.WORKER, enterprise, "English"),
    ]
    for person in people[:2]:
        await person.say("/feedback")
        assert INTRO_WORKER_VI in person.texts()[-2]
        await worker_survey_vi(person)
        world.clock.advance(hours=3)
    await people[2].say("/feedback")
    await worker_survey_en(people[2])
    assert responses(world, "worker") == []
    assert release(world) == {"written": 3}

    rows = responses(world, "worker")
    assert len(rows) == 3 and all(r.complete for r in rows)
    contacts = [contact(world, p.account.id) for p in people]
    identities = {c.id for c in contacts if c} | {p.account.id for p in people}
    with world.database.session() as session:
        answers = session.exec(select(SurveyAnswer)).all()
        for row in rows:
            assert row.contact_id is None and row.started_at is None and row.completed_at is None
            assert row.id not in identities and row.id >= surveys.RANDOM_ID_FLOOR  # type: ignore[operator]
        for item in answers:
            assert item.answered_at is None and item.id >= surveys.RANDOM_ID_FLOOR  # type: ignore[operator]
        # Who took part is known (for reminders), apart from what they said.
        taken = session.exec(select(SurveyParticipation)).all()
        assert sorted(t.contact_id for t in taken) == [c.id for c in contacts if c]
    # The journey position of a person who finished keeps nothing that points at a response.
    await world.restart()
    with world.database.session() as session:
        for person in people:
            held = session.get(JourneyState, telegram_person(person.account.id))
            assert held is not None and held.journey is None and held.data == {}
            assert not held.paused
    for person, text in zip(people, (ALREADY_VI, ALREADY_VI, ALREADY_EN), strict=True):
        reply = await person.say("📋 Góp ý" if text == ALREADY_VI else "📋 Feedback")
        assert reply is not None and reply.plain == text
    assert len(responses(world, "worker")) == 3


# -- conversations that survive --------------------------------------------------------------


async def test_restart_mid_survey_resumes_at_the_same_question(world: World) -> None:
    boss = await member(world, 401, Role.EMPLOYER, setup(world))
    await boss.say("/feedback")
    await boss.press("5")
    await boss.press("Tập huấn")  # a choice toggled, not yet confirmed with Done
    await world.restart()
    await boss.press("Tài liệu")
    labels = [label for label, _ in boss.account.buttons() if label.startswith("✅")]
    assert labels == ["✅ Tập huấn", "✅ Tài liệu, hình ảnh hướng dẫn"]
    await boss.press("Xong")
    assert "điều gì ở doanh nghiệp đang làm tốt" in boss.last_text()
    await world.restart()
    await boss.say("Máy cưa đã có che chắn")
    assert "cải thiện ở những mặt nào" in boss.last_text()
    stored = so_far(world, "employer")
    assert stored["usefulness"] == 5 and stored["going_well"] == "Máy cưa đã có che chắn"


async def test_cancel_keeps_the_answers_and_feedback_resumes(world: World) -> None:
    worker = await member(world, 501, Role.WORKER, setup(world))
    await worker.say("/feedback")
    await worker.press("2")
    assert "câu 2" in worker.last_text() and "đỡ mệt hơn không" in worker.last_text()
    paused = await worker.say("/cancel")
    assert paused is not None and "Đã tạm dừng" in paused.plain
    reply = await worker.say("Ghế ngồi thấp quá")  # not an answer any more
    # ... but words the worker may send to the provider instead (handlers/inbox.py).
    assert reply is not None and "gửi nội dung này đến đơn vị cung cấp dịch vụ" in reply.plain
    assert answer_count(world) == 1
    world.clock.advance(days=2)
    back = await worker.say("/feedback")
    assert back is not None and "tiếp tục từ câu hỏi còn dở" in back.plain
    assert "câu 2" in back.plain and "đỡ mệt hơn không" in back.plain
    assert INTRO_WORKER_VI not in worker.texts()[-2]  # no second introduction
    await worker.press("3")
    assert "giúp ích cho Anh/Chị nhiều nhất" in worker.last_text()
    assert so_far(world, "worker") == {"safer": 2, "less_tiring": 3}


async def test_an_answer_button_after_cancel_continues_the_survey(world: World) -> None:
    worker = await member(world, 502, Role.WORKER, setup(world))
    question = await worker.say("/feedback")
    await worker.say("/cancel")
    await worker.press("4", question)
    assert "đỡ mệt hơn không" in worker.last_text()
    assert answer_count(world) == 1


async def test_the_same_press_delivered_twice_stores_one_answer(world: World) -> None:
    boss = await member(world, 601, Role.EMPLOYER, setup(world))
    question = await boss.say("/feedback")
    assert question is not None
    data = dict(boss.account.buttons(question))["3"]
    assert data is not None
    world.api_clock.advance(5)  # a person's pause, as Person.press makes
    update = boss.account.press(question.message_id, data)
    world.sandbox.inject_raw(update)
    await world.deliver()
    assert answer_count(world) == 1
    assert "Những hình thức hỗ trợ nào" in boss.last_text()
    # And a typed answer delivered twice is stored once: the second one meets the next question.
    await boss.press("Tập huấn")
    await boss.press("Xong")
    world.api_clock.advance(5)
    update = boss.account.send_text("Nhà xưởng sạch hơn")
    world.sandbox.inject_raw(update)
    await world.deliver()
    assert so_far(world, "employer")["going_well"] == "Nhà xưởng sạch hơn"
    assert answer_count(world) == 3
    assert BUTTONS_VI in boss.last_text()  # the copy was taken for text at a button question


# -- bad input -------------------------------------------------------------------------------


async def test_wrong_kinds_of_message_get_a_clear_reprompt(world: World) -> None:
    worker = await member(world, 701, Role.WORKER, setup(world))
    await worker.say("/feedback")
    for kind, args in (("sticker", ()), ("voice", ()), ("photo", (b"\x89PNG",))):
        reply = await worker.send(kind, *args)
        assert reply is not None and BUTTONS_VI in reply.plain
        assert "an toàn hơn không" in reply.plain  # the question again, with its buttons
        assert len(worker.account.buttons(reply)) == 5
    reply = await worker.say("khá hơn")
    assert reply is not None and BUTTONS_VI in reply.plain
    reply = await worker.say("9")  # typed numbers are fine, within the scale
    assert reply is not None and "từ 1 đến 5" in reply.plain
    await worker.say("4")
    await worker.press("4")
    # A text question: a location or a document is not text.
    for kind, args in (("location", (16.05, 108.2)), ("document", (b"%PDF", "a.pdf"))):
        reply = await worker.send(kind, *args)
        assert reply is not None and reply.plain == TEXT_PLEASE_VI
    reply = await worker.say("x" * 501)
    assert reply is not None and "dài 501 ký tự; tối đa là 500 ký tự" in reply.plain
    reply = await worker.say("   ")
    assert reply is not None
    assert answer_count(world) == 2
    await worker.say("x" * 500)
    assert so_far(world, "worker") == {
        "safer": 4,
        "less_tiring": 4,
        "helpful_change": "x" * 500,
    }
    # A yes/no question: typed text is not a button.
    await worker.press("Bỏ qua")
    reply = await worker.say("có")
    assert reply is not None and BUTTONS_VI in reply.plain
    assert [label for label, _ in worker.account.buttons(reply)] == ["Có", "Không"]


async def test_stale_other_round_and_forged_buttons_are_refused(world: World) -> None:
    enterprise = setup(world)
    worker = await member(world, 801, Role.WORKER, enterprise)
    first = await worker.say("/feedback")
    assert first is not None
    five = feedback_data(worker, first, "5")
    await worker.press("4", first)
    before = answer_count(world)
    # A button of the question already answered (kept from before the edit): refused.
    await worker.press_data(first.message_id, five)
    assert worker.answers()[-1] == (
        "Câu hỏi đó đã được trả lời rồi. Anh/Chị vui lòng trả lời câu hỏi mới nhất."
    )
    current = worker.account.last()
    tag = feedback_data(worker, current, "1").split(":")[2]
    forged = [
        f"fb:a:{tag}:1:9",  # out of the scale
        f"fb:a:{tag}:1:",  # no value
        f"fb:s:{tag}:1",  # skipping a question that cannot be skipped
        f"fb:t:{tag}:1:storage",  # toggling on a scale question
        "fb:a:deadbeef:1:3",  # another response's button
        "fb:zz",
        "fb:start:notanumber",
    ]
    for data in forged:
        await worker.press_data(current.message_id, data)
    answers = worker.answers()[-len(forged) :]
    assert answers[0] == "Anh/Chị vui lòng chọn một số từ 1 đến 5."
    assert answers[2] == "Câu hỏi này không bỏ qua được."
    assert all(a == STALE_VI for a in answers[3:])
    assert answer_count(world) == before
    # A survey invitation of another round (or of another enterprise): a clear answer.
    with world.database.session() as session:
        old = session.exec(select(SurveyRound)).one()
        surveys.open_round(session, enterprise_id=enterprise, now=world.clock())
    reply = await worker.press_data(current.message_id, surveys.start_data(old.id))  # type: ignore[arg-type]
    assert reply is not None and "đợt khảo sát đã kết thúc" in reply.plain
    assert answer_count(world) == before


def feedback_data(person: Person, message: object, label: str) -> str:
    data = dict(person.account.buttons(message))[label]  # type: ignore[arg-type]
    assert data is not None
    return data


async def test_a_round_closing_mid_survey_moves_the_worker_to_the_new_round(world: World) -> None:
    enterprise = setup(world)
    worker = await member(world, 901, Role.WORKER, enterprise)
    await worker.say("/feedback")
    await worker.press("4")
    with world.database.session() as session:
        surveys.open_round(session, enterprise_id=enterprise, now=world.clock())
    reply = await worker.press("3")
    assert reply is not None and "Đợt khảo sát này đã kết thúc" in reply.plain
    fresh = await worker.say("/feedback")
    assert fresh is not None and "an toàn hơn không" in fresh.plain
    assert INTRO_WORKER_VI in worker.texts()[-2]
    with world.database.session() as session:
        numbers = sorted((r.number, r.closed_at is None) for r in session.exec(select(SurveyRound)))
        assert numbers == [(1, False), (2, True)]


async def test_staff_coordinators_and_strangers_are_refused_politely(world: World) -> None:
    provider = make_provider(world)
    await join(world, 1001, make_invite(world, Role.STAFF, provider_id=provider))
    await join(world, 1002, make_invite(world, Role.COORDINATOR))
    for user_id in (1001, 1002, 1003):
        reply = await world.user(user_id).say("/feedback")
        assert reply is not None and "Xin lỗi, khảo sát theo dõi dành cho" in reply.plain
    with world.database.session() as session:
        assert session.exec(select(SurveyRound)).all() == []


async def test_no_open_round_is_explained(world: World) -> None:
    enterprise = setup(world)
    boss = await member(world, 1101, Role.EMPLOYER, enterprise)
    with world.database.session() as session:
        opened = surveys.open_round(session, enterprise_id=enterprise, now=world.clock())
        surveys.close_round(session, opened.id, now=world.clock())  # type: ignore[arg-type]
    reply = await boss.say("/feedback")
    assert reply is not None and "Hiện chưa có đợt khảo sát nào đang mở" in reply.plain


# -- invitations from the scheduler ----------------------------------------------------------


async def test_invitation_button_starts_the_survey(world: World) -> None:
    enterprise = setup(world)
    worker = await member(world, 1201, Role.WORKER, enterprise, "English")
    with world.database.session() as session:
        survey_round = surveys.open_round(session, enterprise_id=enterprise, now=world.clock())
        person = session.get(Contact, contact(world, 1201).id)  # type: ignore[union-attr]
        assert person is not None
        assert [c.id for c in surveys.pending_respondents(session, survey_round.id)] == [person.id]  # type: ignore[arg-type]
        message = surveys.survey_invitation(survey_round, person, translator(person.language))
        enqueue(session, key=f"survey:{survey_round.id}:{person.id}", contact=person,
                kind="survey", message=message)  # fmt: skip
    await world.drain()
    invitation = worker.account.last()
    assert "Your answers are anonymous." in invitation.plain
    first = await worker.press("Answer the survey", invitation)
    assert first is not None and "Compared with before" in first.plain
    assert INTRO_WORKER_EN in worker.texts()[-2]
    await worker_survey_en(worker)
    with world.database.session() as session:
        assert surveys.pending_respondents(session, survey_round.id) == []  # type: ignore[arg-type]
    again = await worker.press("Answer the survey", invitation)
    assert again is not None and again.plain == ALREADY_EN


def test_every_button_fits_telegram_callback_data() -> None:
    """64 bytes at most, for every option of every questionnaire."""
    tag = "x" * 8
    for survey in content.questionnaires():
        for index, question in enumerate(survey.questions):
            for option in question.options:
                data = f"{feedback.TOGGLE}{tag}:{index}:{option.code}"
                assert len(data.encode()) <= 64, data


async def test_the_staff_export_carries_no_worker_identity(world: World) -> None:
    """What staff can download holds the workers' answers but nothing that names them."""
    import io
    import zipfile

    from openpyxl import load_workbook

    from tests.factories import staff as join_staff

    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    names = ["Nguyễn Văn Bình", "Trần Thị Mai", "Lê Hoa"]
    people = []
    for offset, name in enumerate(names):
        person = world.stage.person(1300 + offset, name)
        await join(
            world, person.account.id, make_invite(world, Role.WORKER, enterprise_id=enterprise)
        )
        await person.say("/feedback")
        await worker_survey_vi(person, safer=str(3 + offset % 2))
        people.append(person)
    # Worker answers leave only from a released unit: the round closes with its three.
    assert release(world, close=True) == {"released": 3}
    officer = await join_staff(world, 1399, provider)
    panel = await officer.say("📊 Tổng hợp")
    assert panel is not None
    await officer.press("Quý này", panel)
    before = len(officer.account.messages())
    await officer.press("📥", panel)
    files = [m for m in officer.account.messages()[before:] if m.document_bytes]
    assert files, "the export sent no file"
    texts: list[str] = []
    for message in files:
        data = message.document_bytes or b""
        if (message.document_filename or "").endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                texts += [archive.read(n).decode("utf-8-sig") for n in archive.namelist()]
        else:
            workbook = load_workbook(io.BytesIO(data), read_only=True)
            for sheet in workbook.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    texts.append(" ".join("" if v is None else str(v) for v in row))
    everything = "\n".join(texts)
    assert "Bụi gỗ vẫn nhiều" in everything  # the answers are there...
    stored = [contact(world, p.account.id) for p in people]
    for person, row in zip(people, stored, strict=True):
        assert row is not None
        assert person.name not in everything  # ... but not who gave them
        assert str(person.account.id) not in everything
    for line in everything.splitlines():
        assert "respondent_key" not in line and "contact_id" not in line
