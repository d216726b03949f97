"""Targets of a FederatedManyToManyField: keys, batched resolution, querysets, lookups.

A target is stored as a (content type id, object id) key. Resolving many
keys costs one query per local model and one request per remote project.
"""

from __future__ import annotations

import copy
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import Lookup, Q
from django.db.models.lookups import Exact, In, IsNull
from django.db.models.query import BaseIterable, ModelIterable
from django.db.models.query_utils import RegisterLookupMixin
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, OR, WhereNode

from federated_fk import conf
from federated_fk.ids import id_parser, parse_remote_id, pk_field
from federated_fk.models import GenericContentType
from federated_fk.prefetch import report_partial
from federated_fk.pushdown import (
    TargetGroup,
    content_type_id,
    group_targets,
    group_values,
    is_remote_queryset,
    unsupported_path,
)
from federated_fk.remote import RemoteObject, fetch_remote_objects

if TYPE_CHECKING:
    from federated_fk.fields.many_to_many.field import (
        FederatedManyToManyField,
    )

#: A target as the through table stores it: (content type id, object id).
Key = tuple[int, str]


# -- targets -------------------------------------------------------------------


def target_key(field: FederatedManyToManyField, obj: Any, using: str | None) -> Key:
    """Return the (content type id, object id) of ``obj``, a model instance or stand-in.

    For lookups and removals: the id is taken as the object holds it. Writes
    use ``target_keys``, which also validates.
    """
    _check_target(field, obj)
    ct = GenericContentType.objects.db_manager(using).get_for_model(
        obj, for_concrete_model=field.for_concrete_model
    )
    return ct.pk, str(obj.pk)


def _check_target(field: FederatedManyToManyField, obj: Any) -> None:
    if not isinstance(obj, models.Model | RemoteObject):
        raise TypeError(
            f"'{field.model._meta.object_name}.{field.name}' takes model instances or "
            f"remote objects, not {obj!r}."
        )
    if obj.pk is None:
        raise ValueError(
            f"Cannot add {obj!r} to '{field.model._meta.object_name}.{field.name}': "
            "it has no primary key (save it first)."
        )


class KeyWriter:
    """Make the keys of targets about to be written, validated as reads validate them.

    A remote target's project must be configured and its type described by
    the synchronized schema (what a read needs to fetch it); every id must be
    exactly a key of its model (``federated_fk.ids``): ``1.5``, ``True`` or
    ``" 1 "`` is refused, never stored as ``"1"``. What is looked up per
    content type is looked up once, so making n keys is linear in n.
    """

    def __init__(self, field: FederatedManyToManyField, using: str) -> None:
        self.field = field
        self.using = using
        self.manager = GenericContentType.objects.db_manager(using)
        self._parsers: dict[int, Callable[[Any], Any]] = {}

    def key(self, obj: Any) -> Key:
        """Return the key of ``obj``.

        :raises TypeError: ``obj`` is not a model instance or stand-in
        :raises ValueError: ``obj`` has no primary key
        :raises InvalidId: its id is not exactly a key of its model
        :raises RemoteProjectNotConfigured: its project has no endpoint
        :raises RemoteTypeNotInSchema: the synchronized schema does not describe its type
        """
        _check_target(self.field, obj)
        ct = self.manager.get_for_model(obj, for_concrete_model=self.field.for_concrete_model)
        parse = self._parsers.get(ct.pk)
        if parse is None:
            parse = self._parsers[ct.pk] = self._parser(ct, obj)
        given = obj.__dict__.get("_given_pk", obj.pk) if isinstance(obj, RemoteObject) else obj.pk
        return ct.pk, str(parse(given))

    def _parser(self, ct: GenericContentType, obj: Any) -> Callable[[Any], Any]:
        if isinstance(obj, RemoteObject):
            conf.project_settings(ct.project)  # raises RemoteProjectNotConfigured
            stand_in = ct.model_class()
            stand_in._meta.check_in_schema()  # the content type as it is now
            label = f"{ct.project} {ct.app_label}.{ct.model}"
            return partial(parse_remote_id, label, stand_in._meta.pk_type)
        model = type(obj)._meta.concrete_model if self.field.for_concrete_model else type(obj)
        if isinstance(pk_field(model), EXACT_PK_FIELDS):
            return id_parser(model, self.using)
        return _as_is  # a key of another type: its own field has converted it


#: Local primary keys parsed exactly on write; others are written as ``str(pk)``.
EXACT_PK_FIELDS = (models.IntegerField, models.UUIDField, models.CharField, models.TextField)


def _as_is(value: Any) -> Any:
    return value


def target_keys(field: FederatedManyToManyField, objs: Iterable[Any], using: str) -> list[Key]:
    """Return the keys of ``objs`` to write, without duplicates, validated (``KeyWriter``).

    Local models get a reverse relation on the way. Nothing is written here:
    an invalid target fails the whole call before any row changes.
    """
    writer = KeyWriter(field, using)
    keys: dict[Key, None] = {}
    models_seen: set[type] = set()
    for obj in objs:
        keys[writer.key(obj)] = None
        if isinstance(obj, models.Model) and type(obj) not in models_seen:
            models_seen.add(type(obj))
            field.add_relation(type(obj), auto=True)
    return list(keys)


