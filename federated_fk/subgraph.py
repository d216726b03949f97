"""Expose local models as entity types of an Apollo Federation v2 subgraph.

A few lines make a service's models reachable from other services::

    from federated_fk.subgraph import Subgraph

    subgraph = Subgraph()

    @subgraph.entity(Book, fields=["title", "author", "price"])
    class BookEntity:
        @classmethod
        def get_queryset(cls, queryset, info):
            return queryset.filter(published=True)  # the rows callers may see

    schema = subgraph.schema()
    urlpatterns = [path("graphql/", subgraph.view(schema))]

Each entity type is keyed by ``id`` and carries a ``@djangoModel`` directive
naming its app label, model and primary-key type, so that
``sync_remote_contenttypes`` in another service can make its content types.
``_entities`` is answered with one database query per type per request: the
per-representation ``resolve_reference`` calls go through one DataLoader per
model and request.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from strawberry.dataloader import DataLoader
from strawberry.django.views import AsyncGraphQLView
from strawberry.federation.schema import FederationAny
from strawberry.schema_directive import Location
from strawberry.tools import merge_types
from strawberry.types import Info

from federated_fk import conf

PK_TYPES: dict[type[models.Field], str] = {
    models.UUIDField: "uuid",
    models.AutoField: "int",
    models.BigAutoField: "int",
    models.SmallAutoField: "int",
    models.IntegerField: "int",
}


@strawberry.schema_directive(locations=[Location.OBJECT], name="djangoModel")
class DjangoModel:
    """The Django model behind an entity type: ``@djangoModel(appLabel, model, pkType)``."""

    app_label: str
    model: str
    pk_type: str
    listable: bool = False


def pk_type(model: type[models.Model]) -> str:
    """Return ``"int"``, ``"uuid"`` or ``"str"`` for ``model``'s primary key."""
    pk = model._meta.pk
    for field_class, name in PK_TYPES.items():
        if isinstance(pk, field_class):
            return name
    return "str"


#: The most ids ``federatedIds`` returns at once.
MAX_LIST_LIMIT = 1000


@strawberry.type(description="A page of the ids of one entity type.")
class FederatedIdPage:
    ids: list[strawberry.ID]
    total: int


class SubgraphSchema(strawberry.federation.Schema):
    """A federation schema whose ``_entities`` is batched and refuses bad input clearly.

    strawberry resolves each representation on its own, through
    ``resolve_reference``; here the entity types made by ``Subgraph.entity``
    are resolved a whole type at a time: one query, no awaitable per entity.
    """

    max_representations = 1000

    # strawberry builds ``_entities`` from this signature: keep its types.
    async def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        entities = self._entity_classes(representations)
        if not all(hasattr(entity, "_federated_model") for entity in entities.values()):
            # Types this module did not make: strawberry's way, concurrently.
            results = super().entities_resolver(info, representations)
            return await asyncio.gather(*(_awaited(r) for r in results))
        by_type: dict[str, list[int]] = defaultdict(list)
        for index, representation in enumerate(representations):
            by_type[representation["__typename"]].append(index)
        results: list[Any] = [None] * len(representations)
        for type_name, indices in by_type.items():
            entity = entities[type_name]
            ids = [representations[i].get("id") for i in indices]
            rows = await sync_to_async(_load_rows)(entity, entity._federated_model, ids, info)
            for index, row in zip(indices, rows, strict=True):
                results[index] = row
        return results

    def _entity_classes(self, representations: list[Any]) -> dict[str, type]:
        """Check the representations; return the entity class of each type named."""
        if len(representations) > self.max_representations:
            raise ValueError(
                f"At most {self.max_representations} representations per request, "
                f"got {len(representations)}."
            )
        known = {
            name: t.definition.origin
            for name, t in self.schema_converter.type_map.items()
            if _is_entity(t)
        }
        given = {r.get("__typename") if isinstance(r, dict) else None for r in representations}
        unknown = given - set(known)
        if unknown:
            names = ", ".join(sorted(repr(n) for n in unknown))
            raise ValueError(
                f"Unknown entity type {names}; this subgraph has: {', '.join(sorted(known))}."
            )
        return {name: known[name] for name in given}


