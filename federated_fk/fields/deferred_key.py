"""Deferred foreign keys: the target is chosen by the project that installs the app.

A reusable app declares ``content = DeferredForeignKey()``; the installing
project then calls ``point(Comment, "content", BlogPost)`` (or
``point_named(app, "Content", BlogPost)`` for every key of that name). A local
target gives a real ``ForeignKey``; a remote one (``"shop_b:books.Book"`` or a
remote ``GenericContentType``) gives a ``RemoteForeignKey``. This follows
django-dfk's documented behaviour, on the current Django.

Pointing changes the model class, so it must happen while models are being
imported: in the installing project's ``models`` module, or a module imported
from it. ``AppConfig.ready()`` is too late.

``repoint()`` also takes any ``ForeignKey`` of any model, as django-dfk's
did, including models written without this library: the key is rebuilt from
its own arguments (``deconstruct()``) with the new target, so migrations
record it as an ``AlterField`` of that model's app.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from copy import copy
from typing import Any
from weakref import WeakSet

from django.apps import AppConfig, apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models.base import ModelBase
from django.db.models.fields.related import resolve_relation
from django.db.models.signals import class_prepared
from django.db.models.utils import make_model_tuple

from federated_fk import conf
from federated_fk.fields.remote_key import RemoteForeignKey, Target, target_of
from federated_fk.models import GenericContentType
from federated_fk.remote import RemoteObject

#: ForeignKey arguments that mean nothing to a remote key; a declaration's
#: are dropped when it is pointed at a remote model.
FOREIGN_KEY_ONLY = frozenset(
    {
        "on_delete",
        "related_name",
        "related_query_name",
        "limit_choices_to",
        "to_field",
        "db_constraint",
        "parent_link",
        "swappable",
    }
)
#: RemoteForeignKey arguments that mean nothing to a ForeignKey, dropped when
#: the target is local (a "project:app_label.Model" of this project).
REMOTE_KEY_ONLY = frozenset({"pk_type", "on_remote_delete"})


class NotPointedError(ImproperlyConfigured):
    """A deferred foreign key was used before ``point()`` gave it a target."""

    def __init__(self, model: type[models.Model], name: str) -> None:
        self.model, self.name = model, name
        super().__init__(
            f"'{model._meta.label}.{name}' is a DeferredForeignKey that was never "
            "pointed. Call federated_fk.deferred.point() (or point_named()) from "
            "the installing project's models module."
        )


class InvalidTargetError(ValueError, AssertionError):
    """A key was pointed at an abstract model, or at something that is not a model.

    django-dfk raised ``AssertionError`` for these; this is also a
    ``ValueError``, and is raised even under ``python -O``.
    """

    def __init__(self, target: Any, reason: str) -> None:
        self.target, self.reason = target, reason
        super().__init__(f"Deferred keys point at concrete models; {reason}.")


class PointedTooLateError(ImproperlyConfigured):
    """``point()`` was called after the app registry had loaded the models."""

    def __init__(self, model: type[models.Model], name: str) -> None:
        self.model, self.name = model, name
        super().__init__(
            f"'{model._meta.label}.{name}' was pointed after the models were loaded "
            "(in AppConfig.ready() or later). Point deferred keys while models are "
            "imported: in the installing project's models module, or a module it imports."
        )


# A property, so that ``Model(key=...)`` reaches ``__set__`` (and raises
# NotPointedError) instead of failing as an unknown keyword argument.
class DeferredForeignKey(property):
    """A foreign key whose target is chosen later, by ``point()`` or ``point_named()``.

    Until it is pointed it is inert, as in django-dfk: it adds no field and no
    column, the model loads, migrates and works, and only using the key
    (reading it, assigning it, passing it to the constructor) raises
    ``NotPointedError``. An unpointed key is reported by the system check
    warning ``federated_fk.W404``.

    :param name: a group name for ``point_named()``; several keys may share it
    :param args: passed on to the final ``ForeignKey`` (e.g. ``on_delete``)
    :param kwargs: passed on to the final key; those given to ``point()`` win
    """

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.name = name
        self.args = args
        self.kwargs = kwargs
        #: The class of the final key when the target is local.
        self.field_class: type[models.ForeignKey] = models.ForeignKey
        self.model: type[models.Model] | None = None
        self.attname: str | None = None
        self.made_late = False
        # The final key takes this place among the model's fields.
        self.creation_counter = models.Field.creation_counter
        models.Field.creation_counter += 1

    @classmethod
    def of_field(cls, field: models.Field) -> DeferredForeignKey:
        """Return the declaration that ``field``, an existing key, amounts to.

        Its arguments are the field's own (``deconstruct()``) without the
        target, so that ``repoint()`` rebuilds the field for a new target.
        """
        swappable = getattr(field, "swappable", None)
        if swappable:
            # Deconstructing a swappable key asks the registry, which is not
            # ready while models are imported; the target is dropped anyway.
            field = copy(field)
            field.swappable = False
        _name, _path, args, kwargs = field.deconstruct()
        kwargs.pop("to", None)
        if swappable is False:
            kwargs["swappable"] = False  # deconstruct() leaves it out
        if isinstance(field, RemoteForeignKey):
            kwargs.pop("pk_type", None)  # the new target's, not the old one's
        declaration = cls(*args, **kwargs)
        if isinstance(field, models.ForeignKey):
            declaration.field_class = type(field)
        declaration.model, declaration.attname = field.model, field.name
        declaration.made_late = field.model in _MADE_LATE
        declaration.creation_counter = field.creation_counter
        return declaration

    def contribute_to_class(self, cls: type[models.Model], name: str) -> None:
        self.model = cls
        self.attname = name
        # A model made after the registry is ready (in a test, or at run time)
        # may be pointed at once; a model loaded with the project may not.
        self.made_late = cls._meta.apps.models_ready
        setattr(cls, name, self)

    def __delete__(self, instance: Any) -> None:
        raise NotPointedError(type(instance), self.attname or "?")

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        raise NotPointedError(type(instance), self.attname or "?")

    def __set__(self, instance: Any, value: Any) -> None:
        raise NotPointedError(type(instance), self.attname or "?")

    def __repr__(self) -> str:
        where = f"{self.model._meta.label}.{self.attname}" if self.model else "unbound"
        group = f" name={self.name!r}" if self.name else ""
        return f"<DeferredForeignKey {where}{group}>"


def point(
    from_model: type[models.Model],
    rel_name: str,
    to_model: Any,
    clean_caches: bool = True,
    **fk_kwargs: Any,
) -> models.Field:
    """Give the deferred key ``rel_name`` of ``from_model`` its target; return the new field.

    A local model (a class or ``"app_label.Model"``) gives a ``ForeignKey``;
    a remote one (its ``GenericContentType``, stand-in class or
    ``"project:app_label.Model"``) gives a ``RemoteForeignKey``. ``fk_kwargs``
    go to the new field and win over the declaration's.

    :raises InvalidTargetError: the target is abstract or not a model (a
        ``ValueError`` and an ``AssertionError``, as django-dfk raised)
    :raises ValueError: ``rel_name`` is not an unpointed deferred key (use
        ``repoint()`` for a pointed one)
    :raises TypeError: the key is defined on a non-abstract base class of
        ``from_model`` (point it on that class), or a local target lacks ``on_delete``
    :raises PointedTooLateError: the models were already loaded
    """
    _check_target(to_model)
    deferred = getattr(from_model, rel_name, None)
    if not isinstance(deferred, DeferredForeignKey):
        raise ValueError(
            f"'{from_model.__name__}.{rel_name}' is not a DeferredForeignKey; "
            "only deferred keys are pointed (repoint() changes a pointed one)."
        )
    _check_not_inherited(from_model, rel_name)
    _check_in_time(from_model, rel_name, deferred.made_late)
    field = _make_field(deferred, to_model, fk_kwargs)
    _install(from_model, rel_name, field, deferred, clean_caches)
    return field


def repoint(
    from_model: type[models.Model],
    rel_name: str,
    to_model: Any,
    clean_caches: bool = True,
    **fk_kwargs: Any,
) -> models.Field:
    """Point the foreign key ``rel_name`` of ``from_model`` at ``to_model`` instead; return it.

    ``rel_name`` is a key that ``point()`` made, or any ``ForeignKey`` (or
    ``OneToOneField``) or ``RemoteForeignKey`` of ``from_model``, even of a
    model written without this library. The key is replaced by a new one
    built from the declaration's arguments (for a key ``point()`` made) or
    from the key's own, then ``fk_kwargs``, which win. A remote target gives
    a ``RemoteForeignKey``, as ``point()`` does. ``makemigrations`` then
    writes an ``AlterField`` into the migrations of ``from_model``'s app.

    :raises InvalidTargetError: the target is abstract or not a model (a
        ``ValueError`` and an ``AssertionError``, as django-dfk raised)
    :raises ValueError: ``rel_name`` is not a foreign key of ``from_model``,
        or is a deferred key not pointed yet (use ``point()``)
    :raises TypeError: the key is defined on a non-abstract base class of
        ``from_model`` (repoint it on that class), or a local target lacks ``on_delete``
    :raises PointedTooLateError: the models were already loaded
    """
    _check_target(to_model)
    deferred = _declaration(from_model, rel_name)
    _check_in_time(from_model, rel_name, deferred.made_late)
    new_field = _make_field(deferred, to_model, fk_kwargs)
    _install(from_model, rel_name, new_field, deferred, clean_caches)
    return new_field


def point_named(
    app: str | AppConfig, target_name: str, to_model: Any, **fk_kwargs: Any
) -> list[models.Field]:
    """Point every deferred key called ``target_name`` in ``app`` at ``to_model``.

    ``app`` is an app label or an ``AppConfig``. Keys are found on the app's
    models as they are imported, so call this after those models' modules.
    Return the new fields.
    """
    if isinstance(app, AppConfig):
        found = app.apps.all_models[app.label].values()
    else:
        found = apps.all_models[app].values()
    return [
        point(model, attname, to_model, **fk_kwargs)
        for model, attname, deferred in list(deferred_keys(list(found)))
        if deferred.name == target_name
    ]


def clean_object_caches(*models_: Any) -> None:
    """Rebuild the ``_meta`` caches of ``models_`` and of their subclasses.

    ``point(..., clean_caches=False)`` leaves them to the caller, so that
    many keys can be pointed and the caches rebuilt once.
    """
    for model in models_:
        if isinstance(model, str):
            model = _resolved(model)
        if not isinstance(model, ModelBase):
            continue
        for cls in (model, *_subclasses(model)):
            if isinstance(cls, ModelBase) and not cls._meta.abstract:
                cls._meta._expire_cache()
    apps.get_models.cache_clear()


def deferred_keys(
    models_: Iterable[type[models.Model]],
) -> Iterator[tuple[type[models.Model], str, DeferredForeignKey]]:
    """Yield ``(model, attribute, key)`` for each unpointed deferred key of ``models_``.

    A key defined on a concrete base class is yielded for that class only.
    """
    for model in models_:
        seen: set[str] = set()
        # The class dictionaries, not getattr(): no other descriptor runs.
        for cls in model.__mro__:
            for attname, value in list(vars(cls).items()):
                if attname in seen:
                    continue
                seen.add(attname)
                if isinstance(value, DeferredForeignKey) and not _inherited(model, attname):
                    yield model, attname, value


def check_deferred_foreign_keys(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn of every deferred foreign key that was never pointed.

    A warning, not an error: an unpointed key is inert (as in django-dfk), so
    ``migrate`` and the test runner go on. It was the error ``federated_fk.E401``;
    that id is retired, not reused.
    """
    if app_configs is None:
        models_ = apps.get_models()
    else:
        models_ = [m for config in app_configs for m in config.get_models()]
    return [
        checks.Warning(
            f"'{model._meta.label}.{attname}' is a DeferredForeignKey that was never "
            "pointed: it has no column, and using it raises NotPointedError.",
            hint=(
                "If this project uses it, call federated_fk.deferred.point() or "
                "point_named() from the installing project's models module."
            ),
            obj=model,
            id="federated_fk.W404",
        )
        for model, attname, _key in deferred_keys(models_)
    ]


