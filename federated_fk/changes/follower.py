"""The follower of a remote project's change feed: it keeps this service's view current.

Per batch (``Follower.step``):

1. read one page after the durable cursor (``FollowCursor``) from the
   project's ``ChangeSource``;
2. map each event's GraphQL type name to this service's content type of
   that project (never a local model); events of types this service has no
   content type for are counted and passed over: nothing here can refer to them;
3. ask the remote again, past the cache, about every object the page says
   is deleted: one that exists after all counts as changed. If that check
   does not complete, nothing is applied and the cursor does not move;
4. if the page says the feed was pruned past the cursor, drop every cached
   object of the project and run ``find_dangling_references
   --apply-policies --project <project>``: events were lost, so every
   reference is checked;
5. drop the cached entries of every changed and deleted object;
6. in one transaction: move the cursor (only if it is still where the page
   was read from: else another follower runs, ``CursorMoved``), apply the
   deletion policies (``apply_remote_deletion``) to the confirmed-deleted
   objects, send ``remote_object_changed`` and ``remote_object_deleted``.

A follower stopped anywhere before the commit applies the same batch again
on its next run; policies and receivers are idempotent, so the effect is
the same. On failure the caller waits (``Follower.delay``): from
``FOLLOW_INTERVAL``, doubling up to ``FOLLOW_MAX_BACKOFF``, with jitter.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import router, transaction
from django.db.models import F
from django.utils import timezone

from federated_fk import conf
from federated_fk.changes.models import FollowCursor
from federated_fk.changes.signals import remote_object_changed, remote_object_deleted
from federated_fk.changes.sources import (
    Change,
    ChangePage,
    ChangeSource,
    HttpFeedSource,
    MalformedChangePage,
    follow_delay,
)
from federated_fk.exceptions import FederationError, redact_remote_text
from federated_fk.fields.remote_deletion import apply_remote_deletion
from federated_fk.ids import InvalidId, parse_remote_id
from federated_fk.models import GenericContentType
from federated_fk.remote import fetch_remote_objects
from federated_fk.remote.cache import forget_project, fresh, invalidate

__all__ = ["BatchResult", "CursorMoved", "Follower", "followed_projects"]

logger = logging.getLogger("federated_fk.changes")


class CursorMoved(FederationError):
    """Another follower of the project moved its cursor while a batch was read: not applied.

    :param project: the remote project
    :param cursor: where this follower had read the page from
    """

    def __init__(self, project: str, cursor: str) -> None:
        self.project = project
        self.cursor = cursor
        super().__init__(
            f"The cursor of project {project!r} moved from {cursor or 'the start'!r} while "
            "this batch was read: another follower runs. Nothing of the batch was applied."
        )


@dataclass
class BatchResult:
    """What one batch of a follower did.

    :param events: the events of the page (all applied, the ignored included)
    :param changed: objects signalled as changed (created or updated)
    :param deleted: objects confirmed deleted: policies applied, signalled
    :param revived: objects the page said were deleted that exist after all
    :param ignored: events of types this service has no content type for, or
        one its last ``sync_remote_contenttypes`` found no longer in the schema
        (those are named in ``unsynced``, and logged)
    :param references: the references the deletion policies deleted, cleared
        or gave to a callable policy
    :param reconciled: the feed was pruned past the cursor; the full
        reconciliation ran (its report is ``reconciliation``)
    :param drained: the page moved the cursor nowhere: the feed has nothing more now
    """

    project: str
    events: int = 0
    changed: int = 0
    deleted: int = 0
    revived: int = 0
    ignored: int = 0
    unsynced: list[str] = field(default_factory=list)
    references: int = 0
    reconciled: bool = False
    reconciliation: str = ""
    drained: bool = False


@dataclass
class _Plan:
    """A page's events by content type: what changed, what may be deleted."""

    #: pk -> (kind, fields), per content type, in the feed's order.
    changed: dict[GenericContentType, dict[Any, tuple[str, list[str]]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    deleted: dict[GenericContentType, list[Any]] = field(default_factory=lambda: defaultdict(list))
    revived: int = 0
    ignored: int = 0
    #: Type names of content types the last sync found no longer in the schema.
    unsynced: set[str] = field(default_factory=set)


def followed_projects() -> list[str]:
    """Return the projects of ``FEDERATION["PROJECTS"]`` whose ``FOLLOW`` is true."""
    names = conf.federation_settings()["PROJECTS"] or {}
    return sorted(name for name in names if conf.project_settings(name)["FOLLOW"])


class Follower:
    """Applies one remote project's change feed to this service.

    :param project: the remote project, a key of ``FEDERATION["PROJECTS"]``
    :param source: where pages come from (default: ``HttpFeedSource``)
    :param using: the database of the cursor and the content types, and the
        one the batch's transaction runs in (default: routed for ``FollowCursor``)
    :param random: the jitter's source of numbers in [0, 1)
    :raises ImproperlyConfigured: ``project`` is this service's own
    :raises RemoteProjectNotConfigured: ``project`` has no URL
    """

    def __init__(
        self,
        project: str,
        source: ChangeSource | None = None,
        using: str | None = None,
        random: Callable[[], float] = random.random,
    ) -> None:
        if conf.is_local_project(project):
            raise ImproperlyConfigured(f"Project {project!r} is this service's own: not followed.")
        self.settings = conf.project_settings(project)
        self.project = project
        self.source = source or HttpFeedSource(project)
        self.using = using or router.db_for_write(FollowCursor)
        self.random = random
        #: Failed batches in a row (0 after a batch succeeds).
        self.failures = 0

    def state(self) -> FollowCursor:
        """Return the durable cursor of this project (made at the start of the feed)."""
        cursor, _ = FollowCursor.objects.using(self.using).get_or_create(project=self.project)
        return cursor

    def step(self) -> BatchResult:
        """Read and apply one page of the feed (see the module's steps).

        :raises FederationError: the page could not be read, was malformed, or
            its deletions could not be confirmed; nothing was applied
        :raises CommandError: the reconciliation of a pruned feed failed;
            nothing of the page was applied
        """
        state = self.state()
        limit = self.settings["FOLLOW_BATCH"]
        page = self.source.read(state.cursor or None, limit)
        plan = self._plan(page)
        self._confirm(plan)
        result = BatchResult(
            self.project,
            events=len(page.changes),
            changed=sum(len(pks) for pks in plan.changed.values()),
            deleted=sum(len(pks) for pks in plan.deleted.values()),
            revived=plan.revived,
            ignored=plan.ignored,
            unsynced=sorted(plan.unsynced),
            # Not "fewer than asked": the feed leaves out events it cannot serve,
            # so only a page that moved nothing says there is nothing more.
            drained=page.cursor in (None, state.cursor),
        )
        if page.pruned:
            result.reconciled, result.reconciliation = True, self._reconcile()
        self._invalidate(plan)
        self._apply(page, plan, state, result)
        return result

    def drain(self) -> list[BatchResult]:
        """Apply batches until the feed is drained; return what each did.

        :raises: as ``step``, at the first batch that fails (those before stay applied)
        """
        results = [self.step()]
        while not results[-1].drained:
            results.append(self.step())
        return results

    def succeeded(self) -> None:
        """Record a successful batch: the next delay is the plain interval."""
        self.failures = 0

    def failed(self, exc: BaseException) -> float:
        """Record a failed batch, log it (remote text redacted); return the delay before the next.

        :param exc: what the batch raised
        """
        self.failures += 1
        delay = self.delay()
        logger.warning(
            "Following project %r failed (%d in a row; nothing of the batch applied): %s",
            self.project,
            self.failures,
            redact_remote_text(f"{type(exc).__name__}: {exc}"),
        )
        return delay

    def delay(self, drained: bool = True) -> float:
        """Return how long to wait before the next batch (``sources.follow_delay``)."""
        return follow_delay(self.settings, self.failures, drained, self.random)

    def _plan(self, page: ChangePage) -> _Plan:
        """Group the page's events by this project's content types; parse their ids."""
        by_name: dict[str, list[GenericContentType]] = defaultdict(list)
        unsynced: set[str] = set()
        for ct in GenericContentType.objects.db_manager(self.using).filter(project=self.project):
            if ct.type_name and ct.in_schema:
                by_name[ct.type_name].append(ct)
            elif ct.type_name:
                unsynced.add(ct.type_name)
        plan = _Plan()
        for change in page.changes:
            if change.typename in by_name:
                for ct in by_name[change.typename]:
                    self._plan_one(plan, ct, change)
            elif change.typename in unsynced:
                plan.unsynced.add(change.typename)
                plan.ignored += 1
            else:
                plan.ignored += 1
        if plan.unsynced:
            # Its objects are never fetched (nor cached) under a name the
            # synchronized schema lacks; its references wait for a sync.
            logger.warning(
                "Project %r publishes changes of %s, which its schema as last synchronized "
                "does not describe: passed over. Run 'manage.py sync_remote_contenttypes %s', "
                "then find_dangling_references --apply-policies --project %s.",
                self.project,
                ", ".join(sorted(plan.unsynced)),
                self.project,
                self.project,
            )
        return plan

    def _plan_one(self, plan: _Plan, ct: GenericContentType, change: Change) -> None:
        label = f"{self.project} {ct.app_label}.{ct.model}"
        try:
            pk = parse_remote_id(label, ct.pk_type, change.id)
        except InvalidId as exc:
            endpoint = conf.public_url(self.settings["URL"])
            raise MalformedChangePage(self.project, endpoint, str(exc)) from None
        if change.kind == "deleted":
            plan.changed[ct].pop(pk, None)  # its state now is "deleted"
            if pk not in plan.deleted[ct]:
                plan.deleted[ct].append(pk)
            return
        if pk in plan.deleted[ct]:
            plan.deleted[ct].remove(pk)
        kind, fields = plan.changed[ct].get(pk, (change.kind, []))
        if change.kind == "created":
            kind = "created"
        fields.extend(f for f in change.fields if f not in fields)
        plan.changed[ct][pk] = (kind, fields)

    def _confirm(self, plan: _Plan) -> None:
        """Ask the remote about every deleted object, past the cache; move the living ones.

        :raises FederationError: the remote could not answer in full
        """
        stand_ins = {ct: ct.model_class() for ct, pks in plan.deleted.items() if pks}
        if not stand_ins:
            return
        with fresh():
            fetched = fetch_remote_objects({stand_ins[ct]: plan.deleted[ct] for ct in stand_ins})
        fetched.raise_first()
        alive = {(type(obj), obj.pk) for obj in fetched.objects}
        for ct, stand_in in stand_ins.items():
            pks = plan.deleted[ct]
            for pk in [pk for pk in pks if (stand_in, pk) in alive]:
                pks.remove(pk)
                plan.changed[ct][pk] = ("updated", [])
                plan.revived += 1

    def _reconcile(self) -> str:
        """Drop the project's cached objects; check and apply policies to every reference.

        :return: the reconciliation command's report
        :raises CommandError: the reconciliation did not complete
        """
        logger.warning(
            "The change feed of project %r was pruned past this service's cursor: "
            "reconciling every reference to it.",
            self.project,
        )
        forget_project(self.project)
        out = StringIO()
        call_command(
            "find_dangling_references",
            apply_policies=True,
            project=[self.project],
            stdout=out,
            stderr=out,
        )
        report = out.getvalue()
        # One log line: the report's lines joined (and cut, as remote text is).
        summary = redact_remote_text(" | ".join(report.strip().splitlines()))
        logger.info("Reconciliation of project %r done: %s", self.project, summary)
        return report

    def _invalidate(self, plan: _Plan) -> None:
        """Drop the cached entries of every changed and deleted object."""
        wanted: dict[Any, list[Any]] = defaultdict(list)
        for group in (plan.changed, plan.deleted):
            for ct, pks in group.items():
                if pks:
                    wanted[ct.model_class()._meta.entity_type()].extend(pks)
        if wanted:
            invalidate(wanted)

    def _apply(
        self, page: ChangePage, plan: _Plan, state: FollowCursor, result: BatchResult
    ) -> None:
        """Move the cursor, apply policies and send the signals, in one transaction."""
        with transaction.atomic(using=self.using):
            self._advance(page, state, result)
            for ct, pks in plan.deleted.items():
                if pks:
                    done = apply_remote_deletion(ct, pks, using=self.using)
                    result.references += sum(policy.rows for policy in done)
                    for pk in pks:
                        remote_object_deleted.send(ct.model_class(), content_type=ct, object_id=pk)
            for ct, objects in plan.changed.items():
                for pk, (kind, fields) in objects.items():
                    remote_object_changed.send(
                        ct.model_class(), content_type=ct, object_id=pk, kind=kind, fields=fields
                    )

    def _advance(self, page: ChangePage, state: FollowCursor, result: BatchResult) -> None:
        """Move the cursor past the page, if it is still where the page was read from.

        First in the transaction, so that it takes the write lock: a second
        follower of the project that read the same page finds the cursor moved
        and applies nothing.

        :raises CursorMoved: another follower moved the cursor meanwhile
        """
        now = timezone.now()
        values: dict[str, Any] = {"applied": F("applied") + len(page.changes), "updated": now}
        if page.cursor is not None:
            values["cursor"] = page.cursor
        if result.reconciled:
            values["reconciled"] = now
        rows = FollowCursor.objects.using(self.using).filter(
            pk=state.pk, cursor=state.cursor, applied=state.applied
        )
        if not rows.update(**values):
            raise CursorMoved(self.project, state.cursor)
