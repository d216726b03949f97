"""Filtering local rows by their targets: objects, local querysets, remote querysets.

A ``FederatedForeignKey`` or ``FederatedManyToManyField`` stores a target as
(content type, object id); a ``RemoteForeignKey`` stores the id alone. To
keep the local rows whose targets are in a set, the set becomes, per content
type, what the object-id column is compared with:

- objects: their ids;
- a local queryset: a subquery, run by the database with the local query;
- a remote queryset: the ids the owning service matched, asked for when the
  local query is compiled (``RemoteQuerySet.pks()``, one request per page).
  Ids travel, rows do not. ``pks()`` raises ``TooManyRemoteIds`` past
  ``FEDERATION["MAX_PUSHDOWN_IDS"]``: a set is never cut silently.

Ids are compared as the key column stores them: a ``CharField`` object id
holds ``str(pk)``, so a subquery casts integer keys to text, and the keys of
other types (UUIDs, which SQLite stores as 32 hex digits) are read first and
compared as text.

``FederatedManager`` (``FederatedQuerySetMixin`` in a queryset of one's own)
gives ``filter(content_object__in=...)`` for a model's FederatedForeignKeys,
which Django's ORM refuses before any lookup runs (a ``GenericForeignKey``
has no related model, and ``Query.names_to_path`` rejects it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.core.exceptions import EmptyResultSet, FieldError, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import Expression
from django.db.models.functions import Cast
from django.db.models.sql.query import Query

from federated_fk.exceptions import FederationError, TooManyRemoteIds
from federated_fk.ids import pk_field
from federated_fk.models import GenericContentType
from federated_fk.partial import PartialResult
from federated_fk.remote import RemoteObject

#: The lookups a FederatedForeignKey takes through FederatedQuerySet.
FOREIGN_KEY_LOOKUPS = ("exact", "in", "isnull")


def is_remote_queryset(value: Any) -> bool:
    """Whether ``value`` is a remote queryset: it has ``model`` and ``pks()``.

    A ``RemoteQuerySet`` (``StandIn.objects.filter(...)``) names its
    stand-in class as ``model`` and returns the matching ids from ``pks()``.
    """
    return (
        not isinstance(value, QuerySet | Query | type)
        and callable(getattr(type(value), "pks", None))
        and isinstance(getattr(value, "model", None), type)
    )


@dataclass
class TargetGroup:
    """Targets of one model: explicit ids, a local queryset or a remote queryset.

    :param model: a local model or a remote stand-in class
    """

    model: type
    ids: list[Any] = field(default_factory=list)
    queryset: QuerySet | None = None
    remote: Any = None


def group_targets(value: Any, what: str) -> list[TargetGroup]:
    """Return ``value`` as groups of targets, one per model and queryset.

    ``value`` is an object, a local or remote queryset, or an iterable of
    them (mixed as you like). Objects of one model share a group.

    :param what: the field, for messages (``"Reference.content_object"``)
    :raises TypeError: a value is none of these
    :raises ValueError: an object has no primary key
    """
    items = [value] if _is_single(value) else list(value)
    groups: list[TargetGroup] = []
    by_model: dict[type, TargetGroup] = {}
    for item in items:
        if isinstance(item, Query):
            item = QuerySet(model=item.model, query=item)
        if isinstance(item, QuerySet):
            groups.append(TargetGroup(item.model, queryset=item))
        elif is_remote_queryset(item):
            groups.append(TargetGroup(item.model, remote=item))
        elif isinstance(item, models.Model | RemoteObject):
            if item.pk is None:
                raise ValueError(f"Cannot filter {what} by {item!r}: it has no primary key.")
            group = by_model.get(type(item))
            if group is None:
                group = by_model[type(item)] = TargetGroup(type(item))
                groups.append(group)
            group.ids.append(item.pk)
        else:
            raise TypeError(
                f"{what} is compared with model instances, remote objects, local or "
                f"remote querysets, or a list of them; got {item!r}."
            )
    return groups


def _is_single(value: Any) -> bool:
    return isinstance(value, QuerySet | Query | models.Model | RemoteObject | str) or (
        is_remote_queryset(value) or not isinstance(value, Iterable)
    )


class TargetIds(Expression):
    """The ids of a set of targets, read when the query is compiled: ``col IN (...)``.

    ``source`` returns the ids (a remote queryset's ``pks``); each is
    converted as ``output_field`` (the key column) stores it. An id the
    column cannot hold names no row of it and is left out; no id at all
    matches nothing.
    """

    def __init__(self, source: Callable[[], Iterable[Any]], output_field: models.Field) -> None:
        super().__init__(output_field=output_field)
        self.source = source

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.source!r})"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column = self.output_field
        params: dict[Any, None] = {}
        for value in self.source():
            try:
                params[column.get_db_prep_value(value, connection, prepared=False)] = None
            except (TypeError, ValueError, ValidationError):
                continue  # not a value of this column: no row holds it
        if not params:
            raise EmptyResultSet
        return ", ".join(["%s"] * len(params)), list(params)


def group_values(group: TargetGroup, column: models.Field) -> Any:
    """Return what ``column`` (an object-id column) is compared with, by ``IN``, for ``group``."""
    if group.remote is not None:
        return TargetIds(group.remote.pks, column)
    if group.queryset is None:
        return TargetIds(group.ids.copy, column)
    queryset = group.queryset
    key = pk_field(queryset.model)
    if _same_type(key, column):
        return queryset.values("pk")
    if _is_text(column) and isinstance(key, models.IntegerField):
        # The column holds str(pk): "1" is compared with CAST(1 AS text).
        return queryset.values(federated_target_id=Cast("pk", models.CharField()))
    # Other keys (UUIDs) have no portable text form in SQL: SQLite stores
    # them as 32 hex digits, the column as str(uuid). Read them, then compare.
    return TargetIds(lambda: queryset.values_list("pk", flat=True), column)


def _same_type(key: models.Field, column: models.Field) -> bool:
    """Whether the column holds the key's values as the key's own column does."""
    if isinstance(key, models.IntegerField) and isinstance(column, models.IntegerField):
        return True
    if _is_text(key) and _is_text(column):
        return True
    return key.get_internal_type() == column.get_internal_type()


def _is_text(column: models.Field) -> bool:
    return isinstance(column, models.CharField | models.TextField)


def content_type_id(model: type, using: str | None, for_concrete_model: bool = True) -> int:
    """Return the id of the GenericContentType of ``model`` in database ``using``."""
    manager = GenericContentType.objects.db_manager(using)
    return manager.get_for_model(model, for_concrete_model=for_concrete_model).pk


# -- FederatedForeignKey ------------------------------------------------------


def targets_q(key: GenericForeignKey, lookup: str, value: Any, using: str | None = None) -> Q:
    """Return a Q keeping the rows whose ``key`` target matches ``lookup`` and ``value``.

    Works on any manager: ``Reference.objects.filter(targets_q(field, "in", qs))``.

    :param key: a FederatedForeignKey
    :param lookup: ``"in"``, ``"exact"`` or ``"isnull"``
    :param value: as ``group_targets`` takes it (``isnull``: a bool)
    """
    opts = key.model._meta
    ct_name = opts.get_field(key.ct_field).attname
    if lookup == "isnull":
        return Q(**{f"{ct_name}__isnull": bool(value)})
    if lookup == "exact" and value is None:
        return Q(**{f"{ct_name}__isnull": True})
    column = opts.get_field(key.fk_field)
    q = Q(pk__in=[])  # no target: no row
    for group in group_targets(value, f"{opts.object_name}.{key.name}"):
        ct_id = content_type_id(group.model, using, key.for_concrete_model)
        q |= Q(**{ct_name: ct_id, f"{key.fk_field}__in": group_values(group, column)})
    return q


def partial_targets_q(
    key: GenericForeignKey, targets: Iterable[Any], using: str | None = None
) -> PartialResult[Q]:
    """Return ``targets_q(key, "in", ...)`` over ``targets``, asking remote querysets now.

    Each remote queryset's ids are read here rather than when the local query
    runs, so that a project that cannot answer matches nothing and is
    returned among the errors, by project, instead of failing the query.

    :param targets: local or remote querysets, objects, or lists of them
    :raises FieldError: a remote queryset asks what its service does not declare
    :raises TooManyRemoteIds: a remote queryset matches more ids than one pushdown carries
    """
    result: PartialResult[Q] = PartialResult(Q(pk__in=[]))
    for target in targets:
        if is_remote_queryset(target):
            try:
                ids = target.pks()
            except (FieldError, TooManyRemoteIds):
                raise
            except FederationError as exc:
                result.errors[target.model._meta.project] = exc
                continue
            target = [target.model(pk) for pk in ids]
        result.objects |= targets_q(key, "in", target, using)
    return result


def _federated_keys(model: type[models.Model]) -> dict[str, GenericForeignKey]:
    """The FederatedForeignKeys of ``model`` (GenericForeignKeys to GenericContentType)."""
    keys = {}
    for private in model._meta.private_fields:
        if isinstance(private, GenericForeignKey):
            ct = model._meta.get_field(private.ct_field)
            if getattr(ct.remote_field, "model", None) is GenericContentType:
                keys[private.name] = private
    return keys


def unsupported_path(model: type[models.Model], name: str, path: str) -> FieldError:
    """The FieldError of a lookup that follows a generic relation ``name`` into its targets.

    :param path: what follows ``name`` (``"title__icontains"``)
    """
    return FieldError(
        f"Cannot filter {model._meta.object_name} by '{name}{LOOKUP_SEP}{path}': {name} "
        f"takes exact, in and isnull, and its targets may be of any model, in any service, "
        f"so lookups cannot follow it. Filter the targets, then pass them: "
        f"{name}__in=Target.objects.filter({path}=...) (a local or remote queryset, or a "
        f"list of querysets and objects)."
    )


class FederatedQuerySetMixin:
    """Let ``filter``, ``exclude`` and ``get`` take the FederatedForeignKeys of the model.

    ``<key>__in`` takes objects, local querysets, remote querysets or a list
    of them; ``<key>`` takes one object (or None); ``<key>__isnull`` a bool.
    Each becomes, per content type, ``content_type = id AND object_id IN
    (...)``, also inside ``Q`` objects. Any other path through the key raises
    a ``FieldError`` naming these spellings. Mix it into a custom queryset::

        class ReferenceQuerySet(FederatedQuerySetMixin, models.QuerySet): ...
    """

    model: type[models.Model]

    def filter(self, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = self._translate_targets(args, kwargs)
        return super().filter(*args, **kwargs)  # type: ignore[misc]

    def exclude(self, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = self._translate_targets(args, kwargs)
        return super().exclude(*args, **kwargs)  # type: ignore[misc]

    def _translate_targets(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        keys = _federated_keys(self.model) if self.model is not None else {}
        if not keys:
            return args, kwargs
        using = self.db  # type: ignore[attr-defined]
        args = tuple(
            _translate_q(arg, keys, self.model, using) if isinstance(arg, Q) else arg
            for arg in args
        )
        rest = {}
        for name, value in kwargs.items():
            q = _translate(name, value, keys, self.model, using)
            if q is None:
                rest[name] = value
            else:
                args = (*args, q)
        return args, rest


def _translate(
    name: str, value: Any, keys: dict[str, GenericForeignKey], model: Any, using: str
) -> Q | None:
    """The Q of one ``name=value`` through a FederatedForeignKey; None for other names."""
    first, *rest = name.split(LOOKUP_SEP)
    key = keys.get(first)
    if key is None:
        return None
    if len(rest) > 1 or (rest and rest[0] not in FOREIGN_KEY_LOOKUPS):
        raise unsupported_path(model, first, LOOKUP_SEP.join(rest))
    return targets_q(key, rest[0] if rest else "exact", value, using)


def _translate_q(q: Q, keys: dict[str, GenericForeignKey], model: Any, using: str) -> Q:
    """Return ``q`` with its conditions through FederatedForeignKeys translated."""
    clone = Q(_connector=q.connector, _negated=q.negated)
    for child in q.children:
        if isinstance(child, Q):
            clone.children.append(_translate_q(child, keys, model, using))
            continue
        name, value = child
        translated = _translate(name, value, keys, model, using)
        clone.children.append(child if translated is None else translated)
    return clone


class FederatedQuerySet(FederatedQuerySetMixin, QuerySet):
    """A QuerySet whose ``filter``/``exclude`` take ``<FederatedForeignKey>__in``."""


class FederatedManager(models.Manager.from_queryset(FederatedQuerySet)):  # type: ignore[misc]
    """The manager of ``FederatedQuerySet``: ``objects = FederatedManager()``."""
