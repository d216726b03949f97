"""A cost limit for GraphQL operations, checked before validation.

Token, depth and alias limits leave room for expensive operations: a few
hundred repeated selections of one field make graphql-core's validation
quadratic (a second of CPU for 300 ``books { totalCount }``), and aliases
multiply list fields and ``_entities``. ``CostLimiter`` measures the parsed
document before anything else runs and refuses it with one error when it
asks for too much.

The cost of an operation is the number of field selections (fragments
expanded) plus the list items it asks for (``limit``-style arguments of the
fields named in ``list_fields``) plus the representations of all its
``_entities`` selections together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

#: The ``extensions.code`` of an operation refused for its cost.
COST_LIMIT = "COST_LIMIT"


@dataclass(frozen=True)
class CostLimits:
    """What one operation may ask for.

    :param max_cost: the most fields + list items + entities
    :param list_fields: field name -> (argument giving its size, size when
        absent, largest size the field accepts)
    :param max_entities: the most ``_entities`` representations, all
        selections of the operation together; None for no limit
    """

    max_cost: int
    list_fields: Mapping[str, tuple[str, int, int]]
    max_entities: int | None = None


@dataclass
class Cost:
    """What an operation asks for."""

    fields: int = 0
    items: int = 0
    entities: int = 0

    @property
    def total(self) -> int:
        return self.fields + self.items + self.entities

    def add(self, other: Cost, times: int = 1) -> None:
        self.fields += other.fields * times
        self.items += other.items * times
        self.entities += other.entities * times


class CostLimiter(SchemaExtension):
    """Refuse, before validation, an operation whose cost is over the limits.

    :param limits: returns the limits; called for each operation, so that
        they follow the settings
    """

    def __init__(self, *, limits: Callable[[], CostLimits], execution_context: Any = None) -> None:
        self.limits = limits
        if execution_context is not None:
            self.execution_context = execution_context

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            error = check_cost(document, context.variables or {}, self.limits())
            if error is not None:
                # Set before validation: strawberry then skips validating at all.
                context.pre_execution_errors = [error]
        yield


def check_cost(
    document: DocumentNode, variables: Mapping[str, Any], limits: CostLimits
) -> GraphQLError | None:
    """Return the error refusing ``document``, or None if its cost is within ``limits``."""
    try:
        cost = measure(document, variables, limits.list_fields)
    except RecursionError:
        cost = Cost(fields=limits.max_cost + 1)
    if limits.max_entities is not None and cost.entities > limits.max_entities:
        return GraphQLError(
            f"The operation asks for {cost.entities} entities in all its _entities "
            f"selections; allowed: {limits.max_entities}.",
            extensions={"code": COST_LIMIT},
        )
    if cost.total > limits.max_cost:
        return GraphQLError(
            f"The operation costs {cost.total} ({cost.fields} fields, {cost.items} list "
            f"items, {cost.entities} entities); allowed: {limits.max_cost}.",
            extensions={"code": COST_LIMIT},
        )
    return None


def measure(
    document: DocumentNode,
    variables: Mapping[str, Any],
    list_fields: Mapping[str, tuple[str, int, int]],
) -> Cost:
    """Return the cost of every operation in ``document`` together."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    measured: dict[str, Cost] = {}

    def selections(selection_set: SelectionSetNode | None, spreading: frozenset[str]) -> Cost:
        cost = Cost()
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                cost.add(_field(selection, variables, list_fields))
                cost.add(selections(selection.selection_set, spreading))
            elif isinstance(selection, InlineFragmentNode):
                cost.add(selections(selection.selection_set, spreading))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in spreading or name not in fragments:
                    continue  # a cycle or an unknown fragment: validation refuses it
                if name not in measured:
                    measured[name] = selections(fragments[name].selection_set, spreading | {name})
                cost.add(measured[name])
        return cost

    total = Cost()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total.add(selections(definition.selection_set, frozenset()))
    return total


def _field(
    field: FieldNode, variables: Mapping[str, Any], list_fields: Mapping[str, tuple[str, int, int]]
) -> Cost:
    """The cost of one field selection, without its sub-selections."""
    name = field.name.value
    arguments = {a.name.value: a.value for a in field.arguments or ()}
    if name == "_entities":
        value = _value(arguments.get("representations"), variables)
        return Cost(fields=1, entities=len(value) if isinstance(value, list) else 0)
    if name in list_fields:
        argument, default, largest = list_fields[name]
        size = _value(arguments.get(argument), variables)
        size = size if isinstance(size, int) and not isinstance(size, bool) else default
        return Cost(fields=1, items=min(max(size, 0), largest))
    return Cost(fields=1)


def _value(node: ValueNode | None, variables: Mapping[str, Any]) -> Any:
    """The value of an argument: an int, a list, or None when unknown."""
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, ListValueNode):
        return list(node.values)
    if isinstance(node, IntValueNode):
        try:
            return int(node.value)
        except ValueError:  # more digits than int() reads: surely too large
            return 2**63
    return None