def chunks(items: Sequence[Any], using: str) -> Iterator[Sequence[Any]]:
    """Split ``items`` into slices that fit in one query's parameters on ``using``."""
    # Half the limit: a key costs one parameter, each content type one more.
    size = max(1, (connections[using].features.max_query_params or 2000) // 2)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def keys_q(field: FederatedManyToManyField, keys: Iterable[Key]) -> Q:
    """Return a Q matching the through rows of ``keys`` (one IN per content type)."""
    by_type: dict[int, list[str]] = defaultdict(list)
    for ct_id, object_id in keys:
        by_type[ct_id].append(object_id)
    q = Q(pk__in=[])
    ct_name, id_name = field.ct_field.attname, field.object_id_field.attname
    for ct_id, object_ids in by_type.items():
        q |= Q(**{ct_name: ct_id, f"{id_name}__in": object_ids})
    return q


def resolve_targets(
    field: FederatedManyToManyField,
    keys: Iterable[Key],
    using: str,
    querysets: Sequence[models.QuerySet] | None = None,
) -> dict[Key, Any]:
    """Fetch the targets named by ``keys``: one query per local model, one
    request per remote project for all remote ones.

    Targets that do not exist are left out, and so are those of a remote type
    the synchronized schema no longer describes. ``querysets`` replace the
    base manager of their local models.
    """
    by_type: dict[int, set[str]] = defaultdict(set)
    for ct_id, object_id in keys:
        by_type[ct_id].add(object_id)
    custom = {qs.model: qs for qs in querysets or ()}
    manager = GenericContentType.objects.db_manager(using)
    found: dict[Key, Any] = {}
    remote: dict[type, set[str]] = {}
    remote_ct: dict[type, int] = {}
    for ct_id, object_ids in by_type.items():
        ct = manager.cached_id(using, ct_id) or manager.get_for_id(ct_id)
        model = ct.model_class()
        if model is None:
            continue
        if ct.is_remote:
            if model._meta.type_name and not model._meta.in_schema:
                # No longer in the schema: its targets read as missing, as a
                # FederatedForeignKey's prefetch reads them; never fetched.
                continue
            remote[model] = object_ids
            remote_ct[model] = ct_id
            continue
        queryset = custom.get(model, model._base_manager).using(using)
        for obj in queryset.filter(pk__in=object_ids):
            found[ct_id, str(obj.pk)] = obj
    if remote:
        for obj in report_partial(fetch_remote_objects(remote)):
            found[remote_ct[type(obj)], str(obj.pk)] = obj
    return found


def row_key(field: FederatedManyToManyField, row: models.Model) -> Key:
    return getattr(row, field.ct_field.attname), str(getattr(row, field.object_id_field.attname))


class TargetIterable(BaseIterable):
    """Yield the targets of the through rows of a queryset, in the rows' order."""

    def __iter__(self) -> Iterator[Any]:
        queryset = self.queryset
        field = queryset.m2m_field
        rows = list(ModelIterable(queryset, self.chunked_fetch, self.chunk_size))
        found = resolve_targets(field, (row_key(field, row) for row in rows), queryset.db)
        for row in rows:
            target = found.get(row_key(field, row))
            if target is not None:
                yield target


class TargetQuerySet(models.QuerySet):
    """A queryset of through rows that yields their targets.

    ``filter(Model=Book)`` and ``filter(Model__in=[Book, RemoteBook])`` keep
    the targets of those models (local models or remote stand-in classes,
    or local models by label: ``Model="shelf.Book"``); other lookups apply
    to the through model's fields.
    """

    m2m_field: FederatedManyToManyField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iterable_class = TargetIterable

    def _filter_or_exclude(self, negate: bool, args: Any, kwargs: dict[str, Any]) -> Any:
        models_ = []
        if "Model" in kwargs:
            models_.append(kwargs.pop("Model"))
        if "Model__in" in kwargs:
            models_.extend(kwargs.pop("Model__in"))
        if models_:
            field = self.m2m_field
            manager = GenericContentType.objects.db_manager(self.db)
            apps = field.model._meta.apps
            ct_ids = [
                manager.get_for_model(
                    apps.get_model(m) if isinstance(m, str) else m,
                    for_concrete_model=field.for_concrete_model,
                ).pk
                for m in models_
            ]
            kwargs[f"{field.ct_field.attname}__in"] = ct_ids
        return super()._filter_or_exclude(negate, args, kwargs)


def can_ignore_conflicts(through: type[models.Model], using: str) -> bool:
    # Only the auto-created through table is known to have the unique
    # constraint that makes a conflict mean "already linked".
    return (
        bool(through._meta.auto_created) and connections[using].features.supports_ignore_conflicts
    )


def prefetch_targets(
    field: FederatedManyToManyField,
    instances: Sequence[models.Model],
    querysets: Sequence[Any] | None = None,
) -> tuple[list[Any], Any, Any, bool, str, bool]:
    """Prefetch the targets of ``instances``: one query for the through rows,
    one per local target model, one request per remote project.

    ``querysets`` give querysets for local target models (as with
    ``GenericPrefetch``). A target linked to several sources is copied, so
    that each copy knows its source.
    """
    source = field.source_field
    using = instances[0]._state.db
    values = {getattr(i, source.target_field.attname) for i in instances}
    rows = list(
        field.through._base_manager.using(using).filter(**{f"{source.attname}__in": values})
    )
    found = resolve_targets(field, (row_key(field, row) for row in rows), using, querysets)
    attr = f"_federated_m2m_{field.name}_source"
    seen: set[int] = set()
    objs = []
    for row in rows:
        target = found.get(row_key(field, row))
        if target is None:
            continue
        if id(target) in seen:
            target = copy.copy(target)
        seen.add(id(target))
        setattr(target, attr, getattr(row, source.attname))
        objs.append(target)
    return (
        objs,
        operator.attrgetter(attr),
        operator.attrgetter(source.target_field.attname),
        False,
        field.name,
        False,
    )


# -- lookups across the relation ----------------------------------------------


class TargetJoin(RegisterLookupMixin):
    """The join from a source to its through rows, as ``User.objects.filter(favourites=...)`` needs.

    It is the ``join_field`` of the field's path, so lookups on the relation
    (``exact``, ``in``, ``isnull``) are its own and compare the content type
    and object id of the through rows with the given targets.
    """

    is_relation = False

    def __init__(self, m2m_field: FederatedManyToManyField) -> None:
        self.m2m_field = m2m_field

    @property
    def field(self) -> models.ForeignKey:
        return self.m2m_field.source_field

    @property
    def related_model(self) -> type[models.Model]:
        """The model joined to: the through model (a subquery reads its table name)."""
        return self.m2m_field.through

    def get_transform(self, lookup_name: str) -> Any:
        """Refuse a path into the targets, naming what to write instead."""
        field = self.m2m_field
        raise unsupported_path(field.model, field.name, lookup_name)

    def get_joining_fields(self) -> tuple[tuple[models.Field, models.Field], ...]:
        return self.field.get_reverse_joining_fields()

    def get_extra_restriction(self, alias: str, related_alias: str) -> None:
        return None


class TargetLookup(Lookup):
    """Compare the targets of through rows with model instances or stand-ins.

    The values become (content type id, object id) keys at once: the ORM
    probes a lookup's right-hand side for expression methods, and a remote
    stand-in must not load itself to answer. ``in`` also takes local and
    remote querysets, alone or in a list with objects
    (``federated_fk.pushdown``): a local one is a subquery, a remote one the
    ids its service matched, asked for when the query is compiled.
    """

    prepare_rhs = False

    def get_prep_lookup(self) -> tuple[tuple[Key, ...], tuple[TargetGroup, ...]]:
        field = self.lhs.output_field.m2m_field
        if self.lookup_name != "in" or _is_queryset(self.rhs):
            values = [self.rhs]
        else:
            values = list(self.rhs)
        querysets = [v for v in values if _is_queryset(v)]
        keys = (target_key(field, obj, None) for obj in values if not _is_queryset(obj))
        groups = group_targets(querysets, f"{field.model._meta.object_name}.{field.name}")
        return tuple(dict.fromkeys(keys)), tuple(groups)

    def columns(self) -> tuple[Any, Any]:
        field = self.lhs.output_field.m2m_field
        alias = self.lhs.alias
        return field.ct_field.get_col(alias), field.object_id_field.get_col(alias)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        keys, groups = self.rhs
        if not keys and not groups:
            raise EmptyResultSet
        ct_col, id_col = self.columns()
        by_type: dict[int, list[str]] = defaultdict(list)
        for ct_id, object_id in keys:
            by_type[ct_id].append(object_id)
        conditions = [
            WhereNode([Exact(ct_col, ct_id), In(id_col, object_ids)], connector=AND)
            for ct_id, object_ids in by_type.items()
        ]
        field = self.lhs.output_field.m2m_field
        for group in groups:
            ct_id = content_type_id(group.model, connection.alias, field.for_concrete_model)
            values = group_values(group, field.object_id_field)
            if isinstance(values, models.QuerySet):
                values = values.query.resolve_expression(compiler.query)
            conditions.append(WhereNode([Exact(ct_col, ct_id), In(id_col, values)], connector=AND))
        return compiler.compile(WhereNode(conditions, connector=OR))


def _is_queryset(value: Any) -> bool:
    return isinstance(value, models.QuerySet | Query) or is_remote_queryset(value)


@TargetJoin.register_lookup
class TargetExact(TargetLookup):
    lookup_name = "exact"


@TargetJoin.register_lookup
class TargetIn(TargetLookup):
    lookup_name = "in"


@TargetJoin.register_lookup
class TargetIsNull(TargetLookup):
    lookup_name = "isnull"

    def get_prep_lookup(self) -> bool:
        return bool(self.rhs)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        ct_col, _id_col = self.columns()
        return compiler.compile(IsNull(ct_col, bool(self.rhs)))
