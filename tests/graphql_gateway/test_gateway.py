"""The gateway and /books/ against shop_a and shop_b running as separate processes."""

import time
import urllib.request
from decimal import Decimal

import pytest

BOOKS = """
query ($offset: Int!, $limit: Int) {
  books(offset: $offset, limit: $limit) {
    totalCount offset limit hasNextPage
    items {
      __typename
      ... on BookItem { id title price }
      ... on ShopABook { author { name } }
      ... on ShopBBook { author { name } }
      ... on ShopBAudiobook { narrator durationMinutes author { name } }
    }
  }
}
"""


def books(shops, offset=0, limit=None):
    return shops.query(BOOKS, {"offset": offset, "limit": limit})


def test_local_and_remote_books_as_one_union_with_each_shops_price(shops):
    status, body = books(shops, limit=9)
    assert status == 200 and "errors" not in body
    page = body["data"]["books"]
    # 3 local books, 2 audiobooks and 254 published books in shop_b (one is unpublished).
    assert page["totalCount"] == 259
    summary = [(i["__typename"], i["title"], i["price"]) for i in page["items"]]
    assert summary[:6] == [
        ("ShopABook", "Dune", "9.99"),
        ("ShopABook", "The Dispossessed", "12.50"),
        ("ShopABook", "Kindred", "11.00"),
        ("ShopBAudiobook", "Dune", "24.99"),
        ("ShopBAudiobook", "Exhalation", "19.99"),
        ("ShopBBook", "Dune", "8.49"),
    ]
    assert page["items"][3]["narrator"] == "Simon Vance"
    assert page["items"][3]["durationMinutes"] == 1263
    # The shared authors table gives the same names in both shops.
    assert page["items"][0]["author"] == page["items"][5]["author"] == {"name": "Frank Herbert"}
    titles = {i["title"] for i in page["items"]}
    assert "The Left Hand of Darkness (galley proof)" not in titles  # unpublished in shop_b


def test_each_book_lists_the_references_pointing_at_it_remote_ones_too(shops):
    query = """{ books(limit: 6) { items {
        ... on ShopABook { title references(limit: 3) { created contentObject { __typename } } }
        ... on ShopBBook { title references(limit: 3) { created contentObject { __typename } } }
        ... on ShopBAudiobook { title references { contentObject {
            ... on ShopBAudiobook { narrator } } } } } } }"""
    status, body = shops.query(query)
    assert status == 200 and "errors" not in body, body
    items = body["data"]["books"]["items"]
    # Each target is referenced once here: its reference points back at it.
    assert [len(i["references"]) for i in items] == [1] * 6
    assert items[0]["references"][0]["contentObject"] == {"__typename": "ShopABook"}
    assert items[5]["title"] == "Dune"
    assert items[5]["references"][0]["contentObject"] == {"__typename": "ShopBBook"}
    assert items[3]["references"][0]["contentObject"] == {"narrator": "Simon Vance"}


def test_pagination_is_bounded(shops):
    _, first = books(shops, 0, 100)
    _, last = books(shops, 200, 100)
    assert len(first["data"]["books"]["items"]) == 100 and first["data"]["books"]["hasNextPage"]
    assert len(last["data"]["books"]["items"]) == 59 and not last["data"]["books"]["hasNextPage"]
    _, default = books(shops)
    assert default["data"]["books"]["limit"] == 20
    status, too_big = books(shops, 0, 101)
    assert status == 200
    assert too_big["errors"][0]["message"] == "limit must be from 1 to 100, got 101."
    _, negative = books(shops, -1, 10)
    assert negative["errors"][0]["message"] == "offset must be from 0 to 2147483647, got -1."


@pytest.mark.parametrize("limit", [5, 100])
def test_one_request_to_shop_b_per_query(shops, limit):
    before = shops.shop_b_requests()
    status, body = books(shops, 3, limit)  # local and remote books on the page
    assert status == 200 and "errors" not in body
    assert shops.shop_b_requests() - before == 1


def test_books_page_lists_every_shop(shops):
    status, html = shops.get("/books/")
    assert status == 200
    for text in ("Dune", "9.99", "8.49", "24.99", "Simon Vance", "shop_a", "shop_b", "259 books"):
        assert text in html
    assert "unavailable" not in html.replace(".unavailable", "")
    # Dune once, its three offers cheapest first, each linking to its shop's own page.
    dune = html.split("<h2>Dune</h2>")[1].split("</section>")[0]
    assert html.count("<h2>Dune</h2>") == 1
    prices = [part.split("<")[0] for part in dune.split('<td class="price">')[1:]]
    assert prices == ["8.49", "9.99", "24.99"]
    shop_b = shops.env["SHOP_B_URL"].removesuffix("graphql/")
    assert f'href="{shop_b}books/1/"' in dune and 'href="/books/1/"' in dune
    assert f'href="{shop_b}audiobooks/1/"' in dune


def test_buy_links_lead_to_each_shops_page_for_the_book(shops):
    status, html = shops.get("/books/1/")
    assert status == 200 and "Dune" in html and "9.99" in html
    shop_b = shops.env["SHOP_B_URL"].removesuffix("graphql/")
    with urllib.request.urlopen(f"{shop_b}books/1/", timeout=10) as response:
        page = response.read().decode()
    assert "Dune" in page and "8.49" in page
    with urllib.request.urlopen(f"{shop_b}audiobooks/1/", timeout=10) as response:
        page = response.read().decode()
    assert "Simon Vance" in page and "24.99" in page