# Helpers.

#: Models made after their registry had loaded its models (in a test, under
#: ``isolate_apps``, or at run time): their keys may be repointed at once.
_MADE_LATE: WeakSet[type[models.Model]] = WeakSet()


def _record_late_model(sender: type[models.Model], **kwargs: Any) -> None:
    if sender._meta.apps.models_ready:
        _MADE_LATE.add(sender)


class_prepared.connect(_record_late_model, dispatch_uid="federated_fk.deferred.made_late")


def _declaration(model: type[models.Model], rel_name: str) -> DeferredForeignKey:
    """Return what ``repoint()`` rebuilds the key ``rel_name`` of ``model`` from."""
    here = model.__dict__.get(rel_name)
    if isinstance(here, DeferredForeignKey):
        raise ValueError(
            f"'{model.__name__}.{rel_name}' is a DeferredForeignKey that was never pointed; "
            "point() it first."
        )
    deferred = getattr(getattr(here, "field", None), "federated_deferred", None)
    if isinstance(deferred, DeferredForeignKey):
        return deferred
    try:
        field = model._meta.get_field(rel_name)
    except FieldDoesNotExist:
        field = None
    if not isinstance(field, models.ForeignKey | RemoteForeignKey) or field.auto_created:
        raise ValueError(
            f"'{model.__name__}.{rel_name}' is not a foreign key of {model.__name__}; "
            "repoint() changes a ForeignKey, a OneToOneField or a RemoteForeignKey."
        )
    if field not in model._meta.local_fields:
        raise TypeError(
            f"'{model.__name__}.{rel_name}' is defined on a non-abstract base class of "
            f"{model.__name__}; repoint it on that class."
        )
    return DeferredForeignKey.of_field(field)


