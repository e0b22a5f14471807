"""The programme's content library: technical areas, sectors, provinces, tips, questionnaires.

Content is data that programme staff edit, not code: it lives in TOML files under `content/`
(see `content/README.md` for the schema) and is read once per process. Every item carries its
Vietnamese and English text; `name(lang)`-style accessors fall back to Vietnamese, the
programme's default language, so an unknown Telegram language code never leaves a blank.

Lookups by code return None for an unknown code, because codes arrive from stored rows and from
callback data that may predate a content change; the caller decides how to answer.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

AREA_CODES = ("storage", "workstation", "machine", "environment", "welfare", "organisation")
QUESTION_TYPES = frozenset({"scale", "single", "multi", "yesno", "number", "text"})
CHOICE_TYPES = frozenset({"single", "multi"})
# Option lists that only exist at run time (for example the good practices shown at one event);
# the survey engine fills them in, so the loader only checks the name is one it knows.
OPTION_SOURCES = frozenset({"event_good_practices"})
REQUIRED_QUESTIONNAIRES = ("employer", "worker", "event_reaction")
YES, NO = "yes", "no"
ALL_SECTORS = "all"

PROVINCE_COUNT = 34  # Resolution 202/2025/QH15, in force since 1 July 2025
CITY_COUNT = 6
MIN_TIPS_PER_AREA = 5
AREA_EXAMPLES = (3, 5)
SHORT_LABEL_MAX = 24  # keeps two buttons side by side readable on a phone
OPTION_LABEL_MAX = 40
KINDS_PER_AREA = (4, 8)  # kinds of improvement per technical area (kinds.toml)
TIP_TITLE_MAX = 200  # Tip.title_* column
TIP_BODY_MAX = 600
CODE_MAX = 40  # the *_code and question_id columns
TIP_CODE_MAX = 60  # Tip.code column
DEFAULT_TEXT_MAX_LENGTH = 500
TEXT_MAX_LENGTH_LIMIT = 1000  # SurveyAnswer.value_text column

PROVINCE_KINDS = frozenset({"city", "province"})
REGIONS = frozenset({"north", "central", "south"})

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_ALIAS = re.compile(r"^[a-z0-9 ]+$")
# What people put in front of a province name; stripped only when the full text did not match,
# so that a name which itself starts with one of these words still wins.
_PROVINCE_PREFIXES = ("thanh pho ", "tinh ", "tp ", "city of ", "province of ")
_PROVINCE_SUFFIXES = (" city", " province")


class ContentError(ValueError):
    """A content file cannot be read at all (bad TOML, wrong value type)."""


def normalise_language(lang: str | None) -> str:
    """Map a Telegram `language_code` ("en-GB", "vi") to a language the content has."""
    if not lang:
        return DEFAULT_LANGUAGE
    base = lang.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def _pick(vi: str, en: str, lang: str | None) -> str:
    # An English text left empty by an editor falls back rather than showing nothing.
    return en if normalise_language(lang) == "en" and en else vi


def fold(text: str) -> str:
    """Lower-case ASCII form for matching what people type: "Đà Nẵng" and "da-nang" -> "da nang".

    Đ/đ is a letter of its own in Unicode (not D plus a mark), so it is mapped by hand before
    the marks are stripped.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", bare).split())


# --------------------------------------------------------------------------------------------
# Items


