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

Answers are also shared while they are in flight (``InFlight``): within one
process, a fetch of objects that a request under way already asks for (same
project, credential, type and fields, and, for a project that keeps a cache,
the same cache generation) waits for that request instead of sending its own,
and asks only for the rest. A request is open to joiners from when it is sent
until its answer is read, never after, so what a joiner gets was current at
some instant after that request was sent: possibly before the joiner itself
started, by at most the request's duration (bounded by ``TIMEOUT``). That is
the freshness of a project without a cache (``CACHE_TIMEOUT`` None) under
sharing, and never worse than a cached answer's. Beyond it:

- inside ``fresh()`` a fetch joins nothing (its own request may be joined by
  later fetches: it is the fresher answer);
- ``invalidate`` and ``forget_project`` in this process close what is in flight
  for those objects (for that project) to later fetches;
- a ``forget_project`` in another process (a follower sharing the cache)
  changes the generation, which a fetch of a cached project reads before it
  joins; an ``invalidate`` of single objects in another process is not seen
  here, so such a fetch may still join a request sent before it, within the
  bound above;
- ``SHARE_FETCHES`` False turns sharing off for a project.

A failed request fails every fetch that waited for it, each with its own
exception of the same class and message; a fetch that gives up (cancelled,
or a sync caller's wait timed out) leaves the request to the others, and the
request is cancelled only when no fetch waits for it any more.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import decimal
import functools
import hashlib
import logging
import os
import secrets
import threading
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Coroutine, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches

from federated_fk import conf
from federated_fk.exceptions import FederationError
from federated_fk.remote.entities import Ask, Chunk, EntityType, Found, Key, Ref

logger = logging.getLogger("federated_fk.remote")

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
        self.cache = caches[conf.federation_settings()["CACHE"]]
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


# Answers in flight.


@dataclass(frozen=True)
class ShareScope:
    """Which requests in flight one fetch of a project may share.

    :param project: the remote project
    :param identity: the credential that asks (``credential_identity``)
    :param generation: the project's cache generation when the fetch started
        ("" for a project that keeps no cache: no generation is read)
    :param join: whether the fetch may wait for requests already in flight
        (not inside ``fresh()``, and ``SHARE_FETCHES`` on)
    :param share: whether later fetches may wait for this fetch's requests
        (``SHARE_FETCHES`` on)
    """

    project: str
    identity: str
    generation: str
    join: bool
    share: bool

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.project, self.identity, self.generation)


class Join:
    """One fetch's wait for a request in flight: the objects it takes from it.

    :param keys: the (entity type, primary key) pairs this fetch takes
    :param waiting: resolves when the request is answered (or failed); cancel
        it to stop waiting without cancelling the request for the others
    """

    __slots__ = ("found", "keys", "waiting")

    def __init__(self, keys: list[tuple[EntityType, Any]]) -> None:
        self.keys = keys
        #: This fetch's own copies of its objects, made when the answer came in.
        self.found: Found = {}
        self.waiting: asyncio.Future[Found] | None = None

    async def answer(self) -> Found:
        """Await the request; return this fetch's objects, copies of their own.

        :raises FederationError: a new error of the class and fields of the one
            the request failed with
        """
        assert self.waiting is not None
        try:
            await self.waiting
        except FederationError as exc:
            raise _copied_error(exc) from exc
        return self.found


class _Shared:
    """One request in flight, as the fetches that wait for it see it."""

    __slots__ = ("chunk", "joins", "scope", "task", "waiters")

    def __init__(self, scope: ShareScope, chunk: Chunk) -> None:
        self.scope = scope
        self.chunk = chunk
        self.joins: list[Join] = []
        self.waiters = 0
        self.task: asyncio.Task[Found] | None = None


#: Values a joiner may hold in common with the request's owner: they cannot change.
_IMMUTABLE = (
    str,
    int,
    float,
    bool,
    bytes,
    type(None),
    decimal.Decimal,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
    Ref,
)