def _check_target(to_model: Any) -> None:
    """Raise InvalidTargetError unless ``to_model`` may name a model."""
    if isinstance(to_model, str | GenericContentType):
        return  # resolved later, as ForeignKey resolves "app_label.Model"
    if isinstance(to_model, type) and issubclass(to_model, RemoteObject):
        return
    if not isinstance(to_model, ModelBase):
        raise InvalidTargetError(to_model, f"{to_model!r} is not a model")
    if to_model._meta.abstract:
        raise InvalidTargetError(to_model, f"{to_model.__name__} is an abstract model")


def _inherited(model: type[models.Model], attname: str) -> bool:
    """True when ``attname`` belongs to a concrete (multi-table) base of ``model``."""
    return any(
        hasattr(parent, attname) or attname in {f.name for f in parent._meta.local_fields}
        for parent in model._meta.get_parent_list()
    )


def _check_not_inherited(model: type[models.Model], rel_name: str) -> None:
    if _inherited(model, rel_name):
        raise TypeError(
            f"'{model.__name__}.{rel_name}' is defined on a non-abstract base class of "
            f"{model.__name__}; point it on that class."
        )


def _check_in_time(model: type[models.Model], rel_name: str, made_late: bool) -> None:
    if model._meta.apps.models_ready and not made_late:
        raise PointedTooLateError(model, rel_name)


