"""System checks of django-federated-fk.

Ids are grouped by what they check and never reused: ``E0xx`` a
FederatedForeignKey and content types, ``E1xx`` a FederatedRelation,
``E2xx``/``W2xx`` the ``FEDERATION`` settings, ``W3xx`` a deployment
(``check --deploy``), ``E4xx``/``W4xx`` deferred keys and remote keys
(``federated_fk.fields.deferred_key``, ``remote_key``), ``E5xx`` the admin
inlines (``federated_fk.admin``).
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

from federated_fk import conf, naming
from federated_fk.fields import FederatedForeignKey, FederatedRelation
from federated_fk.remote import RemoteObject


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
    errors.extend(_check_type_name_prefixes([config["PROJECT_NAME"], *config["PROJECTS"]]))
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


def _check_type_name_prefixes(projects: list[str]) -> list[CheckMessage]:
    """Projects whose types could not be told apart, or get no GraphQL name (``naming``)."""
    errors: list[CheckMessage] = []
    for prefix, first, second in naming.prefix_clashes(projects):
        errors.append(
            Error(
                f"Projects {first!r} and {second!r} both name their types {prefix}<Model>: "
                "two models of theirs could get one GraphQL type name.",
                hint="Rename one: project names must differ by more than '_', '-' or letter case.",
                id="federated_fk.E206",
            )
        )
    for project in projects:
        if not naming.is_valid_prefix(project):
            errors.append(
                Error(
                    f"Project {project!r} gives its types no valid GraphQL name "
                    f"({naming.project_prefix(project)}<Model>).",
                    hint="Start project names with a letter; use letters, digits, '_' and '-'.",
                    id="federated_fk.E207",
                )
            )
    return errors


def check_subgraph_token(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn when this service serves federation entities to anyone (``check --deploy``).

    The signal is the URLconf itself: a mounted view whose schema has
    ``_entities`` hands out every visible row of every entity type, so it
    needs ``FEDERATION["SUBGRAPH_TOKEN"]``.
    """
    if conf.federation_settings()["SUBGRAPH_TOKEN"]:
        return []
    routes = entity_routes()
    if not routes:
        return []
    return [
        Warning(
            f"The subgraph at {', '.join(routes)} serves entities and "
            "FEDERATION['SUBGRAPH_TOKEN'] is empty: anyone who can reach it can read them.",
            hint="Set FEDERATION['SUBGRAPH_TOKEN'] (from the environment) in this service, "
            "and the same TOKEN in FEDERATION['PROJECTS'] of the services that read it.",
            id="federated_fk.W301",
        )
    ]


def entity_routes() -> list[str]:
    """Return the URL routes of the URLconf whose GraphQL schema has ``_entities``."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", get_resolver())]
    while stack:
        prefix, resolver = stack.pop()
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                stack.append((route, pattern))
            elif isinstance(pattern, URLPattern) and _serves_entities(pattern.callback):
                found.append("/" + route.lstrip("^").rstrip("$"))
    return sorted(found)


def _serves_entities(view: Any) -> bool:
    schema = (getattr(view, "view_initkwargs", None) or {}).get("schema")
    graphql_schema = getattr(schema, "_schema", None)
    query = getattr(graphql_schema, "query_type", None)
    return query is not None and "_entities" in query.fields
