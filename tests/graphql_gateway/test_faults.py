"""shop_a's gateway and /books/ when shop_b misbehaves: partial data, an error, no 500, no hang."""

import time

import pytest

from tests.graphql_gateway.test_gateway import books
from tests.servers import ROOT, GatewayClient, MisbehavingServer, UvicornProcess


@pytest.fixture(scope="module")
def broken(shops, tmp_path_factory):
    """A second shop_a process, on the same data, whose shop_b is a misbehaving server."""
    misbehaving = MisbehavingServer().start()
    folder = tmp_path_factory.mktemp("broken")
    env = {
        **shops.env,
        "SHOP_B_URL": misbehaving.url,
        "SHOP_B_TIMEOUT": "1",
        "SHOP_B_BREAKER_THRESHOLD": "3",
        "SHOP_B_BREAKER_COOLDOWN": "2",
    }
    shop_a = UvicornProcess("shop_a.asgi:application", ROOT / "shop_a", env, folder / "a.log")
    shop_a.launch()
    client = GatewayClient(f"http://127.0.0.1:{shop_a.port}")
    client.log = shop_a.log
    client.get("/books/")  # the first request imports and connects: not what is timed
    yield client, misbehaving
    shop_a.stop()
    misbehaving.stop()


@pytest.fixture
def gateway(broken):
    shops, misbehaving = broken
    close_the_circuit(shops, misbehaving)
    misbehaving.answer({"data": {"_entities": []}})
    return shops, misbehaving


def close_the_circuit(shops, misbehaving):
    """Let shop_a's next call to shop_b succeed: a success closes its circuit.

    Failures of the test before then no longer count. Only after a test that
    opened the circuit does this wait, for the rest of the cooldown.
    """
    misbehaving.answer({"data": {"_entities": [None] * 6}})  # six books gone: a valid answer
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        before = misbehaving.requests
        books(shops, 0, 9)
        if misbehaving.requests > before:
            return
        time.sleep(0.05)
    raise AssertionError("shop_a did not call shop_b again within 10 s")


def partial(shops):
    started = time.monotonic()
    status, body = books(shops, 0, 9)
    elapsed = time.monotonic() - started
    assert status == 200
    items = body["data"]["books"]["items"]
    assert [i["title"] for i in items[:3]] == ["Dune", "The Dispossessed", "Kindred"]
    assert items[3:] == [None] * 6
    (error,) = body["errors"]
    # The public error: the project, codes and a generic message; no remote text.
    assert error["message"] == "Project 'shop_b' is unavailable."
    assert set(error["extensions"]) == {"code", "project", "reason"}
    assert error["extensions"]["code"] == "REMOTE_UNAVAILABLE"
    assert error["extensions"]["project"] == "shop_b"
    return error["extensions"]["reason"], elapsed


@pytest.mark.parametrize(
    ("answer", "code", "reason"),
    [
        (({}, 500, 0.0), "HTTP_ERROR", "HTTP 500"),
        ((b"<html>oops</html>", 200, 0.0), "PROTOCOL_ERROR", "not a GraphQL response"),
        (({"data": {"_entities": []}}, 200, 0.0), "PROTOCOL_ERROR", "0 entities for 6"),
        (({"errors": [{"message": "boom"}]}, 200, 0.0), "QUERY_ERROR", "GraphQL errors: boom"),
        (({"data": {"_entities": []}}, 200, 3.0), "TIMEOUT", "no answer within 1.0 s"),
    ],
)
def test_partial_data_and_an_error_within_the_timeout(gateway, answer, code, reason):
    shops, misbehaving = gateway
    body, status, delay = answer
    misbehaving.answer(body, status=status, delay=delay)
    logged = len(shops.log.read_text())
    public, elapsed = partial(shops)
    assert public == code
    assert elapsed < 1.8
    assert reason in shops.log.read_text()[logged:]  # the details, for the operator


def test_remote_error_text_goes_to_the_log_not_to_the_public(gateway):
    shops, misbehaving = gateway
    secret = 'no such table: books_book_internal (file "/srv/shop_b/db.sqlite3")'
    misbehaving.answer({"errors": [{"message": secret}], "data": None})
    logged = len(shops.log.read_text())
    status, body = books(shops, 0, 9)
    assert status == 200
    assert "books_book_internal" not in str(body) and "/srv/" not in str(body)
    assert body["errors"][0]["extensions"]["reason"] == "QUERY_ERROR"
    (line,) = [x for x in shops.log.read_text()[logged:].splitlines() if secret in x]
    assert line.startswith("Project 'shop_b' is unavailable")


def test_books_page_marks_unavailable_books(gateway):
    shops, misbehaving = gateway
    misbehaving.answer({}, status=503)
    status, html = shops.get("/books/")
    assert status == 200
    assert "Shop shop_b is unavailable right now" in html and "Kindred" in html


def test_under_repeated_failure_the_circuit_makes_failures_fast(gateway):
    shops, misbehaving = gateway
    misbehaving.answer({"data": {"_entities": []}}, delay=3.0)  # slower than the timeout
    for _ in range(3):
        partial(shops)
    requests = misbehaving.requests
    reason, elapsed = partial(shops)
    assert reason == "CIRCUIT_OPEN"
    assert elapsed < 0.5
    assert misbehaving.requests == requests
