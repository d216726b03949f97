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

Answers in flight are shared too: ``federated_fk.remote.inflight``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from typing import Any

from django.core.cache import BaseCache, caches

from federated_fk import conf
from federated_fk.remote.entities import EntityType, Found, Key
from federated_fk.remote.inflight import ShareScope, in_flight

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
    never read again and expire on their own (``CACHE_TIMEOUT``). No later
    fetch joins a request to the project that is in flight in this process.
    """
    settings = conf.project_settings(project)
    identity = credential_identity(settings)
    in_flight().close(project, identity)
    cache = caches[conf.federation_settings()["CACHE"]]
    cache.set(_generation_key(identity), secrets.token_hex(8), None)


def invalidate(wanted: Mapping[EntityType, Iterable[Any]]) -> None:
    """Drop the cached entries of these objects; the next fetch asks their remotes.

    Requests for them already in flight in this process are closed too: a
    later fetch does not wait for an answer that may have been read before
    the change.

    :param wanted: primary keys by entity type, parsed as a fetch parses them
    """
    listed = {entity_type: list(pks) for entity_type, pks in wanted.items()}
    cache = RemoteCache(listed)
    by_project: dict[str, dict[EntityType, list[Any]]] = defaultdict(dict)
    for entity_type, pks in listed.items():
        by_project[entity_type.project][entity_type] = pks
    for project, types in by_project.items():
        in_flight().close(project, cache.identities[project], types)
    for project in by_project:
        keys = [
            cache.key(entity_type.key, pk)
            for entity_type, pks in by_project[project].items()
            for pk in pks
        ]
        timeout = cache.timeouts[project]
        if keys and timeout is not None:
            cache.cache.delete_many(keys)
            # A fetch that started before this tick may still store its older
            # answer: the mark makes its store() leave these keys alone.
            tick = _tick(cache.cache, _clock_key(cache.identities[project]))
            cache.cache.set_many({_invalidated_key(key): tick for key in keys}, timeout=timeout)


def _clock_key(identity: str) -> str:
    return f"federated_fk:{KEY_VERSION}:invalidations:{identity}"


def _tick(cache: Any, key: str) -> int:
    """Advance the counter at ``key`` (atomically where the backend's ``incr`` is)."""
    try:
        return cache.incr(key)
    except ValueError:  # not there yet, or evicted
        cache.add(key, 0, None)
        return cache.incr(key)


def _invalidated_key(key: str) -> str:
    return f"{key}:invalidated"


class RemoteCache:
    """The optional TTL cache of fetched objects, in Django's cache framework.

    Per project, ``CACHE_TIMEOUT`` seconds (None: nothing is kept); keyed by
    the credential that fetched them (``credential_identity``).
    """

    def __init__(self, wanted: Mapping[EntityType, Iterable[Any]]) -> None:
        projects = {t.project: conf.project_settings(t.project) for t in wanted}
        self.timeouts = {p: settings["CACHE_TIMEOUT"] for p, settings in projects.items()}
        self.identities = {p: credential_identity(settings) for p, settings in projects.items()}
        self._generations: dict[str, str] = {}
        #: Per project, the invalidation counter when the fetch started (see store).
        self._clocks: dict[str, int] = {}

    def scope(self, project: str, share: bool) -> ShareScope:
        """Return what a fetch of ``project``'s objects may share (in the caller's context).

        The generation is read only for a project that keeps a cache, where
        the follower's ``forget_project`` in any process changes it; call this
        where the cache may be read (in a thread, from async code).
        """
        cached = self.timeouts[project] is not None
        return ShareScope(
            project,
            self.identities[project],
            self.generation(project) if cached else "",
            join=share and not is_fresh(),
            share=share,
        )

    @cached_property
    def cache(self) -> BaseCache:
        """The cache backend, looked up where it is first read: a fetch of projects
        that keep nothing never looks it up (in async code, a lookup per request
        can build a backend per request)."""
        return caches[conf.federation_settings()["CACHE"]]

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
            identity = self.identities[project]
            key, clock = _generation_key(identity), _clock_key(identity)
            read = self.cache.get_many([key, clock])  # one round trip for both
            token = read.get(key)
            if token is None:
                self.cache.add(key, secrets.token_hex(8), None)
                token = self.cache.get(key)
            self._generations[project] = str(token)
            self._clocks[project] = int(read.get(clock) or 0)
        return self._generations[project]

    def split(
        self, wanted: Mapping[EntityType, Iterable[Any]]
    ) -> tuple[Found, dict[EntityType, list[Any]]]:
        """Return what the cache holds, and what must still be fetched (all, in ``fresh()``)."""
        hits: Found = {}
        misses: dict[EntityType, list[Any]] = {}
        bypass = is_fresh()
        for project, timeout in self.timeouts.items():
            if timeout is not None:
                self.generation(project)  # and the invalidation counter: before any request
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
        """Keep what a fetch found, "gone" included, under its credential's keys.

        An object invalidated (``invalidate``, the change follower, in any
        process sharing the cache) since this fetch started is not stored:
        its answer may have been read before the change, and would be served
        for ``CACHE_TIMEOUT``. "Since" is read from a counter in the cache
        that each invalidation advances, so no clocks are compared.
        """
        by_project: dict[str, dict[str, Any]] = defaultdict(dict)
        for (key, pk), data in found.items():
            if self.timeouts.get(key[0]) is not None:
                by_project[key[0]][self.key(key, pk)] = GONE if data is None else data
        for project, values in by_project.items():
            self.generation(project)  # read at the start unless split() was skipped
            marks = self.cache.get_many([_invalidated_key(key) for key in values])
            started = self._clocks[project]
            for key in [k for k in values if marks.get(_invalidated_key(k), 0) > started]:
                del values[key]
            if values:
                self.cache.set_many(values, timeout=self.timeouts[project])
