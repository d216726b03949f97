"""The managers, querysets and descriptors of a FederatedManyToManyField.

The forward manager (``user.favourites``) is a manager of the through model
whose querysets yield targets: filters, counts and ordering apply to the
through rows, iteration resolves the targets in batches (one query per local
model, one request per remote project). The reverse manager
(``book.user_set``) is a manager of the source model.
"""

from __future__ import annotations

import copy
import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core.exceptions import EmptyResultSet
from django.db import connections, models, router, transaction
from django.db.models import F, Lookup, Q
from django.db.models.lookups import Exact, In, IsNull
from django.db.models.query import BaseIterable, ModelIterable
from django.db.models.query_utils import RegisterLookupMixin
from django.db.models.sql.where import AND, OR, WhereNode
from django.db.models.utils import resolve_callables

from federated_fk.models import GenericContentType
from federated_fk.prefetch import remote_error_sink
from federated_fk.remote import RemoteObject, load_remote_objects

if TYPE_CHECKING:
    from federated_fk.fields.many_to_many import (
        FederatedManyToManyField,
        FederatedManyToManyReverse,
    )

#: A target as the through table stores it: (content type id, object id).
Key = tuple[int, str]


# -- targets -------------------------------------------------------------------


def target_key(field: FederatedManyToManyField, obj: Any, using: str | None) -> Key:
    """Return the (content type id, object id) of ``obj``, a model instance or stand-in."""
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
    ct = GenericContentType.objects.db_manager(using).get_for_model(
        obj, for_concrete_model=field.for_concrete_model
    )
    return ct.pk, str(obj.pk)


def target_keys(field: FederatedManyToManyField, objs: Iterable[Any], using: str) -> list[Key]:
    """Return the keys of ``objs``, giving local models a reverse relation on the way."""
    keys = []
    for obj in objs:
        keys.append(target_key(field, obj, using))
        if isinstance(obj, models.Model):
            field.add_relation(type(obj), auto=True)
    return list(dict.fromkeys(keys))


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

    Targets that do not exist are left out. ``querysets`` replace the base
    manager of their local models.
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
            remote[model] = object_ids
            remote_ct[model] = ct_id
            continue
        queryset = custom.get(model, model._base_manager).using(using)
        for obj in queryset.filter(pk__in=object_ids):
            found[ct_id, str(obj.pk)] = obj
    if remote:
        for obj in load_remote_objects(remote, errors=remote_error_sink()):
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
    the targets of those models (local models or remote stand-in classes);
    other lookups apply to the through model's fields.
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
            ct_ids = [
                manager.get_for_model(m, for_concrete_model=field.for_concrete_model).pk
                for m in models_
            ]
            kwargs[f"{field.ct_field.attname}__in"] = ct_ids
        return super()._filter_or_exclude(negate, args, kwargs)


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

    def get_joining_fields(self) -> tuple[tuple[models.Field, models.Field], ...]:
        return self.field.get_reverse_joining_fields()

    def get_extra_restriction(self, alias: str, related_alias: str) -> None:
        return None


class TargetLookup(Lookup):
    """Compare the targets of through rows with model instances or stand-ins.

    The values become (content type id, object id) keys at once: the ORM
    probes a lookup's right-hand side for expression methods, and a remote
    stand-in must not load itself to answer.
    """

    prepare_rhs = False

    def get_prep_lookup(self) -> list[Key]:
        field = self.lhs.output_field.m2m_field
        values = self.rhs if self.lookup_name == "in" else [self.rhs]
        return list(dict.fromkeys(target_key(field, obj, None) for obj in values))

    def columns(self) -> tuple[Any, Any]:
        field = self.lhs.output_field.m2m_field
        alias = self.lhs.alias
        return field.ct_field.get_col(alias), field.object_id_field.get_col(alias)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if not self.rhs:
            raise EmptyResultSet
        ct_col, id_col = self.columns()
        by_type: dict[int, list[str]] = defaultdict(list)
        for ct_id, object_id in self.rhs:
            by_type[ct_id].append(object_id)
        condition = WhereNode(
            [
                WhereNode([Exact(ct_col, ct_id), In(id_col, object_ids)], connector=AND)
                for ct_id, object_ids in by_type.items()
            ],
            connector=OR,
        )
        return compiler.compile(condition)


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


# -- forward side: user.favourites -----------------------------------------------


