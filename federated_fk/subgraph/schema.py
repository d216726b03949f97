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
naming its app label, model, primary-key type and owning project, so that
``sync_remote_contenttypes`` in another service can make its content types.
Its fields are typed like the model's, and its relations are references to
other entity types (``model_fields``). ``SubgraphSchema`` answers
``_entities`` with one database query per type, plus one per to-many relation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.db import models
from django.views.decorators.csrf import csrf_exempt
from strawberry.extensions import MaxTokensLimiter
from strawberry.federation.schema_directives import FieldSet, Key
from strawberry.schema.config import StrawberryConfig
from strawberry.schema_directive import Location
from strawberry.tools import merge_types
from strawberry.types import Info
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from federated_fk import conf, naming
from federated_fk.contract import DIRECTIVE, DjangoModelInfo, directive_arguments, pk_type_of
from federated_fk.graphql_cost import CostLimiter, CostLimits, ListSize
from federated_fk.subgraph.changes import FIELD as CHANGES_FIELD
from federated_fk.subgraph.changes import changes_query, published_types
from federated_fk.subgraph.entities import SubgraphSchema, load_rows, visible
from federated_fk.subgraph.model_fields import FieldPlan, plan_fields, relation_field
from federated_fk.subgraph.queries import (
    DEFAULT_QUERY_LIMIT,
    Declaration,
    QueryType,
    declare,
    root_field_name,
)
from federated_fk.subgraph.queries import build as build_query
from federated_fk.subgraph.views import SubgraphView


@strawberry.schema_directive(locations=[Location.OBJECT], name=DIRECTIVE)
class DjangoModel:
    """``@djangoModel``: the Django model behind an entity type.

    Defined by ``federated_fk.contract``; the arguments come from its
    ``directive_arguments``, so that writer and reader agree.
    """

    app_label: str
    model: str
    pk_type: str
    listable: bool = False
    project: str | None = None


#: The most ids ``federatedIds`` returns at once.
MAX_LIST_LIMIT = 1000

#: The most field selections of one operation, fragments expanded (validation's work).
MAX_SELECTIONS = 1500

#: The length the cost limit assumes for a to-many relation of an entity.
ASSUMED_LIST_SIZE = 10


# Shareable: every library subgraph defines it, the same, so any number of them compose.
@strawberry.federation.type(description="A page of the ids of one entity type.", shareable=True)
class FederatedIdPage:
    ids: list[strawberry.ID]
    total: int


@dataclass(eq=False)
class _Entry:
    """One ``Subgraph.entity`` call, built into a strawberry type by ``Subgraph.schema``."""

    cls: type
    model: type[models.Model]
    fields: Sequence[str] | str
    exclude: Sequence[str]
    name: str
    listable: bool
    #: What others may filter, order and search on (``queries.declare``), if anything.
    queries: Declaration | None = None


