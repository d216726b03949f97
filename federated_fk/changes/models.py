"""The tables of the change feed: the outbox, its pruning horizon, the followers' cursors."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

__all__ = ["ChangeEvent", "FeedHorizon", "FollowCursor"]


class ChangeEvent(models.Model):
    """One create, update or delete of a published model, written by a database trigger.

    The trigger inserts the row in the transaction of the change, so a change
    rolled back leaves no event. ``transaction`` is PostgreSQL's transaction id
    (``pg_current_xact_id()``); the feed serves an event only once every
    transaction that could still commit below it has ended (``feed``).
    """

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    KINDS = [(CREATED, _("created")), (UPDATED, _("updated")), (DELETED, _("deleted"))]

    id = models.BigAutoField(primary_key=True)
    #: The model's ``label_lower``: ``"books.book"``.
    model = models.CharField(_("model"), max_length=200)
    object_id = models.CharField(_("object id"), max_length=255)
    kind = models.CharField(_("kind"), max_length=7, choices=KINDS)
    #: The columns an update changed, comma-separated; empty for creates and deletes.
    columns = models.TextField(_("changed columns"), blank=True, default="", db_default="")
    #: The writing transaction's id on PostgreSQL; null elsewhere.
    transaction = models.BigIntegerField(_("transaction"), null=True, blank=True)
    created = models.DateTimeField(_("created"), db_default=Now())

    class Meta:
        verbose_name = _("change event")
        verbose_name_plural = _("change events")
        indexes = [
            models.Index(fields=["transaction", "id"], name="federated_fk_change_order"),
            models.Index(fields=["created"], name="federated_fk_change_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.model} {self.object_id}"


class FeedHorizon(models.Model):
    """The position up to which the outbox was pruned (one row, or none if never)."""

    transaction = models.BigIntegerField(_("transaction"), default=0)
    event = models.BigIntegerField(_("event"), default=0)
    pruned = models.DateTimeField(_("pruned"), auto_now=True)

    class Meta:
        verbose_name = _("feed horizon")
        verbose_name_plural = _("feed horizons")

    def __str__(self) -> str:
        return f"pruned through {self.transaction}:{self.event}"


class FollowCursor(models.Model):
    """How far this service has applied one remote project's change feed."""

    project = models.CharField(_("project"), max_length=100, unique=True)
    #: The feed's opaque cursor after the last event applied; empty before the first.
    cursor = models.CharField(_("cursor"), max_length=200, blank=True, default="")
    applied = models.BigIntegerField(_("events applied"), default=0)
    #: When the last full reconciliation ran (the feed had been pruned past the cursor).
    reconciled = models.DateTimeField(_("reconciled"), null=True, blank=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("follow cursor")
        verbose_name_plural = _("follow cursors")

    def __str__(self) -> str:
        return f"{self.project} at {self.cursor or 'the start'}"
