"""Archiving an enterprise (issue 16, administration in the chat): staff of its provider, or a
coordinator, archive it from its page after being told what happens; its live links end, its
coming visits are cancelled, its open round closes, and no scheduled job plans or sends anything
for it any more, while its history and its people's rights stay. Restoring it undoes the mark;
its links stay ended."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import col, select

from models import enterprises, events, surveys
from models.audience import Audience, count
from models.notices.enterprises import ARCHIVE_OK, LINKS, MOVE, RESTORE_OK
from models.tables import (
    AuditLog,
    Contact,
    Enterprise,
    Improvement,
    InboxThread,
    Invite,
    Outbox,
    PlanItem,
    ReviewStatus,
    Role,
    SurveyRound,
    Visit,
    VisitStatus,
)
from reports.figures import Scope, quarter_period
from reports.summary import build_summary
from reports.xlsx import export_sheets
from scheduler import jobs, results
from scheduler.config import SchedulerConfig
from tests.conftest import World
from tests.factories import (
    add_enterprise,
    add_person,
    cast,
    contact,
    coordinator,
    expect,
    join,
    local,
    make_enterprise,
    make_invite,
    make_provider,
    report,
    staff,
    tap,
)
from tests.test_report import picture

CONFIG = SchedulerConfig()


def _archived(world: World, enterprise_id: int) -> Enterprise:
    with world.database.session() as session:
        found = session.get(Enterprise, enterprise_id)
        assert found is not None
        session.expunge(found)
        return found


def _actions(world: World, action: str) -> list[dict[str, object]]:
    with world.database.session() as session:
        return [
            dict(details or {})
            for details in session.exec(select(AuditLog.details).where(AuditLog.action == action))
        ]


# -- in the chat -------------------------------------------------------------------------------


async def test_staff_archive_an_enterprise_after_being_told_what_happens(world: World) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    make_enterprise(world, provider, "Cơ khí Tân Tiến")
    person = await staff(world, 501, provider)
    colleague = await staff(world, 503, provider, "English")
    code = make_invite(world, Role.EMPLOYER, enterprise_id=enterprise)
    await join(world, 101, code)
    with world.database.session() as session:
        session.add(Visit(enterprise_id=enterprise, due_on=date(2027, 4, 1), offset_months=6))
        done = Visit(
            enterprise_id=enterprise, due_on=date(2027, 1, 1), status=VisitStatus.DONE,
            done_at=world.clock() - timedelta(days=50), offset_months=3,
        )  # fmt: skip
        session.add(done)
        surveys.open_round(session, enterprise_id=enterprise, now=world.clock())

    await person.say("/enterprises")
    await person.press("Xưởng mộc Hòa Phát")
    question = await person.press("🗄 Lưu trữ")
    assert question is not None
    assert "Lưu trữ Xưởng mộc Hòa Phát?" in question.plain
    assert "các liên kết mời hết hiệu lực ngay" in question.plain
    assert "Lịch sử vẫn được giữ" in question.plain
    # A restart between the question and the answer loses nothing: the button says it all.
    await world.restart()
    await person.press("✅ Lưu trữ", question)
    told = person.last_text()
    assert "Đã lưu trữ Xưởng mộc Hòa Phát: 1 liên kết mời hết hiệu lực" in told
    assert "1 lần thăm lại sắp tới đã hủy, 1 đợt khảo sát đã đóng" in told
    staff_id = contact(world, 501).id  # type: ignore[union-attr]
    with world.database.session() as session:
        archived = session.get(Enterprise, enterprise)
        assert archived is not None and archived.archived_at == world.clock()
        assert archived.archived_by_id == staff_id
        statuses = session.exec(
            select(Visit.status, Visit.offset_months)
            .where(Visit.enterprise_id == enterprise)
            .order_by(Visit.due_on)
        ).all()
        # The done visit keeps its place; the cancelled one gives its place up, for a restore.
        assert statuses == [(VisitStatus.DONE, 3), (VisitStatus.CANCELLED, None)]
        assert session.exec(select(SurveyRound.closed_at)).all() == [world.clock()]
        links = session.exec(select(Invite).where(Invite.enterprise_id == enterprise)).all()
        assert links and all(i.revoked_at is not None for i in links)
    [record] = _actions(world, "enterprise.archive")
    assert record["links"] == 1 and record["visits"] == [
        {"visit": record["visits"][0]["visit"], "offset": 6}
    ]  # type: ignore[index]

    # The provider's other staff are told, with a button to its page.
    await world.drain()
    assert "Xưởng mộc Hòa Phát was archived by An" in colleague.last_text()
    assert [label for label, _ in colleague.account.buttons()] == ["🏭 Open its page"]
    english = await colleague.press("🏭 Open its page")
    assert english is not None
    assert "🗄 Archived on Mon 1 Mar 2027 by An: no longer followed up." in english.plain
    assert "♻️ Restore" in [label for label, _ in colleague.account.buttons(english)]

    # Nobody joins with its old link any more.
    late = world.user(102)
    await late.say(f"/start {code}")
    assert contact(world, 102) is None

    # The list leaves it out, and says how many are archived, with a button to them.
    listing = await person.say("/enterprises")
    assert listing is not None
    assert "Doanh nghiệp của Anh/Chị: 1" in listing.plain and "Hòa Phát" not in listing.plain
    await person.press("🗄 Đã lưu trữ: 1", listing)
    shelf = person.account.messages()[-1]
    assert "Doanh nghiệp đã lưu trữ: 1" in shelf.plain and "Xưởng mộc Hòa Phát" in shelf.plain
    # Search finds it only in that list.
    found = await person.say("/enterprises hoa phat")
    assert found is not None and "Không có doanh nghiệp nào khớp với “hoa phat”" in found.plain
    await person.press("🗄 Đã lưu trữ: 1", found)
    assert "Doanh nghiệp đã lưu trữ khớp với “hoa phat”: 1" in person.last_text()
    page = await person.press("Xưởng mộc Hòa Phát")
    assert page is not None
    assert "🗄 Đã lưu trữ vào Thứ Hai, 01/03/2027, bởi An: không còn được theo dõi." in page.plain
    assert "Đợt 1 (đã đóng)" in page.plain
    labels = [label for label, _ in person.account.buttons(page)]
    assert labels == ["👥 Thành viên", "🎯 Kế hoạch", "♻️ Khôi phục"]

    # Its people keep the direct line: what they ask still reaches the provider.
    employer = world.user(101)
    await employer.say("Chúng tôi vẫn dùng kệ ba tầng, cảm ơn")
    await employer.press("✅ Có, gửi đi")
    with world.database.session() as session:
        [thread] = session.exec(select(InboxThread)).all()
        assert thread.enterprise_id == enterprise and thread.provider_id == provider


async def test_restoring_brings_it_back_and_its_old_links_stay_ended(world: World) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    person = await staff(world, 501, provider)
    code = make_invite(world, Role.WORKER, enterprise_id=enterprise)
    with world.database.session() as session:
        actor = session.get(Contact, contact(world, 501).id)  # type: ignore[union-attr]
        enterprises.archive(session, actor, enterprise, now=world.clock())
    world.clock.advance(days=2)

    listing = await person.say("/enterprises")
    assert (
        listing is not None
        and "Tất cả doanh nghiệp của Anh/Chị đều đã được lưu trữ." in listing.plain
    )
    await person.press("🗄 Đã lưu trữ: 1", listing)
    await person.press("Xưởng mộc Hòa Phát")
    question = await person.press("♻️ Khôi phục")
    assert question is not None and "Các liên kết mời cũ vẫn hết hiệu lực" in question.plain
    await world.restart()
    await person.press("✅ Khôi phục", question)
    assert "Xưởng mộc Hòa Phát đã được theo dõi lại" in person.last_text()
    assert _archived(world, enterprise).archived_at is None
    [record] = _actions(world, "enterprise.restore")
    assert record["at"] == world.clock().isoformat()

    listing = await person.say("/enterprises")
    assert listing is not None and "Doanh nghiệp của Anh/Chị: 1" in listing.plain
    assert not [label for label, _ in person.account.buttons(listing) if "lưu trữ" in label]
    # The old link stays ended; the page issues new ones.
    await world.user(102).say(f"/start {code}")
    assert contact(world, 102) is None
    page = await person.press("Xưởng mộc Hòa Phát")
    assert page is not None and "🗄 Lưu trữ" in [label for label, _ in person.account.buttons(page)]
    await person.press("🔗 Link mời", page)
    with world.database.session() as session:
        live = session.exec(
            select(Invite).where(Invite.enterprise_id == enterprise, Invite.revoked_at == None)  # noqa: E711
        ).all()
        assert sorted(i.role for i in live) == [Role.EMPLOYER, Role.WORKER]
        fresh = next(i for i in live if i.role == Role.WORKER).code
    await join(world, 103, fresh)
    assert contact(world, 103).enterprise_id == enterprise  # type: ignore[union-attr]


async def test_other_providers_staff_are_refused_and_stale_buttons_change_nothing(
    world: World,
) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    person = await staff(world, 501, provider)
    outsider = await staff(world, 502, make_provider(world, "Trung tâm ATVSLĐ Huế"))
    anchor = outsider.account.messages()[-1]
    await outsider.press_data(anchor.message_id, f"{ARCHIVE_OK}{enterprise}")
    assert "chỉ cán bộ của đơn vị hỗ trợ doanh nghiệp này" in (outsider.answers()[-1] or "")
    assert _archived(world, enterprise).archived_at is None

    await person.say("/enterprises")
    page = await person.press("Xưởng mộc Hòa Phát")
    assert page is not None
    question = await person.press("🗄 Lưu trữ", page)
    assert question is not None
    second = await person.press("🗄 Lưu trữ", page)  # asked twice: the first answer wins
    assert second is not None
    await person.press("✖ Giữ nguyên", question)
    [kept] = [m for m in person.account.messages() if m.message_id == question.message_id]
    assert "Không" in kept.plain and "thay đổi" in kept.plain
    assert _archived(world, enterprise).archived_at is None
    await person.press("✅ Lưu trữ", second)
    assert _archived(world, enterprise).archived_at is not None
    # The old page's and question's buttons are refused now, and change nothing.
    for data in (f"{ARCHIVE_OK}{enterprise}", f"{LINKS}{enterprise}", f"{MOVE}{enterprise}"):
        await person.press_data(page.message_id, data)
        assert "Doanh nghiệp này đã được lưu trữ" in (person.answers()[-1] or ""), data
    await outsider.press_data(anchor.message_id, f"{RESTORE_OK}{enterprise}")
    assert "chỉ cán bộ" in (outsider.answers()[-1] or "")
    assert len(_actions(world, "enterprise.archive")) == 1
    with world.database.session() as session:
        issued = session.exec(select(Invite).where(Invite.enterprise_id == enterprise)).all()
        assert issued == []  # the links button issued none

    # A coordinator looks after every enterprise: restores it; a second press is stale.
    boss = await coordinator(world)
    mark = boss.account.messages()[-1].message_id
    await boss.press_data(mark, f"{RESTORE_OK}{enterprise}")
    assert _archived(world, enterprise).archived_at is None
    await boss.press_data(mark, f"{RESTORE_OK}{enterprise}")
    assert "không (còn) ở trong lưu trữ" in (boss.answers()[-1] or "")
    assert len(_actions(world, "enterprise.restore")) == 1
    await world.drain()  # the provider's staff hear who restored it; the coordinator nothing
    assert "Xưởng mộc Hòa Phát đã được An khôi phục" in person.last_text()
    with world.database.session() as session:
        told = session.exec(select(Outbox.contact_id).where(Outbox.kind == "enterprise")).all()
    assert told == [contact(world, 501).id]  # type: ignore[union-attr]


# -- the scheduler leaves it out ---------------------------------------------------------------


class Twins:
    """Two enterprises alike in everything, one of which is archived."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.kept = add_enterprise(world)
        self.shelved = add_enterprise(
            world, provider_id=self.kept.provider_id, name="Cơ khí Tân Tiến"
        )
        self.staff = add_person(world, 900, Role.STAFF, provider_id=self.kept.provider_id)
        self.people: dict[int, list[Contact]] = {}
        for base, enterprise in ((300, self.kept), (400, self.shelved)):
            assert enterprise.id is not None
            self.people[enterprise.id] = [
                add_person(world, base + 1, Role.EMPLOYER, enterprise_id=enterprise.id),
                add_person(world, base + 2, Role.WORKER, enterprise_id=enterprise.id),
            ]

    def ids(self, enterprise: Enterprise) -> set[int]:
        return {c.id for c in self.people[enterprise.id] if c.id is not None}  # type: ignore[index]

    def archive(self) -> enterprises.Archived:
        with self.world.database.session() as session:
            actor = session.get(Contact, self.staff.id)
            return enterprises.archive(session, actor, self.shelved.id, now=self.world.clock())  # type: ignore[arg-type]

    def restore(self) -> None:
        with self.world.database.session() as session:
            actor = session.get(Contact, self.staff.id)
            enterprises.restore(session, actor, self.shelved.id, now=self.world.clock())  # type: ignore[arg-type]

    def recipients(self, kind: str) -> set[int]:
        with self.world.database.session() as session:
            return set(session.exec(select(Outbox.contact_id).where(Outbox.kind == kind)).all())


