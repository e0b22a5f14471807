"""The content library: the shipped files are valid, and the loader behaves as callers expect."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest

from models import content
from models.content import Condition, Option, Question


def test_shipped_content_has_no_problems() -> None:
    assert content.validate_content() == []


def test_there_are_34_provinces_of_which_6_cities() -> None:
    provinces = content.provinces()
    assert len(provinces) == 34
    assert sum(p.is_city for p in provinces) == 6
    assert {p.code for p in provinces if p.is_city} == {
        "ha-noi",
        "hai-phong",
        "hue",
        "da-nang",
        "tp-ho-chi-minh",
        "can-tho",
    }


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Hồ Chí Minh", "tp-ho-chi-minh"),
        ("ho chi minh", "tp-ho-chi-minh"),
        ("HCM", "tp-ho-chi-minh"),
        ("TP. Hồ Chí Minh", "tp-ho-chi-minh"),
        ("Huế", "hue"),
        ("hue", "hue"),
        ("Đà Nẵng", "da-nang"),
        ("da nang", "da-nang"),
        ("DANANG", "da-nang"),
        ("ha-noi", "ha-noi"),
        ("Tỉnh Đắk Lắk", "dak-lak"),
        ("Khánh Hoà", "khanh-hoa"),  # old-style tone placement, decomposed by fold()
        ("Bình Dương", "tp-ho-chi-minh"),  # merged into the city on 1 July 2025
    ],
)
def test_find_province_understands_what_people_type(typed: str, code: str) -> None:
    found = content.find_province(typed)
    assert found is not None
    assert found.code == code


@pytest.mark.parametrize("typed", ["Atlantis", "", "   ", "tp", None])
def test_find_province_returns_none_for_unknown_text(typed: str | None) -> None:
    assert content.find_province(typed) is None


def test_every_area_has_at_least_five_tips() -> None:
    for area in content.areas():
        assert len(content.tips(area=area.code)) >= 5, area.code


def test_tips_reference_known_areas_and_sectors() -> None:
    sector_codes = {s.code for s in content.sectors()} | {"all"}
    assert len(content.tips()) >= 30
    for tip in content.tips():
        assert content.area(tip.area) is not None
        assert set(tip.sectors) <= sector_codes


def test_every_text_has_vietnamese_and_english() -> None:
    seen: dict[str, set[str]] = {}
    for where, lang, text in content.iter_texts():
        assert text.strip(), f"{where} {lang} is empty"
        seen.setdefault(where, set()).add(lang)
    assert seen
    assert all(langs == {"vi", "en"} for langs in seen.values())


def test_vietnamese_texts_are_nfc_and_well_formed() -> None:
    vietnamese = [(where, text) for where, lang, text in content.iter_texts() if lang == "vi"]
    for where, text in vietnamese:
        assert unicodedata.is_normalized("NFC", text), where
        assert content.is_well_formed(text), where
    # Vietnamese really is there, not English copied into the _vi fields.
    assert sum(any(ord(ch) > 127 for ch in text) for _, text in vietnamese) > len(vietnamese) * 0.9


def test_decomposed_text_is_not_well_formed() -> None:
    assert content.is_well_formed("Hà Nội")
    assert not content.is_well_formed(unicodedata.normalize("NFD", "Hà Nội"))
    assert not content.is_well_formed("Hà N\ufffdi")


def test_name_accessors_fall_back_to_vietnamese() -> None:
    storage = content.area("storage")
    assert storage is not None
    assert storage.name("en") == "Materials storage and handling"
    assert storage.name("en-GB") == storage.name("en")
    assert storage.name("fr") == storage.name_vi == storage.name()
    hue = content.province("hue")
    assert hue is not None
    assert (hue.name("vi"), hue.name("en")) == ("Huế", "Hue")


def test_unknown_codes_give_none() -> None:
    assert content.area("nope") is None
    assert content.sector("nope") is None
    assert content.province("nope") is None
    assert content.questionnaire("nope") is None


def test_short_labels_fit_on_buttons() -> None:
    for item in [*content.areas(), *content.sectors()]:
        assert len(item.short("vi")) <= 24
        assert len(item.short("en")) <= 24


def test_worker_survey_promises_anonymity() -> None:
    worker = content.questionnaire("worker")
    assert worker is not None
    assert "ẩn danh" in worker.intro("vi")
    assert "3" in worker.intro("vi")
    assert "anonymous" in worker.intro("en")
    assert "3" in worker.intro("en")


def test_employer_survey_asks_good_points_before_problems() -> None:
    employer = content.questionnaire("employer")
    assert employer is not None
    ids = [q.id for q in employer.questions]
    assert ids.index("going_well") < ids.index("main_obstacle")
    areas_question = employer.question("improvement_areas")
    assert areas_question is not None
    assert {o.code for o in areas_question.options} == {a.code for a in content.areas()} | {"none"}


def test_event_survey_takes_good_practices_from_the_event() -> None:
    event = content.questionnaire("event_reaction")
    assert event is not None
    practices = [q for q in event.questions if q.options_from == "event_good_practices"]
    assert len(practices) == 1
    assert practices[0].type == "multi"


def test_should_ask_on_a_single_choice() -> None:
    employer = content.questionnaire("employer")
    assert employer is not None
    why_not = employer.question("kept_why_not")
    assert why_not is not None
    assert why_not.should_ask({"improvements_kept": "partly"})
    assert why_not.should_ask({"improvements_kept": "no"})
    assert not why_not.should_ask({"improvements_kept": "yes"})
    assert not why_not.should_ask({})  # the earlier question was skipped


def test_should_ask_on_a_multi_choice() -> None:
    employer = content.questionnaire("employer")
    assert employer is not None
    other = employer.question("support_wanted_other")
    assert other is not None
    assert other.should_ask({"support_wanted": ["revisit", "other"]})
    assert not other.should_ask({"support_wanted": ["revisit", "worker_training"]})
    assert not other.should_ask({"support_wanted": []})


def test_should_ask_on_yes_no_and_scale() -> None:
    follow_up = Question(
        id="why",
        type="text",
        text_vi="Vì sao?",
        text_en="Why?",
        ask_if=Condition(question="ok", values=("no",)),
    )
    assert follow_up.should_ask({"ok": False})
    assert follow_up.should_ask({"ok": "no"})
    assert not follow_up.should_ask({"ok": True})
    low = Question(
        id="low",
        type="text",
        text_vi="?",
        text_en="?",
        ask_if=Condition(question="rating", values=("1", "2")),
    )
    assert low.should_ask({"rating": 2})
    assert not low.should_ask({"rating": 4})
    assert Question(id="q", type="text", text_vi="?", text_en="?").should_ask({})


def test_option_label_uses_language() -> None:
    option = Option(code="yes", vi="Có", en="Yes")
    assert (option.label("vi"), option.label("en"), option.label(None)) == ("Có", "Yes", "Có")


# The validator is what editors rely on, so it must catch the mistakes they will make.


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(content.CONTENT_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_validator_reports_unknown_area_and_sector_in_tips(content_copy: Path) -> None:
    tips = content_copy / "tips.toml"
    _edit(tips, 'area = "storage"', 'area = "warehouse"')
    _edit(tips, 'sectors = ["food", ', 'sectors = ["fishing", ')
    problems = content.validate_content(content_copy)
    assert any("unknown area 'warehouse'" in p for p in problems)
    assert any("unknown sector 'fishing'" in p for p in problems)


def test_validator_reports_ask_if_on_a_later_question(content_copy: Path) -> None:
    survey = content_copy / "surveys" / "employer.toml"
    _edit(survey, 'question = "improvements_kept"', 'question = "recommend"')
    problems = content.validate_content(content_copy)
    assert any("not an earlier question" in p for p in problems)


def test_validator_reports_a_worker_wording_in_one_language_only(content_copy: Path) -> None:
    survey = content_copy / "surveys" / "event_reaction.toml"
    _edit(survey, "worker_text_en = ", "# worker_text_en = ")
    problems = content.validate_content(content_copy)
    assert any("worker_text_vi and worker_text_en go together" in p for p in problems)


def test_validator_reports_province_count_and_missing_text(content_copy: Path) -> None:
    provinces = content_copy / "provinces.toml"
    text = provinces.read_text(encoding="utf-8")
    provinces.write_text(text.rsplit("[[provinces]]", 1)[0], encoding="utf-8")
    _edit(content_copy / "sectors.toml", 'name_en = "Handicrafts"', 'name_en = ""')
    problems = content.validate_content(content_copy)
    assert any("33 listed, expected 34" in p for p in problems)
    assert any("sectors.handicrafts.name: missing en text" in p for p in problems)


def test_validator_reports_duplicates_and_broken_toml(content_copy: Path) -> None:
    _edit(content_copy / "areas.toml", 'code = "welfare"', 'code = "storage"')
    problems = content.validate_content(content_copy)
    assert any("duplicate code 'storage'" in p for p in problems)
    (content_copy / "tips.toml").write_text("[[tips]\n", encoding="utf-8")
    assert content.validate_content(content_copy)[0].startswith("tips.toml")
