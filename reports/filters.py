"""The summary's period and filters typed as words after a command, for a channel without the
summary panel's buttons (Zalo: "/summary quý này Đà Nẵng dệt may"): the same choices as
Telegram's panel (handlers/summary.py), read into the same `Scope` and period key.

Each name is read in Vietnamese or English, with or without diacritics and in any case: a
period by its name or its number in the panel's order ("quý này", "last month", "4"), a province
or city as `content.find_province` reads it (old names and aliases too: "tp hcm", "Quảng Nam"),
a sector and a technical area by their name, short name or code, as the spreadsheet import
reads them (models/imports.py). The words may come in any order; a few linking words ("ở",
"tại", "ngành", "và", "in", "and") are passed over. Words that name nothing, and a kind named
twice, are returned for the channel to say so.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from bot.i18n import LANGUAGES, translator
from models import content
from models.imports import area_index, sector_index
from reports.figures import RELATIVE_PERIODS, Scope
from reports.text import period_labels

PERIOD, PROVINCE, SECTOR, AREA = "period", "province", "sector", "area"
# Passed over between names: "ở Đà Nẵng", "ngành dệt may", "in Hue".
LINKING_WORDS = frozenset({"o", "tai", "nganh", "va", "and", "in"})
LONGEST = 6  # words in the longest name ("thanh pho ho chi minh")


@dataclass(frozen=True)
class Typed:
    """What the words chose (kind -> the period key or the content code), what named nothing
    (the words as typed) and which kinds were named more than once."""

    chosen: dict[str, str] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()
    twice: tuple[str, ...] = ()

    @property
    def understood(self) -> bool:
        return not self.unknown and not self.twice

    @property
    def period(self) -> str | None:
        return self.chosen.get(PERIOD)

    def scope(self, base: Scope | None = None) -> Scope:
        """`base` (the whole programme) narrowed by the province, sector and area chosen."""
        base = base or Scope()
        return Scope(
            provider_id=base.provider_id,
            province_code=self.chosen.get(PROVINCE, base.province_code),
            sector_code=self.chosen.get(SECTOR, base.sector_code),
            area_code=self.chosen.get(AREA, base.area_code),
        )


@functools.cache
def _names() -> dict[str, tuple[str, str]]:
    """Folded name -> (kind, code) of the periods, sectors and areas (provinces: find_province),
    built once: the content files and the catalogues do not change while oshbot runs."""
    names: dict[str, tuple[str, str]] = {}
    for number, key in enumerate(RELATIVE_PERIODS, start=1):
        names[str(number)] = (PERIOD, key)
    for language in LANGUAGES:
        for key, label in period_labels(translator(language)).items():
            names[content.fold(label)] = (PERIOD, key)
    for text, sector in sector_index().items():
        if sector is not None:
            names.setdefault(text, (SECTOR, sector))
    for text, area in area_index().items():
        names.setdefault(text, (AREA, area))
    return names


def _named(phrase: str, names: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    found = names.get(phrase)
    if found is not None:
        return found
    province = content.find_province(phrase)
    return (PROVINCE, province.code) if province is not None else None


def read(text: str | None) -> Typed:
    """The period and filters named by `text` (the words after the command)."""
    words = (text or "").split()
    # Each folded token with the typed word it comes from ("TP.HCM" gives "tp" and "hcm").
    tokens = [
        (token, index) for index, word in enumerate(words) for token in content.fold(word).split()
    ]
    names = _names()
    chosen: dict[str, str] = {}
    unknown: list[int] = []
    twice: list[str] = []
    at = 0
    while at < len(tokens):
        for end in range(min(len(tokens), at + LONGEST), at, -1):
            found = _named(" ".join(token for token, _index in tokens[at:end]), names)
            if found is not None:
                kind, code = found
                if kind in chosen and chosen[kind] != code and kind not in twice:
                    twice.append(kind)
                chosen[kind] = code
                at = end
                break
        else:
            token, index = tokens[at]
            if token not in LINKING_WORDS and index not in unknown:
                unknown.append(index)
            at += 1
    return Typed(chosen, tuple(words[index] for index in unknown), tuple(twice))