async def test_the_visits_job_plans_and_announces_nothing_for_an_archived_enterprise(
    world: World,
) -> None:
    twins = Twins(world)
    with world.database.session() as session:
        first = jobs.visits_job(session, world.clock(), config=CONFIG)
    assert first["planned"] == 8 and first["nudged"] == 2  # the 1-month visits are due
    assert twins.archive().visits == 4
    world.clock.now = local(2027, 4, 26)  # the 3-month visits fell due
    with world.database.session() as session:
        assert jobs.visits_job(session, world.clock(), config=CONFIG) == {
            "planned": 0, "nudged": 1, "reminded": 0, "outcome": 0,
        }  # fmt: skip
    # Restored, its revisits are planned again, and those already due are announced.
    twins.restore()
    with world.database.session() as session:
        again = jobs.visits_job(session, world.clock(), config=CONFIG)
        assert again["planned"] == 4 and again["nudged"] == 2
        coming = session.exec(
            select(Visit.offset_months).where(
                Visit.enterprise_id == twins.shelved.id, Visit.status == VisitStatus.PLANNED
            )
        ).all()
    assert sorted(coming) == [1, 3, 6, 12]  # type: ignore[type-var]


async def test_survey_reminders_and_round_results_leave_an_archived_enterprise_out(
    world: World,
) -> None:
    twins = Twins(world)
    with world.database.session() as session:
        for enterprise in (twins.kept, twins.shelved):
            opened = surveys.open_round(session, enterprise_id=enterprise.id, now=world.clock())  # type: ignore[arg-type]
            jobs.survey_invitations(session, opened, now=world.clock())
    await world.drain()
    assert twins.archive().rounds == 1
    world.clock.advance(days=3)
    with world.database.session() as session:
        assert jobs.nudges_job(session, world.clock(), config=CONFIG)["survey"] == 2
    assert twins.recipients("survey-nudge") == twins.ids(twins.kept)
    # The followed-up round closes too; the `surveys` job settles both; a card for one only.
    with world.database.session() as session:
        kept_round = surveys.current_round(session, twins.kept.id)  # type: ignore[arg-type]
        assert kept_round is not None and kept_round.id is not None
        surveys.close_round(session, kept_round.id, now=world.clock())
        surveys.release_job(session, world.clock())
    with world.database.session() as session:
        assert results.results_job(session, world.clock(), config=CONFIG) == {
            "cards": 1, "waiting": 0,
        }  # fmt: skip
    assert twins.recipients(results.KIND) == {twins.people[twins.kept.id][0].id}  # type: ignore[index]
    # A person of the archived enterprise who asks for the survey opens no new round.
    with world.database.session() as session:
        assert surveys.round_to_answer(session, twins.shelved.id, now=world.clock()) is None  # type: ignore[arg-type]


