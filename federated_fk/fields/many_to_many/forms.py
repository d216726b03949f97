"""The form field and widget of a FederatedManyToManyField.

The widget lists the current targets, each with a checkbox to keep it, and
offers empty rows to add targets by content type and id. Listing costs one
query per local model and no remote request: remote targets are named by
their content type and id. The admin's ``FederatedAdminMixin`` replaces the
widget with a target picker (``federated_fk.forms``) and has the field check
that new remote targets exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from federated_fk import conf
from federated_fk.exceptions import FederationError
from federated_fk.ids import InvalidId, parse_id, parse_remote_id
from federated_fk.models import GenericContentType
from federated_fk.remote import RemoteObject, fetch_remote_objects

#: A target as a form sees it: "<content type id>:<object id>".
SEPARATOR = ":"


def key_string(ct_id: int, object_id: Any) -> str:
    return f"{ct_id}{SEPARATOR}{object_id}"


def parse_key(value: str) -> tuple[int, str]:
    ct_id, sep, object_id = str(value).partition(SEPARATOR)
    if not sep or not ct_id.isdigit() or not object_id:
        raise ValidationError(
            _("“%(value)s” is not a target (content type id and object id)."),
            code="invalid_target",
            params={"value": value},
        )
    return int(ct_id), object_id


def target_label(ct: GenericContentType, object_id: str, local: Mapping[Any, Any]) -> str:
    """Name a target for people: a local object's str, a remote one's type and id."""
    if ct.is_local and object_id in local:
        return f"{local[object_id]} ({ct.app_label}.{ct.model})"
    return f"{ct.project} {ct.app_label}.{ct.model} #{object_id}"


class FederatedTargetsWidget(forms.Widget):
    """Checkboxes for the current targets, and rows to add new ones."""

    extra_rows = 2

    def __init__(self, attrs: dict[str, Any] | None = None, extra_rows: int | None = None):
        super().__init__(attrs)
        if extra_rows is not None:
            self.extra_rows = extra_rows

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        try:
            getter = data.getlist
        except AttributeError:

            def getter(key: str) -> list[str]:
                value = data.get(key, [])
                return list(value) if isinstance(value, list | tuple) else [value]

        pairs = zip(getter(f"{name}_ct"), getter(f"{name}_id"), strict=False)
        added = [key_string(ct, oid.strip()) for ct, oid in pairs if ct and oid.strip()]
        return [*getter(name), *added]

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        # Unchecked checkboxes send nothing: an empty list is a value.
        return False

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        keys = [parse_key(v) for v in value or ()]
        labels = self._labels(keys)
        current = format_html_join(
            "",
            '<li><label><input type="checkbox" name="{}" value="{}" checked> {}</label></li>',
            ((name, key_string(*k), labels[k]) for k in keys),
        )
        options = format_html_join(
            "",
            '<option value="{}">{}</option>',
            ((ct.pk, f"{ct.project} {ct.app_label}.{ct.model}") for ct in self._content_types()),
        )
        row = format_html(
            '<li><select name="{}_ct"><option value="">---------</option>{}</select> '
            '<input type="text" name="{}_id" placeholder="{}"></li>',
            name,
            options,
            name,
            _("id"),
        )
        return format_html(
            '<ul class="federated-targets" id="id_{}">{}{}</ul>',
            name,
            current,
            mark_safe(row * self.extra_rows),  # rows built by format_html above
        )

    def _content_types(self) -> Iterable[GenericContentType]:
        return GenericContentType.objects.order_by("project", "app_label", "model")

    def _labels(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], str]:
        by_type: dict[int, list[str]] = {}
        for ct_id, object_id in keys:
            by_type.setdefault(ct_id, []).append(object_id)
        labels = {}
        for ct_id, object_ids in by_type.items():
            ct = GenericContentType.objects.get_for_id(ct_id)
            model = ct.model_class() if ct.is_local else None
            local = {}
            if model is not None:
                local = {str(o.pk): o for o in model._base_manager.filter(pk__in=object_ids)}
            for object_id in object_ids:
                labels[ct_id, object_id] = target_label(ct, object_id, local)
        return labels


def verify_remote_targets(targets: Iterable[Any]) -> None:
    """Check that remote stand-ins exist: one request per remote project.

    :raises ValidationError: a target does not exist (code ``no_object``), or
        its project could not answer (code ``unavailable``)
    """
    wanted: dict[type[RemoteObject], list[Any]] = {}
    for target in targets:
        if isinstance(target, RemoteObject):
            wanted.setdefault(type(target), []).append(target.pk)
    if not wanted:
        return
    result = fetch_remote_objects(wanted)
    if result.errors:
        raise ValidationError(
            [
                ValidationError(
                    _("%(project)s unavailable: the target cannot be checked. Try again later."),
                    code="unavailable",
                    params={"project": project},
                )
                for project in sorted(result.errors)
            ]
        )
    found = {(type(obj), obj.pk) for obj in result.objects}
    missing = [
        ValidationError(
            _("%(model)s %(id)s does not exist in %(project)s."),
            code="no_object",
            params={"model": model._meta.model_name, "id": pk, "project": model._meta.project},
        )
        for model, pks in wanted.items()
        for pk in pks
        if (model, pk) not in found
    ]
    if missing:
        raise ValidationError(missing)


class FederatedTargetsField(forms.Field):
    """Targets of any model, local or remote, chosen by content type and id.

    Cleans to a list of local instances and remote stand-ins; a local target
    must exist. A remote one is checked once its project is configured, its
    type is in the synchronized schema and its id is exactly one of that
    type; with ``verify``, a remote target not in ``known`` must also exist
    (one request per remote project), else it is taken at its word.

    :param types: a callable returning the ids of the content types targets
        may have (``None``: any)
    :param verify: check that new remote targets exist
    """

    widget = FederatedTargetsWidget
    default_error_messages = {
        "invalid_list": _("Enter a list of targets."),
        "no_content_type": _("There is no content type %(ct)s."),
        "no_object": _("%(model)s %(id)s does not exist."),
        "not_readable": _("%(ct)s cannot be linked: %(why)s"),
        "not_allowed": _("%(ct)s is not a type of target this field accepts."),
    }

    def __init__(
        self,
        *,
        types: Callable[[], Iterable[int]] | None = None,
        verify: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.types = types
        self.verify = verify
        #: Keys already stored ("<ct id>:<object id>"): not checked again.
        self.known: set[tuple[int, str]] = set()

    def known_from(self, initial: Any) -> set[tuple[int, str]]:
        """Return the keys of the form's initial value (the targets already stored)."""
        try:
            return set(self.to_python(initial))
        except ValidationError:
            return set()

    def to_python(self, value: Any) -> list[tuple[int, str]]:
        if value in self.empty_values:
            return []
        if not isinstance(value, list | tuple):
            raise ValidationError(self.error_messages["invalid_list"], code="invalid_list")
        # An empty entry (a blank input posted by a form) is no target.
        return list(dict.fromkeys(parse_key(v) for v in value if v not in self.empty_values))

    def clean(self, value: Any) -> list[Any]:
        keys = self.to_python(value)
        self.validate(keys)
        return self.targets(keys)

    def targets(self, keys: list[tuple[int, str]]) -> list[Any]:
        """Return the target of each key, checked as the class says."""
        new = [key for key in keys if key not in self.known]
        if self.types is not None and new:
            allowed = set(self.types())
            for ct_id, _object_id in new:
                if ct_id not in allowed:
                    raise ValidationError(
                        self.error_messages["not_allowed"],
                        code="not_allowed",
                        params={"ct": self._type_label(ct_id)},
                    )
        targets = [self._target(ct_id, object_id) for ct_id, object_id in keys]
        if self.verify:
            verify_remote_targets(t for k, t in zip(keys, targets, strict=True) if k in new)
        return targets

    def _type_label(self, ct_id: int) -> str:
        try:
            ct = GenericContentType.objects.get_for_id(ct_id)
        except GenericContentType.DoesNotExist:
            return str(ct_id)
        return f"{ct.project} {ct.app_label}.{ct.model}"

    def _target(self, ct_id: int, object_id: str) -> Any:
        try:
            ct = GenericContentType.objects.get_for_id(ct_id)
        except GenericContentType.DoesNotExist:
            raise ValidationError(
                self.error_messages["no_content_type"], code="no_content_type", params={"ct": ct_id}
            ) from None
        model = ct.model_class()
        if model is None:
            raise ValidationError(
                self.error_messages["no_content_type"], code="no_content_type", params={"ct": ct}
            )
        if ct.is_remote:
            return self._remote_target(ct, model, object_id)
        try:
            return model._base_manager.get(pk=parse_id(model, object_id))
        except (model.DoesNotExist, InvalidId):
            raise ValidationError(
                self.error_messages["no_object"],
                code="no_object",
                params={"model": model._meta.verbose_name, "id": object_id},
            ) from None

    def _remote_target(self, ct: GenericContentType, model: Any, object_id: str) -> Any:
        """A stand-in, if a read could fetch it: the project configured, the type in
        the synchronized schema, the id exactly one of its type (no request)."""
        label = f"{ct.project} {ct.app_label}.{ct.model}"
        try:
            conf.project_settings(ct.project)
            model._meta.check_in_schema()
            return model(parse_remote_id(label, model._meta.pk_type, object_id))
        except (FederationError, ValueError) as exc:
            raise ValidationError(
                self.error_messages["not_readable"],
                code="not_readable",
                params={"ct": label, "why": exc},
            ) from None

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return set(self.to_python(initial)) != set(self.to_python(data))
        except ValidationError:
            return True
