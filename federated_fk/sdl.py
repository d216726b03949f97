"""Read the entity types of a remote subgraph from its SDL, trusting none of it.

The SDL comes from another service: everything in it is checked before a
content type is made from it (syntax, names, lengths, duplicates, how many).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    TypeDefinitionNode,
    build_ast_schema,
    get_named_type,
    parse,
)
from graphql.language import (
    BooleanValueNode,
    IntValueNode,
    ObjectTypeDefinitionNode,
    StringValueNode,
)

from federated_fk import conf
from federated_fk.contract import DIRECTIVE, PkType, read_directive
from federated_fk.exceptions import FederationError, RemoteSchemaError, redact_remote_text

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

#: The largest page a remote ``query<T>`` field may claim to answer.
MAX_QUERY_LIMIT = 10_000

#: The longest name of a remote query's field, type or path.
MAX_QUERY_NAME_LENGTH = 200

#: The arguments a ``query<T>`` field may have.
_QUERY_ARGUMENTS = frozenset({"filter", "search", "orderBy", "offset", "limit"})


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


#: The largest page a stored declaration may name.
MAX_STORED_PAGE = 10_000


def _optional(name: Any) -> str | None:
    return None if name is None else str(name)


@dataclass(frozen=True)
class Queryable:
    """What a remote entity type lets others query: its ``query<T>`` root field.

    :param field: the root field (``queryShopBBook``)
    :param filter_type: the input type of its ``filter`` argument, None without one
    :param order_type: the input type of its ``orderBy`` items, None without one
    :param filters: each Django path and its lookups, Django's names
    :param types: the GraphQL scalar of each path's values
    :param ordering: the paths it orders by
    :param search: whether it takes a ``search`` string
    :param max_limit: its largest page (the default of its ``limit``)
    """

    field: str
    filter_type: str | None
    order_type: str | None
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    types: tuple[tuple[str, str], ...]
    ordering: tuple[str, ...]
    search: bool
    max_limit: int

    @classmethod
    def read(cls, label: str, described: Mapping[str, Any] | None) -> Queryable | None:
        """Return the declaration stored in a content type's ``queryable``, or None if empty.

        :raises RemoteSchemaError: the stored declaration is malformed (its
            names go into query text, so they are checked again here)
        """
        if not described:
            return None
        try:
            made = cls(
                field=str(described["field"]),
                filter_type=_optional(described.get("filter_type")),
                order_type=_optional(described.get("order_type")),
                filters=tuple(
                    (str(path), tuple(str(lookup) for lookup in lookups))
                    for path, lookups in dict(described.get("filters") or {}).items()
                ),
                types=tuple(
                    (str(k), str(v)) for k, v in dict(described.get("types") or {}).items()
                ),
                ordering=tuple(str(name) for name in described.get("ordering") or ()),
                search=bool(described.get("search")),
                max_limit=int(described.get("max_limit") or 100),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RemoteSchemaError(
                f"The stored query description of remote {label} is malformed ({exc!r}): "
                "run sync_remote_contenttypes again."
            ) from None
        # A declaration needs its input type: filters a filter type, ordering an order type.
        names = [
            made.field,
            made.filter_type if made.filters or made.filter_type else "Filter",
            made.order_type if made.ordering or made.order_type else "Order",
        ]
        for name in names:
            if not isinstance(name, str) or not NAME.fullmatch(name):
                raise RemoteSchemaError(
                    f"The stored query description of remote {label} names {name!r} "
                    "where a GraphQL name belongs: run sync_remote_contenttypes again."
                )
        if not 1 <= made.max_limit <= MAX_STORED_PAGE:
            raise RemoteSchemaError(
                f"The stored page size of remote {label} is {made.max_limit}, "
                f"not 1 to {MAX_STORED_PAGE}."
            )
        return made

    def as_json(self) -> dict[str, Any]:
        """Return the declaration as stored in ``GenericContentType.queryable``."""
        return {
            "field": self.field,
            "filter_type": self.filter_type,
            "order_type": self.order_type,
            "filters": {path: list(lookups) for path, lookups in self.filters},
            "types": dict(self.types),
            "ordering": list(self.ordering),
            "search": self.search,
            "max_limit": self.max_limit,
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
    #: What others may query (``query<T>``), None if nothing.
    queryable: Queryable | None = None


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
    ``project``: they only name the targets of relations. A root field
    ``query<T>`` makes ``T`` queryable (``Queryable``): its arguments' input
    types carry the paths, lookups and ordering that may be used.

    :param max_types: the most entity types accepted
    :param max_lengths: the longest ``type_name``, ``app_label`` and ``model``
        accepted, by attribute name
    :raises InvalidSchema: when anything in ``sdl`` is wrong; it lists every problem
    """
    document = _parse(sdl, project)
    _check_unique_type_names(document, project)
    query_problems: list[str] = []
    try:
        found = _read(document, project, query_problems)
    except (GraphQLError, TypeError) as exc:  # a schema graphql-core cannot build
        reason = str(exc).rstrip(".")
        raise InvalidSchema(project, [f"the schema cannot be built: {reason}"]) from None
    problems = query_problems + _problems(found, project, max_types, max_lengths or {})
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


