"""The role matrix: who may use which command, and forged or replayed buttons that reach for
another provider's data. Every check is the server's, made from the database on each action."""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

import handlers
from handlers import menu
from models import journeys
from models.programme import EnterpriseDraft, add_enterprise, add_provider, create_invite
from models.tables import Event, Improvement, Role, Visit
from tests.conftest import START, World

ROLES: list[Role | None] = [None, *Role]
EVERY_COMMAND = sorted(
    {entry.command for entries in menu.MENUS.values() for entry in entries} - {"deleteme", "stop"}
)
ALWAYS = {"start", "help", "language", "cancel"}
# Commands outside a role's menu that answer with the person's own scope, by design.
OWN_SCOPE = {
    (Role.STAFF, "nextvisit"),  # shows their own provider's visits, as /visits does
    (Role.COORDINATOR, "nextvisit"),
    (Role.EMPLOYER, "visits"),  # explains how their own visits are arranged
}
REFUSALS = (
    "chỉ dành cho",
    "dành cho chủ doanh nghiệp",
    "dành cho doanh nghiệp",
    "khảo sát theo dõi dành cho",
    "chưa tham gia chương trình",
    "Để tham gia",
    "do doanh nghiệp gửi",
    "do chủ doanh nghiệp và người lao động",
)


def allowed(role: Role | None, command: str) -> bool:
    if command in ALWAYS:
        return True
    if role is None:
        return False
    return command in {entry.command for entry in menu.MENUS[role]} or (role, command) in OWN_SCOPE


def seed(world: World) -> dict[str, Any]:
    """Two providers, each with an enterprise; provider A's objects are the targets."""
    ids: dict[str, Any] = {}
    with world.database.session() as session:
        for key in ("a", "b"):
            provider = add_provider(session, name=f"Trung tâm {key.upper()}", province_code="hue")
            draft = EnterpriseDraft(f"Xưởng {key.upper()}", "wood", "hue", 20, date(2027, 1, 5))
            enterprise = add_enterprise(
                session, provider_id=provider.id, draft=draft, today=START.date()
            )
            ids[f"provider_{key}"], ids[f"enterprise_{key}"] = provider.id, enterprise.id
            for role in (Role.EMPLOYER, Role.WORKER):
                ids[f"{role}_{key}"] = create_invite(
                    session, role=role, enterprise_id=enterprise.id, days=14, now=START
                ).code
            for role in (Role.STAFF, Role.PARTNER):
                ids[f"{role}_{key}"] = create_invite(
                    session, role=role, provider_id=provider.id, days=14, now=START
                ).code
        ids["coordinator"] = create_invite(session, role=Role.COORDINATOR, days=14, now=START).code
        report = Improvement(
            enterprise_id=ids["enterprise_a"], area_code="storage", description="Kệ để hàng",
            status="submitted", submitted_at=START, share_consent="named",
            risk_before_likelihood=3, risk_before_severity=2, risk_before_score=6,
        )  # fmt: skip
        visit = Visit(enterprise_id=ids["enterprise_a"], due_on=START.date(), offset_months=1,
                      status="proposed", scheduled_at=START + timedelta(days=3))  # fmt: skip
        event = Event(provider_id=ids["provider_a"], kind="workshop", title="Hội thảo A",
                      starts_at=START + timedelta(days=5), checkin_code="evt-a-secret")  # fmt: skip
        session.add_all([report, visit, event])
        session.flush()
        ids["targets"] = {report.id, visit.id, event.id, ids["enterprise_a"], ids["provider_a"]}
    return ids


async def register(world: World, user_id: int, code: str) -> None:
    person = world.user(user_id)
    await person.say(f"/start {code}")
    await person.press("Tiếng Việt")
    await person.press("✅")


