from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from graphql_gateway import schema as schemas
from graphql_gateway import views
from graphql_gateway.conf import gateway_settings

app_name = "graphql_gateway"

urlpatterns = [
    # The schema only reads, so there is nothing for CSRF to protect; API
    # clients have no CSRF cookie.
    path("graphql/", csrf_exempt(views.GatewayView.as_view(schema=schemas.schema)), name="graphql"),
    path("graphiql/<str:name>", views.graphiql_file, name="graphiql-file"),
]

if gateway_settings()["SERVE_SUBGRAPH"]:
    # For Apollo Gateway or Router, which join this service's fields with other subgraphs'.
    view = views.SubgraphView.as_view(schema=schemas.subgraph, graphql_ide=None)
    urlpatterns.append(path("subgraph/", csrf_exempt(view), name="subgraph"))
