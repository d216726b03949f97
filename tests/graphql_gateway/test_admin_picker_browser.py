"""shop_a's admin in Debian's chromium: adding a reference to shop_b's Dune by typing "dun".

The demo shops run here on their own (every book already has a reference in
the demo; this module deletes the one to shop_b's Dune, then adds it back
through the picker), with shop_b up and with it down.
"""

import shutil
from pathlib import Path

import pytest

from tests.servers import ROOT, DemoShops, UvicornProcess, free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "picker-demo-pw-8d21"

DUNE_ID = "from books.models import Book; print(Book.objects.get(title='Dune').pk)"
FORGET = """
from books.models import Reference
from federated_fk.models import GenericContentType
ct = GenericContentType.objects.get_by_natural_key("shop_b", "books", "book")
print(Reference.objects.filter(content_type=ct, object_id="{pk}").delete()[0])
"""


def shell(shops, shop, code):
    """Run ``code`` in ``shop``'s shell; return the last line it printed."""
    return shops.manage(shop, "shell", "-v", "0", "-c", code).strip().splitlines()[-1]


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
def picker_shops(tmp_path_factory):
    """The demo shops, with the admin user, and no reference to shop_b's Dune yet."""
    shops = DemoShops(tmp_path_factory.mktemp("picker_shops")).start()
    try:
        shops.manage("shop_a", "demo_admin", env={"DEMO_ADMIN_PASSWORD": PASSWORD})
        dune = shell(shops, "shop_b", DUNE_ID)
        assert shell(shops, "shop_a", FORGET.format(pk=dune)) == "1"
        yield shops
    finally:
        shops.stop()


@pytest.fixture(scope="module")
def shop_b_down(picker_shops, tmp_path_factory):
    """A second shop_a process, on the same data, whose shop_b does not answer."""
    folder = tmp_path_factory.mktemp("picker_down")
    env = {**picker_shops.env, "SHOP_B_URL": f"http://127.0.0.1:{free_port()}/graphql/"}
    shop_a = UvicornProcess("shop_a.asgi:application", ROOT / "shop_a", env, folder / "a.log")
    shop_a.launch()
    yield f"http://127.0.0.1:{shop_a.port}"
    shop_a.stop()


def open_add_page(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/admin/login/?next=/admin/books/reference/add/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/books/reference/add/")
    return page


LOADED = (
    "() => document.querySelectorAll('.select2-results__option').length > 0"
    " && !document.querySelector('.select2-results__option.loading-results')"
)


def open_picker(page):
    """Open the picker of the reference's target; wait for its first page (no term)."""
    page.click(".field-content_object .select2-selection")
    page.wait_for_function(LOADED)


def type_in_picker(page, text, expected):
    """Type ``text`` in the open picker; return its options once ``expected`` is one."""
    page.locator(".select2-container--open .select2-search__field").fill(text)
    options = page.locator(".select2-results__option")
    options.filter(has_text=expected).first.wait_for()
    page.wait_for_function(LOADED)
    return options


def test_a_reference_to_shop_b_dune_is_added_by_typing_dun(picker_shops, browser):
    page = open_add_page(browser, picker_shops.url)
    open_picker(page)
    before = picker_shops.shop_b_requests()
    options = type_in_picker(page, "dun", "Dune (book, shop_b)")
    texts = options.all_inner_texts()
    assert "Dune (book, shop_a)" in texts
    assert "Dune (book, shop_b)" in texts and "Dune (audiobook, shop_b)" in texts
    assert not any("unavailable" in t for t in texts)
    # shop_b's books and audiobooks: one search request each (select2 waits for
    # the typing to stop before asking).
    assert picker_shops.shop_b_requests() - before == 2
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-picker.png"))
    options.filter(has_text="Dune (book, shop_b)").click()
    assert "Dune (book, shop_b)" in page.locator(".field-content_object").inner_text()
    before = picker_shops.shop_b_requests()
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/books/reference/")
    assert "was added successfully" in page.locator(".messagelist").inner_text()
    # Saving checked that shop_b's Dune exists (one request), and the list it
    # returns to loaded its page's remote titles (one more).
    assert picker_shops.shop_b_requests() - before == 2
    page.context.close()
    check = (
        "from books.models import Reference; r = Reference.objects.latest('pk');"
        "print(r.content_type.project, r.content_object.title)"
    )
    assert shell(picker_shops, "shop_a", check) == "shop_b Dune"


def test_with_shop_b_down_the_picker_says_so_and_finds_local_books(shop_b_down, browser):
    page = open_add_page(browser, shop_b_down)
    open_picker(page)
    options = type_in_picker(page, "dun", "Dune (book, shop_a)")
    texts = options.all_inner_texts()
    assert texts[0] == "shop_b unavailable"
    assert options.first.get_attribute("aria-disabled") == "true"
    assert "Dune (book, shop_a)" in texts
    assert not any("(book, shop_b)" in t for t in texts)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-picker-shop-b-down.png"))
    # A local book can still be picked.
    options.filter(has_text="Dune (book, shop_a)").click()
    page.click("input[name=_save]")
    page.wait_for_load_state()
    # shop_a's Dune already has its reference: the form says so, as Django's does.
    assert "already exists" in page.locator(".errorlist.nonfield").inner_text()
    page.context.close()
