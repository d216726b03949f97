"""Property-based fuzzing of the gateway and the subgraph with generated queries.

Queries generated from each committed schema (valid ones, and invalid ones)
go to the live shops: whatever they send, the answer is JSON with data or
errors, and never a 5xx.
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
    st.sampled_from(["Book", "Audiobook", "Nope", ""]).map(nodes.String),
    st.one_of(st.integers(-5, 10).map(str), st.text(max_size=8)).map(nodes.String),
)


def subgraph_schema() -> graphql.GraphQLSchema:
    # The SDL other services read has no federation directive definitions.
    sdl = (ROOT / "schema" / "shop_b.graphql").read_text()
    return graphql.build_ast_schema(graphql.parse(sdl), assume_valid_sdl=True)


def post(url: str, query: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
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
