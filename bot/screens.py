"""Screenshots of what people read, at the width of a phone (390 px) and of a desktop: the
dashboard's overview, an enterprise page and the providers side by side, the website's
gallery, a chart, the newsletter and the leaflets (PDF pages through poppler's pdftoppm). The
demo writes them so that anyone can look at every page before calling a change done.

Debian's Chromium, driven by Playwright; without it (or without pdftoppm) the demo says which
screenshots it could not take instead of failing.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import select
from starlette.applications import Starlette

from bot import dashboard
from bot.dashboard.auth import link_token
from bot.dashboard.local import LocalServer
from bot.settings import Settings
from models import websignin
from models.db import Database
from models.tables import Contact, Enterprise, Role

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def write_screens(
    out: Path,
    *,
    database: Database,
    settings: Settings,
    clock: Callable[[], datetime],
    staff_user_id: int,
    coordinator_user_id: int,
    enterprise_name: str,
) -> list[str]:
    """Writes the PNGs into out/screens; returns what could not be taken, in words."""
    screens = out / "screens"
    shutil.rmtree(screens, ignore_errors=True)
    screens.mkdir(parents=True)
    missing = []
    if shutil.which("pdftoppm"):
        _pdf_pages(out / "publications", screens)
    else:
        missing.append("newsletter and leaflet pages (pdftoppm from poppler-utils is missing)")
    if not CHROMIUM.exists():
        return [*missing, "browser screenshots (/usr/bin/chromium is missing)"]
    from playwright.sync_api import sync_playwright

    with database.session() as session:
        staff = session.exec(select(Contact).where(Contact.telegram_user_id == staff_user_id)).one()
        assert staff.role == Role.STAFF
        coordinator = session.exec(
            select(Contact).where(Contact.telegram_user_id == coordinator_user_id)
        ).one()
        assert coordinator.role == Role.COORDINATOR
        enterprise = session.exec(
            select(Enterprise).where(Enterprise.name == enterprise_name)
        ).one()
    app = Starlette(routes=[dashboard.mount(database, settings, clock=clock)])
    files = {
        "site-gallery": out / "site" / "vi" / "gallery" / "index.html",
        "newsletter": next((out / "publications").glob("newsletter-*-vi.html"), None),
        "chart": next((out / "reports").glob("**/chart-*.png"), None),
    }
    with LocalServer(app) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for width, viewport in WIDTHS.items():
                page = browser.new_context(viewport=viewport).new_page()
                with database.session() as session:
                    link = websignin.issue(session, session.get(Contact, staff.id), now=clock())
                _sign_in(page, f"{server.url}/dashboard/signin?t={link_token(settings, link.id)}")
                page.goto(f"{server.url}/dashboard/?period=this_quarter")
                page.screenshot(path=screens / f"dashboard-overview-{width}.png", full_page=True)
                page.goto(f"{server.url}/dashboard/enterprises/{enterprise.id}")
                _load_lazy_images(page)
                page.screenshot(path=screens / f"dashboard-enterprise-{width}.png", full_page=True)
                # Coordinators compare the providers side by side.
                with database.session() as session:
                    link = websignin.issue(
                        session, session.get(Contact, coordinator.id), now=clock()
                    )
                _sign_in(page, f"{server.url}/dashboard/signin?t={link_token(settings, link.id)}")
                page.goto(f"{server.url}/dashboard/providers?period=this_quarter")
                page.screenshot(path=screens / f"dashboard-providers-{width}.png", full_page=True)
                for name, path in files.items():
                    if path is None or not path.exists():
                        missing.append(f"{name} ({width}): the demo wrote no such file")
                        continue
                    if (
                        path.suffix == ".png"
                    ):  # on a page, as a chart is read: not Chromium's viewer
                        page.set_content(_image_page(path))
                    else:
                        page.goto(path.as_uri())
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=screens / f"{name}-{width}.png", full_page=True)
                page.context.close()
        finally:
            browser.close()
    return missing


def _sign_in(page: Any, link: str) -> None:
    """As a person does: opens the link and presses Sign in (opening alone signs nobody in)."""
    page.goto(link)
    with page.expect_navigation():
        page.locator("form[action$='/signin'] button").click()
    if not page.url.endswith("/dashboard/"):  # refused: the pages after would be sign-in pages
        raise RuntimeError(f"the demo's sign-in to the dashboard was refused ({page.url})")


def _load_lazy_images(page: Any) -> None:
    """Photos load as they scroll into view (loading="lazy"); a full-page screenshot does not
    scroll, so walk down the page first."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for top in range(0, height, 400):
        page.evaluate(f"window.scrollTo(0, {top})")
        page.wait_for_load_state("networkidle")
    page.wait_for_function("[...document.images].every(i => i.complete)")
    page.evaluate("window.scrollTo(0, 0)")


def _image_page(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        '<!doctype html><html lang="vi"><meta name="viewport" content="width=device-width">'
        '<body style="margin:0;background:#fff;display:flex;justify-content:center">'
        f'<img src="data:image/png;base64,{data}" alt="" style="width:480px;max-width:100%">'
        "</body></html>"
    )


def _pdf_pages(publications: Path, screens: Path) -> None:
    """The first page of the newsletters and of one leaflet per language, at 110 dpi: an A5
    page comes out about as wide as a phone shows it."""
    chosen = sorted(publications.glob("newsletter-*.pdf"))
    for language in ("vi", "en"):
        chosen += sorted(publications.glob(f"leaflet-*-{language}.pdf"))[:1]
    for pdf in chosen:
        subprocess.run(
            ["pdftoppm", "-r", "110", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf),
             str(screens / pdf.stem)],
            check=True, capture_output=True,
        )  # fmt: skip
