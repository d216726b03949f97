"""Settings of django-federated-fk, read through one accessor.

All settings live in one ``FEDERATION`` dict, like ``DATABASES``::

    FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["authors"],
    }

``FEDERATION_PROJECT_NAME = "shop_a"`` at the top level of the settings module
is accepted as a shorthand for ``FEDERATION["PROJECT_NAME"]``.
"""

from __future__ import annotations

import functools
from typing import Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from federated_fk.exceptions import RemoteProjectNotConfigured

__all__ = ["current_project", "federation_settings"]

#: The project name of tables synchronized into every service; always local.
SHARED_PROJECT = "shared"

#: The project name used when a service does not name itself.
DEFAULT_PROJECT = "default"


class Secret(str):
    """A token: the string itself where it is sent, and redacted in every ``repr``.

    Settings dicts end up in reprs (debuggers, error trackers that capture
    local variables); a token inside them shows as ``'<redacted>'``.
    """

    def __repr__(self) -> str:
        return "'<redacted>'"


class ProjectSettings(TypedDict, total=False):
    """How to reach one remote project: ``FEDERATION["PROJECTS"][name]``."""

    #: The project's GraphQL endpoint (an http or https URL).
    URL: str
    #: Sent as ``Authorization: Bearer <TOKEN>``; read it from the environment.
    TOKEN: str
    #: Seconds a request may take, connection included.
    TIMEOUT: float
    #: The most representations in one ``_entities`` request.
    BATCH_SIZE: int
    #: How many of one fetch's requests to the project may be in flight at
    #: once (past BATCH_SIZE a fetch takes several); 1 sends them in turn.
    CONCURRENT_BATCHES: int
    #: Seconds to keep fetched objects in Django's cache; None keeps nothing.
    CACHE_TIMEOUT: int | None
    #: The fields to fetch per GraphQL type name, when not all scalar fields.
    FIELDS: dict[str, list[str]]
    #: Retries of a failed read (connection failure, HTTP 502/503/504), all
    #: within TIMEOUT; backoff from RETRY_BACKOFF seconds, doubling, with jitter.
    RETRIES: int
    RETRY_BACKOFF: float
    #: Failed calls in a row that open the circuit: later calls fail at once
    #: for BREAKER_COOLDOWN seconds, then one call tries the remote again.
    BREAKER_THRESHOLD: int
    BREAKER_COOLDOWN: float
    #: The largest answer read, in bytes.
    MAX_RESPONSE_BYTES: int
    #: Whether ``follow_remote_changes`` follows this project's change feed.
    FOLLOW: bool
    #: Seconds between two polls of the change feed when the last one was empty.
    FOLLOW_INTERVAL: float
    #: The most change events read in one poll.
    FOLLOW_BATCH: int
    #: The most seconds between two tries after failures (backoff doubles up to it).
    FOLLOW_MAX_BACKOFF: float
    #: Whether fetches in this process share identical requests in flight: a
    #: fetch of objects already being asked for (same credential, type and
    #: fields) waits for that request's answer instead of sending its own, and
    #: asks only for the rest. The answer was current at some instant after
    #: that request was sent (see ``federated_fk.remote.cache``).
    SHARE_FETCHES: bool


PROJECT_DEFAULTS: ProjectSettings = {
    "TOKEN": "",
    "TIMEOUT": 10.0,
    "BATCH_SIZE": 500,
    "CONCURRENT_BATCHES": 1,
    "CACHE_TIMEOUT": None,
    "FIELDS": {},
    "RETRIES": 2,
    "RETRY_BACKOFF": 0.05,
    "BREAKER_THRESHOLD": 5,
    "BREAKER_COOLDOWN": 5.0,
    "MAX_RESPONSE_BYTES": 20 * 2**20,
    "FOLLOW": True,
    "FOLLOW_INTERVAL": 0.5,
    "FOLLOW_BATCH": 500,
    "FOLLOW_MAX_BACKOFF": 30.0,
    "SHARE_FETCHES": True,
}


class ChangeSettings(TypedDict, total=False):
    """The change feed this service publishes: ``FEDERATION["CHANGES"]``."""

    #: ``"app_label.ModelName"`` labels of the models whose creates, updates and
    #: deletes the outbox records (database triggers, installed by ``migrate``).
    MODELS: list[str]
    #: Seconds an event is kept; ``prune_change_events`` deletes older ones.
    RETENTION: int
    #: The most events one page of ``federatedChanges`` returns.
    MAX_PAGE_SIZE: int


CHANGE_DEFAULTS: ChangeSettings = {
    "MODELS": [],
    "RETENTION": 7 * 24 * 3600,
    "MAX_PAGE_SIZE": 1000,
}


