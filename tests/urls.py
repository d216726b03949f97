from django.contrib import admin
from django.urls import path

from tests.remoteshop.schema import schema, subgraph

urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql/", subgraph.view(schema)),
]
