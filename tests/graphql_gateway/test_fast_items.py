"""A page's items completed in one pass give the answer graphql-core's completion gives."""

import json

import pytest
from asgiref.sync import async_to_sync
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from federated_fk.graphql_completion import Unknown
from graphql_gateway.fast_items import GatewayExecutionContext
from graphql_gateway.generate import FederatedUnion
from graphql_gateway.schema import GatewayContext, gateway_schema
from tests.graphql_gateway import test_generate
from tests.servers import free_port

pytestmark = pytest.mark.django_db

# The showings of local and remote movies and clips (tests/graphql_gateway/test_generate.py).
federation = test_generate.federation
synced_content_types = test_generate.synced_content_types
screenings = test_generate.screenings


class CountingContext(GatewayExecutionContext):
    """Counts the item lists completed in one pass, and those left to graphql-core."""

    fast = 0
    normal = 0

    def complete_list_value(self, return_type, field_details_list, info, path, result, pc):
        if info.field_name == "items":
            middleware = self.middleware_manager
            if middleware is not None and middleware.middlewares:
                type(self).normal += 1  # never tried: graphql-core completes the list
        return super().complete_list_value(return_type, field_details_list, info, path, result, pc)

    def complete_fast(self, *args):
        try:
            completed = super().complete_fast(*args)
        except Unknown:
            type(self).normal += 1
            raise
        type(self).fast += 1
        return completed


def schemas():
    """The same schema twice: items completed in one pass, and by graphql-core alone."""
    union = FederatedUnion(
        "movieapp.Showing", "content_object", ["movieapp.movie", "movieapp.clip"], "Screening"
    )
    fast, normal = gateway_schema([union]), gateway_schema([union])
    normal.execution_context_class = StrawberryGraphQLCoreExecutionContext
    return fast, normal


def answer(schema, query, variables=None):
    result = async_to_sync(schema.execute)(
        query, variable_values=variables or {}, context_value=GatewayContext(None, None)
    )
    errors = [e.formatted for e in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors})


PLAIN = """{ screenings(limit: 20) { totalCount items { __typename
    ... on ScreeningItem { id title } } } }"""

#: Selections the one-pass completion takes, and ones it leaves to graphql-core.
QUERIES = [
    (PLAIN, {}, True),
    # Aliases, a field asked twice, fragments on a member and on the interface.
    (
        """query { screenings(limit: 20) { items { kind: __typename
        ... on ShopAMovie { id name: title year } ... on ScreeningItem { id }
        ... on ShopBClip { seconds title } ...More } } }
        fragment More on ShopBMovie { year }""",
        {},
        True,
    ),
    # @include and @skip decide which fields are collected, as graphql-core collects them.
    (
        """query ($on: Boolean!) { screenings(limit: 20) { items {
        ... on ScreeningItem { id title @include(if: $on) }
        ... on ShopAClip @skip(if: $on) { seconds } } } }""",
        {"on": True},
        False,
    ),
    # A relation: graphql-core completes the whole list.
    (test_generate.SCREENINGS, {}, False),
    # Only the type of each item.
    ("{ screenings(offset: 1, limit: 3) { items { __typename } } }", {}, True),
]


@pytest.mark.parametrize(("query", "variables", "fast_path"), QUERIES)
def test_the_same_bytes_as_graphql_cores_completion(
    screenings, shop_b, query, variables, fast_path
):
    fast, normal = schemas()
    fast.execution_context_class = CountingContext
    CountingContext.fast = CountingContext.normal = 0
    assert answer(fast, query, variables) == answer(normal, query, variables)
    assert (CountingContext.fast, CountingContext.normal) == ((1, 0) if fast_path else (0, 1))


def test_missing_targets_and_a_failed_project_give_the_same_partial_page(
    screenings, shop_b, settings
):
    fast, normal = schemas()
    # Remote movie 99 does not exist: a null item, on both paths.
    assert json.loads(answer(fast, PLAIN))["data"]["screenings"]["items"][5] is None
    projects = dict(settings.FEDERATION["PROJECTS"])
    closed = f"http://127.0.0.1:{free_port()}/graphql/"
    projects["shop_b"] = {**projects["shop_b"], "URL": closed, "RETRIES": 0}
    settings.FEDERATION = {**settings.FEDERATION, "PROJECTS": projects}
    failed = answer(fast, PLAIN)
    assert failed == answer(normal, PLAIN)
    body = json.loads(failed)
    assert [i is None for i in body["data"]["screenings"]["items"]] == [False] * 2 + [True] * 4
    assert body["errors"] and "shop_b" in body["errors"][0]["message"]


def test_a_value_graphql_core_would_refuse_gives_the_same_error(screenings, shop_b, monkeypatch):
    fast, normal = schemas()
    # A year no GraphQL Int holds. PostgreSQL's integer column cannot hold it
    # either, so the fault is injected where the row is read, on every database.
    too_big = property(lambda movie: 2**40, lambda movie, value: None)
    monkeypatch.setattr(test_generate.Movie, "year", too_big)
    query = "{ screenings(limit: 3) { items { ... on ShopAMovie { title year } } } }"
    refused = answer(fast, query)
    assert refused == answer(normal, query)
    assert "Int cannot represent" in json.loads(refused)["errors"][0]["message"]