def test_shop_b_down_gives_local_books_and_an_error_then_recovers(shops):
    shops.shop_b.stop()
    try:
        started = time.monotonic()
        status, body = books(shops, 0, 9)
        elapsed = time.monotonic() - started
        assert status == 200
        items = body["data"]["books"]["items"]
        assert [i and i["title"] for i in items[:3]] == ["Dune", "The Dispossessed", "Kindred"]
        assert items[3:] == [None] * 6
        (error,) = body["errors"]
        assert error["message"] == "Project 'shop_b' is unavailable."
        assert error["extensions"] == {
            "code": "REMOTE_UNAVAILABLE",
            "project": "shop_b",
            "reason": "CONNECTION_FAILED",
        }
        assert elapsed < 3  # shop_a's TIMEOUT for shop_b
        status, html = shops.get("/books/")
        assert status == 200
        assert "Shop shop_b is unavailable right now" in html
        # The rest of the first page of 20, each with its type.
        assert html.count("unavailable (book ") == 15
        assert html.count("unavailable (audiobook ") == 2
        assert "Kindred" in html
    finally:
        shops.shop_b.launch()
    status, body = books(shops, 0, 9)
    assert "errors" not in body and None not in body["data"]["books"]["items"]


def test_graphiql_page_is_served_with_local_files(shops):
    import urllib.request

    request = urllib.request.Request(f"{shops.url}/graphql/", headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=10) as response:
        html = response.read().decode()
    assert "/graphiql/graphiql.js" in html and "unpkg.com" not in html
    status, script = shops.get("/graphiql/graphiql.js")
    assert status == 200 and "GraphiQL" in script


FILTERED = """
query ($filter: BookFilter, $orderBy: String, $limit: Int) {
  books(filter: $filter, orderBy: $orderBy, limit: $limit) {
    totalCount
    items { __typename ... on BookItem { title price } }
  }
}
"""


def test_a_filter_on_the_books_runs_in_the_shop_that_owns_each(shops):
    before = shops.shop_b_requests()
    variables = {"filter": {"title": {"icontains": "dun"}}, "orderBy": "price"}
    status, body = shops.query(FILTERED, variables)
    assert status == 200 and "errors" not in body, body
    page = body["data"]["books"]
    assert [(i["__typename"], i["title"], i["price"]) for i in page["items"]] == [
        ("ShopBBook", "Dune", "8.49"),
        ("ShopABook", "Dune", "9.99"),
        ("ShopBAudiobook", "Dune", "24.99"),
    ]
    assert page["totalCount"] == 3
    # shop_b ran the filter for its two types, then read the page's sort keys and items.
    assert shops.shop_b_requests() - before <= 5


def test_ordering_by_price_across_shops_equals_sorting_every_book(shops):
    status, body = shops.query(FILTERED, {"orderBy": "-price", "limit": 100})
    assert status == 200 and "errors" not in body, body
    prices = [Decimal(i["price"]) for i in body["data"]["books"]["items"]]
    everything = []
    for offset in range(0, 259, 100):
        _, page = shops.query(BOOKS, {"offset": offset, "limit": 100})
        everything += [Decimal(i["price"]) for i in page["data"]["books"]["items"]]
    assert prices == sorted(everything, reverse=True)[:100]


def test_books_page_searches_every_shop(shops):
    before = shops.shop_b_requests()
    status, html = shops.get("/books/?q=dUnE")
    assert status == 200
    # Dune: shop_a's book, and shop_b's book and audiobook, each found by its own shop.
    assert "3 books." in html and html.count("<h2>Dune</h2>") == 1
    assert "<h2>Kindred</h2>" not in html
    assert 'value="dUnE"' in html
    # shop_b searched its books and its audiobooks, then sent the page's two targets.
    assert shops.shop_b_requests() - before == 3
    status, html = shops.get("/books/?q=no-such-words")
    assert status == 200 and "0 books." in html


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"filter": {"price": {"lt": "NaN"}}}, "filter.price.lt must be a finite number"),
        ({"filter": {"price": {"gte": "-Infinity"}}}, "must be a finite number"),
        ({"filter": {"price": {"lt": "sNaN"}}}, "filter.price.lt must be a finite number"),
        ({"filter": {"title": {"exact": "\ud800"}}}, "filter.title.exact is not valid Unicode"),
        (
            {"filter": {"title": {"icontains": "a" * 50_001}}},
            "filter.title.icontains may be at most 10000 characters long",
        ),
        ({"orderBy": "--price"}, "orderBy must be one of"),
    ],
)
def test_a_filter_or_ordering_no_row_can_meet_is_a_clear_error(shops, variables, message):
    status, body = shops.query(FILTERED, variables)
    assert status == 200
    assert message in body["errors"][0]["message"], body


def test_text_with_a_nul_character_is_refused_everywhere(shops):
    _, body = shops.query(FILTERED, {"filter": {"title": {"icontains": "a\x00b"}}})
    assert "may not hold NUL characters" in body["errors"][0]["message"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        shops.get("/books/?q=a%00b")
    assert refused.value.code == 400 and b"NUL" in refused.value.read()


def test_a_search_the_remote_shop_would_refuse_is_a_400_not_an_outage(shops):
    with pytest.raises(urllib.error.HTTPError) as refused:
        shops.get("/books/?q=" + "%20".join("abcdefghijk"))
    assert refused.value.code == 400
    assert b"at most 10 words" in refused.value.read()
    status, html = shops.get("/books/?q=" + "%20".join("abcdefghij"))
    assert status == 200 and "is unavailable right now" not in html
