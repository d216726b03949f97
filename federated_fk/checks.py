"""System checks of django-federated-fk.

Ids are grouped by what they check and never reused: ``E0xx`` a
FederatedForeignKey and content types, ``E1xx`` a FederatedRelation,
``E2xx``/``W2xx`` the ``FEDERATION`` settings, ``E4xx`` deferred keys and
remote keys (``federated_fk.fields.deferred``, ``remote_key``), ``E5xx`` the
admin inlines (``federated_fk.admin``).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig, apps
from django.contrib.contenttypes.fields import GenericRelation
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from federated_fk import conf


def _models(app_configs: Iterable[AppConfig] | None) -> Iterable[type]:
    if app_configs is None:
        return apps.get_models()
    return chain.from_iterable(app_config.get_models() for app_config in app_configs)


def check_federated_foreign_keys(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Run the checks of every FederatedForeignKey.

    ``Model._check_fields`` skips private fields, so they are walked here.
    Django's contenttypes app runs the same walk over every GenericForeignKey
    subclass, so this one is registered only without that app.
    """
    from federated_fk.fields import FederatedForeignKey

    errors: list[CheckMessage] = []
    for model in _models(app_configs):
        for obj in vars(model).values():
            if isinstance(obj, FederatedForeignKey):
                errors.extend(obj.check())
    return errors


def check_model_name_lengths(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check that every model name fits ``GenericContentType.model``."""
    return [
        Error(
            f"Model names must be at most 100 characters (got {len(model._meta.model_name)}).",
            obj=model,
            id="federated_fk.E005",
        )
        for model in _models(app_configs)
        if len(model._meta.model_name) > 100
    ]


def check_generic_relations_to_federated_keys(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Find Django GenericRelations that point at a FederatedForeignKey.

    Such a relation joins on Django's ContentType ids, which never match
    GenericContentType ids, so it would silently find nothing.
    """
    from federated_fk.fields import FederatedForeignKey, FederatedRelation

    errors: list[CheckMessage] = []
    for model in _models(app_configs):
        for field in model._meta.private_fields:
            if not isinstance(field, GenericRelation) or isinstance(field, FederatedRelation):
                continue
            target = field.remote_field.model
            if any(
                isinstance(f, FederatedForeignKey)
                and f.ct_field == field.content_type_field_name
                and f.fk_field == field.object_id_field_name
                for f in getattr(getattr(target, "_meta", None), "private_fields", ())
            ):
                errors.append(
                    Error(
                        f"'{model._meta.object_name}.{field.name}' is a GenericRelation "
                        f"to the FederatedForeignKey of '{target._meta.label}'.",
                        hint="Use federated_fk.fields.FederatedRelation instead.",
                        obj=field,
                        id="federated_fk.E102",
                    )
                )
    return errors


def check_settings(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check the ``FEDERATION`` settings."""
    from federated_fk.remote import RemoteObject

    errors: list[CheckMessage] = []
    config = conf.federation_settings()
    if not conf.project_name_is_set():
        errors.append(
            Warning(
                "This service does not name its project; "
                f"its content types are recorded under {conf.DEFAULT_PROJECT!r}.",
                hint="Set FEDERATION = {'PROJECT_NAME': '<service name>'} in settings.",
                id="federated_fk.W201",
            )
        )
    if config["PROJECT_NAME"] == conf.SHARED_PROJECT:
        errors.append(
            Error(
                f"FEDERATION['PROJECT_NAME'] must not be {conf.SHARED_PROJECT!r}.",
                hint=f"{conf.SHARED_PROJECT!r} names the tables synchronized into every service.",
                id="federated_fk.E201",
            )
        )
    for name, project in config["PROJECTS"].items():
        scheme = urlsplit(str((project or {}).get("URL", ""))).scheme
        if scheme not in ("http", "https"):
            # The scheme only: a URL may hold credentials.
            errors.append(
                Error(
                    f"FEDERATION['PROJECTS'][{name!r}]['URL'] must be an http or https URL "
                    f"(scheme {scheme!r}).",
                    id="federated_fk.E204",
                )
            )
        if conf.is_local_project(name):
            errors.append(
                Error(
                    f"FEDERATION['PROJECTS'] names {name!r}, which is a local project.",
                    hint="Remote projects are the other services; this one and 'shared' are local.",
                    id="federated_fk.E205",
                )
            )
    path = config["REMOTE_OBJECT_CLASS"]
    if not path:
        return errors
    try:
        base = import_string(path)
    except ImportError as exc:
        errors.append(
            Error(
                f"FEDERATION['REMOTE_OBJECT_CLASS'] {path!r} cannot be imported: {exc}",
                id="federated_fk.E202",
            )
        )
    else:
        if not (isinstance(base, type) and issubclass(base, RemoteObject)):
            errors.append(
                Error(
                    f"FEDERATION['REMOTE_OBJECT_CLASS'] {path!r} is not a "
                    "subclass of federated_fk.remote.RemoteObject.",
                    id="federated_fk.E203",
                )
            )
    return errors
