"""Answers shared while they are in flight, within one process.

Answers are shared while they are in flight (``InFlight``): within one
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
import logging
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from federated_fk.exceptions import FederationError
from federated_fk.remote.entities import Ask, Chunk, EntityType, Found, Key, Ref

logger = logging.getLogger("federated_fk.remote")


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

    __slots__ = ("by_type", "joins", "scope", "task", "waiters")

    def __init__(self, scope: ShareScope, chunk: Chunk) -> None:
        self.scope = scope
        #: The chunk's primary keys by type, grouped once for entering and leaving the table.
        self.by_type = _grouped(chunk)
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
            for entity_type, pks in shared.by_type.items():
                # A newer request replaces an older one: it is the fresher answer.
                by_type.setdefault(entity_type, {}).update(dict.fromkeys(pks, shared))
        return self._follow(shared)

    def _split_chunk(self, scope: ShareScope, chunk: Chunk) -> tuple[list[Join], Chunk]:
        joined: dict[_Shared, list[tuple[EntityType, Any]]] = {}
        rest: Chunk = []
        with self._lock:
            by_type = self._table.get(scope.key)
            if not by_type:
                return [], chunk
            for entity_type, pks in _grouped(chunk).items():
                entries = by_type.get(entity_type)
                if not entries:
                    rest.extend((entity_type, pk) for pk in pks)
                    continue
                for pk in pks:
                    shared = entries.get(pk)
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
            for entity_type, pks in shared.by_type.items():
                entries = by_type.get(entity_type)
                if entries is None:
                    continue
                for pk in pks:
                    if entries.get(pk) is shared:
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


def _grouped(chunk: Chunk) -> dict[EntityType, list[Any]]:
    """The primary keys of ``chunk`` by type (a chunk holds each type's keys together)."""
    grouped: dict[EntityType, list[Any]] = {}
    current: EntityType | None = None
    pks: list[Any] = []
    for entity_type, pk in chunk:
        if entity_type is not current:
            current = entity_type
            pks = grouped.setdefault(entity_type, [])
        pks.append(pk)
    return grouped


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
