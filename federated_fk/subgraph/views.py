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
        token = conf.federation_settings()["SUBGRAPH_TOKEN"]
        if token and not _bearer_matches(request, token):
            error = {
                "message": "Authentication required: a valid bearer token.",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
            return JsonResponse({"errors": [error]}, status=401)
        return await super().dispatch(request, *args, **kwargs)


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    # Constant time, so that response times tell nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())
