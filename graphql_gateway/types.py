"""The strawberry types of union members: fields, relations, stubs, resolvers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Optional

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import models
from strawberry.annotation import StrawberryAnnotation
from strawberry.federation.schema_directives import FieldSet
from strawberry.federation.schema_directives import Key as KeyDirective

from federated_fk import conf
from federated_fk.fields import FederatedForeignKey, FederatedRelation
from federated_fk.ids import InvalidId
from federated_fk.models import GenericContentType
from federated_fk.remote.converters import snake_case
from graphql_gateway.conf import gateway_settings
from graphql_gateway.errors import public_remote_error, public_removed_type_error
from graphql_gateway.fast_items import mark_plain_read
from graphql_gateway.loader import Key, RelatedRows, as_stored, key_of, local_key
from graphql_gateway.paging import check_bounds
from graphql_gateway.targets import (
    Target,
    configured_label,
    graphql_name,
    local_target,
    published,
    python_type,
    scalar_annotation,
)


def _attribute(python_name: str) -> Callable[..., Any]:
    @mark_plain_read
    def resolve(root: Any) -> Any:
        return getattr(root, python_name)

    return resolve


@mark_plain_read
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
        found = [as_stored(obj) for obj in await loader.load_many(keys)]
        report_unavailable(info, {k[0] for k in keys if k[0]})
        if many:
            return [obj for obj in found if obj is not None]
        return found[0] if found else None

    return resolve


def _union_resolver(ffk: FederatedForeignKey, slot: UnionSlot) -> Any:
    async def resolve(root: Any, info: strawberry.Info) -> Any:
        ct_id = getattr(root, f"{ffk.ct_field}_id")
        pk = getattr(root, ffk.fk_field)
        if ct_id is None or pk is None:
            return None
        ct = GenericContentType.objects.cached_id(root._state.db, ct_id)
        if ct is None:
            ct = await sync_to_async(
                GenericContentType.objects.db_manager(root._state.db).get_for_id
            )(ct_id)
        key = key_of(ct.project, ct.app_label, ct.model, pk)
        if key[:3] not in slot.members:
            if ct.is_remote and (ct.app_label, ct.model) in slot.targets:
                report_removed(info, [key[:3]])  # a target type its schema no longer has
            return None  # a target of a type the union does not list
        try:
            found = await info.context.loader.load(key)
        except InvalidId:
            return None  # a stored id no row can have: missing, as a prefetch reads it
        report_unavailable(info, [key[0]])
        return found

    return resolve


def _reverse_resolver(ffk: FederatedForeignKey, for_concrete_model: bool) -> Any:
    object_id = ffk.model._meta.get_field(ffk.fk_field)

    async def resolve(
        root: Any, info: strawberry.Info, offset: int = 0, limit: int | None = None
    ) -> list[Any]:
        limit = gateway_settings()["DEFAULT_PAGE_SIZE"] if limit is None else limit
        check_bounds(offset, limit)
        manager = GenericContentType.objects
        ct = manager.cached(root._state.db, type(root), for_concrete_model)
        if ct is None:
            ct = await sync_to_async(manager.db_manager(root._state.db).get_for_model)(
                root, for_concrete_model=for_concrete_model
            )
        pk = str(object_id.to_python(root.pk))
        return await info.context.loader.load_related(RelatedRows(ffk, ct.pk, pk, offset, limit))

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


def report_removed(info: strawberry.Info, labels: Iterable[tuple[str | None, str, str]]) -> None:
    """Add one public error per remote type of ``labels`` that its schema no longer has."""
    path = [p for p in info.path.as_list() if isinstance(p, str)]
    for project, app_label, model in sorted(set(labels), key=str):
        key = (f"{project}:{app_label}.{model}", tuple(path))
        if key not in info.context.reported:
            info.context.reported.add(key)
            error = public_removed_type_error(str(project), app_label, model, path)
            info.context.remote_errors.append(error)


@dataclass
class UnionSlot:
    """A generated union, as the types that hold its key or its relation see it.

    :param name: the union's GraphQL name (``<name>Result``)
    :param members: the labels of its member targets, filled when the union is built
    """

    name: str
    members: set[tuple[str | None, str, str]] = field(default_factory=set)
    #: The ``(app_label, model)`` of the union's targets, in any project.
    targets: set[tuple[str, str]] = field(default_factory=set)
    #: The list field every member gets of the rows pointing at it (besides
    #: the ``FederatedRelation`` fields its model declares), or None.
    related_name: str | None = None


@dataclass
class TypeRegistry:
    """The generated types, by target label; relations pull in their targets.

    A local model holding the ``FederatedForeignKey`` of a union gets the key
    as a field of the union's type, and a local model whose
    ``FederatedRelation`` matches that key gets the relation as a list of the
    rows pointing at it. Types refer to each other by name, so relations may
    form cycles.
    """

    remote: dict[tuple[str | None, str, str], Target]
    #: Build for an Apollo Federation subgraph: local types are entities keyed
    #: by ``id``, remote ones key-only stubs that their own subgraph resolves.
    federation: bool = False
    #: The generated unions, by (label of the model holding the key, key's name).
    unions: dict[tuple[str, str], UnionSlot] = field(default_factory=dict)
    types: dict[tuple[str | None, str, str], type] = field(default_factory=dict)
    #: Every generated type and union by GraphQL name: where lazy references look.
    namespace: dict[str, Any] = field(default_factory=lambda: {"Optional": Optional})
    #: The GraphQL names of the generated list fields that take ``offset`` and ``limit``.
    list_fields: set[str] = field(default_factory=set)
    #: The labels of the models whose fields are published: the unions'
    #: members and the models holding their keys. Any other model publishes
    #: its ``id`` and the fields ``GRAPHQL_GATEWAY["FIELDS"]`` names.
    declared: set[tuple[str | None, str, str]] = field(default_factory=set)
    #: The relations left out because their target is not installed here:
    #: (type name, field name, the target's label).
    missing: list[tuple[str, str, tuple[str | None, str, str]]] = field(default_factory=list)
    _building: set[tuple[str | None, str, str]] = field(default_factory=set)

    def target(self, label: tuple[str | None, str, str]) -> Target:
        """Return the target of ``label`` with the fields it publishes (see ``published``)."""
        if label[0] is None:
            found = local_target(apps.get_model(label[1], label[2]))
        else:
            try:
                found = self.remote[label]
            except KeyError:
                raise LookupError(
                    f"No stored schema describes {label[0]} {label[1]}.{label[2]}: run "
                    "sync_remote_contenttypes."
                ) from None
        # A remote type publishes what its own service publishes (less EXCLUDE).
        return published(found, declared=label[0] is not None or label in self.declared)

    def type_for(self, label: tuple[str | None, str, str], bases: tuple[type, ...] = ()) -> type:
        if label not in self.types:
            self._building.add(label)
            try:
                target = self.target(label)
                if self.federation and target.project is not None:
                    built = _stub(target)
                else:
                    built = self._build(target, bases)
                self.types[label] = built
                self.namespace[target.name] = built
            finally:
                self._building.discard(label)
        return self.types[label]

    def annotation_of(self, label: tuple[str | None, str, str]) -> Any:
        """Return the type of ``label``, or its name when it is being built (a cycle)."""
        if label in self._building:
            return self.target(label).name
        return self.type_for(label)

    def _build(self, target: Target, bases: tuple[type, ...]) -> type:
        model = (
            None if target.project is not None else apps.get_model(target.app_label, target.model)
        )
        keys = self._union_keys(model)
        hidden = {graphql_name(name) for ffk in keys for name in (ffk.ct_field, ffk.fk_field)}
        namespace: dict[str, Any] = {
            "id": strawberry.field(resolver=_resolve_id, graphql_type=strawberry.ID),
        }
        for name, graphql_type in target.fields:
            if name in hidden:
                continue
            python_name = snake_case(name)
            annotation = python_type(graphql_type, scalar_annotation)
            namespace[python_name] = strawberry.field(
                resolver=_attribute(python_name), graphql_type=annotation, name=name
            )
        for name, related, many in target.relations:
            if name in hidden:
                continue
            if self._known(related):
                namespace[snake_case(name)] = self._relation_field(target, name, related, many)
            elif related[0] is None:
                self.missing.append((target.name, name, related))
        for ffk in keys:
            namespace[ffk.name] = self._union_field(model, ffk)
        for name, (ffk, for_concrete_model) in self._reverse_keys(target, model).items():
            if self._publishes(target, name):
                namespace[name] = self._reverse_field(name, ffk, for_concrete_model)
        cls = type(target.name, bases, namespace)
        cls.is_type_of = classmethod(_is_type_of(target))  # type: ignore[attr-defined]
        if model is None:
            built = strawberry.type(cls, name=target.name)
        elif self.federation:
            cls.resolve_reference = classmethod(_resolve_reference(model))  # type: ignore[attr-defined]
            # A shared model's rows are the same in every service: any may resolve it.
            shared = conf.is_shared_model(target.app_label, target.model)
            built = strawberry_django.federation.type(
                model, name=target.name, keys=["id"], shareable=shared
            )(cls)
        else:
            built = strawberry_django.type(model, name=target.name)(cls)
        self._keep_names_lazy(built)
        return built

    def _keep_names_lazy(self, built: type) -> None:
        """Point the fields typed by a name at this registry (decorators reset their namespace)."""
        for f in built.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            annotation = f.type_annotation
            if annotation is not None and isinstance(annotation.raw_annotation, str):
                f.type_annotation = StrawberryAnnotation(
                    annotation.raw_annotation, namespace=self.namespace
                )

    def _relation_field(
        self, target: Target, name: str, related: tuple[str | None, str, str], many: bool
    ) -> Any:
        python_name = snake_case(name)
        related_type = self.annotation_of(related)
        if many:
            annotation: Any = (
                f"list[{related_type}]" if isinstance(related_type, str) else list[related_type]
            )
        elif name in target.required:
            annotation = related_type
        elif isinstance(related_type, str):
            annotation = f"Optional[{related_type}]"
        else:
            annotation = Optional[related_type]  # noqa: UP045
        return self._field(_relation_resolver(python_name, related, many), annotation, name=name)

    def _union_field(self, model: Any, ffk: FederatedForeignKey) -> Any:
        slot = self.unions[(model._meta.label_lower, ffk.name)]
        return self._field(
            _union_resolver(ffk, slot),
            f"Optional[{slot.name}]",
            name=graphql_name(ffk.name),
            description="The target: null where it is gone or its project could not answer.",
        )

    def _reverse_field(self, name: str, ffk: FederatedForeignKey, for_concrete_model: bool) -> Any:
        referencing = ffk.model._meta
        label = (None, referencing.app_label, referencing.model_name)
        self.annotation_of(label)  # built now, or being built: named below either way
        self.list_fields.add(graphql_name(name))
        return self._field(
            _reverse_resolver(ffk, for_concrete_model),
            f"list[{self.target(label).name}]",
            name=graphql_name(name),
            description=f"The {referencing.verbose_name_plural} pointing at this object, "
            "a page at a time.",
        )

    def _field(
        self,
        resolver: Callable[..., Any],
        annotation: Any,
        name: str,
        description: str | None = None,
    ) -> Any:
        """Return a field typed by ``annotation``: a type, or a name this registry will hold."""
        made = strawberry.field(
            resolver=resolver, graphql_type=str, name=name, description=description
        )
        # A name resolves when the schema is built: by then the registry holds them all.
        made.type_annotation = StrawberryAnnotation(annotation, namespace=self.namespace)
        return made

    def _union_keys(self, model: Any) -> list[FederatedForeignKey]:
        """The keys of ``model`` that a generated union lists the targets of."""
        if model is None:
            return []
        label = model._meta.label_lower
        return [
            f
            for f in model._meta.private_fields
            if isinstance(f, FederatedForeignKey) and (label, f.name) in self.unions
        ]

    def _reverse_keys(
        self, target: Target, model: Any
    ) -> dict[str, tuple[FederatedForeignKey, bool]]:
        """The lists of rows pointing at ``target``, by field name: the key, ``for_concrete_model``.

        Those of the ``FederatedRelation`` fields its model declares to a
        union's key, and each union's ``related_name`` if ``target`` is a member.
        """
        found: dict[str, tuple[FederatedForeignKey, bool]] = {}
        if model is not None:
            for relation in model._meta.private_fields:
                if isinstance(relation, FederatedRelation):
                    for ffk in self._union_keys(relation.related_model):
                        if relation._is_matching_generic_foreign_key(ffk):
                            found[relation.name] = (ffk, relation.for_concrete_model)
        for (label, key_name), slot in self.unions.items():
            if slot.related_name and target.label in slot.members:
                ffk = apps.get_model(label)._meta.get_field(key_name)
                found.setdefault(slot.related_name, (ffk, True))
        return found

    def _publishes(self, target: Target, name: str) -> bool:
        """Whether the list of rows ``name`` is published on ``target``."""
        if target.project is not None or target.label in self.declared:
            return True
        return name in gateway_settings()["FIELDS"].get(configured_label(target), ())

    def _known(self, label: tuple[str | None, str, str]) -> bool:
        """Whether ``label`` names a model installed here or a type of a stored schema."""
        if label[0] is not None:
            return label in self.remote
        try:
            apps.get_model(label[1], label[2])
        except LookupError:
            return False
        return True


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
