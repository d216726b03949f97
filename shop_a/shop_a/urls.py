from django.contrib import admin
from django.urls import include, path

from books.views import book, books

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("graphql_gateway.urls")),
    path("books/", books, name="books"),
    path("books/<int:pk>/", book, name="book"),
]
