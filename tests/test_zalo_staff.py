"""/summary and /export on Zalo (issue 13), end to end through the Zalo driver and the in-process
Zalo sandbox, on the domain functions Telegram's summary panel uses: the summary as plain text
and its charts as signed-link photos, the export's workbook as a signed download link, another
period typed after the command, the wrong role refused, and no link without OSHBOT_PUBLIC_URL.
The world's clock is fixed (1 March 2027), so "this month" is March 2027."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import urlsplit

import httpx
from openpyxl import load_workbook
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot import dashboard
from bot.web import create_app
from bot.zalo import render
from bot.zalo.sandbox import SentMessage
from models.tables import Role, WebSignIn
from reports import filters
from reports.figures import Scope, relative_period
from reports.files import shown_summary
from tests import test_zalo_driver
from tests.conftest import World
from tests.factories import seed, sign_in
from tests.test_zalo_driver import PUBLIC_URL, Zalo, text_of, zalo_contact
from tests.test_zalo_practices import on_zalo

zalo = test_zalo_driver.zalo

STAFF_ONLY = "Xin lỗi, chức năng này chỉ dành cho cán bộ chương trình."
NO_FILE = "Không gửi được tệp này qua Zalo."


def expected(
    world: World, key: str, provider_id: int | None, language: str = "vi", **filters: str
) -> str:
    """What Telegram's panel shows for the period, scope and filters, as Zalo's plain text."""
    today = world.clock().astimezone(world.settings.tz).date()
    with world.database.reading() as session:
        text, _charts = shown_summary(
            session, period=relative_period(key, today),
            scope=Scope(provider_id=provider_id, **filters),
            tz=world.settings.tz, today=today, language=language,
        )  # fmt: skip
    return render.plain(text)


async def fetched(world: World, link: str) -> bytes:
    web = httpx.ASGITransport(app=create_app(world.application))
    async with httpx.AsyncClient(transport=web, base_url="http://osh") as http:
        response = await http.get(urlsplit(link).path)
        assert response.status_code == 200
        return response.content


def links_in(messages: list[SentMessage]) -> list[str]:
    return [w for w in text_of(messages).split() if w.startswith(f"{PUBLIC_URL}/files/")]


async def test_staff_get_their_provider_s_summary_and_its_charts(world: World, zalo: Zalo) -> None:
    programme = seed(world.database)
    staff = on_zalo(world, zalo, "sum1", Role.STAFF, provider_id=programme.p1)
    sent = await zalo.say(staff, "/summary")
    text, *charts = sent
    assert text.method == "sendMessage"
    assert text.plain == expected(world, "this_month", programme.p1)
    assert "Trung tâm ATVSLĐ Đà Nẵng" in text.plain and "3/2027" in text.plain
    assert "<b>" not in text.plain and "Cần Thơ" not in text.plain
    assert charts and all(m.method == "sendPhoto" for m in charts)
    for chart in charts:
        assert (chart.photo_url or "").startswith(f"{PUBLIC_URL}/files/")
        assert chart.caption and "<" not in chart.caption
        assert (chart.photo_bytes or b"").startswith(b"\x89PNG\r\n\x1a\n")
    # Another period, by its name without diacritics, or its number in Telegram's order.
    quarter = await zalo.say(staff, "/summary quy nay")
    assert quarter[0].plain == expected(world, "this_quarter", programme.p1)
    year = await zalo.say(staff, "/summary 4")
    assert year[0].plain == expected(world, "this_year", programme.p1)
    unknown = text_of(await zalo.say(staff, "/summary tuần sau"))
    assert "Gõ /summary" in unknown and "Quý này" in unknown
    assert "\n/summary — " in text_of(await zalo.say(staff, "/help"))


async def test_a_coordinator_sees_the_whole_programme_in_english(world: World, zalo: Zalo) -> None:
    seed(world.database)
    coordinator = on_zalo(world, zalo, "sum2", Role.COORDINATOR, language="en")
    sent = await zalo.say(coordinator, "/summary last month")
    assert sent[0].plain == expected(world, "last_month", None, "en")
    assert "2027" in sent[0].plain and "Trung tâm" not in sent[0].plain
    assert all(m.method == "sendPhoto" for m in sent[1:]) and len(sent) > 1


async def test_summary_filters_are_typed_after_the_command(world: World, zalo: Zalo) -> None:
    """The panel's province, sector and area filters, typed as words beside the period in any
    order, with or without diacritics, through the panel's own Scope."""
    programme = seed(world.database)
    staff = on_zalo(world, zalo, "sum3", Role.STAFF, provider_id=programme.p1)
    sent = await zalo.say(staff, "/summary quý này Đà Nẵng")
    assert sent[0].plain == expected(world, "this_quarter", programme.p1, province_code="da-nang")
    assert "Trung tâm ATVSLĐ Đà Nẵng · Đà Nẵng" in sent[0].plain
    sent = await zalo.say(staff, "/summary ngành go noi that o Hue nam nay an toan may moc")
    assert sent[0].plain == expected(
        world, "this_year", programme.p1, province_code="hue", sector_code="wood",
        area_code="machine",
    )  # fmt: skip
    assert sent[0].plain != expected(world, "this_year", programme.p1)
    # Staff stay on their provider whatever they type; a coordinator's filters cover everyone.
    coordinator = on_zalo(world, zalo, "sum4", Role.COORDINATOR, language="en")
    sent = await zalo.say(coordinator, "/summary Can Tho last month")
    assert sent[0].plain == expected(world, "last_month", None, "en", province_code="can-tho")

    # Words that name nothing: said, with what may be typed, in the person's language.
    unknown = text_of(await zalo.say(staff, "/summary quý này Hà Nội xyz"))
    assert unknown.startswith("Tôi chưa hiểu “xyz”.")
    assert "Gõ /summary" in unknown and "Quý này" in unknown and "Cần Thơ" in unknown
    assert "Dệt may" in unknown and "An toàn máy móc" in unknown
    assert "Ví dụ: /summary quý này Đà Nẵng" in unknown
    twice = text_of(await zalo.say(staff, "/summary Đà Nẵng Huế"))
    assert "nhiều nhất một khoảng thời gian, một tỉnh/thành phố" in twice
    english = text_of(await zalo.say(coordinator, "/export next week"))
    assert "I did not understand “next week”." in english
    assert "For example: /export this quarter Da Nang" in english


