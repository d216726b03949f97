"""FederatedPrefetch: per-content-type querysets for a FederatedForeignKey."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from federated_fk.remote.collect import collect_remote_errors, report_partial

__all__ = [
    "FederatedPrefetch",
    "aprefetch_related_objects",
    "collect_remote_errors",
    "report_partial",
]


class FederatedPrefetch(GenericPrefetch):
    """A ``GenericPrefetch`` for a ``FederatedForeignKey``.

    ``querysets`` give one queryset per local content type; remote targets
    are resolved by their service::

        Reference.objects.prefetch_related(
            FederatedPrefetch("content_object", [Book.objects.only("title")])
        )
    """

    # Declared here, not only inherited, so that a call without ``querysets``
    # names FederatedPrefetch in its TypeError, as GenericPrefetch's names itself
    # (Django's contenttypes_tests check that message).
    def __init__(
        self, lookup: str, querysets: Sequence[QuerySet], to_attr: str | None = None
    ) -> None:
        super().__init__(lookup, querysets, to_attr=to_attr)


async def aprefetch_related_objects(instances: Sequence[Any], *lookups: str | Prefetch) -> None:
    """The async twin of ``prefetch_related_objects``, remote targets included.

    The remote requests run on the client's own loop, so awaiting this does
    not block the caller's loop.
    """
    await sync_to_async(prefetch_related_objects)(instances, *lookups)
