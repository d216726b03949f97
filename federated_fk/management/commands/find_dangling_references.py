"""Report references whose target no longer exists; delete them, or apply policies, when asked.

``--delete`` deletes the dangling references. ``--apply-policies`` applies,
instead, each field's ``on_remote_delete`` to the dangling references to
remote objects (``federated_fk.fields.remote_deletion``): what a follower of a
change feed does with the deletions it reads, so that reconciling and
following agree. Both act only after the complete check and a re-check of
each remote candidate past the cache, in one transaction. ``--project``
limits the check to the references to one remote project's types.

Exit statuses (documented in the command's help):

- 0: nothing dangling is left: none was found, or ``--delete`` deleted it all
  (``--apply-policies``: the policies applied to it all, or, without
  ``--fail-on-dangling``, some were kept by their policy);
- 1: a project could not be checked in full; none of its references was deleted;
- 3: ``--fail-on-dangling`` was given and dangling references were found and left
  in place (report mode, CI; with ``--apply-policies``: kept by ``DO_NOTHING``, a
  callable, or because their target is local);
- 4: references to a remote type that is no longer in the remote's schema
  were found and left in place: they cannot be checked (run
  ``sync_remote_contenttypes``, or delete them with ``--include-removed-types``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management import BaseCommand, CommandError, CommandParser
from django.db import models, router, transaction
from django.db.models import Value

from federated_fk import conf
from federated_fk.exceptions import (
    FederationError,
    RemoteProjectNotConfigured,
    redact_remote_text,
)
from federated_fk.fields import FederatedForeignKey, RemoteForeignKey
from federated_fk.fields.remote_deletion import Referrer, apply_policy, referrers
from federated_fk.ids import InvalidId, parse_id, parse_remote_id
from federated_fk.models import GenericContentType
from federated_fk.remote import fetch_remote_objects
from federated_fk.remote.cache import fresh

#: The exit status when a project could not be checked in full.
EXIT_UNCHECKED = 1
#: The exit status, with ``--fail-on-dangling``, when dangling references are left.
EXIT_DANGLING = 3
#: The exit status when references to a type no longer in the schema are left.
EXIT_REMOVED_TYPES = 4

Pair = tuple[Any, Any]


@dataclass
class Scan:
    """What one pass over one FederatedForeignKey or RemoteForeignKey found."""

    model: type[models.Model]
    field: FederatedForeignKey | RemoteForeignKey
    using: str
    #: (reference pk, object id) of the dangling references, by content type.
    dangling: dict[GenericContentType, list[Pair]] = field(
        default_factory=lambda: defaultdict(list)
    )
    #: (reference pk, object id) of the references to a remote type the
    #: remote's schema no longer has (``in_schema`` False): never checked.
    removed: dict[GenericContentType, list[Pair]] = field(default_factory=lambda: defaultdict(list))
    checked: Counter = field(default_factory=Counter)
    #: The remote projects its references point at.
    projects: set[str] = field(default_factory=set)
    #: With ``--project``: only the references to these projects' types are checked.
    only_projects: frozenset[str] | None = None

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
        if self.only_projects is not None:
            rows = rows.filter(**{f"{self.field.ct_field}__project__in": self.only_projects})
        return rows.values_list("pk", self.ct_attname, self.id_attname)

    @property
    def key(self) -> tuple[type[models.Model], str]:
        """(the model whose table holds the id column, the key's name): finds the policy.

        A proxy or a child model reads the rows of the table the key's columns live in.
        """
        return (self.model._meta.get_field(self.id_attname).model, self.field.name)


class Command(BaseCommand):
    help = (
        "Checks every FederatedForeignKey and RemoteForeignKey, in batches: local "
        "targets in the database, remote ones with one request per project and batch "
        "(through the remote cache, if any). Lists the references whose target is "
        "gone (a row a remote hides looks gone too), by id, and on their own the "
        "references to a remote type that is no longer in the remote's schema "
        "(never checked, never deleted without --include-removed-types). Deletes "
        "only with --delete, or applies each field's on_remote_delete policy to the "
        "dangling references to remote objects with --apply-policies (references to "
        "local targets are then kept and listed): after the whole check, after asking "
        "the remote again about each candidate (past the cache), in one transaction; "
        "never to those of a project that could not be checked in full. --project "
        "limits the check to the references to that remote project's types. Exit "
        "status: 0 nothing dangling is left (--apply-policies: every policy applied); "
        "1 a project could not be checked (none of its references deleted or "
        "changed); 3 with --fail-on-dangling, dangling references were found and "
        "left in place (with --apply-policies: kept by their policy or local); 4 "
        "references to types no longer in the schema were left in place."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--delete", action="store_true", help="Delete what is dangling.")
        mode.add_argument(
            "--dry-run", action="store_true", help="List what --delete would delete (default)."
        )
        mode.add_argument(
            "--apply-policies",
            action="store_true",
            help="Apply each field's on_remote_delete (CASCADE, SET_NULL, DO_NOTHING or its "
            "callable) to the dangling references to remote objects, instead of deleting.",
        )
        parser.add_argument(
            "--project",
            action="append",
            default=None,
            metavar="NAME",
            help="Check only the references to the types of this remote project (repeatable).",
        )
        parser.add_argument("--batch-size", type=int, default=500, help="References per batch.")
        parser.add_argument("--database", default=None, help="The database (default: routed).")
        parser.add_argument(
            "--fail-on-dangling",
            action="store_true",
            help=f"Exit with status {EXIT_DANGLING} when dangling references are found and "
            "left in place (for CI: report mode with this flag fails on any).",
        )
        parser.add_argument(
            "--include-removed-types",
            action="store_true",
            help="Count the references to a remote type no longer in the remote's schema "
            "as dangling, so that --delete deletes them (else they are listed on their "
            f"own, kept, and the command exits with status {EXIT_REMOVED_TYPES}).",
        )

    def handle(
        self, *args: Any, delete: bool, batch_size: int, database: str | None, **options: Any
    ) -> None:
        self.verbosity = options["verbosity"]
        self.include_removed = options["include_removed_types"]
        apply_policies = options.get("apply_policies", False)
        #: Projects that failed at least once in this run, with the reason.
        self.unreachable: dict[str, str] = {}
        only = self._only_projects(options.get("project"))
        #: With --apply-policies: the dangling references left in place.
        self.left = 0
        scans = [
            self._scan(
                Scan(model, field, database or router.db_for_write(model), only_projects=only),
                batch_size,
            )
            for model, field in self._fields(only)
        ]
        if delete or apply_policies:
            self._recheck(scans, batch_size)
        for scan in scans:
            # A project that failed in a later batch (or for another field, or
            # in the re-check) was not checked in full: nothing found counts.
            for ct in [ct for ct in scan.dangling if ct.project in self.unreachable]:
                del scan.dangling[ct]
                del scan.checked[ct]
            self._report(scan)
        self._list(scans, delete, apply_policies)
        self._list_removed(scans, delete, apply_policies)
        if delete:
            self._delete(scans)
        elif apply_policies:
            self._apply(scans)
        self._exit(scans, delete, options["fail_on_dangling"], apply_policies)

    def _only_projects(self, names: list[str] | None) -> frozenset[str] | None:
        """The remote projects of ``--project``; None without it.

        A project without an endpoint cannot be checked: it is noted as such.
        """
        if not names:
            return None
        local = sorted(name for name in names if conf.is_local_project(name))
        if local:
            raise CommandError(
                f"--project names remote projects; {', '.join(map(repr, local))} is local."
            )
        for name in names:
            self._configured(name)
        return frozenset(names)

    def _exit(
        self, scans: list[Scan], delete: bool, fail_on_dangling: bool, applied: bool = False
    ) -> None:
        """Raise the CommandError of the documented exit status, if it is not 0."""
        if self.unreachable:
            projects = ", ".join(repr(p) for p in sorted(self.unreachable))
            raise CommandError(
                f"Could not check project(s) {projects}: none of their references "
                "was deleted. Run the command again once they answer.",
                returncode=EXIT_UNCHECKED,
            )
        removed = sum(len(pairs) for scan in scans for pairs in scan.removed.values())
        if removed and not self.include_removed:
            raise CommandError(
                f"{removed} reference(s) to types no longer in the remote schema were "
                "left in place: run sync_remote_contenttypes if the type is back, or "
                "delete them with --delete --include-removed-types.",
                returncode=EXIT_REMOVED_TYPES,
            )
        dangling = sum(len(pairs) for scan in scans for pairs in scan.dangling.values())
        if self.include_removed:  # then they are dangling references like the others
            dangling += removed
        if applied:  # what the policies left in place
            dangling = self.left
        if fail_on_dangling and dangling and not delete:
            raise CommandError(
                f"{dangling} dangling reference(s) found (--fail-on-dangling).",
                returncode=EXIT_DANGLING,
            )

    def _fields(self, only: frozenset[str] | None = None) -> list[tuple[type[models.Model], Any]]:
        # Auto-created models too: a through table may hold a FederatedForeignKey.
        return [
            (model, field)
            for model in apps.get_models(include_auto_created=True)
            for field in (*model._meta.private_fields, *model._meta.local_fields)
            if isinstance(field, FederatedForeignKey | RemoteForeignKey)
            and not (
                only is not None
                and isinstance(field, RemoteForeignKey)
                and field.target[0] not in only
            )
        ]

    def _scan(self, scan: Scan, batch_size: int) -> Scan:
        rows = scan.rows()
        last = None
        while True:
            batch = list((rows.filter(pk__gt=last) if last is not None else rows)[:batch_size])
            if not batch:
                return scan
            last = batch[-1][0]
            by_type: dict[GenericContentType, list[Pair]] = defaultdict(list)
            for pk, ct_id, object_id in batch:
                ct = GenericContentType.objects.db_manager(scan.using).get_for_id(ct_id)
                if ct.is_remote and not ct.in_schema:
                    scan.removed[ct].append((pk, object_id))  # cannot be asked about
                else:
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
                if self._configured(ct.project):
                    remote[model] = valid
            else:
                pks = model._base_manager.using(using).filter(pk__in=valid)
                found.update((ct, pk) for pk in pks.values_list("pk", flat=True))
        if not remote:
            return found
        cts = {ct.model_class(): ct for ct in keys if ct.is_remote}
        fetched = fetch_remote_objects(remote)
        found.update((cts[type(obj)], obj.pk) for obj in fetched.objects)
        for project, error in fetched.errors.items():
            self.unreachable.setdefault(project, _reason(error))
        return found

    def _configured(self, project: str) -> bool:
        """Whether ``project`` has an endpoint; if not, it is noted as not checked."""
        try:
            conf.project_settings(project)
        except RemoteProjectNotConfigured:
            self.unreachable.setdefault(project, "no endpoint in FEDERATION['PROJECTS']")
            return False
        return True

    def _recheck(self, scans: list[Scan], batch_size: int) -> None:
        """Ask the remotes again about each remote candidate, past the cache.

        A cached "gone" may be stale (the object is back, or another credential
        saw it differently): nothing is deleted on the cache's word. A candidate
        the remote now has is kept; a project whose re-check fails is not
        checked in full, so none of its references is deleted.
        """
        asked = kept = 0
        for scan in scans:
            for ct, pairs in scan.dangling.items():
                if not ct.is_remote or ct.project in self.unreachable or not pairs:
                    continue
                still: list[Pair] = []
                for start in range(0, len(pairs), batch_size):
                    chunk = pairs[start : start + batch_size]
                    keys = _keys(ct, chunk, scan.using)
                    with fresh():
                        found = self._existing({ct: keys}, scan.using)
                    asked += sum(key is not None for key in keys)
                    for pair, key in zip(chunk, keys, strict=True):
                        if key is None or (ct, key) not in found:
                            still.append(pair)
                kept += len(pairs) - len(still)
                scan.dangling[ct] = still
        if asked and self.verbosity >= 1:
            self.stdout.write(
                f"Re-checked {asked} remote candidate(s) past the cache: "
                f"{kept} exist after all and are kept."
            )

    def _report(self, scan: Scan) -> None:
        for project in sorted(scan.projects & set(self.unreachable)):
            self.stderr.write(
                f"{scan.label}: could not check project {project!r} "
                f"({redact_remote_text(self.unreachable[project])}); "
                "none of its references is deleted."
            )
        for ct, pairs in sorted(scan.removed.items(), key=lambda item: item[0].natural_key()):
            project, app_label, model_name = ct.natural_key()
            self.stdout.write(
                f"{scan.label} -> {project} {app_label}.{model_name}: {len(pairs)} "
                "reference(s) to a type no longer in the schema (not checked)."
            )
        for ct, count in sorted(scan.checked.items(), key=lambda item: item[0].natural_key()):
            gone = len(scan.dangling.get(ct, []))
            if gone or self.verbosity >= 2:
                project, app_label, model_name = ct.natural_key()
                self.stdout.write(
                    f"{scan.label} -> {project} {app_label}.{model_name}: "
                    f"{count} checked, {gone} dangling."
                )
        if self.verbosity >= 1 and not any(scan.dangling.values()) and not scan.removed:
            if not scan.projects & set(self.unreachable):
                total = sum(scan.checked.values())
                self.stdout.write(f"{scan.label}: {total} checked, none dangling.")

    def _list(self, scans: list[Scan], delete: bool, apply_policies: bool = False) -> None:
        """List every dangling reference by id, before anything is deleted or changed."""
        pairs = [
            (scan, ct, pk, object_id)
            for scan in scans
            for ct, found in scan.dangling.items()
            for pk, object_id in found
        ]
        if not pairs:
            return
        if apply_policies:
            heading = "To apply on_remote_delete to (references to local targets are kept)"
        elif delete:
            heading = "To delete"
        else:
            heading = "Would delete (run again with --delete)"
        self.stdout.write(f"{heading}: {len(pairs)} dangling reference(s):")
        for scan, ct, pk, object_id in pairs:
            project, app_label, model_name = ct.natural_key()
            self.stdout.write(
                f"  {scan.model._meta.label} pk={pk} -> {project} {app_label}.{model_name} "
                f"object_id={object_id!r}"
            )
        if not (delete or apply_policies):
            self.stdout.write("Nothing was deleted; run again with --delete to delete them.")

    def _list_removed(self, scans: list[Scan], delete: bool, apply_policies: bool = False) -> None:
        """List the references to types no longer in the schema: a category of their own."""
        pairs = [
            (scan, ct, pk, object_id)
            for scan in scans
            for ct, found in scan.removed.items()
            for pk, object_id in found
        ]
        if not pairs:
            return
        if not self.include_removed:
            fate = "kept; --include-removed-types counts them as dangling"
        elif apply_policies:
            fate = "to apply on_remote_delete to (--include-removed-types)"
        elif delete:
            fate = "to delete (--include-removed-types)"
        else:
            fate = "would be deleted with --delete (--include-removed-types)"
        self.stdout.write(
            f"Type no longer in the schema: {len(pairs)} reference(s), not checked, {fate}:"
        )
        for scan, ct, pk, object_id in pairs:
            project, app_label, model_name = ct.natural_key()
            self.stdout.write(
                f"  {scan.model._meta.label} pk={pk} -> {project} {app_label}.{model_name} "
                f"object_id={object_id!r}"
            )

    def _delete(self, scans: list[Scan]) -> None:
        """Delete every dangling reference in one transaction (per database)."""
        with ExitStack() as stack:
            for using in sorted({scan.using for scan in scans}):
                stack.enter_context(transaction.atomic(using=using))
            for scan in scans:
                for ct, pairs in scan.dangling.items():
                    if pairs:
                        self._delete_unchanged(scan, ct, pairs)
                if not self.include_removed:
                    continue
                for ct, pairs in scan.removed.items():
                    if pairs and ct.project not in self.unreachable:
                        self._delete_unchanged(scan, ct, pairs)

    def _apply(self, scans: list[Scan]) -> None:
        """Apply each field's on_remote_delete, in one transaction (per database).

        Only to the references that still point where they pointed when
        checked, and only to those to remote objects: a local target's
        references are kept (``--delete`` deletes them).
        """
        policies = {(r.id_column.model, r.key.name): r for r in referrers()}
        with ExitStack() as stack:
            for using in sorted({scan.using for scan in scans}):
                stack.enter_context(transaction.atomic(using=using))
            for scan in scans:
                referrer = policies.get(scan.key)
                for ct, pairs in self._to_apply(scan):
                    if ct.is_remote and referrer is not None:
                        self._apply_one(scan, referrer, ct, pairs)
                        continue
                    self.left += len(pairs)
                    self.stdout.write(
                        f"{scan.label} -> {_name(ct)}: kept {len(pairs)}: on_remote_delete "
                        "applies to remote targets (--delete deletes these)."
                    )

    def _to_apply(self, scan: Scan) -> list[tuple[GenericContentType, list[Pair]]]:
        """The dangling references of ``scan`` that were checked, by content type."""
        found = [(ct, pairs) for ct, pairs in scan.dangling.items() if pairs]
        if self.include_removed:
            found += [
                (ct, pairs)
                for ct, pairs in scan.removed.items()
                if pairs and ct.project not in self.unreachable
            ]
        return found

    def _apply_one(
        self, scan: Scan, referrer: Referrer, ct: GenericContentType, pairs: list[Pair]
    ) -> None:
        result = apply_policy(referrer, _unchanged(scan, ct, pairs))
        self.left += result.kept
        self.stdout.write(f"{result} (pointing at {_name(ct)}).")

    def _delete_unchanged(self, scan: Scan, ct: GenericContentType, pairs: list[Pair]) -> None:
        """Delete the references that still point where they pointed when checked."""
        pks = list(_unchanged(scan, ct, pairs).values_list("pk", flat=True))
        deleted, _ = scan.model._base_manager.using(scan.using).filter(pk__in=pks).delete()
        project, app_label, model_name = ct.natural_key()
        self.stdout.write(
            f"Deleted {len(pks)} {scan.model._meta.label} pointing at "
            f"{project} {app_label}.{model_name} ({deleted} rows with cascades)."
        )


def _unchanged(scan: Scan, ct: GenericContentType, pairs: list[Pair]) -> models.QuerySet:
    """The references of ``pairs`` that still point where they pointed when checked.

    Their rows are locked; the queryset filters on the reference's columns,
    so that, evaluated again after a policy ran, it holds what still points there.
    """
    checked = dict(pairs)
    rows = scan.model._base_manager.using(scan.using).filter(pk__in=list(checked))
    if scan.ct_attname is not None:
        rows = rows.filter(**{scan.ct_attname: ct.pk})
    current = rows.select_for_update().values_list("pk", scan.id_attname)
    same = [(pk, object_id) for pk, object_id in current if str(object_id) == str(checked[pk])]
    return rows.filter(
        pk__in=[pk for pk, _ in same],
        **{f"{scan.id_attname}__in": list({object_id for _, object_id in same})},
    )


def _reason(error: FederationError) -> str:
    """What went wrong with a project, in words safe to print."""
    return redact_remote_text(getattr(error, "reason", None) or error)


def _name(ct: GenericContentType) -> str:
    project, app_label, model_name = ct.natural_key()
    return f"{project} {app_label}.{model_name}"


def _keys(ct: GenericContentType, pairs: list[Pair], using: str) -> list[Any]:
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
