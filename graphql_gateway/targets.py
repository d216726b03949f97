"""The members of a generated union: local models and remote types read from the stored SDL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from django.db import models

from federated_fk import conf
from federated_fk.naming import type_name
from federated_fk.scalars import scalar_named, scalar_of_field
from federated_fk.sdl import InvalidSchema, RemoteEntity, entities
from graphql_gateway.conf import gateway_settings

logger = logging.getLogger(__name__)


def scalar_annotation(name: str) -> Any:
    """Return the type of a named GraphQL type: its scalar's, or ``str`` (an enum reads as
    String, as does a scalar whose Python type nobody described)."""
    scalar = scalar_named(name)
    return str if scalar is None else scalar.annotation


def _scalar_name(model_field: models.Field) -> str:
    """The GraphQL scalar of a local model field, as a subgraph would publish it."""
    scalar = scalar_of_field(model_field)
    return "String" if scalar is None else scalar.name


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


def graphql_name(python_name: str) -> str:
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
            relations.append((graphql_name(f.name), (None, rel.app_label, rel.model_name), False))
            if not f.null:
                required.add(graphql_name(f.name))
            continue
        scalar = _scalar_name(f)
        scalars.append((graphql_name(f.name), scalar if f.null else f"{scalar}!"))
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


#: GraphQL field names never published, whatever a model or a remote schema has.
NEVER_PUBLISHED = frozenset({"password"})


def configured_label(target: Target) -> str:
    """Return the label ``GRAPHQL_GATEWAY["FIELDS"]`` and ``["EXCLUDE"]`` name ``target`` by.

    ``"app_label.model"`` for a model of this service (or a shared one),
    ``"project:app_label.model"`` for a remote type.
    """
    label = f"{target.app_label}.{target.model}"
    return label if target.project is None else f"{target.project}:{label}"


def published(target: Target, declared: bool) -> Target:
    """Return ``target`` with only the fields the gateway may publish.

    A declared target (a union's member, or the model holding its key)
    publishes its fields; any other, reached only through a relation,
    publishes its ``id`` and the fields ``GRAPHQL_GATEWAY["FIELDS"]`` names
    for it. Neither publishes ``password`` or what ``["EXCLUDE"]`` names.
    """
    config = gateway_settings()
    label = configured_label(target)
    excluded = NEVER_PUBLISHED | {graphql_name(n) for n in config["EXCLUDE"].get(label, ())}
    named = None if declared else {graphql_name(n) for n in config["FIELDS"].get(label, ())}

    def keep(name: str) -> bool:
        return name not in excluded and (named is None or name in named)

    return replace(
        target,
        fields=tuple(f for f in target.fields if keep(f[0])),
        relations=tuple(r for r in target.relations if keep(r[0])),
        required=frozenset(r for r in target.required if keep(r)),
    )


def remote_target(entity: RemoteEntity, project: str) -> Target:
    relations = []
    for name, rel in entity.relations:
        shared = rel.project == conf.SHARED_PROJECT and conf.is_shared_model(
            rel.app_label, rel.model
        )
        project_of = None if shared else project
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


def stored_schemas() -> dict[str, str]:
    """Return the SDL ``sync_remote_contenttypes`` stored, by remote project."""
    folder = Path(conf.federation_settings()["SCHEMA_DIR"])
    paths = {
        project: folder / f"{project}.graphql" for project in conf.federation_settings()["PROJECTS"]
    }
    return {project: path.read_text() for project, path in paths.items() if path.is_file()}


def remote_targets() -> dict[tuple[str | None, str, str], Target]:
    """Return the remote entity types of every project whose SDL is stored, by label.

    A stored SDL that is refused now (written before a rule it breaks) gives
    no type at all; ``check`` reports it (``graphql_gateway.E007``).
    """
    found = {}
    for project, sdl in stored_schemas().items():
        try:
            described = entities(sdl, project)
        except InvalidSchema as exc:
            logger.error("The gateway leaves out project %r: %s", project, exc)
            continue
        for entity in described:
            target = remote_target(entity, project)
            found[target.label] = target
    return found


def python_type(graphql_type: str, resolve_named: Callable[[str], Any]) -> Any:
    if graphql_type.endswith("!"):
        inner = python_type(graphql_type[:-1], resolve_named)
        return inner.__args__[0] if _is_optional(inner) else inner
    if graphql_type.startswith("["):
        return Optional[list[python_type(graphql_type[1:-1], resolve_named)]]  # noqa: UP045
    return Optional[resolve_named(graphql_type)]  # noqa: UP045


def _is_optional(annotation: Any) -> bool:
    return type(None) in getattr(annotation, "__args__", ())
