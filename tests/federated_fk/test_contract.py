"""The @djangoModel contract and the primary-key types, shared by subgraphs and clients."""

import uuid

import pytest

from federated_fk.contract import (
    PkType,
    directive_arguments,
    pk_field,
    pk_type_of,
    read_directive,
)
from tests.testapp.models import Book, Gadget, Shelf


@pytest.mark.parametrize(
    ("model", "pk_type"), [(Book, PkType.INT), (Gadget, PkType.UUID), (Shelf, PkType.STR)]
)
def test_pk_type_of_a_model(model, pk_type):
    assert pk_type_of(model) == pk_type


def test_pk_fields_convert_ids_as_django_does():
    assert pk_field("int").to_python("12") == 12
    raw = "6f1c2b4e-6d8a-4f0e-9a55-0d1f2b3c4d5e"
    assert pk_field("uuid").to_python(raw) == uuid.UUID(raw)
    assert pk_field("str").to_python(12) == "12"


def test_read_directive():
    info = read_directive({"appLabel": "a", "model": "m", "pkType": "uuid", "listable": True})
    assert (info.app_label, info.model, info.pk_type, info.listable) == ("a", "m", "uuid", True)
    assert read_directive({"appLabel": "a", "model": "m", "pkType": "?"}).pk_type == "str"
    assert read_directive({"model": "m"}) is None


def test_the_directive_carries_the_owning_project():
    info = read_directive({"appLabel": "a", "model": "m", "project": "shared"})
    assert info.project == "shared"
    assert directive_arguments(info)["project"] == "shared"
    assert read_directive({"appLabel": "a", "model": "m"}).project is None  # older subgraphs
    assert read_directive({"appLabel": "a", "model": "m", "project": 3}).project is None
