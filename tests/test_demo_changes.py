"""The demo's change feed, end to end: shop_b's admin edits, shop_a follows.

shop_a, shop_b and shop_a's follower run as run_demo.sh runs them (three
processes; shop_b's books cached 5 minutes in files both shop_a processes
read). A book deleted in shop_b's admin loses its reference in shop_a
(``on_remote_delete=CASCADE``) and leaves /books/; a new price shows there;
each within 2 seconds, although the old answers were cached.
"""

from __future__ import annotations

import re
import sqlite3
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from html import unescape
from http.cookiejar import CookieJar

import pytest

from tests.servers import DemoShops

#: How soon shop_a must show what shop_b's admin did.
WITHIN = 2.0

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class AdminClient:
    """A logged-in session of a shop's Django admin, over HTTP, forms as a browser posts them.

    :param url: the shop, ``http://127.0.0.1:PORT``
    """

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login = "/admin/login/?next=/admin/"
        final, html = self.post(login, {"username": username, "password": password})
        assert final.endswith("/admin/"), html[:2000]

    def get(self, path: str) -> str:
        with self.opener.open(f"{self.url}{path}", timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        """Post the form at ``path`` with its CSRF token; return where it led and the page."""
        token = CSRF.search(self.get(path)).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **fields}).encode()
        with self.opener.open(f"{self.url}{path}", data=data, timeout=30) as response:
            return response.geturl(), response.read().decode()


def offers(html: str) -> dict[tuple[str, str], str]:
    """Return the prices /books/ shows, by (title, shop)."""
    found = {}
    for section in html.split('<section class="book">')[1:]:
        title = unescape(re.search(r"<h2>(.*?)</h2>", section).group(1))
        for price, shop in re.findall(
            r'<td class="price">([^<]*)</td>\s*<td><span class="shop">([^<]*)</span>', section
        ):
            found[(title, shop)] = price
    return found


def wait_for(condition: Callable[[], bool], since: float) -> float:
    """Poll ``condition`` until it holds; return the seconds since ``since`` (at most WITHIN)."""
    while True:
        if condition():
            return time.monotonic() - since
        if time.monotonic() - since > WITHIN:
            raise AssertionError(f"not within {WITHIN} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    shops = DemoShops(tmp_path_factory.mktemp("demo_changes"), follow=True).start()
    yield shops
    shops.stop()


@pytest.fixture(scope="module")
def shop_b_admin(demo):
    return AdminClient(f"http://127.0.0.1:{demo.shop_b.port}", "admin", demo.ADMIN_PASSWORD)


def book_page_offers(demo: DemoShops) -> dict[tuple[str, str], str]:
    status, html = demo.get("/books/")
    assert status == 200
    return offers(html)


def references_to_shop_b_book(demo: DemoShops, pk: int) -> int:
    """How many of shop_a's references point at shop_b's book ``pk`` (read from its database)."""
    with sqlite3.connect(demo.env["SHOP_A_DB"], timeout=5) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM books_reference r "
            "JOIN federated_fk_genericcontenttype ct ON ct.id = r.content_type_id "
            "WHERE ct.project = 'shop_b' AND ct.app_label = 'books' AND ct.model = 'book' "
            "AND r.object_id = ?",
            [str(pk)],
        ).fetchone()
    return count


def change_price(admin: AdminClient, pk: int, title: str, author: int, price: str) -> None:
    final, html = admin.post(
        f"/admin/books/book/{pk}/change/",
        {"title": title, "author": str(author), "price": price, "published": "on", "_save": "1"},
    )
    assert final.endswith("/admin/books/book/") and "was changed successfully" in html


def test_a_book_deleted_in_shop_b_admin_leaves_shop_a_within_2_s(demo, shop_b_admin):
    # Cached in shop_a for 5 minutes from this load.
    assert book_page_offers(demo)[("A Wizard of Earthsea", "shop_b")] == "7.99"
    assert references_to_shop_b_book(demo, 2) == 1

    started = time.monotonic()
    final, html = shop_b_admin.post("/admin/books/book/2/delete/", {"post": "yes"})
    assert final.endswith("/admin/books/book/") and "was deleted successfully" in html

    gone = wait_for(lambda: references_to_shop_b_book(demo, 2) == 0, started)
    unlisted = wait_for(
        lambda: ("A Wizard of Earthsea", "shop_b") not in book_page_offers(demo), started
    )
    print(f"reference deleted after {gone:.2f} s, off /books/ after {unlisted:.2f} s")
    offered = book_page_offers(demo)
    assert ("Parable of the Sower", "shop_b") in offered and ("Dune", "shop_a") in offered
    # The follower's own account of it, as run_demo.sh shows it.
    batch = "shop_b: 1 event(s): 0 changed, 1 deleted (0 said deleted exist)"
    wait_for(lambda: batch in demo.follower_log.read_text(), started)


def test_a_price_changed_in_shop_b_admin_shows_on_shop_a_within_2_s(demo, shop_b_admin):
    assert book_page_offers(demo)[("Parable of the Sower", "shop_b")] == "10.50"

    started = time.monotonic()
    change_price(shop_b_admin, 4, "Parable of the Sower", 3, "10.95")

    shown = wait_for(
        lambda: book_page_offers(demo)[("Parable of the Sower", "shop_b")] == "10.95", started
    )
    print(f"new price on /books/ after {shown:.2f} s (cache timeout 300 s)")
    assert references_to_shop_b_book(demo, 4) == 1  # an update keeps the reference


def test_without_the_follower_the_cached_price_stays_until_it_runs_again(demo, shop_b_admin):
    """The cache is real: with the follower stopped, a new price does not show."""
    assert book_page_offers(demo)[("Stories of Your Life and Others", "shop_b")] == "13.20"
    demo.stop_follower()
    change_price(shop_b_admin, 3, "Stories of Your Life and Others", 4, "14.40")
    stale_until = time.monotonic() + WITHIN + 0.5
    while time.monotonic() < stale_until:
        assert book_page_offers(demo)[("Stories of Your Life and Others", "shop_b")] == "13.20"
        time.sleep(0.2)

    demo.start_follower()  # returns once it applied a batch: the one with the new price
    started = time.monotonic()
    wait_for(
        lambda: book_page_offers(demo)[("Stories of Your Life and Others", "shop_b")] == "14.40",
        started,
    )
