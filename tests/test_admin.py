"""Coordinators add providers and invite staff; staff add enterprises and hand out their links.

Driven end to end through the real Application and the Bot API sandbox, as people would.
"""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import select

from bot.sandbox import SentMessage
from models.tables import Contact, Enterprise, Invite, Provider, Role
from tests.conftest import Person, World
from tests.test_onboarding import contact, join, make_enterprise, make_invite, make_provider

PNG = b"\x89PNG\r\n\x1a\n"
LINK = re.compile(r"https://t\.me/oshbot_sandbox_bot\?start=([A-Za-z0-9_-]+)")
REFUSAL_VI = "Xin lỗi, chức năng này chỉ dành cho cán bộ chương trình."
REFUSAL_EN = "Sorry, this is only for programme staff."
STALE_VI = "Nút này không còn hiệu lực."


# -- helpers ---------------------------------------------------------------------------------


async def coordinator(world: World, user_id: int = 3001) -> Person:
    await join(world, user_id, make_invite(world, Role.COORDINATOR))
    return world.user(user_id)


async def staff(
    world: World, user_id: int, provider_id: int, language: str = "Tiếng Việt"
) -> Person:
    await join(world, user_id, make_invite(world, Role.STAFF, provider_id=provider_id), language)
    return world.user(user_id)


def link_code(message: SentMessage | None) -> str:
    assert message is not None and message.caption is not None, message
    found = LINK.search(message.caption)
    assert found is not None, message.caption
    return found.group(1)


def is_png_photo(world: World, message: SentMessage) -> bool:
    assert message.method == "sendPhoto" and message.photo is not None
    return world.sandbox.files[message.photo].data.startswith(PNG)


def photos(person: Person) -> list[SentMessage]:
    return [m for m in person.account.messages() if m.method == "sendPhoto"]


def enterprises(world: World) -> list[Enterprise]:
    with world.database.session() as session:
        return list(session.exec(select(Enterprise).order_by(Enterprise.id)))


def invites(world: World) -> list[Invite]:
    with world.database.session() as session:
        return list(session.exec(select(Invite).order_by(Invite.id)))


async def start_enterprise(person: Person, name: str = "Xưởng may Thu Hà") -> None:
    reply = await person.press_menu("➕ Thêm doanh nghiệp") if False else None  # noqa: F841
    reply = await person.say("➕ Thêm doanh nghiệp")
    assert reply is not None and "Tên doanh nghiệp là gì?" in reply.plain
    reply = await person.say(name)
    assert reply is not None and "ngành nghề nào" in reply.plain


async def up_to_workers(person: Person, name: str = "Xưởng may Thu Hà") -> None:
    await start_enterprise(person, name)
    reply = await person.press("Dệt may")
    assert reply is not None and "tỉnh/thành phố nào" in reply.plain
    reply = await person.press("Đà Nẵng")
    assert reply is not None and "bao nhiêu" in reply.plain.lower() or "người lao động" in (
        reply.plain if reply else ""
    )


async def up_to_date(person: Person, name: str = "Xưởng may Thu Hà") -> None:
    await up_to_workers(person, name)
    reply = await person.say("25")
    assert reply is not None and "ngày/tháng/năm" in reply.plain
