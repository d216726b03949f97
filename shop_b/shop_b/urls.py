from django.urls import path

from shop_b.graphql import schema, subgraph

urlpatterns = [path("graphql/", subgraph.view(schema))]
