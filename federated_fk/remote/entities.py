"""Batched ``_entities`` look-ups: the query, and the checks of its answer.

One query fetches any mix of entity types of one project; its text is built
from the types' fields and is the same for every batch, and the ids travel
only as GraphQL variables.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models

from federated_fk.contract import pk_field
from federated_fk.exceptions import RemoteProtocolError
from federated_fk.remote.converters import (
    Converter,
    converter,
    named_type,
    scalar_converter,
    snake_case,
)

if TYPE_CHECKING:
    # Only for annotations: this module must not import the HTTP stack.
    from federated_fk.remote.session import ProjectSession

#: (project, app_label, model): a content type's natural key.
Key = tuple[str, str, str]

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")

ENTITIES_QUERY = (
    "query FederatedEntities($representations: [_Any!]!) "
    "{{ _entities(representations: $representations) {{ __typename {fragments} }} }}"
)


@dataclass(frozen=True)
class Ref:
    """A reference to another entity in a remote answer: its primary key, typed."""

    pk: Any


@dataclass(frozen=True)
class EntityType:
    """What the client needs to know of one remote content type.

    :param key: the content type's natural key
    :param type_name: the entity's GraphQL type name
    :param fields: the GraphQL field names to fetch, besides ``id``
    :param pk: a field that converts ids to the remote primary-key type
    :param field_types: (field, GraphQL type) pairs from the remote SDL
    :param relations: (field, related primary-key type) pairs of the fields
        whose values are other entities; they are fetched as ``{ id }``
    """

    key: Key
    type_name: str
    fields: tuple[str, ...]
    pk: models.Field = field(compare=False, hash=False)
    field_types: tuple[tuple[str, str], ...] = ()
    relations: tuple[tuple[str, str], ...] = ()

    @property
    def project(self) -> str:
        return self.key[0]

    def __hash__(self) -> int:
        # Hashed once, not once per look-up: a batch looks its type up per object.
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash((self.key, self.type_name, self.fields, self.field_types, self.relations))

    def __getstate__(self) -> dict[str, Any]:
        # What is cached belongs to this process: a string's hash differs in another.
        return {k: v for k, v in self.__dict__.items() if k not in ("_hash", "converters")}

    def fragment(self, aliased: frozenset[str] = frozenset()) -> str:
        """Return ``... on Type { id field relation { id } ... }``, checking every name first.

        :param aliased: fields to ask for under ``<Type>_<field>``, because
            another type of the same query selects a field of that name differently
        """
        relations = dict(self.relations)
        names = ["id", *sorted(set(self.fields) - {"id"})]
        for name in (self.type_name, *names):
            if not _NAME.match(name):
                raise ValueError(f"{name!r} is not a GraphQL name (remote type {self.key}).")
        selection = []
        for name in names:
            key = f"{self.response_key(name, aliased)}: {name}" if name in aliased else name
            selection.append(f"{key} {{ id }}" if name in relations else key)
        return f"... on {self.type_name} {{ {' '.join(selection)} }}"

    def response_key(self, name: str, aliased: frozenset[str]) -> str:
        """Return where the answer holds field ``name``: its alias, if it has one."""
        return f"{self.type_name}_{name}" if name in aliased else name

    @cached_property
    def converters(self) -> tuple[tuple[str, str, Converter], ...]:
        """(GraphQL name, Python name, converter) of each field, made once per type."""
        types = dict(self.field_types)
        relations = dict(self.relations)
        made = []
        for name in self.fields:
            graphql_type = types.get(name, "")
            if name in relations:
                leaf = _reference(pk_field(relations[name]))
            else:
                leaf = scalar_converter(named_type(graphql_type))
            made.append((name, snake_case(name), converter(graphql_type, leaf)))
        return tuple(made)


def _reference(pk: models.Field) -> Converter:
    def convert(value: Any) -> Ref:
        if not isinstance(value, dict) or "id" not in value:
            raise TypeError(f"{value!r} is not a reference")
        return Ref(pk.to_python(value["id"]))

    return convert


#: What a fetch returns: remote fields (snake_case) by (key, pk); None if missing.
Found = dict[tuple[Key, Any], dict[str, Any] | None]


#: One request's objects: (entity type, primary key) pairs, in representation order.
Chunk = list[tuple[EntityType, Any]]

#: Asks for one chunk: the coroutine that sends its request and reads the answer.
Ask = Callable[[Chunk], Coroutine[Any, Any, Found]]

#: Starts one chunk: given it and how to ask for (part of) it, puts what is
#: needed under way at once and returns what to await for the chunk's objects.
#: The client starts every chunk through the table of requests in flight
#: (``federated_fk.remote.inflight.InFlight.start``), which joins what is in
#: flight at that moment and asks only for the rest.
Start = Callable[[Chunk, Ask], Awaitable[Found]]


def _start_now(chunk: Chunk, ask: Ask) -> Awaitable[Found]:
    return asyncio.ensure_future(ask(chunk))


def fetch_project(
    session: ProjectSession,
    wanted: Mapping[EntityType, Iterable[Any]],
    start: Start = _start_now,
) -> Coroutine[Any, Any, Found]:
    """Fetch objects of the session's project: one request per ``BATCH_SIZE`` ids.

    Call on the client loop. The first requests (up to ``CONCURRENT_BATCHES``)
    are under way when this returns, so that a fetch started in the next
    step of the loop finds them in flight; await the result for the objects.
    Each further request is sent as soon as an earlier one's answer arrives,
    while that answer is converted (``_Pipeline``): never more requests than
    one per ``BATCH_SIZE`` ids, never more than ``CONCURRENT_BATCHES`` at once.

    :param start: what puts each request under way (by default, a task)
    :raises RemoteUnavailable: (when awaited) the project could not answer, or
        answered something that does not match what was asked
    """
    query = _Query(wanted)
    pairs: Chunk = [(t, pk) for t, pks in wanted.items() for pk in pks]
    size = session.settings["BATCH_SIZE"]
    chunks = [pairs[i : i + size] for i in range(0, len(pairs), size)]

    def one(chunk: Chunk, answered: Callable[[], None]) -> Awaitable[Found]:
        return start(chunk, functools.partial(query.ask, session, answered=answered))

    at_once = max(1, session.settings["CONCURRENT_BATCHES"])
    return _Pipeline(chunks, one, at_once).result()


class _Query:
    """The ``_entities`` query of one fetch: its text, and how to read its answers."""

    def __init__(self, wanted: Iterable[EntityType]) -> None:
        types = list(wanted)
        aliased = clashing_fields(types)
        fragments = " ".join(t.fragment(aliased[t]) for t in sorted(types, key=str))
        self.text = ENTITIES_QUERY.format(fragments=fragments)
        # Where each field is in the answer and how it converts, once per type.
        self.reads = {t.type_name: _reads(t, aliased[t]) for t in types}

    async def ask(
        self, session: ProjectSession, chunk: Chunk, answered: Callable[[], None] = lambda: None
    ) -> Found:
        """Send one request for ``chunk``; return its objects, checked and converted.

        :param answered: called as soon as the answer has arrived, before it is
            converted, so that the next request can be under way meanwhile
        """
        representations = [{"__typename": t.type_name, "id": str(pk)} for t, pk in chunk]
        data = await session.execute(self.text, {"representations": representations})
        answered()
        # The next request is written before this answer is converted, not
        # after the first slice of it: the remote works while this side converts.
        await asyncio.sleep(0)
        entities = _entities(session, data, len(chunk))
        found: Found = {}
        rows = zip(chunk, representations, entities, strict=True)
        for count, ((entity_type, _), representation, entity) in enumerate(rows, 1):
            pk = entity_type.pk.to_python(representation["id"])
            found[(entity_type.key, pk)] = _fields(
                session, entity_type, representation, entity, self.reads[entity_type.type_name]
            )
            if count % CONVERT_SLICE == 0:
                # Let the loop write the next request (and read other projects'
                # answers) while this one is converted.
                await asyncio.sleep(0)
        return found


#: How many entities are converted between two steps of the client loop.
CONVERT_SLICE = 50


class _Pipeline:
    """One project's chunks, each request sent as soon as an earlier one is answered.

    At most ``at_once`` requests are in flight. A request is sent when an
    earlier one's answer arrives, not when it has been converted: the
    conversion on this side overlaps the remote's work on the next request.
    """

    def __init__(
        self,
        chunks: list[Chunk],
        one: Callable[[Chunk, Callable[[], None]], Awaitable[Found]],
        at_once: int,
    ) -> None:
        self.one = one
        self.pending = deque(chunks)
        #: The requests under way, in chunk order, each with its "answered" signal.
        self.running: deque[tuple[Awaitable[Found], Callable[[], None]]] = deque()
        self.closed = False
        for _ in range(min(at_once, len(chunks))):
            self._start_next()

    def _start_next(self) -> None:
        chunk = self.pending.popleft()
        done = False

        def answered() -> None:
            # Once per chunk: by its own request's answer, or (a chunk wholly
            # joined to other fetches' requests) when it is awaited.
            nonlocal done
            if not done:
                done = True
                if self.pending and not self.closed:
                    self._start_next()

        self.running.append((self.one(chunk, answered), answered))

    async def result(self) -> Found:
        """Await the chunks in order; return every object.

        :raises RemoteUnavailable: the first failure, in chunk order; the requests
            still under way are cancelled and none of the answers is used
        """
        found: Found = {}
        try:
            while self.running:
                awaitable, answered = self.running[0]
                answer = await awaitable
                self.running.popleft()
                answered()
                if not (found or self.running or self.pending):
                    return answer  # the only request: its answer is the fetch's
                found.update(answer)
        finally:
            self.closed = True  # a shared request's late answer starts nothing
            for awaitable, _ in self.running:
                if isinstance(awaitable, asyncio.Future):
                    awaitable.cancel()  # a failure: the others are of no use
        return found


#: (response key, GraphQL name, Python name, converter) of each field of a type.
Reads = tuple[tuple[str, str, str, Converter], ...]


def _reads(entity_type: EntityType, aliased: frozenset[str]) -> Reads:
    return tuple(
        (entity_type.response_key(name, aliased), name, python_name, convert)
        for name, python_name, convert in entity_type.converters
    )


def _entities(session: ProjectSession, data: Any, expected: int) -> list[Any]:
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


def clashing_fields(types: Iterable[EntityType]) -> dict[EntityType, frozenset[str]]:
    """Return, per type, the fields to alias so that one query can hold every type.

    GraphQL refuses a query in which two fragments select one response key
    with different types (``author: String!`` beside ``author: Author!``):
    such fields are asked for under an alias.
    """
    shapes: dict[str, set[tuple[str, bool]]] = defaultdict(set)
    for entity_type in types:
        field_types, relations = dict(entity_type.field_types), dict(entity_type.relations)
        for name in entity_type.fields:
            shapes[name].add((field_types.get(name, ""), name in relations))
    clashing = {name for name, seen in shapes.items() if len(seen) > 1}
    return {t: frozenset(n for n in t.fields if n in clashing) for t in types}


def _fields(
    session: ProjectSession,
    entity_type: EntityType,
    representation: dict[str, str],
    entity: Any,
    reads: Reads,
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
    data: dict[str, Any] = {}
    try:
        for key, _, python_name, convert in reads:
            data[python_name] = convert(entity[key])
    except (KeyError, TypeError, ValueError, ValidationError):
        # Found out again, slowly, to say every field that is wrong.
        _refuse(session, entity_type, representation, entity, reads)
    return data


def _refuse(
    session: ProjectSession,
    entity_type: EntityType,
    representation: dict[str, str],
    entity: dict[str, Any],
    reads: Reads,
) -> None:
    """Raise the error naming every field of ``entity`` that is missing or of a wrong type."""
    missing: list[str] = []
    wrong: list[str] = []
    for key, name, _, convert in reads:
        if key not in entity:
            missing.append(name)
            continue
        try:
            convert(entity[key])
        except (TypeError, ValueError, ValidationError):
            wrong.append(f"{name} is not a {dict(entity_type.field_types).get(name, 'scalar')}")
    name = f"{entity_type.type_name} {representation['id']!r}"
    problem = f"{name} lacks {', '.join(missing)}" if missing else f"{name}: {', '.join(wrong)}"
    raise RemoteProtocolError(session.project, session.endpoint, problem)
