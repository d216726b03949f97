"""Test helpers for remote requests, the twins of ``assertNumQueries``.

``with assertNumRemoteRequests(1, project="shop_b"):`` fails, listing the
requests made, when the code inside made another number of them;
``CaptureRemoteRequests`` records them for a test to inspect. Both work from
sync and async code: they see the requests of their own thread or task (and
of what it runs through ``sync_to_async``/``async_to_sync``), whichever
thread the client's loop sends them from. ``all_threads=True`` sees every
request of the process (a live server running in a thread of the test).

A request is one call to the remote: its retries are part of it, the chunks
of a large batch are each one, and a call the open circuit breaker refused is
one (outcome ``error``, ``RemoteCircuitOpen``). Objects served from the cache
make none; they are in ``cache_hits``.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from types import TracebackType
from typing import Any

from federated_fk.remote.events import CacheHit, RemoteRequest, listening, repeated

__all__ = [
    "CaptureRemoteRequests",
    "RemoteRequestsTestMixin",
    "assertNumRemoteRequests",
]


class CaptureRemoteRequests:
    """Record the remote requests made inside the block (sync ``with`` or ``async with``).

    :param project: keep only the requests to this project
    :param all_threads: see the requests of every thread and task of the
        process, not only this context's
    """

    def __init__(self, project: str | None = None, all_threads: bool = False) -> None:
        self.project = project
        self.all_threads = all_threads
        #: The requests made, in the order they started.
        self.requests: list[RemoteRequest] = []
        #: The objects a fetch took from the cache instead of asking.
        self.cache_hits: list[CacheHit] = []
        self._lock = threading.Lock()
        self._stack: ExitStack | None = None

    # The sink the client reports to (possibly from the client loop's thread).

    def add_request(self, record: RemoteRequest) -> None:
        if self.project is None or record.project == self.project:
            with self._lock:
                self.requests.append(record)

    def add_cache_hit(self, record: CacheHit) -> None:
        if self.project is None or record.project == self.project:
            with self._lock:
                self.cache_hits.append(record)

    def __enter__(self) -> CaptureRemoteRequests:
        self._stack = ExitStack()
        self._stack.enter_context(listening(self, self.all_threads))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    async def __aenter__(self) -> CaptureRemoteRequests:
        return self.__enter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        self.__exit__(*exc_info)

    def __len__(self) -> int:
        return len(self.requests)

    def repeated(self) -> list[dict[str, Any]]:
        """Return the likely N+1s (see ``federated_fk.remote.events.repeated``)."""
        return repeated(self.requests)

    def describe(self) -> str:
        """Return the requests one per line, as ``assertNumRemoteRequests`` lists them."""
        lines = []
        for number, r in enumerate(self.requests, 1):
            lines.append(
                f"{number}. {r.project} {r.operation} {', '.join(r.entity_types) or '-'}: "
                f"{r.representations} ids, {r.duration * 1000:.1f} ms, {r.outcome}"
                + (f" ({r.error})" if r.error else "")
            )
        return "\n".join(lines)


class assertNumRemoteRequests(CaptureRemoteRequests):  # named like assertNumQueries
    """Fail unless the block made exactly ``num`` remote requests (to ``project``, if given).

    A context manager, sync (``with``) and async (``async with``); the
    message lists the requests made, as ``assertNumQueries`` lists the SQL::

        with assertNumRemoteRequests(1, project="shop_b"):
            list(Reference.objects.prefetch_related("content_object"))
    """

    def __init__(self, num: int, project: str | None = None, all_threads: bool = False) -> None:
        super().__init__(project, all_threads)
        self.num = num

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, traceback)
        if exc_type is not None:
            return
        if len(self.requests) != self.num:
            where = f" to {self.project}" if self.project else ""
            raise AssertionError(
                f"{len(self.requests)} != {self.num} : {len(self.requests)} remote "
                f"requests{where} were made, {self.num} expected.\n{self.describe()}"
            )


class RemoteRequestsTestMixin:
    """Adds ``self.assertNumRemoteRequests`` to a ``TestCase`` (``with`` or ``async with``)."""

    def assertNumRemoteRequests(
        self, num: int, project: str | None = None, all_threads: bool = False
    ) -> assertNumRemoteRequests:
        return assertNumRemoteRequests(num, project, all_threads)
