"""The gateway schema: a union field per ``GRAPHQL_GATEWAY["UNIONS"]`` entry (see ``generate``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig

from federated_fk.graphql_cost import CostLimiter, CostLimits, ListSize
from federated_fk.graphql_http import OneErrorRecord
from federated_fk.ids import InvalidId
from federated_fk.scalars import scalar_map
from federated_fk.subgraph.caches import cache_extensions
from federated_fk.subgraph.entities import entity_classes
from graphql_gateway.conf import gateway_settings
from graphql_gateway.fast_items import GatewayExecutionContext
from graphql_gateway.generate import FederatedUnion, build_query
from graphql_gateway.loader import ObjectLoader
from graphql_gateway.paging import PageError

__all__ = ["FederatedUnion", "gateway_schema", "schema"]


def unions() -> list[FederatedUnion]:
    """The union fields ``GRAPHQL_GATEWAY["UNIONS"]`` asks for."""
    return [FederatedUnion(**options) for options in gateway_settings()["UNIONS"]]


@dataclass
class GatewayContext:
    request: object
    response: object
    #: Errors about remote projects, added to the result next to its data.
    remote_errors: list[GraphQLError] = field(default_factory=list)
    #: Loads every target of the request, a level at a time.
    loader: ObjectLoader = field(default_factory=ObjectLoader)
    #: (project, path) of the errors already added.
    reported: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)


class RemoteErrors(SchemaExtension):
    """Report unreachable projects as GraphQL errors beside the partial data."""

    def on_execute(self):  # type: ignore[override]
        yield
        result = self.execution_context.result
        context = self.execution_context.context
        extra = getattr(context, "remote_errors", None)
        if result is not None and extra:
            result.errors = [*(result.errors or []), *extra]


#: The most field selections of one operation, fragments expanded: validation's
#: work grows with their square (300 take about 0.1 s of CPU, 600 about 0.6 s).
MAX_SELECTIONS = 300

#: ``MAX_COST`` when the settings give none: this many times ``MAX_PAGE_SIZE``.
COST_PER_PAGE_ITEM = 50


def cost_limits(list_fields: Iterable[str] | None = None) -> CostLimits:
    """The gateway's cost limits, from ``GRAPHQL_GATEWAY`` as it is now.

    Every paged field is sized by its ``limit`` (``DEFAULT_PAGE_SIZE`` when
    absent, at most ``MAX_PAGE_SIZE``): a union field's page sizes its
    ``items`` and costs at least its size (its targets load whether or not
    ``items`` is selected); a relation list sizes itself. Any other list is
    assumed ``MAX_PAGE_SIZE`` long.

    :param list_fields: the paged fields (default: the root fields of
        ``GRAPHQL_GATEWAY["UNIONS"]``)
    """
    config = gateway_settings()
    largest = config["MAX_PAGE_SIZE"]
    max_cost = config["MAX_COST"]
    names = [union.field_name for union in unions()] if list_fields is None else list_fields
    size = ListSize(
        "limit", config["DEFAULT_PAGE_SIZE"], largest, sized_fields=("items",), loads_items=True
    )
    return CostLimits(
        max_cost=COST_PER_PAGE_ITEM * largest if max_cost is None else max_cost,
        list_sizes=dict.fromkeys(names, size),
        list_size=largest,
        max_selections=MAX_SELECTIONS,
    )


def _is_internal(error: GraphQLError) -> bool:
    """Whether ``error`` comes from an unexpected exception, whose text is for the log only."""
    original = error.original_error
    # InvalidId: an id no row can have, given or stored; its message names the id and model.
    return original is not None and not isinstance(original, PageError | GraphQLError | InvalidId)


def _extensions(list_fields: list[str]) -> list[Any]:
    """The schema's extensions: remote errors, the limits set in settings, caches."""
    config = gateway_settings()
    # The limits' validation rules are made once, so that a validation is
    # cached for the same rules (each limiter instance makes rules of its own).
    rules = [
        *QueryDepthLimiter(max_depth=config["MAX_DEPTH"]).validation_rules,
        *MaxAliasesLimiter(max_alias_count=config["MAX_ALIASES"]).validation_rules,
    ]
    if not config["INTROSPECTION"]:
        rules.extend(DisableIntrospection().validation_rules)
    # Factories, so that each request gets fresh extension instances.
    return [
        partial(CostLimiter, limits=partial(cost_limits, list_fields)),
        # strawberry logs the original error; the public sees a generic message.
        partial(MaskErrors, should_mask_error=_is_internal, error_message="Internal error."),
        RemoteErrors,
        partial(AddValidationRules, rules),
        partial(MaxTokensLimiter, max_token_count=config["MAX_TOKENS"]),
        *cache_extensions(),
    ]


class GatewaySchema(OneErrorRecord, strawberry.Schema):
    """The gateway's schema: the errors of one request are logged as one record."""


class GatewaySubgraphSchema(OneErrorRecord, strawberry.federation.Schema):
    """The gateway's subgraph schema: the errors of one request are logged as one record.

    Its ``_entities`` checks what it is given before strawberry resolves it,
    as ``federated_fk.subgraph.SubgraphSchema`` does: representations that are
    not objects naming an entity type resolvable here refuse the call, and one
    without an ``id`` fails alone.
    """

    max_representations = 1000

    # strawberry builds ``_entities`` from this signature: keep its types.
    def entities_resolver(
        self, info: strawberry.Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        try:
            entity_classes(self, representations, self.max_representations)
        except ValueError as exc:
            raise GraphQLError(str(exc)) from None  # the caller's mistake: said, not masked
        results: list[Any] = []
        for representation in representations:
            if "id" in representation:
                # Only the key: strawberry passes every other member to resolve_reference as
                # an argument (and takes the __typename out of what it is given).
                key = {"__typename": representation["__typename"], "id": representation["id"]}
                results += super().entities_resolver(info, [key])
            else:
                type_name = representation["__typename"]
                results.append(GraphQLError(f"A representation of {type_name} needs an id."))
        return results


def _config() -> StrawberryConfig:
    """The schema's config: the registered scalars strawberry does not know."""
    return StrawberryConfig(scalar_map=scalar_map())


def gateway_schema(union_fields: list[FederatedUnion] | None = None) -> strawberry.Schema:
    """Return the gateway schema: one root field per union (default: from settings)."""
    query, types, list_fields = build_query(unions() if union_fields is None else union_fields)
    return GatewaySchema(
        query=query,
        types=types,
        extensions=_extensions(list_fields),
        config=_config(),
        execution_context_class=GatewayExecutionContext,
    )


def subgraph_schema(union_fields: list[FederatedUnion] | None = None) -> strawberry.Schema:
    """Return the same fields as an Apollo Federation v2 subgraph (``SERVE_SUBGRAPH``).

    Local types are entities keyed by ``id``; remote targets are key-only
    stubs, ``@key(fields: "id", resolvable: false)``, that Apollo Gateway or
    Router resolves with the target's own subgraph.
    """
    query, types, list_fields = build_query(
        unions() if union_fields is None else union_fields, federation=True
    )
    return GatewaySubgraphSchema(
        query=query,
        types=types,
        extensions=_extensions(list_fields),
        config=_config(),
        execution_context_class=GatewayExecutionContext,
    )


schema = gateway_schema()
_subgraph: list[strawberry.Schema] = []


def __getattr__(name: str) -> Any:
    # ``subgraph``: the subgraph schema, built on first use (most services never serve it).
    if name != "subgraph":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not _subgraph:
        _subgraph.append(subgraph_schema())
    return _subgraph[0]
