from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from federated_fk.models import GenericContentType


@admin.register(GenericContentType)
class GenericContentTypeAdmin(admin.ModelAdmin):
    """Read-only list of the content types this service knows, local and remote."""

    list_display = ("project", "app_label", "model", "type_name", "pk_type", "is_local")
    list_filter = ("project", "app_label")
    search_fields = ("project", "app_label", "model", "type_name")
    ordering = ("project", "app_label", "model")

    @admin.display(boolean=True, description="local")
    def is_local(self, obj: GenericContentType) -> bool:
        return obj.is_local

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