def _make_field(deferred: DeferredForeignKey, to_model: Any, fk_kwargs: dict[str, Any]) -> Any:
    remote = _remote_target(to_model)
    if remote is not None:
        target, pk_type = remote
        kwargs = {k: v for k, v in deferred.kwargs.items() if k not in FOREIGN_KEY_ONLY}
        if issubclass(deferred.field_class, models.OneToOneField):
            kwargs["unique"] = True  # implied by the one-to-one key it replaces
        kwargs.update(fk_kwargs)
        if pk_type is not None:
            kwargs.setdefault("pk_type", pk_type)
        to = "{}:{}.{}".format(*target)
        field: models.Field = RemoteForeignKey(to, **kwargs)
    else:
        to = _local_target(to_model)
        kwargs = {
            k: v for k, v in {**deferred.kwargs, **fk_kwargs}.items() if k not in REMOTE_KEY_ONLY
        }
        if not deferred.args and "on_delete" not in kwargs:
            raise TypeError(
                f"Pointing {deferred!r} at a local model needs on_delete: give it "
                "to DeferredForeignKey() or to point()."
            )
        field = deferred.field_class(to, *deferred.args, **kwargs)
    # Marks the key as made by point(), for repoint().
    field.federated_deferred = deferred
    field.creation_counter = deferred.creation_counter
    return field


