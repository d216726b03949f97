"""System checks of FederatedManyToManyField (federated_fk.E3xx)."""

import pytest
from django.db import models
from django.test.utils import isolate_apps

from federated_fk.fields import FederatedForeignKey, FederatedManyToManyField
from federated_fk.models import GenericContentType


class Meta:
    app_label = "gm2mapp"


def ids(field):
    return [error.id for error in field.check()]


def through_parts(source, n_sources=1, n_targets=1):
    attrs = {"__module__": __name__, "Meta": Meta}
    for i in range(n_sources):
        attrs[f"src{i}"] = models.ForeignKey(source, models.CASCADE, related_name="+")
    for i in range(n_targets):
        attrs[f"ct{i}"] = models.ForeignKey(GenericContentType, models.CASCADE, related_name="+")
        attrs[f"oid{i}"] = models.CharField(max_length=64)
        attrs[f"tgt{i}"] = FederatedForeignKey(f"ct{i}", f"oid{i}")
    return attrs


@isolate_apps("tests.gm2mapp")
def test_unique_and_unknown_policies():
    class Source(models.Model):
        links = FederatedManyToManyField(unique=True, on_delete_tgt=models.PROTECT)

        Meta = Meta

    assert ids(Source._meta.get_field("links")) == ["federated_fk.E301", "federated_fk.E311"]


@isolate_apps("tests.gm2mapp")
def test_through_model_not_installed():
    class Source(models.Model):
        links = FederatedManyToManyField(through="gm2mapp.Missing")

        Meta = Meta

    assert ids(Source._meta.get_field("links")) == ["federated_fk.E302"]


@isolate_apps("tests.gm2mapp")
@pytest.mark.parametrize(
    ("n_sources", "n_targets", "expected"),
    [
        (0, 1, ["federated_fk.E303"]),
        (2, 1, ["federated_fk.E304"]),
        (1, 0, ["federated_fk.E305"]),
        (1, 2, ["federated_fk.E306"]),
        (1, 1, []),
    ],
)
def test_through_model_must_have_one_source_key_and_one_federated_key(
    n_sources, n_targets, expected
):
    class Source(models.Model):
        links = FederatedManyToManyField(through="Link")

        Meta = Meta

    type("Link", (models.Model,), through_parts(Source, n_sources, n_targets))
    assert ids(Source._meta.get_field("links")) == expected


@isolate_apps("tests.gm2mapp")
@pytest.mark.parametrize(
    ("through_fields", "expected"),
    [
        (["src0"], ["federated_fk.E307"]),
        (["src0", "tgt1", "ct1", "oid1", "x"], ["federated_fk.E307"]),
        (["nope", "tgt1"], ["federated_fk.E308"]),
        (["oid0", "tgt1"], ["federated_fk.E309"]),
        (["src0", "ct1"], ["federated_fk.E310"]),
        (["src0", "tgt1", "ct0"], ["federated_fk.E310"]),
        (["src1", "tgt1"], []),
        (["src0", "tgt0", "ct0", "oid0"], []),
    ],
)
def test_through_fields(through_fields, expected):
    class Source(models.Model):
        links = FederatedManyToManyField(through="Link", through_fields=through_fields)

        Meta = Meta

    type("Link", (models.Model,), through_parts(Source, 2, 2))
    assert ids(Source._meta.get_field("links")) == expected


@isolate_apps("tests.gm2mapp")
def test_reverse_accessor_and_query_name_clashes():
    class Source(models.Model):
        on_title = FederatedManyToManyField(related_name="title")
        on_query = FederatedManyToManyField(related_name="q_set", related_query_name="title")
        hidden = FederatedManyToManyField(related_name="+")

        Meta = Meta

    class Target(models.Model):
        title = models.CharField(max_length=10)

        Meta = Meta

    for name, expected in (
        ("on_title", ["federated_fk.E312"]),
        ("on_query", ["federated_fk.E313"]),
        ("hidden", []),
    ):
        field = Source._meta.get_field(name)
        field.add_relation(Target)
        assert ids(field) == expected, name
    assert not hasattr(Target, "q_set")  # a clashing relation is not added
    assert Source.hidden.get_related_models() == [Target]
    assert [f.name for f in Target._meta.private_fields] == ["_source_hidden+"]
