"""Cost limits: operations are priced as Apollo's demand control prices them (a list
costs its size times the cost of an item, sizes read after variables and defaults)
and refused before any work; repeated selections are refused before validation."""

import inspect
import json
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import build_schema, get_introspection_query, parse

from federated_fk.graphql_cost import (
    CostLimits,
    ListSize,
    actual_cost,
    check_cost,
    measure,
)
from federated_fk.observability import OperationCost, operation_cost
from tests.federated_fk.test_subgraph import post, rows  # noqa: F401
from tests.test_malformed_requests import send

REPEATED = "{ " + " ".join(["books { totalCount }"] * 300) + " }"

#: The attack: four nested pages of 72, each under the previous one's items.
NESTED_ATTACK = """{ books(limit: 72) { items { ... on ShopBBook { references(limit: 72) {
  contentObject { ... on ShopBBook { references(limit: 72) { contentObject {
  ... on ShopBBook { references(limit: 72) { id } } } } } } } } } } }"""

#: What Apollo Router's demand control prices it at: 1 + 72 * (1 + 72 * (1 + 1 + 72 *
#: (1 + 1 + 72 * 1))), each object 1, each list its limit times the cost of an item.
NESTED_ATTACK_PRICE = 27_630_793

#: A page of ``$l`` books, each listing ``$l`` references: 1 + l * (1 + l).
NESTED_BY_VARIABLE = """query ($l: Int%s) { books(limit: $l) { items {
  ... on ShopBBook { references(limit: $l) { id } } } } }"""

#: The query GraphiQL opens with in shop_a (its settings' BOOKS_QUERY).
GRAPHIQL = """{
  books(limit: 20) {
    totalCount
    hasNextPage
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

SCHEMA = build_schema(
    """
    type Query {
      page(limit: Int, offset: Int! = 0): Page!
      rows(limit: Int = 7): [Row!]!
      tags: [String!]!
      _entities(representations: [_Any!]!): [_Entity]!
    }
    type Page { items: [Item]! total: Int! }
    union Item = Row | Other
    type Row { id: ID! children(limit: Int): [Row!]! other: Other }
    type Other { id: ID! name: String! }
    union _Entity = Row | Other
    scalar _Any
    """
)
PAGED = ListSize("limit", 20, 100, sized_fields=("items",), loads_items=True)
LIMITS = CostLimits(
    max_cost=10**9,
    list_sizes={"page": PAGED, "Row.children": ListSize("limit", 20, 100), "Query.rows": PAGED},
    list_size=5,
)


def price(query, variables=None, limits=LIMITS):
    return measure(SCHEMA, parse(query), variables or {}, limits)


def gateway(shops, query, variables=None):
    status, body = shops.query(query, variables)
    assert status == 200
    return body


def subgraph_post(shops, query, variables=None):
    """POST to shop_b's subgraph, as shop_a does; return the status and the JSON answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{shops.shop_b.port}/graphql/",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {shops.token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_a_list_costs_its_size_times_the_cost_of_an_item():
    # Objects 1, scalars and __typename 0; the page's limit sizes its items.
    assert price("{ page(limit: 3) { total items { __typename } } }").price == 1 + 3 * 1
    assert price("{ page(limit: 3) { items { ... on Row { id other { id } } } } }").price == 7
    # Nested lists multiply: 1 + 3 * (1 + 4 * (1 + 1)).
    nested = "{ page(limit: 3) { items { ... on Row { children(limit: 4) { other { id } } } } } }"
    assert price(nested).price == 1 + 3 * (1 + 4 * 2)
    # Every fragment of a selection counts, as Apollo counts them.
    both = "{ page(limit: 2) { items { ... on Row { other { id } } ... on Other { id } } } }"
    assert price(both).price == 1 + 2 * (1 + 1)
    # No argument: the assumed size; beyond the largest: the largest; a list
    # with no ListSize: CostLimits.list_size; an argument's own default counts.
    assert price("{ page { items { __typename } } }").price == 1 + 20
    assert price("{ page(limit: 5000) { items { __typename } } }").price == 1 + 100
    assert price("{ page(limit: 1) { items { ... on Row { children { id } } } } }").price == 22
    assert price("{ rows { id } }").price == 7  # limit: Int = 7 in the schema
    assert price("{ tags }").price == 0  # scalars are free unless weighted
    assert price(get_introspection_query()).price == 1  # the schema, not data
    weighted = CostLimits(max_cost=10, weights={"Query.tags": 2}, list_size=5)
    assert price("{ tags }", limits=weighted).price == 10
    # A page whose items are not selected still loads them.
    assert price("{ page(limit: 50) { total } }").price == 1 + 50
    assert price("{ a: page(limit: 50) { total } b: page(limit: 50) { total } }").price == 102


