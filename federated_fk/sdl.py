"""Read the entity types of a remote subgraph from its SDL."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLScalarType,
    build_ast_schema,
    get_named_type,
    parse,
)
from graphql.language import BooleanValueNode, ObjectTypeDefinitionNode, StringValueNode

from federated_fk.contract import DIRECTIVE, read_directive


@dataclass(frozen=True)
class RemoteEntity:
    """One entity type of a remote subgraph, as a content type describes it."""

    type_name: str
    app_label: str
    model: str
    pk_type: str
    fields: tuple[str, ...]
    listable: bool = False
    #: GraphQL type of each field, e.g. ``"String!"``.
    field_types: tuple[tuple[str, str], ...] = ()


def entities(sdl: str, project: str) -> list[RemoteEntity]:
    """Return the entity types (types with ``@key``) that ``sdl`` declares.

    A type with ``@djangoModel(appLabel:, model:, pkType:, listable:)`` names
    its Django model; any other entity type is taken as ``(project, type name)`` with
    string ids. The fields are the type's scalar and enum fields.
    """
    # _service { sdl } has no federation directive definitions: skip validation.
    schema = build_ast_schema(parse(sdl), assume_valid_sdl=True)
    found = []
    for type_ in schema.type_map.values():
        node = type_.ast_node if isinstance(type_, GraphQLObjectType) else None
        if not isinstance(node, ObjectTypeDefinitionNode) or not _directive(node, "key"):
            continue
        model = read_directive(_directive(node, DIRECTIVE) or {})
        scalars = {
            name: str(field.type)
            for name, field in type_.fields.items()
            if name != "id"
            and isinstance(get_named_type(field.type), GraphQLScalarType | GraphQLEnumType)
        }
        found.append(
            RemoteEntity(
                type_name=type_.name,
                app_label=model.app_label if model else project,
                model=model.model if model else type_.name.lower(),
                pk_type=model.pk_type if model else "str",
                fields=tuple(scalars),
                listable=model.listable if model else False,
                field_types=tuple(scalars.items()),
            )
        )
    return sorted(found, key=lambda e: e.type_name)


def _directive(node: ObjectTypeDefinitionNode, name: str) -> dict[str, str | bool] | None:
    for directive in node.directives or ():
        if directive.name.value == name:
            return {
                arg.name.value: arg.value.value
                for arg in directive.arguments or ()
                if isinstance(arg.value, StringValueNode | BooleanValueNode)
            }
    return None
