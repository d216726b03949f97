"""Generate GraphQL types and union fields from models and synchronized schemas.

A ``FederatedUnion`` turns the targets of a ``FederatedForeignKey`` into one
GraphQL field::

    books = FederatedUnion(
        "books.Reference", "content_object", targets=["books.book", "audio.audiobook"],
        name="Book",
    )
    schema = graphql_gateway.schema.gateway_schema([books])  # or subgraph_schema

or, the same, ``GRAPHQL_GATEWAY["UNIONS"] = [{"model": ..., "field": ..., ...}]``.
It lists the references of ``books.Reference`` one page at a time, each item
its target: local targets are strawberry-django types of the local models,
remote ones types made from the project's SDL stored in
``FEDERATION["SCHEMA_DIR"]`` (as ``sync_remote_contenttypes`` wrote it).
Member types are named by ``federated_fk.naming``; the fields every member
has, with one type, make the interface ``<name>Item``. Relations are fields
of the related model's type, generated as needed. All targets of one request
level load together (``graphql_gateway.loader``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Optional

import strawberry
from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import models
from django.db.models import Q

from federated_fk import conf
from federated_fk.exceptions import FederationError
from federated_fk.models import GenericContentType
from federated_fk.remote.converters import snake_case
from graphql_gateway.conf import gateway_settings
from graphql_gateway.fast_items import mark_page
from graphql_gateway.loader import Key, as_stored, key_of, local_key
from graphql_gateway.paging import PageError, check_bounds
from graphql_gateway.target_query import (
    check_filters,
    filter_input,
    lookups_of,
    ordered_by_target,
    pushdown,
)
from graphql_gateway.targets import Target, python_type, remote_targets, scalar_annotation
from graphql_gateway.types import TypeRegistry, UnionSlot, report_removed, report_unavailable


@dataclass(frozen=True)
class PageRequest:
    offset: int
    limit: int
    project: str | None
    type: str | None
    order_by: str
    #: Django lookups on the targets' fields (``{"title__icontains": "dun"}``).
    lookups: dict[str, Any] = field(default_factory=dict)


@dataclass
class PageKeys:
    """A page of targets, as keys, and what the page met on the way.

    :param keys: the page's targets in order; None where there is no target to load
    :param references: the references the page is a page of (filters applied)
    :param removed: the remote types of the page the synchronized schemas no longer have
    :param unavailable: the projects that could not answer while the page was chosen
    """

    keys: list[Key | None]
    references: models.QuerySet
    removed: set[tuple[str, str, str]] = field(default_factory=set)
    unavailable: dict[str, FederationError] = field(default_factory=dict)


class FederatedUnion:
    """A GraphQL field listing the targets of a ``FederatedForeignKey`` as one union.

    :param model: ``"app_label.Model"`` of the model holding the key
    :param field: the name of the ``FederatedForeignKey``
    :param targets: ``"app_label.model"`` of the target models, local or
        remote: a remote one is listed in every project whose schema has it
    :param name: the stem of the generated names: ``<name>Result`` (the
        union), ``<name>Item`` (the interface), ``<name>Page``
    :param field_name: the root field's name (default: the stem, plural, in lower case)
    :param ordering: the reference fields a query may order by (``orderBy``,
        ``-`` for descending); the first is the default
    :param description: the root field's description
    :param related_name: a field every member gets, listing the rows of
        ``model`` pointing at it (a page at a time), remote members too;
        members whose model declares a ``FederatedRelation`` to the key have
        it under the relation's name either way
    :param filters: fields every member has, with the lookups a query may
        use on them (``{"title": ["icontains"], "price": ["lt", "gt"]}``):
        the ``filter`` argument, pushed down to each member's service
    :param target_ordering: fields every member has that ``orderBy`` may
        also name: the targets of every matching reference sorted together
    """

    def __init__(
        self,
        model: str,
        field: str,
        targets: Iterable[str],
        name: str,
        field_name: str | None = None,
        ordering: Iterable[str] = ("pk",),
        description: str | None = None,
        related_name: str | None = None,
        filters: Mapping[str, Iterable[str]] | None = None,
        target_ordering: Iterable[str] = (),
    ) -> None:
        self.model_label = model
        self.field = field
        self.targets = [tuple(t.lower().split(".")) for t in targets]
        self.name = name
        self.field_name = field_name or f"{name[:1].lower()}{name[1:]}s"
        self.ordering = tuple(ordering)
        self.description = description or f"The targets of {model}.{field}, one page at a time."
        self.related_name = related_name
        self.filters = {name: list(lookups) for name, lookups in (filters or {}).items()}
        self.target_ordering = tuple(target_ordering)

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    @property
    def key(self) -> tuple[str, str]:
        """The label of the model holding the key, and the key's name."""
        return (self.model._meta.label_lower, self.field)

    def slot(self) -> UnionSlot:
        """The union as the generated types see it (members are added when it is built)."""
        return UnionSlot(
            f"{self.name}Result", targets=set(self.targets), related_name=self.related_name
        )

    def declared(self) -> list[tuple[str | None, str, str]]:
        """Return the labels of the local models whose fields this union publishes:
        its targets and the model holding the key."""
        app_label, model = self.key[0].split(".")
        return [(None, app_label, model), *((None, a, m) for a, m in self.targets)]

    def members(self, registry: TypeRegistry) -> list[Target]:
        """Return the member targets: local models first, then each project's."""
        found = []
        for app_label, model in self.targets:
            if apps.is_installed(app_label) or _has_model(app_label, model):
                found.append(registry.target((None, app_label, model)))
        for app_label, model in self.targets:
            found.extend(
                t for t in registry.remote.values() if (t.app_label, t.model) == (app_label, model)
            )
        return found

    def build(self, registry: TypeRegistry) -> Any:
        """Return the strawberry field, its union and member types built into ``registry``."""
        members = self.members(registry)
        if not members:
            raise LookupError(f"{self.name}: no target of {self.targets} is known.")
        # A stub carries only its key: it cannot implement the interface.
        interface = None if registry.federation else _interface(f"{self.name}Item", members)
        bases = (interface,) if interface is not None else ()
        slot = registry.unions.setdefault(self.key, self.slot())
        slot.members.update(m.label for m in members)
        types = [registry.type_for(m.label, bases) for m in members]
        union = Annotated[_union_of(types), strawberry.union(slot.name)]
        registry.namespace[slot.name] = union
        page_type = _page_type(self.name, union)
        spec = self
        filter_type = self._filter_type(members)

        async def resolve(
            info: strawberry.Info,
            offset: int = 0,
            limit: int | None = None,
            project: str | None = None,
            type: str | None = None,
            order_by: str | None = None,
            filter: Any = None,
        ) -> Any:

            request = PageRequest(
                offset,
                gateway_settings()["DEFAULT_PAGE_SIZE"] if limit is None else limit,
                project,
                type,
                order_by or spec.ordering[0],
                lookups_of(filter),
            )
            page = await sync_to_async(spec.page_keys)(request, members)
            keys, references = page.keys, page.references
            report_removed(info, page.removed)
            loader = info.context.loader
            loader.unavailable.update(page.unavailable)
            report_unavailable(info, page.unavailable)
            # The total is counted while the page's targets load: a remote
            # project's request is in flight meanwhile.
            items, total = await asyncio.gather(
                loader.load_many([k for k in keys if k is not None]),
                sync_to_async(references.count)(),
            )
            report_unavailable(info, {k[0] for k in keys if k is not None})
            found = iter(as_stored(item) for item in items)
            return page_type(
                items=[None if k is None else next(found) for k in keys],
                total_count=total,
                offset=request.offset,
                limit=request.limit,
                has_next_page=request.offset + request.limit < total,
            )

        resolve.__annotations__["return"] = page_type
        if filter_type is None:
            _drop_parameter(resolve, "filter")
        else:
            resolve.__annotations__["filter"] = Optional[filter_type]  # noqa: UP045
        return strawberry.field(
            resolver=resolve, name=self.field_name, description=self.description
        )

    def _filter_type(self, members: list[Target]) -> type | None:
        """The ``<name>Filter`` input of the declared filters, or None when none are declared.

        :raises ValueError: a declared field is not common to the members
        """
        if not self.filters:
            return None
        common = _common_fields(members)
        check_filters(self.name, self.filters, common)
        return filter_input(self.name, self.filters, common)

    def page_keys(self, request: PageRequest, members: list[Target]) -> PageKeys:
        """Return the keys of a page of targets, the references they are a page of,
        and what the page met: removed types, projects that could not answer.

        A reference to a remote type the synchronized schemas no longer have
        is counted and has its place in the page, with no key: its item is
        null, and the field reports the type. Filters on the targets' fields
        are pushed down to each member's service; ordering by a target field
        sorts the targets of every matching reference together.

        :raises PageError: the page is out of bounds, or a filter or the
            ordering names nothing this field has
        """
        check_bounds(request.offset, request.limit)
        if request.type is not None and request.type not in {m.name for m in members}:
            names = ", ".join(m.name for m in members)
            raise PageError(f"type must be one of {names}, got {request.type[:40]!r}.")
        if request.project is not None and request.project not in {_project_of(m) for m in members}:
            projects = ", ".join(sorted({_project_of(m) for m in members}))
            raise PageError(f"project must be one of {projects}, got {request.project[:40]!r}.")
        chosen = [
            m
            for m in members
            if (request.type is None or m.name == request.type)
            and (request.project is None or _project_of(m) == request.project)
        ]
        by_target = request.order_by.lstrip("-") in self.target_ordering
        if request.order_by not in self._order_choices():
            raise PageError(
                f"orderBy must be one of {', '.join(self._order_choices())}, "
                f"got {request.order_by[:40]!r}."
            )
        model = self.model
        ffk = model._meta.get_field(self.field)
        condition = Q(pk__in=[])
        for m in chosen:
            condition |= Q(project=_project_of(m), app_label=m.app_label, model=m.model)
        if request.type is None:  # and the remote types of the targets no schema has now
            local = [conf.current_project(), conf.SHARED_PROJECT]
            for app_label, model_name in self.targets:
                gone = Q(app_label=app_label, model=model_name) & ~Q(project__in=local)
                if request.project is not None:
                    gone &= Q(project=request.project)
                condition |= gone
        labels = {m.label for m in members}
        references = model._default_manager.filter(
            **{f"{ffk.ct_field}__in": GenericContentType.objects.filter(condition)}
        )
        unavailable: dict[str, FederationError] = {}
        if request.lookups:
            found = pushdown(request.lookups, chosen, ffk)
            references, unavailable = references.filter(found.objects), found.errors
        if by_target:
            ordered, failed = ordered_by_target(
                references.order_by("pk"),
                ffk.ct_field,
                ffk.fk_field,
                request.order_by.lstrip("-"),
                descending=request.order_by.startswith("-"),
            )
            unavailable.update(failed)
            rows = ordered[request.offset : request.offset + request.limit]
        else:
            references = references.order_by(request.order_by, "pk")
            rows = references[request.offset : request.offset + request.limit]
        keys: list[Key | None] = []
        removed: set[tuple[str, str, str]] = set()
        for ref in rows:
            ct = GenericContentType.objects.get_for_id(getattr(ref, ffk.ct_field + "_id"))
            pk = getattr(ref, ffk.fk_field)
            if ct.is_local:
                keys.append(local_key(ct.model_class(), pk))
            elif (ct.project, ct.app_label, ct.model) in labels:
                keys.append(key_of(ct.project, ct.app_label, ct.model, pk))
            else:
                keys.append(None)
                removed.add((ct.project, ct.app_label, ct.model))
        return PageKeys(keys, references, removed, unavailable)

    def _order_choices(self) -> list[str]:
        names = [o.lstrip("-") for o in (*self.ordering, *self.target_ordering)]
        return [*names, *(f"-{n}" for n in names)]


