"""FederatedRelation: the reverse side of a FederatedForeignKey, like GenericRelation.

It subclasses Django's ``GenericRelation`` and its related manager, and
overrides only what names Django's ``ContentType`` model.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.contrib.contenttypes.fields import (
    GenericRelation,
    ReverseGenericManyToOneDescriptor,
    create_generic_related_manager,
)
from django.core import checks
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import QuerySet
from django.db.models.base import ModelBase
from django.utils.functional import cached_property

from federated_fk.fields.foreign_key import FederatedForeignKey
from federated_fk.models import GenericContentType


class FederatedRelation(GenericRelation):
    """The reverse side of a ``FederatedForeignKey``, like ``GenericRelation``.

    ``Book.references`` gives the rows whose FederatedForeignKey points at a
    book; filtering, joins, aggregation, prefetching and cascade deletion
    work as they do with ``GenericRelation``.
    """

    def _is_matching_generic_foreign_key(self, field: Any) -> bool:
        return (
            isinstance(field, FederatedForeignKey)
            and field.ct_field == self.content_type_field_name
            and field.fk_field == self.object_id_field_name
        )

    def _check_generic_foreign_key_existence(self) -> list[checks.CheckMessage]:
        target = self.remote_field.model
        if not isinstance(target, ModelBase):
            return []
        if any(self._is_matching_generic_foreign_key(f) for f in target._meta.private_fields):
            return []
        return [
            checks.Error(
                "The FederatedRelation defines a relation with the model "
                f"'{target._meta.label}', but that model does not have a "
                "FederatedForeignKey.",
                obj=self,
                id="federated_fk.E101",
            )
        ]

    def contribute_to_class(self, cls: type[models.Model], name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.name, ReverseFederatedManyToOneDescriptor(self.remote_field))

    def get_content_type(self) -> GenericContentType:
        """Return the content type associated with this field's model."""
        return GenericContentType.objects.get_for_model(
            self.model, for_concrete_model=self.for_concrete_model
        )

    def bulk_related_objects(
        self, objs: Sequence[models.Model], using: str = DEFAULT_DB_ALIAS
    ) -> QuerySet:
        """Return all objects related to ``objs`` via this FederatedRelation."""
        ct = GenericContentType.objects.db_manager(using).get_for_model(
            self.model, for_concrete_model=self.for_concrete_model
        )
        return self.remote_field.model._base_manager.db_manager(using).filter(
            **{
                f"{self.content_type_field_name}__pk": ct.pk,
                f"{self.object_id_field_name}__in": [obj.pk for obj in objs],
            }
        )


class ReverseFederatedManyToOneDescriptor(ReverseGenericManyToOneDescriptor):
    """Accessor to the related objects manager of a FederatedRelation."""

    @cached_property
    def related_manager_cls(self) -> type:
        return create_federated_related_manager(self.rel.model._default_manager.__class__, self.rel)


def create_federated_related_manager(superclass: type, rel: Any) -> type:
    """Return the related manager of a FederatedRelation.

    It is Django's generic related manager with content types looked up in
    GenericContentType.
    """
    generic_manager = create_generic_related_manager(superclass, rel)

    class FederatedRelatedObjectManager(generic_manager):  # type: ignore[misc,valid-type]
        def __init__(self, instance: models.Model) -> None:
            # Skip the generic manager's __init__: it looks the content type
            # up in Django's ContentType. The rest of it is repeated here.
            super(generic_manager, self).__init__()
            self.instance = instance
            self.model = rel.model
            self.get_content_type = functools.partial(
                GenericContentType.objects.db_manager(instance._state.db).get_for_model,
                for_concrete_model=rel.field.for_concrete_model,
            )
            self.content_type = self.get_content_type(instance)
            self.content_type_field_name = rel.field.content_type_field_name
            self.object_id_field_name = rel.field.object_id_field_name
            self.prefetch_cache_name = rel.field.attname
            self.pk_val = instance.pk
            self.core_filters = {
                f"{self.content_type_field_name}__pk": self.content_type.id,
                self.object_id_field_name: self.pk_val,
            }

        def __call__(self, *, manager: str) -> Any:
            manager_class = create_federated_related_manager(
                getattr(self.model, manager).__class__, rel
            )
            return manager_class(instance=self.instance)

    return FederatedRelatedObjectManager
