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
    # What the reference picker searches, as Django's autocomplete does.
    search_fields = ["title", "author__name"]
    inlines = [ReferenceInline]


@admin.register(Reference)
class ReferenceAdmin(FederatedAdminMixin, admin.ModelAdmin):
    """References to books here and in shop_b, with their titles.

    The targets of a page are fetched with one request to shop_b; when shop_b
    is down, its targets show as their ids and "shop_b unavailable".

    A reference is added by picking its book: typing part of a title finds
    this shop's books (``BookAdmin.search_fields``) and shop_b's books and
    audiobooks (shop_b's search). Once made, a reference is not repointed.
    """

    list_display = ["id", "content_object", "content_type", "created"]
    list_select_related = ["content_type"]
    list_filter = ["content_type__project"]
    readonly_fields = ["content_object", "content_type", "object_id", "created"]
    list_per_page = 50
    federated_targets = {
        "content_object": ["books.Book", "shop_b:books.Book", "shop_b:audio.Audiobook"]
    }

    def get_fields(self, request, obj=None):
        return ["content_object"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields
