"""The migration chain builds exactly the schema the models describe, on either database."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from models.db import Database, alembic_config, current_revisions, head_revisions, upgrade


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrade_is_idempotent_and_at_head(database: Database) -> None:
    assert current_revisions(database.engine) == head_revisions(database.url)
    assert upgrade(database.engine) is False


def test_upgrading_a_programme_with_data_builds_the_new_rollups(database_url: str) -> None:
    """0011 adds rollups and coarse rows: a database that already holds a programme gets them
    built from its rows, so that its summaries stay exact."""
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from models.tables import Enterprise, Improvement, Provider, Visit
    from reports.figures import Scope, parse_period
    from reports.summary import build_summary

    database = Database(database_url)
    with database.session() as session:
        provider = Provider(name="P", province_code="hue")
        session.add(provider)
        session.flush()
        enterprise = Enterprise(
            provider_id=provider.id,
            name="E",
            sector_code="wood",
            province_code="hue",
            workers=4,
            intervention_date=date(2026, 5, 1),
        )
        session.add(enterprise)
        session.flush()
        for day in (3, 9):
            session.add(
                Improvement(
                    enterprise_id=enterprise.id,
                    area_code="storage",
                    workers_benefiting=3,
                    status="submitted",
                    submitted_at=datetime(2027, 3, day, tzinfo=UTC),
                )
            )
        for day in (2, 20):
            session.add(Visit(enterprise_id=enterprise.id, due_on=date(2027, 3, day)))
    config = alembic_config(database_url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    assert upgrade(database.engine) is True
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    with database.session() as session:
        counts = session.execute(sa.text("SELECT * FROM rollup_count")).all()
        assert [tuple(row) for row in counts if row.period_key == "2027"] == [
            ("2027", provider.id, 2, 1, 4, 0)
        ]
        for text, overdue in (("2027", 2), ("2027-03", 2), ("2027-03-05..2027-03-31", 1)):
            kwargs = dict(period=parse_period(text), scope=Scope(), tz=tz, today=date(2027, 4, 30))
            rolled = build_summary(session, **kwargs)
            assert rolled.as_dict() == build_summary(session, rollups=False, **kwargs).as_dict()
            assert rolled.providers[0].visits_overdue == overdue
    database.dispose()


def test_upgrading_gives_live_invites_a_short_code_and_a_joiner_limit(database_url: str) -> None:
    """0015: links handed out before the upgrade keep working, can be typed, and are limited;
    one that already admitted more people than its limit is full."""
    from datetime import UTC, date, datetime, timedelta

    from models.tables import Enterprise, Invite, Provider

    database = Database(database_url)
    now = datetime.now(UTC)
    with database.session() as session:
        provider = Provider(name="P", province_code="hue")
        session.add(provider)
        session.flush()
        enterprise = Enterprise(
            provider_id=provider.id, name="E", sector_code="wood", province_code="hue",
            workers=10, intervention_date=date(2026, 5, 1),
        )  # fmt: skip
        session.add(enterprise)
        session.flush()
        rows = {
            "worker": Invite(code="w", role="worker", enterprise_id=enterprise.id, uses=1),
            "leaked": Invite(code="e", role="employer", enterprise_id=enterprise.id, uses=5),
            "expired": Invite(code="x", role="worker", enterprise_id=enterprise.id),
        }
        for name, row in rows.items():
            row.expires_at = now + timedelta(days=-1 if name == "expired" else 7)
            session.add(row)
    config = alembic_config(database_url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
    assert upgrade(database.engine) is True
    with database.session() as session:
        after = {i.code: i for i in session.exec(sa.select(Invite)).scalars()}
    assert (after["w"].max_uses, after["e"].max_uses, after["x"].max_uses) == (14, 5, None)
    assert after["w"].short_code and after["e"].short_code and after["x"].short_code is None
    assert after["w"].short_code != after["e"].short_code
    database.dispose()
