"""The gateway schema: local and remote books as one union type."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Annotated, Any

import strawberry
from asgiref.sync import sync_to_async
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from federated_fk.exceptions import (
    FederationError,
    RemoteAuthenticationError,
    RemoteCircuitOpen,
    RemoteConnectionError,
    RemoteHTTPError,
    RemoteProtocolError,
    RemoteQueryError,
    RemoteTimeout,
)
from federated_fk.graphql_cost import CostLimiter, CostLimits
from graphql_gateway.books import Entry, Page, PageError, book_page
from graphql_gateway.conf import gateway_settings

logger = logging.getLogger(__name__)


@strawberry.interface(description="What every book in the list has.")
class BookItem:
    id: strawberry.ID
    title: str
    author: str
    price: Decimal
    project: str = strawberry.field(description="The shop that holds the book.")


@strawberry.type(description="A book of this shop.")
class LocalBook(BookItem):
    pass


@strawberry.type(description="A book of another shop.")
class RemoteBook(BookItem):
    pass


@strawberry.type(description="An audiobook of another shop.")
class RemoteAudiobook(BookItem):
    narrator: str
    duration_minutes: int


BookResult = Annotated[LocalBook | RemoteBook | RemoteAudiobook, strawberry.union("BookResult")]


@strawberry.type(description="A page of the unified list.")
class BookPage:
    items: list[BookResult | None] = strawberry.field(
        description="The books; null where a shop could not answer (see errors) "
        "or the book is gone."
    )
    total_count: int
    offset: int
    limit: int
    has_next_page: bool


def _item(entry: Entry | None) -> LocalBook | RemoteBook | RemoteAudiobook | None:
    if entry is None or entry.kind == "unavailable":
        return None
    common = {
        "id": strawberry.ID(entry.id),
        "title": entry.title,
        "author": entry.author,
        "price": entry.price,
        "project": entry.project,
    }
    if entry.kind == "local":
        return LocalBook(**common)
    if entry.kind == "audiobook":
        return RemoteAudiobook(
            **common, narrator=entry.narrator, duration_minutes=entry.duration_minutes
        )
    return RemoteBook(**common)


@strawberry.type
class Query:
    @strawberry.field(description="Local and remote books, by when they were referenced.")
    async def books(
        self, info: strawberry.Info, offset: int = 0, limit: int | None = None
    ) -> BookPage:
        if limit is None:
            limit = gateway_settings()["DEFAULT_PAGE_SIZE"]
        page = await info.context.page(offset, limit)
        for project, error in page.unavailable.items():
            info.context.remote_errors.append(public_remote_error(project, error, ["books"]))
        return BookPage(
            items=[_item(entry) for entry in page.entries],
            total_count=page.total,
            offset=page.offset,
            limit=page.limit,
            has_next_page=page.has_next,
        )


#: The public reason of a remote failure, by exception class (most specific first).
REMOTE_REASONS: tuple[tuple[type[FederationError], str], ...] = (
    (RemoteTimeout, "TIMEOUT"),
    (RemoteConnectionError, "CONNECTION_FAILED"),
    (RemoteAuthenticationError, "AUTHENTICATION_FAILED"),
    (RemoteHTTPError, "HTTP_ERROR"),
    (RemoteCircuitOpen, "CIRCUIT_OPEN"),
    (RemoteQueryError, "QUERY_ERROR"),
    (RemoteProtocolError, "PROTOCOL_ERROR"),
)


def public_remote_error(project: str, error: FederationError, path: list[str]) -> GraphQLError:
    """Return the error the public sees for an unavailable project; log what happened.

    A remote's own text (a database error, a stack frame) can say more than
    its owner wants said: the public error carries the project, a code and
    a reason code; the full text goes to the log.
    """
    reason = next((code for cls, code in REMOTE_REASONS if isinstance(error, cls)), "UNAVAILABLE")
    logger.warning("Project %r is unavailable: %s", project, error)
    return GraphQLError(
        f"Project {project!r} is unavailable.",
        path=path,
        extensions={"code": "REMOTE_UNAVAILABLE", "project": project, "reason": reason},
    )


@dataclass
class GatewayContext:
    request: object
    response: object
    #: Errors about remote projects, added to the result next to its data.
    remote_errors: list[GraphQLError] = field(default_factory=list)
    #: The pages read in this request, by (offset, limit).
    pages: dict[tuple[int, int], asyncio.Future[Page]] = field(default_factory=dict)

    async def page(self, offset: int, limit: int) -> Page:
        """Return ``book_page(offset, limit)``, read once per request however often asked."""
        key = (offset, limit)
        if key not in self.pages:
            # A task, so that aliases resolved concurrently share one read.
            self.pages[key] = asyncio.ensure_future(sync_to_async(book_page)(offset, limit))
        return await asyncio.shield(self.pages[key])


class RemoteErrors(SchemaExtension):
    """Report unreachable projects as GraphQL errors beside the partial data."""

    def on_execute(self):  # type: ignore[override]
        yield
        result = self.execution_context.result
        context = self.execution_context.context
        extra = getattr(context, "remote_errors", None)
        if result is not None and extra:
            result.errors = [*(result.errors or []), *extra]


def cost_limits() -> CostLimits:
    """The gateway's cost limits, from ``GRAPHQL_GATEWAY``."""
    config = gateway_settings()
    largest = config["MAX_PAGE_SIZE"]
    max_cost = config["MAX_COST"]
    return CostLimits(
        max_cost=2 * largest + 100 if max_cost is None else max_cost,
        list_fields={"books": ("limit", config["DEFAULT_PAGE_SIZE"], largest)},
    )


def _is_internal(error: GraphQLError) -> bool:
    """Whether ``error`` comes from an unexpected exception, whose text is for the log only."""
    original = error.original_error
    return original is not None and not isinstance(original, PageError | GraphQLError)


def _extensions() -> list[Any]:
    """The schema's extensions: remote errors, and the limits set in settings."""
    config = gateway_settings()
    # Factories, so that each request gets fresh extension instances.
    extensions: list[Any] = [
        partial(CostLimiter, limits=cost_limits),
        # strawberry logs the original error; the public sees a generic message.
        partial(MaskErrors, should_mask_error=_is_internal, error_message="Internal error."),
        RemoteErrors,
        partial(QueryDepthLimiter, max_depth=config["MAX_DEPTH"]),
        partial(MaxAliasesLimiter, max_alias_count=config["MAX_ALIASES"]),
        partial(MaxTokensLimiter, max_token_count=config["MAX_TOKENS"]),
    ]
    if not config["INTROSPECTION"]:
        extensions.append(DisableIntrospection)
    return extensions


schema = strawberry.Schema(query=Query, extensions=_extensions())
