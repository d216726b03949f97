"""Answer ``_entities`` a whole type at a time: one database query per type.

strawberry resolves each representation on its own, through
``resolve_reference``; ``SubgraphSchema`` resolves the entity types made by
``Subgraph.entity`` a type at a time instead (one query, no awaitable per
entity), and leaves any other entity type to strawberry.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections import defaultdict
from typing import Any

import strawberry
from asgiref.sync import sync_to_async
from django.db import connections, models
from django.db.models import F, Lookup
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from federated_fk.graphql_http import OneErrorRecord
from federated_fk.ids import parse_ids
from federated_fk.scalars import scalar_map
from federated_fk.subgraph.caches import cache_extensions
from federated_fk.subgraph.fast_entities import (
    ColumnPlan,
    FastEntitiesExecutionContext,
    column_plan,
)
from federated_fk.subgraph.model_fields import with_relations


class SubgraphSchema(OneErrorRecord, strawberry.federation.Schema):
    """A federation schema whose ``_entities`` is batched and refuses bad input clearly.

    The errors of one request are logged as one record (``OneErrorRecord``).
    """

    max_representations = 1000

    def __init__(self, *args: Any, extensions: Any = (), **kwargs: Any) -> None:
        # Last, so that the cost limits are checked before the cached validation.
        kwargs.setdefault("execution_context_class", FastEntitiesExecutionContext)
        # The registered scalars strawberry does not know (federated_fk.scalars).
        kwargs.setdefault("config", StrawberryConfig(scalar_map=scalar_map()))
        super().__init__(*args, extensions=[*extensions, *cache_extensions()], **kwargs)

    # strawberry builds ``_entities`` from this signature: keep its types.
    async def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        entities = self._entity_classes(representations)
        by_type: dict[str, list[int]] = defaultdict(list)
        for index, representation in enumerate(representations):
            by_type[representation["__typename"]].append(index)
        results: list[Any] = [None] * len(representations)
        batches: list[tuple[type, type[models.Model], list[int]]] = []
        for type_name, indices in by_type.items():
            entity = entities[type_name]
            model = getattr(entity, "_federated_model", None)
            if model is None:
                # A type Subgraph.entity did not make: strawberry's way.
                subset = [representations[i] for i in indices]
                rows = await asyncio.gather(
                    *(_awaited(r) for r in super().entities_resolver(info, subset))
                )
                for index, row in zip(indices, rows, strict=True):
                    results[index] = row
            else:
                batches.append((entity, model, indices))
        if batches:
            # Rows completed from columns only where the fast context completes the list.
            columns = issubclass(self.execution_context_class, FastEntitiesExecutionContext)
            # Every type's query in one hop to the database thread.
            await sync_to_async(_load_all)(batches, representations, results, info, columns)
        return results

    def _entity_classes(self, representations: list[Any]) -> dict[str, type]:
        return entity_classes(self, representations, self.max_representations)


def entity_classes(
    schema: strawberry.federation.Schema, representations: list[Any], most: int
) -> dict[str, type]:
    """Check the representations of an ``_entities`` call; return the entity class
    of each type they name.

    :param most: the most representations one call may hold
    :raises ValueError: too many representations, or one that is not an
        object naming an entity type ``schema`` resolves
    """
    if len(representations) > most:
        raise ValueError(f"At most {most} representations per request, got {len(representations)}.")
    known = _entities_of(schema)
    try:
        given = {r.get("__typename") if isinstance(r, dict) else None for r in representations}
    except TypeError:  # a name that is not even hashable
        given = None
    if given is None or not all(isinstance(name, str) for name in given):
        given = {_type_name(r) for r in representations}
    unknown = given - set(known)
    if unknown:
        names = ", ".join(sorted(_shown(n) for n in unknown))
        raise ValueError(
            f"Unknown entity type {names}; this subgraph has: {', '.join(sorted(known))}."
        )
    return {name: known[name] for name in given}


@functools.lru_cache(maxsize=16)
def _entities_of(schema: strawberry.federation.Schema) -> dict[str, type]:
    """The entity class of each entity type of ``schema``, by name (its types are fixed)."""
    return {
        name: t.definition.origin
        for name, t in schema.schema_converter.type_map.items()
        if _is_entity(t)
    }


def _type_name(representation: Any) -> str | None:
    """The ``__typename`` a representation names; None unless it is an object naming a string."""
    name = representation.get("__typename") if isinstance(representation, dict) else None
    return name if isinstance(name, str) else None


def _shown(name: Any) -> str:
    # A name as given, cut short: it is the caller's input, quoted back.
    text = repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


async def _awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _is_entity(type_: Any) -> bool:
    origin = getattr(getattr(type_, "definition", None), "origin", None)
    return hasattr(origin, "resolve_reference")


def visible(entity: type, model: type[models.Model], info: Info | None) -> models.QuerySet:
    """Return the rows of ``model`` that callers may see, as the entity class says."""
    queryset = model._default_manager.all()
    get_queryset = getattr(entity, "get_queryset", None)
    return queryset if get_queryset is None else get_queryset(queryset, info)


def batch_queryset(entity: type, model: type[models.Model], info: Info | None) -> Any:
    """Return the visible rows of ``model``, loading the relations ``entity`` exposes."""
    return with_relations(entity, visible(entity, model, info), info)


def _unordered(queryset: models.QuerySet) -> models.QuerySet:
    """``queryset`` with no ORDER BY: a batch's rows are matched to its ids by key.

    A ``distinct(*fields)`` keeps its ordering, which picks the row kept.
    """
    return queryset if queryset.query.distinct_fields else queryset.order_by()


#: Django's integer fields, whose keys go to the database as the integers themselves.
_INTEGER_KEYS = (
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)


def with_keys(queryset: models.QuerySet, keys: list[Any]) -> models.QuerySet:
    """``queryset.filter(pk__in=keys)``, the keys sent as one parameter where that is exact.

    Django's ``in`` lookup prepares each key and writes a placeholder for it;
    for a batch of hundreds of keys that is a large part of the query's time.
    Where the primary key is one of Django's integer fields and every key is
    an ``int`` (as ``parse_ids`` gives them), SQLite reads the keys from one
    JSON array and PostgreSQL from one array; anything else takes ``pk__in``.
    """
    if not keys:
        return queryset.filter(pk__in=keys)
    connection = connections[queryset.db]
    if (
        connection.vendor in _KeysIn.templates
        # SQLite's JSON functions can be left out of its build; Django knows.
        and (connection.vendor != "sqlite" or connection.features.supports_json_field)
        and type(queryset.model._meta.pk) in _INTEGER_KEYS
        and all(type(key) is int for key in keys)
    ):
        return queryset.filter(_KeysIn(F("pk"), keys))
    return queryset.filter(pk__in=keys)


class _KeysIn(Lookup):  # type: ignore[type-arg]
    """``column IN`` a list of integers, passed as one parameter (``with_keys``)."""

    lookup_name = "federated_keys_in"  # never registered: built by with_keys alone
    prepare_rhs = False
    #: The condition by database vendor; %s is the one parameter.
    templates = {
        "sqlite": "{lhs} IN (SELECT value FROM json_each(%s))",
        "postgresql": "{lhs} = ANY(%s::bigint[])",
    }

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        template = self.templates.get(connection.vendor)
        if template is None:  # evaluated on another database than with_keys chose for
            return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*params, *self.rhs]
        keys = json.dumps(self.rhs) if connection.vendor == "sqlite" else list(self.rhs)
        return template.format(lhs=lhs), [*params, keys]


def load_rows(
    entity: type, model: type[models.Model], ids: list[Any], info: Info | None
) -> list[Any]:
    """Return the row for each id, None if missing or hidden, an error if malformed.

    An id that is not exactly a key of ``model`` (see ``parse_id``) fails
    only its own entity: the others are still loaded, with one query.
    """
    queryset = batch_queryset(entity, model, info)
    keys = parse_ids(model, ids, queryset.db)
    valid = [k for k in keys if not isinstance(k, Exception)]
    rows = {row.pk: row for row in _unordered(with_keys(queryset, valid))} if valid else {}
    return [k if isinstance(k, Exception) else rows.get(k) for k in keys]


def _load_all(
    batches: list[tuple[type, type[models.Model], list[int]]],
    representations: list[Any],
    results: list[Any],
    info: Info,
    columns: bool,
) -> None:
    """Put into ``results`` the entity of each representation of ``batches``: a query per type."""
    for entity, model, indices in batches:
        ids = [representations[i].get("id") for i in indices]
        for index, row in zip(indices, _load(entity, model, ids, info, columns), strict=True):
            results[index] = row


def _load(
    entity: type, model: type[models.Model], ids: list[Any], info: Info, columns: bool
) -> list[Any]:
    """Return the entities of ``ids``: completed from columns where the selection allows."""
    plan = column_plan(info._raw_info, model) if columns else None
    if plan is not None:
        rows = load_columns(entity, model, ids, info, plan)
        if rows is not None:
            return rows
    return load_rows(entity, model, ids, info)


def load_columns(
    entity: type, model: type[models.Model], ids: list[Any], info: Info | None, plan: ColumnPlan
) -> list[Any] | None:
    """As ``load_rows``, each entity completed from a ``values_list`` of its columns.

    No model instance is made. None if a value is one only graphql-core can
    complete (then the rows are loaded the normal way).
    """
    queryset = visible(entity, model, info)
    keys = parse_ids(model, ids, queryset.db)
    valid = [k for k in keys if not isinstance(k, Exception)]
    found: dict[Any, Any] = {}
    if valid:
        pk = plan.columns.index(model._meta.pk.attname)
        using = queryset.db  # a router call: once, not per row
        selects = plan.selects(connections[using].vendor)
        rows = list(_unordered(with_keys(queryset, valid)).values_list(*selects))
        done = plan.completed(rows, using)
        if done is None:
            return None
        found = {values[pk]: entity for values, entity in zip(rows, done, strict=True)}
    return [k if isinstance(k, Exception) else found.get(k) for k in keys]
