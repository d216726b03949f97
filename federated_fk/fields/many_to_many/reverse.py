"""The reverse side of a FederatedManyToManyField, on a local target model.

``FederatedManyToManyReverse`` is a private field for queries from the
target side and for deleting targets; its accessor (``book.user_set``) is a
manager of the source model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core import checks, exceptions
from django.db import models, router, transaction
from django.db.models import F
from django.db.models.functions import Cast
from django.db.models.lookups import Exact
from django.db.models.query_utils import PathInfo
from django.db.models.sql.where import AND, WhereNode
from django.db.models.utils import resolve_callables
from django.utils.functional import cached_property

from federated_fk.fields.many_to_many.deletion import target_rows
from federated_fk.fields.many_to_many.managers import SideDescriptor
from federated_fk.fields.many_to_many.targets import can_ignore_conflicts
from federated_fk.fields.relation import FederatedRelation
from federated_fk.models import GenericContentType

if TYPE_CHECKING:
    from federated_fk.fields.many_to_many.field import FederatedManyToManyField


class FederatedManyToManyReverse(FederatedRelation):
    """The reverse side of a FederatedManyToManyField, on a local target model.

    A private field named by the relation's query name: ``Book.objects.filter(
    user__name="Jack")`` joins the through table and the source. The reverse
    manager (``book.user_set``) is its accessor. Deleting a target applies the
    field's ``on_delete_tgt`` to the through rows.
    """

    def __init__(self, m2m_field: FederatedManyToManyField) -> None:
        target = m2m_field.target_field
        super().__init__(
            m2m_field.through,
            object_id_field=target.fk_field,
            content_type_field=target.ct_field,
            for_concrete_model=m2m_field.for_concrete_model,
        )
        self.m2m_field = m2m_field
        self.query_name = m2m_field.related_query_name()
        self.accessor_name = m2m_field.related_accessor_name()

    def clash(self, model: type[models.Model]) -> checks.CheckMessage | None:
        """Return an error if ``model`` already uses the accessor or the query name."""
        label = f"{self.m2m_field.model._meta.label}.{self.m2m_field.name}"
        if self.m2m_field.remote_field.is_hidden():
            return None
        if hasattr(model, self.accessor_name):
            return checks.Error(
                f"Reverse accessor '{model._meta.object_name}.{self.accessor_name}' "
                f"for '{label}' clashes with an attribute or relation of "
                f"'{model._meta.label}'.",
                hint=f"Add or change a related_name argument to '{label}'.",
                obj=self.m2m_field,
                id="federated_fk.E312",
            )
        try:
            model._meta.get_field(self.query_name)
        except exceptions.FieldDoesNotExist:
            return None
        return checks.Error(
            f"Reverse query name '{self.query_name}' for '{label}' clashes with a field "
            f"of '{model._meta.label}'.",
            hint=f"Add or change a related_query_name argument to '{label}'.",
            obj=self.m2m_field,
            id="federated_fk.E313",
        )

    def contribute_to_class(self, cls: type[models.Model], name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, **kwargs)
        delattr(cls, name)  # the generic descriptor would give through rows
        if not self.m2m_field.remote_field.is_hidden():
            setattr(cls, self.accessor_name, ReverseManyToManyDescriptor(self))

    def get_joining_fields(self, reverse_join: bool = False) -> tuple[Any, ...]:
        # The target joins its through rows in get_extra_restriction(): no
        # column pairs, whose types differ (see there).
        return ()

    def get_extra_restriction(self, alias: str | None, remote_alias: str) -> WhereNode:
        """Join on the content type, and on the target's primary key as text.

        A through table holds the ids of every kind of target (integers,
        UUIDs, remote string ids) in one text column. Comparing the text of
        the primary key with it, rather than casting the column to the
        primary key's type, never fails on another target's id.
        """
        condition = super().get_extra_restriction(alias, remote_alias)
        if alias is not None:  # None: the target side was trimmed from a subquery
            opts = self.remote_field.model._meta
            object_id = opts.get_field(self.object_id_field_name).get_col(remote_alias)
            pk = Cast(self.model._meta.pk.get_col(alias), output_field=models.TextField())
            condition.add(Exact(object_id, pk), AND)
        return condition

    def get_path_info(self, filtered_relation: Any = None) -> list[PathInfo]:
        """Join the target to the through rows, then to the source."""
        return [
            *super().get_path_info(filtered_relation),
            *self.m2m_field.source_field.path_infos,
        ]

    def bulk_related_objects(self, objs: Sequence[models.Model], using: str = "default") -> Any:
        """Return the through rows of deleted targets that go with them (``on_delete_tgt``)."""
        rows = super().bulk_related_objects(objs, using)
        return target_rows(self.m2m_field, list(objs), rows)


# -- reverse side: book.user_set ---------------------------------------------------


class ReverseManyToManyDescriptor(SideDescriptor):
    """``Book.user_set``: the sources that link a local target."""

    side = "reverse"
    m2m_field = property(attrgetter("reverse.m2m_field"))
    accessor_name = property(attrgetter("reverse.accessor_name"))

    def __init__(self, reverse: FederatedManyToManyReverse) -> None:
        self.reverse = reverse

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
            self.through = field.through
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
                    ignore_conflicts=can_ignore_conflicts(field.through, using),
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
