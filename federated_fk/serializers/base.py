"""What the federated serializers add to Django's: natural keys for targets."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.serializers.base import DeserializationError
from django.db import models

from federated_fk import conf
from federated_fk.fields import FederatedForeignKey, FederatedManyToManyField
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


def federated_many_to_many(model: type[models.Model]) -> dict[str, FederatedManyToManyField]:
    """Return the FederatedManyToManyFields of ``model`` with an auto-created through model.

    As with Django's ManyToManyField, links through a custom through model
    are the through model's own rows.
    """
    return {
        f.name: f
        for f in model._meta.local_many_to_many
        if isinstance(f, FederatedManyToManyField) and f.through._meta.auto_created
    }


def target_pairs(obj: models.Model, field: FederatedManyToManyField, natural: bool) -> list[Any]:
    """Return the targets of ``obj`` as ``[[project, app_label, model], id]`` pairs.

    The id is a local target's natural key when ``natural`` is set and its
    model has natural keys, else the stored object id.
    """
    using = obj._state.db
    manager = GenericContentType.objects.db_manager(using)
    rows = field.through._base_manager.using(using).filter(
        **{field.source_field.attname: getattr(obj, field.source_field.target_field.attname)}
    )
    ct_name, id_name = field.ct_field.attname, field.object_id_field.attname
    pairs = []
    for ct_id, object_id in rows.values_list(ct_name, id_name):
        ct = manager.get_for_id(ct_id)
        model = ct.model_class() if ct.is_local else None
        value: Any = object_id
        if natural and model is not None and _has_natural_keys(model):
            target = model._base_manager.using(using).filter(pk=object_id).first()
            value = list(target.natural_key()) if target is not None else object_id
        pairs.append([list(ct.natural_key()), value])
    return pairs


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

    def resolve_targets(self, label: str, pk: Any, name: str, pairs: Any) -> list[Any]:
        """Return the targets named by ``[[project, app_label, model], id]`` pairs.

        Local targets are unsaved instances carrying their primary key (no
        query); remote ones are stand-ins.
        """
        where = f"{label} pk={pk!r}"
        if not isinstance(pairs, list | tuple):
            raise DeserializationError(f"{where}, field {name!r}: expected a list of targets.")
        targets = []
        for pair in pairs:
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise DeserializationError(
                    f"{where}, field {name!r}: {pair!r} is not a "
                    "[[project, app_label, model], id] pair."
                )
            ct = self._content_type(pair[0], where, name)
            value = pair[1]
            if isinstance(value, list | tuple):
                value = self._target_pk(ct, value, where, name)
            model = ct.model_class() if ct is not None else None
            if model is None:
                raise DeserializationError(
                    f"{where}, field {name!r}: content type {pair[0]!r} has no model."
                )
            if ct.is_remote:
                targets.append(model(value))
            else:
                target = model(pk=model._meta.pk.to_python(value))
                target._state.adding, target._state.db = False, self.using
                targets.append(target)
        return targets

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

    def handle_m2m_field(self, obj: models.Model, field: models.Field) -> None:
        if isinstance(field, FederatedManyToManyField):
            if field.through._meta.auto_created:
                self._current[field.name] = target_pairs(obj, field, self.use_natural_foreign_keys)
        else:
            super().handle_m2m_field(obj, field)  # type: ignore[misc]


class PythonDeserializerMixin(NaturalTargetDeserializer):
    """For the deserializers built on Django's python deserializer."""

    def _handle_object(self, obj: Any) -> Any:
        targets = {}
        if isinstance(obj, dict) and isinstance(obj.get("fields"), dict):
            label, pk, fields = str(obj.get("model")), obj.get("pk"), obj["fields"]
            self.resolve_fields(label, pk, fields)
            targets = self._many_to_many_targets(label, pk, fields)
        for deserialized in super()._handle_object(obj):  # type: ignore[misc]
            deserialized.m2m_data.update(targets)
            yield deserialized

    def _many_to_many_targets(self, label: str, pk: Any, fields: dict[str, Any]) -> dict:
        """Take the FederatedManyToManyField values out of ``fields``, as targets."""
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            return {}
        return {
            name: self.resolve_targets(label, pk, name, fields.pop(name))
            for name in federated_many_to_many(model)
            if name in fields
        }