def _has_model(app_label: str, model: str) -> bool:
    try:
        apps.get_model(app_label, model)
    except LookupError:
        return False
    return True


def _project_of(target: Target) -> str:
    if target.project is not None:
        return target.project
    return conf.project_for_label(target.app_label, target.model)


def _common_fields(members: list[Target]) -> dict[str, str]:
    """Return the GraphQL type of each scalar field every member has with one type."""
    common = dict(members[0].fields)
    for member in members[1:]:
        theirs = dict(member.fields)
        common = {n: t for n, t in common.items() if theirs.get(n) == t}
    return common


def _drop_parameter(function: Any, name: str) -> None:
    """Hide the parameter ``name`` of ``function`` from the signature strawberry reads."""
    signature = inspect.signature(function)
    parameters = [p for p in signature.parameters.values() if p.name != name]
    function.__signature__ = signature.replace(parameters=parameters)


def _interface(name: str, members: list[Target]) -> type | None:
    """Return the interface of the scalar fields every member has with one type."""
    if len(members) < 2:
        return None
    common = _common_fields(members)
    namespace: dict[str, Any] = {"__annotations__": {"id": strawberry.ID}}
    for field_name, graphql_type in common.items():
        namespace["__annotations__"][snake_case(field_name)] = python_type(
            graphql_type, scalar_annotation
        )
    return strawberry.interface(
        type(name, (), namespace), name=name, description="What every member of the union has."
    )


