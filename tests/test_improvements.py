"""The improvement-report domain (models/improvements.py) without Telegram."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from models import improvements as imp
from models.db import Database
from models.improvements import CostBand, PhotoSlot, Review, RiskWhen, Step
from models.programme import EnterpriseDraft, ProgrammeError, add_enterprise, add_provider
from models.tables import Contact, Improvement, ImprovementMessage, ReviewStatus, Role, ShareConsent

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("500000", 500_000),
        ("500.000", 500_000),
        ("500,000", 500_000),
        ("500 000", 500_000),
        ("500k", 500_000),
        ("500 K", 500_000),
        ("500 nghìn", 500_000),
        ("1,5 triệu", 1_500_000),
        ("1.5tr", 1_500_000),
        ("2 triệu", 2_000_000),
        ("1.5 million", 1_500_000),
        ("1.500.000 đ", 1_500_000),
        ("1.500.000 đồng", 1_500_000),
        ("1500000 VND", 1_500_000),
        ("0", 0),
        ("Miễn phí", 0),
        ("free", 0),
        ("1,2 tỷ", 1_200_000_000),
    ],
)
def test_costs_are_read_the_ways_people_write_them(typed: str, amount: int) -> None:
    assert imp.parse_cost(typed) == amount


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("-500000", "cost_negative"),
        ("- 5k", "cost_negative"),
        ("", "cost_not_number"),
        ("   ", "cost_not_number"),
        ("about fifty", "cost_not_number"),
        ("500 apples", "cost_not_number"),
        ("1,5", "cost_unclear"),
        ("1.50", "cost_unclear"),
        ("99999999999", "cost_too_high"),
        ("20 tỷ", "cost_too_high"),
    ],
)
def test_impossible_costs_are_refused_with_a_reason(typed: str, code: str) -> None:
    with pytest.raises(ProgrammeError) as raised:
        imp.parse_cost(typed)
    assert raised.value.code == code


def test_cost_bands_have_inclusive_edges() -> None:
    assert imp.band_of(0) == CostBand.FREE
    assert imp.band_of(999_999) == CostBand.UNDER_1M
    assert imp.band_of(1_000_000) == CostBand.FROM_1M_TO_5M
    assert imp.band_of(5_000_000) == CostBand.FROM_1M_TO_5M
    assert imp.band_of(5_000_001) == CostBand.OVER_5M


@pytest.mark.parametrize(
    ("typed", "workers"),
    [("12", 12), ("0", 0), ("1.200", 1200), ("1 200", 1200), ("12 người", 12), ("7 workers", 7)],
)
def test_workers_are_whole_numbers_from_zero(typed: str, workers: int) -> None:
    assert imp.parse_workers(typed) == workers


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("-3", "workers_negative"),
        ("2.5", "workers_not_whole"),
        ("many", "workers_not_number"),
        ("", "workers_not_number"),
        ("12 cats", "workers_not_number"),
        ("2000000", "workers_too_many"),
    ],
)
def test_impossible_worker_numbers_are_refused(typed: str, code: str) -> None:
    with pytest.raises(ProgrammeError) as raised:
        imp.parse_workers(typed)
    assert raised.value.code == code


def test_descriptions_are_between_5_and_1000_characters() -> None:
    assert imp.clean_text("  Kệ mới  ", maximum=1000) == "Kệ mới"
    for text, code in (("", "text_empty"), ("   \n ", "text_empty"), ("abcd", "text_too_short")):
        with pytest.raises(ProgrammeError) as raised:
            imp.clean_text(text, maximum=1000)
        assert raised.value.code == code
    assert len(imp.clean_text("x" * 1000, maximum=1000)) == 1000
    with pytest.raises(ProgrammeError) as raised:
        imp.clean_text("x" * 1001, maximum=1000)
    assert raised.value.details == {"limit": 1000, "length": 1001}


def test_risk_score_is_likelihood_times_severity() -> None:
    assert [imp.risk_score(lik, sev) for lik in (1, 2, 3) for sev in (1, 2, 3)] == [
        1, 2, 3, 2, 4, 6, 3, 6, 9,
    ]  # fmt: skip
    for bad in ((0, 1), (1, 4), (3, -1)):
        with pytest.raises(ProgrammeError):
            imp.risk_score(*bad)


# -- the lifecycle of a report ---------------------------------------------------------------


class Setup:
    def __init__(self, session: Session) -> None:
        self.session = session
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng", province_code="da-nang")
        other = add_provider(session, name="Trung tâm Huế", province_code="hue")
        draft = EnterpriseDraft("Xưởng mộc Hòa Phát", "wood", "da-nang", 12, date(2026, 10, 1))
        self.enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=date(2027, 3, 1)
        )  # type: ignore[arg-type]
        self.employer = self.contact(Role.EMPLOYER, 1, enterprise_id=self.enterprise.id)
        self.worker = self.contact(Role.WORKER, 2, enterprise_id=self.enterprise.id)
        self.staff = self.contact(Role.STAFF, 3, provider_id=provider.id)
        self.stranger = self.contact(Role.STAFF, 4, provider_id=other.id)
        self.coordinator = self.contact(Role.COORDINATOR, 5)

    def contact(self, role: Role, user: int, **where: int | None) -> Contact:
        contact = Contact(telegram_user_id=user, chat_id=user, role=role, display_name=f"P{user}")
        for key, value in where.items():
            setattr(contact, key, value)
        self.session.add(contact)
        self.session.flush()
        return contact

    def complete(self, reporter: Contact | None = None, **changes: object) -> Improvement:
        who = reporter or self.employer
        report = imp.start_draft(self.session, reporter=who, area_code="storage", now=NOW)
        rid = report.id
        assert rid is not None
        imp.set_description(self.session, rid, reporter=who, text="Kệ ba tầng cho gỗ", now=NOW)
        imp.set_cost(self.session, rid, reporter=who, cost_vnd=1_500_000, now=NOW)
        imp.set_workers(self.session, rid, reporter=who, workers=8, now=NOW)
        for when in RiskWhen:
            imp.set_risk(
                self.session, rid, reporter=who, when=when, likelihood=3, severity=2, now=NOW
            )
        imp.set_risk(self.session, rid, reporter=who, when=RiskWhen.AFTER, likelihood=1, now=NOW)
        imp.set_risk(self.session, rid, reporter=who, when=RiskWhen.AFTER, severity=1, now=NOW)
        imp.set_share(self.session, rid, reporter=who, consent=ShareConsent.ANONYMOUS, now=NOW)
        for name, value in changes.items():
            setattr(report, name, value)
        self.session.refresh(report)
        return report


@pytest.fixture
def setup(database: Database) -> Setup:
    with database.session() as session:
        yield Setup(session)  # type: ignore[misc]


def test_a_draft_is_saved_answer_by_answer_and_submitted_once(setup: Setup) -> None:
    report = setup.complete()
    assert (report.risk_before_likelihood, report.risk_before_severity) == (3, 2)
    assert (report.risk_before_score, report.risk_after_score) == (6, 1)
    assert (report.cost_vnd, report.cost_band) == (1_500_000, "1m_5m")
    assert imp.missing(report) == []
    first = imp.submit(setup.session, report.id, reporter=setup.employer, now=NOW)
    again = imp.submit(setup.session, report.id, reporter=setup.employer, now=NOW)
    assert (first.changed, again.changed) == (True, False)
    assert first.improvement.status == ReviewStatus.SUBMITTED
    assert first.improvement.submitted_at == NOW and first.improvement.draft_step is None


def test_an_incomplete_draft_cannot_be_submitted_and_says_what_is_missing(setup: Setup) -> None:
    report = imp.start_draft(setup.session, reporter=setup.worker, area_code="machine", now=NOW)
    # The optional kind comes next; a missing kind never keeps a report from being sent.
    assert report.draft_step == Step.KIND and imp.resume_step(report) == Step.KIND
    with pytest.raises(ProgrammeError) as raised:
        imp.submit(setup.session, report.id, reporter=setup.worker, now=NOW)
    assert raised.value.details["missing"][0] == "description"


def test_only_employers_and_workers_report_and_only_on_their_own_drafts(setup: Setup) -> None:
    with pytest.raises(ProgrammeError) as raised:
        imp.start_draft(setup.session, reporter=setup.staff, area_code="storage", now=NOW)
    assert raised.value.code == "not_a_reporter"
    report = imp.start_draft(setup.session, reporter=setup.employer, area_code="storage", now=NOW)
    with pytest.raises(ProgrammeError) as raised:
        imp.set_description(setup.session, report.id, reporter=setup.worker, text="hello!", now=NOW)
    assert raised.value.code == "unknown_report"
    with pytest.raises(ProgrammeError):
        imp.start_draft(setup.session, reporter=setup.employer, area_code="nope", now=NOW)


def test_a_free_band_is_zero_and_a_band_alone_keeps_no_amount(setup: Setup) -> None:
    report = imp.start_draft(setup.session, reporter=setup.employer, area_code="storage", now=NOW)
    imp.set_cost(setup.session, report.id, reporter=setup.employer, band=CostBand.FREE, now=NOW)
    assert (report.cost_vnd, report.cost_band) == (0, "free")
    imp.set_cost(setup.session, report.id, reporter=setup.employer, band=CostBand.OVER_5M, now=NOW)
    assert (report.cost_vnd, report.cost_band) == (None, "over_5m")
    with pytest.raises(ProgrammeError):
        imp.set_cost(setup.session, report.id, reporter=setup.employer, cost_vnd=-1, now=NOW)


def test_more_workers_than_the_workforce_needs_a_confirmation(setup: Setup) -> None:
    report = imp.start_draft(setup.session, reporter=setup.employer, area_code="storage", now=NOW)
    with pytest.raises(ProgrammeError) as raised:
        imp.set_workers(setup.session, report.id, reporter=setup.employer, workers=30, now=NOW)
    assert raised.value.details == {"workforce": 12, "workers": 30}
    assert report.workers_benefiting is None
    imp.set_workers(
        setup.session, report.id, reporter=setup.employer, workers=30, now=NOW, confirmed=True
    )
    assert report.workers_benefiting == 30
    imp.set_workers(setup.session, report.id, reporter=setup.employer, workers=0, now=NOW)
    assert report.workers_benefiting == 0


def test_a_new_likelihood_clears_the_old_severity_so_no_score_is_stale(setup: Setup) -> None:
    report = setup.complete()
    imp.set_risk(
        setup.session, report.id, reporter=setup.employer, when=RiskWhen.BEFORE, likelihood=1,
        now=NOW,
    )  # fmt: skip
    assert (report.risk_before_likelihood, report.risk_before_severity) == (1, None)
    assert report.risk_before_score is None
    assert Step.RISK_BEFORE in imp.missing(report)


def test_naming_the_enterprise_is_the_employers_decision(setup: Setup) -> None:
    report = imp.start_draft(setup.session, reporter=setup.worker, area_code="storage", now=NOW)
    with pytest.raises(ProgrammeError) as raised:
        imp.set_share(
            setup.session, report.id, reporter=setup.worker, consent=ShareConsent.NAMED, now=NOW
        )
    assert raised.value.code == "naming_is_for_employers"


def test_photos_are_replaced_and_discarding_a_draft_removes_them(
    setup: Setup, tmp_path: Path
) -> None:
    report = imp.start_draft(setup.session, reporter=setup.employer, area_code="storage", now=NOW)
    first, second = tmp_path / "improvements/a.jpg", tmp_path / "improvements/b.jpg"
    first.parent.mkdir()
    first.write_bytes(b"1")
    second.write_bytes(b"2")
    for name in ("improvements/a.jpg", "improvements/b.jpg"):
        imp.set_photo(
            setup.session, report.id, reporter=setup.employer, slot=PhotoSlot.BEFORE,
            file_id="F", path=name, media_root=tmp_path, now=NOW,
        )  # fmt: skip
    assert not first.exists() and second.exists()
    assert report.photo_before_path == "improvements/b.jpg"
    assert imp.discard_draft(setup.session, report.id, reporter=setup.employer, media_root=tmp_path)
    assert not second.exists()
    assert setup.session.get(Improvement, report.id) is None


def test_stale_drafts_are_those_untouched_since(setup: Setup) -> None:
    old = imp.start_draft(setup.session, reporter=setup.employer, area_code="storage", now=NOW)
    later = NOW + timedelta(days=2)
    imp.start_draft(setup.session, reporter=setup.worker, area_code="machine", now=later)
    sent = setup.complete()
    imp.submit(setup.session, sent.id, reporter=setup.employer, now=NOW)
    assert [d.id for d in imp.stale_drafts(setup.session, older_than=NOW + timedelta(days=1))] == [
        old.id
    ]


def test_withdrawal_until_reviewed_and_no_edits_after(setup: Setup) -> None:
    report = setup.complete()
    imp.submit(setup.session, report.id, reporter=setup.employer, now=NOW)
    imp.set_description(
        setup.session, report.id, reporter=setup.employer, text="Kệ bốn tầng", now=NOW
    )
    assert imp.withdraw(setup.session, report.id, reporter=setup.employer, now=NOW).changed
    assert not imp.withdraw(setup.session, report.id, reporter=setup.employer, now=NOW).changed
    with pytest.raises(ProgrammeError) as raised:
        imp.set_workers(setup.session, report.id, reporter=setup.employer, workers=3, now=NOW)
    assert raised.value.code == "not_editable"
    with pytest.raises(ProgrammeError) as raised:
        imp.review(setup.session, report.id, reviewer=setup.staff, decision=Review.VERIFY, now=NOW)
    assert raised.value.details["status"] == "withdrawn"


def test_review_permissions_and_transitions(setup: Setup) -> None:
    report = setup.complete()
    with pytest.raises(ProgrammeError) as raised:  # drafts are nobody's business yet
        imp.review(setup.session, report.id, reviewer=setup.staff, decision=Review.VERIFY, now=NOW)
    assert raised.value.code == "unknown_report"
    imp.submit(setup.session, report.id, reporter=setup.employer, now=NOW)
    for outsider in (setup.stranger, setup.worker, setup.employer, None):
        with pytest.raises(ProgrammeError) as raised:
            imp.review(setup.session, report.id, reviewer=outsider, decision=Review.VERIFY, now=NOW)
        assert raised.value.code == "not_your_enterprise"
    verified = imp.review(
        setup.session, report.id, reviewer=setup.staff, decision=Review.VERIFY, now=NOW
    )
    assert verified.changed and verified.improvement.reviewed_by_id == setup.staff.id
    assert not imp.review(
        setup.session, report.id, reviewer=setup.coordinator, decision=Review.VERIFY, now=NOW
    ).changed
    with pytest.raises(ProgrammeError):  # reviewed: the reporter can no longer withdraw
        imp.withdraw(setup.session, report.id, reporter=setup.employer, now=NOW)
    good = imp.review(
        setup.session, report.id, reviewer=setup.coordinator, decision=Review.GOOD_PRACTICE,
        now=NOW,
    )  # fmt: skip
    assert good.changed and good.improvement.status == ReviewStatus.GOOD_PRACTICE
    assert imp.publishable(good.improvement)  # the enterprise agreed, anonymously
    with pytest.raises(ProgrammeError) as raised:
        imp.review(setup.session, report.id, reviewer=setup.staff, decision=Review.VERIFY, now=NOW)
    assert raised.value.details["status"] == "good_practice"


def test_good_practice_without_consent_is_kept_out_of_publication(setup: Setup) -> None:
    report = setup.complete()
    imp.set_share(
        setup.session, report.id, reporter=setup.employer, consent=ShareConsent.NO, now=NOW
    )
    imp.submit(setup.session, report.id, reporter=setup.employer, now=NOW)
    done = imp.review(
        setup.session, report.id, reviewer=setup.staff, decision=Review.GOOD_PRACTICE, now=NOW
    )
    assert done.improvement.status == ReviewStatus.GOOD_PRACTICE
    assert not imp.publishable(done.improvement)


def test_questions_go_to_the_reporter_and_only_they_answer(setup: Setup) -> None:
    report = setup.complete(setup.worker)
    imp.submit(setup.session, report.id, reporter=setup.worker, now=NOW)
    with pytest.raises(ProgrammeError):
        imp.ask(setup.session, report.id, reviewer=setup.stranger, text="Bao nhiêu?", now=NOW)
    question = imp.ask(setup.session, report.id, reviewer=setup.staff, text="Bao nhiêu?", now=NOW)
    assert (question.sender_id, question.recipient_id) == (setup.staff.id, setup.worker.id)
    for other in (setup.employer, setup.staff, None):
        with pytest.raises(ProgrammeError) as raised:
            imp.answer(setup.session, question.id, reporter=other, text="500k", now=NOW)
        assert raised.value.code == "unknown_question"
    reply = imp.answer(setup.session, question.id, reporter=setup.worker, text="500k", now=NOW)
    assert (reply.recipient_id, reply.reply_to_id) == (setup.staff.id, question.id)
    with pytest.raises(ProgrammeError):  # an answer is not a question to answer
        imp.answer(setup.session, reply.id, reporter=setup.staff, text="ok", now=NOW)
    assert [m.kind for m in imp.thread(setup.session, report.id)] == ["question", "answer"]
    assert len(setup.session.exec(select(ImprovementMessage)).all()) == 2


def test_employers_list_every_report_workers_their_own(setup: Setup) -> None:
    mine = setup.complete(setup.worker)
    theirs = setup.complete(setup.employer)
    draft = imp.start_draft(setup.session, reporter=setup.employer, area_code="welfare", now=NOW)
    for report, who in ((mine, setup.worker), (theirs, setup.employer)):
        imp.submit(setup.session, report.id, reporter=who, now=NOW)
    employer_view = [r.id for r in imp.reports_for(setup.session, setup.employer)]
    assert sorted(employer_view) == sorted([mine.id, theirs.id]) and draft.id not in employer_view
    assert [r.id for r in imp.reports_for(setup.session, setup.worker)] == [mine.id]
    assert imp.count_for(setup.session, setup.employer) == 2


def test_reviewers_are_the_providers_staff_else_the_coordinators(setup: Setup) -> None:
    report = setup.complete()
    assert [c.id for c in imp.reviewers(setup.session, report)] == [setup.staff.id]
    setup.staff.unreachable_at = NOW
    setup.session.add(setup.staff)
    setup.session.flush()
    assert [c.id for c in imp.reviewers(setup.session, report)] == [setup.coordinator.id]