def test_sizes_are_read_after_variables_and_defaults():
    query = "query ($l: Int%s) { page(limit: $l) { items { ... on Row { id } } } }"
    assert price(query % " = 100").price == 101  # the variable's default
    assert price(query % " = 100", {"l": 3}).price == 4  # the value sent wins
    assert price(query % "", {"l": 100.0}).price == 101  # an integral float is an Int
    assert price(query % "", {}).price == 21  # absent: the field's assumed size
    assert price(query % " = 100", {"l": None}).price == 21  # null: likewise
    # Unreadable (a fractional float, a string): priced at the largest size;
    # execution refuses such variables anyway.
    assert price(query % "", {"l": 2.5}).price == 101
    assert price('{ page(limit: "x") { items { __typename } } }').price == 101
    # Literals are still read when the variables are not.
    mixed = (
        "query ($l: Int) { page(limit: 3) { items { ... on Row { children(limit: $l) { id } } } } }"
    )
    assert price(mixed, {"l": 2.5}).price == 1 + 3 * (1 + 100)
    # Ten aliases of a default of 100 cost ten pages of 100, not of 20.
    aliases = " ".join(f"a{i}: page(limit: $l) {{ items {{ __typename }} }}" for i in range(10))
    assert price(f"query ($l: Int = 100) {{ {aliases} }}").price == 1010
    assert price(f"query ($l: Int) {{ {aliases} }}", {"l": 100.0}).price == 1010
    # Variables nested in list and object literals, and skipped fields.
    skipped = "query ($s: Boolean = true) { page(limit: 9) @skip(if: $s) { total } }"
    assert price(skipped).price == 0
    assert price(skipped, {"s": False}).price == 10


def test_entities_count_representations_across_aliases_variables_and_defaults():
    rep = '{__typename: "Row", id: 1}'
    query = f"""query ($r: [_Any!]! = [{rep}, {rep}], $s: [_Any!]!) {{
      a: _entities(representations: $r) {{
        ... on Row {{ id other {{ id }} }} ... on Other {{ id }}
      }}
      b: _entities(representations: $r) {{ ... on Row {{ id }} }}
        c: _entities(representations: [{rep}, {{__typename: "Other", id: 2}}, {rep}]) {{ ...F }}
    d: _entities(representations: $s) {{ ...F }}
    }}
    fragment F on _Entity {{ ... on Row {{ id }} ... on Other {{ id }} }}"""
    cost = price(query, {"s": [{"__typename": "Other", "id": "1"}] * 4})
    # a: 2 reps, each a Row (1 + other 1); b: 2; c: 3; d: 4 (the Other fragment only).
    assert cost.entities == 2 + 2 + 3 + 4
    assert cost.price == 2 * 2 + 2 + 3 + 4
    limits = CostLimits(max_cost=1000, max_entities=10)
    error = check_cost(SCHEMA, parse(query), {"s": [{}] * 4}, limits)
    assert error.message == (
        "The operation asks for 11 entities in all its _entities selections; allowed: 10."
    )
    assert error.extensions["code"] == "COST_LIMIT"


