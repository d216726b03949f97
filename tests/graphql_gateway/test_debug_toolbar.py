"""The remote requests panel of django-debug-toolbar, in shop_a with SHOP_A_DEBUG=1.

A second shop_a process on the demo's data, with the toolbar on, seen in
Debian's chromium through Playwright.
"""

import pytest

from tests.graphql_gateway.test_browser import ARTIFACTS, browser  # noqa: F401 - a fixture
from tests.servers import ROOT, GatewayClient, UvicornProcess

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def debug_shop_a(shops, tmp_path_factory):
    folder = tmp_path_factory.mktemp("debug")
    env = {**shops.env, "SHOP_A_DEBUG": "1"}
    shop_a = UvicornProcess("shop_a.asgi:application", ROOT / "shop_a", env, folder / "a.log")
    shop_a.launch()
    client = GatewayClient(f"http://127.0.0.1:{shop_a.port}")
    client.log = shop_a.log
    yield client
    shop_a.stop()


@pytest.fixture
def page(browser):  # noqa: F811 - the imported fixture
    context = browser.new_context(viewport={"width": 1200, "height": 640})
    page = context.new_page()
    yield page
    context.close()


def test_the_panel_lists_the_remote_requests_of_the_books_page(debug_shop_a, page):
    page.goto(f"{debug_shop_a.url}/books/")
    # The page itself: Dune's shopping options come first.
    assert page.locator("section.book h2, section.book h3").first.inner_text() == "Dune"
    link = page.locator("#djdt-RemoteRequestsPanel")
    link.wait_for(timeout=15000)
    # One _entities request for the page's remote books and audiobooks.
    assert "1 request in" in link.inner_text()
    link.locator("a, .djDebugPanelButton").first.click()
    panel = page.locator("#RemoteRequestsPanel")
    rows = panel.locator("table.federated-fk-requests tbody tr")
    rows.first.wait_for(timeout=15000)
    assert rows.count() == 1
    cells = rows.first.locator("td").all_inner_texts()
    number, project, operation, types, objects, hits, size, time, retries, breaker, outcome, _ = (
        cells
    )
    assert (number, project, operation) == ("1", "shop_b", "_entities")
    assert "Book" in types and "Audiobook" in types
    assert int(objects) > 0 and int(size) > 100 and time.endswith(" ms")
    assert (hits, retries, breaker, outcome) == ("0", "0", "closed", "ok")
    totals = panel.locator("table.federated-fk-totals tbody td").all_inner_texts()
    assert totals[0] == "1" and totals[2] == objects and totals[6] == "0"
    assert panel.locator(".federated-fk-warning").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "remote-requests-panel.png"))


def test_without_the_flag_there_is_no_toolbar(shops):
    status, html = shops.get("/books/")
    assert status == 200 and "djDebug" not in html
