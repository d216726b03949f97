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

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import models
from django.db.models import Q
from strawberry.federation.schema_directives import FieldSet
from strawberry.federation.schema_directives import Key as KeyDirective
from strawberry.scalars import JSON

from federated_fk import conf
from federated_fk.models import GenericContentType
from federated_fk.naming import type_name
from federated_fk.remote.types import snake_case
from federated_fk.sdl import RemoteEntity, entities
from graphql_gateway.conf import gateway_settings
from graphql_gateway.errors import public_remote_error
from graphql_gateway.loader import Key, key_of, local_key

#: The Python type strawberry gives each GraphQL scalar (an enum reads as String).
SCALARS: dict[str, Any] = {
    "String": str,
    "ID": strawberry.ID,
    "Int": int,
    "Float": float,
    "Boolean": bool,
    "Decimal": decimal.Decimal,
    "Date": datetime.date,
    "DateTime": datetime.datetime,
    "Time": datetime.time,
    "UUID": uuid.UUID,
    "JSON": JSON,
}

#: The GraphQL scalar of a local model field, by Django field class (first match).
MODEL_SCALARS: tuple[tuple[type[models.Field], str], ...] = (
    (models.BooleanField, "Boolean"),
    (models.DecimalField, "Decimal"),
    (models.FloatField, "Float"),
    (models.IntegerField, "Int"),
    (models.DateTimeField, "DateTime"),
    (models.DateField, "Date"),
    (models.TimeField, "Time"),
    (models.UUIDField, "UUID"),
    (models.JSONField, "JSON"),
)


class PageError(ValueError):
    """A page request out of bounds, or an unknown filter or ordering."""


#: The largest offset: GraphQL's Int, and well inside every database's range
#: for LIMIT/OFFSET (SQLite refuses more than 64 bits with a datatype mismatch).
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class Target:
    """A model a union lists or a relation reaches: local, shared or remote.

    :param project: ``None`` for a model of this service (or a shared one)
    :param fields: GraphQL type of each scalar field, by GraphQL field name
    :param relations: related target and whether it is a list, by GraphQL field name
    """

    project: str | None
    app_label: str
    model: str
    name: str
    fields: tuple[tuple[str, str], ...]
    relations: tuple[tuple[str, tuple[str | None, str, str], bool], ...] = ()
    #: The to-one relations that are never null (a non-null foreign key or ``Type!``).
    required: frozenset[str] = frozenset()

    @property
    def label(self) -> tuple[str | None, str, str]:
        return (self.project, self.app_label, self.model)


def _graphql_name(python_name: str) -> str:
    head, *rest = python_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def local_target(model: type[models.Model]) -> Target:
    """Return the target of a local model: its concrete fields and its to-one relations."""
    meta = model._meta
    scalars: list[tuple[str, str]] = []
    relations: list[tuple[str, tuple[str | None, str, str], bool]] = []
    required: set[str] = set()
    for f in meta.concrete_fields:
        if f.primary_key:
            continue
        if f.is_relation:
            rel = f.related_model._meta
            relations.append((_graphql_name(f.name), (None, rel.app_label, rel.model_name), False))
            if not f.null:
                required.add(_graphql_name(f.name))
            continue
        scalar = next((name for cls, name in MODEL_SCALARS if isinstance(f, cls)), "String")
        scalars.append((_graphql_name(f.name), scalar if f.null else f"{scalar}!"))
    project = conf.project_for_label(meta.app_label, meta.model_name)
    return Target(
        None,
        meta.app_label,
        meta.model_name,
        type_name(project, meta.object_name),
        tuple(scalars),
        tuple(relations),
        frozenset(required),
    )


def remote_target(entity: RemoteEntity, project: str) -> Target:
    relations = []
    for name, rel in entity.relations:
        project_of = None if rel.project == conf.SHARED_PROJECT else rel.project
        if project_of is not None and conf.is_local_project(project_of):
            project_of = None
        relations.append((name, (project_of, rel.app_label, rel.model), rel.many))
    related = {name for name, _ in entity.relations}
    types = dict(entity.field_types)
    return Target(
        project,
        entity.app_label,
        entity.model,
        type_name(project, entity.type_name),
        tuple((n, t) for n, t in entity.field_types if n not in related),
        tuple(relations),
        frozenset(n for n in related if types.get(n, "").endswith("!")),
    )


