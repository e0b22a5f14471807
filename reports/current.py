"""Publications kept current: the website and this month's programme newsletter (vi and en),
rebuilt together into one folder (`data/public` by default) that a web server can serve.

Rebuilt by the daily `publications` job and at once when something must stop being public: a
good practice withdrawn from the library, a person erased. Each part is written into a fresh
folder beside the old one and swapped in, so that readers never see half a site and nothing
withdrawn survives a rebuild.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.i18n import LANGUAGES
from bot.settings import Settings
from models.db import Database
from reports import newsletter, publish
from reports.site import build_site

log = logging.getLogger(__name__)

SITE = "site"
NEWSLETTER = "newsletter"
# One rebuild at a time per process; several processes each swap whole folders.
_lock = threading.Lock()


def _swap(fresh: Path, target: Path) -> None:
    old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def rebuild(
    session: Session,
    out: Path,
    *,
    tz: ZoneInfo,
    today: date,
    link: str,
    media_root: Path | None,
    site_url: str | None,
) -> dict[str, int]:
    """The site into `out/site`, this month's newsletters into `out/newsletter`."""
    with _lock:
        out.mkdir(parents=True, exist_ok=True)
        fresh = out / f".new-{uuid.uuid4().hex[:8]}"
        try:
            built = build_site(
                session, fresh / SITE, tz=tz, today=today, link=link, media_root=media_root,
                site_url=site_url,
            )  # fmt: skip
            month = f"{today.year}-{today.month:02d}"
            written = 0
            for language in LANGUAGES:
                publication = newsletter.newsletter(
                    session, period_text=month, language=language, provider_id=None, tz=tz,
                    today=today, link=link, media_root=media_root,
                )  # fmt: skip
                written += len(newsletter.write(publication, fresh / NEWSLETTER))
            _swap(fresh / SITE, out / SITE)
            _swap(fresh / NEWSLETTER, out / NEWSLETTER)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
    return {"site_pages": len(built.pages), "newsletter_files": written}


def public_dir(settings: Settings) -> Path:
    return settings.data_dir / "public"


def rebuild_now(database: Database, settings: Settings, *, now: datetime) -> dict[str, int]:
    """What a withdrawal or an erasure calls once it is committed. A deployment that never
    built its publications (the daily job does) has nothing public to take back."""
    if not public_dir(settings).exists():
        return {"skipped": 1}
    with database.session() as session:
        return rebuild(
            session,
            public_dir(settings),
            tz=settings.tz,
            today=now.astimezone(settings.tz).date(),
            link=publish.invitation_link(settings.site_url, settings.bot_username),
            media_root=settings.media_dir,
            site_url=settings.site_url,
        )
