from django.contrib import admin
from django.urls import path

from shop_b import pages
from shop_b.graphql import schema, subgraph

urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql/", subgraph.view(schema)),
    # The pages other shops' buy links lead to.
    path("books/<int:pk>/", pages.book, name="book"),
    path("audiobooks/<int:pk>/", pages.audiobook, name="audiobook"),
]