class Subgraph:
    """A registry of the entity types one service exposes.

    :param max_representations: the most representations one ``_entities``
        call may carry
    :param max_tokens: the most tokens (names, punctuation, values) a query
        document may hold; the queries the library's clients send hold a few
        hundred, their ids in variables (a list of representations written
        into the document takes about 8 tokens each)
    :param max_query_limit: the largest page a ``query<T>`` field answers
        (see ``entity``'s ``filter_fields``), and its default ``limit``
    :param project_type_names: name each type by ``federated_fk.naming``
        (``ShopBBook`` for shop_b's ``Book``), so that subgraphs of several
        projects compose without two models sharing a name; default: the
        model's class name. Pass True in every service whose subgraph is
        composed with others (Apollo Gateway or Router): two services with a
        ``Book`` each would otherwise publish two types named ``Book``.

    What the library adds to every subgraph composes with any number of
    others: ``federatedIds`` and ``FederatedIdPage`` are ``@shareable``
    (``federatedIds`` also ``@inaccessible``, see ``ids_field``), and a
    shared model's entity type is ``@shareable``.
    """

    def __init__(
        self,
        max_representations: int = 1000,
        project_type_names: bool = False,
        max_query_limit: int = DEFAULT_QUERY_LIMIT,
        max_tokens: int = 5000,
    ) -> None:
        if not 1 <= max_query_limit <= MAX_LIST_LIMIT:
            raise ValueError(f"max_query_limit must be from 1 to {MAX_LIST_LIMIT}.")
        self.max_representations = max_representations
        self.project_type_names = project_type_names
        self.max_query_limit = max_query_limit
        self.max_tokens = max_tokens
        self._entries: list[_Entry] = []
        #: The key-only types of related models no entity type stands for.
        self._stubs: dict[type[models.Model], type] | None = None
        #: GraphQL type name -> (entity class, model) of the listable types.
        self.listable: dict[str, tuple[type, type[models.Model]]] = {}
        #: The root fields of the queryable types, made with the schema.
        self._query_fields: dict[str, Any] = {}

    def entity(
        self,
        model: type[models.Model],
        *,
        fields: Sequence[str] | str = "__all__",
        exclude: Sequence[str] | None = None,
        name: str | None = None,
        listable: bool = False,
        filter_fields: Mapping[str, Sequence[str]] | None = None,
        ordering: Sequence[str] | None = None,
        search_fields: Sequence[str] | None = None,
    ) -> Callable[[type], type]:
        """Return a class decorator that makes ``model`` an entity type.

        :param model: the Django model to expose
        :param fields: the model fields to expose: ``"__all__"`` for every
            concrete field and forward many-to-many field, or names, reverse
            relations included; the primary key is always exposed as ``id: ID!``
        :param exclude: model fields never to expose
        :param name: the GraphQL type name (default: the model's class name)
        :param listable: also page through the ids of the visible rows with
            ``federatedIds(typeName:, offset:, limit:)``, so that other
            services can see every object (and, through Apollo, with this
            project's own ``ids_field``)
        :param filter_fields: the Django paths others may filter on, each with
            the lookups allowed on it, Django's names:
            ``{"title": ["exact", "icontains"], "author__name": ["exact"]}``
            (``exact``, ``in``, ``isnull``, ``gt``, ``gte``, ``lt``, ``lte``;
            text fields also ``iexact``, ``contains``, ``icontains``,
            ``startswith``, ``istartswith``, ``endswith``, ``iendswith``)
        :param ordering: the paths others may order by, in either direction
        :param search_fields: the text paths a ``search`` string matches
            (each word ``icontains`` one of them)
        :raises ValueError: when a path or lookup is not one the model has,
            naming those it has

        With any of the last three, the type ``T`` gets a root field
        ``queryT(filter:, search:, orderBy:, offset:, limit:)`` answering a
        page ``{ total ids items }`` of the visible rows that match, ordered
        as asked and then by primary key (``federated_fk.subgraph.queries``).
        Nothing that is not declared can be filtered, ordered or searched on;
        ``get_queryset`` applies first, and to every relation a path crosses.

        Each scalar field gets the GraphQL scalar of its Python type
        (``Decimal``, ``Date``, ``DateTime``, ``Time``, ``UUID``, ``JSON``,
        ``Int``, ``Float``, ``Boolean``, ``String``; a field with choices gets
        its base scalar), nullable if the model field is ``null=True``. A
        relation is a reference typed as the related model's entity type:
        the one registered here for that model, else a key-only stub
        ``@key(fields: "id", resolvable: false)`` named after the model; a
        to-many relation is a list of them.

        The decorator returns the class itself. It becomes a strawberry type
        when the schema is built (``schema()``, or reading ``entities``), so
        that a relation may name a model registered later; register every
        entity type before that.

        The decorated class may define ``get_queryset(cls, queryset, info)``
        to decide which rows callers may see: a hidden row looks exactly like
        a missing one, in ``_entities`` and in the relations that point at it
        (so a key to such a type is nullable). It may also add strawberry
        fields of its own; they take the place of model fields of the same name.
        """
        if self._stubs is not None:
            raise ValueError(
                f"Subgraph.entity({model._meta.label}) after the schema was built: "
                "register every entity type first."
            )

        queries = declare(model, filter_fields, ordering, search_fields)

        def decorate(cls: type) -> type:
            type_name = name or self._type_name(model)
            entry = _Entry(cls, model, fields, tuple(exclude or ()), type_name, listable, queries)
            self._entries.append(entry)
            if listable:
                self.listable[type_name] = (cls, model)
            return cls

        return decorate

    def _type_name(self, model: type[models.Model]) -> str:
        meta = model._meta
        if not self.project_type_names:
            return meta.object_name
        return naming.type_name(
            conf.project_for_label(meta.app_label, meta.model_name), meta.object_name
        )

    @property
    def entities(self) -> list[type]:
        """The entity types, built (see ``entity``)."""
        self._build()
        return [entry.cls for entry in self._entries]

    @property
    def stubs(self) -> list[type]:
        """The key-only stub types of related models, built (see ``entity``)."""
        return list(self._build().values())

    def _build(self) -> dict[type[models.Model], type]:
        if self._stubs is not None:
            return self._stubs
        plans = {entry: _plan(entry) for entry in self._entries}
        types: dict[type[models.Model], type] = {}
        for entry in self._entries:
            types.setdefault(entry.model, entry.cls)
        referenced = {r.related_model for plan in plans.values() for r in plan.relations}
        stubs = {m: self._type_name(m) for m in referenced if m not in types}
        _check_names(
            [(n, e.model) for e in self._entries for n in _type_names(e)]
            + [(n, m) for m, n in stubs.items()]
        )
        self._stubs = {model: _stub_type(model, name) for model, name in stubs.items()}
        types.update(self._stubs)
        for entry, plan in plans.items():
            for relation in plan.relations:
                relation.target = types[relation.related_model]
                relation.stub = relation.related_model in self._stubs
            _build_entity(entry, plan)
        for entry in self._entries:
            if entry.queries is not None:
                self._query_fields[root_field_name(entry.name)] = build_query(
                    QueryType(
                        entity=entry.cls,
                        model=entry.model,
                        type_name=entry.name,
                        declaration=entry.queries,
                        max_limit=self.max_query_limit,
                        entity_of=types.get,
                        shareable=_is_shared(entry.model),
                    )
                )
        return self._stubs

    def schema(
        self,
        query: type | None = None,
        types: Iterable[type] = (),
        **kwargs: Any,
    ) -> strawberry.federation.Schema:
        """Return the federation schema: ``_service``, ``_entities`` and ``query``."""
        entities = [*self.entities, *self.stubs]  # builds the query fields too
        changes = self._changes_root(kwargs.get("config"))
        roots = tuple(
            root
            for root in (query, self._list_query(), self._queries_root(), changes)
            if root is not None
        )
        query = merge_types("Query", roots) if roots else _EmptyQuery
        extensions = [
            *kwargs.pop("extensions", ()),
            # Before parsing: a document of millions of tokens costs seconds to parse and coerce.
            partial(MaxTokensLimiter, max_token_count=self.max_tokens),
            partial(CostLimiter, limits=self.cost_limits),
        ]
        schema = SubgraphSchema(
            query=query, types=[*entities, *types], extensions=extensions, **kwargs
        )
        schema.max_representations = self.max_representations
        return schema

    def cost_limits(self) -> CostLimits:
        """The limits of one operation: ``FEDERATION["SUBGRAPH_MAX_COST"]``, at most
        ``max_representations`` representations in all its ``_entities`` selections
        (aliases, variables and defaults together) and ``MAX_SELECTIONS`` field
        selections. ``federatedIds`` costs each id its ``limit`` asks for; a
        ``query<T>`` page costs its ``limit`` times the cost of an item (each
        id 1); a to-many relation is assumed ``ASSUMED_LIST_SIZE`` long."""
        ids = ListSize("limit", 100, MAX_LIST_LIMIT, sized_fields=("ids",), loads_items=True)
        list_sizes = {"Query.federatedIds": ids, f"Query.{self.ids_field}": ids}
        weights = {"FederatedIdPage.ids": 1}
        page = ListSize(
            "limit", self.max_query_limit, self.max_query_limit, sized_fields=("ids", "items")
        )
        most = conf.change_settings()["MAX_PAGE_SIZE"]
        list_sizes[f"Query.{CHANGES_FIELD}"] = ListSize(
            "limit", 100, most, sized_fields=("changes",), loads_items=True
        )
        for entry in self._entries:
            if entry.queries is not None:
                list_sizes[f"Query.{root_field_name(entry.name)}"] = page
                weights[f"{entry.name}QueryPage.ids"] = 1
        return CostLimits(
            max_cost=conf.federation_settings()["SUBGRAPH_MAX_COST"],
            list_sizes=list_sizes,
            list_size=ASSUMED_LIST_SIZE,
            weights=weights,
            max_entities=self.max_representations,
            max_selections=MAX_SELECTIONS,
        )

    @property
    def ids_field(self) -> str:
        """The name of this project's own ``federatedIds``: ``shopBFederatedIds`` for shop_b.

        ``federatedIds`` is what services ask each other directly; every library
        subgraph defines it, so it is ``@shareable`` (so that they compose) and
        ``@inaccessible``: through Apollo Gateway or Router, which may send a
        shareable field to any subgraph that has it, a type would be asked of a
        service that does not list it. This field is the same, under a name
        only this project's subgraph has: Apollo sends it here.
        """
        return naming.field_name(conf.current_project(), "FederatedIds")

    def _list_query(self) -> type | None:
        if not self.listable:
            return None
        listable = self.listable

        async def federated_ids(
            info: Info, type_name: str, offset: int = 0, limit: int = 100
        ) -> FederatedIdPage:
            if type_name not in listable:
                raise ValueError(
                    f"{type_name!r} is not a listable type; listable: {', '.join(listable)}."
                )
            if not (offset >= 0 and 1 <= limit <= MAX_LIST_LIMIT):
                raise ValueError(f"offset must be >= 0 and limit from 1 to {MAX_LIST_LIMIT}.")
            entity, model = listable[type_name]
            return await sync_to_async(_id_page)(entity, model, info, offset, limit)

        description = (
            "Ids of the visible rows of a listable type, by primary key "
            f"(at most {MAX_LIST_LIMIT} at once)."
        )
        namespace = {
            "federated_ids": strawberry.federation.field(
                resolver=federated_ids,
                name="federatedIds",
                description=description,
                shareable=True,
                inaccessible=True,
            ),
            "own_ids": strawberry.federation.field(
                resolver=federated_ids,
                name=self.ids_field,
                description=f"{description} This project's: {conf.current_project()}.",
            ),
        }
        return strawberry.type(type("FederatedIdsQuery", (), namespace))

    def _queries_root(self) -> type | None:
        """The ``query<T>`` root fields of the queryable types, or None."""
        self._build()
        if not self._query_fields:
            return None
        return strawberry.type(type("EntityQueries", (), dict(self._query_fields)))

    def _changes_root(self, config: StrawberryConfig | None) -> type | None:
        """The ``federatedChanges`` root field, if the outbox records any entity type's model."""
        camel = config is None or config.auto_camel_case
        published = published_types(
            [(entry.name, entry.cls, entry.model) for entry in self._entries],
            to_camel_case if camel else str,
        )
        if not published:
            return None
        return changes_query(published, conf.change_settings()["MAX_PAGE_SIZE"])

    def view(self, schema: strawberry.federation.Schema, **kwargs: Any) -> Callable[..., Any]:
        """Return the async view that serves ``schema``, guarded by the subgraph token."""
        return csrf_exempt(SubgraphView.as_view(schema=schema, **kwargs))


