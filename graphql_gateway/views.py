"""The gateway's views: GraphQL (with GraphiQL), the HTML list, GraphiQL's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from federated_fk.graphql_http import GraphQLView
from graphql_gateway.books import PageError, book_page
from graphql_gateway.conf import gateway_settings
from graphql_gateway.schema import GatewayContext

#: The GraphiQL page's files, by the name it asks for, inside GRAPHIQL_ASSETS.
GRAPHIQL_FILES = {
    "react.js": ("react/umd/react.production.min.js", "text/javascript"),
    "react-dom.js": ("react-dom/umd/react-dom.production.min.js", "text/javascript"),
    "graphiql.js": ("graphiql/graphiql.min.js", "text/javascript"),
    "graphiql.css": ("graphiql/graphiql.min.css", "text/css"),
}


class GatewayView(GraphQLView):
    """Serves the gateway schema; GraphiQL's page loads only files this app serves."""

    async def get_context(self, request: HttpRequest, response: Any) -> GatewayContext:
        return GatewayContext(request=request, response=response)


def books(request: HttpRequest) -> HttpResponse:
    """The unified list as a page: ``?page=N``."""
    size = gateway_settings()["DEFAULT_PAGE_SIZE"]
    raw = request.GET.get("page", "1")
    # ASCII digits only, and few enough for int() to be cheap; check_bounds
    # refuses a page past what the database can count to.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 20 and int(raw) >= 1):
        return HttpResponse(
            f"page must be a whole number from 1, got {raw[:40]!r}.",
            status=400,
            content_type="text/plain",
        )
    number = int(raw)
    try:
        page = book_page((number - 1) * size, size)
    except PageError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    return render(
        request,
        "graphql_gateway/books.html",
        {"page": page, "number": number, "unavailable": sorted(page.unavailable)},
    )


def graphiql_file(request: HttpRequest, name: str) -> FileResponse:
    try:
        relative, content_type = GRAPHIQL_FILES[name]
    except KeyError:
        raise Http404(f"No GraphiQL file {name!r}.") from None
    folder = gateway_settings()["GRAPHIQL_ASSETS"] or "GRAPHQL_GATEWAY['GRAPHIQL_ASSETS']"
    path = Path(folder) / relative
    if not path.is_file():
        raise Http404(
            f"GraphiQL's files are not installed in {folder}: "
            "run npm install in graphql_gateway/graphiql (./run_demo.sh does)."
        )
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "max-age=86400"
    return response
