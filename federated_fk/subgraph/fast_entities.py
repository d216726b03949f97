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
from functools import cached_property
from itertools import repeat
from typing import Any

from django.db import models
from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.pyutils import Path
from strawberry_django.fields.field import StrawberryDjangoField

from federated_fk.graphql_completion import (
    Complete,
    FastListExecutionContext,
    Unknown,
    leaf,
    leaf_column,
)
from federated_fk.scalars import decimal_column, decimal_text, decimal_texts

#: Completes a batch of rows of column values: a ``Completed`` each, or raises Unknown.
CompleteRows = Callable[[list[tuple[Any, ...]]], list["Completed"]]


class FastEntitiesExecutionContext(FastListExecutionContext):
    """graphql-core's execution, with the rows of ``_entities`` completed in one pass."""

    def completes(self, info: GraphQLResolveInfo, path: Path) -> bool:
        return info.field_name == "_entities" and path.prev is None

    def for_graphql_core(self, items: list[Any]) -> list[Any]:
        # Rows completed from columns become rows again.
        return [row.source() if type(row) is Completed else row for row in items]

    def complete_fast(
        self,
        return_type: GraphQLList,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        rows: list[Any],
    ) -> list[Any]:
        if len(field_details_list) != 1:
            raise Unknown
        details = field_details_list[0]
        if details.fragment_variable_values is not None or details.node.directives:
            raise Unknown
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
        found = _entity_type(self.schema, model)
        if found is None:
            raise Unknown  # a subclass, a proxy, or two types of one model: graphql-core decides
        return found


def _entity_type(schema: Any, model: type) -> GraphQLObjectType | None:
    """The one object type of ``model``'s entity in ``schema``; None if not exactly one."""
    found = [
        t
        for t in schema.type_map.values()
        if isinstance(t, GraphQLObjectType)
        and getattr(_origin(t), "_federated_model", None) is model
    ]
    return found[0] if len(found) == 1 else None


def _origin(object_type: GraphQLObjectType) -> Any:
    definition = object_type.extensions.get("strawberry-definition")
    return getattr(definition, "origin", None)


_PLANS: dict[int, dict[tuple[Any, int], tuple[Any, Complete]]] = {}


def _plans(schema: Any) -> dict[tuple[Any, int], tuple[Any, Complete]]:
    # Keyed by the document's selection node: the parser cache hands the same
    # node to every request of one query text. Bounded, as the parser cache is.
    plans = _PLANS.setdefault(id(schema), {})
    if len(plans) > 512:
        plans.clear()
    return plans


def _plan(object_type: GraphQLObjectType, selection: SelectionSetNode | None) -> Complete:
    """Return the completion of an entity (a model instance) of ``object_type`` for ``selection``.

    :raises Unknown: the selection asks for something only graphql-core completes
    """
    steps = [(key, _step(source)) for key, source in _sources(object_type, selection)]

    def complete(row: Any) -> dict[str, Any]:
        return {key: step(row) for key, step in steps}

    return complete


