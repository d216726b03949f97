"""Filtering and ordering a union's references by their targets' fields, across services.

A union field may declare ``filters`` (fields of its common interface, with
the lookups a query may use) and ``target_ordering`` (fields a page may be
ordered by). A filter is pushed down to the service that owns each member:
a local member's model is filtered in this database (a subquery), a remote
member's by its own service, through ``RemoteQuerySet`` (one request per
remote member type, ids only come back). Ordering by a target field sorts
the targets of every matching reference together, as one list would be
sorted: each reference's sort key is read with one query per local model
and one ``_entities`` request per remote project, whatever the offset.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Optional

import strawberry
from django.apps import apps
from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Q

from federated_fk.exceptions import FederationError, TooManyRemoteIds
from federated_fk.ids import InvalidId, parse_ids
from federated_fk.models import GenericContentType
from federated_fk.partial import PartialResult
from federated_fk.pushdown import partial_targets_q
from federated_fk.remote import fetch_remote_objects
from federated_fk.remote.converters import snake_case
from federated_fk.scalars import PATTERN_LOOKUPS, is_finite_number, text_problem
from graphql_gateway.paging import PageError
from graphql_gateway.targets import Target, graphql_name, python_type, scalar_annotation

#: The lookups a union's filter may declare, and how each types its value.
LOOKUPS = ("exact", "iexact", "contains", "icontains", "startswith", "istartswith")
RANGES = ("lt", "lte", "gt", "gte")


def check_filters(name: str, filters: Mapping[str, Iterable[str]], common: dict[str, str]) -> None:
    """Refuse a declared filter on a field the members do not share, or an unknown lookup.

    :param common: the GraphQL type of each field every member has, by GraphQL name
    :raises ValueError: naming the choices
    """
    for field_name, lookups in filters.items():
        if graphql_name(field_name) not in common:
            raise ValueError(
                f"{name}: filters names {field_name!r}, which not every member has; "
                f"the common fields are {', '.join(sorted(map(snake_case, common)))}."
            )
        unknown = sorted(set(lookups) - {*LOOKUPS, *RANGES, "in", "isnull"})
        if unknown:
            raise ValueError(f"{name}: unknown lookups {unknown} for {field_name!r}.")


def filter_input(name: str, filters: Mapping[str, Iterable[str]], common: dict[str, str]) -> type:
    """Return the input type ``<name>Filter``: one input per field, one value per lookup."""
    namespace: dict[str, Any] = {"__annotations__": {}}
    for field_name, lookups in filters.items():
        graphql_type = common[graphql_name(field_name)].rstrip("!")
        value = python_type(graphql_type + "!", scalar_annotation)
        inner: dict[str, Any] = {"__annotations__": {}}
        for lookup in lookups:
            annotation = bool if lookup == "isnull" else list[value] if lookup == "in" else value
            inner["__annotations__"][lookup] = Optional[annotation]  # noqa: UP045
            inner[lookup] = None
        lookup_name = f"{name}{_pascal(field_name)}Lookup"
        lookup_type = strawberry.input(type(lookup_name, (), inner), name=lookup_name)
        namespace["__annotations__"][field_name] = Optional[lookup_type]  # noqa: UP045
        namespace[field_name] = None
    return strawberry.input(type(f"{name}Filter", (), namespace), name=f"{name}Filter")


def lookups_of(given: Any) -> dict[str, Any]:
    """Return Django lookups (``{"title__icontains": "dun"}``) from a filter input."""
    found: dict[str, Any] = {}
    if given is None:
        return found
    for field_name, lookup_input in vars(given).items():
        for lookup, value in vars(lookup_input).items() if lookup_input is not None else ():
            if value is not None:
                for item in value if isinstance(value, list) else [value]:
                    _check_finite(f"{field_name}.{lookup}", item, lookup in PATTERN_LOOKUPS)
                found[f"{field_name}__{lookup}"] = value
    return found


def _check_finite(where: str, value: Any, pattern: bool = False) -> None:
    """Refuse what no column holds: NaN, infinities, text ``text_problem`` refuses.

    :param pattern: the value is compared as a pattern (``PATTERN_LOOKUPS``)
    :raises PageError: naming the argument
    """
    if isinstance(value, Decimal | float) and not is_finite_number(value):
        shown = str(value) if len(str(value)) <= 40 else str(value)[:37] + "..."
        raise PageError(f"filter.{where} must be a finite number, got {shown}.")
    problem = text_problem(value, pattern) if isinstance(value, str) else None
    if problem is not None:
        raise PageError(f"filter.{where} {problem}.")


def pushdown(lookups: dict[str, Any], members: list[Target], key: Any) -> PartialResult[Q]:
    """Return the condition on references whose target matches ``lookups``, in every member.

    A local member is filtered here, as a subquery; a remote member by its
    own service (its ids come back, not its rows), asked now, so that a
    project that cannot answer matches nothing and is reported instead of
    failing the page (``federated_fk.pushdown.partial_targets_q``).

    :param key: the union's FederatedForeignKey
    :raises PageError: a remote member's service does not let this filter run
    """
    querysets = []
    for member in members:
        model = _model(member)
        if model is None:
            continue
        try:
            querysets.append(model._default_manager.filter(**lookups))
        except FieldError as exc:
            raise PageError(f"{member.name} cannot be filtered that way: {exc}") from None
    try:
        return partial_targets_q(key, querysets)
    except (FieldError, TooManyRemoteIds) as exc:
        raise PageError(f"The targets cannot be filtered that way: {exc}") from None


def ordered_by_target(
    references: Iterable[models.Model], ct_field: str, fk_field: str, name: str, descending: bool
) -> tuple[list[models.Model], dict[str, FederationError]]:
    """Return ``references`` sorted by their targets' field ``name`` (missing targets last).

    One query per local model and one ``_entities`` request per remote
    project read every target's value; ties keep the references' order.
    """
    references = list(references)
    by_type: dict[int, set[str]] = defaultdict(set)
    for ref in references:
        by_type[getattr(ref, f"{ct_field}_id")].add(str(getattr(ref, fk_field)))
    values: dict[tuple[int, str], Any] = {}
    remote: dict[type, list[str]] = {}
    remote_ct: dict[type, int] = {}
    for ct_id, ids in by_type.items():
        ct = GenericContentType.objects.get_for_id(ct_id)
        model = ct.model_class()
        if ct.is_remote:
            if model._meta.in_schema:
                remote[model], remote_ct[model] = sorted(ids), ct_id
            continue
        rows = model._base_manager.filter(pk__in=_parsable(model, ids)).values_list("pk", name)
        values.update(((ct_id, str(pk)), value) for pk, value in rows)
    fetched = fetch_remote_objects(remote) if remote else None
    for obj in fetched.objects if fetched else ():
        values[(remote_ct[type(obj)], str(obj.pk))] = getattr(obj, name)
    keyed = [
        (values.get((getattr(ref, f"{ct_field}_id"), str(getattr(ref, fk_field)))), ref)
        for ref in references
    ]
    present = [(value, ref) for value, ref in keyed if value is not None]
    present.sort(key=lambda pair: pair[0], reverse=descending)
    absent = [ref for value, ref in keyed if value is None]
    return [ref for _, ref in present] + absent, dict(fetched.errors) if fetched else {}


def _parsable(model: type[models.Model], ids: Iterable[str]) -> list[Any]:
    """The ids that can be keys of ``model`` (a stored id no row can have names none)."""
    parsed = parse_ids(model, list(ids), model._base_manager.db)
    return [pk for pk in parsed if not isinstance(pk, InvalidId)]


def _model(member: Target) -> type | None:
    """The model of a member: a local model, or the stand-in class of a synchronized type."""
    if member.project is None:
        return apps.get_model(member.app_label, member.model)
    try:
        ct = GenericContentType.objects.get_by_natural_key(
            member.project, member.app_label, member.model
        )
    except GenericContentType.DoesNotExist:
        return None
    return ct.model_class()


def _pascal(python_name: str) -> str:
    return "".join(part.capitalize() for part in python_name.split("_"))
