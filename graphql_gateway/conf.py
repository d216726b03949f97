"""The ``GRAPHQL_GATEWAY`` settings dict, read through one accessor."""

from __future__ import annotations

from typing import Any, TypedDict

from django.conf import settings


class GatewaySettings(TypedDict, total=False):
    #: ``"app_label.Model"`` of the model whose FederatedForeignKey lists the books.
    REFERENCE_MODEL: str
    #: The name of that FederatedForeignKey.
    REFERENCE_FIELD: str
    #: ``"app_label.model"`` of the book types, local or remote, the list shows.
    BOOK_MODELS: list[str]
    #: Page size when a query gives none, and the largest one allowed.
    DEFAULT_PAGE_SIZE: int
    MAX_PAGE_SIZE: int
    #: The node_modules folder holding GraphiQL's files (see graphiql/package.json).
    GRAPHIQL_ASSETS: str
    #: Limits on a query: nesting depth, aliases, tokens (read at start-up).
    MAX_DEPTH: int
    MAX_ALIASES: int
    MAX_TOKENS: int
    #: Whether the schema answers introspection (turn it off in production).
    INTROSPECTION: bool
    #: The most an operation may cost: field selections + books asked for
    #: (each ``books`` selection counts its page size); None for
    #: ``2 * MAX_PAGE_SIZE + 100``. Checked before validation, for each request.
    MAX_COST: int | None


DEFAULTS: GatewaySettings = {
    "REFERENCE_FIELD": "content_object",
    "BOOK_MODELS": [],
    "DEFAULT_PAGE_SIZE": 20,
    "MAX_PAGE_SIZE": 100,
    "GRAPHIQL_ASSETS": "",
    "MAX_DEPTH": 8,
    "MAX_ALIASES": 10,
    "MAX_TOKENS": 2000,
    "INTROSPECTION": True,
    "MAX_COST": None,
}


def gateway_settings() -> GatewaySettings:
    merged: dict[str, Any] = {**DEFAULTS, **getattr(settings, "GRAPHQL_GATEWAY", {})}
    return merged  # type: ignore[return-value]