def remote_targets() -> dict[tuple[str | None, str, str], Target]:
    """Return the remote entity types of every project whose SDL is stored, by label."""
    folder = Path(conf.federation_settings()["SCHEMA_DIR"])
    found = {}
    for project in conf.federation_settings()["PROJECTS"]:
        path = folder / f"{project}.graphql"
        if not path.is_file():
            continue
        for entity in entities(path.read_text(), project):
            target = remote_target(entity, project)
            found[target.label] = target
    return found


def _python_type(graphql_type: str, resolve_named: Callable[[str], Any]) -> Any:
    if graphql_type.endswith("!"):
        inner = _python_type(graphql_type[:-1], resolve_named)
        return inner.__args__[0] if _is_optional(inner) else inner
    if graphql_type.startswith("["):
        return Optional[list[_python_type(graphql_type[1:-1], resolve_named)]]  # noqa: UP045
    return Optional[resolve_named(graphql_type)]  # noqa: UP045


def _is_optional(annotation: Any) -> bool:
    return type(None) in getattr(annotation, "__args__", ())


def _attribute(python_name: str) -> Callable[..., Any]:
    def resolve(root: Any) -> Any:
        return getattr(root, python_name)

    return resolve


def _resolve_id(root: Any) -> strawberry.ID:
    return strawberry.ID(str(root.pk))


def _related_keys(root: Any, python_name: str, target: tuple[str | None, str, str]) -> list[Key]:
    project, app_label, model = target
    meta = root._meta
    if getattr(meta, "project", None) is None or not hasattr(root, "_remote_value"):
        # A local row: the foreign key's column, no query.
        pk = getattr(root, meta.get_field(python_name).attname)
        return [] if pk is None else [(None, app_label, model, pk)]
    value = root._remote_value(python_name)
    refs = value if isinstance(value, list) else [] if value is None else [value]
    return [key_of(project or conf.SHARED_PROJECT, app_label, model, ref.pk) for ref in refs]


def _relation_resolver(python_name: str, target: tuple[str | None, str, str], many: bool) -> Any:
    async def resolve(root: Any, info: strawberry.Info) -> Any:
        keys = _related_keys(root, python_name, target)
        loader = info.context.loader
        found = await loader.load_many(keys)
        report_unavailable(info, {k[0] for k in keys if k[0]})
        if many:
            return [obj for obj in found if obj is not None]
        return found[0] if found else None

    return resolve


def report_unavailable(info: strawberry.Info, projects: Iterable[str | None]) -> None:
    """Add one public error per project of ``projects`` that could not answer."""

    loader = info.context.loader
    path = [p for p in info.path.as_list() if isinstance(p, str)]
    for project in sorted(p for p in set(projects) if p in loader.unavailable):
        key = (project, tuple(path))
        if key not in info.context.reported:
            info.context.reported.add(key)
            error = public_remote_error(project, loader.unavailable[project], path)
            info.context.remote_errors.append(error)