def _column_plan(sources: list[tuple[str, _Source]], columns: dict[str, int]) -> CompleteRows:
    """Return the completion of a batch of rows of column values, a column at a time.

    :param sources: each response key of the selection, with its source (``_sources``)
    :param columns: the index of each column in a row, by attname; every
        column a source reads (``_column``) is one of them
    """
    keys: list[str] = []
    steps: list[Callable[[list[tuple[Any, ...]]], list[Any]]] = []
    for key, source in sources:
        keys.append(key)
        steps.append(_column_step(source, columns))

    def complete(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        if not steps:
            return [Completed() for _ in rows]  # nothing selected on this type: {}
        by_row = zip(*(step(rows) for step in steps), strict=True)
        # Each row has a value per key by construction. map, not a comprehension
        # of zip(..., strict=False): the keyword alone cost a third of the time.
        return list(map(Completed, map(zip, repeat(keys), by_row)))

    return complete


@dataclass(frozen=True)
class _Source:
    """Where the value of one response key comes from (see ``_sources``)."""

    kind: str  # "typename", "id", "reference" or "attribute"
    object_type: GraphQLObjectType
    graphql_type: Any = None
    name: str = ""  # the attribute read, for "attribute"
    relation: Any = None  # for "reference"


def _sources(
    object_type: GraphQLObjectType, selection: SelectionSetNode | None
) -> list[tuple[str, _Source]]:
    """Each response key of ``selection`` on ``object_type``, in order, with its source."""
    entity = _origin(object_type)
    relations = {r.name: r for r in getattr(entity, "_federated_relations", ())}
    sources: list[tuple[str, _Source]] = []
    seen: dict[str, str] = {}
    for node in _fields_for(object_type.name, selection):
        key = node.alias.value if node.alias else node.name.value
        if key in seen:
            if seen[key] != node.name.value or node.selection_set is not None:
                raise Unknown
            continue
        seen[key] = node.name.value
        sources.append((key, _source(object_type, node, relations)))
    return sources


def _fields_for(type_name: str, selection: SelectionSetNode | None) -> list[FieldNode]:
    """The fields graphql-core collects for ``type_name``, in order; only plain ones."""
    if selection is None:
        raise Unknown
    fields: list[FieldNode] = []
    for node in selection.selections:
        if node.directives:
            raise Unknown
        if isinstance(node, FieldNode):
            fields.append(node)
        elif isinstance(node, InlineFragmentNode):
            condition = node.type_condition
            if condition is None or condition.name.value == type_name:
                fields.extend(_fields_for(type_name, node.selection_set))
            elif condition.name.value in ("_Entity", "_Any"):
                raise Unknown
        else:  # a fragment spread
            raise Unknown
    return fields


def _source(object_type: GraphQLObjectType, node: FieldNode, relations: dict[str, Any]) -> _Source:
    name = node.name.value
    if node.arguments or node.directives:
        raise Unknown
    if name == "__typename":
        return _Source("typename", object_type)
    field = object_type.fields.get(name)
    if field is None:
        raise Unknown
    definition = field.extensions.get("strawberry-definition")
    if definition is None or definition.extensions or definition.permission_classes:
        raise Unknown
    if name == "id" and node.selection_set is None:
        return _Source("id", object_type, field.type)
    relation = relations.get(definition.python_name)
    if relation is not None and definition.base_resolver is not None:
        _check_reference(node)
        return _Source("reference", object_type, field.type, relation=relation)
    if (
        type(definition) is StrawberryDjangoField
        and definition.base_resolver is None
        and node.selection_set is None
    ):
        attribute = definition.django_name or definition.python_name
        return _Source("attribute", object_type, field.type, name=attribute)
    raise Unknown


def _step(source: _Source) -> Callable[[Any], Any]:
    """Complete ``source`` of one model instance."""
    if source.kind == "typename":
        type_name = source.object_type.name
        return lambda row: type_name
    if source.kind == "id":
        return leaf(source.graphql_type, lambda row: str(row.pk))
    if source.kind == "reference":
        return _reference(source.graphql_type, source.relation)
    attribute = source.name
    return leaf(source.graphql_type, lambda row: getattr(row, attribute))


def _column(source: _Source) -> str | None:
    """The column (attname) whose value completes ``source``; None for ``__typename``.

    :raises Unknown: a relation whose rows are loaded with the batch, not read
        from a column
    """
    if source.kind == "typename":
        return None
    if source.kind == "id":
        return _model(source)._meta.pk.attname
    if source.kind == "reference":
        relation = source.relation
        if not relation.from_id or relation.many:
            raise Unknown
        return relation.field.attname
    return source.name


def _model(source: _Source) -> Any:
    return getattr(_origin(source.object_type), "_federated_model", None)


def _column_step(
    source: _Source, columns: dict[str, int]
) -> Callable[[list[tuple[Any, ...]]], list[Any]]:
    """Complete ``source`` of every row of a batch of column values at once."""
    column = _column(source)
    if column is None:
        type_name = source.object_type.name
        return lambda rows: [type_name] * len(rows)
    index = columns[column]
    if source.kind == "id":
        ids = leaf_column(source.graphql_type)
        return lambda rows: ids([str(row[index]) for row in rows])
    if source.kind == "reference":
        non_null = isinstance(source.graphql_type, GraphQLNonNull)

        def references(rows: list[tuple[Any, ...]]) -> list[Any]:
            keys = [row[index] for row in rows]
            if non_null and None in keys:
                raise Unknown
            return [None if k is None else {"id": str(k)} for k in keys]

        return references
    values = leaf_column(source.graphql_type)
    model_field = _model(source)._meta.get_field(column)
    if isinstance(model_field, models.DecimalField):
        texts = decimal_texts(model_field)  # read raw: see ColumnPlan
        return lambda rows: values(texts([row[index] for row in rows]))
    return lambda rows: values([row[index] for row in rows])


def _check_reference(node: FieldNode) -> None:
    """A relation this path completes is selected as ``{ id }`` and nothing else."""
    selection = node.selection_set
    if selection is None or len(selection.selections) != 1:
        raise Unknown
    (inner,) = selection.selections
    if (
        not isinstance(inner, FieldNode)
        or inner.name.value != "id"
        or inner.alias
        or inner.arguments
        or inner.directives
    ):
        raise Unknown


def _reference(graphql_type: Any, relation: Any) -> Callable[[Any], Any]:
    """Complete a relation selected as ``{ id }`` from what the batch loaded."""
    non_null = isinstance(graphql_type, GraphQLNonNull)
    if relation.many:
        return _many_reference(relation, non_null)
    return _single_reference(relation, non_null)


def _single_reference(relation: Any, non_null: bool) -> Callable[[Any], Any]:
    field = relation.field

    def target_pk(row: models.Model) -> Any:
        # As the relation's resolver reads it (model_fields._single_resolver).
        if relation.from_id:
            return getattr(row, field.attname)
        if relation.to_attr in row.__dict__:
            target = row.__dict__[relation.to_attr]
        elif not relation.hides_rows and field.is_cached(row):
            target = field.get_cached_value(row)
        else:
            raise Unknown  # not loaded with the batch: the resolver would query
        return None if target is None else target.pk

    def complete(row: models.Model) -> Any:
        pk = target_pk(row)
        if pk is None:
            if non_null:
                raise Unknown
            return None
        return {"id": str(pk)}

    return complete


def _many_reference(relation: Any, non_null: bool) -> Callable[[Any], Any]:
    def complete(row: models.Model) -> Any:
        if relation.to_attr not in row.__dict__:
            raise Unknown
        return [{"id": str(target.pk)} for target in row.__dict__[relation.to_attr]]

    return complete


class Completed(dict):  # type: ignore[type-arg]
    """An entity completed from its row's columns, before graphql-core sees it.

    ``source()`` makes the model instance the row would have been, for the
    rare answer that graphql-core has to complete after all.
    """

    __slots__ = ("row",)

    def source(self) -> models.Model:
        """The model instance of this entity's row."""
        plan, using, values = self.row
        return plan.instance(using, values)


@dataclass(frozen=True)
class ColumnPlan:
    """How to answer one entity type of a batch from a ``values_list`` of its columns.

    :param columns: the attnames the query selects: the primary key and the
        columns the selection reads, in the order of the model's concrete fields
    :param complete: completes a batch of rows of ``columns``, a column at a time
        (raises ``Unknown`` on a value only graphql-core can complete)
    """

    model: type[models.Model]
    columns: tuple[str, ...]
    complete: CompleteRows

    @cached_property
    def decimals(self) -> dict[int, Callable[[Any], str | None]]:
        """The index of each DecimalField column, with its ``decimal_text``."""
        fields = [self.model._meta.get_field(c) for c in self.columns]
        return {
            i: decimal_text(f) for i, f in enumerate(fields) if isinstance(f, models.DecimalField)
        }

    def selects(self, vendor: str) -> list[Any]:
        """What the query selects: the columns, DecimalField ones read raw (no ``Decimal``)."""
        return [
            decimal_column(c, vendor) if i in self.decimals else c
            for i, c in enumerate(self.columns)
        ]

    def completed(self, rows: list[tuple[Any, ...]], using: str) -> list[Completed] | None:
        """Return the completed entity of each row, or None if graphql-core must complete them."""
        try:
            done = self.complete(rows)
        except Unknown:
            return None
        for entity, values in zip(done, rows, strict=True):
            entity.row = (self, using, values)
        return done

    def instance(self, using: str, values: tuple[Any, ...]) -> models.Model:
        """The model instance of one row, its raw decimal columns read as Django reads them.

        The columns the query did not select are deferred, as ``only()`` leaves them.
        """
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
    selection = info.field_nodes[0].selection_set
    cache = _plans(info.schema)
    key = (model, id(selection))
    cached = cache.get(key)
    if cached is None or cached[0] is not selection:
        cached = cache[key] = (selection, _new_column_plan(info.schema, model, selection))  # type: ignore[assignment]
    return cached[1]  # type: ignore[return-value]


def _new_column_plan(
    schema: Any, model: type[models.Model], selection: SelectionSetNode | None
) -> ColumnPlan | None:
    object_type = _entity_type(schema, model)
    if object_type is None:
        return None
    concrete = [f.attname for f in model._meta.concrete_fields]
    try:
        sources = _sources(object_type, selection)
        read = {_column(source) for _, source in sources} - {None}
        if not read <= set(concrete):
            raise Unknown  # a property, or a field that is not a column of its own
        # In the model's order, as Model.from_db reads a row that defers the others.
        columns = tuple(c for c in concrete if c == model._meta.pk.attname or c in read)
        complete = _column_plan(sources, {c: i for i, c in enumerate(columns)})
    except Unknown:
        return None
    return ColumnPlan(model, columns, complete)
