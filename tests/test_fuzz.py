"""Property-based fuzzing of the gateway and the subgraph with generated queries.

Queries generated from each committed schema (valid ones, and invalid ones)
go to the live shops, and so do generated request bodies that are not
GraphQL requests at all (JSON that is not an object, bytes that are not
UTF-8, deep nesting) and representations whose ids are huge integers,
floats or booleans: whatever they send, the answer is JSON with data or
errors, and never a 5xx; a malformed body gets a 400.
"""

import json
import urllib.error
import urllib.request
from pathlib import Path

import graphql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

ROOT = Path(__file__).resolve().parent.parent
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=2).map(nodes.String)
REPRESENTATIONS = st.builds(
    lambda typename, id_: nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value="__typename"), value=typename),
            graphql.ObjectFieldNode(name=graphql.NameNode(value="id"), value=id_),
        ]
    ),
    st.sampled_from(["ShopBBook", "ShopBAudiobook", "Nope", ""]).map(nodes.String),
    st.one_of(
        st.one_of(st.integers(-5, 10).map(str), st.text(max_size=8)).map(nodes.String),
        # Ids that must never be coerced: huge, fractional, boolean, padded.
        st.integers(min_value=-(2**80), max_value=2**80).map(nodes.Int),
        st.integers(min_value=-(2**80), max_value=2**80).map(str).map(nodes.String),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.booleans().map(nodes.Boolean),
        st.integers(0, 10).map(lambda i: f" {i} ").map(nodes.String),
    ),
)

#: JSON ids as clients send them in variables, exact or not.
JSON_IDS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
)

#: JSON nested ``depth`` levels deep, as arrays or objects.
NESTED = st.tuples(st.integers(1, 3000), st.booleans()).map(
    lambda args: (
        ("[" * args[0] + "]" * args[0]) if args[1] else ('{"a":' * args[0] + "1" + "}" * args[0])
    )
)

#: Request bodies that are not a GraphQL request object.
MALFORMED_BODIES = st.one_of(
    st.one_of(
        st.integers(min_value=-(2**200), max_value=2**200),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.none(),
        st.booleans(),
        st.lists(st.one_of(st.integers(), st.none()), max_size=3),
    ).map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64).map(lambda raw: b'{"query": "{ __typename }", "x": "' + raw + b'"}'),
    NESTED.map(lambda nested: f'{{"query": "{{ __typename }}", "variables": {{"v": {nested}}}}}'),
    NESTED.map(lambda nested: nested.encode() if isinstance(nested, str) else nested),
)


def subgraph_schema() -> graphql.GraphQLSchema:
    # The SDL other services read has no federation directive definitions.
    sdl = (ROOT / "schema" / "shop_b.graphql").read_text()
    return graphql.build_ast_schema(graphql.parse(sdl), assume_valid_sdl=True)


def post(url: str, query: str | bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """POST a query, or a raw body given as bytes; return the status and the JSON answer."""
    data = query if isinstance(query, bytes) else json.dumps({"query": query}).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def check(status: int, body: dict) -> None:
    assert status < 500, body
    assert "data" in body or "errors" in body


@FUZZ
@given(data=st.data())
def test_gateway_answers_every_generated_query(shops, data):
    sdl = (ROOT / "schema" / "gateway.graphql").read_text()
    mode = data.draw(st.sampled_from([Mode.POSITIVE, Mode.NEGATIVE]))
    query = data.draw(from_schema(sdl, custom_scalars={"Decimal": DECIMALS}, mode=mode))
    check(*post(f"{shops.url}/graphql/", query))


@FUZZ
@given(data=st.data())
def test_subgraph_answers_every_generated_query(shops, data):
    mode = data.draw(st.sampled_from([Mode.POSITIVE, Mode.NEGATIVE]))
    strategy = from_schema(
        subgraph_schema(), custom_scalars={"Decimal": DECIMALS, "_Any": REPRESENTATIONS}, mode=mode
    )
    query = data.draw(strategy)
    url = f"http://127.0.0.1:{shops.shop_b.port}/graphql/"
    check(*post(url, query, {"Authorization": f"Bearer {shops.token}"}))


def subgraph(shops) -> tuple[str, dict[str, str]]:
    return (
        f"http://127.0.0.1:{shops.shop_b.port}/graphql/",
        {"Authorization": f"Bearer {shops.token}"},
    )


@FUZZ
@given(body=MALFORMED_BODIES, to_gateway=st.booleans())
def test_malformed_bodies_get_400_everywhere(shops, body, to_gateway):
    if isinstance(body, str):
        body = body.encode()
    url, headers = (f"{shops.url}/graphql/", {}) if to_gateway else subgraph(shops)
    status, answer = post(url, body, headers)
    check(status, answer)
    if not body.startswith(b'{"query"'):
        assert status == 400, answer
    if status == 400:
        assert answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@FUZZ
@given(ids=st.lists(JSON_IDS, min_size=1, max_size=5))
def test_entities_with_loose_ids_fail_only_their_own_item(shops, ids):
    representations = [{"__typename": "ShopBBook", "id": "1"}] + [
        {"__typename": "ShopBBook", "id": value} for value in ids
    ]
    query = "query ($r: [_Any!]!) { _entities(representations: $r) { ... on ShopBBook { id } } }"
    url, headers = subgraph(shops)
    body = json.dumps({"query": query, "variables": {"r": representations}}).encode()
    status, answer = post(url, body, headers)
    check(status, answer)
    assert status == 200
    entities = answer["data"]["_entities"]
    assert entities[0] == {"id": "1"}  # a bad id never blanks the others
    for value, entity in zip(ids, entities[1:], strict=True):
        exact = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit()
        )
        if not exact:
            assert entity is None  # never coerced to a row: 1.5, true, " 1 " are not 1