async def test_export_takes_the_same_filters(world: World, zalo: Zalo) -> None:
    programme = seed(world.database)
    staff = on_zalo(world, zalo, "exp3", Role.STAFF, provider_id=programme.p1)
    sent = await zalo.say(staff, "/export năm nay Huế")
    workbook_link, _archive = links_in(sent)
    workbook = load_workbook(io.BytesIO(await fetched(world, workbook_link)), read_only=True)
    cells = {
        cell for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
        for cell in row
    }  # fmt: skip
    assert "Mộc Thuận An" in cells and "Xưởng mộc Hòa Phát" not in cells


async def test_export_is_the_workbook_and_the_csv_files_as_signed_links(
    world: World, zalo: Zalo
) -> None:
    programme = seed(world.database)
    staff = on_zalo(world, zalo, "exp1", Role.STAFF, provider_id=programme.p1)
    sent = await zalo.say(staff, "/export")
    assert "Dữ liệu theo dõi, tháng 3/2027" in text_of(sent)
    assert "Các bảng trên ở dạng tệp CSV (UTF-8)." in text_of(sent)
    workbook_link, archive_link = links_in(sent)
    workbook = load_workbook(io.BytesIO(await fetched(world, workbook_link)), read_only=True)
    cells = {
        cell for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
        for cell in row
    }  # fmt: skip
    # The staff member's provider only, as on Telegram.
    assert "Xưởng mộc Hòa Phát" in cells and "Cơ khí Tân Tiến" not in cells
    names = zipfile.ZipFile(io.BytesIO(await fetched(world, archive_link))).namelist()
    assert names and all(name.endswith(".csv") for name in names)


