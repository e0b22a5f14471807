"""One person, several channels: /link on the channel a person is registered on gives a one-time
code; typed on the other channel it attaches that account to the same contact (models/linking.py),
both ways, through the real Telegram stack and the Zalo driver against their sandboxes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import col, select

from bot.sandbox import FakeClock
from bot.web import create_app
from bot.zalo.sandbox import SandboxUser, ZaloSandbox
from models.linking import LINK_MINUTES
from models.privacy import erase
from models.programme import SHORT_CODE_GUESSES, counts
from models.tables import AuditLog, Consent, Contact, Role
from tests.conftest import World
from tests.factories import join, make_enterprise, make_invite, make_provider, summarise
from tests.test_zalo_driver import Zalo, register, text_of, zalo_contact


@pytest.fixture(name="zalo")
async def zalo_channel(world: World) -> AsyncIterator[Zalo]:
    """The Zalo side of the world, as tests/test_zalo_driver.py has it."""
    web = httpx.ASGITransport(app=create_app(world.application))
    clock = FakeClock()
    created = Zalo(world, ZaloSandbox(clock=clock, http_transport=web), clock)
    created.start()
    both_channels(world)
    yield created
    await created.channel.stop()
    assert created.sandbox.stats.rate_limited == 0


def both_channels(world: World) -> None:
    """A deployment with both tokens: Telegram's side knows that Zalo runs too."""
    runtime = world.application.bot_data["runtime"]
    runtime.settings = runtime.settings.model_copy(update={"zalo_token": "1000:zalo-token"})


CODE = re.compile(r"\b([A-Z0-9]{5}-[A-Z0-9]{5})\b")


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found is not None, text
    return found.group(1)


def contacts(world: World) -> list[Contact]:
    with world.database.session() as session:
        return list(session.exec(select(Contact).order_by(col(Contact.id))))


def actions(world: World) -> list[str]:
    with world.database.session() as session:
        return [row.action for row in session.exec(select(AuditLog).order_by(col(AuditLog.id)))]


async def telegram_employer(world: World, user_id: int = 101, language: str = "English") -> int:
    enterprise = make_enterprise(world, make_provider(world))
    await join(
        world, user_id, make_invite(world, Role.EMPLOYER, enterprise_id=enterprise), language
    )
    return enterprise


async def telegram_link_code(world: World, user_id: int = 101) -> str:
    reply = await world.user(user_id).say("/link")
    assert reply is not None
    return code_in(reply.plain)


async def test_a_telegram_person_links_zalo_and_stays_one_person(world: World, zalo: Zalo) -> None:
    enterprise = await telegram_employer(world)
    reply = await world.user(101).say("/link")
    assert reply is not None and "Zalo" in reply.plain
    assert f"within {LINK_MINUTES} minutes" in reply.plain
    code = code_in(reply.plain)
    phone = zalo.sandbox.user("9a8b7c", "Anh Hùng")

    # Typed in the Zalo chat by an account not registered there, in any case and spacing.
    linked = text_of(await zalo.say(phone, code.lower().replace("-", " ")))
    # The person's own language (English, chosen on Telegram), their role and enterprise.
    assert "Linked! This Zalo chat now belongs to your registration as employer" in linked
    assert "Xưởng mộc Hòa Phát" in linked and "/report" in linked
    # One person with one set of consents, where the new chat's messages go, how to stop.
    assert "the same registration, language and consents" in linked
    assert "nothing to agree to again" in linked
    assert "run in Viet Nam by VNG" in linked and "abroad" not in linked
    assert "send /stop (or STOP, DỪNG) in either chat: it stops them on both apps" in linked
    assert "block the bot there, and we write to you on the other" in linked

    [person] = contacts(world)
    assert person.telegram_user_id == 101 and person.zalo_user_id == phone.id
    assert person.language == "en" and person.enterprise_id == enterprise
    with world.database.session() as session:
        # The consents given on Telegram are the person's on Zalo too: none is added.
        assert len(session.exec(select(Consent)).all()) == 2
        # Counted once, wherever they write from.
        assert counts(session)["contacts_employer"] == 1
    assert summarise(world.database).enterprises.reachable_employers == 1
    assert "contact.link_code" in actions(world) and "contact.link" in actions(world)

    # A survey begun on Zalo goes on where it stopped on Telegram: the same person's draft.
    intro = text_of(await zalo.say(phone, "/feedback"))
    assert "1 = Not useful · 5 = Very useful" in intro
    multiple = text_of(await zalo.say(phone, "4"))
    assert "question 2/10" in multiple and "Materials and guides" in multiple
    again = await world.user(101).say("/feedback")
    assert again is not None and "question 2/10" in world.user(101).last_text()

    # The code worked once: a second account is refused, and nothing changes.
    other = zalo.sandbox.user("1f2e3d", "Người khác")
    refused = text_of(await zalo.say(other, code))
    assert "Mã này không hợp lệ" in refused and zalo_contact(world, other.id) is None
    # Both channels linked: /link says so instead of giving a code.
    both = text_of(await zalo.say(phone, "/link"))
    assert "both Telegram and Zalo already" in both