async def _awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _is_entity(type_: Any) -> bool:
    origin = getattr(getattr(type_, "definition", None), "origin", None)
    return hasattr(origin, "resolve_reference")


class Subgraph:
    """A registry of the entity types one service exposes.

    :param max_representations: the most representations one ``_entities``
        call may carry
    """

    def __init__(self, max_representations: int = 1000) -> None:
        self.max_representations = max_representations
        self.entities: list[type] = []
        #: GraphQL type name -> (entity class, model) of the listable types.
        self.listable: dict[str, tuple[type, type[models.Model]]] = {}

    def entity(
        self,
        model: type[models.Model],
        *,
        fields: Sequence[str] | str = "__all__",
        exclude: Sequence[str] | None = None,
        name: str | None = None,
        listable: bool = False,
    ) -> Callable[[type], type]:
        """Return a class decorator that makes ``model`` an entity type.

        :param model: the Django model to expose
        :param fields: the model fields to expose (``"__all__"`` for every
            concrete field); the primary key is always exposed as ``id: ID!``
        :param exclude: model fields never to expose
        :param name: the GraphQL type name (default: the model's class name)
        :param listable: also page through the ids of the visible rows with
            ``federatedIds(typeName:, offset:, limit:)``, so that other
            services can see every object

        The decorated class may define ``get_queryset(cls, queryset, info)``
        to decide which rows callers may see: a hidden row looks exactly like
        a missing one. It may also add strawberry fields of its own.
        """

        def decorate(cls: type) -> type:
            type_name = name or model._meta.object_name
            entity = self._register(cls, model, fields, exclude, type_name, listable)
            if listable:
                self.listable[type_name] = (entity, model)
            return entity

        return decorate

    def _register(
        self,
        cls: type,
        model: type[models.Model],
        fields: Sequence[str] | str,
        exclude: Sequence[str] | None,
        name: str,
        listable: bool,
    ) -> type:
        pk_name = model._meta.pk.name
        if fields == "__all__":
            fields = [f.name for f in model._meta.concrete_fields]
        fields = [f for f in fields if f not in (pk_name, "id", *(exclude or ()))]
        cls.__annotations__ = {**getattr(cls, "__annotations__", {}), "id": strawberry.ID}
        cls.id = strawberry.field(resolver=_resolve_id, description="The primary key.")
        cls.resolve_reference = classmethod(_make_resolve_reference(model))
        directive = DjangoModel(
            app_label=model._meta.app_label,
            model=model._meta.model_name,
            pk_type=pk_type(model),
            listable=listable,
        )
        entity = strawberry_django.federation.type(
            model, keys=["id"], fields=fields, name=name, directives=[directive]
        )(cls)
        entity._federated_model = model  # resolved in batches by SubgraphSchema
        self.entities.append(entity)
        return entity

    def schema(
        self,
        query: type | None = None,
        types: Iterable[type] = (),
        **kwargs: Any,
    ) -> strawberry.federation.Schema:
        """Return the federation schema: ``_service``, ``_entities`` and ``query``."""
        roots = tuple(root for root in (query, self._list_query()) if root is not None)
        query = merge_types("Query", roots) if roots else _EmptyQuery
        schema = SubgraphSchema(query=query, types=[*self.entities, *types], **kwargs)
        schema.max_representations = self.max_representations
        return schema

    def _list_query(self) -> type | None:
        if not self.listable:
            return None
        listable = self.listable

        @strawberry.type
        class FederatedIdsQuery:
            @strawberry.field(
                description="Ids of the visible rows of a listable type, by primary key "
                f"(at most {MAX_LIST_LIMIT} at once)."
            )
            async def federated_ids(
                self, info: Info, type_name: str, offset: int = 0, limit: int = 100
            ) -> FederatedIdPage:
                if type_name not in listable:
                    raise ValueError(
                        f"{type_name!r} is not a listable type; listable: {', '.join(listable)}."
                    )
                if not (offset >= 0 and 1 <= limit <= MAX_LIST_LIMIT):
                    raise ValueError(f"offset must be >= 0 and limit from 1 to {MAX_LIST_LIMIT}.")
                entity, model = listable[type_name]
                return await sync_to_async(_id_page)(entity, model, info, offset, limit)

        return FederatedIdsQuery

    def view(self, schema: strawberry.federation.Schema, **kwargs: Any) -> Callable[..., Any]:
        """Return the async view that serves ``schema``, guarded by the subgraph token."""
        return csrf_exempt(SubgraphView.as_view(schema=schema, **kwargs))


