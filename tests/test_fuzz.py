"""Property-based fuzzing of the gateway and the subgraph with generated queries.

Queries generated from each committed schema (valid ones, and invalid ones)
go to the live shops, and so do generated request bodies that are not
GraphQL requests at all (JSON that is not an object, bytes that are not
UTF-8, deep nesting) and representations whose ids are huge integers,
floats or booleans: whatever they send, the answer is JSON with data or
errors, and never a 5xx; a malformed body gets a 400. Nested list sizes and
representation lists given as literals, variables (integral floats too) and
variable defaults are priced as ``tests/test_cost_limits.py`` says, computed
here independently: refused exactly when over the limit.
"""

import inspect
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import graphql
from graphql.language import Lexer, Source, TokenKind
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from federated_fk.subgraph import Subgraph

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


#: The gateway's limits in the demo (shop_a's settings and the defaults).
MAX_PAGE_SIZE = int(os.environ.get("GATEWAY_MAX_PAGE_SIZE", "100"))
DEFAULT_PAGE_SIZE = 20
GATEWAY_MAX_COST = 50 * MAX_PAGE_SIZE
SUBGRAPH_MAX_COST = 20_000
MAX_REPRESENTATIONS = 1000

#: How a size reaches its argument: a literal, a variable's default, a variable
#: sent as an int, as an integral float, as a fractional float, as null, a
#: null sent over a default, or no argument at all.
SIZE_SOURCES = st.one_of(
    st.tuples(st.sampled_from(["literal", "default", "int", "float"]), st.integers(-3, 1200)),
    st.tuples(st.just("fraction"), st.integers(0, 50)),
    st.tuples(st.sampled_from(["null", "default-null", "absent"]), st.just(0)),
)


def size_argument(name: str, source: tuple[str, int]) -> tuple[str, str, dict]:
    """Return the argument text, the variable declaration and the variables for one size."""
    kind, value = source
    if kind == "absent":
        return "", "", {}
    if kind == "literal":
        return f"(limit: {value})", "", {}
    declared = {"default": f" = {value}", "default-null": " = 7"}.get(kind, "")
    sent = {
        "int": {name: value},
        "float": {name: float(value)},
        "fraction": {name: value + 0.5},
        "null": {name: None},
        "default-null": {name: None},
    }.get(kind, {})
    return f"(limit: ${name})", f"${name}: Int{declared}", sent


def expected_size(source: tuple[str, int], largest: int, default: int, unreadable: bool) -> int:
    """The size the cost limit reads: the value, clamped; the default page when
    null or absent; the largest when the variables do not coerce."""
    kind, value = source
    if kind == "absent":
        return default
    if kind != "literal" and unreadable:
        return largest
    if kind in ("null", "default-null"):
        return default
    return min(max(value, 0), largest)


@FUZZ
@given(sources=st.tuples(SIZE_SOURCES, SIZE_SOURCES, SIZE_SOURCES), aliases=st.integers(1, 4))
def test_gateway_prices_nested_lists_after_variables_and_defaults(shops, sources, aliases):
    arguments = [size_argument(name, s) for name, s in zip("xyz", sources, strict=True)]
    declarations = ", ".join(d for _, d, _ in arguments if d)
    variables = {k: v for _, _, sent in arguments for k, v in sent.items()}
    (x_arg, _, _), (y_arg, _, _), (z_arg, _, _) = arguments
    page = (
        f"books{x_arg} {{ items {{ ... on ShopBBook {{ references{y_arg} {{ contentObject {{"
        f" ... on ShopBBook {{ references{z_arg} {{ id }} }} }} }} }} }} }}"
    )
    selections = " ".join(f"a{i}: {page}" for i in range(aliases))
    query = f"query ({declarations}) {{ {selections} }}" if declarations else f"{{ {selections} }}"
    unreadable = any(kind == "fraction" for kind, _ in sources)
    x, y, z = (expected_size(s, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, unreadable) for s in sources)
    price = aliases * (1 + x * (1 + y * (1 + 1 + z)))
    body = json.dumps({"query": query, "variables": variables}).encode()
    status, answer = post(f"{shops.url}/graphql/", body)
    check(status, answer)
    assert status == 200
    codes = [e.get("extensions", {}).get("code") for e in answer.get("errors", [])]
    if price > GATEWAY_MAX_COST:
        assert answer["data"] is None
        assert answer["errors"][0]["extensions"] == {
            "code": "COST_LIMIT",
            "cost": {"estimated": price, "max": GATEWAY_MAX_COST},
        }
    else:
        assert "COST_LIMIT" not in codes, (price, answer)


