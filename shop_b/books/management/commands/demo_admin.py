"""Make (or update) the demo's admin user, with the password in $DEMO_ADMIN_PASSWORD."""

import os

from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Creates the superuser 'admin' with the password in $DEMO_ADMIN_PASSWORD."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_ADMIN_PASSWORD", "")
        if not password:
            raise CommandError("Set DEMO_ADMIN_PASSWORD.")
        user, created = get_user_model().objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"admin user {'created' if created else 'updated'}.")
