from django.contrib import admin

from federated_fk.admin import FederatedAdminMixin, FederatedTabularInline

from books.models import Book, Reference


class ReferenceInline(FederatedTabularInline):
    """The references to a book of this shop, through its FederatedRelation."""

    model = Reference
    fields = ["created"]
    readonly_fields = ["created"]
    extra = 0


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "price"]
    inlines = [ReferenceInline]


@admin.register(Reference)
class ReferenceAdmin(FederatedAdminMixin, admin.ModelAdmin):
    """References to books here and in shop_b, with their titles.

    The targets of a page are fetched with one request to shop_b; when shop_b
    is down, its targets show as their ids and "shop_b unavailable".
    """

    list_display = ["id", "content_object", "content_type", "created"]
    list_select_related = ["content_type"]
    list_filter = ["content_type__project"]
    readonly_fields = ["content_object", "content_type", "object_id", "created"]
    fields = readonly_fields
    list_per_page = 50

    def has_add_permission(self, request):
        return False
