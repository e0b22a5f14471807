"""`oshbot site build`: the static site, opened in a real headless Chromium.

Chromium renders each page from file:// (no server, no JavaScript needed); the test reads the
DOM it built, follows every link and image to a file, and saves a phone-sized screenshot. When
Chromium is missing the test installs it (apt-get), and is skipped only if that is impossible.
"""

from __future__ import annotations

import os
import re
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
from models.tables import Contact, Improvement, Role
from reports.site import build_site
from tests.factories import Library, add_improvement, build_library

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
    # Counts of improvements are shown as they are, however small (only survey answers are
    # withheld in small groups, and the site shows none).
    assert "dưới 3" not in home_vi and "fewer than 3" not in every
    assert '<td class="num">1</td>' in home_vi
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


def pixels_of(shot: Path, near: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """The bounding box (left, top, right, bottom) of the pixels close to a colour."""
    from PIL import Image, ImageChops

    image = Image.open(shot).convert("RGB")
    difference = ImageChops.difference(image, Image.new("RGB", image.size, near)).convert("L")
    mask = difference.point(lambda value: 255 if value < 20 else 0)
    box = mask.getbbox()
    assert box is not None, "colour not found"
    return box


def test_card_photos_keep_their_proportions_on_a_phone(database: Database, tmp_path: Path) -> None:
    from PIL import Image

    library = build_library(database)
    photo = tmp_path / "magenta.jpg"
    Image.new("RGB", (1200, 900), (230, 0, 200)).save(photo)
    with database.session() as session:
        improvement = session.get(Improvement, library.named)
        assert improvement is not None
        improvement.photo_after_path = str(photo)
    out = tmp_path / "www"
    with database.session() as session:
        build_site(session, out, tz=TZ, today=date(2027, 3, 20), link="https://t.me/x")
    browser = chromium()
    for width in (390, 1280):
        shot = tmp_path / f"gallery-{width}.png"
        page = out / "vi" / "gallery" / "index.html"
        browse(browser, page, tmp_path / "profile", f"--window-size={width},1600",
               f"--screenshot={shot}", "--hide-scrollbars")  # fmt: skip
        left, top, right, bottom = pixels_of(shot, (230, 0, 200))
        # 4:3 as the card's frame, not a 480 px tall crop of the photo.
        assert abs((bottom - top) / (right - left) - 0.75) < 0.03, (width, left, top, right, bottom)
        assert bottom - top < 400


def test_two_practices_of_one_area_have_different_titles(
    database: Database, tmp_path: Path
) -> None:
    library = build_library(database)
    add_improvement(database, library.enterprises["may"], area="storage",
                    description="Xe đẩy cho cuộn vải: không còn phải vác trên vai.")  # fmt: skip
    add_improvement(database, library.enterprises["may"], area="storage",
                    description="Kệ ba tầng cho nguyên liệu, lối đi sơn vạch vàng.")  # fmt: skip
    out = tmp_path / "www"
    with database.session() as session:
        build_site(session, out, tz=TZ, today=date(2027, 3, 20), link="https://t.me/x")
    gallery = (out / "vi" / "gallery" / "area-storage.html").read_text(encoding="utf-8")
    titles = re.findall(r'<h3><a href="[^"]+">([^<]+)</a></h3>', gallery)
    assert len(titles) == 3 and len(set(titles)) == 3, titles
    assert "Xe đẩy cho cuộn vải" in titles
    # Under its title the card goes on with the rest of the text instead of repeating it.
    assert "<p>Không còn phải vác trên vai.</p>" in gallery
    assert gallery.count("Xe đẩy cho cuộn vải") == 1
    # The same opening words are told apart by who did it.
    assert "Kệ ba tầng cho nguyên liệu, lối đi sơn vạch vàng (Xưởng mộc Hòa Phát)" in titles or (
        "Kệ ba tầng cho nguyên liệu, lối đi sơn vạch vàng (Công ty May Thu Hà)" in titles
    )


class Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.properties: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("property"):
            self.properties[str(found["property"])] = str(found.get("content"))


def test_pages_carry_open_graph_tags_for_link_previews(database: Database, tmp_path: Path) -> None:
    library = build_library(database, tmp_path / "photos")
    out = tmp_path / "www"
    with database.session() as session:
        build_site(session, out, tz=TZ, today=date(2027, 3, 20), link="https://t.me/x",
                   site_url="https://atvsld.example.vn/theo-doi")  # fmt: skip
    practice = Meta()
    practice.feed((out / "vi" / "practices" / f"{library.named}.html").read_text("utf-8"))
    og = practice.properties
    assert og["og:title"] == "Kệ ba tầng cho nguyên liệu, lối đi sơn vạch vàng"
    assert og["og:description"].startswith("Kệ ba tầng")
    assert og["og:locale"] == "vi_VN" and og["og:locale:alternate"] == "en_US"
    assert og["og:type"] == "article"
    assert og["og:url"] == f"https://atvsld.example.vn/theo-doi/vi/practices/{library.named}.html"
    image = og["og:image"]
    assert image.startswith("https://atvsld.example.vn/theo-doi/media/")
    assert (out / "media" / image.rsplit("/", 1)[1]).is_file()
    home = Meta()
    home.feed((out / "en" / "index.html").read_text("utf-8"))
    assert home.properties["og:locale"] == "en_US" and home.properties["og:image"]
    assert home.properties["og:url"] == "https://atvsld.example.vn/theo-doi/en/index.html"
    assert home.properties["og:description"].startswith("Small and medium enterprises")
    # Without the site's public address there is nothing absolute to point a preview at.
    with database.session() as session:
        build_site(session, out, tz=TZ, today=date(2027, 3, 20), link="https://t.me/x")
    bare = Meta()
    bare.feed((out / "vi" / "index.html").read_text("utf-8"))
    assert "og:url" not in bare.properties and "og:image" not in bare.properties
    assert bare.properties["og:title"] and bare.properties["og:description"]
