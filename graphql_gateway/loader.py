"""The per-request loaders of targets: local rows and remote objects, batched.

One ``ObjectLoader`` per request, holding one ``DataLoader`` per project
(this service's models and the shared ones together, and each remote
project). Every ``load`` made while a level of the query resolves is one
batch of its project: one query per local model, and one ``_entities``
request per remote project for all its types together, however many fields
(or aliases, or nested relations) asked. The rows of a ``FederatedRelation``
(the references pointing at a target) load the same way: one query per
relation and content type per level.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import models
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from strawberry.dataloader import DataLoader

from federated_fk import conf
from federated_fk.exceptions import FederationError
from federated_fk.ids import InvalidId, parse_ids
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


@dataclass(frozen=True)
class RelatedRows:
    """Which rows pointing at one target to load: a page of them.

    :param key: the ``FederatedForeignKey`` (its model holds the rows)
    :param content_type: the target's ``GenericContentType`` id
    :param pk: the target's primary key, as the key's object-id column holds it
    """

    key: Any
    content_type: int
    pk: str
    offset: int
    limit: int


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
        self._loaders: dict[str | None, DataLoader[Key, Any]] = {}
        self._related: DataLoader[RelatedRows, list[Any]] = DataLoader(_load_related_rows)

    def _loader(self, project: str | None) -> DataLoader[Key, Any]:
        if project not in self._loaders:
            load = self._load_local if project is None else self._load_remote
            self._loaders[project] = DataLoader(load, cache_key_fn=_cache_key)
        return self._loaders[project]

    async def load(self, key: Key) -> Any:
        """Return the object of ``key``, or None if it is missing or its project failed.

        :raises InvalidId: the id of a local ``key`` is no possible key of its
            model (malformed, or out of the column's range): only this load
            fails, the batch it was part of is loaded
        """
        return _raise_invalid(await self._loader(key[0]).load(key))

    async def load_many(self, keys: list[Key]) -> list[Any]:
        """Return the objects of ``keys``, in order, each project's keys in one batch.

        In place of a local key whose id is no possible key of its model, the
        ``InvalidId`` saying so (as ``load`` raises it): a list item that
        fails alone.
        """
        by_project: dict[str | None, list[Key]] = defaultdict(list)
        for key in keys:
            by_project[key[0]].append(key)
        # Every project's batch is scheduled before any is awaited: they run together.
        pending = {p: self._loader(p).load_many(wanted) for p, wanted in by_project.items()}
        found: dict[Key, Any] = {}
        for project, future in pending.items():
            for key, obj in zip(by_project[project], await future, strict=True):
                found[_cache_key(key)] = obj.error if isinstance(obj, _Invalid) else obj
        return [found[_cache_key(key)] for key in keys]

    async def load_related(self, wanted: RelatedRows) -> list[Any]:
        """Return a page of the rows whose ``wanted.key`` points at one target."""
        return await self._related.load(wanted)

    async def _load_local(self, keys: list[Key]) -> list[Any]:
        rows = await sync_to_async(_local_rows)(keys)
        return [rows.get(_cache_key(key)) for key in keys]

    async def _load_remote(self, keys: list[Key]) -> list[Any]:
        # Content types are nearly always cached: a thread only for a query.
        stand_ins = _stand_ins(keys, cached_only=True)
        if stand_ins is None:
            stand_ins = await sync_to_async(_stand_ins)(keys)
        found: dict[Key, Any] = {}
        if not self.fetch_remote:
            for stand_in, pks in stand_ins.items():
                for pk in pks:
                    found[_cache_key(_key_of_stand_in(stand_in, pk))] = stand_in(pk)
        else:
            loaded = await afetch_remote_objects(stand_ins)
            self.unavailable.update(loaded.errors)
            for obj in loaded.objects:
                found[_cache_key(_key_of_stand_in(type(obj), obj.pk))] = obj
        return [found.get(_cache_key(key)) for key in keys]


@dataclass(frozen=True)
class _Invalid:
    """What a local batch loads for an id no row can have.

    Not the exception itself: a ``DataLoader`` raises an exception result from
    ``load_many`` too, which would fail every key of the list.
    """

    error: InvalidId


def _raise_invalid(found: Any) -> Any:
    if isinstance(found, _Invalid):
        raise found.error
    return found


def _key_of_stand_in(stand_in: Any, pk: Any) -> Key:
    meta = stand_in._meta
    return (meta.project, meta.app_label, meta.model_name, pk)


def _cache_key(key: Key) -> Key:
    project, app_label, model, pk = key
    return (project, app_label, model, str(pk))


def _stand_ins(keys: list[Key], cached_only: bool = False) -> dict[type, list[Any]] | None:
    """Return the remote pks of ``keys`` by stand-in class.

    :param cached_only: return None rather than query for a content type
    """
    by_type: dict[tuple[str | None, str, str], list[Any]] = defaultdict(list)
    for project, app_label, model, pk in keys:
        by_type[(project, app_label, model)].append(pk)
    remote: dict[type, list[Any]] = {}
    manager = GenericContentType.objects
    # One content type look-up per type, not per key.
    for (project, app_label, model), pks in by_type.items():
        if cached_only:
            ct = manager.cached_natural_key(project, app_label, model)
            if ct is None:
                return None
        else:
            ct = manager.get_by_natural_key(project, app_label, model)
        remote.setdefault(ct.model_class(), []).extend(pks)
    return remote


def _local_rows(keys: list[Key]) -> dict[Key, Any]:
    """Return the local rows of ``keys``, by key: one query per model.

    An id that is not exactly a key of its model (``federated_fk.ids``: an
    out-of-range integer would make the database refuse the whole query) is
    left out of the query and found as an ``_Invalid``.
    """
    local: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for _, app_label, model, pk in keys:
        local[(app_label, model)].append(pk)
    rows: dict[Key, Any] = {}
    for (app_label, model), pks in local.items():
        model_class = apps.get_model(app_label, model)
        manager = model_class._base_manager
        parsed = parse_ids(model_class, pks, manager.db)
        valid = {p for p in parsed if not isinstance(p, InvalidId)}
        found = {row.pk: row for row in manager.filter(pk__in=valid)} if valid else {}
        for pk, key in zip(pks, parsed, strict=True):
            row = _Invalid(key) if isinstance(key, InvalidId) else found.get(key)
            rows[_cache_key((None, app_label, model, pk))] = row
    return rows


async def _load_related_rows(wanted: list[RelatedRows]) -> list[list[Any]]:
    return await sync_to_async(_related_rows)(wanted)


def _related_rows(wanted: list[RelatedRows]) -> list[list[Any]]:
    """Return each target's page of related rows: one query per relation, content type and page."""
    groups: dict[tuple[Any, int, int, int], set[str]] = defaultdict(set)
    for w in wanted:
        groups[(w.key, w.content_type, w.offset, w.limit)].add(w.pk)
    found: dict[tuple[Any, int, int, int, str], list[Any]] = defaultdict(list)
    for (key, content_type, offset, limit), pks in groups.items():
        for row in _page_of_each(key, content_type, pks, offset, limit):
            pk = str(getattr(row, key.fk_field))
            found[(key, content_type, offset, limit, pk)].append(row)
    return [found[(w.key, w.content_type, w.offset, w.limit, w.pk)] for w in wanted]


def _page_of_each(
    key: Any, content_type: int, pks: set[str], offset: int, limit: int
) -> list[models.Model]:
    """Rows ``offset`` to ``offset + limit`` pointing at each of ``pks``, in one query.

    The page is cut per target with a window function, as Django does for a
    sliced ``Prefetch`` queryset.
    """
    model = key.model
    object_id = key.fk_field
    ordering = [*(model._meta.ordering or []), "pk"]
    window_order = [_order_expression(o) for o in ordering]
    rows = (
        model._default_manager.filter(
            **{f"{key.ct_field}_id": content_type, f"{object_id}__in": pks}
        )
        .annotate(
            _row_number=Window(
                RowNumber(),
                partition_by=F(object_id),
                order_by=window_order,
            )
        )
        .filter(_row_number__gt=offset, _row_number__lte=offset + limit)
        .order_by(*ordering)
    )
    return list(rows)


def _order_expression(ordering: Any) -> Any:
    if not isinstance(ordering, str):
        return ordering  # an expression of Meta.ordering, as it is
    if ordering.startswith("-"):
        return F(ordering[1:]).desc()
    return F(ordering.lstrip("+")).asc()


def as_stored(found: Any) -> Any:
    """Return a target loaded for an id stored in a row: None for an id no row can have.

    A stored id that is malformed or out of range names no row: it reads as
    missing, as a prefetch reads it. (An id a request sends, in ``_entities``,
    fails its own item instead.)
    """
    return None if isinstance(found, InvalidId) else found
