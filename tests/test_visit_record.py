"""The visit as a record, the rest of it, end to end: at the visit staff record new
improvements they see, with photos (stored as seen at the visit, not self-reported), and take
the employer survey down for an owner who does not use the chat (stored as the enterprise's
employer response, marked assisted, with the staff member as recorder). The visit report says
both; the summary and the export count them apart, computed by hand here."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import select

from models import surveys
from models.tables import (
    Contact,
    Improvement,
    Outbox,
    ReviewStatus,
    Role,
    SurveyParticipation,
    SurveyPending,
    SurveyResponse,
    SurveyRound,
    Visit,
)
from reports.figures import Scope, parse_period
from reports.summary import build_summary
from reports.text import summary_message
from reports.xlsx import summary_rows
from tests.conftest import World
from tests.factories import TZ, add_enterprise, add_improvement, add_person
from tests.test_report import picture
from tests.test_visit_checklist import done_visit, text_of

NEW_ONE = "Xưởng mới làm giá để dụng cụ treo tường cạnh máy cưa, lối đi thông thoáng."
CAMERA = "📷 Gửi ảnh chụp cải thiện như Anh/Chị thấy lúc này"


async def answer_employer_survey(person) -> None:  # type: ignore[no-untyped-def]
    """The employer questionnaire as the owner answers it aloud, entered by staff."""
    await person.press("4")
    await person.press("Góp ý khi cán bộ đến thăm")
    await person.press("Xong")
    await person.say("Xưởng gọn gàng hơn, thợ đỡ mỏi lưng")
    await person.press("Vị trí làm việc")
    await person.press("Xong")
    await person.press("Có, vẫn dùng đều")
    await person.press("Người lao động đỡ mệt")
    await person.press("Xong")
    await person.press("Kinh phí")
    await person.press("Bỏ qua")
    await person.press("Gợi ý cải thiện chi phí thấp")
    await person.press("Xong")
    await person.press("Có")


def seen_improvements(world: World) -> list[Improvement]:
    with world.database.session() as session:
        return list(
            session.exec(
                select(Improvement).where(Improvement.seen_at_visit_id.is_not(None))  # type: ignore[union-attr]
            )
        )


def employer_responses(world: World) -> list[SurveyResponse]:
    with world.database.session() as session:
        return list(
            session.exec(select(SurveyResponse).where(SurveyResponse.questionnaire == "employer"))
        )


async def test_staff_record_what_they_see_and_take_the_survey_down_for_the_owner(
    world: World, tmp_path: Path
) -> None:
    """The owner does not use the chat: nobody of the enterprise is registered."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    staff_contact = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id,
                               name="Dũng")  # fmt: skip
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    await staff.press("Bỏ qua")  # no notes; nothing reported before: straight to the end card
    end = staff.account.last()
    assert "Đã xem: 0/0 mục." in end.plain
    assert [label for label, _ in staff.account.buttons(end)] == [
        "➕ Cải thiện mới tôi thấy", "📝 Khảo sát thay chủ doanh nghiệp", "🏁 Kết thúc kiểm tra",
    ]  # fmt: skip

    # A new improvement: area, kind, words (wrong ones first), a photo of now, none from before.
    await staff.press("Cải thiện mới tôi thấy", end)
    assert "thuộc lĩnh vực nào" in staff.last_text()
    await staff.say("Lưu giữ")  # typed where buttons are expected
    assert "chọn bằng các nút" in staff.last_text()
    await staff.press("Vị trí làm việc")
    assert "loại cải thiện nào" in staff.last_text()
    await staff.press("Khác / bỏ qua")
    assert "Anh/Chị thấy gì?" in staff.last_text()
    await staff.send("photo", picture("TOO SOON"))
    assert "mô tả điều mình thấy bằng lời trước" in staff.last_text()
    await staff.say("x" * 1001)
    assert "1.001 ký tự" in staff.last_text() and "1.000" in staff.last_text()
    await staff.say("Giá")
    assert "ít nhất 5 ký tự" in staff.last_text()
    await staff.say(NEW_ONE)
    assert CAMERA in staff.last_text()
    await world.restart()  # where staff stand is kept in the database
    await staff.send("sticker")
    assert "vui lòng gửi ảnh" in staff.last_text()
    await staff.send("photo", picture("NOW"))
    assert "📷 Đã lưu ảnh." in staff.texts()[-2]
    assert "ảnh chụp trước khi thay đổi" in staff.last_text()
    await staff.press("Không có ảnh")
    assert "Đã ghi là cải thiện thấy trong chuyến thăm" in staff.texts()[-2]
    second_end = staff.account.last()
    assert "Cải thiện mới thấy trong chuyến thăm này: 1." in second_end.plain

    [seen] = seen_improvements(world)
    assert seen.seen_at_visit_id == visit_id and seen.source == "visit"
    assert seen.status == ReviewStatus.VERIFIED and seen.reporter_id is None
    assert seen.reviewed_by_id == staff_contact.id and seen.submitted_at == world.clock()
    assert (seen.area_code, seen.kind_code, seen.description) == ("workstation", None, NEW_ONE)
    assert seen.photo_after_path and seen.photo_before_path is None
    stored = Path(world.settings.data_dir) / "media" / seen.photo_after_path
    assert stored.read_bytes()[:2] == b"\xff\xd8"
    # The improvement seen is not a line to check at its own visit.
    assert "Đã xem: 0/0 mục." in second_end.plain

    # The employer survey, taken down for the owner: the questions as the owner reads them.
    await staff.press("Khảo sát thay chủ doanh nghiệp", second_end)
    assert "ghi thay trong chuyến thăm" in staff.texts()[-2]
    assert "Nhìn chung, sự hỗ trợ" in staff.last_text()
    # Set aside by another command, and picked up again from the checklist.
    await staff.say("/visits")
    await staff.say("/visit")
    await staff.press("Xưởng mộc Hòa Phát")
    await staff.press("Khảo sát thay chủ doanh nghiệp")
    assert "Nhìn chung, sự hỗ trợ" in staff.last_text()
    await answer_employer_survey(staff)
    assert "đánh dấu là ghi thay trong chuyến thăm" in staff.last_text()

    [response] = employer_responses(world)
    assert response.assisted and response.contact_id is None
    assert response.recorded_by_id == staff_contact.id
    assert response.complete and response.released
    with world.database.session() as session:
        assert session.exec(select(SurveyPending)).all() == []
        # Staff took nobody's part: no participation names them.
        assert session.exec(select(SurveyParticipation)).all() == []
        answers = surveys.stored_answers(session, response.id)  # type: ignore[arg-type]
    assert answers["usefulness"] == 4 and answers["recommend"] == "yes"
    assert answers["going_well"] == "Xưởng gọn gàng hơn, thợ đỡ mỏi lưng"

    # Back to the checklist: the survey is done and no longer offered; Finish sends the report.
    await staff.press("Quay lại danh mục kiểm tra")
    last = staff.account.last()
    assert "Khảo sát chủ doanh nghiệp: đã ghi thay trong chuyến thăm này." in last.plain
    assert "Khảo sát thay" not in str(staff.account.buttons(last))
    await staff.press("Kết thúc kiểm tra", last)
    copy = staff.account.last()
    assert copy.document_filename == f"visit-report-{visit_id}-vi.pdf"
    text = text_of(copy.document_bytes or b"", tmp_path)
    assert "Những cải thiện mới chúng tôi đã thấy" in text
    assert "Thấy trong chuyến thăm này — " + NEW_ONE in text
    assert "chúng tôi đã cùng Anh/Chị ghi lại câu trả lời" in text
    # Seen, not reported by the enterprise: it is not listed among what was reported.
    assert "Cải thiện đã báo cáo: " + NEW_ONE not in text

    # After the checklist is finished, its buttons are spent.
    await staff.press_data(end.message_id, f"vck:n:{visit_id}")
    assert "đã hoàn tất" in (staff.answers()[-1] or "")
    await staff.press_data(end.message_id, f"fb:assist:{visit_id}")
    assert "đã hoàn tất" in (staff.answers()[-1] or "")
    assert len(seen_improvements(world)) == 1 and len(employer_responses(world)) == 1


