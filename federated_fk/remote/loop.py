"""The client's event loop: the one loop that owns every project session.

A gql session belongs to the event loop that opened it, and Django's
``async_to_sync`` makes a new loop per call, so the sessions live on one
long-lived loop: by default a loop in a daemon thread of its own; under an
ASGI server that announces its lifespan, the server's own loop
(``federated_fk.asgi.LifespanHandler`` hands it over: ``serve_on_running_loop``).
Sync callers wait on it with ``run_coroutine_threadsafe``; async callers on
another loop await ``wrap_future``; async callers on it await the request
directly, with no hop between threads.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import hashlib
import os
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from django.core.exceptions import SynchronousOnlyOperation

from federated_fk import conf
from federated_fk.remote import events
from federated_fk.remote.breaker import Clock
from federated_fk.remote.session import ProjectSession

T = TypeVar("T")


class ClientLoop:
    """The event loop that owns every project session.

    :param loop: a running loop to use (the server's, from the thread that
        runs it); by default a new loop, run in a daemon thread of its own
    """

    def __init__(
        self, clock: Clock = time.monotonic, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.pid = os.getpid()
        #: The clock of the sessions' circuit breakers (tests set their own).
        self.clock = clock
        self.sessions: dict[tuple[str, ...], ProjectSession] = {}
        #: Whether the loop is this object's own, run in its own thread.
        self.owns_loop = loop is None
        if loop is None:
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(
                target=self.loop.run_forever, name="federated-fk-client", daemon=True
            )
            self.thread.start()
        else:
            self.loop = loop
            self.thread = threading.current_thread()

    def runs_here(self) -> bool:
        """Whether the calling thread is the one that runs this loop."""
        return threading.current_thread() is self.thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on this loop; return a future any thread may wait on."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def session(self, project: str) -> ProjectSession:
        """Return the session of ``project`` (call on the loop thread only)."""
        settings = conf.project_settings(project)
        # Settings may change (tests override them): other settings get
        # another session. The token is part of the key by digest only.
        token = hashlib.sha256(settings["TOKEN"].encode()).hexdigest()
        key = (project, token, *(repr(v) for k, v in sorted(settings.items()) if k != "TOKEN"))
        if key not in self.sessions:
            self.sessions[key] = ProjectSession(project, settings, self.clock)
        return self.sessions[key]

    async def close_all(self) -> None:
        """Close every session (on this loop)."""
        sessions, self.sessions = list(self.sessions.values()), {}
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)

    def stop(self) -> None:
        """Stop this object's own loop and let its thread end (not a loop it was given)."""
        if self.owns_loop:
            self.loop.call_soon_threadsafe(self.loop.stop)


_loop: ClientLoop | None = None
_loop_lock = threading.Lock()


def _current() -> ClientLoop | None:
    """This process's client loop, if it has one: a forked child (a server worker)
    cannot use its parent's, whose thread did not cross the fork."""
    return _loop if _loop is not None and _loop.pid == os.getpid() else None


def get_loop() -> ClientLoop:
    """Return this process's client loop, starting it on first use."""
    global _loop
    with _loop_lock:
        client = _current()
        # A server's loop that closed without its lifespan's shutdown is gone.
        if client is None or client.loop.is_closed():
            client = _loop = ClientLoop()
        return client


def close_sessions() -> None:
    """Close every open session (at exit, or to drop pooled connections).

    :raises SynchronousOnlyOperation: called from the thread that runs the
        client loop (the server's, under ``LifespanHandler``), which waiting
        would block: await ``get_loop().close_all()`` there
    """
    client = _current()
    if client is None:
        return
    if not client.loop.is_running():
        return  # a server's loop that has ended: nothing can run on it
    _refuse_on_loop_thread(client)
    client.submit(client.close_all()).result(timeout=5)


atexit.register(close_sessions)


async def serve_on_running_loop() -> None:
    """Make the running loop the client loop, from the thread that runs it.

    An ASGI server's loop lives as long as the server: its requests then fetch
    on it directly. Sessions of an earlier client loop (its own thread's) are
    closed and that loop stopped.
    """
    global _loop
    running = asyncio.get_running_loop()
    with _loop_lock:
        earlier = _current()
        if earlier is not None and earlier.loop is running:
            return  # already the client loop: its sessions stay open
        _loop = ClientLoop(loop=running)
    if earlier is not None:
        if earlier.loop.is_running():
            await asyncio.wrap_future(earlier.submit(earlier.close_all()))
        earlier.stop()


async def leave_running_loop() -> None:
    """Close the sessions of the running loop, if it is the client loop, and stop using it.

    The next fetch starts a client loop in a thread of its own again.
    """
    global _loop
    running = asyncio.get_running_loop()
    with _loop_lock:
        client = _loop if _loop is not None and _loop.loop is running else None
        if client is not None:
            _loop = None
    if client is not None:
        await client.close_all()


def _refuse_on_loop_thread(
    client: ClientLoop, coro: Coroutine[Any, Any, Any] | None = None
) -> None:
    """Raise if the calling thread runs ``client``'s loop; ``coro`` is then closed, never run."""
    if client.runs_here():
        if coro is not None:
            coro.close()
        raise SynchronousOnlyOperation(
            "You cannot call this from an async context - use a thread or sync_to_async: "
            "a remote request from sync code on the thread of the event loop that sends "
            "it would wait for that loop forever."
        )


def run(coro: Coroutine[Any, Any, T], timeout: float) -> T:
    """Run ``coro`` on the client loop and wait for it from sync code.

    What the caller's context holds for the requests (captures, trace header)
    goes with it: context variables do not cross to the loop's thread.

    :raises SynchronousOnlyOperation: called from the thread that runs the
        client loop (the server's loop, under ``LifespanHandler``)
    """
    client = get_loop()
    _refuse_on_loop_thread(client, coro)
    future = client.submit(events.carried(events.caller(), coro))
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise


async def arun(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the client loop and await it: directly if it is the running loop.

    Either way it runs as a task of its own, with what the caller's context held.
    """
    client = get_loop()
    carried = events.carried(events.caller(), coro)
    if client.loop is asyncio.get_running_loop():
        return await asyncio.ensure_future(carried)
    return await asyncio.wrap_future(client.submit(carried))
