"""Identical operations in flight share one execution and its result.

When requests for the same query, with the same variables and from the same
caller, arrive while the first of them is executing, they wait for its
result instead of executing again. Nothing is kept once the execution ends:
a request that arrives after it executes anew, so freshness rules of caches
and of the change feed are untouched.

The table is per event loop (in a thread's local storage: the loop under
uvicorn, or the loop ``async_to_sync`` makes for a request under WSGI).
The execution runs in a task of its own, shielded: a waiter that is
cancelled (a client that went away) leaves the others their result; the
task is cancelled only when no one waits for it any more.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Hashable
from functools import lru_cache
from typing import Any, TypeVar

from django.utils import translation
from graphql import GraphQLError, OperationType, get_operation_ast, parse

__all__ = ["InFlightOperations", "in_flight", "is_query", "operation_key"]

T = TypeVar("T")

#: The request headers (Django ``META`` names) that make a request's answer its own.
CALLER_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_HOST", "REMOTE_USER")


class _Shared:
    """One execution under way and how many requests wait for it."""

    __slots__ = ("task", "waiters")

    def __init__(self, task: asyncio.Task) -> None:
        self.task = task
        self.waiters = 0


class InFlightOperations:
    """The executions under way on one event loop, by key."""

    def __init__(self) -> None:
        self._running: dict[Hashable, _Shared] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def share(
        self,
        key: Hashable,
        execute: Callable[[], Awaitable[T]],
        shareable: Callable[[T], bool],
    ) -> T:
        """Return the result of ``execute()``, or of the identical execution under way.

        A waiter whose shared execution raised, or returned what ``shareable``
        refuses, executes on its own: only good results are shared.

        :param key: what makes two requests identical (``operation_key``)
        :param execute: runs the operation
        :param shareable: whether a result may be given to other requests
        """
        shared = self._running.get(key)
        if shared is None:
            shared = self._start(key, execute)
            return await self._wait(key, shared)
        try:
            result = await self._wait(key, shared)
        except Exception:
            return await execute()
        if not shareable(result):
            return await execute()
        return result

    def _start(self, key: Hashable, execute: Callable[[], Awaitable[T]]) -> _Shared:
        # The task copies the first request's context: its thread for the
        # database and its records of remote requests.
        task = asyncio.ensure_future(execute())
        shared = self._running[key] = _Shared(task)
        task.add_done_callback(lambda _: self._end(key, shared))
        return shared

    def _end(self, key: Hashable, shared: _Shared) -> None:
        if self._running.get(key) is shared:
            del self._running[key]

    async def _wait(self, key: Hashable, shared: _Shared) -> Any:
        shared.waiters += 1
        try:
            return await asyncio.shield(shared.task)
        finally:
            shared.waiters -= 1
            if shared.waiters == 0 and not shared.task.done():
                # Everyone who wanted it went away.
                shared.task.cancel()
                self._end(key, shared)


_local = threading.local()


def in_flight() -> InFlightOperations:
    """Return the table of the running event loop (one per loop, kept per thread)."""
    loop = asyncio.get_running_loop()
    if getattr(_local, "loop", None) is not loop:
        _local.loop = loop
        _local.table = InFlightOperations()
    return _local.table


@lru_cache(maxsize=256)
def is_query(query: str, operation_name: str | None, max_tokens: int) -> bool:
    """Whether the operation ``operation_name`` of ``query`` is a query.

    False for a mutation, a subscription, or a document that does not parse
    or does not name one operation: those are never shared.
    """
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, operation_name)
    return operation is not None and operation.operation == OperationType.QUERY


async def operation_key(
    request: Any,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    extensions: dict[str, Any] | None,
) -> tuple | None:
    """What makes two requests' answers the same, or None if they must not share.

    The operation (text, name, variables and extensions as canonical JSON),
    the method, and everything about the caller: the Authorization and
    Cookie headers (the session and any other cookie), ``REMOTE_USER``, the
    authenticated user's id, the host and scheme, and the active language.

    :param request: the Django request
    """
    try:
        operation = json.dumps(
            [variables, extensions], sort_keys=True, separators=(",", ":"), allow_nan=False
        )
    except (TypeError, ValueError):
        return None
    meta = request.META
    caller = tuple(meta.get(name) for name in CALLER_HEADERS)
    return (
        query,
        operation_name,
        operation,
        request.method,
        request.scheme,
        caller,
        await _user_id(request),
        translation.get_language(),
    )


async def _user_id(request: Any) -> Any:
    """The authenticated user's id; asks the session only if the request can have one."""
    meta = request.META
    if not (meta.get("HTTP_COOKIE") or meta.get("REMOTE_USER")):
        return None
    auser = getattr(request, "auser", None)
    if auser is None:
        return None
    user = await auser()
    return user.pk if user.is_authenticated else None
