"""queryBook / queryEdition: what the owning service declares is all that can be queried.

Each book lookup runs twice: in this process against the test database (SQLite, or
PostgreSQL with FEDERATED_FK_TEST_DB=postgres), and against a real subgraph process
(the ``shop_b`` fixture, SQLite). Both are seeded by ``seed_remoteshop``: book ``i`` is
"B Book i" by "Author {i % 7}" at "{i}.50", and every hundredth book is unpublished,
so hidden by the entity type's ``get_queryset``.
"""

import json
import shlex
import urllib.error
import urllib.request
from decimal import Decimal

import pytest
from django.core.management import call_command
from graphql import parse

from federated_fk.graphql_cost import measure
from tests.remoteshop.models import Edition
from tests.remoteshop.schema import schema, subgraph

#: Books seeded in this process (the shop_b fixture seeds 500).
BOOKS = 120

PAGE = "total ids"


class Remote:
    """Posts queries to the remoteshop subgraph: in this process, or to a real server."""

    def __init__(self, post, books):
        self.post = post
        self.books = books

    def query(self, query, **variables):
        return self.post(query, variables)

    def page(self, field, arguments):
        body = self.query(f"{{ {field}({arguments}) {{ {PAGE} }} }}")
        assert "errors" not in body, body
        return body["data"][field]

    def visible(self):
        """The numbers of the published books, by primary key."""
        return [i for i in range(1, self.books + 1) if i % 100]


@pytest.fixture
def local(db, client):
    call_command("seed_remoteshop", "--books", str(BOOKS), "--label", "B", verbosity=0)

    def post(query, variables):
        response = client.post(
            "/graphql/", {"query": query, "variables": variables}, content_type="application/json"
        )
        return response.json()

    return Remote(post, BOOKS)


