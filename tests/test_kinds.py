"""Kinds of improvement per technical area, and what is going well and the support wanted
(issue 16): content, the draft's kind, the paper import, the summary, the export and the site.

Every expected figure below is counted by hand from the rows the test writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from models import content
from models import improvements as imp
from models.content import validate_content
from models.db import Database
from models.imports import describe_row_error
from models.programme import ProgrammeError
from models.tables import (
    Contact,
    Enterprise,
    Improvement,
    Provider,
    ReviewStatus,
    Role,
    SurveyRound,
)
from reports.figures import KindFigures, Scope, parse_period
from reports.paper_import import import_improvements
from reports.site import build_site
from reports.summary import build_summary
from reports.text import summary_message, summary_text
from reports.xlsx import export_sheets
from tests.factories import TZ, respond

TODAY = date(2027, 4, 10)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- content ---------------------------------------------------------------------------------


def test_every_area_has_four_to_eight_kinds_in_both_languages() -> None:
    assert validate_content() == []
    for area in content.areas():
        kinds = content.kinds(area.code)
        assert 4 <= len(kinds) <= 8, area.code
        for kind in kinds:
            assert kind.area == area.code and content.kind(kind.code) == kind
            assert kind.name("vi") != kind.name("en") and len(kind.name("vi")) <= 40
    assert content.kind("storage-racks").name("en") == "Multi-level racks and shelves"  # type: ignore[union-attr]


def test_a_kind_of_an_unknown_area_or_with_a_long_name_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "content"
    (folder / "surveys").mkdir(parents=True)
    for path in content.CONTENT_DIR.glob("*.toml"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for path in (content.CONTENT_DIR / "surveys").glob("*.toml"):
        (folder / "surveys" / path.name).write_text(path.read_text(encoding="utf-8"))
    kinds = (folder / "kinds.toml").read_text(encoding="utf-8")
    kinds = kinds.replace('area = "welfare"', 'area = "kitchen"', 1)
    kinds = kinds.replace('name_en = "Clean drinking water"', f'name_en = "{"x" * 41}"', 1)
    (folder / "kinds.toml").write_text(kinds, encoding="utf-8")
    problems = validate_content(folder)
    assert "kinds.drinking-water: unknown area 'kitchen'" in problems
    assert "kinds.drinking-water: name_en over 40 chars" in problems
    assert "kinds: area 'welfare' has 4 kinds, needs 4-8" not in problems  # still 4 left


# -- the draft's kind ------------------------------------------------------------------------


@dataclass
class Setup:
    database: Database
    provider: int
    other_provider: int
    e1: int
    e2: int
    e3: int  # the other provider's
    employer1: int
    employer2: int


@pytest.fixture
def setup(database: Database) -> Setup:
    with database.session() as session:
        p1 = Provider(name="Trung tâm ATVSLĐ Đà Nẵng", province_code="da-nang")
        p2 = Provider(name="Trung tâm Y tế lao động Cần Thơ", province_code="can-tho")
        session.add_all([p1, p2])
        session.flush()
        enterprises = [
            Enterprise(provider_id=provider.id, name=name, sector_code="wood",  # type: ignore[arg-type]
                       province_code=province, workers=20, intervention_date=date(2027, 1, 10))
            for provider, name, province in (
                (p1, "Xưởng mộc Hòa Phát", "da-nang"),
                (p1, "May mặc Thu Hà", "da-nang"),
                (p2, "Cơ khí Tây Đô", "can-tho"),
            )
        ]  # fmt: skip
        session.add_all(enterprises)
        session.flush()
        employers = [
            Contact(role=Role.EMPLOYER, enterprise_id=e.id, display_name="Chủ", language="vi")
            for e in enterprises[:2]
        ]
        session.add_all(employers)
        session.flush()
        return Setup(
            database,
            p1.id,
            p2.id,
            *(e.id for e in enterprises),
            *(c.id for c in employers),  # type: ignore[arg-type]
        )


def test_a_kind_must_belong_to_the_report_area_and_follows_an_area_change(setup: Setup) -> None:
    now = moment("2027-02-01T03:00:00")
    with setup.database.session() as session:
        reporter = session.get(Contact, setup.employer1)
        assert reporter is not None
        draft = imp.start_draft(session, reporter=reporter, area_code="storage", now=now)
        assert draft.draft_step == imp.Step.KIND
        with pytest.raises(ProgrammeError) as refused:
            imp.set_kind(session, draft.id, reporter=reporter, kind_code="machine-guards", now=now)  # type: ignore[arg-type]
        assert refused.value.code == "unknown_kind"
        imp.set_kind(session, draft.id, reporter=reporter, kind_code="carts-trolleys", now=now)  # type: ignore[arg-type]
        # Another area takes the kind away; the same area keeps it.
        imp.set_area(session, draft.id, reporter=reporter, area_code="storage", now=now)  # type: ignore[arg-type]
        assert session.get(Improvement, draft.id).kind_code == "carts-trolleys"  # type: ignore[union-attr]
        imp.set_area(session, draft.id, reporter=reporter, area_code="machine", now=now)  # type: ignore[arg-type]
        assert session.get(Improvement, draft.id).kind_code is None  # type: ignore[union-attr]
        # "Other / skip" is no kind, and a report needs none to be complete.
        imp.set_kind(session, draft.id, reporter=reporter, kind_code=None, now=now)  # type: ignore[arg-type]
        assert imp.Step.KIND not in imp.missing(session.get(Improvement, draft.id))  # type: ignore[arg-type]


# -- the summary -----------------------------------------------------------------------------

# (area, kind, status, risk before, risk after, submitted) of provider 1's improvements.
ROWS: list[tuple[str, str | None, ReviewStatus, int | None, int | None, str]] = [
    ("storage", "storage-racks", ReviewStatus.SUBMITTED, 6, 2, "2027-02-03"),  # risk down
    ("storage", "storage-racks", ReviewStatus.VERIFIED, None, None, "2027-02-04"),  # verified
    ("storage", "storage-racks", ReviewStatus.SUBMITTED, 4, 4, "2027-02-05"),  # not effective
    ("storage", "carts-trolleys", ReviewStatus.GOOD_PRACTICE, 9, 9, "2027-02-06"),  # verified
    ("storage", None, ReviewStatus.SUBMITTED, 6, 3, "2027-02-07"),  # no kind, risk down
    ("machine", "machine-guards", ReviewStatus.SUBMITTED, 6, 9, "2027-03-01"),  # risk up
    ("machine", "machine-guards", ReviewStatus.DRAFT, 6, 1, "2027-03-02"),  # not counted
    ("machine", "machine-guards", ReviewStatus.WITHDRAWN, 6, 1, "2027-03-03"),  # not counted
    ("machine", "electrical-safety", ReviewStatus.SUBMITTED, None, None, "2027-03-04"),
    ("storage", "storage-racks", ReviewStatus.VERIFIED, 6, 2, "2027-04-02"),  # in Q2
]
Q1_KINDS = [
    KindFigures("storage", "storage-racks", 3, 2),
    KindFigures("storage", "carts-trolleys", 1, 1),
    KindFigures("storage", None, 1, 1),  # "no kind" last in its area
    KindFigures("machine", "electrical-safety", 1, 0),
    KindFigures("machine", "machine-guards", 1, 0),
]


def seed_improvements(setup: Setup) -> None:
    with setup.database.session() as session:
        for n, (area, kind, status, before, after, day) in enumerate(ROWS):
            session.add(
                Improvement(
                    enterprise_id=setup.e1 if n % 2 else setup.e2,
                    area_code=area,
                    kind_code=kind,
                    description=f"Cải thiện số {n}",
                    status=status,
                    risk_before_score=before,
                    risk_after_score=after,
                    submitted_at=moment(f"{day}T03:00:00"),
                )
            )
        # The other provider's: in the programme, out of provider 1's scope.
        session.add(
            Improvement(
                enterprise_id=setup.e3, area_code="welfare", kind_code="drinking-water",
                status=ReviewStatus.VERIFIED, submitted_at=moment("2027-02-10T03:00:00"),
            )
        )  # fmt: skip


def summarise(setup: Setup, period: str = "2027-Q1", *, rollups: bool = True, **scope: Any):  # type: ignore[no-untyped-def]
    with setup.database.session() as session:
        return build_summary(
            session, period=parse_period(period), scope=Scope(**scope), tz=TZ, today=TODAY,
            rollups=rollups,
        )  # fmt: skip


@pytest.mark.parametrize("rollups", [True, False])
def test_kinds_per_area_count_effective_improvements(setup: Setup, rollups: bool) -> None:
    seed_improvements(setup)
    mine = summarise(setup, provider_id=setup.provider, rollups=rollups)
    assert list(mine.kinds) == Q1_KINDS
    assert sum(k.improvements for k in mine.kinds) == mine.improvements.total == 7
    everyone = summarise(setup, rollups=rollups)
    assert list(everyone.kinds) == [*Q1_KINDS[:3], *Q1_KINDS[3:],
                                    KindFigures("welfare", "drinking-water", 1, 1)]  # fmt: skip
    machine = summarise(setup, provider_id=setup.provider, area_code="machine", rollups=rollups)
    assert list(machine.kinds) == Q1_KINDS[3:]
    april = summarise(setup, "2027-04", rollups=rollups)
    assert list(april.kinds) == [KindFigures("storage", "storage-racks", 1, 1)]
    assert mine.as_dict()["kinds"][0] == {
        "area_code": "storage", "kind_code": "storage-racks", "improvements": 3, "effective": 2,
    }  # fmt: skip


def test_the_text_summary_and_the_export_list_kinds_per_area(setup: Setup) -> None:
    seed_improvements(setup)
    summary = summarise(setup, provider_id=setup.provider)
    text = summary_text(summary, "vi")
    assert "## Các loại cải thiện theo lĩnh vực kỹ thuật" in text
    assert "| Lưu giữ, vận chuyển | Giá, kệ nhiều tầng | 3 | 2 |" in text
    assert "| Lưu giữ, vận chuyển | khác hoặc không ghi | 1 | 1 |" in text
    assert "| An toàn máy móc | Che chắn bộ phận chuyển động | 1 | 0 |" in text
    with setup.database.session() as session:
        sheets = {s.name: s for s in export_sheets(session, summary=summary, tz=TZ, language="en")}
        assert sheets["kinds"].headers == (
            "area", "kind of improvement", "improvements", "effective (verified or risk reduced)",
        )  # fmt: skip
        assert list(sheets["kinds"].rows()) == [
            ("Storage & handling", "Multi-level racks and shelves", 3, 2),
            ("Storage & handling", "Carts, trolleys and wheels", 1, 1),
            ("Storage & handling", "other or not given", 1, 1),
            ("Machine safety", "Electrical safety", 1, 0),
            ("Machine safety", "Guards on moving parts", 1, 0),
        ]
        improvements = list(sheets["improvements"].rows())
        assert sheets["improvements"].headers[-1] == "kind of improvement"
        assert sorted(str(row[-1]) for row in improvements) == sorted(
            ["Multi-level racks and shelves"] * 3
            + ["Carts, trolleys and wheels", "None", "Guards on moving parts", "Electrical safety"]
        )
        table = "kinds of improvement"
        summary_lines = [row for row in sheets["summary"].rows() if row[0] == table]
    assert ("kinds of improvement", "Storage & handling: Multi-level racks and shelves",
            "effective (verified or risk reduced)", 2, 3) in summary_lines  # fmt: skip


def test_the_site_lists_every_kind_of_an_area_with_its_counts(setup: Setup, tmp_path: Path) -> None:
    seed_improvements(setup)
    with setup.database.session() as session:
        build_site(session, tmp_path, tz=TZ, today=TODAY, link="https://t.me/oshbot")
    page = (tmp_path / "vi" / "areas" / "storage.html").read_text(encoding="utf-8")
    # Since the start: the April report counts too (4 racks, 3 of them effective).
    racks = page.split("Giá, kệ nhiều tầng", 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">4</td><td class="num">3</td>' in racks
    carts = page.split("Xe đẩy, bánh xe", 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">1</td><td class="num">1</td>' in carts
    # A kind nobody made yet is listed with zeros: the page shows what is possible.
    lifting = page.split("Tời, băng chuyền, dụng cụ nâng", 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">0</td><td class="num">0</td>' in lifting
    english = (tmp_path / "en" / "areas" / "machine.html").read_text(encoding="utf-8")
    assert "Guards on moving parts" in english and "Kinds of improvement" in english


# -- the paper import ------------------------------------------------------------------------


def test_the_paper_import_reads_an_optional_kind_column(setup: Setup, tmp_path: Path) -> None:
    sheet = tmp_path / "paper.csv"
    e1 = setup.e1
    sheet.write_text(
        "enterprise,date,area,loại cải thiện,description\n"
        f'{e1},05/02/2027,storage,"Giá, kệ nhiều tầng",Kệ ba tầng cho gỗ\n'
        f"{e1},06/02/2027,machine,jigs-fixtures,Che chắn máy cưa\n"
        f"{e1},07/02/2027,machine,,Nối đất vỏ máy khoan\n"
        f"{e1},08/02/2027,workstation,JIGS-FIXTURES,Đồ gá cho máy khoan\n",
        encoding="utf-8",
    )
    with setup.database.session() as session:
        report = import_improvements(session, sheet, provider_id=setup.provider, today=TODAY, tz=TZ)
        stored = [session.get(Improvement, i) for i in report.created]
        assert [(i.area_code, i.kind_code) for i in stored] == [  # type: ignore[union-attr]
            ("storage", "storage-racks"),
            ("machine", None),
            ("workstation", "jigs-fixtures"),
        ]
    assert [describe_row_error(e, "vi", subject="improvement") for e in report.errors] == [
        "Dòng 3: “jigs-fixtures” không phải là một loại cải thiện của lĩnh vực kỹ thuật ở dòng "
        "này. Anh/Chị hãy ghi mã hoặc tên như trong danh sách các loại cải thiện, hoặc để trống "
        "ô này."
    ]


# -- what is going well and the support wanted ------------------------------------------------


def seed_answers(setup: Setup) -> None:
    with setup.database.session() as session:
        rounds = []
        for enterprise, day in ((setup.e1, "2027-02-01"), (setup.e2, "2027-02-05")):
            found = SurveyRound(
                enterprise_id=enterprise, number=1, opened_at=moment(f"{day}T03:00:00"),
                closed_at=moment("2027-03-15T03:00:00"),
            )  # fmt: skip
            session.add(found)
            session.flush()
            rounds.append(found.id)
        r1, r2 = rounds
        respond(session, r1, "employer", {
            "going_well": "Xưởng gọn gàng, lối đi thông thoáng",
            "support_wanted": ["low_cost_ideas", "revisit"],
        }, contact_id=setup.employer1)  # fmt: skip
        respond(session, r2, "employer", {
            "going_well": "   ",  # blank: not counted as written
            "support_wanted": ["low_cost_ideas", "other"],
            "support_wanted_other": "Tư vấn về phòng cháy",
        }, contact_id=setup.employer2)  # fmt: skip
        # Round 1 of E1: three released worker questionnaires, one names a helpful change.
        respond(session, r1, "worker", {"helpful_change": "Xe đẩy mới, đỡ phải bê"})
        respond(session, r1, "worker", {"helpful_change": ""})
        respond(session, r1, "worker", {"safer": 4})
        # E2's two worker answers are never released (under 3): they count nowhere.
        respond(session, r2, "worker", {"helpful_change": "Quạt hút ở chuyền may"}, complete=False)
        respond(session, r2, "worker", {"helpful_change": "Ghế có tựa"}, complete=False)


@pytest.mark.parametrize("rollups", [True, False])
def test_going_well_and_support_wanted_are_counted(setup: Setup, rollups: bool) -> None:
    seed_answers(setup)
    summary = summarise(setup, provider_id=setup.provider, rollups=rollups)
    employers, workers = summary.employers, summary.workers
    assert employers.respondents == 2 and employers.going_well == 1
    assert [(c.code, c.count) for c in employers.support_wanted] == [
        ("low_cost_ideas", 2), ("other", 1), ("revisit", 1),
    ]  # fmt: skip
    assert employers.support_other == 1
    assert workers.respondents == 3 and workers.helpful_change == 1
    # E2 alone: no released worker unit, so the worker count is withheld, not zero.
    # From 2 February: E2's round only (E1's opened on the 1st).
    e2_only = summarise(setup, "2027-02-02..2027-03-31", provider_id=setup.provider,
                        rollups=rollups)  # fmt: skip
    assert e2_only.workers.respondents == 0 and e2_only.workers.helpful_change is None
    assert e2_only.employers.going_well == 0 and e2_only.employers.support_other == 1


def test_staff_read_the_texts_with_worker_texts_only_from_released_rounds(setup: Setup) -> None:
    seed_answers(setup)
    summary = summarise(setup, provider_id=setup.provider)
    message = summary_text(summary, "vi")
    assert "| chia sẻ điều đang làm tốt | 2 |" not in message
    assert "| chia sẻ điều đang làm tốt | 1 | |" in message
    assert "| nêu thay đổi giúp ích nhiều nhất | | 1 |" in message
    assert "Hỗ trợ doanh nghiệp mong muốn: Gợi ý cải thiện chi phí thấp (2)" in message
    chat = summary_message(summary, "vi")
    assert (
        "🌱 Điều đang làm tốt: 1 doanh nghiệp chia sẻ; hỗ trợ được mong muốn nhiều nhất: Gợi ý "
        "cải thiện chi phí thấp (2)"
    ) in chat
    with setup.database.session() as session:
        sheets = {s.name: s for s in export_sheets(session, summary=summary, tz=TZ, language="vi")}
        voices = list(sheets["voices"].rows())
    texts = [row[5] for row in voices]
    assert "Xưởng gọn gàng, lối đi thông thoáng" in texts
    assert "Tư vấn về phòng cháy" in texts
    assert "Gợi ý cải thiện chi phí thấp" in texts and "Khác" in texts
    assert "Xe đẩy mới, đỡ phải bê" in texts
    # Unreleased worker answers and blank texts stay out; worker rows carry no response number.
    assert "Quạt hút ở chuyền may" not in texts and "Ghế có tựa" not in texts
    assert "" not in texts and "   " not in texts
    worker_rows = [row for row in voices if row[2] == "Ý kiến của người lao động"]
    assert len(worker_rows) == 1 and worker_rows[0][3] is None
    # E1: its text and 2 choices; E2: 2 choices and its other support (the blank text is out);
    # the one worker text.
    assert len(voices) == 3 + 3 + 1
