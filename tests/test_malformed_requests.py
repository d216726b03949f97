"""Malformed requests get HTTP 400 and a GraphQL-shaped error on every GraphQL view.

Against the live shops: shop_a's gateway and shop_b's subgraph, both views
built on ``federated_fk.graphql_http.GraphQLView``.
"""

import json
import urllib.error
import urllib.request

import pytest

DEEP = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
SLIGHTLY_DEEP = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 40 + b"]" * 40 + b"}}"

MALFORMED = {
    "integer": b"12",
    "string": b'"x"',
    "null": b"null",
    "true": b"true",
    "empty": b"",
    "list of numbers": b"[1, 2]",
    "invalid utf-8": b'{"query": "{ __typename \xff\xfe }"}',
    "utf-16": '{"query": "{ __typename }"}'.encode("utf-16"),
    "truncated": b'{"query": ',
    "NaN": b'{"query": "{ __typename }", "variables": {"v": NaN}}',
    "deep nesting": DEEP,
    "nesting past the limit": SLIGHTLY_DEEP,
    "huge integer": b'{"query": "{ __typename }", "variables": {"v": ' + b"9" * 5000 + b"}}",
    "query not a string": b'{"query": 12}',
    "variables not an object": b'{"query": "{ __typename }", "variables": [1]}',
    # Each an input object graphql-core would coerce: seconds of work for one request.
    "too many objects": json.dumps(
        {"query": "{ __typename }", "variables": {"v": [{}] * 20_001}}
    ).encode(),
}


def send(url, body, headers=None):
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def log_offsets(shops):
    """Where the shops' logs end before this module's requests."""
    return {log: len(log.read_text()) for log in (shops.shop_a.log, shops.shop_b.log)}


def endpoints(shops):
    return {
        "gateway": (f"{shops.url}/graphql/", {}),
        "subgraph": (
            f"http://127.0.0.1:{shops.shop_b.port}/graphql/",
            {"Authorization": f"Bearer {shops.token}"},
        ),
    }


@pytest.mark.parametrize("view", ["gateway", "subgraph"])
@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_body_gets_400_with_a_graphql_error(shops, log_offsets, view, name):
    url, headers = endpoints(shops)[view]
    status, body = send(url, MALFORMED[name], headers)
    assert status == 400, body[:300]
    (error,) = json.loads(body)["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"]


@pytest.mark.parametrize("view", ["gateway", "subgraph"])
def test_deeply_nested_query_text_is_an_error_not_a_500(shops, view):
    url, headers = endpoints(shops)[view]
    query = "{ __typename(x: " + "[" * 3000 + "]" * 3000 + ") }"
    status, body = send(url, json.dumps({"query": query}).encode(), headers)
    assert status in (200, 400), body[:300]
    assert json.loads(body)["errors"]


@pytest.mark.parametrize("view", ["gateway", "subgraph"])
def test_a_document_of_too_many_tokens_is_refused_before_it_is_parsed(shops, view):
    url, headers = endpoints(shops)[view]
    members = ", ".join(["{}"] * 50_000)
    query = "{ __typename(x: [" + members + "]) }"
    status, body = send(url, json.dumps({"query": query}).encode(), headers)
    assert status == 200, body[:300]
    limit = {"gateway": 2000, "subgraph": 5000}[view]
    assert json.loads(body)["errors"][0]["message"] == (
        f"Syntax Error: Document contains more than {limit} tokens. Parsing aborted."
    )


@pytest.mark.parametrize("view", ["gateway", "subgraph"])
def test_a_well_formed_request_still_works(shops, view):
    url, headers = endpoints(shops)[view]
    status, body = send(url, json.dumps({"query": "{ __typename }"}).encode(), headers)
    assert status == 200
    assert json.loads(body) == {"data": {"__typename": "Query"}}


def test_shop_logs_show_no_traceback(shops, log_offsets):
    for log, offset in log_offsets.items():
        assert "Traceback" not in log.read_text()[offset:]
