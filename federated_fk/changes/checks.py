"""System checks of the change feed's settings (``FEDERATION["CHANGES"]``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.core.checks import CheckMessage, Error
from django.db import connections, router

from federated_fk import conf


def check_change_settings(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check ``FEDERATION["CHANGES"]``: known models, a database that runs triggers, limits."""
    settings = conf.change_settings()
    errors: list[CheckMessage] = []
    for label in settings["MODELS"]:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            errors.append(
                Error(
                    f"FEDERATION['CHANGES']['MODELS'] names {label!r}, which is not an "
                    "installed model.",
                    hint="Use 'app_label.ModelName' labels of installed models.",
                    id="federated_fk.E701",
                )
            )
            continue
        vendor = connections[router.db_for_write(model)].vendor
        if vendor not in ("postgresql", "sqlite"):
            errors.append(
                Error(
                    f"The outbox cannot record {label!r}: its database is {vendor}; the "
                    "change feed's triggers are written for PostgreSQL and SQLite.",
                    hint="Leave the model out of FEDERATION['CHANGES']['MODELS'].",
                    id="federated_fk.E702",
                )
            )
    for key in ("RETENTION", "MAX_PAGE_SIZE"):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(
                Error(
                    f"FEDERATION['CHANGES'][{key!r}] must be a whole number of at least 1.",
                    id="federated_fk.E703",
                )
            )
    return errors