@pytest.mark.parametrize("variable_type", ["[_Any!]!", "[_Any!]", "[_Any]"])
def test_representations_sent_as_a_list_are_priced_as_coerced(variable_type):
    # A list of representations is priced as sent, not coerced first: the same
    # price as the same list written as a literal, which graphql-core coerces.
    representations = [
        {"__typename": "Row", "id": "1"},
        {"__typename": "Other", "id": "2"},
        {"__typename": "Nope"},
        {"id": "3"},
        "text",
    ]
    literal = '[{__typename: "Row", id: "1"}, {__typename: "Other", id: "2"}, '
    literal += '{__typename: "Nope"}, {id: "3"}, "text"]'
    selection = "{ ... on Row { id other { id } } ... on Other { id } }"
    sent = measure(
        SCHEMA,
        parse(f"query ($r: {variable_type}) {{ _entities(representations: $r) {selection} }}"),
        {"r": representations},
        LIMITS,
    )
    written = measure(
        SCHEMA, parse(f"{{ _entities(representations: {literal}) {selection} }}"), {}, LIMITS
    )
    assert (sent.price, sent.entities) == (written.price, written.entities)
    assert sent.entities == 5
    # One representation, not in a list: coerced as a list of one, as before.
    single = measure(
        SCHEMA,
        parse(f"query ($r: {variable_type}) {{ _entities(representations: $r) {selection} }}"),
        {"r": representations[0]},
        LIMITS,
    )
    assert single.entities == 1


def test_fragments_and_selections_are_counted_once_each():
    document = parse(
        """
        query ($r: [_Any!]!) {
          a: _entities(representations: $r) { ... F }
          page(limit: 50) { total }
        }
        fragment F on Row { id children(limit: 2) { id } }
        """
    )
    cost = measure(SCHEMA, document, {"r": [{"__typename": "Row"}] * 7}, LIMITS)
    assert (cost.price, cost.entities, cost.selections) == (7 * 3 + 51, 7, 6)
    limits = CostLimits(max_cost=1000, max_selections=5)
    assert check_cost(SCHEMA, document, {"r": []}, limits).message == (
        "The operation has 6 field selections, fragments expanded; allowed: 5."
    )


def test_exponential_fragments_are_counted_not_expanded():
    fragments = "".join(
        f"fragment F{i} on Query {{ " + " ".join([f"...F{i + 1}"] * 10) + " }\n" for i in range(30)
    )
    document = parse("{ ...F0 }\nfragment F30 on Query { rows(limit: 1) { id } }\n" + fragments)
    started = time.perf_counter()
    cost = measure(SCHEMA, document, {}, LIMITS)
    assert cost.selections == 2 * 10**30 and cost.price == 10**30
    assert time.perf_counter() - started < 0.5


def test_too_deep_to_price_is_refused():
    # graphql-core's parser stops at a few hundred levels; a smaller stack stands
    # in for a deeper document.
    document = parse("{ " + "rows { " * 150 + "id" + " }" * 151)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 100)
    try:
        error = check_cost(SCHEMA, document, {}, LIMITS)
    finally:
        sys.setrecursionlimit(limit)
    assert error.message == "The operation is nested too deep to be priced."
    assert error.extensions["code"] == "COST_LIMIT"


def test_the_actual_cost_prices_the_response():
    query = "{ page(limit: 5) { items { ... on Row { id children(limit: 9) { id } } } } }"
    data = {"page": {"items": [{"id": "1", "children": [{"id": "2"}] * 3}, None, {"id": "4"}]}}
    assert price(query).price == 1 + 5 * (1 + 9)
    # The page, two rows (a null item costs nothing), three children.
    assert actual_cost(SCHEMA, parse(query), data, LIMITS) == 1 + 2 + 3


def test_the_nested_attack_is_priced_as_apollo_prices_it(shops):
    started = time.perf_counter()
    body = gateway(shops, NESTED_ATTACK)
    elapsed = time.perf_counter() - started
    (error,) = body["errors"]
    assert body["data"] is None
    assert error["extensions"] == {
        "code": "COST_LIMIT",
        "cost": {"estimated": NESTED_ATTACK_PRICE, "max": 5000},
    }
    assert error["message"] == (
        f"The operation costs {NESTED_ATTACK_PRICE} (each list its size times the cost of an "
        "item); allowed: 5000."
    )
    assert elapsed < 1.0  # refused before anything ran (it took 5.9 s when accepted)


