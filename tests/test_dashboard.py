"""The web dashboard over HTTP: one-time sign-in, pages scoped to the person's provider, the
review through the chat's domain functions and notices, exports, languages."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot import dashboard
from bot.dashboard import auth
from models import websignin
from models.db import Database
from models.programme import ProgrammeError
from models.tables import (
    Contact,
    Improvement,
    ImprovementMessage,
    Outbox,
    ReviewStatus,
    Role,
    WebSignIn,
)
from tests.conftest import World
from tests.factories import (
    DASHBOARD_NOW as NOW,
)
from tests.factories import (
    DashboardSite as Site,
)
from tests.factories import (
    dashboard_site,
    join,
    make_enterprise,
    make_invite,
    make_provider,
    sign_in,
)


@pytest.fixture
def site(database: Database, tmp_path: Path) -> Iterator[Site]:
    yield dashboard_site(database, tmp_path)


# -- sign-in ---------------------------------------------------------------------------------


def test_a_link_signs_in_once_and_the_session_lasts_a_working_day(site: Site) -> None:
    link = site.link(site.staff1)
    assert link.startswith("https://osh.example.vn/dashboard/signin?t=")
    client = site.client()
    # Opening it (as a chat app's link preview would) only asks: nothing is spent.
    for _ in range(2):
        asked = site.client().get(link)
        assert asked.status_code == 200 and "Lan" in asked.text
        assert auth.COOKIE not in asked.cookies
    first = sign_in(client, link)
    assert first.status_code == 200
    assert '<html lang="vi">' in first.text and "Tổng hợp theo dõi" in first.text
    # The same link again, even in another browser: refused, opened or pressed.
    again = site.client().get(link)
    assert again.status_code == 403 and "đã được dùng" in again.text
    pressed = site.client().post("/dashboard/signin", data={"t": link.split("t=", 1)[1]})
    assert pressed.status_code == 403 and auth.COOKIE not in pressed.cookies
    site.clock.advance(hours=9)
    assert client.get("/dashboard/enterprises").status_code == 200
    site.clock.advance(hours=1, minutes=1)
    late = client.get("/dashboard/enterprises")
    assert late.status_code == 401 and "/web" in late.text


def test_a_link_expires_after_minutes_and_a_forged_one_is_refused(site: Site) -> None:
    link = site.link(site.staff1)
    site.clock.advance(minutes=websignin.LINK_MINUTES, seconds=1)
    assert site.client().get(link).status_code == 403
    assert sign_in(site.client(), link).status_code == 403
    forged = re.sub(r"t=[^.]+", "t=Zm9v", site.link(site.staff1))
    assert site.client().get(forged).status_code == 403
    assert site.client().post("/dashboard/signin", data={"t": "Zm9v"}).status_code == 403
    assert site.client().get("/dashboard/").status_code == 401


def test_links_are_only_for_staff_and_coordinators(site: Site) -> None:
    with site.database.session() as session, pytest.raises(ProgrammeError):
        websignin.issue(session, session.get(Contact, site.employer), now=site.clock())


def test_a_person_removed_after_signing_in_is_out_at_once(site: Site) -> None:
    client = site.signed_in(site.staff1)
    with site.database.session() as session:
        person = session.get(Contact, site.staff1)
        assert person is not None
        person.removed_at = site.clock()
        session.add(person)
    assert client.get("/dashboard/").status_code == 401


# -- what each person sees -------------------------------------------------------------------


def test_staff_see_their_provider_only(site: Site) -> None:
    client = site.signed_in(site.staff1)
    page = client.get("/dashboard/enterprises")
    assert "Xưởng mộc Hòa Phát" in page.text and "Cơ khí Tân Tiến" not in page.text
    # Asking for the other provider in the address changes nothing for staff.
    other = client.get(f"/dashboard/enterprises?provider={site.programme.p2}")
    assert "Cơ khí Tân Tiến" not in other.text
    assert client.get(f"/dashboard/enterprises/{site.programme.e4}").status_code == 404
    assert client.get("/dashboard/enterprises/99999").status_code == 404
    assert client.get("/dashboard/providers").status_code == 403
    mine = client.get(f"/dashboard/enterprises/{site.programme.e1}")
    assert mine.status_code == 200 and "Giá để phôi gỗ" in mine.text


def test_the_enterprise_page_shows_its_action_plan(site: Site) -> None:
    """The plan made at the training sits beside the visits: by due day, with its state, an
    overdue one marked, a done one linked to the report that carried it out."""
    from models import plans

    today = site.clock().astimezone(site.settings.tz).date()
    with site.database.session() as session:
        for what, due in (("Kẻ vạch lối đi", today - timedelta(days=3)), ("Giá ba tầng", today)):
            plans.add_item(
                session,
                enterprise_id=site.programme.e1,
                draft=plans.ItemDraft("storage", what, "Anh Sơn", due),
                actor=None,
                today=today - timedelta(days=30),
                now=site.clock(),
            )
    page = site.signed_in(site.staff1).get(f"/dashboard/enterprises/{site.programme.e1}").text
    plan = page[page.index("Kế hoạch hành động") : page.index("Các đợt khảo sát")]
    assert plan.index("Kẻ vạch lối đi") < plan.index("Giá ba tầng")
    assert plan.count("quá hạn") == 1 and "Anh Sơn" in plan
    other = site.signed_in(site.staff1).get(f"/dashboard/enterprises/{site.programme.e2}").text
    assert "Chưa ghi kế hoạch hành động nào" in other


def test_the_list_shows_each_enterprises_state_and_searches(site: Site) -> None:
    client = site.signed_in(site.staff1)
    page = client.get("/dashboard/enterprises?q=th")
    assert "Công ty May Thu Hà" in page.text and "Mộc Thuận An" in page.text
    assert "Xưởng mộc Hòa Phát" not in page.text
    e1 = client.get("/dashboard/enterprises?q=Hòa").text
    assert "Lần thăm gần nhất: Thứ Ba, 16/02/2027" in e1
    assert "2 báo cáo chờ xem xét" in e1
    e2 = client.get("/dashboard/enterprises?q=May").text
    assert "Quá hạn thăm từ Thứ Bảy, 20/02/2027" in e2


def test_coordinators_see_every_provider_side_by_side(site: Site) -> None:
    client = site.signed_in(site.coordinator)
    page = client.get("/dashboard/providers?period=this_quarter")
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert "Trung tâm ATVSLĐ Đà Nẵng" in page.text
    assert "Trung tâm Y tế lao động Cần Thơ" in page.text
    assert client.get(f"/dashboard/enterprises/{site.programme.e4}").status_code == 200


def test_the_overview_filters_like_the_chat(site: Site) -> None:
    client = site.signed_in(site.coordinator)
    whole = client.get("/dashboard/?period=this_quarter").text
    assert "Follow-up summary, quarter 1/2027" in whole
    assert "Improvements: " not in whole  # figures stand as tiles here, not as one line
    hue = client.get("/dashboard/?period=this_quarter&province=hue").text
    tiles = re.findall(r"<li><b>(\d+)</b>in the programme</li>", hue)
    assert tiles == ["1"]
    assert whole.count("data:image/png;base64,") == 3
    # Unknown values are dropped, not an error.
    assert client.get("/dashboard/?period=nonsense&province=atlantis").status_code == 200


def test_worker_answers_follow_the_chats_anonymity_rule(site: Site) -> None:
    client = site.signed_in(site.staff2)
    page = client.get("/dashboard/?period=this_quarter").text
    assert "Người lao động (0): quá ít câu trả lời để hiển thị" in page


# -- the review ------------------------------------------------------------------------------


def form_token(page: str) -> str:
    found = re.search(r'name="token" value="([0-9a-f]+)"', page)
    assert found is not None
    return found[1]


def test_verify_from_the_web_thanks_the_reporter_like_the_chat(site: Site) -> None:
    client = site.signed_in(site.staff1)
    queue = client.get("/dashboard/review")
    assert f'id="report-{site.report}"' in queue.text
    done = client.post(
        f"/dashboard/review/{site.report}",
        data={"action": "verify", "token": form_token(queue.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with site.database.session() as session:
        report = session.get(Improvement, site.report)
        assert report is not None and report.status == ReviewStatus.VERIFIED
        assert report.reviewed_by_id == site.staff1 and report.reviewed_at == NOW
        notice = session.exec(
            select(Outbox).where(Outbox.key == f"report-reviewed:{site.report}:verified")
        ).one()
        assert notice.contact_id == site.employer
    # Pressed again (a second tab): said plainly, nothing changes.
    again = client.post(
        f"/dashboard/review/{site.report}",
        data={"action": "verify", "token": form_token(queue.text)},
    )
    assert again.status_code == 409


def test_a_question_reaches_the_reporter_and_a_bad_one_keeps_what_was_typed(site: Site) -> None:
    client = site.signed_in(site.staff1)
    page = client.get(f"/dashboard/enterprises/{site.programme.e1}").text
    token = form_token(page)
    long = "Bao nhiêu? " * 120
    refused = client.post(
        f"/dashboard/review/{site.report}",
        data={"action": "ask", "text": long, "token": token, "back": "enterprise"},
    )
    assert refused.status_code == 400
    assert "Nội dung hơi dài" in refused.text and "Bao nhiêu? Bao nhiêu?" in refused.text
    asked = client.post(
        f"/dashboard/review/{site.report}",
        data={
            "action": "ask",
            "text": "Giá để cao bao nhiêu?",
            "token": token,
            "back": "enterprise",
        },
    )
    assert asked.status_code == 200 and "Câu hỏi của Anh/Chị đã được gửi" in asked.text
    with site.database.session() as session:
        question = session.exec(select(ImprovementMessage)).one()
        assert question.recipient_id == site.employer
        assert session.exec(
            select(Outbox).where(Outbox.key == f"report-question:{question.id}")
        ).one()


def test_another_providers_report_cannot_be_reviewed_and_forms_need_their_token(
    site: Site,
) -> None:
    client = site.signed_in(site.staff2)
    page = client.get(f"/dashboard/enterprises/{site.programme.e1}")
    assert page.status_code == 404
    other = site.signed_in(site.staff1)
    real = form_token(other.get("/dashboard/review").text)
    assert client.post(
        f"/dashboard/review/{site.report}", data={"action": "verify", "token": real}
    ).status_code in (403, 404)
    assert (
        other.post(
            f"/dashboard/review/{site.report}", data={"action": "verify", "token": "0" * 64}
        ).status_code
        == 403
    )
    with site.database.session() as session:
        report = session.get(Improvement, site.report)
        assert report is not None and report.status == ReviewStatus.SUBMITTED


# -- exports and languages -------------------------------------------------------------------


def cells_of(workbook: bytes) -> set[str]:
    book = openpyxl.load_workbook(io.BytesIO(workbook))
    return {
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    }


def test_the_workbook_downloads_for_the_chosen_period(site: Site) -> None:
    client = site.signed_in(site.staff1)
    response = client.get("/dashboard/exports/xlsx?period=this_quarter")
    assert response.status_code == 200
    assert "2027-Q1" in response.headers["content-disposition"]
    assert len(openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames) > 1
    assert "Xưởng mộc Hòa Phát" in cells_of(response.content)
    # Staff export their own provider's data, whatever the address asks for.
    assert "Cơ khí Tân Tiến" not in cells_of(response.content)
    asked = client.get(f"/dashboard/exports/xlsx?period=this_quarter&provider={site.programme.p2}")
    assert "Cơ khí Tân Tiến" not in cells_of(asked.content)
    whole = site.signed_in(site.coordinator).get("/dashboard/exports/xlsx?period=this_quarter")
    assert "Cơ khí Tân Tiến" in cells_of(whole.content)
    archive = client.get("/dashboard/exports/csv?period=this_quarter")
    assert archive.status_code == 200 and archive.content[:2] == b"PK"


def test_the_language_switch_keeps_the_page(site: Site) -> None:
    client = site.signed_in(site.staff1)
    switched = client.post(
        "/dashboard/language",
        data={"language": "en", "next": "/dashboard/enterprises?q=May"},
        follow_redirects=False,
    )
    assert switched.headers["location"] == "/dashboard/enterprises?q=May"
    page = client.get("/dashboard/enterprises?q=May")
    assert '<html lang="en">' in page.text and "Visit overdue since Sat 20 Feb 2027" in page.text
    outside = client.post(
        "/dashboard/language",
        data={"language": "vi", "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert outside.headers["location"] == "/dashboard/"


def test_sign_in_rows_are_single_use_in_the_database(site: Site) -> None:
    link = site.link(site.staff1)
    sign_in(site.client(), link)
    with site.database.session() as session:
        row = session.exec(select(WebSignIn)).one()
        assert row.used_at == NOW and row.expires_at == NOW + timedelta(minutes=15)


# -- /web in the chat ------------------------------------------------------------------------


async def test_web_in_the_chat_sends_staff_a_link_that_signs_them_in(world: World) -> None:
    world.settings.public_url = "https://osh.example.vn"
    provider = make_provider(world)
    make_enterprise(world, provider)
    await join(world, 501, make_invite(world, Role.STAFF, provider_id=provider))
    staff = world.user(501)
    reply = await staff.say("/web")
    assert reply is not None and "chỉ dùng được một lần, trong 15 phút" in reply.plain
    found = re.search(r"https://osh\.example\.vn/dashboard/signin\?t=\S+", reply.plain)
    assert found is not None
    assert reply.reply_markup is not None
    assert reply.reply_markup["inline_keyboard"][0][0]["url"] == found[0]
    app = Starlette(routes=[dashboard.mount(world.database, world.settings, clock=world.clock)])
    client = TestClient(app, base_url="https://osh.example.vn")
    page = sign_in(client, found[0])
    assert (
        page.status_code == 200
        and "Xưởng mộc Hòa Phát" in client.get("/dashboard/enterprises").text
    )
    assert TestClient(app).get(found[0]).status_code == 403  # forwarded: already used

    await join(world, 601, make_invite(world, Role.EMPLOYER, enterprise_id=1))
    refused = await world.user(601).say("/web")
    assert (
        refused is not None
        and refused.plain == "Xin lỗi, chức năng này chỉ dành cho cán bộ chương trình."
    )
    with world.database.session() as session:
        assert len(session.exec(select(WebSignIn)).all()) == 1
