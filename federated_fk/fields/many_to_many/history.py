"""Reverse relations of a FederatedManyToManyField on historical models (migrations).

Django gives the models of a migration state (``apps.get_model()`` in a
``RunPython``) their reverse many-to-many managers, because a
``ManyToManyField`` names its target. A FederatedManyToManyField names none in
migrations: its related models only add reverse accessors, and no schema
depends on them. So the historical field takes the models that have a
reverse relation to the installed field (declared, or made by an add in this
process) and gives their historical twins the same relation, as each of
them is rendered in the state. A model the state does not have is skipped,
and so is a field whose through model is custom: a migration state has no
private fields, so that model has no FederatedForeignKey there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps as global_apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models.fields.related import lazy_related_operation
from django.db.models.signals import class_prepared

if TYPE_CHECKING:
    from federated_fk.fields.many_to_many.field import FederatedManyToManyField

#: Whether any historical FederatedManyToManyField was made: until one is,
#: rendering a migration state costs nothing here.
_seen = False


def live_related_labels(field: FederatedManyToManyField, cls: type[models.Model]) -> frozenset:
    """Return the lower-case labels of the models related to the installed twin of ``field``."""
    if not global_apps.ready:
        return frozenset()
    try:
        live = global_apps.get_model(cls._meta.app_label, cls._meta.model_name)
        twin = live._meta.get_field(field.name)
    except (LookupError, FieldDoesNotExist):
        return frozenset()
    if type(twin) is not type(field):
        return frozenset()
    return frozenset(m._meta.label_lower for m in twin.get_related_models(include_auto=True))


def relate_historical(field: FederatedManyToManyField, cls: type[models.Model]) -> None:
    """Give the models of ``cls``'s state related to ``field`` their reverse relation.

    Models already rendered in the state get it now (once the source and the
    through model are registered); models rendered later get it from
    ``_relate_new_model``.
    """
    global _seen
    field.historical_labels = live_related_labels(field, cls)
    if not field.historical_labels:
        return
    _seen = True
    for label in field.historical_labels:
        app_label, model_name = label.split(".")
        target = cls._meta.apps.all_models.get(app_label, {}).get(model_name)
        if target is not None:
            _relate(field, target)


def _relate(field: FederatedManyToManyField, target: type[models.Model]) -> None:
    def add(*_models: Any) -> None:
        try:
            field.add_relation(target)
        except ImproperlyConfigured:
            # A custom through model of a migration state has no
            # FederatedForeignKey (private fields are not in migrations, as
            # Django's GenericForeignKey is not): no relation to make.
            pass

    lazy_related_operation(add, field.model, field.remote_field.through)


def _relate_new_model(sender: type[models.Model], **kwargs: Any) -> None:
    """When a historical model is rendered, relate it to the fields that list it."""
    apps = sender._meta.apps
    if not _seen or apps is global_apps:
        return
    label = sender._meta.label_lower
    for app_models in list(apps.all_models.values()):
        for model in list(app_models.values()):
            for field in model._meta.local_many_to_many:
                if label in getattr(field, "historical_labels", ()):
                    _relate(field, sender)


class_prepared.connect(_relate_new_model, dispatch_uid="federated_fk_m2m_history")
