"""The forward side of a FederatedManyToManyField: ``user.favourites``.

The manager is a manager of the through model whose querysets yield targets
(``many_to_many.targets``): filters, counts and ordering apply to the
through rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.db import models, router, transaction
from django.db.models.utils import resolve_callables

from federated_fk.fields.many_to_many.targets import (
    Key,
    TargetQuerySet,
    can_ignore_conflicts,
    chunks,
    keys_q,
    prefetch_targets,
    target_key,
    target_keys,
)

if TYPE_CHECKING:
    from federated_fk.fields.many_to_many.field import FederatedManyToManyField


class SideDescriptor:
    """One side of the relation: its manager on instances, the descriptor on the class.

    As with Django's many-to-many (and unlike django-gm2m), assigning to
    either side is refused: call ``set()``. Subclasses name their side,
    their field and their accessor, and build ``related_manager_cls``.
    """

    #: ``"forward"`` or ``"reverse"``, for the message of a refused assignment.
    side: str
    related_manager_cls: type

    @property
    def m2m_field(self) -> FederatedManyToManyField:
        """The FederatedManyToManyField both sides belong to."""
        raise NotImplementedError

    @property
    def accessor_name(self) -> str:
        """The attribute this descriptor is on (``favourites``, ``user_set``)."""
        raise NotImplementedError

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        return self.related_manager_cls(instance)

    def __set__(self, instance: Any, value: Iterable[Any]) -> None:
        raise TypeError(
            f"Direct assignment to the {self.side} side of a many-to-many set is prohibited. "
            f"Use {self.accessor_name}.set() instead."
        )

    @property
    def through(self) -> type[models.Model]:
        """The through model, as ``ManyToManyDescriptor.through``."""
        return self.m2m_field.through


class FederatedManyToManyDescriptor(SideDescriptor):
    """``User.favourites``: the relation's manager on instances, this on the class."""

    side = "forward"
    m2m_field = property(attrgetter("field"))
    accessor_name = property(attrgetter("field.name"))

    def __init__(self, field: FederatedManyToManyField) -> None:
        self.field = field

    @cached_property
    def related_manager_cls(self) -> type:
        return create_forward_manager(self.field)

    def add_relation(self, model: Any) -> None:
        """Give ``model`` (a class or ``"app_label.Model"``) its reverse relation now."""
        self.field.add_relation(model)

    def get_related_models(self, include_auto: bool = False) -> list[type[models.Model]]:
        """Return the models with a reverse relation; see the field's method."""
        return self.field.get_related_models(include_auto=include_auto)


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
            self.model = self.through = field.through
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
            """Link ``objs`` (model instances or remote stand-ins); existing links are kept.

            Every target is validated first (``KeyWriter``): one that a read
            would refuse fails the call and nothing is written.
            """
            self._remove_prefetched_objects()
            using = self._db_for_write()
            keys = target_keys(field, objs, using)
            with transaction.atomic(using=using, savepoint=False):
                existing = self._existing(keys, using)
                self._insert([k for k in keys if k not in existing], using, through_defaults)

        def _existing(self, keys: list[Key], using: str) -> set[Key]:
            """Return which of ``keys`` are linked already: a query per chunk of keys."""
            found: set[Key] = set()
            names = (field.ct_field.attname, field.object_id_field.attname)
            for chunk in chunks(keys, using):
                rows = self._rows(using).filter(keys_q(field, chunk)).values_list(*names)
                found.update((ct_id, str(object_id)) for ct_id, object_id in rows)
            return found

        def _insert(
            self, keys: list[Key], using: str, through_defaults: dict[str, Any] | None
        ) -> None:
            if not keys:
                return
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
                ignore_conflicts=can_ignore_conflicts(self.model, using),
            )

        def remove(self, *objs: Any) -> None:
            """Unlink ``objs``.

            Targets a read would refuse may be removed: that is how bad links
            are cleaned up.
            """
            self._remove_prefetched_objects()
            using = self._db_for_write()
            keys = list(dict.fromkeys(target_key(field, obj, using) for obj in objs))
            with transaction.atomic(using=using, savepoint=False):
                for chunk in chunks(keys, using):
                    self._rows(using).filter(keys_q(field, chunk)).delete()

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
            """Make ``objs`` the targets: remove the others, add the new ones.

            Linear in the number of links: the current links are read once,
            and rows are deleted by primary key and inserted in batches.
            Every target is validated before anything is written.
            """
            objs = tuple(objs)
            using = self._db_for_write()
            keys = target_keys(field, objs, using)
            with transaction.atomic(using=using, savepoint=False):
                self._remove_prefetched_objects()
                if clear:
                    self._rows(using).delete()
                    self._insert(keys, using, through_defaults)
                    return
                wanted = set(keys)
                names = ("pk", field.ct_field.attname, field.object_id_field.attname)
                old: set[Key] = set()
                gone: list[Any] = []
                for pk, ct_id, object_id in self._rows(using).values_list(*names):
                    key = (ct_id, str(object_id))
                    old.add(key)
                    if key not in wanted:
                        gone.append(pk)
                for chunk in chunks(gone, using):
                    self.model._base_manager.using(using).filter(pk__in=chunk).delete()
                self._insert([k for k in keys if k not in old], using, through_defaults)

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
