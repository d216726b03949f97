"""The FEDERATION settings, read through federated_fk.conf."""

import pytest
from django.test import override_settings

from federated_fk import conf
from federated_fk.exceptions import RemoteProjectNotConfigured


def test_defaults_fill_what_the_settings_leave_out():
    with override_settings(FEDERATION={"PROJECT_NAME": "shop_x"}):
        config = conf.federation_settings()
        assert config["PROJECT_NAME"] == "shop_x"
        assert config["PROJECTS"] == {} and config["CACHE"] == "default"
        assert conf.remote_object_class() is None


def test_the_top_level_shorthand_names_the_project():
    with override_settings(FEDERATION=None, FEDERATION_PROJECT_NAME="shop_y"):
        assert conf.current_project() == "shop_y"
        assert conf.project_name_is_set()
    with override_settings(FEDERATION={}, FEDERATION_PROJECT_NAME=None):
        assert conf.current_project() == conf.DEFAULT_PROJECT
        assert not conf.project_name_is_set()


def test_changed_settings_are_read_again():
    with override_settings(FEDERATION={"PROJECT_NAME": "one"}):
        assert conf.current_project() == "one"
    with override_settings(FEDERATION={"PROJECT_NAME": "two"}):
        assert conf.current_project() == "two"


def test_local_and_shared_projects():
    settings = {"PROJECT_NAME": "shop_a", "SHARED_APPS": ["authors"], "SHARED_MODELS": ["x.Tag"]}
    with override_settings(FEDERATION=settings):
        assert conf.is_local_project("shop_a") and conf.is_local_project("shared")
        assert not conf.is_local_project("shop_b")
        assert conf.project_for_label("authors", "author") == "shared"
        assert conf.project_for_label("x", "tag") == "shared"
        assert conf.project_for_label("x", "other") == "shop_a"


def test_project_settings_merge_the_defaults_and_redact_the_token():
    project = {"URL": "http://127.0.0.1:9/graphql/", "TOKEN": "s3cret", "TIMEOUT": 2}
    with override_settings(FEDERATION={"PROJECTS": {"shop_b": project}}):
        merged = conf.project_settings("shop_b")
    assert merged["TIMEOUT"] == 2
    assert merged["BATCH_SIZE"] == conf.PROJECT_DEFAULTS["BATCH_SIZE"]
    assert merged["TOKEN"] == "s3cret"
    assert "s3cret" not in repr(merged)


def test_a_project_without_url_is_not_configured():
    with override_settings(FEDERATION={"PROJECTS": {"shop_b": {"TOKEN": "x"}}}):
        with pytest.raises(RemoteProjectNotConfigured, match="'shop_b'"):
            conf.project_settings("shop_b")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://user:pw@example.test:8443/graphql/?token=x#f",
            "https://example.test:8443/graphql/",
        ),
        ("http://127.0.0.1/graphql/", "http://127.0.0.1/graphql/"),
    ],
)
def test_public_url_drops_credentials_query_and_fragment(url, shown):
    assert conf.public_url(url) == shown