class FederationSettings(TypedDict, total=False):
    """The keys of the ``FEDERATION`` settings dict."""

    #: The name of this service; content types of this project are local.
    PROJECT_NAME: str
    #: App labels whose models belong to the ``"shared"`` project.
    SHARED_APPS: list[str]
    #: ``"app_label.ModelName"`` labels of single models in the ``"shared"`` project
    #: (compared case-insensitively, like ``Model._meta.label_lower``).
    SHARED_MODELS: list[str]
    #: Dotted path of the base class of remote stand-in classes (a subclass of
    #: ``federated_fk.remote.RemoteObject``); empty for RemoteObject itself.
    REMOTE_OBJECT_CLASS: str
    #: The remote projects this service reads from, by project name.
    PROJECTS: dict[str, ProjectSettings]
    #: The token callers of this service's subgraph must send; empty for none.
    SUBGRAPH_TOKEN: str
    #: The alias in ``CACHES`` used for fetched remote objects.
    CACHE: str
    #: Where ``sync_remote_contenttypes`` stores the SDL it reads.
    SCHEMA_DIR: str
    #: Scalars added to the registry (``federated_fk.scalars``), by GraphQL
    #: name: a ``Scalar``, or a converter (JSON value to Python value), or the
    #: dotted path of either.
    SCALARS: dict[str, Any]
    #: The most entity types ``sync_remote_contenttypes`` accepts from one project.
    MAX_REMOTE_TYPES: int
    #: The most one operation on this service's subgraph may cost, priced as
    #: Apollo's demand control prices it (``federated_fk.graphql_cost``): each
    #: ``_entities`` representation 1 plus its selection's objects, each id
    #: ``federatedIds`` asks for 1.
    SUBGRAPH_MAX_COST: int
    #: The most ids a remote queryset's ``pks()`` returns (and so one pushdown
    #: carries); past it, ``TooManyRemoteIds``, never a silent cut.
    MAX_PUSHDOWN_IDS: int
    #: The change feed this service publishes (``ChangeSettings``).
    CHANGES: ChangeSettings


DEFAULTS: FederationSettings = {
    "PROJECT_NAME": DEFAULT_PROJECT,
    "SHARED_APPS": [],
    "SHARED_MODELS": [],
    "REMOTE_OBJECT_CLASS": "",
    "PROJECTS": {},
    "SUBGRAPH_TOKEN": "",
    "CACHE": "default",
    "SCHEMA_DIR": "schema",
    "SCALARS": {},
    "MAX_REMOTE_TYPES": 500,
    "SUBGRAPH_MAX_COST": 20_000,
    "MAX_PUSHDOWN_IDS": 10_000,
    "CHANGES": {},
}


@functools.cache
def federation_settings() -> FederationSettings:
    """Return the ``FEDERATION`` settings merged over the defaults.

    The result is cached (it is read for every object resolved) and dropped
    when a test changes the settings.
    """
    merged: dict[str, Any] = dict(DEFAULTS)
    shorthand = getattr(settings, "FEDERATION_PROJECT_NAME", None)
    if shorthand:
        merged["PROJECT_NAME"] = shorthand
    merged.update(getattr(settings, "FEDERATION", None) or {})
    merged["SUBGRAPH_TOKEN"] = Secret(merged["SUBGRAPH_TOKEN"] or "")
    return merged  # type: ignore[return-value]


@functools.cache
def _shared_labels() -> tuple[frozenset[str], frozenset[str]]:
    config = federation_settings()
    return frozenset(config["SHARED_APPS"]), frozenset(m.lower() for m in config["SHARED_MODELS"])


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("FEDERATION", "FEDERATION_PROJECT_NAME"):
        federation_settings.cache_clear()
        _shared_labels.cache_clear()


def project_name_is_set() -> bool:
    """Return True when the settings name this service's project."""
    federation = getattr(settings, "FEDERATION", None) or {}
    return bool(
        getattr(settings, "FEDERATION_PROJECT_NAME", None) or federation.get("PROJECT_NAME")
    )


def current_project() -> str:
    """Return the project name of this service."""
    return federation_settings()["PROJECT_NAME"]


def is_local_project(project: str) -> bool:
    """Return True if rows of ``project`` live in this service's databases."""
    return project in (current_project(), SHARED_PROJECT)


def project_for_label(app_label: str, model_name: str) -> str:
    """Return the project that owns the local model ``app_label.model_name``."""
    shared_apps, shared_models = _shared_labels()
    if app_label in shared_apps or f"{app_label}.{model_name}".lower() in shared_models:
        return SHARED_PROJECT
    return federation_settings()["PROJECT_NAME"]


def is_shared_model(app_label: str, model_name: str) -> bool:
    """Return True if this service lists ``app_label.model_name`` as shared.

    Only this service's ``SHARED_APPS`` and ``SHARED_MODELS`` make a model
    shared: what another service says of a model is never enough.
    """
    return project_for_label(app_label, model_name) == SHARED_PROJECT


def change_settings() -> ChangeSettings:
    """Return ``FEDERATION["CHANGES"]`` merged over its defaults."""
    return {**CHANGE_DEFAULTS, **(federation_settings()["CHANGES"] or {})}  # type: ignore[typeddict-item]


def published_change_models() -> list[str]:
    """Return the lower-cased labels of the models whose changes the outbox records."""
    return sorted({label.lower() for label in change_settings()["MODELS"]})


def remote_object_class() -> type | None:
    """Return the configured base class of remote stand-in classes, or None if unset."""
    path = federation_settings()["REMOTE_OBJECT_CLASS"]
    return import_string(path) if path else None


def project_settings(project: str) -> ProjectSettings:
    """Return the settings of the remote ``project``, merged over the defaults.

    :raises RemoteProjectNotConfigured: when the project has no ``URL``
    """
    configured = federation_settings()["PROJECTS"].get(project) or {}
    if not configured.get("URL"):
        raise RemoteProjectNotConfigured(project)
    merged = {**PROJECT_DEFAULTS, **configured}
    merged["TOKEN"] = Secret(merged["TOKEN"] or "")
    return merged  # type: ignore[return-value]


def public_url(url: str) -> str:
    """Return ``url`` without user info, query or fragment: safe to show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
