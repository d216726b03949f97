"""Type names: each project's types are its own; projects whose names clash are refused."""

import pytest
from django.test import override_settings

from federated_fk import naming
from federated_fk.checks import check_settings


@pytest.mark.parametrize(
    ("project", "model", "name"),
    [
        ("shop_a", "Book", "ShopABook"),
        ("shop_b", "Book", "ShopBBook"),
        ("shop_b", "ShopBBook", "ShopBBook"),  # idempotent
        ("shared", "Author", "Author"),
        ("warehouse", "Book", "WarehouseBook"),
    ],
)
def test_type_names(project, model, name):
    assert naming.type_name(project, model) == name


def test_projects_of_one_prefix_are_found():
    projects = ["shop_b", "shop_c", "shop-b", "shopB", "shop_1", "shop1", "shared"]
    assert naming.prefix_clashes(projects) == [
        ("ShopB", "shop_b", "shop-b"),
        ("ShopB", "shop_b", "shopB"),
        ("Shop1", "shop_1", "shop1"),
    ]
    assert naming.prefix_clashes(["shop_a", "shop_b", "shop_c", "shop_a"]) == []


@pytest.mark.parametrize(("project", "valid"), [("shop_a", True), ("2shop", False), ("a.b", False)])
def test_a_project_must_give_graphql_names(project, valid):
    assert naming.is_valid_prefix(project) is valid


def test_root_fields_of_one_project():
    assert naming.field_name("shop_b", "FederatedIds") == "shopBFederatedIds"


def federation(project, *remotes):
    projects = {name: {"URL": f"http://127.0.0.1:1/{name}/"} for name in remotes}
    return override_settings(FEDERATION={"PROJECT_NAME": project, "PROJECTS": projects})


def test_check_refuses_two_projects_of_one_prefix():
    with federation("shop_a", "shop_b", "shopB"):
        errors = check_settings()
    assert [e.id for e in errors] == ["federated_fk.E206"]
    assert "'shop_b' and 'shopB' both name their types ShopB<Model>" in errors[0].msg


def test_check_refuses_this_project_clashing_with_a_remote():
    with federation("shop-a", "shop_a"):
        assert [e.id for e in check_settings()] == ["federated_fk.E206"]


def test_check_refuses_a_project_without_graphql_names():
    with federation("shop_a", "2nd_shop"):
        errors = check_settings()
    assert [e.id for e in errors] == ["federated_fk.E207"]
    assert "'2nd_shop'" in errors[0].msg


def test_distinct_projects_pass():
    with federation("shop_a", "shop_b", "shop_c"):
        assert check_settings() == []
