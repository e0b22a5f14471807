"""The journey engine (models/journeys/) as people meet it: any process can take a person's
next message, free text goes only to the journey in front, and an upgrade keeps the survey a
person was answering."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from bot.playback import Person
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


def test_an_upgrade_carries_every_conversation_over(database_url: str) -> None:
    """0023: what python-telegram-bot's persistence held for the conversations (a state row,
    the draft in user_data) becomes the journey position: running ones in front, a survey the
    person had left as a paused draft; nothing of them stays in user_data."""
    database = Database(database_url)
    config = alembic_config(database_url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0023-1")
    # As bot/persistence.py wrote them before 0023.
    rows = [
        ("conv:feedback", "[301, 301]", "feedback.answering"),
        ("user", "301", {"lang": "vi", "survey": {"for": "r7", "message": 55},
                         "survey_picked": {"q": 1, "codes": ["training"]}}),
        ("user", "302", {"lang": "en", "survey": {"for": "e3", "message": None}}),
        ("user", "303", {"lang": "vi"}),
        ("conv:report", "[304, 304]", "report.risk_before_severity"),
        ("user", "304", {"report": {"id": 12, "submitted": False, "editing": False},
                         "survey": {"for": "r7"}}),
        ("conv:admin.enterprise", "[305, 305]", "admin.enterprise_workers"),
        ("user", "305", {"enterprise_draft": {"name": "Xưởng A", "sector": "wood",
                                              "province": "hue"}}),
        ("conv:review.ask", "[306, 306]", "review.asking"),
        ("user", "306", {"review_ask": 41}),
        ("conv:report", "[307, 307]", "report.area"),  # its draft lost: nothing to carry
        ("conv:broadcast", "[308, 308]", "broadcast.preview"),
        ("user", "308", {"broadcast_id": 9, "broadcast_photo": "/data/media/b/1.jpg"}),
        ("conv:visits", "[309, 309]", "visits.notes"),
        ("user", "309", {"visit_id": 77}),
        ("conv:events.create", "[310, 310]", "events.practices"),
        ("user", "310", {"event_draft": {"kind": "workshop", "title": "Hội thảo",
                                         "starts_at": "2027-03-20T07:00:00+00:00",
                                         "place": "Hội trường", "agenda": None,
                                         "audience": ["p:1"], "practices": [4]}}),
        ("conv:onboarding", "[311, 311]", "onboarding.consent"),
        ("user", "311", {"lang": "en", "invite": "AbC123xyz"}),
        ("conv:plan", "[312, 312]", "plan.who"),
        ("user", "312", {"plan": {"enterprise": 5, "area": "storage", "what": "Kệ mới"}}),
    ]  # fmt: skip
    table = sa.table(
        "bot_state", sa.column("kind"), sa.column("key"), sa.column("data", sa.JSON),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    moment = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    with database.engine.begin() as connection:
        connection.execute(
            table.insert(),
            [{"kind": k, "key": key, "data": d, "updated_at": moment} for k, key, d in rows],
        )
    assert upgrade(database.engine) is True
    with database.session() as session:
        found = {row.person: row for row in session.exec(select(JourneyState))}
        kept = {row.key: row.data for row in session.exec(select(BotState))}
    assert sorted(found) == [f"tg:{n}" for n in (301, 302, 304, 305, 306, 308, 309, 310, 311, 312)]
    assert (found["tg:311"].journey, found["tg:311"].data) == (
        "onboarding", {"invite": "AbC123xyz", "step": "consent", "language": "en"},
    )  # fmt: skip
    assert (found["tg:312"].journey, found["tg:312"].data) == (
        "plan", {"enterprise": 5, "area": "storage", "what": "Kệ mới", "step": "who"},
    )  # fmt: skip
    assert (found["tg:308"].journey, found["tg:308"].data) == (
        "broadcast", {"step": "preview", "broadcast": 9, "photo": "/data/media/b/1.jpg"},
    )  # fmt: skip
    assert (found["tg:309"].journey, found["tg:309"].data) == (
        "visits", {"at": "notes", "visit": 77},
    )  # fmt: skip
    assert found["tg:310"].journey == "events.create"
    assert found["tg:310"].data == {
        "kind": "workshop", "title": "Hội thảo", "starts_at": "2027-03-20T07:00:00+00:00",
        "place": "Hội trường", "agenda": None, "pin": None, "audience": ["p:1"],
        "ticked": [4], "step": "practices",
    }  # fmt: skip
    running = found["tg:301"]
    assert running.journey == "feedback" and running.buttons_message == 55
    assert running.data == {"for": "r7", "picked": {"q": 1, "codes": ["training"]}}
    assert (found["tg:302"].journey, found["tg:302"].paused) == (
        None, [{"journey": "feedback", "data": {"for": "e3"}}],
    )  # fmt: skip
    report = found["tg:304"]
    assert report.journey == "report"
    assert report.data == {"id": 12, "submitted": False, "editing": False,
                           "at": "risk_before_severity"}  # fmt: skip
    assert report.paused == [{"journey": "feedback", "data": {"for": "r7"}}]
    assert found["tg:305"].journey == "admin.enterprise"
    assert found["tg:305"].data == {
        "name": "Xưởng A", "sector": "wood", "province": "hue", "step": "workers",
    }  # fmt: skip
    assert (found["tg:306"].journey, found["tg:306"].data) == ("review.ask", {"report": 41})
    assert kept == {"301": {"lang": "vi"}, "302": {"lang": "en"}, "303": {"lang": "vi"},
                    "304": {}, "305": {}, "306": {}, "308": {}, "309": {}, "310": {},
                    "311": {"lang": "en"}, "312": {}}  # fmt: skip
    database.dispose()