def _read(document: DocumentNode, project: str, problems: list[str]) -> list[RemoteEntity]:
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
                queryable=_queryable(schema, type_, problems),
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


# --- query<T>: what a remote type lets others query ----------------------------------------


def _queryable(
    schema: GraphQLSchema, type_: GraphQLObjectType, problems: list[str]
) -> Queryable | None:
    """Read the ``query<T>`` root field of ``type_``; None if there is none.

    Everything is checked as the protocol has it (``federated_fk.subgraph.queries``
    writes it): a problem is added for anything else, and None returned.
    """
    name = f"query{type_.name}"
    root = schema.query_type
    field = root.fields.get(name) if root is not None else None
    if field is None:
        return None
    found: list[str] = []
    queryable = _read_query(name, field, type_, found)
    problems.extend(f"Query.{name}: {problem}" for problem in found)
    return None if found else queryable


def _read_query(
    name: str, field: GraphQLField, type_: GraphQLObjectType, problems: list[str]
) -> Queryable | None:
    _check_page(field, type_, problems)
    args = field.args
    unknown = sorted(set(args) - _QUERY_ARGUMENTS)
    if unknown:
        problems.append(f"unknown arguments {', '.join(_shown(a) for a in unknown[:_SHOWN])}")
    if str(getattr(args.get("offset"), "type", None)) != "Int!":
        problems.append("its offset argument is not Int!")
    max_limit = _max_limit(args.get("limit"), problems)
    search = "search" in args
    if search and str(args["search"].type) != "String":
        problems.append("its search argument is not String")
    filter_type, filters, types = _read_filter(args.get("filter"), problems)
    order_type, ordering = _read_order(args.get("orderBy"), problems)
    if problems:
        return None
    return Queryable(
        field=name,
        filter_type=filter_type,
        order_type=order_type,
        filters=filters,
        types=types,
        ordering=ordering,
        search=search,
        max_limit=max_limit,
    )


def _check_page(field: GraphQLField, type_: GraphQLObjectType, problems: list[str]) -> None:
    page = field.type.of_type if isinstance(field.type, GraphQLNonNull) else None
    expected = {"total": "Int!", "ids": "[ID!]!", "items": f"[{type_.name}!]!"}
    if not isinstance(page, GraphQLObjectType) or any(
        str(getattr(page.fields.get(n), "type", None)) != t for n, t in expected.items()
    ):
        problems.append(
            f"it does not answer a page {{ total: Int!, ids: [ID!]!, items: [{type_.name}!]! }}"
        )


def _max_limit(limit: GraphQLArgument | None, problems: list[str]) -> int:
    node = getattr(getattr(limit, "ast_node", None), "default_value", None)
    digits = node.value if isinstance(node, IntValueNode) else ""
    default = int(digits) if digits.isdigit() and len(digits) <= 6 else None
    if (
        limit is None
        or str(limit.type) != "Int!"
        or not isinstance(default, int)
        or isinstance(default, bool)
        or not 1 <= default <= MAX_QUERY_LIMIT
    ):
        problems.append(
            f"its limit argument is not Int! with a default (its largest page) from 1 to "
            f"{MAX_QUERY_LIMIT}"
        )
        return 0
    return default


def _query_name(value: str, what: str, problems: list[str], path: bool = False) -> bool:
    """Check ``value`` is a name (a Django path if ``path``); add a problem if not."""
    ok = bool(NAME.fullmatch(value)) and len(value) <= MAX_QUERY_NAME_LENGTH
    if path:
        ok = ok and "" not in value.split("__") and value not in RESERVED_FILTER_NAMES
    if not ok:
        problems.append(f"{what} {_shown(value)} is not a {'field path' if path else 'name'}")
    return ok


