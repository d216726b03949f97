"""The gateway's views: GraphQL (with GraphiQL) and GraphiQL's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from federated_fk.graphql_http import GraphQLView
from graphql_gateway.conf import GRAPHIQL_FILES, GRAPHIQL_INSTALL, gateway_settings
from graphql_gateway.loader import ObjectLoader
from graphql_gateway.schema import GatewayContext
from graphql_gateway.sharing import in_flight, is_query, operation_key


class GatewayView(GraphQLView):
    """Serves the gateway schema; GraphiQL's page loads only files this app serves."""

    #: Whether remote targets are fetched (False for the subgraph: keys only).
    fetch_remote = True

    async def get_context(self, request: HttpRequest, response: Any) -> GatewayContext:
        loader = ObjectLoader(fetch_remote=self.fetch_remote)
        return GatewayContext(request=request, response=response, loader=loader)

    async def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        context = {"default_query": gateway_settings()["GRAPHIQL_QUERY"]}
        return HttpResponse(render_to_string("graphql/graphiql.html", context, request=request))

    async def execute_single(
        self,
        request: HttpRequest,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Execute one operation; identical queries in flight share one execution.

        See ``graphql_gateway.sharing`` and ``GRAPHQL_GATEWAY["SHARE_OPERATIONS"]``.
        """

        def execute() -> Any:
            return super(GatewayView, self).execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )

        key = await self._sharing_key(request, request_data)
        if key is None:
            return await execute()
        return await in_flight().share(key, execute, _shareable)

    async def _sharing_key(self, request: HttpRequest, data: GraphQLRequestData) -> tuple | None:
        """The key of a query that may be shared, or None."""
        config = gateway_settings()
        query = data.query
        if not config["SHARE_OPERATIONS"] or not isinstance(query, str):
            return None
        if not is_query(query, data.operation_name, config["MAX_TOKENS"]):
            return None
        key = await operation_key(
            request, query, data.operation_name, data.variables, data.extensions
        )
        return None if key is None else (type(self), self.schema, *key)


def _shareable(result: object) -> bool:
    # A complete result, answered with HTTP 200; not a stream of incremental results.
    return type(result) is ExecutionResult


def graphiql_file(request: HttpRequest, name: str) -> FileResponse:
    try:
        relative, content_type = GRAPHIQL_FILES[name]
    except KeyError:
        raise Http404(f"No GraphiQL file {name!r}.") from None
    folder = gateway_settings()["GRAPHIQL_ASSETS"]
    path = Path(folder) / relative
    if not folder or not path.is_file():
        raise Http404(graphiql_missing(folder))
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "max-age=86400"
    return response


def graphiql_missing(folder: str) -> str:
    """Say why GraphiQL's files are not served, and how to install them."""
    where = f"in {folder}" if folder else "anywhere: GRAPHQL_GATEWAY['GRAPHIQL_ASSETS'] is not set"
    return f"GraphiQL's files are not installed {where}. {GRAPHIQL_INSTALL}"


class SubgraphView(GatewayView):
    """Serves the subgraph schema: remote targets are answered by their keys alone."""

    fetch_remote = False
