"""What the client tells about each remote request: records, signals, log lines.

Every remote request goes through ``ProjectSession.execute``, which opens one
``RemoteRequest`` record, fills it in (retries, breaker state, bytes, duration,
outcome) and, when it is done, logs one line under ``federated_fk.remote``,
sends ``remote_request_finished`` and hands the record to every capture that
is listening (``federated_fk.testing.CaptureRemoteRequests``, the debug
toolbar panel). Objects served from the cache make no request: a fetch
records them as ``CacheHit`` records (and ``remote_cache_hit``).

**Crossing to the client loop.** Requests run on the client's background
loop (``federated_fk.remote.loop``), and ``run_coroutine_threadsafe`` does not
carry the caller's context variables there. So what the caller's context
holds (its captures, the incoming ``traceparent``, the fetch under way) is
read in the caller's thread or task when the work is submitted (``Caller``)
and passed explicitly into the loop's task (``carried``), where it is set
again for the coroutines of that one submission. Captures are context
variables, not a process-wide list, so that two pages served at once by two
threads or tasks each see only their own requests; ``all_threads=True``
captures (tests of servers running in threads) are kept in a process-wide
list, under a lock.

Records never hold tokens, URLs' credentials, ids or variables: only counts
and the entity type names.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Coroutine, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from django.dispatch import Signal

#: The log of remote requests (one line per request) and of their retries.
logger = logging.getLogger("federated_fk.remote")

T = TypeVar("T")

#: Sent on the client loop's thread when a remote request starts; ``remote_request``
#: is its ``RemoteRequest`` (duration, bytes and outcome not yet known).
remote_request_started = Signal()
#: Sent on the client loop's thread when a remote request is done, answered or
#: failed; ``remote_request`` is its complete ``RemoteRequest``.
remote_request_finished = Signal()
#: Sent in the caller's thread when a fetch found objects in the cache (and so
#: asked the remote for fewer, or none); ``cache_hit`` is a ``CacheHit``.
remote_cache_hit = Signal()

#: The queries the client sends, by their root field.
_ROOT_FIELD = re.compile(r"\{\s*([_A-Za-z][_0-9A-Za-z]*)")
#: A W3C trace context header: version, trace id, parent id, flags.
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass
class RemoteRequest:
    """One request to a remote project, as the client made it.

    :param project: the remote project asked
    :param operation: the root field asked: ``_entities``, ``_service`` or ``federatedIds``
    :param entity_types: the GraphQL type names asked for, sorted
    :param representations: how many objects were asked for (``_entities``), else 0
    :param fetch: the fetch this request belongs to (the chunks of one fetch
        share it); 0 for a request made outside a fetch
    :param cache_hits: how many objects of this project the same fetch took
        from the cache instead
    :param breaker: the circuit breaker's state when the request started:
        ``closed``, ``half-open`` (this request tries the remote again) or
        ``open`` (the request was not made)
    :param retries: how many times it was retried
    :param response_bytes: the size of the last answer's body
    :param duration: seconds, retries included
    :param outcome: ``ok`` or ``error`` (``pending`` while under way)
    :param error: the class name of the ``FederationError`` it failed with
    :param traceparent: whether a ``traceparent`` header went with it
    :param started: when it started (``time.time()``)
    """

    project: str
    operation: str
    entity_types: tuple[str, ...] = ()
    representations: int = 0
    fetch: int = 0
    cache_hits: int = 0
    breaker: str = "closed"
    retries: int = 0
    response_bytes: int = 0
    duration: float = 0.0
    outcome: str = "pending"
    error: str = ""
    traceparent: bool = False
    started: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        """Return the record as plain data (JSON-serializable)."""
        data = asdict(self)
        data["entity_types"] = list(self.entity_types)
        return data

    def __str__(self) -> str:
        text = (
            f"project={self.project} operation={self.operation} "
            f"types={','.join(self.entity_types) or '-'} "
            f"representations={self.representations} cache_hits={self.cache_hits} "
            f"bytes={self.response_bytes} duration_ms={self.duration * 1000:.1f} "
            f"retries={self.retries} breaker={self.breaker} outcome={self.outcome}"
        )
        return f"{text} error={self.error}" if self.error else text


@dataclass
class CacheHit:
    """Objects of one project that a fetch took from the cache, with no request.

    :param project: the remote project the objects belong to
    :param entity_types: their GraphQL type names, sorted
    :param objects: how many
    :param fetch: the fetch that found them
    :param requested: whether the same fetch still asked the project for others
    """

    project: str
    entity_types: tuple[str, ...]
    objects: int
    fetch: int
    requested: bool
    started: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["entity_types"] = list(self.entity_types)
        return data


class Sink(Protocol):
    """What listens to records: ``CaptureRemoteRequests``, the toolbar panel."""

    def add_request(self, record: RemoteRequest) -> None: ...

    def add_cache_hit(self, record: CacheHit) -> None: ...


@dataclass(frozen=True)
class Fetch:
    """One fetch under way: its number, and the cache hits of each project."""

    number: int
    cache_hits: Mapping[str, int]


@dataclass(frozen=True)
class Caller:
    """What the caller's context holds, carried into the client loop's task."""

    sinks: tuple[Sink, ...] = ()
    traceparent: str = ""
    fetch: Fetch | None = None


_sinks: ContextVar[tuple[Sink, ...]] = ContextVar("federated_fk_sinks", default=())
_traceparent: ContextVar[str] = ContextVar("federated_fk_traceparent", default="")
_fetch: ContextVar[Fetch | None] = ContextVar("federated_fk_fetch", default=None)
_caller: ContextVar[Caller | None] = ContextVar("federated_fk_caller", default=None)
_request: ContextVar[RemoteRequest | None] = ContextVar("federated_fk_request", default=None)

_global_sinks: list[Sink] = []
_global_lock = threading.Lock()
_fetch_numbers = itertools.count(1)


# The caller's side: listening, the trace header, the fetch under way.


@contextmanager
def listening(sink: Sink, all_threads: bool = False) -> Iterator[None]:
    """Give ``sink`` every record made in this context (or, ``all_threads``, anywhere)."""
    if all_threads:
        with _global_lock:
            _global_sinks.append(sink)
        try:
            yield
        finally:
            with _global_lock:
                _global_sinks.remove(sink)
        return
    token = _sinks.set((*_sinks.get(), sink))
    try:
        yield
    finally:
        _sinks.reset(token)


@contextmanager
def traceparent(value: str | None) -> Iterator[None]:
    """Send ``value`` as the ``traceparent`` header of the remote requests made inside.

    A value that is not a W3C trace context header is ignored.
    """
    token = _traceparent.set(value if value and TRACEPARENT.match(value) else "")
    try:
        yield
    finally:
        _traceparent.reset(token)


def current_traceparent() -> str:
    """Return the ``traceparent`` the remote requests of this context carry ("" if none)."""
    caller = _caller.get()
    return caller.traceparent if caller is not None else _traceparent.get()


@contextmanager
def fetching(
    wanted: Mapping[Any, Iterable[Any]],
    hits: Iterable[tuple[Any, Any]],
    misses: Mapping[Any, Iterable[Any]],
) -> Iterator[None]:
    """Mark a fetch: record its cache hits, and number the requests it makes.

    :param wanted: what the fetch asked for, by ``EntityType``
    :param hits: the keys, ``((project, app_label, model), pk)``, served from the cache
    :param misses: what is left to ask the remotes for, by ``EntityType``
    """
    number = next(_fetch_numbers)
    hit_types: dict[str, set[str]] = defaultdict(set)
    counts: Counter[str] = Counter()
    type_names = {t.key: t.type_name for t in wanted}
    for key, _pk in hits:
        counts[key[0]] += 1
        hit_types[key[0]].add(type_names.get(key, key[2]))
    token = _fetch.set(Fetch(number, dict(counts)))
    try:
        missed = {t.project for t in misses}
        for project, objects in sorted(counts.items()):
            types = tuple(sorted(hit_types[project]))
            _cache_hit(CacheHit(project, types, objects, number, project in missed))
        yield
    finally:
        _fetch.reset(token)


def _cache_hit(record: CacheHit) -> None:
    for sink in _listeners(_sinks.get()):
        sink.add_cache_hit(record)
    logger.debug(
        "remote cache hit project=%s types=%s objects=%d",
        record.project,
        ",".join(record.entity_types),
        record.objects,
    )
    _send(remote_cache_hit, cache_hit=record)


def caller() -> Caller:
    """Read what the caller's context holds; call in the caller's thread or task."""
    return Caller(_sinks.get(), _traceparent.get(), _fetch.get())


async def carried(snapshot: Caller, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` (on the client loop) with what the caller's context held."""
    _caller.set(snapshot)  # this task's own context: set for its coroutines only
    return await coro


