"""The optional cache of fetched remote objects, in Django's cache framework.

What a remote answers depends on who asks: its visibility rules see the
token. So every key holds the identity of the credential that fetched the
object (a digest of the project's URL and token, never the token), and two
services that share a cache backend and a project name but not a credential
never read each other's objects.

The follower of a remote project's change feed drops what it learns is
stale: the entries of each changed or deleted object (``invalidate``), or,
when the feed was pruned and it cannot know what changed, every entry of the
project (``forget_project``): each key holds the project's generation, a
random token kept in the cache itself; a new token makes every older key
unreachable, and they expire on their own.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.cache import caches

from federated_fk import conf
from federated_fk.remote.entities import EntityType, Found, Key

#: What the cache holds for an object the remote does not have (or hides):
#: "does not exist" is kept as long as an object would be. Failures never are.
GONE = "federated_fk:gone"

#: The version of the key layout; a new layout never reads an old one's entries.
KEY_VERSION = "3"

_fresh: ContextVar[bool] = ContextVar("federated_fk_fresh", default=False)


@contextmanager
def fresh() -> Iterator[None]:
    """Ask the remotes, not the cache, for every fetch made inside (in this context).

    What they answer is still stored, so a stale entry is replaced. A caller
    about to act on an answer (``find_dangling_references --delete`` deletes
    what a remote says is gone) reads it fresh.
    """
    token = _fresh.set(True)
    try:
        yield
    finally:
        _fresh.reset(token)


def is_fresh() -> bool:
    """Whether fetches in this context bypass the cache (inside ``fresh()``)."""
    return _fresh.get()


def credential_identity(settings: conf.ProjectSettings) -> str:
    """Return who asks a project, as a digest of its ``URL`` and ``TOKEN``.

    Two settings that send the same token to the same endpoint get the same
    answers; any other pair may not. Only the digest is ever stored.
    """
    material = f"{settings['URL']}\n{settings['TOKEN']}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def _generation_key(identity: str) -> str:
    return f"federated_fk:{KEY_VERSION}:generation:{identity}"


def forget_project(project: str) -> None:
    """Make every object cached for ``project`` (with its current credential) unreachable.

    A new generation token goes into every later key; the old entries are
    never read again and expire on their own (``CACHE_TIMEOUT``).
    """
    settings = conf.project_settings(project)
    cache = caches[conf.federation_settings()["CACHE"]]
    cache.set(_generation_key(credential_identity(settings)), secrets.token_hex(8), None)


def invalidate(wanted: Mapping[EntityType, Iterable[Any]]) -> None:
    """Drop the cached entries of these objects; the next fetch asks their remotes.

    :param wanted: primary keys by entity type, parsed as a fetch parses them
    """
    cache = RemoteCache(wanted)
    keys = [
        cache.key(entity_type.key, pk)
        for entity_type, pks in wanted.items()
        if cache.timeouts[entity_type.project] is not None
        for pk in pks
    ]
    if keys:
        cache.cache.delete_many(keys)


class RemoteCache:
    """The optional TTL cache of fetched objects, in Django's cache framework.

    Per project, ``CACHE_TIMEOUT`` seconds (None: nothing is kept); keyed by
    the credential that fetched them (``credential_identity``).
    """

    def __init__(self, wanted: Mapping[EntityType, Iterable[Any]]) -> None:
        projects = {t.project: conf.project_settings(t.project) for t in wanted}
        self.timeouts = {p: settings["CACHE_TIMEOUT"] for p, settings in projects.items()}
        self.identities = {p: credential_identity(settings) for p, settings in projects.items()}
        self.cache = caches[conf.federation_settings()["CACHE"]]
        self._generations: dict[str, str] = {}

    @property
    def used(self) -> bool:
        """Whether any project of the fetch keeps its objects (else split and store do nothing)."""
        return any(timeout is not None for timeout in self.timeouts.values())

    def key(self, content_type: Key, pk: Any) -> str:
        """Return the cache key of one object, as fetched with its project's credential."""
        identity = self.identities[content_type[0]]
        generation = self.generation(content_type[0])
        prefix = f"federated_fk:{KEY_VERSION}:{identity}:{generation}:"
        return prefix + ":".join((*content_type, str(pk)))

    def generation(self, project: str) -> str:
        """Return the project's generation token (read once per instance; made if missing).

        A token lost (evicted) is replaced by a new one: older entries are then
        unreachable, which costs fetches, never a stale answer.
        """
        if project not in self._generations:
            key = _generation_key(self.identities[project])
            token = self.cache.get(key)
            if token is None:
                self.cache.add(key, secrets.token_hex(8), None)
                token = self.cache.get(key)
            self._generations[project] = str(token)
        return self._generations[project]

    def split(
        self, wanted: Mapping[EntityType, Iterable[Any]]
    ) -> tuple[Found, dict[EntityType, list[Any]]]:
        """Return what the cache holds, and what must still be fetched (all, in ``fresh()``)."""
        hits: Found = {}
        misses: dict[EntityType, list[Any]] = {}
        bypass = is_fresh()
        for entity_type, pks in wanted.items():
            pks = list(pks)
            if bypass or self.timeouts[entity_type.project] is None:
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
        """Keep what a fetch found, "gone" included, under its credential's keys."""
        by_project: dict[str, dict[str, Any]] = defaultdict(dict)
        for (key, pk), data in found.items():
            if self.timeouts.get(key[0]) is not None:
                by_project[key[0]][self.key(key, pk)] = GONE if data is None else data
        for project, values in by_project.items():
            self.cache.set_many(values, timeout=self.timeouts[project])
