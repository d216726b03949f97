"""Loading remote objects in batches: one request per remote project, whatever the types.

This module is where the client (gql, aiohttp) is imported, on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from federated_fk.exceptions import FederationError
from federated_fk.ids import InvalidId, parse_remote_id
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


@dataclass
class LoadedObjects:
    """Remote objects that were found, and the projects that could not answer.

    :param objects: the objects found, as stand-ins; missing ones are left out
    :param errors: the failure of each project that could not answer
    """

    objects: list[RemoteObject] = field(default_factory=list)
    errors: dict[str, FederationError] = field(default_factory=dict)


def _loaded(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
    plan: dict[EntityType, list[Any]],
    fetched: Any,
) -> LoadedObjects:
    objects = []
    for stand_in, entity_type in zip(wanted, plan, strict=True):
        for pk in dict.fromkeys(plan[entity_type]):
            data = fetched.found.get((entity_type.key, pk))
            if data is not None:
                objects.append(stand_in(pk, data=data))
    return LoadedObjects(objects, dict(fetched.errors))


def fetch_remote_objects(wanted: Mapping[type[RemoteObject], Iterable[Any]]) -> LoadedObjects:
    """Fetch remote objects of any types: one request per remote project.

    ``wanted`` maps stand-in classes to primary keys. A project that cannot
    answer does not raise: its error is returned beside the other objects.

    :raises RemoteProjectNotConfigured: a project has no endpoint
    """
    plan = _plan(wanted)
    return _loaded(wanted, plan, client().fetch(plan))


async def afetch_remote_objects(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
) -> LoadedObjects:
    """The async twin of ``fetch_remote_objects``."""
    plan = _plan(wanted)
    return _loaded(wanted, plan, await client().afetch(plan))


def _report(loaded: LoadedObjects, errors: dict[str, FederationError] | None) -> list[Any]:
    if errors is None:
        for project in sorted(loaded.errors):
            raise loaded.errors[project]
    else:
        errors.update(loaded.errors)
    return loaded.objects


def load_remote_objects(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
    errors: dict[str, FederationError] | None = None,
) -> list[RemoteObject]:
    """Fetch remote objects of any types: one request per remote project.

    ``wanted`` maps stand-in classes to primary keys. Objects that do not
    exist are left out.

    :param errors: if given, a project's failure is recorded here by project
        name (and its objects left out) instead of raised
    :raises RemoteProjectNotConfigured: a project has no endpoint
    :raises RemoteUnavailable: a project could not answer
    """
    return _report(fetch_remote_objects(wanted), errors)


async def aload_remote_objects(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
    errors: dict[str, FederationError] | None = None,
) -> list[RemoteObject]:
    """The async twin of ``load_remote_objects``."""
    return _report(await afetch_remote_objects(wanted), errors)
