"""Signed links to files under the data folder, served by `oshbot serve` at /files/<token>.

A channel that cannot carry a file gets a link instead: Zalo sends a photo only by public URL
and has no document upload, and an export too large for Telegram's 50 MB can still be fetched.
The token names the file (relative to the data folder) and when the link expires, signed with
the web application's key (itsdangerous); nothing is stored, every worker can check it, and a
path that leaves the data folder, a forged or an expired token opens nothing.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from models.programme import ProgrammeError

SALT = "oshbot-file-link"
DOWNLOADS = "downloads"  # under the media folder: files kept only to be fetched by a link
LIFETIME = timedelta(days=2)
PREFIX = "/files/"


def file_link(
    base_url: str, secret: str, data_dir: Path, path: Path, *, now: datetime,
    lifetime: timedelta = LIFETIME,
) -> str:  # fmt: skip
    """The public address of `path` (a file under `data_dir`) until `now + lifetime`."""
    relative = path.resolve().relative_to(data_dir.resolve())
    expires = int((now + lifetime).timestamp())
    token = URLSafeSerializer(secret, salt=SALT).dumps([str(relative), expires])
    return base_url.rstrip("/") + PREFIX + token


def linked_file(token: str, secret: str, data_dir: Path, *, now: datetime) -> Path:
    """The file a token names; ProgrammeError "link_invalid", "link_expired" or
    "link_missing" otherwise."""
    try:
        relative, expires = URLSafeSerializer(secret, salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError) as error:
        raise ProgrammeError("link_invalid") from error
    if not isinstance(relative, str) or not isinstance(expires, int):
        raise ProgrammeError("link_invalid")
    if now.timestamp() > expires:
        raise ProgrammeError("link_expired")
    root = data_dir.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise ProgrammeError("link_missing")
    return target


def download_folder(media_root: Path, *, now: datetime) -> Path:
    """A new folder for files kept only to be fetched by a link; its name says until when."""
    expires = int((now + LIFETIME).timestamp())
    return media_root / DOWNLOADS / f"{expires}-{uuid.uuid4().hex}"


def forget_downloads(media_root: Path, *, now: datetime) -> int:
    """Deletes the download folders whose links have expired (the retention job)."""
    folder = media_root / DOWNLOADS
    removed = 0
    for entry in folder.iterdir() if folder.is_dir() else ():
        expires = entry.name.split("-", 1)[0]
        if entry.is_dir() and expires.isdigit() and int(expires) < now.timestamp():
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed
