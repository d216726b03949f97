"""shop_a's admin in Debian's chromium: references with their remote titles, shop_b up and down."""

import shutil
from pathlib import Path

import pytest

from tests.servers import ROOT, UvicornProcess, free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "admin-demo-pw-31c7"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def admin_shops(shops):
    """The shared demo shops, with the admin user run_demo.sh makes."""
    shops.manage("shop_a", "demo_admin", env={"DEMO_ADMIN_PASSWORD": PASSWORD})
    return shops


@pytest.fixture(scope="module")
def shop_b_down(admin_shops, tmp_path_factory):
    """A second shop_a process, on the same data, whose shop_b does not answer."""
    folder = tmp_path_factory.mktemp("admin_down")
    env = {**admin_shops.env, "SHOP_B_URL": f"http://127.0.0.1:{free_port()}/graphql/"}
    shop_a = UvicornProcess("shop_a.asgi:application", ROOT / "shop_a", env, folder / "a.log")
    shop_a.launch()
    yield f"http://127.0.0.1:{shop_a.port}"
    shop_a.stop()


def log_in(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/admin/login/?next=/admin/books/reference/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/books/reference/")
    return page


def test_the_references_list_shows_remote_titles(admin_shops, browser):
    before = admin_shops.shop_b_requests()
    page = log_in(browser, admin_shops.url)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 50
    text = page.locator("#result_list").inner_text()
    assert "Dune (shop_a)" in text and "Dune (shop_b)" in text
    assert "Shop B Volume 12 (shop_b)" in text
    assert "unavailable" not in text
    # The page's remote targets, audiobooks and books, in one request.
    assert admin_shops.shop_b_requests() - before == 1
    # The admin's stylesheet is served too.
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-references.png"), full_page=False)

    page.locator("#result_list tbody tr").nth(3).locator("th a").click()
    page.wait_for_url("**/change/")
    assert "(shop_b)" in page.locator(".field-content_object").inner_text()
    page.context.close()


def test_the_references_list_renders_with_shop_b_down(shop_b_down, browser):
    page = log_in(browser, shop_b_down)
    text = page.locator("#result_list").inner_text()
    assert "Dune (shop_a)" in text
    assert "(shop_b unavailable)" in text
    assert "Dune (shop_b)" not in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-references-shop-b-down.png"))
    page.context.close()
