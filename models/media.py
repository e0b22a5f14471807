"""Photos people send, made safe once when received; photos read back, never trusted.

A photo sent as a file keeps its EXIF and XMP, and those carry the GPS position of the
workshop, the time and the phone; a crafted file can be a decompression bomb (a few hundred
bytes that claim billions of pixels). So every received photo goes through `reencode`: it is
decoded under a pixel limit, verified, turned upright by its EXIF orientation, scaled down to
at most `LONG_SIDE_MAX` pixels on its long side, and written anew from its pixels alone (JPEG;
PNG when it has transparency, which JPEG would lose). Nothing of the original file survives.

Publications (newsletter, leaflet, website, good-practice cards) read stored photos through
`publishable` and `usable`, which never raise: a photo stored by an older version, or damaged
on disk, costs that one image and a line in the log, never the publication.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont, ImageOps

from models.files import write_private
from models.programme import ProgrammeError

log = logging.getLogger(__name__)

# A JPEG is decoded at a reduced scale (`draft`), so even a 108-megapixel phone camera's photo
# sent as a file costs a few megabytes; other formats decode in full, so they get less.
JPEG_PIXELS_MAX = 120_000_000
PIXELS_MAX = 40_000_000
# Pillow's own bomb check, for every image this process opens (including the publications').
Image.MAX_IMAGE_PIXELS = JPEG_PIXELS_MAX
LONG_SIDE_MAX = 2048  # sharp on any phone and in print at the sizes publications use
JPEG_QUALITY = 85
FORMATS = frozenset({"JPEG", "MPO", "PNG"})  # MPO: the multi-picture JPEG of some cameras


@dataclass(frozen=True)
class Photo:
    data: bytes
    mime_type: str  # image/jpeg or image/png
    width: int
    height: int

    @property
    def suffix(self) -> str:
        return ".png" if self.mime_type == "image/png" else ".jpg"


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if image.format not in FORMATS:
        raise ProgrammeError("photo_type")
    limit = JPEG_PIXELS_MAX if image.format in ("JPEG", "MPO") else PIXELS_MAX
    if image.width * image.height > limit or min(image.size) < 1:
        raise ProgrammeError("photo_type")
    return image


def _decode(data: bytes, long_side: int) -> Image.Image:
    _open(data).verify()  # checks the structure (PNG chunk checksums) without decoding it
    image = _open(data)  # verify() leaves the image unusable: open it again
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", (long_side, long_side))
    image.load()
    return image


def reencode(data: bytes, *, long_side: int = LONG_SIDE_MAX) -> Photo:
    """The photo as pixels only: upright, at most `long_side` on its long side, no metadata.
    Anything that is not a decodable JPEG or PNG within the pixel limits is refused with
    ProgrammeError("photo_type")."""
    try:
        image = _decode(data, long_side)
        upright = ImageOps.exif_transpose(image)
        transparent = upright.mode in ("RGBA", "LA", "PA") or (
            upright.mode == "P" and "transparency" in upright.info
        )
        upright = upright.convert("RGBA" if transparent else "RGB")
        upright.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
        # A new image from the pixels alone: EXIF, XMP, comments and text chunks stay behind
        # (Pillow would otherwise carry some of them over from `info` when saving).
        clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
        buffer = io.BytesIO()
        if transparent:
            clean.save(buffer, "PNG", optimize=True)
        else:
            clean.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    except ProgrammeError:
        raise
    # Pillow reports bad input through many types (OSError, SyntaxError, ValueError,
    # DecompressionBombError, struct.error, EOFError...): whatever it is, not a usable photo.
    except Exception as error:
        raise ProgrammeError("photo_type") from error
    return Photo(
        buffer.getvalue(),
        "image/png" if transparent else "image/jpeg",
        clean.width,
        clean.height,
    )


def save(photo: Photo, target: Path) -> Path:
    """Writes the photo owner-only, atomically; the suffix follows its type."""
    return write_private(target.with_suffix(photo.suffix), photo.data)


def publishable(path: str | Path | None, *, long_side: int = LONG_SIDE_MAX) -> Photo | None:
    """A stored photo, re-encoded for a publication; None (and a warning in the log) when the
    file is missing or is not a usable image, so that the publication goes on without it."""
    if not path:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        log.warning("photo %s left out: %s", path, error)
        return None
    try:
        return reencode(data, long_side=long_side)
    except ProgrammeError as error:
        log.warning("photo %s left out: not a usable image (%r)", path, error.__cause__)
        return None


def usable(path: str | Path | None) -> bool:
    """Whether a stored photo can be sent or printed (see `publishable`)."""
    return publishable(path) is not None


def qr_png(link: str) -> bytes:
    """A QR code for printing on leaflets and showing at workshops."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def invite_qr_png(link: str, zalo_chat_url: str | None, code: str) -> bytes:
    """An invite's QR code for print: the Telegram link's alone, or, where the bot has a Zalo
    chat link (OSHBOT_ZALO_CHAT_URL), Telegram's and Zalo's side by side, each named under it,
    with the code to type in the Zalo chat printed under Zalo's (Zalo has no deep links: its
    QR code opens the chat, and the person types the code there). Without a Telegram link (a
    bot on Zalo alone), Zalo's alone."""
    if not zalo_chat_url:
        return qr_png(link)
    cells = [(link, "Telegram")] if link.startswith("https://") else []
    cells.append((zalo_chat_url, "Zalo"))
    pictures = [_qr_image(target) for target, _ in cells]
    side = max(p.width for p in pictures)
    gap, label = side // 8, max(24, side // 10)
    width = side * len(cells) + gap * (len(cells) - 1)
    canvas = Image.new("RGB", (width, side + label * 3), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=label * 0.8)
    bold = ImageFont.load_default(size=label)
    for index, (picture, (_, name)) in enumerate(zip(pictures, cells, strict=True)):
        left = index * (side + gap)
        offset = (side - picture.width) // 2
        canvas.paste(picture, (left + offset, offset))
        middle = left + side // 2
        draw.text((middle, side), name, fill="black", font=font, anchor="ma")
    draw.text((width - side // 2, side + label * 1.2), code, fill="black", font=bold, anchor="ma")
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def _qr_image(link: str) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=8, border=4)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")
