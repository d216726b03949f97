from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from graphql_gateway import views
from graphql_gateway.schema import schema

app_name = "graphql_gateway"

urlpatterns = [
    # The schema only reads, so there is nothing for CSRF to protect; API
    # clients have no CSRF cookie.
    path("graphql/", csrf_exempt(views.GatewayView.as_view(schema=schema)), name="graphql"),
    path("graphiql/<str:name>", views.graphiql_file, name="graphiql-file"),
]
