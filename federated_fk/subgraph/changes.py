"""``federatedChanges``: the outbox served to other services, as each caller may see it.

An event says *which* object changed; the answer gives the object's state as
the caller sees it now, through the entity type's ``get_queryset``:

- a row the caller cannot see now, deleted or hidden, reads ``DELETED``;
- a row it can see reads ``CREATED`` or ``UPDATED``, even when the event was
  a delete (the row is back);
- ``fields`` names the published fields an update changed, never a column
  the entity type leaves out.

So what a follower does depends only on the current state, never on the
order of two events of one object, and a caller never learns of rows, or of
columns, it could not read through ``_entities``.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import strawberry
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.db import models
from strawberry.types import Info

from federated_fk import conf
from federated_fk.changes.feed import InvalidCursor, Page, read_page
from federated_fk.changes.models import ChangeEvent
from federated_fk.subgraph.entities import visible

#: The name of the root field (``@shareable @inaccessible``, like ``federatedIds``).
FIELD = "federatedChanges"


@strawberry.enum(name="FederatedChangeKind", description="What happened to an object.")
class ChangeKind(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


@strawberry.federation.type(
    name="FederatedChange", description="One object that changed.", shareable=True
)
class Change:
    typename: str
    id: strawberry.ID
    kind: ChangeKind
    #: The published fields an update changed; empty for other kinds.
    fields: list[str]


@strawberry.federation.type(
    name="FederatedChangePage",
    description="A page of the change feed. Pass cursor as after to read the next one; "
    "pruned means events after the given cursor were pruned: reconcile in full, then go on.",
    shareable=True,
)
class ChangePage:
    cursor: str | None
    pruned: bool
    changes: list[Change]


@dataclass(frozen=True)
class Published:
    """One entity type whose changes the feed serves."""

    name: str
    entity: type
    model: type[models.Model]
    #: Database column -> GraphQL field name, for the fields the type publishes.
    columns: Mapping[str, str]


def changes_query(published: list[Published], max_limit: int) -> type:
    """Return the root type holding ``federatedChanges`` for the ``published`` types."""
    by_label = {p.model._meta.label_lower: p for p in published}

    async def federated_changes(
        info: Info, after: str | None = None, limit: int = 100
    ) -> ChangePage:
        if not 1 <= limit <= max_limit:
            raise ValueError(f"limit must be from 1 to {max_limit}.")
        try:
            return await sync_to_async(_page)(by_label, after, limit, info)
        except InvalidCursor as error:
            raise ValueError(str(error)) from None

    field = strawberry.federation.field(
        resolver=federated_changes,
        name=FIELD,
        description="Objects created, changed or deleted, in feed order, after a cursor "
        f"(at most {max_limit} at once).",
        shareable=True,
        inaccessible=True,
    )
    return strawberry.type(type("FederatedChangesQuery", (), {"federated_changes": field}))


def published_types(
    entries: list[tuple[str, type, type[models.Model]]], graphql_name: Callable[[str], str]
) -> list[Published]:
    """Return the entity types among ``entries`` whose models the outbox records.

    :param entries: (type name, entity class, model) of each entity type
    :param graphql_name: the GraphQL name of a Python field name
    """
    labels = set(conf.published_change_models())
    found = []
    for name, entity, model in entries:
        if model._meta.label_lower not in labels:
            continue
        own = {f.python_name for f in entity.__strawberry_definition__.fields}
        columns = {
            f.column: graphql_name(f.name) for f in model._meta.concrete_fields if f.name in own
        }
        found.append(Published(name, entity, model, columns))
    return found


def _page(
    by_label: Mapping[str, Published], after: str | None, limit: int, info: Info
) -> ChangePage:
    page: Page = read_page(after, limit, by_label)
    keys: dict[str, dict[int, object]] = defaultdict(dict)
    for index, event in enumerate(page.events):
        key = _key(by_label[event.model].model, event.object_id)
        if key is not None:
            keys[event.model][index] = key
    seen = {
        label: _visible(by_label[label], list(found.values()), info)
        for label, found in keys.items()
    }
    changes = []
    for index, event in enumerate(page.events):
        key = keys[event.model].get(index)
        if key is None:
            continue  # not a key of the model (a row written by hand): nobody can read it
        published = by_label[event.model]
        changes.append(_change(published, event, key, key in seen[event.model]))
    return ChangePage(cursor=page.cursor, pruned=page.pruned, changes=changes)


def _change(published: Published, event: ChangeEvent, key: object, shown: bool) -> Change:
    if not shown:
        kind, fields = ChangeKind.DELETED, []
    elif event.kind == ChangeEvent.UPDATED:
        changed = (published.columns.get(c) for c in event.columns.split(",") if c)
        kind, fields = ChangeKind.UPDATED, sorted({name for name in changed if name})
    else:
        kind, fields = ChangeKind.CREATED, []
    return Change(typename=published.name, id=strawberry.ID(str(key)), kind=kind, fields=fields)


def _key(model: type[models.Model], object_id: str) -> object | None:
    try:
        return model._meta.pk.to_python(object_id)
    except (ValidationError, ValueError, TypeError):
        return None


def _visible(published: Published, keys: list[object], info: Info) -> set[object]:
    rows = visible(published.entity, published.model, info).filter(pk__in=keys)
    return set(rows.values_list("pk", flat=True))
