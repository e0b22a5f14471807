"""Containable invite links: joiner limits, revoking and new links, join notices, removing
members, short codes to type. End to end through the real Application and the Bot API sandbox,
and the domain functions directly where a rule is easier to see there."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from itertools import chain, repeat

import pytest
from sqlmodel import select

from bot.playback import Person
from bot.sandbox import SentMessage
from models import members, programme
from models.db import Database
from models.programme import (
    SHORT_CODE_ALPHABET,
    EnterpriseDraft,
    ProgrammeError,
    add_enterprise,
    add_provider,
    create_invite,
    format_short_code,
    join_limit,
    looks_like_short_code,
    normalise_short_code,
    redeem_short_code,
    reissue_invite,
    revoke_invite,
    usable_invite,
)
from models.tables import (
    AuditLog,
    Consent,
    Contact,
    Enterprise,
    Improvement,
    Invite,
    Outbox,
    OutboxStatus,
    Role,
)
from tests.conftest import World
from tests.factories import contact, coordinator, join, link_code, make_provider, photos
from tests.factories import staff as staff_of

SHORT = re.compile(r"(?:Mã cần nhập|Code to type): ([A-Z0-9]{5}-[A-Z0-9]{5})")
INVALID_VI = "không còn hiệu lực"
REFUSED_VI = "chỉ dành cho cán bộ của đơn vị cung cấp dịch vụ ATVSLĐ phụ trách doanh nghiệp"
GONE_VI = "Người này không còn là thành viên."
STALE_VI = "Nút này không còn hiệu lực."
NOT_REGISTERED_VI = "link mời"


# -- helpers ---------------------------------------------------------------------------------


def small_enterprise(world: World, provider_id: int, workers: int = 3) -> int:
    draft = EnterpriseDraft("Xưởng mộc Hòa Phát", "wood", "da-nang", workers, date(2026, 10, 1))
    with world.database.session() as session:
        return add_enterprise(  # type: ignore[return-value]
            session, provider_id=provider_id, draft=draft, today=date(2027, 3, 1)
        ).id


async def links(person: Person) -> dict[Role, SentMessage]:
    """The links card of the person's first enterprise (from its page): employer photo, worker
    photo."""
    listing = await person.say("/enterprises")
    assert listing is not None
    first = person.account.buttons(listing)[0][0]
    page = await person.press(first, listing)
    await person.press("🔗 Link mời", page)
    employer, worker = photos(person)[-2:]
    return {Role.EMPLOYER: employer, Role.WORKER: worker}


def short_code(message: SentMessage) -> str:
    found = SHORT.search(message.plain or "")
    assert found is not None, message.plain
    return found.group(1)


async def enter(world: World, user_id: int, code: str, language: str = "Tiếng Việt") -> None:
    """Joins as "Người <id>", so that notices and lists can be read by name."""
    world.user(user_id, f"Người {user_id}")
    await join(world, user_id, code, language)


async def staff(world: World, user_id: int, provider_id: int) -> Person:
    world.user(user_id, f"Người {user_id}")
    return await staff_of(world, user_id, provider_id)


async def try_join(world: World, user_id: int, code: str, language: str = "Tiếng Việt") -> str:
    """What a person is told on opening a link; joins when it is accepted."""
    person = world.user(user_id, f"Người {user_id}")
    reply = await person.say(f"/start {code}")
    assert reply is not None
    if "ngôn ngữ" in reply.plain:
        await person.press(language)
        await person.press("✅")
    return person.last_text()


def active(world: World, user_id: int) -> Contact | None:
    """The person, while they belong to the programme (removed people are nobody)."""
    with world.database.session() as session:
        return programme.contact_by_user(session, user_id)


def audit_actions(world: World) -> list[str]:
    with world.database.session() as session:
        return [a.action for a in session.exec(select(AuditLog).order_by(AuditLog.id))]


def notices_to(person: Person) -> list[SentMessage]:
    return [m for m in person.account.messages() if "👋" in (m.plain or "")]


async def remove_via(person: Person, button: str, message: SentMessage | None = None) -> None:
    """Presses a 🚫 button, then confirms."""
    confirm = await person.press(button, message)
    assert confirm is not None and "Xóa <b>" not in confirm.plain  # rendered, not escaped
    await person.press("✅ Đồng ý xóa", confirm)


def worker_report(world: World, enterprise_id: int, reporter_id: int) -> int:
    with world.database.session() as session:
        report = Improvement(
            enterprise_id=enterprise_id,
            reporter_id=reporter_id,
            area_code="storage",
            description="Kệ để phôi gỗ mới, không phải cúi",
            status="submitted",
            submitted_at=world.clock(),
        )
        session.add(report)
        session.flush()
        return report.id  # type: ignore[return-value]


# -- the attack: a leaked link ---------------------------------------------------------------


async def test_a_leaked_link_is_contained(world: World) -> None:
    """Reproduced: five strangers joined on one code after 10 days, and one read a worker's
    report in /myreports. Now the employer link admits 3, staff hear of each joiner and
    remove the stranger, and new links end the leaked one."""
    provider = make_provider(world)
    enterprise = small_enterprise(world, provider, workers=3)
    dung = await staff(world, 100, provider)
    card = await links(dung)
    employer_code, worker_code = link_code(card[Role.EMPLOYER]), link_code(card[Role.WORKER])
    assert "Đã tham gia: 0/3 người." in (card[Role.EMPLOYER].plain or "")
    assert "Đã tham gia: 0/6 người." in (card[Role.WORKER].plain or "")  # 3 + 20 % + 2
    assert short_code(card[Role.EMPLOYER]) != short_code(card[Role.WORKER])

    await enter(world, 201, employer_code)  # the real director
    await enter(world, 301, worker_code)
    worker = contact(world, 301)
    assert worker is not None
    report = worker_report(world, enterprise, worker.id)  # type: ignore[arg-type]

    # Ten days later the employer link has leaked: strangers join until it is full.
    world.clock.advance(days=10)
    for stranger in (901, 902):
        await try_join(world, stranger, employer_code)
        assert active(world, stranger) is not None
    assert INVALID_VI in await try_join(world, 903, employer_code)  # at its limit
    assert active(world, 903) is None
    intruder = world.user(902)
    mine = await intruder.say("/myreports")
    assert mine is not None and f"#{report}" in mine.plain  # an employer sees the workers' reports

    # Staff were told of each person who joined, with a button to remove them.
    await world.drain()
    notices = notices_to(dung)
    assert len(notices) == 4
    assert "👋 Người 902 đã tham gia Xưởng mộc Hòa Phát với vai trò chủ doanh nghiệp." in (
        notices[-1].plain
    )
    assert "Link này đã dùng 3/3 lượt." in notices[-1].plain
    await remove_via(dung, "🚫 Xóa Người 902", notices[-1])
    assert "Đã xóa: Người 902" in dung.last_text()
    gone = await intruder.say("/myreports")
    assert gone is not None and NOT_REGISTERED_VI in gone.plain and f"#{report}" not in gone.plain

    # New links: the leaked one stops working at once, for the removed stranger too.
    await dung.press("🔁 Tạo link mới")
    renewed = await dung.press("🔁 Đồng ý tạo link mới")
    assert renewed is not None
    new_employer, new_worker = photos(dung)[-2:]
    assert link_code(new_employer) != employer_code and link_code(new_worker) != worker_code
    assert "Xong: các link cũ của Xưởng mộc Hòa Phát không còn dùng được." in dung.texts()[-3]
    for stranger in (902, 904):
        assert INVALID_VI in await try_join(world, stranger, employer_code)
        assert active(world, stranger) is None
    # The new employer link admits what the enterprise can still need: 3 - 2 employers left.
    assert "Đã tham gia: 0/1 người." in (new_employer.plain or "")
    assert "Đã tham gia: 0/5 người." in (new_worker.plain or "")  # 6 - 1 worker joined
    actions = audit_actions(world)
    assert {"invite.revoke", "invite.reissue", "contact.remove"} <= set(actions)
    with world.database.session() as session:
        revoked = session.exec(select(Invite).where(Invite.code == employer_code)).one()
        assert revoked.revoked_at is not None and revoked.uses == 3
        removal = session.exec(select(AuditLog).where(AuditLog.action == "contact.remove")).one()
        assert removal.actor_id == contact(world, 100).id  # type: ignore[union-attr]
        assert removal.details["enterprise"] == enterprise


async def test_a_link_at_its_limit_answers_like_an_expired_one(world: World) -> None:
    enterprise = small_enterprise(world, make_provider(world), workers=1)
    with world.database.session() as session:
        invite = create_invite(
            session, role=Role.WORKER, enterprise_id=enterprise, days=14, now=world.clock()
        )
        code, expiring = invite.code, invite.id
    assert invite.max_uses == 4  # 1 worker, 20 % rounded up, 2 more
    for user_id in range(501, 505):
        await try_join(world, user_id, code)
    full = await try_join(world, 505, code)
    with world.database.session() as session:
        other = create_invite(
            session, role=Role.EMPLOYER, enterprise_id=enterprise, days=1, now=world.clock()
        )
    world.clock.advance(days=2)
    expired = await try_join(world, 506, other.code)
    assert full == expired and INVALID_VI in full
    with world.database.session() as session:
        assert session.get(Invite, expiring).uses == 4  # type: ignore[union-attr]


# -- removing ---------------------------------------------------------------------------------


async def test_a_removed_worker_loses_access_and_is_told_their_reports_stay(world: World) -> None:
    provider = make_provider(world)
    enterprise = small_enterprise(world, provider)
    dung = await staff(world, 100, provider)
    card = await links(dung)
    await enter(world, 201, link_code(card[Role.EMPLOYER]))
    await enter(world, 301, link_code(card[Role.WORKER]), "English")
    worker = contact(world, 301)
    assert worker is not None
    report = worker_report(world, enterprise, worker.id)  # type: ignore[arg-type]
    hoa = world.user(301)
    shown = await hoa.say("/myreports")
    assert shown is not None and f"#{report}" in shown.plain

    listing = await dung.press("👥 Thành viên")
    assert listing is not None
    assert "Đã có 1 chủ doanh nghiệp và 1 người lao động tham gia." in listing.plain
    assert "2. Người 301 — người lao động, tham gia ngày Thứ Hai, 01/03/2027" in listing.plain
    await remove_via(dung, "🚫 Người 301", listing)
    await world.drain()

    # Told politely, in their own language; nothing else reaches them any more.
    assert "Your access to the follow-up of Xưởng mộc Hòa Phát has ended" in hoa.last_text()
    assert "The improvements you reported stay with the enterprise." in hoa.last_text()
    refused = await hoa.say("/myreports")
    assert refused is not None and f"#{report}" not in refused.plain
    assert "invite link" in refused.plain
    with world.database.session() as session:
        kept = session.get(Improvement, report)
        assert kept is not None and (kept.enterprise_id, kept.reporter_id) == (
            enterprise,
            worker.id,
        )
        gone = session.get(Contact, worker.id)
        assert gone is not None and gone.removed_at is not None and gone.enterprise_id is None
        consents = session.exec(select(Consent).where(Consent.contact_id == worker.id)).all()
        assert consents and all(c.withdrawn_at is not None for c in consents)
    director = world.user(201)
    seen = await director.say("/myreports")
    assert seen is not None and f"#{report}" in seen.plain  # the report stays the enterprise's
    # The member list no longer shows them; an old remove button says they are gone.
    again = await dung.press("👥 Thành viên", photos(dung)[-1])
    assert again is not None and "Người 301" not in again.plain
    await dung.press_data(listing.message_id, f"{members.ASK_REMOVE}{worker.id}")
    assert dung.answers()[-1] == GONE_VI


async def test_a_removed_person_comes_back_only_with_a_new_link(world: World) -> None:
    provider = make_provider(world)
    small_enterprise(world, provider)
    dung = await staff(world, 100, provider)
    card = await links(dung)
    worker_code = link_code(card[Role.WORKER])
    await enter(world, 301, worker_code)
    await world.drain()
    world.clock.advance(hours=2)
    await remove_via(dung, "🚫 Xóa Người 301", notices_to(dung)[-1])
    # The link they came with still works for others, not for them.
    assert INVALID_VI in await try_join(world, 301, worker_code)
    await enter(world, 302, worker_code)
    await dung.press("🔁 Tạo link mới")
    await dung.press("🔁 Đồng ý tạo link mới")
    fresh = link_code(photos(dung)[-1])
    assert "Chào mừng" in await try_join(world, 301, fresh)
    back = contact(world, 301)
    assert back is not None and back.removed_at is None and back.role == Role.WORKER
    with world.database.session() as session:
        assert len(session.exec(select(Contact).where(Contact.telegram_user_id == 301)).all()) == 1
        register = session.exec(
            select(AuditLog).where(AuditLog.action == "contact.register").order_by(AuditLog.id)
        ).all()
        assert register[-1].details["rejoined"] is True


async def test_pending_messages_to_a_removed_person_are_skipped(world: World) -> None:
    provider = make_provider(world)
    enterprise = small_enterprise(world, provider)
    await enter(world, 301, programme_code(world, Role.WORKER, enterprise))
    worker = contact(world, 301)
    assert worker is not None
    with world.database.session() as session:
        from models.outbox import Message, enqueue

        enqueue(session, key="tip:x", contact=worker, kind="tip", message=Message("Mẹo"))
        members.remove_member(session, worker.id, actor=None, now=world.clock())  # type: ignore[arg-type]
        # Queued after the removal, nothing is accepted for them either.
        removed = session.get(Contact, worker.id)
        assert removed is not None
        assert (
            enqueue(session, key="tip:y", contact=removed, kind="tip", message=Message("x")) is None
        )
    report = await world.drain()
    assert report.sent == 1  # only the word that their access ended
    with world.database.session() as session:
        rows = {r.key: r.status for r in session.exec(select(Outbox))}
    assert rows["tip:x"] == OutboxStatus.SKIPPED
    assert world.user(301).texts()[-1].startswith("Quyền tham gia theo dõi của Anh/Chị tại")


def programme_code(world: World, role: Role, enterprise: int) -> str:
    with world.database.session() as session:
        return create_invite(
            session, role=role, enterprise_id=enterprise, days=14, now=world.clock()
        ).code


# -- permissions -----------------------------------------------------------------------------


async def test_another_providers_staff_are_refused_everything(world: World) -> None:
    mine = make_provider(world, "Trung tâm Huế")
    theirs = make_provider(world, "Trung tâm Cần Thơ")
    their_enterprise = small_enterprise(world, theirs)
    their_code = programme_code(world, Role.WORKER, their_enterprise)
    await enter(world, 301, their_code)
    their_worker = contact(world, 301)
    outsider = await staff(world, 100, mine)
    anchor = outsider.account.messages()[-1]
    with world.database.session() as session:
        live = programme.live_invite(
            session, enterprise_id=their_enterprise, role=Role.WORKER, now=world.clock()
        )
        assert live is not None
    for data in (
        f"mem:ask:{their_worker.id}",  # type: ignore[union-attr]
        f"mem:rm:{their_worker.id}",  # type: ignore[union-attr]
        f"mem:ent:{their_enterprise}",
        f"mem:new:{their_enterprise}",
        f"mem:renew:{their_enterprise}:{live.id}",
        f"mem:prov:{theirs}",
        f"adm:links:{their_enterprise}",
    ):
        await outsider.press_data(anchor.message_id, data)
    answers = outsider.answers()[-7:]
    assert all(REFUSED_VI in (answer or "") for answer in answers[:6]), answers
    assert answers[6] == "Xin lỗi, chức năng này chỉ dành cho cán bộ chương trình."
    assert active(world, 301) is not None  # still a member
    with world.database.session() as session:
        still = session.get(Invite, live.id)
        assert still is not None and still.revoked_at is None
    for forged in ("mem:ask:abc", "mem:rm:", "mem:ent:1:2:3", "mem:renew:1"):
        await outsider.press_data(anchor.message_id, forged)
        assert outsider.answers()[-1] == STALE_VI
    # /members lists only their own provider's enterprises.
    listing = await outsider.say("/members")
    assert listing is not None and "Chưa có ai để hiển thị." in listing.plain
    # Employers and workers are refused /members, and cannot remove each other.
    await enter(world, 302, their_code)
    peer = world.user(302)
    refused = await peer.say("/members")
    assert refused is not None and "chỉ dành cho" in refused.plain
    await peer.press_data(refused.message_id, f"mem:ask:{their_worker.id}")  # type: ignore[union-attr]
    assert "chỉ dành cho" in (peer.answers()[-1] or "")


async def test_coordinators_remove_staff_who_left_and_staff_cannot(world: World) -> None:
    provider = make_provider(world, "Trung tâm Huế")
    enterprise = small_enterprise(world, provider)
    leaving = await staff(world, 100, provider)
    colleague = await staff(world, 101, provider)
    await enter(world, 301, programme_code(world, Role.WORKER, enterprise))
    left = contact(world, 100)
    assert left is not None
    # Staff cannot remove one another, nor themselves.
    anchor = colleague.account.messages()[-1]
    for target in (100, 101):
        person = contact(world, target)
        await colleague.press_data(anchor.message_id, f"mem:ask:{person.id}")  # type: ignore[union-attr]
        assert "chỉ dành cho" in (colleague.answers()[-1] or "")

    boss = await coordinator(world, 3001)
    providers = await boss.say("/members")
    assert providers is not None and "đơn vị nào" in providers.plain
    people = await boss.press("Trung tâm Huế", providers)
    assert people is not None
    assert "• Người 100 — cán bộ đơn vị cung cấp dịch vụ, tham gia ngày Thứ Hai, 01/03/2027" in (
        people.plain
    )
    confirm = await boss.press(f"🚫 {left.display_name}", people)
    assert confirm is not None and "Xóa <b>" not in confirm.plain
    assert "khỏi Trung tâm Huế?" in confirm.plain
    await boss.press("✅ Đồng ý xóa", confirm)
    await world.drain()
    assert "điều phối viên chương trình đã xóa Anh/Chị" in leaving.last_text()
    refused = await leaving.say("/enterprises")
    assert refused is not None and "chỉ dành cho cán bộ chương trình" in refused.plain
    # A coordinator also reaches an enterprise's members from the provider.
    listing = await boss.press("👥 Xưởng mộc Hòa Phát", people)
    assert listing is not None and "Người 301 — người lao động" in listing.plain
    # The remaining colleague still hears of new joiners; the one who left does not.
    await enter(world, 302, programme_code(world, Role.WORKER, enterprise))
    await world.drain()
    assert "👋 Người 302" in colleague.last_text()
    assert "👋 Người 302" not in leaving.last_text()


async def test_stale_and_repeated_presses_change_nothing_twice(world: World) -> None:
    provider = make_provider(world)
    small_enterprise(world, provider)
    dung = await staff(world, 100, provider)
    card = await links(dung)
    await enter(world, 301, link_code(card[Role.WORKER]))
    await world.drain()
    notice = notices_to(dung)[-1]
    confirm = await dung.press("🚫 Xóa Người 301", notice)
    assert confirm is not None
    yes = next(data for label, data in dung.account.buttons(confirm) if label == "✅ Đồng ý xóa")
    await dung.press("✅ Đồng ý xóa", confirm)
    await dung.press_data(confirm.message_id, yes)  # the same press delivered again
    assert dung.answers()[-1] == GONE_VI
    await dung.press("🚫 Xóa Người 301", notice)
    assert dung.answers()[-1] == GONE_VI
    assert audit_actions(world).count("contact.remove") == 1
    # "✖ No, keep" changes nothing.
    await enter(world, 302, link_code(card[Role.WORKER]))
    await world.drain()
    confirm = await dung.press("🚫 Xóa Người 302", notices_to(dung)[-1])
    await dung.press("✖ Không, giữ lại", confirm)
    assert active(world, 302) is not None and "Không có gì thay đổi." in dung.last_text()
    # New links: an old confirmation cannot end the links a first press issued.
    await dung.press("🔁 Tạo link mới", card[Role.WORKER])
    ask = dung.account.messages()[-1]
    renew = next(data for label, data in dung.account.buttons(ask) if "Đồng ý" in label)
    await dung.press("🔁 Đồng ý tạo link mới", ask)
    fresh = link_code(photos(dung)[-1])
    await dung.press_data(ask.message_id, renew)
    edited = next(m for m in dung.account.messages() if m.message_id == ask.message_id)
    assert "đã thay đổi từ lúc đó" in edited.plain
    with world.database.session() as session:
        live = session.exec(select(Invite).where(Invite.code == fresh)).one()
        assert live.revoked_at is None
    assert audit_actions(world).count("invite.reissue") == 2  # employer and worker, once


async def test_members_list_pages_through_a_large_workforce(world: World) -> None:
    provider = make_provider(world)
    enterprise = small_enterprise(world, provider, workers=40)
    dung = await staff(world, 100, provider)
    code = programme_code(world, Role.WORKER, enterprise)
    with world.database.session() as session:
        for user_id in range(1000, 1025):
            programme.register(
                session, code=code, telegram_user_id=user_id, chat_id=user_id,
                display_name=f"Thợ {user_id}", username=None, language="vi", now=world.clock(),
            )  # fmt: skip
    card = await links(dung)
    listing = await dung.press("👥 Thành viên", card[Role.WORKER])
    assert listing is not None and "25 người lao động" in listing.plain
    assert "20. Thợ 1019" in listing.plain and "Thợ 1020" not in listing.plain
    following = await dung.press("Tiếp ▶", listing)
    assert following is None  # edited in place
    assert "21. Thợ 1020" in listing.plain or "21. Thợ 1020" in dung.account.messages()[-1].plain
    edited = next(m for m in dung.account.messages() if m.message_id == listing.message_id)
    assert "25. Thợ 1024" in edited.plain and "◀ Trước" in str(dung.account.buttons(edited))


# -- short codes, typed ----------------------------------------------------------------------


async def test_a_typed_short_code_joins_like_the_link(world: World) -> None:
    provider = make_provider(world)
    small_enterprise(world, provider)
    dung = await staff(world, 100, provider)
    card = await links(dung)
    code = short_code(card[Role.WORKER])
    person = world.user(401, "Chị Mai")
    typed = (
        f"  {code[:3].lower()} {code[3:5]}–{code[6:].lower()} "  # spaces, an en dash, lower case
    )
    prompt = await person.say(typed)
    assert prompt is not None and "ngôn ngữ" in prompt.plain
    await person.press("English")
    welcome = await person.press("I agree")
    assert welcome is not None and "You have joined the follow-up of Xưởng mộc Hòa Phát" in (
        welcome.plain
    )
    joined = contact(world, 401)
    assert joined is not None and (joined.role, joined.language) == (Role.WORKER, "en")
    # Registered people typing something code-shaped are not taken for a new registration.
    reply = await person.say(code)
    assert reply is not None and "Send this to your OSH service provider" in reply.plain
    # The language buttons of a typed code, pressed again later, are stale.
    await person.press_data(prompt.message_id, "onb:tlang:vi")
    assert person.answers()[-1] == "This button is no longer active."


async def test_wrong_short_codes_lock_the_sender_out_with_the_same_answer(world: World) -> None:
    provider = make_provider(world)
    small_enterprise(world, provider)
    dung = await staff(world, 100, provider)
    code = short_code((await links(dung))[Role.WORKER])
    guesser = world.user(666)
    wrong = "ACDEF-GHJKM" if code != "ACDEF-GHJKM" else "ACDEF-GHJKN"
    answers = []
    for _ in range(5):
        reply = await guesser.say(wrong)
        assert reply is not None
        answers.append(reply.plain)
    locked = await guesser.say(code)  # the right code, after 5 wrong ones in the hour
    assert locked is not None and locked.plain == answers[0]
    assert "Mã này không hợp lệ" in answers[0] and len(set(answers)) == 1
    assert active(world, 666) is None
    assert "invite.short_code_locked" in audit_actions(world)
    # Another sender is not affected, and the window passes.
    other = await world.user(667).say(code)
    assert other is not None and "ngôn ngữ" in other.plain
    world.clock.advance(hours=1, seconds=1)
    again = await guesser.say(code)
    assert again is not None and "ngôn ngữ" in again.plain


# -- the domain, directly --------------------------------------------------------------------


def make_programme(database: Database, workers: int = 10) -> tuple[int, int]:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm Đà Nẵng")
        draft = EnterpriseDraft("Xưởng mộc", "wood", "da-nang", workers, date(2026, 1, 5))
        enterprise = add_enterprise(
            session,
            provider_id=provider.id,
            draft=draft,
            today=draft.intervention_date,  # type: ignore[arg-type]
        )
        return provider.id, enterprise.id  # type: ignore[return-value]


NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def test_short_codes_avoid_look_alikes_and_are_unique(database: Database) -> None:
    for look_alike in "0O1Il5S2Z8B":
        assert look_alike.upper() not in SHORT_CODE_ALPHABET
    assert len(set(SHORT_CODE_ALPHABET)) == len(SHORT_CODE_ALPHABET) == 25
    make_programme(database)
    with database.session() as session:
        codes = [
            create_invite(session, role=Role.COORDINATOR, days=14, now=NOW).short_code
            for _ in range(300)
        ]
    assert len(set(codes)) == 300
    assert all(len(c) == 10 and set(c) <= set(SHORT_CODE_ALPHABET) for c in codes)  # type: ignore[arg-type]
    assert format_short_code("ACDEFGHJKM") == "ACDEF-GHJKM"
    assert normalise_short_code(" acd ef—ghj-km\n") == "ACDEFGHJKM"
    assert looks_like_short_code("acdef ghjkm") and not looks_like_short_code("xin chào bạn")
    assert not looks_like_short_code("ACDEFGHJKMN") and not looks_like_short_code("ÁCDEFGHJKM")


def test_a_drawn_code_already_taken_is_drawn_again(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.session() as session:
        first = create_invite(session, role=Role.COORDINATOR, days=14, now=NOW)
        taken = first.short_code
        assert taken is not None
        # The next draw repeats the taken code letter by letter, then draws "A"s.
        letters = chain(iter(taken), repeat("A"))
        monkeypatch.setattr(programme.secrets, "choice", lambda _alphabet: next(letters))
        second = create_invite(session, role=Role.COORDINATOR, days=14, now=NOW)
    assert second.short_code == "A" * 10 != taken


def test_redeeming_a_short_code_has_the_links_checks(database: Database) -> None:
    _, enterprise = make_programme(database, workers=1)
    with database.session() as session:
        invite = create_invite(
            session, role=Role.WORKER, enterprise_id=enterprise, days=14, now=NOW
        )
        typed = format_short_code(invite.short_code).lower()
        found = redeem_short_code(session, typed, sender_key="t:1", now=NOW)
        assert found is not None and found.id == invite.id
        assert (
            redeem_short_code(session, typed, sender_key="t:1", now=NOW + timedelta(days=15))
            is None
        )
        invite.uses = invite.max_uses  # type: ignore[assignment]
        session.add(invite)
        session.flush()
        assert redeem_short_code(session, typed, sender_key="t:2", now=NOW) is None
        invite.uses = 0
        session.add(invite)
        session.flush()
        revoke_invite(session, invite, now=NOW)
        assert redeem_short_code(session, typed, sender_key="t:3", now=NOW) is None
        assert redeem_short_code(session, "hello", sender_key="t:4", now=NOW) is None


def test_wrong_guesses_are_counted_in_the_database_for_every_process(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)  # two processes' handles
    try:
        _, enterprise = make_programme(first)
        with first.session() as session:
            code = create_invite(
                session, role=Role.WORKER, enterprise_id=enterprise, days=14, now=NOW
            ).short_code
        for number in range(5):
            handle = (first, second)[number % 2]
            with handle.session() as session:
                assert (
                    redeem_short_code(session, "ACDEFACDEF", sender_key="telegram:9", now=NOW)
                    is None
                )
        with second.session() as session:
            assert redeem_short_code(session, code, sender_key="telegram:9", now=NOW) is None
        with first.session() as session:
            assert redeem_short_code(session, code, sender_key="telegram:8", now=NOW) is not None
            # Right codes do not count against a sender.
            for _ in range(10):
                assert redeem_short_code(session, code, sender_key="telegram:8", now=NOW)
        later = NOW + timedelta(hours=1)
        with second.session() as session:
            assert redeem_short_code(session, code, sender_key="telegram:9", now=later) is not None
    finally:
        first.dispose()
        second.dispose()


def test_join_limits_follow_the_workforce(database: Database) -> None:
    provider, enterprise = make_programme(database, workers=10)
    with database.session() as session:
        firm = session.get(Enterprise, enterprise)
        assert join_limit(session, role=Role.WORKER, enterprise=firm) == 14  # 10 + 2 + 2
        assert join_limit(session, role=Role.EMPLOYER, enterprise=firm) == 3
        assert (
            join_limit(session, role=Role.STAFF) == join_limit(session, role=Role.COORDINATOR) == 1
        )
        assert join_limit(session, role=Role.PARTNER) == 10
        assert (
            create_invite(
                session, role=Role.WORKER, enterprise_id=enterprise, days=14, now=NOW, max_uses=50
            ).max_uses
            == 50
        )
        with pytest.raises(ProgrammeError):
            create_invite(session, role=Role.WORKER, enterprise_id=enterprise, days=14, max_uses=0)
        staff_invite = create_invite(
            session, role=Role.STAFF, provider_id=provider, days=14, now=NOW, max_uses=9
        )
        assert staff_invite.max_uses == 1  # power over the programme: single use, always


def test_a_new_enterprise_link_ends_the_older_one(database: Database) -> None:
    provider, enterprise = make_programme(database)
    with database.session() as session:
        old = create_invite(session, role=Role.WORKER, enterprise_id=enterprise, days=14, now=NOW)
        employer = create_invite(
            session, role=Role.EMPLOYER, enterprise_id=enterprise, days=14, now=NOW
        )
        new = create_invite(session, role=Role.WORKER, enterprise_id=enterprise, days=14, now=NOW)
        assert usable_invite(session, old.code, now=NOW) is None
        assert usable_invite(session, new.code, now=NOW) is not None
        assert usable_invite(session, employer.code, now=NOW) is not None  # another role
        # Staff links are handed to one person each: several stay valid side by side.
        a = create_invite(session, role=Role.STAFF, provider_id=provider, days=14, now=NOW)
        b = create_invite(session, role=Role.STAFF, provider_id=provider, days=14, now=NOW)
        assert usable_invite(session, a.code, now=NOW) and usable_invite(session, b.code, now=NOW)
        with pytest.raises(ProgrammeError) as refused:
            reissue_invite(
                session, enterprise_id=enterprise, role=Role.WORKER,
                actor=Contact(role=Role.STAFF, provider_id=provider + 1), days=14, now=NOW,
            )  # fmt: skip
        assert refused.value.code == "not_allowed"


def test_the_summary_stops_counting_a_removed_person(database: Database) -> None:
    """Raw and rolled-up figures agree: the removed worker is reachable no more."""
    from zoneinfo import ZoneInfo

    from reports.figures import Scope, year_period
    from reports.summary import build_summary

    _, enterprise = make_programme(database)
    with database.session() as session:
        code = create_invite(
            session, role=Role.WORKER, enterprise_id=enterprise, days=14, now=NOW
        ).code
        ids = [
            programme.register(
                session, code=code, telegram_user_id=user_id, chat_id=user_id,
                display_name=f"Thợ {user_id}", username=None, language="vi", now=NOW,
            ).contact.id  # type: ignore[union-attr]
            for user_id in (71, 72)
        ]  # fmt: skip
        members.remove_member(session, ids[0], actor=None, now=NOW)  # type: ignore[arg-type]
    with database.session() as session:
        figures = [
            build_summary(
                session, period=year_period(2027), scope=Scope(), tz=ZoneInfo("Asia/Ho_Chi_Minh"),
                today=date(2027, 3, 2), rollups=rollups,
            ).enterprises
            for rollups in (True, False)
        ]  # fmt: skip
    assert figures[0] == figures[1]
    assert figures[0].reachable_workers == 1
