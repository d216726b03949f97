"""The gateway refuses abusive queries with clear errors (live shop_a)."""

import pytest
import strawberry
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


def test_too_deep():
    from graphql_gateway.schema import Query, _extensions

    with override_settings(GRAPHQL_GATEWAY={"MAX_DEPTH": 1}):
        schema = strawberry.Schema(query=Query, extensions=_extensions())
    result = schema.execute_sync("{ books { items { ... on LocalBook { title } } } }")
    assert result.errors[0].message == "'anonymous' exceeds maximum operation depth of 1"


def test_introspection_can_be_turned_off():
    from graphql_gateway.schema import Query, _extensions

    with override_settings(GRAPHQL_GATEWAY={"INTROSPECTION": False}):
        schema = strawberry.Schema(query=Query, extensions=_extensions())
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
