"""What oshbot writes, as Zalo can show it: plain text, in pieces of at most 2000 units.

Messages are rendered once, as Telegram HTML (models/outbox.py, models/notices/); Zalo has no
formatting at all, and counts at most 2000 characters a message (UTF-16 units here, see
:func:`bot.zalo.limits.text_length`). The outbox sender and the Zalo driver both send through
these two functions, so a message reads the same whichever of them sends it:

* :func:`plain_text` drops the tags and keeps what they said: a link's address follows its words
  when they differ, list-like line breaks stay, entities become their characters;
* :func:`split` cuts a long text at the last paragraph break, line break or space that fits,
  never inside a word (a single word longer than the limit, such as a long address, is the one
  thing cut where it must be, never inside a character).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.zalo.limits import MAX_TEXT, text_length

__all__ = ["plain_text", "split"]

# Tags after which a line ends, as Telegram shows them.
_BLOCKS = frozenset({"pre", "blockquote", "p", "div"})


class _Plain(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links: list[tuple[str | None, int]] = []  # (href, where its words start)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            href, start = self._links.pop()
            words = "".join(self.parts[start:]).strip()
            if href and href.strip() != words and not href.startswith("tg://"):
                self.parts.append(f" ({href.strip()})" if words else href.strip())
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """The text of a Telegram-HTML message without its tags, for a channel with no formatting."""
    parser = _Plain()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    # Tags that ended a block next to a line break of the text leave no empty lines behind.
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _fits(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in pieces of at most `limit` UTF-16 units, each cut at the last paragraph break,
    line break or space that fits (the whitespace at the cut is dropped); [] for a blank text."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if text_length(rest) <= limit:
            pieces.append(rest)
            break
        room = _fits(rest, limit)
        head = rest[: room + 1]  # a cut right after the part that fits is still a boundary
        cut = -1
        for boundary in ("\n\n", "\n", " "):
            cut = head.rfind(boundary)
            if cut > 0:
                break
        if cut <= 0:  # one word longer than the limit: cut it where it must be
            cut = room
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    return pieces
