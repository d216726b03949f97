"""Keep GenericContentType rows in step with the installed models.

Mirrors ``django.contrib.contenttypes.management``: after ``migrate``, a row
is created for every local model, and a ``RenameModel`` migration renames its
row in the same run.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db import DEFAULT_DB_ALIAS, IntegrityError, migrations, router, transaction

from federated_fk import conf

APP_LABEL = "federated_fk"
MODEL_NAME = "GenericContentType"


def _content_type_model(apps: Apps) -> Any:
    try:
        return apps.get_model(APP_LABEL, MODEL_NAME)
    except LookupError:
        # The migration state of an app whose migrations do not depend on
        # federated_fk may lack the model. The table exists all the same:
        # RenameContentType is only injected once federated_fk is migrated.
        return global_apps.get_model(APP_LABEL, MODEL_NAME)


class RenameContentType(migrations.RunPython):
    """Rename the local GenericContentType row of a model renamed by a migration."""

    def __init__(self, app_label: str, old_model: str, new_model: str) -> None:
        self.app_label = app_label
        self.old_model = old_model
        self.new_model = new_model
        super().__init__(self.rename_forward, self.rename_backward)

    def _rename(self, apps: Apps, schema_editor: Any, old_model: str, new_model: str) -> None:
        ContentType = _content_type_model(apps)
        db = schema_editor.connection.alias
        if not router.allow_migrate_model(db, ContentType):
            return
        project = conf.project_for_label(self.app_label, old_model)
        try:
            content_type = ContentType.objects.db_manager(db).get_by_natural_key(
                project, self.app_label, old_model
            )
        except ContentType.DoesNotExist:
            return
        content_type.model = new_model
        try:
            with transaction.atomic(using=db):
                content_type.save(using=db, update_fields={"model"})
        except IntegrityError:
            # A stale row holds the new name; remove_stale_generic_contenttypes
            # asks the user what to do with it.
            content_type.model = old_model
        else:
            # get_by_natural_key() cached the row under its old name.
            ContentType.objects.clear_cache()

    def rename_forward(self, apps: Apps, schema_editor: Any) -> None:
        self._rename(apps, schema_editor, self.old_model, self.new_model)

    def rename_backward(self, apps: Apps, schema_editor: Any) -> None:
        self._rename(apps, schema_editor, self.new_model, self.old_model)


def inject_rename_contenttypes_operations(
    plan: list[tuple[Any, bool]] | None = None,
    apps: Apps = global_apps,
    using: str = DEFAULT_DB_ALIAS,
    **kwargs: Any,
) -> None:
    """Insert a ``RenameContentType`` after every planned ``RenameModel``."""
    if plan is None:
        return
    try:
        ContentType = apps.get_model(APP_LABEL, MODEL_NAME)
    except LookupError:
        available = False
    else:
        if not router.allow_migrate_model(using, ContentType):
            return
        available = True
    for migration, backward in plan:
        if (migration.app_label, migration.name) == (APP_LABEL, "0001_initial"):
            # Before this migration (or after unapplying it) there is no table.
            if backward:
                break
            available = True
            continue
        if not available:
            continue
        inserts = [
            (
                index + 1,
                RenameContentType(migration.app_label, op.old_name_lower, op.new_name_lower),
            )
            for index, op in enumerate(migration.operations)
            if isinstance(op, migrations.RenameModel)
        ]
        for inserted, (index, operation) in enumerate(inserts):
            migration.operations.insert(inserted + index, operation)


def create_contenttypes(
    app_config: AppConfig,
    verbosity: int = 2,
    interactive: bool = True,
    using: str = DEFAULT_DB_ALIAS,
    apps: Apps = global_apps,
    **kwargs: Any,
) -> None:
    """Create the GenericContentType rows of the models of ``app_config``."""
    if not app_config.models_module:
        return
    app_label = app_config.label
    try:
        app_config = apps.get_app_config(app_label)
        ContentType = apps.get_model(APP_LABEL, MODEL_NAME)
    except LookupError:
        return
    if not router.allow_migrate_model(using, ContentType):
        return
    app_models = {model._meta.model_name for model in app_config.get_models()}
    if not app_models:
        return
    ContentType.objects.clear_cache()
    wanted = {(conf.project_for_label(app_label, name), name) for name in app_models}
    existing = set(
        ContentType.objects.using(using)
        .filter(app_label=app_label, project__in={project for project, _ in wanted})
        .values_list("project", "model")
    )
    cts = [
        ContentType(project=project, app_label=app_label, model=name)
        for project, name in sorted(wanted - existing)
    ]
    ContentType.objects.using(using).bulk_create(cts)
    if verbosity >= 2:
        for ct in cts:
            print(f"Adding generic content type '{ct.project} | {ct.app_label} | {ct.model}'")