@dataclass(frozen=True)
class Area:
    code: str
    emoji: str
    name_vi: str
    name_en: str
    short_vi: str
    short_en: str
    description_vi: str
    description_en: str
    examples_vi: tuple[str, ...]
    examples_en: tuple[str, ...]

    def name(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.name_vi, self.name_en, lang)

    def short(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.short_vi, self.short_en, lang)

    def label(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        """Button text: emoji and short name."""
        return f"{self.emoji} {self.short(lang)}".strip()

    def description(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.description_vi, self.description_en, lang)

    def examples(self, lang: str | None = DEFAULT_LANGUAGE) -> tuple[str, ...]:
        if normalise_language(lang) == "en" and self.examples_en:
            return self.examples_en
        return self.examples_vi


@dataclass(frozen=True)
class ImprovementKind:
    """A kind of improvement inside a technical area, after the ILO checkpoints (kinds.toml)."""

    code: str
    area: str
    name_vi: str
    name_en: str
    description_vi: str
    description_en: str

    def name(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.name_vi, self.name_en, lang)

    def description(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.description_vi, self.description_en, lang)


@dataclass(frozen=True)
class Sector:
    code: str
    emoji: str
    name_vi: str
    name_en: str
    short_vi: str
    short_en: str

    def name(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.name_vi, self.name_en, lang)

    def short(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.short_vi, self.short_en, lang)

    def label(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return f"{self.emoji} {self.short(lang)}".strip()


@dataclass(frozen=True)
class Province:
    code: str
    name_vi: str
    name_en: str
    kind: str  # "city" (centrally-run) or "province"
    region: str  # "north", "central" or "south"
    aliases: tuple[str, ...]
    # Provinces merged into this one on 1 July 2025; people keep typing the old names.
    merged_from: tuple[str, ...]

    def name(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.name_vi, self.name_en, lang)

    @property
    def is_city(self) -> bool:
        return self.kind == "city"

    def match_keys(self) -> frozenset[str]:
        """Every folded form under which `find_province` finds this province."""
        raw = [self.code, self.name_vi, self.name_en, *self.aliases, *self.merged_from]
        keys: set[str] = set()
        for text in raw:
            key = fold(text)
            if key:
                keys.add(key)
                keys.add(key.replace(" ", ""))
        return frozenset(keys)


@dataclass(frozen=True)
class Tip:
    code: str
    area: str
    sectors: tuple[str, ...]  # sector codes, or ("all",)
    title_vi: str
    title_en: str
    body_vi: str
    body_en: str

    def title(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.title_vi, self.title_en, lang)

    def body(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.body_vi, self.body_en, lang)

    def suits(self, sector_code: str | None) -> bool:
        """Whether the tip fits an enterprise of this sector (unknown sector: general tips only)."""
        return ALL_SECTORS in self.sectors or (
            sector_code is not None and sector_code in self.sectors
        )


@dataclass(frozen=True)
class Option:
    code: str
    vi: str
    en: str
    # Choosing it clears the other choices of a multi question ("none", "not yet").
    exclusive: bool = False

    def label(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.vi, self.en, lang)


def _answer_codes(answer: object) -> set[str]:
    """An answer as the set of codes a condition compares against."""
    if answer is None:
        return set()
    if isinstance(answer, bool):  # before int: bool is an int subclass
        return {YES if answer else NO}
    if isinstance(answer, str | int):
        return {str(answer)}
    if isinstance(answer, Iterable):
        return {str(item) for item in answer}
    return {str(answer)}


@dataclass(frozen=True)
class Condition:
    """Ask a question only when an earlier answer is one of `values`."""

    question: str
    values: tuple[str, ...]

    def matches(self, answer: object) -> bool:
        # A multi answer matches when any chosen code is listed; a skipped answer never does.
        return bool(_answer_codes(answer) & set(self.values))


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text_vi: str
    text_en: str
    options: tuple[Option, ...] = ()
    options_from: str | None = None
    min: int | None = None
    max: int | None = None
    low_vi: str = ""
    low_en: str = ""
    high_vi: str = ""
    high_en: str = ""
    max_length: int = DEFAULT_TEXT_MAX_LENGTH
    optional: bool = False
    ask_if: Condition | None = None
    # The same question put to a worker, where the plain text speaks to the enterprise (the
    # event reaction survey goes to employers, partners and workers alike).
    worker_text_vi: str = ""
    worker_text_en: str = ""

    def text(self, lang: str | None = DEFAULT_LANGUAGE, *, worker: bool = False) -> str:
        if worker and self.worker_text_vi and self.worker_text_en:
            return _pick(self.worker_text_vi, self.worker_text_en, lang)
        return _pick(self.text_vi, self.text_en, lang)

    def low(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.low_vi, self.low_en, lang)

    def high(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.high_vi, self.high_en, lang)

    def option(self, code: str) -> Option | None:
        return next((option for option in self.options if option.code == code), None)

    def should_ask(self, answers: Mapping[str, object]) -> bool:
        """Whether to ask this question, given the answers so far (question id -> value).

        Values are option codes (str) for single, lists of codes for multi, "yes"/"no" or bool
        for yesno, int for scale and number. A condition on a question that was skipped or not
        asked is false, so a follow-up never appears without the answer it follows up.
        """
        if self.ask_if is None:
            return True
        return self.ask_if.matches(answers.get(self.ask_if.question))


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    title_vi: str
    title_en: str
    intro_vi: str
    intro_en: str
    thanks_vi: str
    thanks_en: str
    questions: tuple[Question, ...]

    def title(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.title_vi, self.title_en, lang)

    def intro(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.intro_vi, self.intro_en, lang)

    def thanks(self, lang: str | None = DEFAULT_LANGUAGE) -> str:
        return _pick(self.thanks_vi, self.thanks_en, lang)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(frozen=True)
class Content:
    areas: tuple[Area, ...]
    sectors: tuple[Sector, ...]
    provinces: tuple[Province, ...]
    tips: tuple[Tip, ...]
    questionnaires: Mapping[str, Questionnaire]
    # Folded text -> provinces it names; more than one entry is a content error.
    province_keys: Mapping[str, tuple[Province, ...]]
    kinds: tuple[ImprovementKind, ...] = ()

    @functools.cached_property
    def _area_index(self) -> dict[str, Area]:
        return {item.code: item for item in self.areas}

    @functools.cached_property
    def _sector_index(self) -> dict[str, Sector]:
        return {item.code: item for item in self.sectors}

    @functools.cached_property
    def _province_index(self) -> dict[str, Province]:
        return {item.code: item for item in self.provinces}

    @functools.cached_property
    def _kind_index(self) -> dict[str, ImprovementKind]:
        return {item.code: item for item in self.kinds}

    def area(self, code: str | None) -> Area | None:
        return self._area_index.get(code or "")

    def kind(self, code: str | None) -> ImprovementKind | None:
        return self._kind_index.get(code or "")

    def sector(self, code: str | None) -> Sector | None:
        return self._sector_index.get(code or "")

    def province(self, code: str | None) -> Province | None:
        return self._province_index.get(code or "")


# --------------------------------------------------------------------------------------------
# Loading


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise ContentError(f"{path.name}: file missing") from error
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"{path.name}: {error}") from error


def _text(table: Mapping[str, Any], key: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ContentError(f"{key} must be text, got {value!r}")
    return value


def _texts(table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ContentError(f"{key} must be a list of texts, got {value!r}")
    return tuple(value)


def _int(table: Mapping[str, Any], key: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContentError(f"{key} must be a whole number, got {value!r}")
    return value


def _tables(data: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ContentError(f"{where}: [[{key}]] must be a list of tables")
    return value


def _area(row: Mapping[str, Any]) -> Area:
    return Area(
        code=_text(row, "code"),
        emoji=_text(row, "emoji"),
        name_vi=_text(row, "name_vi"),
        name_en=_text(row, "name_en"),
        short_vi=_text(row, "short_vi"),
        short_en=_text(row, "short_en"),
        description_vi=_text(row, "description_vi"),
        description_en=_text(row, "description_en"),
        examples_vi=_texts(row, "examples_vi"),
        examples_en=_texts(row, "examples_en"),
    )


def _kind(row: Mapping[str, Any]) -> ImprovementKind:
    return ImprovementKind(
        code=_text(row, "code"),
        area=_text(row, "area"),
        name_vi=_text(row, "name_vi"),
        name_en=_text(row, "name_en"),
        description_vi=_text(row, "description_vi"),
        description_en=_text(row, "description_en"),
    )


def _sector(row: Mapping[str, Any]) -> Sector:
    return Sector(
        code=_text(row, "code"),
        emoji=_text(row, "emoji"),
        name_vi=_text(row, "name_vi"),
        name_en=_text(row, "name_en"),
        short_vi=_text(row, "short_vi"),
        short_en=_text(row, "short_en"),
    )


def _province(row: Mapping[str, Any]) -> Province:
    return Province(
        code=_text(row, "code"),
        name_vi=_text(row, "name_vi"),
        name_en=_text(row, "name_en"),
        kind=_text(row, "kind"),
        region=_text(row, "region"),
        aliases=_texts(row, "aliases"),
        merged_from=_texts(row, "merged_from"),
    )


def _tip(row: Mapping[str, Any]) -> Tip:
    return Tip(
        code=_text(row, "code"),
        area=_text(row, "area"),
        sectors=_texts(row, "sectors"),
        title_vi=_text(row, "title_vi"),
        title_en=_text(row, "title_en"),
        body_vi=_text(row, "body_vi"),
        body_en=_text(row, "body_en"),
    )


def _option(row: Mapping[str, Any]) -> Option:
    exclusive = row.get("exclusive", False)
    if not isinstance(exclusive, bool):
        raise ContentError(f"exclusive must be true or false, got {exclusive!r}")
    return Option(
        code=_text(row, "code"), vi=_text(row, "vi"), en=_text(row, "en"), exclusive=exclusive
    )


def _condition(value: object) -> Condition | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ContentError(f"ask_if must be a table, got {value!r}")
    values = value.get("in", [])
    if not isinstance(values, list):
        raise ContentError(f"ask_if.in must be a list, got {values!r}")
    # Scale answers are compared as text, so `in = [1, 2]` and `in = ["1", "2"]` mean the same.
    return Condition(question=_text(value, "question"), values=tuple(str(v) for v in values))


def _question(row: Mapping[str, Any], where: str) -> Question:
    options_from = row.get("options_from")
    if options_from is not None and not isinstance(options_from, str):
        raise ContentError(f"{where}: options_from must be text")
    optional = row.get("optional", False)
    if not isinstance(optional, bool):
        raise ContentError(f"{where}: optional must be true or false")
    max_length = _int(row, "max_length")
    return Question(
        id=_text(row, "id"),
        type=_text(row, "type"),
        text_vi=_text(row, "text_vi"),
        text_en=_text(row, "text_en"),
        options=tuple(_option(item) for item in _tables(row, "options", where)),
        options_from=options_from,
        min=_int(row, "min"),
        max=_int(row, "max"),
        low_vi=_text(row, "low_vi"),
        low_en=_text(row, "low_en"),
        high_vi=_text(row, "high_vi"),
        high_en=_text(row, "high_en"),
        max_length=DEFAULT_TEXT_MAX_LENGTH if max_length is None else max_length,
        optional=optional,
        ask_if=_condition(row.get("ask_if")),
        worker_text_vi=_text(row, "worker_text_vi"),
        worker_text_en=_text(row, "worker_text_en"),
    )


def _questionnaire(path: Path) -> Questionnaire:
    data = _read(path)
    where = f"surveys/{path.name}"
    try:
        questions = tuple(_question(row, where) for row in _tables(data, "questions", where))
        version = _int(data, "version")
        return Questionnaire(
            id=_text(data, "id"),
            version=0 if version is None else version,
            title_vi=_text(data, "title_vi"),
            title_en=_text(data, "title_en"),
            intro_vi=_text(data, "intro_vi"),
            intro_en=_text(data, "intro_en"),
            thanks_vi=_text(data, "thanks_vi"),
            thanks_en=_text(data, "thanks_en"),
            questions=questions,
        )
    except ContentError as error:
        raise ContentError(f"{where}: {error}") from error


def _section(directory: Path, name: str, key: str, build: Any) -> tuple[Any, ...]:
    data = _read(directory / name)
    try:
        return tuple(build(row) for row in _tables(data, key, name))
    except ContentError as error:
        raise ContentError(f"{name}: {error}") from error


def load_content(directory: Path | None = None) -> Content:
    """Read the content folder afresh (the cached accessors below share one load)."""
    directory = CONTENT_DIR if directory is None else directory
    provinces: tuple[Province, ...] = _section(directory, "provinces.toml", "provinces", _province)
    keys: dict[str, list[Province]] = {}
    for item in provinces:
        for key in item.match_keys():
            keys.setdefault(key, []).append(item)
    questionnaires: dict[str, Questionnaire] = {}
    for path in sorted((directory / "surveys").glob("*.toml")):
        # Keyed by file name so that a wrong `id` inside shows up in validation, not as a
        # silently missing questionnaire.
        questionnaires[path.stem] = _questionnaire(path)
    return Content(
        areas=_section(directory, "areas.toml", "areas", _area),
        sectors=_section(directory, "sectors.toml", "sectors", _sector),
        provinces=provinces,
        tips=_section(directory, "tips.toml", "tips", _tip),
        questionnaires=MappingProxyType(questionnaires),
        province_keys=MappingProxyType({key: tuple(found) for key, found in keys.items()}),
        kinds=_section(directory, "kinds.toml", "kinds", _kind),
    )


@functools.cache
def get_content() -> Content:
    """The programme's content, read once per process."""
    return load_content()


# --------------------------------------------------------------------------------------------
# Public accessors


def areas() -> list[Area]:
    return list(get_content().areas)


def area(code: str | None) -> Area | None:
    return get_content().area(code)


def kinds(area: str | None = None) -> list[ImprovementKind]:
    """The kinds of improvement, in file order; only one area's when `area` is given."""
    found = get_content().kinds
    return [item for item in found if area is None or item.area == area]


def kind(code: str | None) -> ImprovementKind | None:
    return get_content().kind(code)


def sectors() -> list[Sector]:
    return list(get_content().sectors)


def sector(code: str | None) -> Sector | None:
    return get_content().sector(code)


def provinces() -> list[Province]:
    return list(get_content().provinces)


def province(code: str | None) -> Province | None:
    return get_content().province(code)


def find_province(text: str | None) -> Province | None:
    """The province a person means by what they typed, or None.

    Matches the code, the Vietnamese name with or without diacritics, the English name, the
    aliases and the names of provinces merged in 2025, ignoring case, spaces and punctuation,
    and a leading "Tỉnh"/"Thành phố"/"TP".
    """
    key = fold(text or "")
    if not key:
        return None
    candidates = [key]
    for prefix in _PROVINCE_PREFIXES:
        if key.startswith(prefix):
            candidates.append(key.removeprefix(prefix))
    for suffix in _PROVINCE_SUFFIXES:
        if key.endswith(suffix):
            candidates.append(key.removesuffix(suffix))
    index = get_content().province_keys
    for candidate in candidates:
        for form in (candidate, candidate.replace(" ", "")):
            found = index.get(form)
            if found and len(found) == 1:
                return found[0]
    return None


def tips(*, area: str | None = None, sector: str | None = None) -> list[Tip]:
    """The tips library, optionally only one area's and only those suiting a sector."""
    found = get_content().tips
    if area is not None:
        found = tuple(tip for tip in found if tip.area == area)
    if sector is not None:
        found = tuple(tip for tip in found if tip.suits(sector))
    return list(found)


def tip(code: str | None) -> Tip | None:
    return next((item for item in get_content().tips if item.code == code), None)


def questionnaire(questionnaire_id: str) -> Questionnaire | None:
    return get_content().questionnaires.get(questionnaire_id)


def questionnaires() -> list[Questionnaire]:
    return list(get_content().questionnaires.values())


# --------------------------------------------------------------------------------------------
# Validation


def iter_texts(data: Content | None = None) -> Iterator[tuple[str, str, str]]:
    """Every human-readable text as (where, language, text), for checks and tests."""
    data = get_content() if data is None else data
    for item in data.areas:
        where = f"areas.{item.code}"
        yield from _pairs(where, "name", item.name_vi, item.name_en)
        yield from _pairs(where, "short", item.short_vi, item.short_en)
        yield from _pairs(where, "description", item.description_vi, item.description_en)
        for n, text in enumerate(item.examples_vi):
            yield f"{where}.examples[{n}]", "vi", text
        for n, text in enumerate(item.examples_en):
            yield f"{where}.examples[{n}]", "en", text
    for kind in data.kinds:
        yield from _pairs(f"kinds.{kind.code}", "name", kind.name_vi, kind.name_en)
        yield from _pairs(
            f"kinds.{kind.code}", "description", kind.description_vi, kind.description_en
        )
    for sector in data.sectors:
        yield from _pairs(f"sectors.{sector.code}", "name", sector.name_vi, sector.name_en)
        yield from _pairs(f"sectors.{sector.code}", "short", sector.short_vi, sector.short_en)
    for province in data.provinces:
        yield from _pairs(f"provinces.{province.code}", "name", province.name_vi, province.name_en)
    for tip in data.tips:
        yield from _pairs(f"tips.{tip.code}", "title", tip.title_vi, tip.title_en)
        yield from _pairs(f"tips.{tip.code}", "body", tip.body_vi, tip.body_en)
    for name, survey in data.questionnaires.items():
        where = f"surveys.{name}"
        yield from _pairs(where, "title", survey.title_vi, survey.title_en)
        yield from _pairs(where, "intro", survey.intro_vi, survey.intro_en)
        yield from _pairs(where, "thanks", survey.thanks_vi, survey.thanks_en)
        for q in survey.questions:
            yield from _pairs(f"{where}.{q.id}", "text", q.text_vi, q.text_en)
            if q.type == "scale":
                yield from _pairs(f"{where}.{q.id}", "low", q.low_vi, q.low_en)
                yield from _pairs(f"{where}.{q.id}", "high", q.high_vi, q.high_en)
            for option in q.options:
                yield from _pairs(f"{where}.{q.id}.{option.code}", "label", option.vi, option.en)


def _pairs(where: str, field: str, vi: str, en: str) -> Iterator[tuple[str, str, str]]:
    yield f"{where}.{field}", "vi", vi
    yield f"{where}.{field}", "en", en


def is_well_formed(text: str) -> bool:
    """NFC text with no stray combining marks, control characters or replacement characters.

    Vietnamese letters all have precomposed forms, so after NFC a leftover combining mark means
    a tone mark typed on the wrong letter or text pasted from a broken encoding.
    """
    if not unicodedata.is_normalized("NFC", text) or "\ufffd" in text:
        return False
    for ch in text:
        if ch in "\n\t":
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            return False
        # Emoji presentation selectors and joiners are combining-ish but legitimate.
        if unicodedata.combining(ch) and ch not in "\ufe0f\u200d":
            return False
    return True


def _duplicates(codes: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for code in codes:
        if code in seen and code not in repeated:
            repeated.append(code)
        seen.add(code)
    return repeated


def _check_codes(kind: str, codes: list[str], limit: int = CODE_MAX) -> list[str]:
    problems = [f"{kind}: duplicate code {code!r}" for code in _duplicates(codes)]
    for code in codes:
        if not _SLUG.match(code):
            problems.append(f"{kind}: code {code!r} is not a lower-case ASCII slug")
        elif len(code) > limit:
            problems.append(f"{kind}: code {code!r} is longer than {limit} characters")
    return problems


def _check_texts(data: Content) -> list[str]:
    problems: list[str] = []
    for where, lang, text in iter_texts(data):
        if not text.strip():
            problems.append(f"{where}: missing {lang} text")
        elif not is_well_formed(text):
            problems.append(f"{where}: {lang} text is not well-formed (NFC) Unicode")
        elif text != text.strip():
            problems.append(f"{where}: {lang} text has leading or trailing spaces")
    return problems


def _check_areas(data: Content) -> list[str]:
    problems = _check_codes("areas", [item.code for item in data.areas])
    codes = {item.code for item in data.areas}
    problems += [f"areas: missing area {code!r}" for code in AREA_CODES if code not in codes]
    low, high = AREA_EXAMPLES
    for item in data.areas:
        if not item.emoji:
            problems.append(f"areas.{item.code}: missing emoji")
        for lang, short in (("vi", item.short_vi), ("en", item.short_en)):
            if len(short) > SHORT_LABEL_MAX:
                problems.append(f"areas.{item.code}: short_{lang} over {SHORT_LABEL_MAX} chars")
        if not low <= len(item.examples_vi) <= high:
            problems.append(f"areas.{item.code}: needs {low}-{high} examples")
        if len(item.examples_vi) != len(item.examples_en):
            problems.append(f"areas.{item.code}: examples_vi and examples_en differ in number")
    return problems


def _check_kinds(data: Content) -> list[str]:
    problems = _check_codes("kinds", [item.code for item in data.kinds])
    area_codes = {item.code for item in data.areas}
    for item in data.kinds:
        where = f"kinds.{item.code}"
        if item.area not in area_codes:
            problems.append(f"{where}: unknown area {item.area!r}")
        for lang, name in (("vi", item.name_vi), ("en", item.name_en)):
            if len(name) > OPTION_LABEL_MAX:
                problems.append(f"{where}: name_{lang} over {OPTION_LABEL_MAX} chars")
    low, high = KINDS_PER_AREA
    for code in sorted(area_codes):
        count = sum(item.area == code for item in data.kinds)
        if not low <= count <= high:
            problems.append(f"kinds: area {code!r} has {count} kinds, needs {low}-{high}")
    return problems


def _check_sectors(data: Content) -> list[str]:
    problems = _check_codes("sectors", [item.code for item in data.sectors])
    if ALL_SECTORS in {item.code for item in data.sectors}:
        problems.append(f"sectors: {ALL_SECTORS!r} is reserved for tips that suit every sector")
    for item in data.sectors:
        for lang, short in (("vi", item.short_vi), ("en", item.short_en)):
            if len(short) > SHORT_LABEL_MAX:
                problems.append(f"sectors.{item.code}: short_{lang} over {SHORT_LABEL_MAX} chars")
    return problems


def _check_provinces(data: Content) -> list[str]:
    problems = _check_codes("provinces", [item.code for item in data.provinces])
    if len(data.provinces) != PROVINCE_COUNT:
        problems.append(f"provinces: {len(data.provinces)} listed, expected {PROVINCE_COUNT}")
    cities = sum(item.kind == "city" for item in data.provinces)
    if cities != CITY_COUNT:
        problems.append(f"provinces: {cities} centrally-run cities, expected {CITY_COUNT}")
    for item in data.provinces:
        where = f"provinces.{item.code}"
        if item.kind not in PROVINCE_KINDS:
            problems.append(f"{where}: kind {item.kind!r} not one of {sorted(PROVINCE_KINDS)}")
        if item.region not in REGIONS:
            problems.append(f"{where}: region {item.region!r} not one of {sorted(REGIONS)}")
        if not item.name_en.isascii():
            problems.append(f"{where}: name_en should be written without diacritics")
        for alias in item.aliases:
            if not _ALIAS.match(alias):
                problems.append(f"{where}: alias {alias!r} is not lower-case ASCII")
    for key, found in sorted(data.province_keys.items()):
        if len(found) > 1:
            names = ", ".join(item.code for item in found)
            problems.append(f"provinces: {key!r} would match several provinces ({names})")
    return problems


def _check_tips(data: Content) -> list[str]:
    problems = _check_codes("tips", [item.code for item in data.tips], TIP_CODE_MAX)
    area_codes = {item.code for item in data.areas}
    sector_codes = {item.code for item in data.sectors}
    for item in data.tips:
        where = f"tips.{item.code}"
        if item.area not in area_codes:
            problems.append(f"{where}: unknown area {item.area!r}")
        if not item.sectors:
            problems.append(f'{where}: sectors is empty (use ["{ALL_SECTORS}"])')
        elif ALL_SECTORS in item.sectors and len(item.sectors) > 1:
            problems.append(f"{where}: {ALL_SECTORS!r} must stand alone in sectors")
        for code in item.sectors:
            if code != ALL_SECTORS and code not in sector_codes:
                problems.append(f"{where}: unknown sector {code!r}")
        for lang, title, body in (
            ("vi", item.title_vi, item.body_vi),
            ("en", item.title_en, item.body_en),
        ):
            if len(title) > TIP_TITLE_MAX:
                problems.append(f"{where}: title_{lang} over {TIP_TITLE_MAX} chars")
            if len(body) > TIP_BODY_MAX:
                problems.append(f"{where}: body_{lang} is {len(body)} chars, max {TIP_BODY_MAX}")
    for code in sorted(area_codes):
        count = sum(item.area == code for item in data.tips)
        if count < MIN_TIPS_PER_AREA:
            problems.append(f"tips: area {code!r} has {count} tips, needs {MIN_TIPS_PER_AREA}")
    return problems


def _check_question(q: Question, where: str, earlier: Mapping[str, Question]) -> list[str]:
    problems: list[str] = []
    if q.type not in QUESTION_TYPES:
        return [f"{where}: unknown type {q.type!r}"]
    if q.type in CHOICE_TYPES:
        if q.options_from is not None and q.options_from not in OPTION_SOURCES:
            problems.append(f"{where}: unknown options_from {q.options_from!r}")
        if not q.options and q.options_from is None:
            problems.append(f"{where}: a {q.type} question needs options or options_from")
        for code in _duplicates(option.code for option in q.options):
            problems.append(f"{where}: duplicate option {code!r}")
        for option in q.options:
            if not _QUESTION_ID.match(option.code) or len(option.code) > CODE_MAX:
                problems.append(f"{where}: option code {option.code!r} is not snake_case ASCII")
            for lang, label in (("vi", option.vi), ("en", option.en)):
                if len(label) > OPTION_LABEL_MAX:
                    problems.append(
                        f"{where}.{option.code}: {lang} label over {OPTION_LABEL_MAX} chars"
                    )
            if option.exclusive and q.type != "multi":
                problems.append(f"{where}.{option.code}: exclusive only makes sense in multi")
    elif q.options or q.options_from is not None:
        problems.append(f"{where}: options only belong to single and multi questions")
    if q.type == "scale" and (q.min is None or q.max is None or q.min >= q.max):
        problems.append(f"{where}: a scale needs min < max")
    if q.type == "number" and q.min is not None and q.max is not None and q.min > q.max:
        problems.append(f"{where}: min is above max")
    if q.type == "text" and not 0 < q.max_length <= TEXT_MAX_LENGTH_LIMIT:
        problems.append(f"{where}: max_length must be 1-{TEXT_MAX_LENGTH_LIMIT}")
    if q.ask_if is not None:
        problems += _check_condition(q.ask_if, where, earlier)
    if bool(q.worker_text_vi) != bool(q.worker_text_en):
        problems.append(f"{where}: worker_text_vi and worker_text_en go together")
    return problems


def _check_condition(
    condition: Condition, where: str, earlier: Mapping[str, Question]
) -> list[str]:
    target = earlier.get(condition.question)
    if target is None:
        return [f"{where}: ask_if refers to {condition.question!r}, not an earlier question"]
    if not condition.values:
        return [f"{where}: ask_if.in is empty"]
    allowed: set[str] | None
    if target.type in CHOICE_TYPES:
        # Options that only exist at run time cannot be checked here.
        allowed = None if target.options_from else {option.code for option in target.options}
    elif target.type == "yesno":
        allowed = {YES, NO}
    elif target.type == "scale" and target.min is not None and target.max is not None:
        allowed = {str(n) for n in range(target.min, target.max + 1)}
    else:
        return [f"{where}: ask_if cannot depend on a {target.type} question"]
    if allowed is None:
        return []
    return [
        f"{where}: ask_if value {value!r} is not an answer of {target.id!r}"
        for value in condition.values
        if value not in allowed
    ]


def _check_questionnaires(data: Content) -> list[str]:
    problems = [
        f"surveys: missing questionnaire {name!r}"
        for name in REQUIRED_QUESTIONNAIRES
        if name not in data.questionnaires
    ]
    for name, survey in data.questionnaires.items():
        where = f"surveys.{name}"
        if survey.id != name:
            problems.append(f"{where}: id {survey.id!r} differs from the file name")
        if survey.version < 1:
            problems.append(f"{where}: version must be a whole number from 1")
        if not survey.questions:
            problems.append(f"{where}: no questions")
        ids = [q.id for q in survey.questions]
        problems += [f"{where}: duplicate question {qid!r}" for qid in _duplicates(ids)]
        earlier: dict[str, Question] = {}
        for q in survey.questions:
            if not _QUESTION_ID.match(q.id) or len(q.id) > CODE_MAX:
                problems.append(f"{where}: question id {q.id!r} is not snake_case ASCII")
            problems += _check_question(q, f"{where}.{q.id}", earlier)
            earlier.setdefault(q.id, q)
    return problems


def validate_content(directory: Path | None = None) -> list[str]:
    """Everything wrong with a content folder, as sentences an editor can act on; [] if fine.

    Reads the files afresh, so a long-running process checks what is on disk now.
    """
    try:
        data = load_content(directory)
    except ContentError as error:
        return [str(error)]
    return [
        *_check_texts(data),
        *_check_areas(data),
        *_check_kinds(data),
        *_check_sectors(data),
        *_check_provinces(data),
        *_check_tips(data),
        *_check_questionnaires(data),
    ]
