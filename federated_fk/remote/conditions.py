"""A remote query's conditions: ``Q`` trees and keyword lookups, checked and compiled.

``filter()`` and ``exclude()`` of a ``RemoteQuerySet`` hand their arguments
here: each keyword is checked against what the owning service declares
(``filter_fields``, and ``PK_LOOKUPS`` for the primary key), each value
against the field's type, and the tree is kept as ``Lookup`` and ``Node``
values; ``filter_input`` turns it into the ``filter`` variable the owning
service's query takes. Nothing here sends a request.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldError, ValidationError
from django.db.models import Q

from federated_fk.exceptions import RemoteNotQueryable
from federated_fk.scalars import scalar_named
from federated_fk.sdl import Queryable

if TYPE_CHECKING:
    from federated_fk.remote.objects import RemoteObject


#: What a primary key is filtered with when the owning service does not declare it.
PK_LOOKUPS = ("exact", "in")
#: The most ``XOR`` operands expanded into ``AND``/``OR``/``NOT`` (the expansion doubles each time).
MAX_XOR_OPERANDS = 8
#: The name a primary-key lookup compiles to when the remote does not declare ``id``.
PK = "pk"


# The compiled condition tree: what filter() and exclude() checked and kept.


@dataclass(frozen=True)
class Lookup:
    """One checked condition: a declared path (or ``PK``), an allowed lookup, its value."""

    path: str
    lookup: str
    value: Any


@dataclass(frozen=True)
class Node:
    """Conditions joined by ``AND`` or ``OR``, negated or not (never empty)."""

    connector: str
    children: tuple[Node | Lookup, ...]
    negated: bool = False


Condition = Node | Lookup


def join(connector: str, children: Iterable[Condition | None], negated: bool = False) -> Any:
    kept = tuple(c for c in children if c is not None)
    if not kept:
        return None  # Q() and ~Q() match everything, as Django's do
    if len(kept) == 1 and not negated:
        return kept[0]
    return Node(connector, kept, negated)


def negation(condition: Condition) -> Condition:
    if isinstance(condition, Node) and condition.negated:
        return join(condition.connector, condition.children)
    return Node("AND", (condition,), negated=True)


def _xor(children: list[Condition]) -> Condition | None:
    """Expand ``a ^ b ^ ...`` (true when an odd number are) into ``AND``/``OR``/``NOT``."""
    if len(children) > MAX_XOR_OPERANDS:
        raise FieldError(
            f"A remote query takes at most {MAX_XOR_OPERANDS} XOR operands, got {len(children)}."
        )
    result: Condition | None = None
    for child in children:
        if result is None:
            result = child
            continue
        result = join(
            "OR",
            [join("AND", [result, negation(child)]), join("AND", [negation(result), child])],
        )
    return result


class ConditionSpec:
    """What may be asked of one remote type; turns Q trees into checked conditions."""

    def __init__(self, model: type[RemoteObject], queryable: Queryable | None) -> None:
        self.model = model
        self.queryable = queryable
        opts = model._meta
        self.project: str = opts.project
        self.label: str = opts.label
        self.filters: Mapping[str, tuple[str, ...]] = dict(queryable.filters) if queryable else {}
        #: The declared name of the primary key, if the remote lets it be filtered on.
        self.pk_name = next((n for n in ("pk", "id") if n in self.filters), None)

    def choices(self) -> list[str]:
        return sorted({*self.filters, "pk"})

    def compile(self, q: Q, action: str) -> Condition | None:
        """Return ``q`` checked against the declaration.

        :raises RemoteNotQueryable: the type declares nothing and ``q`` asks
            for more than primary keys
        :raises FieldError: a path or lookup that is not declared
        """
        children: list[Condition] = []
        for child in q.children:
            if isinstance(child, Q):
                compiled = self.compile(child, action)
            else:
                keyword, value = child
                compiled = self.resolve(keyword, value, action)
            if compiled is not None:
                children.append(compiled)
        if q.connector == "XOR":
            expanded = _xor(children)
            return None if expanded is None else negation(expanded) if q.negated else expanded
        return join(q.connector, children, q.negated)

    def resolve(self, keyword: str, value: Any, action: str) -> Lookup:
        """Return the checked condition of one ``path__lookup=value`` keyword argument."""
        parts = keyword.split("__")
        if parts[0] in ("pk", "id") and len(parts) <= 2:
            lookup = "__".join(parts[1:]) or "exact"
            if lookup in PK_LOOKUPS:
                # Read through _entities when alone (``_check_route``), else
                # sent as the declared ``id`` path.
                return Lookup(PK, lookup, _pk_value(lookup, value))
            if self.pk_name is not None:
                return self._lookup(self.pk_name, lookup, value, keyword)
            raise FieldError(
                f"Unsupported lookup {lookup!r} for the primary key of remote "
                f"{self.label}: {', '.join(PK_LOOKUPS)} only, unless project "
                f"{self.project!r} declares 'id' in its filter_fields."
            )
        if self.queryable is None:
            raise RemoteNotQueryable(self.project, self.label, keyword, action)
        for cut in range(len(parts), 0, -1):
            path = "__".join(parts[:cut])
            if path in self.filters:
                return self._lookup(path, "__".join(parts[cut:]) or "exact", value, keyword)
        unknown = "__".join(parts[:-1]) if len(parts) > 1 and _is_lookup(parts[-1]) else keyword
        raise FieldError(
            f"Cannot resolve keyword {unknown!r} into field. Choices are: "
            f"{', '.join(self.choices())}. (Remote {self.label} is filtered on what project "
            f"{self.project!r} declares in filter_fields.)"
        )

    def _lookup(self, path: str, lookup: str, value: Any, keyword: str) -> Lookup:
        allowed = self.filters[path]
        if value is None and lookup in ("exact", "iexact"):
            # Django's spelling of "is null"; never sent as {exact: null}, which a
            # GraphQL filter reads as "no condition".
            if "isnull" not in allowed:
                raise FieldError(
                    f"{keyword}=None needs the 'isnull' lookup on {path!r}, which project "
                    f"{self.project!r} does not declare for remote {self.label}; "
                    f"allowed: {', '.join(allowed)}."
                )
            return Lookup(path, "isnull", True)
        if lookup not in allowed:
            raise FieldError(
                f"Unsupported lookup {lookup!r} for remote {self.label} field {path!r}: "
                f"project {self.project!r} allows {', '.join(allowed) or 'none'}."
            )
        return Lookup(path, lookup, _value(lookup, value, self._checker(path)))

    def _checker(self, path: str) -> Callable[[Any], Any]:
        """Return what checks a value of ``path`` and gives it as its scalar sends it."""
        types = dict(self.queryable.types) if self.queryable else {}
        scalar = scalar_named(types.get(path, ""))
        if scalar is None:
            return _json  # an enum, or a scalar nobody described: sent as given

        def check(value: Any) -> Any:
            try:
                return _json(scalar.parse(_json(value)))
            except (TypeError, ValueError, ValidationError):
                raise ValueError(
                    f"Remote {self.label} field {path!r} takes {scalar.name} values; "
                    f"{value!r} is not one."
                ) from None

        return check

    def ordering(self, names: tuple[str, ...]) -> tuple[tuple[str, bool], ...] | None:
        """Return ``order_by`` names as (declared field, descending) pairs; None for the default.

        The remote always orders by the primary key last, so a trailing
        ``"pk"`` (or ``"id"``) is that default, and needs no declaration.
        """
        if self.queryable is None:
            raise RemoteNotQueryable(
                self.project, self.label, ", ".join(names), "ordered by pk only"
            )
        order: list[tuple[str, bool]] = []
        for position, name in enumerate(names):
            descending = name.startswith("-")
            bare = name.lstrip("-")
            if bare in self.queryable.ordering:
                order.append((bare, descending))
            elif bare in ("pk", "id") and not descending and position == len(names) - 1:
                continue  # the remote's own last key
            else:
                raise FieldError(
                    f"Cannot resolve keyword {bare!r} into field. Choices are: "
                    f"{', '.join(sorted(self.queryable.ordering)) or 'none'}. (Remote "
                    f"{self.label} is ordered by what project {self.project!r} declares "
                    "in ordering, then by pk.)"
                )
        return tuple(order) or None


#: Django's lookup names: what the end of an unknown keyword may be (for the message).
_LOOKUP_NAMES = frozenset(
    "exact iexact contains icontains in gt gte lt lte startswith istartswith endswith "
    "iendswith range date year iso_year month day week week_day iso_week_day quarter time "
    "hour minute second isnull regex iregex".split()
)


def _is_lookup(name: str) -> bool:
    return name in _LOOKUP_NAMES


def _pk_value(lookup: str, value: Any) -> Any:
    if lookup == "in":
        return tuple(_as_pk(v) for v in _sequence(lookup, value) if v is not None)
    return _as_pk(value)


def _as_pk(value: Any) -> Any:
    # A model instance or a stand-in stands for its primary key.
    return value.pk if hasattr(value, "_meta") and hasattr(value, "pk") else value


def _sequence(lookup: str, value: Any) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"The {lookup!r} lookup takes a list of values, got {value!r}.")
    return list(value)


def _value(lookup: str, value: Any, check: Callable[[Any], Any]) -> Any:
    """Return ``value`` as the JSON a GraphQL variable carries, checked for its lookup.

    :param check: checks one value of the field and returns it as JSON
    """
    if lookup == "isnull":
        if not isinstance(value, bool):
            raise ValueError("The QuerySet value for an isnull lookup must be True or False.")
        return value
    if lookup == "in":
        return [check(v) for v in _sequence(lookup, value) if v is not None]
    if lookup == "range":
        bounds = _sequence(lookup, value)
        if len(bounds) != 2:
            raise ValueError(f"The 'range' lookup takes two values, got {len(bounds)}.")
        return [check(v) for v in bounds]
    if value is None:
        raise ValueError("Cannot use None as a query value")
    return check(value)


def _json(value: Any) -> Any:
    value = _as_pk(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    raise TypeError(f"A remote query cannot send {type(value).__name__} value {value!r}.")


def filter_input(condition: Condition | None, pk_name: str | None = None) -> Any:
    """Return the ``filter`` variable of a checked condition tree (None: no filter).

    Each object holds one path, or one of ``AND``/``OR``/``NOT``, never a mix,
    so that its meaning does not depend on how the remote combines them.
    """
    if condition is None:
        return None
    if isinstance(condition, Lookup):
        if condition.path == PK:  # mixed with other conditions: the declared id path
            if pk_name is None:
                raise AssertionError("_check_route() refuses a primary key nobody declared")
            value = condition.value
            if condition.lookup == "in":
                return {pk_name: {"in": [str(v) for v in value]}}
            # pk=None matches nothing, as in Django.
            return {pk_name: {"in": []} if value is None else {"exact": str(value)}}
        return {condition.path: {condition.lookup: condition.value}}
    parts = [filter_input(child, pk_name) for child in condition.children]
    body = parts[0] if len(parts) == 1 else {condition.connector: parts}
    return {"NOT": body} if condition.negated else body


def pk_only(condition: Condition | None) -> bool:
    if isinstance(condition, Lookup):
        return condition.path == PK
    if condition is None or condition.negated or condition.connector != "AND":
        return False
    return all(pk_only(child) for child in condition.children)


def pk_lookups(condition: Condition | None) -> Iterator[str]:
    """Yield the lookup of each primary-key condition of the tree."""
    if isinstance(condition, Lookup):
        if condition.path == PK:
            yield condition.lookup
    elif condition is not None:
        for child in condition.children:
            yield from pk_lookups(child)


def wanted_pks(condition: Condition) -> list[Any]:
    """The primary keys an ``AND`` of primary-key lookups names, in the order first given."""
    lookups = [condition] if isinstance(condition, Lookup) else list(condition.children)
    wanted: list[list[Any]] = []
    for lookup in lookups:
        assert isinstance(lookup, Lookup)  # pk_only() held
        values = list(lookup.value) if lookup.lookup == "in" else [lookup.value]
        wanted.append(values)
    if len(wanted) == 1:
        return wanted[0]
    # An intersection needs comparable ids: compared as the strings they travel as.
    others = [{str(v) for v in values} for values in wanted[1:]]
    return [v for v in wanted[0] if all(str(v) in keys for keys in others)]


def filter_input_text(condition: Condition) -> str:
    """Return a short description of a condition tree, for messages."""
    if isinstance(condition, Lookup):
        return f"{condition.path}__{condition.lookup}={condition.value!r}"
    inner = f" {condition.connector} ".join(filter_input_text(c) for c in condition.children)
    inner = f"({inner})" if len(condition.children) > 1 else inner
    return f"NOT {inner}" if condition.negated else inner