def _remote_target(to_model: Any) -> tuple[Target, str | None] | None:
    """Return the target and its pk type if ``to_model`` names a remote model, else None."""
    if isinstance(to_model, GenericContentType):
        if to_model.is_local:
            return None
    elif isinstance(to_model, type) and issubclass(to_model, RemoteObject):
        pass
    elif not (isinstance(to_model, str) and ":" in to_model):
        return None
    target, pk_type = target_of(to_model)
    return None if conf.is_local_project(target[0]) else (target, pk_type)


def _local_target(to_model: Any) -> Any:
    """Return what ``ForeignKey(to=...)`` takes for the local model ``to_model``."""
    if isinstance(to_model, GenericContentType):
        return f"{to_model.app_label}.{to_model.model}"
    if isinstance(to_model, str):
        # "project:app_label.Model" of a local project, or "app_label.Model".
        return to_model.rpartition(":")[2]
    _check_target(to_model)
    return to_model


def _install(
    model: type[models.Model],
    attname: str,
    field: models.Field,
    deferred: DeferredForeignKey,
    clean_caches: bool,
) -> None:
    """Replace what ``model`` has under ``attname`` with ``field``."""
    old = model.__dict__.get(attname)
    old_field = getattr(old, "field", None)
    old_target = None
    if isinstance(old_field, models.Field) and old_field in model._meta.local_fields:
        old_target = _uninstall(model, old_field)
    model.add_to_class(attname, field)
    if clean_caches:
        new_target = field.remote_field.model if field.is_relation else None
        clean_object_caches(model, old_target, new_target)


def _uninstall(model: type[models.Model], field: models.Field) -> Any:
    """Take the key ``field`` off ``model``; return its old target, if local."""
    model._meta.local_fields.remove(field)
    if field.attname in model.__dict__:
        delattr(model, field.attname)
    if not field.is_relation:
        return None
    target = field.remote_field.model
    accessor = field.remote_field.get_accessor_name()
    if isinstance(target, ModelBase) and accessor and accessor in target.__dict__:
        delattr(target, accessor)
    # A target still named by a string is resolved when its model loads;
    # the retired key must then add no reverse accessor to it.
    field.remote_field.related_name = "+"
    if isinstance(target, str):
        _forget_pending_resolution(model, field)
    return target


def _forget_pending_resolution(model: type[models.Model], field: models.Field) -> None:
    """Drop the registry's pending resolution of the retired ``field``'s string target.

    Otherwise a target that never loads (its app is not installed, which may
    be why the key was repointed) stays a check error (``fields.E307``),
    though nothing uses the key any more.
    """
    key = make_model_tuple(resolve_relation(model, field.remote_field.model))
    pending = getattr(model._meta.apps, "_pending_operations", {})
    if key in pending:
        pending[key] = [op for op in pending[key] if not _resolves(op, field)]
        if not pending[key]:
            del pending[key]


def _resolves(operation: Any, field: models.Field) -> bool:
    """True when ``operation``, a chain of partials, resolves the target of ``field``."""
    for _depth in range(5):
        if getattr(operation, "keywords", {}).get("field") is field:
            return True
        operation = getattr(operation, "func", None)
    return False


def _resolved(label: str) -> Any:
    try:
        return apps.get_model(label) if apps.models_ready else None
    except LookupError:
        return None


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