def _independent(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return a copy of one object's fields that shares nothing mutable with ``data``."""
    if data is None:
        return None
    return {k: v if isinstance(v, _IMMUTABLE) else copy.deepcopy(v) for k, v in data.items()}


def _copied_error(exc: FederationError) -> FederationError:
    """Return a new exception of the same class and fields as ``exc`` (for one joiner)."""
    clone = type(exc).__new__(type(exc))
    clone.__dict__.update(exc.__dict__)
    clone.args = exc.args
    return clone


class InFlight:
    """The ``_entities`` requests in flight in this process, by scope, type and id.

    Used on the client loop; only ``close`` and ``waiting`` are called from
    other threads, hence the lock. A request is entered when it is sent and
    left in the step its answer is read (or it failed), so a fetch can only
    join a request that is in flight when the fetch starts.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: dict[tuple[str, str, str], dict[EntityType, dict[Any, _Shared]]] = {}

    def split(
        self, scope: ShareScope, wanted: Mapping[EntityType, list[Any]]
    ) -> tuple[list[Join], dict[EntityType, list[Any]]]:
        """Join what of ``wanted`` is in flight; return the joins and what is left to send.

        Call on the client loop. Await each join's ``answer()``, or cancel its
        ``waiting``: a join that is never awaited holds its request open.
        """
        if not scope.join:
            return [], dict(wanted)
        joined: dict[_Shared, list[tuple[EntityType, Any]]] = {}
        rest: dict[EntityType, list[Any]] = {}
        with self._lock:
            by_type = self._table.get(scope.key)
            for entity_type, pks in wanted.items():
                entries = by_type.get(entity_type) if by_type else None
                if not entries:
                    rest[entity_type] = pks
                    continue
                for pk in pks:
                    shared = entries.get(pk)
                    if shared is None:
                        rest.setdefault(entity_type, []).append(pk)
                    else:
                        joined.setdefault(shared, []).append((entity_type, pk))
        joins = self._join(scope, joined)
        return joins, rest

    def start(self, scope: ShareScope, chunk: Chunk, ask: Ask) -> asyncio.Future[Found]:
        """Put one chunk under way: join what of it is in flight now, ask for the rest.

        Call on the client loop. The request for the rest is open to later
        fetches of the scope until it is answered: a fetch that starts after
        this call returns may join it. The returned future can be cancelled
        without cancelling any request for the fetches that joined it.
        """
        if not scope.share:
            return asyncio.ensure_future(ask(chunk))
        # The first chunk of a fetch was split as the fetch started (nothing
        # changed since); a later one may find another fetch's request in flight.
        joins, rest = self._split_chunk(scope, chunk) if scope.join else ([], chunk)
        own = self._send(scope, rest, ask) if rest else None
        if not joins:
            assert own is not None
            return own
        # A task that is cancelled before it runs leaves its joins waiting until
        # their requests end (within TIMEOUT): a delay of cancellation, no leak.
        return asyncio.ensure_future(combined_answer(own, joins))

    def _send(self, scope: ShareScope, chunk: Chunk, ask: Ask) -> asyncio.Future[Found]:
        shared = _Shared(scope, chunk)
        shared.task = asyncio.ensure_future(self._run(shared, ask(chunk)))
        with self._lock:
            by_type = self._table.setdefault(scope.key, {})
            for entity_type, pk in chunk:
                # A newer request replaces an older one: it is the fresher answer.
                by_type.setdefault(entity_type, {})[pk] = shared
        return self._follow(shared)

    def _split_chunk(self, scope: ShareScope, chunk: Chunk) -> tuple[list[Join], Chunk]:
        joined: dict[_Shared, list[tuple[EntityType, Any]]] = {}
        rest: Chunk = []
        with self._lock:
            by_type = self._table.get(scope.key)
            if not by_type:
                return [], chunk
            for entity_type, pk in chunk:
                entries = by_type.get(entity_type)
                shared = entries.get(pk) if entries else None
                if shared is None:
                    rest.append((entity_type, pk))
                else:
                    joined.setdefault(shared, []).append((entity_type, pk))
        return self._join(scope, joined), rest

    def close(
        self, project: str, identity: str, wanted: Mapping[EntityType, Iterable[Any]] | None = None
    ) -> None:
        """Let no later fetch join the requests in flight for these objects (all: None).

        Called when they are known to have changed: what is in flight may
        have been read before the change. Any thread.
        """
        changed: dict[Key, set[Any]] = defaultdict(set)
        for entity_type, pks in (wanted or {}).items():
            changed[entity_type.key].update(pks)  # by content type, whatever the fields
        with self._lock:
            for key in [k for k in self._table if k[:2] == (project, identity)]:
                by_type = self._table[key]
                if wanted is not None:
                    for entity_type, entries in list(by_type.items()):
                        for pk in changed.get(entity_type.key, ()):
                            entries.pop(pk, None)
                        if not entries:
                            del by_type[entity_type]
                if wanted is None or not by_type:
                    del self._table[key]

    def waiting(self, project: str) -> int:
        """Return how many fetches (owners included) wait for requests to ``project``.

        Only requests still open to joiners count.
        """
        with self._lock:
            shared = {
                s
                for key, by_type in self._table.items()
                if key[0] == project
                for entries in by_type.values()
                for s in entries.values()
            }
            return sum(s.waiters for s in shared)

    def _join(
        self, scope: ShareScope, joined: dict[_Shared, list[tuple[EntityType, Any]]]
    ) -> list[Join]:
        joins = []
        for shared, keys in joined.items():
            join = Join(keys)
            shared.joins.append(join)
            join.waiting = self._follow(shared)
            joins.append(join)
        if joins and logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "remote request joined project=%s objects=%d requests=%d",
                scope.project,
                sum(len(j.keys) for j in joins),
                len(joins),
            )
        return joins

    async def _run(self, shared: _Shared, request: Coroutine[Any, Any, Found]) -> Found:
        try:
            answer = await request
            # Every joiner's copies, made before any waiter (the owner
            # included, in another thread maybe) gets to the answer.
            for join in shared.joins:
                join.found = _copies(answer, join.keys)
            return answer
        finally:
            self._leave(shared)  # in the answer's step: no one joins an answer that is in

    def _leave(self, shared: _Shared) -> None:
        with self._lock:
            by_type = self._table.get(shared.scope.key)
            if by_type is None:
                return
            for entity_type, pk in shared.chunk:
                entries = by_type.get(entity_type)
                if entries is not None and entries.get(pk) is shared:
                    del entries[pk]
                    if not entries:
                        del by_type[entity_type]
            if not by_type:
                del self._table[shared.scope.key]

    def _follow(self, shared: _Shared) -> asyncio.Future[Found]:
        """Wait for ``shared``: a future that can be cancelled without cancelling the request.

        The request is cancelled only when its last waiter leaves.
        """
        assert shared.task is not None
        shared.waiters += 1
        waiting = asyncio.shield(shared.task)
        waiting.add_done_callback(functools.partial(self._left, shared))
        return waiting

    def _left(self, shared: _Shared, waiting: asyncio.Future[Found]) -> None:
        shared.waiters -= 1
        if shared.waiters == 0 and shared.task is not None and not shared.task.done():
            # Nobody waits for it any more; and nobody may join a cancelled request.
            self._leave(shared)
            shared.task.cancel()


async def combined_answer(own: Awaitable[Found] | None, joins: list[Join]) -> Found:
    """Await the requests a fetch sent itself, then those it joined; their objects, merged.

    A failure of either fails the whole; a join not awaited (after a failure)
    is left to the fetches still waiting for it.
    """
    try:
        found = dict(await own) if own is not None else {}
        for join in joins:
            found.update(await join.answer())
        return found
    finally:
        for join in joins:
            if join.waiting is not None:
                join.waiting.cancel()  # a no-op once answered; else leaves it to the others


def _copies(answer: Found, keys: list[tuple[EntityType, Any]]) -> Found:
    """Return one joiner's objects of ``answer``, sharing nothing mutable with it."""
    found: Found = {}
    for entity_type, pk in keys:
        key = (entity_type.key, pk)
        if key not in answer:  # an id given in another form than the answer's
            key = (entity_type.key, entity_type.pk.to_python(pk))
        found[key] = _independent(answer[key])
    return found


_in_flight: InFlight | None = None
_in_flight_pid = 0
_in_flight_lock = threading.Lock()


def in_flight() -> InFlight:
    """Return this process's table of requests in flight (a forked child gets its own)."""
    global _in_flight, _in_flight_pid
    with _in_flight_lock:
        if _in_flight is None or _in_flight_pid != os.getpid():
            _in_flight, _in_flight_pid = InFlight(), os.getpid()
        return _in_flight
