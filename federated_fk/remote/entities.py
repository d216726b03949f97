"""Batched ``_entities`` look-ups: the query, and the checks of its answer.

One query fetches any mix of entity types of one project; its text is built
from the types' fields and is the same for every batch, and the ids travel
only as GraphQL variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from federated_fk.exceptions import RemoteProtocolError
from federated_fk.remote.session import ProjectSession

#: (project, app_label, model): a content type's natural key.
Key = tuple[str, str, str]

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")

ENTITIES_QUERY = (
    "query FederatedEntities($representations: [_Any!]!) "
    "{{ _entities(representations: $representations) {{ __typename {fragments} }} }}"
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
        """Return ``... on Type { id field ... }``, checking every name first."""
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


async def fetch_project(
    session: ProjectSession, wanted: Mapping[EntityType, Iterable[Any]]
) -> Found:
    """Fetch objects of the session's project: one request per ``BATCH_SIZE`` ids.

    Runs on the client loop.

    :raises RemoteUnavailable: the project could not answer, or answered
        something that does not match what was asked
    """
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


def _fields(
    session: ProjectSession, entity_type: EntityType, representation: dict[str, str], entity: Any
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
