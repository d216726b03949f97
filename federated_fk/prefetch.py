"""FederatedPrefetch: per-content-type querysets for a FederatedForeignKey."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db.models import Prefetch, prefetch_related_objects

from federated_fk.exceptions import FederationError

_remote_errors: ContextVar[dict[str, FederationError] | None] = ContextVar(
    "federated_fk_remote_errors", default=None
)


@contextmanager
def collect_remote_errors() -> Iterator[dict[str, FederationError]]:
    """Make prefetches inside the block partial instead of failing.

    A remote project that cannot answer is recorded in the yielded dict, by
    project name, and its targets read as ``None``; every other target is
    resolved as usual::

        with collect_remote_errors() as errors:
            refs = list(Reference.objects.prefetch_related("content_object"))
        for project, error in errors.items():
            ...
    """
    errors: dict[str, FederationError] = {}
    token = _remote_errors.set(errors)
    try:
        yield errors
    finally:
        _remote_errors.reset(token)


def record_remote_errors(errors: Mapping[str, FederationError]) -> None:
    """Record the failed projects of a prefetch in the enclosing ``collect_remote_errors``.

    Outside such a block, raise the first project's error: a prefetch is
    never silently partial.
    """
    if not errors:
        return
    sink = _remote_errors.get()
    if sink is None:
        raise errors[min(errors)]
    sink.update(errors)


class FederatedPrefetch(GenericPrefetch):
    """A ``GenericPrefetch`` for a ``FederatedForeignKey``.

    ``querysets`` give one queryset per local content type; remote targets
    are resolved by their service::

        Reference.objects.prefetch_related(
            FederatedPrefetch("content_object", [Book.objects.only("title")])
        )
    """


async def aprefetch_related_objects(instances: Sequence[Any], *lookups: str | Prefetch) -> None:
    """The async twin of ``prefetch_related_objects``, remote targets included.

    The remote requests run on the client's own loop, so awaiting this does
    not block the caller's loop.
    """
    await sync_to_async(prefetch_related_objects)(instances, *lookups)
