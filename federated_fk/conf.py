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

from typing import Any, TypedDict

from django.conf import settings
from django.utils.module_loading import import_string

#: The project name of tables synchronized into every service; always local.
SHARED_PROJECT = "shared"

#: The project name used when a service does not name itself.
DEFAULT_PROJECT = "default"


class FederationSettings(TypedDict, total=False):
    """The keys of the ``FEDERATION`` settings dict."""

    #: The name of this service; content types of this project are local.
    PROJECT_NAME: str
    #: App labels whose models belong to the ``"shared"`` project.
    SHARED_APPS: list[str]
    #: ``"app_label.ModelName"`` labels of single models in the ``"shared"`` project
    #: (compared case-insensitively, like ``Model._meta.label_lower``).
    SHARED_MODELS: list[str]
    #: Dotted path of the base class of remote stand-in classes.
    REMOTE_OBJECT_CLASS: str


DEFAULTS: FederationSettings = {
    "PROJECT_NAME": DEFAULT_PROJECT,
    "SHARED_APPS": [],
    "SHARED_MODELS": [],
    "REMOTE_OBJECT_CLASS": "federated_fk.remote.RemoteObject",
}


def federation_settings() -> FederationSettings:
    """Return the ``FEDERATION`` settings merged over the defaults."""
    merged: dict[str, Any] = dict(DEFAULTS)
    shorthand = getattr(settings, "FEDERATION_PROJECT_NAME", None)
    if shorthand:
        merged["PROJECT_NAME"] = shorthand
    merged.update(getattr(settings, "FEDERATION", None) or {})
    return merged  # type: ignore[return-value]


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
    config = federation_settings()
    if app_label in config["SHARED_APPS"]:
        return SHARED_PROJECT
    shared_models = {label.lower() for label in config["SHARED_MODELS"]}
    if f"{app_label}.{model_name}".lower() in shared_models:
        return SHARED_PROJECT
    return config["PROJECT_NAME"]


def remote_object_class() -> type:
    """Return the configured base class of remote stand-in classes."""
    return import_string(federation_settings()["REMOTE_OBJECT_CLASS"])