def _server_post(url):
    def post(query, variables):
        request = urllib.request.Request(
            url,
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:  # a GraphQL error answered with 400
            return json.load(exc)

    return post


@pytest.fixture(params=["in_process", "server"])
def remote(request):
    if request.param == "in_process":
        return request.getfixturevalue("local")
    server = request.getfixturevalue("shop_b")
    return Remote(_server_post(server.url), server.books)


def title(i):
    return f"B Book {i}"


def author(i):
    return f"Author {i % 7}"


def price(i):
    return Decimal(f"{i}.50")


#: (path, lookup, GraphQL value, which seeded book numbers match)
BOOK_LOOKUPS = [
    ("title", "exact", '"B Book 7"', lambda i: title(i) == "B Book 7"),
    ("title", "iexact", '"b BOOK 7"', lambda i: i == 7),
    ("title", "contains", '"Book 11"', lambda i: "Book 11" in title(i)),
    ("title", "icontains", '"book 11"', lambda i: "book 11" in title(i).lower()),
    ("title", "startswith", '"B Book 9"', lambda i: title(i).startswith("B Book 9")),
    ("title", "istartswith", '"b book 9"', lambda i: title(i).lower().startswith("b book 9")),
    ("title", "endswith", '"7"', lambda i: title(i).endswith("7")),
    ("title", "iendswith", '"K 17"', lambda i: title(i).lower().endswith("k 17")),
    ("title", "in", '["B Book 1", "B Book 100", "B Book 3", "nope"]', lambda i: i in (1, 3)),
    ("title", "isnull", "true", lambda i: False),
    ("title", "isnull", "false", lambda i: True),
    ("price", "exact", '"7.50"', lambda i: price(i) == Decimal("7.50")),
    ("price", "in", '["7.50", "8.5", "100.50"]', lambda i: i in (7, 8)),
    ("price", "gt", '"110.50"', lambda i: price(i) > Decimal("110.50")),
    ("price", "gte", '"110.50"', lambda i: price(i) >= Decimal("110.50")),
    ("price", "lt", '"3.50"', lambda i: price(i) < Decimal("3.50")),
    ("price", "lte", '"3.50"', lambda i: price(i) <= Decimal("3.50")),
    ("author", "exact", '"Author 3"', lambda i: author(i) == "Author 3"),
    ("author", "icontains", '"THOR 5"', lambda i: i % 7 == 5),
    ("id", "exact", '"5"', lambda i: i == 5),
    ("id", "in", '["5", "100", "6"]', lambda i: i in (5, 6)),
]


def _ids(remote, field, arguments):
    """Every id of the matching rows, page after page, and the total."""
    ids, offset = [], 0
    while True:
        page = remote.page(field, f"{arguments} offset: {offset} limit: 100")
        ids += [int(pk) for pk in page["ids"]]
        if len(page["ids"]) < 100:
            return ids, page["total"]
        offset += 100


@pytest.mark.parametrize(
    ("path", "lookup", "value", "matches"),
    BOOK_LOOKUPS,
    ids=[f"{p}-{lk}-{v}" for p, lk, v, _ in BOOK_LOOKUPS],
)
def test_each_declared_lookup_matches_as_django_does(remote, path, lookup, value, matches):
    ids, total = _ids(remote, "queryBook", f"filter: {{{path}: {{{lookup}: {value}}}}}")
    expected = [i for i in remote.visible() if matches(i)]
    assert ids == expected
    assert total == len(expected)


def test_no_filter_is_every_visible_row_by_primary_key(remote):
    ids, total = _ids(remote, "queryBook", "")
    assert ids == remote.visible()  # book 100 is unpublished: never listed nor counted
    assert total == remote.books - remote.books // 100


@pytest.mark.parametrize(
    "arguments",
    [
        'filter: {id: {exact: "100"}}',
        'filter: {title: {exact: "B Book 100"}}',
        'filter: {price: {exact: "100.50"}}',
        'filter: {OR: [{title: {in: ["B Book 100"]}}, {id: {in: ["100"]}}]}',
        'search: "Book 100"',
    ],
)
def test_a_hidden_row_is_never_matched_nor_counted(remote, arguments):
    assert remote.page("queryBook", arguments) == {"total": 0, "ids": []}


def test_and_or_not_combine(remote):
    both = remote.page("queryBook", 'filter: {AND: [{price: {gte: "10"}}, {price: {lt: "13"}}]}')
    assert both == {"total": 3, "ids": ["10", "11", "12"]}
    either = remote.page(
        "queryBook", 'filter: {OR: [{id: {exact: "3"}}, {title: {exact: "B Book 5"}}]}'
    )
    assert either == {"total": 2, "ids": ["3", "5"]}
    # Fields of one filter, and a NOT beside them: all must hold.
    page = remote.page("queryBook", 'filter: {price: {lt: "10"}, NOT: {title: {endswith: "1"}}}')
    assert page["ids"] == [str(i) for i in range(2, 10)]
    nested = remote.page(
        "queryBook",
        'filter: {OR: [{NOT: {price: {gt: "2"}}}, {AND: [{id: {in: ["7", "8"]}}, '
        '{NOT: {id: {exact: "8"}}}]}]}',
    )
    assert nested == {"total": 2, "ids": ["1", "7"]}


@pytest.mark.parametrize("text", ["book 11", '"B Book 7"', "author 6 4", "  b  "])
def test_search_ands_words_each_found_in_a_search_field(remote, text):
    terms = [t.lower() for t in shlex.split(text)]
    expected = [
        i
        for i in remote.visible()
        if all(any(t in v.lower() for v in (title(i), author(i))) for t in terms)
    ]
    ids, total = _ids(remote, "queryBook", f"search: {json.dumps(text)}")
    assert ids == expected and total == len(expected)


def test_ordering_is_stable_across_pages_and_ends_with_the_primary_key(remote):
    """Pages of 7, ordered by author then descending price, make up the full ordering."""
    order = "orderBy: [{field: author}, {field: price, descending: true}]"
    arguments = f'filter: {{price: {{lt: "60"}}}} {order}'
    pages = []
    for offset in range(0, 70, 7):
        pages += remote.page("queryBook", f"{arguments} offset: {offset} limit: 7")["ids"]
    expected = sorted(
        (i for i in remote.visible() if price(i) < 60), key=lambda i: (author(i), -price(i))
    )
    assert [int(pk) for pk in pages] == expected
    # Ties (one author, one price order) are broken by the primary key, ascending.
    by_author = remote.page("queryBook", "orderBy: [{field: author}] limit: 20")["ids"]
    expected = sorted(remote.visible(), key=lambda i: (author(i), i))[:20]
    assert [int(pk) for pk in by_author] == expected


def test_items_are_the_page_rows_in_order(remote):
    body = remote.query(
        '{ queryBook(filter: {id: {in: ["9", "3", "100", "5"]}}, '
        "orderBy: [{field: price, descending: true}]) { total ids items { id title price } } }"
    )
    page = body["data"]["queryBook"]
    assert page["ids"] == ["9", "5", "3"]
    assert page["items"] == [
        {"id": str(i), "title": title(i), "price": f"{i}.50"} for i in (9, 5, 3)
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        # A field the model has but the declaration does not name.
        (
            "{ queryBook(filter: {published: {exact: false}}) { total } }",
            "unknown field 'published'",
        ),
        # A lookup Django has but the declaration does not allow.
        (
            '{ queryBook(filter: {author: {startswith: "A"}}) { total } }',
            "unknown field 'startswith'",
        ),
        ('{ queryBook(filter: {title: {regex: "."}}) { total } }', "unknown field 'regex'"),
        # Ordering by a field not declared, and searching a type that declares none.
        ("{ queryBook(orderBy: [{field: id}]) { total } }", "does not exist in 'BookOrderField'"),
        ('{ queryEdition(search: "x", orderBy: [{field: pages}]) { total } }', "pages"),
        ("{ queryAudiobook { total } }", "Cannot query field 'queryAudiobook'"),
        ("{ queryBook(filter: {editions__pages: {lt: 3}}) { total } }", "unknown field 'lt'"),
    ],
)
def test_what_is_not_declared_is_a_graphql_validation_error(remote, query, message):
    body = remote.query(query)
    assert body.get("data") is None
    assert message in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("limit: 101", "limit from 0 to 100"),
        ("offset: -1", "offset must be >= 0"),
        ("filter: {title: {in: " + json.dumps(["x"] * 1001) + "}}", "at most 1000 values"),
        ("search: " + json.dumps("a " * 11), "at most 10 words"),
        ("filter: " + "{NOT: " * 12 + '{id: {exact: "1"}}' + "}" * 12, "nest at most 10"),
        # No column holds these (PostgreSQL refuses NUL; SQLite would cut the text there).
        ('filter: {price: {lt: "NaN"}}', "price__lt: NaN is not a finite number"),
        ('filter: {price: {in: ["1", "Infinity"]}}', "is not a finite number"),
        ('filter: {price: {gt: "-sNaN"}}', "price__gt: -sNaN is not a finite number"),
        (r'filter: {title: {icontains: "a\u0000b"}}', "text may not hold NUL characters"),
        (r'search: "a\u0000"', "search: text may not hold NUL characters"),
        # A pattern past what SQLite compares (50,000 bytes); no title is this long.
        (
            "filter: {title: {icontains: " + json.dumps("a" * 10_001) + "}}",
            "text may be at most 10000 characters long",
        ),
    ],
)
def test_limits_of_one_query(remote, arguments, message):
    body = remote.query(f"{{ queryBook({arguments}) {{ total }} }}")
    assert body["data"] is None and message in body["errors"][0]["message"]


