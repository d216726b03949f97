"""Complete the rows of ``_entities`` without graphql-core completing each field.

``SubgraphSchema.entities_resolver`` loads a whole type with one query; what
then costs most is graphql-core completing every entity one field at a time
(a resolver call, a type check and a coercion per field). The generated client
asks only for ``__typename``, ``id``, scalar model fields and ``{ id }`` of
relations, and for those the completed value is known from the row: this
execution context builds it directly, with the same coercion functions
graphql-core would call, so the answer is the same bytes.

Only the list completion of a root ``_entities`` field is replaced: parsing,
validation, cost limits, the resolver (and so the visibility hook) and errors
go the normal way. An entity whose selection or values this path does not know
(a custom resolver, a fragment spread, a directive, a row of an unexpected
class, a value that would make an error) sends the whole list the normal way.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from operator import itemgetter
from typing import Any

from django.db import models
from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry_django.fields.field import StrawberryDjangoField

from federated_fk.scalars import decimal_column, decimal_text

#: Completes one entity: returns its response dict, or raises _Unknown.
Complete = Callable[[Any], dict[str, Any]]


class _Unknown(Exception):
    """This path cannot complete the list exactly as graphql-core would."""


class FastEntitiesExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with the rows of ``_entities`` completed in one pass."""

    def complete_list_value(
        self,
        return_type: GraphQLList,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if info.field_name == "_entities" and path.prev is None and isinstance(result, list):
            try:
                return self._complete_entities(return_type, field_details_list, path, result)
            except _Unknown:
                # graphql-core completes them: rows completed from columns become rows again.
                result = [row.source() if type(row) is Completed else row for row in result]
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete_entities(
        self, return_type: GraphQLList, field_details_list: Any, path: Path, rows: list[Any]
    ) -> list[Any]:
        middleware = self.middleware_manager
        if (middleware is not None and middleware.middlewares) or len(field_details_list) != 1:
            raise _Unknown
        details = field_details_list[0]
        if details.fragment_variable_values is not None or details.node.directives:
            raise _Unknown
        selection = details.node.selection_set
        by_model: dict[type, Complete] = {}
        completed: list[Any] = []
        failed: list[tuple[Exception, int]] = []
        for index, row in enumerate(rows):
            if row is None:
                completed.append(None)
            elif isinstance(row, Exception):
                completed.append(None)
                failed.append((row, index))
            elif type(row) is Completed:
                completed.append(row)
            else:
                complete = by_model.get(type(row))
                if complete is None:
                    complete = by_model[type(row)] = self._completer(type(row), selection)
                completed.append(complete(row))
        # Errors only once every row is known to take this path, in list order
        # as graphql-core adds them.
        item_type = return_type.of_type
        for error, index in failed:
            self.handle_field_error(error, item_type, field_details_list, path.add_key(index))
        return completed

    def _completer(self, model: type, selection: SelectionSetNode | None) -> Complete:
        """Return what completes a row of ``model`` for ``selection``; cached per schema."""
        object_type = self._entity_type(model)
        cache = _plans(self.schema)
        key = (object_type.name, id(selection))
        plan = cache.get(key)
        if plan is None or plan[0] is not selection:
            plan = cache[key] = (selection, _plan(object_type, selection))
        return plan[1]

    def _entity_type(self, model: type) -> GraphQLObjectType:
        found = [
            t
            for t in self.schema.type_map.values()
            if isinstance(t, GraphQLObjectType)
            and getattr(_origin(t), "_federated_model", None) is model
        ]
        if len(found) != 1:
            raise _Unknown  # a subclass, a proxy, or two types of one model: graphql-core decides
        return found[0]


def _origin(object_type: GraphQLObjectType) -> Any:
    definition = object_type.extensions.get("strawberry-definition")
    return getattr(definition, "origin", None)


_PLANS: dict[int, dict[tuple[str, int], tuple[Any, Complete]]] = {}


def _plans(schema: Any) -> dict[tuple[str, int], tuple[Any, Complete]]:
    # Keyed by the document's selection node: the parser cache hands the same
    # node to every request of one query text. Bounded, as the parser cache is.
    plans = _PLANS.setdefault(id(schema), {})
    if len(plans) > 512:
        plans.clear()
    return plans


def _plan(
    object_type: GraphQLObjectType,
    selection: SelectionSetNode | None,
    columns: dict[str, int] | None = None,
) -> Complete:
    """Return the completion of an entity of ``object_type`` for ``selection``.

    :param columns: complete a tuple of column values, each at its index by
        attname, instead of a model instance (see ``column_plan``)
    :raises _Unknown: the selection asks for something only graphql-core completes
    """
    entity = _origin(object_type)
    relations = {r.name: r for r in getattr(entity, "_federated_relations", ())}
    steps: list[tuple[str, Callable[[Any], Any]]] = []
    seen: dict[str, str] = {}
    for node in _fields_for(object_type.name, selection):
        key = node.alias.value if node.alias else node.name.value
        if key in seen:
            if seen[key] != node.name.value or node.selection_set is not None:
                raise _Unknown
            continue
        seen[key] = node.name.value
        steps.append((key, _step(object_type, node, relations, columns)))

    def complete(row: Any) -> dict[str, Any]:
        return {key: step(row) for key, step in steps}

    return complete


def _fields_for(type_name: str, selection: SelectionSetNode | None) -> list[FieldNode]:
    """The fields graphql-core collects for ``type_name``, in order; only plain ones."""
    if selection is None:
        raise _Unknown
    fields: list[FieldNode] = []
    for node in selection.selections:
        if node.directives:
            raise _Unknown
        if isinstance(node, FieldNode):
            fields.append(node)
        elif isinstance(node, InlineFragmentNode):
            condition = node.type_condition
            if condition is None or condition.name.value == type_name:
                fields.extend(_fields_for(type_name, node.selection_set))
            elif condition.name.value in ("_Entity", "_Any"):
                raise _Unknown
        else:  # a fragment spread
            raise _Unknown
    return fields


def _step(
    object_type: GraphQLObjectType,
    node: FieldNode,
    relations: dict[str, Any],
    columns: dict[str, int] | None = None,
) -> Callable[[Any], Any]:
    name = node.name.value
    if node.arguments or node.directives:
        raise _Unknown
    if name == "__typename":
        type_name = object_type.name
        return lambda row: type_name
    field = object_type.fields.get(name)
    if field is None:
        raise _Unknown
    definition = field.extensions.get("strawberry-definition")
    if definition is None or definition.extensions or definition.permission_classes:
        raise _Unknown
    model = getattr(_origin(object_type), "_federated_model", None)
    if name == "id" and node.selection_set is None:
        if columns is None:
            return _leaf(field.type, lambda row: str(row.pk))
        pk = itemgetter(columns[model._meta.pk.attname])
        return _leaf(field.type, lambda row: str(pk(row)))
    relation = relations.get(definition.python_name)
    if relation is not None and definition.base_resolver is not None:
        if columns is None:
            return _reference(field.type, node, relation)
        if not relation.from_id:
            raise _Unknown  # its rows are loaded with the batch, not read from a column
        return _reference(field.type, node, relation, itemgetter(columns[relation.field.attname]))
    if (
        type(definition) is StrawberryDjangoField
        and definition.base_resolver is None
        and node.selection_set is None
    ):
        attribute = definition.django_name or definition.python_name
        if columns is None:
            return _leaf(field.type, lambda row: getattr(row, attribute))
        if attribute not in columns:
            raise _Unknown  # a property, or a field that is not a column of its own
        read = itemgetter(columns[attribute])
        model_field = model._meta.get_field(attribute)
        if isinstance(model_field, models.DecimalField):
            text = decimal_text(model_field)  # the column is read raw: see ColumnPlan
            return _leaf(field.type, lambda row: text(read(row)))
        return _leaf(field.type, read)
    raise _Unknown


def _leaf(graphql_type: Any, read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Complete a scalar as graphql-core does: its coercion, null only where allowed."""
    non_null = isinstance(graphql_type, GraphQLNonNull)
    scalar = graphql_type.of_type if non_null else graphql_type
    if not isinstance(scalar, GraphQLScalarType):
        raise _Unknown
    coerce = scalar.coerce_output_value

    def complete(row: Any) -> Any:
        value = read(row)
        if value is None or value is Undefined:
            if non_null:
                raise _Unknown  # graphql-core would make an error of it
            return None
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Unknown
        return coerced

    return complete


def _reference(
    graphql_type: Any,
    node: FieldNode,
    relation: Any,
    column: Callable[[Any], Any] | None = None,
) -> Callable[[Any], Any]:
    """Complete a relation selected as ``{ id }`` from what the batch loaded.

    :param column: reads the key's column from a row of columns
    """
    selection = node.selection_set
    if selection is None or len(selection.selections) != 1:
        raise _Unknown
    (inner,) = selection.selections
    if (
        not isinstance(inner, FieldNode)
        or inner.name.value != "id"
        or inner.alias
        or inner.arguments
        or inner.directives
    ):
        raise _Unknown
    non_null = isinstance(graphql_type, GraphQLNonNull)
    if relation.many:
        return _many_reference(relation, non_null)
    return _single_reference(relation, non_null, column)


def _single_reference(
    relation: Any, non_null: bool, column: Callable[[Any], Any] | None = None
) -> Callable[[Any], Any]:
    field = relation.field

    def target_pk(row: models.Model) -> Any:
        # As the relation's resolver reads it (model_fields._single_resolver).
        if column is not None:
            return column(row)
        if relation.from_id:
            return getattr(row, field.attname)
        if relation.to_attr in row.__dict__:
            target = row.__dict__[relation.to_attr]
        elif not relation.hides_rows and field.is_cached(row):
            target = field.get_cached_value(row)
        else:
            raise _Unknown  # not loaded with the batch: the resolver would query
        return None if target is None else target.pk

    def complete(row: models.Model) -> Any:
        pk = target_pk(row)
        if pk is None:
            if non_null:
                raise _Unknown
            return None
        return {"id": str(pk)}

    return complete


def _many_reference(relation: Any, non_null: bool) -> Callable[[Any], Any]:
    def complete(row: models.Model) -> Any:
        if relation.to_attr not in row.__dict__:
            raise _Unknown
        return [{"id": str(target.pk)} for target in row.__dict__[relation.to_attr]]

    return complete


class Completed(dict):  # type: ignore[type-arg]
    """An entity completed from its row's columns, before graphql-core sees it.

    ``source()`` makes the model instance the row would have been, for the
    rare answer that graphql-core has to complete after all.
    """

    __slots__ = ("source",)


@dataclass(frozen=True)
class ColumnPlan:
    """How to answer one entity type of a batch from a ``values_list`` of its columns.

    :param columns: the attnames of the model's concrete fields, the query's columns
    :param complete: completes one row of ``columns`` (raises ``_Unknown`` on a
        value only graphql-core can complete)
    """

    model: type[models.Model]
    columns: tuple[str, ...]
    complete: Complete

    @cached_property
    def decimals(self) -> dict[int, Callable[[Any], str | None]]:
        """The index of each DecimalField column, with its ``decimal_text``."""
        fields = self.model._meta.concrete_fields
        return {
            i: decimal_text(f) for i, f in enumerate(fields) if isinstance(f, models.DecimalField)
        }

    def selects(self, vendor: str) -> list[Any]:
        """What the query selects: the columns, DecimalField ones read raw (no ``Decimal``)."""
        return [
            decimal_column(c, vendor) if i in self.decimals else c
            for i, c in enumerate(self.columns)
        ]

    def completed(self, values: tuple[Any, ...], using: str) -> Completed | None:
        """Return the completed entity of one row, or None if graphql-core must complete it."""
        try:
            done = Completed(self.complete(values))
        except _Unknown:
            return None
        done.source = partial(self._instance, using, values)
        return done

    def _instance(self, using: str, values: tuple[Any, ...]) -> models.Model:
        """The model instance of one row, its raw decimal columns read as Django reads them."""
        row = list(values)
        for i, text in self.decimals.items():
            if row[i] is not None:
                row[i] = decimal.Decimal(text(row[i]))
        return self.model.from_db(using, self.columns, row)


def column_plan(info: GraphQLResolveInfo, model: type[models.Model]) -> ColumnPlan | None:
    """Return how to answer ``model``'s entities of this ``_entities`` selection from
    columns alone, or None when they need model instances (the normal way).

    Only a plain selection takes this path: scalar model fields, ``id``,
    ``__typename`` and ``{ id }`` of keys read from their own column; the
    completion is the one ``FastEntitiesExecutionContext`` makes, on tuples.
    """
    if len(info.field_nodes) != 1 or info.field_nodes[0].directives:
        return None
    found = [
        t
        for t in info.schema.type_map.values()
        if isinstance(t, GraphQLObjectType)
        and getattr(_origin(t), "_federated_model", None) is model
    ]
    if len(found) != 1:
        return None
    selection = info.field_nodes[0].selection_set
    cache = _plans(info.schema)
    key = ("columns:" + found[0].name, id(selection))
    cached = cache.get(key)
    if cached is None or cached[0] is not selection:
        columns = tuple(f.attname for f in model._meta.concrete_fields)
        try:
            complete = _plan(found[0], selection, {c: i for i, c in enumerate(columns)})
        except _Unknown:
            plan = None
        else:
            plan = ColumnPlan(model, columns, complete)
        cached = cache[key] = (selection, plan)  # type: ignore[assignment]
    return cached[1]  # type: ignore[return-value]
