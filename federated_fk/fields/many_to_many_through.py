"""The auto-created through model of a FederatedManyToManyField."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from federated_fk.fields.foreign_key import FederatedForeignKey
from federated_fk.fields.many_to_many_deletion import SourceDeletion

if TYPE_CHECKING:
    from federated_fk.fields.many_to_many import FederatedManyToManyField

#: The label the through table's content-type ForeignKey points at.
CONTENT_TYPE_MODEL = "federated_fk.GenericContentType"


def create_through_model(field: FederatedManyToManyField, klass: type[models.Model]) -> type:
    """Make the through model of ``field`` on ``klass``, as Django does for a ManyToManyField.

    The model is ``auto_created``: it is not in migrations; Django's schema
    editor creates and drops its table with the field.
    """
    name = f"{klass._meta.object_name}_{field.name}"
    source = klass._meta.model_name
    if source in ("content_type", "object_id", "target"):
        source = f"from_{source}"
    object_id = (
        models.TextField()
        if field.pk_maxlength is None
        else models.CharField(max_length=field.pk_maxlength)
    )
    meta = type(
        "Meta",
        (),
        {
            "db_table": field._get_m2m_db_table(klass._meta),
            "auto_created": klass,
            "app_label": klass._meta.app_label,
            "db_tablespace": klass._meta.db_tablespace,
            "unique_together": ((source, "content_type", "object_id"),),
            # Targets come back in the order they were added.
            "ordering": ("pk",),
            "verbose_name": _("%(from)s-target relationship") % {"from": source},
            "verbose_name_plural": _("%(from)s-target relationships") % {"from": source},
            "apps": klass._meta.apps,
        },
    )
    return type(
        name,
        (models.Model,),
        {
            "Meta": meta,
            "__module__": klass.__module__,
            source: models.ForeignKey(
                klass,
                on_delete=SourceDeletion(field),
                related_name=f"{name}+",
                db_constraint=field.remote_field.db_constraint,
            ),
            "content_type": models.ForeignKey(
                CONTENT_TYPE_MODEL,
                on_delete=models.CASCADE,
                related_name=f"{name}+",
                db_constraint=field.remote_field.db_constraint,
            ),
            "object_id": object_id,
            "target": FederatedForeignKey(
                "content_type", "object_id", for_concrete_model=field.for_concrete_model
            ),
        },
    )
