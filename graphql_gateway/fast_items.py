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
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLUnionType,
)
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["GatewayExecutionContext", "mark_page", "mark_plain_read"]

#: Completes one item of a known runtime type: returns its response dict, or raises _Unknown.
Complete = Callable[[Any], dict[str, Any]]

#: The attribute marking a page type's class (``mark_page``).
PAGE_MARK = "_gateway_page"
#: The attribute marking a resolver that only reads its object (``mark_plain_read``).
PLAIN_READ_MARK = "_gateway_plain_read"


class _Unknown(Exception):
    """This path cannot complete the list exactly as graphql-core would."""


def mark_page(cls: type) -> type:
    """Mark ``cls`` as a generated page: its ``items`` may take the fast path."""
    setattr(cls, PAGE_MARK, True)
    return cls


def mark_plain_read(resolver: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Mark ``resolver`` (of the object alone) as reading a value with no side effect."""
    setattr(resolver, PLAIN_READ_MARK, True)
    return resolver


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with the items of a page completed in one pass."""

    def complete_list_value(
        self,
        return_type: GraphQLList,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if info.field_name == "items" and type(result) is list and _is_page(info.parent_type):
            try:
                return self._complete_items(return_type, field_details_list, info, result)
            except _Unknown:
                pass  # graphql-core completes the whole list, errors and all
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete_items(
        self,
        return_type: GraphQLList,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        items: list,
    ) -> list[Any]:
        middleware = self.middleware_manager
        if middleware is not None and middleware.middlewares:
            raise _Unknown
        union = return_type.of_type
        if not isinstance(union, GraphQLUnionType) or union.resolve_type is None:
            raise _Unknown  # a non-null item type: a null would be an error
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
            raise _Unknown from None  # graphql-core makes the error
        if not isinstance(name, str):
            raise _Unknown  # an awaitable, or no name: graphql-core decides
        object_type = self.schema.get_type(name)
        if not isinstance(object_type, GraphQLObjectType) or not self.schema.is_sub_type(
            union, object_type
        ):
            raise _Unknown
        is_type_of = object_type.is_type_of
        if is_type_of is not None and is_type_of(item, info) is not True:
            raise _Unknown
        return object_type

    def _plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete:
        """Return what completes an item of ``object_type`` for the selection."""
        grouped, deferred, _ = self.collect_subfields(object_type, field_details_list)
        if deferred:
            raise _Unknown
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
    """Return what completes one response key of an item, or raise _Unknown."""
    for detail in details:
        node = detail.node
        if (
            detail.fragment_variable_values is not None
            or detail.defer_usage is not None
            or node.arguments
            or node.directives
            or node.selection_set is not None
        ):
            raise _Unknown
    name = details[0].node.name.value
    if name == "__typename":
        type_name = object_type.name
        return lambda item: type_name
    field = object_type.fields.get(name)
    if field is None:
        raise _Unknown
    definition = field.extensions.get("strawberry-definition")
    resolver = getattr(getattr(definition, "base_resolver", None), "wrapped_func", None)
    if (
        resolver is None
        or getattr(resolver, PLAIN_READ_MARK, False) is not True
        or definition.extensions
        or definition.permission_classes
        or definition.arguments
    ):
        raise _Unknown
    return _leaf(field.type, resolver)


def _leaf(graphql_type: Any, read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Complete a scalar as graphql-core does: its coercion, null only where allowed."""
    non_null = isinstance(graphql_type, GraphQLNonNull)
    scalar = graphql_type.of_type if non_null else graphql_type
    if not isinstance(scalar, GraphQLScalarType):
        raise _Unknown
    coerce = scalar.coerce_output_value

    def complete(item: Any) -> Any:
        try:
            value = read(item)
        except Exception:
            raise _Unknown from None  # graphql-core makes the error, at its path
        if value is None or value is Undefined:
            if non_null:
                raise _Unknown
            return None
        try:
            coerced = coerce(value)
        except Exception:
            raise _Unknown from None
        if coerced is None or coerced is Undefined:
            raise _Unknown
        return coerced

    return complete
