"""Relations of remote objects: a remote foreign key reads as its target, as a local one does.

A remote field whose values are other entities arrives as references
(``Ref(pk)``). Reading it gives the local row when the related model is in the
``"shared"`` project (the same table in every service), a stand-in of the
related remote type otherwise, and ``None`` for a null key; a to-many field
gives a list. Each stand-in class has one ``RelationDescriptor`` per relation,
and the descriptor is a Django prefetcher: ``prefetch_related(
"content_object__author")`` resolves a whole level at once, with one query per
local model and one request per remote project.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models

from federated_fk import conf
from federated_fk.remote.collect import report_partial
from federated_fk.remote.entities import Ref
from federated_fk.remote.loading import fetch_remote_objects
from federated_fk.remote.options import RemoteOptions

if TYPE_CHECKING:
    from federated_fk.remote.objects import RemoteObject

#: Identifies an object across local models and remote types: (kind, model, pk).
Identity = tuple[str, Any, Any]


def identity(obj: Any) -> Identity:
    """Return what names ``obj`` among local rows and remote objects alike."""
    opts = obj._meta
    if isinstance(opts, RemoteOptions):
        return ("remote", (opts.project, opts.app_label, opts.model_name), obj.pk)
    return ("local", opts.concrete_model._meta.label_lower, obj.pk)


@dataclass
class _Bundle:
    """The targets of one object's to-many relation, as a prefetch hands them over."""

    key: Identity
    targets: list[Any]


class RelationDescriptor:
    """The attribute of one remote relation on a stand-in class.

    :param name: the Python name of the field
    :param target: the relation as ``GenericContentType.relations`` stores it
    """

    def __init__(self, name: str, target: dict[str, Any]) -> None:
        self.name = name
        self.target = target
        self.many = bool(target["many"])

    def __get__(self, instance: RemoteObject | None, owner: type) -> Any:
        if instance is None:
            return self
        cache = instance._state.fields_cache
        if self.name not in cache:
            value = instance._remote_value(self.name)
            cache[self.name] = _resolve_one(type(instance), self.target, value)
        return cache[self.name]

    def __set__(self, instance: RemoteObject, value: Any) -> None:
        if isinstance(value, _Bundle):  # set by a prefetch
            instance._state.fields_cache[self.name] = value.targets
            return
        raise TypeError(f"Remote objects are read-only: cannot set {self.name!r} of {instance!r}.")

    def is_cached(self, instance: Any) -> bool:
        """Whether the related objects of ``instance`` are known (a Django prefetcher hook)."""
        return self.name in instance._state.fields_cache

    def get_prefetch_querysets(
        self, instances: Sequence[Any], querysets: Sequence[models.QuerySet] | None = None
    ) -> tuple[list[Any], Callable[[Any], Any], Callable[[Any], Any], bool, str, bool]:
        """Resolve this relation for ``instances``: one query per model, one request per project.

        ``instances`` may mix stand-ins of several remote types and, for a
        to-one relation, local rows with a foreign key of the same name.
        """
        links = {id(obj): _links(obj, self.name) for obj in _loaded(instances)}
        related = _fetch(
            instances[0], [link for found in links.values() for link in found], querysets
        )
        if not self.many:
            return (
                list(related.values()),
                identity,
                lambda obj: next(iter(links.get(id(obj)) or ()), None),
                True,
                self.name,
                False,
            )
        bundles = [
            _Bundle(identity(obj), [related[k] for k in links.get(id(obj)) or () if k in related])
            for obj in instances
        ]
        return bundles, lambda bundle: bundle.key, identity, True, self.name, True


class RelationIdDescriptor:
    """``<relation>_id`` of a to-one relation: the target's primary key, as Django's attname."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: RemoteObject | None, owner: type) -> Any:
        if instance is None:
            return self
        value = instance._remote_value(self.name)
        return value.pk if isinstance(value, Ref) else None


def _links(obj: Any, name: str) -> list[Identity]:
    """Return the identities of the objects ``obj`` relates to through ``name``."""
    if not _is_remote(obj):
        field = obj._meta.get_field(name)
        pk = getattr(obj, field.attname)
        return [] if pk is None else [("local", field.related_model._meta.label_lower, pk)]
    target = getattr(type(obj), name).target
    value = obj._remote_value(name)
    refs = value if isinstance(value, list) else [] if value is None else [value]
    if conf.is_local_project(target["project"]):
        model = ("local", f"{target['app_label']}.{target['model']}")
    else:
        model = ("remote", (target["project"], target["app_label"], target["model"]))
    return [(*model, ref.pk) for ref in refs]


def _loaded(instances: Sequence[Any]) -> list[Any]:
    """Load, in one batch, the stand-ins among ``instances`` that are not loaded yet."""
    unloaded: dict[type, list[Any]] = defaultdict(list)
    for obj in instances:
        if _is_remote(obj) and not obj.is_loaded:
            unloaded[type(obj)].append(obj)
    if unloaded:
        loaded = report_partial(
            fetch_remote_objects({cls: [o.pk for o in objs] for cls, objs in unloaded.items()})
        )
        data = {(type(o), o.pk): o._data for o in loaded}
        for cls, objs in unloaded.items():
            for obj in objs:
                obj._data = data.get((cls, obj.pk))
    return [obj for obj in instances if not _is_remote(obj) or obj.is_loaded]


def _is_remote(obj: Any) -> bool:
    return isinstance(obj._meta, RemoteOptions)


def _fetch(
    first: Any, links: Iterable[Identity], querysets: Sequence[models.QuerySet] | None
) -> dict[Identity, Any]:
    """Return the related objects that exist, by identity: one query per local model,
    one request per remote project for every remote type together."""
    wanted: dict[tuple[str, Any], list[Any]] = defaultdict(list)
    for kind, model, pk in dict.fromkeys(links):
        wanted[(kind, model)].append(pk)
    found: list[Any] = []
    remote: dict[type, list[Any]] = {}
    for (kind, model), pks in wanted.items():
        if kind == "local":
            model_class = apps.get_model(model)
            queryset = next(
                (qs for qs in querysets or () if qs.model is model_class),
                model_class._base_manager.all(),
            )
            found.extend(queryset.filter(pk__in=pks))
        else:
            project, app_label, model_name = model
            target = {"project": project, "app_label": app_label, "model": model_name}
            # Django hands a level to the first object's prefetcher: a stand-in here.
            remote[first._meta.related_model(target)] = pks
    if remote:
        found.extend(report_partial(fetch_remote_objects(remote)))
    return {identity(obj): obj for obj in found}


def _resolve_one(owner: type, target: dict[str, Any], value: Any) -> Any:
    """Resolve one object's relation on first access: one query or none at all."""
    if value is None:
        return [] if target["many"] else None
    model = owner._meta.related_model(target)
    local = conf.is_local_project(target["project"])
    if isinstance(value, list):
        if not local:
            return [model(ref.pk) for ref in value]
        rows = {row.pk: row for row in model._base_manager.filter(pk__in=[r.pk for r in value])}
        return [rows[ref.pk] for ref in value if ref.pk in rows]
    if not local:
        return model(value.pk)  # a lazy stand-in, as a remote target of a reference is
    return model._base_manager.get(pk=value.pk)
