"""The GraphQL client's public functions: batched fetches, the SDL, pages of ids.

One ``_entities`` request per remote project (chunked past the project's
``BATCH_SIZE``) fetches any mix of entity types; projects are fetched
concurrently, on the client loop (``federated_fk.remote.loop``). A project
that cannot answer does not raise here: its error is returned beside what the
other projects gave, and the caller decides.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

from federated_fk import conf
from federated_fk.exceptions import FederationError, RemoteProtocolError
from federated_fk.ids import InvalidId
from federated_fk.partial import PartialResult
from federated_fk.remote import events
from federated_fk.remote.cache import RemoteCache
from federated_fk.remote.entities import EntityType, Found, _fields, _reads, fetch_project
from federated_fk.remote.inflight import ShareScope, combined_answer, in_flight
from federated_fk.remote.loop import arun, get_loop, run
from federated_fk.remote.session import ProjectSession

T = TypeVar("T")

SDL_QUERY = "query FederatedSDL { _service { sdl } }"
IDS_QUERY = (
    "query FederatedIds($typeName: String!, $offset: Int!, $limit: Int!) "
    "{ federatedIds(typeName: $typeName, offset: $offset, limit: $limit) { ids total } }"
)


#: What a fetch gave: remote fields by (content-type key, pk), None where the
#: remote has no such object (or hides it); a failed project's are absent.
Fetched = PartialResult[Found]


async def _fetch_by_project(
    wanted: Mapping[EntityType, Iterable[Any]], scopes: Mapping[str, ShareScope]
) -> Fetched:
    """Fetch objects of every project concurrently (on the client loop)."""
    by_project: dict[str, dict[EntityType, list[Any]]] = defaultdict(dict)
    for entity_type, pks in wanted.items():
        by_project[entity_type.project][entity_type] = list(pks)
    projects = list(by_project)
    loop = get_loop()
    # Every project's requests are under way (and open to sharing) before this
    # first awaits: a fetch submitted to the loop just after finds them.
    fetches = [_start_project(loop.session(p), by_project[p], scopes[p]) for p in projects]
    results = await asyncio.gather(*fetches, return_exceptions=True)
    fetched: Fetched = PartialResult({})
    for project, result in zip(projects, results, strict=True):
        if isinstance(result, FederationError):
            fetched.errors[project] = result
        elif isinstance(result, BaseException):
            raise result
        else:
            fetched.objects.update(result)
    return fetched


def _start_project(
    session: ProjectSession, wanted: dict[EntityType, list[Any]], scope: ShareScope
) -> Coroutine[Any, Any, Found]:
    """Join what of one project's fetch is in flight, and start requests for the rest.

    Both happen now, in one step of the loop, so two fetches submitted together
    never both miss each other. Await the result for the project's objects.
    """
    table = in_flight()
    joins, rest = table.split(scope, wanted)
    own = fetch_project(session, rest, functools.partial(table.start, scope)) if rest else None
    return combined_answer(own, joins)


def _wait_timeout(wanted: Mapping[EntityType, Iterable[Any]]) -> float:
    """How long a sync caller waits: every chunk's timeout, plus a margin."""
    longest = 0.0
    for project in {t.project for t in wanted}:
        settings = conf.project_settings(project)
        count = sum(len(list(pks)) for t, pks in wanted.items() if t.project == project)
        chunks = max(1, -(-count // settings["BATCH_SIZE"]))
        longest = max(longest, chunks * settings["TIMEOUT"])
    return longest + 5


def _scopes(cache: RemoteCache, misses: Mapping[EntityType, Any]) -> dict[str, ShareScope]:
    """What each project's fetch may share; read in the caller's context (``fresh()``)."""
    return {
        p: cache.scope(p, conf.project_settings(p)["SHARE_FETCHES"])
        for p in {t.project for t in misses}
    }


def fetch(wanted: Mapping[EntityType, Iterable[Any]]) -> Fetched:
    """Fetch remote objects from sync code, through the cache.

    :raises RemoteProjectNotConfigured: a project has no endpoint
    """
    cache = RemoteCache(wanted)
    found, misses = cache.split(wanted)
    with events.fetching(wanted, found, misses):  # records the cache hits
        if not misses:
            return PartialResult(found)
        scopes = _scopes(cache, misses)
        fetched = run(_fetch_by_project(misses, scopes), timeout=_wait_timeout(misses))
    cache.store(fetched.objects)
    fetched.objects.update(found)
    return fetched


async def afetch(wanted: Mapping[EntityType, Iterable[Any]]) -> Fetched:
    """Fetch remote objects from async code; as ``fetch``."""
    cache = RemoteCache(wanted)  # reads settings only
    if cache.used:  # a cache backend may do I/O: in a thread

        def split() -> tuple[Found, dict[EntityType, list[Any]], dict[str, ShareScope]]:
            found, misses = cache.split(wanted)
            return found, misses, _scopes(cache, misses)

        found, misses, scopes = await sync_to_async(split)()
    else:
        found, misses = {}, {t: list(pks) for t, pks in wanted.items()}
        scopes = _scopes(cache, misses)  # no generation to read: no I/O
    with events.fetching(wanted, found, misses):  # records the cache hits
        if not misses:
            return PartialResult(found)
        fetched = await arun(_fetch_by_project(misses, scopes))
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


@dataclass(frozen=True)
class Page:
    """One page of a remote query's answer: only what the query selected is set.

    :param total: how many visible objects match, all pages together
    :param ids: the primary keys of this page, parsed
    :param items: (primary key, fields) of each object of this page, the
        fields converted as ``_entities`` answers are
    """

    total: int | None = None
    ids: list[Any] | None = None
    items: list[tuple[Any, dict[str, Any]]] | None = None


def query_page(
    project: str,
    field: str,
    text: str,
    variables: dict[str, Any],
    entity_type: EntityType,
    parse_id: Callable[[Any], Any],
) -> Page:
    """Run one page of a remote query (``query<Type>``) from sync code.

    :param field: the query's root field, ``query<Type>``
    :param text: the query; its root field selects any of ``total``, ``ids``
        and ``items``
    :param variables: its variables; ``limit`` bounds what a page may hold
    :param entity_type: how to read and convert ``items``
    :param parse_id: turns a remote id into a primary key; raises ``InvalidId``
    :raises RemoteUnavailable: the project could not answer, or answered
        something that is not such a page
    """
    timeout = conf.project_settings(project)["TIMEOUT"] + 5
    page = _query_page(project, field, text, variables, entity_type, parse_id)
    return run(page, timeout=timeout)


async def aquery_page(
    project: str,
    field: str,
    text: str,
    variables: dict[str, Any],
    entity_type: EntityType,
    parse_id: Callable[[Any], Any],
) -> Page:
    """The async twin of ``query_page``."""
    return await arun(_query_page(project, field, text, variables, entity_type, parse_id))


async def _query_page(
    project: str,
    field: str,
    text: str,
    variables: dict[str, Any],
    entity_type: EntityType,
    parse_id: Callable[[Any], Any],
) -> Page:
    session = get_loop().session(project)
    data = await session.execute(text, variables)
    page = data.get(field) if isinstance(data, dict) else None
    if not isinstance(page, dict):
        raise RemoteProtocolError(project, session.endpoint, f"no {field} page in the answer")
    return _read_page(session, page, entity_type, parse_id, int(variables.get("limit", 0)))


def _read_page(
    session: ProjectSession,
    page: dict[str, Any],
    entity_type: EntityType,
    parse_id: Callable[[Any], Any],
    limit: int,
) -> Page:
    """Check one page against what was asked; convert its ids and items."""

    def refuse(problem: str) -> RemoteProtocolError:
        return RemoteProtocolError(session.project, session.endpoint, problem)

    total = page.get("total")
    if "total" in page and (not isinstance(total, int) or isinstance(total, bool) or total < 0):
        raise refuse(f"the query total {total!r} is not a count")
    ids = items = None
    try:
        if "ids" in page:
            if not isinstance(page["ids"], list) or len(page["ids"]) > limit:
                raise refuse(f"the query ids are not a list of at most {limit}")
            ids = [parse_id(i) for i in page["ids"]]
        if "items" in page:
            if not isinstance(page["items"], list) or len(page["items"]) > limit:
                raise refuse(f"the query items are not a list of at most {limit}")
            items = _items(session, page["items"], entity_type, parse_id)
    except InvalidId as exc:
        raise refuse(f"the query answered an id that is not one: {exc}") from None
    return Page(total=total, ids=ids, items=items)


def _items(
    session: ProjectSession, items: list[Any], entity_type: EntityType, parse_id: Callable
) -> list[tuple[Any, dict[str, Any]]]:
    """Convert each item with the converters of ``_entities`` answers."""
    reads = _reads(entity_type, frozenset())
    converted = []
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            raise RemoteProtocolError(
                session.project, session.endpoint, "a query item is not an object with an id"
            )
        representation = {"__typename": entity_type.type_name, "id": str(item["id"])}
        fields = _fields(session, entity_type, representation, item, reads)
        converted.append((parse_id(item["id"]), fields or {}))
    return converted
