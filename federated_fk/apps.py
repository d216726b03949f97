from __future__ import annotations

from django.apps import AppConfig, apps
from django.core import checks
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


class FederatedFKConfig(AppConfig):
    default_auto_field = "django.db.models.AutoField"
    name = "federated_fk"
    verbose_name = _("Federated content types")

    def ready(self) -> None:
        from federated_fk import checks as federated_checks
        from federated_fk.changes.checks import check_change_settings
        from federated_fk.changes.triggers import sync_triggers
        from federated_fk.fields.deferred_key import check_deferred_foreign_keys
        from federated_fk.management import (
            create_contenttypes,
            inject_rename_contenttypes_operations,
        )

        pre_migrate.connect(inject_rename_contenttypes_operations, sender=self)
        post_migrate.connect(create_contenttypes)
        # After every migrate: SQLite drops a table's triggers when Django rebuilds it.
        post_migrate.connect(sync_triggers, sender=self)
        checks.register(federated_checks.check_settings)
        checks.register(check_change_settings)
        checks.register(federated_checks.check_subgraph_token, checks.Tags.security, deploy=True)
        checks.register(
            federated_checks.check_generic_relations_to_federated_keys, checks.Tags.models
        )
        checks.register(check_deferred_foreign_keys, checks.Tags.models)
        if apps.is_installed("django.contrib.admin"):
            from federated_fk.admin import check_django_generic_inlines

            checks.register(check_django_generic_inlines, checks.Tags.admin)
        # Django's contenttypes app already walks every GenericForeignKey
        # (subclasses included) and checks model name lengths against the same
        # limit; registering these twice would report each error twice.
        if not apps.is_installed("django.contrib.contenttypes"):
            checks.register(federated_checks.check_federated_foreign_keys, checks.Tags.models)
            checks.register(federated_checks.check_model_name_lengths, checks.Tags.models)
