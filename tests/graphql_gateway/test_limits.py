"""The gateway refuses abusive queries with clear errors (live shop_a)."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import override_settings


def error(shops, query):
    status, body = shops.query(query)
    assert status == 200
    return body["errors"][0]["message"]


def test_too_many_aliases(shops):
    aliases = " ".join(f"b{i}: books(limit: 1) {{ totalCount }}" for i in range(12))
    assert error(shops, "{ " + aliases + " }") == "12 aliases found. Allowed: 10"


def test_too_many_tokens(shops):
    fields = " ".join(f"f{i}: totalCount" for i in range(800))
    message = error(shops, "{ books { " + fields + " } }")
    assert message == "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."


def test_too_deep(settings):
    from graphql_gateway.schema import gateway_schema

    with override_settings(GRAPHQL_GATEWAY={**settings.GRAPHQL_GATEWAY, "MAX_DEPTH": 1}):
        schema = gateway_schema()
    result = schema.execute_sync("{ books { items { ... on ShopABook { title } } } }")
    assert result.errors[0].message == "'anonymous' exceeds maximum operation depth of 1"


def test_introspection_can_be_turned_off(settings):
    from graphql_gateway.schema import gateway_schema

    with override_settings(GRAPHQL_GATEWAY={**settings.GRAPHQL_GATEWAY, "INTROSPECTION": False}):
        schema = gateway_schema()
    result = schema.execute_sync("{ __schema { types { name } } }")
    assert result.errors and "introspection" in result.errors[0].message.lower()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ books(limit: 1000) { totalCount } }", "limit must be from 1 to 100, got 1000."),
        ("{ books(offset: -5) { totalCount } }", "offset must be from 0 to 2147483647, got -5."),
        ('{ books(limit: "x") { totalCount } }', "Int cannot represent non-integer value"),
    ],
)
def test_bad_page_arguments(shops, query, message):
    assert message in error(shops, query)


def test_an_unexpected_error_is_masked_for_the_public(monkeypatch, caplog):
    from graphql_gateway import schema as gateway
    from graphql_gateway.generate import FederatedUnion

    def broken(self, request, members):
        raise RuntimeError('no such column: books_reference.secret (file "/srv/db.sqlite3")')

    monkeypatch.setattr(FederatedUnion, "page_keys", broken)
    schema = gateway.gateway_schema()
    result = asyncio.run(
        schema.execute("{ books { totalCount } }", context_value=gateway.GatewayContext(None, None))
    )
    assert [e.message for e in result.errors] == ["Internal error."]
    assert "books_reference.secret" in caplog.text  # for the operator


def test_a_page_error_is_shown_as_it_is():
    from graphql_gateway import schema as gateway

    schema = gateway.gateway_schema()
    result = asyncio.run(
        schema.execute(
            "{ books(offset: -1) { totalCount } }",
            context_value=gateway.GatewayContext(None, None),
        )
    )
    assert result.errors[0].message == "offset must be from 0 to 2147483647, got -1."


@pytest.mark.django_db(transaction=True)
def test_each_text_is_parsed_and_validated_once_and_limits_still_apply(settings):
    from federated_fk.subgraph import caches
    from graphql_gateway import schema as gateway

    with override_settings(GRAPHQL_GATEWAY={**settings.GRAPHQL_GATEWAY, "MAX_DEPTH": 3}):
        schema = gateway.gateway_schema()

    async def run(text):
        try:
            return await schema.execute(text, context_value=gateway.GatewayContext(None, None))
        finally:  # the database thread's connection, which the test database outlives otherwise
            await sync_to_async(connections.close_all)()

    def execute(text):
        # The gateway's resolvers are async: executed as a view executes them.
        return asyncio.run(run(text))

    text = "{ books(limit: 1) { totalCount } }"
    assert execute(text).errors is None
    before = caches._cached_validate.cache_info()
    for _ in range(3):
        execute(text)
    after = caches._cached_validate.cache_info()
    # The same rules each time: the three are cache hits, not new entries.
    assert (after.hits - before.hits, after.currsize - before.currsize) == (3, 0)
    deep = "{ books { items { ... on ShopABook { references { contentObject { id } } } } } }"
    for _ in range(2):  # refused the first time, and again from the cache
        result = execute(deep)
        assert result.errors[0].message == "'anonymous' exceeds maximum operation depth of 3"


@pytest.mark.parametrize("path", ["/static/..%2f..%2fsettings.py", "/static/%2e%2e/x"])
def test_a_static_path_out_of_the_static_folders_is_a_400_on_both_shops(shops, path):
    import urllib.error
    import urllib.request

    for port in (shops.shop_a.port, shops.shop_b.port):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
        assert refused.value.code == 400
        css = f"http://127.0.0.1:{port}/static/admin/css/base.css"
        with urllib.request.urlopen(css, timeout=10) as served:
            assert served.status == 200
