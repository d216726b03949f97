"""The entity types of the ``_entities`` client: their identity as keys."""

import pickle

from django.db import models

from federated_fk.remote.entities import EntityType


def entity_type(**overrides) -> EntityType:
    fields = {
        "key": ("shop_b", "books", "book"),
        "type_name": "Book",
        "fields": ("title", "price"),
        "pk": models.IntegerField(),
        "field_types": (("title", "String!"), ("price", "Decimal")),
    }
    return EntityType(**{**fields, **overrides})


def test_equal_entity_types_are_one_key():
    first, second = entity_type(), entity_type()
    assert first is not second
    assert hash(first) == hash(second)
    assert {first: "found"}[second] == "found"


def test_entity_types_that_differ_are_different_keys():
    assert entity_type() != entity_type(fields=("title",))
    assert len({entity_type(), entity_type(fields=("title",)), entity_type(type_name="Tome")}) == 3


def test_a_pickled_entity_type_leaves_what_it_cached_behind():
    # A string's hash differs between processes: the cached hash must not travel.
    original = entity_type()
    hash(original)
    assert original.converters  # cached too (closures: they cannot be pickled)
    copy = pickle.loads(pickle.dumps(original))
    assert "_hash" not in vars(copy) and "converters" not in vars(copy)
    assert copy == original and hash(copy) == hash(original)
    assert [name for name, _, _ in copy.converters] == ["title", "price"]