async def test_stale_forged_and_foreign_presses_change_nothing(world: World) -> None:
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    with world.database.session() as session:
        from models.tables import Provider

        other = Provider(name="Trung tâm khác", province_code="hue")
        session.add(other)
        session.flush()
        other_id = other.id
    assert other_id is not None
    add_person(world, 202, Role.STAFF, provider_id=other_id, name="Khác")
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, name="Lan")
    staff = world.user(201)
    visit_id = await done_visit(world, enterprise.id)
    await staff.press("Bỏ qua")
    end = staff.account.last()

    # Another provider's staff, and the employer, cannot record or take the survey down.
    for person in (world.user(202), world.user(301)):
        shown = await person.say("/help")
        assert shown is not None
        await person.press_data(shown.message_id, f"vck:n:{visit_id}")
        assert "không dành cho" in (person.answers()[-1] or "")
        await person.press_data(shown.message_id, f"fb:assist:{visit_id}")
        assert "không dành cho" in (person.answers()[-1] or "")
    # Forged data, an area not offered, a kind of another area: nothing happens.
    await staff.press("Cải thiện mới tôi thấy", end)
    area_card = staff.account.last()
    for data in ("fb:assist:x", f"vck:a:{visit_id}:nowhere", "vck:a:x:storage",
                 f"vck:k:{visit_id}:machine_guard", "vck:p:1:after"):  # fmt: skip
        await staff.press_data(area_card.message_id, data)
        assert "không còn hiệu lực" in (staff.answers()[-1] or "")
    await staff.press("An toàn máy móc", area_card)
    await staff.press_data(area_card.message_id, f"vck:a:{visit_id}:storage")  # pressed twice
    assert "không còn hiệu lực" in (staff.answers()[-1] or "")
    await staff.say("/cancel")
    assert seen_improvements(world) == []

    # The employer answered in the chat: the survey is not taken down a second time.
    employer = world.user(301)
    await employer.say("/feedback")
    await answer_employer_survey(employer)
    await staff.say("/visit")
    await staff.press("Xưởng mộc Hòa Phát")
    last = staff.account.last()
    assert "Chủ doanh nghiệp đã trả lời khảo sát qua trò chuyện." in last.plain
    assert "Khảo sát thay" not in str(staff.account.buttons(last))
    await staff.press_data(last.message_id, f"fb:assist:{visit_id}")
    assert "không cần ghi thay nữa" in (staff.answers()[-1] or "")
    assert [r.assisted for r in employer_responses(world)] == [False]
    with world.database.session() as session:
        assert session.exec(select(Outbox).where(Outbox.kind == "visit-report")).all() == []