@dataclass
class TypeRegistry:
    """The generated types, by target label; relations pull in their targets."""

    remote: dict[tuple[str | None, str, str], Target]
    #: Build for an Apollo Federation subgraph: local types are entities keyed
    #: by ``id``, remote ones key-only stubs that their own subgraph resolves.
    federation: bool = False
    types: dict[tuple[str | None, str, str], type] = field(default_factory=dict)
    _building: set[tuple[str | None, str, str]] = field(default_factory=set)

    def target(self, label: tuple[str | None, str, str]) -> Target:
        if label[0] is None:
            return local_target(apps.get_model(label[1], label[2]))
        try:
            return self.remote[label]
        except KeyError:
            raise LookupError(
                f"No stored schema describes {label[0]} {label[1]}.{label[2]}: run "
                "sync_remote_contenttypes."
            ) from None

    def type_for(self, label: tuple[str | None, str, str], bases: tuple[type, ...] = ()) -> type:
        if label not in self.types:
            self._building.add(label)
            try:
                target = self.target(label)
                if self.federation and target.project is not None:
                    self.types[label] = _stub(target)
                else:
                    self.types[label] = self._build(target, bases)
            finally:
                self._building.discard(label)
        return self.types[label]

    def _build(self, target: Target, bases: tuple[type, ...]) -> type:
        namespace: dict[str, Any] = {
            "id": strawberry.field(resolver=_resolve_id, graphql_type=strawberry.ID),
        }
        for name, graphql_type in target.fields:
            python_name = snake_case(name)
            annotation = _python_type(graphql_type, lambda n: SCALARS.get(n, str))
            namespace[python_name] = strawberry.field(
                resolver=_attribute(python_name), graphql_type=annotation, name=name
            )
        for name, related, many in target.relations:
            # A relation back to a type being built (a cycle) is left out:
            # strawberry needs the related class here, not its name.
            if related not in self._building and self._known(related):
                python_name = snake_case(name)
                related_type = self.type_for(related)
                if many:
                    annotation = list[related_type]
                elif name in target.required:
                    annotation = related_type
                else:
                    annotation = Optional[related_type]  # noqa: UP045
                namespace[python_name] = strawberry.field(
                    resolver=_relation_resolver(python_name, related, many),
                    graphql_type=annotation,
                    name=name,
                )
        cls = type(target.name, bases, namespace)
        cls.is_type_of = classmethod(_is_type_of(target))  # type: ignore[attr-defined]
        if target.project is not None:
            return strawberry.type(cls, name=target.name)
        model = apps.get_model(target.app_label, target.model)
        if self.federation:
            cls.resolve_reference = classmethod(_resolve_reference(model))  # type: ignore[attr-defined]
            return strawberry_django.federation.type(model, name=target.name, keys=["id"])(cls)
        return strawberry_django.type(model, name=target.name)(cls)

    def _known(self, label: tuple[str | None, str, str]) -> bool:
        return label[0] is None or label in self.remote


def _stub(target: Target) -> type:
    """Return the key-only type of a remote target: Apollo fetches its fields from its project."""
    namespace = {"id": strawberry.field(resolver=_resolve_id, graphql_type=strawberry.ID)}
    cls = type(target.name, (), namespace)
    cls.is_type_of = classmethod(_is_type_of(target))  # type: ignore[attr-defined]
    return strawberry.federation.type(
        cls, name=target.name, keys=[KeyDirective(fields=FieldSet("id"), resolvable=False)]
    )


def _resolve_reference(model: type[models.Model]) -> Callable[..., Any]:
    # Through the request's loader: a whole _entities call is one query per model.
    async def resolve_reference(
        cls: type, info: strawberry.Info, id: strawberry.ID, **kwargs: Any
    ) -> Any:
        return await info.context.loader.load(local_key(model, id))

    return resolve_reference


def _is_type_of(target: Target) -> Callable[..., bool]:
    def is_type_of(cls: type, obj: Any, info: Any) -> bool:
        meta = getattr(obj, "_meta", None)
        if meta is None:
            return False
        project = getattr(meta, "project", None) if hasattr(obj, "_remote_value") else None
        return (project, meta.app_label, meta.model_name) == target.label

    return is_type_of


