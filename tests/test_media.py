"""Received photos are re-encoded once (models/media.py): decompression bombs refused, EXIF and
its GPS position stripped, orientation honoured; publications survive a bad stored image."""

from __future__ import annotations

import io
import logging
import struct
import zlib
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import ExifTags, Image

from models import goodpractice, media
from models.db import Database
from models.notices import cards
from models.programme import ProgrammeError
from reports import newsletter
from reports.site import build_site
from tests.conftest import World
from tests.factories import ASK_AFTER, ASK_BEFORE, answer_until, build_library, cast, expect, report

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LINK = "https://t.me/oshbot_sandbox_bot"


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG that claims 10 billion pixels in about a hundred bytes: the first rows of zeros,
    compressed; a decoder that believed the header would reserve gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width // 8 + 1) * 8, 9)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def big_blank_png() -> bytes:
    """A real, decodable all-zero PNG of 81 million pixels (about 10 kB): decoded in colour it
    would take a quarter of a gigabyte."""
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def phone_photo(size: tuple[int, int] = (300, 200), orientation: int = 6) -> bytes:
    """A JPEG as a phone sends it as a file: EXIF with the workshop's GPS position, the phone's
    make, an orientation tag, and XMP that repeats the position."""
    image = Image.new("RGB", size, "#2f6f4e")
    image.paste((200, 30, 30), (0, 0, size[0] // 2, size[1]))  # the left half red
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (10.0, 45.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (106.0, 40.0, 12.0),
    }
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">exif:GPSLatitude 10,45.5N</x:xmpmeta>'
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, xmp=xmp, quality=90)
    return buffer.getvalue()


# -- the domain ------------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    bomb = png_bomb()
    assert len(bomb) < 300
    for data in (bomb, big_blank_png()):
        with pytest.raises(ProgrammeError) as error:
            media.reencode(data)
        assert error.value.code == "photo_type"


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", phone_photo()[:400], b"GIF89a" + b"\0" * 40],
    ids=["empty", "text", "truncated-jpeg", "gif"],
)
def test_what_is_not_a_decodable_jpeg_or_png_is_refused(data: bytes) -> None:
    with pytest.raises(ProgrammeError) as error:
        media.reencode(data)
    assert error.value.code == "photo_type"


def test_exif_and_xmp_with_the_gps_position_are_stripped_and_orientation_honoured() -> None:
    original = phone_photo()
    with Image.open(io.BytesIO(original)) as sent:
        assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test photo does carry it
    photo = media.reencode(original)
    assert photo.mime_type == "image/jpeg" and photo.suffix == ".jpg"
    for marker in (b"Exif", b"GPS", b"PhoneMaker", b"xmpmeta"):
        assert marker not in photo.data, marker
    with Image.open(io.BytesIO(photo.data)) as kept:
        assert dict(kept.getexif()) == {}
        assert "exif" not in kept.info and "xmp" not in kept.info
        # Orientation 6 means "turn 90° clockwise to view": the stored photo is upright, so
        # the red half that was on the left is now on top.
        assert kept.size == (200, 300) == (photo.width, photo.height)
        red, green, _blue = kept.convert("RGB").getpixel((100, 40))  # type: ignore[misc]
        assert red > 150 and green < 80


def test_large_photos_are_scaled_down_and_transparency_keeps_png() -> None:
    large = media.reencode(phone_photo(size=(4000, 3000), orientation=1))
    assert (large.width, large.height) == (2048, 1536)
    buffer = io.BytesIO()
    Image.new("RGBA", (640, 480), (255, 0, 0, 0)).save(buffer, "PNG")
    clear = media.reencode(buffer.getvalue())
    assert clear.mime_type == "image/png" and clear.suffix == ".png"
    with Image.open(io.BytesIO(clear.data)) as kept:
        assert kept.mode == "RGBA" and kept.getpixel((0, 0))[3] == 0  # type: ignore[index]


def test_saved_photos_are_owner_only(tmp_path: Path) -> None:
    target = media.save(media.reencode(phone_photo()), tmp_path / "media" / "improvements" / "1")
    assert target.name == "1.jpg"
    assert target.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "media").stat().st_mode & 0o777 == 0o700


# -- the report's photo step -----------------------------------------------------------------


async def test_the_report_refuses_a_bomb_and_strips_the_gps_of_a_photo_sent_as_a_file(
    world: World,
) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p, ASK_BEFORE)
    await p.send("document", png_bomb(), "bomb.png", "image/png")
    answer = "\n".join(p.texts()[-2:])
    assert "vui lòng gửi ảnh (JPEG hoặc PNG)" in answer and ASK_BEFORE in p.last_text()
    assert report(world).photo_before_path is None
    await expect(p, await p.send("document", phone_photo(), "xuong.jpg", "image/jpeg"), ASK_AFTER)
    stored = (world.settings.media_dir / report(world).photo_before_path).read_bytes()  # type: ignore[operator]
    assert b"GPS" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as kept:
        assert kept.size == (200, 300)


# -- publications ----------------------------------------------------------------------------


def test_publications_skip_a_bad_stored_image_and_still_build(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Photos stored before re-encoding existed, or damaged on disk: the bomb and a truncated
    JPEG. The newsletter, the leaflet, the website and the broadcast card are made without
    them, and the log says which photo was left out."""
    library = build_library(database, tmp_path / "photos")
    with database.session() as session:
        named = goodpractice.entry(session, library.named)
        anonymous = goodpractice.entry(session, library.anonymous)
    assert named is not None and anonymous is not None
    Path(named.photo_after_path).write_bytes(png_bomb())  # type: ignore[arg-type]
    Path(named.photo_before_path).write_bytes(phone_photo()[:500])  # type: ignore[arg-type]
    caplog.set_level(logging.WARNING, logger="models.media")
    with database.session() as session:
        issue = newsletter.newsletter(
            session, period_text="2027-03", language="vi", provider_id=None,
            tz=TZ, today=date(2027, 3, 20), link=LINK,
        )  # fmt: skip
        leaflet = newsletter.leaflet(
            session, improvement_id=library.named, language="vi", link=LINK
        )
        built = build_site(session, tmp_path / "site", tz=TZ, today=date(2027, 3, 20), link=LINK)
    assert issue.pdf.startswith(b"%PDF") and leaflet.pdf.startswith(b"%PDF")
    assert "Kệ ba tầng cho nguyên liệu" in leaflet.html
    assert "data:image/jpeg;base64," in issue.html  # the other story keeps its photos
    assert built.pages
    assert sorted(p.name for p in (tmp_path / "site" / "media").iterdir()) == [
        f"{library.anonymous}-after.jpg",
        f"{library.anonymous}-before.jpg",
    ]
    assert cards.card_photo(named) is None
    assert cards.renderer(named, None, None)("vi").photo_path is None
    assert cards.card_photo(anonymous) == anonymous.photo_after_path
    assert any(named.photo_after_path in r.getMessage() for r in caplog.records)