def _union_of(types: list[type]) -> Any:
    union: Any = types[0]
    for t in types[1:]:
        union = union | t
    return union


def _page_type(name: str, union: Any) -> type:
    namespace = {
        "__annotations__": {
            "items": list[union | None],  # type: ignore[operator]
            "total_count": int,
            "offset": int,
            "limit": int,
            "has_next_page": bool,
        },
        "items": strawberry.field(
            description="The targets; null where a project could not answer (see errors) "
            "or the target is gone."
        ),
    }
    page = mark_page(type(f"{name}Page", (), namespace))
    return strawberry.type(page, name=f"{name}Page", description="A page of the list.")


def build_query(
    unions: Iterable[FederatedUnion], federation: bool = False
) -> tuple[type, list[type], list[str]]:
    """Return the ``Query`` type with one field per union, every generated type,
    and the names of the list fields that take a ``limit`` (for the cost limit).

    :param federation: build the types of a federation subgraph (see ``TypeRegistry``)
    """
    registry, namespace = build_types(unions, federation=federation)
    list_fields = [*namespace, *sorted(registry.list_fields)]
    return strawberry.type(type("Query", (), namespace)), list(registry.types.values()), list_fields


def build_types(
    unions: Iterable[FederatedUnion], federation: bool = False
) -> tuple[TypeRegistry, dict[str, Any]]:
    """Return the registry holding every type the unions publish, and their root fields."""
    unions = list(unions)
    slots = {union.key: union.slot() for union in unions}
    registry = TypeRegistry(remote_targets(), federation=federation, unions=slots)
    registry.declared.update(label for union in unions for label in union.declared())
    for union in unions:  # before any type is built: each one may list rows pointing at it
        slots[union.key].members.update(m.label for m in union.members(registry))
    return registry, {union.field_name: union.build(registry) for union in unions}
