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
    yield GatewayClient(f"http://127.0.0.1:{shop_a.port}"), misbehaving
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
    assert error["extensions"] == {"code": "REMOTE_UNAVAILABLE", "project": "shop_b"}
    return error["message"], elapsed


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (({}, 500, 0.0), "HTTP 500"),
        ((b"<html>oops</html>", 200, 0.0), "the answer is not a GraphQL response"),
        (({"data": {"_entities": []}}, 200, 0.0), "0 entities for 6 representations"),
        (({"errors": [{"message": "boom"}]}, 200, 0.0), "GraphQL errors: boom"),
        (({"data": {"_entities": []}}, 200, 3.0), "no answer within 1.0 s"),
    ],
)
def test_partial_data_and_an_error_within_the_timeout(gateway, answer, reason):
    shops, misbehaving = gateway
    body, status, delay = answer
    misbehaving.answer(body, status=status, delay=delay)
    message, elapsed = partial(shops)
    assert message == f"Project 'shop_b' is unavailable: {reason}"
    assert elapsed < 1.8


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
    message, elapsed = partial(shops)
    assert message.startswith("Project 'shop_b' is unavailable: not tried: 3 calls in a row failed")
    assert elapsed < 0.5
    assert misbehaving.requests == requests
