"""Every string a person reads is in both catalogues, with the same placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.i18n import (
    LANGUAGES,
    format_day,
    format_moment,
    format_vnd,
    gettext,
    load_catalog,
    shorten,
    utf16_length,
)

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?(\w+)")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What the code asks for today, extracted the same way `make messages` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "--no-default-keywords", "-k", "_", "-k", "N_", "-o", str(pot),
         "bot", "handlers", "models", "scheduler", "reports"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_has_every_string(extracted: set[str], language: str) -> None:
    catalog = load_catalog(language)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(extracted - translated)
    assert not missing, f"{language} catalogue misses {len(missing)} strings: {missing[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_and_markup_match(language: str) -> None:
    for message in load_catalog(language):
        if not message.id or not message.string:
            continue
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)
        ), f"placeholders differ in {language}: {message.id!r}"
        assert sorted(TAG.findall(message.id)) == sorted(TAG.findall(message.string)), (
            f"HTML tags differ in {language}: {message.id!r}"
        )


def test_vietnamese_is_default_and_translated() -> None:
    assert gettext("vi", "Today") == "Hôm nay"
    assert gettext("en", "Today") == "Today"
    assert gettext("fr", "Today") == "Hôm nay"


def test_numbers_and_dates_the_way_readers_write_them() -> None:
    assert format_vnd(1_500_000, "vi") == "1.500.000 đ"
    assert format_vnd(1_500_000, "en") == "1,500,000 VND"
    assert format_day(date(2026, 11, 29), "vi") == "Chủ Nhật, 29/11/2026"
    assert format_day(date(2026, 11, 29), "en") == "Sun 29 Nov 2026"
    moment = datetime(2026, 11, 29, 17, 30, tzinfo=UTC)
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    assert format_moment(moment, "vi", tz) == "00:30 Thứ Hai, 30/11/2026"
    assert format_moment(moment, "en", tz) == "Mon 30 Nov 2026, 00:30"


def test_every_weekday_is_named_in_both_languages() -> None:
    days = [format_day(date(2026, 12, 7) + timedelta(days=n), "vi") for n in range(7)]
    assert days[0] == "Thứ Hai, 07/12/2026"
    assert [d.split(",")[0] for d in days] == [
        "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật",
    ]  # fmt: skip
    assert format_day(date(2026, 12, 7), "en") == "Mon 7 Dec 2026"


def test_a_long_label_is_cut_at_a_word_with_an_ellipsis() -> None:
    name = "Công ty TNHH Cơ khí Chính xác Đà Nẵng"
    assert shorten(name, 30) == "Công ty TNHH Cơ khí Chính xác…"
    assert shorten("Hộp dụng cụ treo tường, gần bàn làm việc", 28) == "Hộp dụng cụ treo tường, gần…"
    assert shorten(name, 100) == name
    assert shorten("  two   spaces ", 40) == "two spaces"


def test_a_label_is_measured_as_telegram_does_in_utf16_units() -> None:
    # An emoji outside the Basic Multilingual Plane counts twice in UTF-16, as in Telegram.
    label = shorten("🔧" * 30, 30)
    assert utf16_length(label) <= 30 and label.endswith("…")
    assert label == "🔧" * 14 + "…"


def test_one_long_word_is_cut_inside_but_never_off_its_accents() -> None:
    decomposed = unicodedata.normalize("NFD", "Nghiêngnghiêngnghiêngnghiêng")
    cut = shorten(decomposed, 10)
    assert cut.endswith("…") and utf16_length(cut) <= 10
    assert not unicodedata.combining(decomposed[len(cut) - 1])


def test_strings_translated_through_a_call_result_are_in_the_catalogue() -> None:
    """`tr(update, context)("...")` escapes Babel's extraction: such a string must be in the
    catalogue anyway (extracted from another place), or Vietnamese users would read English."""
    import ast

    translated = {m.id for m in load_catalog("vi") if m.id and m.string}
    missing = []
    for folder in ("bot", "handlers", "models", "scheduler", "reports"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Call)
                    and isinstance(getattr(node.func.func, "id", None), str)
                    and node.func.func.id in ("tr", "translator")  # type: ignore[attr-defined]
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                    and node.args[0].value not in translated
                ):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.args[0].value}")
    assert not missing, "\n".join(missing)
