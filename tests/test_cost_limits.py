"""Cost limits: repeated selections, aliases and list sizes are refused before any work."""

import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import parse

from federated_fk.graphql_cost import CostLimits, check_cost, measure
from tests.federated_fk.test_subgraph import post, rows  # noqa: F401
from tests.test_malformed_requests import send

REPEATED = "{ " + " ".join(["books { totalCount }"] * 300) + " }"


def gateway(shops, query, variables=None):
    status, body = shops.query(query, variables)
    assert status == 200
    return body


def test_measure_counts_fields_fragments_lists_and_entities():
    document = parse(
        """
        query ($r: [_Any!]!) {
          a: _entities(representations: $r) { ... F }
          b: _entities(representations: [{x: 1}, {x: 2}]) { ... F }
          books(limit: 50) { totalCount }
          other: books { totalCount }
        }
        fragment F on Book { id title ... on Book { price } }
        """
    )
    cost = measure(document, {"r": [{}] * 7}, {"books": ("limit", 20, 100)})
    assert (cost.fields, cost.items, cost.entities) == (2 * 4 + 4, 70, 9)
    limits = CostLimits(max_cost=1000, list_fields={}, max_entities=8)
    assert "asks for 9 entities" in check_cost(document, {"r": [{}] * 7}, limits).message


def test_exponential_fragments_are_counted_not_expanded():
    fragments = "".join(
        f"fragment F{i} on Query {{ " + " ".join([f"...F{i + 1}"] * 10) + " }\n" for i in range(30)
    )
    document = parse("{ ...F0 }\nfragment F30 on Query { __typename }\n" + fragments)
    started = time.perf_counter()
    cost = measure(document, {}, {})
    assert cost.fields == 10**30 and time.perf_counter() - started < 0.5


def test_repeated_selections_are_refused_quickly(shops):
    gateway(shops, "{ __typename }")  # the first request of a process is not what is timed
    started = time.perf_counter()
    body = gateway(shops, REPEATED)
    elapsed = time.perf_counter() - started
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT"
    assert error["message"].startswith("The operation costs 6600 (600 fields, 6000 list items")
    assert body["data"] is None
    assert elapsed < 0.5  # validation, quadratic in repeated selections, never ran


def test_aliases_multiply_the_page_size(shops):
    three = " ".join(f"p{i}: books(limit: 100) {{ totalCount }}" for i in range(3))
    body = gateway(shops, "{ " + three + " }")
    assert body["errors"][0]["extensions"]["code"] == "COST_LIMIT"
    two = " ".join(f"p{i}: books(limit: 100) {{ totalCount }}" for i in range(2))
    assert "errors" not in gateway(shops, "{ " + two + " }")


def test_the_demo_queries_pass(shops):
    from tests.bench.soak import QUERY
    from tests.graphql_gateway.test_gateway import BOOKS

    assert "errors" not in gateway(shops, QUERY)
    assert "errors" not in gateway(shops, BOOKS, {"offset": 0, "limit": 100})


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

    payload = json.dumps({"query": REPEATED}).encode()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        flood = [pool.submit(send, f"{shops.url}/graphql/", payload) for _ in range(24)]
        started = time.perf_counter()
        assert "errors" not in gateway(shops, QUERY)
        elapsed = time.perf_counter() - started
        assert all(f.result()[0] == 200 for f in flood)
    assert elapsed < 3.0  # it was 7.6 s before the cost limit


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
    _, body = post(client, "{ a: __typename b: __typename c: __typename d: __typename }")
    assert body["errors"][0]["extensions"]["code"] == "COST_LIMIT"


def test_gateway_cost_is_a_setting():
    from django.test import override_settings

    from graphql_gateway.schema import cost_limits, schema

    with override_settings(GRAPHQL_GATEWAY={"MAX_PAGE_SIZE": 100}):
        assert cost_limits().max_cost == 300  # 2 * MAX_PAGE_SIZE + 100 by default
    with override_settings(GRAPHQL_GATEWAY={"MAX_COST": 3}):
        result = schema.execute_sync("{ a: __typename b: __typename c: __typename d: __typename }")
    assert result.errors[0].extensions == {"code": "COST_LIMIT"}


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
