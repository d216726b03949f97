"""System checks of the GRAPHQL_GATEWAY settings.

Ids: ``E0xx`` the settings, ``W1xx`` a deployment (``check --deploy``).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, Warning

from federated_fk.fields import FederatedForeignKey
from graphql_gateway.conf import gateway_settings


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    config = gateway_settings()
    label = config.get("REFERENCE_MODEL")
    try:
        model = apps.get_model(label) if label else None
    except (LookupError, ValueError):
        model = None
    if model is None:
        return [
            Error(
                f"GRAPHQL_GATEWAY['REFERENCE_MODEL'] must name an installed model, got {label!r}.",
                hint="The model whose FederatedForeignKey lists the books, e.g. 'books.Reference'.",
                id="graphql_gateway.E001",
            )
        ]
    field = getattr(model, config["REFERENCE_FIELD"], None)
    if not isinstance(field, FederatedForeignKey):
        return [
            Error(
                f"GRAPHQL_GATEWAY['REFERENCE_FIELD'] {config['REFERENCE_FIELD']!r} is not a "
                f"FederatedForeignKey of {model._meta.label}.",
                id="graphql_gateway.E002",
            )
        ]
    if not config["BOOK_MODELS"]:
        return [
            Error(
                "GRAPHQL_GATEWAY['BOOK_MODELS'] is empty: the list would always be empty.",
                hint="Name the book models, local or remote, as 'app_label.model'.",
                id="graphql_gateway.E003",
            )
        ]
    return []


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
