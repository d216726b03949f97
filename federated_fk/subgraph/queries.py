"""Let other services query an entity type: what its owner declares, and how it runs.

The owning service names, on ``Subgraph.entity``, the fields others may
filter on (with the lookups allowed on each), order by and search::

    @subgraph.entity(
        Book,
        fields=["title", "price", "author"],
        filter_fields={"title": ["exact", "icontains"], "price": ["lt", "gt"]},
        ordering=["price", "title"],
        search_fields=["title", "author__name"],
    )
    class BookEntity: ...

``declare`` checks the declaration when the entity is declared (a name that
is not a field, a lookup the field does not take: ``ValueError`` naming the
choices). ``build`` then makes, for the entity type ``T``, the GraphQL types
of the protocol every consumer reads from the SDL: ``TFilter`` (one input
field per declared path, the Django path verbatim, plus ``AND``, ``OR``,
``NOT``), one ``T<Path>Lookup`` input per path (one field per allowed lookup,
Django's lookup name verbatim), ``TOrderField`` and ``TOrder``, the page type
``TQueryPage { total ids items }`` and the root field
``queryT(filter:, search:, orderBy:, offset:, limit:)``. The default of
``limit`` is its cap: what a consumer reads as the largest page.

How a query reads, in Django's terms: the entity's ``get_queryset`` first;
each lookup then matches as ``filter(path__lookup=value)`` would, except
that every relation on the way is a subquery over the related model's
visible rows, so that two lookups across one to-many relation may match
different related rows (as two chained ``filter()`` calls do), and
``isnull: true`` across a relation also matches a row with no visible related
row (as a join would). ``search`` splits its string into words (a "quoted
phrase" is one) and each must be ``icontains`` one of the search paths. The
order asked for ends with the primary key, ascending, so pages are stable;
nulls sort last ascending and first descending on every database.

Why not strawberry-graphql-django's ``filters.py`` and ``ordering.py``:

- their types are one per model, with camelCase names (``iContains``,
  ``inList``, ``isNull``), every lookup on every field, and relations as
  nested inputs; the protocol needs one type per declaration, with the
  Django path (``author__name``) and only the declared lookups, spelled as
  Django spells them, so that a consumer maps a ``filter()`` call to it
  without a table of names;
- ``process_filters`` turns a path into one join (``author__name__exact``),
  which would match through a related row that the related entity type's
  ``get_queryset`` hides; here each relation of a path is a subquery over the
  visible rows of its model (``author__in=<visible authors whose name ...>``),
  so a hidden row is never matched, counted or revealed, and a to-many
  relation never repeats a row;
- their ordering input is one field per orderable field valued by an enum of
  directions; the protocol's is a list of ``{field, descending}``.

What fits is used: the nulls placement of strawberry-django's ``Ordering``
(``NULLS LAST`` ascending, ``NULLS FIRST`` descending, on every database),
and the subgraph's own visibility (``visible``, ``restrict``) and batch
loading (``load_rows``), so that a page's items are the rows ``_entities``
would give.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import functools
import inspect
import keyword
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any

import strawberry
from asgiref.sync import sync_to_async
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.db.models.fields.reverse_related import ForeignObjectRel
from strawberry import UNSET
from strawberry.types import Info
from strawberry_django.ordering import Ordering

from federated_fk.contract import search_terms
from federated_fk.scalars import (
    PATTERN_LOOKUPS,
    is_finite_number,
    scalar_of_field,
    text_problem,
)
from federated_fk.sdl import (
    COMPARISON_LOOKUPS,
    FILTER_LOOKUPS,
    NAME,
    RESERVED_FILTER_NAMES,
)
from federated_fk.subgraph.entities import load_rows, visible
from federated_fk.subgraph.model_fields import restrict

#: The default largest page of a ``query<T>`` field, and so its default ``limit``.
DEFAULT_QUERY_LIMIT = 100

#: The most values of one ``in`` lookup.
MAX_IN_VALUES = 1000

#: The most lookups one ``filter`` argument may hold, ``AND``/``OR``/``NOT`` included.
MAX_FILTER_TERMS = 100

#: How deep ``AND``/``OR``/``NOT`` may nest.
MAX_FILTER_DEPTH = 10

#: The most entries of one ``orderBy`` argument.
MAX_ORDER_BY = 10

#: The lookups of a value that is neither text nor ordered (a key, a UUID, ...).
_EQUALITY_LOOKUPS = frozenset({"exact", "in", "isnull"})

#: The Python types whose values are ordered, so compared (``gt``, ``lte``, ...).
_ORDERED = (int, float, decimal.Decimal, datetime.date, datetime.time)


@dataclass(frozen=True)
class Hop:
    """One relation a path goes through, and how a subquery over its related rows is matched.

    A row matches when its ``outer`` field is among the ``inner`` values of
    the related rows: a forward key compares its own column (``inner`` None:
    the related rows' keys), any other relation a field of this model with
    the values the related rows point back with (no join, so no row twice).
    """

    name: str
    model: type[models.Model]
    many: bool
    outer: str
    inner: str | None

    def matches(self, rows: models.QuerySet) -> Q:
        """The rows of this hop's model that ``rows`` (of the related model) are related to."""
        if self.inner is None:
            return Q(**{f"{self.outer}__in": rows})
        # No NULL in the list: NOT IN over a NULL is never true.
        values = rows.filter(**{f"{self.inner}__isnull": False}).values(self.inner)
        return Q(**{f"{self.outer}__in": values})


def _hop(label: str, option: str, path: str, name: str, model_field: Any) -> Hop:
    """Return how ``path`` crosses the relation ``model_field`` (called ``name`` in lookups)."""
    related = model_field.related_model
    many = bool(model_field.one_to_many or model_field.many_to_many)
    if isinstance(model_field, models.ForeignKey):  # OneToOneField too
        return Hop(name, related, many, outer=name, inner=None)
    if isinstance(model_field, models.ManyToManyField):
        back = model_field.related_query_name()
        return Hop(name, related, many, outer="pk", inner=back)
    key = getattr(model_field, "field", None)
    if isinstance(model_field, ForeignObjectRel) and isinstance(key, models.ForeignKey):
        return Hop(name, related, many, outer=key.target_field.name, inner=key.name)
    if isinstance(model_field, ForeignObjectRel) and isinstance(key, models.ManyToManyField):
        return Hop(name, related, many, outer="pk", inner=key.name)
    raise ValueError(
        f"{label}: {option} {path!r} goes through {name!r} ({type(model_field).__name__}): "
        "only foreign keys, one-to-one and many-to-many relations, either way, are followed."
    )


@dataclass(frozen=True)
class FieldPath:
    """A declared Django path (``author__name``): the relations it crosses, then a field."""

    path: str
    hops: tuple[Hop, ...]
    field: models.Field
    #: The GraphQL scalar of the field: ``ID`` for a primary key.
    scalar: str
    annotation: Any
    #: The lookups the field takes (``lookups_of``).
    lookups: frozenset[str]


@dataclass(frozen=True)
class Declaration:
    """What an entity type lets others filter, order and search on: checked paths."""

    filters: Mapping[str, tuple[FieldPath, tuple[str, ...]]]
    ordering: tuple[FieldPath, ...]
    search: tuple[FieldPath, ...]


def declare(
    model: type[models.Model],
    filter_fields: Mapping[str, Sequence[str]] | None,
    ordering: Sequence[str] | None,
    search_fields: Sequence[str] | None,
) -> Declaration | None:
    """Return the checked declaration, or None when nothing may be queried.

    :param filter_fields: Django paths and the lookups allowed on each
    :param ordering: Django paths others may order by (in either direction)
    :param search_fields: Django paths of text fields a ``search`` matches
        (``icontains``)
    :raises ValueError: for a name that is not a field (naming the choices),
        a path that ends at a relation, a lookup the field does not take
        (naming those it takes), or anything that is not a GraphQL name
    """
    if not (filter_fields or ordering or search_fields):
        return None
    if filter_fields is not None and not isinstance(filter_fields, Mapping):
        raise ValueError(
            f"{model._meta.label}: filter_fields is a mapping of paths to lookups, "
            f'e.g. {{"title": ["exact", "icontains"]}}.'
        )
    filters = {
        path: (_resolve(model, path, "filter_fields"), _lookups(model, path, lookups))
        for path, lookups in (filter_fields or {}).items()
    }
    for resolved, lookups in filters.values():
        _check_lookups(model, resolved, lookups)
    order = tuple(_order_path(model, path) for path in _unique(model, ordering, "ordering"))
    search = tuple(
        _search_path(model, path) for path in _unique(model, search_fields, "search_fields")
    )
    return Declaration(filters=filters, ordering=order, search=search)


def _unique(model: type[models.Model], paths: Sequence[str] | None, option: str) -> list[str]:
    if isinstance(paths, str):
        raise ValueError(f"{model._meta.label}: {option} is a list of paths, not a string.")
    paths = list(paths or ())
    repeated = sorted({p for p in paths if paths.count(p) > 1})
    if repeated:
        raise ValueError(f"{model._meta.label}: {option} names {', '.join(repeated)} twice.")
    return paths


def _lookups(model: type[models.Model], path: str, lookups: Sequence[str]) -> tuple[str, ...]:
    if isinstance(lookups, str) or not lookups:
        raise ValueError(
            f"{model._meta.label}: filter_fields[{path!r}] is a non-empty list of lookups, "
            f"e.g. ['exact']."
        )
    unknown = [lookup for lookup in lookups if lookup not in FILTER_LOOKUPS]
    if unknown:
        raise ValueError(
            f"{model._meta.label}: filter_fields[{path!r}] names the lookup {unknown[0]!r}; "
            f"the lookups a declaration may allow are: {', '.join(sorted(FILTER_LOOKUPS))}."
        )
    if len(set(lookups)) != len(lookups):
        raise ValueError(f"{model._meta.label}: filter_fields[{path!r}] repeats a lookup.")
    return tuple(lookups)


def _check_lookups(model: type[models.Model], path: FieldPath, lookups: Sequence[str]) -> None:
    allowed = path.lookups
    refused = [lookup for lookup in lookups if lookup not in allowed]
    if refused:
        raise ValueError(
            f"{model._meta.label}: {path.path!r} ({path.scalar}) does not take the lookup "
            f"{refused[0]!r}; its lookups are: {', '.join(sorted(allowed))}."
        )


def lookups_of(python_type: Any) -> frozenset[str]:
    """Return the lookups a field whose values are ``python_type`` may be declared with.

    Text takes every lookup; ordered values (numbers, dates, times) compare;
    anything else is matched whole (a boolean: ``exact`` and ``isnull`` only).
    """
    if not isinstance(python_type, type):
        return _EQUALITY_LOOKUPS
    if issubclass(python_type, str):
        return FILTER_LOOKUPS
    if issubclass(python_type, bool):
        return _EQUALITY_LOOKUPS - {"in"}
    if issubclass(python_type, _ORDERED):
        return COMPARISON_LOOKUPS
    return _EQUALITY_LOOKUPS


def _order_path(model: type[models.Model], path: str) -> FieldPath:
    if isinstance(path, str) and path.startswith("-"):
        raise ValueError(
            f"{model._meta.label}: ordering names {path!r}; declare {path[1:]!r}: callers "
            "choose the direction."
        )
    resolved = _resolve(model, path, "ordering")
    many = [hop.name for hop in resolved.hops if hop.many]
    if many:
        raise ValueError(
            f"{model._meta.label}: ordering {path!r} goes through the to-many relation "
            f"{many[0]!r}, which gives a row many values to be ordered by."
        )
    return resolved


def _search_path(model: type[models.Model], path: str) -> FieldPath:
    resolved = _resolve(model, path, "search_fields")
    if resolved.lookups != FILTER_LOOKUPS:  # not text
        raise ValueError(
            f"{model._meta.label}: search_fields {path!r} is a {resolved.scalar}; a search "
            "matches text fields only (icontains)."
        )
    return resolved


def _resolve(model: type[models.Model], path: str, option: str) -> FieldPath:
    """Walk ``path`` from ``model``: relations, then one field with a GraphQL scalar."""
    label = model._meta.label
    if not isinstance(path, str) or not NAME.fullmatch(path) or "" in path.split("__"):
        raise ValueError(f"{label}: {option} names {path!r}, which is not a Django field path.")
    if path in RESERVED_FILTER_NAMES or path in ("true", "false", "null"):
        raise ValueError(f"{label}: {option} names {path!r}, a name the query types reserve.")
    hops: list[Hop] = []
    current = model
    parts = path.split("__")
    for index, part in enumerate(parts):
        try:
            model_field = current._meta.get_field(part)
        except FieldDoesNotExist:
            choices = ", ".join(sorted(f.name for f in current._meta.get_fields()))
            raise ValueError(
                f"{label}: {option} {path!r}: {current._meta.label} has no field {part!r}; "
                f"choices are: {choices}."
            ) from None
        last = index == len(parts) - 1
        if model_field.is_relation:
            related = model_field.related_model
            if related is None:
                raise ValueError(
                    f"{label}: {option} {path!r} goes through {part!r}, a generic relation "
                    "with no one related model."
                )
            if last:
                choices = ", ".join(
                    sorted(f.name for f in related._meta.get_fields() if not f.is_relation)
                )
                raise ValueError(
                    f"{label}: {option} {path!r} ends at the relation {part!r}; name one of "
                    f"its fields ({path}__<field>), choices are: {choices}."
                )
            hops.append(_hop(label, option, path, part, model_field))
            current = related
        elif not last:
            raise ValueError(
                f"{label}: {option} {path!r}: {part!r} is not a relation, so nothing follows it "
                "(lookups are declared apart, as filter_fields={path: [lookups]})."
            )
        else:
            return _field_path(label, option, path, tuple(hops), model_field)
    raise AssertionError("unreachable: the last part returns or raises")


def _field_path(
    label: str, option: str, path: str, hops: tuple[Hop, ...], model_field: models.Field
) -> FieldPath:
    """Type the field a path ends at as its entity type publishes it (a key as ``ID``)."""
    if model_field.primary_key:
        return FieldPath(path, hops, model_field, "ID", strawberry.ID, _EQUALITY_LOOKUPS)
    scalar = scalar_of_field(model_field)
    if scalar is None or isinstance(model_field, models.JSONField):
        kind = type(model_field).__name__
        raise ValueError(f"{label}: {option} {path!r} is a {kind}, which cannot be queried.")
    lookups = lookups_of(scalar.python_type)
    return FieldPath(path, hops, model_field, scalar.name, scalar.annotation, lookups)


# --- The GraphQL types of one declaration ------------------------------------------------


@dataclass
class QueryType:
    """The generated types and root field of one queryable entity type."""

    entity: type
    model: type[models.Model]
    type_name: str
    declaration: Declaration
    max_limit: int
    #: Model -> entity class registered in the same subgraph: the visibility of each hop.
    entity_of: Callable[[type[models.Model]], type | None]
    shareable: bool = False
    filter_type: type | None = None
    order_type: type | None = None
    page_type: type | None = None
    #: Each field of the filter input by Python name: its path, and its lookup
    #: input's fields (Python name -> Django lookup).
    filter_fields: dict[str, tuple[FieldPath, dict[str, str]]] = field(default_factory=dict)

    @property
    def field_name(self) -> str:
        """The root field: ``query`` + the type name (``queryShopBBook``)."""
        return root_field_name(self.type_name)


def root_field_name(type_name: str) -> str:
    """Return the root field that queries ``type_name``."""
    return f"query{type_name}"


def build(query: QueryType) -> Any:
    """Make the types of ``query`` and return its root field (a strawberry field)."""
    declaration = query.declaration
    for path in declaration.ordering:
        hidden = [hop for hop in path.hops if _hides_rows(query.entity_of(hop.model))]
        if hidden:
            raise ValueError(
                f"{query.model._meta.label}: ordering {path.path!r} goes through "
                f"{hidden[0].model._meta.label}, whose entity type hides rows: ordering by "
                "it would reveal what the hidden rows hold."
            )
    if declaration.filters:
        query.filter_type = _filter_type(query)
    if declaration.ordering:
        query.order_type = _order_type(query)
    query.page_type = _page_type(query)
    return strawberry.federation.field(
        resolver=_resolver(query),
        name=query.field_name,
        graphql_type=query.page_type,
        shareable=query.shareable,
        description=(
            f"The visible {query.type_name} rows that match, in the order asked for, then by "
            f"primary key (at most {query.max_limit} at once)."
        ),
    )


def _hides_rows(entity: type | None) -> bool:
    return entity is not None and hasattr(entity, "get_queryset")


def _python_name(name: str) -> str:
    return f"{name}_" if keyword.iskeyword(name) else name


def _input(name: str, fields: dict[str, tuple[str, Any]], description: str) -> type:
    """Return a strawberry input named ``name``: python name -> (GraphQL name, annotation)."""
    cls = type(name, (), {"__doc__": description})
    cls.__annotations__ = {}
    for python_name, (graphql_name, annotation) in fields.items():
        cls.__annotations__[python_name] = annotation | None
        setattr(cls, python_name, strawberry.field(name=graphql_name, default=UNSET))
    return strawberry.input(cls, name=name, description=description)


def _lookup_type(query: QueryType, path: FieldPath, lookups: Sequence[str]) -> tuple[type, dict]:
    names = {_python_name(lookup): lookup for lookup in lookups}
    fields = {}
    for python_name, lookup in names.items():
        if lookup == "in":
            annotation: Any = list[path.annotation]
        elif lookup == "isnull":
            annotation = bool
        else:
            annotation = path.annotation
        fields[python_name] = (lookup, annotation)
    name = f"{query.type_name}{path.path[:1].upper()}{path.path[1:]}Lookup"
    return _input(name, fields, f"The lookups allowed on {path.path}."), names


def _filter_type(query: QueryType) -> type:
    name = f"{query.type_name}Filter"
    cls = type(name, (), {"__doc__": f"Which {query.type_name} rows match: all that is given."})
    annotations: dict[str, Any] = {}
    for path, (resolved, lookups) in query.declaration.filters.items():
        lookup_type, names = _lookup_type(query, resolved, lookups)
        python_name = _python_name(path)
        annotations[python_name] = lookup_type | None
        setattr(cls, python_name, strawberry.field(name=path, default=UNSET))
        query.filter_fields[python_name] = (resolved, names)
    annotations["AND"] = list[cls] | None  # type: ignore[valid-type]
    annotations["OR"] = list[cls] | None  # type: ignore[valid-type]
    annotations["NOT"] = cls | None
    descriptions = {
        "AND": "Every one of these matches.",
        "OR": "At least one of these matches.",
        "NOT": "This does not match.",
    }
    for python_name, description in descriptions.items():
        setattr(
            cls,
            python_name,
            strawberry.field(name=python_name, default=UNSET, description=description),
        )
    cls.__annotations__ = annotations
    return strawberry.input(cls, name=name)


def _order_type(query: QueryType) -> type:
    paths = [path.path for path in query.declaration.ordering]
    members = Enum(f"{query.type_name}OrderField", {path: path for path in paths})  # type: ignore[misc]
    enum = strawberry.enum(
        members,
        name=f"{query.type_name}OrderField",
        description=f"What {query.type_name} rows may be ordered by.",
    )
    name = f"{query.type_name}Order"
    cls = type(name, (), {})
    cls.__annotations__ = {"field": enum, "descending": bool}
    cls.descending = strawberry.field(default=False)  # type: ignore[attr-defined]
    return strawberry.input(cls, name=name, description="One ordering key, and its direction.")


def _page_type(query: QueryType) -> type:
    entity = query.entity

    async def total(root: _Page) -> int:
        return await root.total()

    async def ids(root: _Page) -> list[strawberry.ID]:
        return [strawberry.ID(str(pk)) for pk in await root.pks()]

    async def items(root: _Page) -> list[Any]:
        return await root.items()

    name = f"{query.type_name}QueryPage"
    namespace = {
        "total": strawberry.field(resolver=total, description="How many visible rows match."),
        "ids": strawberry.field(resolver=ids, description="The primary keys of this page."),
        "items": strawberry.field(
            resolver=items,
            graphql_type=list[entity],  # type: ignore[valid-type]
            description="The rows of this page, in order.",
        ),
    }
    return strawberry.federation.type(
        type(name, (), namespace),
        name=name,
        shareable=query.shareable,
        description=f"A page of the {query.type_name} rows that match a query.",
    )


def _resolver(query: QueryType) -> Callable[..., Any]:
    async def resolve(info: Info, **arguments: Any) -> _Page:
        return _Page.make(query, info, **arguments)

    keyword_only = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("info", keyword_only, annotation=Info)]
    if query.filter_type is not None:
        parameters.append(
            inspect.Parameter(
                "filter", keyword_only, default=None, annotation=query.filter_type | None
            )
        )
    if query.declaration.search:
        searched = ", ".join(path.path for path in query.declaration.search)
        description = (
            f"Words that must each be in one of: {searched} (case-insensitive; "
            '"quoted words" stay together).'
        )
        parameters.append(
            inspect.Parameter(
                "search",
                keyword_only,
                default=None,
                annotation=Annotated[str | None, strawberry.argument(description=description)],
            )
        )
    if query.order_type is not None:
        parameters.append(
            inspect.Parameter(
                "order_by", keyword_only, default=None, annotation=list[query.order_type] | None
            )
        )
    limit = Annotated[
        int, strawberry.argument(description=f"At most {query.max_limit}, the default.")
    ]
    parameters += [
        inspect.Parameter("offset", keyword_only, default=0, annotation=int),
        inspect.Parameter("limit", keyword_only, default=query.max_limit, annotation=limit),
    ]
    resolve.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return resolve


