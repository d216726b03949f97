"""The per-request loader of targets: local rows and remote objects, batched.

One ``ObjectLoader`` per request. Every ``load`` made while a level of the
query resolves is one batch: one query per local model, and one ``_entities``
request per remote project for all its types together, however many fields
(or aliases, or nested relations) asked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from asgiref.sync import sync_to_async
from django.apps import apps
from django.core.exceptions import ValidationError
from strawberry.dataloader import DataLoader

from federated_fk import conf
from federated_fk.exceptions import FederationError
from federated_fk.models import GenericContentType
from federated_fk.remote import afetch_remote_objects

#: ``(project, app_label, model, pk)``; the project of a local or shared model
#: is ``None``.
Key = tuple[str | None, str, str, Any]


def local_key(model: Any, pk: Any) -> Key:
    return (None, model._meta.app_label, model._meta.model_name, pk)


def key_of(project: str, app_label: str, model: str, pk: Any) -> Key:
    """Return the key of a target named by its project (local and shared alike)."""
    if project == conf.SHARED_PROJECT or conf.is_local_project(project):
        return (None, app_label, model, pk)
    return (project, app_label, model, pk)


class ObjectLoader:
    """Loads targets by ``Key``; remembers the projects that could not answer.

    :param fetch_remote: False to return remote targets as unloaded stand-ins,
        with no request: a federation subgraph gives only their keys, and the
        gateway in front fetches the rest from their own subgraph
    """

    def __init__(self, fetch_remote: bool = True) -> None:
        self.fetch_remote = fetch_remote
        #: The failure of each project that could not answer, by name, filled as batches run.
        self.unavailable: dict[str, FederationError] = {}
        self._loader: DataLoader[Key, Any] = DataLoader(self._load, cache_key_fn=_cache_key)

    async def load(self, key: Key) -> Any:
        """Return the object of ``key``, or None if it is missing or its project failed."""
        return await self._loader.load(key)

    async def load_many(self, keys: list[Key]) -> list[Any]:
        return await self._loader.load_many(keys)

    async def _load(self, keys: list[Key]) -> list[Any]:
        local, remote = await sync_to_async(_local_rows_and_stand_ins)(keys)
        found: dict[Key, Any] = dict(local)
        if remote and not self.fetch_remote:
            for stand_in, pks in remote.items():
                for pk in pks:
                    found[
                        _cache_key(
                            key_of(
                                stand_in._meta.project,
                                stand_in._meta.app_label,
                                stand_in._meta.model_name,
                                pk,
                            )
                        )
                    ] = stand_in(pk)
        elif remote:
            loaded = await afetch_remote_objects(remote)
            self.unavailable.update(loaded.errors)
            for obj in loaded.objects:
                meta = obj._meta
                found[(meta.project, meta.app_label, meta.model_name, str(obj.pk))] = obj
        return [found.get(_cache_key(key)) for key in keys]


def _cache_key(key: Key) -> Key:
    project, app_label, model, pk = key
    return (project, app_label, model, str(pk))


def _local_rows_and_stand_ins(keys: list[Key]) -> tuple[dict[Key, Any], dict[type, list[Any]]]:
    """Return the local rows by key (one query per model) and the remote pks by stand-in."""
    local: dict[tuple[str, str], list[Any]] = defaultdict(list)
    remote: dict[type, list[Any]] = defaultdict(list)
    for project, app_label, model, pk in keys:
        if project is None:
            local[(app_label, model)].append(pk)
        else:
            ct = GenericContentType.objects.get_by_natural_key(project, app_label, model)
            remote[ct.model_class()].append(pk)
    rows: dict[Key, Any] = {}
    for (app_label, model), pks in local.items():
        model_class = apps.get_model(app_label, model)
        valid = set()
        for pk in pks:
            try:
                valid.add(model_class._meta.pk.to_python(pk))
            except ValidationError:
                continue  # an id no row can have: missing, and no reason to fail the others
        for row in model_class._base_manager.filter(pk__in=valid):
            rows[(None, app_label, model, str(row.pk))] = row
    return rows, dict(remote)
