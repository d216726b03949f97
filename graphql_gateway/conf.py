"""The ``GRAPHQL_GATEWAY`` settings dict, read through one accessor."""

from __future__ import annotations

from typing import Any, TypedDict

from django.conf import settings

__all__ = ["gateway_settings"]


class GatewaySettings(TypedDict, total=False):
    #: The union fields of the schema: keyword arguments of
    #: ``graphql_gateway.generate.FederatedUnion`` (``model``, ``field``,
    #: ``targets``, ``name``, and optionally ``field_name``, ``ordering``,
    #: ``description``, ``related_name``, ``filters``, ``target_ordering``),
    #: one dict per root field.
    UNIONS: list[dict[str, Any]]
    #: Page size when a query gives none, and the largest one allowed.
    DEFAULT_PAGE_SIZE: int
    MAX_PAGE_SIZE: int
    #: The node_modules folder holding GraphiQL's files (see graphiql/package.json).
    GRAPHIQL_ASSETS: str
    #: The query GraphiQL opens with ("" for GraphiQL's own).
    GRAPHIQL_QUERY: str
    #: Also serve the fields as an Apollo Federation v2 subgraph at ``subgraph/``.
    SERVE_SUBGRAPH: bool
    #: Limits on a query: nesting depth, aliases, tokens (read at start-up).
    MAX_DEPTH: int
    MAX_ALIASES: int
    MAX_TOKENS: int
    #: Whether the schema answers introspection (turn it off in production).
    INTROSPECTION: bool
    #: The most an operation may cost, priced as Apollo's demand control
    #: prices it (``federated_fk.graphql_cost``): each object 1, each list its
    #: ``limit`` times the cost of an item; None for ``50 * MAX_PAGE_SIZE``.
    #: Checked before validation, for each request.
    MAX_COST: int | None
    #: The fields published of a model no union lists, reached only through a
    #: relation (it publishes its ``id`` and these), by ``"app_label.model"``
    #: (``"project:app_label.model"`` for a remote type): ``{"authors.author": ["name"]}``.
    FIELDS: dict[str, list[str]]
    #: Fields never published, by the same labels: ``{"books.book": ["cost_price"]}``.
    #: ``password`` is never published, whether listed or not.
    EXCLUDE: dict[str, list[str]]
    #: Identical queries that arrive while the first is executing wait for
    #: its result instead of executing again: same text, operation name,
    #: variables and extensions, and the same caller (Authorization and
    #: Cookie headers, user, host, scheme, language). Nothing is kept after
    #: the execution ends; mutations are never shared. One table per process
    #: and event loop.
    SHARE_OPERATIONS: bool


#: GraphiQL's files, by the name its page asks for: (path inside GRAPHIQL_ASSETS,
#: content type). The package.json beside this module installs them (npm install).
GRAPHIQL_FILES = {
    "react.js": ("react/umd/react.production.min.js", "text/javascript"),
    "react-dom.js": ("react-dom/umd/react-dom.production.min.js", "text/javascript"),
    "graphiql.js": ("graphiql/graphiql.min.js", "text/javascript"),
    "graphiql.css": ("graphiql/graphiql.min.css", "text/css"),
}
#: How to install them, said where they are missing.
GRAPHIQL_INSTALL = (
    "Run npm install beside a copy of graphql_gateway/graphiql/package.json and set "
    "GRAPHIQL_ASSETS to the node_modules folder it makes."
)


DEFAULTS: GatewaySettings = {
    "UNIONS": [],
    "DEFAULT_PAGE_SIZE": 20,
    "MAX_PAGE_SIZE": 100,
    "GRAPHIQL_ASSETS": "",
    "GRAPHIQL_QUERY": "",
    "SERVE_SUBGRAPH": False,
    "MAX_DEPTH": 8,
    "MAX_ALIASES": 10,
    "MAX_TOKENS": 2000,
    "INTROSPECTION": True,
    "MAX_COST": None,
    "FIELDS": {},
    "EXCLUDE": {},
    "SHARE_OPERATIONS": True,
}


def gateway_settings() -> GatewaySettings:
    """Return the ``GRAPHQL_GATEWAY`` settings merged over the defaults (``DEFAULTS``)."""
    merged: dict[str, Any] = {**DEFAULTS, **getattr(settings, "GRAPHQL_GATEWAY", {})}
    return merged  # type: ignore[return-value]
