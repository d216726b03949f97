"""Forms for models with federated keys: generic inline formsets and the target picker.

- ``BaseGenericInlineFormSet`` / ``generic_inlineformset_factory``: Django's
  generic inline formsets, for a FederatedForeignKey.
- The target picker (``federated_fk.picker``): ``FederatedTargetField``,
  ``RemoteTargetField``, the widgets ``FederatedTargetSelect`` /
  ``FederatedTargetSelectMultiple``, ``target_types`` and ``INTERNAL_APPS``,
  importable from here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.forms import BaseGenericInlineFormSet as DjangoBaseFormSet
from django.db import models
from django.forms import ModelForm, modelformset_factory
from django.forms.models import BaseModelFormSet

from federated_fk.models import GenericContentType
from federated_fk.picker import (
    INTERNAL_APPS,
    FederatedTargetField,
    FederatedTargetSelect,
    FederatedTargetSelectMultiple,
    RemoteTargetField,
    target_types,
)

__all__ = [
    "INTERNAL_APPS",
    "BaseGenericInlineFormSet",
    "FederatedTargetField",
    "FederatedTargetSelect",
    "FederatedTargetSelectMultiple",
    "RemoteTargetField",
    "generic_inlineformset_factory",
    "target_types",
]


class BaseGenericInlineFormSet(DjangoBaseFormSet):
    """A formset of the objects whose FederatedForeignKey points at ``instance``."""

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        instance: models.Model | None = None,
        save_as_new: bool = False,
        prefix: str | None = None,
        queryset: Any = None,
        **kwargs: Any,
    ) -> None:
        opts = self.model._meta
        self.instance = instance
        self.rel_name = (
            f"{opts.app_label}-{opts.model_name}-{self.ct_field.name}-{self.ct_fk_field.name}"
        )
        self.save_as_new = save_as_new
        if self.instance is None or not self.instance._is_pk_set():
            qs = self.model._default_manager.none()
        else:
            if queryset is None:
                queryset = self.model._default_manager
            qs = queryset.filter(
                **{
                    self.ct_field.name: self._content_type(self.for_concrete_model),
                    self.ct_fk_field.name: self.instance.pk,
                }
            )
        # Skip Django's __init__: it filters by Django's ContentType.
        BaseModelFormSet.__init__(
            self, queryset=qs, data=data, files=files, prefix=prefix, **kwargs
        )

    def _content_type(self, for_concrete_model: bool = True) -> GenericContentType:
        return GenericContentType.objects.get_for_model(
            self.instance, for_concrete_model=for_concrete_model
        )

    def save_new(self, form: ModelForm, commit: bool = True) -> models.Model:
        setattr(form.instance, self.ct_field.attname, self._content_type().pk)
        setattr(form.instance, self.ct_fk_field.attname, self.instance.pk)
        return form.save(commit=commit)


def generic_inlineformset_factory(
    model: type[models.Model],
    form: type[ModelForm] = ModelForm,
    formset: type[BaseGenericInlineFormSet] = BaseGenericInlineFormSet,
    ct_field: str = "content_type",
    fk_field: str = "object_id",
    fields: Any = None,
    exclude: Any = None,
    extra: int = 3,
    can_order: bool = False,
    can_delete: bool = True,
    max_num: int | None = None,
    formfield_callback: Any = None,
    validate_max: bool = False,
    for_concrete_model: bool = True,
    min_num: int | None = None,
    validate_min: bool = False,
    absolute_max: int | None = None,
    can_delete_extra: bool = True,
) -> type[BaseGenericInlineFormSet]:
    """Return a ``GenericInlineFormSet`` for ``model``'s FederatedForeignKey.

    Give ``ct_field`` and ``fk_field`` when they are not ``content_type``
    and ``object_id``.
    """
    opts = model._meta
    # A missing field raises FieldDoesNotExist, which names it.
    ct = opts.get_field(ct_field)
    if not isinstance(ct, models.ForeignKey) or ct.remote_field.model != GenericContentType:
        raise ValueError(f"fk_name '{ct}' is not a ForeignKey to GenericContentType")
    fk = opts.get_field(fk_field)
    exclude = [*(exclude or []), ct.name, fk.name]
    FormSet = modelformset_factory(
        model,
        form=form,
        formfield_callback=formfield_callback,
        formset=formset,
        extra=extra,
        can_delete=can_delete,
        can_order=can_order,
        fields=fields,
        exclude=exclude,
        max_num=max_num,
        validate_max=validate_max,
        min_num=min_num,
        validate_min=validate_min,
        absolute_max=absolute_max,
        can_delete_extra=can_delete_extra,
    )
    FormSet.ct_field = ct
    FormSet.ct_fk_field = fk
    FormSet.for_concrete_model = for_concrete_model
    return FormSet
