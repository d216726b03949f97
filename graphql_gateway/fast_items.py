"""Complete a page's items without graphql-core completing each field.

A page of a union field (``<name>Page.items``) is most often asked for
``__typename`` and scalar fields, directly or in fragments on the union's
interface or members. For those fields the gateway's resolvers only read an
attribute (``types.plain_read``), so the completed value is known from the
object: this execution context builds each item directly, with the same type
resolution, ``is_type_of`` checks and coercion functions graphql-core would
call, so the answer is the same bytes.

Only the ``items`` list of a generated page is replaced: parsing, validation,
cost limits, the resolvers of the page and errors go the normal way. A list
whose selection or values this path does not know (a relation, a field with
arguments or directives, a deferred fragment, a value that would make an
error, an item no member claims) is completed the normal way, whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLUnionType,
)
from graphql.pyutils import Path

from federated_fk.graphql_completion import Complete, FastListExecutionContext, Unknown, leaf

__all__ = ["GatewayExecutionContext", "mark_page", "mark_plain_read"]

#: The attribute marking a page type's class (``mark_page``).
PAGE_MARK = "_gateway_page"
#: The attribute marking a resolver that only reads its object (``mark_plain_read``).
PLAIN_READ_MARK = "_gateway_plain_read"


def mark_page(cls: type) -> type:
    """Mark ``cls`` as a generated page: its ``items`` may take the fast path."""
    setattr(cls, PAGE_MARK, True)
    return cls


def mark_plain_read(resolver: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Mark ``resolver`` (of the object alone) as reading a value with no side effect."""
    setattr(resolver, PLAIN_READ_MARK, True)
    return resolver


class GatewayExecutionContext(FastListExecutionContext):
    """graphql-core's execution, with the items of a page completed in one pass."""

    def completes(self, info: GraphQLResolveInfo, path: Path) -> bool:
        return info.field_name == "items" and _is_page(info.parent_type)

    def complete_fast(
        self,
        return_type: GraphQLList,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        items: list[Any],
    ) -> list[Any]:
        union = return_type.of_type
        if not isinstance(union, GraphQLUnionType) or union.resolve_type is None:
            raise Unknown  # a non-null item type: a null would be an error
        plans: dict[str, Complete] = {}
        completed: list[Any] = []
        for item in items:
            if item is None:
                completed.append(None)
                continue
            object_type = self._runtime_type(union, info, item)
            complete = plans.get(object_type.name)
            if complete is None:
                complete = plans[object_type.name] = self._plan(object_type, field_details_list)
            completed.append(complete(item))
        return completed

    def _runtime_type(
        self, union: GraphQLUnionType, info: GraphQLResolveInfo, item: Any
    ) -> GraphQLObjectType:
        """The item's type, as ``complete_abstract_value`` and ``complete_object_value`` find it."""
        try:
            name = union.resolve_type(item, info, union)  # type: ignore[misc]
        except Exception:
            raise Unknown from None  # graphql-core makes the error
        if not isinstance(name, str):
            raise Unknown  # an awaitable, or no name: graphql-core decides
        object_type = self.schema.get_type(name)
        if not isinstance(object_type, GraphQLObjectType) or not self.schema.is_sub_type(
            union, object_type
        ):
            raise Unknown
        is_type_of = object_type.is_type_of
        if is_type_of is not None and is_type_of(item, info) is not True:
            raise Unknown
        return object_type

    def _plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete:
        """Return what completes an item of ``object_type`` for the selection."""
        grouped, deferred, _ = self.collect_subfields(object_type, field_details_list)
        if deferred:
            raise Unknown
        steps: list[tuple[str, Callable[[Any], Any]]] = []
        for key, details in grouped.items():
            steps.append((key, _step(object_type, details)))

        def complete(item: Any) -> dict[str, Any]:
            return {key: step(item) for key, step in steps}

        return complete


def _is_page(parent_type: GraphQLObjectType) -> bool:
    definition = parent_type.extensions.get("strawberry-definition")
    return getattr(getattr(definition, "origin", None), PAGE_MARK, False) is True


def _step(object_type: GraphQLObjectType, details: Any) -> Callable[[Any], Any]:
    """Return what completes one response key of an item, or raise Unknown."""
    for detail in details:
        node = detail.node
        if (
            detail.fragment_variable_values is not None
            or detail.defer_usage is not None
            or node.arguments
            or node.directives
            or node.selection_set is not None
        ):
            raise Unknown
    name = details[0].node.name.value
    if name == "__typename":
        type_name = object_type.name
        return lambda item: type_name
    field = object_type.fields.get(name)
    if field is None:
        raise Unknown
    definition = field.extensions.get("strawberry-definition")
    resolver = getattr(getattr(definition, "base_resolver", None), "wrapped_func", None)
    if (
        resolver is None
        or getattr(resolver, PLAIN_READ_MARK, False) is not True
        or definition.extensions
        or definition.permission_classes
        or definition.arguments
    ):
        raise Unknown
    return leaf(field.type, resolver)
