"""/deleteme also takes the person's name out of messages to others that wait in the outbox."""

from __future__ import annotations

from sqlmodel import select

from models.outbox import Message, enqueue, forget_mentions
from models.tables import Outbox, Role
from tests.conftest import World
from tests.factories import add_person, contact, join, make_enterprise, make_invite, make_provider

LEAVER = "Trần Thị Bích Ngọc"
STAYER = "Lê Văn Hùng"


async def test_deleteme_removes_the_name_from_join_notices_not_yet_sent(world: World) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    await join(world, 601, make_invite(world, Role.STAFF, provider_id=provider))
    staff = world.user(601)
    seen = len(staff.texts())
    for user_id, name in ((602, LEAVER), (603, STAYER)):
        world.user(user_id, name)
        await join(world, user_id, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise))
    with world.database.session() as session:
        queued = [row.payload["text"] for row in session.exec(select(Outbox)).all()]
    assert any(LEAVER in text for text in queued), "the join notice names the person"

    leaver = world.user(602)
    await leaver.say("/deleteme")
    await leaver.press("Có, xóa dữ liệu")
    assert contact(world, 602) is None
    await world.drain()

    notices = staff.account.messages()[seen:]
    texts = [message.plain for message in notices]
    assert len(texts) == 2, texts
    assert not any("Bích Ngọc" in text for text in texts)
    assert any("(tên đã được xóa)" in text for text in texts)
    assert any(STAYER in text for text in texts)  # the other person's notice is untouched
    labels = [label for message in notices for label, _ in staff.account.buttons(message)]
    assert not any("Bích Ngọc" in label for label in labels)
    assert any("Hùng" in label for label in labels)


async def test_forgetting_a_name_leaves_markup_and_other_names_alone(world: World) -> None:
    leaver = add_person(world, 611, Role.EMPLOYER, name="b")
    other = add_person(world, 612, Role.EMPLOYER, name="Hoa")
    staff = add_person(world, 613, Role.STAFF, language="en")
    text = "<b>b</b> asked; <i>Hoa</i> agreed; bb stays"
    assert leaver.id is not None and other.id is not None
    with world.database.session() as session:
        enqueue(session, key="n:1", contact=staff, kind="visit-confirmed",
                message=Message(text, [[("Call b", "x:1")]],
                                mentions={leaver.id: ["b"], other.id: ["Hoa"]}))  # fmt: skip
        assert forget_mentions(session, leaver.id, lambda language: f"[{language}]") == 1
        assert forget_mentions(session, leaver.id, lambda language: "?") == 0  # once is enough
        row = session.exec(select(Outbox).where(Outbox.key == "n:1")).one()
    assert row.payload["text"] == "<b>[en]</b> asked; <i>Hoa</i> agreed; bb stays"
    assert row.payload["buttons"] == [[["Call [en]", "x:1"]]]
    assert row.payload["mentions"] == {str(other.id): ["Hoa"]}
    await world.drain()
    assert world.sandbox.users[613].messages()[-1].plain == "[en] asked; Hoa agreed; bb stays"
