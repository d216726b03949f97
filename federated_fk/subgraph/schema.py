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
``SubgraphSchema`` answers ``_entities`` with one database query per type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.db import models
from django.views.decorators.csrf import csrf_exempt
from strawberry.schema_directive import Location
from strawberry.tools import merge_types
from strawberry.types import Info

from federated_fk import conf
from federated_fk.contract import DIRECTIVE, DjangoModelInfo, directive_arguments, pk_type_of
from federated_fk.graphql_cost import CostLimiter, CostLimits
from federated_fk.subgraph.entities import SubgraphSchema, load_rows, visible
from federated_fk.subgraph.views import SubgraphView


@strawberry.schema_directive(locations=[Location.OBJECT], name=DIRECTIVE)
class DjangoModel:
    """The Django model behind an entity type: ``@djangoModel(appLabel, model, pkType)``."""

    app_label: str
    model: str
    pk_type: str
    listable: bool = False


#: The most ids ``federatedIds`` returns at once.
MAX_LIST_LIMIT = 1000


@strawberry.type(description="A page of the ids of one entity type.")
class FederatedIdPage:
    ids: list[strawberry.ID]
    total: int


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
            **directive_arguments(
                DjangoModelInfo(
                    app_label=model._meta.app_label,
                    model=model._meta.model_name,
                    pk_type=pk_type_of(model),
                    listable=listable,
                )
            )
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
        extensions = [*kwargs.pop("extensions", ()), partial(CostLimiter, limits=self.cost_limits)]
        schema = SubgraphSchema(
            query=query, types=[*self.entities, *types], extensions=extensions, **kwargs
        )
        schema.max_representations = self.max_representations
        return schema

    def cost_limits(self) -> CostLimits:
        """The limits of one operation: ``FEDERATION["SUBGRAPH_MAX_COST"]``, and at most
        ``max_representations`` representations in all its ``_entities`` selections."""
        return CostLimits(
            max_cost=conf.federation_settings()["SUBGRAPH_MAX_COST"],
            list_fields={"federatedIds": ("limit", 100, MAX_LIST_LIMIT)},
            max_entities=self.max_representations,
        )

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
    # SubgraphSchema never calls this: it loads a whole type at once. It is
    # here for a plain strawberry federation schema, one query per entity.
    async def resolve_reference(cls: type, info: Info, id: strawberry.ID, **kwargs: Any) -> Any:
        (row,) = await sync_to_async(load_rows)(cls, model, [id], info)
        if isinstance(row, Exception):
            raise row
        return row

    return resolve_reference


def _id_page(
    entity: type, model: type[models.Model], info: Info, offset: int, limit: int
) -> FederatedIdPage:
    queryset = visible(entity, model, info).order_by("pk")
    ids = queryset.values_list("pk", flat=True)[offset : offset + limit]
    return FederatedIdPage(ids=[strawberry.ID(str(pk)) for pk in ids], total=queryset.count())
