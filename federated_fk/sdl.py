"""Read the entity types of a remote subgraph from its SDL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    build_ast_schema,
    get_named_type,
    parse,
)
from graphql.language import BooleanValueNode, ObjectTypeDefinitionNode, StringValueNode

from federated_fk import conf
from federated_fk.contract import DIRECTIVE, PkType, read_directive


@dataclass(frozen=True)
class Relation:
    """A field of a remote entity type whose values are other entities.

    :param project: the project of the related model (``"shared"`` for a
        synchronized table, which is looked up locally)
    :param many: whether the field is a list of references
    """

    project: str
    app_label: str
    model: str
    pk_type: str
    many: bool

    def as_json(self) -> dict[str, Any]:
        """Return the relation as stored in ``GenericContentType.relations``."""
        return {
            "project": self.project,
            "app_label": self.app_label,
            "model": self.model,
            "pk_type": self.pk_type,
            "many": self.many,
        }


@dataclass(frozen=True)
class RemoteEntity:
    """One entity type of a remote subgraph, as a content type describes it."""

    type_name: str
    app_label: str
    model: str
    pk_type: str
    #: The fields fetched: scalars, enums and relations (``id`` aside).
    fields: tuple[str, ...]
    listable: bool = False
    #: GraphQL type of each field, e.g. ``"String!"``, ``"Author"``, ``"[Tag!]!"``.
    field_types: tuple[tuple[str, str], ...] = ()
    #: The relation fields, by field name.
    relations: tuple[tuple[str, Relation], ...] = ()


def parse_sdl(sdl: str) -> Any:
    """Return the schema of ``sdl`` (federation directives need no definitions here).

    :raises graphql.GraphQLError: the SDL is not valid GraphQL syntax
    """
    # _service { sdl } has no federation directive definitions: skip validation.
    return build_ast_schema(parse(sdl), assume_valid_sdl=True)


def entities(sdl: str, project: str) -> list[RemoteEntity]:
    """Return the entity types (types with ``@key``) that ``sdl`` declares.

    A type with ``@djangoModel(appLabel:, model:, pkType:, listable:)`` names
    its Django model; any other entity type is taken as ``(project, type name)``
    with string ids. The fields are the type's scalar, enum and relation
    fields; a relation is a field whose type is another entity type, or a list
    of them. Stub types (``@key(..., resolvable: false)``) are not entities of
    ``project``: they only name the targets of relations.
    """
    schema = parse_sdl(sdl)
    found = []
    for type_ in schema.type_map.values():
        if not _is_entity(type_) or not _resolvable(type_.ast_node):
            continue
        info = _model_of(type_, project)
        fields: dict[str, str] = {}
        relations: dict[str, Relation] = {}
        for name, field in type_.fields.items():
            named = get_named_type(field.type)
            if name == "id":
                continue
            if isinstance(named, GraphQLScalarType | GraphQLEnumType):
                fields[name] = str(field.type)
            elif _is_entity(named):
                fields[name] = str(field.type)
                relations[name] = _relation(named, field.type, project)
        found.append(
            RemoteEntity(
                type_name=type_.name,
                app_label=info.app_label,
                model=info.model,
                pk_type=info.pk_type,
                fields=tuple(fields),
                listable=info.listable,
                field_types=tuple(fields.items()),
                relations=tuple(relations.items()),
            )
        )
    return sorted(found, key=lambda e: e.type_name)


def _is_entity(type_: Any) -> bool:
    node = type_.ast_node if isinstance(type_, GraphQLObjectType) else None
    return isinstance(node, ObjectTypeDefinitionNode) and _directive(node, "key") is not None


def _resolvable(node: ObjectTypeDefinitionNode) -> bool:
    return (_directive(node, "key") or {}).get("resolvable") is not False


def _model_of(type_: GraphQLObjectType, project: str) -> Any:
    info = read_directive(_directive(type_.ast_node, DIRECTIVE) or {})
    if info is None:
        return _Untyped(project, type_.name.lower(), PkType.STR, False)
    return info


@dataclass(frozen=True)
class _Untyped:
    """What is taken of an entity type without ``@djangoModel``."""

    app_label: str
    model: str
    pk_type: str
    listable: bool


def _relation(target: GraphQLObjectType, graphql_type: Any, project: str) -> Relation:
    info = _model_of(target, project)
    declared = getattr(info, "project", None)
    # A model the remote keeps in "shared" is the same table here; any other
    # target lives in the remote project itself, whatever it calls itself.
    related_project = conf.SHARED_PROJECT if declared == conf.SHARED_PROJECT else project
    inner = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    return Relation(
        project=related_project,
        app_label=info.app_label,
        model=info.model,
        pk_type=info.pk_type,
        many=isinstance(inner, GraphQLList),
    )


def _directive(node: ObjectTypeDefinitionNode, name: str) -> dict[str, str | bool] | None:
    for directive in node.directives or ():
        if directive.name.value == name:
            return {
                arg.name.value: arg.value.value
                for arg in directive.arguments or ()
                if isinstance(arg.value, StringValueNode | BooleanValueNode)
            }
    return None