def _reps(count: int, start: int = 0) -> list[dict]:
    return [{"__typename": "ShopBBook", "id": str((start + i) % 250 + 1)} for i in range(count)]


#: The most tokens a subgraph's document may hold (``Subgraph(max_tokens=...)``'s default).
MAX_TOKENS = inspect.signature(Subgraph).parameters["max_tokens"].default


def _tokens(query: str) -> int:
    """How many tokens graphql-core reads in ``query``, as the token limit counts them."""
    lexer = Lexer(Source(query))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def _literal(representations: list[dict]) -> str:
    return (
        "["
        + ", ".join(f'{{__typename: "ShopBBook", id: "{r["id"]}"}}' for r in representations)
        + "]"
    )


@FUZZ
@given(
    source=st.sampled_from(["default", "variable", "literal"]),
    size=st.integers(0, 1100),
    aliases=st.integers(1, 300),
    extra=st.lists(st.integers(0, 3), max_size=3),
)
def test_subgraph_caps_representations_after_variables_and_defaults(
    shops, source, size, aliases, extra
):
    representations = _reps(size)
    if source == "literal":
        argument, declaration, variables = _literal(representations), "", {}
        aliases = min(aliases, 3)  # each alias repeats the list in the text
    else:
        argument = "$r"
        default = f" = {_literal(representations)}" if source == "default" else ""
        declaration = f"($r: [_Any!]!{default})"
        variables = {"r": representations} if source == "variable" else {}
    selections = [
        f"e{i}: _entities(representations: {argument}) {{ ... on ShopBBook {{ id }} }}"
        for i in range(aliases)
    ]
    # More aliases with short literal lists of their own: a nested list argument each.
    selections += [
        f"x{i}: _entities(representations: {_literal(_reps(n, i))}) {{ ... on ShopBBook {{ id }} }}"
        for i, n in enumerate(extra)
    ]
    query = f"query {declaration} {{ {' '.join(selections)} }}"
    url, headers = subgraph(shops)
    status, answer = post(
        url, json.dumps({"query": query, "variables": variables}).encode(), headers
    )
    check(status, answer)
    total = aliases * size + sum(extra)
    if _tokens(query) > MAX_TOKENS:
        # Refused before it is parsed, whatever it asks for.
        assert answer["data"] is None
        assert answer["errors"][0]["message"] == (
            f"Syntax Error: Document contains more than {MAX_TOKENS} tokens. Parsing aborted."
        )
    elif total > MAX_REPRESENTATIONS:
        assert answer["data"] is None
        assert answer["errors"][0]["message"] == (
            f"The operation asks for {total} entities in all its _entities selections; "
            f"allowed: {MAX_REPRESENTATIONS}."
        )
    else:
        assert "errors" not in answer, answer
        assert sum(len(v) for v in answer["data"].values()) == total


@FUZZ
@given(source=SIZE_SOURCES, aliases=st.integers(1, 24))
def test_subgraph_prices_federated_ids_after_variables_and_defaults(shops, source, aliases):
    argument, declaration, variables = size_argument("n", source)
    selections = " ".join(
        f'i{i}: federatedIds(typeName: "ShopBBook"{", " + argument[1:-1] if argument else ""})'
        " { ids }"
        for i in range(aliases)
    )
    query = f"query ({declaration}) {{ {selections} }}" if declaration else f"{{ {selections} }}"
    # limit: Int! = 100 in the subgraph: absent, it is 100; a null for Int!
    # does not coerce (execution refuses it), so it is priced at the largest.
    unreadable = source[0] in ("fraction", "null", "default-null")
    size = expected_size(source, 1000, 100, unreadable)
    price = aliases * (1 + size)
    url, headers = subgraph(shops)
    status, answer = post(
        url, json.dumps({"query": query, "variables": variables}).encode(), headers
    )
    check(status, answer)
    codes = [e.get("extensions", {}).get("code") for e in answer.get("errors", [])]
    if price > SUBGRAPH_MAX_COST:
        assert answer["errors"][0]["extensions"]["cost"] == {
            "estimated": price,
            "max": SUBGRAPH_MAX_COST,
        }
    else:
        assert "COST_LIMIT" not in codes, (price, answer)
