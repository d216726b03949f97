"""``federatedChanges`` served by a real subgraph process, written to by another connection."""

import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from tests.servers import SubgraphServer

QUERY = """query Q($after: String, $limit: Int!) {
  federatedChanges(after: $after, limit: $limit) {
    cursor pruned changes { typename id kind fields }
  }
}"""

TOKEN = "feed-token-51c"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = SubgraphServer(
        "shop_f", tmp_path_factory.mktemp("shop_f"), label="F", token=TOKEN, books=3
    ).start()
    yield server
    server.stop()


def ask(server, variables, token=TOKEN):
    request = urllib.request.Request(
        server.url,
        data=json.dumps({"query": QUERY, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def write(server, *statements):
    """Write to the server's database from outside: the triggers see every writer."""
    with sqlite3.connect(server.folder / "shop_f.sqlite3") as db:
        for statement, params in statements:
            db.execute(statement, params)


def head(server):
    """The cursor after every event so far."""
    after = None
    while True:
        _, body = ask(server, {"after": after, "limit": 1000})
        page = body["data"]["federatedChanges"]
        if not page["changes"]:
            return page["cursor"]
        after = page["cursor"]


def test_changes_read_as_the_caller_sees_the_objects(server):
    start = head(server)
    write(
        server,
        ("UPDATE remoteshop_book SET price = 99 WHERE id = 1", ()),
        ("UPDATE remoteshop_book SET published = 0 WHERE id = 2", ()),
        ("DELETE FROM remoteshop_book WHERE id = 3", ()),
        ("UPDATE remoteshop_audiobook SET narrator = 'X' WHERE id = 1", ()),
    )
    status, body = ask(server, {"after": start, "limit": 100})
    assert status == 200, body
    page = body["data"]["federatedChanges"]
    assert page["pruned"] is False
    assert page["changes"] == [
        {"typename": "Book", "id": "1", "kind": "UPDATED", "fields": ["price"]},
        # published is no field of the type: the row is hidden now, so it reads deleted
        {"typename": "Book", "id": "2", "kind": "DELETED", "fields": []},
        {"typename": "Book", "id": "3", "kind": "DELETED", "fields": []},
        {"typename": "Audiobook", "id": "1", "kind": "UPDATED", "fields": ["narrator"]},
    ]
    write(server, ("UPDATE remoteshop_book SET published = 1 WHERE id = 2", ()))
    _, body = ask(server, {"after": page["cursor"], "limit": 100})
    assert body["data"]["federatedChanges"]["changes"] == [
        {"typename": "Book", "id": "2", "kind": "UPDATED", "fields": []}  # visible again
    ]


def test_a_change_to_an_unpublished_column_names_no_field(server):
    start = head(server)
    write(
        server,
        (
            "INSERT INTO remoteshop_book (title, author, price, published) VALUES ('N', 'A', 1, 1)",
            (),
        ),
    )
    _, body = ask(server, {"after": start, "limit": 10})
    (change,) = body["data"]["federatedChanges"]["changes"]
    assert change["kind"] == "CREATED" and change["fields"] == []


def test_the_feed_needs_the_token(server):
    status, body = ask(server, {"after": None, "limit": 10}, token="wrong")
    assert status == 401
    assert "data" not in body or not body.get("data")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"after": "not-a-cursor", "limit": 10}, "Not a change feed cursor"),
        ({"after": None, "limit": 0}, "limit must be from 1 to 1000"),
        ({"after": None, "limit": 1001}, "limit must be from 1 to 1000"),
    ],
)
def test_bad_arguments_are_graphql_errors(server, variables, message):
    status, body = ask(server, variables)
    assert status == 200
    assert body["data"] is None
    assert message in body["errors"][0]["message"]
