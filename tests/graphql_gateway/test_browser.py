"""A person's view: /books/ and GraphiQL in Debian's chromium, driven by Playwright."""

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # a fresh profile
    page = context.new_page()
    yield page
    context.close()


def test_books_page_shows_local_and_remote_titles_with_their_shops(shops, page):
    page.goto(f"{shops.url}/books/")
    rows = page.locator("tbody tr")
    assert rows.count() == 20
    first = [rows.nth(i).inner_text().split("\t") for i in range(6)]
    assert first[0] == ["Dune", "Frank Herbert", "9.99", "shop_a"]
    assert first[3][0] == "Dune (audiobook, read by Simon Vance)" and first[3][3] == "shop_b"
    assert first[5] == ["Dune", "Frank Herbert", "8.49", "shop_b"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "books.png"), full_page=True)


def test_run_the_books_query_in_graphiql(shops, page):
    page.goto(f"{shops.url}/graphql/")
    run = page.locator("button.graphiql-execute-button")
    run.wait_for(timeout=15000)
    run.click()
    result = page.locator(".graphiql-response")
    result.get_by_text('"ShopBAudiobook"').first.wait_for(timeout=15000)
    # The editor draws spaces as no-break spaces, and only the lines in view.
    text = result.inner_text().replace("\xa0", " ")
    for expected in ('"totalCount": 259', '"ShopABook"', '"ShopBAudiobook"', '"Simon Vance"'):
        assert expected in text
    page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
