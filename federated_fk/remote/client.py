"""The GraphQL client's public functions: batched fetches, the SDL, pages of ids.

One ``_entities`` request per remote project (chunked past the project's
``BATCH_SIZE``) fetches any mix of entity types; projects are fetched
concurrently, on the client loop (``federated_fk.remote.loop``). A project
that cannot answer does not raise here: its error is returned beside what the
other projects gave, and the caller decides.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

from federated_fk import conf
from federated_fk.exceptions import FederationError, RemoteProtocolError
from federated_fk.partial import PartialResult
from federated_fk.remote import events
from federated_fk.remote.cache import RemoteCache
from federated_fk.remote.entities import EntityType, Found, fetch_project
from federated_fk.remote.loop import arun, get_loop, run

T = TypeVar("T")

SDL_QUERY = "query FederatedSDL { _service { sdl } }"
IDS_QUERY = (
    "query FederatedIds($typeName: String!, $offset: Int!, $limit: Int!) "
    "{ federatedIds(typeName: $typeName, offset: $offset, limit: $limit) { ids total } }"
)


#: What a fetch gave: remote fields by (content-type key, pk), None where the
#: remote has no such object (or hides it); a failed project's are absent.
Fetched = PartialResult[Found]


async def _fetch_by_project(wanted: Mapping[EntityType, Iterable[Any]]) -> Fetched:
    """Fetch objects of every project concurrently (on the client loop)."""
    by_project: dict[str, dict[EntityType, list[Any]]] = defaultdict(dict)
    for entity_type, pks in wanted.items():
        by_project[entity_type.project][entity_type] = list(pks)
    projects = list(by_project)
    loop = get_loop()
    results = await asyncio.gather(
        *(fetch_project(loop.session(p), by_project[p]) for p in projects),
        return_exceptions=True,
    )
    fetched: Fetched = PartialResult({})
    for project, result in zip(projects, results, strict=True):
        if isinstance(result, FederationError):
            fetched.errors[project] = result
        elif isinstance(result, BaseException):
            raise result
        else:
            fetched.objects.update(result)
    return fetched


def _wait_timeout(wanted: Mapping[EntityType, Iterable[Any]]) -> float:
    """How long a sync caller waits: every chunk's timeout, plus a margin."""
    longest = 0.0
    for project in {t.project for t in wanted}:
        settings = conf.project_settings(project)
        count = sum(len(list(pks)) for t, pks in wanted.items() if t.project == project)
        chunks = max(1, -(-count // settings["BATCH_SIZE"]))
        longest = max(longest, chunks * settings["TIMEOUT"])
    return longest + 5


def fetch(wanted: Mapping[EntityType, Iterable[Any]]) -> Fetched:
    """Fetch remote objects from sync code, through the cache.

    :raises RemoteProjectNotConfigured: a project has no endpoint
    """
    cache = RemoteCache(wanted)
    found, misses = cache.split(wanted)
    with events.fetching(wanted, found, misses):  # records the cache hits
        if not misses:
            return PartialResult(found)
        fetched = run(_fetch_by_project(misses), timeout=_wait_timeout(misses))
    cache.store(fetched.objects)
    fetched.objects.update(found)
    return fetched


async def afetch(wanted: Mapping[EntityType, Iterable[Any]]) -> Fetched:
    """Fetch remote objects from async code; as ``fetch``."""
    cache = RemoteCache(wanted)  # reads settings only
    if cache.used:  # a cache backend may do I/O: in a thread
        found, misses = await sync_to_async(cache.split)(wanted)
    else:
        found, misses = {}, {t: list(pks) for t, pks in wanted.items()}
    with events.fetching(wanted, found, misses):  # records the cache hits
        if not misses:
            return PartialResult(found)
        fetched = await arun(_fetch_by_project(misses))
    if cache.used:
        await sync_to_async(cache.store)(fetched.objects)
    fetched.objects.update(found)
    return fetched


def _ask(
    project: str, text: str, variables: dict[str, Any], read: Callable[[Any], T], what: str
) -> T:
    """Run one query on ``project`` from sync code; ``read`` picks the answer out.

    An answer ``read`` cannot use is a ``RemoteProtocolError`` saying ``what`` was missing.
    """

    async def query() -> T:
        session = get_loop().session(project)
        data = await session.execute(text, variables)
        try:
            return read(data)
        except (KeyError, TypeError, ValueError):
            raise RemoteProtocolError(
                project, session.endpoint, f"no {what} in the answer"
            ) from None

    return run(query(), timeout=conf.project_settings(project)["TIMEOUT"] + 5)


def fetch_sdl(project: str) -> str:
    """Return the SDL of a remote project's subgraph (``_service { sdl }``).

    :raises RemoteUnavailable: the project could not answer
    """
    return _ask(project, SDL_QUERY, {}, lambda data: data["_service"]["sdl"], "_service { sdl }")


def list_ids(project: str, type_name: str, offset: int, limit: int) -> tuple[list[str], int]:
    """Return a page of ids of a listable remote type, and how many there are.

    :raises RemoteUnavailable: the project could not answer
    """

    def read(data: Any) -> tuple[list[str], int]:
        page = data["federatedIds"]
        return [str(i) for i in page["ids"]], int(page["total"])

    variables = {"typeName": type_name, "offset": offset, "limit": limit}
    return _ask(project, IDS_QUERY, variables, read, "federatedIds { ids total }")