async def test_a_zalo_person_links_telegram(world: World, zalo: Zalo) -> None:
    enterprise = make_enterprise(world, make_provider(world))
    boss = zalo.sandbox.user("5u7v3y", "Chị Mai")
    await register(zalo, boss, enterprise)
    given = text_of(await zalo.say(boss, "/link"))
    assert "Mã để Anh/Chị dùng trợ lý trên cả Telegram" in given
    # Joined on Zalo, whose card says nothing of abroad: told before typing the code.
    assert "cùng đăng ký, ngôn ngữ, các sự đồng ý và các lựa chọn" in given
    assert "Trên Telegram, tin nhắn với trợ lý đi qua máy chủ của Telegram" in given
    code = code_in(given)

    telegram = world.user(202, "Mai")
    linked = await telegram.say(code)
    assert linked is not None
    assert "Đã liên kết! Cuộc trò chuyện Telegram này nay thuộc về đăng ký" in linked.plain
    # In her language: the same person and consents, Telegram's transfer abroad, how to stop.
    assert "Anh/Chị vẫn là một người" in linked.plain
    assert "Anh/Chị không cần đồng ý lại" in linked.plain
    assert "được chuyển ra nước ngoài" in linked.plain
    assert "gửi /stop (hoặc STOP, DỪNG) ở cuộc trò chuyện nào cũng được" in linked.plain
    assert "dừng trên cả hai ứng dụng" in linked.plain
    # The Telegram menu of an employer comes with it.
    assert "📝 Báo cáo cải thiện" in str(linked.reply_markup)
    [person] = contacts(world)
    assert person.zalo_user_id == boss.id and person.telegram_user_id == 202
    assert person.chat_id == 202 and person.language == "vi"
    # From now on the Telegram account is the same person: /link there says both are linked.
    both = await telegram.say("/link")
    assert both is not None and "cả Telegram và Zalo" in both.plain


async def test_on_one_channel_the_linked_text_says_messages_come_there(
    world: World, zalo: Zalo
) -> None:
    """Zalo alone (no Telegram token): the outbox sends everything on Zalo, so the person is
    not told that reminders come on Telegram; Telegram alone likewise says Telegram."""
    await telegram_employer(world)
    code = await telegram_link_code(world)
    driver = zalo.channel.driver
    driver.settings = driver.settings.model_copy(update={"token": None})
    linked = text_of(await zalo.say(zalo.sandbox.user("a1one"), code))
    assert "Linked! This Zalo chat now belongs to your registration" in linked
    assert "Our reminders and news come to you on Zalo." in linked
    assert "send /stop (or STOP, DỪNG) to the bot on Zalo" in linked
    assert "while it reaches you" not in linked
    assert "we write to you on the other" not in linked

    # On Zalo alone, /link on Zalo gives no code to type on Telegram, where nothing answers.
    enterprise = make_enterprise(world, make_provider(world, "Trung tâm khác"))
    boss = zalo.sandbox.user("5u7v3y", "Chị Mai")
    await register(zalo, boss, enterprise)
    refused = text_of(await zalo.say(boss, "/link"))
    assert "Hiện trợ lý chưa có trên Telegram, nên chưa có gì để liên kết." in refused
    assert CODE.search(refused) is None

    # A person registered on Zalo links Telegram where Telegram alone sends (no Zalo token).
    driver.settings = driver.settings.model_copy(update={"token": world.settings.token})
    other = code_in(text_of(await zalo.say(boss, "/link")))
    runtime = world.application.bot_data["runtime"]
    runtime.settings = runtime.settings.model_copy(update={"zalo_token": None})
    told = await world.user(202, "Mai").say(other)
    assert told is not None and "Đã liên kết!" in told.plain
    assert "Lời nhắc và tin tức của chúng tôi đến với Anh/Chị qua Telegram." in told.plain
    assert "qua Zalo" not in told.plain and "khi còn liên lạc được" not in told.plain
    # And there /link on Telegram gives no code for Zalo.
    await telegram_employer(world, 303)
    reply = await world.user(303).say("/link")
    assert reply is not None and "This bot is not on Zalo at the moment" in reply.plain
    assert CODE.search(reply.plain) is None


