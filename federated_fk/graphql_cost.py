"""Demand control: price a GraphQL operation before it runs, refuse it when too dear.

An operation is priced as Apollo Router's demand control prices it (the IBM
GraphQL cost specification, ``@cost`` and ``@listSize``):

- a field of an object, interface or union type costs 1, a scalar or enum
  field 0 (``__typename`` too), unless ``CostLimits.weights`` gives the field
  a weight of its own (``@cost(weight:)``); each field adds the cost of its
  selections, fragments included (all the fragments of a selection, as
  Apollo counts them);
- a list field costs its size times the cost of one item. The size is the
  slicing argument's value (``ListSize``) as execution will see it: after
  variables (coerced as graphql-core coerces them, so ``100.0`` is 100) and
  variable and argument defaults; the assumed size when the argument is
  absent or null; ``CostLimits.list_size`` for a list with no ``ListSize``.
  A ``ListSize`` may size fields of the object it returns instead
  (``sizedFields``: a page's ``items``);
- ``_entities`` costs, for each representation, 1 plus its selection for
  the ``__typename`` that representation names.

The estimate covers every alias and fragment spread, and skips fields
``@skip``/``@include`` leave out. Introspection (``__schema``, ``__type``)
costs 1: it reads the schema, whose size the operator chose, not data.
``CostLimiter`` refuses, before validation, an operation whose estimate is
over ``max_cost``, whose ``_entities`` representations together (aliases,
variables and defaults) are over ``max_entities``, or whose field
selections (fragments expanded) are over ``max_selections``: validation
grows with the square of repeated selections, a second of CPU for 300
``books { totalCount }``. After execution it records the actual cost, the
same pricing applied to the response, with the ``operation_cost`` signal
and a DEBUG log record (``federated_fk.cost``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.dispatch import Signal
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_composite_type,
)
from graphql.execution.values import VariableValues, get_directive_values, get_variable_values
from graphql.utilities import coerce_input_literal
from graphql.utilities.coerce_input_value import coerce_default_value
from strawberry.extensions import SchemaExtension

from federated_fk.graphql_variables import coerce_scalar_lists

logger = logging.getLogger("federated_fk.cost")

#: The ``extensions.code`` of an operation refused for its cost.
COST_LIMIT = "COST_LIMIT"

#: Sent after each operation a ``CostLimiter`` priced, with ``cost``, an
#: ``OperationCost``. Receivers run in the request: keep them quick.
operation_cost = Signal()

#: A value execution cannot read (a variable that does not coerce, a bad literal).
_UNKNOWN = object()


@dataclass(frozen=True)
class ListSize:
    """How long a list field is, as ``@listSize`` tells Apollo's demand control.

    :param argument: the slicing argument giving the size (``limit``)
    :param assumed_size: the size when the argument is absent or null (the
        resolver's default page size)
    :param largest: the most items the field returns (its resolver refuses
        more); also the size when the argument's value cannot be read
    :param sized_fields: fields of the returned object whose length the
        argument gives (a page's ``items``); the field itself is sized when
        it is a list
    :param loads_items: the resolver loads its items whether or not a sized
        field is selected (a page counts its targets), so the field's
        selection costs at least the size
    """

    argument: str
    assumed_size: int
    largest: int | None = None
    sized_fields: tuple[str, ...] = ()
    loads_items: bool = False


@dataclass(frozen=True)
class CostLimits:
    """What one operation may cost, and how it is priced.

    :param max_cost: the most an operation's estimate may be
    :param list_sizes: the sized list fields, by ``"Type.field"`` or by field
        name (any type)
    :param list_size: the assumed length of any other list (Apollo's
        ``static_estimated.list_size``)
    :param weights: the cost of one value of a field, by ``"Type.field"``,
        instead of 1 for objects and 0 for scalars (``@cost(weight:)``)
    :param max_entities: the most ``_entities`` representations, all
        selections of the operation together; None for no limit
    :param max_selections: the most field selections, fragments expanded
        (validation's work); None for no limit
    """

    max_cost: int
    list_sizes: Mapping[str, ListSize] = field(default_factory=dict)
    list_size: int = 10
    weights: Mapping[str, int] = field(default_factory=dict)
    max_entities: int | None = None
    max_selections: int | None = None


@dataclass
class Cost:
    """What an operation asks for.

    :param price: the estimate: objects (and weighted values) it may return
    :param entities: ``_entities`` representations, all selections together
    :param selections: field selections, fragments expanded
    """

    price: int = 0
    entities: int = 0
    selections: int = 0


@dataclass(frozen=True)
class OperationCost:
    """The record of one priced operation, sent with ``operation_cost``.

    :param estimated: the price before execution
    :param actual: the same pricing applied to the response (None when refused)
    :param max_cost: the limit it was checked against
    :param entities: ``_entities`` representations it asked for
    :param refused: why it was refused (the error's message), or None
    """

    estimated: int
    actual: int | None
    max_cost: int
    entities: int
    refused: str | None = None


class CostRefused(GraphQLError):
    """An operation refused before execution for what it would cost.

    :param message: what is over which limit
    :param cost: what the operation asks for
    :param limits: the limits it is over
    """

    def __init__(self, message: str, cost: Cost, limits: CostLimits) -> None:
        super().__init__(
            message,
            extensions={
                "code": COST_LIMIT,
                "cost": {"estimated": cost.price, "max": limits.max_cost},
            },
        )
        self.cost = cost
        self.limits = limits


class CostLimiter(SchemaExtension):
    """Refuse, before validation, an operation whose cost is over the limits;
    record its actual cost after execution.

    :param limits: returns the limits; called for each operation, so that
        they follow the settings
    """

    def __init__(self, *, limits: Callable[[], CostLimits], execution_context: Any = None) -> None:
        self.limits = limits
        self.cost: Cost | None = None
        self.checked: CostLimits | None = None
        if execution_context is not None:
            self.execution_context = execution_context

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            limits = self.checked = self.limits()
            schema = context.schema._schema
            variables = context.variables or {}
            cost, error = _check(schema, document, variables, limits, context.operation_name)
            self.cost = cost
            if error is not None:
                # Set before validation: strawberry then skips validating at all.
                context.pre_execution_errors = [error]
                _record(
                    OperationCost(cost.price, None, limits.max_cost, cost.entities, error.message)
                )
        yield

    def on_execute(self) -> Iterator[None]:  # type: ignore[override]
        yield
        context = self.execution_context
        result = context.result
        if self.cost is None or self.checked is None or result is None:
            return
        if not (operation_cost.has_listeners() or logger.isEnabledFor(logging.DEBUG)):
            return  # the walk over the response is for someone who reads it
        document = context.graphql_document
        data = getattr(result, "data", None)
        actual = 0
        if document is not None and isinstance(data, dict):
            try:
                actual = actual_cost(
                    context.schema._schema, document, data, self.checked, context.operation_name
                )
            except RecursionError:  # an answer nested deeper than the stack: not its caller's fault
                logger.warning("The actual cost of an operation could not be measured.")
                return
        _record(OperationCost(self.cost.price, actual, self.checked.max_cost, self.cost.entities))


def _record(record: OperationCost) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "Operation cost: estimated %s, actual %s, max %s%s",
            record.estimated,
            record.actual,
            record.max_cost,
            f", refused: {record.refused}" if record.refused else "",
            extra={"operation_cost": record},
        )
    if operation_cost.has_listeners():
        for receiver, outcome in operation_cost.send_robust(sender=CostLimiter, cost=record):
            if isinstance(outcome, Exception):
                logger.warning("An operation_cost receiver %r raised %r.", receiver, outcome)


def refusal(cost: Cost, limits: CostLimits) -> CostRefused | None:
    """Return the error refusing an operation of ``cost``, or None if it is within ``limits``."""
    if limits.max_selections is not None and cost.selections > limits.max_selections:
        return CostRefused(
            f"The operation has {cost.selections} field selections, fragments expanded; "
            f"allowed: {limits.max_selections}.",
            cost,
            limits,
        )
    if limits.max_entities is not None and cost.entities > limits.max_entities:
        return CostRefused(
            f"The operation asks for {cost.entities} entities in all its _entities "
            f"selections; allowed: {limits.max_entities}.",
            cost,
            limits,
        )
    if cost.price > limits.max_cost:
        return CostRefused(
            f"The operation costs {cost.price} (each list its size times the cost of an "
            f"item); allowed: {limits.max_cost}.",
            cost,
            limits,
        )
    return None


def check_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any],
    limits: CostLimits,
    operation_name: str | None = None,
) -> GraphQLError | None:
    """Return the error refusing ``document``, or None if its cost is within ``limits``."""
    return _check(schema, document, variables, limits, operation_name)[1]


def _check(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any],
    limits: CostLimits,
    operation_name: str | None,
) -> tuple[Cost, CostRefused | None]:
    try:
        cost = measure(schema, document, variables, limits, operation_name)
    except RecursionError:
        cost = Cost(price=limits.max_cost + 1)
        return cost, CostRefused("The operation is nested too deep to be priced.", cost, limits)
    return cost, refusal(cost, limits)


def operations(document: DocumentNode, operation_name: str | None) -> list[OperationDefinitionNode]:
    """The operation that runs, or every operation when the name does not pick one
    (execution then refuses the document, but validation still reads all of it)."""
    found = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        named = [d for d in found if d.name is not None and d.name.value == operation_name]
        return named or found
    return found


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any],
    limits: CostLimits,
    operation_name: str | None = None,
) -> Cost:
    """Return what ``document`` asks for: its estimate, entities and selections.

    :param variables: the request's variables, as sent (not yet coerced)
    :raises RecursionError: the document is nested too deep to walk
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    total = Cost(selections=_selections(document, fragments))
    for operation in operations(document, operation_name):
        root = schema.get_root_type(operation.operation)
        definitions = operation.variable_definitions or ()
        # The large lists (representations, ids) in one pass; the rest by graphql-core.
        lists = {n: c for n, (_, c) in coerce_scalar_lists(schema, definitions, variables).items()}
        rest = [d for d in definitions if d.variable.name.value not in lists]
        coerced = get_variable_values(schema, rest, dict(variables))
        if isinstance(coerced, list):  # errors: execution will refuse the request
            pricer = _Pricer(schema, fragments, None, limits)
        else:
            pricer = _Pricer(schema, fragments, coerced, limits, lists)
        price, entities = pricer.selection_set(operation.selection_set, root, None, None)
        total.price += price + (10 if operation.operation.value == "mutation" else 0)
        total.entities += entities
    return total


def _selections(document: DocumentNode, fragments: Mapping[str, FragmentDefinitionNode]) -> int:
    """Count the field selections of every operation, each fragment spread expanded."""
    counted: dict[str, int] = {}

    def count(selection_set: SelectionSetNode | None, spreading: frozenset[str]) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + count(selection.selection_set, spreading)
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set, spreading)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in spreading or name not in fragments:
                    continue  # a cycle or an unknown fragment: validation refuses it
                if name not in counted:
                    counted[name] = count(fragments[name].selection_set, spreading | {name})
                total += counted[name]
        return total

    return sum(
        count(d.selection_set, frozenset())
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


#: A list size handed down to the sized fields of a field's selection.
Sizing = tuple[frozenset[str], int] | None


class _Pricer:
    """Prices the selections of one operation, each (selection set, type, sizing) once."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues | None,
        limits: CostLimits,
        lists: Mapping[str, list[Any]] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        #: The lists of scalars, coerced apart (``coerce_scalar_lists``), by name.
        self.lists = lists or {}
        # None: the variables do not coerce, and execution will not run.
        self.values = variables
        self.variables = None if variables is None else variables.coerced
        self.limits = limits
        self.priced: dict[tuple[int, str | None, str | None, Sizing], tuple[int, int]] = {}

    def selection_set(
        self,
        node: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        runtime: GraphQLObjectType | None,
        sizing: Sizing,
        spreading: frozenset[str] = frozenset(),
    ) -> tuple[int, int]:
        """Return the price and the entities of a selection set of ``parent``.

        :param runtime: the one object type the value is known to have (an
            ``_entities`` item whose representation names it): fragments
            that cannot apply to it are left out; None for every fragment
        """
        if node is None:
            return 0, 0
        key = (id(node), getattr(parent, "name", None), getattr(runtime, "name", None), sizing)
        if key in self.priced:
            return self.priced[key]
        price = entities = 0
        for selection in node.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                p, e = self.field(selection, parent, sizing)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if not self._applies(condition.name.value if condition else None, runtime):
                    continue
                inner = self.schema.get_type(condition.name.value) if condition else parent
                p, e = self.selection_set(
                    selection.selection_set, inner, runtime, sizing, spreading
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spreading:
                    continue  # unknown or a cycle: validation refuses it
                condition = fragment.type_condition.name.value
                if not self._applies(condition, runtime):
                    continue
                p, e = self.selection_set(
                    fragment.selection_set,
                    self.schema.get_type(condition),
                    runtime,
                    sizing,
                    spreading | {name},
                )
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            price += p
            entities += e
        self.priced[key] = (price, entities)
        return price, entities

    def field(
        self, node: FieldNode, parent: GraphQLNamedType | None, sizing: Sizing
    ) -> tuple[int, int]:
        """Return the price and the entities of one field selection."""
        name = node.name.value
        if name == "__typename":
            return 0, 0
        if name in ("__schema", "__type") and parent is self.schema.query_type:
            # Introspection reads the schema, not data: its size is the schema's,
            # bounded by the depth and token limits (and it can be turned off).
            return 1, 0
        definition = self._definition(parent, name)
        if definition is None:
            # Unknown here: validation refuses it. Priced as an object, so that
            # nothing below it is free.
            price, entities = self.selection_set(node.selection_set, None, None, None)
            return 1 + price, entities
        qualified = f"{parent.name}.{name}"  # type: ignore[union-attr]
        spec = self.limits.list_sizes.get(qualified) or self.limits.list_sizes.get(name)
        size = self._size(spec, definition, node) if spec is not None else None
        nullable = get_nullable_type(definition.type)  # type: ignore[arg-type]
        named = get_named_type(definition.type)
        weight = self.limits.weights.get(qualified, 1 if is_composite_type(named) else 0)
        if name == "_entities" and parent is self.schema.query_type:
            return self._entities(definition, node, named, weight)
        inner: Sizing = None
        if spec is not None and spec.sized_fields and size is not None:
            inner = (frozenset(spec.sized_fields), size)
        price, entities = self.selection_set(node.selection_set, named, None, inner)
        if not isinstance(nullable, GraphQLList):
            if spec is not None and spec.loads_items and size is not None:
                price = max(price, size)  # the page's targets load, selected or not
            return weight + price, entities
        item = weight + price
        if sizing is not None and name in sizing[0]:
            count = sizing[1]  # a sized field: its parent's argument gives the length
        elif size is not None:
            count = size
        else:
            count = self.limits.list_size
        return count * item, count * entities

    def _entities(
        self, definition: GraphQLField, node: FieldNode, named: GraphQLNamedType, weight: int
    ) -> tuple[int, int]:
        """Price ``_entities``: each representation, as the type it names."""
        representations = self._argument(definition, node, "representations")
        if not isinstance(representations, list):
            return 0, 0  # null or unreadable: execution refuses it
        names = [r.get("__typename") if isinstance(r, dict) else None for r in representations]
        # A name that is not a string counts as no name (an unknown type).
        by_type = Counter(name if isinstance(name, str) else None for name in names)
        price = 0
        for type_name, count in by_type.items():
            runtime = self.schema.get_type(type_name) if type_name is not None else None
            if not isinstance(runtime, GraphQLObjectType):
                runtime = None  # an unknown type: every fragment counts
            item, _ = self.selection_set(node.selection_set, runtime or named, runtime, None)
            price += count * (weight + item)
        return price, len(representations)

    def _size(self, spec: ListSize, definition: GraphQLField, node: FieldNode) -> int:
        """The length a slicing argument gives, as execution will read it."""
        value = self._argument(definition, node, spec.argument)
        if value is None:
            return spec.assumed_size
        if value is _UNKNOWN or not isinstance(value, int) or isinstance(value, bool):
            return spec.largest if spec.largest is not None else spec.assumed_size
        value = max(value, 0)
        return value if spec.largest is None else min(value, spec.largest)

    def _argument(self, definition: GraphQLField, node: FieldNode, name: str) -> Any:
        """The value of one argument as execution reads it: given, from a variable,
        or the argument's default; ``_UNKNOWN`` when it cannot be read."""
        argument = definition.args.get(name)
        if argument is None:
            return _UNKNOWN
        given = next((a.value for a in node.arguments or () if a.name.value == name), None)
        if isinstance(given, VariableNode) and given.name.value in self.lists:
            return self.lists[given.name.value]
        if given is None or (
            isinstance(given, VariableNode)
            and self.variables is not None
            and given.name.value not in self.variables
        ):
            try:
                default = coerce_default_value(argument)
            except (GraphQLError, TypeError, ValueError):
                return _UNKNOWN
            return None if default is Undefined else default
        if isinstance(given, VariableNode) and self.variables is None:
            return _UNKNOWN
        value = coerce_input_literal(given, argument.type, self.values)
        return _UNKNOWN if value is Undefined else value

    def _included(self, node: Any) -> bool:
        """Whether ``@skip`` and ``@include`` leave ``node`` in (when they can be read)."""
        if not node.directives or self.variables is None:
            return True
        try:
            skip = get_directive_values(GraphQLSkipDirective, node, self.values)
            include = get_directive_values(GraphQLIncludeDirective, node, self.values)
        except GraphQLError:
            return True
        return not (skip and skip.get("if") is True) and not (
            include and include.get("if") is False
        )

    def _applies(self, condition: str | None, runtime: GraphQLObjectType | None) -> bool:
        """Whether a fragment on ``condition`` applies to a value of type ``runtime``."""
        if condition is None or runtime is None:
            return True
        if condition == runtime.name:
            return True
        abstract = self.schema.get_type(condition)
        if isinstance(abstract, GraphQLInterfaceType | GraphQLUnionType):
            return self.schema.is_sub_type(abstract, runtime)
        return abstract is None  # unknown: validation refuses it

    def _definition(self, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return parent.fields.get(name)
        return None


def actual_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    data: Mapping[str, Any],
    limits: CostLimits,
    operation_name: str | None = None,
) -> int:
    """Price a response as its operation was priced, each list at its real length.

    Fragments are matched by response key, whatever their type condition:
    a value carries only the fields its own type selected.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found = operations(document, operation_name)
    if not found:
        return 0
    root = schema.get_root_type(found[0].operation)
    return _actual(schema, fragments, limits, [found[0].selection_set], [root], data)


def _collect(
    selection_sets: list[SelectionSetNode | None],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> dict[str, list[FieldNode]]:
    """The field nodes of ``selection_sets`` by response key, fragments expanded."""
    collected: dict[str, list[FieldNode]] = {}
    pending = [s for s in selection_sets if s is not None]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                collected.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return collected


def _actual(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    limits: CostLimits,
    selection_sets: list[SelectionSetNode | None],
    types: list[GraphQLNamedType],
    value: Mapping[str, Any],
) -> int:
    collected = _collect(selection_sets, fragments)
    price = 0
    for key, item in value.items():
        nodes = collected.get(key)
        if not nodes or item is None:
            continue
        name = nodes[0].name.value
        owner = next(
            (
                t
                for t in types
                if isinstance(t, GraphQLObjectType | GraphQLInterfaceType) and name in t.fields
            ),
            None,
        )
        if owner is None:
            continue  # __typename, introspection
        named = get_named_type(owner.fields[name].type)
        weight = limits.weights.get(f"{owner.name}.{name}", 1 if is_composite_type(named) else 0)
        inner_types = list(schema.get_possible_types(named)) if is_abstract_type(named) else [named]
        inner_sets = [n.selection_set for n in nodes]
        stack = [item]
        while stack:
            current = stack.pop()
            if isinstance(current, list):
                stack.extend(c for c in current if c is not None)
            elif isinstance(current, dict):
                price += weight + _actual(
                    schema, fragments, limits, inner_sets, [named, *inner_types], current
                )
            else:
                price += weight
    return price
