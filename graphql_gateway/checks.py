"""System checks of the GRAPHQL_GATEWAY settings.

Ids: ``E0xx`` and ``W0xx`` the settings and what they publish, ``W1xx`` a
deployment (``check --deploy``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, Warning

from federated_fk.exceptions import FederationError
from federated_fk.fields import FederatedForeignKey
from federated_fk.sdl import InvalidSchema, entities
from graphql_gateway.conf import GRAPHIQL_FILES, GRAPHIQL_INSTALL, gateway_settings
from graphql_gateway.generate import FederatedUnion, build_types
from graphql_gateway.targets import configured_label, stored_schemas

#: Field names that look like secrets (``password``, ``api_key``, ``auth_token``...).
SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)|secret|token|api_?key|private_?key|credential|salt|session_?key",
    re.IGNORECASE,
)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    unions = gateway_settings()["UNIONS"]
    if not unions:
        errors.append(
            Error(
                "GRAPHQL_GATEWAY['UNIONS'] is empty: the schema would have no field.",
                hint="Add {'model': 'app.Reference', 'field': 'content_object', "
                "'targets': ['app.model', ...], 'name': 'Item'}.",
                id="graphql_gateway.E003",
            )
        )
    for index, options in enumerate(unions):
        errors.extend(_check_union(index, options))
    return errors


def _check_union(index: int, options: dict[str, Any]) -> list[CheckMessage]:
    where = f"GRAPHQL_GATEWAY['UNIONS'][{index}]"
    label = options.get("model")
    try:
        model = apps.get_model(label) if label else None
    except (LookupError, ValueError):
        model = None
    if model is None:
        return [
            Error(
                f"{where}['model'] must name an installed model, got {label!r}.",
                hint="The model whose FederatedForeignKey points at the targets.",
                id="graphql_gateway.E001",
            )
        ]
    field = getattr(model, options.get("field", ""), None)
    if not isinstance(field, FederatedForeignKey):
        return [
            Error(
                f"{where}['field'] {options.get('field')!r} is not a "
                f"FederatedForeignKey of {model._meta.label}.",
                id="graphql_gateway.E002",
            )
        ]
    if not options.get("targets"):
        return [
            Error(
                f"{where}['targets'] is empty: the list would always be empty.",
                hint="Name the target models, local or remote, as 'app_label.model'.",
                id="graphql_gateway.E004",
            )
        ]
    related_name = options.get("related_name")
    if related_name is not None and not (
        isinstance(related_name, str) and related_name.isidentifier() and related_name.isascii()
    ):
        return [
            Error(
                f"{where}['related_name'] must be a Python identifier, got {related_name!r}.",
                hint="The field each member gets, listing the rows pointing at it.",
                id="graphql_gateway.E005",
            )
        ]
    return []


def check_published(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Check what the gateway publishes: every relation's target is there, and no secret.

    Skipped while the union settings themselves are wrong (``check_settings``).
    """
    if check_settings():
        return []
    try:
        unions = [FederatedUnion(**options) for options in gateway_settings()["UNIONS"]]
        registry, _ = build_types(unions)
    except (LookupError, ValueError, FederationError) as exc:
        return [
            Error(
                f"The gateway schema cannot be built: {exc}",
                hint="Run sync_remote_contenttypes, or correct GRAPHQL_GATEWAY['UNIONS'].",
                id="graphql_gateway.E007",
            )
        ]
    messages: list[CheckMessage] = _refused_schemas()
    messages += [
        Error(
            f"{type_name}.{field} relates to {label[1]}.{label[2]}, which is not installed "
            "here: the gateway leaves the field out.",
            hint=f"Install the app {label[1]!r} (and list it in FEDERATION['SHARED_APPS'] if "
            "the model is shared), or stop publishing the relation.",
            id="graphql_gateway.E006",
        )
        for type_name, field, label in registry.missing
    ]
    for label in registry.types:
        target = registry.target(label)
        names = [name for name, _ in target.fields] + [name for name, *_ in target.relations]
        messages.extend(
            Warning(
                f"The gateway publishes {target.name}.{name}, whose name looks like a secret.",
                hint=f"If it is one, add {name!r} to GRAPHQL_GATEWAY['EXCLUDE']"
                f"[{configured_label(target)!r}].",
                obj=configured_label(target),
                id="graphql_gateway.W001",
            )
            for name in names
            if SECRET_NAME.search(name)
        )
    return messages


def _refused_schemas() -> list[CheckMessage]:
    """An error for each stored SDL the rules refuse now: the gateway leaves its types out."""
    messages: list[CheckMessage] = []
    for project, sdl in stored_schemas().items():
        try:
            entities(sdl, project)
        except InvalidSchema as exc:
            messages.append(
                Error(
                    f"{exc} The gateway leaves out every type of {project!r}.",
                    hint=f"Run sync_remote_contenttypes {project} once the remote is fixed.",
                    id="graphql_gateway.E007",
                )
            )
    return messages


def check_introspection(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when the gateway answers introspection in a deployment (``check --deploy``)."""
    if not gateway_settings()["INTROSPECTION"]:
        return []
    return [
        Warning(
            "The gateway answers introspection queries: anyone can read its whole schema.",
            hint="Set GRAPHQL_GATEWAY['INTROSPECTION'] = False in production.",
            id="graphql_gateway.W101",
        )
    ]


def check_graphiql(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when GraphiQL's files are missing: /graphql/ in a browser would stay blank."""
    folder = gateway_settings()["GRAPHIQL_ASSETS"]
    missing = [
        relative
        for relative, _ in GRAPHIQL_FILES.values()
        if not folder or not (Path(folder) / relative).is_file()
    ]
    if not missing:
        return []
    where = f"in {folder}" if folder else "(GRAPHQL_GATEWAY['GRAPHIQL_ASSETS'] is not set)"
    return [
        Warning(
            f"GraphiQL's files are not installed {where}: the GraphiQL page of "
            "/graphql/ will not load in a browser (queries still work).",
            hint=f"{GRAPHIQL_INSTALL} Or silence this check where nobody opens GraphiQL.",
            id="graphql_gateway.W002",
        )
    ]
