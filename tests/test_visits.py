"""Revisits end to end: due -> staff propose -> employer suggests -> staff accept -> reminders ->
outcome -> surveys; plus the refusals and the lists. Time moves with `world.clock`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from models import visits
from models.programme import ProgrammeError
from models.tables import (
    Contact,
    Enterprise,
    Outbox,
    Provider,
    Role,
    SurveyRound,
    Visit,
    VisitStatus,
)
from tests.conftest import World
from tests.factories import TZ, add_enterprise, add_person, local, run_visits


def the_visit(world: World, visit_id: int) -> Visit:
    with world.database.session() as session:
        found = session.get(Visit, visit_id)
        assert found is not None
        return found


@pytest.fixture
def cast(world: World):  # type: ignore[no-untyped-def]
    enterprise = add_enterprise(world)
    staff = add_person(world, 201, Role.STAFF, provider_id=enterprise.provider_id, name="Dũng")
    employer = add_person(world, 301, Role.EMPLOYER, enterprise_id=enterprise.id, name="Lan")
    worker = add_person(world, 302, Role.WORKER, enterprise_id=enterprise.id, name="Bình")
    return enterprise, staff, employer, worker


async def test_a_full_revisit_cycle(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    enterprise, _, _, _ = cast
    staff, employer, worker = world.user(201), world.user(301), world.user(302)

    # 1 March: the one-month revisit (due 25 February) is planned and announced to staff.
    result = run_visits(world)
    assert result["planned"] == 4 and result["nudged"] == 1
    with world.database.session() as session:
        plan = session.exec(
            select(Visit.offset_months, Visit.due_on).where(Visit.enterprise_id == enterprise.id)
        ).all()
    assert sorted(plan) == [
        (1, date(2027, 2, 25)),
        (3, date(2027, 4, 25)),
        (6, date(2027, 7, 25)),
        (12, date(2028, 1, 25)),
    ]
    assert run_visits(world)["nudged"] == 0  # announced once
    await world.drain()
    assert "Đã đến hạn thăm lại" in staff.last_text()
    assert "Xưởng mộc Hòa Phát" in staff.last_text()

    # Staff propose a time; a sticker and an impossible date are answered, nothing is stored.
    await staff.press("📅")
    await staff.send("sticker")
    assert "20/03" in staff.last_text()
    await staff.say("31/02 9:00")
    await staff.say("05/03 9:00")
    with world.database.session() as session:
        visit = session.exec(
            select(Visit).where(Visit.enterprise_id == enterprise.id, Visit.offset_months == 1)
        ).one()
    visit_id = visit.id
    assert visit.status == VisitStatus.PROPOSED
    assert visit.scheduled_at == local(2027, 3, 5, 9)
    await world.drain()
    proposal = employer.last_text()
    assert "Trung tâm ATVSLĐ Đà Nẵng" in proposal and "Thứ Sáu, 05/03/2027" in proposal

    # The employer suggests another time; staff accept it; the employer hears back.
    await employer.press("🕑")
    await employer.say("06/03 14:00")
    await world.drain()
    assert "06/03/2027" in staff.last_text()
    await staff.press("✅")
    assert the_visit(world, visit_id).status == VisitStatus.CONFIRMED  # type: ignore[arg-type]
    assert the_visit(world, visit_id).scheduled_at == local(2027, 3, 6, 14)  # type: ignore[arg-type]
    await world.drain()
    assert "06/03/2027" in employer.last_text()

    # The day before, both are reminded, once.
    world.clock.now = local(2027, 3, 5, 8)
    assert run_visits(world)["reminded"] == 2
    assert run_visits(world)["reminded"] == 0
    await world.drain()
    assert "14:00" in employer.last_text() and "14:00" in staff.last_text()

    # The day after, staff are asked for the outcome: done, with notes.
    world.clock.now = local(2027, 3, 7, 8)
    assert run_visits(world)["outcome"] == 1
    await world.drain()
    await staff.press("✅")
    await staff.say("Đã xem giá kệ mới, công nhân rất hài lòng.")
    done = the_visit(world, visit_id)  # type: ignore[arg-type]
    assert done.status == VisitStatus.DONE and done.notes and "giá kệ" in done.notes

    # "Done" opened a survey round; the employer and the worker are invited with its button.
    with world.database.session() as session:
        survey_round = session.exec(
            select(SurveyRound).where(SurveyRound.enterprise_id == enterprise.id)
        ).one()
    assert survey_round.visit_id == visit_id
    await world.drain()
    for person in (employer, worker):
        data = [d for _, d in person.account.buttons(person.account.last())]
        assert f"fb:start:{survey_round.id}" in data

    # The next revisit is still planned: the 3-month one.
    with world.database.session() as session:
        upcoming = session.exec(
            select(Visit).where(Visit.enterprise_id == enterprise.id, Visit.offset_months == 3)
        ).one()
    assert upcoming.status == VisitStatus.PLANNED


async def test_an_employer_confirms_and_a_second_press_changes_nothing(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    staff, employer = world.user(201), world.user(301)
    run_visits(world)
    await world.drain()
    await staff.press("📅")
    await staff.say("10/03 8:30")
    await world.drain()
    message = employer.account.last()
    confirm_data = employer.account.buttons(message)[0][1]
    assert confirm_data is not None
    await employer.press("✅", message)
    assert "10/03/2027" in employer.last_text()
    await employer.press_data(message.message_id, confirm_data)  # again, e.g. a double tap
    assert employer.answers()[-1]
    with world.database.session() as session:
        assert len(session.exec(select(Outbox).where(Outbox.kind == "visit-confirmed")).all()) == 1
    await world.drain()
    assert "đã được xác nhận" in staff.last_text()


async def test_buttons_of_another_enterprise_or_forged_ones_are_refused(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    enterprise, _, _, _ = cast
    other = add_enterprise(world, name="Cơ khí Tân Tiến")
    add_person(world, 401, Role.EMPLOYER, enterprise_id=other.id, name="Tiến")
    stranger_staff = add_person(world, 402, Role.STAFF, provider_id=other.provider_id)
    run_visits(world)
    await world.drain()
    staff = world.user(201)
    await staff.press("📅")
    await staff.say("10/03 8:30")
    await world.drain()
    with world.database.session() as session:
        visit = session.exec(
            select(Visit).where(
                Visit.enterprise_id == enterprise.id, Visit.status == VisitStatus.PROPOSED
            )
        ).one()
    outsider = world.user(401)
    sent = await outsider.say("/help")
    assert sent is not None
    await outsider.press_data(sent.message_id, f"vis:ok:{visit.id}")
    await outsider.press_data(sent.message_id, "vis:ok:99999999")
    await outsider.press_data(sent.message_id, "vis:ok:abc")
    other_staff = world.user(402)
    sent = await other_staff.say("/help")
    assert sent is not None
    await other_staff.press_data(sent.message_id, f"vis:prop:{visit.id}")
    assert the_visit(world, visit.id).status == VisitStatus.PROPOSED  # type: ignore[arg-type]
    answers = outsider.answers() + other_staff.answers()
    assert all(a for a in answers)  # every press got an answer
    assert stranger_staff.id is not None


async def test_a_visit_that_did_not_happen_is_replanned(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    enterprise, _, _, _ = cast
    staff = world.user(201)
    run_visits(world)
    await world.drain()
    await staff.press("📅")
    await staff.say("03/03 9:00")
    world.clock.now = local(2027, 3, 4, 8)
    run_visits(world)
    await world.drain()
    await staff.press("✖")
    assert "Đề xuất ngày mới" in str(staff.account.buttons())  # straight to a new date
    await staff.press("Bỏ qua")
    with world.database.session() as session:
        rows = session.exec(
            select(Visit.status).where(
                Visit.enterprise_id == enterprise.id, Visit.offset_months == 1
            )
        ).all()
    assert sorted(rows) == ["missed", "planned"]
    # No survey round after a missed visit.
    with world.database.session() as session:
        assert session.exec(select(SurveyRound)).first() is None


async def test_visits_lists_upcoming_and_overdue_and_employers_see_the_next_visit(
    world: World,
    cast,  # type: ignore[no-untyped-def]
) -> None:
    enterprise, _, _, _ = cast
    second = add_enterprise(world, provider_id=enterprise.provider_id, name="Công ty May Thu Hà")
    assert second.id is not None
    staff, employer = world.user(201), world.user(301)
    run_visits(world)
    await world.drain()
    await employer.say("/nextvisit")
    assert "chưa có lịch thăm" in employer.last_text()
    await staff.say("/visits")
    board = staff.last_text()
    assert "Xưởng mộc Hòa Phát" in board and "Công ty May Thu Hà" in board
    await staff.press("Xưởng mộc")
    await staff.say("12/03 10:00")
    await world.drain()
    await employer.press("✅")
    await employer.say("/nextvisit")
    assert "12/03/2027" in employer.last_text()
    await staff.say("/visits")
    assert "12/03/2027" in staff.last_text()


def test_typed_times_are_understood() -> None:
    now = local(2027, 3, 1, 9)
    assert visits.parse_when("20/03 9:00", now=now, tz=TZ) == datetime(2027, 3, 20, 9, tzinfo=TZ)
    assert visits.parse_when("20/3/2027 14h30", now=now, tz=TZ) == datetime(
        2027, 3, 20, 14, 30, tzinfo=TZ
    )
    assert visits.parse_when("9h 20-03", now=now, tz=TZ) == datetime(2027, 3, 20, 9, tzinfo=TZ)
    # Without a year, a date already gone means next year.
    assert visits.parse_when("15/01 8:00", now=now, tz=TZ).year == 2028
    for text, code in [
        ("", "when_invalid"),
        ("tomorrow", "when_invalid"),
        ("20/03", "when_needs_time"),
        ("30/02 9:00", "when_invalid"),
        ("20/03 25:00", "when_invalid"),
        ("01/03/2027 8:00", "when_past"),
        ("01/03/2029 8:00", "when_too_far"),
    ]:
        with pytest.raises(ProgrammeError) as raised:
            visits.parse_when(text, now=now, tz=TZ)
        assert raised.value.code == code, text


async def test_proposals_wait_for_the_end_of_quiet_hours(world: World, cast) -> None:  # type: ignore[no-untyped-def]
    staff, employer = world.user(201), world.user(301)
    world.clock.now = local(2027, 3, 1, 20, 50)
    run_visits(world)
    await world.drain()
    world.clock.now = local(2027, 3, 1, 21, 30)
    await staff.press("📅")
    await staff.say("05/03 9:00")
    await world.drain()
    assert employer.texts() == []  # held: 21:30 is quiet
    world.clock.now = local(2027, 3, 2, 7, 0)
    await world.drain()
    assert "05/03/2027" in employer.last_text()
    with world.database.session() as session:
        kinds = set(session.exec(select(Outbox.kind)))
    assert "visit-proposal" in kinds
    assert timedelta(0) == timedelta(0)


@pytest.mark.parametrize("zone", ["Asia/Ho_Chi_Minh", "America/Bogota"])
@pytest.mark.parametrize("clock", [(23, 30), (0, 30)])
def test_a_replacement_visit_is_due_on_the_local_day_at_the_edges_of_the_day(
    database, zone: str, clock: tuple[int, int]
) -> None:  # type: ignore[no-untyped-def]
    """Logged at 23:30 or 00:30 in Viet Nam (UTC+7) or Colombia (UTC-5), the replacement is due
    the day the staff member sees, and /visits lists it as due now."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    with database.session() as session:
        provider = Provider(name="Trung tâm ATVSLĐ Đà Nẵng")
        session.add(provider)
        session.flush()
        enterprise = Enterprise(provider_id=provider.id, name="Xưởng mộc Hòa Phát",  # type: ignore[arg-type]
                                sector_code="wood", province_code="da-nang", workers=18,
                                intervention_date=date(2027, 1, 25))  # fmt: skip
        session.add(enterprise)
        session.flush()
        staff = Contact(telegram_user_id=1, chat_id=1, role=Role.STAFF, provider_id=provider.id)
        visit = Visit(enterprise_id=enterprise.id, offset_months=1, due_on=date(2027, 2, 25))  # type: ignore[arg-type]
        session.add_all([staff, visit])
        session.flush()
        moment = datetime(2027, 3, 1, *clock, tzinfo=tz)
        now = moment.astimezone(UTC)
        # 00:30 in Viet Nam and 23:30 in Colombia are on another day in UTC.
        _missed, replacement = visits.record_outcome(
            session,
            visit_id=visit.id,
            staff=staff,
            done=False,
            now=now,
            tz=tz,  # type: ignore[arg-type]
        )
        assert replacement is not None and replacement.due_on == moment.date()
        _upcoming, overdue = visits.visits_board(session, provider_id=provider.id, now=now, tz=tz)
        assert replacement.id in {row.visit.id for row in overdue}