async def test_an_employer_asked_after_the_visit_is_told_the_answers_were_taken_down(
    world: World,
) -> None:
    """A manager registered, the owner answered through staff: the survey counts once, and the
    reminders to answer it stop for the enterprise's employers."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, name="Lan")
    staff = world.user(201)
    await done_visit(world, enterprise.id)
    await staff.press("Bỏ qua")
    await staff.press("Khảo sát thay chủ doanh nghiệp")
    await answer_employer_survey(staff)
    with world.database.session() as session:
        [survey_round] = session.exec(select(SurveyRound)).all()
        assert survey_round.id is not None
        assert [c.role for c in surveys.pending_respondents(session, survey_round.id)] == []
    employer = world.user(301)
    await employer.say("/feedback")
    assert "đã ghi lại câu trả lời của doanh nghiệp cho đợt này" in employer.last_text()
    assert len(employer_responses(world)) == 1


def answer_all(session, contact: Contact, found: surveys.Progress, now) -> None:  # type: ignore[no-untyped-def]
    """Every question, with the first choice, a middle number or a short text; optional ones
    skipped."""
    while found.question is not None:
        question, subject = found.question, found.subject
        if question.optional:
            found = surveys.skip(session, contact=contact, subject=subject,
                                 question_id=question.id, now=now)  # fmt: skip
            continue
        value: object = {"scale": 3, "yesno": "yes", "text": "Ổn"}.get(question.type)
        if question.type == "single":
            value = question.options[0].code
        if question.type == "multi":
            value = [question.options[0].code]
        found = surveys.answer(session, contact=contact, subject=subject,
                               question_id=question.id, value=value, now=now)  # fmt: skip


def test_worker_answers_are_released_beside_an_assisted_employer_response(world: World) -> None:
    """The assisted response has no contact, like anonymous ones, but it is named: closing the
    round releases the workers' answers and leaves it as it is."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    staff_contact = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id)
    workers = [add_person(world, 400 + n, Role.WORKER, enterprise_id=enterprise.id)
               for n in range(3)]  # fmt: skip
    now = world.clock()
    with world.database.session() as session:
        survey_round = surveys.open_round(session, enterprise_id=enterprise.id, now=now)
        round_id = survey_round.id
        assert round_id is not None
        staff = session.get(Contact, staff_contact.id)
        assert staff is not None
        found = surveys.start_assisted(session, staff=staff, round_id=round_id, now=now)
        answer_all(session, staff, found, now)
        for worker in workers:
            person = session.get(Contact, worker.id)
            assert person is not None
            answer_all(session, person, surveys.start(session, contact=person,
                                                      round_id=round_id, now=now), now)  # fmt: skip
        surveys.close_round(session, round_id, now=now)
        session.commit()
        found_counts = surveys.release(session, now=now)
        session.commit()
    assert found_counts == {"released": 3}
    with world.database.session() as session:
        rows = session.exec(select(SurveyResponse)).all()
    assert sorted((r.questionnaire, r.assisted, r.released) for r in rows) == [
        ("employer", True, True), ("worker", False, True), ("worker", False, True),
        ("worker", False, True),
    ]  # fmt: skip