async def test_export_without_a_public_address_says_it_cannot_be_sent(
    world: World, zalo: Zalo
) -> None:
    programme = seed(world.database)
    driver = zalo.channel.driver
    driver.settings = driver.settings.model_copy(update={"public_url": None})
    staff = on_zalo(world, zalo, "exp2", Role.STAFF, provider_id=programme.p1)
    shown = text_of(await zalo.say(staff, "/export"))
    assert shown.count(NO_FILE) == 2 and f"{PUBLIC_URL}/files/" not in shown


async def test_summary_and_export_are_refused_to_employers_and_workers(
    world: World, zalo: Zalo
) -> None:
    programme = seed(world.database)
    worker = on_zalo(world, zalo, "w1", Role.WORKER, enterprise_id=programme.e1)
    for command in ("/summary", "/export"):
        refused = await zalo.say(worker, command)
        assert [m.method for m in refused] == ["sendMessage"]
        assert STAFF_ONLY in text_of(refused)
    assert "/summary" not in text_of(await zalo.say(worker, "/help"))
    employer = on_zalo(world, zalo, "e1", Role.EMPLOYER, language="en", enterprise_id=programme.e1)
    assert "only for programme staff" in text_of(await zalo.say(employer, "/export"))


async def test_web_on_zalo_gives_staff_a_one_time_sign_in_link(world: World, zalo: Zalo) -> None:
    """/web on Zalo issues Telegram's sign-in link (models/websignin.py), listed in /help for
    staff; the link signs in once; an employer is refused as on Telegram."""
    programme = seed(world.database)
    staff = on_zalo(world, zalo, "web1", Role.STAFF, provider_id=programme.p1)
    shown = text_of(await zalo.say(staff, "/web"))
    assert "chỉ dùng được một lần, trong 15 phút" in shown and "<" not in shown
    found = re.search(rf"{re.escape(PUBLIC_URL)}/dashboard/signin\?t=\S+", shown)
    assert found is not None
    app = Starlette(routes=[dashboard.mount(world.database, world.settings, clock=world.clock)])
    client = TestClient(app, base_url=PUBLIC_URL)
    assert sign_in(client, found[0]).status_code == 200
    assert "Xưởng mộc Hòa Phát" in client.get("/dashboard/enterprises").text
    assert TestClient(app).get(found[0]).status_code == 403  # used once already
    helped = text_of(await zalo.say(staff, "/help"))
    assert "\n/web — " in helped and "chưa làm được trên Zalo" not in helped

    employer = on_zalo(world, zalo, "web2", Role.EMPLOYER, enterprise_id=programme.e1)
    assert text_of(await zalo.say(employer, "/web")) == STAFF_ONLY
    assert "/web — " not in text_of(await zalo.say(employer, "/help"))
    with world.database.session() as session:
        assert [row.contact_id for row in session.exec(select(WebSignIn)).all()] == [
            zalo_contact(world, staff.id).id  # type: ignore[union-attr]
        ]


def test_typed_filters_read_names_in_either_language_and_old_province_names() -> None:
    typed = filters.read("Năm nay TP.HCM ngành gỗ, nội thất")
    assert typed.chosen == {"period": "this_year", "province": "tp-ho-chi-minh", "sector": "wood"}
    assert filters.read("last month in Quảng Nam storage").chosen == {
        "period": "last_month", "province": "da-nang", "area": "storage",
    }  # fmt: skip
    assert filters.read("4").period == "this_year" and filters.read("").understood
    assert filters.read("xyz quý này abc").unknown == ("xyz", "abc")
    assert filters.read("Đà Nẵng Huế").twice == ("province",)
