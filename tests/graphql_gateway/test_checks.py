import pytest
from django.test import override_settings

from graphql_gateway.checks import check_settings

REFERENCES = {"model": "testapp.Reference", "field": "content_object", "name": "Item"}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, "graphql_gateway.E003"),
        ({"UNIONS": [{"model": "nope.Nothing"}]}, "graphql_gateway.E001"),
        ({"UNIONS": [{**REFERENCES, "model": "testapp.Book"}]}, "graphql_gateway.E002"),
        ({"UNIONS": [{**REFERENCES, "targets": []}]}, "graphql_gateway.E004"),
        ({"UNIONS": [{**REFERENCES, "targets": ["testapp.book"]}]}, None),
        (
            {"UNIONS": [{**REFERENCES, "targets": ["testapp.book"], "related_name": "re-fs"}]},
            "graphql_gateway.E005",
        ),
        (
            {"UNIONS": [{**REFERENCES, "targets": ["testapp.book"], "related_name": "refs"}]},
            None,
        ),
    ],
)
def test_gateway_settings_are_checked(config, expected):
    with override_settings(GRAPHQL_GATEWAY=config):
        assert [e.id for e in check_settings()] == ([expected] if expected else [])