@pytest.mark.parametrize(
    ("default", "variables", "refused"),
    [
        (" = 100", {}, True),  # the variable's default: 1 + 100 * 101
        (" = 100", {"l": 20}, False),  # 1 + 20 * 21
        ("", {"l": 100.0}, True),  # an integral float is the Int 100
        ("", {"l": 20.0}, False),
        ("", {}, False),  # absent: DEFAULT_PAGE_SIZE (20)
        (" = 100", {"l": None}, False),  # null: likewise
    ],
)
def test_variable_defaults_and_integral_floats_are_priced_at_their_value(
    shops, default, variables, refused
):
    body = gateway(shops, NESTED_BY_VARIABLE % default, variables)
    if refused:
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["cost"] == {"estimated": 10_101, "max": 5000}
    else:
        assert "errors" not in body, body
        assert len(body["data"]["books"]["items"]) == 20


def test_repeated_selections_are_refused_quickly(shops):
    gateway(shops, "{ __typename }")  # the first request of a process is not what is timed
    started = time.perf_counter()
    body = gateway(shops, REPEATED)
    elapsed = time.perf_counter() - started
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT"
    assert error["message"] == (
        "The operation has 600 field selections, fragments expanded; allowed: 300."
    )
    assert body["data"] is None
    assert elapsed < 0.5  # validation, quadratic in repeated selections, never ran


def test_aliases_multiply_the_page_size(shops):
    # Each alias: 1 + 100 * (1 + 5) = 601; nine are over 5,000, eight are not.
    page = "books(limit: 100) { items { ... on ShopABook { references(limit: 5) { id } } } }"
    nine = " ".join(f"p{i}: {page}" for i in range(9))
    body = gateway(shops, "{ " + nine + " }")
    assert body["errors"][0]["extensions"]["cost"] == {"estimated": 9 * 601, "max": 5000}
    eight = " ".join(f"p{i}: {page}" for i in range(8))
    assert "errors" not in gateway(shops, "{ " + eight + " }")


def test_the_demo_queries_pass(shops):
    from tests.bench.soak import QUERY
    from tests.graphql_gateway.test_gateway import BOOKS

    assert "errors" not in gateway(shops, QUERY)
    assert "errors" not in gateway(shops, BOOKS, {"offset": 0, "limit": 100})  # costs 401
    assert "errors" not in gateway(shops, GRAPHIQL)  # costs 81
    # The docs' example (36), and a full page with three references a book (1,901).
    readme = """{ books(limit: 5) { items { ... on ShopBBook {
      title references(limit: 3) { created contentObject { __typename } } } } } }"""
    assert "errors" not in gateway(shops, readme)
    full = """{ books(limit: 100) { items {
      ... on ShopABook { references(limit: 3) { created contentObject { __typename } } }
      ... on ShopBBook { references(limit: 3) { created contentObject { __typename } } }
      ... on ShopBAudiobook { references(limit: 3) { created contentObject { __typename } } }
    } } }"""
    assert "errors" not in gateway(shops, full)
    # GraphiQL's schema explorer: introspection reads the schema, not data (it costs 1).
    assert "errors" not in gateway(shops, get_introspection_query(descriptions=True))


def test_a_repeated_identical_field_is_read_once(shops):
    before = shops.shop_b_requests()
    fields = "totalCount items { __typename ... on BookItem { id title } }"
    body = gateway(
        shops, f"{{ a: books(limit: 9) {{ {fields} }} b: books(limit: 9) {{ {fields} }} }}"
    )
    assert "errors" not in body and body["data"]["a"] == body["data"]["b"]
    assert shops.shop_b_requests() - before == 1