# --- Running a query -----------------------------------------------------------------------


def check_operand(where: str, value: Any, pattern: bool = False) -> None:
    """Refuse a value no column holds: NaN, an infinity, or text ``text_problem`` refuses.

    (PostgreSQL refuses NUL in text outright; SQLite would cut the text there.)

    :param pattern: the value is compared as a pattern (``PATTERN_LOOKUPS``)
    :raises ValueError: naming where the value was given
    """
    problem = text_problem(value, pattern) if isinstance(value, str) else None
    if problem is not None:
        raise ValueError(f"{where}: text {problem}.")
    if isinstance(value, decimal.Decimal | float) and not is_finite_number(value):
        raise ValueError(f"{where}: {_cut(str(value))} is not a finite number.")


def _cut(text: str) -> str:
    # A value the caller sent, quoted back: at most 40 characters of it.
    return text if len(text) <= 40 else text[:37] + "..."


class _Budget:
    """Counts the lookups of one ``filter`` argument."""

    def __init__(self) -> None:
        self.spent = 0

    def spend(self) -> None:
        self.spent += 1
        if self.spent > MAX_FILTER_TERMS:
            raise ValueError(f"A filter may hold at most {MAX_FILTER_TERMS} lookups.")


def _given(value: Any) -> bool:
    return value is not None and value is not UNSET


