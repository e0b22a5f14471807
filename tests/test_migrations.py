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
    from reports.summary import Scope, build_summary, parse_period

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
