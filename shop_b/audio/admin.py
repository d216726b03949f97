"""shop_b's audiobooks in the admin."""

from django.contrib import admin

from audio.models import Audiobook


@admin.register(Audiobook)
class AudiobookAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "narrator", "duration_minutes", "price"]
    search_fields = ["title", "author__name", "narrator"]