# The client loop's side: one record per request.


def _listeners(sinks: tuple[Sink, ...]) -> list[Sink]:
    with _global_lock:
        extra = [s for s in _global_sinks if s not in sinks]
    return [*sinks, *extra]


def _describe(text: str, variables: Mapping[str, Any]) -> tuple[str, tuple[str, ...], int]:
    match = _ROOT_FIELD.search(text)
    operation = match.group(1) if match else "query"
    representations = variables.get("representations")
    if isinstance(representations, list):
        names = {r.get("__typename", "") for r in representations if isinstance(r, dict)}
        return operation, tuple(sorted(names)), len(representations)
    type_name = variables.get("typeName")
    return operation, (type_name,) if isinstance(type_name, str) else (), 0


@contextmanager
def observe(project: str, text: str, variables: Mapping[str, Any]) -> Iterator[RemoteRequest]:
    """Record one remote request; call on the client loop, around the whole request."""
    snapshot = _caller.get() or Caller()
    operation, types, count = _describe(text, variables)
    fetch = snapshot.fetch
    record = RemoteRequest(
        project,
        operation,
        types,
        count,
        fetch=fetch.number if fetch else 0,
        cache_hits=fetch.cache_hits.get(project, 0) if fetch else 0,
        traceparent=bool(snapshot.traceparent),
    )
    sinks = _listeners(snapshot.sinks)
    for sink in sinks:
        sink.add_request(record)
    _send(remote_request_started, remote_request=record)
    token = _request.set(record)
    started = time.perf_counter()
    try:
        yield record
        record.outcome = "ok"
    except BaseException as exc:
        record.outcome = "error"
        record.error = type(exc).__name__
        raise
    finally:
        _request.reset(token)
        record.duration = time.perf_counter() - started
        level = logging.DEBUG if record.outcome == "ok" else logging.WARNING
        if logger.isEnabledFor(level):  # the record's dict only for a line that is written
            logger.log(
                level, "remote request %s", record, extra={"remote_request": record.as_dict()}
            )
        _send(remote_request_finished, remote_request=record)


