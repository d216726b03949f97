"""The target picker: the admin's form fields and widgets that choose a key's targets.

``FederatedTargetField`` (a FederatedForeignKey, as one value
"<content type id>:<object id>"), ``RemoteTargetField`` (a RemoteForeignKey)
and the select2 widgets ``FederatedTargetSelect`` /
``FederatedTargetSelectMultiple``, which ask
``federated_fk.views.FederatedAutocompleteJsonView`` for targets as Django's
``AutocompleteSelect`` asks ``AutocompleteJsonView``; which content types a
key offers (``target_types``), and how an option reads. The admin's
``FederatedAdminMixin`` puts them in its forms; ``federated_fk.forms`` makes
the public ones importable beside the formsets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.apps import apps
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from federated_fk.fields import FederatedForeignKey, FederatedManyToManyField, RemoteForeignKey
from federated_fk.fields.many_to_many.forms import (
    FederatedTargetsField,
    key_string,
    parse_key,
    verify_remote_targets,
)
from federated_fk.fields.remote_key import parse_target
from federated_fk.ids import InvalidId, parse_ids, parse_remote_id
from federated_fk.models import GenericContentType
from federated_fk.remote import RemoteObject

#: Apps whose models are not offered as targets unless named: Django's
#: internal apps and this one.
INTERNAL_APPS = frozenset({"admin", "auth", "contenttypes", "sessions", "federated_fk"})

#: A key the picker chooses targets for.
Key = FederatedForeignKey | FederatedManyToManyField | RemoteForeignKey


def candidate_types(key: Key, using: str | None = None) -> models.QuerySet[GenericContentType]:
    """Return every content type ``key`` may point at, internal apps included.

    For a FederatedForeignKey or FederatedManyToManyField, these are the types
    its content-type ForeignKey allows (``limit_choices_to``, as Django limits
    a GenericForeignKey's types); for a RemoteForeignKey, its one type.
    """
    rows = GenericContentType.objects.db_manager(using).all()
    if isinstance(key, RemoteForeignKey):
        return rows.filter(project=key.target[0], app_label=key.target[1], model=key.target[2])
    if isinstance(key, FederatedForeignKey):
        ct_field = key.model._meta.get_field(key.ct_field)
    else:
        ct_field = key.ct_field
    return rows.complex_filter(ct_field.get_limit_choices_to())


def _label_key(label: str) -> tuple[str, ...]:
    """Return the natural key of ``"app_label.Model"`` or ``"project:app_label.Model"``."""
    if ":" in label:
        return parse_target(label)
    model = apps.get_model(label)
    return GenericContentType.objects.get_for_model(model).natural_key()


def target_types(
    key: Key, labels: Sequence[str] | None = None, using: str | None = None
) -> list[GenericContentType]:
    """Return the content types ``key`` may point at, as the picker offers them.

    Of ``candidate_types(key)``: those ``labels`` names (``"app_label.Model"``
    for a model of this service, ``"project:app_label.Model"`` for
    another's); without ``labels``, all but the models of ``INTERNAL_APPS``
    (a RemoteForeignKey's one type is always offered). Types that cannot be
    picked (``is_pickable``) are left out.
    """
    rows = list(candidate_types(key, using))
    if labels is not None:
        wanted = {_label_key(label) for label in labels}
        rows = [ct for ct in rows if ct.natural_key() in wanted]
    elif not isinstance(key, RemoteForeignKey):
        rows = [ct for ct in rows if ct.app_label not in INTERNAL_APPS]
    return sorted(
        (ct for ct in rows if is_pickable(ct)), key=lambda ct: (ct.project, ct.app_label, ct.model)
    )


def is_pickable(ct: GenericContentType) -> bool:
    """Whether targets of ``ct`` can be picked: a remote type in its project's
    schema, or a local model that is installed (and not an auto-created one)."""
    if ct.is_remote:
        return bool(ct.in_schema)
    model = ct.model_class()
    return model is not None and not model._meta.auto_created


def option_text(obj: Any, ct: GenericContentType) -> str:
    """Name a target for the picker: ``"Dune (book, shop_b)"``, its type and project.

    A remote stand-in that is not loaded is named by its id (no request).
    """
    if isinstance(obj, RemoteObject) and not obj.is_loaded:
        name = f"#{obj.pk}"
    else:
        name = str(obj)
    # A remote type is named as its service names its model ("book"), not
    # by its GraphQL type ("ShopBBook").
    kind = ct.model if ct.is_remote else type(obj)._meta.verbose_name
    return f"{name} ({kind}, {ct.project})"


def option_value(key: Key, ct: GenericContentType, pk: Any) -> str:
    """The picker's value of a target: its id for a RemoteForeignKey, else "<ct id>:<id>"."""
    return str(pk) if isinstance(key, RemoteForeignKey) else key_string(ct.pk, pk)


def selected_labels(key: Key, values: Iterable[str], using: str | None = None) -> dict[str, str]:
    """Return the text of each chosen value; local targets cost one query per model.

    Remote targets are named by their id (no request); values that name no
    target are left out.
    """
    by_type: dict[GenericContentType, dict[str, str]] = {}
    for value in values:
        try:
            if isinstance(key, RemoteForeignKey):
                ct, object_id = key.content_type(using), value
            else:
                ct_id, object_id = parse_key(value)
                ct = GenericContentType.objects.db_manager(using).get_for_id(ct_id)
        except (ValidationError, GenericContentType.DoesNotExist):
            continue
        by_type.setdefault(ct, {})[object_id] = value
    labels = {}
    for ct, values_by_id in by_type.items():
        model = ct.model_class()
        if model is None:
            continue
        if ct.is_remote:
            objects = [stand_in_for(model, object_id) for object_id in values_by_id]
        else:
            # Only ids that can be keys of the model: a form shown again with a bad one.
            parsed = parse_ids(model, list(values_by_id), using)
            keys = [k for k in parsed if not isinstance(k, InvalidId)]
            objects = list(model._base_manager.using(using).filter(pk__in=keys)) if keys else []
        for obj in objects:
            if obj is not None and str(obj.pk) in values_by_id:
                labels[values_by_id[str(obj.pk)]] = option_text(obj, ct)
    return labels


def stand_in_for(model: type[RemoteObject], object_id: str) -> RemoteObject | None:
    """Return a stand-in for ``object_id`` if it is an id of ``model``, else None (no request)."""
    try:
        return model(parse_remote_id(model._meta.label, model._meta.pk_type, object_id))
    except (InvalidId, ValueError):
        return None


class _PickerMixin:
    """What the picker's widgets add to Django's ``AutocompleteMixin``.

    The URL is the ``autocomplete/`` view of ``GenericContentTypeAdmin`` on
    the same admin site; ``types`` (content-type ids) narrows what it
    searches. The request carries Django's ``app_label``, ``model_name`` and
    ``field_name`` of the key, as ``admin/js/autocomplete.js`` sends them.
    """

    url_name = "%s:federated_fk_genericcontenttype_autocomplete"

    def __init__(
        self,
        field: Key,
        admin_site: Any,
        types: Sequence[int] | None = None,
        attrs: dict[str, Any] | None = None,
        using: str | None = None,
    ) -> None:
        super().__init__(field, admin_site, attrs=attrs, using=using)  # type: ignore[call-arg]
        self.types = None if types is None else list(types)

    def get_url(self) -> str:
        url = super().get_url()  # type: ignore[misc]
        if self.types is None:
            return url
        return f"{url}?{urlencode({'types': ','.join(map(str, self.types))})}"

    def optgroups(self, name: str, value: list[str], attr: Any = None) -> list[Any]:
        """Return the chosen options only, named without a remote request."""
        options: list[Any] = []
        if not self.is_required and not self.allow_multiple_selected:  # type: ignore[attr-defined]
            options.append(self.create_option(name, "", "", False, 0))  # type: ignore[attr-defined]
        chosen = [v for v in value if v not in ("", None)]
        labels = selected_labels(self.field, chosen, self.db)  # type: ignore[attr-defined]
        for v in chosen:
            options.append(
                self.create_option(name, v, labels.get(v, v), True, len(options))  # type: ignore[attr-defined]
            )
        return [(None, options, 0)]


class FederatedTargetSelect(_PickerMixin, AutocompleteSelect):
    """The picker of one target: a select2 search over the allowed types."""


class FederatedTargetSelectMultiple(_PickerMixin, AutocompleteSelectMultiple):
    """The picker of many targets (a FederatedManyToManyField)."""


class FederatedTargetField(FederatedTargetsField):
    """One target of a FederatedForeignKey, as "<content type id>:<object id>".

    Cleans to a local instance or a remote stand-in, or ``None``. The target
    must be of an allowed type and exist: a remote one not in ``known`` (the
    one already stored) costs one request, and a project that cannot answer
    is a form error ("shop_b unavailable"), not a guess.
    """

    widget = forms.TextInput

    def __init__(self, *, verify: bool = True, **kwargs: Any) -> None:
        super().__init__(verify=verify, **kwargs)

    def to_python(self, value: Any) -> tuple[int, str] | None:  # type: ignore[override]
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        if value in self.empty_values:
            return None
        return parse_key(value)

    def known_from(self, initial: Any) -> set[tuple[int, str]]:
        try:
            key = self.to_python(initial)
        except ValidationError:
            return set()
        return set() if key is None else {key}

    def clean(self, value: Any) -> Any:  # type: ignore[override]
        key = self.to_python(value)
        self.validate(key)
        if key is None:
            return None
        return self.targets([key])[0]

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(initial) != self.to_python(data)
        except ValidationError:
            return True


class RemoteTargetField(forms.Field):
    """The target of a RemoteForeignKey, by id, checked to exist.

    Cleans to the id in the key's type. A new target costs one request; one
    whose project cannot answer is a form error ("shop_b unavailable").
    """

    default_error_messages = {
        "invalid": _("“%(value)s” is not a valid %(model)s id."),
    }

    def __init__(self, *, key: RemoteForeignKey, verify: bool = True, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        super().__init__(**kwargs)
        self.key = key
        self.verify = verify
        self.known: set[Any] = set()

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        try:
            return parse_remote_id(self.key.remote_label, self.key.pk_type, str(value))
        except (InvalidId, ValueError):
            raise ValidationError(
                self.error_messages["invalid"],
                code="invalid",
                params={"value": value, "model": self.key.remote_label},
            ) from None

    def known_from(self, initial: Any) -> set[Any]:
        try:
            pk = self.to_python(initial)
        except ValidationError:
            return set()
        return set() if pk is None else {pk}

    def clean(self, value: Any) -> Any:
        pk = super().clean(value)
        if pk is not None and self.verify and pk not in self.known:
            model = self.key.remote_model()
            verify_remote_targets([model(pk)])
        return pk

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(initial) != self.to_python(data)
        except ValidationError:
            return True


class PickerFormMixin:
    """A ModelForm mixin that edits FederatedForeignKeys through their targets.

    ``federated_keys`` maps form-field names to FederatedForeignKeys: the
    field's initial value is the instance's target, and the chosen target
    sets the key's content type and object id before the model is
    validated, so that its unique constraints are checked. Picker fields
    (``known_from``) learn the targets already stored, which are not checked
    again.
    """

    federated_keys: dict[str, FederatedForeignKey] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        instance = self.instance  # type: ignore[attr-defined]
        for name, key in self.federated_keys.items():
            ct_id = getattr(instance, instance._meta.get_field(key.ct_field).attname)
            object_id = getattr(instance, key.fk_field)
            if ct_id is not None and object_id not in (None, ""):
                self.initial.setdefault(name, key_string(ct_id, object_id))  # type: ignore[attr-defined]
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            if hasattr(field, "known_from"):
                field.known = field.known_from(self.initial.get(name))  # type: ignore[attr-defined]

    def _post_clean(self) -> None:
        for name, key in self.federated_keys.items():
            if name in self.cleaned_data:  # type: ignore[attr-defined]
                setattr(self.instance, key.name, self.cleaned_data[name])  # type: ignore[attr-defined]
        super()._post_clean()  # type: ignore[misc]

    def _get_validation_exclusions(self) -> set[str]:
        exclude = super()._get_validation_exclusions()  # type: ignore[misc]
        for name, key in self.federated_keys.items():
            if name in self.cleaned_data:  # type: ignore[attr-defined]
                exclude -= {key.ct_field, key.fk_field}
        return exclude


def picker_form(
    base: type[forms.BaseForm],
    keys: dict[str, FederatedForeignKey],
    fields: dict[str, forms.Field | None],
) -> type[forms.BaseForm]:
    """Return ``base`` declaring ``fields`` (``None`` removes one), editing ``keys`` by target."""
    attrs: dict[str, Any] = {**fields, "federated_keys": {**base_keys(base), **keys}}
    return type(base.__name__, (PickerFormMixin, base), attrs)


def base_keys(base: type) -> dict[str, FederatedForeignKey]:
    return dict(getattr(base, "federated_keys", {}))


def types_callable(
    key: Key, labels: Sequence[str] | None, using: str | None
) -> Callable[[], list[int]]:
    """Return a callable listing the ids of the types ``key`` may point at, when called."""
    return lambda: [ct.pk for ct in target_types(key, labels, using)]