def test_parallel_expensive_queries_do_not_hold_up_a_normal_one(shops):
    import concurrent.futures

    from tests.bench.soak import QUERY

    for expensive in (REPEATED, NESTED_ATTACK):
        payload = json.dumps({"query": expensive}).encode()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            flood = [pool.submit(send, f"{shops.url}/graphql/", payload) for _ in range(24)]
            started = time.perf_counter()
            assert "errors" not in gateway(shops, QUERY)
            elapsed = time.perf_counter() - started
            assert all(f.result()[0] == 200 for f in flood)
        assert elapsed < 3.0  # it was 7.6 s before the cost limit; 16.7 s under the attack


def entities_query(aliases: int, default: list | None = None) -> str:
    """``aliases`` ``_entities`` selections of one variable, ``$r``, with ``default``."""
    declared = "[_Any!]!" + (f" = {_literal(default)}" if default is not None else "")
    selections = " ".join(
        f"e{i}: _entities(representations: $r) {{ ... on ShopBBook {{ id }} }}"
        for i in range(aliases)
    )
    return f"query ($r: {declared}) {{ {selections} }}"


def _literal(representations: list) -> str:
    return (
        "["
        + ", ".join(
            f'{{__typename: "{r["__typename"]}", id: "{r["id"]}"}}' for r in representations
        )
        + "]"
    )


def test_subgraph_cap_counts_representations_in_a_variable_default(shops):
    # The attack: a list of representations in the variable's default, repeated
    # under 150 aliases (15,000 entities from a document under the subgraph's
    # token limit; a longer one is refused for its tokens before it is parsed).
    representations = [{"__typename": "ShopBBook", "id": str(i % 250 + 1)} for i in range(1000)]
    started = time.perf_counter()
    status, body = subgraph_post(shops, entities_query(150, representations[:100]))
    assert status == 200 and body["data"] is None
    assert body["errors"][0]["message"] == (
        "The operation asks for 15000 entities in all its _entities selections; allowed: 1000."
    )
    assert time.perf_counter() - started < 2.0
    # Within the cap, the default is what runs.
    status, body = subgraph_post(shops, entities_query(2, representations[:400]))
    assert "errors" not in body and len(body["data"]["e1"]) == 400
    status, body = subgraph_post(shops, entities_query(3, representations[:400]))
    assert body["errors"][0]["extensions"]["code"] == "COST_LIMIT"


def test_subgraph_prices_federated_ids_after_defaults_and_integral_floats(shops):
    def ids(aliases: int, declared: str) -> str:
        selections = " ".join(
            f'i{i}: federatedIds(typeName: "ShopBBook", limit: $n) {{ ids }}'
            for i in range(aliases)
        )
        return f"query ($n: Int!{declared}) {{ {selections} }}"

    # Twenty pages of 1,000 ids: 20 * (1 + 1,000) > 20,000.
    for query, variables in [(ids(20, " = 1000"), {}), (ids(20, ""), {"n": 1000.0})]:
        _, body = subgraph_post(shops, query, variables)
        assert body["errors"][0]["extensions"]["cost"] == {"estimated": 20_020, "max": 20_000}
    _, body = subgraph_post(shops, ids(19, " = 1000"))
    assert "errors" not in body and len(body["data"]["i18"]["ids"]) == 254


@pytest.mark.django_db
def test_subgraph_representation_cap_counts_across_aliases(client, rows):  # noqa: F811
    representations = [{"__typename": "Book", "id": str(i)} for i in range(400)]
    aliases = " ".join(
        f"e{i}: _entities(representations: $r) {{ ... on Book {{ id }} }}" for i in range(3)
    )
    with CaptureQueriesContext(connection) as queries:
        status, body = post(client, f"query ($r: [_Any!]!) {{ {aliases} }}", {"r": representations})
    assert status == 200 and body["data"] is None
    assert body["errors"][0]["message"] == (
        "The operation asks for 1200 entities in all its _entities selections; allowed: 1000."
    )
    assert len(queries) == 0
    two = " ".join(
        f"e{i}: _entities(representations: $r) {{ ... on Book {{ id }} }}" for i in range(2)
    )
    status, body = post(client, f"query ($r: [_Any!]!) {{ {two} }}", {"r": representations})
    assert "errors" not in body


