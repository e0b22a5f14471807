"""The outbox sender per channel (issue 13, "Sending is per channel"): a Zalo row goes through the
Zalo client at Zalo's pace, as plain text cut between words, photos as signed links; Zalo's
"blocked" marks Zalo alone unreachable; quiet hours and opt-out hold on both channels; a row's
channel follows the contact (Telegram first); a broadcast to both goes at both paces at once.

The Telegram sandbox and the Zalo sandbox run in-process on one fake clock, which the two
limiters' waits move."""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator
from datetime import time

import pytest
from sqlmodel import select

from bot.dashboard.auth import secret_of
from bot.sender import ZaloRoute, drain
from bot.zalo.client import ZaloClient
from bot.zalo.limits import MAX_TEXT, text_length
from bot.zalo.pacing import Pacer
from bot.zalo.sandbox import BASE_URL, ZaloSandbox
from bot.zalo.text import plain_text, split
from models import broadcasts, links
from models.audience import Audience
from models.outbox import NO_CHAT, TELEGRAM, ZALO, Message, enqueue, route
from models.tables import Contact, Outbox, OutboxStatus, Role, utcnow
from scheduler.config import QuietHours, SchedulerConfig
from tests.conftest import World
from tests.factories import add_person, make_enterprise, make_provider

PUBLIC = "https://osh.example.vn"
ALWAYS = SchedulerConfig(quiet=QuietHours(time(0, 0), time(0, 0)))


class Zalo:
    def __init__(self, world: World) -> None:
        self.sandbox = ZaloSandbox(clock=world.api_clock, fetch_photos=False)
        pacer = Pacer(clock=world.api_clock, sleep=world.api_clock.sleep)
        self.client = ZaloClient(
            self.sandbox.token, BASE_URL, self.sandbox.transport(), pacer=pacer
        )
        self.route = ZaloRoute(
            self.client, world.settings.data_dir, secret_of(world.settings), PUBLIC
        )


@pytest.fixture
async def zalo(world: World) -> AsyncIterator[Zalo]:
    made = Zalo(world)
    yield made
    await made.client.aclose()


def zalo_person(
    world: World,
    zalo: Zalo,
    zalo_id: str,
    *,
    name: str = "Chị Hoa",
    role: Role = Role.EMPLOYER,
    enterprise_id: int | None = None,
) -> Contact:
    """A contact on Zalo alone, with a user behind it in the Zalo sandbox."""
    zalo.sandbox.user(zalo_id, name)
    with world.database.session() as session:
        contact = Contact(zalo_user_id=zalo_id, display_name=name, role=role, language="vi",
                          enterprise_id=enterprise_id)  # fmt: skip
        session.add(contact)
        session.flush()
        session.refresh(contact)
        session.expunge(contact)
        return contact


def queue(world: World, contact: Contact, key: str, message: Message, kind: str = "tip") -> Outbox:
    with world.database.session() as session:
        row = enqueue(session, key=key, contact=contact, kind=kind, message=message)
        assert row is not None
        session.flush()
        session.expunge(row)
        return row


def outbox_row(world: World, key: str) -> Outbox:
    with world.database.session() as session:
        return session.exec(select(Outbox).where(Outbox.key == key)).one()


async def send(world: World, zalo: Zalo, config: SchedulerConfig = ALWAYS):  # type: ignore[no-untyped-def]
    return await drain(
        world.application.bot, world.database, clock=world.clock, config=config, zalo=zalo.route
    )


def busiest(times: list[float]) -> int:
    """The most sends in any window of one second."""
    return max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


def test_the_channel_is_telegram_first_then_zalo() -> None:
    both = Contact(chat_id=5, zalo_user_id="z5", role=Role.WORKER)
    assert route(both) == (TELEGRAM, 5, None)
    both.unreachable_at = utcnow()  # Telegram refused: Zalo carries it
    assert route(both) == (ZALO, NO_CHAT, "z5")
    assert route(Contact(zalo_user_id="z6", role=Role.WORKER)) == (ZALO, NO_CHAT, "z6")
    assert route(Contact(chat_id=7, role=Role.WORKER)) == (TELEGRAM, 7, None)
    assert route(Contact(role=Role.WORKER)) is None
    assert (
        route(Contact(chat_id=8, zalo_user_id="z8", role=Role.WORKER, erased_at=utcnow())) is None
    )


