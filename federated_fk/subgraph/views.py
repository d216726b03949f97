"""The view that serves a subgraph, guarded by the subgraph token."""

from __future__ import annotations

import hmac
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse

from federated_fk import conf
from federated_fk.graphql_http import GraphQLView


class SubgraphView(GraphQLView):
    """Serves a subgraph; with ``FEDERATION["SUBGRAPH_TOKEN"]`` set, only to its holders."""

    @property
    def max_json_containers(self) -> int:  # type: ignore[override]
        """As the base view's, with room for every representation the schema takes."""
        most = getattr(self.schema, "max_representations", 0)
        return max(GraphQLView.max_json_containers, most + 1000)

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not authorized(request.headers.get("Authorization", "")):
            return unauthenticated()
        return await super().dispatch(request, *args, **kwargs)


def authorized(header: str) -> bool:
    """Whether an ``Authorization`` header may call the subgraph (any, without a token set)."""
    token = conf.federation_settings()["SUBGRAPH_TOKEN"]
    if not token:
        return True
    scheme, _, given = header.partition(" ")
    # Constant time, so that response times tell nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def unauthenticated() -> JsonResponse:
    """The subgraph's answer to a caller without the token."""
    error = {
        "message": "Authentication required: a valid bearer token.",
        "extensions": {"code": "UNAUTHENTICATED"},
    }
    return JsonResponse({"errors": [error]}, status=401)
