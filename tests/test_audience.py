"""Audience selection for broadcasts and event invitations."""

from __future__ import annotations

from datetime import UTC, date, datetime

from models.audience import Audience, count, members
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import Contact, Improvement, ReviewStatus, Role

NOW = datetime(2027, 3, 1, tzinfo=UTC)


def build(database: Database) -> dict[str, int]:
    """Two providers; enterprises in two provinces and sectors; employers, workers, a partner."""
    ids: dict[str, int] = {}
    with database.session() as session:
        north = add_provider(session, name="Trung tâm Hà Nội")
        south = add_provider(session, name="Trung tâm Cần Thơ")
        plan = [
            ("wood_hn", north, "wood", "ha-noi"),
            ("garment_hn", north, "garment", "ha-noi"),
            ("wood_hp", north, "wood", "hai-phong"),
            ("metal_ct", south, "metal", "can-tho"),
        ]
        for key, provider, sector, province in plan:
            draft = EnterpriseDraft(key, sector, province, 10, date(2027, 1, 1))
            enterprise = add_enterprise(
                session, provider_id=provider.id, draft=draft, today=NOW.date()
            )
            ids[key] = enterprise.id  # type: ignore[assignment]
            for role in (Role.EMPLOYER, Role.WORKER):
                contact = Contact(
                    telegram_user_id=len(ids) * 100 + len(role),
                    chat_id=len(ids) * 100 + len(role),
                    role=role,
                    enterprise_id=enterprise.id,
                )
                session.add(contact)
                session.flush()
                ids[f"{key}:{role}"] = contact.id  # type: ignore[assignment]
        partner = Contact(telegram_user_id=9, chat_id=9, role=Role.PARTNER, provider_id=north.id)
        session.add(partner)
        session.flush()
        ids["partner"], ids["north"], ids["south"] = partner.id, north.id, south.id  # type: ignore[assignment]
    return ids


def names(database: Database, audience: Audience) -> set[int]:
    with database.session() as session:
        assert count(session, audience) == len(members(session, audience))
        return {c.id for c in members(session, audience)}  # type: ignore[misc]


def test_each_filter(database: Database) -> None:
    ids = build(database)
    north = ids["north"]
    everyone_north = {ids[f"{e}:{r}"] for e in ("wood_hn", "garment_hn", "wood_hp") for r in Role
                      if f"{e}:{r}" in ids}  # fmt: skip
    assert names(database, Audience(provider_id=north)) == everyone_north
    assert names(database, Audience(provider_id=north, provinces=("hai-phong",))) == {
        ids["wood_hp:employer"],
        ids["wood_hp:worker"],
    }
    wood = {ids[f"{e}:{r}"] for e in ("wood_hn", "wood_hp") for r in ("employer", "worker")}
    assert names(database, Audience(provider_id=north, sectors=("wood",))) == wood
    assert names(database, Audience(provider_id=north, roles=("employer",))) == {
        ids["wood_hn:employer"],
        ids["garment_hn:employer"],
        ids["wood_hp:employer"],
    }
    workers = Audience(provider_id=north, roles=("worker",), include_partners=True)
    assert names(database, workers) == {
        ids["wood_hn:worker"], ids["garment_hn:worker"], ids["wood_hp:worker"], ids["partner"]
    }  # fmt: skip
    assert len(names(database, Audience())) == 8  # coordinators: every provider, no partners


def test_enterprises_that_reported_nothing_in_an_area(database: Database) -> None:
    ids = build(database)
    with database.session() as session:
        for key, status in (("wood_hn", ReviewStatus.VERIFIED), ("garment_hn", ReviewStatus.DRAFT)):
            session.add(Improvement(enterprise_id=ids[key], area_code="storage", status=status))
        session.add(
            Improvement(enterprise_id=ids["wood_hp"], area_code="machine", status="submitted")
        )
    audience = Audience(provider_id=ids["north"], roles=("employer",), no_reports_in_area="storage")
    chosen = names(database, audience)
    # A draft does not count as having reported; another area does not either.
    assert chosen == {ids["garment_hn:employer"], ids["wood_hp:employer"]}


def test_opted_out_unreachable_and_erased_are_never_included(database: Database) -> None:
    ids = build(database)
    with database.session() as session:
        for key, column in (
            ("wood_hn:employer", "opted_out_at"),
            ("wood_hn:worker", "unreachable_at"),
            ("garment_hn:employer", "erased_at"),
        ):
            contact = session.get(Contact, ids[key])
            setattr(contact, column, NOW)
            session.add(contact)
    assert names(database, Audience(provider_id=ids["north"])) == {
        ids["garment_hn:worker"],
        ids["wood_hp:employer"],
        ids["wood_hp:worker"],
    }
    assert Audience.from_json(Audience(provinces=("hue",)).to_json()) == Audience(
        provinces=("hue",)
    )
