"""Telegram HTML text: escaping, Telegram's way of measuring it, and cutting it safely.

Telegram measures a message (4096) and a caption (1024) after parsing the HTML, in UTF-16 code
units: tags do not count, an entity such as ``&amp;`` counts as the one character it stands for,
and an emoji outside the Basic Multilingual Plane (most of them) counts twice. Counting Python
characters let an emoji-heavy caption through that Telegram then refused; cutting the HTML with
a slice left half a tag (``<b``) or half an entity (``&am``) that Telegram refuses as well, for
every recipient. `truncate_html` is the one way oshbot shortens HTML.
"""

from __future__ import annotations

import html
import re

MESSAGE_LIMIT = 4096  # a text message, in UTF-16 code units after parsing
CAPTION_LIMIT = 1024  # a photo's or a document's caption
ELLIPSIS = "…"

# A tag, an entity, or one character of text.
_ATOM = re.compile(r"<[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|[\s\S]")
_TAG_NAME = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9-]*)")


def esc(text: object) -> str:
    """User-supplied text inside Telegram HTML."""
    return html.escape(str(text), quote=False)


CHECKED, UNCHECKED = "✅", "⬜"


def check(on: bool) -> str:
    """The box in front of a checklist button's word: ticked or empty, never a bare mark whose
    meaning the reader has to guess."""
    return f"{CHECKED if on else UNCHECKED} "


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def visible_len(markup: str) -> int:
    """What Telegram counts of an HTML text: the parsed text, in UTF-16 code units."""
    return sum(_width(atom) for atom in _ATOM.findall(markup))


def _width(atom: str) -> int:
    if atom.startswith("<") and len(atom) > 1:
        return 0
    if atom.startswith("&") and len(atom) > 1:
        return utf16_len(html.unescape(atom))
    return utf16_len(atom)


def truncate_html(markup: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """`markup` if Telegram counts at most `limit` of it; otherwise its beginning, cut at a word
    boundary (never inside a tag or an entity), followed by `ellipsis`, with the tags left open
    closed again, at most `limit` long as Telegram counts."""
    if visible_len(markup) <= limit:
        return markup
    if limit < utf16_len(ellipsis):
        return ""
    atoms = _ATOM.findall(markup)
    room = limit - utf16_len(ellipsis)
    used = 0
    end = 0  # atoms[:end] fit
    space = -1  # the last whitespace atom that fits, where a word ends
    for index, atom in enumerate(atoms):
        width = _width(atom)
        if used + width > room:
            if atom.isspace():
                space = index  # the last word that fits is whole
            break
        used += width
        end = index + 1
        if width and atom.isspace():
            space = index
    # A word boundary, unless that loses more than half of what fits (one very long word).
    if space > 0 and sum(_width(a) for a in atoms[:space]) >= room // 2:
        end = space
    kept = atoms[:end]
    while kept and (_width(kept[-1]) and kept[-1].isspace()):
        kept.pop()
    opened: list[str] = []
    for atom in kept:
        tag = _tag(atom)
        if tag is None:
            continue
        closing, name = tag
        if not closing:
            opened.append(name)
        elif name in opened:
            # Telegram's tags nest; a closing tag closes its own and whatever was left inside.
            del opened[len(opened) - 1 - opened[::-1].index(name) :]
    # An opening tag with nothing after it would only wrap the ellipsis.
    while kept and (tag := _tag(kept[-1])) is not None and not tag[0]:
        kept.pop()
        opened.pop()
    closing_tags = "".join(f"</{name}>" for name in reversed(opened))
    return "".join(kept) + ellipsis + closing_tags


def _tag(atom: str) -> tuple[bool, str] | None:
    """(is closing, name) of a tag atom; None for text and entities."""
    if not atom.startswith("<") or len(atom) == 1:
        return None
    found = _TAG_NAME.match(atom)
    if found is None:
        return None
    return found.group(1) == "/", found.group(2).lower()
