import pytest
from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core import checks
from django.db import models
from django.test import override_settings
from django.test.utils import isolate_apps

from federated_fk.checks import check_generic_relations_to_federated_keys, check_settings
from federated_fk.fields import FederatedForeignKey
from federated_fk.models import GenericContentType


@isolate_apps("tests.testapp")
def test_content_type_pointing_at_djangos_content_type():
    class Ref(models.Model):
        class Meta:
            app_label = "testapp"

        content_type = models.ForeignKey(ContentType, models.CASCADE)
        object_id = models.CharField(max_length=64)
        content_object = FederatedForeignKey()

    (error,) = Ref.content_object.check()
    assert error.id == "federated_fk.E006"
    assert "'Ref.content_type' is a ForeignKey to Django's 'contenttypes.ContentType'" in error.msg
    assert "federated_fk.GenericContentType" in error.hint


@isolate_apps("tests.testapp")
def test_missing_content_type_field():
    class Ref(models.Model):
        class Meta:
            app_label = "testapp"

        object_id = models.CharField(max_length=64)
        content_object = FederatedForeignKey()

    (error,) = Ref.content_object.check()
    assert error.id == "federated_fk.E002"
    assert error.msg == (
        "The FederatedForeignKey content type references the nonexistent field 'Ref.content_type'."
    )


@isolate_apps("tests.testapp", kwarg_name="apps")
def test_generic_relation_to_a_federated_foreign_key_is_an_error(apps=None):
    class Ref(models.Model):
        class Meta:
            app_label = "testapp"

        content_type = models.ForeignKey(GenericContentType, models.CASCADE)
        object_id = models.CharField(max_length=64)
        content_object = FederatedForeignKey()

    class Target(models.Model):
        class Meta:
            app_label = "testapp"

        refs = GenericRelation(Ref)

    errors = check_generic_relations_to_federated_keys([apps.get_app_config("testapp")])
    assert [e.id for e in errors] == ["federated_fk.E102"]
    assert "Use federated_fk.fields.FederatedRelation" in errors[0].hint


def test_the_test_project_passes_every_check():
    assert checks.run_checks() == []


@pytest.mark.parametrize(
    ("settings_kwargs", "expected"),
    [
        ({"FEDERATION": {}}, ["federated_fk.W201"]),
        ({"FEDERATION": {"PROJECT_NAME": "shared"}}, ["federated_fk.E201"]),
        (
            {"FEDERATION": {"PROJECT_NAME": "a", "REMOTE_OBJECT_CLASS": "no.such.Class"}},
            ["federated_fk.E202"],
        ),
        (
            {"FEDERATION": {"PROJECT_NAME": "a", "REMOTE_OBJECT_CLASS": "builtins.dict"}},
            ["federated_fk.E203"],
        ),
        ({"FEDERATION": {}, "FEDERATION_PROJECT_NAME": "shop_a"}, []),
    ],
)
def test_settings_checks(settings_kwargs, expected):
    with override_settings(**settings_kwargs):
        assert [e.id for e in check_settings()] == expected


def test_endpoints_must_be_http_and_credentials_are_not_shown():
    projects = {
        "shop_b": {"URL": "ftp://user:secret-pw@host/graphql/"},
        "shop_a": {"URL": "http://127.0.0.1:1/graphql/"},
    }
    with override_settings(FEDERATION={"PROJECT_NAME": "shop_a", "PROJECTS": projects}):
        errors = check_settings()
    assert [e.id for e in errors] == ["federated_fk.E204", "federated_fk.E205"]
    assert errors[0].msg == (
        "FEDERATION['PROJECTS']['shop_b']['URL'] must be an http or https URL (scheme 'ftp')."
    )
    assert "secret-pw" not in errors[0].msg