def snapshot(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table that an action could change (the audit log aside). A person's
    place in the journeys counts once it holds something: a refused action still gives them an
    empty row."""
    with world.database.engine.connect() as connection:
        tables = [
            name
            for name in sa.inspect(connection).get_table_names()
            if name not in ("auditlog", "bot_state", "alembic_version", "jobrun")
        ]
        found = {
            name: sorted(
                map(tuple, connection.exec_driver_sql(f'SELECT * FROM "{name}"')), key=repr
            )
            for name in tables
        }
        rows = connection.exec_driver_sql("SELECT * FROM journey_state").mappings()
        found["journey_state"] = sorted(
            [
                tuple(row.values())
                for row in rows
                if row["journey"] is not None or row["paused"] not in (None, [], "[]")
            ],
            key=repr,
        )
        return found


async def test_every_role_against_every_command(world: World) -> None:
    ids = seed(world)
    codes: dict[Role | None, str | None] = {
        None: None,
        Role.COORDINATOR: ids["coordinator"],
        Role.STAFF: ids["staff_a"],
        Role.EMPLOYER: ids["employer_a"],
        Role.WORKER: ids["worker_a"],
        Role.PARTNER: ids["partner_a"],
    }
    problems = []
    for index, role in enumerate(ROLES):
        user_id = 8000 + index
        code = codes[role]
        if code is not None:
            await register(world, user_id, code)
        person = world.user(user_id)
        for command in EVERY_COMMAND:
            world.api_clock.advance(30)
            reply = await person.say(f"/{command}")
            text = (reply.plain or reply.caption or "") if reply else ""
            refused = any(marker in text for marker in REFUSALS)
            if not text:
                problems.append(f"{role}/{command}: no answer")
            elif allowed(role, command) and refused and command not in ALWAYS:
                problems.append(f"{role}/{command}: refused but in the menu: {text[:60]!r}")
            elif not allowed(role, command) and not refused:
                problems.append(f"{role}/{command}: answered outside the role: {text[:60]!r}")
            await person.say("/cancel")
    assert not problems, "\n".join(problems)


def callback_prefixes() -> list[str]:
    """Every callback-data prefix the handlers and the journeys declare (module constants like
    "rev:ok:")."""
    found = set()
    modules = [f"handlers.{m.name}" for m in pkgutil.iter_modules(handlers.__path__)]
    modules += [f"models.journeys.{m.name}" for m in pkgutil.iter_modules(journeys.__path__)]
    for name in modules:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, str) and re.fullmatch(r"[a-z]{1,6}:([a-z_-]+:)*", value):
                found.add(value)
    return sorted(found)


async def test_forged_buttons_reaching_for_another_providers_data_change_nothing(
    world: World,
) -> None:
    ids = seed(world)
    outsiders = {
        8101: ids["staff_b"],
        8102: ids["employer_b"],
        8103: ids["worker_b"],
        8104: ids["partner_a"],  # a partner of the same provider: events only
        8105: ids["worker_a"],  # a worker of the same enterprise: not a reviewer
    }
    for user_id, code in outsiders.items():
        await register(world, user_id, code)
    await world.drain()
    before = snapshot(world)
    prefixes = callback_prefixes()
    assert len(prefixes) > 40, prefixes
    presses = 0
    for user_id in outsiders:
        person = world.user(user_id)
        anchor = person.account.messages()[-1].message_id
        for prefix in prefixes:
            if prefix.startswith(("onb:", "lang:", "prv:", "fb:", "sum:", "gp:area:", "evt:kind:")):
                continue  # the person's own settings, or choices that touch nobody else's data
            for target in ids["targets"]:
                world.api_clock.advance(3)
                await person.press_data(anchor, f"{prefix}{target}")
                presses += 1
        await person.say("/cancel")
    await world.drain()
    after = snapshot(world)
    changed = {name for name in before if before[name] != after[name]}
    assert not changed, f"forged buttons changed {changed} ({presses} presses)"


async def test_a_replayed_review_button_is_refused_after_the_review(world: World) -> None:
    ids = seed(world)
    await register(world, 8201, ids["staff_a"])
    staff = world.user(8201)
    with world.database.session() as session:
        report_id = session.exec(sa.select(Improvement.id)).scalar_one()  # type: ignore[call-overload]
    anchor = staff.account.messages()[-1].message_id
    await staff.press_data(anchor, f"rev:ok:{report_id}")
    with world.database.session() as session:
        first = session.get(Improvement, report_id)
        assert first is not None and first.status == "verified"
        reviewed_at = first.reviewed_at
    world.clock.advance(hours=1)
    await staff.press_data(anchor, f"rev:ok:{report_id}")
    with world.database.session() as session:
        again = session.get(Improvement, report_id)
        assert again is not None and again.reviewed_at == reviewed_at
