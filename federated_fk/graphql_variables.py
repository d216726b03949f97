"""Coerce the variables that are lists of scalars in one pass, as graphql-core would.

graphql-core coerces a variable one value at a time: for a list, a call per
item through its input coercion, after a walk that checks the nesting. For
the large inputs of this package, a list of scalars (the representations of
``_entities``, a list of ids), that walk and those calls cost more than the
rest of the request's checks. The coerced value of such a list, when it
coerces without an error, is known: the scalar's ``coerce_input_value`` of each item,
null where the item type allows it. This module makes it in one pass, and
leaves any list that would make an error to graphql-core, which reports it.

Two readers: the cost check, which prices the coerced values, and the
execution contexts of ``federated_fk.graphql_completion``, which then do not
coerce those lists again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from itertools import repeat
from operator import is_
from typing import Any

from graphql import (
    GraphQLScalarType,
    GraphQLSchema,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    Undefined,
    VariableDefinitionNode,
)

#: name -> (the list as sent, the list coerced)
ScalarLists = dict[str, tuple[list[Any], list[Any]]]


def coerce_scalar_lists(
    schema: GraphQLSchema,
    definitions: Collection[VariableDefinitionNode],
    values: Mapping[str, Any] | None,
) -> ScalarLists:
    """Return each variable of ``definitions`` that is a list of a scalar, sent as a
    list, with its coerced value; a list that would not coerce is left out.

    :param values: the variables as sent (JSON values)
    """
    found: ScalarLists = {}
    if not values:
        return found
    for definition in definitions:
        value = values.get(definition.variable.name.value, Undefined)
        if type(value) is not list:
            continue
        item = _list_item(definition)
        if item is None:
            continue
        name_node, non_null = item
        scalar = schema.get_type(name_node.name.value)
        if not isinstance(scalar, GraphQLScalarType):
            continue
        coerced = _coerce(scalar, value, non_null)
        if coerced is not None:
            found[definition.variable.name.value] = (value, coerced)
    return found


def _list_item(definition: VariableDefinitionNode) -> tuple[NamedTypeNode, bool] | None:
    """The named item type of a list variable, and whether items are non-null; None
    unless the variable is a list (nullable or not) of a named type."""
    type_node: Any = definition.type
    if isinstance(type_node, NonNullTypeNode):
        type_node = type_node.type
    if not isinstance(type_node, ListTypeNode):
        return None
    item = type_node.type
    non_null = isinstance(item, NonNullTypeNode)
    if non_null:
        item = item.type
    return (item, non_null) if isinstance(item, NamedTypeNode) else None


def _coerce(scalar: GraphQLScalarType, items: list[Any], non_null: bool) -> list[Any] | None:
    """The items coerced as graphql-core coerces them, or None if one would be an error."""
    if None in items and non_null:
        return None  # "Expected non-nullable type ... not to be null"
    coerce = scalar.coerce_input_value  # what graphql-core calls for a leaf (not parse_value)
    try:
        coerced = [None if item is None else coerce(item) for item in items]
    except Exception:  # graphql-core reports it, as the item's error
        return None
    if any(map(is_, coerced, repeat(Undefined))):
        return None
    return coerced
