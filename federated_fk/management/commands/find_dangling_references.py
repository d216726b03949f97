"""Report references whose target no longer exists; delete them only when asked."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import BaseCommand, CommandParser
from django.db import models, router, transaction

from federated_fk.exceptions import FederationError
from federated_fk.fields import FederatedForeignKey
from federated_fk.models import GenericContentType
from federated_fk.remote import load_remote_objects


class Command(BaseCommand):
    help = (
        "Checks every FederatedForeignKey, in batches: local targets in the database, "
        "remote ones with one request per project and batch. Reports the references "
        "whose target is gone (a row a remote hides looks gone too), by project and "
        "model. Deletes them only with --delete; never those of a project that could "
        "not be reached."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true", help="Delete what is dangling.")
        parser.add_argument("--batch-size", type=int, default=500, help="References per batch.")
        parser.add_argument("--database", default=None, help="The database (default: routed).")

    def handle(
        self, *args: Any, delete: bool, batch_size: int, database: str | None, **options: Any
    ) -> None:
        self.verbosity = options["verbosity"]
        self.found_any = False
        for model, field in self._fields():
            using = database or router.db_for_write(model)
            dangling, checked, unreachable = self._scan(model, field, using, batch_size)
            self._report(model, field, checked, dangling, unreachable)
            if delete and dangling:
                self._delete(model, dangling, using)
        if not delete and self.found_any:
            self.stdout.write("Nothing was deleted; run again with --delete to delete them.")

    def _fields(self) -> list[tuple[type[models.Model], FederatedForeignKey]]:
        return [
            (model, field)
            for model in apps.get_models()
            for field in model._meta.private_fields
            if isinstance(field, FederatedForeignKey)
        ]

    def _scan(
        self, model: type[models.Model], field: FederatedForeignKey, using: str, batch_size: int
    ) -> tuple[dict[GenericContentType, list[Any]], Counter, dict[str, str]]:
        ct_attname = model._meta.get_field(field.ct_field).attname
        rows = (
            model._base_manager.using(using)
            .exclude(**{f"{ct_attname}__isnull": True})
            .exclude(**{f"{field.fk_field}__isnull": True})
            .order_by("pk")
            .values_list("pk", ct_attname, field.fk_field)
        )
        dangling: dict[GenericContentType, list[Any]] = defaultdict(list)
        checked: Counter = Counter()
        unreachable: dict[str, str] = {}
        last = None
        while True:
            batch = list((rows.filter(pk__gt=last) if last is not None else rows)[:batch_size])
            if not batch:
                return dangling, checked, unreachable
            last = batch[-1][0]
            by_type: dict[GenericContentType, list[tuple[Any, Any]]] = defaultdict(list)
            for pk, ct_id, object_id in batch:
                ct = GenericContentType.objects.db_manager(using).get_for_id(ct_id)
                by_type[ct].append((pk, object_id))
            found = self._existing(by_type, using, unreachable)
            for ct, pairs in by_type.items():
                if ct.project in unreachable:
                    continue
                checked[ct] += len(pairs)
                dangling[ct].extend(pk for pk, oid in pairs if (ct, str(oid)) not in found)

    def _existing(
        self,
        by_type: dict[GenericContentType, list[tuple[Any, Any]]],
        using: str,
        unreachable: dict[str, str],
    ) -> set[tuple[GenericContentType, str]]:
        """Return (content type, object id) of the targets that exist."""
        found: set[tuple[GenericContentType, str]] = set()
        remote: dict[Any, list[Any]] = {}
        for ct, pairs in by_type.items():
            model = ct.model_class()
            if model is None:
                continue  # a stale local content type: every target is gone
            ids = [_valid_id(model, oid) for _pk, oid in pairs]
            ids = [i for i in ids if i is not None]
            if ct.is_remote:
                remote[model] = ids
            else:
                pks = (
                    model._base_manager.using(using).filter(pk__in=ids).values_list("pk", flat=True)
                )
                found.update((ct, str(pk)) for pk in pks)
        errors: dict[str, FederationError] = {}
        objects = load_remote_objects(remote, errors=errors) if remote else []
        cts = {ct.model_class(): ct for ct in by_type if ct.is_remote}
        found.update((cts[type(obj)], str(obj.pk)) for obj in objects)
        unreachable.update({project: error.reason for project, error in errors.items()})
        return found

    def _report(
        self,
        model: type[models.Model],
        field: FederatedForeignKey,
        checked: Counter,
        dangling: dict[GenericContentType, list[Any]],
        unreachable: dict[str, str],
    ) -> None:
        label = f"{model._meta.label}.{field.name}"
        for project, reason in sorted(unreachable.items()):
            self.stderr.write(
                f"{label}: could not check project {project!r} ({reason}); "
                "none of its references is deleted."
            )
        for ct, count in sorted(checked.items(), key=lambda item: item[0].natural_key()):
            gone = len(dangling.get(ct, []))
            self.found_any = self.found_any or bool(gone)
            if gone or self.verbosity >= 2:
                project, app_label, model_name = ct.natural_key()
                self.stdout.write(
                    f"{label} -> {project} {app_label}.{model_name}: "
                    f"{count} checked, {gone} dangling."
                )
        if self.verbosity >= 1 and not any(dangling.values()) and not unreachable:
            self.stdout.write(f"{label}: {sum(checked.values())} checked, none dangling.")

    def _delete(
        self, model: type[models.Model], dangling: dict[GenericContentType, list[Any]], using: str
    ) -> None:
        with transaction.atomic(using=using):
            for ct, pks in dangling.items():
                if not pks:
                    continue
                deleted, _ = model._base_manager.using(using).filter(pk__in=pks).delete()
                project, app_label, model_name = ct.natural_key()
                self.stdout.write(
                    f"Deleted {len(pks)} {model._meta.label} pointing at "
                    f"{project} {app_label}.{model_name} ({deleted} rows with cascades)."
                )


def _valid_id(model: Any, object_id: Any) -> Any:
    try:
        return model._meta.pk.to_python(object_id)
    except (ValidationError, ValueError, TypeError):  # matches nothing: it dangles
        return None
