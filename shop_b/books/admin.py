"""shop_b's books in the admin: editing or deleting one reaches other shops by the change feed."""

from django.contrib import admin

from books.models import Book


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "price", "published"]
    list_editable = ["price", "published"]
    list_filter = ["published"]
    search_fields = ["title", "author__name"]