class FederatedManyToManyDescriptor:
    """``User.favourites``: the relation's manager on instances, this on the class.

    Assigning a list calls ``set()``.
    """

    def __init__(self, field: FederatedManyToManyField) -> None:
        self.field = field

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        return self.related_manager_cls(instance)

    def __set__(self, instance: Any, value: Iterable[Any]) -> None:
        self.__get__(instance).set(value)

    @cached_property
    def related_manager_cls(self) -> type:
        return create_forward_manager(self.field)

    def add_relation(self, model: Any) -> None:
        """Give ``model`` (a class or ``"app_label.Model"``) its reverse relation now."""
        self.field.add_relation(model)

    def get_related_models(self, include_auto: bool = False) -> list[type[models.Model]]:
        """Return the models with a reverse relation; see the field's method."""
        return self.field.get_related_models(include_auto=include_auto)


def _can_ignore_conflicts(through: type[models.Model], using: str) -> bool:
    # Only the auto-created through table is known to have the unique
    # constraint that makes a conflict mean "already linked".
    return (
        bool(through._meta.auto_created) and connections[using].features.supports_ignore_conflicts
    )


def create_forward_manager(field: FederatedManyToManyField) -> type:
    """Return the manager class of ``instance.<field>``."""
    queryset_class = type(
        f"{field.model.__name__}_{field.name}_QuerySet", (TargetQuerySet,), {"m2m_field": field}
    )
    base = models.Manager.from_queryset(queryset_class)

    class FederatedManyToManyManager(base):  # type: ignore[misc,valid-type]
        def __init__(self, instance: models.Model) -> None:
            super().__init__()
            self.instance = instance
            self.field = field
            self.model = field.through
            self.prefetch_cache_name = field.name
            source = field.source_field
            self.source_value = getattr(instance, source.target_field.attname)
            if self.source_value is None:
                raise ValueError(
                    f'"{instance!r}" needs to have a value for field '
                    f'"{source.target_field.attname}" before this many-to-many '
                    "relationship can be used."
                )
            self.core_filters = {source.attname: self.source_value}

        def __call__(self, *, manager: str) -> Any:
            return self  # one manager: the relation's

        def _db_for_read(self) -> str:
            return router.db_for_read(self.model, instance=self.instance)

        def _db_for_write(self) -> str:
            return router.db_for_write(self.model, instance=self.instance)

        def get_queryset(self) -> TargetQuerySet:
            try:
                return self.instance._prefetched_objects_cache[self.prefetch_cache_name]
            except (AttributeError, KeyError):
                return self._apply_rel_filters(super().get_queryset())

        def _apply_rel_filters(self, queryset: Any) -> TargetQuerySet:
            if not isinstance(queryset, TargetQuerySet):
                queryset = super().get_queryset()
            queryset._add_hints(instance=self.instance)
            return queryset.using(queryset._db or self._db_for_read()).filter(**self.core_filters)

        def _remove_prefetched_objects(self) -> None:
            try:
                self.instance._prefetched_objects_cache.pop(self.prefetch_cache_name)
            except (AttributeError, KeyError):
                pass

        def _rows(self, using: str) -> models.QuerySet:
            return self.model._base_manager.using(using).filter(**self.core_filters)

        def get_prefetch_querysets(
            self, instances: Sequence[models.Model], querysets: Sequence[Any] | None = None
        ) -> tuple[list[Any], Any, Any, bool, str, bool]:
            return prefetch_targets(field, instances, querysets)

        def add(self, *objs: Any, through_defaults: dict[str, Any] | None = None) -> None:
            """Link ``objs`` (model instances or remote stand-ins); existing links are kept."""
            self._remove_prefetched_objects()
            using = self._db_for_write()
            keys = target_keys(field, objs, using)
            with transaction.atomic(using=using, savepoint=False):
                existing = set(self._existing(keys, using))
                self._insert([k for k in keys if k not in existing], using, through_defaults)

        def _existing(self, keys: list[Key], using: str) -> Iterable[Key]:
            if not keys:
                return []
            rows = self._rows(using).filter(keys_q(field, keys))
            return (
                (ct_id, str(object_id))
                for ct_id, object_id in rows.values_list(
                    field.ct_field.attname, field.object_id_field.attname
                )
            )

        def _insert(
            self, keys: list[Key], using: str, through_defaults: dict[str, Any] | None
        ) -> None:
            defaults = dict(resolve_callables(through_defaults or {}))
            self.model._base_manager.using(using).bulk_create(
                [
                    self.model(
                        **defaults,
                        **self.core_filters,
                        **{field.ct_field.attname: ct_id, field.object_id_field.attname: oid},
                    )
                    for ct_id, oid in keys
                ],
                # A concurrent add of the same target is not an error.
                ignore_conflicts=_can_ignore_conflicts(self.model, using),
            )

        def remove(self, *objs: Any) -> None:
            """Unlink ``objs``."""
            self._remove_prefetched_objects()
            using = self._db_for_write()
            keys = list(dict.fromkeys(target_key(field, obj, using) for obj in objs))
            if keys:
                self._rows(using).filter(keys_q(field, keys)).delete()

        def clear(self) -> None:
            """Unlink every target."""
            self._remove_prefetched_objects()
            self._rows(self._db_for_write()).delete()

        def set(
            self,
            objs: Iterable[Any],
            *,
            clear: bool = False,
            through_defaults: dict[str, Any] | None = None,
        ) -> None:
            """Make ``objs`` the targets: remove the others, add the new ones."""
            objs = tuple(objs)
            using = self._db_for_write()
            with transaction.atomic(using=using, savepoint=False):
                if clear:
                    self.clear()
                    self.add(*objs, through_defaults=through_defaults)
                    return
                self._remove_prefetched_objects()
                keys = target_keys(field, objs, using)
                old = set(self._existing_all(using))
                gone = [k for k in old if k not in set(keys)]
                if gone:
                    self._rows(using).filter(keys_q(field, gone)).delete()
                self._insert([k for k in keys if k not in old], using, through_defaults)

        def _existing_all(self, using: str) -> Iterable[Key]:
            rows = self._rows(using).values_list(
                field.ct_field.attname, field.object_id_field.attname
            )
            return ((ct_id, str(object_id)) for ct_id, object_id in rows)

        async def aadd(self, *objs: Any, through_defaults: dict[str, Any] | None = None) -> None:
            return await sync_to_async(self.add)(*objs, through_defaults=through_defaults)

        async def aremove(self, *objs: Any) -> None:
            return await sync_to_async(self.remove)(*objs)

        async def aclear(self) -> None:
            return await sync_to_async(self.clear)()

        async def aset(
            self,
            objs: Iterable[Any],
            *,
            clear: bool = False,
            through_defaults: dict[str, Any] | None = None,
        ) -> None:
            return await sync_to_async(self.set)(
                objs, clear=clear, through_defaults=through_defaults
            )

    return FederatedManyToManyManager


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


