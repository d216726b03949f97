"""Read the entity types of a remote subgraph from its SDL, trusting none of it.

The SDL comes from another service: everything in it is checked before a
content type is made from it (syntax, names, lengths, duplicates, how many).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    TypeDefinitionNode,
    build_ast_schema,
    get_named_type,
    parse,
)
from graphql.language import BooleanValueNode, ObjectTypeDefinitionNode, StringValueNode

from federated_fk import conf
from federated_fk.contract import DIRECTIVE, PkType, read_directive
from federated_fk.exceptions import FederationError, redact_remote_text

#: A GraphQL name, in ASCII (what ``@djangoModel`` strings must be too).
NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*", re.ASCII)

#: The default most entity types one project's SDL may declare.
DEFAULT_MAX_TYPES = 500

#: The most fields an entity type may have: each becomes part of a row.
MAX_FIELDS = 500

#: The most problems an InvalidSchema message lists.
_SHOWN = 10

#: The lookups that compare a value: what a declaration may allow on any ordered field.
COMPARISON_LOOKUPS = frozenset({"exact", "in", "isnull", "gt", "gte", "lt", "lte"})

#: The lookups that match text: for text fields only.
TEXT_LOOKUPS = frozenset(
    {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
)

#: Every lookup a remote query may use, by Django's name (``in``: a list, ``isnull``: a bool).
FILTER_LOOKUPS = COMPARISON_LOOKUPS | TEXT_LOOKUPS

#: The fields of a filter input that combine filters rather than name a path.
RESERVED_FILTER_NAMES = frozenset({"AND", "OR", "NOT", "DISTINCT"})


class InvalidSchema(FederationError):
    """A remote project's SDL that cannot be used as it is: nothing is made from it.

    :param project: the remote project
    :param problems: what is wrong, one sentence each (they quote the SDL,
        remote text: kept redacted, ``redact_remote_text``)
    """

    def __init__(self, project: str, problems: list[str]) -> None:
        self.project = project
        self.problems = [redact_remote_text(problem, 500) for problem in problems]
        listed = "; ".join(self.problems[:_SHOWN])
        more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
        super().__init__(
            f"The schema of project {project!r} was refused, nothing was stored: {listed}{more}."
        )


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
    #: Whether the remote calls this type's model ``"shared"``.
    shared: bool = False


def parse_sdl(sdl: str) -> Any:
    """Return the schema of ``sdl`` (federation directives need no definitions here).

    :raises graphql.GraphQLError: the SDL is not valid GraphQL syntax
    """
    # _service { sdl } has no federation directive definitions: skip validation.
    return build_ast_schema(parse(sdl), assume_valid_sdl=True)


def entities(
    sdl: str,
    project: str,
    max_types: int = DEFAULT_MAX_TYPES,
    max_lengths: dict[str, int] | None = None,
) -> list[RemoteEntity]:
    """Return the entity types (types with ``@key``) that ``sdl`` declares.

    A type with ``@djangoModel(appLabel:, model:, pkType:, listable:)`` names
    its Django model; any other entity type is taken as ``(project, type name)``
    with string ids. The fields are the type's scalar, enum and relation
    fields; a relation is a field whose type is another entity type, or a list
    of them. Stub types (``@key(..., resolvable: false)``) are not entities of
    ``project``: they only name the targets of relations.

    :param max_types: the most entity types accepted
    :param max_lengths: the longest ``type_name``, ``app_label`` and ``model``
        accepted, by attribute name
    :raises InvalidSchema: when anything in ``sdl`` is wrong; it lists every problem
    """
    document = _parse(sdl, project)
    _check_unique_type_names(document, project)
    try:
        found = _read(document, project)
    except (GraphQLError, TypeError) as exc:  # a schema graphql-core cannot build
        reason = str(exc).rstrip(".")
        raise InvalidSchema(project, [f"the schema cannot be built: {reason}"]) from None
    problems = _problems(found, project, max_types, max_lengths or {})
    if problems:
        raise InvalidSchema(project, problems)
    return found


def _parse(sdl: str, project: str) -> DocumentNode:
    if "\x00" in sdl:
        raise InvalidSchema(project, ["it holds a NUL character"])
    try:
        return parse(sdl, no_location=True)
    except GraphQLError as exc:
        raise InvalidSchema(project, [f"syntax error: {exc.message.rstrip('.')}"]) from None
    except RecursionError:
        raise InvalidSchema(project, ["syntax error: nested too deep"]) from None


def _check_unique_type_names(document: DocumentNode, project: str) -> None:
    names = Counter(d.name.value for d in document.definitions if isinstance(d, TypeDefinitionNode))
    repeated = sorted(name for name, count in names.items() if count > 1)
    if repeated:
        raise InvalidSchema(
            project, [f"type {name!r} is defined more than once" for name in repeated]
        )


def _problems(
    found: list[RemoteEntity], project: str, max_types: int, max_lengths: dict[str, int]
) -> list[str]:
    """Return what is wrong with the entity types read, as content types would hold them."""
    if len(found) > max_types:
        return [f"{len(found)} entity types, more than the {max_types} allowed"]
    problems = []
    for entity in found:
        for attribute in ("type_name", "app_label", "model"):
            value = getattr(entity, attribute)
            shown = _shown(value)
            # A type without @djangoModel takes the project's name as app label.
            if not NAME.fullmatch(value) and not (attribute == "app_label" and value == project):
                problems.append(f"{attribute} {shown} of type {entity.type_name!r} is not a name")
            limit = max_lengths.get(attribute)
            if limit is not None and len(value) > limit:
                problems.append(
                    f"{attribute} {shown} is longer than {limit} characters ({len(value)})"
                )
        for field, relation in entity.relations:
            for value in (relation.app_label, relation.model):
                if not NAME.fullmatch(value) and value != project:
                    shown = _shown(value)
                    problems.append(
                        f"relation {entity.type_name}.{field} names {shown}, which is not a name"
                    )
        if len(entity.fields) > MAX_FIELDS:
            problems.append(f"type {entity.type_name!r} has more than {MAX_FIELDS} fields")
    problems.extend(_untrusted_shared(found))
    models = Counter((e.app_label, e.model) for e in found)
    problems.extend(
        f"model {app_label}.{model} is named by {count} types"
        for (app_label, model), count in sorted(models.items())
        if count > 1
    )
    return problems


def _shown(value: str) -> str:
    """Return ``value`` quoted for a message, cut to 40 characters."""
    return repr(value[:40] + "..." if len(value) > 40 else value)


def _untrusted_shared(found: list[RemoteEntity]) -> list[str]:
    """Return a problem for each model the SDL calls "shared" that this service does not share.

    A "shared" model is read from this service's own tables: only this
    service's settings may say which ones those are.
    """
    claims = [(e.type_name, e.app_label, e.model) for e in found if e.shared]
    claims.extend(
        (f"{e.type_name}.{field}", rel.app_label, rel.model)
        for e in found
        for field, rel in e.relations
        if rel.project == conf.SHARED_PROJECT
    )
    return [
        f"{_shown(where)} calls {_shown(f'{app_label}.{model}')} {conf.SHARED_PROJECT!r}, but "
        f"this service lists neither {_shown(app_label)} in FEDERATION['SHARED_APPS'] nor "
        f"{_shown(f'{app_label}.{model}')} in FEDERATION['SHARED_MODELS']"
        for where, app_label, model in claims
        if not conf.is_shared_model(app_label, model)
    ]


def _read(document: DocumentNode, project: str) -> list[RemoteEntity]:
    # _service { sdl } has no federation directive definitions: skip validation.
    schema = build_ast_schema(document, assume_valid_sdl=True)
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
                shared=getattr(info, "project", None) == conf.SHARED_PROJECT,
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