@dataclass(frozen=True)
class PageRequest:
    offset: int
    limit: int
    project: str | None
    type: str | None
    order_by: str


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
    ) -> None:
        self.model_label = model
        self.field = field
        self.targets = [tuple(t.lower().split(".")) for t in targets]
        self.name = name
        self.field_name = field_name or f"{name[:1].lower()}{name[1:]}s"
        self.ordering = tuple(ordering)
        self.description = description or f"The targets of {model}.{field}, one page at a time."

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

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
        types = [registry.type_for(m.label, bases) for m in members]
        union = Annotated[_union_of(types), strawberry.union(f"{self.name}Result")]
        page_type = _page_type(self.name, union)
        spec = self

        async def resolve(
            info: strawberry.Info,
            offset: int = 0,
            limit: int | None = None,
            project: str | None = None,
            type: str | None = None,
            order_by: str | None = None,
        ) -> Any:

            request = PageRequest(
                offset,
                gateway_settings()["DEFAULT_PAGE_SIZE"] if limit is None else limit,
                project,
                type,
                order_by or spec.ordering[0],
            )
            keys, total = await sync_to_async(spec.page_keys)(request, members)
            loader = info.context.loader
            items = await loader.load_many([k for k in keys if k is not None])
            report_unavailable(info, {k[0] for k in keys if k is not None})
            found = iter(items)
            return page_type(
                items=[None if k is None else next(found) for k in keys],
                total_count=total,
                offset=request.offset,
                limit=request.limit,
                has_next_page=request.offset + request.limit < total,
            )

        resolve.__annotations__["return"] = page_type
        return strawberry.field(
            resolver=resolve, name=self.field_name, description=self.description
        )

    def page_keys(
        self, request: PageRequest, members: list[Target]
    ) -> tuple[list[Key | None], int]:
        """Return the keys of a page of targets, and their total.

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
        if request.order_by.lstrip("-") not in {o.lstrip("-") for o in self.ordering}:
            raise PageError(
                f"orderBy must be one of {', '.join(self._order_choices())}, "
                f"got {request.order_by[:40]!r}."
            )
        model = self.model
        ffk = model._meta.get_field(self.field)
        condition = Q(pk__in=[])
        for m in chosen:
            condition |= Q(project=_project_of(m), app_label=m.app_label, model=m.model)
        references = model._default_manager.filter(
            **{f"{ffk.ct_field}__in": GenericContentType.objects.filter(condition)}
        ).order_by(request.order_by, "pk")
        total = references.count()
        rows = references[request.offset : request.offset + request.limit]
        keys: list[Key | None] = []
        for ref in rows:
            ct = GenericContentType.objects.get_for_id(getattr(ref, ffk.ct_field + "_id"))
            pk = getattr(ref, ffk.fk_field)
            if ct.is_local:
                keys.append(local_key(ct.model_class(), pk))
            else:
                keys.append(key_of(ct.project, ct.app_label, ct.model, pk))
        return keys, total

    def _order_choices(self) -> list[str]:
        names = [o.lstrip("-") for o in self.ordering]
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


def check_bounds(offset: int, limit: int) -> None:

    largest = gateway_settings()["MAX_PAGE_SIZE"]
    if not 0 <= offset <= MAX_OFFSET:
        raise PageError(f"offset must be from 0 to {MAX_OFFSET}, got {offset}.")
    if not 1 <= limit <= largest:
        raise PageError(f"limit must be from 1 to {largest}, got {limit}.")


def _interface(name: str, members: list[Target]) -> type | None:
    """Return the interface of the scalar fields every member has with one type."""
    if len(members) < 2:
        return None
    common = dict(members[0].fields)
    for member in members[1:]:
        theirs = dict(member.fields)
        common = {n: t for n, t in common.items() if theirs.get(n) == t}
    namespace: dict[str, Any] = {"__annotations__": {"id": strawberry.ID}}
    for field_name, graphql_type in common.items():
        namespace["__annotations__"][snake_case(field_name)] = _python_type(
            graphql_type, lambda n: SCALARS.get(n, str)
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
    return strawberry.type(
        type(f"{name}Page", (), namespace), name=f"{name}Page", description="A page of the list."
    )


def build_query(
    unions: Iterable[FederatedUnion], federation: bool = False
) -> tuple[type, list[type]]:
    """Return the ``Query`` type with one field per union, and every generated type.

    :param federation: build the types of a federation subgraph (see ``TypeRegistry``)
    """
    registry = TypeRegistry(remote_targets(), federation=federation)
    namespace = {union.field_name: union.build(registry) for union in unions}
    return strawberry.type(type("Query", (), namespace)), list(registry.types.values())