class _Compiler:
    """Turns the (validated) arguments of one query into a ``Q``: only declared paths."""

    def __init__(self, query: QueryType, info: Info) -> None:
        self.query = query
        self.info = info
        self.budget = _Budget()

    def filter(self, value: Any, depth: int = 0) -> Q:
        if depth > MAX_FILTER_DEPTH:
            raise ValueError(f"AND, OR and NOT may nest at most {MAX_FILTER_DEPTH} deep.")
        q = Q()
        for python_name, (path, lookups) in self.query.filter_fields.items():
            given = getattr(value, python_name, UNSET)
            if not _given(given):
                continue
            for lookup_name, lookup in lookups.items():
                operand = getattr(given, lookup_name, UNSET)
                if _given(operand):
                    self.budget.spend()
                    q &= self.lookup(path, lookup, operand)
        for connector, combine in (("AND", operator.and_), ("OR", operator.or_)):
            members = getattr(value, connector, UNSET)
            if _given(members) and members:
                self.budget.spend()
                parts = [self.filter(member, depth + 1) for member in members]
                q &= functools.reduce(combine, parts)
        negated = getattr(value, "NOT", UNSET)
        if _given(negated):
            self.budget.spend()
            inner = self.filter(negated, depth + 1)
            if inner:
                q &= ~inner
        return q

    def lookup(self, path: FieldPath, lookup: str, operand: Any) -> Q:
        """``path__lookup=operand`` over visible rows: a subquery per relation crossed."""
        if lookup == "in" and len(operand) > MAX_IN_VALUES:
            raise ValueError(f"An 'in' lookup takes at most {MAX_IN_VALUES} values.")
        for value in operand if isinstance(operand, list) else [operand]:
            check_operand(f"{path.path}__{lookup}", value, lookup in PATTERN_LOOKUPS)
        return self._through(
            path.hops, Q(**{f"{path.field.name}__{lookup}": operand}), lookup, operand
        )

    def _through(self, hops: Sequence[Hop], q: Q, lookup: str, operand: Any) -> Q:
        if not hops:
            return q
        hop, rest = hops[0], hops[1:]
        rows = restrict(
            self.query.entity_of(hop.model), hop.model._default_manager.all(), self.info
        )
        matched = hop.matches(rows.filter(self._through(rest, q, lookup, operand)))
        if lookup == "isnull" and operand:
            # As a join would: a row with no (visible) related row matches too.
            return matched | ~hop.matches(rows)
        return matched

    def search(self, text: str) -> Q:
        check_operand("search", text)
        terms = search_terms(text)
        q = Q()
        for term in terms:
            q &= functools.reduce(
                operator.or_,
                (self.lookup(path, "icontains", term) for path in self.query.declaration.search),
            )
        return q

    def order(self, order_by: Iterable[Any]) -> list[Any]:
        keys = list(order_by)
        if len(keys) > MAX_ORDER_BY:
            raise ValueError(f"orderBy may hold at most {MAX_ORDER_BY} keys.")
        ordering = []
        for key in keys:
            direction = Ordering.DESC_NULLS_FIRST if key.descending else Ordering.ASC_NULLS_LAST
            ordering.append(direction.resolve(key.field.value))
        return [*ordering, "pk"]


