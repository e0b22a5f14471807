"""Files the bot writes: readable by the owner only, whatever the umask.

The database, the data folder (photos of workshops, invite QR codes, exports) and the QR codes
hold personal data or a live way into the programme. Folders are created 0700 and files 0600
explicitly, because `mkdir(mode=...)` and `open()` are filtered through the process umask, and
the usual umask 022 would leave them readable by every account on the server.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """`mkdir -p`, where each folder it creates is 0700; existing folders are left alone."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, DIR_MODE)
    return path


def write_private(target: Path, data: bytes) -> Path:
    """Writes `data` as a 0600 file, beside and renamed, so that a crash never leaves half a
    file under its name (its folder is created 0700 when missing)."""
    private_dir(target.parent)
    partial = target.with_name(target.name + ".part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)  # the file may have existed with another mode
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def create_private_file(path: Path) -> None:
    """Creates an empty 0600 file unless it exists, so that a program that creates it lazily
    (SQLite) inherits the owner-only mode instead of the umask's."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(descriptor)


def tighten(path: Path) -> bool:
    """Removes group and other access from an existing file or folder (made by an older
    version, or by hand); returns whether anything changed. A warning says so in the log."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if not mode & 0o077:
        return False
    os.chmod(path, mode & ~0o077)
    log.warning("%s was readable by other accounts (mode %o); now owner-only", path, mode)
    return True


def secure_data_dir(path: Path) -> Path:
    """The data folder (photos, invite QR codes, exports): created 0700, or made owner-only
    when an older version or a hand-made folder left it open to other accounts."""
    private_dir(path)
    tighten(path)
    return path
