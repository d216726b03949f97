"""The outbox read in a safe order, by cursor; and its pruning.

A cursor is the position of the last event read. It must never pass an event
that is not yet visible, or that event would be skipped forever:

- **PostgreSQL.** Ids come from a sequence when a row is inserted, but
  transactions commit in any order: a transaction can commit id 6 while id 5
  is still uncommitted. So events are ordered by (transaction id, id), and an
  event is served only when its transaction id is below the reading
  snapshot's ``xmin``: every transaction that could still commit with an id
  below it has ended. A transaction that starts later gets a larger id. A
  long transaction holds the feed back; it never makes it lose an event.
- **SQLite.** One writer at a time: a transaction holds the database's write
  lock from its first write to its commit, so ids are in commit order.

Events of one object may come out of commit order on PostgreSQL (two
transactions that took their ids in the other order). The feed reports the
object's current state (``subgraph.changes``), so that order is harmless.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connections, router, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from federated_fk import conf
from federated_fk.changes.models import ChangeEvent, FeedHorizon

__all__ = ["InvalidCursor", "Page", "Position", "prune", "read_page"]

#: ``<transaction>.<event>`` in ASCII digits, nothing before or after.
_CURSOR = re.compile(r"([0-9]{1,19})\.([0-9]{1,19})", re.ASCII)

#: On PostgreSQL: the oldest transaction id that may still be running.
_XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


class InvalidCursor(ValueError):
    """A cursor this feed did not write."""

    def __init__(self, cursor: str) -> None:
        self.cursor = cursor[:40]
        super().__init__(f"Not a change feed cursor: {self.cursor!r}.")


@dataclass(frozen=True, order=True)
class Position:
    """Where an event is in the feed: (transaction id, event id); 0 for SQLite's transaction."""

    transaction: int
    event: int

    @classmethod
    def parse(cls, cursor: str | None) -> Position | None:
        """Read a cursor; None for None.

        :raises InvalidCursor: when ``cursor`` is not one this feed wrote
        """
        if cursor is None:
            return None
        match = _CURSOR.fullmatch(cursor)
        if not match:
            raise InvalidCursor(cursor)
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, event: ChangeEvent) -> Position:
        return cls(event.transaction or 0, event.id)

    def __str__(self) -> str:
        return f"{self.transaction}.{self.event}"


@dataclass
class Page:
    """One page of the feed.

    :param events: the events, in feed order
    :param cursor: where the next page starts (pass it as ``after``); None
        when nothing was ever read and nothing was given
    :param pruned: events after the given cursor were pruned: the reader
        must reconcile in full, then go on from ``cursor``
    """

    events: list[ChangeEvent]
    cursor: str | None
    pruned: bool


def read_page(
    after: str | None, limit: int, models: Iterable[str], using: str | None = None
) -> Page:
    """Return up to ``limit`` events after ``after``, of the ``models`` (``label_lower``).

    :raises InvalidCursor: when ``after`` is not a cursor of this feed
    """
    position = Position.parse(after)
    using = using or router.db_for_read(ChangeEvent)
    horizon = _horizon(using)
    pruned = horizon is not None and (position is None or position < horizon)
    start = max(p for p in (position, horizon, Position(0, 0)) if p is not None)
    events = list(_after(start, using).filter(model__in=list(models))[:limit])
    last = Position.of(events[-1]) if events else (start if (after or pruned) else None)
    return Page(events=events, cursor=None if last is None else str(last), pruned=pruned)


def _after(start: Position, using: str):
    events = ChangeEvent.objects.using(using)
    if connections[using].vendor != "postgresql":
        return events.filter(id__gt=start.event).order_by("id")
    later = Q(transaction__gt=start.transaction) | Q(
        transaction=start.transaction, id__gt=start.event
    )
    return events.filter(later, transaction__lt=RawSQL(_XMIN, [])).order_by("transaction", "id")


def _horizon(using: str) -> Position | None:
    row = FeedHorizon.objects.using(using).order_by("-transaction", "-event").first()
    return None if row is None else Position(row.transaction, row.event)


def prune(retention: float | None = None, using: str | None = None) -> tuple[int, str | None]:
    """Delete the events older than ``retention`` seconds (default: the setting).

    Readers whose cursor is older than what was deleted are told
    (``Page.pruned``) and reconcile. Return (events deleted, the horizon).
    """
    if retention is None:
        retention = conf.change_settings()["RETENTION"]
    using = using or router.db_for_write(ChangeEvent)
    cutoff = timezone.now() - timedelta(seconds=retention)
    with transaction.atomic(using=using):
        old = _after(Position(0, 0), using).filter(created__lt=cutoff)
        last = old.reverse().first()
        if last is None:
            horizon = _horizon(using)
            return 0, None if horizon is None else str(horizon)
        through = Position.of(last)
        horizon = max(p for p in (_horizon(using), through) if p is not None)
        upto = Q(transaction__lt=through.transaction) | Q(
            transaction=through.transaction, id__lte=through.event
        )
        if connections[using].vendor != "postgresql":
            upto = Q(id__lte=through.event)
        deleted, _ = ChangeEvent.objects.using(using).filter(upto).delete()
        FeedHorizon.objects.using(using).update_or_create(
            pk=1, defaults={"transaction": horizon.transaction, "event": horizon.event}
        )
    return deleted, str(horizon)