async def test_tips_draft_and_plan_reminders_leave_an_archived_enterprise_out(
    world: World,
) -> None:
    twins = Twins(world)
    with world.database.session() as session:
        for enterprise in (twins.kept, twins.shelved):
            employer = twins.people[enterprise.id][0]  # type: ignore[index]
            session.add(
                Improvement(
                    enterprise_id=enterprise.id,  # type: ignore[arg-type]
                    reporter_id=employer.id,
                    area_code="storage",
                    updated_at=world.clock(),
                )
            )
            session.add(
                PlanItem(
                    enterprise_id=enterprise.id,  # type: ignore[arg-type]
                    area_code="storage", what="Kệ ba tầng", who="Anh Tuấn",
                    due_on=date(2027, 3, 6),
                )
            )  # fmt: skip
    twins.archive()
    world.clock.advance(days=1, minutes=1)
    with world.database.session() as session:
        nudged = jobs.nudges_job(session, world.clock(), config=CONFIG)
    assert (nudged["draft"], nudged["plan"]) == (1, 1)
    employer = {twins.people[twins.kept.id][0].id}  # type: ignore[index]
    assert twins.recipients("draft-nudge") == employer
    assert twins.recipients("plan-reminder") == employer
    with world.database.session() as session:
        assert jobs.tips_job(session, world.clock(), config=CONFIG)["queued"] == 2
    assert twins.recipients("tip") == twins.ids(twins.kept)