@strawberry.type
class _EmptyQuery:
    # Every subgraph with no query of its own has it, each its own answer: shared so
    # that they compose, hidden from the supergraph, which could ask any of them.
    @strawberry.federation.field(
        description="This service's project name.", shareable=True, inaccessible=True
    )
    def federation_project(self) -> str:
        return conf.current_project()


def _plan(entry: _Entry) -> FieldPlan:
    own = {*getattr(entry.cls, "__annotations__", {})}
    own |= {k for k, v in vars(entry.cls).items() if isinstance(v, StrawberryField)}
    return plan_fields(entry.model, entry.fields, entry.exclude, own)


def _type_names(entry: _Entry) -> list[str]:
    """The GraphQL types ``entry`` makes: its entity type, and its query types if any."""
    names = [entry.name]
    declaration = entry.queries
    if declaration is not None:
        names.append(f"{entry.name}QueryPage")
        if declaration.filters:
            names.append(f"{entry.name}Filter")
            names.extend(
                f"{entry.name}{path[:1].upper()}{path[1:]}Lookup" for path in declaration.filters
            )
        if declaration.ordering:
            names += [f"{entry.name}Order", f"{entry.name}OrderField"]
    return names


def _is_shared(model: type[models.Model]) -> bool:
    meta = model._meta
    return conf.project_for_label(meta.app_label, meta.model_name) == conf.SHARED_PROJECT


