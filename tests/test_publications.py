"""Publications kept current: the daily job rebuilds the website and this month's newsletter,
and a withdrawal or an erasure in the chat rebuilds them at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from models import goodpractice
from models.db import Database
from models.tables import Contact, Role
from reports import current
from scheduler.config import SchedulerConfig
from scheduler.jobs import publications_job
from scheduler.runner import schedule
from tests.conftest import World
from tests.factories import NOW, build_library, join, make_invite


def public_text(folder: Path) -> str:
    """Every page and newsletter as one text, to look for what must not be public."""
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(folder.rglob("*.html")))


def test_the_daily_job_rebuilds_site_and_newsletters_without_what_was_withdrawn(
    database: Database, tmp_path: Path
) -> None:
    library = build_library(database)
    config = SchedulerConfig(public_dir=tmp_path / "public")
    assert any(job.name == "publications" for job in schedule(config))
    with database.session() as session:
        result = publications_job(session, NOW, config=config)
    assert result["site_pages"] > 0 and result["newsletter_files"] == 4
    newsletters = sorted(p.name for p in (tmp_path / "public" / "newsletter").iterdir())
    assert newsletters == [
        "newsletter-2027-03-en.html", "newsletter-2027-03-en.pdf",
        "newsletter-2027-03-vi.html", "newsletter-2027-03-vi.pdf",
    ]  # fmt: skip
    assert "Xưởng mộc Hòa Phát" in public_text(tmp_path / "public")

    with database.session() as session:
        staff = Contact(
            telegram_user_id=501, chat_id=501, role=Role.STAFF, provider_id=library.north
        )
        session.add(staff)
        session.flush()
        goodpractice.withdraw(session, improvement_id=library.named, actor=staff, now=NOW)
    with database.session() as session:
        publications_job(session, NOW, config=config)
    assert "Xưởng mộc Hòa Phát" not in public_text(tmp_path / "public")
    # Nothing of the previous build is left beside the new one.
    assert sorted(p.name for p in (tmp_path / "public").iterdir()) == ["newsletter", "site"]


def test_a_bare_configuration_leaves_publications_alone(database: Database) -> None:
    with database.session() as session:
        assert publications_job(session, NOW, config=SchedulerConfig()) == {"skipped": 1}


async def test_withdrawing_in_the_chat_takes_the_entry_off_the_site_at_once(
    world: World, tmp_path: Path
) -> None:
    library = build_library(world.database)
    public = current.public_dir(world.settings)
    public.mkdir(parents=True)  # built once before, as the daily job does
    current.rebuild_now(world.database, world.settings, now=world.clock())
    assert "Xưởng mộc Hòa Phát" in public_text(public)

    await join(world, 702, make_invite(world, Role.STAFF, provider_id=library.north))
    staff = world.user(702)
    last = staff.account.messages()[-1].message_id
    await staff.press_data(last, f"gp:wdyes:{library.named}")
    rebuilds = [t for t in asyncio.all_tasks() if t.get_name() == "oshbot:publications"]
    assert len(rebuilds) == 1
    await asyncio.gather(*rebuilds)
    assert "Xưởng mộc Hòa Phát" not in public_text(public)


def test_without_a_first_build_a_withdrawal_builds_nothing(world: World) -> None:
    assert current.rebuild_now(world.database, world.settings, now=world.clock()) == {"skipped": 1}
    assert not current.public_dir(world.settings).exists()


async def test_an_erasure_in_the_chat_rebuilds_the_publications(
    world: World, tmp_path: Path
) -> None:
    from handlers.privacy import ERASE

    library = build_library(world.database)
    public = current.public_dir(world.settings)
    public.mkdir(parents=True)
    current.rebuild_now(world.database, world.settings, now=world.clock())
    before = (public / "site").stat().st_ino
    await join(
        world, 802, make_invite(world, Role.EMPLOYER, enterprise_id=library.enterprises["moc"])
    )
    employer = world.user(802)
    asked = await employer.say("/deleteme")
    assert asked is not None
    await employer.press_data(asked.message_id, ERASE)
    rebuilds = [t for t in asyncio.all_tasks() if t.get_name() == "oshbot:publications"]
    assert len(rebuilds) == 1
    await asyncio.gather(*rebuilds)
    assert (public / "site").stat().st_ino != before  # a new build took the old one's place
    assert "Xưởng mộc Hòa Phát" in public_text(public)  # the enterprise's practice stays
