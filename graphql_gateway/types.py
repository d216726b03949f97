"""The strawberry types of union members: fields, relations, stubs, resolvers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Optional

import strawberry
import strawberry_django
from django.apps import apps
from django.db import models
from strawberry.federation.schema_directives import FieldSet
from strawberry.federation.schema_directives import Key as KeyDirective

from federated_fk import conf
from federated_fk.remote.types import snake_case
from graphql_gateway.errors import public_remote_error
from graphql_gateway.loader import Key, key_of, local_key
from graphql_gateway.targets import SCALARS, Target, local_target, python_type


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
            annotation = python_type(graphql_type, lambda n: SCALARS.get(n, str))
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