def _check_names(names: list[tuple[str, type[models.Model]]]) -> None:
    """Refuse two entity types of one name: strawberry would keep only one of them.

    :raises ValueError: naming both models
    """
    seen: dict[str, type[models.Model]] = {}
    for name, model in names:
        if name in seen:
            raise ValueError(
                f"Two entity types are named {name!r}: {seen[name]._meta.label} and "
                f"{model._meta.label}; pass name= to Subgraph.entity() for one of them "
                "(register a related model to name its type)."
            )
        seen[name] = model


def _directive(model: type[models.Model], listable: bool) -> DjangoModel:
    meta = model._meta
    info = DjangoModelInfo(
        app_label=meta.app_label,
        model=meta.model_name,
        pk_type=pk_type_of(model),
        listable=listable,
        project=conf.project_for_label(meta.app_label, meta.model_name),
    )
    return DjangoModel(**directive_arguments(info))


def _build_entity(entry: _Entry, plan: FieldPlan) -> None:
    cls, model = entry.cls, entry.model
    own = getattr(cls, "__annotations__", {})
    cls.__annotations__ = {"id": strawberry.ID, **plan.scalars, **own}
    cls.id = strawberry.field(resolver=_resolve_id, description="The primary key.")
    for relation in plan.relations:
        setattr(cls, relation.name, relation_field(relation))
    cls.resolve_reference = classmethod(_make_resolve_reference(model))
    cls._federated_model = model  # resolved in batches by SubgraphSchema
    cls._federated_relations = tuple(plan.relations)  # loaded with each batch
    # A shared model's rows are the same in every service: any of them may resolve
    # its fields, so the type of each composes with the others'.
    shared = _is_shared(model)
    strawberry_django.federation.type(
        model,
        keys=["id"],
        name=entry.name,
        directives=[_directive(model, entry.listable)],
        shareable=shared,
    )(cls)


def _stub_type(model: type[models.Model], name: str) -> type:
    """Return a key-only type for ``model``: other services resolve it, never this one."""
    namespace = {
        "__annotations__": {"id": strawberry.ID},
        "id": strawberry.field(resolver=_resolve_id, description="The primary key."),
        "__doc__": f"A reference to a {model._meta.label} this subgraph does not resolve.",
    }
    stub = type(name, (), namespace)
    return strawberry.federation.type(
        stub,
        name=name,
        keys=[Key(fields=FieldSet("id"), resolvable=False)],
        directives=[_directive(model, listable=False)],
    )


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