def _read_filter(
    argument: GraphQLArgument | None, problems: list[str]
) -> tuple[str | None, tuple[tuple[str, tuple[str, ...]], ...], tuple[tuple[str, str], ...]]:
    if argument is None:
        return None, (), ()
    filter_type = argument.type
    if not isinstance(filter_type, GraphQLInputObjectType):
        problems.append("its filter argument is not a nullable input type")
        return None, (), ()
    name = filter_type.name
    _query_name(name, "the filter type", problems)
    combinators = {"AND": f"[{name}!]", "OR": f"[{name}!]", "NOT": name}
    for combinator, expected in combinators.items():
        given = filter_type.fields.get(combinator)
        if given is None or str(given.type) != expected:
            problems.append(f"{name}.{combinator} is not {expected}")
    paths = {p: f for p, f in filter_type.fields.items() if p not in combinators}
    if not paths or len(paths) > MAX_FIELDS:
        problems.append(f"{name} has {len(paths)} paths (from 1 to {MAX_FIELDS})")
        return name, (), ()
    filters, types = [], []
    for path, path_field in paths.items():
        if not _query_name(path, f"{name} path", problems, path=True):
            continue
        lookups, scalar = _read_lookups(path, path_field.type, problems)
        filters.append((path, lookups))
        types.append((path, scalar))
    return name, tuple(filters), tuple(types)


def _read_lookups(path: str, lookup_type: Any, problems: list[str]) -> tuple[tuple[str, ...], str]:
    """Return the lookups of ``path`` and the scalar of its values."""
    if not isinstance(lookup_type, GraphQLInputObjectType) or not lookup_type.fields:
        problems.append(f"the lookups of {_shown(path)} are not a nullable input type")
        return (), ""
    lookups = tuple(lookup_type.fields)
    unknown = [lookup for lookup in lookups if lookup not in FILTER_LOOKUPS]
    if unknown:
        problems.append(
            f"{_shown(path)} has the lookup {_shown(unknown[0])}, which is not one of: "
            f"{', '.join(sorted(FILTER_LOOKUPS))}"
        )
        return (), ""
    scalars = set()
    for lookup, lookup_field in lookup_type.fields.items():
        given = lookup_field.type
        if lookup == "isnull":
            if str(given) != "Boolean":
                problems.append(f"{_shown(path)}'s isnull is not Boolean")
            continue
        if lookup == "in":
            if not isinstance(given, GraphQLList) or not isinstance(given.of_type, GraphQLNonNull):
                problems.append(f"{_shown(path)}'s in is not a list of values")
                continue
            given = given.of_type.of_type
        if not isinstance(given, GraphQLScalarType | GraphQLEnumType):
            problems.append(f"{_shown(path)}'s {lookup} is not a nullable scalar")
            continue
        scalars.add(given.name)
    if len(scalars) > 1:
        problems.append(f"the lookups of {_shown(path)} take {len(scalars)} different scalars")
    scalar = next(iter(scalars), "Boolean")
    _query_name(scalar, f"the scalar of {_shown(path)}", problems)
    return lookups, scalar


def _read_order(
    argument: GraphQLArgument | None, problems: list[str]
) -> tuple[str | None, tuple[str, ...]]:
    if argument is None:
        return None, ()
    given = argument.type
    order = given.of_type.of_type if isinstance(given, GraphQLList) else None
    if not isinstance(order, GraphQLInputObjectType) or not isinstance(
        given.of_type, GraphQLNonNull
    ):
        problems.append("its orderBy argument is not a nullable list of input values")
        return None, ()
    _query_name(order.name, "the order type", problems)
    field_type = getattr(order.fields.get("field"), "type", None)
    descending = getattr(order.fields.get("descending"), "type", None)
    enum = getattr(field_type, "of_type", None)
    if (
        set(order.fields) != {"field", "descending"}
        or not isinstance(field_type, GraphQLNonNull)
        or not isinstance(enum, GraphQLEnumType)
        or str(descending) != "Boolean!"
    ):
        problems.append(f"{order.name} is not {{ field: <enum>!, descending: Boolean! }}")
        return order.name, ()
    values = tuple(enum.values)
    if not values or len(values) > MAX_FIELDS:
        problems.append(f"{enum.name} has {len(values)} values (from 1 to {MAX_FIELDS})")
        return order.name, ()
    for value in values:
        _query_name(value, f"{enum.name} value", problems, path=True)
    return order.name, values