@pytest.mark.django_db
def test_subgraph_cost_is_a_setting(client, rows, settings):  # noqa: F811
    settings.FEDERATION = {**settings.FEDERATION, "SUBGRAPH_MAX_COST": 3}
    reps = ", ".join(f'{{__typename: "Book", id: "{i}"}}' for i in range(1, 5))
    _, body = post(client, f"{{ _entities(representations: [{reps}]) {{ ... on Book {{ id }} }} }}")
    assert body["errors"][0]["extensions"] == {
        "code": "COST_LIMIT",
        "cost": {"estimated": 4, "max": 3},
    }


@pytest.mark.django_db
def test_the_actual_cost_is_recorded_after_execution(client, rows):  # noqa: F811
    records = []

    def receiver(sender, cost, **kwargs):
        records.append(cost)

    operation_cost.connect(receiver)
    try:
        query = "query ($r: [_Any!]!) { _entities(representations: $r) { ... on Book { id } } }"
        wanted = [{"__typename": "Book", "id": str(i)} for i in (1, 2, 99)]
        post(client, query, {"r": wanted})
        post(client, query, {"r": wanted * 400})
    finally:
        operation_cost.disconnect(receiver)
    ran, refused = records
    assert isinstance(ran, OperationCost)
    assert (ran.estimated, ran.actual, ran.entities, ran.refused) == (3, 2, 3, None)  # 99: null
    assert (refused.estimated, refused.actual, refused.entities) == (1200, None, 1200)
    assert refused.refused.startswith("The operation asks for 1200 entities")


@pytest.mark.django_db
def test_a_failing_cost_receiver_is_logged_and_fails_nothing(client, rows, caplog):  # noqa: F811
    def receiver(sender, cost, **kwargs):
        raise RuntimeError("metrics backend down")

    operation_cost.connect(receiver)
    try:
        _, body = post(
            client,
            '{ _entities(representations: [{__typename: "Book", id: "1"}]) '
            "{ ... on Book { id } } }",
        )
    finally:
        operation_cost.disconnect(receiver)
    assert body == {"data": {"_entities": [{"id": "1"}]}}
    assert "metrics backend down" in caplog.text


def test_gateway_cost_is_a_setting():
    from django.test import override_settings

    from graphql_gateway.schema import cost_limits, schema

    with override_settings(GRAPHQL_GATEWAY={"MAX_PAGE_SIZE": 100}):
        assert cost_limits().max_cost == 5000  # 50 * MAX_PAGE_SIZE by default
    with override_settings(GRAPHQL_GATEWAY={"MAX_COST": 3}):
        result = schema.execute_sync(
            "{ a: books(limit: 1) { totalCount } b: books { totalCount } }"
        )
    assert result.errors[0].extensions == {
        "code": "COST_LIMIT",
        "cost": {"estimated": 23, "max": 3},
    }


@pytest.mark.django_db
def test_a_cached_validation_never_skips_the_cost_limit(client, rows):  # noqa: F811
    # The same text, validated and cached while its cost is low, is refused
    # once its variables make it cost too much, and the other way round.
    text = (
        "query ($r: [_Any!]!) { e0: _entities(representations: $r) { ... on Book { id } } "
        "e1: _entities(representations: $r) { ... on Book { id } } }"
    )
    few = [{"__typename": "Book", "id": "1"}]
    many = few * 600
    for variables, refused in ((few, False), (many, True), (few, False), (many, True)):
        _, body = post(client, text, {"r": variables})
        assert ("errors" in body) is refused, body
        if refused:
            assert body["errors"][0]["extensions"]["code"] == "COST_LIMIT"
    _, body = post(client, "{ _entities { id } }")  # invalid: cached errors still answered
    _, again = post(client, "{ _entities { id } }")
    assert body["errors"] and again["errors"] == body["errors"]
