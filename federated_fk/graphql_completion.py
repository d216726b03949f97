"""Complete a list of a GraphQL answer in one pass, as graphql-core would, or not at all.

graphql-core completes a list one item and one field at a time: a resolver
call, a type check and a coercion per field. Where the completed value of an
item is known without running anything (a column of a row, an attribute a
plain resolver reads), an execution context can build the whole list
directly, with the coercion functions graphql-core would call, so that the
answer is the same bytes. Two contexts do: the subgraph's ``_entities``
(``federated_fk.subgraph.fast_entities``) and the gateway's page items
(``graphql_gateway.fast_items``).

What they share is here: the execution context that tries the fast way and
falls back to graphql-core for the whole list, and the completion of a leaf
(one value, or a column of them). Anything this path does not know, or a
value graphql-core would make an error of, raises ``Unknown``: the list is
then completed the normal way, errors and all.
"""

from __future__ import annotations

from collections.abc import Callable
from types import NoneType
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
)
from graphql.pyutils import Path, Undefined
from graphql.type.scalars import serialize_id, serialize_string
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from federated_fk.graphql_variables import coerce_scalar_lists

#: Completes one item (a row, an object): returns its response dict, or raises ``Unknown``.
Complete = Callable[[Any], dict[str, Any]]


class Unknown(Exception):
    """This path cannot complete the list exactly as graphql-core would."""


class FastListExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with the lists a subclass knows completed in one pass.

    A subclass says which lists it completes (``completes``) and how
    (``complete_fast``, which raises ``Unknown`` for anything it cannot
    complete exactly); ``for_graphql_core`` turns what its resolvers gave
    back into what graphql-core completes, when the fast way gives up.
    """

    @classmethod
    def build(  # type: ignore[override]
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """graphql-core's ``build``, with the variables that are lists of scalars
        coerced in one pass (``coerce_scalar_lists``) instead of an item at a time."""
        operation = _operation(document, operation_name)
        lists = (
            coerce_scalar_lists(schema, operation.variable_definitions or (), raw_variable_values)
            if operation is not None
            else {}
        )
        if lists:
            # graphql-core coerces an empty list in their place; the coerced lists
            # and what was sent then take the place of the empty ones.
            stand_ins = {**(raw_variable_values or {}), **{name: [] for name in lists}}
        else:
            stand_ins = raw_variable_values
        built = super().build(
            schema, document, root_value, context_value, stand_ins, operation_name, *args, **kwargs
        )
        if lists and not isinstance(built, list):  # a list: the other variables' errors
            if built.operation is not operation:  # pragma: no cover - graphql-core chose another
                return super().build(
                    schema,
                    document,
                    root_value,
                    context_value,
                    raw_variable_values,
                    operation_name,
                    *args,
                    **kwargs,
                )
            values = built.variable_values
            for name, (sent, coerced) in lists.items():
                values.coerced[name] = coerced
                values.sources[name] = values.sources[name]._replace(value=sent)
        return built

    def complete_list_value(
        self,
        return_type: GraphQLList,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is list and self.completes(info, path):
            middleware = self.middleware_manager
            try:
                if middleware is not None and middleware.middlewares:
                    raise Unknown  # middleware wraps each resolver graphql-core calls
                return self.complete_fast(return_type, field_details_list, info, path, result)
            except Unknown:
                result = self.for_graphql_core(result)
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def completes(self, info: GraphQLResolveInfo, path: Path) -> bool:
        """Whether the list at ``path`` is one this context completes in one pass."""
        return False

    def complete_fast(
        self,
        return_type: GraphQLList,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        items: list[Any],
    ) -> list[Any]:
        """Return the completed list; raise ``Unknown`` if graphql-core must complete it."""
        raise Unknown

    def for_graphql_core(self, items: list[Any]) -> list[Any]:
        """Return ``items`` as graphql-core is to complete them (by default, unchanged)."""
        return items


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation graphql-core runs (of several with one name, the last), or None
    where it refuses to choose one."""
    found = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return found[0] if len(found) == 1 else None
    named = [d for d in found if d.name is not None and d.name.value == name]
    return named[-1] if named else None


def leaf(graphql_type: Any, read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Return what completes a scalar of one item as graphql-core does: the value
    ``read`` gives, coerced by the scalar, null only where the type allows it.

    :raises Unknown: (here) the type is not a scalar; (when called) the value
        would be an error, which graphql-core makes at its path
    """
    non_null, coerce = _scalar(graphql_type)

    def complete(item: Any) -> Any:
        try:
            value = read(item)
        except Exception:
            raise Unknown from None
        if value is None or value is Undefined:
            if non_null:
                raise Unknown
            return None
        try:
            coerced = coerce(value)
        except Exception:
            raise Unknown from None
        if coerced is None or coerced is Undefined:
            raise Unknown
        return coerced

    return complete


#: Output coercions that give a string back unchanged (``String``, ``ID``,
#: and scalars serialized by ``str``, as strawberry's ``Decimal``).
_KEEPS_TEXT = (serialize_string, serialize_id, str)
_UndefinedType = type(Undefined)


def leaf_column(graphql_type: Any) -> Callable[[list[Any]], list[Any]]:
    """As ``leaf``, for a column of values at once: what completes each, in order.

    A column of strings of a scalar that keeps strings is its own completion.
    """
    non_null, coerce = _scalar(graphql_type)
    keeps_text = any(coerce is f for f in _KEEPS_TEXT)

    def complete(values: list[Any]) -> list[Any]:
        kinds = set(map(type, values))
        if non_null and (NoneType in kinds or _UndefinedType in kinds):
            raise Unknown
        if keeps_text and kinds <= {str, NoneType}:
            return values
        try:
            done = [None if v is None or v is Undefined else coerce(v) for v in values]
        except Exception:
            raise Unknown from None
        for value, coerced in zip(values, done, strict=True):
            if (coerced is None or coerced is Undefined) and value is not None:
                raise Unknown
        return done

    return complete


def _scalar(graphql_type: Any) -> tuple[bool, Callable[[Any], Any]]:
    non_null = isinstance(graphql_type, GraphQLNonNull)
    scalar = graphql_type.of_type if non_null else graphql_type
    if not isinstance(scalar, GraphQLScalarType):
        raise Unknown
    return non_null, scalar.coerce_output_value
