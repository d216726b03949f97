"""Seeing remote requests: signals for metrics, trace propagation, the records.

- ``remote_request_started`` / ``remote_request_finished``: Django signals sent
  for every remote request with ``remote_request``, a ``RemoteRequest`` (project,
  operation, entity types, how many objects, bytes, duration, retries, breaker
  state, outcome). Receivers run on the client's event-loop thread: keep them
  quick and non-blocking (add to a metric; do not query the database). A
  receiver that raises is logged and does not fail the fetch.
- ``remote_cache_hit``: objects a fetch took from the cache, ``cache_hit``, a ``CacheHit``.
- ``TraceparentMiddleware``: sends the incoming request's W3C ``traceparent``
  header with the remote requests made while serving it, so that traces
  cross the service boundary; ``traceparent(value)`` does the same for code
  outside a request (a task queue worker).
- Logs: one line per remote request under ``federated_fk.remote``, at DEBUG
  (WARNING when it failed), with the record as ``extra={"remote_request": ...}``.
- ``operation_cost``: sent for every GraphQL operation the gateway or a
  subgraph priced (``federated_fk.graphql_cost``), with ``cost``, an
  ``OperationCost``: the estimate, the actual cost of the response, the
  limit and, if refused, why. Also logged at DEBUG under ``federated_fk.cost``.

Tests: ``federated_fk.testing``; the browser: ``federated_fk.debug_toolbar``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from federated_fk.graphql_cost import OperationCost, operation_cost
from federated_fk.remote.events import (
    CacheHit,
    RemoteRequest,
    remote_cache_hit,
    remote_request_finished,
    remote_request_started,
    traceparent,
)

__all__ = [
    "CacheHit",
    "OperationCost",
    "RemoteRequest",
    "TraceparentMiddleware",
    "operation_cost",
    "remote_cache_hit",
    "remote_request_finished",
    "remote_request_started",
    "traceparent",
]


class TraceparentMiddleware:
    """Propagate the incoming ``traceparent`` header to the remote requests of a view.

    The header is kept in a context variable for the request (sync or async)
    and read when a fetch is submitted; a header that is not a valid W3C
    trace context is dropped, never forwarded.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]
    ) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        with traceparent(request.headers.get("traceparent")):
            return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        with traceparent(request.headers.get("traceparent")):
            return await self.get_response(request)  # type: ignore[misc]
