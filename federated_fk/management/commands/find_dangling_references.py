"""Report references whose target no longer exists; delete them only when asked."""

from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management import BaseCommand, CommandError, CommandParser
from django.db import models, router, transaction
from django.db.models import Value

from federated_fk.exceptions import FederationError
from federated_fk.fields import FederatedForeignKey, RemoteForeignKey
from federated_fk.ids import InvalidId, parse_id, parse_remote_id
from federated_fk.models import GenericContentType
from federated_fk.remote import load_remote_objects


@dataclass
class Scan:
    """What one pass over one FederatedForeignKey or RemoteForeignKey found."""

    model: type[models.Model]
    field: FederatedForeignKey | RemoteForeignKey
    using: str
    #: (reference pk, object id) of the dangling references, by content type.
    dangling: dict[GenericContentType, list[tuple[Any, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    checked: Counter = field(default_factory=Counter)
    #: The remote projects its references point at.
    projects: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    @property
    def ct_attname(self) -> str | None:
        """The content-type column; None for a RemoteForeignKey, fixed to one type."""
        if isinstance(self.field, RemoteForeignKey):
            return None
        return self.model._meta.get_field(self.field.ct_field).attname

    @property
    def id_attname(self) -> str:
        """The column holding the target's id."""
        if isinstance(self.field, RemoteForeignKey):
            return self.field.attname
        return self.field.fk_field

    def rows(self) -> models.QuerySet:
        """(pk, content-type id, object id) of every reference that points somewhere."""
        manager = self.model._base_manager.using(self.using)
        rows = manager.exclude(**{f"{self.id_attname}__isnull": True}).order_by("pk")
        if self.ct_attname is None:
            ct = self.field.content_type(self.using)
            rows = rows.annotate(_federated_ct=Value(ct.pk, output_field=models.IntegerField()))
            return rows.values_list("pk", "_federated_ct", self.id_attname)
        rows = rows.exclude(**{f"{self.ct_attname}__isnull": True})
        return rows.values_list("pk", self.ct_attname, self.id_attname)


class Command(BaseCommand):
    help = (
        "Checks every FederatedForeignKey and RemoteForeignKey, in batches: local "
        "targets in the database, remote ones with one request per project and batch. "
        "Lists the references whose target is gone (a row a remote hides looks gone "
        "too), by id. Deletes them only with --delete, after the whole check and in "
        "one transaction; never those of a project that could not be checked in full, "
        "and then it exits with an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--delete", action="store_true", help="Delete what is dangling.")
        mode.add_argument(
            "--dry-run", action="store_true", help="List what --delete would delete (default)."
        )
        parser.add_argument("--batch-size", type=int, default=500, help="References per batch.")
        parser.add_argument("--database", default=None, help="The database (default: routed).")

    def handle(
        self, *args: Any, delete: bool, batch_size: int, database: str | None, **options: Any
    ) -> None:
        self.verbosity = options["verbosity"]
        #: Projects that failed at least once in this run, with the reason.
        self.unreachable: dict[str, str] = {}
        scans = [
            self._scan(Scan(model, field, database or router.db_for_write(model)), batch_size)
            for model, field in self._fields()
        ]
        for scan in scans:
            # A project that failed in a later batch (or for another field)
            # was not checked in full: nothing found in its earlier batches counts.
            for ct in [ct for ct in scan.dangling if ct.project in self.unreachable]:
                del scan.dangling[ct]
                del scan.checked[ct]
            self._report(scan)
        self._list(scans, delete)
        if delete:
            self._delete(scans)
        if self.unreachable:
            projects = ", ".join(repr(p) for p in sorted(self.unreachable))
            raise CommandError(
                f"Could not check project(s) {projects}: none of their references "
                "was deleted. Run the command again once they answer."
            )

    def _fields(self) -> list[tuple[type[models.Model], Any]]:
        # Auto-created models too: a through table may hold a FederatedForeignKey.
        return [
            (model, field)
            for model in apps.get_models(include_auto_created=True)
            for field in (*model._meta.private_fields, *model._meta.local_fields)
            if isinstance(field, FederatedForeignKey | RemoteForeignKey)
        ]

    def _scan(self, scan: Scan, batch_size: int) -> Scan:
        rows = scan.rows()
        last = None
        while True:
            batch = list((rows.filter(pk__gt=last) if last is not None else rows)[:batch_size])
            if not batch:
                return scan
            last = batch[-1][0]
            by_type: dict[GenericContentType, list[tuple[Any, Any]]] = defaultdict(list)
            for pk, ct_id, object_id in batch:
                ct = GenericContentType.objects.db_manager(scan.using).get_for_id(ct_id)
                by_type[ct].append((pk, object_id))
            scan.projects.update(ct.project for ct in by_type if ct.is_remote)
            keys = {ct: _keys(ct, pairs, scan.using) for ct, pairs in by_type.items()}
            found = self._existing(keys, scan.using)
            for ct, pairs in by_type.items():
                if ct.project in self.unreachable:
                    continue
                scan.checked[ct] += len(pairs)
                scan.dangling[ct].extend(
                    pair
                    for pair, key in zip(pairs, keys[ct], strict=True)
                    if key is None or (ct, key) not in found
                )

    def _existing(
        self, keys: dict[GenericContentType, list[Any]], using: str
    ) -> set[tuple[GenericContentType, Any]]:
        """Return (content type, key) of the targets that exist."""
        found: set[tuple[GenericContentType, Any]] = set()
        remote: dict[Any, list[Any]] = {}
        for ct, wanted in keys.items():
            model = ct.model_class()
            valid = [key for key in wanted if key is not None]
            if model is None or ct.project in self.unreachable or not valid:
                continue  # a stale local content type: every target is gone
            if ct.is_remote:
                remote[model] = valid
            else:
                pks = model._base_manager.using(using).filter(pk__in=valid)
                found.update((ct, pk) for pk in pks.values_list("pk", flat=True))
        errors: dict[str, FederationError] = {}
        cts = {ct.model_class(): ct for ct in keys if ct.is_remote}
        for obj in load_remote_objects(remote, errors=errors) if remote else []:
            found.add((cts[type(obj)], obj.pk))
        for project, error in errors.items():
            self.unreachable.setdefault(project, error.reason)
        return found

    def _report(self, scan: Scan) -> None:
        for project in sorted(scan.projects & set(self.unreachable)):
            self.stderr.write(
                f"{scan.label}: could not check project {project!r} "
                f"({self.unreachable[project]}); none of its references is deleted."
            )
        for ct, count in sorted(scan.checked.items(), key=lambda item: item[0].natural_key()):
            gone = len(scan.dangling.get(ct, []))
            if gone or self.verbosity >= 2:
                project, app_label, model_name = ct.natural_key()
                self.stdout.write(
                    f"{scan.label} -> {project} {app_label}.{model_name}: "
                    f"{count} checked, {gone} dangling."
                )
        if self.verbosity >= 1 and not any(scan.dangling.values()):
            if not scan.projects & set(self.unreachable):
                total = sum(scan.checked.values())
                self.stdout.write(f"{scan.label}: {total} checked, none dangling.")

    def _list(self, scans: list[Scan], delete: bool) -> None:
        """List every dangling reference by id, before anything is deleted."""
        pairs = [
            (scan, ct, pk, object_id)
            for scan in scans
            for ct, found in scan.dangling.items()
            for pk, object_id in found
        ]
        if not pairs:
            return
        self.stdout.write(
            f"{'To delete' if delete else 'Would delete (run again with --delete)'}: "
            f"{len(pairs)} dangling reference(s):"
        )
        for scan, ct, pk, object_id in pairs:
            project, app_label, model_name = ct.natural_key()
            self.stdout.write(
                f"  {scan.model._meta.label} pk={pk} -> {project} {app_label}.{model_name} "
                f"object_id={object_id!r}"
            )
        if not delete:
            self.stdout.write("Nothing was deleted; run again with --delete to delete them.")

    def _delete(self, scans: list[Scan]) -> None:
        """Delete every dangling reference in one transaction (per database)."""
        with ExitStack() as stack:
            for using in sorted({scan.using for scan in scans}):
                stack.enter_context(transaction.atomic(using=using))
            for scan in scans:
                for ct, pairs in scan.dangling.items():
                    if pairs:
                        self._delete_unchanged(scan, ct, pairs)

    def _delete_unchanged(
        self, scan: Scan, ct: GenericContentType, pairs: list[tuple[Any, Any]]
    ) -> None:
        """Delete the references that still point where they pointed when checked."""
        checked = dict(pairs)
        rows = scan.model._base_manager.using(scan.using).filter(pk__in=list(checked))
        if scan.ct_attname is not None:
            rows = rows.filter(**{scan.ct_attname: ct.pk})
        current = rows.select_for_update().values_list("pk", scan.id_attname)
        pks = [pk for pk, object_id in current if str(object_id) == str(checked[pk])]
        deleted, _ = scan.model._base_manager.using(scan.using).filter(pk__in=pks).delete()
        project, app_label, model_name = ct.natural_key()
        self.stdout.write(
            f"Deleted {len(pks)} {scan.model._meta.label} pointing at "
            f"{project} {app_label}.{model_name} ({deleted} rows with cascades)."
        )


def _keys(ct: GenericContentType, pairs: list[tuple[Any, Any]], using: str) -> list[Any]:
    """Return each object id as a key of the target model; None if it cannot be one.

    An id that cannot name a row (malformed, out of range) matches nothing: it dangles.
    """
    model = ct.model_class()
    keys: list[Any] = []
    for _pk, object_id in pairs:
        try:
            if model is None:
                keys.append(None)
            elif ct.is_remote:
                keys.append(parse_remote_id(str(ct), model._meta.pk_type, object_id))
            else:
                keys.append(parse_id(model, object_id, using))
        except InvalidId:
            keys.append(None)
    return keys
