import pytest
from django.test import override_settings

from graphql_gateway.checks import check_settings


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, "graphql_gateway.E001"),
        ({"REFERENCE_MODEL": "testapp.Book"}, "graphql_gateway.E002"),
        ({"REFERENCE_MODEL": "testapp.Reference"}, "graphql_gateway.E003"),
        ({"REFERENCE_MODEL": "testapp.Reference", "BOOK_MODELS": ["testapp.book"]}, None),
    ],
)
def test_gateway_settings_are_checked(config, expected):
    with override_settings(GRAPHQL_GATEWAY=config):
        assert [e.id for e in check_settings()] == ([expected] if expected else [])
