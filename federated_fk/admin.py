"""The Django admin for federated relations.

- ``FederatedTabularInline`` / ``FederatedStackedInline``: inlines of the rows
  whose FederatedForeignKey points at the object being edited, as Django's
  ``GenericTabularInline`` / ``GenericStackedInline`` are for a
  GenericForeignKey. Django's names are aliases, so that code written for
  ``django.contrib.contenttypes.admin`` runs unchanged against this module.
- ``FederatedAdminMixin``: a ``ModelAdmin`` mixin whose change list shows the
  targets of FederatedForeignKeys and RemoteForeignKeys with one request per
  remote project per page, and shows a target whose project cannot answer
  as its id and "unavailable" instead of failing.
- ``target_display(name)``: that column (or read-only field) on its own.
- ``FederatedPickerMixin`` (part of ``FederatedAdminMixin`` and of the
  federated inlines): forms edit FederatedForeignKeys,
  FederatedManyToManyFields and RemoteForeignKeys with a target picker, a
  select2 search over the allowed target types (``federated_targets``),
  answered by ``GenericContentTypeAdmin``'s ``autocomplete/`` view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.options import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.contrib.contenttypes.admin import GenericInlineModelAdmin as DjangoGenericInline
from django.contrib.contenttypes.admin import GenericInlineModelAdminChecks
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import prefetch_related_objects
from django.forms import ALL_FIELDS
from django.forms.models import modelform_defines_fields
from django.http import HttpRequest
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.safestring import SafeString

from federated_fk.fields import FederatedForeignKey, FederatedManyToManyField, RemoteForeignKey
from federated_fk.fields.remote_key import parse_target
from federated_fk.forms import BaseGenericInlineFormSet, generic_inlineformset_factory
from federated_fk.models import GenericContentType
from federated_fk.picker import (
    FederatedTargetField,
    FederatedTargetSelect,
    FederatedTargetSelectMultiple,
    RemoteTargetField,
    picker_form,
    target_types,
    types_callable,
)
from federated_fk.prefetch import collect_remote_errors
from federated_fk.views import FederatedAutocompleteJsonView, find_key

__all__ = [
    "FederatedAdminMixin",
    "FederatedInlineModelAdmin",
    "FederatedPickerMixin",
    "FederatedStackedInline",
    "FederatedTabularInline",
    "GenericInlineModelAdmin",
    "GenericStackedInline",
    "GenericTabularInline",
    "target_display",
]


@admin.register(GenericContentType)
class GenericContentTypeAdmin(admin.ModelAdmin):
    """Read-only list of the content types this service knows, local and remote.

    It also serves the target picker's search, at ``autocomplete/`` (URL name
    ``<site>:federated_fk_genericcontenttype_autocomplete``): a site whose
    forms use the picker registers this admin, as ``admin.site`` does.
    """

    list_display = ("project", "app_label", "model", "type_name", "pk_type", "is_local")
    list_filter = ("project", "app_label")
    search_fields = ("project", "app_label", "model", "type_name")
    ordering = ("project", "app_label", "model")

    @admin.display(boolean=True, description="local")
    def is_local(self, obj: GenericContentType) -> bool:
        return obj.is_local

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = FederatedAutocompleteJsonView.as_view(admin_site=self.admin_site)
        return [
            path(
                "autocomplete/",
                self.admin_site.admin_view(view),
                name="federated_fk_genericcontenttype_autocomplete",
            ),
            *super().get_urls(),
        ]


# The target picker.


class FederatedPickerMixin:
    """Edit federated keys in admin forms by searching for their targets.

    For a ``ModelAdmin`` or an inline. A FederatedForeignKey that the form
    would show (``fields`` names it, or names nothing) replaces its
    content-type and object-id fields with one picker: a select2 search,
    Django's ``AutocompleteSelect`` over
    ``federated_fk.views.FederatedAutocompleteJsonView``, among the allowed
    target types. FederatedManyToManyFields and RemoteForeignKeys get the
    same search. Naming the content-type or object-id field in ``fields``,
    or the key in ``readonly_fields``, keeps Django's fields instead.

    Saving checks that a new target exists: a remote one costs one request
    per project, and a project that cannot answer is a form error
    ("shop_b unavailable").

    ``federated_targets`` maps key names to the types offered, as labels
    (``"books.Book"`` here, ``"shop_b:books.Book"`` in another service);
    a key it does not name offers every type its content-type field allows
    (``limit_choices_to``) except the models of Django's internal apps and
    of ``federated_fk`` (``federated_fk.forms.INTERNAL_APPS``)::

        class ReferenceAdmin(FederatedAdminMixin, admin.ModelAdmin):
            fields = ["content_object"]
            federated_targets = {"content_object": ["books.Book", "shop_b:books.Book"]}

    Local targets are found through their admin's ``search_fields``, as
    Django's autocomplete finds them; remote ones through their service's
    search. The search is served by ``GenericContentTypeAdmin``: on a site
    that does not register it (``admin.site`` does), forms keep Django's
    fields.
    """

    #: Key name -> the labels of the target types offered (see the class).
    federated_targets: dict[str, Sequence[str]] = {}

    def formfield_for_dbfield(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if self.picker_enabled() and isinstance(
            db_field, FederatedManyToManyField | RemoteForeignKey
        ):
            return self._picker_formfield(db_field, request, **kwargs)
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *self._check_federated_targets()]  # type: ignore[misc]

    def _check_federated_targets(self) -> list[checks.CheckMessage]:
        model = self.model  # type: ignore[attr-defined]
        errors = []
        for name, labels in self.federated_targets.items():
            if find_key(model, name) is None:
                errors.append(
                    _error(
                        f"'federated_targets' names '{name}', which is not a "
                        "FederatedForeignKey, FederatedManyToManyField or RemoteForeignKey "
                        f"of '{model._meta.label}'.",
                        self,
                        "E506",
                    )
                )
                continue
            for label in [labels] if isinstance(labels, str) else labels:
                try:
                    parse_target(label) if ":" in label else apps.get_model(label)
                except (LookupError, ValueError):
                    errors.append(
                        _error(
                            f"'federated_targets[{name!r}]' names {label!r}, which is neither "
                            "an installed model ('app_label.Model') nor a model of another "
                            "service ('project:app_label.Model').",
                            self,
                            "E507",
                        )
                    )
        return errors

    def picker_enabled(self) -> bool:
        """Whether the site serves the picker's search (it registers GenericContentTypeAdmin)."""
        return self.admin_site.is_registered(GenericContentType)  # type: ignore[attr-defined]

    def _picker_formfield(self, key: Any, request: HttpRequest, **kwargs: Any) -> forms.Field:
        using = kwargs.get("using")
        labels = self.federated_targets.get(key.name)
        if isinstance(key, RemoteForeignKey):
            widget = FederatedTargetSelect(key, self.admin_site, using=using)  # type: ignore[attr-defined]
            return key.formfield(form_class=RemoteTargetField, key=key, widget=widget)
        types = self._offered_types(key, labels, using)
        widget = FederatedTargetSelectMultiple(key, self.admin_site, types, using=using)  # type: ignore[attr-defined]
        return key.formfield(types=types_callable(key, labels, using), verify=True, widget=widget)

    def _offered_types(self, key: Any, labels: Sequence[str] | None, using: Any) -> Any:
        # Without labels, the view computes the default itself: no list in the URL.
        return None if labels is None else [ct.pk for ct in target_types(key, labels, using)]

    def picked_keys(
        self, fields: Sequence[str] | None, readonly: Sequence[Any]
    ) -> dict[str, FederatedForeignKey]:
        """Return the FederatedForeignKeys the form edits with a picker, by name."""
        model = self.model  # type: ignore[attr-defined]
        keys: dict[str, FederatedForeignKey] = {}
        if not self.picker_enabled():
            return keys
        for key in model._meta.private_fields:
            if not isinstance(key, FederatedForeignKey) or key.name in readonly:
                continue
            if self._is_parent_key(key):
                continue
            if fields is not None and (
                key.name not in fields or key.ct_field in fields or key.fk_field in fields
            ):
                continue
            ct_field = model._meta.get_field(key.ct_field)
            if ct_field.editable and key.ct_field not in readonly:
                keys[key.name] = key
        return keys

    def _is_parent_key(self, key: FederatedForeignKey) -> bool:
        return False

    def picker(
        self, request: HttpRequest, obj: Any, fields: Sequence[str] | None, base: type
    ) -> tuple[type, list[str]]:
        """Return the form class with pickers, and the names of the fields they replace."""
        readonly = self.get_readonly_fields(request, obj)  # type: ignore[attr-defined]
        keys = self.picked_keys(fields, readonly)
        # As ModelAdmin.get_form does: declared fields that are read-only go.
        declared: dict[str, Any] = dict.fromkeys(
            f for f in readonly if f in getattr(base, "declared_fields", {})
        )
        for name, key in keys.items():
            labels = self.federated_targets.get(name)
            ct_field = key.model._meta.get_field(key.ct_field)
            widget = FederatedTargetSelect(
                key,
                self.admin_site,
                self._offered_types(key, labels, None),  # type: ignore[attr-defined]
            )
            declared[name] = FederatedTargetField(
                types=types_callable(key, labels, None),
                required=not ct_field.blank,
                label=key.name.replace("_", " ").capitalize(),
                widget=widget,
            )
        # The key itself too: Django refuses a non-editable field in ``fields``.
        replaced = [n for key in keys.values() for n in (key.name, key.ct_field, key.fk_field)]
        return picker_form(base, keys, declared), replaced

    def _exclude(self, request: HttpRequest, obj: Any, replaced: list[str]) -> list[str] | None:
        # As ModelAdmin.get_form and InlineModelAdmin.get_formset compute it.
        excluded = self.get_exclude(request, obj)  # type: ignore[attr-defined]
        exclude = [] if excluded is None else list(excluded)
        exclude.extend(self.get_readonly_fields(request, obj))  # type: ignore[attr-defined]
        form = self.form  # type: ignore[attr-defined]
        if excluded is None and hasattr(form, "_meta") and form._meta.exclude:
            exclude.extend(form._meta.exclude)
        exclude.extend(replaced)
        return exclude or None

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type:
        kwargs = self._with_picker(request, obj, kwargs)
        return super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> type:
        kwargs = self._with_picker(request, obj, kwargs)
        return super().get_formset(request, obj, **kwargs)  # type: ignore[misc]

    def _with_picker(self, request: HttpRequest, obj: Any, kwargs: dict[str, Any]) -> dict:
        """Return the form factory's keyword arguments with the picker's form and fields."""
        if "fields" in kwargs:
            fields = kwargs.pop("fields")
        else:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))  # type: ignore[attr-defined]
        form, replaced = self.picker(request, obj, fields, kwargs.get("form", self.form))  # type: ignore[attr-defined]
        kwargs.setdefault("exclude", self._exclude(request, obj, replaced))
        return {**kwargs, "form": form, "fields": fields}


