"""The GraphQL client: batched ``_entities`` look-ups over gql and aiohttp.

One ``_entities`` request per remote project (chunked past the project's
``BATCH_SIZE``) fetches any mix of entity types; projects are fetched
concurrently. Each project has one gql session, and so one aiohttp connection
pool, reused by every call.

A gql session belongs to the event loop that opened it, and Django's
``async_to_sync`` makes a new loop per call, so the sessions live on one
long-lived loop in a background thread: sync callers wait on it with
``run_coroutine_threadsafe``, async callers await ``wrap_future``.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import hashlib
import logging
import os
import random
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import aiohttp
import yarl
from django.core.cache import caches
from django.db import models
from gql import Client, GraphQLRequest, gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)

from federated_fk import conf
from federated_fk.exceptions import (
    FederationError,
    RemoteAuthenticationError,
    RemoteCircuitOpen,
    RemoteConnectionError,
    RemoteHTTPError,
    RemoteProtocolError,
    RemoteQueryError,
    RemoteTimeout,
    RemoteUnavailable,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: (project, app_label, model): a content type's natural key.
Key = tuple[str, str, str]

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")

ENTITIES_QUERY = (
    "query FederatedEntities($representations: [_Any!]!) "
    "{{ _entities(representations: $representations) {{ __typename {fragments} }} }}"
)
SDL_QUERY = "query FederatedSDL { _service { sdl } }"
IDS_QUERY = (
    "query FederatedIds($typeName: String!, $offset: Int!, $limit: Int!) "
    "{ federatedIds(typeName: $typeName, offset: $offset, limit: $limit) { ids total } }"
)


@dataclass(frozen=True)
class EntityType:
    """What the client needs to know of one remote content type.

    :param key: the content type's natural key
    :param type_name: the entity's GraphQL type name
    :param fields: the GraphQL field names to fetch, besides ``id``
    :param pk: a field that converts ids to the remote primary-key type
    """

    key: Key
    type_name: str
    fields: tuple[str, ...]
    pk: models.Field = field(compare=False, hash=False)
    #: (field, GraphQL type) pairs from the remote SDL, to check answers against.
    field_types: tuple[tuple[str, str], ...] = ()

    @property
    def project(self) -> str:
        return self.key[0]

    def fragment(self) -> str:
        names = ["id", *sorted(set(self.fields) - {"id"})]
        for name in (self.type_name, *names):
            if not _NAME.match(name):
                raise ValueError(f"{name!r} is not a GraphQL name (remote type {self.key}).")
        return f"... on {self.type_name} {{ {' '.join(names)} }}"


#: What a fetch returns: remote fields (snake_case) by (key, pk); None if missing.
Found = dict[tuple[Key, Any], dict[str, Any] | None]


def snake_case(name: str) -> str:
    """Return the Python name of a GraphQL field: ``publishedOn`` → ``published_on``."""
    return _CAMEL.sub(r"_\1", name).lower()


@lru_cache(maxsize=256)
def _parsed(text: str) -> GraphQLRequest:
    return gql(text)


class ResponseTooLarge(aiohttp.ClientPayloadError):
    """The answer is larger than the project's MAX_RESPONSE_BYTES."""


class CrossHostRedirect(aiohttp.ClientError):
    """The endpoint redirected to another host; that hop is not made."""


def _same_origin_only(endpoint: str) -> Any:
    """An aiohttp middleware that refuses requests (redirect hops) to another origin."""
    origin = yarl.URL(endpoint).origin()

    async def middleware(request: aiohttp.ClientRequest, handler: Any) -> Any:
        if request.url.origin() != origin:
            raise CrossHostRedirect(f"redirect to {request.url.host} refused")
        return await handler(request)

    return middleware