def test_plain_text_and_split_at_words() -> None:
    html = '<b>Chào</b> Anh &amp; Chị<br>xem <a href="https://x.vn/a">đây</a>\n\n\n<i>hết</i>'
    assert plain_text(html) == "Chào Anh & Chị\nxem đây (https://x.vn/a)\n\nhết"
    words = " ".join(f"từ{n}" for n in range(900))
    pieces = split(words)
    assert len(pieces) > 1 and all(text_length(p) <= MAX_TEXT for p in pieces)
    assert " ".join(pieces) == words  # never inside a word
    emoji = "😀" * 1500  # two UTF-16 units each
    assert [text_length(p) for p in split(emoji)] == [2000, 1000]


async def test_a_zalo_row_goes_as_plain_text_cut_between_words(world: World, zalo: Zalo) -> None:
    contact = zalo_person(world, zalo, "z-100")
    long = " ".join(["<b>An toàn</b> là trên hết;"] * 300)
    row = queue(world, contact, "tip:z-100", Message(long, buttons=[[("Xem", "tip:more")]]))
    assert (row.channel, row.address, row.chat_id) == (ZALO, "z-100", NO_CHAT)
    report = await send(world, zalo)
    assert report.sent == 1 and report.failed == 0
    got = [m.text or "" for m in zalo.sandbox.users["z-100"].messages()]
    assert len(got) > 1 and all(text_length(text) <= MAX_TEXT for text in got)
    assert " ".join(got) == plain_text(long)
    assert "<b>" not in "".join(got)
    assert outbox_row(world, "tip:z-100").status == OutboxStatus.SENT
    assert world.sandbox.stats.sends == []  # nothing went to Telegram


async def test_a_photo_goes_as_a_signed_link_under_the_public_url(world: World, zalo: Zalo) -> None:
    contact = zalo_person(world, zalo, "z-200")
    photo = world.settings.data_dir / "media" / "card.png"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\x89PNG\r\n\x1a\n card")
    queue(world, contact, "card:z-200", Message("<b>Thẻ</b> báo cáo", photo_path=str(photo)),
          kind="report-card")  # fmt: skip
    assert (await send(world, zalo)).sent == 1
    [sent] = zalo.sandbox.users["z-200"].messages()
    assert sent.method == "sendPhoto" and sent.caption == "Thẻ báo cáo"
    assert sent.photo_url is not None and sent.photo_url.startswith(PUBLIC + links.PREFIX)
    token = sent.photo_url.removeprefix(PUBLIC + links.PREFIX)
    opened = links.linked_file(token, secret_of(world.settings), world.settings.data_dir,
                               now=world.clock())  # fmt: skip
    assert opened == photo.resolve()


async def test_a_photo_without_a_public_url_fails_with_the_reason(world: World, zalo: Zalo) -> None:
    contact = zalo_person(world, zalo, "z-210")
    photo = world.settings.data_dir / "media" / "card.png"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\x89PNG\r\n\x1a\n card")
    queue(world, contact, "card:z-210", Message("Thẻ", photo_path=str(photo)), kind="report-card")
    route_without = ZaloRoute(zalo.client, world.settings.data_dir, "k", public_url=None)
    report = await drain(world.application.bot, world.database, clock=world.clock,
                         config=ALWAYS, zalo=route_without)  # fmt: skip
    assert report.failed == 1
    failed = outbox_row(world, "card:z-210")
    assert failed.status == OutboxStatus.FAILED and "OSHBOT_PUBLIC_URL" in (failed.last_error or "")


async def test_blocked_on_zalo_marks_zalo_alone_unreachable(world: World, zalo: Zalo) -> None:
    contact = zalo_person(world, zalo, "z-300")
    zalo.sandbox.users["z-300"].block()
    queue(world, contact, "tip:z-300", Message("Mẹo"))
    report = await send(world, zalo)
    assert report.skipped == 1 and report.sent == 0
    with world.database.session() as session:
        stored = session.get(Contact, contact.id)
        assert stored is not None
        assert stored.zalo_unreachable_at is not None and stored.unreachable_at is None
        # Given a Telegram chat later, the person is written to there.
        stored.chat_id = 3001
        session.add(stored)
    world.sandbox.user(3001, "Chị Hoa")
    with world.database.session() as session:
        stored = session.get(Contact, contact.id)
        assert stored is not None and route(stored) == (TELEGRAM, 3001, None)


