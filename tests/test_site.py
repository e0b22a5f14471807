"""`oshbot site build`: the static site, opened in a real headless Chromium.

Chromium renders each page from file:// (no server, no JavaScript needed); the test reads the
DOM it built, follows every link and image to a file, and saves a phone-sized screenshot. When
Chromium is missing the test installs it (apt-get), and is skipped only if that is impossible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag
from zoneinfo import ZoneInfo

import pytest

from models import goodpractice
from models.db import Database
from models.tables import Contact, Role
from reports.site import build_site
from tests.test_goodpractice import Library, add_improvement, build_library

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True)
        if found := shutil.which("chromium"):
            return found
    pytest.skip("Chromium is not installed and cannot be installed here")


def browse(browser: str, page: Path, profile: Path, *extra: str) -> str:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", f"--user-data-dir={profile}", *extra, page.as_uri()]  # fmt: skip
    for _attempt in range(2):  # a cold start sometimes dumps nothing: one more try
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
        if result.stdout.strip() or extra != ("--dump-dom",):
            break
    return result.stdout


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        if tag in ("a", "link") and found.get("href"):
            self.links.append(str(found["href"]))
        if tag == "img":
            self.images.append(found)
            self.links.append(str(found.get("src")))


def local(target: str) -> bool:
    return not target.startswith(("http:", "https:", "data:", "mailto:"))


@pytest.fixture
def site(database: Database, tmp_path: Path) -> tuple[Path, Library]:
    library = build_library(database, tmp_path / "photos")
    # One more in storage, then withdrawn: it must not appear anywhere.
    hidden = add_improvement(database, library.enterprises["may"], description="Rút rồi, bí mật.")
    with database.session() as session:
        staff = Contact(telegram_user_id=5, chat_id=5, role=Role.STAFF, provider_id=library.north)
        session.add(staff)
        session.flush()
        goodpractice.withdraw(session, improvement_id=hidden, actor=staff)
    out = tmp_path / "www"
    with database.session() as session:
        built = build_site(session, out, tz=TZ, today=date(2027, 3, 20), link="https://t.me/x")
    assert len(built.pages) > 20
    return out, library


def test_the_site_works_in_chromium(site: tuple[Path, Library], tmp_path: Path) -> None:
    out, library = site
    browser = chromium()
    profile = tmp_path / "profile"
    # The root page redirects to vi/ at once (meta refresh), so Chromium's DOM of it would be a
    # race; it is read as a file instead.
    root = Links()
    root.feed((out / "index.html").read_text(encoding="utf-8"))
    assert root.lang == "vi"
    assert all((out / link).is_file() for link in filter(local, root.links))
    pages = [
        out / "vi" / "index.html",
        out / "en" / "index.html",
        out / "vi" / "gallery" / "index.html",
        out / "en" / "gallery" / "area-machine.html",
        out / "vi" / "gallery" / "province-da-nang.html",
        out / "vi" / "areas" / "storage.html",
        out / "en" / "practices" / f"{library.anonymous}.html",
        out / "vi" / "practices" / f"{library.named}.html",
    ]
    every = ""
    for page in pages:
        dom = browse(browser, page, profile, "--dump-dom")
        every += dom
        parsed = Links()
        parsed.feed(dom)
        assert parsed.lang == ("en" if "/en/" in page.as_posix() else "vi"), page
        for image in parsed.images:
            assert image.get("alt"), (page, image)
        for link in filter(local, parsed.links):
            target = (page.parent / urldefrag(link).url).resolve()
            assert target.is_file(), (page, link)

    home_vi = browse(browser, out / "vi" / "index.html", profile, "--dump-dom")
    assert "Chương trình qua các con số" in home_vi and 'href="../en/index.html"' in home_vi
    # Areas with fewer than 3 improvements show no number.
    assert "dưới 3" in home_vi
    machine = browse(browser, out / "en" / "gallery" / "area-machine.html", profile, "--dump-dom")
    assert "Che chắn dây curoa" in machine and "Kệ ba tầng" not in machine
    assert 'aria-current="page"' in machine and "An enterprise · Can Tho" in machine
    assert "Cơ khí Tân Tiến" not in every and "Rút rồi, bí mật." not in every
    named = browse(
        browser, out / "vi" / "practices" / f"{library.named}.html", profile, "--dump-dom"
    )
    assert "Xưởng mộc Hòa Phát" in named and "Chi phí: 1.500.000 đ" in named

    shot = tmp_path / "home-phone.png"
    browse(browser, out / "vi" / "index.html", profile, "--window-size=412,1200",
           f"--screenshot={shot}", "--hide-scrollbars")  # fmt: skip
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000


def test_a_rebuild_drops_what_was_withdrawn(database: Database, tmp_path: Path) -> None:
    library = build_library(database)
    out = tmp_path / "www"
    with database.session() as session:
        build_site(session, out, tz=TZ, today=date(2027, 3, 20), link="https://t.me/x")
    assert (out / "vi" / "practices" / f"{library.named}.html").is_file()
    with database.session() as session:
        staff = Contact(telegram_user_id=5, chat_id=5, role=Role.STAFF, provider_id=library.north)
        session.add(staff)
        session.flush()
        goodpractice.withdraw(session, improvement_id=library.named, actor=staff)
    with database.session() as session:
        build_site(session, out, tz=TZ, today=date(2027, 3, 20), link="https://t.me/x")
    assert not (out / "vi" / "practices" / f"{library.named}.html").exists()