async def test_broadcasts_and_province_results_leave_it_out_and_summaries_count_it(
    world: World,
) -> None:
    twins = Twins(world)
    with world.database.session() as session:
        for enterprise in (twins.kept, twins.shelved):
            session.add(
                Improvement(
                    enterprise_id=enterprise.id,  # type: ignore[arg-type]
                    reporter_id=twins.people[enterprise.id][0].id,  # type: ignore[index]
                    area_code="storage",
                    status=ReviewStatus.VERIFIED,
                    description="Giá nhiều tầng để vật liệu không nằm dưới sàn",
                    submitted_at=local(2027, 2, 3),
                    reviewed_at=local(2027, 2, 4),
                )
            )
    with world.database.session() as session:
        assert count(session, Audience(provider_id=twins.kept.provider_id)) == 4
    twins.archive()
    with world.database.session() as session:
        assert count(session, Audience(provider_id=twins.kept.provider_id)) == 2
        assert count(session, Audience(provinces=("da-nang",), good_examples=True)) == 2
        assert results.province_results_job(session, local(2027, 4, 2, 9), config=CONFIG) == {
            "messages": 2, "provinces": 1,
        }  # fmt: skip
        # Its history stays in the figures: both enterprises' improvements are counted.
        summary = build_summary(
            session, period=quarter_period(2027, 1), scope=Scope(), tz=CONFIG.tz,
            today=date(2027, 4, 2),
        )  # fmt: skip
        assert summary.improvements.total == 2
        # ... and in the export, where the archived one says since when.
        [sheet] = [
            s for s in export_sheets(session, summary=summary, tz=CONFIG.tz, language="en")
            if s.name == "enterprises"
        ]  # fmt: skip
        archived_on = {row[2]: row[-1] for row in sheet.rows()}
    assert archived_on == {
        "Xưởng mộc Hòa Phát": None,
        "Cơ khí Tân Tiến": world.clock().astimezone(CONFIG.tz).replace(tzinfo=None),
    }
    assert twins.recipients(results.QUARTER_KIND) == twins.ids(twins.kept)