async def test_a_person_on_both_channels_gets_telegram_then_zalo_once_telegram_refuses(
    world: World, zalo: Zalo
) -> None:
    person = add_person(world, 4001, Role.WORKER)
    zalo.sandbox.user("z-4001", "An")
    with world.database.session() as session:
        stored = session.get(Contact, person.id)
        assert stored is not None
        stored.zalo_user_id = "z-4001"
        session.add(stored)
    queue(world, person, "tip:first", Message("Một"))
    await send(world, zalo)
    assert [m.plain for m in world.sandbox.users[4001].messages()] == ["Một"]
    world.sandbox.users[4001].blocked = True  # Telegram answers 403: unreachable there
    queue(world, person, "tip:second", Message("Hai"))
    assert (await send(world, zalo)).skipped == 1
    with world.database.session() as session:
        stored = session.get(Contact, person.id)
        assert stored is not None and stored.unreachable_at is not None
        session.expunge(stored)
    queue(world, stored, "tip:third", Message("Ba"))
    await send(world, zalo)
    assert [m.plain for m in zalo.sandbox.users["z-4001"].messages()] == ["Ba"]


async def test_quiet_hours_and_opt_out_hold_on_zalo_too(world: World, zalo: Zalo) -> None:
    stopped = zalo_person(world, zalo, "z-500")
    with world.database.session() as session:
        stored = session.get(Contact, stopped.id)
        assert stored is not None
        stored.opted_out_at = world.clock()
        session.add(stored)
    queue(world, stopped, "tip:z-500", Message("Mẹo"))
    queue(world, stopped, "visit:z-500", Message("Lịch thăm"), kind="visit-reminder")
    awake = zalo_person(world, zalo, "z-501")
    queue(world, awake, "tip:z-501", Message("Mẹo đêm"))
    # 02:00 UTC is 09:00 in Viet Nam: quiet hours from 08:00 to 10:00 hold the tip.
    quiet = SchedulerConfig(quiet=QuietHours(time(8, 0), time(10, 0)))
    report = await send(world, zalo, quiet)
    assert report.held and report.sent == 0
    report = await send(world, zalo)
    assert report.sent == 2 and report.skipped == 1  # the visit still reaches who stopped
    assert [m.plain for m in zalo.sandbox.users["z-500"].messages()] == ["Lịch thăm"]
    assert outbox_row(world, "tip:z-500").last_error == "contact stopped messages"
    assert [m.plain for m in zalo.sandbox.users["z-501"].messages()] == ["Mẹo đêm"]


async def test_a_broadcast_to_both_channels_goes_at_each_pace_at_once(
    world: World, zalo: Zalo
) -> None:
    """60 people on Telegram, 30 on Zalo, both sandboxes' limits on: nobody missed, 0 rate-limit
    answers from either, each channel within its limit and the two sending together."""
    enterprise = make_enterprise(world, make_provider(world))
    for n in range(60):
        add_person(world, 7000 + n, Role.WORKER, enterprise_id=enterprise)
    for n in range(30):
        zalo_person(world, zalo, f"z-{7000 + n}", name=f"Người {n}", role=Role.WORKER,
                    enterprise_id=enterprise)  # fmt: skip
    with world.database.session() as session:
        draft = broadcasts.create(session, author=None, text="Hội thảo ngày 20/3")
        assert draft.id is not None
        broadcasts.set_audience(session, broadcast_id=draft.id, author=None,
                                audience=Audience(roles=(Role.WORKER,)))  # fmt: skip
        queued = broadcasts.confirm(
            session, broadcast_id=draft.id, author=None,
            render=lambda _: Message("<b>Mời</b> dự hội thảo ngày 20/3"), now=world.clock(),
        )  # fmt: skip
    assert queued == 90
    report = await send(world, zalo)
    assert report.sent == 90 and report.rate_limited == 0
    assert world.sandbox.stats.rate_limited == 0 and zalo.sandbox.stats.rate_limited == 0
    telegram = sorted(world.sandbox.stats.send_times())
    on_zalo = sorted(zalo.sandbox.stats.send_times())
    assert len(telegram) == 60 and len(on_zalo) == 30
    assert all(
        m.text == "Mời dự hội thảo ngày 20/3" for m in zalo.sandbox.users["z-7000"].messages()
    )
    # Each at its own pace: Telegram at most 30 in any second, Zalo at most its 8 (of the
    # sandbox's 10). (The two limiters share one fake clock here, which each wait moves on: the
    # counts, not the gaps, are what holds.)
    assert busiest(telegram) <= 30
    assert busiest(on_zalo) <= 8
    # Together: Zalo's sends began before Telegram's last, not after them.
    assert on_zalo[0] < telegram[-1]
    with world.database.session() as session:
        assert broadcasts.progress(session, draft.id).finished  # type: ignore[arg-type]
