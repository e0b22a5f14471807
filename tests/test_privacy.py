"""Personal-data rights through the bot: access, consent per purpose, stop and resume, erasure,
and retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from models import privacy
from models.outbox import Message, enqueue
from models.tables import (
    AuditLog,
    BotState,
    Consent,
    Contact,
    Event,
    Improvement,
    Outbox,
    OutboxStatus,
    Role,
    SurveyAnswer,
    SurveyResponse,
    SurveyRound,
)
from tests.conftest import START, World
from tests.factories import contact, join, make_enterprise, make_invite, make_provider


async def employer(world: World, user_id: int = 501, language: str = "Tiếng Việt") -> Contact:
    enterprise = make_enterprise(world, make_provider(world))
    await join(
        world, user_id, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise), language
    )
    found = contact(world, user_id)
    assert found is not None
    return found


def purposes(world: World, contact_id: int) -> set[str]:
    with world.database.session() as session:
        return {str(p) for p in privacy.active_consents(session, contact_id)}


async def test_mydata_sends_everything_as_json_and_a_summary(world: World) -> None:
    me = await employer(world)
    with world.database.session() as session:
        session.add(
            Improvement(
                enterprise_id=me.enterprise_id,
                reporter_id=me.id,
                area_code="storage",
                description="Kệ để vật liệu",
                status="submitted",
            )
        )
    person = world.user(501)
    reply = await person.say("/mydata")
    assert reply is not None and reply.document_filename == "oshbot-my-data.json"
    assert "Thông tin chúng tôi lưu về Anh/Chị" in (reply.caption or "")
    assert "Báo cáo cải thiện: 1" in (reply.caption or "")
    data = json.loads(reply.document_bytes or b"{}")
    assert data["contact"]["telegram_user_id"] == 501
    assert data["contact"]["organisation"]["name"] == "Xưởng mộc Hòa Phát"
    assert {c["purpose"] for c in data["consents"]} == {"followup", "tips"}
    assert data["improvement_reports"][0]["description"] == "Kệ để vật liệu"
    with world.database.session() as session:
        assert session.exec(select(AuditLog).where(AuditLog.action == "contact.export")).one()


async def test_agreeing_without_tips_records_only_the_followup_purpose(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    person = world.user(502, language_code="en")
    await person.say(f"/start {make_invite(world, Role.WORKER, enterprise_id=enterprise)}")
    await person.press("English")
    await person.press("but no tips")
    found = contact(world, 502)
    assert found is not None and purposes(world, found.id) == {"followup"}  # type: ignore[arg-type]


async def test_consent_per_purpose_can_be_withdrawn_and_given_again(world: World) -> None:
    found = await employer(world)
    person = world.user(501)
    card = await person.say("/privacy")
    assert card is not None and "mẹo hay hằng tháng và điển hình tốt: có" in card.plain
    assert "nêu tên doanh nghiệp trong điển hình tốt: không" in card.plain
    await person.press("Tắt: mẹo hay")
    assert purposes(world, found.id) == {"followup"}  # type: ignore[arg-type]
    assert "mẹo hay hằng tháng và điển hình tốt: không" in person.account.messages()[-1].plain
    await person.press("Bật: nêu tên")
    await person.press("Bật: mẹo hay")
    assert purposes(world, found.id) == {"followup", "tips", "naming"}  # type: ignore[arg-type]
    with world.database.session() as session:
        rows = session.exec(select(Consent).where(Consent.contact_id == found.id)).all()
        assert [r.purpose for r in rows if r.withdrawn_at is not None] == ["tips"]


async def test_workers_cannot_toggle_naming_even_with_a_forged_button(world: World) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, 503, make_invite(world, Role.WORKER, enterprise_id=enterprise))
    person = world.user(503)
    card = await person.say("/privacy")
    assert card is not None and "nêu tên" not in card.plain
    await person.press_data(card.message_id, "prv:toggle:naming")
    await person.press_data(card.message_id, "prv:toggle:nonsense")
    assert person.answers()[-2:] == ["Nút này không còn hiệu lực."] * 2


async def test_stop_words_stop_every_proactive_message_and_start_resumes(world: World) -> None:
    found = await employer(world)
    with world.database.session() as session:
        enqueue(session, key="tip:501:2027-03", contact=found, kind="tip", message=Message("Mẹo"))
        enqueue(session, key="visit-reminder:1:d-1", contact=found, kind="visit-reminder",
                message=Message("Nhắc lịch thăm"))  # fmt: skip
    person = world.user(501)
    for word in ("DỪNG", "dừng", "Stop", "huỷ", "hủy", "/stop"):
        reply = await person.say(word)
        assert reply is not None and "Đã dừng" in reply.plain
    with world.database.session() as session:
        assert session.get(Contact, found.id).opted_out_at is not None  # type: ignore[union-attr]
        statuses = {row.key: row.status for row in session.exec(select(Outbox))}
    assert statuses == {"tip:501:2027-03": "skipped", "visit-reminder:1:d-1": "pending"}
    await world.drain()
    assert person.texts()[-1] == "Nhắc lịch thăm"
    reply = await person.say("/start")
    assert reply is not None and "Chào mừng Anh/Chị trở lại" in reply.plain
    assert contact(world, 501).opted_out_at is None  # type: ignore[union-attr]


async def test_stop_typed_in_the_middle_of_a_conversation_is_not_taken_as_an_answer(
    world: World,
) -> None:
    provider = make_provider(world)
    await join(world, 504, make_invite(world, Role.STAFF, provider_id=provider))
    person = world.user(504)
    await person.say("➕ Thêm doanh nghiệp")
    reply = await person.say("dừng")
    assert reply is not None and "Đã dừng" in reply.plain
    reply = await person.say("Xưởng gỗ Minh Long")
    assert reply is not None and "ngành nghề" in reply.plain  # the conversation went on


async def test_deleteme_erases_the_person_but_keeps_the_enterprise_report(world: World) -> None:
    found = await employer(world)
    with world.database.session() as session:
        session.add(Improvement(enterprise_id=found.enterprise_id, reporter_id=found.id,
                                area_code="machine", status="verified"))  # fmt: skip
        response = SurveyResponse(questionnaire="employer", contact_id=found.id, respondent_key="k")
        session.add(response)
    await world.application.update_persistence()
    person = world.user(501)
    await person.say("/deleteme")
    await person.press("Không, giữ")
    assert contact(world, 501) is not None
    assert "Không có gì bị xóa" in " ".join(person.texts())
    await person.say("/deleteme")
    await person.press("Có, xóa dữ liệu")
    assert "dữ liệu cá nhân của Anh/Chị đã được xóa" in " ".join(person.texts())
    assert contact(world, 501) is None
    await world.application.update_persistence()
    with world.database.session() as session:
        erased = session.get(Contact, found.id)
        assert erased is not None and erased.erased_at is not None
        assert (erased.telegram_user_id, erased.chat_id, erased.display_name) == (None, None, None)
        report = session.exec(select(Improvement)).one()
        assert report.enterprise_id == found.enterprise_id and report.reporter_id is None
        assert session.exec(select(SurveyResponse)).one().contact_id is None
        assert session.exec(select(BotState).where(BotState.key == "501")).all() == []
        assert session.exec(select(AuditLog).where(AuditLog.action == "contact.erase")).one()
    reply = await person.say("/mydata")
    assert reply is not None and "chưa tham gia chương trình" in reply.plain
    assert reply is not None and reply


async def test_rights_for_someone_who_never_joined(world: World) -> None:
    person = world.user(505)
    for command in ("/mydata", "/deleteme", "/stop", "/privacy"):
        reply = await person.say(command)
        assert reply is not None and "chưa tham gia chương trình" in reply.plain


def test_stop_words_ignore_case_and_diacritics() -> None:
    for word in ("STOP", "stop", "Dừng", "DUNG", "dừng!", "huỷ", "Hủy", "HUY"):
        assert privacy.is_stop_word(word), word
    for text in ("dừng lại máy khi sửa", "stopwatch", "", None):
        assert not privacy.is_stop_word(text)


def test_retention_deletes_raw_text_and_photos_of_people_who_left(
    database,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    now = datetime(2029, 1, 1, tzinfo=UTC)
    photo = tmp_path / "before.jpg"
    photo.write_bytes(b"jpeg")
    kept = tmp_path / "kept.jpg"
    kept.write_bytes(b"jpeg")
    with database.session() as session:
        from models.programme import EnterpriseDraft, add_enterprise, add_provider

        provider = add_provider(session, name="Trung tâm Huế")
        draft = EnterpriseDraft("Xưởng", "wood", "hue", 5, now.date() - timedelta(days=900))
        enterprise = add_enterprise(session, provider_id=provider.id, draft=draft, today=now.date())
        gone = Contact(role=Role.EMPLOYER, enterprise_id=enterprise.id,
                       erased_at=now - timedelta(days=800))  # fmt: skip
        here = Contact(
            telegram_user_id=7, chat_id=7, role=Role.EMPLOYER, enterprise_id=enterprise.id
        )
        session.add(gone)
        session.add(here)
        session.flush()
        session.add(Improvement(enterprise_id=enterprise.id, reporter_id=gone.id, status="verified",
                                photo_before_path=str(photo), photo_before_file_id="f1",
                                risk_before_score=6, risk_after_score=2))  # fmt: skip
        session.add(Improvement(enterprise_id=enterprise.id, reporter_id=here.id, status="verified",
                                photo_before_path=str(kept)))  # fmt: skip
        old = now - timedelta(days=800)
        response = SurveyResponse(questionnaire="employer", contact_id=gone.id, respondent_key="a")
        session.add(response)
        old_round = SurveyRound(enterprise_id=enterprise.id, number=1, opened_at=old)
        new_round = SurveyRound(enterprise_id=enterprise.id, number=2, opened_at=now)
        session.add(old_round)
        session.add(new_round)
        session.flush()
        workshop = Event(provider_id=provider.id, kind="workshop", title="Hội thảo 2026",
                         starts_at=old, checkin_code="old-workshop")  # fmt: skip
        session.add(workshop)
        session.flush()
        reaction = SurveyResponse(questionnaire="event_reaction", event_id=workshop.id,
                                  respondent_key="r-old")  # fmt: skip
        session.add(reaction)
        session.flush()
        session.add(SurveyAnswer(response_id=reaction.id, question_id="most_useful",
                                 value_text="Phần tham quan xưởng"))  # fmt: skip
        for survey_round, key in ((old_round, "w-old"), (new_round, "w-new")):
            worker = SurveyResponse(questionnaire="worker", round_id=survey_round.id,
                                    respondent_key=key)  # fmt: skip
            session.add(worker)
            session.flush()
            session.add(SurveyAnswer(response_id=worker.id, question_id="remaining_problem",
                                     value_text=f"Còn nóng ({key})"))  # fmt: skip
            session.add(SurveyAnswer(response_id=worker.id, question_id="ideas_asked",
                                     value_text="yes"))  # fmt: skip
        session.add(SurveyAnswer(response_id=response.id, question_id="going_well",
                                 value_text="Nhà xưởng gọn hơn", answered_at=old))  # fmt: skip
        session.add(SurveyAnswer(response_id=response.id, question_id="obstacle",
                                 value_text="money", answered_at=old))  # fmt: skip
        session.add(SurveyAnswer(response_id=response.id, question_id="usefulness", value_int=5,
                                 answered_at=old))  # fmt: skip
    with database.session() as session:
        result = privacy.purge_expired(session, now=now, retention_days=730, media_root=tmp_path)
    assert result == {"texts": 3, "photos": 1}
    assert not photo.exists() and kept.exists()
    with database.session() as session:
        answers = sorted(
            (a.question_id, a.value_int or 0, a.value_text or "")
            for a in session.exec(select(SurveyAnswer))
        )
        assert answers == [
            ("going_well", 0, ""),  # raw text of someone who left
            ("ideas_asked", 0, "yes"),  # a choice, not free text
            ("ideas_asked", 0, "yes"),
            ("most_useful", 0, ""),  # anonymous reaction to an old event
            ("obstacle", 0, "money"),
            ("remaining_problem", 0, ""),  # anonymous text of an old round
            ("remaining_problem", 0, "Còn nóng (w-new)"),
            ("usefulness", 5, ""),
        ]
        scores = [
            (r.risk_before_score, r.photo_before_path) for r in session.exec(select(Improvement))
        ]
        assert (6, None) in scores and (None, str(kept)) in scores
    assert OutboxStatus.SKIPPED == "skipped"


def test_retention_runs_as_a_daily_scheduler_job() -> None:
    from scheduler.config import DEFAULT_CONFIG
    from scheduler.runner import schedule

    job = next(job for job in schedule(DEFAULT_CONFIG) if job.name == "retention")
    assert job.cadence.describe()
    assert job.function.__name__ == "retention_job"


async def test_withdrawing_naming_unnames_the_enterprise_everywhere(world: World) -> None:
    from models import improvements as imp
    from models.tables import ShareConsent

    found = await employer(world)
    with world.database.session() as session:
        draft = Improvement(enterprise_id=found.enterprise_id, reporter_id=found.id,
                            area_code="storage", status="draft")  # fmt: skip
        session.add(draft)
        session.flush()
        me = session.get(Contact, found.id)
        assert me is not None
        imp.set_share(session, draft.id, reporter=me, consent=ShareConsent.NAMED, now=START)  # type: ignore[arg-type]
    assert "naming" in purposes(world, found.id)  # type: ignore[arg-type]
    person = world.user(501)
    await person.say("/privacy")
    await person.press("Tắt: nêu tên")
    with world.database.session() as session:
        assert session.exec(select(Improvement)).one().share_consent == "anonymous"