# -- reverse side: book.user_set ---------------------------------------------------


class ReverseManyToManyDescriptor:
    """``Book.user_set``: the sources that link a local target."""

    def __init__(self, reverse: FederatedManyToManyReverse) -> None:
        self.reverse = reverse

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        return self.related_manager_cls(instance)

    def __set__(self, instance: Any, value: Iterable[Any]) -> None:
        self.__get__(instance).set(value)

    @cached_property
    def related_manager_cls(self) -> type:
        source_model = self.reverse.m2m_field.model
        return create_reverse_manager(source_model._default_manager.__class__, self.reverse)


def create_reverse_manager(superclass: type, reverse: FederatedManyToManyReverse) -> type:
    """Return the manager class of ``target.<related_name>``."""
    field = reverse.m2m_field

    class ReverseFederatedManyToManyManager(superclass):  # type: ignore[misc,valid-type]
        def __init__(self, instance: models.Model) -> None:
            super().__init__()
            self.instance = instance
            self.model = field.model
            self.prefetch_cache_name = reverse.accessor_name
            using = instance._state.db
            self.content_type = GenericContentType.objects.db_manager(using).get_for_model(
                instance, for_concrete_model=field.for_concrete_model
            )
            self.key = (self.content_type.pk, str(instance.pk))
            self.core_filters = {
                f"{field.name}__{field.ct_field.attname}": self.key[0],
                f"{field.name}__{field.object_id_field.attname}": self.key[1],
            }

        def __call__(self, *, manager: str) -> Any:
            manager_class = create_reverse_manager(getattr(self.model, manager).__class__, reverse)
            return manager_class(self.instance)

        def get_queryset(self) -> models.QuerySet:
            try:
                return self.instance._prefetched_objects_cache[self.prefetch_cache_name]
            except (AttributeError, KeyError):
                return self._apply_rel_filters(super().get_queryset())

        def _apply_rel_filters(self, queryset: models.QuerySet) -> models.QuerySet:
            queryset._add_hints(instance=self.instance)
            if self._db:
                queryset = queryset.using(self._db)
            return queryset.filter(**self.core_filters)

        def _remove_prefetched_objects(self) -> None:
            try:
                self.instance._prefetched_objects_cache.pop(self.prefetch_cache_name)
            except (AttributeError, KeyError):
                pass

        def get_prefetch_querysets(
            self, instances: Sequence[models.Model], querysets: Sequence[Any] | None = None
        ) -> tuple[Any, Any, Any, bool, str, bool]:
            """One query: the sources of all ``instances``, each tagged with its target."""
            queryset = querysets[0] if querysets else super().get_queryset()
            queryset._add_hints(instance=instances[0])
            queryset = queryset.using(queryset._db or self._db)
            attr = f"_federated_m2m_{field.name}_target"
            object_id = f"{field.name}__{field.object_id_field.attname}"
            queryset = queryset.filter(
                **{
                    f"{field.name}__{field.ct_field.attname}": self.content_type.pk,
                    f"{object_id}__in": [str(i.pk) for i in instances],
                }
            ).annotate(**{attr: F(object_id)})
            return (
                queryset,
                lambda source: str(getattr(source, attr)),
                lambda target: str(target.pk),
                False,
                self.prefetch_cache_name,
                False,
            )

        def _rows(self, using: str) -> models.QuerySet:
            return field.through._base_manager.using(using).filter(
                **{field.ct_field.attname: self.key[0], field.object_id_field.attname: self.key[1]}
            )

        def _source_values(self, sources: Iterable[Any]) -> list[Any]:
            values = []
            for source in sources:
                if not isinstance(source, self.model):
                    raise TypeError(
                        f"'{self.model._meta.object_name}' instance expected, got {source!r}."
                    )
                values.append(getattr(source, field.source_field.target_field.attname))
            return values

        def add(self, *sources: Any, through_defaults: dict[str, Any] | None = None) -> None:
            """Link this target to ``sources``."""
            self._remove_prefetched_objects()
            using = router.db_for_write(field.through, instance=self.instance)
            values = self._source_values(sources)
            attname = field.source_field.attname
            with transaction.atomic(using=using, savepoint=False):
                existing = set(
                    self._rows(using)
                    .filter(**{f"{attname}__in": values})
                    .values_list(attname, flat=True)
                )
                defaults = dict(resolve_callables(through_defaults or {}))
                field.through._base_manager.using(using).bulk_create(
                    [
                        field.through(
                            **defaults,
                            **{
                                attname: value,
                                field.ct_field.attname: self.key[0],
                                field.object_id_field.attname: self.key[1],
                            },
                        )
                        for value in dict.fromkeys(values)
                        if value not in existing
                    ],
                    ignore_conflicts=_can_ignore_conflicts(field.through, using),
                )

        def remove(self, *sources: Any) -> None:
            """Unlink this target from ``sources``."""
            self._remove_prefetched_objects()
            using = router.db_for_write(field.through, instance=self.instance)
            values = self._source_values(sources)
            self._rows(using).filter(**{f"{field.source_field.attname}__in": values}).delete()

        def clear(self) -> None:
            """Unlink this target from every source."""
            self._remove_prefetched_objects()
            self._rows(router.db_for_write(field.through, instance=self.instance)).delete()

        def set(
            self, sources: Iterable[Any], *, clear: bool = False, through_defaults: Any = None
        ) -> None:
            """Make ``sources`` the sources of this target."""
            sources = tuple(sources)
            using = router.db_for_write(field.through, instance=self.instance)
            with transaction.atomic(using=using, savepoint=False):
                if not clear:
                    attname = field.source_field.attname
                    keep = set(self._source_values(sources))
                    self._rows(using).exclude(**{f"{attname}__in": keep}).delete()
                else:
                    self.clear()
                self.add(*sources, through_defaults=through_defaults)

        async def aadd(self, *sources: Any, through_defaults: Any = None) -> None:
            return await sync_to_async(self.add)(*sources, through_defaults=through_defaults)

        async def aremove(self, *sources: Any) -> None:
            return await sync_to_async(self.remove)(*sources)

        async def aclear(self) -> None:
            return await sync_to_async(self.clear)()

        async def aset(
            self, sources: Iterable[Any], *, clear: bool = False, through_defaults: Any = None
        ) -> None:
            return await sync_to_async(self.set)(
                sources, clear=clear, through_defaults=through_defaults
            )

    return ReverseFederatedManyToManyManager