# Inlines.


class FederatedInlineModelAdminChecks(GenericInlineModelAdminChecks):
    """The checks of Django's generic inlines, for a FederatedForeignKey.

    Django's accept any GenericForeignKey, so an inline on a model whose key
    uses Django's ContentType would pass them and fail on the change page.
    """

    def _check_relation(self, obj: Any, parent_model: Any) -> list[checks.CheckMessage]:
        opts = obj.model._meta
        keys = [f for f in opts.private_fields if isinstance(f, FederatedForeignKey)]
        if not keys:
            return [_error(f"'{opts.label}' has no FederatedForeignKey.", obj, "E501")]
        for attr, id_ in (("ct_field", "E502"), ("ct_fk_field", "E503")):
            try:
                opts.get_field(getattr(obj, attr))
            except FieldDoesNotExist:
                return [
                    _error(
                        f"'{attr}' references '{getattr(obj, attr)}', which is not a "
                        f"field on '{opts.label}'.",
                        obj,
                        id_,
                    )
                ]
        if not any(k.ct_field == obj.ct_field and k.fk_field == obj.ct_fk_field for k in keys):
            return [
                _error(
                    f"'{opts.label}' has no FederatedForeignKey using content type field "
                    f"'{obj.ct_field}' and object ID field '{obj.ct_fk_field}'.",
                    obj,
                    "E504",
                )
            ]
        return []