async def test_the_summary_counts_seen_and_assisted_apart(world: World) -> None:
    """By hand: two improvements reported by the enterprise in March (one verified), one seen
    new by staff at the visit; one employer response, taken down at the visit."""
    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    add_improvement(world.database, enterprise.id, status=ReviewStatus.VERIFIED)
    add_improvement(world.database, enterprise.id, description="Lắp nắp che bánh đà máy bào.",
                    area="machine", status=ReviewStatus.SUBMITTED)  # fmt: skip
    staff = world.user(201)
    await done_visit(world, enterprise.id)
    await staff.press("Bỏ qua")
    for label in ("Đang dùng", "Bỏ qua", "Đang dùng", "Bỏ qua"):
        await staff.press(label)
    await staff.press("Cải thiện mới tôi thấy")
    await staff.press("Vị trí làm việc")
    await staff.press("Khác / bỏ qua")
    await staff.say(NEW_ONE)
    await staff.press("Không có ảnh")
    await staff.press("Không có ảnh")
    await staff.press("Khảo sát thay chủ doanh nghiệp")
    await answer_employer_survey(staff)
    await staff.press("Quay lại danh mục kiểm tra")
    await staff.press("Kết thúc kiểm tra")
    with world.database.session() as session:
        visit = session.exec(select(Visit).where(Visit.status == "done")).one()
        assert visit.checklist_done_at is not None
        summary = build_summary(
            session, period=parse_period("2027-Q1"), scope=Scope(), tz=TZ,
            today=date(2027, 3, 31),
        )  # fmt: skip
        raw = build_summary(
            session, period=parse_period("2027-Q1"), scope=Scope(), tz=TZ,
            today=date(2027, 3, 31), rollups=False,
        )  # fmt: skip
    for figures in (summary, raw):
        assert figures.improvements.total == 3
        assert figures.improvements.verified == 2  # the one reported and verified, the one seen
        assert figures.employers.respondents == 1  # counted like any employer answer
    assert (summary.revisits.seen, summary.revisits.assisted) == (1, 1)
    assert summary.revisits.checked == 2
    rows = {(table, figure): (value, n) for table, _, figure, value, n in
            summary_rows(summary, "en")}  # fmt: skip
    assert rows[("improvements", "seen new by staff at visits")] == (1, 2)
    assert rows[("employers", "taken down by staff at a visit")] == (1, 1)
    message = summary_message(summary, "vi")
    assert "cán bộ thấy mới khi đến thăm: 1" in message
    assert "trong đó 1 do cán bộ ghi thay khi đến thăm" in message
    # Another quarter: none of it.
    with world.database.session() as session:
        later = build_summary(session, period=parse_period("2027-Q2"), scope=Scope(), tz=TZ,
                              today=date(2027, 6, 30))  # fmt: skip
    assert (later.revisits.seen, later.revisits.assisted) == (0, 0)


