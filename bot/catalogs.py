"""Keeps the catalogues in step with the code: `make messages` extracts the strings with Babel,
merges them into `vi` and `en`, and runs this to give English its source text.

English msgids are the English text, but the English catalogue still carries every string, so
that the completeness test treats both languages alike and a translator can refine English
wording without touching code.
"""

from __future__ import annotations

from babel.messages.pofile import read_po, write_po

from bot.i18n import catalog_path


def fill_english() -> int:
    path = catalog_path("en")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    filled = 0
    for message in catalog:
        if message.id and not message.string:
            message.string = message.id
            filled += 1
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, omit_header=False)
    return filled


if __name__ == "__main__":
    print(f"English strings filled: {fill_english()}")