def _error(msg: str, obj: Any, number: str) -> checks.Error:
    return checks.Error(msg, obj=obj.__class__, id=f"federated_fk.{number}")


class FederatedInlineModelAdmin(FederatedPickerMixin, DjangoGenericInline):
    """An inline of the rows whose FederatedForeignKey points at the parent object.

    Use it as Django's ``GenericInlineModelAdmin``; ``ct_field`` and
    ``ct_fk_field`` name the key's content-type and object-id fields. The
    model's other federated keys get the target picker
    (``FederatedPickerMixin``).
    """

    ct_field = "content_type"
    ct_fk_field = "object_id"
    formset = BaseGenericInlineFormSet

    checks_class = FederatedInlineModelAdminChecks

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> type:
        # As GenericInlineModelAdmin.get_formset, with federated_fk's factory:
        # Django's refuses content types other than its own.
        if "fields" in kwargs:
            fields = kwargs.pop("fields")
        else:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        exclude = [*(self.exclude or []), *self.get_readonly_fields(request, obj)]
        if self.exclude is None and hasattr(self.form, "_meta") and self.form._meta.exclude:
            # The form's Meta.exclude counts only if the inline defines none.
            exclude.extend(self.form._meta.exclude)
        form, replaced = self.picker(request, obj, fields, kwargs.pop("form", self.form))
        exclude.extend(replaced)
        defaults = {
            "ct_field": self.ct_field,
            "fk_field": self.ct_fk_field,
            "form": form,
            "formfield_callback": partial(self.formfield_for_dbfield, request=request),
            "formset": self.formset,
            "extra": self.get_extra(request, obj),
            "can_delete": self.can_delete and self.has_delete_permission(request, obj),
            "can_order": False,
            "fields": fields,
            "min_num": self.get_min_num(request, obj),
            "max_num": self.get_max_num(request, obj),
            "exclude": exclude or None,
            **kwargs,
        }
        defaults["form"] = _permission_protected_form(
            defaults["form"],
            can_change=self.has_change_permission(request, obj) if request else True,
            can_add=self.has_add_permission(request, obj) if request else True,
        )
        if defaults["fields"] is None and not modelform_defines_fields(defaults["form"]):
            defaults["fields"] = ALL_FIELDS
        return generic_inlineformset_factory(self.model, **defaults)

    def _is_parent_key(self, key: FederatedForeignKey) -> bool:
        # The key to the parent object is set by the formset, not picked.
        return key.ct_field == self.ct_field and key.fk_field == self.ct_fk_field