def test_long_text_is_refused_only_as_a_pattern(remote):
    # SQLite refuses long LIKE patterns; an exact comparison of long text is fine.
    body = remote.query(
        "query ($t: String) { queryBook(filter: {title: {exact: $t}}) { total } }", t="a" * 10_001
    )
    assert body == {"data": {"queryBook": {"total": 0}}}


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb"])
def test_text_no_encoding_holds_is_refused(remote, text):
    # A lone surrogate: JSON can carry it in a variable; no UTF-8 encodes it.
    query = "query ($t: String) { queryBook(filter: {title: {exact: $t}}) { total } }"
    body = remote.query(query, t=text)
    assert body["data"] is None
    assert "text is not valid Unicode (it holds a lone surrogate)" in body["errors"][0]["message"]
    body = remote.query("query ($t: String) { queryBook(search: $t) { total } }", t=text)
    assert "is not valid Unicode" in body["errors"][0]["message"]


def test_limit_zero_counts_without_listing(remote):
    assert remote.page("queryBook", "limit: 0") == {
        "total": remote.books - remote.books // 100,
        "ids": [],
    }


# --- Editions: every scalar kind, paths across relations (in this process only) ------------


EDITION_LOOKUPS = [
    ('{book__title: {exact: "B Book 1"}}', [1]),
    # Edition 3's book (100) is unpublished: its title is never matched, so never revealed.
    ('{book__title: {exact: "B Book 100"}}', []),
    ('{book__title: {icontains: "book 10"}}', []),
    # No book, or a hidden one, reads as null, as the reference itself does.
    ("{book__title: {isnull: true}}", [2, 3]),
    ("{book__title: {isnull: false}}", [1]),
    ('{author__name: {exact: "Frank Herbert"}}', [1, 3]),
    ('{author__name: {icontains: "KENZABUR"}}', [2]),
    ('{published_on: {gte: "2000-01-01"}}', [1, 3]),
    ('{published_on: {lt: "2000-01-01"}}', [2]),
    ('{printed_at: {gt: "2000-01-01T00:00:00+00:00"}}', [1]),
    ('{printed_at: {lte: "2000-01-01T01:00:00+01:00"}}', [2, 3]),
    ("{opens_at: {isnull: true}}", [2]),
    ('{opens_at: {lt: "09:00:00"}}', [3]),
    ('{code: {exact: "00000000-0000-4000-8000-000000000002"}}', [2]),
    (
        '{code: {in: ["7d444840-9dc0-11d1-b245-5ffdce74fad2", '
        '"00000000-0000-4000-8000-000000000003"]}}',
        [1, 3],
    ),
    ("{in_print: {exact: true}}", [1, 3]),
    ("{weight: {isnull: true}}", [2]),
    ("{weight: {gt: 1.0}}", [3]),
    ("{pages: {in: [0, 99]}}", [2, 3]),
    ("{pages: {lte: 99}}", [2, 3]),
    ('{binding: {exact: "paperback"}}', [2, 3]),
]


