"""What the federated serializers add to Django's: natural keys for targets."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.serializers.base import DeserializationError
from django.db import models

from federated_fk import conf
from federated_fk.fields import FederatedForeignKey
from federated_fk.models import GenericContentType


def federated_keys(model: type[models.Model]) -> dict[str, FederatedForeignKey]:
    """Return the FederatedForeignKeys of ``model`` by the name of their object-id field."""
    return {f.fk_field: f for f in model._meta.private_fields if isinstance(f, FederatedForeignKey)}


def target_natural_key(obj: models.Model, field: FederatedForeignKey) -> list[Any] | None:
    """Return the natural key of ``obj``'s local target, if its model has one."""
    ct_id = getattr(obj, obj._meta.get_field(field.ct_field).attname)
    if ct_id is None or getattr(obj, field.fk_field) is None:
        return None
    ct = GenericContentType.objects.db_manager(obj._state.db).get_for_id(ct_id)
    model = ct.model_class() if ct.is_local else None
    if model is None or not _has_natural_keys(model):
        return None
    target = getattr(obj, field.name)
    return list(target.natural_key()) if target is not None else None


def _has_natural_keys(model: type[models.Model]) -> bool:
    return hasattr(model, "natural_key") and hasattr(model._default_manager, "get_by_natural_key")


class NaturalTargetSerializer:
    """Write local targets by natural key when ``use_natural_foreign_keys`` is on."""

    use_natural_foreign_keys: bool

    def natural_target(self, obj: models.Model, field: models.Field) -> list[Any] | None:
        if not self.use_natural_foreign_keys:
            return None
        federated = federated_keys(type(obj)).get(field.name)
        return target_natural_key(obj, federated) if federated else None


class NaturalTargetDeserializer:
    """Resolve content-type and target natural keys before Django reads a row.

    The content type is resolved first, whatever the order of the fields, so
    that the target's natural key can be looked up in the right model. An
    unknown content type is created only for a local model that exists, or a
    remote project that is configured; anything else fails with a message
    naming the object and the field.
    """

    using: str

    def resolve_fields(self, label: str, pk: Any, fields: dict[str, Any]) -> None:
        """Replace natural keys in ``fields`` (a dict of raw values) by primary keys."""
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            return  # Django reports an unknown model itself
        for fk_name, field in federated_keys(model).items():
            where = f"{label} pk={pk!r}"
            ct = self._content_type(fields.get(field.ct_field), where, field.ct_field)
            if ct is not None:
                fields[field.ct_field] = ct.pk
            value = fields.get(fk_name)
            if isinstance(value, list | tuple):
                fields[fk_name] = self._target_pk(ct, value, where, fk_name)

    def _content_type(self, value: Any, where: str, name: str) -> GenericContentType | None:
        manager = GenericContentType.objects.db_manager(self.using)
        if not isinstance(value, list | tuple):
            return manager.get_for_id(value) if value not in (None, "") else None
        key = tuple(str(part) for part in value)
        if len(key) == 2:
            key = (conf.current_project(), *key)
        if len(key) != 3:
            raise DeserializationError(
                f"{where}, field {name!r}: {list(value)!r} is not a content type key; "
                "expected [project, app_label, model]."
            )
        try:
            return manager.get_by_natural_key(*key)
        except GenericContentType.DoesNotExist:
            return self._create_content_type(key, where, name)

    def _create_content_type(self, key: tuple[str, ...], where: str, name: str) -> Any:
        project, app_label, model = key
        manager = GenericContentType.objects.db_manager(self.using)
        if conf.is_local_project(project):
            try:
                apps.get_model(app_label, model)
            except LookupError:
                raise DeserializationError(
                    f"{where}, field {name!r}: content type {list(key)!r} names a local "
                    "model that is not installed."
                ) from None
        elif project not in conf.federation_settings()["PROJECTS"]:
            raise DeserializationError(
                f"{where}, field {name!r}: content type {list(key)!r} names project "
                f"{project!r}, which has no endpoint in FEDERATION['PROJECTS']."
            )
        ct, _created = manager.get_or_create(project=project, app_label=app_label, model=model)
        return ct

    def _target_pk(
        self, ct: GenericContentType | None, key: list[Any] | tuple[Any, ...], where: str, name: str
    ) -> Any:
        model = ct.model_class() if ct is not None and ct.is_local else None
        if model is None or not _has_natural_keys(model):
            described = (
                "no content type" if ct is None else f"content type {list(ct.natural_key())!r}"
            )
            raise DeserializationError(
                f"{where}, field {name!r}: {list(key)!r} is a natural key, but {described} "
                "has no local model with natural keys."
            )
        try:
            return model._default_manager.db_manager(self.using).get_by_natural_key(*key).pk
        except model.DoesNotExist:
            raise DeserializationError(
                f"{where}, field {name!r}: no {model._meta.label} has the natural key "
                f"{list(key)!r}."
            ) from None
        except (TypeError, ValueError) as exc:
            raise DeserializationError(
                f"{where}, field {name!r}: {list(key)!r} is not a natural key of "
                f"{model._meta.label} ({exc})."
            ) from None


class PythonSerializerMixin(NaturalTargetSerializer):
    """For the serializers built on Django's python serializer (JSON, JSONL, YAML)."""

    _current: dict[str, Any]

    def handle_field(self, obj: models.Model, field: models.Field) -> None:
        key = self.natural_target(obj, field)
        if key is None:
            super().handle_field(obj, field)  # type: ignore[misc]
        else:
            self._current[field.name] = key


class PythonDeserializerMixin(NaturalTargetDeserializer):
    """For the deserializers built on Django's python deserializer."""

    def _handle_object(self, obj: Any) -> Any:
        if isinstance(obj, dict) and isinstance(obj.get("fields"), dict):
            self.resolve_fields(str(obj.get("model")), obj.get("pk"), obj["fields"])
        yield from super()._handle_object(obj)  # type: ignore[misc]
