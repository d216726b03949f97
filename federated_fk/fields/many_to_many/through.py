"""The auto-created through model of a FederatedManyToManyField."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldError
from django.db import models
from django.db.models.functions import Cast
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from federated_fk.fields.foreign_key import FederatedForeignKey
from federated_fk.fields.many_to_many.deletion import SourceDeletion, keeps_rows

if TYPE_CHECKING:
    from federated_fk.fields.many_to_many.field import FederatedManyToManyField

#: The label the through table's content-type ForeignKey points at.
CONTENT_TYPE_MODEL = "federated_fk.GenericContentType"


class TextExact(Exact):
    """``exact`` on the target-id column, comparing text with text.

    When the ORM compares the column with another column (excluding across a
    reverse relation compares it with the target's primary key), that column
    is cast to text: the target-id column holds ids of every kind.
    """

    def process_rhs(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        if hasattr(self.rhs, "resolve_expression"):
            try:
                text = isinstance(self.rhs.output_field, models.CharField | models.TextField)
            except FieldError:
                text = True
            if not text:
                self.rhs = Cast(self.rhs, output_field=models.TextField())
        return super().process_rhs(compiler, connection)


def create_through_model(field: FederatedManyToManyField, klass: type[models.Model]) -> type:
    """Make the through model of ``field`` on ``klass``, as Django does for a ManyToManyField.

    The model is ``auto_created``: it is not in migrations; Django's schema
    editor creates and drops its table with the field.

    Under a source policy that may keep the rows of a deleted source
    (``DO_NOTHING``, ``DO_NOTHING_SIGNAL``, ``CASCADE_SIGNAL_VETO``), the
    source key has no database constraint: rows kept on purpose must not
    fail the transaction's integrity check.
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
    object_id.register_lookup(TextExact)
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
                db_constraint=field.remote_field.db_constraint
                and not keeps_rows(field.on_delete_src),
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