async def test_a_code_expires_and_a_new_one_ends_the_old(world: World, zalo: Zalo) -> None:
    await telegram_employer(world, language="Tiếng Việt")
    first = await telegram_link_code(world)
    second = await telegram_link_code(world)
    assert first != second
    phone = zalo.sandbox.user("aa11")
    assert "Mã này không hợp lệ" in text_of(await zalo.say(phone, first))
    world.clock.advance(minutes=LINK_MINUTES + 1)
    assert "Mã này không hợp lệ" in text_of(await zalo.say(phone, second))
    assert zalo_contact(world, phone.id) is None
    # A fresh one works.
    third = await telegram_link_code(world)
    assert "Đã liên kết!" in text_of(await zalo.say(phone, third))


async def test_an_account_of_another_person_is_never_moved(world: World, zalo: Zalo) -> None:
    enterprise = await telegram_employer(world, language="Tiếng Việt")
    code = await telegram_link_code(world)
    # Someone registered on Zalo as a person of their own types the Telegram person's code.
    worker = zalo.sandbox.user("bb22", "Anh Tú")
    await register(zalo, worker, enterprise)
    refused = text_of(await zalo.say(worker, code))
    assert "Tài khoản Zalo này đã đăng ký trong chương trình với tư cách một người khác" in refused
    mine, theirs = contacts(world)
    assert mine.zalo_user_id is None and theirs.zalo_user_id == worker.id
    assert "contact.link_refused" in actions(world)
    # With /link <code> too.
    assert "người khác" in text_of(await zalo.say(worker, f"/link {code}"))
    # The person's own code typed where they are already: told to type it on the other app.
    own = text_of(await zalo.say(worker, "/link"))
    assert "đã được liên kết" in text_of(await zalo.say(worker, code_in(own)))
    # The refused code still works for the right account.
    phone = zalo.sandbox.user("cc33")
    assert "Đã liên kết!" in text_of(await zalo.say(phone, code))
    # A registered person's other code-shaped text is answered as before (offered to the
    # provider on Telegram, the help on Zalo), not as a wrong code.
    assert "Mã này không hợp lệ" not in text_of(await zalo.say(worker, "xin chao ban"))


async def test_the_refused_account_on_telegram_gets_a_clear_answer(world: World) -> None:
    both_channels(world)
    enterprise = await telegram_employer(world, language="Tiếng Việt")
    code = await telegram_link_code(world)
    await join(world, 303, make_invite(world, Role.WORKER, enterprise_id=enterprise))
    refused = await world.user(303).say(code)
    assert refused is not None and "Tài khoản Telegram này đã đăng ký" in refused.plain
    assert [c.telegram_user_id for c in contacts(world)] == [101, 303]


async def test_wrong_link_codes_are_rate_limited_per_sender(world: World, zalo: Zalo) -> None:
    await telegram_employer(world, language="Tiếng Việt")
    code = await telegram_link_code(world)
    guesser: SandboxUser = zalo.sandbox.user("dd44")
    for _ in range(SHORT_CODE_GUESSES):
        assert "Mã này không hợp lệ" in text_of(await zalo.say(guesser, "ACDEF-GHJKM"))
    # Locked out: even the right code is refused for this sender.
    assert "Mã này không hợp lệ" in text_of(await zalo.say(guesser, code))
    assert zalo_contact(world, guesser.id) is None
    # Another sender is not: the code works for them.
    assert "Đã liên kết!" in text_of(await zalo.say(zalo.sandbox.user("ee55"), code))
    assert "contact.link" in actions(world)


async def test_link_without_a_registration_says_where_to_ask(world: World, zalo: Zalo) -> None:
    stranger = zalo.sandbox.user("ff66")
    told = text_of(await zalo.say(stranger, "/link"))
    assert "Để tham gia" in told and "gửi /link trong cuộc trò chuyện với trợ lý bên đó" in told
    reply = await world.user(404).say("/link")
    assert reply is not None and "/link" in reply.plain
    assert contacts(world) == []


async def test_erased_person_s_code_links_nothing(world: World, zalo: Zalo) -> None:
    await telegram_employer(world, language="Tiếng Việt")
    code = await telegram_link_code(world)
    with world.database.session() as session:
        person = session.exec(select(Contact)).one()
        erase(session, person, now=world.clock())
    phone = zalo.sandbox.user("gg77")
    assert "Mã này không hợp lệ" in text_of(await zalo.say(phone, code))
    assert zalo_contact(world, phone.id) is None
