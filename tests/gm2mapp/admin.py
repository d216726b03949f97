from django.contrib import admin

from tests.gm2mapp.models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    fields = ["name", "preferred_videos"]
