"""Every string a person reads is in both catalogues, with the same placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, format_day, format_moment, format_vnd, gettext, load_catalog

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
    assert format_day(date(2026, 11, 29), "vi") == "29/11/2026"
    assert format_day(date(2026, 11, 29), "en") == "29 Nov 2026"
    moment = datetime(2026, 11, 29, 17, 30, tzinfo=UTC)
    assert format_moment(moment, "vi", ZoneInfo("Asia/Ho_Chi_Minh")) == "00:30 30/11/2026"


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
