"""FederatedPrefetch: per-content-type querysets for a FederatedForeignKey."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db.models import QuerySet


class FederatedPrefetch(GenericPrefetch):
    """A ``GenericPrefetch`` for a ``FederatedForeignKey``.

    ``querysets`` give one queryset per local content type; remote targets
    are resolved by their service::

        Reference.objects.prefetch_related(
            FederatedPrefetch("content_object", [Book.objects.only("title")])
        )
    """

    def __init__(self, lookup: str, querysets: Sequence[QuerySet], to_attr: str | None = None):
        super().__init__(lookup, querysets, to_attr=to_attr)
