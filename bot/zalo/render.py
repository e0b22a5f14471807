"""Journey text for a channel without markup or buttons: plain text, numbered choices, texts
split to fit, and typed answers read back as the choice they name.

The journeys write Telegram's HTML (models/text.py escapes what people typed); Zalo shows text
as typed, so tags go and entities become characters (bot/zalo/text.py, which the outbox's
sender uses too). A choice becomes numbered lines and a
short instruction; the answer is the number or the option's words, with or without diacritics
and in any case. Zalo counts a text's length in UTF-16 units (bot/zalo/limits.py); a long text
is split between words, at a line break where one is near.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.i18n import Translate
from bot.zalo.text import plain_text as plain
from bot.zalo.text import split
from models.journeys.core import Action

__all__ = ["fold", "instruction", "is_number", "match", "numbered", "plain", "split"]


def fold(text: str) -> str:
    """Words for comparing: no diacritics (đ is d), no case, no emoji or punctuation."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn").casefold()
    return " ".join(re.sub(r"[^\w]+", " ", bare).split())


def instruction(_: Translate, count: int) -> str:
    """How to answer `count` numbered options, in the person's language."""
    if count == 1:
        return _("Reply 1 to choose it.")
    if count <= 5:
        numbers = ", ".join(str(n) for n in range(1, count))
        return _("Reply {numbers} or {last}.", numbers=numbers, last=count)
    return _("Reply with a number from 1 to {last}.", last=count)


def numbered(_: Translate, actions: Sequence[Action]) -> str:
    """The options as numbered lines under which the instruction says how to answer."""
    lines = [f"{number}. {action.label}" for number, action in enumerate(actions, start=1)]
    return "\n".join([*lines, "", instruction(_, len(actions))])


_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")
MIN_PREFIX = 3  # characters of folded words that may name an option by its beginning


def is_number(text: str | None) -> bool:
    """Whether a typed answer is an option's number alone ("2", "2.", " 2) ")."""
    return bool(text and _NUMBER.match(text))


def match(text: str | None, actions: Sequence[Action]) -> Action | None:
    """The option a typed answer names: its words (diacritics, case, emoji and punctuation
    aside), its number, or the first words of one option alone; None when it names none, or
    more than one."""
    if not text or not actions:
        return None
    typed = fold(text)
    if not typed:
        return None
    # Words first: options whose labels are numbers ("1" to "5") are named by them.
    found = [action for action in actions if fold(action.label) == typed]
    if len(found) == 1:
        return found[0]
    number = _NUMBER.match(text)
    if number:
        index = int(number.group(1))
        return actions[index - 1] if 1 <= index <= len(actions) else None
    # The first words of one option only ("tai lieu" for "Tài liệu, hình ảnh hướng dẫn").
    if len(typed) >= MIN_PREFIX:
        found = [a for a in actions if f"{fold(a.label)} ".startswith(f"{typed} ")]
        if len(found) == 1:
            return found[0]
    return None