async def test_its_people_still_report_improvements_and_staff_review_them(world: World) -> None:
    c = await cast(world)
    await join(world, 201, make_invite(world, Role.WORKER, enterprise_id=c.enterprise), "English")
    with world.database.session() as session:
        actor = session.get(Contact, contact(world, c.staff.id).id)  # type: ignore[union-attr]
        enterprises.archive(session, actor, c.enterprise, now=world.clock())
    w = world.user(201)
    await expect(w, await w.say("/report"), "Which area is your improvement about?")
    await expect(w, await tap(w, "🪑 Workstation design"), "Which kind of improvement is it?")
    await expect(w, await tap(w, "Other / skip"), "What did you improve?")
    await w.say("Chairs with backrests for the sewing line.")
    await tap(w, "🚫 No photo")
    await expect(w, await w.send("document", picture("AFTER", kind="PNG"), "after.png"), "cost")
    await expect(w, await tap(w, "Free"), "How many workers benefit")
    await w.say("4")
    await tap(w, "possible")
    await tap(w, "minor")
    await tap(w, "unlikely")
    await expect(w, await tap(w, "minor"), "May we share this")
    await tap(w, "No")
    await tap(w, "✅ Confirm and send")
    assert "Thank you! Your report went to" in w.last_text()
    assert report(world).status == ReviewStatus.SUBMITTED
    await world.drain()
    assert "Người báo cáo: một người lao động" in c.staff.account.messages()[-1].plain
    # Their data rights stay: /mydata answers as for anyone.
    await w.say("/mydata")
    assert w.account.messages()[-1].method == "sendDocument"


async def test_event_reminders_go_only_to_its_people_who_said_they_will_come(
    world: World,
) -> None:
    twins = Twins(world)
    starts = world.clock() + timedelta(days=3)
    draft = events.EventDraft(events.ACHIEVEMENT_WORKSHOP, "Hội thảo thành quả", starts, "Đà Nẵng")
    with world.database.session() as session:
        organiser = session.get(Contact, twins.staff.id)
        assert organiser is not None
        event = events.create_event(session, draft=draft, actor=organiser, now=world.clock())
        assert events.invite(session, event=event, now=world.clock()) == 4
        event_id = event.id
    employer, worker = twins.people[twins.shelved.id]  # type: ignore[index]
    with world.database.session() as session:
        assert event_id is not None
        events.answer(
            session, event_id=event_id, contact=employer, value=events.GOING, now=world.clock()
        )
    twins.archive()
    # Invited after the archive, nobody of it would be: the audience leaves it out.
    with world.database.session() as session:
        assert count(session, Audience(provider_id=twins.kept.provider_id)) == 2
    world.clock.now = starts - timedelta(hours=23)
    with world.database.session() as session:
        assert events.events_job(session, world.clock(), config=CONFIG)["event_reminders"] == 3
        reminded = set(
            session.exec(
                select(Outbox.contact_id).where(col(Outbox.key).startswith("event-reminder:"))
            ).all()
        )
    assert reminded == twins.ids(twins.kept) | {employer.id}
    assert worker.id not in reminded
