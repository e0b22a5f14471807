"""The dashboard in a real browser (Debian's Chromium driven by Playwright) at phone width:
sign in through the link, filter, open an enterprise, verify a report; another provider's
enterprise stays closed when its number is typed into the address."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.applications import Starlette

from bot import dashboard
from bot.dashboard.auth import link_token
from bot.dashboard.local import LocalServer
from models import websignin
from models.db import Database
from models.tables import Contact, Improvement, ReviewStatus
from tests.factories import DashboardSite as Site
from tests.factories import dashboard_site

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")


def photo(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def served(database: Database, tmp_path: Path) -> Iterator[tuple[Site, LocalServer]]:
    site = dashboard_site(database, tmp_path)
    photo(site.settings.media_dir / "reports/before.jpg", (180, 60, 40))
    photo(site.settings.media_dir / "reports/after.jpg", (40, 140, 70))
    with database.session() as session:
        report = session.get(Improvement, site.report)
        assert report is not None
        report.photo_before_path = "reports/before.jpg"
        report.photo_after_path = "reports/after.jpg"
        session.add(report)
    app = Starlette(routes=[dashboard.mount(database, site.settings, clock=site.clock)])
    with LocalServer(app) as server:
        yield site, server


def sign_in_link(site: Site, server: LocalServer, contact_id: int) -> str:
    with site.database.session() as session:
        row = websignin.issue(session, session.get(Contact, contact_id), now=site.clock())
    return f"{server.url}/dashboard/signin?t={link_token(site.settings, row.id)}"


def test_staff_sign_in_filter_open_an_enterprise_and_verify_on_a_phone(
    served: tuple[Site, LocalServer],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    site, server = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(viewport=PHONE).new_page()
            page.goto(sign_in_link(site, server, site.staff1))
            expect(page.locator("html")).to_have_attribute("lang", "vi")
            # Opening the link asks first: a link preview spends nothing.
            expect(page.locator("main")).to_contain_text("Đăng nhập vào trang quản lý oshbot")
            page.get_by_role("button", name="Đăng nhập").click()
            expect(page.locator("h1")).to_contain_text("Tổng hợp theo dõi")
            # Nothing wider than the phone: no sideways scrolling.
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            # The keyboard reaches the skip link first.
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == (
                "Bỏ qua, đến nội dung chính"
            )

            # Filter: this quarter, Huế only (one enterprise of this provider).
            page.get_by_label("Kỳ").select_option("this_quarter")
            page.get_by_label("Tỉnh, thành").select_option("hue")
            page.get_by_role("button", name="Áp dụng").click()
            expect(page).to_have_url(re.compile(r"/dashboard/\?period=this_quarter&province=hue"))
            tile = page.locator(".figures li", has_text="tham gia chương trình").first
            expect(tile.locator("b")).to_have_text("1")
            charts = page.locator(".charts img")
            expect(charts).to_have_count(3)
            assert all(
                width > 0 for width in charts.evaluate_all("els => els.map(e => e.naturalWidth)")
            )

            # Open the enterprise through the list and its search.
            page.get_by_role("link", name="Doanh nghiệp").click()
            page.get_by_label("Tìm theo tên").fill("Hòa Phát")
            page.get_by_role("button", name="Áp dụng").click()
            page.get_by_role("link", name="Xưởng mộc Hòa Phát").click()
            expect(page.locator("h1")).to_have_text("Xưởng mộc Hòa Phát")
            report = page.locator(f"#report-{site.report}")
            expect(report).to_contain_text("Giá để phôi gỗ cạnh máy cưa")
            before = report.get_by_role("img", name=f"Trước: báo cáo #{site.report}")
            before.scroll_into_view_if_needed()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=before.element_handle()
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            # Verify it: the page says so and the report is verified for the chat too.
            report.get_by_role("button", name="Xác nhận", exact=True).click()
            expect(page.locator(".notice")).to_have_text("Đã xác nhận. Xin cảm ơn!")
            expect(page.locator(f"#report-{site.report} .tag")).to_have_text("đã xác nhận")
            with site.database.session() as session:
                stored = session.get(Improvement, site.report)
                assert stored is not None and stored.status == ReviewStatus.VERIFIED

            # Another provider's enterprise, by changing the number in the address: closed.
            response = page.goto(f"{server.url}/dashboard/enterprises/{site.programme.e4}")
            assert response is not None and response.status == 404
            expect(page.locator("body")).not_to_contain_text("Cơ khí Tân Tiến")
            photo_of_other = page.goto(f"{server.url}/dashboard/photos/{site.report}/before")
            assert photo_of_other is not None and photo_of_other.status == 200
        finally:
            browser.close()


def test_the_other_providers_staff_cannot_open_this_enterprise_or_its_photos(
    served: tuple[Site, LocalServer],
) -> None:
    from playwright.sync_api import sync_playwright

    site, server = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(sign_in_link(site, server, site.staff2))
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url(f"{server.url}/dashboard/")
            for address in (
                f"/dashboard/enterprises/{site.programme.e1}",
                f"/dashboard/photos/{site.report}/before",
            ):
                response = page.goto(server.url + address)
                assert response is not None and response.status == 404
            # Signed out, nothing opens at all.
            page.context.clear_cookies()
            response = page.goto(f"{server.url}/dashboard/enterprises/{site.programme.e1}")
            assert response is not None and response.status == 401
        finally:
            browser.close()