@pytest.mark.parametrize(
    ("value", "expected"), EDITION_LOOKUPS, ids=[v for v, _ in EDITION_LOOKUPS]
)
def test_each_scalar_kind_and_relation_path(local, value, expected):
    page = local.page("queryEdition", f"filter: {value}")
    assert page == {"total": len(expected), "ids": [str(i) for i in expected]}


def test_a_path_across_a_to_many_relation_never_repeats_a_row(local):
    # Book 1 has edition 1 (412 pages); book 100's edition 3 is of a hidden book.
    assert local.page("queryBook", "filter: {editions__pages: {gt: 50}}") == {
        "total": 1,
        "ids": ["1"],
    }
    # Three more editions of book 5: it matches once, and counts once.
    first = Edition.objects.get(pk=1)
    for pk in (10, 11, 12):
        first.pk, first.book_id = pk, 5
        first.save(force_insert=True)
    assert local.page("queryBook", "filter: {editions__pages: {gt: 50}}") == {
        "total": 2,
        "ids": ["1", "5"],
    }
    # Many-to-many, through the books' visibility: edition 3 relates to books 100 and 4.
    assert local.page("queryEdition", 'filter: {related__title: {icontains: "book 4"}}') == {
        "total": 1,
        "ids": ["3"],
    }
    assert local.page("queryEdition", 'filter: {related__title: {icontains: "book 100"}}') == {
        "total": 0,
        "ids": [],
    }
    without = local.page("queryBook", "filter: {editions__pages: {isnull: true}} limit: 0")
    assert without["total"] == BOOKS - 1 - 2  # every visible book but books 1 and 5


@pytest.mark.parametrize(
    ("descending", "expected"),
    [(False, ["1", "3", "2"]), (True, ["2", "3", "1"])],  # nulls last, then first
)
def test_nulls_sort_last_ascending_and_first_descending_on_every_database(
    local, descending, expected
):
    order = f"orderBy: [{{field: weight, descending: {json.dumps(descending)}}}]"
    assert local.page("queryEdition", order)["ids"] == expected


def test_ordering_across_a_relation_and_search_across_one(local):
    page = local.page("queryEdition", "orderBy: [{field: author__name, descending: true}]")
    assert page["ids"] == ["2", "1", "3"]  # Ōe Kenzaburō, then Frank Herbert's by pk
    assert local.page("queryEdition", 'search: "wüste"')["ids"] == ["1"]
    assert local.page("queryEdition", 'search: "herbert Ænima"')["ids"] == ["3"]


# --- Cost -------------------------------------------------------------------------------


def price_of(query, variables=None):
    return measure(schema._schema, parse(query), variables or {}, subgraph.cost_limits()).price


def test_a_page_costs_its_limit_times_its_item():
    items = "{ queryBook(limit: %d) { total items { id title } } }"
    assert price_of(items % 50) - price_of(items % 10) == 40
    ids = "{ queryBook(limit: %d) { ids } }"
    assert price_of(ids % 50) - price_of(ids % 10) == 40
    # An edition refers to a list of books: each item costs the assumed list too.
    editions = "{ queryEdition(limit: %d) { items { id related { id } } } }"
    assert price_of(editions % 20) - price_of(editions % 10) == 10 * (1 + 10)
    # The default page is the largest one; a variable is read as sent.
    assert price_of("{ queryBook { ids } }") == price_of(ids % 100)
    variables = "query Q($n: Int!) { queryBook(limit: $n) { ids } }"
    assert price_of(variables, {"n": 30}) == price_of(ids % 30)


def test_pages_over_the_cost_limit_are_refused_before_running(remote):
    aliases = " ".join(f"a{i}: queryBook {{ ids items {{ id }} }}" for i in range(101))
    body = remote.query(f"{{ {aliases} }}")
    assert body.get("data") is None
    assert "costs" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("selection", "queries"),
    [("total", 1), ("ids", 1), ("total ids", 2), ("total ids items { id title }", 3)],
)
def test_a_page_costs_one_query_per_part_asked_for(
    local, django_assert_num_queries, selection, queries
):
    """Whatever its size: the count, the page's keys, then its rows (as _entities loads them)."""
    with django_assert_num_queries(queries):
        body = local.query(
            f'{{ queryBook(filter: {{title: {{icontains: "book"}}}}) {{ {selection} }} }}'
        )
    assert "errors" not in body