def _permission_protected_form(base: type, can_change: bool, can_add: bool) -> type:
    class PermissionProtectedModelForm(base):  # type: ignore[misc,valid-type]
        def has_changed(self) -> bool:
            # Protect against unauthorized edits.
            if not can_change and not self.instance._state.adding:
                return False
            if not can_add and self.instance._state.adding:
                return False
            return super().has_changed()

    return PermissionProtectedModelForm


class FederatedStackedInline(FederatedInlineModelAdmin):
    template = "admin/edit_inline/stacked.html"


class FederatedTabularInline(FederatedInlineModelAdmin):
    template = "admin/edit_inline/tabular.html"


# Django's names, so that code written for django.contrib.contenttypes.admin
# runs unchanged against this module.
GenericInlineModelAdminChecks = FederatedInlineModelAdminChecks  # type: ignore[misc]
GenericInlineModelAdmin = FederatedInlineModelAdmin
GenericStackedInline = FederatedStackedInline
GenericTabularInline = FederatedTabularInline


def check_django_generic_inlines(**kwargs: Any) -> list[checks.CheckMessage]:
    """Find Django generic inlines on a model whose key is a FederatedForeignKey.

    Django's own checks pass them (a FederatedForeignKey is a
    GenericForeignKey), and the change page then fails.
    """
    from django.contrib.admin.sites import all_sites

    errors = []
    for site in all_sites:
        # As Django's admin checks, every registered ModelAdmin of every site.
        for model_admin in site._registry.values():
            for inline in model_admin.inlines:
                if not isinstance(inline, type) or not issubclass(inline, DjangoGenericInline):
                    continue
                if issubclass(inline, FederatedInlineModelAdmin):
                    continue
                if any(
                    isinstance(f, FederatedForeignKey)
                    and f.ct_field == inline.ct_field
                    and f.fk_field == inline.ct_fk_field
                    for f in inline.model._meta.private_fields
                ):
                    errors.append(
                        checks.Error(
                            f"'{inline.__qualname__}' is a Django generic inline of "
                            f"'{inline.model._meta.label}', whose key is a FederatedForeignKey.",
                            hint="Use federated_fk.admin.FederatedTabularInline or "
                            "FederatedStackedInline.",
                            obj=inline,
                            id="federated_fk.E505",
                        )
                    )
    return errors


# Targets in lists and read-only fields.


def _key(model: type[models.Model], name: str) -> Any:
    """Return the FederatedForeignKey or RemoteForeignKey ``name`` of ``model``, or None."""
    for field in model._meta.private_fields:
        if field.name == name and isinstance(field, FederatedForeignKey):
            return field
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, RemoteForeignKey) else None


