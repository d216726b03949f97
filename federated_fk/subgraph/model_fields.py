"""How the fields of a model become the fields of its entity type.

A scalar model field becomes the GraphQL scalar the scalar registry gives
its class (``DecimalField`` -> ``Decimal``, ``DateTimeField`` ->
``DateTime``, ...; ``federated_fk.scalars``), so that a consumer can turn
every value back into the Python type the model field gives. A relation
becomes a reference: a field typed as the related model's entity type,
whose ``id`` other services resolve through ``_entities``.

Relations are loaded a batch at a time: ``with_relations`` adds to the
queryset of a batch the ``select_related`` and ``prefetch_related`` calls its
entity type needs, so that a batch costs one query per to-many relation, not
one per entity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.fields.reverse_related import ForeignObjectRel
from strawberry.types import Info
from strawberry_django.resolvers import django_resolver

from federated_fk.scalars import scalar_of_field


def scalar_type(model_field: models.Field) -> Any:
    """Return the annotation of ``model_field``'s GraphQL field, or None if not a scalar.

    The scalar registry (``federated_fk.scalars``) says which scalar a model
    field is published as.

    :param model_field: a concrete, non-relation model field
    """
    scalar = scalar_of_field(model_field)
    if scalar is None:
        return None
    return scalar.annotation | None if model_field.null else scalar.annotation


@dataclass
class Relation:
    """A relation of a model, exposed as a reference to the related entity type.

    ``target`` is the entity type of the related model; the Subgraph sets it
    when it builds the types, since that type may be registered later.
    """

    name: str
    field: models.Field | ForeignObjectRel
    target: type | None = None
    #: True when the target is a key-only stub type.
    stub: bool = False

    @property
    def to_attr(self) -> str:
        """Where a batch's prefetch puts the related rows."""
        return f"_federated_{self.name}"

    @property
    def many(self) -> bool:
        return bool(self.field.one_to_many or self.field.many_to_many)

    @property
    def related_model(self) -> type[models.Model]:
        return self.field.related_model

    @property
    def forward(self) -> bool:
        """A ForeignKey or OneToOneField of this model (not a reverse relation)."""
        return not isinstance(self.field, ForeignObjectRel)

    @property
    def from_id(self) -> bool:
        """The reference is made from ``<field>_id`` alone: a forward key to a stub's pk."""
        return self.stub and self.forward and self.field.target_field.primary_key

    @property
    def hides_rows(self) -> bool:
        """The target entity type hides some rows (it has a ``get_queryset`` hook)."""
        return hasattr(self.target, "get_queryset")

    @property
    def nullable(self) -> bool:
        # A hidden target reads as null, as it does through _entities.
        return not self.forward or bool(self.field.null) or self.hides_rows


@dataclass
class FieldPlan:
    """The scalar fields and relations of an entity type, by Python name."""

    scalars: dict[str, Any]
    relations: list[Relation]


def plan_fields(
    model: type[models.Model],
    fields: Sequence[str] | str,
    exclude: Sequence[str],
    defined: set[str],
) -> FieldPlan:
    """Return which model fields an entity type exposes, and how.

    :param fields: names of model fields, or ``"__all__"`` for every concrete
        field and forward many-to-many field (reverse relations only by name)
    :param exclude: names never to expose
    :param defined: names the entity class defines itself: left to it
    :raises ValueError: for a name that is not a field of ``model``, or a
        relation without one related model (a generic foreign key)
    """
    if fields == "__all__":
        fields = [f.name for f in (*model._meta.concrete_fields, *model._meta.many_to_many)]
    skip = {model._meta.pk.name, "id", *exclude, *defined}
    plan = FieldPlan(scalars={}, relations=[])
    for name in fields:
        if name not in skip:
            _plan_field(plan, model, name)
    return plan


