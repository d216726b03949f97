"""The optional cache of fetched remote objects, in Django's cache framework."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache import caches

from federated_fk import conf
from federated_fk.remote.entities import EntityType, Found, Key

#: What the cache holds for an object the remote does not have (or hides):
#: "does not exist" is kept as long as an object would be. Failures never are.
GONE = "federated_fk:gone"


class RemoteCache:
    """The optional TTL cache of fetched objects, in Django's cache framework.

    Per project, ``CACHE_TIMEOUT`` seconds (None: nothing is kept).
    """

    def __init__(self, wanted: Mapping[EntityType, Iterable[Any]]) -> None:
        self.timeouts = {
            p: conf.project_settings(p)["CACHE_TIMEOUT"] for p in {t.project for t in wanted}
        }
        self.cache = caches[conf.federation_settings()["CACHE"]]

    @property
    def used(self) -> bool:
        """Whether any project of the fetch keeps its objects (else split and store do nothing)."""
        return any(timeout is not None for timeout in self.timeouts.values())

    @staticmethod
    def key(content_type: Key, pk: Any) -> str:
        return "federated_fk:" + ":".join((*content_type, str(pk)))

    def split(
        self, wanted: Mapping[EntityType, Iterable[Any]]
    ) -> tuple[Found, dict[EntityType, list[Any]]]:
        """Return what the cache holds, and what must still be fetched."""
        hits: Found = {}
        misses: dict[EntityType, list[Any]] = {}
        for entity_type, pks in wanted.items():
            pks = list(pks)
            if self.timeouts[entity_type.project] is None:
                misses[entity_type] = pks
                continue
            keys = {pk: self.key(entity_type.key, pk) for pk in pks}
            cached = self.cache.get_many(list(keys.values()))
            missing = []
            for pk, key in keys.items():
                data = cached.get(key)
                if data is None:
                    missing.append(pk)
                else:
                    data = None if data == GONE else data
                    hits[(entity_type.key, entity_type.pk.to_python(pk))] = data
            if missing:
                misses[entity_type] = missing
        return hits, misses

    def store(self, found: Found) -> None:
        by_project: dict[str, dict[str, Any]] = defaultdict(dict)
        for (key, pk), data in found.items():
            if self.timeouts.get(key[0]) is not None:
                by_project[key[0]][self.key(key, pk)] = GONE if data is None else data
        for project, values in by_project.items():
            self.cache.set_many(values, timeout=self.timeouts[project])
