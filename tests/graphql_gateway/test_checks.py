import re

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


def test_missing_graphiql_files_are_a_warning_that_says_how_to_install_them(settings, tmp_path):
    from graphql_gateway.checks import check_graphiql
    from graphql_gateway.conf import GRAPHIQL_FILES

    settings.GRAPHQL_GATEWAY = {"GRAPHIQL_ASSETS": ""}
    (warning,) = check_graphiql()
    assert warning.id == "graphql_gateway.W002" and "is not set" in warning.msg
    assert "package.json" in warning.hint
    settings.GRAPHQL_GATEWAY = {"GRAPHIQL_ASSETS": str(tmp_path)}
    (warning,) = check_graphiql()
    assert str(tmp_path) in warning.msg
    for relative, _ in GRAPHIQL_FILES.values():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("/* a file */")
    assert check_graphiql() == []


def test_a_missing_graphiql_file_is_a_404_that_says_which_setting(rf, settings, tmp_path):
    from django.http import Http404

    from graphql_gateway.views import graphiql_file

    settings.GRAPHQL_GATEWAY = {"GRAPHIQL_ASSETS": ""}
    with pytest.raises(Http404, match=r"GRAPHIQL_ASSETS'\] is not set"):
        graphiql_file(rf.get("/graphiql/graphiql.js"), "graphiql.js")
    settings.GRAPHQL_GATEWAY = {"GRAPHIQL_ASSETS": str(tmp_path)}
    with pytest.raises(Http404, match=re.escape(f"not installed in {tmp_path}")):
        graphiql_file(rf.get("/graphiql/graphiql.js"), "graphiql.js")
