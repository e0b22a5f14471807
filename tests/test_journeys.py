"""The journey engine (models/journeys/) as people meet it: any process can take a person's
next message, free text goes only to the journey in front, and an upgrade keeps the survey a
person was answering."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from bot.playback import Person
from models import surveys
from models.db import Database, alembic_config, upgrade
from models.journeys.state import telegram_person
from models.tables import BotState, JourneyState, Role, SurveyPending
from tests.conftest import World
from tests.factories import join, make_enterprise, make_invite, make_provider, two_processes

PAUSED_VI = "Tôi đã dừng việc đang làm dở để làm ngay việc Anh/Chị vừa yêu cầu."
WELCOME_BACK_VI = "Chào mừng Anh/Chị quay lại"


async def member(world: World, user_id: int, role: Role) -> Person:
    enterprise = make_enterprise(world, make_provider(world))
    await join(world, user_id, make_invite(world, role, enterprise_id=enterprise))
    return world.user(user_id)


def so_far(world: World) -> dict[str, object]:
    with world.database.session() as session:
        [row] = session.exec(select(SurveyPending)).all()
        return dict(row.answers)


async def test_two_processes_on_one_database_take_turns_answering_one_survey(
    world: World,
) -> None:
    """Two Applications (two `oshbot serve` workers) share the database, and each handles every
    other update of the person: the survey goes on as if one process had served it all, ticked
    boxes included."""
    boss = await member(world, 101, Role.EMPLOYER)
    async with two_processes(world):
        await boss.say("/feedback")  # process B
        await boss.press("4")  # A
        await boss.press("Tập huấn")  # B ticks one box
        await boss.press("Tài liệu")  # A ticks another: it knows the first
        labels = [label for label, _ in boss.account.buttons()]
        assert "✅ Tập huấn" in labels and "✅ Tài liệu, hình ảnh hướng dẫn" in labels, labels
        await boss.press("Xong")  # B
        assert "→ Tập huấn, Tài liệu, hình ảnh hướng dẫn" in boss.texts()[-2]
        await boss.say("Kho gọn gàng")  # A: typed text goes to the survey
        await boss.say("/cancel")  # B
        assert "Đã tạm dừng" in boss.last_text()
        back = await boss.say("/feedback")  # A resumes where B paused
        assert back is not None and WELCOME_BACK_VI in back.plain
        answers = so_far(world)
        assert answers["usefulness"] == 4 and answers["going_well"] == "Kho gọn gàng"
        assert sorted(answers["support_helpful"]) == ["materials", "training"]  # type: ignore[arg-type]
        assert not any("vui lòng chọn" in text for text in boss.texts())


async def test_free_text_goes_only_to_the_journey_in_front(world: World) -> None:
    """A worker halfway through the survey starts a report: what they type next belongs to the
    report, the survey waits untouched, and /feedback resumes it at the same question."""
    worker = await member(world, 201, Role.WORKER)
    await worker.say("/feedback")
    await worker.press("3")
    await worker.press("4")
    question = worker.last_text()
    assert "trả lời" in question  # a question answered by typing
    before = so_far(world)
    await worker.say("📝 Báo cáo cải thiện")
    said = worker.texts()
    assert PAUSED_VI in said[-2], said[-3:]
    await worker.say("Kệ mới cạnh máy cưa")  # typed while the report asks for its area
    assert so_far(world) == before
    await worker.say("/cancel")
    back = await worker.say("/feedback")
    assert back is not None and WELCOME_BACK_VI in back.plain
    assert question.splitlines()[-1] in back.plain


async def test_the_paused_survey_s_button_brings_it_back_in_front(world: World) -> None:
    """During a report the worker presses an answer of the survey they paused: the survey takes
    it and comes back in front, the report steps aside, and typed text goes to the survey."""
    worker = await member(world, 202, Role.WORKER)
    await worker.say("/feedback")
    await worker.press("3")
    second = worker.account.messages()[-1]
    await worker.say("📝 Báo cáo cải thiện")
    assert "lĩnh vực nào" in worker.last_text()
    await worker.press("4", second)
    assert PAUSED_VI in worker.texts()[-2] and "trả lời" in worker.last_text()
    await worker.say("Có quạt thông gió")
    assert so_far(world)["helpful_change"] == "Có quạt thông gió"
    with world.database.session() as session:
        state = session.get(JourneyState, telegram_person(202))
        assert state is not None and state.journey == "feedback" and not state.paused


def test_an_upgrade_carries_running_and_paused_surveys_over(database_url: str) -> None:
    """0023: what python-telegram-bot's persistence held for the survey conversation (its state
    and the survey in hand in user_data) becomes the journey position."""
    database = Database(database_url)
    config = alembic_config(database_url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0023-1")
    world_now = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    # As bot/persistence.py wrote them before 0023.
    rows = [
        ("conv:feedback", "[301, 301]", "feedback.answering"),
        ("user", "301", {"lang": "vi", "survey": {"for": "r7", "message": 55},
                         "survey_picked": {"q": 1, "codes": ["training"]}}),
        ("user", "302", {"lang": "en", "survey": {"for": "e3", "message": None}}),
        ("user", "303", {"lang": "vi"}),
    ]  # fmt: skip
    table = sa.table(
        "bot_state", sa.column("kind"), sa.column("key"), sa.column("data", sa.JSON),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    with database.engine.begin() as connection:
        connection.execute(
            table.insert(),
            [{"kind": k, "key": key, "data": d, "updated_at": world_now} for k, key, d in rows],
        )
    assert upgrade(database.engine) is True
    with database.session() as session:
        running = session.get(JourneyState, "tg:301")
        paused = session.get(JourneyState, "tg:302")
        assert running is not None and running.journey == "feedback"
        assert running.data == {"for": "r7", "picked": {"q": 1, "codes": ["training"]}}
        assert running.buttons_message == 55
        assert paused is not None and paused.journey is None
        assert paused.paused == [{"journey": "feedback", "data": {"for": "e3"}}]
        assert session.get(JourneyState, "tg:303") is None
        kept = {row.key: row.data for row in session.exec(select(BotState))}
        assert kept == {"301": {"lang": "vi"}, "302": {"lang": "en"}, "303": {"lang": "vi"}}
    assert surveys.Subject.parse("r7") is not None
    database.dispose()
