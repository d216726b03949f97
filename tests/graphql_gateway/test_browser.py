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


def test_books_page_shows_each_book_once_with_every_shops_offer(shops, page):
    page.goto(f"{shops.url}/books/")
    dune = page.locator("section.book", has=page.get_by_role("heading", name="Dune", exact=True))
    assert dune.count() == 1
    offers = [o.split("\t") for o in dune.locator("tr.offer").all_inner_texts()]
    assert [(o[0], o[1], o[2]) for o in offers] == [
        ("8.49", "shop_b", "book"),
        ("9.99", "shop_a", "book"),
        ("24.99", "shop_b", "audiobook, read by Simon Vance"),
    ]
    assert "by Frank Herbert" in dune.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "books.png"), full_page=True)
    # The cheapest offer's cart leads to shop_b's own page for that book.
    dune.get_by_role("link", name="Buy from shop_b").first.click()
    page.wait_for_load_state()
    assert page.url == shops.env["SHOP_B_URL"].removesuffix("graphql/") + "books/1/"
    assert "8.49" in page.inner_text("body")


def test_an_unreachable_shop_is_shown_per_offer_with_its_type(shops, page):
    shops.shop_b.stop()
    try:
        page.goto(f"{shops.url}/books/")
        unreachable = page.locator("li.unreachable").all_inner_texts()
        assert len(unreachable) == 17
        assert sum("unavailable (audiobook" in u for u in unreachable) == 2
        assert page.get_by_role("heading", name="Kindred").count() == 1
        page.screenshot(path=str(ARTIFACTS / "books-shop-b-down.png"), full_page=True)
    finally:
        shops.shop_b.launch()


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
