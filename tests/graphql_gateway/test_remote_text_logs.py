"""shop_a's log, as a real process writes it: no token a remote echoes, one record per request."""

import json
import time
import urllib.request

import pytest

from tests.graphql_gateway.test_gateway import books
from tests.servers import ROOT, GatewayClient, MisbehavingServer, UvicornProcess


@pytest.fixture(scope="module")
def echoing(shops, tmp_path_factory):
    """A second shop_a process, on the same data and token, whose shop_b echoes the token."""
    misbehaving = MisbehavingServer().start()
    misbehaving.answer(
        {
            "data": None,
            "errors": [
                {"message": f"token {MisbehavingServer.ECHO} may not read ShopBBook"},
                {"message": f"raw {shops.token}\nERROR forged line"},
            ],
        }
    )
    folder = tmp_path_factory.mktemp("echoing")
    env = {**shops.env, "SHOP_B_URL": misbehaving.url, "SHOP_B_TIMEOUT": "2"}
    shop_a = UvicornProcess("shop_a.asgi:application", ROOT / "shop_a", env, folder / "a.log")
    shop_a.launch()
    client = GatewayClient(f"http://127.0.0.1:{shop_a.port}")
    client.log = shop_a.log
    yield client, misbehaving
    shop_a.stop()
    misbehaving.stop()


def settled(path, start, needle, timeout=10.0):
    """Return what ``path`` got after offset ``start``, once it holds ``needle``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in path.read_text()[start:]:
            time.sleep(0.3)  # whatever is written right after it
            return path.read_text()[start:]
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not in {path} within {timeout} s")


def test_the_warning_line_holds_no_echoed_token(echoing, shops):
    client, misbehaving = echoing
    start = len(client.log.read_text())
    status, body = books(client, 0, 9)
    assert status == 200 and body["errors"][0]["extensions"]["reason"] == "QUERY_ERROR"
    assert misbehaving.requests >= 1
    written = settled(client.log, start, "Project 'shop_b' is unavailable")
    (line,) = [x for x in written.splitlines() if "Project 'shop_b' is unavailable" in x]
    assert "GraphQL errors: token Bearer [redacted] may not read ShopBBook" in line
    assert "raw [redacted]\\nERROR forged line" in line
    assert shops.token not in client.log.read_text()
    assert not any(x.startswith("ERROR forged line") for x in written.splitlines())


def test_a_subgraph_request_with_200_bad_representations_is_one_record(shops):
    """shop_a's /subgraph/, unauthenticated: each item its own error, one log record."""
    log = shops.shop_a.log
    start = len(log.read_text())
    representations = [{"__typename": "ShopABook", "id": f"x{i}"} for i in range(200)]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    request = urllib.request.Request(
        f"{shops.url}/subgraph/",
        data=json.dumps({"query": query, "variables": {"r": representations}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert len(body["errors"]) == 200
    written = settled(log, start, "200 error(s) in one GraphQL request")
    assert written.count("error(s) in one GraphQL request") == 1
    assert written.count("Traceback (most recent call last)") <= 1
    assert len(written.splitlines()) < 60  # was 12,801 lines
