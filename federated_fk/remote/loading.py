"""Loading remote objects in batches: one request per remote project, whatever the types.

This module is where the client (gql, aiohttp) is imported, on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from federated_fk.ids import InvalidId, parse_remote_id
from federated_fk.partial import PartialResult
from federated_fk.remote.entities import EntityType

if TYPE_CHECKING:
    from federated_fk.remote.objects import RemoteObject


def client() -> ModuleType:
    """Return ``federated_fk.remote.client``, importing it on first use.

    The one deliberate lazy import of the package: the client pulls in gql
    and aiohttp (over a second to import), and every ``manage.py`` command
    imports the stand-ins through the models; only a service that reads a
    remote object pays for the HTTP stack.
    """
    from federated_fk.remote import client as module

    return module


def _plan(wanted: Mapping[type[RemoteObject], Iterable[Any]]) -> dict[EntityType, list[Any]]:
    plan: dict[EntityType, list[Any]] = {}
    for stand_in, pks in wanted.items():
        meta = stand_in._meta
        label = f"{meta.project} {meta.app_label}.{meta.model_name}"
        ids = []
        for pk in pks:
            try:
                ids.append(parse_remote_id(label, meta.pk_type, pk))
            except InvalidId:
                continue  # names no remote row: missing, and no reason to fail the others
        plan.setdefault(meta.entity_type(), []).extend(ids)
    return plan


def _loaded(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
    plan: dict[EntityType, list[Any]],
    fetched: Any,
) -> PartialResult[list[RemoteObject]]:
    objects = []
    for stand_in, entity_type in zip(wanted, plan, strict=True):
        for pk in dict.fromkeys(plan[entity_type]):
            data = fetched.objects.get((entity_type.key, pk))
            if data is not None:
                objects.append(stand_in(pk, data=data))
    return PartialResult(objects, dict(fetched.errors))


def fetch_remote_objects(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
) -> PartialResult[list[RemoteObject]]:
    """Fetch remote objects of any types: one request per remote project.

    ``wanted`` maps stand-in classes to primary keys. Objects that do not
    exist are left out. A project that cannot answer does not raise: its
    error is returned beside the other objects (``raise_first()`` raises it).

    :raises RemoteProjectNotConfigured: a project has no endpoint
    """
    plan = _plan(wanted)
    return _loaded(wanted, plan, client().fetch(plan))


async def afetch_remote_objects(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
) -> PartialResult[list[RemoteObject]]:
    """The async twin of ``fetch_remote_objects``."""
    plan = _plan(wanted)
    return _loaded(wanted, plan, await client().afetch(plan))
