from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from books.views import book, books

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("graphql_gateway.urls")),
    path("books/", books, name="books"),
    path("books/<int:pk>/", book, name="book"),
]

if "debug_toolbar" in settings.INSTALLED_APPS:  # SHOP_A_DEBUG=1
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