def test_a_crowded_report_with_what_was_seen_still_fits_one_page(tmp_path: Path) -> None:
    """Many earlier lines, many changes and many new improvements seen: one page in either
    language, each part cut to the same length and saying how much is left out."""
    from dataclasses import replace

    from reports import visit_report
    from tests.test_visit_checklist import pages, report_data

    fresh = [visit_report.Changed("workstation", f"Mới {n}: ghế có tựa lưng cho chuyền {n}")
             for n in range(25)]  # fmt: skip
    data = replace(report_data(seen=30, changed=20), new_seen=fresh, assisted=True)
    for language, heading, assisted in (
        ("vi", "Những cải thiện mới chúng tôi đã thấy", "chúng tôi đã cùng Anh/Chị ghi lại"),
        ("en", "New improvements we saw", "we took your answers down with you"),
    ):
        rendered = visit_report.render(data, language)
        assert rendered.pages == 1 and pages(rendered.pdf) == 1
        text = text_of(rendered.pdf, tmp_path)
        assert heading in text and assisted in text, language
        shown = sum(1 for n in range(25) if f"Mới {n}:" in text)
        assert 0 < shown < 25
    # A report without either says nothing of them.
    plain = text_of(visit_report.render(report_data(seen=2, changed=1), "en").pdf, tmp_path)
    assert "New improvements we saw" not in plain and "took your answers down" not in plain


async def test_an_enterprise_s_progress_counts_what_it_reported_itself(world: World) -> None:
    """/progress says "improvements you reported": one reported, one seen by staff -> 1."""
    from reports.summary import enterprise_progress

    enterprise = add_enterprise(world)
    assert enterprise.id is not None
    add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    add_improvement(world.database, enterprise.id, status=ReviewStatus.VERIFIED)
    staff = world.user(201)
    await done_visit(world, enterprise.id)
    await staff.press("Bỏ qua")
    await staff.press("Đang dùng")
    await staff.press("Bỏ qua")
    await staff.press("Cải thiện mới tôi thấy")
    await staff.press("Vị trí làm việc")
    await staff.press("Khác / bỏ qua")
    await staff.say(NEW_ONE)
    assert len(seen_improvements(world)) == 1
    with world.database.session() as session:
        progress = enterprise_progress(
            session, enterprise_id=enterprise.id, period=parse_period("2027-Q1"), tz=TZ
        )
    assert (progress.own.improvements, progress.own.verified) == (1, 1)