def target_display(name: str, description: str | None = None) -> Callable[[Any], Any]:
    """Return a column showing the target of the key ``name`` with its project.

    Use it in ``list_display`` or ``readonly_fields``. A target shows as its
    label and project; a target whose project cannot answer shows as its id
    and "unavailable"; one whose type the project no longer exposes as its id
    and "type no longer in the schema"; a missing one as its id and "not
    found". In a
    ``FederatedAdminMixin`` change list, the targets of the page are loaded
    with one request per project; elsewhere each object loads its own.
    """

    def display(obj: models.Model) -> SafeString | None:
        return render_target(obj, name)

    display.__name__ = name
    display.federated_key = name  # type: ignore[attr-defined]
    return admin.display(description=description or name.replace("_", " "))(display)


def render_target(obj: models.Model, name: str) -> SafeString | None:
    """Return the HTML of the target of ``obj``'s key ``name`` (see ``target_display``)."""
    field = _key(type(obj), name)
    if field is None:
        raise FieldDoesNotExist(f"{type(obj)._meta.label} has no federated key {name!r}.")
    ct, object_id = _pointer(obj, field)
    if ct is None or object_id in (None, ""):
        return None
    errors = getattr(obj, "_federated_remote_errors", None)
    if not field.is_cached(obj):
        with collect_remote_errors() as errors:
            prefetch_related_objects([obj], name)
    target = field.get_cached_value(obj)
    if target is not None:
        return format_html('{} <span class="federated-project">({})</span>', target, ct.project)
    if ct.is_remote and not ct.model_class()._meta.in_schema:
        return format_html(
            '{} <span class="federated-removed">(type no longer in the schema of {})</span>',
            object_id,
            ct.project,
        )
    if errors and ct.project in errors:
        return format_html(
            '{} <span class="federated-unavailable">({} unavailable)</span>', object_id, ct.project
        )
    return format_html(
        '{} <span class="federated-missing">(not found in {})</span>', object_id, ct.project
    )


def _pointer(obj: models.Model, field: Any) -> tuple[GenericContentType | None, Any]:
    """Return the content type and id that ``obj``'s key ``field`` holds."""
    if isinstance(field, RemoteForeignKey):
        object_id = getattr(obj, field.attname)
        return (field.content_type(obj._state.db) if object_id is not None else None), object_id
    ct_id = getattr(obj, obj._meta.get_field(field.ct_field).attname)
    if ct_id is None:
        return None, None
    return field.get_content_type(id=ct_id, using=obj._state.db), getattr(obj, field.fk_field)


class FederatedChangeList(ChangeList):
    """A change list that loads the page's federated targets together.

    The page's rows are read inside ``collect_remote_errors()``: one request
    per remote project, and a project that cannot answer is recorded on each
    row (its targets then show as unavailable) instead of failing the page.
    """

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        names = [item.federated_key for item in self.list_display if hasattr(item, "federated_key")]
        if not names:
            return
        # Still a queryset (list_editable builds a formset on it), read here.
        self.result_list = self.result_list.prefetch_related(*dict.fromkeys(names))
        with collect_remote_errors() as errors:
            len(self.result_list)
        for row in self.result_list:
            row._federated_remote_errors = errors


class FederatedAdminMixin(FederatedPickerMixin):
    """A ``ModelAdmin`` mixin for models with FederatedForeignKeys or RemoteForeignKeys.

    Its forms pick targets by search (``FederatedPickerMixin``).

    In ``list_display``, the name of such a key becomes a ``target_display``
    column, and the targets of each page are loaded with one request per
    remote project. In ``readonly_fields``, a FederatedForeignKey's name
    shows its target the same way::

        @admin.register(Reference)
        class ReferenceAdmin(FederatedAdminMixin, admin.ModelAdmin):
            list_display = ["id", "content_object"]
            readonly_fields = ["content_object"]
    """

    def __init__(self, model: type[models.Model], admin_site: Any) -> None:
        super().__init__(model, admin_site)  # type: ignore[call-arg]
        # The admin asks the ModelAdmin first for names that are not concrete
        # fields, so a FederatedForeignKey's name finds this display.
        for field in model._meta.private_fields:
            if isinstance(field, FederatedForeignKey) and not hasattr(self, field.name):
                setattr(self, field.name, target_display(field.name))

    def get_list_display(self, request: HttpRequest) -> Sequence[Any]:
        list_display = super().get_list_display(request)  # type: ignore[misc]
        return [
            target_display(item) if isinstance(item, str) and _key(self.model, item) else item
            for item in list_display
        ]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return FederatedChangeList
