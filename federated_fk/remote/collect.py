"""Partial prefetches: the failed projects of the prefetches inside a block.

The fetch layer returns failed projects as values; the prefetching code
records them here, in the enclosing ``collect_remote_errors`` block, or raises
when there is none, so that a prefetch is never silently partial.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from federated_fk.exceptions import FederationError
from federated_fk.partial import PartialResult

T = TypeVar("T")

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


def report_partial(result: PartialResult[T]) -> T:
    """Return what a prefetch's fetch found; report the projects that failed.

    The one channel through which prefetches report partial failure: inside
    a ``collect_remote_errors`` block, the failed projects are recorded there
    (their targets then read as ``None``); outside one, the first is raised.
    """
    if result.errors:
        sink = _remote_errors.get()
        if sink is None:
            result.raise_first()
        else:
            sink.update(result.errors)
    return result.objects
