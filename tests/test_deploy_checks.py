"""check --deploy warns of an open subgraph and of gateway introspection."""

import pytest
from django.core import checks
from django.test import override_settings
from django.urls import clear_url_caches

from federated_fk.checks import check_subgraph_token, entity_routes
from graphql_gateway.checks import check_introspection


def deploy_ids():
    messages = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    return {m.id for m in messages}


@pytest.fixture(autouse=True)
def _fresh_urlconf():
    clear_url_caches()
    yield
    clear_url_caches()


def test_an_open_subgraph_is_a_deploy_warning(settings):
    settings.FEDERATION = {"PROJECT_NAME": "shop_b", "SUBGRAPH_TOKEN": ""}
    assert entity_routes() == ["/graphql/"]  # tests.urls mounts the remoteshop subgraph
    (warning,) = check_subgraph_token()
    assert warning.id == "federated_fk.W301"
    assert "/graphql/" in warning.msg and "SUBGRAPH_TOKEN" in warning.msg
    assert "federated_fk.W301" in deploy_ids()
    assert "federated_fk.W301" not in {m.id for m in checks.run_checks()}  # deploy only


def test_a_subgraph_with_a_token_is_fine(settings):
    settings.FEDERATION = {"PROJECT_NAME": "shop_b", "SUBGRAPH_TOKEN": "s3cret"}
    assert check_subgraph_token() == []


@override_settings(ROOT_URLCONF="tests.urls_without_subgraph")
def test_a_service_serving_no_entities_needs_no_token(settings):
    settings.FEDERATION = {"PROJECT_NAME": "shop_a", "SUBGRAPH_TOKEN": ""}
    assert entity_routes() == []
    assert check_subgraph_token() == []


def test_gateway_introspection_is_a_deploy_warning(settings):
    settings.GRAPHQL_GATEWAY = {"INTROSPECTION": True}
    (warning,) = check_introspection()
    assert warning.id == "graphql_gateway.W101"
    settings.GRAPHQL_GATEWAY = {"INTROSPECTION": False}
    assert check_introspection() == []
