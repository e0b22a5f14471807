"""The newsletter and the leaflet: HTML and PDF with the right content, Vietnamese diacritics
intact, photos embedded; /newsletter sends both files in Telegram."""

from __future__ import annotations

import base64
import io
import itertools
import os
import re
import shutil
import subprocess
import unicodedata
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from models.db import Database
from models.tables import Role
from reports import newsletter
from tests.conftest import World
from tests.factories import Library, add_improvement, build_library, join, make_invite

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LINK = "https://t.me/oshbot_sandbox_bot"


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def images_in(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def library(database: Database, tmp_path: Path) -> Library:
    return build_library(database, tmp_path / "photos")


def issue(database: Database, language: str, provider_id: int | None = None):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return newsletter.newsletter(
            session, period_text="2027-03", language=language, provider_id=provider_id,
            tz=TZ, today=date(2027, 3, 20), link=LINK,
        )  # fmt: skip


def test_the_vietnamese_newsletter_has_figures_stories_tips_and_contacts(
    database: Database, library: Library
) -> None:
    publication = issue(database, "vi")
    assert publication.name == "newsletter-2027-03-vi"
    assert publication.pdf.startswith(b"%PDF")
    text = text_of(publication.pdf)
    for expected in (
        "Bản tin theo dõi ATVSLĐ",
        "03/2027",
        "Kỳ này qua các con số",
        "cải thiện đã báo cáo",
        "người lao động hưởng lợi",
        "Điển hình tốt đáng học hỏi",
        "Xưởng mộc Hòa Phát",
        "Che chắn dây curoa máy mài bằng lưới thép",
        "một doanh nghiệp, Cần Thơ",  # the anonymous one is not named
        "Chi phí: 1.500.000 đ",
        "Mỗi lĩnh vực một gợi ý",
        "Trung tâm ATVSLĐ Đà Nẵng",
        "Tham gia chương trình",
    ):
        assert expected in text, expected
    assert "Cơ khí Tân Tiến" not in text and "Công ty May Thu Hà" not in text
    # Two stories with a before and an after photo each, the chart and the QR code.
    assert images_in(publication.pdf) >= 5
    html = publication.html
    assert '<html lang="vi">' in html and "data:image/jpeg;base64," in html
    assert 'alt="Biểu đồ cột: số cải thiện đã báo cáo theo lĩnh vực kỹ thuật"' in html


def test_the_english_newsletter_and_a_providers_own(database: Database, library: Library) -> None:
    english = text_of(issue(database, "en").pdf)
    assert "OSH follow-up newsletter" in english and "March 2027" in english
    assert "1,500,000 VND" in english
    own = issue(database, "vi", provider_id=library.south)
    text = text_of(own.pdf)
    assert "Trung tâm Y tế lao động Cần Thơ" in text
    assert "Xưởng mộc Hòa Phát" not in text  # another provider's story


def test_a_bad_period_is_refused(database: Database) -> None:
    from models.programme import ProgrammeError

    with pytest.raises(ProgrammeError):
        issue_period = "2027-13"
        with database.session() as session:
            newsletter.newsletter(
                session, period_text=issue_period, language="vi", provider_id=None,
                tz=TZ, today=date(2027, 3, 20), link=LINK,
            )  # fmt: skip


def test_the_leaflet_is_one_a5_page_with_both_photos(
    database: Database, library: Library, tmp_path: Path
) -> None:
    with database.session() as session:
        leaflet = newsletter.leaflet(
            session, improvement_id=library.named, language="vi", link=LINK
        )
    reader = PdfReader(io.BytesIO(leaflet.pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (420, 595)  # A5 in points
    text = text_of(leaflet.pdf)
    assert "Điển hình tốt: Lưu giữ và vận chuyển vật liệu" in text
    assert "Họ đã làm gì" in text and "Kệ ba tầng cho nguyên liệu, lối đi sơn vạch vàng." in text
    assert "9 → 2" in text and "Xưởng mộc Hòa Phát" in text
    assert images_in(leaflet.pdf) >= 2  # before and after (the QR code is vector)
    written = newsletter.write(leaflet, tmp_path / "out")
    assert [p.name for p in written] == ["leaflet-1-vi.html", "leaflet-1-vi.pdf"]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pages_render_to_images(database: Database, library: Library, tmp_path: Path) -> None:
    """The pages as a reader sees them (the PNGs are kept in the test's folder to look at)."""
    publication = issue(database, "vi")
    pdf = tmp_path / "newsletter.pdf"
    pdf.write_bytes(publication.pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(PdfReader(io.BytesIO(publication.pdf)).pages)
    assert all(page.stat().st_size > 10_000 for page in pages)


async def test_staff_get_the_newsletter_as_two_documents(world: World, tmp_path: Path) -> None:
    library = build_library(world.database, tmp_path / "photos")
    await join(world, 801, make_invite(world, Role.STAFF, provider_id=library.north))
    staff = world.user(801)
    ask = await staff.say("/newsletter")
    assert ask is not None and "Bản tin cho tháng nào?" in ask.plain
    await staff.press("03/2027", ask)
    html, pdf, offer = staff.account.messages()[-3:]
    assert "Chưa có ai nhận được bản tin" in offer.plain
    assert html.document_filename == "newsletter-2027-03-vi.html"
    assert pdf.document_filename == "newsletter-2027-03-vi.pdf"
    assert (pdf.document_bytes or b"").startswith(b"%PDF")
    assert "Xưởng mộc Hòa Phát" in text_of(pdf.document_bytes or b"")
    assert "Bản tin theo dõi ATVSLĐ" in (html.document_bytes or b"").decode()

    await join(
        world, 802, make_invite(world, Role.EMPLOYER, enterprise_id=library.enterprises["moc"])
    )
    employer = world.user(802)
    reply = await employer.say("/newsletter")
    assert reply is not None and "chỉ dành cho cán bộ" in reply.plain


def pdftoppm() -> str:
    if found := shutil.which("pdftoppm"):
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "poppler-utils"], capture_output=True)
        if found := shutil.which("pdftoppm"):
            return found
    pytest.skip("poppler-utils is not installed and cannot be installed here")


def inked_rows(pdf: bytes, folder: Path) -> tuple[int, list[int]]:
    """The page's height in pixels and the rows that carry anything but white paper."""
    from PIL import Image

    path = folder / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run([pdftoppm(), "-r", "40", "-gray", "-png", str(path), str(folder / "page")],
                   check=True)  # fmt: skip
    [image] = [Image.open(p).convert("L") for p in sorted(folder.glob("page-*.png"))]
    width, height = image.size
    pixels = image.load()
    rows = [y for y in range(height) if any(pixels[x, y] < 235 for x in range(width))]  # type: ignore[index]
    return height, rows


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("which", ["named", "anonymous", "long"])
def test_the_leaflet_fills_its_a5_page(
    database: Database, library: Library, tmp_path: Path, language: str, which: str
) -> None:
    story = ("Sắp xếp lại kho: " + "kệ ba tầng, lối đi sơn vạch vàng, xe đẩy; " * 30)[:1000]
    improvement = getattr(library, which) if which != "long" else add_improvement(
        database, library.enterprises["moc"], photos=tmp_path / "photos", seed=3,
        description=story,
    )  # fmt: skip
    with database.session() as session:
        leaflet = newsletter.leaflet(
            session, improvement_id=improvement, language=language, link=LINK
        )
    assert len(PdfReader(io.BytesIO(leaflet.pdf)).pages) == 1
    height, rows = inked_rows(leaflet.pdf, tmp_path)
    # From the top margin to the foot of the page, with no blank stretch of more than an
    # eighth of it (the old leaflet left three quarters of the page empty).
    assert rows[0] < 0.08 * height and rows[-1] > 0.92 * height
    gaps = [after - before for before, after in itertools.pairwise(rows)]
    assert max(gaps) < height / 8, (max(gaps), height)
    text = text_of(leaflet.pdf)
    expected = {"vi": ("Điển hình tốt", "Họ đã làm gì"), "en": ("Good practice", "What they did")}
    assert all(words in text for words in expected[language])
    assert images_in(leaflet.pdf) >= 2  # before and after


def test_the_newsletter_chart_is_drawn_for_a_phone(database: Database, library: Library) -> None:
    from PIL import Image

    html = issue(database, "vi").html
    found = re.search(r'<img class="chart" src="data:image/png;base64,([^"]+)"', html)
    assert found is not None
    chart = Image.open(io.BytesIO(base64.b64decode(found[1])))
    # The summary's phone-sized chart (1080 px across, text 12 px at 390), not a 910 px one
    # with 9-point text that a phone shows at 4 px.
    assert chart.width == 1080
    # Counts of improvements are shown as they are, so no note claims small groups are hidden.
    assert "dưới 3" not in html


async def test_staff_broadcast_the_newsletter_as_a_pdf_in_each_readers_language(
    world: World, tmp_path: Path
) -> None:
    from sqlmodel import select

    from models import privacy
    from models.tables import Broadcast, ConsentPurpose, Contact

    library = build_library(world.database, tmp_path / "photos")
    await join(world, 801, make_invite(world, Role.STAFF, provider_id=library.north))
    moc = library.enterprises["moc"]
    await join(world, 802, make_invite(world, Role.EMPLOYER, enterprise_id=moc))
    await join(world, 803, make_invite(world, Role.WORKER, enterprise_id=moc), "English")
    # Another provider's enterprise is not this staff member's audience.
    other = library.enterprises["co_khi"]
    await join(world, 804, make_invite(world, Role.EMPLOYER, enterprise_id=other))
    with world.database.session() as session:
        for person in session.exec(select(Contact).where(Contact.enterprise_id.is_not(None))):
            privacy.grant(
                session, person, ConsentPurpose.TIPS, language=person.language, now=world.clock()
            )
    staff = world.user(801)
    ask = await staff.say("/newsletter")
    await staff.press("03/2027", ask)
    offer = staff.account.messages()[-1]
    assert "cho 2 người của các doanh nghiệp" in offer.plain
    send = staff.account.buttons(offer)[0][1]
    assert send is not None
    await staff.press("📣 Gửi cho 2", offer)
    assert "Đã xếp hàng: bản tin sẽ được gửi tới 2 người" in staff.last_text()
    await staff.press_data(offer.message_id, send)
    assert "đang được gửi" in (staff.answers()[-1] or "")  # pressed twice: sent once
    await world.drain()
    employer, worker = world.user(802), world.user(803)
    vi, en = employer.account.messages()[-1], worker.account.messages()[-1]
    assert vi.document_filename == "newsletter-2027-03-vi.pdf"
    assert en.document_filename == "newsletter-2027-03-en.pdf"
    assert "Xưởng mộc Hòa Phát" in text_of(vi.document_bytes or b"")
    assert "Newsletter March 2027" in (en.caption or "")
    assert not any(m.document_filename for m in world.user(804).account.messages())
    with world.database.session() as session:
        assert session.exec(select(Broadcast)).one().recipients == 2