class _Page:
    """One answer of a ``query<T>`` field: each part loaded when it is asked for."""

    def __init__(self, query: QueryType, info: Info, queryset: Any, offset: int, limit: int):
        self.query = query
        self.info = info
        self.queryset = queryset
        self.offset = offset
        self.limit = limit
        self._pks: asyncio.Future[list[Any]] | None = None

    @classmethod
    def make(
        cls,
        query: QueryType,
        info: Info,
        *,
        offset: int,
        limit: int,
        filter: Any = None,
        search: str | None = None,
        order_by: list[Any] | None = None,
    ) -> _Page:
        if not (offset >= 0 and 0 <= limit <= query.max_limit):
            raise ValueError(f"offset must be >= 0 and limit from 0 to {query.max_limit}.")
        compiler = _Compiler(query, info)
        # Nothing runs here: the queryset is evaluated by the fields asked for.
        queryset = visible(query.entity, query.model, info)
        if _given(filter):
            queryset = queryset.filter(compiler.filter(filter))
        if _given(search):
            queryset = queryset.filter(compiler.search(search))
        queryset = queryset.order_by(*compiler.order(order_by or ()))
        return cls(query, info, queryset, offset, limit)

    async def total(self) -> int:
        return await sync_to_async(self.queryset.count)()

    async def pks(self) -> list[Any]:
        if self._pks is None:
            self._pks = asyncio.ensure_future(sync_to_async(self._load_pks)())
        return await self._pks

    def _load_pks(self) -> list[Any]:
        if not self.limit:
            return []
        window = self.queryset.values_list("pk", flat=True)[self.offset : self.offset + self.limit]
        return list(window)

    async def items(self) -> list[Any]:
        pks = await self.pks()
        if not pks:
            return []
        rows = await sync_to_async(load_rows)(
            self.query.entity, self.query.model, [str(pk) for pk in pks], self.info
        )
        # A row hidden or deleted since its key was read is left out.
        return [row for row in rows if isinstance(row, models.Model)]