def current() -> RemoteRequest | None:
    """Return the record of the request under way in this task (None outside one)."""
    return _request.get()


def answered(size: int) -> None:
    """Note the size of an answer's body for the request under way."""
    record = _request.get()
    if record is not None:
        record.response_bytes = size


def _send(signal: Signal, **kwargs: Any) -> None:
    # A metrics receiver that fails must not fail the fetch.
    for receiver, result in signal.send_robust(sender=RemoteRequest, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "A receiver of a federated_fk signal failed: %r",
                receiver,
                exc_info=(type(result), result, result.__traceback__),
            )


def repeated(records: Iterable[RemoteRequest]) -> list[dict[str, Any]]:
    """Return the likely N+1s: one project asked the same question by several fetches.

    The chunks of one fetch are one question. A level of a prefetch, or one
    page of the gateway, asks each project once for all the types it needs,
    so requests for the same project, operation and set of entity types from
    two or more different fetches mean a loop is fetching object by object.
    Requests made outside a fetch count one by one.
    """
    groups: dict[tuple[str, str, tuple[str, ...]], set[Any]] = defaultdict(set)
    representations: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    for index, record in enumerate(records):
        key = (record.project, record.operation, record.entity_types)
        groups[key].add(record.fetch or f"request {index}")
        representations[key] += record.representations
    return [
        {
            "project": project,
            "operation": operation,
            "entity_types": list(types),
            "times": len(fetches),
            "representations": representations[(project, operation, types)],
        }
        for (project, operation, types), fetches in groups.items()
        if len(fetches) > 1
    ]
