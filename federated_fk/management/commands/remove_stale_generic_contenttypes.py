"""Delete GenericContentType rows whose local model no longer exists."""

from __future__ import annotations

import itertools
from typing import Any

from django.apps import apps
from django.core.management import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import ProtectedError, RestrictedError
from django.db.models.deletion import Collector

from federated_fk import conf
from federated_fk.models import GenericContentType


class NoFastDeleteCollector(Collector):
    def can_fast_delete(self, *args: Any, **kwargs: Any) -> bool:
        # Load related objects so that they can be counted and shown.
        return False


class Command(BaseCommand):
    help = (
        "Deletes stale generic content types: rows of this service's projects "
        "whose model is gone. Rows still referenced are kept unless "
        "--include-referenced is given. Remote content types are never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Tells Django to NOT prompt the user for input of any kind.",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            choices=tuple(connections),
            help='Nominates the database to use. Defaults to the "default" database.',
        )
        parser.add_argument(
            "--include-stale-apps",
            action="store_true",
            help=(
                "Deletes stale content types including ones from previously "
                "installed apps that have been removed from INSTALLED_APPS."
            ),
        )
        parser.add_argument(
            "--include-referenced",
            action="store_true",
            help=(
                "Also deletes stale content types that rows still reference, "
                "and those rows with them (cascade)."
            ),
        )

    def handle(self, **options: Any) -> None:
        db = options["database"]
        if not router.allow_migrate_model(db, GenericContentType):
            return
        GenericContentType.objects.clear_cache()
        stale = self._stale_content_types(db, options["include_stale_apps"])
        using = router.db_for_write(GenericContentType)
        dependents = {ct: self._dependents(ct, using) for ct in stale}
        kept = [ct for ct in stale if dependents[ct] and not options["include_referenced"]]
        to_remove = [ct for ct in stale if ct not in kept]
        verbosity = options["verbosity"]
        for ct in kept:
            if verbosity >= 1:
                count = sum(n for _label, n in dependents[ct])
                self.stdout.write(
                    f"Keeping stale content type '{ct.app_label} | {ct.model}': "
                    f"{count} object(s) still reference it "
                    "(--include-referenced deletes them too)."
                )
        if not to_remove:
            return
        if options["interactive"] and not self._confirm(to_remove, dependents):
            if verbosity >= 2:
                self.stdout.write("Stale content types remain.")
            return
        for ct in to_remove:
            if verbosity >= 2:
                self.stdout.write(f"Deleting stale content type '{ct.app_label} | {ct.model}'")
            ct.delete()
        if verbosity >= 1:
            self.stdout.write(f"Deleted {len(to_remove)} stale content type(s).")

    def _stale_content_types(self, db: str, include_stale_apps: bool) -> list[GenericContentType]:
        local_projects = (conf.current_project(), conf.SHARED_PROJECT)
        rows = (
            GenericContentType.objects.using(db)
            .filter(project__in=local_projects)
            .order_by("app_label", "model")
        )
        stale = []
        for app_label, content_types in itertools.groupby(rows, lambda ct: ct.app_label):
            if not include_stale_apps and app_label not in apps.app_configs:
                continue
            stale.extend(ct for ct in content_types if ct.model_class() is None)
        return stale

    def _dependents(self, ct: GenericContentType, using: str) -> list[tuple[str, int]]:
        """Return (model label, count) of the objects a deletion of ``ct`` would take."""
        collector = NoFastDeleteCollector(using=using, origin=ct)
        try:
            collector.collect([ct])
        except (ProtectedError, RestrictedError) as exc:
            objs = (
                exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
            )
            return [("protected object", len(objs))]
        return [
            (obj_type._meta.label, len(objs))
            for obj_type, objs in collector.data.items()
            if objs != {ct}
        ]

    def _confirm(
        self,
        to_remove: list[GenericContentType],
        dependents: dict[GenericContentType, list[tuple[str, int]]],
    ) -> bool:
        lines = []
        for ct in to_remove:
            lines.append(f"    - Content type for {ct.app_label}.{ct.model}")
            lines.extend(f"    - {n} {label} object(s)" for label, n in dependents[ct])
        listing = "\n".join(lines)
        self.stdout.write(
            "Some content types in your database are stale and can be deleted.\n"
            "Any objects that depend on these content types will also be deleted.\n"
            "The content types and dependent objects that would be deleted are:\n\n"
            f"{listing}\n\n"
            "This list doesn't include any cascade deletions to data outside of "
            "Django\nmodels (uncommon).\n\n"
            "Are you sure you want to delete these content types?\n"
            "If you're unsure, answer 'no'."
        )
        return input("Type 'yes' to continue, or 'no' to cancel: ") == "yes"
