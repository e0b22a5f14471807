"""Random people: every conversation step gets random text, numbers, emoji, huge and tiny input,
wrong kinds of message, random and forged button data. Nothing may raise, and what is stored
must stay consistent."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from handlers import menu
from models import content
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider, create_invite
from models.tables import Enterprise, Improvement, Outbox, Role, SurveyAnswer
from tests.conftest import START, World, fresh_database, make_world

TEXTS = st.one_of(
    st.text(min_size=1, max_size=60),
    st.text(min_size=1000, max_size=4096),
    st.sampled_from(
        [
            "0",
            "-5",
            "1.200",
            "500k",
            "99999999999999",
            "abc",
            "15/01/2027",
            "31/02/2027",
            "hôm nay",
            "🙂" * 30,
            " ",
            "   x   ",
            "Xưởng mộc Hòa Phát",
            "da nang",
            "1,5 triệu",
            "<b>bold</b>",
            "{name}",
            "%s",
            "\u0000",
            "20/03 9:00",
            "yes",
            "Có",
        ]
    ),
).filter(lambda text: text.strip("\u0000") != "")  # Telegram never delivers empty messages
KINDS = st.sampled_from(["sticker", "voice", "location", "photo", "document"])
PREFIXES = ["onb:", "adm:", "rep:", "rev:", "fb:", "fb:start:", "vis:", "evs:", "ev:", "gp:",
            "bc:", "sum:", "prv:", "lang:set:", "prv:toggle:"]  # fmt: skip
FORGED = st.one_of(
    st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=40),
    st.tuples(st.sampled_from(PREFIXES), st.text(alphabet="0123456789:-abc", max_size=20)).map(
        "".join
    ),
)
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("text"), TEXTS),
        st.tuples(st.just("kind"), KINDS),
        st.tuples(st.just("press"), st.integers(0, 40)),
        st.tuples(st.just("forged"), FORGED),
        st.tuples(st.just("command"), st.sampled_from(["/cancel", "/help", "/start", "/language"])),
    ),
    min_size=1,
    max_size=14,
)


def entry_commands(role: Role) -> list[str]:
    return [f"/{entry.command}" for entry in menu.MENUS[role] if entry.command != "deleteme"]


async def act(world: World, user_id: int, action: tuple[str, Any]) -> None:
    person = world.user(user_id)
    kind, value = action
    if kind in ("text", "command"):
        await person.say(value)
    elif kind == "kind":
        payloads = {
            "sticker": (), "voice": (), "location": (16.05, 108.2),
            "photo": (b"\xff\xd8\xff\xe0 not really a jpeg",),
            "document": (b"%PDF-1.4 x", "bao-cao.pdf", "application/pdf"),
        }  # fmt: skip
        await person.send(value, *payloads[value])
    elif kind == "press":
        for message in reversed(person.account.messages()):
            buttons = [data for _, data in person.account.buttons(message) if data]
            if buttons:
                await person.press_data(message.message_id, buttons[value % len(buttons)])
                return
    elif kind == "forged":
        messages = person.account.messages()
        if messages:
            data = value.encode()[:64].decode(errors="ignore") or "x"  # Telegram's limit
            await person.press_data(messages[-1].message_id, data)


def check_consistency(world: World) -> None:
    areas = {area.code for area in content.areas()}
    with world.database.session() as session:
        for enterprise in session.exec(select(Enterprise)):
            assert enterprise.workers >= 1
            assert content.sector(enterprise.sector_code)
            assert content.province(enterprise.province_code)
        for report in session.exec(select(Improvement)):
            if report.status in ("submitted", "verified", "good_practice"):
                assert report.area_code in areas
                assert report.description and 5 <= len(report.description.strip()) <= 1000
            # A kind of improvement always belongs to the report's area.
            kind = content.kind(report.kind_code)
            assert report.kind_code is None or (kind is not None and kind.area == report.area_code)
            assert report.cost_vnd is None or report.cost_vnd >= 0
            assert report.workers_benefiting is None or report.workers_benefiting >= 0
            for side in ("before", "after"):
                likelihood = getattr(report, f"risk_{side}_likelihood")
                severity = getattr(report, f"risk_{side}_severity")
                score = getattr(report, f"risk_{side}_score")
                if score is not None:
                    assert likelihood in (1, 2, 3) and severity in (1, 2, 3)
                    assert score == likelihood * severity
        for answer in session.exec(select(SurveyAnswer)):
            assert answer.value_text is None or len(answer.value_text) <= 1000
        keys = [row.key for row in session.exec(select(Outbox))]
        assert len(keys) == len(set(keys))


def seed(database: Database) -> dict[Role, str]:
    """An invite code for each role, in a provider with one enterprise."""
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng", province_code="da-nang")
        draft = EnterpriseDraft("Xưởng mộc Hòa Phát", "wood", "da-nang", 12, date(2027, 1, 10))
        enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=START.date()
        )
        where = {
            Role.EMPLOYER: {"enterprise_id": enterprise.id},
            Role.WORKER: {"enterprise_id": enterprise.id},
            Role.STAFF: {"provider_id": provider.id},
            Role.PARTNER: {"provider_id": provider.id},
            Role.COORDINATOR: {},
        }
        return {
            role: create_invite(session, role=role, days=14, now=START, **ids).code  # type: ignore[arg-type]
            for role, ids in where.items()
        }


async def play(template: str, role: Role, entry: str, actions: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder, fresh_database(template, Path(folder)) as url:
        database = Database(url)
        world = make_world(database, Path(folder))
        await world.start()
        try:
            codes = seed(database)
            person = world.user(9001)
            await person.say(f"/start {codes[role]}")
            await person.press("Tiếng Việt")
            await person.press("✅")
            assert "Chào mừng" in " ".join(person.texts()), person.texts()
            before = len(person.account.messages())
            await person.say(entry)
            for action in actions:
                await act(world, 9001, action)
                world.api_clock.advance(30)  # people pause; keeps the flood guard out of it
            await world.drain()
            assert len(person.account.messages()) > before  # every entry answers something
            check_consistency(world)
        finally:
            await world.stop()
            database.dispose()
        assert not world.errors, f"handlers raised: {world.errors!r}"


def fuzz(role: Role):  # type: ignore[no-untyped-def]
    @settings(
        # CI runs a dozen per role; OSHBOT_FUZZ_EXAMPLES=200 for a deeper hunt.
        max_examples=int(os.environ.get("OSHBOT_FUZZ_EXAMPLES", "12")),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(entry=st.sampled_from(entry_commands(role)), actions=ACTIONS)
    def run(template_database: str, entry: str, actions: list[tuple[str, Any]]) -> None:
        asyncio.run(play(template_database, role, entry, actions))

    return run


test_fuzz_employer = fuzz(Role.EMPLOYER)
test_fuzz_worker = fuzz(Role.WORKER)
test_fuzz_staff = fuzz(Role.STAFF)
test_fuzz_coordinator = fuzz(Role.COORDINATOR)
test_fuzz_partner = fuzz(Role.PARTNER)