class _CappedTransport(AIOHTTPTransport):
    """gql's aiohttp transport, reading at most ``max_bytes`` of an answer."""

    def __init__(self, *, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes

    async def _get_json_result(self, response: aiohttp.ClientResponse) -> Any:
        self.response_headers = response.headers
        body = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            body += chunk
            if len(body) > self.max_bytes:
                raise ResponseTooLarge(f"more than {self.max_bytes} bytes")
        self._raise_transport_server_error_if_status_more_than_400(response)
        try:
            result = self.json_deserialize(body.decode())
        except ValueError:
            result = None
        if not isinstance(result, dict):
            raise TransportProtocolError("Server did not return a valid GraphQL result")
        return result


class _Breaker:
    """A circuit breaker: after ``threshold`` failed calls, fail fast for ``cooldown`` s."""

    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.open_until = 0.0
        self.trying = False

    def allow(self, now: float) -> float:
        """Return 0 if a call may go, else the seconds until the next try."""
        if self.failures < self.threshold:
            return 0.0
        if now < self.open_until or self.trying:
            return max(self.open_until - now, 0.0) or self.cooldown
        self.trying = True  # half open: this call tries the remote again
        return 0.0

    def succeeded(self) -> None:
        self.failures, self.trying = 0, False

    def failed(self, now: float) -> None:
        self.failures += 1
        self.trying = False
        if self.failures >= self.threshold:
            self.open_until = now + self.cooldown


class _ProjectSession:
    """One remote project's gql session, opened on first use and kept open."""

    def __init__(self, project: str, settings: conf.ProjectSettings) -> None:
        self.project = project
        self.endpoint = conf.public_url(settings["URL"])
        self.settings = settings
        self.breaker = _Breaker(settings["BREAKER_THRESHOLD"], settings["BREAKER_COOLDOWN"])
        self._client: Client | None = None
        self._session: Any = None
        self._lock = asyncio.Lock()

    def _new_client(self) -> Client:
        headers = {}
        if self.settings["TOKEN"]:
            headers["Authorization"] = f"Bearer {self.settings['TOKEN']}"
        transport = _CappedTransport(
            url=self.settings["URL"],
            headers=headers,
            timeout=self.settings["TIMEOUT"],
            ssl_close_timeout=1,
            max_bytes=self.settings["MAX_RESPONSE_BYTES"],
            client_session_args={"middlewares": (_same_origin_only(self.settings["URL"]),)},
        )
        return Client(transport=transport, execute_timeout=self.settings["TIMEOUT"])

    async def execute(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one read query: retried within TIMEOUT, behind the circuit breaker.

        :raises RemoteUnavailable: every failure, mapped to its own subclass
        """
        loop = asyncio.get_running_loop()
        wait = self.breaker.allow(loop.time())
        if wait:
            raise RemoteCircuitOpen(
                self.project,
                self.endpoint,
                f"not tried: {self.breaker.failures} calls in a row failed; "
                f"next try in {wait:.1f} s",
            )
        try:
            result = await self._execute_with_retries(text, variables)
        except (RemoteQueryError, RemoteAuthenticationError):
            self.breaker.succeeded()  # the remote is up; it refused this call
            raise
        except RemoteUnavailable:
            self.breaker.failed(loop.time())
            raise
        self.breaker.succeeded()
        return result

    async def _execute_with_retries(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings["TIMEOUT"]
        backoff = self.settings["RETRY_BACKOFF"]
        for attempt in range(self.settings["RETRIES"] + 1):
            try:
                remaining = deadline - loop.time()
                return await asyncio.wait_for(self._execute_once(text, variables), remaining)
            except TimeoutError:
                await self.close()
                raise RemoteTimeout(
                    self.project, self.endpoint, f"no answer within {self.settings['TIMEOUT']} s"
                ) from None
            except (RemoteConnectionError, RemoteHTTPError) as exc:
                retriable = not isinstance(exc, RemoteHTTPError) or exc.status in (502, 503, 504)
                delay = backoff * 2**attempt * (0.5 + random.random())
                if not retriable or attempt == self.settings["RETRIES"]:
                    raise
                if loop.time() + delay >= deadline:
                    raise
                logger.info("Retrying %s in %.2f s: %s", self.project, delay, exc.reason)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _execute_once(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        request = GraphQLRequest(_parsed(text), variable_values=variables)
        try:
            session = await self._open()
            return await session.execute(request)
        except TransportQueryError as exc:
            raise self._query_error(exc.errors or []) from None
        except (TransportError, aiohttp.ClientError, OSError) as exc:
            # The session may be broken; the next call opens a new one.
            await self.close()
            raise self._transport_error(exc) from None

    def _query_error(self, errors: list[Any]) -> RemoteUnavailable:
        codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
        for code, status in (("UNAUTHENTICATED", 401), ("FORBIDDEN", 403)):
            if code in codes:
                return RemoteAuthenticationError(self.project, self.endpoint, status)
        messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
        return RemoteQueryError(self.project, self.endpoint, messages or ["no message"])

    def _transport_error(self, exc: BaseException) -> RemoteUnavailable:
        causes = _chain(exc)
        refused = [c for c in causes if isinstance(c, CrossHostRedirect | ResponseTooLarge)]
        if refused:
            return RemoteProtocolError(self.project, self.endpoint, str(refused[0]))
        if any(isinstance(c, TimeoutError) for c in causes):
            return RemoteTimeout(
                self.project, self.endpoint, f"no answer within {self.settings['TIMEOUT']} s"
            )
        if isinstance(exc, TransportServerError):
            cls = RemoteAuthenticationError if exc.code in (401, 403) else RemoteHTTPError
            return cls(self.project, self.endpoint, exc.code or 0)
        if isinstance(exc, TransportProtocolError):
            return RemoteProtocolError(
                self.project, self.endpoint, "the answer is not a GraphQL response"
            )
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return RemoteConnectionError(self.project, self.endpoint, "connection refused")
        if any(isinstance(c, ConnectionResetError) for c in causes):
            return RemoteConnectionError(self.project, self.endpoint, "connection reset")
        if isinstance(exc, TransportConnectionFailed | aiohttp.ClientError | OSError):
            return RemoteConnectionError(
                self.project, self.endpoint, f"connection failed ({type(causes[-1]).__name__})"
            )
        return RemoteUnavailable(self.project, self.endpoint, type(exc).__name__)

    async def _open(self) -> Any:
        async with self._lock:
            if self._session is None:
                self._client = self._new_client()
                self._session = await self._client.connect_async()
            return self._session

    async def close(self) -> None:
        """Close the session; the next call opens a new one (the remote may be back)."""
        async with self._lock:
            client, self._client, self._session = self._client, None, None
        if client is not None:
            try:
                await client.close_async()
            except Exception:  # closing a broken session must not hide the real error
                logger.debug("Closing the session of %s failed", self.project, exc_info=True)


def _chain(exc: BaseException) -> list[BaseException]:
    """Return ``exc``, its causes and the OS errors aiohttp keeps aside."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BaseException):
            chain.append(os_error)
        current = current.__cause__ or current.__context__
    return chain


class _Loop:
    """An event loop in a daemon thread that owns every project session."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.sessions: dict[tuple[str, ...], _ProjectSession] = {}
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="federated-fk-client", daemon=True
        )
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def session(self, project: str) -> _ProjectSession:
        """Return the session of ``project`` (call on the loop thread only)."""
        settings = conf.project_settings(project)
        # Settings may change (tests override them): other settings get
        # another session. The token is part of the key by digest only.
        token = hashlib.sha256(settings["TOKEN"].encode()).hexdigest()
        key = (project, token, *(repr(v) for k, v in sorted(settings.items()) if k != "TOKEN"))
        if key not in self.sessions:
            self.sessions[key] = _ProjectSession(project, settings)
        return self.sessions[key]

    async def close_all(self) -> None:
        sessions, self.sessions = list(self.sessions.values()), {}
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)


_loop: _Loop | None = None
_loop_lock = threading.Lock()


def _get_loop() -> _Loop:
    global _loop
    with _loop_lock:
        # A forked child (a server worker) cannot use its parent's thread.
        if _loop is None or _loop.pid != os.getpid():
            _loop = _Loop()
        return _loop


def close_sessions() -> None:
    """Close every open session (at exit, or to drop pooled connections)."""
    if _loop is not None and _loop.pid == os.getpid():
        _loop.submit(_loop.close_all()).result(timeout=5)


atexit.register(close_sessions)


def run(coro: Coroutine[Any, Any, T], timeout: float) -> T:
    """Run ``coro`` on the client loop and wait for it from sync code."""
    future = _get_loop().submit(coro)
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise


async def arun(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the client loop and await it from another loop."""
    return await asyncio.wrap_future(_get_loop().submit(coro))


async def fetch_project(project: str, wanted: Mapping[EntityType, Iterable[Any]]) -> Found:
    """Fetch the objects of one remote project: one request per ``BATCH_SIZE`` ids.

    Runs on the client loop.
    """
    session = _get_loop().session(project)
    by_type = {t.type_name: t for t in wanted}
    representations = [
        {"__typename": t.type_name, "id": str(pk)} for t, pks in wanted.items() for pk in pks
    ]
    text = ENTITIES_QUERY.format(fragments=" ".join(t.fragment() for t in sorted(wanted, key=str)))
    found: Found = {}
    size = session.settings["BATCH_SIZE"]
    for start in range(0, len(representations), size):
        chunk = representations[start : start + size]
        data = await session.execute(text, {"representations": chunk})
        entities = _entities(session, data, len(chunk))
        for representation, entity in zip(chunk, entities, strict=True):
            entity_type = by_type[representation["__typename"]]
            pk = entity_type.pk.to_python(representation["id"])
            found[(entity_type.key, pk)] = _fields(session, entity_type, representation, entity)
    return found


def _entities(session: _ProjectSession, data: Any, expected: int) -> list[Any]:
    entities = data.get("_entities") if isinstance(data, dict) else None
    if not isinstance(entities, list):
        raise RemoteProtocolError(session.project, session.endpoint, "no _entities list")
    if len(entities) != expected:
        raise RemoteProtocolError(
            session.project,
            session.endpoint,
            f"{len(entities)} entities for {expected} representations",
        )
    return entities


def _fields(
    session: _ProjectSession, entity_type: EntityType, representation: dict[str, str], entity: Any
) -> dict[str, Any] | None:
    """Check one entity against its representation; return its fields."""
    if entity is None:
        return None
    if not isinstance(entity, dict):
        raise RemoteProtocolError(session.project, session.endpoint, "an entity is not an object")
    if entity.get("__typename") != representation["__typename"]:
        raise RemoteProtocolError(
            session.project,
            session.endpoint,
            f"asked for a {representation['__typename']}, got {entity.get('__typename')!r}",
        )
    if str(entity.get("id")) != representation["id"]:
        raise RemoteProtocolError(
            session.project,
            session.endpoint,
            f"asked for {entity_type.type_name} {representation['id']!r}, got {entity.get('id')!r}",
        )
    missing = [name for name in entity_type.fields if name not in entity]
    if missing:
        raise RemoteProtocolError(
            session.project,
            session.endpoint,
            f"{entity_type.type_name} {representation['id']!r} lacks {', '.join(missing)}",
        )
    types = dict(entity_type.field_types)
    wrong = [n for n in entity_type.fields if n in types and not _fits(entity[n], types[n])]
    if wrong:
        raise RemoteProtocolError(
            session.project,
            session.endpoint,
            f"{entity_type.type_name} {representation['id']!r}: "
            + ", ".join(f"{n} is not a {types[n]}" for n in wrong),
        )
    return {snake_case(k): v for k, v in entity.items() if k != "__typename"}


#: The JSON values each built-in GraphQL scalar may take.
_SCALARS: dict[str, tuple[type, ...]] = {
    "String": (str,),
    "ID": (str, int),
    "Int": (int,),
    "Float": (int, float),
    "Boolean": (bool,),
}


def _fits(value: Any, graphql_type: str) -> bool:
    """Whether ``value`` is a JSON value of ``graphql_type`` (``"Int!"``, ``"Decimal"``…)."""
    if value is None:
        return not graphql_type.endswith("!")
    accepted = _SCALARS.get(graphql_type.rstrip("!"))
    if accepted is None:  # a custom scalar or an enum: any JSON scalar
        return isinstance(value, str | int | float | bool)
    if bool in accepted:
        return isinstance(value, bool)
    return isinstance(value, accepted) and not isinstance(value, bool)


async def fetch_by_project(
    wanted: Mapping[EntityType, Iterable[Any]],
) -> dict[str, Found | FederationError]:
    """Fetch objects of every project concurrently; return results or errors by project.

    Runs on the client loop.
    """
    by_project: dict[str, dict[EntityType, list[Any]]] = defaultdict(dict)
    for entity_type, pks in wanted.items():
        by_project[entity_type.project][entity_type] = list(pks)
    projects = list(by_project)
    results = await asyncio.gather(
        *(fetch_project(p, by_project[p]) for p in projects), return_exceptions=True
    )
    outcome: dict[str, Found | FederationError] = {}
    for project, result in zip(projects, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, FederationError):
            raise result
        outcome[project] = result
    return outcome


def _wait_timeout(wanted: Mapping[EntityType, Iterable[Any]]) -> float:
    """How long a sync caller waits: every chunk's timeout, plus a margin."""
    longest = 0.0
    for project in {t.project for t in wanted}:
        settings = conf.project_settings(project)
        count = sum(len(list(pks)) for t, pks in wanted.items() if t.project == project)
        chunks = max(1, -(-count // settings["BATCH_SIZE"]))
        longest = max(longest, chunks * settings["TIMEOUT"])
    return longest + 5


class _Cache:
    """The optional TTL cache of fetched objects, in Django's cache framework."""

    def __init__(self, wanted: Mapping[EntityType, Iterable[Any]]) -> None:
        self.timeouts = {
            p: conf.project_settings(p)["CACHE_TIMEOUT"] for p in {t.project for t in wanted}
        }
        self.cache = caches[conf.federation_settings()["CACHE"]]

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
                    hits[(entity_type.key, entity_type.pk.to_python(pk))] = data
            if missing:
                misses[entity_type] = missing
        return hits, misses

    def store(self, found: Found) -> None:
        by_project: dict[str, dict[str, Any]] = defaultdict(dict)
        for (key, pk), data in found.items():
            if data is not None and self.timeouts.get(key[0]) is not None:
                by_project[key[0]][self.key(key, pk)] = data
        for project, values in by_project.items():
            self.cache.set_many(values, timeout=self.timeouts[project])


def fetch(
    wanted: Mapping[EntityType, Iterable[Any]],
    errors: dict[str, FederationError] | None = None,
) -> Found:
    """Fetch remote objects from sync code.

    :param errors: if given, a project's failure is recorded here by project
        name and its objects are left out; if not, the failure is raised
    :raises RemoteProjectNotConfigured: a project has no endpoint
    :raises RemoteUnavailable: a project could not answer
    """
    cache = _Cache(wanted)
    found, misses = cache.split(wanted)
    if misses:
        results = run(fetch_by_project(misses), timeout=_wait_timeout(misses))
        fetched = _merge(results, errors)
        cache.store(fetched)
        found.update(fetched)
    return found


async def afetch(
    wanted: Mapping[EntityType, Iterable[Any]],
    errors: dict[str, FederationError] | None = None,
) -> Found:
    """Fetch remote objects from async code; as ``fetch``."""
    from asgiref.sync import sync_to_async

    cache = await sync_to_async(_Cache)(wanted)
    found, misses = await sync_to_async(cache.split)(wanted)
    if misses:
        fetched = _merge(await arun(fetch_by_project(misses)), errors)
        await sync_to_async(cache.store)(fetched)
        found.update(fetched)
    return found


def _merge(
    results: dict[str, Found | FederationError], errors: dict[str, FederationError] | None
) -> Found:
    found: Found = {}
    for project, result in results.items():
        if isinstance(result, FederationError):
            if errors is None:
                raise result
            errors[project] = result
        else:
            found.update(result)
    return found


def _ask(
    project: str, text: str, variables: dict[str, Any], read: Callable[[Any], T], what: str
) -> T:
    """Run one query on ``project`` from sync code; ``read`` picks the answer out.

    An answer ``read`` cannot use is a ``RemoteProtocolError`` saying ``what`` was missing.
    """

    async def query() -> T:
        session = _get_loop().session(project)
        data = await session.execute(text, variables)
        try:
            return read(data)
        except (KeyError, TypeError, ValueError):
            raise RemoteProtocolError(
                project, session.endpoint, f"no {what} in the answer"
            ) from None

    return run(query(), timeout=conf.project_settings(project)["TIMEOUT"] + 5)


def fetch_sdl(project: str) -> str:
    """Return the SDL of a remote project's subgraph (``_service { sdl }``)."""
    return _ask(project, SDL_QUERY, {}, lambda data: data["_service"]["sdl"], "_service { sdl }")


def list_ids(project: str, type_name: str, offset: int, limit: int) -> tuple[list[str], int]:
    """Return a page of ids of a listable remote type, and how many there are."""

    def read(data: Any) -> tuple[list[str], int]:
        page = data["federatedIds"]
        return [str(i) for i in page["ids"]], int(page["total"])

    variables = {"typeName": type_name, "offset": offset, "limit": limit}
    return _ask(project, IDS_QUERY, variables, read, "federatedIds { ids total }")
