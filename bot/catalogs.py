"""Keeps the catalogues in step with the code.

    python -m bot.catalogs update              # extract, merge into vi and en, fill English
    python -m bot.catalogs update vi.json      # ... and apply Vietnamese translations {msgid: text}

English msgids are the English text, but the English catalogue still carries every string, so
that the completeness test treats both languages alike and a translator can refine English
wording without touching code. A lock file serialises concurrent runs.
"""

from __future__ import annotations

import copy
import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALE_DIR, catalog_path

ROOT = LOCALE_DIR.parent.parent
POT = LOCALE_DIR / "messages.pot"
SOURCES = ["bot", "handlers", "models", "scheduler", "reports"]


def extract() -> Catalog:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "--no-default-keywords", "-k", "_", "-k", "N_", "--no-location", "--sort-output",
         "--omit-header", "-o", str(POT), *SOURCES],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with POT.open("rb") as handle:
        return read_po(handle)


def merge(template: Catalog, language: str, translations: dict[str, str]) -> list[str]:
    """Updates one catalogue from the template; returns the msgids still untranslated."""
    path = catalog_path(language)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    # update() adopts the template's message objects: give each language its own copy, or
    # filling English would fill Vietnamese too.
    catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    missing = []
    for message in catalog:
        if not message.id:
            continue
        if message.id in translations:
            message.string = translations[message.id]
        elif language == "en" and not message.string:
            message.string = message.id
        if not message.string:
            missing.append(str(message.id))
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, ignore_obsolete=True)
    return missing


def update(vietnamese: dict[str, str]) -> list[str]:
    with (LOCALE_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        template = extract()
        merge(template, "en", {})
        return merge(template, "vi", vietnamese)


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "update":
        print(__doc__)
        return 2
    translations = json.loads(Path(argv[1]).read_text(encoding="utf-8")) if len(argv) > 1 else {}
    missing = update(translations)
    for msgid in missing:
        print(f"untranslated (vi): {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