def _plan_field(plan: FieldPlan, model: type[models.Model], name: str) -> None:
    try:
        model_field = model._meta.get_field(name)
    except FieldDoesNotExist:
        raise ValueError(f"{model._meta.label} has no field {name!r} to expose.") from None
    if model_field.is_relation and model_field.related_model is not None:
        accessor = (
            model_field.get_accessor_name()
            if isinstance(model_field, ForeignObjectRel)
            else model_field.name
        )
        plan.relations.append(Relation(name=accessor, field=model_field))
        return
    if model_field.is_relation:  # a generic key: its target has no one type
        raise ValueError(
            f"{model._meta.label}.{name} ({type(model_field).__name__}) has no GraphQL type; "
            "exclude it, or give the entity class a strawberry field of that name."
        )
    # Other kinds (files, durations, ...) keep strawberry-django's own type.
    plan.scalars[name] = scalar_type(model_field) or strawberry.auto


def relation_field(relation: Relation) -> Any:
    """Return the strawberry field of ``relation``, typed as its target entity type."""
    assert relation.target is not None, "the Subgraph sets the target before this"
    if relation.many:
        graphql_type: Any = list[relation.target]  # type: ignore[valid-type]
        resolver = _many_resolver(relation)
    else:
        graphql_type = relation.target | None if relation.nullable else relation.target
        resolver = _single_resolver(relation)
    return strawberry.field(resolver=resolver, graphql_type=graphql_type)


def _single_resolver(relation: Relation) -> Callable[..., Any]:
    model_field = relation.field
    related_model = relation.related_model

    def resolve(root: models.Model, info: Info) -> Any:
        if relation.from_id:
            pk = getattr(root, model_field.attname)
            return None if pk is None else related_model(pk=pk)
        if relation.to_attr in root.__dict__:
            return root.__dict__[relation.to_attr]
        if not relation.hides_rows and model_field.is_cached(root):
            return model_field.get_cached_value(root)
        return _load_single(relation, root, info)

    return resolve


@django_resolver(qs_hook=None)
def _load_single(relation: Relation, root: models.Model, info: Info) -> Any:
    # Not prefetched (an entity returned by a query of the service's own):
    # one query, through the target's visibility hook.
    model_field = relation.field
    if relation.forward:
        value = getattr(root, model_field.attname)
        if value is None:
            return None
        lookup = {model_field.target_field.name: value}
    else:
        lookup = {model_field.field.name: root}
    queryset = relation.related_model._default_manager.filter(**lookup)
    return restrict(relation.target, queryset, info).first()


def _many_resolver(relation: Relation) -> Callable[..., Any]:
    def resolve(root: models.Model, info: Info) -> Any:
        if relation.to_attr in root.__dict__:
            return root.__dict__[relation.to_attr]
        return _load_many(relation, root, info)

    return resolve


@django_resolver(qs_hook=None)
def _load_many(relation: Relation, root: models.Model, info: Info) -> list[models.Model]:
    queryset = getattr(root, relation.name).all()
    return list(_ordered(restrict(relation.target, queryset, info)))


def restrict(entity: type | None, queryset: models.QuerySet, info: Info | None) -> Any:
    """Return the rows of ``queryset`` that ``entity``'s ``get_queryset`` lets callers see."""
    get_queryset = getattr(entity, "get_queryset", None)
    return queryset if get_queryset is None else get_queryset(queryset, info)


def _ordered(queryset: models.QuerySet) -> models.QuerySet:
    # Lists come in a stable order: the queryset's own, else by primary key.
    return queryset if queryset.ordered else queryset.order_by("pk")


def with_relations(entity: type, queryset: models.QuerySet, info: Info | None) -> Any:
    """Return ``queryset`` loading the relations ``entity`` exposes along with its rows.

    A reference to a stub costs nothing (it is made from ``<field>_id``); a
    key to an entity type that shows every row joins it (``select_related``);
    any other relation costs one query per batch (``prefetch_related``),
    through the target's ``get_queryset`` so that hidden rows stay hidden.
    """
    for relation in getattr(entity, "_federated_relations", ()):
        if relation.from_id:
            continue
        if relation.forward and not relation.many and not relation.hides_rows:
            queryset = queryset.select_related(relation.name)
            continue
        target_rows = relation.related_model._default_manager.all()
        target_rows = restrict(relation.target, target_rows, info)
        if relation.many:
            target_rows = _ordered(target_rows)
        queryset = queryset.prefetch_related(
            models.Prefetch(relation.name, queryset=target_rows, to_attr=relation.to_attr)
        )
    return queryset