@strawberry.type
class _EmptyQuery:
    @strawberry.field(description="This service's project name.")
    def federation_project(self) -> str:
        return conf.current_project()


def _resolve_id(root: models.Model) -> strawberry.ID:
    return strawberry.ID(str(root.pk))


def _make_resolve_reference(model: type[models.Model]) -> Callable[..., Any]:
    async def resolve_reference(cls: type, info: Info, id: strawberry.ID, **kwargs: Any) -> Any:
        return await _loader(info, cls, model).load(id)

    return resolve_reference


def _loader(info: Info, entity: type, model: type[models.Model]) -> DataLoader:
    """Return the request's DataLoader for ``model``: one query per batch."""
    request = _request(info)
    loaders = request.__dict__.setdefault("_federated_fk_loaders", {})
    if model not in loaders:

        async def load(ids: list[str]) -> list[Any]:
            return await sync_to_async(_load_rows)(entity, model, ids, info)

        loaders[model] = DataLoader(load_fn=load)
    return loaders[model]


def _request(info: Info) -> HttpRequest:
    context = info.context
    return context.request if hasattr(context, "request") else context["request"]


def _visible(entity: type, model: type[models.Model], info: Info) -> models.QuerySet:
    queryset = model._default_manager.all()
    get_queryset = getattr(entity, "get_queryset", None)
    return queryset if get_queryset is None else get_queryset(queryset, info)


def _id_page(
    entity: type, model: type[models.Model], info: Info, offset: int, limit: int
) -> FederatedIdPage:
    queryset = _visible(entity, model, info).order_by("pk")
    ids = queryset.values_list("pk", flat=True)[offset : offset + limit]
    return FederatedIdPage(ids=[strawberry.ID(str(pk)) for pk in ids], total=queryset.count())


def _load_rows(entity: type, model: type[models.Model], ids: list[str], info: Info) -> list[Any]:
    """Return the row for each id, None if missing or hidden, an error if malformed."""
    keys: list[Any] = []
    for raw in ids:
        try:
            keys.append(model._meta.pk.to_python(raw))
        except (ValidationError, ValueError, TypeError):
            keys.append(ValueError(f"{raw!r} is not a valid {model._meta.object_name} id."))
    queryset = _visible(entity, model, info)
    valid = [k for k in keys if not isinstance(k, Exception)]
    rows = {row.pk: row for row in queryset.filter(pk__in=valid)} if valid else {}
    return [k if isinstance(k, Exception) else rows.get(k) for k in keys]


class SubgraphView(AsyncGraphQLView):
    """Serves a subgraph; with ``FEDERATION["SUBGRAPH_TOKEN"]`` set, only to its holders."""

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = conf.federation_settings()["SUBGRAPH_TOKEN"]
        if token and not _bearer_matches(request, token):
            error = {
                "message": "Authentication required: a valid bearer token.",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
            return JsonResponse({"errors": [error]}, status=401)
        return await super().dispatch(request, *args, **kwargs)


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    # Constant time, so that response times tell nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())
